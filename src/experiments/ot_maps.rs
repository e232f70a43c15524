//! 004 §6.1: learn optimal maps between 2D sets with an identity-initialised
//! generator, and compare each method's map with the Discrete-OT map (the
//! optimal assignment between the same samples, 004 Fig. 1(b)).
//!
//! The **map error** of a method is `(1/n) Σ_i |G(x_i) − T(x_i)|²` over the
//! fixed evaluation sample `x_1..x_n` of the source, `T(x_i)` the target point
//! the optimal assignment (squared Euclidean cost) gives `x_i`.

use super::{check_methods, to_strings, Experiment, FinishedRun, Report, RunSpec};
use crate::config::{preset, RunConfig};
use crate::data::{SpiralArm, Toy};
use crate::error::{Error, Result};
use crate::flow::barycentric::{discrete_ot_map, map_error};
use crate::metrics::emd::{points2, tensor2};
use crate::nets::MlpConfig;
use crate::optim::AdamConfig;
use crate::plot::{Figure, TransportPanels, TransportPlot};
use crate::runs::compare::Spread;
use crate::runs::RunLabels;
use serde::{Deserialize, Serialize};
use std::fmt::Write as _;
use std::path::Path;
use tch::{Device, Tensor};

/// The three 2D problems of 004 §6.1 (sources and targets as in the
/// authors' `exp_2d/data_loader.py`).
pub fn dataset(name: &str) -> Result<(Toy, Toy)> {
    Ok(match name {
        // X: four Gaussians at scale 2; Y: the same closer together (scale 1).
        "four-gaussians" => (Toy::FourGaussians { scale: 2.0, std: 0.1 }, Toy::FourGaussians { scale: 1.0, std: 0.1 }),
        // X: 4 squares, Y: 5 squares of the alternating pattern.
        "checkerboard" => (
            Toy::Checkerboard { scale: 1.5, width: 0.5, alternate: true },
            Toy::Checkerboard { scale: 1.5, width: 0.5, alternate: false },
        ),
        // X, Y: two spirals that are rotations of each other.
        "spiral" | "two-spirals" => (
            Toy::Spiral { arm: SpiralArm::Second, scale: 0.15, noise: 0.1, degrees: 570.0 },
            Toy::Spiral { arm: SpiralArm::First, scale: 0.15, noise: 0.1, degrees: 570.0 },
        ),
        other => {
            return Err(Error::config(
                "dataset",
                format!("unknown 2D map problem `{other}`; expected four-gaussians, checkerboard or spiral"),
            ))
        }
    })
}

/// The methods of 004 Fig. 2, plus both W2-FE presets (Seguy's dual and W2GAN's critic).
pub const DEFAULT_METHODS: &[&str] = &["w2gan", "w2fe", "w2fe-w2gan", "wgan-lp", "wgan-gp", "baryot-l2"];

/// The three problems.
pub const DEFAULT_DATASETS: &[&str] = &["four-gaussians", "checkerboard", "spiral"];

/// The experiment's settings.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct OtMapsExperiment {
    pub datasets: Vec<String>,
    pub methods: Vec<String>,
    /// Everything but data, critic and step (taken from the presets). Each
    /// run is evaluated once, at its end (`train.eval_every` = the epochs).
    pub base: RunConfig,
}

impl OtMapsExperiment {
    /// The authors' 2D settings (batch 512, 5 critic steps, Adam (0.9, 0.999),
    /// identity-initialised residual generator, evaluation on 512 points)
    /// with both learning rates 5e-4, from the set 004 App. 8.9.1 searched
    /// ({1e-5, 5e-4, 5e-5}): the authors' generator rate 1e-4 needs their
    /// 5000 iterations, 5e-4 gets there in a few hundred. 1,000 epochs.
    pub fn new() -> Self {
        // generator_2d: z + H(z), H small at start (004 App. 8.9.1).
        let mut base = RunConfig { generator: MlpConfig::generator_2d().into(), ..RunConfig::default() };
        base.train.epochs = 1000;
        base.train.critic_iters = 5;
        base.train.critic_opt = AdamConfig { lr: 5e-4, ..AdamConfig::default() };
        base.train.generator_opt = AdamConfig { lr: 5e-4, ..AdamConfig::default() };
        OtMapsExperiment { datasets: to_strings(DEFAULT_DATASETS), methods: to_strings(DEFAULT_METHODS), base }
    }

    setters! {
        /// The methods to compare.
        methods(methods: &[&str]) => methods = to_strings(methods);
        /// The problems ([`dataset`] names).
        datasets(datasets: &[&str]) => datasets = to_strings(datasets);
    }

    /// The config of `method` on problem `ds`.
    pub fn config_for(&self, ds: &str, method: &str) -> Result<RunConfig> {
        let (source, target) = dataset(ds)?;
        let base = self.base.clone().source(source).target(target).eval_every(self.base.train.epochs.max(1));
        preset(method, &base)
    }
}

impl Default for OtMapsExperiment {
    fn default() -> Self {
        Self::new()
    }
}

impl Experiment for OtMapsExperiment {
    const KIND: &'static str = "ot-maps";
    type Context = ();
    type Summary = OtMapsTable;

    fn validate(&self) -> Result<()> {
        check_methods(&self.methods, "methods")?;
        if self.datasets.is_empty() {
            return Err(Error::config("datasets", "give at least one problem"));
        }
        for ds in &self.datasets {
            dataset(ds).map_err(|e| match e {
                Error::Config { msg, .. } => Error::config("datasets", msg),
                e => e,
            })?;
        }
        Ok(())
    }

    fn runs(&self) -> Result<Vec<RunSpec>> {
        let mut v = vec![];
        for ds in &self.datasets {
            for m in &self.methods {
                let config = self.config_for(ds, m)?;
                let labels = RunLabels { method: m.clone(), k: config.step.k(), seed: config.train.seed };
                v.push(RunSpec { name: format!("{ds}/{m}"), config, labels });
            }
        }
        Ok(v)
    }

    fn context(&self, _device: Device) -> Result<()> {
        Ok(())
    }

    /// Reads each finished run back from its checkpoint and compares its
    /// map with the Discrete-OT map on the same samples.
    fn summarise(&self, _ctx: &(), runs: &[FinishedRun], device: Device) -> Result<OtMapsTable> {
        let mut rows = Vec::new();
        let mut figures = Vec::new();
        let mut identity = Vec::new();
        for ds in &self.datasets {
            let mut panels = Vec::new();
            let mut discrete: Option<(Tensor, Tensor, Tensor)> = None;
            for r in runs.iter().filter(|r| r.spec.name.starts_with(&format!("{ds}/"))) {
                let t = crate::runs::load_trainer(&r.dir, device)?;
                let snap = t.snapshot()?;
                let (x, y, g) = (
                    tensor2(&snap.source, Device::Cpu)?,
                    tensor2(&snap.target, Device::Cpu)?,
                    tensor2(&snap.generated, Device::Cpu)?,
                );
                if discrete.is_none() {
                    // Every method sees the same fixed samples (same seed).
                    let tx = discrete_ot_map(&x, &y)?;
                    let plot = TransportPlot::new(
                        "Discrete-OT",
                        snap.target.clone(),
                        snap.source.clone(),
                        points2(&tx, "Discrete-OT map")?,
                    )?;
                    panels.push(plot);
                    identity.push((ds.clone(), map_error(&x, &tx)?));
                    discrete = Some((x.copy(), y.copy(), tx));
                }
                let (dx, dy, tx) = discrete.as_ref().ok_or_else(|| Error::input("no Discrete-OT map"))?;
                if !dx.allclose(&x, 0.0, 0.0, false) || !dy.allclose(&y, 0.0, 0.0, false) {
                    return Err(Error::input("methods saw different evaluation samples; the seed must fix them"));
                }
                let method = r.spec.labels.method.clone();
                rows.push(OtMapsRow {
                    dataset: ds.clone(),
                    method: method.clone(),
                    map_error: map_error(&g, tx)?,
                    w2: crate::metrics::emd::wasserstein(&g, &y, 2)?,
                    seconds: t.seconds(),
                });
                panels.push(TransportPlot::new(method, snap.target, snap.source, snap.generated)?);
            }
            figures.push((ds.clone(), TransportPanels::new(panels)));
        }
        Ok(OtMapsTable { epochs: self.base.train.epochs, seed: self.base.train.seed, rows, identity, panels: figures })
    }

    fn base_mut(&mut self) -> Option<&mut RunConfig> {
        Some(&mut self.base)
    }
}

/// The problems and the methods of `(problem, method)` cells, each in the
/// order first seen: a table's columns and rows.
fn axes<'a>(cells: impl IntoIterator<Item = (&'a str, &'a str)>) -> (Vec<&'a str>, Vec<&'a str>) {
    let (mut datasets, mut methods) = (vec![], vec![]);
    for (d, m) in cells {
        if !datasets.contains(&d) {
            datasets.push(d);
        }
        if !methods.contains(&m) {
            methods.push(m);
        }
    }
    (datasets, methods)
}

/// One method on one problem.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OtMapsRow {
    pub dataset: String,
    pub method: String,
    /// `(1/n) Σ |G(x_i) − T(x_i)|²` against Discrete-OT.
    pub map_error: f64,
    /// Exact W2 between `G(x)` and the target sample.
    pub w2: f64,
    pub seconds: f64,
}

/// The map-error table.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct OtMapsTable {
    pub epochs: usize,
    /// The runs' seed (it fixes the evaluation samples too).
    #[serde(default)]
    pub seed: u64,
    pub rows: Vec<OtMapsRow>,
    /// Per problem, the identity map's error: `(1/n) Σ |x_i − T(x_i)|²`, the
    /// error every generator starts from (absent in summaries written
    /// before it was recorded).
    #[serde(default)]
    pub identity: Vec<(String, f64)>,
    /// Per problem: Discrete-OT's arrows and each method's (004 Fig. 2;
    /// not in `summary.json`).
    #[serde(skip)]
    pub panels: Vec<(String, TransportPanels)>,
}

impl Report for OtMapsTable {
    fn markdown(&self) -> String {
        OtMapsTable::markdown(self)
    }

    fn save_figures(&self, out: &Path) -> Result<()> {
        for (ds, fig) in &self.panels {
            fig.save(out.join(format!("{ds}.png")))?;
        }
        Ok(())
    }
}

impl OtMapsTable {
    /// The map error of `method` on `dataset`.
    pub fn map_error(&self, dataset: &str, method: &str) -> Option<f64> {
        self.rows.iter().find(|r| r.dataset == dataset && r.method == method).map(|r| r.map_error)
    }

    /// The table restricted to `methods` (the rows of the others dropped,
    /// and the panels, which stay with the full table), e.g. to combine a
    /// seed run of more methods with seeds that repeated only some of them:
    /// [`OtMapsSeeds::from_tables`] wants the same cells in every table.
    pub fn only(&self, methods: &[&str]) -> OtMapsTable {
        OtMapsTable {
            epochs: self.epochs,
            seed: self.seed,
            rows: self.rows.iter().filter(|r| methods.contains(&r.method.as_str())).cloned().collect(),
            identity: self.identity.clone(),
            panels: vec![],
        }
    }

    /// The identity map's error on `dataset` (where every generator starts).
    pub fn identity_error(&self, dataset: &str) -> Option<f64> {
        self.identity.iter().find(|p| p.0 == dataset).map(|p| p.1)
    }

    /// The panels of problem `dataset`.
    pub fn panels(&self, dataset: &str) -> Option<&TransportPanels> {
        self.panels.iter().find(|p| p.0 == dataset).map(|p| &p.1)
    }

    /// Methods as rows, problems as columns: the map error (W2 to the target).
    pub fn markdown(&self) -> String {
        let (datasets, methods) = axes(self.rows.iter().map(|r| (r.dataset.as_str(), r.method.as_str())));
        let mut s = format!(
            "Map error against Discrete-OT, (1/n) Σ |G(x_i) − T(x_i)|² on 512 points (in brackets: exact W2 \
             between G(x) and the target sample), after {} epochs\n\n| method | {} |\n|---|{}\n",
            self.epochs,
            datasets.join(" | "),
            "---|".repeat(datasets.len())
        );
        for m in &methods {
            let _ = write!(s, "| {m} |");
            for d in &datasets {
                match self.rows.iter().find(|r| r.method == *m && r.dataset == *d) {
                    Some(r) => {
                        let _ = write!(s, " {:.4} ({:.3}) |", r.map_error, r.w2);
                    }
                    None => s.push_str(" — |"),
                }
            }
            s.push('\n');
        }
        s
    }
}

/// One method on one problem over seeds ([`OtMapsSeeds`]).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OtMapsSeedsRow {
    pub dataset: String,
    pub method: String,
    /// Map error against Discrete-OT, over the seeds.
    pub map_error: Spread,
    /// Exact W2 between `G(x)` and the target sample, over the seeds.
    pub w2: Spread,
    /// Seeds in which this method had the lowest map error on the problem.
    pub best: usize,
    /// Seeds in which its map error was below the identity's (it moved
    /// the source toward the optimal map rather than away from it).
    pub below_identity: usize,
}

/// The map-error table repeated over seeds: per problem and method, the map
/// error and W2 as mean and min–max, and in how many seeds each method had
/// the lowest map error. Each seed draws its own samples, so each seed's
/// errors are against that seed's Discrete-OT map.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OtMapsSeeds {
    pub epochs: usize,
    pub seeds: Vec<u64>,
    pub rows: Vec<OtMapsSeedsRow>,
    /// Per problem, the identity map's error over the seeds.
    pub identity: Vec<(String, Spread)>,
}

impl OtMapsSeeds {
    /// From one table per seed (the same problems, methods and length in each).
    pub fn from_tables(tables: &[OtMapsTable]) -> Result<Self> {
        let first = tables.first().ok_or_else(|| Error::input("no ot-maps tables to combine"))?;
        let cells = |t: &OtMapsTable| t.rows.iter().map(|r| (r.dataset.clone(), r.method.clone())).collect::<Vec<_>>();
        for t in tables {
            if cells(t) != cells(first) || t.epochs != first.epochs {
                return Err(Error::input(format!(
                    "ot-maps tables differ: seed {} has {} epochs and {:?}, seed {} has {} epochs and {:?}",
                    first.seed,
                    first.epochs,
                    cells(first),
                    t.seed,
                    t.epochs,
                    cells(t)
                )));
            }
        }
        let seeds: Vec<u64> = tables.iter().map(|t| t.seed).collect();
        let mut distinct = seeds.clone();
        distinct.sort_unstable();
        distinct.dedup();
        if distinct.len() != seeds.len() {
            return Err(Error::input(format!(
                "ot-maps tables repeat a seed: {seeds:?} (summaries written before the seed was recorded all read \
                 as seed 0: resume each experiment to rewrite its summary)"
            )));
        }
        let mut rows = Vec::new();
        let mut identity = Vec::new();
        for (ds, method) in cells(first) {
            let of = |t: &OtMapsTable| t.rows.iter().find(|r| r.dataset == ds && r.method == method).cloned();
            let picked: Vec<OtMapsRow> = tables.iter().filter_map(of).collect();
            let best = tables
                .iter()
                .filter(|t| {
                    let lowest =
                        t.rows.iter().filter(|r| r.dataset == ds).min_by(|a, b| a.map_error.total_cmp(&b.map_error));
                    lowest.is_some_and(|r| r.method == method)
                })
                .count();
            let below_identity = tables
                .iter()
                .filter(|t| matches!((t.identity_error(&ds), t.map_error(&ds, &method)), (Some(id), Some(e)) if e < id))
                .count();
            if !identity.iter().any(|(d, _): &(String, Spread)| *d == ds) {
                let ids: Vec<f64> = tables.iter().filter_map(|t| t.identity_error(&ds)).collect();
                if ids.len() == tables.len() {
                    identity.push((ds.clone(), Spread::of(&ids)));
                }
            }
            rows.push(OtMapsSeedsRow {
                map_error: Spread::of(&picked.iter().map(|r| r.map_error).collect::<Vec<_>>()),
                w2: Spread::of(&picked.iter().map(|r| r.w2).collect::<Vec<_>>()),
                dataset: ds,
                method,
                best,
                below_identity,
            });
        }
        Ok(OtMapsSeeds { epochs: first.epochs, seeds, rows, identity })
    }

    /// Reads `summary.json` from each finished ot-maps experiment in `dirs`.
    pub fn load(dirs: &[std::path::PathBuf]) -> Result<Self> {
        let tables = dirs
            .iter()
            .map(|d| crate::io::read_json::<OtMapsTable>(d.join("summary.json"), "an ot-maps experiment's summary"))
            .collect::<Result<Vec<_>>>()?;
        Self::from_tables(&tables)
    }

    /// The row of `method` on `dataset`.
    pub fn row(&self, dataset: &str, method: &str) -> Option<&OtMapsSeedsRow> {
        self.rows.iter().find(|r| r.dataset == dataset && r.method == method)
    }

    /// The identity map's error on `dataset`, over the seeds.
    pub fn identity_error(&self, dataset: &str) -> Option<Spread> {
        self.identity.iter().find(|p| p.0 == dataset).map(|p| p.1)
    }

    /// Methods as rows, problems as columns: map error mean [min–max], and
    /// the seeds in which the method had the lowest error; the identity's
    /// error in the last row.
    pub fn markdown(&self) -> String {
        let (datasets, methods) = axes(self.rows.iter().map(|r| (r.dataset.as_str(), r.method.as_str())));
        let n = self.seeds.len();
        let mut s = format!(
            "Map error against Discrete-OT after {} epochs over {n} seed{} ({:?}): mean [min–max], and in how many \
             seeds the method had the lowest error of all methods (best k/{n})\n\n| method | {} |\n|---|{}\n",
            self.epochs,
            if n == 1 { "" } else { "s" },
            self.seeds,
            datasets.join(" | "),
            "---|".repeat(datasets.len())
        );
        let f = |v: &Spread| format!("{:.4} [{:.4}–{:.4}]", v.mean, v.min, v.max);
        for m in &methods {
            let _ = write!(s, "| {m} |");
            for d in &datasets {
                match self.row(d, m) {
                    Some(r) => {
                        let _ = write!(s, " {} best {}/{n} |", f(&r.map_error), r.best);
                    }
                    None => s.push_str(" — |"),
                }
            }
            s.push('\n');
        }
        if !self.identity.is_empty() {
            s.push_str("| identity (the start) |");
            for d in &datasets {
                match self.identity_error(d) {
                    Some(v) => {
                        let _ = write!(s, " {} |", f(&v));
                    }
                    None => s.push_str(" — |"),
                }
            }
            s.push('\n');
        }
        s
    }
}
