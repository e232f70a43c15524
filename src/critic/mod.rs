//! Step 1 of every method: estimate a potential from generated samples `y`
//! and data `x`.
//!
//! * [`w1`]: the Kantorovich potential of W1 with weight clipping (WGAN),
//!   gradient penalty (W1-GP) or Lipschitz penalty (W1-LP).
//!
//! **Sign convention** (the paper's, 000 §3): φ is the Kantorovich potential
//! *from the generated distribution μ to the data μ_d*, so
//! `W1(μ, μ_d) = sup_φ ∫φ dμ − ∫φ dμ_d`: φ is **large on generated samples**
//! and small on data. The critic minimises `mean φ(x) − mean φ(y) + penalty`,
//! the particles move *down* its gradient, `ζ = y − ε∇φ(y)`, and the WGAN
//! generator loss is `mean φ(G(z))`. (The authors' code uses the opposite sign,
//! `−mean φ(x) + mean φ(y)` and `y + ε∇φ(y)`; the two are the same algorithm.)

pub mod w1;

use crate::error::Result;
use tch::Tensor;

pub use w1::{Constraint, W1Critic, W1Loss};

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
