//! DCGAN generator and critic for small square images (CIFAR-10's 32×32×3).
//!
//! 002 §3.1 / App. C trains "the DCGAN (Radford et al., 2015) architecture for
//! the discriminator and generator" on CIFAR-10 with batch 64 and latent 128
//! (WGAN-GP) or 100 (standard GAN, DRAGAN). The paper gives no further
//! detail; this is Radford et al.'s recipe scaled to 32×32, as the WGAN-GP
//! code used for CIFAR-10 does:
//!
//! * generator: `z → Linear → 4×4×(2^s·w) → BN → ReLU`, then `s` transposed
//!   convolutions (kernel 4, stride 2, padding 1) that halve the channels and
//!   double the side, each followed by BN + ReLU except the last, which maps
//!   to `channels` and ends in `tanh` (images in [−1, 1]);
//! * critic: `s` convolutions (kernel 4, stride 2, padding 1), LeakyReLU(0.2),
//!   **no** batch norm (a gradient penalty is per sample: Gulrajani et al.
//!   2017 §4), then `Linear → 1`;
//! * weights N(0, 0.02²), batch-norm scales N(1, 0.02²), biases 0
//!   (Radford et al. §4).
//!
//! `s = log2(image_size / 4)`: 3 for 32×32, 4 for 64×64.

use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use tch::{nn, Tensor};

/// Sizes of a DCGAN pair.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DcganConfig {
    /// Latent dimension (002 App. C: 128 for WGAN-GP, 100 for GAN/DRAGAN).
    pub latent: i64,
    /// Channels of the widest-resolution feature map (`ngf`/`ndf`, 64 in Radford et al.).
    pub width: i64,
    /// Image channels (3 for CIFAR-10).
    pub channels: i64,
    /// Side of the square images: 4·2^s with s ≥ 1.
    pub image_size: i64,
}

impl Default for DcganConfig {
    /// CIFAR-10 with WGAN-GP (002 App. C: latent 128), width 64, 32×32×3.
    fn default() -> Self {
        DcganConfig { latent: 128, width: 64, channels: 3, image_size: 32 }
    }
}

impl DcganConfig {
    /// Checks the sizes; `field` prefixes names in the error.
    pub fn validate(&self, field: &str) -> Result<()> {
        for (name, v) in [("latent", self.latent), ("width", self.width), ("channels", self.channels)] {
            if v < 1 {
                return Err(Error::config(format!("{field}.{name}"), format!("must be ≥ 1, got {v}")));
            }
        }
        let s = self.image_size;
        if !(s >= 8 && s % 4 == 0 && (s / 4).count_ones() == 1) {
            return Err(Error::config(
                format!("{field}.image_size"),
                format!("must be 4·2^s with s ≥ 1 (8, 16, 32, 64, …), got {s}"),
            ));
        }
        Ok(())
    }

    /// The number of stride-2 stages, `log2(image_size / 4)`.
    pub fn stages(&self) -> i64 {
        (self.image_size / 4).trailing_zeros() as i64
    }

    /// Channels at 4×4, the narrowest resolution: `2^(s−1)·width`.
    fn top_channels(&self) -> i64 {
        self.width << (self.stages() - 1)
    }
}

/// LeakyReLU with slope `slope` as `where(x ≥ 0, x, slope·x)`. tch's
/// `leaky_relu` has the slope fixed at 0.01, and both `leaky_relu` and `prelu`
/// declare a zero derivative for their input in the double backward of a
/// gradient penalty, which autograd then pushes through every convolution of
/// the forward pass; `where` has masks as constants and no such branch.
pub fn leaky_relu(x: &Tensor, slope: f64) -> Tensor {
    x.where_self(&x.ge(0.0), &(x * slope))
}

fn normal(std: f64) -> nn::Init {
    nn::Init::Randn { mean: 0.0, stdev: std }
}

/// The linear layers: weights N(0, 0.02²), biases 0.
fn linear_cfg() -> nn::LinearConfig {
    nn::LinearConfig { ws_init: normal(0.02), bs_init: Some(nn::Init::Const(0.0)), bias: true }
}

/// The stride-2 layers' config (`ConvConfig` for the critic's convolutions,
/// `ConvTransposeConfig` for the generator's): stride 2, padding 1, weights
/// N(0, 0.02²), biases 0.
macro_rules! stride2_cfg {
    ($config:ident) => {
        nn::$config {
            stride: 2,
            padding: 1,
            ws_init: normal(0.02),
            bs_init: nn::Init::Const(0.0),
            ..Default::default()
        }
    };
}

/// Appends a layer's weight and, if it has one, its bias to `params`.
fn push_layer(params: &mut Vec<Tensor>, ws: &Tensor, bs: &Option<Tensor>) {
    params.push(ws.shallow_clone());
    params.extend(bs.as_ref().map(|b| b.shallow_clone()));
}

fn batch_norm_cfg() -> nn::BatchNormConfig {
    nn::BatchNormConfig {
        ws_init: nn::Init::Randn { mean: 1.0, stdev: 0.02 },
        bs_init: nn::Init::Const(0.0),
        ..Default::default()
    }
}

/// The DCGAN generator: latent `N×latent` → images `N×C×S×S` in [−1, 1].
#[derive(Debug)]
pub struct DcganGenerator {
    fc: nn::Linear,
    fc_bn: nn::BatchNorm,
    convs: Vec<nn::ConvTranspose2D>,
    bns: Vec<nn::BatchNorm>,
    cfg: DcganConfig,
}

impl DcganGenerator {
    /// Builds the layers under `path`.
    pub fn new(path: &nn::Path, cfg: &DcganConfig) -> Result<Self> {
        cfg.validate("generator")?;
        let top = cfg.top_channels();
        let fc = nn::linear(path / "fc", cfg.latent, 16 * top, linear_cfg());
        let fc_bn = nn::batch_norm1d(path / "fc_bn", 16 * top, batch_norm_cfg());
        let conv_cfg = stride2_cfg!(ConvTransposeConfig);
        let (mut convs, mut bns) = (Vec::new(), Vec::new());
        let mut c = top;
        for i in 0..cfg.stages() {
            let last = i + 1 == cfg.stages();
            let out = if last { cfg.channels } else { c / 2 };
            convs.push(nn::conv_transpose2d(path / format!("conv{i}"), c, out, 4, conv_cfg));
            if !last {
                bns.push(nn::batch_norm2d(path / format!("bn{i}"), out, batch_norm_cfg()));
            }
            c = out;
        }
        Ok(DcganGenerator { fc, fc_bn, convs, bns, cfg: cfg.clone() })
    }

    pub fn config(&self) -> &DcganConfig {
        &self.cfg
    }

    /// The weights and biases of the linear and transposed-convolution
    /// layers (batch-norm parameters not included).
    pub fn parameters(&self) -> Vec<Tensor> {
        let mut p = Vec::new();
        push_layer(&mut p, &self.fc.ws, &self.fc.bs);
        for c in &self.convs {
            push_layer(&mut p, &c.ws, &c.bs);
        }
        p
    }

    /// `G(z)`; `train` selects batch statistics in the batch-norm layers.
    pub fn forward_t(&self, z: &Tensor, train: bool) -> Tensor {
        let top = self.cfg.top_channels();
        let mut h = z.apply(&self.fc).apply_t(&self.fc_bn, train).relu().view([-1, top, 4, 4]);
        for (i, conv) in self.convs.iter().enumerate() {
            h = h.apply(conv);
            h = match self.bns.get(i) {
                Some(bn) => h.apply_t(bn, train).relu(),
                None => h.tanh(),
            };
        }
        h
    }
}

impl nn::ModuleT for DcganGenerator {
    fn forward_t(&self, xs: &Tensor, train: bool) -> Tensor {
        DcganGenerator::forward_t(self, xs, train)
    }
}

/// The DCGAN critic (or discriminator): images `N×C×S×S` → `N×1`.
#[derive(Debug)]
pub struct DcganCritic {
    convs: Vec<nn::Conv2D>,
    fc: nn::Linear,
    cfg: DcganConfig,
}

impl DcganCritic {
    /// Builds the layers under `path`.
    pub fn new(path: &nn::Path, cfg: &DcganConfig) -> Result<Self> {
        cfg.validate("critic")?;
        let conv_cfg = stride2_cfg!(ConvConfig);
        let mut convs = Vec::new();
        let mut c = cfg.channels;
        for i in 0..cfg.stages() {
            let out = cfg.width << i;
            convs.push(nn::conv2d(path / format!("conv{i}"), c, out, 4, conv_cfg));
            c = out;
        }
        let fc = nn::linear(path / "fc", 16 * c, 1, linear_cfg());
        Ok(DcganCritic { convs, fc, cfg: cfg.clone() })
    }

    pub fn config(&self) -> &DcganConfig {
        &self.cfg
    }

    /// The weights and biases of the convolution and linear layers.
    pub fn parameters(&self) -> Vec<Tensor> {
        let mut p = Vec::new();
        for c in &self.convs {
            push_layer(&mut p, &c.ws, &c.bs);
        }
        push_layer(&mut p, &self.fc.ws, &self.fc.bs);
        p
    }

    /// The critic's value per image, `N×1` (no batch norm: `train` is unused).
    pub fn forward_t(&self, x: &Tensor, _train: bool) -> Tensor {
        let mut h = x.shallow_clone();
        for conv in &self.convs {
            h = leaky_relu(&h.apply(conv), 0.2);
        }
        h.flatten(1, -1).apply(&self.fc)
    }
}

impl nn::ModuleT for DcganCritic {
    fn forward_t(&self, xs: &Tensor, train: bool) -> Tensor {
        DcganCritic::forward_t(self, xs, train)
    }
}
