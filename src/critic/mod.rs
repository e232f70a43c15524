//! Step 1 of every method: estimate a potential from generated samples `y`
//! and data `x`.
//!
//! * [`w1`]: the Kantorovich potential of W1 with weight clipping (WGAN),
//!   gradient penalty (W1-GP) or Lipschitz penalty (W1-LP);
//! * [`w2`]: the W2 dual pair (φ, ψ) of W2-FE, W2GAN and Barycentric-OT;
//! * [`gan`]: the standard GAN and DRAGAN discriminators (002).
//!
//! [`CriticConfig`] chooses one; [`Critic`] is the built one. Every critic
//! exposes a per-sample *generator potential* ℓ(y): the generator's loss is
//! `mean ℓ(G(z))` and the forward-Euler step moves `y − ε∇ℓ(y)`. For W1 and
//! W2, ℓ = φ; for a GAN, ℓ(y) = softplus(−D(y)) (non-saturating).
//!
//! **Sign convention** (the paper's, 000 §3): φ is the Kantorovich potential
//! *from the generated distribution μ to the data μ_d*, so
//! `W1(μ, μ_d) = sup_φ ∫φ dμ − ∫φ dμ_d`: φ is **large on generated samples**
//! and small on data. The critic minimises `mean φ(x) − mean φ(y) + penalty`,
//! the particles move *down* its gradient, `ζ = y − ε∇φ(y)`, and the WGAN
//! generator loss is `mean φ(G(z))`. (The authors' code uses the opposite sign,
//! `−mean φ(x) + mean φ(y)` and `y + ε∇φ(y)`; the two are the same algorithm.)

pub mod gan;
pub mod w1;
pub mod w2;

use crate::error::{Error, Result};
use crate::nets::{NetConfig, Role};
use serde::{Deserialize, Serialize};
use tch::{nn, Tensor};

pub use gan::{GanCritic, GanLoss};
pub use w1::{Constraint, W1Critic};
pub use w2::{InterpPairs, PsiParam, Regularisation, W2Critic, W2Penalty};

/// Step 1: which potential to estimate. In TOML, `[critic]` with
/// `kind = "w1" | "w2" | "gan"`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub enum CriticConfig {
    /// Kantorovich potential of W1 (WGAN, W1-GP, W1-LP).
    W1 { net: NetConfig, constraint: Constraint },
    /// W2 dual pair: φ = `net`, and ψ (or ε) = `psi_net`.
    W2 { net: NetConfig, psi_net: NetConfig, psi: PsiParam, penalty: W2Penalty },
    /// GAN discriminator (logit).
    Gan { net: NetConfig, loss: GanLoss },
}

impl CriticConfig {
    /// The main network's config (φ, or D).
    pub fn net(&self) -> &NetConfig {
        match self {
            CriticConfig::W1 { net, .. } | CriticConfig::W2 { net, .. } | CriticConfig::Gan { net, .. } => net,
        }
    }

    /// Mutable access to the main network's config.
    pub fn net_mut(&mut self) -> &mut NetConfig {
        match self {
            CriticConfig::W1 { net, .. } | CriticConfig::W2 { net, .. } | CriticConfig::Gan { net, .. } => net,
        }
    }

    /// `w1-lp`, `w1-gp`, `w1-clip`, `w2`, `gan`, `dragan`.
    pub fn name(&self) -> String {
        match self {
            CriticConfig::W1 { constraint, .. } => format!("w1-{}", constraint.name()),
            CriticConfig::W2 { .. } => "w2".into(),
            CriticConfig::Gan { loss: GanLoss::Standard, .. } => "gan".into(),
            CriticConfig::Gan { loss: GanLoss::Dragan { .. }, .. } => "dragan".into(),
        }
    }

    /// Checks every network and weight; names the field.
    pub fn validate(&self) -> Result<()> {
        self.net().validate("critic.net", Role::Critic)?;
        match self {
            CriticConfig::W1 { constraint, .. } => constraint.validate("critic.constraint"),
            CriticConfig::W2 { psi_net, penalty, net, .. } => {
                psi_net.validate("critic.psi_net", Role::Critic)?;
                if psi_net.input_shape(Role::Critic) != net.input_shape(Role::Critic) {
                    return Err(Error::config(
                        "critic.psi_net",
                        format!(
                            "needs the input shape of critic.net, {:?}, got {:?}",
                            net.input_shape(Role::Critic),
                            psi_net.input_shape(Role::Critic)
                        ),
                    ));
                }
                penalty.validate("critic.penalty")
            }
            CriticConfig::Gan { loss, .. } => match *loss {
                GanLoss::Dragan { lambda, c }
                    if !(lambda.is_finite() && lambda >= 0.0 && c.is_finite() && c >= 0.0) =>
                {
                    Err(Error::config("critic.loss", "DRAGAN's lambda and c must be finite and ≥ 0"))
                }
                _ => Ok(()),
            },
        }
    }

    /// The W2 critic of W2GAN (004): ψ = −φ + ε, λ_ineq = λ_eq = 200,
    /// interpolation and equality penalties; φ and ε as `net`.
    pub fn w2gan(net: NetConfig) -> Self {
        CriticConfig::W2 { psi_net: net.clone(), net, psi: PsiParam::Reparam, penalty: W2Penalty::default() }
    }
}

/// The loss of one critic step, whatever the critic.
#[derive(Debug)]
pub struct CriticLoss {
    /// To minimise: the negated dual objective plus the penalties (W1:
    /// `mean φ(x) − mean φ(y) + penalty`; W2: `−L_OT + penalties`; GAN: the
    /// discriminator's cross-entropy plus DRAGAN's penalty).
    pub loss: Tensor,
    /// The critic's estimate of its divergence, detached: W1's dual
    /// `mean φ(y) − mean φ(x)`, W2's `L_OT = mean(φ(y) + ψ(x))` (of W2²/2),
    /// or the GAN value.
    pub estimate: Tensor,
    /// The penalty terms (0 for clipping), detached.
    pub penalty: Tensor,
}

/// A built critic.
#[derive(Debug)]
pub enum Critic {
    W1(W1Critic),
    W2(W2Critic),
    Gan(GanCritic),
}

impl Critic {
    /// Builds the networks of `cfg` under `path`.
    pub fn new(path: &nn::Path, cfg: &CriticConfig) -> Result<Self> {
        cfg.validate()?;
        Ok(match cfg {
            CriticConfig::W1 { net, constraint } => Critic::W1(W1Critic::new(path, net, *constraint)?),
            CriticConfig::W2 { net, psi_net, psi, penalty } => {
                Critic::W2(W2Critic::new(path, net, psi_net, *psi, *penalty)?)
            }
            CriticConfig::Gan { net, loss } => Critic::Gan(GanCritic::new(path, net, *loss)?),
        })
    }

    /// The loss on data `x` and generated `y`.
    pub fn loss(&self, x: &Tensor, y: &Tensor) -> Result<CriticLoss> {
        match self {
            Critic::W1(c) => c.loss(x, y),
            Critic::W2(c) => c.loss(x, y),
            Critic::Gan(c) => c.loss(x, y),
        }
    }

    /// The generator's per-sample loss ℓ(y) (φ for W1 and W2).
    pub fn generator_potential(&self, y: &Tensor) -> Tensor {
        match self {
            Critic::W1(c) => c.phi(y),
            Critic::W2(c) => c.phi(y),
            Critic::Gan(c) => c.generator_potential(y),
        }
    }

    /// Called after each optimizer step (weight clipping for WGAN).
    pub fn after_step(&self, vars: &[Tensor]) {
        if let Critic::W1(c) = self {
            c.after_step(vars);
        }
    }

    /// The W1 critic, if this is one.
    pub fn as_w1(&self) -> Option<&W1Critic> {
        match self {
            Critic::W1(c) => Some(c),
            _ => None,
        }
    }

    /// The W2 critic, if this is one.
    pub fn as_w2(&self) -> Option<&W2Critic> {
        match self {
            Critic::W2(c) => Some(c),
            _ => None,
        }
    }
}

/// `|t_i|²` for every row `t_i` of `t` (all trailing dimensions summed).
pub fn row_sq_norm(t: &Tensor) -> Result<Tensor> {
    Ok(t.f_square()?.f_flatten(1, -1)?.f_sum_dim_intlist(1, false, None::<tch::Kind>)?)
}

/// One `U[0, 1)` draw per row of `like`, shaped `n×1×…×1` to broadcast
/// against it.
pub fn per_row_uniform(like: &Tensor) -> Result<Tensor> {
    let mut shape = vec![like.size()[0]];
    shape.extend(std::iter::repeat_n(1, like.dim() - 1));
    Ok(Tensor::f_rand(shape.as_slice(), (like.kind(), like.device()))?)
}

/// `∇φ(x)` for every row of `x`, by autograd.
///
/// The input is detached first, so the gradient never flows into whatever
/// produced `x`; with `create_graph` the result can itself be differentiated
/// with respect to φ's parameters (needed by gradient penalties).
pub fn gradient(phi: &dyn Fn(&Tensor) -> Tensor, x: &Tensor, create_graph: bool) -> Result<Tensor> {
    let x = x.detach().set_requires_grad(true);
    let out = phi(&x);
    let mut grads = Tensor::f_run_backward(&[out.f_sum(out.kind())?], &[&x], create_graph, create_graph)?;
    Ok(grads.remove(0))
}
