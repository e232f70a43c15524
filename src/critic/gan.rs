//! GAN discriminators for the Wasserstein-proximal experiments (002 §3):
//! the standard GAN (Goodfellow et al.) with the non-saturating generator
//! loss, and DRAGAN (Kodali et al.), the same loss with a gradient penalty
//! around the data.
//!
//! D outputs a logit. The discriminator minimises
//! `mean softplus(−D(x)) + mean softplus(D(y))` (= −mean log σ(D(x)) −
//! mean log(1 − σ(D(y)))); the generator's per-sample loss is
//! `softplus(−D(y)) = −log σ(D(y))` (002 App. D, non-saturating).

use super::{gradient, per_row_uniform, CriticLoss};
use crate::error::{Error, Result};
use crate::nets::{Net, NetConfig, Role};
use serde::{Deserialize, Serialize};
use tch::{nn, Kind, Tensor};

/// Which GAN loss.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub enum GanLoss {
    /// Standard GAN, non-saturating generator loss.
    Standard,
    /// DRAGAN: adds `λ·E[(|∇D(x̂)| − 1)²]` at `x̂ = x + α·c·std(x)·u`,
    /// `u ~ U[0,1)`, `α ~ U[0,1)` per sample (Kodali et al.; λ = 10, c = 0.5).
    Dragan { lambda: f64, c: f64 },
}

/// A GAN discriminator.
#[derive(Debug)]
pub struct GanCritic {
    net: Net,
    pub loss_kind: GanLoss,
}

impl GanCritic {
    pub fn new(path: &nn::Path, net: &NetConfig, loss_kind: GanLoss) -> Result<Self> {
        if let GanLoss::Dragan { lambda, c } = loss_kind {
            for (name, v) in [("lambda", lambda), ("c", c)] {
                if !(v.is_finite() && v >= 0.0) {
                    return Err(Error::config(
                        format!("critic.loss.{name}"),
                        format!("must be a finite number ≥ 0, got {v}"),
                    ));
                }
            }
        }
        Ok(GanCritic { net: Net::new(path, net, Role::Critic, "critic.net")?, loss_kind })
    }

    /// The logit D(x), one per row.
    pub fn logit(&self, x: &Tensor) -> Tensor {
        self.net.forward_t(x, true).squeeze_dim(-1)
    }

    /// The generator's per-sample loss `softplus(−D(y))`.
    pub fn generator_potential(&self, y: &Tensor) -> Tensor {
        (-self.logit(y)).softplus()
    }

    /// The discriminator loss on data `x` and generated `y`.
    pub fn loss(&self, x: &Tensor, y: &Tensor) -> Result<CriticLoss> {
        let (x, y) = (x.detach(), y.detach());
        let base = (-self.logit(&x)).f_softplus()?.f_mean(None::<Kind>)?
            + self.logit(&y).f_softplus()?.f_mean(None::<Kind>)?;
        let penalty = match self.loss_kind {
            GanLoss::Standard => Tensor::f_zeros([], (x.kind(), x.device()))?,
            GanLoss::Dragan { lambda, c } => {
                let std = x.f_std(true)?;
                let u = Tensor::f_rand(x.size().as_slice(), (x.kind(), x.device()))?;
                let alpha = per_row_uniform(&x)?;
                let xhat = (&x + alpha * u * std * c).detach();
                let g = gradient(&|t: &Tensor| self.logit(t), &xhat, true)?;
                let norm = g.f_flatten(1, -1)?.f_norm_scalaropt_dim(2, [1i64].as_slice(), false)?;
                (norm - 1.0).f_square()?.f_mean(None::<Kind>)? * lambda
            }
        };
        Ok(CriticLoss { loss: &base + &penalty, estimate: (-base).detach(), penalty: penalty.detach() })
    }
}
