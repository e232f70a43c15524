//! The classic generator step: minimise the critic's value on generated
//! samples directly (no particle targets).

use crate::error::Result;
use crate::optim::Adam;
use tch::{Kind, Tensor};

/// The WGAN generator loss `(1/m) Σ_i φ(G(z_i))` in this crate's sign
/// convention (φ large on generated samples; see [`crate::critic`]).
pub fn wgan_generator_loss(phi: &dyn Fn(&Tensor) -> Tensor, generated: &Tensor) -> Result<Tensor> {
    Ok(phi(generated).f_mean(None::<Kind>)?)
}

/// K steps of [`wgan_generator_loss`] on the same `z`. K = 1 is the WGAN
/// step; K > 1 is the "naive persistent WGAN" of 001, which keeps using a
/// potential that no longer belongs to the moved generator (000 Remark 4.2).
pub fn persistent_adversarial(
    phi: &dyn Fn(&Tensor) -> Tensor,
    generator: &dyn Fn(&Tensor) -> Tensor,
    opt: &mut Adam,
    z: &Tensor,
    k: usize,
) -> Result<Tensor> {
    let mut last = Tensor::f_zeros([], (z.kind(), z.device()))?;
    for _ in 0..k {
        last = opt.minimise(|| wgan_generator_loss(phi, &generator(z)))?;
    }
    Ok(last)
}
