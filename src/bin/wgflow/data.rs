//! `wgflow data fetch NAME [--dir DIR] [--verify]`: download and check the
//! image data sets into the cache.

use clap::{Subcommand, ValueEnum};
use std::path::PathBuf;
use wgflow::data::{data_root, Dataset, Download, FetchOptions, Split};

#[derive(Clone, Copy, Debug, ValueEnum)]
enum Name {
    Mnist,
    FashionMnist,
    Usps,
    Cifar10,
}

impl From<Name> for Dataset {
    fn from(n: Name) -> Self {
        match n {
            Name::Mnist => Dataset::Mnist,
            Name::FashionMnist => Dataset::FashionMnist,
            Name::Usps => Dataset::Usps,
            Name::Cifar10 => Dataset::Cifar10,
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
    /// check their checksums, and load them once.
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
            for p in ds.fetch(&root, &opts)? {
                println!("{}{}", p.display(), if verify { "  (checksum ok)" } else { "" });
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
