//! The names a notebook or script usually needs: `use wgflow::prelude::*;`
//! (the evcxr kernel's start-up file does this).

pub use crate::config::{preset, RunConfig, TrainConfig, METHODS};
pub use crate::critic::{Constraint, Critic, CriticConfig, GanLoss, PsiParam, Regularisation, W2Penalty};
pub use crate::data::pairs::{MapPair, PairFamily};
pub use crate::data::{DataSpec, Dataset, Distribution, SpiralArm, Split, Toy};
pub use crate::device::{choose_device, device_name, seed_all};
pub use crate::error::{Error, Result};
pub use crate::experiments::image_gan::{DomainFidSpec, FidSpec};
pub use crate::experiments::{
    AdaptationExperiment, AdaptationSeeds, Experiment, ImageGanExperiment, MvGaussianExperiment, OtBenchmarkExperiment,
    OtMapsExperiment, OtMapsSeeds, Report, RingExperiment, RingSeeds, RingSummary, TwoDeltaExperiment,
    W2DecayExperiment, W2PartsExperiment,
};
pub use crate::flow::barycentric::exact_w2_flow;
pub use crate::flow::StepConfig;
pub use crate::metrics::emd::{points2, tensor2, wasserstein};
pub use crate::nets::{Activation, DcganConfig, Init, Mlp, MlpConfig, Net, NetConfig};
pub use crate::notebook::{evolution_step, pick, quick, w2_decay, Claims, DataChoice, DigitDomains};
pub use crate::optim::{Adam, AdamConfig};
pub use crate::plot::{
    latent_walk, EvolutionPanels, EvolutionStep, Figure, ImageGrid, LineChart, PotentialField, Series, TransportPanels,
    TransportPlot, W2Decay,
};
pub use crate::progress::Progress;
pub use crate::train::{on_epoch, on_eval, History, Hook, Row, Snapshots, Trainer};
pub use tch::{Device, Kind, Tensor};
