//! Evaluators. Never import the trainer.
//!
//! * [`emd`]: exact W1 / W2 between two uniform point sets of equal size.
//! * [`ot`]: exact OT with arbitrary weights and sizes (network simplex) and
//!   entropic Sinkhorn.
//! * [`knn`]: exact 1-nearest-neighbour accuracy (domain adaptation).
//! * [`fid`]: FID and KID as pytorch-fid computes them, on the FID Inception
//!   network of [`inception`].
//! * [`maps`]: L2-UVP and cos of a learned map against a known optimal one
//!   (Korotin et al. 2021), and the linear (Bures) baseline map.

pub mod domain;
pub mod emd;
pub mod fid;
pub mod inception;
pub mod knn;
pub mod maps;
pub mod ot;

pub use emd::{assignment, wasserstein, Assignment};
