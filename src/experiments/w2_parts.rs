//! The W2 flow taken apart: which piece of W2-FE keeps it from decaying as
//! `(1 − ε)^n` (003 eq. 14, issue "Faithful flows").
//!
//! One Euler step of the W2 flow moves every particle a fraction ε of the way
//! to its image under the optimal map: `y ← y − ε(y − T(y))`. Between two
//! point clouds of equal size the optimal map is an assignment σ, and the
//! step keeps σ optimal (`Σ⟨y′_i, x_τ(i)⟩` is largest at τ = σ for both of
//! its terms), so the exact discrete flow has
//! `W2(y_{n+1}, x) = (1 − ε) W2(y_n, x)` to rounding. W2-FE replaces `T` by
//! the map of a learned, regularised critic and the particles by a
//! generator fitted to the moved particles with K optimizer steps. The
//! experiment measures each replacement alone, from the same start — the
//! initial generator's output on the fixed evaluation sample `z` — against
//! the same fixed target sample `x` (both `train.eval_size` points):
//!
//! * **(A) exact**: the particles moved by the exact assignment map
//!   ([`exact_w2_flow`]);
//! * **(B) critic only**: the particles moved by `ζ = y − ε∇φ(y)`, φ the
//!   `w2fe` preset's critic (Seguy's L2 dual, ψ independent) with penalty
//!   weight λ, trained `train.critic_iters` steps per epoch (warm-started
//!   from the last epoch) as the trainer trains it: each step pairs a fresh
//!   batch of the target distribution with the current particles in a fresh
//!   order (pairing the fixed samples row by row would penalise the dual's
//!   constraint on the same 512 pairs only). It also reports
//!   the **alignment** `Σ_i ⟨−∇φ(y_i), x_σ(i) − y_i⟩ / Σ_i |x_σ(i) − y_i|²`:
//!   1 when the critic's step is the exact one, below 1 when it falls short;
//! * **(C) generator only**: the generator (the full run's initial weights)
//!   fitted on the fixed `z` to (A)'s exact targets `(1 − ε) G(z) + ε x_σ`
//!   with K Adam steps at learning rate `lr`; it also reports the **fit
//!   residual** `Σ_i |G(z_i) − ζ_i|² / Σ_i |ζ_i − y_i|²` after the K steps
//!   (0: the generator reached its targets; 1: it did not move);
//! * **full**: W2-FE itself (preset `w2fe`, step ε, persistency K), trained
//!   by the [`Trainer`] on fresh batches and evaluated every epoch.
//!
//! The table gives the per-epoch ratio `W2_n / W2_{n−1}` against the Euler
//! factor `1 − ε` (the rate `−ln(1 − ε)/ε`, 1.116 at ε = 0.2, not 1), not
//! one exponential fitted through every phase. Trained parts are measured
//! against a fixed finite sample, so their W2 stalls near the sampling
//! **floor** (the fixed target sample against an independent one); ratios
//! are summarised only while `W2 > 2·floor`.

use super::{check_ks, Experiment, FinishedRun, Report, RunSpec};
use crate::config::{preset, RunConfig};
use crate::critic::{gradient, Critic, CriticConfig, Regularisation, W2Penalty};
use crate::data::Toy;
use crate::error::{Error, Result};
use crate::flow::barycentric::{discrete_ot_map, exact_w2_flow, map_error};
use crate::flow::euler::{euler_targets, persistent_fit};
use crate::flow::StepConfig;
use crate::optim::{Adam, AdamConfig};
use crate::plot::{Figure, LineChart, Series};
use crate::runs::RunLabels;
use crate::train::Trainer;
use serde::{Deserialize, Serialize};
use std::fmt::Write as _;
use std::path::Path;
use tch::{nn, Device, Kind, Tensor};

/// The experiment's settings.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct W2PartsExperiment {
    /// Networks, schedule, seed; the critic and step come from the `w2fe`
    /// preset, the data from each problem.
    pub base: RunConfig,
    /// The Euler step ε, in (0, 1).
    pub eps: f64,
    /// `ring` (N(0, I) to the 8-Gaussian ring) or a 2D map problem of
    /// [`super::ot_maps::dataset`] (`four-gaussians`, `checkerboard`, `spiral`).
    pub problems: Vec<String>,
    /// Persistency levels of (C) and of the full method.
    pub ks: Vec<usize>,
    /// Penalty weights λ of (B)'s critic.
    pub lambdas: Vec<f64>,
    /// Generator learning rates of (C).
    pub lrs: Vec<f64>,
}

/// Which piece of the flow a curve measures.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "part", rename_all = "kebab-case")]
pub enum Part {
    /// (A): the exact assignment map.
    Exact,
    /// (B): the learned critic's map, penalty weight λ.
    Critic { lambda: f64 },
    /// (C): the generator fitted to the exact targets.
    Generator { k: usize, lr: f64 },
    /// W2-FE itself.
    Full { k: usize },
}

impl Part {
    /// A short label: `A exact`, `B critic λ=200`, `C generator K=10 lr=0.001`, `full K=10`.
    pub fn label(&self) -> String {
        match self {
            Part::Exact => "A exact".into(),
            Part::Critic { lambda } => format!("B critic λ={lambda}"),
            Part::Generator { k, lr } => format!("C generator K={k} lr={lr}"),
            Part::Full { k } => format!("full K={k}"),
        }
    }
}

/// One measured curve.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PartCurve {
    pub problem: String,
    pub part: Part,
    /// Exact W2 to the fixed target sample at epochs 0, 1, …
    pub w2: Vec<f64>,
    /// (B): the alignment at each epoch's step; (C): the fit residual after
    /// each epoch; empty otherwise.
    pub extra: Vec<f64>,
}

impl PartCurve {
    /// `W2_n / W2_{n−1}` for n = 1, 2, …
    pub fn ratios(&self) -> Vec<f64> {
        self.w2.windows(2).map(|w| w[1] / w[0]).collect()
    }

    /// The median of the ratios while `W2_{n−1} > 2·floor` (`None` if none).
    pub fn median_ratio(&self, floor: f64) -> Option<f64> {
        let r: Vec<f64> =
            self.w2.windows(2).filter(|w| w[0] > 2.0 * floor && w[1].is_finite()).map(|w| w[1] / w[0]).collect();
        median(r)
    }

    /// The median of `extra` over the same epochs as [`Self::median_ratio`].
    pub fn median_extra(&self, floor: f64) -> Option<f64> {
        let e: Vec<f64> = self.extra.iter().zip(&self.w2).filter(|(_, w)| **w > 2.0 * floor).map(|(e, _)| *e).collect();
        median(e)
    }
}

fn median(mut v: Vec<f64>) -> Option<f64> {
    v.retain(|x| x.is_finite());
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let n = v.len();
    Some(if n % 2 == 1 { v[n / 2] } else { 0.5 * (v[n / 2 - 1] + v[n / 2]) })
}

/// Every curve, with each problem's sampling floor.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct W2PartsSummary {
    pub eps: f64,
    /// `(problem, floor)`.
    pub floors: Vec<(String, f64)>,
    pub curves: Vec<PartCurve>,
}

/// The epochs whose ratios the table prints.
const TABLE_EPOCHS: &[usize] = &[1, 2, 3, 5, 10, 20];

impl W2PartsSummary {
    /// The floor of `problem` (0 if unknown).
    pub fn floor(&self, problem: &str) -> f64 {
        self.floors.iter().find(|(p, _)| p == problem).map_or(0.0, |(_, f)| *f)
    }

    /// The curve of `part` on `problem`.
    pub fn curve(&self, problem: &str, part: &Part) -> Option<&PartCurve> {
        self.curves.iter().find(|c| c.problem == problem && &c.part == part)
    }

    /// Markdown: per problem, every part's ratio `W2_n/W2_{n−1}` at a few
    /// epochs, its median above twice the floor, the last W2 against the
    /// first, and the median alignment (B) or fit residual (C).
    pub fn table(&self) -> String {
        let mut s = format!(
            "W2 flow taken apart, ε = {}: per-epoch ratio W2_n / W2_(n−1) against the Euler factor 1 − ε = {:.3}\n",
            self.eps,
            1.0 - self.eps
        );
        for (problem, floor) in &self.floors {
            let cols: Vec<String> = TABLE_EPOCHS.iter().map(|n| format!("n={n}")).collect();
            let _ = write!(
                s,
                "\n{problem} (sampling floor W2 = {floor:.4})\n\n| part | {} | median (W2 > 2·floor) | W2_E / W2_0 | alignment (B) / residual (C) |\n|---|{}---|---|---|\n",
                cols.join(" | "),
                "---|".repeat(cols.len())
            );
            for c in self.curves.iter().filter(|c| &c.problem == problem) {
                let r = c.ratios();
                let at: Vec<String> =
                    TABLE_EPOCHS.iter().map(|&n| r.get(n - 1).map_or("–".into(), |v| format!("{v:.3}"))).collect();
                let fmt = |v: Option<f64>| v.map_or("–".into(), |v| format!("{v:.3}"));
                let last = match (c.w2.first(), c.w2.last()) {
                    (Some(a), Some(b)) if *a > 0.0 => Some(b / a),
                    _ => None,
                };
                let _ = writeln!(
                    s,
                    "| {} | {} | {} | {} | {} |",
                    c.part.label(),
                    at.join(" | "),
                    fmt(c.median_ratio(*floor)),
                    fmt(last),
                    if c.extra.is_empty() { "–".into() } else { fmt(c.median_extra(*floor)) }
                );
            }
        }
        s
    }

    /// log10 W2 against epochs for every part on `problem`, with
    /// `W2_0 (1 − ε)^n` and the floor.
    pub fn chart(&self, problem: &str) -> LineChart {
        let log = |v: &[f64]| v.iter().map(|w| w.log10()).collect::<Vec<f64>>();
        let mut c = LineChart::new(
            format!("{problem}: the W2 flow taken apart, ε = {}", self.eps),
            "epoch n",
            "log10 W2 to the target sample",
        );
        let mut longest: Option<&PartCurve> = None;
        for curve in self.curves.iter().filter(|c| c.problem == problem) {
            let epochs = (0..curve.w2.len()).map(|n| n as f64).collect();
            c = c.with(Series::new(curve.part.label(), epochs, log(&curve.w2)));
            if longest.is_none_or(|l| curve.w2.len() > l.w2.len()) {
                longest = Some(curve);
            }
        }
        if let Some(l) = longest {
            let n: Vec<f64> = (0..l.w2.len()).map(|n| n as f64).collect();
            let euler: Vec<f64> = n.iter().map(|n| l.w2[0] * (1.0 - self.eps).powf(*n)).collect();
            c = c.with(Series::new("W2_0·(1−ε)^n", n.clone(), log(&euler)));
            c = c.with(Series::new("floor", n.clone(), log(&vec![self.floor(problem); n.len()])));
        }
        c
    }
}

impl Report for W2PartsSummary {
    fn markdown(&self) -> String {
        self.table()
    }

    fn save_figures(&self, out: &Path) -> Result<()> {
        for (problem, _) in &self.floors {
            self.chart(problem).save_png_svg(out, &format!("parts-{problem}"))?;
        }
        Ok(())
    }
}

/// The W2 between particles `y` and the target sample `x` (equal sizes)
/// and `x_σ`, the target of each particle under the optimal assignment.
fn assignment_step(y: &Tensor, x: &Tensor) -> Result<(f64, Tensor)> {
    let x_sigma = discrete_ot_map(y, x)?;
    Ok((map_error(y, &x_sigma)?.sqrt(), x_sigma))
}

fn problem_data(problem: &str) -> Result<(Toy, Toy)> {
    match problem {
        "ring" => Ok((Toy::standard_gaussian(), Toy::ring())),
        other => super::ot_maps::dataset(other).map_err(|e| match e {
            Error::Config { msg, .. } => Error::config("problems", format!("{msg}, or ring")),
            e => e,
        }),
    }
}

impl W2PartsExperiment {
    /// ε = 0.2, 30 epochs, on the ring and four Gaussians; K ∈ {1, 10, 50};
    /// λ ∈ {20, 200, 2000} (200 is the preset's); learning rates 1e-4 (the
    /// ring's) and 1e-3; the rest as [`super::W2DecayExperiment::new`]
    /// (20 critic steps per epoch, Adam 1e-3, 512 evaluation points).
    pub fn new() -> Self {
        let base = super::W2DecayExperiment::new().base;
        W2PartsExperiment {
            base,
            eps: 0.2,
            problems: vec!["ring".into(), "four-gaussians".into()],
            ks: vec![1, 10, 50],
            lambdas: vec![20.0, 200.0, 2000.0],
            lrs: vec![1e-4, 1e-3],
        }
    }

    setters! {
        /// Persistency levels of (C) and the full method.
        ks(ks: Vec<usize>) => ks;
        /// (B)'s penalty weights.
        lambdas(lambdas: Vec<f64>) => lambdas;
        /// (C)'s learning rates.
        lrs(lrs: Vec<f64>) => lrs;
        /// The problems.
        problems(problems: &[&str]) => problems = super::to_strings(problems);
    }

    /// The full method's config on `problem` with persistency `k`.
    pub fn config_for(&self, problem: &str, k: usize) -> Result<RunConfig> {
        let (source, target) = problem_data(problem)?;
        let base = self.base.clone().source(source).target(target);
        Ok(preset("w2fe", &base)?.step(StepConfig::euler(self.eps, k)).eval_every(1))
    }

    /// (B) on `problem` (run config `cfg`) with penalty weight `lambda`,
    /// from the particles `y0` towards the target sample `x`: W2 and
    /// alignment.
    fn critic_only(
        &self,
        problem: &str,
        cfg: &RunConfig,
        (y0, x): (&Tensor, &Tensor),
        lambda: f64,
        device: Device,
    ) -> Result<PartCurve> {
        let mut y = y0.shallow_clone();
        let critic_cfg = match cfg.critic.clone() {
            CriticConfig::W2 { net, psi_net, psi, .. } => {
                CriticConfig::W2 { net, psi_net, psi, penalty: W2Penalty::seguy(Regularisation::L2, lambda) }
            }
            other => other,
        };
        // Fresh target batches, as the trainer draws them.
        let mut target = cfg.target.build(cfg.train.seed.wrapping_mul(2).wrapping_add(2), device)?;
        crate::device::seed_all(cfg.train.seed.wrapping_add(1));
        let vs = nn::VarStore::new(device);
        let critic = Critic::new(&(vs.root() / "critic"), &critic_cfg)?;
        let mut opt = Adam::new(vs.trainable_variables(), cfg.train.critic_opt)?;
        let (mut w2, mut align) = (vec![], vec![]);
        for n in 0..=cfg.train.epochs {
            let (w, x_sigma) = assignment_step(&y, x)?;
            w2.push(w);
            if n == cfg.train.epochs {
                break;
            }
            let m = y.size()[0];
            for _ in 0..cfg.train.critic_iters {
                // A fresh target batch against the particles in a fresh
                // order: the dual's constraint is penalised on new pairs
                // every step, as in training.
                let xb = target.sample(m, device)?;
                let yb = y.f_index_select(0, &Tensor::f_randperm(m, (Kind::Int64, device))?)?;
                let _ = opt.minimise(|| Ok(critic.loss(&xb, &yb)?.loss))?;
            }
            let phi = |t: &Tensor| critic.generator_potential(t);
            let g = gradient(&phi, &y, false)?;
            let d = &x_sigma - &y;
            let num = (-&g * &d).f_sum(Kind::Double)?.double_value(&[]);
            let den = d.f_square()?.f_sum(Kind::Double)?.double_value(&[]);
            align.push(if den > 0.0 { num / den } else { f64::NAN });
            y = euler_targets(&phi, &y, self.eps)?;
        }
        Ok(PartCurve { problem: problem.into(), part: Part::Critic { lambda }, w2, extra: align })
    }

    /// (C) on `problem`: the generator fitted to the exact targets with `k`
    /// Adam steps at `lr`: W2 and fit residual.
    fn generator_only(&self, problem: &str, k: usize, lr: f64, device: Device) -> Result<PartCurve> {
        let cfg = self.config_for(problem, k)?;
        let start = Trainer::new(cfg.clone(), device)?;
        let (z, x) = (start.fixed_samples().0.shallow_clone(), start.fixed_samples().1.shallow_clone());
        let g = start.generator();
        let mut opt = Adam::new(g.parameters(), AdamConfig { lr, ..cfg.train.generator_opt })?;
        let forward = |t: &Tensor| g.forward_t(t, true);
        crate::device::seed_all(cfg.train.seed.wrapping_add(2));
        let (mut w2, mut residual) = (vec![], vec![]);
        for n in 0..=cfg.train.epochs {
            let y = start.generate(&z);
            let (w, x_sigma) = assignment_step(&y, &x)?;
            w2.push(w);
            if n == cfg.train.epochs {
                break;
            }
            let targets = (&y * (1.0 - self.eps) + &x_sigma * self.eps).detach();
            let _ = persistent_fit(&forward, &mut opt, &z, &targets, k)?;
            let after = start.generate(&z);
            let step = (&targets - &y).f_square()?.f_sum(Kind::Double)?.double_value(&[]);
            let left = (&after - &targets).f_square()?.f_sum(Kind::Double)?.double_value(&[]);
            residual.push(if step > 0.0 { left / step } else { f64::NAN });
        }
        Ok(PartCurve { problem: problem.into(), part: Part::Generator { k, lr }, w2, extra: residual })
    }
}

impl Default for W2PartsExperiment {
    fn default() -> Self {
        Self::new()
    }
}

impl Experiment for W2PartsExperiment {
    const KIND: &'static str = "w2-parts";
    type Context = ();
    type Summary = W2PartsSummary;

    fn validate(&self) -> Result<()> {
        check_ks(&self.ks, "ks", false)?;
        if !(self.eps > 0.0 && self.eps < 1.0) {
            return Err(Error::config("eps", format!("the Euler step must be in (0, 1), got {}", self.eps)));
        }
        if self.problems.is_empty() {
            return Err(Error::config("problems", "give at least one problem"));
        }
        for p in &self.problems {
            problem_data(p)?;
        }
        if let Some(l) = self.lambdas.iter().find(|l| !(l.is_finite() && **l > 0.0)) {
            return Err(Error::config("lambdas", format!("penalty weights must be finite and > 0, got {l}")));
        }
        if let Some(lr) = self.lrs.iter().find(|l| !(l.is_finite() && **l > 0.0)) {
            return Err(Error::config("lrs", format!("learning rates must be finite and > 0, got {lr}")));
        }
        Ok(())
    }

    fn runs(&self) -> Result<Vec<RunSpec>> {
        let mut runs = vec![];
        for p in &self.problems {
            for &k in &self.ks {
                let config = self.config_for(p, k)?;
                let labels = RunLabels { method: "w2fe".into(), k, seed: config.train.seed };
                runs.push(RunSpec { name: format!("{p}/k{k}"), config, labels });
            }
        }
        Ok(runs)
    }

    fn context(&self, _device: Device) -> Result<()> {
        Ok(())
    }

    fn summarise(&self, _ctx: &(), runs: &[FinishedRun], device: Device) -> Result<W2PartsSummary> {
        let (mut floors, mut curves) = (vec![], vec![]);
        for p in &self.problems {
            let cfg = self.config_for(p, 1)?;
            floors.push((p.clone(), super::w2_decay::sampling_floor(&cfg, device)?));
            // Every part starts from the initial generator's output on the
            // fixed sample, against the fixed target sample.
            let start = Trainer::new(cfg.clone(), device)?;
            let (z, x) = start.fixed_samples();
            let y0 = start.generate(z);
            let (_, w2) = exact_w2_flow(&y0, x, self.eps, cfg.train.epochs)?;
            curves.push(PartCurve { problem: p.clone(), part: Part::Exact, w2, extra: vec![] });
            for &lambda in &self.lambdas {
                curves.push(self.critic_only(p, &cfg, (&y0, x), lambda, device)?);
            }
            for &k in &self.ks {
                for &lr in &self.lrs {
                    curves.push(self.generator_only(p, k, lr, device)?);
                }
            }
            for r in runs.iter().filter(|r| r.spec.name.starts_with(&format!("{p}/"))) {
                let w2 = r.history.rows.iter().map(|row| row.w2).collect();
                curves.push(PartCurve {
                    problem: p.clone(),
                    part: Part::Full { k: r.spec.labels.k },
                    w2,
                    extra: vec![],
                });
            }
        }
        Ok(W2PartsSummary { eps: self.eps, floors, curves })
    }

    fn base_mut(&mut self) -> Option<&mut RunConfig> {
        Some(&mut self.base)
    }
}
