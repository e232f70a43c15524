//! How good are the learned W2 maps, d = 2 … 256: every method against
//! pairs whose optimal map is known exactly ([`crate::data::pairs`]),
//! scored as Korotin et al. 2021 score OT solvers ([`crate::metrics::maps`]:
//! L2-UVP and cos on a fixed test sample of 4,096 points), beside three
//! baselines — the identity, the constant map to Q's mean and the linear
//! (Bures) map fitted to 2^15 samples of each side.
//!
//! W2GAN's claim (004) is that its generator *is* an optimal transport map;
//! W2-FE and Barycentric-OT claim the same kind of object; W1-FE-LP is the
//! contrast (a W1 flow need not recover the W2 map). Each method's
//! generator, identity-initialised (`z + H(z)`, H small at the start), is
//! its T̂; the trainer's own exact W2 between T̂#P and Q on 512 points is in
//! every row too.

use super::{check_methods, Experiment, FinishedRun, Report, RunSpec};
use crate::config::{preset, RunConfig};
use crate::data::pairs::{MapPair, PairFamily, PairSide, PairSpec};
use crate::data::Distribution;
use crate::error::{Error, Result};
use crate::metrics::emd::{points2, wasserstein};
use crate::metrics::maps::{map_scores, LinearMap, MapScores};
use crate::nets::{Init, MlpConfig};
use crate::optim::AdamConfig;
use crate::plot::{Figure, LineChart, Series, TransportPanels, TransportPlot};
use crate::runs::compare::Spread;
use crate::runs::RunLabels;
use crate::train::{Evaluator, Trainer};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::Path;
use std::rc::Rc;
use tch::{Device, Tensor};

/// The methods compared: W2GAN, both W2-FE presets, Barycentric-OT and W1-FE-LP.
pub const DEFAULT_METHODS: &[&str] = &["w2gan", "w2fe", "w2fe-w2gan", "baryot-l2", "w1fe-lp"];
/// The baselines, scored without training.
pub const BASELINES: &[&str] = &["identity", "constant", "linear"];

/// The experiment's settings.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct OtBenchmarkExperiment {
    pub families: Vec<PairFamily>,
    pub dims: Vec<i64>,
    pub methods: Vec<String>,
    /// Schedule and optimizers; data and networks come from each pair.
    pub base: RunConfig,
    /// The seed every pair is drawn with.
    pub pair_seed: u64,
    /// Test points the scores are computed on (Korotin et al.: 4,096).
    pub test_size: usize,
    /// Training seeds, one run per method, pair and seed (runs
    /// `FAMILY/dD/METHOD/seedS`), the table giving the mean and the range;
    /// empty: one run per method and pair at `base.train.seed` (runs
    /// `FAMILY/dD/METHOD`).
    #[serde(default)]
    pub seeds: Vec<u64>,
}

impl Default for OtBenchmarkExperiment {
    fn default() -> Self {
        Self::new()
    }
}

impl OtBenchmarkExperiment {
    /// Both families, d = 2, 4, …, 256, the five methods; batch 256, 5
    /// critic steps, Adam 5e-4 for both networks (the 2D map experiment's,
    /// 004 App. 8.9.1), 500 epochs scored every 100.
    pub fn new() -> Self {
        let base = RunConfig::default()
            .epochs(500)
            .batch_size(256)
            .critic_iters(5)
            .eval_every(100)
            .eval_size(512)
            .adam(AdamConfig::new(5e-4, 0.9, 0.999));
        OtBenchmarkExperiment {
            families: PairFamily::ALL.to_vec(),
            dims: vec![2, 4, 8, 16, 32, 64, 128, 256],
            methods: DEFAULT_METHODS.iter().map(|s| s.to_string()).collect(),
            base,
            pair_seed: 0,
            test_size: 4096,
            seeds: vec![],
        }
    }

    /// The training seeds (see [`OtBenchmarkExperiment::seeds`]).
    pub fn seeds(mut self, seeds: &[u64]) -> Self {
        self.seeds = seeds.to_vec();
        self
    }

    /// The methods to compare.
    pub fn methods(mut self, methods: &[&str]) -> Self {
        self.methods = methods.iter().map(|s| s.to_string()).collect();
        self
    }

    /// The pair families.
    pub fn families(mut self, families: &[PairFamily]) -> Self {
        self.families = families.to_vec();
        self
    }

    /// The dimensions.
    pub fn dims(mut self, dims: &[i64]) -> Self {
        self.dims = dims.to_vec();
        self
    }

    /// Hidden width of the networks in dimension d: 2d, between 64 and 256.
    pub fn width(d: i64) -> i64 {
        (2 * d).clamp(64, 256)
    }

    /// The config of `method` on the pair of `family` in dimension `d`.
    pub fn config_for(&self, family: PairFamily, d: i64, method: &str) -> Result<RunConfig> {
        let side = |side| Distribution::Pair(PairSpec { pair: family, dim: d, seed: self.pair_seed, side });
        let w = Self::width(d);
        // z + H(z) with H small at the start: T̂ starts as the identity (004 App. 8.9.1).
        let generator =
            MlpConfig { residual: true, init: Init::Normal { std: 0.01 }, ..MlpConfig::new(d, d, &[w, w, w]) };
        let base = self
            .base
            .clone()
            .source(side(PairSide::Input))
            .target(side(PairSide::Output))
            .generator(generator)
            .critic_net(MlpConfig::new(d, 1, &[w, w, w]));
        preset(method, &base)
    }

    fn pairs(&self) -> impl Iterator<Item = (PairFamily, i64)> + '_ {
        self.families.iter().flat_map(move |&f| self.dims.iter().map(move |&d| (f, d)))
    }
}

/// One pair's test sample, exact map and variance, shared by its runs.
pub struct PairData {
    pub pair: MapPair,
    pub x: Tensor,
    pub t_star: Tensor,
}

/// Every pair's [`PairData`], by family and dimension.
pub struct BenchmarkContext {
    pairs: HashMap<(PairFamily, i64), Rc<PairData>>,
}

impl BenchmarkContext {
    fn get(&self, family: PairFamily, d: i64) -> Result<&Rc<PairData>> {
        self.pairs.get(&(family, d)).ok_or_else(|| Error::input(format!("no pair {} d={d}", family.name())))
    }
}

/// L2-UVP and cos of the trainer's generator on the pair's test sample.
struct MapEvaluator(Rc<PairData>);

impl Evaluator for MapEvaluator {
    fn evaluate(&mut self, t: &Trainer) -> Result<Vec<(String, f64)>> {
        let p = &self.0;
        let x = p.x.to_device(t.device());
        let s = map_scores(&x, &t.generate(&x), &p.t_star.to_device(t.device()), p.pair.output_variance)?;
        Ok(vec![("l2_uvp".into(), s.l2_uvp), ("cos".into(), s.cos)])
    }
}

/// One method or baseline on one pair.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BenchmarkRow {
    pub family: PairFamily,
    pub dim: i64,
    /// A method preset, or `identity`, `constant`, `linear`.
    pub method: String,
    pub l2_uvp: f64,
    pub cos: f64,
    /// Exact W2 between T̂#P and Q on 512 points each.
    pub w2: f64,
    /// Epochs trained (0 for the baselines).
    pub epochs: usize,
    /// Training seconds (0 for the baselines).
    pub seconds: f64,
    /// Runs the row is the mean of (1 for one run, 0 for a baseline); the
    /// range of L2-UVP and cos over them.
    #[serde(default)]
    pub runs: usize,
    #[serde(default)]
    pub l2_uvp_range: Option<(f64, f64)>,
    #[serde(default)]
    pub cos_range: Option<(f64, f64)>,
}

/// One method's L2-UVP against epochs on one pair, the mean over its seeds.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct UvpCurve {
    pub family: PairFamily,
    pub dim: i64,
    pub method: String,
    pub epochs: Vec<usize>,
    pub l2_uvp: Vec<f64>,
}

/// The table, the L2-UVP-against-d charts and the 2D panels (the last two
/// not in `summary.json`).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct OtBenchmarkSummary {
    pub rows: Vec<BenchmarkRow>,
    /// Each method's L2-UVP at every evaluation, per pair (mean over seeds).
    #[serde(default)]
    pub curves: Vec<UvpCurve>,
    /// Per family, arrows x → T*(x) and x → T̂(x) on the d = 2 pair.
    #[serde(skip)]
    pub panels: Vec<(PairFamily, TransportPanels)>,
}

impl OtBenchmarkSummary {
    /// The row of `method` on `family` in dimension `d`.
    pub fn row(&self, family: PairFamily, d: i64, method: &str) -> Option<&BenchmarkRow> {
        self.rows.iter().find(|r| r.family == family && r.dim == d && r.method == method)
    }

    fn names(&self) -> Vec<String> {
        let mut names: Vec<String> = vec![];
        for r in &self.rows {
            if !names.contains(&r.method) {
                names.push(r.method.clone());
            }
        }
        names
    }

    /// L2-UVP (%) against d for one family, every method and baseline.
    pub fn chart(&self, family: PairFamily) -> LineChart {
        let mut c = LineChart::new(
            format!("{} pairs: L2-UVP of the learned maps", family.name()),
            "dimension d (log2)",
            "L2-UVP % (log10)",
        );
        for m in self.names() {
            let rows: Vec<&BenchmarkRow> =
                self.rows.iter().filter(|r| r.family == family && r.method == m && r.l2_uvp > 0.0).collect();
            if rows.is_empty() {
                continue;
            }
            let x = rows.iter().map(|r| (r.dim as f64).log2()).collect();
            let y = rows.iter().map(|r| r.l2_uvp.log10()).collect();
            c = c.with(Series::new(m, x, y));
        }
        c
    }
}

impl OtBenchmarkSummary {
    /// L2-UVP (%, log10) against epochs on one pair, every method, with the
    /// linear baseline as a flat line.
    pub fn budget_chart(&self, family: PairFamily, d: i64) -> LineChart {
        let mut c = LineChart::new(
            format!("{} pairs, d = {d}: L2-UVP during training", family.name()),
            "epoch",
            "L2-UVP % (log10)",
        );
        let mine: Vec<&UvpCurve> = self.curves.iter().filter(|c| c.family == family && c.dim == d).collect();
        let last = mine.iter().filter_map(|c| c.epochs.last()).max().copied().unwrap_or(0) as f64;
        for curve in mine {
            let x = curve.epochs.iter().map(|&e| e as f64).collect();
            c = c.with(Series::new(curve.method.clone(), x, curve.l2_uvp.iter().map(|v| v.log10()).collect()));
        }
        if let Some(r) = self.row(family, d, "linear") {
            c = c.with(Series::new("linear", vec![0.0, last], vec![r.l2_uvp.log10(); 2]));
        }
        c
    }
}

impl Report for OtBenchmarkSummary {
    fn markdown(&self) -> String {
        let mut s = String::from(
            "L2-UVP % (cos) of each map against the exact optimal map, 4,096 test points; baselines untrained\n",
        );
        if let Some(n) = self.rows.iter().map(|r| r.runs).max().filter(|&n| n > 1) {
            let _ = writeln!(s, "methods: mean [min–max] L2-UVP (mean cos) over {n} training seeds");
        }
        let mut families: Vec<PairFamily> = vec![];
        let mut dims: Vec<i64> = vec![];
        for r in &self.rows {
            if !families.contains(&r.family) {
                families.push(r.family);
            }
            if !dims.contains(&r.dim) {
                dims.push(r.dim);
            }
        }
        dims.sort_unstable();
        for f in families {
            let _ = write!(s, "\n{} pairs\n\n| map |", f.name());
            for d in &dims {
                let _ = write!(s, " d={d} |");
            }
            let _ = write!(s, "\n|---|{}\n", "---|".repeat(dims.len()));
            for m in self.names() {
                let _ = write!(s, "| {m} |");
                for &d in &dims {
                    match self.row(f, d, &m) {
                        Some(r) => match r.l2_uvp_range.filter(|_| r.runs > 1) {
                            Some((lo, hi)) => {
                                let _ = write!(s, " {:.1} [{lo:.1}–{hi:.1}] ({:.2}) |", r.l2_uvp, r.cos);
                            }
                            None => {
                                let _ = write!(s, " {:.2} ({:.3}) |", r.l2_uvp, r.cos);
                            }
                        },
                        None => s.push_str(" — |"),
                    }
                }
                s.push('\n');
            }
        }
        if let Some(r) = self.rows.iter().find(|r| r.epochs > 0) {
            let secs: f64 = self.rows.iter().map(|r| r.seconds * r.runs as f64).sum();
            let _ = writeln!(
                s,
                "\nEach method trained {} epochs per run; {secs:.0} training seconds in all ({} runs).",
                r.epochs,
                self.rows.iter().map(|r| r.runs).sum::<usize>()
            );
        }
        s
    }

    fn save_figures(&self, out: &Path) -> Result<()> {
        let mut families: Vec<PairFamily> = self.rows.iter().map(|r| r.family).collect();
        families.dedup();
        for f in families {
            let c = self.chart(f);
            c.save(out.join(format!("uvp-{}.png", f.name())))?;
            c.save(out.join(format!("uvp-{}.svg", f.name())))?;
        }
        for (f, p) in &self.panels {
            p.save(out.join(format!("maps-{}-2d.png", f.name())))?;
        }
        Ok(())
    }
}

/// The scores of the baseline `name` on `p` (the linear one fitted to 2^15
/// samples of each side, drawn from the pair's own stream).
fn baseline(name: &str, p: &PairData) -> Result<(MapScores, Tensor)> {
    let n = p.x.size()[0];
    let d = p.pair.dim;
    let t_hat = match name {
        "identity" => p.x.shallow_clone(),
        "constant" => p.pair.output_mean.unsqueeze(0).expand([n, d], false).contiguous(),
        "linear" => {
            let ps = p.pair.test_sample(1 << 15, 11, Device::Cpu)?;
            let qs = p.pair.map(&p.pair.test_sample(1 << 15, 12, Device::Cpu)?)?;
            LinearMap::fit(&ps, &qs)?.apply(&p.x)?
        }
        other => return Err(Error::input(format!("no baseline `{other}`"))),
    };
    Ok((map_scores(&p.x, &t_hat, &p.t_star, p.pair.output_variance)?, t_hat))
}

/// The mean L2-UVP over `runs` at the epochs they all evaluated.
fn mean_curve(family: PairFamily, dim: i64, method: &str, runs: &[&FinishedRun]) -> UvpCurve {
    let mut epochs: Vec<usize> = vec![];
    let mut l2_uvp = vec![];
    if let Some(first) = runs.first() {
        for row in &first.history.rows {
            let at: Vec<f64> = runs
                .iter()
                .filter_map(|r| r.history.rows.iter().find(|x| x.epoch == row.epoch).and_then(|x| x.metric("l2_uvp")))
                .collect();
            if at.len() == runs.len() {
                epochs.push(row.epoch);
                l2_uvp.push(at.iter().sum::<f64>() / at.len() as f64);
            }
        }
    }
    UvpCurve { family, dim, method: method.to_string(), epochs, l2_uvp }
}

impl Experiment for OtBenchmarkExperiment {
    const KIND: &'static str = "ot-benchmark";
    type Context = BenchmarkContext;
    type Summary = OtBenchmarkSummary;

    fn validate(&self) -> Result<()> {
        check_methods(&self.methods, "methods")?;
        if self.families.is_empty() {
            return Err(Error::config("families", "give at least one family: gaussian, mixture"));
        }
        if self.dims.is_empty() || self.dims.iter().any(|&d| !(1..=4096).contains(&d)) {
            return Err(Error::config("dims", format!("give dimensions in 1..=4096, got {:?}", self.dims)));
        }
        if self.test_size < 512 {
            return Err(Error::config("test_size", format!("must be ≥ 512, got {}", self.test_size)));
        }
        if !crate::error::all_distinct(&self.seeds) {
            return Err(Error::config("seeds", format!("must be distinct, got {:?}", self.seeds)));
        }
        Ok(())
    }

    fn runs(&self) -> Result<Vec<RunSpec>> {
        let mut v = vec![];
        for (f, d) in self.pairs() {
            for m in &self.methods {
                let config = self.config_for(f, d, m)?;
                if self.seeds.is_empty() {
                    let labels = RunLabels { method: m.clone(), k: config.step.k(), seed: config.train.seed };
                    v.push(RunSpec { name: format!("{}/d{d}/{m}", f.name()), config: config.clone(), labels });
                }
                for &seed in &self.seeds {
                    let config = config.clone().seed(seed);
                    let labels = RunLabels { method: m.clone(), k: config.step.k(), seed };
                    v.push(RunSpec { name: format!("{}/d{d}/{m}/seed{seed}", f.name()), config, labels });
                }
            }
        }
        Ok(v)
    }

    fn context(&self, _device: Device) -> Result<BenchmarkContext> {
        let mut pairs = HashMap::new();
        for (f, d) in self.pairs() {
            let pair = MapPair::new(f, d, self.pair_seed)?;
            let x = pair.test_sample(self.test_size, 1, Device::Cpu)?;
            let t_star = pair.map(&x)?;
            pairs.insert((f, d), Rc::new(PairData { pair, x, t_star }));
        }
        Ok(BenchmarkContext { pairs })
    }

    fn evaluators(&self, ctx: &BenchmarkContext, run: &RunSpec) -> Result<Vec<Box<dyn Evaluator>>> {
        let Distribution::Pair(spec) = &run.config.source else {
            return Err(Error::input(format!("{}: the source is not a pair", run.name)));
        };
        Ok(vec![Box::new(MapEvaluator(Rc::clone(ctx.get(spec.pair, spec.dim)?)))])
    }

    fn summarise(&self, ctx: &BenchmarkContext, runs: &[FinishedRun], device: Device) -> Result<OtBenchmarkSummary> {
        let mut rows = vec![];
        let mut panels = vec![];
        let mut curves = vec![];
        for (f, d) in self.pairs() {
            let p = ctx.get(f, d)?;
            let n_plot = 512.min(self.test_size as i64);
            let q = p.pair.map(&p.pair.test_sample(n_plot as usize, 13, Device::Cpu)?)?;
            let mut arrows = vec![];
            if d == 2 {
                let (x, ts) =
                    (points2(&p.x.narrow(0, 0, n_plot), "x")?, points2(&p.t_star.narrow(0, 0, n_plot), "T*(x)")?);
                arrows.push(TransportPlot::new("T* (exact)", points2(&q, "Q")?, x, ts)?);
            }
            for b in BASELINES {
                let (s, t_hat) = baseline(b, p)?;
                let w2 = wasserstein(&t_hat.narrow(0, 0, n_plot), &q, 2)?;
                rows.push(BenchmarkRow {
                    family: f,
                    dim: d,
                    method: b.to_string(),
                    l2_uvp: s.l2_uvp,
                    cos: s.cos,
                    w2,
                    epochs: 0,
                    seconds: 0.0,
                    runs: 0,
                    l2_uvp_range: None,
                    cos_range: None,
                });
            }
            let prefix = format!("{}/d{d}/", f.name());
            let mine: Vec<&FinishedRun> = runs.iter().filter(|r| r.spec.name.starts_with(&prefix)).collect();
            for m in &self.methods {
                let group: Vec<&FinishedRun> = mine.iter().copied().filter(|r| &r.spec.labels.method == m).collect();
                if group.is_empty() {
                    continue;
                }
                let mut finals = vec![];
                for r in &group {
                    let last =
                        r.history.last().ok_or_else(|| Error::input(format!("{}: no evaluations", r.spec.name)))?;
                    let metric = |name: &str| {
                        last.metric(name)
                            .ok_or_else(|| Error::input(format!("{}: no `{name}` in its history", r.spec.name)))
                    };
                    finals.push((metric("l2_uvp")?, metric("cos")?, last.w2, last.epoch, last.seconds));
                }
                curves.push(mean_curve(f, d, m, &group));
                let (uvp, cos): (Vec<f64>, Vec<f64>) = finals.iter().map(|f| (f.0, f.1)).unzip();
                let (uvp, cos) = (Spread::of(&uvp), Spread::of(&cos));
                let n = finals.len() as f64;
                rows.push(BenchmarkRow {
                    family: f,
                    dim: d,
                    method: m.clone(),
                    l2_uvp: uvp.mean,
                    cos: cos.mean,
                    w2: finals.iter().map(|f| f.2).sum::<f64>() / n,
                    epochs: finals.iter().map(|f| f.3).max().unwrap_or(0),
                    seconds: finals.iter().map(|f| f.4).sum::<f64>() / n,
                    runs: finals.len(),
                    l2_uvp_range: Some((uvp.min, uvp.max)),
                    cos_range: Some((cos.min, cos.max)),
                });
                if d == 2 {
                    // The first seed's map.
                    let r = group[0];
                    let t = crate::runs::load_trainer(&r.dir, device)?;
                    let x = p.x.narrow(0, 0, n_plot);
                    let t_hat = t.generate(&x.to_device(device));
                    let plot = TransportPlot::new(
                        r.spec.labels.method.clone(),
                        points2(&q, "Q")?,
                        points2(&x, "x")?,
                        points2(&t_hat, "T̂(x)")?,
                    )?;
                    arrows.push(plot);
                }
            }
            if !arrows.is_empty() {
                panels.push((f, TransportPanels::new(arrows)));
            }
        }
        Ok(OtBenchmarkSummary { rows, curves, panels })
    }

    fn base_mut(&mut self) -> Option<&mut RunConfig> {
        Some(&mut self.base)
    }
}
