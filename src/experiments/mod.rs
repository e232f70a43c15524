//! Presets that reproduce the papers' experiments.
//!
//! * [`ring`]: W1-FE on the 8-Gaussian ring with persistency K ∈ {1, 3, 5, 10}
//!   (000 §5, Fig. 1 and Fig. 2).

pub mod ring;

pub use ring::{RingExperiment, RingSummary};
