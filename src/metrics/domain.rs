//! A domain FID and KID: the statistics of a small classifier's features
//! instead of Inception's, for image sets on which the project trains that
//! classifier itself (Fashion-MNIST first).
//!
//! FID with pytorch-fid's Inception ([`super::fid`]) is the real metric, but
//! its weights cannot always be had, and a score on an untrained network
//! ranks nothing. [`DomainClassifier`] is a convolutional network trained on
//! a data set's training split with a fixed seed, its test accuracy measured
//! on the whole test split and stored beside its weights. Its 128-d
//! penultimate activations play the part of Inception's pool3 features:
//! [`DomainClassifier::fid`] is the Fréchet distance of their statistics
//! ([`super::fid::frechet_distance`]) and [`DomainClassifier::kid`] the KID
//! of [`super::fid::kid`] on them. Its name ([`DomainClassifier::fid_name`],
//! "FID (fashion-mnist classifier)") says which network it is, so that no
//! one reads it as Inception FID; its values are on a different scale.
//!
//! ## The network and its training
//!
//! `conv 3×3 (C→32) · ReLU · max-pool 2 · conv 3×3 (32→64) · ReLU · max-pool 2 ·
//! linear (64·(S/4)² → 128) · ReLU` (the features) `· linear (128 → 10)`,
//! trained with Adam (lr 1e-3, a tenth of it in the last quarter of the
//! epochs) on cross-entropy, batch 128, the training split shuffled by a
//! generator seeded with `seed` every epoch. With one
//! libtorch thread on the CPU the weights are a function of the seed
//! (tested); [`DomainClassifier::cached`] trains once per
//! `(data set, seed, epochs)` and keeps the weights and their test accuracy
//! in `classifiers/` under the data root, written atomically, under a lock
//! file of its own so that concurrent processes train it once.
//!
//! Images of another side than the data set's (the DCGAN pair makes 32×32
//! from 28×28 Fashion-MNIST, [`crate::experiments::image_gan::dcgan_side`])
//! are resized bilinearly to it before the network; the reference images
//! should take the same path (the image-GAN experiment passes both its data
//! and its samples at the DCGAN side).

use crate::data::fetch::{data_root, FetchOptions};
use crate::data::images::{ImageSet, Split};
use crate::data::Dataset;
use crate::error::{Error, Result};
use crate::metrics::fid::{frechet_distance, kid, KidOptions, Stats};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::time::Instant;
use tch::nn::{self, Module, OptimizerConfig};
use tch::{Device, Kind, Tensor};

/// The architecture's name, part of the cache file's name: a change to the
/// network or its training must change it.
pub const ARCH: &str = "cnn32-64-128-v2";

/// Width of the features.
pub const FEATURES: i64 = 128;

/// How the classifier is trained.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClassifierOptions {
    pub seed: u64,
    /// Passes over the training split.
    pub epochs: usize,
    pub batch_size: i64,
    pub lr: f64,
    /// Train on the first `limit` training images only (`None`: all).
    pub limit: Option<usize>,
}

impl Default for ClassifierOptions {
    /// Seed 0, 8 epochs, batch 128, Adam 1e-3, the whole training split
    /// (on Fashion-MNIST: 91.8 % test accuracy, 150 s on one CPU thread).
    fn default() -> Self {
        ClassifierOptions { seed: 0, epochs: 8, batch_size: 128, lr: 1e-3, limit: None }
    }
}

/// What a trained classifier is and how good it is; stored beside its weights.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClassifierInfo {
    /// The data set's name (`fashion-mnist`).
    pub dataset: String,
    pub arch: String,
    pub options: ClassifierOptions,
    /// Accuracy on the whole test split, in [0, 1].
    pub test_accuracy: f64,
    /// Test images it was measured on.
    pub test_images: usize,
    /// Seconds the training took (the test pass excluded).
    pub train_seconds: f64,
}

struct Net {
    conv1: nn::Conv2D,
    conv2: nn::Conv2D,
    fc1: nn::Linear,
    fc2: nn::Linear,
}

impl Net {
    fn new(p: &nn::Path, channels: i64, side: i64) -> Self {
        let c = nn::ConvConfig { padding: 1, ..Default::default() };
        let flat = 64 * (side / 4) * (side / 4);
        Net {
            conv1: nn::conv2d(p / "conv1", channels, 32, 3, c),
            conv2: nn::conv2d(p / "conv2", 32, 64, 3, c),
            fc1: nn::linear(p / "fc1", flat, FEATURES, Default::default()),
            fc2: nn::linear(p / "fc2", FEATURES, 10, Default::default()),
        }
    }

    fn features(&self, x: &Tensor) -> Tensor {
        let h = self.conv1.forward(x).relu().max_pool2d_default(2);
        let h = self.conv2.forward(&h).relu().max_pool2d_default(2);
        self.fc1.forward(&h.flatten(1, -1)).relu()
    }

    fn logits(&self, x: &Tensor) -> Tensor {
        self.fc2.forward(&self.features(x))
    }
}

/// A classifier of one data set's classes whose features score image sets
/// (module docs).
pub struct DomainClassifier {
    vs: nn::VarStore,
    net: Net,
    shape: [i64; 3],
    pub info: ClassifierInfo,
}

impl std::fmt::Debug for DomainClassifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DomainClassifier").field("info", &self.info).finish()
    }
}

impl DomainClassifier {
    fn check_dataset(dataset: Dataset) -> Result<[i64; 3]> {
        let shape = dataset.image_shape();
        if shape[1] % 4 != 0 || shape[1] != shape[2] {
            return Err(Error::config(
                "dataset",
                format!(
                    "a domain classifier needs square images with a side divisible by 4, {} has {shape:?}",
                    dataset.name()
                ),
            ));
        }
        Ok(shape)
    }

    fn empty(dataset: Dataset, device: Device) -> Result<(nn::VarStore, Net, [i64; 3])> {
        let shape = Self::check_dataset(dataset)?;
        let vs = nn::VarStore::new(device);
        let net = Net::new(&vs.root(), shape[0], shape[1]);
        Ok((vs, net, shape))
    }

    /// Trains on `dataset`'s training split (read from `root`, see
    /// [`Dataset::root`]; nothing is downloaded) and measures the accuracy on
    /// its whole test split. Reseeds libtorch's global generator with
    /// `opts.seed`.
    pub fn train(dataset: Dataset, root: &Path, opts: &ClassifierOptions, device: Device) -> Result<Self> {
        if opts.epochs == 0 || opts.batch_size < 1 || opts.lr.is_nan() || opts.lr <= 0.0 {
            return Err(Error::config(
                "classifier",
                format!(
                    "needs epochs ≥ 1, batch_size ≥ 1 and lr > 0, got {}, {}, {}",
                    opts.epochs, opts.batch_size, opts.lr
                ),
            ));
        }
        let fetch = FetchOptions { quiet: true, ..FetchOptions::default() };
        let mut train = dataset.load(root, Split::Train, &fetch, device)?;
        if let Some(l) = opts.limit {
            train = train.take(l);
        }
        let test = dataset.load(root, Split::Test, &fetch, device)?;
        tch::manual_seed(opts.seed as i64);
        let (vs, net, shape) = Self::empty(dataset, device)?;
        let mut opt = nn::Adam::default().build(&vs, opts.lr)?;
        let n = train.len() as i64;
        let start = Instant::now();
        for epoch in 0..opts.epochs {
            // The last quarter of the epochs at a tenth of the rate.
            if opts.epochs >= 4 && epoch >= opts.epochs - opts.epochs / 4 {
                opt.set_lr(opts.lr * 0.1);
            }
            let g_seed = (opts.seed as i64).wrapping_mul(1_000_003).wrapping_add(epoch as i64);
            tch::manual_seed(g_seed);
            let perm = Tensor::f_randperm(n, (Kind::Int64, device))?;
            let mut s = 0;
            while s < n {
                let len = opts.batch_size.min(n - s);
                let idx = perm.f_narrow(0, s, len)?;
                let x = train.images.f_index_select(0, &idx)?;
                let y = train.labels.f_index_select(0, &idx)?;
                let loss = net.logits(&x).cross_entropy_for_logits(&y);
                opt.backward_step(&loss);
                s += len;
            }
        }
        let train_seconds = start.elapsed().as_secs_f64();
        let mut c = DomainClassifier {
            vs,
            net,
            shape,
            info: ClassifierInfo {
                dataset: dataset.name().into(),
                arch: ARCH.into(),
                options: opts.clone(),
                test_accuracy: f64::NAN,
                test_images: test.len(),
                train_seconds,
            },
        };
        c.info.test_accuracy = c.accuracy(&test)?;
        Ok(c)
    }

    /// The cache file of a classifier: `DIR/DATASET-ARCH-sSEED-eEPOCHS[-nLIMIT].safetensors`
    /// (its info in the same name with `.json`).
    pub fn cache_path(dir: &Path, dataset: Dataset, opts: &ClassifierOptions) -> PathBuf {
        let mut name = format!("{}-{ARCH}-s{}-e{}", dataset.name(), opts.seed, opts.epochs);
        if opts.batch_size != 128 || opts.lr != 1e-3 {
            name += &format!("-b{}-lr{}", opts.batch_size, opts.lr);
        }
        if let Some(l) = opts.limit {
            name += &format!("-n{l}");
        }
        dir.join(format!("{name}.safetensors"))
    }

    /// The classifier from the cache in `classifiers/` under the data root
    /// ([`data_root`]), trained and stored there first when it is not
    /// (Fashion-MNIST read where [`Dataset::root`] finds it, such as
    /// Debian's copy).
    pub fn cached(dataset: Dataset, opts: &ClassifierOptions, device: Device) -> Result<Self> {
        Self::cached_in(&data_root(None).join("classifiers"), dataset, &dataset.root(None), opts, device)
    }

    /// [`DomainClassifier::cached`] with the cache folder `dir` and data root `root`.
    pub fn cached_in(
        dir: &Path,
        dataset: Dataset,
        root: &Path,
        opts: &ClassifierOptions,
        device: Device,
    ) -> Result<Self> {
        crate::io::create_dir_all(dir)?;
        let weights = Self::cache_path(dir, dataset, opts);
        let info_path = weights.with_extension("json");
        let _lock = FileLock::acquire(&weights.with_extension("lock"))?;
        if weights.is_file() && info_path.is_file() {
            let info: ClassifierInfo = crate::io::read_json(&info_path, "classifier info")?;
            if info.dataset != dataset.name() || info.arch != ARCH || &info.options != opts {
                return Err(Error::file(
                    &info_path,
                    format!(
                        "describes a classifier of {} ({}, {:?}), not the one asked for ({}, {ARCH}, {opts:?})",
                        info.dataset,
                        info.arch,
                        info.options,
                        dataset.name()
                    ),
                ));
            }
            let (mut vs, net, shape) = Self::empty(dataset, device)?;
            vs.load(&weights)
                .map_err(|e| Error::file(&weights, format!("cannot load the classifier's weights: {e}")))?;
            return Ok(DomainClassifier { vs, net, shape, info });
        }
        let c = Self::train(dataset, root, opts, device)?;
        // libtorch picks the format from the extension: keep `.safetensors` last.
        let tmp = dir.join(format!(
            ".tmp-{}-{}",
            std::process::id(),
            weights.file_name().unwrap_or_default().to_string_lossy()
        ));
        c.vs.save(&tmp).map_err(|e| Error::file(&tmp, format!("cannot write the classifier's weights: {e}")))?;
        let bytes = std::fs::read(&tmp).map_err(|e| Error::file(&tmp, format!("cannot read back: {e}")))?;
        let _ = std::fs::remove_file(&tmp);
        crate::io::write_atomic(&weights, &bytes)?;
        crate::io::write_json(&info_path, &c.info)?;
        Ok(c)
    }

    /// The score's name: `FID (DATASET classifier)`.
    pub fn fid_name(&self) -> String {
        format!("FID ({} classifier)", self.info.dataset)
    }

    /// The KID's name: `KID (DATASET classifier)`.
    pub fn kid_name(&self) -> String {
        format!("KID ({} classifier)", self.info.dataset)
    }

    pub fn device(&self) -> Device {
        self.vs.device()
    }

    /// `[C, H, W]` of the data set's images: what the network takes (any
    /// square side is resized to `H`).
    pub fn image_shape(&self) -> [i64; 3] {
        self.shape
    }

    /// `images` (`N×C×H×W` in [−1, 1]) checked and resized to the data set's side.
    fn prepare(&self, images: &Tensor) -> Result<Tensor> {
        let s = images.size();
        if s.len() != 4 || s[1] != self.shape[0] || s[2] != s[3] {
            return Err(Error::input(format!(
                "{}: images must be N×{}×S×S in [−1, 1], got shape {s:?}",
                self.fid_name(),
                self.shape[0]
            )));
        }
        let x = images.f_to_device(self.device())?.f_to_kind(Kind::Float)?;
        if x.f_isfinite()?.f_logical_not()?.f_any()?.f_int64_value(&[])? != 0 {
            return Err(Error::input(format!("{}: NaN or infinite values in the images", self.fid_name())));
        }
        if s[2] == self.shape[1] {
            return Ok(x);
        }
        Ok(x.f_upsample_bilinear2d([self.shape[1], self.shape[2]], false, None, None)?)
    }

    fn batched(&self, images: &Tensor, f: impl Fn(&Tensor) -> Tensor) -> Result<Tensor> {
        let n = images.size().first().copied().unwrap_or(0);
        if n == 0 {
            return Err(Error::input(format!("{}: empty image set", self.fid_name())));
        }
        let mut parts = Vec::new();
        let mut s = 0;
        while s < n {
            let len = 500.min(n - s);
            let x = self.prepare(&images.f_narrow(0, s, len)?)?;
            parts.push(tch::no_grad(|| f(&x)));
            s += len;
        }
        Ok(Tensor::f_cat(&parts, 0)?)
    }

    /// The `N×128` features of `images` (`N×C×H×W` in [−1, 1], any side).
    pub fn features(&self, images: &Tensor) -> Result<Tensor> {
        self.batched(images, |x| self.net.features(x))
    }

    /// The predicted class of each image.
    pub fn predict(&self, images: &Tensor) -> Result<Tensor> {
        Ok(self.batched(images, |x| self.net.logits(x))?.f_argmax(1, false)?)
    }

    /// The fraction of `set`'s images classified as their label.
    pub fn accuracy(&self, set: &ImageSet) -> Result<f64> {
        let p = self.predict(&set.images)?;
        let right = p.f_eq_tensor(&set.labels.f_to_device(p.device())?)?.f_sum(Kind::Int64)?.f_int64_value(&[])?;
        Ok(right as f64 / set.len().max(1) as f64)
    }

    /// The features' mean and covariance.
    pub fn stats(&self, images: &Tensor) -> Result<Stats> {
        Stats::from_features(&self.features(images)?)
    }

    /// The domain FID between two image sets ([`DomainClassifier::fid_name`]).
    pub fn fid(&self, a: &Tensor, b: &Tensor) -> Result<f64> {
        frechet_distance(&self.stats(a)?, &self.stats(b)?)
    }

    /// The domain KID (mean, standard deviation over subsets) between two image sets.
    pub fn kid(&self, a: &Tensor, b: &Tensor, opts: &KidOptions) -> Result<(f64, f64)> {
        kid(&self.features(a)?, &self.features(b)?, opts)
    }
}

/// An exclusive advisory lock on a file, released on drop (`flock`; a no-op
/// where there is none).
struct FileLock {
    #[allow(dead_code)]
    file: std::fs::File,
}

impl FileLock {
    fn acquire(path: &Path) -> Result<Self> {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(path)
            .map_err(|e| Error::file(path, format!("cannot open the lock file: {e}")))?;
        #[cfg(target_os = "linux")]
        {
            use std::os::unix::io::AsRawFd;
            // SAFETY: flock on a descriptor this struct owns; released when it is closed.
            if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX) } != 0 {
                return Err(Error::file(path, format!("cannot lock: {}", std::io::Error::last_os_error())));
            }
        }
        Ok(FileLock { file })
    }
}
