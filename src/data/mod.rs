//! Where samples come from.
//!
//! * [`toy`]: the 2D sets of the papers (8-Gaussian ring, 25-Gaussian grid,
//!   4 Gaussians, checkerboard, two spirals) and the Gaussian source.
//!
//! Every sampler returns `N×d` f32 tensors on the device it is asked for and
//! draws from libtorch's generator, which [`crate::device::seed_all`] seeds.

pub mod toy;

pub use toy::{SpiralArm, Toy};
