//! The two-delta example of 002 §2.3 (Prop. 5, App. B).
//!
//! The model is `ρ_θ = α δ_a + (1 − α) δ_b` with `θ = (a, b)`, the loss is
//! `F_W1(θ) = W1(ρ_θ, ρ_θ*) = α|a − a*| + (1 − α)|b − b*|`, and one proximal
//! step is `argmin_θ F_W1(θ) + d(θ, θ^k)²/(2h)` with either the Wasserstein
//! metric `d_W² = α(a − a^k)² + (1 − α)(b − b^k)²` or the Euclidean
//! `d_E² = (a − a^k)² + (b − b^k)²`. Both have closed forms through the
//! shrink (soft-threshold) operator, and Prop. 5 says the Wasserstein step
//! lowers `F_W1` at least as much as the Euclidean one; [`TwoDeltaExperiment`]
//! checks it on a grid and draws 002 Fig. 1.

use super::{Experiment, FinishedRun, Report, RunSpec};
use crate::config::RunConfig;
use crate::error::{Error, Result};
use crate::plot::{Figure, LineChart, Series};
use serde::{Deserialize, Serialize};
use std::path::Path;
use tch::Device;

/// `shrink_{target}(x, h)`: move `x` towards `target` by `h`, stopping there.
pub fn shrink(x: f64, target: f64, h: f64) -> f64 {
    if x > target + h {
        x - h
    } else if x < target - h {
        x + h
    } else {
        target
    }
}

/// `F_W1(θ) = α|a − a*| + (1 − α)|b − b*|`.
pub fn f_w1(theta: (f64, f64), star: (f64, f64), alpha: f64) -> f64 {
    alpha * (theta.0 - star.0).abs() + (1.0 - alpha) * (theta.1 - star.1).abs()
}

/// The Wasserstein proximal step: `(shrink_{a*}(a^k, h), shrink_{b*}(b^k, h))`.
pub fn wasserstein_prox(theta_k: (f64, f64), star: (f64, f64), h: f64) -> (f64, f64) {
    (shrink(theta_k.0, star.0, h), shrink(theta_k.1, star.1, h))
}

/// The Euclidean proximal step: `(shrink_{a*}(a^k, αh), shrink_{b*}(b^k, (1−α)h))`.
pub fn euclidean_prox(theta_k: (f64, f64), star: (f64, f64), h: f64, alpha: f64) -> (f64, f64) {
    (shrink(theta_k.0, star.0, alpha * h), shrink(theta_k.1, star.1, (1.0 - alpha) * h))
}

/// The objective `F_W1(θ) + d(θ, θ^k)²/(2h)` each step minimises
/// (`wasserstein` selects d_W, else d_E).
pub fn prox_objective(
    theta: (f64, f64),
    theta_k: (f64, f64),
    star: (f64, f64),
    h: f64,
    alpha: f64,
    wasserstein: bool,
) -> f64 {
    let (da, db) = ((theta.0 - theta_k.0).powi(2), (theta.1 - theta_k.1).powi(2));
    let d2 = if wasserstein { alpha * da + (1.0 - alpha) * db } else { da + db };
    f_w1(theta, star, alpha) + d2 / (2.0 * h)
}

/// A sequence of parameters `(a, b)`.
pub type Trajectory = Vec<(f64, f64)>;

/// `k` steps of each proximal scheme from `theta0`, returning the
/// Wasserstein and the Euclidean trajectories of `(a, b)` (for 002 Fig. 1).
pub fn trajectories(theta0: (f64, f64), star: (f64, f64), h: f64, alpha: f64, k: usize) -> (Trajectory, Trajectory) {
    let (mut w, mut e) = (vec![theta0], vec![theta0]);
    for _ in 0..k {
        w.push(wasserstein_prox(*w.last().unwrap_or(&theta0), star, h));
        e.push(euclidean_prox(*e.last().unwrap_or(&theta0), star, h, alpha));
    }
    (w, e)
}

/// 002 Fig. 1 and Prop. 5 as an experiment: the two proximal trajectories
/// from `theta0`, and Prop. 5 checked on a grid of starting points
/// `(−4 + 0.2 i, 0.1 + 0.2 j)`, i, j < 20, step sizes and mass ratios.
/// It trains no network.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct TwoDeltaExperiment {
    /// The mass `α` of the first delta.
    pub alpha: f64,
    /// The target parameters `θ* = (a*, b*)`.
    pub star: (f64, f64),
    pub theta0: (f64, f64),
    /// The proximal step.
    pub h: f64,
    /// Proximal iterations drawn.
    pub steps: usize,
    /// Step sizes of the Prop. 5 grid.
    pub grid_h: Vec<f64>,
    /// Mass ratios of the Prop. 5 grid.
    pub grid_alpha: Vec<f64>,
}

impl Default for TwoDeltaExperiment {
    /// α = 0.2, θ* = (−1, 1), θ0 = (−3, 3), h = 0.3, 25 steps; the grid
    /// h ∈ {0.01, 0.1, 0.3, 1, 3}, α ∈ {0.05, 0.2, 0.5, 0.8, 0.95}.
    fn default() -> Self {
        TwoDeltaExperiment {
            alpha: 0.2,
            star: (-1.0, 1.0),
            theta0: (-3.0, 3.0),
            h: 0.3,
            steps: 25,
            grid_h: vec![0.01, 0.1, 0.3, 1.0, 3.0],
            grid_alpha: vec![0.05, 0.2, 0.5, 0.8, 0.95],
        }
    }
}

/// The trajectories and the Prop. 5 check.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TwoDeltaSummary {
    pub alpha: f64,
    pub h: f64,
    pub star: (f64, f64),
    pub wasserstein: Trajectory,
    pub euclidean: Trajectory,
    /// Steps checked on the grid.
    pub checked: usize,
    /// Steps where the Euclidean step lowered F_W1 more (Prop. 5 says none).
    pub violations: usize,
    /// The largest advantage `F_W1(Euclidean) − F_W1(Wasserstein)` on the grid.
    pub largest_gain: f64,
}

impl TwoDeltaSummary {
    /// F_W1 along both trajectories (002 Fig. 1).
    pub fn loss_chart(&self) -> LineChart {
        let steps = |t: &Trajectory| (0..t.len()).map(|k| k as f64).collect::<Vec<_>>();
        let f = |t: &Trajectory| t.iter().map(|&th| f_w1(th, self.star, self.alpha)).collect::<Vec<_>>();
        LineChart::new(
            format!("two deltas, α = {}, h = {}: F_W1 along the proximal iterations", self.alpha, self.h),
            "iteration k",
            "F_W1(θ^k)",
        )
        .with(Series::new("Wasserstein proximal", steps(&self.wasserstein), f(&self.wasserstein)))
        .with(Series::new("Euclidean proximal", steps(&self.euclidean), f(&self.euclidean)))
    }

    /// The iterates in the (a, b) plane.
    pub fn path_chart(&self) -> LineChart {
        let xy = |t: &Trajectory| (t.iter().map(|p| p.0).collect(), t.iter().map(|p| p.1).collect());
        let (wa, wb) = xy(&self.wasserstein);
        let (ea, eb) = xy(&self.euclidean);
        LineChart::new("parameter paths (a, b)", "a", "b")
            .with(Series::new("Wasserstein proximal", wa, wb))
            .with(Series::new("Euclidean proximal", ea, eb))
    }
}

impl Report for TwoDeltaSummary {
    fn markdown(&self) -> String {
        format!(
            "Two deltas (002 §2.3), α = {}, h = {}: F_W1 after {} steps: Wasserstein {:.4}, Euclidean {:.4}\n\n\
             Prop. 5 on {} (θ^k, h, α): {} steps where the Euclidean step did better; largest advantage of the \
             Wasserstein step {:.3}\n",
            self.alpha,
            self.h,
            self.wasserstein.len().saturating_sub(1),
            self.wasserstein.last().map_or(f64::NAN, |&t| f_w1(t, self.star, self.alpha)),
            self.euclidean.last().map_or(f64::NAN, |&t| f_w1(t, self.star, self.alpha)),
            self.checked,
            self.violations,
            self.largest_gain
        )
    }

    fn save_figures(&self, out: &Path) -> Result<()> {
        self.loss_chart().save(out.join("f_w1.svg"))?;
        self.path_chart().save(out.join("paths.svg"))
    }
}

impl Experiment for TwoDeltaExperiment {
    const KIND: &'static str = "two-delta";
    type Context = ();
    type Summary = TwoDeltaSummary;

    fn validate(&self) -> Result<()> {
        let alphas = std::iter::once(&self.alpha).chain(&self.grid_alpha);
        if let Some(a) = alphas.into_iter().find(|a| !(**a > 0.0 && **a < 1.0)) {
            return Err(Error::config("alpha", format!("masses must be in (0, 1), got {a}")));
        }
        let hs = std::iter::once(&self.h).chain(&self.grid_h);
        if let Some(h) = hs.into_iter().find(|h| !(h.is_finite() && **h > 0.0)) {
            return Err(Error::config("h", format!("proximal steps must be finite and > 0, got {h}")));
        }
        Ok(())
    }

    fn runs(&self) -> Result<Vec<RunSpec>> {
        Ok(vec![])
    }

    fn context(&self, _device: Device) -> Result<()> {
        Ok(())
    }

    fn summarise(&self, _ctx: &(), _runs: &[FinishedRun], _device: Device) -> Result<TwoDeltaSummary> {
        let (wasserstein, euclidean) = trajectories(self.theta0, self.star, self.h, self.alpha, self.steps);
        let (mut checked, mut violations, mut largest_gain) = (0usize, 0usize, 0.0f64);
        for ia in 0..20 {
            for ib in 0..20 {
                for &hh in &self.grid_h {
                    for &al in &self.grid_alpha {
                        let th = (-4.0 + 0.2 * ia as f64, 0.1 + 0.2 * ib as f64);
                        let fw = f_w1(wasserstein_prox(th, self.star, hh), self.star, al);
                        let fe = f_w1(euclidean_prox(th, self.star, hh, al), self.star, al);
                        checked += 1;
                        if fe < fw - 1e-12 {
                            violations += 1;
                        }
                        largest_gain = largest_gain.max(fe - fw);
                    }
                }
            }
        }
        Ok(TwoDeltaSummary {
            alpha: self.alpha,
            h: self.h,
            star: self.star,
            wasserstein,
            euclidean,
            checked,
            violations,
            largest_gain,
        })
    }

    fn base_mut(&mut self) -> Option<&mut RunConfig> {
        None
    }
}
