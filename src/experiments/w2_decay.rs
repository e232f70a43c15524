//! 003 eq. (14): along the W2 gradient flow, `W2(μ_t, μ_d) = e^{−t} W2(μ_0, μ_d)`.
//! W2-FE discretises it with Euler steps of size ε (one per epoch, so the
//! flow time after n epochs is `t = nε`), each particle moving to
//! `y − ε∇φ(y) = (1 − ε) y + ε T(y)` when φ is the exact Kantorovich
//! potential (T the optimal map): the discrete flow then decays as
//! `(1 − ε)^n`, which tends to `e^{−t}` as ε → 0 (003, the Euler theorem).
//!
//! The experiment runs W2-FE (preset `w2fe`) with step ε for several
//! persistency levels K, measures the exact W2 between `G(z_fixed)` and a
//! fixed target sample after every epoch, and compares the measured ratio
//! `W2_n / W2_0` with `e^{−nε}` and `(1 − ε)^n`. Two finite samples of the
//! same distribution are not at W2 = 0: the **floor** is the exact W2 between
//! the fixed target sample and an independent one of the same size, and the
//! **rate** is fitted (least squares on `log ratio` against t, through the
//! origin) only on measurements above twice the floor.

use super::{check_ks, Experiment, FinishedRun, Report, RunSpec};
use crate::config::{preset, RunConfig};
use crate::error::{Error, Result};
use crate::flow::StepConfig;
use crate::metrics::emd;
use crate::plot::{Figure, LineChart, Series};
use crate::runs::RunLabels;
use crate::train::Trainer;
use serde::{Deserialize, Serialize};
use std::fmt::Write as _;
use std::path::Path;
use tch::Device;

/// The experiment's settings.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct W2DecayExperiment {
    /// The base config (data, networks, schedule); critic and step come from
    /// the `w2fe` preset with `eps` and each K.
    pub base: RunConfig,
    /// Euler step ε (flow time per epoch), in (0, 1].
    pub eps: f64,
    /// Persistency levels to compare.
    pub ks: Vec<usize>,
}

/// One K's measurements.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DecayRun {
    pub k: usize,
    /// Flow time `nε` of each measurement.
    pub t: Vec<f64>,
    /// Exact W2 at each time.
    pub w2: Vec<f64>,
    /// Fitted decay rate (theory: 1); `None` with fewer than two usable points.
    pub rate: Option<f64>,
}

/// Every K's measurements and the sampling floor.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DecaySummary {
    pub eps: f64,
    pub floor: f64,
    pub runs: Vec<DecayRun>,
}

/// The sampling floor of a run: the exact W2 between its fixed target
/// sample and an independent one of the same size (a fresh trainer draws the
/// same fixed sample).
pub fn sampling_floor(cfg: &RunConfig, device: Device) -> Result<f64> {
    let fixed_x = Trainer::new(cfg.clone(), device)?.fixed_samples().1.shallow_clone();
    let mut other = cfg.target.build(cfg.train.seed.wrapping_add(7919), device)?;
    crate::device::seed_all(cfg.train.seed.wrapping_add(7919));
    let x = other.sample(cfg.train.eval_size, device)?;
    emd::wasserstein(&x, &fixed_x, 2)
}

/// The rate r of `ratio ≈ e^{−rt}`: least squares of `−log ratio` on t
/// through the origin, over points with `w2 > 2·floor` (and t > 0).
pub fn fitted_rate(t: &[f64], w2: &[f64], floor: f64) -> Option<f64> {
    let w0 = *w2.first()?;
    let (mut num, mut den, mut used) = (0.0, 0.0, 0);
    for (&ti, &wi) in t.iter().zip(w2) {
        if ti > 0.0 && wi > 2.0 * floor && wi > 0.0 && wi.is_finite() {
            num += ti * -(wi / w0).ln();
            den += ti * ti;
            used += 1;
        }
    }
    (used >= 2 && den > 0.0).then(|| num / den)
}

impl DecaySummary {
    /// Markdown: K, fitted rate, W2 ratio at a few times against theory.
    pub fn table(&self) -> String {
        let mut s = format!(
            "W2-FE, ε = {}: W2(μ_t, μ_d)/W2(μ_0, μ_d) against e^(−t) (003 eq. 14); sampling floor W2 = {:.4}\n\n\
             | K | fitted rate (theory 1) | t | measured ratio | e^(−t) | (1−ε)^n |\n|---|---|---|---|---|---|\n",
            self.eps, self.floor
        );
        for r in &self.runs {
            let rate = r.rate.map_or("–".into(), |v| format!("{v:.3}"));
            let n = r.t.len();
            for (j, i) in [n / 4, n / 2, n - 1].into_iter().enumerate() {
                let (t, ratio) = (r.t[i], r.w2[i] / r.w2[0]);
                let steps = (t / self.eps).round() as i32;
                let _ = writeln!(
                    s,
                    "| {} | {} | {t:.2} | {ratio:.4} | {:.4} | {:.4} |",
                    if j == 0 { r.k.to_string() } else { String::new() },
                    if j == 0 { rate.clone() } else { String::new() },
                    (-t).exp(),
                    (1.0 - self.eps).powi(steps)
                );
            }
        }
        s
    }

    /// The measured ratios for every K, `e^{−t}`, `(1 − ε)^n` and the floor.
    pub fn chart(&self) -> LineChart {
        let mut c = LineChart::new(
            format!("W2-FE, ε = {}: W2 decay against e^(−t)", self.eps),
            "flow time t = nε",
            "W2(μ_t, μ_d) / W2(μ_0, μ_d)",
        );
        let mut t_all: Vec<f64> = vec![];
        let mut w0 = 1.0;
        for r in &self.runs {
            c = c.with(Series::new(format!("K={}", r.k), r.t.clone(), r.w2.iter().map(|w| w / r.w2[0]).collect()));
            if r.t.len() > t_all.len() {
                t_all = r.t.clone();
                w0 = r.w2[0];
            }
        }
        let theory = t_all.iter().map(|t| (-t).exp()).collect();
        let euler = t_all.iter().map(|t| (1.0 - self.eps).powf(t / self.eps)).collect();
        let floor = vec![self.floor / w0; t_all.len()];
        c.with(Series::new("e^(−t)", t_all.clone(), theory))
            .with(Series::new("(1−ε)^n", t_all.clone(), euler))
            .with(Series::new("floor", t_all, floor))
    }
}

impl Report for DecaySummary {
    fn markdown(&self) -> String {
        self.table()
    }

    fn save_figures(&self, out: &Path) -> Result<()> {
        self.chart().save_png_svg(out, "decay")
    }
}

impl W2DecayExperiment {
    /// W2-FE from N(0, I) to the ring, ε = 0.2, K ∈ {1, 10, 50}, 30 epochs.
    /// The learning rates are 1e-3 (not the ring's 1e-4) and the critic
    /// takes 20 steps per epoch, so that the potential is close to converged
    /// and the generator can follow the targets: at 1e-4 even K = 50 moves
    /// the generator far less than one Euler step per epoch.
    pub fn new() -> Self {
        let adam = crate::optim::AdamConfig { lr: 1e-3, ..Default::default() };
        let base = RunConfig::default().epochs(30).eval_every(1).critic_iters(20).adam(adam);
        W2DecayExperiment { base, eps: 0.2, ks: vec![1, 10, 50] }
    }

    setters! {
        /// The persistency levels.
        ks(ks: Vec<usize>) => ks;
    }

    /// The run config for persistency `k`.
    pub fn config_for(&self, k: usize) -> Result<RunConfig> {
        if !(self.eps > 0.0 && self.eps <= 1.0) {
            return Err(Error::config("eps", format!("the Euler step must be in (0, 1], got {}", self.eps)));
        }
        Ok(preset("w2fe", &self.base)?.step(StepConfig::euler(self.eps, k)).eval_every(1))
    }
}

impl Default for W2DecayExperiment {
    fn default() -> Self {
        Self::new()
    }
}

impl Experiment for W2DecayExperiment {
    const KIND: &'static str = "w2-decay";
    type Context = ();
    type Summary = DecaySummary;

    fn validate(&self) -> Result<()> {
        check_ks(&self.ks, "ks", false)
    }

    fn runs(&self) -> Result<Vec<RunSpec>> {
        self.ks
            .iter()
            .map(|&k| {
                let config = self.config_for(k)?;
                let labels = RunLabels { method: "w2fe".into(), k, seed: config.train.seed };
                Ok(RunSpec { name: format!("k{k}"), config, labels })
            })
            .collect()
    }

    fn context(&self, _device: Device) -> Result<()> {
        Ok(())
    }

    fn summarise(&self, _ctx: &(), runs: &[FinishedRun], device: Device) -> Result<DecaySummary> {
        let first = runs.first().ok_or_else(|| Error::input("no runs to summarise"))?;
        let floor = sampling_floor(&first.spec.config, device)?;
        let runs = runs
            .iter()
            .map(|r| {
                let times: Vec<f64> = r.history.rows.iter().map(|row| row.epoch as f64 * self.eps).collect();
                let w2: Vec<f64> = r.history.rows.iter().map(|row| row.w2).collect();
                let rate = fitted_rate(&times, &w2, floor);
                DecayRun { k: r.spec.labels.k, t: times, w2, rate }
            })
            .collect();
        Ok(DecaySummary { eps: self.eps, floor, runs })
    }

    fn base_mut(&mut self) -> Option<&mut RunConfig> {
        Some(&mut self.base)
    }
}
