//! The W1 critic (Kantorovich potential) and its Lipschitz constraints.

use super::{gradient, per_row_uniform, CriticLoss};
use crate::error::{same_shape, Error, Result};
use crate::nets::{Net, NetConfig, Role};
use serde::{Deserialize, Serialize};
use tch::{nn, Kind, Tensor};

/// How the 1-Lipschitz constraint on φ is imposed.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub enum Constraint {
    /// Clip every critic weight to `[−c, c]` after each critic step (vanilla
    /// WGAN, Arjovsky et al. 2017; c = 0.01 there).
    Clip { c: f64 },
    /// Two-sided gradient penalty `λ·E[(|∇φ(x̂)| − 1)²]` on random
    /// interpolates `x̂ = t·x + (1−t)·y` (W1-GP, Gulrajani et al. 2017).
    Gp { lambda: f64 },
    /// One-sided Lipschitz penalty `λ·E[max(0, |∇φ(x̂)| − 1)²]` on the same
    /// interpolates (W1-LP, Petzka et al. 2018).
    Lp { lambda: f64 },
}

impl Constraint {
    /// λ = 10 for the penalties (Gulrajani et al.; authors' `--lambda_gp`),
    /// c = 0.01 for clipping (Arjovsky et al.).
    pub fn from_name(name: &str) -> Result<Self> {
        match name {
            "lp" => Ok(Constraint::Lp { lambda: 10.0 }),
            "gp" => Ok(Constraint::Gp { lambda: 10.0 }),
            "clip" | "wgan" => Ok(Constraint::Clip { c: 0.01 }),
            other => Err(Error::config("critic", format!("expected lp, gp or clip, got `{other}`"))),
        }
    }

    /// `lp`, `gp` or `clip`.
    pub fn name(&self) -> &'static str {
        match self {
            Constraint::Clip { .. } => "clip",
            Constraint::Gp { .. } => "gp",
            Constraint::Lp { .. } => "lp",
        }
    }

    /// Checks λ ≥ 0 or c > 0.
    pub fn validate(&self, field: &str) -> Result<()> {
        match *self {
            Constraint::Clip { c } if !(c.is_finite() && c > 0.0) => {
                Err(Error::config(format!("{field}.c"), format!("must be a finite number > 0, got {c}")))
            }
            Constraint::Gp { lambda } | Constraint::Lp { lambda } if !(lambda.is_finite() && lambda >= 0.0) => {
                Err(Error::config(format!("{field}.lambda"), format!("must be a finite number ≥ 0, got {lambda}")))
            }
            _ => Ok(()),
        }
    }
}

/// Random interpolates `t·x + (1−t)·y`, one `t ~ U(0, 1)` per row, detached.
pub fn interpolates(x: &Tensor, y: &Tensor) -> Result<Tensor> {
    same_shape(x, y, "interpolates")?;
    let t = per_row_uniform(x)?;
    let a = x.detach() * &t;
    let b = y.detach() * (-&t + 1.0);
    Ok((a + b).detach())
}

/// `λ·mean((|∇φ(p)| − 1)²)` over the rows `p` of `points`, or the one-sided
/// `λ·mean(max(0, |∇φ(p)| − 1)²)`; differentiable in φ's parameters.
pub fn lipschitz_penalty(
    phi: &dyn Fn(&Tensor) -> Tensor,
    points: &Tensor,
    lambda: f64,
    one_sided: bool,
) -> Result<Tensor> {
    let g = gradient(phi, points, true)?;
    let norm = g.f_flatten(1, -1)?.f_norm_scalaropt_dim(2, [1i64].as_slice(), false)?;
    let diff = norm - 1.0;
    let diff = if one_sided { diff.f_clamp_min(0.0)? } else { diff };
    Ok(diff.f_square()?.f_mean(None::<Kind>)? * lambda)
}

/// The W1 critic: a network φ and a Lipschitz constraint.
#[derive(Debug)]
pub struct W1Critic {
    pub net: Net,
    pub constraint: Constraint,
}

impl W1Critic {
    /// Builds φ under `path`; the network must output one value per sample.
    pub fn new(path: &nn::Path, net: &NetConfig, constraint: Constraint) -> Result<Self> {
        constraint.validate("critic.constraint")?;
        Ok(W1Critic { net: Net::new(path, net, Role::Critic, "critic.net")?, constraint })
    }

    /// φ(x), one value per row.
    pub fn phi(&self, x: &Tensor) -> Tensor {
        self.net.forward_t(x, true).squeeze_dim(-1)
    }

    /// The critic loss on data `x` and generated samples `y` (both detached).
    pub fn loss(&self, x: &Tensor, y: &Tensor) -> Result<CriticLoss> {
        let phi = |t: &Tensor| self.phi(t);
        let eval = if self.net.has_batch_norm() || x.size()[1..] != y.size()[1..] {
            PhiEval::Separate
        } else {
            PhiEval::Stacked
        };
        w1_critic_loss(&phi, x, y, self.constraint, eval)
    }

    /// The largest absolute value of any weight or bias of φ.
    pub fn net_abs_max(&self) -> f64 {
        self.net.parameters().iter().map(|p| p.abs().max().double_value(&[])).fold(0.0, f64::max)
    }

    /// Clips `vars` to `[−c, c]` when the constraint is [`Constraint::Clip`].
    pub fn after_step(&self, vars: &[Tensor]) {
        if let Constraint::Clip { c } = self.constraint {
            clip_weights(vars, c);
        }
    }
}

/// How [`w1_critic_loss`] evaluates φ on the two batches.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PhiEval {
    /// φ(x) and φ(y) apart.
    Separate,
    /// φ once on `[y; x]` stacked: the same value and gradients in about
    /// half the operators (one forward and one backward chain instead of
    /// two, larger matrix products). Only for a φ that treats rows
    /// independently (no batch norm), which [`W1Critic::loss`] checks.
    Stacked,
}

/// `mean φ(x) − mean φ(y) + penalty` for data `x` and generated `y`.
pub fn w1_critic_loss(
    phi: &dyn Fn(&Tensor) -> Tensor,
    x: &Tensor,
    y: &Tensor,
    constraint: Constraint,
    eval: PhiEval,
) -> Result<CriticLoss> {
    let (x, y) = (x.detach(), y.detach());
    let estimate = match eval {
        PhiEval::Separate => phi(&y).f_mean(None::<Kind>)? - phi(&x).f_mean(None::<Kind>)?,
        PhiEval::Stacked => {
            let (nx, ny) = (x.size()[0], y.size()[0]);
            let both = phi(&Tensor::f_cat(&[&y, &x], 0)?);
            both.f_narrow(0, 0, ny)?.f_mean(None::<Kind>)? - both.f_narrow(0, ny, nx)?.f_mean(None::<Kind>)?
        }
    };
    with_penalty(phi, &x, &y, estimate, constraint)
}

fn with_penalty(
    phi: &dyn Fn(&Tensor) -> Tensor,
    x: &Tensor,
    y: &Tensor,
    estimate: Tensor,
    constraint: Constraint,
) -> Result<CriticLoss> {
    let (x, y) = (x.shallow_clone(), y.shallow_clone());
    let penalty = match constraint {
        Constraint::Clip { .. } => Tensor::f_zeros([], (x.kind(), x.device()))?,
        Constraint::Gp { lambda } => lipschitz_penalty(phi, &interpolates(&x, &y)?, lambda, false)?,
        Constraint::Lp { lambda } => lipschitz_penalty(phi, &interpolates(&x, &y)?, lambda, true)?,
    };
    let loss = -&estimate + &penalty;
    Ok(CriticLoss { loss, estimate: estimate.detach(), penalty: penalty.detach() })
}

/// Clamps every tensor in `vars` to `[−c, c]` in place.
pub fn clip_weights(vars: &[Tensor], c: f64) {
    tch::no_grad(|| {
        for v in vars {
            let mut v = v.shallow_clone();
            let _ = v.clamp_(-c, c);
        }
    });
}
