//! Multilayer perceptron with optional batch norm and identity skip.

use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use tch::{nn, Tensor};

/// Hidden-layer non-linearity.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Activation {
    Relu,
    /// Leaky ReLU with slope 0.2 (DCGAN convention).
    LeakyRelu,
    Elu,
    Tanh,
}

impl Activation {
    fn apply(self, x: &Tensor) -> Tensor {
        match self {
            // clamp_min(0) is relu, but its derivative `where(x ≥ 0, g, 0)`
            // is a function of the incoming gradient alone: relu's derivative
            // (`threshold_backward`) declares a zero gradient for x, which
            // the double backward of a gradient penalty materialises and
            // pushes through every layer of the forward pass (18 % of the
            // matrix products of a W1-LP critic step; BENCHMARKS.md). The two
            // differ only at x = 0 exactly, where any value in [0, 1] is a
            // subgradient.
            Activation::Relu => x.clamp_min(0.0),
            Activation::LeakyRelu => x.maximum(&(x * 0.2)),
            Activation::Elu => x.elu(),
            Activation::Tanh => x.tanh(),
        }
    }
}

/// Weight initialisation of the linear layers.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub enum Init {
    /// PyTorch's default for `nn.Linear`: weights and biases U(±1/√fan_in).
    Torch,
    /// Weights N(0, std²), biases 0. The authors' code uses std = 0.1 for the
    /// critic and 0.01 for the residual generator (`networks.py`).
    Normal { std: f64 },
}

/// A multilayer perceptron `in → hidden… → out`.
///
/// With `residual = true` the output is `x + H(x)` (the identity-initialised
/// generator of 004 and of the authors' 2D code); this needs `in_dim == out_dim`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MlpConfig {
    pub in_dim: i64,
    pub out_dim: i64,
    /// Widths of the hidden layers; 000 §5: three layers of 128.
    pub hidden: Vec<i64>,
    pub activation: Activation,
    /// Batch norm after each hidden linear layer (authors' 2D generator).
    #[serde(default)]
    pub batch_norm: bool,
    #[serde(default)]
    pub residual: bool,
    /// With `residual`, the output is `x + s·tanh(H(x))` instead of
    /// `x + H(x)` (004 App. 8.9.2–8.9.3 use s = 2 for images in [−1, 1]).
    #[serde(default)]
    pub tanh_scale: Option<f64>,
    pub init: Init,
}

impl Default for MlpConfig {
    /// 2 → 128 → 128 → 128 → 2, ReLU (000 §5: "a simple three layer perceptron
    /// … each hidden layer contains 128 neurons"), PyTorch initialisation.
    fn default() -> Self {
        MlpConfig {
            in_dim: 2,
            out_dim: 2,
            hidden: vec![128, 128, 128],
            activation: Activation::Relu,
            batch_norm: false,
            residual: false,
            tanh_scale: None,
            init: Init::Torch,
        }
    }
}

impl MlpConfig {
    /// `in_dim → hidden… → out_dim` with ReLU and PyTorch's initialisation.
    pub fn new(in_dim: i64, out_dim: i64, hidden: &[i64]) -> Self {
        MlpConfig { in_dim, out_dim, hidden: hidden.to_vec(), ..Self::default() }
    }

    /// The generator of 004's domain-adaptation and MV-Gaussian runs:
    /// `z + 2·tanh(H(z))`, H with batch norm and ReLU (authors' `exp_da`).
    pub fn residual_tanh_generator(dim: i64, hidden: &[i64]) -> Self {
        MlpConfig { batch_norm: true, residual: true, tanh_scale: Some(2.0), ..Self::new(dim, dim, hidden) }
    }

    /// The 2D critic of the ring experiment: 2 → 3×128 → 1, weights N(0, 0.1²)
    /// as in the authors' `weights_init_d`.
    pub fn critic_2d() -> Self {
        MlpConfig { out_dim: 1, init: Init::Normal { std: 0.1 }, ..Self::default() }
    }

    /// The 2D generator of the ring experiment: `z + H(z)` with H a 3×128 MLP
    /// whose weights are N(0, 0.01²) and biases 0, so G starts as the identity
    /// and the first generated sample is the source sample (authors'
    /// `weights_init_g`, residual GEN).
    pub fn generator_2d() -> Self {
        MlpConfig { residual: true, init: Init::Normal { std: 0.01 }, ..Self::default() }
    }

    /// Checks the sizes; `field` prefixes names in the error.
    pub fn validate(&self, field: &str) -> Result<()> {
        if self.in_dim < 1 {
            return Err(Error::config(format!("{field}.in_dim"), format!("must be ≥ 1, got {}", self.in_dim)));
        }
        if self.out_dim < 1 {
            return Err(Error::config(format!("{field}.out_dim"), format!("must be ≥ 1, got {}", self.out_dim)));
        }
        if let Some(h) = self.hidden.iter().find(|&&h| h < 1) {
            return Err(Error::config(format!("{field}.hidden"), format!("widths must be ≥ 1, got {h}")));
        }
        if self.residual && self.in_dim != self.out_dim {
            return Err(Error::config(
                format!("{field}.residual"),
                format!("needs in_dim == out_dim, got {} and {}", self.in_dim, self.out_dim),
            ));
        }
        if let Some(sc) = self.tanh_scale {
            if !(self.residual && sc.is_finite() && sc > 0.0) {
                return Err(Error::config(
                    format!("{field}.tanh_scale"),
                    format!("needs residual = true and a finite scale > 0, got {sc}"),
                ));
            }
        }
        if let Init::Normal { std } = self.init {
            if !(std.is_finite() && std >= 0.0) {
                return Err(Error::config(format!("{field}.init.std"), format!("must be finite and ≥ 0, got {std}")));
            }
        }
        Ok(())
    }
}

/// A built [`MlpConfig`].
#[derive(Debug)]
pub struct Mlp {
    linears: Vec<nn::Linear>,
    norms: Vec<Option<nn::BatchNorm>>,
    cfg: MlpConfig,
}

impl Mlp {
    /// Creates the layers under `path` (validating the config first).
    pub fn new(path: &nn::Path, cfg: &MlpConfig) -> Result<Self> {
        cfg.validate("net")?;
        let lin_cfg = |fan_in: i64| match cfg.init {
            // PyTorch's nn.Linear: kaiming_uniform(a = √5) = U(±1/√fan_in) for
            // weights and biases (tch's own default uses a ReLU gain instead).
            Init::Torch => {
                let b = 1.0 / (fan_in as f64).sqrt();
                nn::LinearConfig {
                    ws_init: nn::Init::Uniform { lo: -b, up: b },
                    bs_init: Some(nn::Init::Uniform { lo: -b, up: b }),
                    bias: true,
                }
            }
            Init::Normal { std } => nn::LinearConfig {
                ws_init: nn::Init::Randn { mean: 0.0, stdev: std },
                bs_init: Some(nn::Init::Const(0.0)),
                bias: true,
            },
        };
        let mut linears = Vec::new();
        let mut norms = Vec::new();
        let mut d = cfg.in_dim;
        for (i, &h) in cfg.hidden.iter().enumerate() {
            linears.push(nn::linear(path / format!("l{i}"), d, h, lin_cfg(d)));
            norms.push(cfg.batch_norm.then(|| {
                let bn_cfg = match cfg.init {
                    Init::Torch => nn::BatchNormConfig::default(),
                    Init::Normal { std } => nn::BatchNormConfig {
                        ws_init: nn::Init::Randn { mean: 0.0, stdev: std },
                        bs_init: nn::Init::Const(0.0),
                        ..Default::default()
                    },
                };
                nn::batch_norm1d(path / format!("bn{i}"), h, bn_cfg)
            }));
            d = h;
        }
        linears.push(nn::linear(path / format!("l{}", cfg.hidden.len()), d, cfg.out_dim, lin_cfg(d)));
        Ok(Mlp { linears, norms, cfg: cfg.clone() })
    }

    /// The weights and biases of the linear layers (batch-norm parameters
    /// not included).
    pub fn parameters(&self) -> Vec<Tensor> {
        self.linears
            .iter()
            .flat_map(|l| std::iter::once(l.ws.shallow_clone()).chain(l.bs.as_ref().map(|b| b.shallow_clone())))
            .collect()
    }

    /// The configuration this network was built from.
    pub fn config(&self) -> &MlpConfig {
        &self.cfg
    }

    /// Forward pass; `train` selects batch statistics in batch-norm layers.
    pub fn forward_t(&self, x: &Tensor, train: bool) -> Tensor {
        let mut h = x.shallow_clone();
        let n = self.linears.len();
        for (i, lin) in self.linears.iter().enumerate() {
            h = h.apply(lin);
            if i + 1 < n {
                if let Some(bn) = &self.norms[i] {
                    h = h.apply_t(bn, train);
                }
                h = self.cfg.activation.apply(&h);
            }
        }
        match (self.cfg.residual, self.cfg.tanh_scale) {
            (true, Some(sc)) => h.tanh() * sc + x,
            (true, None) => h + x,
            _ => h,
        }
    }
}

impl nn::ModuleT for Mlp {
    fn forward_t(&self, xs: &Tensor, train: bool) -> Tensor {
        Mlp::forward_t(self, xs, train)
    }
}
