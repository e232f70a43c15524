//! Evaluators. Never import the trainer.
//!
//! * [`emd`]: exact W1 / W2 between two uniform point sets of equal size.
//! * [`ot`]: exact OT with arbitrary weights and sizes (network simplex) and
//!   entropic Sinkhorn.
//! * [`knn`]: exact 1-nearest-neighbour accuracy (domain adaptation).

pub mod emd;
pub mod knn;
pub mod ot;

pub use emd::{assignment, wasserstein, Assignment};
