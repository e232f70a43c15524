//! # wgflow — Wasserstein gradient-flow generative models on libtorch
//!
//! Every method of the four papers this crate implements (W1-FE, W2-FE,
//! W2GAN, the Wasserstein proximal of GANs) trains a generator by moving
//! particles along a gradient flow in the space of probability measures, in
//! three steps per epoch:
//!
//! 1. **estimate a potential** from the current samples `y = G(z)` and data
//!    `x` — [`critic`] (the W1 Kantorovich potential with clipping, GP or LP);
//! 2. **move the particles** — [`flow`]: forward Euler `ζ = y − ε∇φ(y)`, or
//!    the plain adversarial step, or a proximal step;
//! 3. **fit the generator** to the moved particles — [`flow::euler`]: K
//!    persistent steps of `mean |ζ_i − G(z_i)|²` on the same batch. K = 1
//!    reproduces the WGAN step (000 Prop. 4.1).
//!
//! A method is a critic and one generator step ([`train::GeneratorStep`]);
//! [`config`] names them ([`config::METHODS`]). [`train::Trainer`] runs the
//! one loop ([`train::Trainer::step`], [`train::Trainer::fit`] with
//! [`train::Hook`]s); [`runs`] keeps run directories with checkpoints;
//! [`experiments`] declares the papers' experiments and drives them;
//! [`metrics::emd`] measures exact W1/W2; [`plot`] draws the figures.
//!
//! Sign convention: φ is large on *generated* samples (see [`critic`]).
//!
//! ```no_run
//! use wgflow::prelude::*;
//! let cfg = RunConfig::preset("w1fe-lp")?.k(3).epochs(200); // ring, 000 §5
//! let mut t = Trainer::new(cfg, choose_device(None)?)?;
//! t.fit(&mut [&mut on_eval(|_, row| {
//!     println!("epoch {} W1 {:.3}", row.epoch, row.w1);
//!     Ok(())
//! })])?;
//! # Ok::<(), wgflow::Error>(())
//! ```

#[macro_use]
mod macros;

pub mod config;
pub mod critic;
pub mod data;
pub mod device;
pub mod error;
pub mod experiments;
pub mod flow;
pub mod interrupt;
pub mod io;
pub mod metrics;
pub mod nets;
pub mod notebook;
pub mod npy;
pub mod optim;
pub mod plot;
pub mod prelude;
pub mod progress;
pub mod runs;
pub mod train;

pub use error::{Error, Result};
pub use notebook::quick;
