//! Wasserstein-proximal generator steps (002).
//!
//! * **RWP** (Relaxed Wasserstein Proximal, Algorithm 1 / App. D): ℓ
//!   generator steps, each on a fresh batch, of
//!   `mean ℓ(G_θ(z)) + 1/(2h) · (1/B) Σ_i |G_θ(z_i) − G_{θ^{k−1}}(z_i)|²`,
//!   where `G_{θ^{k−1}}` is the generator as it was when the phase began. The
//!   proximal term vanishes, with its gradient, at θ = θ^{k−1}: with ℓ = 1,
//!   or h → ∞, RWP is the plain GAN step.
//! * **SBE** (Semi-Backward Euler, Algorithm 2 / App. G): a potential Φ_p
//!   maximises `(1/h)·mean[Φ_p(G_θ(z)) − Φ_p(G_{θ^{k−1}}(z)) −
//!   ½|∇Φ_p(G_{θ^{k−1}}(z))|²]` (Prop. 3), then the generator minimises
//!   `mean ℓ(G_θ(z)) + (1/h)·mean Φ_p(G_θ(z))`.
//!
//! 002 App. D prints the proximal term with a minus sign in step 4; the
//! proximal operator (eq. 4) and Algorithm 1 add it, as here.

use super::euler::fit_loss;
use crate::critic::{gradient, row_sq_norm};
use crate::error::Result;
use tch::{Kind, Tensor};

/// `1/(2h) · (1/B) Σ_i |out_i − prev_i|²` (0 when h is infinite).
pub fn proximal_term(out: &Tensor, prev: &Tensor, h: f64) -> Result<Tensor> {
    Ok(fit_loss(out, &prev.detach())? * (0.5 / h))
}

/// The RWP generator loss on one batch: `mean ℓ(out) + proximal_term`.
pub fn rwp_loss(potential: &dyn Fn(&Tensor) -> Tensor, out: &Tensor, prev: &Tensor, h: f64) -> Result<Tensor> {
    Ok(potential(out).f_mean(None::<Kind>)? + proximal_term(out, prev, h)?)
}

/// The SBE potential's objective, to *maximise*:
/// `(1/h)·mean[Φ(out) − Φ(prev) − ½|∇Φ(prev)|²]`.
pub fn sbe_potential_objective(
    phi_p: &dyn Fn(&Tensor) -> Tensor,
    out: &Tensor,
    prev: &Tensor,
    h: f64,
) -> Result<Tensor> {
    let g = gradient(phi_p, prev, true)?;
    let sq = row_sq_norm(&g)?;
    let obj = phi_p(&out.detach()) - phi_p(&prev.detach()) - sq * 0.5;
    Ok(obj.f_mean(None::<Kind>)? / h)
}

/// The SBE generator loss on one batch: `mean ℓ(out) + (1/h)·mean Φ(out)`.
pub fn sbe_generator_loss(
    potential: &dyn Fn(&Tensor) -> Tensor,
    phi_p: &dyn Fn(&Tensor) -> Tensor,
    out: &Tensor,
    h: f64,
) -> Result<Tensor> {
    Ok(potential(out).f_mean(None::<Kind>)? + phi_p(out).f_mean(None::<Kind>)? / h)
}
