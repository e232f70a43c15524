//! Networks: the multilayer perceptron of the 2D and domain-adaptation
//! experiments (000 §5, 004 App. 8.9.3) and the DCGAN pair of the CIFAR-10
//! experiments (002 App. C). Every network is a config struct with `Default`
//! plus a constructor taking an `nn::Path`, as in tch-rs.

pub mod dcgan;
pub mod mlp;

pub use dcgan::{DcganConfig, DcganCritic, DcganGenerator};
pub use mlp::{Activation, Init, Mlp, MlpConfig};
