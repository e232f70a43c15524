//! Steps 2 and 3 of every method: move the particles, then fit the generator
//! to the moved particles.
//!
//! * [`euler`]: the forward-Euler step `ζ = y − ε∇φ(y)` of the W1 (and W2)
//!   gradient flow and the persistent MSE fit of Algorithm 1 (000).
//! * [`adversarial`]: the classic generator losses (the WGAN step, K = 1, and
//!   the "naive persistent" WGAN that repeats it K times on one batch);
//! * [`proximal`]: the relaxed Wasserstein proximal (RWP) and Semi-Backward
//!   Euler (SBE) generator steps of 002;
//! * [`barycentric`]: the map stage of Barycentric-OT (Seguy et al.) and the
//!   Discrete-OT map.
//!
//! Functions here are pure in the potential and the samples; the optimizer is
//! passed in by the trainer, which owns it.

pub mod adversarial;
pub mod barycentric;
pub mod euler;
pub mod proximal;

use crate::nets::{NetConfig, Role};
use serde::{Deserialize, Serialize};

/// How the generator is moved once the potential is estimated.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub enum StepConfig {
    /// W1-FE (000 Algorithm 1): targets `ζ = y − ε∇φ(y)` on a detached batch,
    /// then `k` optimizer steps of `mean_i |ζ_i − G(z_i)|²` on the same `z`.
    /// `k = 1` is the WGAN generator step (000 Prop. 4.1).
    ///
    /// With `tol`, the fit stops as soon as the residual
    /// `Σ_i |G(z_i) − ζ_i|² / Σ_i |ζ_i − y_i|²` is at most `tol`, after at
    /// most `k` steps: the generator then lands within `tol` of its targets,
    /// so ε is flow time (the papers' fixed-K Adam fit is invariant to the
    /// scale of its loss, so there a larger ε does not move the generator
    /// further). `None`, the default, is the papers' fit.
    Euler {
        eps: f64,
        k: usize,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        tol: Option<f64>,
    },
    /// The WGAN generator loss `mean φ(G(z))` minimised `k` times on the same
    /// batch: `k = 1` is plain WGAN, `k > 1` the naive persistent baseline of 001.
    Adversarial { k: usize },
    /// RWP (002 Algorithm 1): `iters` (ℓ) steps on fresh batches of
    /// `mean ℓ(G(z)) + 1/(2h) mean |G(z) − G_prev(z)|²`, G_prev the generator
    /// when the phase began. `h = inf` in TOML turns the proximal term off.
    Proximal { h: f64, iters: usize },
    /// SBE (002 Algorithm 2): `potential_iters` ascent steps of the potential
    /// Φ_p (network `potential`) on
    /// `(1/h) mean[Φ_p(G(z)) − Φ_p(G_anchor(z)) − ½|∇Φ_p(G_anchor(z))|²]`,
    /// and `iters` generator steps of `mean ℓ(G(z)) + (1/h) mean Φ_p(G(z))`;
    /// which generator is the anchor, and when Φ_p is fitted, per
    /// [`SbeReading`].
    SemiBackward {
        h: f64,
        iters: usize,
        potential: NetConfig,
        potential_iters: usize,
        #[serde(default = "SbeReading::saved_before_choice")]
        reading: SbeReading,
    },
    /// Barycentric-OT (Seguy et al. 2018): the first `dual_epochs` epochs
    /// train the regularised W2 dual between the *source* and the data (the
    /// critic must be `w2`); afterwards the critic is frozen and the
    /// generator fits the barycentric projection
    /// `min_G mean_i w_i |x_i − G(z_i)|²/2`, `w_i` the plan's weight on the
    /// pair `(z_i, x_i)`.
    Barycentric { dual_epochs: usize },
}

/// How SBE's anchor `G_{θ^{k−1}}` and the order of its fits are read from
/// 002 Algorithm 2 (lines 4–11) and Proposition 3.
///
/// In outer iteration `k` of Algorithm 2 the generator is `g_{θ^{k−1}}` until
/// line 10 writes `θ^k`, so taken literally the anchor of line 6 is the
/// generator as the phase begins: Φ_p's objective is then `−½|∇Φ_p|²` on the
/// current samples (the `Φ_p(g_θ) − Φ_p(g_{θ^{k−1}})` term is zero), Φ_p is
/// driven flat where the generator is, and with one generator step (App. G)
/// the step is the critic's plain generator step plus `(1/h)·Φ_p`, whose
/// gradient vanishes as Φ_p flattens — consistent with 002 §3.2 finding SBE
/// "comparable" to WGAN-GP. Proposition 3 defines the same anchor (`θ^k` when
/// computing `θ^{k+1}`) with `sup_Φ` inside `argmin_θ`, which, with several
/// generator steps, asks for Φ_p to be refitted as θ moves. Line 6 prints
/// `½∇Φ_p` without the square; Proposition 3 squares it, as here.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SbeReading {
    /// Algorithm 2 as printed: the anchor is the generator when the phase
    /// begins; `potential_iters` Φ_p steps, then `iters` generator steps.
    /// The default.
    Algorithm2,
    /// Proposition 3's `argmin_θ sup_Φ`: the same anchor, and
    /// `potential_iters` Φ_p steps before *each* of the `iters` generator
    /// steps (the same as `algorithm2` when `iters = 1`).
    MinMax,
    /// The anchor lags one phase: Φ_p compares the generator with the one
    /// before the previous phase's generator steps, so Φ_p measures the last
    /// step's displacement and the generator step is damped against it. Not
    /// in the paper; every SBE run saved before this choice existed used it,
    /// so a saved config without `reading` reads as `lagged`.
    Lagged,
}

impl SbeReading {
    fn saved_before_choice() -> Self {
        SbeReading::Lagged
    }
}

impl StepConfig {
    /// The number of generator optimizer steps per epoch (K, or ℓ; 1 for
    /// Barycentric-OT's map stage).
    pub fn k(&self) -> usize {
        match *self {
            StepConfig::Euler { k, .. } | StepConfig::Adversarial { k } => k,
            StepConfig::Proximal { iters, .. } | StepConfig::SemiBackward { iters, .. } => iters,
            StepConfig::Barycentric { .. } => 1,
        }
    }

    /// The forward-Euler step with time step `eps` and `k` fit steps (the
    /// papers' fit, no tolerance).
    pub fn euler(eps: f64, k: usize) -> StepConfig {
        StepConfig::Euler { eps, k, tol: None }
    }

    /// The same step with its K (or ℓ) replaced.
    pub fn with_k(&self, k: usize) -> StepConfig {
        let mut s = self.clone();
        match &mut s {
            StepConfig::Euler { k: kk, .. } | StepConfig::Adversarial { k: kk } => *kk = k,
            StepConfig::Proximal { iters, .. } | StepConfig::SemiBackward { iters, .. } => *iters = k,
            StepConfig::Barycentric { .. } => {}
        }
        s
    }

    /// `euler`, `adversarial`, `proximal`, `semi-backward`, `barycentric`.
    pub fn name(&self) -> &'static str {
        match self {
            StepConfig::Euler { .. } => "euler",
            StepConfig::Adversarial { .. } => "adversarial",
            StepConfig::Proximal { .. } => "proximal",
            StepConfig::SemiBackward { .. } => "semi-backward",
            StepConfig::Barycentric { .. } => "barycentric",
        }
    }

    /// Checks K ≥ 1, ε > 0, h > 0.
    pub fn validate(&self, field: &str) -> crate::Result<()> {
        use crate::Error;
        if self.k() == 0 {
            let name =
                if matches!(self, StepConfig::Euler { .. } | StepConfig::Adversarial { .. }) { "k" } else { "iters" };
            return Err(Error::config(format!("{field}.{name}"), "the number of generator steps must be ≥ 1, got 0"));
        }
        match self {
            StepConfig::Euler { eps, .. } if !(eps.is_finite() && *eps > 0.0) => {
                Err(Error::config(format!("{field}.eps"), format!("the time step ε must be > 0, got {eps}")))
            }
            StepConfig::Euler { tol: Some(t), .. } if !(t.is_finite() && *t > 0.0 && *t < 1.0) => {
                Err(Error::config(format!("{field}.tol"), format!("the fit tolerance must be in (0, 1), got {t}")))
            }
            StepConfig::Proximal { h, .. } | StepConfig::SemiBackward { h, .. } if h.is_nan() || *h <= 0.0 => {
                Err(Error::config(format!("{field}.h"), format!("the proximal step h must be > 0, got {h}")))
            }
            StepConfig::SemiBackward { potential, potential_iters, h, .. } => {
                if !h.is_finite() {
                    return Err(Error::config(format!("{field}.h"), "SBE needs a finite h"));
                }
                if *potential_iters == 0 {
                    return Err(Error::config(format!("{field}.potential_iters"), "must be ≥ 1"));
                }
                potential.validate(&format!("{field}.potential"), Role::Critic)
            }
            _ => Ok(()),
        }
    }
}
