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
use crate::error::{same_shape, Error, Result};
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
    same_shape(out, targets, "generator output and Euler targets")?;
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
        last = opt.minimise(|| fit_loss(&generator(z), targets))?;
    }
    Ok(last)
}

/// Optimizer steps of [`fit_loss`] between `generator(z)` and `targets`
/// until the residual `Σ_i |G(z_i) − ζ_i|² / Σ_i |ζ_i − y_i|²` is at most
/// `tol` (checked before each step), at most `max_k` steps; `y` are the
/// particles the targets were moved from. Returns the last loss and the
/// number of steps taken. Each check is one more forward pass, without
/// gradient (in a generator with batch norm it also moves the running
/// statistics), and reads the loss back from the device.
pub fn fit_to_tolerance(
    generator: &dyn Fn(&Tensor) -> Tensor,
    opt: &mut Adam,
    z: &Tensor,
    y: &Tensor,
    targets: &Tensor,
    tol: f64,
    max_k: usize,
) -> Result<(Tensor, usize)> {
    let step = fit_loss(y, targets)?.double_value(&[]);
    let mut last = Tensor::f_zeros([], (targets.kind(), targets.device()))?;
    for taken in 0..max_k {
        let before = tch::no_grad(|| fit_loss(&generator(z), targets))?;
        if before.double_value(&[]) <= tol * step {
            return Ok((before, taken));
        }
        last = opt.minimise(|| fit_loss(&generator(z), targets))?;
    }
    Ok((last, max_k))
}

/// Prop. 4.1 (000) and its W2 analogue (003) checked on a model: the
/// parameter gradient of the K = 1 fit to the Euler targets `y − ε∇φ(y)`
/// against `2ε` times the gradient of the adversarial generator loss
/// `mean φ(G(z))`, on the same batch `z`. Returns `(max |difference|,
/// max |fit gradient|)` over every parameter entry (`params` must be the
/// generator's trainable tensors). The two are equal up to rounding.
pub fn k1_gradient_gap(
    generator: &dyn Fn(&Tensor) -> Tensor,
    params: &[Tensor],
    phi: &dyn Fn(&Tensor) -> Tensor,
    z: &Tensor,
    eps: f64,
) -> Result<(f64, f64)> {
    if params.is_empty() {
        return Err(Error::input("k1_gradient_gap: no parameters"));
    }
    let y = tch::no_grad(|| generator(z));
    let targets = euler_targets(phi, &y, eps)?;
    let fit = fit_loss(&generator(z), &targets)?;
    let g_fit = Tensor::f_run_backward(&[&fit], params, false, false)?;
    let adversarial = crate::flow::adversarial::wgan_generator_loss(phi, &generator(z))?;
    let g_adv = Tensor::f_run_backward(&[&adversarial], params, false, false)?;
    let (mut diff, mut size) = (0.0f64, 0.0f64);
    for (a, b) in g_fit.iter().zip(&g_adv) {
        diff = diff.max(a.f_sub(&(b * (2.0 * eps)))?.f_abs()?.f_max()?.f_double_value(&[])?);
        size = size.max(a.f_abs()?.f_max()?.f_double_value(&[])?);
    }
    Ok((diff, size))
}
