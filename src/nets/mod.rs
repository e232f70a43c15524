//! Networks: the multilayer perceptron of the 2D and domain-adaptation
//! experiments (000 §5, 004 App. 8.9.3) and the DCGAN pair of the CIFAR-10
//! experiments (002 App. C). Every network is a config struct with `Default`
//! plus a constructor taking an `nn::Path`, as in tch-rs.
//!
//! [`NetConfig`] is what a run's `generator`, `critic.net`, `critic.psi_net`
//! and SBE's `step.potential` hold: an MLP (the default, written as the MLP's
//! own table) or a DCGAN (`arch = "dcgan"`). A DCGAN config builds the
//! generator or the critic depending on where it stands ([`Role`]).
//!
//! ```toml
//! [generator]            # z ~ N(0, I_128) → 3×32×32 images
//! arch = "dcgan"
//! latent = 128
//! width = 64
//! channels = 3
//! image_size = 32
//! ```

pub mod dcgan;
pub mod mlp;

pub use dcgan::{DcganConfig, DcganCritic, DcganGenerator};
pub use mlp::{Activation, Init, Mlp, MlpConfig};

use crate::error::{Error, Result};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use tch::{nn, Tensor};

/// Where a network stands: the generator maps the source to samples, a
/// critic (or potential) maps samples to one value each.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    Generator,
    Critic,
}

/// A network's architecture and sizes. See the [module docs](self).
#[derive(Clone, Debug, PartialEq)]
pub enum NetConfig {
    /// A multilayer perceptron over flat samples.
    Mlp(MlpConfig),
    /// The DCGAN generator or critic over `C×S×S` images.
    Dcgan(DcganConfig),
}

impl From<MlpConfig> for NetConfig {
    fn from(c: MlpConfig) -> Self {
        NetConfig::Mlp(c)
    }
}

impl From<DcganConfig> for NetConfig {
    fn from(c: DcganConfig) -> Self {
        NetConfig::Dcgan(c)
    }
}

impl Default for NetConfig {
    /// [`MlpConfig::default`].
    fn default() -> Self {
        NetConfig::Mlp(MlpConfig::default())
    }
}

impl NetConfig {
    /// `mlp` or `dcgan`.
    pub fn arch(&self) -> &'static str {
        match self {
            NetConfig::Mlp(_) => "mlp",
            NetConfig::Dcgan(_) => "dcgan",
        }
    }

    /// The MLP config, if this is one.
    pub fn as_mlp(&self) -> Option<&MlpConfig> {
        match self {
            NetConfig::Mlp(c) => Some(c),
            NetConfig::Dcgan(_) => None,
        }
    }

    /// Mutable access to the MLP config, if this is one.
    pub fn as_mlp_mut(&mut self) -> Option<&mut MlpConfig> {
        match self {
            NetConfig::Mlp(c) => Some(c),
            NetConfig::Dcgan(_) => None,
        }
    }

    /// The DCGAN config, if this is one.
    pub fn as_dcgan(&self) -> Option<&DcganConfig> {
        match self {
            NetConfig::Dcgan(c) => Some(c),
            NetConfig::Mlp(_) => None,
        }
    }

    /// Checks the sizes; `field` prefixes names in the error. As a critic the
    /// network must output one value per sample.
    pub fn validate(&self, field: &str, role: Role) -> Result<()> {
        match self {
            NetConfig::Mlp(c) => {
                c.validate(field)?;
                if role == Role::Critic && c.out_dim != 1 {
                    return Err(Error::config(
                        format!("{field}.out_dim"),
                        format!("a potential outputs 1 value, got {}", c.out_dim),
                    ));
                }
                Ok(())
            }
            NetConfig::Dcgan(c) => c.validate(field),
        }
    }

    /// The shape of one input sample in `role`: `[in_dim]` for an MLP,
    /// `[latent]` for a DCGAN generator, `[C, S, S]` for a DCGAN critic.
    pub fn input_shape(&self, role: Role) -> Vec<i64> {
        match (self, role) {
            (NetConfig::Mlp(c), _) => vec![c.in_dim],
            (NetConfig::Dcgan(c), Role::Generator) => vec![c.latent],
            (NetConfig::Dcgan(c), Role::Critic) => vec![c.channels, c.image_size, c.image_size],
        }
    }

    /// The shape of one output in `role`: `[out_dim]` for an MLP, `[C, S, S]`
    /// for a DCGAN generator, `[1]` for a DCGAN critic.
    pub fn output_shape(&self, role: Role) -> Vec<i64> {
        match (self, role) {
            (NetConfig::Mlp(c), _) => vec![c.out_dim],
            (NetConfig::Dcgan(c), Role::Generator) => vec![c.channels, c.image_size, c.image_size],
            (NetConfig::Dcgan(_), Role::Critic) => vec![1],
        }
    }
}

impl Serialize for NetConfig {
    /// An MLP as its own table (what configs written before DCGAN support
    /// hold); a DCGAN with `arch = "dcgan"` first.
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Tagged<'a> {
            arch: &'static str,
            #[serde(flatten)]
            cfg: &'a DcganConfig,
        }
        match self {
            NetConfig::Mlp(c) => c.serialize(s),
            NetConfig::Dcgan(c) => Tagged { arch: "dcgan", cfg: c }.serialize(s),
        }
    }
}

impl<'de> Deserialize<'de> for NetConfig {
    /// `arch = "dcgan"` → [`DcganConfig`]; `arch = "mlp"` or no `arch` →
    /// [`MlpConfig`], parsed strictly so that an error names the wrong field.
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        use serde::de::Error as _;
        use serde_json::Value;
        // Through a JSON value, not a TOML one: configs are also stored as
        // JSON (an experiment's own file), where an absent option is `null`.
        let mut map = match Value::deserialize(d)? {
            Value::Object(m) => m,
            _ => return Err(D::Error::custom("expected a table (a network's config)")),
        };
        let conv = |e: serde_json::Error| D::Error::custom(e.to_string());
        let arch = match map.remove("arch") {
            None => "mlp".to_string(),
            Some(Value::String(s)) => s,
            Some(other) => return Err(D::Error::custom(format!("arch: expected \"mlp\" or \"dcgan\", got {other}"))),
        };
        let rest = Value::Object(map);
        match arch.as_str() {
            "mlp" => Ok(NetConfig::Mlp(serde_json::from_value(rest).map_err(conv)?)),
            "dcgan" => Ok(NetConfig::Dcgan(serde_json::from_value(rest).map_err(conv)?)),
            other => Err(D::Error::custom(format!("arch: expected \"mlp\" or \"dcgan\", got \"{other}\""))),
        }
    }
}

/// A built [`NetConfig`]. Its input and output have the shapes
/// [`NetConfig::input_shape`] and [`NetConfig::output_shape`] give (plus the
/// batch dimension); a DCGAN critic also takes flat `N×(C·S·S)` rows.
#[derive(Debug)]
pub enum Net {
    Mlp(Mlp),
    DcganGenerator(Box<DcganGenerator>),
    DcganCritic(Box<DcganCritic>),
}

impl Net {
    /// Builds `cfg` in `role` under `path` (validating it first; `field`
    /// names it in errors).
    pub fn new(path: &nn::Path, cfg: &NetConfig, role: Role, field: &str) -> Result<Self> {
        cfg.validate(field, role)?;
        Ok(match (cfg, role) {
            (NetConfig::Mlp(c), _) => Net::Mlp(Mlp::new(path, c)?),
            (NetConfig::Dcgan(c), Role::Generator) => Net::DcganGenerator(Box::new(DcganGenerator::new(path, c)?)),
            (NetConfig::Dcgan(c), Role::Critic) => Net::DcganCritic(Box::new(DcganCritic::new(path, c)?)),
        })
    }

    /// Forward pass; `train` selects batch statistics in batch-norm layers.
    pub fn forward_t(&self, x: &Tensor, train: bool) -> Tensor {
        match self {
            Net::Mlp(n) => n.forward_t(x, train),
            Net::DcganGenerator(n) => n.forward_t(x, train),
            Net::DcganCritic(n) => {
                let c = n.config();
                n.forward_t(&x.view([-1, c.channels, c.image_size, c.image_size]), train)
            }
        }
    }

    /// The weights and biases of the linear and convolution layers
    /// (batch-norm parameters not included).
    pub fn parameters(&self) -> Vec<Tensor> {
        match self {
            Net::Mlp(n) => n.parameters(),
            Net::DcganGenerator(n) => n.parameters(),
            Net::DcganCritic(n) => n.parameters(),
        }
    }

    /// Whether the network has batch-norm layers (whose statistics couple
    /// the samples of a batch).
    pub fn has_batch_norm(&self) -> bool {
        match self {
            Net::Mlp(n) => n.config().batch_norm,
            Net::DcganGenerator(_) => true,
            Net::DcganCritic(_) => false,
        }
    }
}

impl nn::ModuleT for Net {
    fn forward_t(&self, xs: &Tensor, train: bool) -> Tensor {
        Net::forward_t(self, xs, train)
    }
}
