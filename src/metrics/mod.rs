//! Evaluators. Never import the trainer.
//!
//! * [`emd`]: exact W1 / W2 between two uniform point sets of equal size.

pub mod emd;

pub use emd::{assignment, wasserstein, Assignment};
