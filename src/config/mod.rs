//! What one run is: [`RunConfig`] (data, networks, the method's steps, the
//! schedule) and [`TrainConfig`] (the schedule and optimizers), with their
//! validation and TOML form, and the method presets of the papers
//! ([`methods`]).
//!
//! A config is plain data with `Default` equal to the paper's setting; it
//! becomes something that trains only through [`RunConfig::validate`] (which
//! [`crate::train::Trainer::new`] calls). Errors name the config field.
//!
//! The builder methods read like the papers in a notebook:
//!
//! ```no_run
//! use wgflow::config::RunConfig;
//! let cfg = RunConfig::preset("w1fe-lp")?.k(3).epochs(800).seed(1);
//! # Ok::<(), wgflow::Error>(())
//! ```

pub mod methods;

pub use methods::{preset, Method, METHODS};

use crate::critic::{Constraint, CriticConfig};
use crate::data::{Distribution, Toy};
use crate::error::{Error, Result};
use crate::flow::StepConfig;
use crate::nets::{MlpConfig, NetConfig, Role};
use crate::optim::AdamConfig;
use serde::{Deserialize, Serialize};
use std::path::Path;

/// The schedule and optimizers. `Default` is 000 §5: 800 epochs, 10 critic
/// updates per epoch, batch 512, Adam with γ_g = γ_d = 1e-4 (β = (0.9, 0.999)
/// as in the authors' 2D code), W1 evaluated every 10 epochs on 512 points.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainConfig {
    pub epochs: usize,
    pub batch_size: i64,
    pub critic_iters: usize,
    pub generator_opt: AdamConfig,
    pub critic_opt: AdamConfig,
    pub eval_every: usize,
    pub eval_size: i64,
    pub seed: u64,
}

impl Default for TrainConfig {
    fn default() -> Self {
        // 000 §5: "10 discriminator updates, γ_g = γ_d = 1e-4, mini batches of 512".
        let adam = AdamConfig { lr: 1e-4, beta1: 0.9, beta2: 0.999, eps: 1e-8, weight_decay: 0.0 };
        TrainConfig {
            epochs: 800,
            batch_size: 512,
            critic_iters: 10,
            generator_opt: adam,
            critic_opt: adam,
            eval_every: 10,
            eval_size: 512,
            seed: 0,
        }
    }
}

impl TrainConfig {
    /// Checks ranges; names the field in the error.
    pub fn validate(&self) -> Result<()> {
        let ge1 = |name: &str, v: i64| {
            if v >= 1 {
                Ok(())
            } else {
                Err(Error::config(format!("train.{name}"), format!("must be ≥ 1, got {v}")))
            }
        };
        ge1("epochs", self.epochs as i64)?;
        ge1("batch_size", self.batch_size)?;
        ge1("critic_iters", self.critic_iters as i64)?;
        ge1("eval_every", self.eval_every as i64)?;
        ge1("eval_size", self.eval_size)?;
        self.generator_opt.validate("train.generator_opt")?;
        self.critic_opt.validate("train.critic_opt")?;
        Ok(())
    }
}

/// One run: what to sample (a 2D toy set, a normal, an image data set — see
/// [`Distribution`]), the networks, the method's steps and the schedule.
/// Serialises to the `config.toml` of a run directory.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunConfig {
    pub source: Distribution,
    pub target: Distribution,
    pub generator: NetConfig,
    pub critic: CriticConfig,
    pub step: StepConfig,
    pub train: TrainConfig,
}

impl Default for RunConfig {
    /// W1-FE-LP, K = 1, from N(0, I) to the 8-Gaussian ring (000 §5).
    fn default() -> Self {
        RunConfig {
            source: Toy::standard_gaussian().into(),
            target: Toy::ring().into(),
            generator: MlpConfig::generator_2d().into(),
            critic: CriticConfig::W1 {
                net: MlpConfig::critic_2d().into(),
                constraint: Constraint::Lp { lambda: 10.0 },
            },
            step: StepConfig::euler(1.0, 1),
            train: TrainConfig::default(),
        }
    }
}

/// Builder methods: each returns the changed config (checked later by
/// [`RunConfig::validate`]).
impl RunConfig {
    /// The method preset `name` ([`METHODS`]) on the default base: the ring
    /// from N(0, I), the 2D networks and the schedule of 000 §5.
    pub fn preset(name: &str) -> Result<Self> {
        preset(name, &RunConfig::default())
    }

    /// This config's data, networks and schedule with the critic and step of
    /// method `name` ([`METHODS`]).
    pub fn with_method(&self, name: &str) -> Result<Self> {
        preset(name, self)
    }

    /// The persistency level K (RWP's ℓ; ignored by Barycentric-OT).
    pub fn k(mut self, k: usize) -> Self {
        self.step = self.step.with_k(k);
        self
    }

    setters! {
        /// The generator step.
        step(step: StepConfig) => step;
        /// `train.epochs`.
        epochs(epochs: usize) => train.epochs;
        /// `train.batch_size`.
        batch_size(batch_size: i64) => train.batch_size;
        /// `train.critic_iters`.
        critic_iters(critic_iters: usize) => train.critic_iters;
        /// `train.eval_every`.
        eval_every(eval_every: usize) => train.eval_every;
        /// `train.eval_size`.
        eval_size(eval_size: i64) => train.eval_size;
        /// `train.seed`.
        seed(seed: u64) => train.seed;
        /// The source distribution (the generator's input).
        source(d: impl Into<Distribution>) => source;
        /// The target distribution (the data).
        target(d: impl Into<Distribution>) => target;
        /// The generator network.
        generator(net: impl Into<NetConfig>) => generator;
    }

    /// One Adam setting for the generator and the critic.
    pub fn adam(mut self, adam: AdamConfig) -> Self {
        self.train.generator_opt = adam;
        self.train.critic_opt = adam;
        self
    }

    /// The critic's main network (φ, or D; and ψ's network for W2 critics).
    pub fn critic_net(mut self, net: impl Into<NetConfig>) -> Self {
        let net = net.into();
        if let CriticConfig::W2 { psi_net, .. } = &mut self.critic {
            *psi_net = net.clone();
        }
        *self.critic.net_mut() = net;
        self
    }
}

impl RunConfig {
    /// Checks every field and their combinations before any work is done.
    pub fn validate(&self) -> Result<()> {
        self.source.validate("source")?;
        self.target.validate("target")?;
        self.generator.validate("generator", Role::Generator)?;
        self.critic.validate()?;
        self.step.validate("step")?;
        self.train.validate()?;
        // The networks' shapes must match the samples: an MLP takes flat
        // vectors, a DCGAN generator makes C×S×S images from a latent vector.
        let (zdim, xdim) = (self.source.dim()?, self.target.dim()?);
        let (zshape, xshape) = (self.source.sample_shape()?, self.target.sample_shape()?);
        let shapes = [
            ("generator", "in_dim", self.generator.input_shape(Role::Generator), &zshape, "source", &self.generator),
            ("generator", "out_dim", self.generator.output_shape(Role::Generator), &xshape, "target", &self.generator),
            ("critic.net", "in_dim", self.critic.net().input_shape(Role::Critic), &xshape, "target", self.critic.net()),
        ];
        for (net_field, dim_field, got, want, what, net) in shapes {
            if &got != want {
                return Err(shape_error(net_field, dim_field, &got, want, what, net));
            }
        }
        match &self.step {
            StepConfig::Barycentric { dual_epochs } => {
                if zdim != xdim {
                    return Err(Error::config(
                        "step",
                        format!("barycentric needs source and target of one dimension, got {zdim} and {xdim}"),
                    ));
                }
                if !matches!(self.critic, CriticConfig::W2 { .. }) {
                    return Err(Error::config(
                        "step",
                        format!("barycentric needs critic.kind = \"w2\" (a dual pair), got \"{}\"", self.critic.name()),
                    ));
                }
                if *dual_epochs >= self.train.epochs {
                    return Err(Error::config(
                        "step.dual_epochs",
                        format!(
                            "must be < train.epochs ({}) to leave epochs for the map, got {dual_epochs}",
                            self.train.epochs
                        ),
                    ));
                }
            }
            StepConfig::SemiBackward { potential, .. } => {
                let got = potential.input_shape(Role::Critic);
                if got != xshape {
                    return Err(Error::config(
                        "step.potential",
                        format!("its input must have the target's sample shape {xshape:?}, got {got:?}"),
                    ));
                }
            }
            _ => {}
        }
        Ok(())
    }

    /// Parses a TOML document (unknown keys are refused, naming the key).
    pub fn from_toml(text: &str, origin: &str) -> Result<Self> {
        let cfg: RunConfig = toml::from_str(text).map_err(|e| Error::file(origin, toml_error(text, &e)))?;
        cfg.validate()?;
        Ok(cfg)
    }

    /// Reads and validates a TOML file.
    pub fn load(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        Self::from_toml(&crate::io::read_to_string(path)?, &path.display().to_string())
    }

    /// The config as TOML.
    pub fn to_toml(&self) -> Result<String> {
        toml::to_string_pretty(self).map_err(|e| Error::input(format!("cannot serialise config: {e}")))
    }
}

/// The error for a network whose shape does not fit the samples.
fn shape_error(net_field: &str, dim_field: &str, got: &[i64], want: &[i64], what: &str, net: &NetConfig) -> Error {
    match net {
        NetConfig::Mlp(_) if want.len() != 1 => {
            Error::config(what, format!("{net_field} is an MLP: image samples need flatten = true (shape {want:?})"))
        }
        NetConfig::Mlp(_) => Error::config(
            format!("{net_field}.{dim_field}"),
            format!("must be {}, the dimension of the {what}, got {}", want[0], got[0]),
        ),
        NetConfig::Dcgan(_) => Error::config(
            net_field,
            format!(
                "a DCGAN {} samples of shape {got:?}, but the {what}'s samples have shape {want:?}{}",
                if dim_field == "out_dim" { "makes" } else { "takes" },
                if want.len() == 1 && got.len() == 3 { " (images need flatten = false)" } else { "" }
            ),
        ),
    }
}

/// A TOML error on one line: `invalid config at line L: message`.
pub fn toml_error(text: &str, e: &toml::de::Error) -> String {
    let msg = e.message().trim().replace('\n', " ");
    match e.span() {
        Some(span) => {
            let line = text[..span.start.min(text.len())].matches('\n').count() + 1;
            format!("invalid config at line {line}: {msg}")
        }
        None => format!("invalid config: {msg}"),
    }
}
