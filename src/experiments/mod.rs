//! Presets that reproduce the papers' experiments.
//!
//! * [`ring`]: W1-FE on the 8-Gaussian ring with persistency K ∈ {1, 3, 5, 10}
//!   (000 §5, Fig. 1 and Fig. 2);
//! * [`methods`]: every method of the papers as a preset of the three steps;
//! * [`ot_maps`]: the 2D optimal-map comparison against Discrete-OT (004 §6.1);
//! * [`adaptation`]: USPS ↔ MNIST domain adaptation scored by 1-NN accuracy
//!   (000 Fig. 3, 004 Table 1);
//! * [`w2_decay`]: the W2 decay of W2-FE against e^{−t} (003 eq. 14);
//! * [`two_delta`]: the two-delta example of the Wasserstein proximal (002 §2.3);
//! * [`image_gan`]: DCGAN image generation scored by FID (or pixel W2) against
//!   epochs and wall-clock (001's CIFAR-10 comparison, 002 Fig. 2, 4, 5).

pub mod adaptation;
pub mod image_gan;
pub mod methods;
pub mod ot_maps;
pub mod ring;
pub mod two_delta;
pub mod w2_decay;

pub use ring::{RingExperiment, RingSummary};
