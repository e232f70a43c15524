//! The names a notebook or script usually needs: `use wgflow::prelude::*;`
//! (the evcxr kernel's start-up file does this).

pub use crate::critic::{Constraint, Critic, CriticConfig, GanLoss, PsiParam, Regularisation, W2Penalty};
pub use crate::data::{Dataset, SpiralArm, Toy};
pub use crate::device::{choose_device, device_name, seed_all};
pub use crate::error::{Error, Result};
pub use crate::experiments::{RingExperiment, RingSummary};
pub use crate::flow::StepConfig;
pub use crate::metrics::emd::wasserstein;
pub use crate::nets::{Activation, DcganConfig, Init, Mlp, MlpConfig, Net, NetConfig};
pub use crate::notebook::{evolution_step, pick, quick, w2_decay};
pub use crate::optim::{Adam, AdamConfig};
pub use crate::plot::{
    latent_walk, EvolutionPanels, EvolutionStep, Figure, ImageGrid, LineChart, PotentialField, Series, TransportPanels,
    TransportPlot, W2Decay,
};
pub use crate::progress::{train_with_progress, Progress};
pub use crate::train::{History, Row, RunConfig, TrainConfig, Trainer};
pub use tch::{Device, Kind, Tensor};
