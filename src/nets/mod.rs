//! Networks: the multilayer perceptron of the 2D and domain-adaptation
//! experiments (000 §5, 004 App. 8.9.3). Every network is a config struct with
//! `Default` plus a constructor taking an `nn::Path`, as in tch-rs.

pub mod mlp;

pub use mlp::{Activation, Init, Mlp, MlpConfig};
