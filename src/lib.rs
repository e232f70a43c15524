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
//!    the plain adversarial step;
//! 3. **fit the generator** to the moved particles — [`flow::euler`]: K
//!    persistent steps of `mean |ζ_i − G(z_i)|²` on the same batch. K = 1
//!    reproduces the WGAN step (000 Prop. 4.1).
//!
//! [`train::Trainer`] runs the loop; [`metrics::emd`] measures exact W1/W2;
//! [`plot`] draws the paper's figures; [`experiments`] holds presets.
//!
//! Sign convention: φ is large on *generated* samples (see [`critic`]).
//!
//! ```no_run
//! use wgflow::prelude::*;
//! let mut cfg = RunConfig::default();             // W1-FE-LP, ring, 000 §5
//! cfg.step = StepConfig::Euler { eps: 1.0, k: 3 };
//! cfg.train.epochs = 200;
//! let mut t = Trainer::new(cfg, choose_device(None)?)?;
//! t.run(|_, row| { println!("epoch {} W1 {:.3}", row.epoch, row.w1); Ok(()) })?;
//! # Ok::<(), wgflow::Error>(())
//! ```

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
