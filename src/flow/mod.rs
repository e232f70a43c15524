//! Steps 2 and 3 of every method: move the particles, then fit the generator
//! to the moved particles.
//!
//! * [`euler`]: the forward-Euler step `ζ = y − ε∇φ(y)` of the W1 (and W2)
//!   gradient flow and the persistent MSE fit of Algorithm 1 (000).
//! * [`adversarial`]: the classic generator losses (the WGAN step, K = 1, and
//!   the "naive persistent" WGAN that repeats it K times on one batch).
//!
//! Functions here are pure in the potential and the samples; the optimizer is
//! passed in by the trainer, which owns it.

pub mod adversarial;
pub mod euler;

use serde::{Deserialize, Serialize};

/// How the generator is moved once the potential is estimated.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub enum StepConfig {
    /// W1-FE (000 Algorithm 1): targets `ζ = y − ε∇φ(y)` on a detached batch,
    /// then `k` optimizer steps of `mean_i |ζ_i − G(z_i)|²` on the same `z`.
    /// `k = 1` is the WGAN generator step (000 Prop. 4.1).
    Euler { eps: f64, k: usize },
    /// The WGAN generator loss `mean φ(G(z))` minimised `k` times on the same
    /// batch: `k = 1` is plain WGAN, `k > 1` the naive persistent baseline of 001.
    Adversarial { k: usize },
}

impl StepConfig {
    /// The persistency level K.
    pub fn k(&self) -> usize {
        match *self {
            StepConfig::Euler { k, .. } | StepConfig::Adversarial { k } => k,
        }
    }

    /// Checks K ≥ 1 and ε > 0.
    pub fn validate(&self, field: &str) -> crate::Result<()> {
        if self.k() == 0 {
            return Err(crate::Error::config(format!("{field}.k"), "the persistency K must be ≥ 1, got 0"));
        }
        if let StepConfig::Euler { eps, .. } = *self {
            if !(eps.is_finite() && eps > 0.0) {
                return Err(crate::Error::config(
                    format!("{field}.eps"),
                    format!("the time step ε must be > 0, got {eps}"),
                ));
            }
        }
        Ok(())
    }
}
