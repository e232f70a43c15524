//! The papers' experiments, each in one shape: an [`Experiment`] declares its
//! runs (configs and names), its evaluators and how to summarise them; one
//! driver ([`run`], [`resume`], [`extend`]) makes the run directories, trains
//! them with checkpoints and progress, resumes and extends them, and writes
//! the summary (`summary.md`, `summary.json`) and the plots.
//!
//! * [`ring`]: W1-FE on the 8-Gaussian ring with persistency K ∈ {1, 3, 5, 10}
//!   (000 §5, Fig. 1 and Fig. 2);
//! * [`ot_maps`]: the 2D optimal-map comparison against Discrete-OT (004 §6.1);
//! * [`adaptation`]: USPS ↔ MNIST domain adaptation scored by 1-NN accuracy
//!   (000 Fig. 3, 004 Table 1);
//! * [`w2_decay`]: the W2 decay of W2-FE against e^{−t} (003 eq. 14);
//! * [`w2_parts`]: the W2 flow taken apart (exact map, critic only,
//!   generator only, full W2-FE), per-epoch ratios against 1 − ε;
//! * [`ot_benchmark`]: the learned W2 maps against maps known exactly,
//!   d = 2 … 256 (L2-UVP and cos, Korotin et al. 2021);
//! * [`two_delta`]: the two-delta example of the Wasserstein proximal (002 §2.3);
//! * [`mv_gaussian`]: from the Gaussian fitted to a digit set to the digits,
//!   W2GAN against Barycentric-OT (004 §6.2, Fig. 5);
//! * [`image_gan`]: DCGAN image generation scored by FID (or pixel W2) against
//!   epochs and wall-clock (001's CIFAR-10 comparison, 002 Fig. 2, 4, 5).
//!
//! A new paper figure is one new file here, one CLI subcommand and one
//! notebook cell:
//!
//! ```no_run
//! use wgflow::experiments::{Experiment, RingExperiment};
//! let summary = RingExperiment::new("w1fe-lp").ks(vec![1, 3]).epochs(200).run("runs/ring")?;
//! println!("{}", wgflow::experiments::Report::markdown(&summary));
//! # Ok::<(), wgflow::Error>(())
//! ```

pub mod adaptation;
mod driver;
pub mod image_gan;
pub mod mv_gaussian;
pub mod ot_benchmark;
pub mod ot_maps;
pub mod ring;
pub mod two_delta;
pub mod w2_decay;
pub mod w2_parts;

pub use adaptation::{AdaptationExperiment, AdaptationSeeds};
pub use driver::{
    extend, kind_of, resume, resume_any, run, run_or_resume, trainer, DriverOptions, Extended, ProgressMode,
    EXPERIMENT_FILE,
};
pub use image_gan::ImageGanExperiment;
pub use mv_gaussian::MvGaussianExperiment;
pub use ot_benchmark::OtBenchmarkExperiment;
pub use ot_maps::{OtMapsExperiment, OtMapsSeeds};
pub use ring::{RingExperiment, RingSeeds, RingSummary};
pub use two_delta::TwoDeltaExperiment;
pub use w2_decay::W2DecayExperiment;
pub use w2_parts::W2PartsExperiment;

use crate::config::RunConfig;
use crate::error::Result;
use crate::runs::RunLabels;
use crate::train::{Evaluator, History, Hook};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use tch::Device;

/// Where an image experiment's data comes from.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DataSource {
    /// The data root (`None`: `$WGFLOW_DATA`, else `data/`).
    pub dir: Option<PathBuf>,
    /// Download missing files (checksums are always verified).
    pub download: bool,
    /// Use only the first `limit` images of each split.
    pub limit: Option<usize>,
}

impl Default for DataSource {
    /// The cache root, downloading what is missing, every image.
    fn default() -> Self {
        DataSource { dir: None, download: true, limit: None }
    }
}

impl DataSource {
    /// Data set `ds` (its training split) read from here.
    pub fn spec(&self, ds: crate::data::Dataset) -> crate::data::DataSpec {
        let spec = crate::data::DataSpec::new(ds);
        crate::data::DataSpec { dir: self.dir.clone(), download: self.download, limit: self.limit, ..spec }
    }

    /// Checks that `limit` leaves at least `min` images.
    pub fn validate(&self, min: usize) -> Result<()> {
        match self.limit {
            Some(n) if n < min => Err(crate::Error::config("limit", format!("must be ≥ {min}, got {n}"))),
            _ => Ok(()),
        }
    }
}

/// Every experiment kind: the CLI subcommand and the `kind` of `experiment.json`.
pub const KINDS: &[&str] = &[
    RingExperiment::KIND,
    OtMapsExperiment::KIND,
    AdaptationExperiment::KIND,
    W2DecayExperiment::KIND,
    W2PartsExperiment::KIND,
    ImageGanExperiment::KIND,
    MvGaussianExperiment::KIND,
    OtBenchmarkExperiment::KIND,
    TwoDeltaExperiment::KIND,
];

/// One training run an experiment declares.
#[derive(Clone, Debug, PartialEq)]
pub struct RunSpec {
    /// Its directory below the experiment's output (`k3`, `spiral/w2gan`).
    pub name: String,
    pub config: RunConfig,
    pub labels: RunLabels,
}

/// A declared run after training: its directory and history.
#[derive(Clone, Debug)]
pub struct FinishedRun {
    pub spec: RunSpec,
    pub dir: PathBuf,
    pub history: History,
}

/// What an experiment reports: a Markdown table (`summary.md`), itself as
/// JSON (`summary.json`) and its plots.
pub trait Report: Serialize {
    /// The summary table(s) as Markdown.
    fn markdown(&self) -> String;

    /// Writes the plots into the experiment's directory.
    fn save_figures(&self, _out: &Path) -> Result<()> {
        Ok(())
    }
}

/// An experiment of the papers. See the [module docs](self).
pub trait Experiment: Serialize + DeserializeOwned + Clone {
    /// The CLI subcommand and the `kind` in `experiment.json`.
    const KIND: &'static str;
    /// What the evaluators and the summary share, loaded once (evaluation
    /// data sets, FID reference statistics).
    type Context;
    type Summary: Report;

    /// Checks the experiment's own settings; errors name its fields.
    fn validate(&self) -> Result<()>;

    /// [`Experiment::validate`], then every run's config: the runs, all valid.
    fn check(&self) -> Result<Vec<RunSpec>> {
        self.validate()?;
        let runs = self.runs()?;
        for r in &runs {
            r.config.validate()?;
        }
        Ok(runs)
    }

    /// The runs, in order.
    fn runs(&self) -> Result<Vec<RunSpec>>;

    /// Loads what the evaluators and the summary share.
    fn context(&self, device: Device) -> Result<Self::Context>;

    /// Extra evaluators of one run (their values go into its history).
    fn evaluators(&self, _ctx: &Self::Context, _run: &RunSpec) -> Result<Vec<Box<dyn Evaluator>>> {
        Ok(vec![])
    }

    /// Extra hooks of one run (snapshots), given its directory.
    fn hooks(&self, _run: &RunSpec, _dir: &Path) -> Result<Vec<Box<dyn Hook>>> {
        Ok(vec![])
    }

    /// The summary of the finished runs (and any per-run plots it writes
    /// into their directories).
    fn summarise(&self, ctx: &Self::Context, runs: &[FinishedRun], device: Device) -> Result<Self::Summary>;

    /// The config every run derives from, if the experiment trains.
    fn base_mut(&mut self) -> Option<&mut RunConfig>;

    /// Where its image data comes from, if it reads data sets.
    fn data_mut(&mut self) -> Option<&mut DataSource> {
        None
    }

    /// Read the data from `dir` and never download.
    fn offline_data(mut self, dir: impl Into<PathBuf>) -> Self {
        if let Some(d) = self.data_mut() {
            d.dir = Some(dir.into());
            d.download = false;
        }
        self
    }

    /// Use only the first `n` images of each split.
    fn limit(mut self, n: usize) -> Self {
        if let Some(d) = self.data_mut() {
            d.limit = Some(n);
        }
        self
    }

    /// What an extension from `from` to `to` epochs cannot make equal to a
    /// run of `to` epochs from the start, beyond the runs' configs (which
    /// the driver compares itself).
    fn extension_notes(&self, _from: usize, _to: usize) -> Vec<String> {
        vec![]
    }

    /// Runs the experiment from the start into `out` on the default device,
    /// with progress ([`run`] for other options).
    fn run(&self, out: impl AsRef<Path>) -> Result<Self::Summary> {
        run(self, out.as_ref(), &DriverOptions::auto()?)
    }

    /// Continues the experiment in `out` when `out/experiment.json` holds
    /// this very experiment (a finished one is read back at once), else runs
    /// it from the start: re-executing a notebook does not retrain what it
    /// has already trained.
    fn run_or_resume(&self, out: impl AsRef<Path>) -> Result<Self::Summary>
    where
        Self: Sized,
    {
        driver::run_or_resume(self, out.as_ref(), &DriverOptions::auto()?)
    }

    /// Epochs of every run.
    fn epochs(self, epochs: usize) -> Self {
        self.configure(|b| b.train.epochs = epochs)
    }

    /// Batch size of every run.
    fn batch_size(self, batch_size: i64) -> Self {
        self.configure(|b| b.train.batch_size = batch_size)
    }

    /// Seed of every run.
    fn seed(self, seed: u64) -> Self {
        self.configure(|b| b.train.seed = seed)
    }

    /// Any other change to the base config.
    fn configure(mut self, f: impl FnOnce(&mut RunConfig)) -> Self {
        if let Some(b) = self.base_mut() {
            f(b);
        }
        self
    }
}

/// Checks a list of persistency levels (or ℓ): non-empty, ≥ 1, distinct.
pub(crate) fn check_ks(ks: &[usize], field: &str, allow_empty: bool) -> Result<()> {
    use crate::Error;
    if ks.is_empty() && !allow_empty {
        return Err(Error::config(field, "give at least one persistency level"));
    }
    if let Some(pos) = ks.iter().position(|&k| k == 0) {
        return Err(Error::config(field, format!("persistency levels must be ≥ 1 (entry {} is 0)", pos + 1)));
    }
    if !crate::error::all_distinct(ks) {
        return Err(Error::config(field, "persistency levels must be distinct"));
    }
    Ok(())
}

/// Checks a list of method presets: non-empty, each known.
pub(crate) fn check_methods(methods: &[String], field: &str) -> Result<()> {
    use crate::Error;
    if methods.is_empty() {
        return Err(Error::config(field, "give at least one method"));
    }
    for m in methods {
        crate::config::methods::method(m).map_err(|e| match e {
            Error::Config { msg, .. } => Error::config(field, msg),
            e => e,
        })?;
    }
    Ok(())
}

/// Owned copies of `names`.
pub(crate) fn to_strings(names: &[&str]) -> Vec<String> {
    names.iter().map(|s| s.to_string()).collect()
}

/// The runs of a methods × K grid, each config `config(method, K)`: named
/// `METHOD-kK` when there is more than one K, `METHOD` otherwise; no K (an
/// empty list) keeps each preset's own.
pub(crate) fn grid_runs(
    methods: &[String],
    ks: &[usize],
    config: impl Fn(&str, Option<usize>) -> Result<RunConfig>,
) -> Result<Vec<RunSpec>> {
    let mut grid = vec![];
    for m in methods {
        if ks.is_empty() {
            grid.push((m.clone(), m.clone(), None));
        }
        for &k in ks {
            let name = if ks.len() > 1 { format!("{m}-k{k}") } else { m.clone() };
            grid.push((name, m.clone(), Some(k)));
        }
    }
    grid.into_iter()
        .map(|(name, method, k)| {
            let config = config(&method, k)?;
            let labels = RunLabels { k: k.unwrap_or(config.step.k()), method, seed: config.train.seed };
            Ok(RunSpec { name, config, labels })
        })
        .collect()
}
