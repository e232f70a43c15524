//! What a run samples from, as written in its config: a 2D toy set, a
//! standard normal of any shape, or an image data set (optionally replaced by
//! the Gaussian fitted to it).
//!
//! In TOML the three forms are told apart by their first key:
//!
//! ```toml
//! source = { name = "gaussian" }                    # a toy set (data::Toy)
//! source = { normal = [100], std = 1.0 }            # N(0, std² I) of shape [100]
//! target = { dataset = "mnist", resize = 16, flatten = true }
//! source = { dataset = "mnist", gaussian = true, flatten = true }  # 004 §6.2
//! ```
//!
//! [`Distribution::build`] turns one into a [`Sampler`]: data sets are loaded
//! from the cache (downloading them unless `download = false`) onto the run's
//! device and drawn in shuffled minibatches whose order depends on the run's
//! seed alone.

use super::batch::{Batches, Sampler};
use super::fetch::{Download, FetchOptions};
use super::gaussian::MvGaussian;
use super::images::{ImageSet, Split};
use super::pairs::{MapPair, PairSpec};
use super::sets::Dataset;
use super::toy::Toy;
use crate::error::{Error, Result};
use serde::{Deserialize, Deserializer, Serialize};
use std::path::PathBuf;
use tch::{Device, Kind, Tensor};

/// A distribution a run samples from. See the [module docs](self).
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Distribution {
    /// A 2D toy set, `{ name = "ring", … }`.
    Toy(Toy),
    /// `N(0, std² I)` of a given sample shape, `{ normal = [d], std = 1 }`.
    Normal(NormalSpec),
    /// An image data set, `{ dataset = "usps", … }`.
    Data(DataSpec),
    /// One side of a pair with a known optimal map, `{ pair = "mixture", dim = 16, side = "input" }`
    /// ([`super::pairs`]).
    Pair(PairSpec),
}

/// `N(0, std² I)` with samples of shape `normal`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NormalSpec {
    /// The shape of one sample, e.g. `[100]` or `[100, 1, 1]`.
    pub normal: Vec<i64>,
    #[serde(default = "d_one")]
    pub std: f64,
}

/// An image data set as a distribution.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DataSpec {
    /// `mnist`, `fashion-mnist`, `usps`, `cifar10`, `uci-digits` or `mnist-5k`.
    pub dataset: String,
    /// `train` or `test`.
    #[serde(default = "d_train")]
    pub split: String,
    /// Resize (bilinear, antialiased, then centre crop) to `resize × resize`,
    /// as the authors do for MNIST → 16×16 (004 App. 8.9.3).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resize: Option<i64>,
    /// Samples as flat vectors `C·H·W` (what MLPs take) instead of `C×H×W`.
    #[serde(default)]
    pub flatten: bool,
    /// Sample from the Gaussian fitted to the images instead of the images
    /// themselves (the MV-Gaussian source of 004 §6.2).
    #[serde(default)]
    pub gaussian: bool,
    /// Added to the fitted covariance's diagonal (the authors add 0.1).
    #[serde(default)]
    pub ridge: f64,
    /// Use only the first `limit` images.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<usize>,
    /// The data root (default: `$WGFLOW_DATA`, else `data/`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dir: Option<PathBuf>,
    /// Download missing files (checksums are always verified).
    #[serde(default = "d_true")]
    pub download: bool,
}

fn d_one() -> f64 {
    1.0
}
fn d_train() -> String {
    "train".into()
}
fn d_true() -> bool {
    true
}

impl<'de> Deserialize<'de> for Distribution {
    /// Picks the form by its key (`name`, `normal` or `dataset`), then parses
    /// it strictly, so that an error names the field that is wrong rather
    /// than saying that nothing matched.
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        use serde::de::Error as _;
        let v = toml::Value::deserialize(d)?;
        let table = v.as_table().ok_or_else(|| {
            D::Error::custom("expected a table: { name = \"ring\" }, { normal = [d] } or { dataset = \"mnist\" }")
        })?;
        let conv = |e: toml::de::Error| D::Error::custom(e.message().trim().to_string());
        if table.contains_key("name") {
            Ok(Distribution::Toy(v.try_into().map_err(conv)?))
        } else if table.contains_key("normal") {
            Ok(Distribution::Normal(v.try_into().map_err(conv)?))
        } else if table.contains_key("dataset") {
            Ok(Distribution::Data(v.try_into().map_err(conv)?))
        } else if table.contains_key("pair") {
            Ok(Distribution::Pair(v.try_into().map_err(conv)?))
        } else {
            Err(D::Error::custom(
                "a distribution needs one of the keys `name` (a toy set), `normal` (a standard normal's shape), \
                 `dataset` (an image data set) or `pair` (a pair with a known optimal map)",
            ))
        }
    }
}

impl From<Toy> for Distribution {
    fn from(t: Toy) -> Self {
        Distribution::Toy(t)
    }
}

impl Distribution {
    /// `N(0, I_d)`: flat samples of dimension `d`.
    pub fn normal(d: i64) -> Self {
        Distribution::Normal(NormalSpec { normal: vec![d], std: 1.0 })
    }
}

impl From<DataSpec> for Distribution {
    fn from(d: DataSpec) -> Self {
        Distribution::Data(d)
    }
}

/// Builder methods (checked by [`Distribution::validate`]).
impl DataSpec {
    /// Read from the data root `dir`, never downloading.
    pub fn offline(mut self, dir: impl Into<PathBuf>) -> Self {
        self.dir = Some(dir.into());
        self.download = false;
        self
    }

    /// Images resized to `side × side`.
    pub fn resize(mut self, side: i64) -> Self {
        self.resize = Some(side);
        self
    }

    /// Samples as flat vectors.
    pub fn flat(mut self) -> Self {
        self.flatten = true;
        self
    }

    /// The first `n` images only.
    pub fn limit(mut self, n: usize) -> Self {
        self.limit = Some(n);
        self
    }

    /// The Gaussian fitted to the images, `ridge` added to its covariance.
    pub fn fitted_gaussian(mut self, ridge: f64) -> Self {
        self.gaussian = true;
        self.ridge = ridge;
        self
    }
}

impl DataSpec {
    /// A data set's training split, downloaded if missing, as images.
    pub fn new(dataset: Dataset) -> Self {
        DataSpec {
            dataset: dataset.name().into(),
            split: d_train(),
            resize: None,
            flatten: false,
            gaussian: false,
            ridge: 0.0,
            limit: None,
            dir: None,
            download: true,
        }
    }

    /// The images the spec names, on `device`: fetched into (or read from)
    /// the data root `dir`, downloading when `download` allows, the first
    /// `limit`, resized per `resize`; not flattened, no Gaussian fitted
    /// ([`Distribution::build`] does those).
    pub fn load_images(&self, device: Device) -> Result<ImageSet> {
        let (ds, split) = self.parsed("data")?;
        let root = ds.root(self.dir.as_deref());
        let opts = FetchOptions {
            download: if self.download { Download::IfMissing } else { Download::Never },
            ..FetchOptions::download()
        };
        let mut set = ds.load(&root, split, &opts, device)?;
        if let Some(n) = self.limit {
            set = set.take(n);
        }
        if let Some(r) = self.resize {
            set = set.resized(r)?;
        }
        Ok(set)
    }

    fn parsed(&self, field: &str) -> Result<(Dataset, Split)> {
        let ds = Dataset::from_name(&self.dataset).map_err(|e| match e {
            Error::Config { msg, .. } => Error::config(format!("{field}.dataset"), msg),
            other => other,
        })?;
        let split = match self.split.as_str() {
            "train" => Split::Train,
            "test" => Split::Test,
            other => {
                return Err(Error::config(format!("{field}.split"), format!("expected train or test, got {other:?}")))
            }
        };
        Ok((ds, split))
    }
}

impl Distribution {
    /// A short name for tables and file names.
    pub fn name(&self) -> String {
        match self {
            Distribution::Toy(t) => t.name().into(),
            Distribution::Normal(n) => format!("normal{:?}", n.normal),
            Distribution::Data(d) if d.gaussian => format!("{}-gaussian", d.dataset),
            Distribution::Data(d) => d.dataset.clone(),
            Distribution::Pair(p) => format!("{}-d{}-{:?}", p.pair.name(), p.dim, p.side).to_lowercase(),
        }
    }

    /// The toy set, if this is one.
    pub fn as_toy(&self) -> Option<&Toy> {
        match self {
            Distribution::Toy(t) => Some(t),
            _ => None,
        }
    }

    /// Checks every parameter; `field` prefixes the names in the error.
    pub fn validate(&self, field: &str) -> Result<()> {
        match self {
            Distribution::Toy(t) => t.validate(field),
            Distribution::Normal(n) => {
                if n.normal.is_empty() || n.normal.iter().any(|&s| s < 1) {
                    return Err(Error::config(
                        format!("{field}.normal"),
                        format!("must be a non-empty shape of sizes ≥ 1, got {:?}", n.normal),
                    ));
                }
                if !(n.std > 0.0 && n.std.is_finite()) {
                    return Err(Error::config(
                        format!("{field}.std"),
                        format!("must be finite and > 0, got {}", n.std),
                    ));
                }
                Ok(())
            }
            Distribution::Data(d) => {
                d.parsed(field)?;
                if let Some(r) = d.resize {
                    if r < 1 {
                        return Err(Error::config(format!("{field}.resize"), format!("must be ≥ 1, got {r}")));
                    }
                }
                if d.limit == Some(0) || (d.gaussian && d.limit == Some(1)) {
                    return Err(Error::config(
                        format!("{field}.limit"),
                        format!("must be ≥ {}, got 0", if d.gaussian { 2 } else { 1 }),
                    ));
                }
                if !(d.ridge >= 0.0 && d.ridge.is_finite()) {
                    return Err(Error::config(
                        format!("{field}.ridge"),
                        format!("must be finite and ≥ 0, got {}", d.ridge),
                    ));
                }
                if d.ridge > 0.0 && !d.gaussian {
                    return Err(Error::config(format!("{field}.ridge"), "only applies with gaussian = true"));
                }
                Ok(())
            }
            Distribution::Pair(p) => p.validate(field),
        }
    }

    /// The shape of one sample, known without loading anything.
    pub fn sample_shape(&self) -> Result<Vec<i64>> {
        Ok(match self {
            Distribution::Toy(_) => vec![2],
            Distribution::Normal(n) => n.normal.clone(),
            Distribution::Data(d) => {
                let (ds, _) = d.parsed("data")?;
                let [c, h, w] = ds.image_shape();
                let (h, w) = d.resize.map_or((h, w), |r| (r, r));
                if d.flatten {
                    vec![c * h * w]
                } else {
                    vec![c, h, w]
                }
            }
            Distribution::Pair(p) => vec![p.dim],
        })
    }

    /// The number of values in one sample.
    pub fn dim(&self) -> Result<i64> {
        Ok(self.sample_shape()?.iter().product())
    }

    /// A sampler on `device`. `seed` orders a data set's minibatches (toy
    /// sets and normals draw from libtorch's generator). Loads and, per the
    /// spec, downloads data sets.
    pub fn build(&self, seed: u64, device: Device) -> Result<Box<dyn Sampler>> {
        self.validate("data")?;
        Ok(match self {
            Distribution::Toy(t) => Box::new(t.clone()),
            Distribution::Normal(n) => Box::new(Normal { shape: n.normal.clone(), std: n.std }),
            Distribution::Data(d) => {
                let set = d.load_images(device)?;
                let inner: Box<dyn Sampler> = if d.gaussian {
                    Box::new(MvGaussian::fit_with_ridge(&set.images, d.ridge)?)
                } else {
                    Box::new(Batches::from_set(&set, seed, false)?)
                };
                if d.flatten {
                    Box::new(Flatten(inner))
                } else {
                    inner
                }
            }
            Distribution::Pair(p) => Box::new(MapPair::of(p)?.sampler(p.side)),
        })
    }
}

/// `N(0, std² I)` of a fixed sample shape.
struct Normal {
    shape: Vec<i64>,
    std: f64,
}

impl Sampler for Normal {
    fn sample(&mut self, n: i64, device: Device) -> Result<Tensor> {
        if n < 1 {
            return Err(Error::input(format!("cannot sample {n} points: need n ≥ 1")));
        }
        let mut shape = vec![n];
        shape.extend_from_slice(&self.shape);
        Ok(Tensor::f_randn(shape, (Kind::Float, device))? * self.std)
    }
}

/// Samples of another sampler as flat rows.
struct Flatten(Box<dyn Sampler>);

impl Sampler for Flatten {
    fn sample(&mut self, n: i64, device: Device) -> Result<Tensor> {
        Ok(self.0.sample(n, device)?.f_flatten(1, -1)?)
    }
    fn state(&self) -> Vec<i64> {
        self.0.state()
    }
    fn load_state(&mut self, state: &[i64]) -> Result<()> {
        self.0.load_state(state)
    }
}
