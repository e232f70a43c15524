//! The forward-Euler step of the gradient-flow ODE and persistent training.
//!
//! 000 eq. (4.1)/(4.3): `ζ_i = y_i − ε∇φ(y_i)` with `y_i = G(z_i)`; then the
//! generator is fitted to the fixed targets by K steps of
//! `(1/m) Σ_i |ζ_i − G(z_i)|²` on the same `z` (Algorithm 1). The norm is the
//! Euclidean one summed over coordinates, as in the paper — not PyTorch's
//! `MSELoss`, which also divides by the dimension d. With K = 1 the first
//! step's parameter gradient is `2ε ∇_θ (1/m) Σ_i φ(G(z_i))`, the WGAN
//! generator gradient (Prop. 4.1); `tests/w1fe.rs` checks it numerically.

use crate::critic::{gradient, row_sq_norm};
use crate::error::{Error, Result};
use crate::optim::Adam;
use tch::{Kind, Tensor};

/// Euler targets `ζ = y − ε∇φ(y)`, computed on `y` detached; the result is
/// detached too (the targets are constants for the fit).
pub fn euler_targets(phi: &dyn Fn(&Tensor) -> Tensor, y: &Tensor, eps: f64) -> Result<Tensor> {
    let g = gradient(phi, y, false)?;
    Ok((y.detach() - g * eps).detach())
}

/// `(1/m) Σ_i |ζ_i − out_i|²` (sum over coordinates, mean over the batch).
pub fn fit_loss(out: &Tensor, targets: &Tensor) -> Result<Tensor> {
    if out.size() != targets.size() {
        return Err(Error::input(format!(
            "generator output {:?} and Euler targets {:?} differ in shape",
            out.size(),
            targets.size()
        )));
    }
    let per_sample = row_sq_norm(&(out - targets))?;
    Ok(per_sample.f_mean(None::<Kind>)?)
}

/// K optimizer steps of [`fit_loss`] between `generator(z)` and the fixed
/// `targets`, on the same `z` (persistent training). Returns the last loss
/// (detached; reading it does not synchronise the device).
pub fn persistent_fit(
    generator: &dyn Fn(&Tensor) -> Tensor,
    opt: &mut Adam,
    z: &Tensor,
    targets: &Tensor,
    k: usize,
) -> Result<Tensor> {
    let mut last = Tensor::f_zeros([], (targets.kind(), targets.device()))?;
    for _ in 0..k {
        opt.zero_grad();
        let loss = fit_loss(&generator(z), targets)?;
        loss.f_backward()?;
        opt.step()?;
        last = loss.detach();
    }
    Ok(last)
}
