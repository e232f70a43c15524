//! The outer loop. The trainer alone owns the var stores, the optimizers and
//! the schedule; each epoch runs the three steps of the crate docs:
//!
//! 1. `critic_iters` critic updates on fresh batches (step 1, [`crate::critic`]);
//! 2. particles moved from a fresh batch `y = G(z)` (step 2, [`crate::flow`]);
//! 3. the generator fitted to them, K times on the same `z` (step 3).
//!
//! Every `eval_every` epochs (and before the first and after the last) the
//! trainer records a [`Row`]: the epoch, the training wall-clock seconds (time
//! spent in evaluation is not counted), the last critic loss, the critic's
//! dual W1 estimate, the last generator loss, and the exact W1 and W2 between
//! `G(z_fixed)` and a fixed target sample ([`crate::metrics::emd`]), as the
//! authors evaluate with `ot.emd2` on 512 vs 512 points.
//!
//! **Random streams.** The networks' initial weights and the fixed evaluation
//! samples are drawn from `train.seed` alone; every epoch then reseeds
//! libtorch with [`epoch_seed`]`(train.seed, epoch)`, so an epoch's draws
//! depend on the seed and the epoch number only. A run resumed from a
//! checkpoint ([`Trainer::state`], [`Trainer::load_state`]) therefore draws
//! exactly what the uninterrupted run draws (tch cannot read or restore
//! libtorch's generator state).
//!
//! **Divergence guard.** The last loss, the gradient norm after the last
//! update and the moved samples of each step of an epoch are recorded on the
//! device without a host synchronisation; [`Trainer::check_finite`] reads
//! them (one transfer) and returns [`Error::Diverged`] naming the first
//! non-finite one. [`Trainer::run`] checks after every epoch on the CPU and
//! at every evaluation on a GPU; [`Trainer::state`] checks before a
//! checkpoint is taken, so a checkpoint never holds a diverged state.

use crate::critic::{Constraint, Critic, CriticConfig};
use crate::data::{Distribution, Sampler, Toy};
use crate::error::{Error, Result};
use crate::flow::{adversarial, barycentric, euler, proximal, StepConfig};
use crate::metrics::emd;
use crate::nets::{MlpConfig, Net, NetConfig, Role};
use crate::optim::{Adam, AdamConfig};
use serde::{Deserialize, Serialize};
use std::path::Path;
use std::time::Instant;
use tch::{nn, Device, Kind, Tensor};

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

/// The step of an epoch a [`NanAt`] hook poisons (and an [`Error::Diverged`] names).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum GuardStep {
    /// Step 1: the critic's loss gets a NaN added.
    Critic,
    /// Steps 2–3: the generator's output gets a NaN added.
    Generator,
    /// SBE only: the potential Φ_p's output gets a NaN added.
    Potential,
}

impl GuardStep {
    pub fn name(self) -> &'static str {
        match self {
            GuardStep::Critic => "critic",
            GuardStep::Generator => "generator",
            GuardStep::Potential => "potential",
        }
    }
}

/// **Test hook**: poison one step of one epoch with a NaN, to exercise the
/// divergence guard. In TOML: `[debug] nan_at = { epoch = 5, step = "critic" }`
/// (epochs count from 1: the 5th epoch trained).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NanAt {
    pub epoch: usize,
    pub step: GuardStep,
}

/// Hooks for testing the trainer; empty (and absent from `config.toml`) in
/// normal runs.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DebugConfig {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nan_at: Option<NanAt>,
}

impl DebugConfig {
    pub fn is_empty(&self) -> bool {
        self.nan_at.is_none()
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
    /// Test hooks (`[debug]`); see [`DebugConfig`].
    #[serde(default, skip_serializing_if = "DebugConfig::is_empty")]
    pub debug: DebugConfig,
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
            step: StepConfig::Euler { eps: 1.0, k: 1 },
            train: TrainConfig::default(),
            debug: DebugConfig::default(),
        }
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
            if &got == want {
                continue;
            }
            return Err(match net {
                NetConfig::Mlp(_) if want.len() != 1 => Error::config(
                    what,
                    format!("{net_field} is an MLP: image samples need flatten = true (shape {want:?})"),
                ),
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
            });
        }
        if let StepConfig::Barycentric { .. } = self.step {
            if zdim != xdim {
                return Err(Error::config(
                    "step",
                    format!("barycentric needs source and target of one dimension, got {zdim} and {xdim}"),
                ));
            }
        }
        if let StepConfig::SemiBackward { potential, .. } = &self.step {
            let got = potential.input_shape(Role::Critic);
            if got != xshape {
                return Err(Error::config(
                    "step.potential",
                    format!("its input must have the target's sample shape {xshape:?}, got {got:?}"),
                ));
            }
        }
        if let Some(NanAt { epoch, step }) = self.debug.nan_at {
            let field = "debug.nan_at";
            if epoch == 0 || epoch > self.train.epochs {
                return Err(Error::config(
                    format!("{field}.epoch"),
                    format!("must be in 1..={} (train.epochs), got {epoch}", self.train.epochs),
                ));
            }
            let phase = self.phase(epoch - 1);
            let runs = match step {
                GuardStep::Critic => phase.critic_iters > 0,
                GuardStep::Generator => phase.fit_generator,
                GuardStep::Potential => matches!(self.step, StepConfig::SemiBackward { .. }),
            };
            if !runs {
                return Err(Error::config(
                    format!("{field}.step"),
                    format!("epoch {epoch} of this method has no {} step", step.name()),
                ));
            }
        }
        if let StepConfig::Barycentric { dual_epochs } = self.step {
            if !matches!(self.critic, CriticConfig::W2 { .. }) {
                return Err(Error::config(
                    "step",
                    format!("barycentric needs critic.kind = \"w2\" (a dual pair), got \"{}\"", self.critic.name()),
                ));
            }
            if dual_epochs >= self.train.epochs {
                return Err(Error::config(
                    "step.dual_epochs",
                    format!(
                        "must be < train.epochs ({}) to leave epochs for the map, got {dual_epochs}",
                        self.train.epochs
                    ),
                ));
            }
        }
        Ok(())
    }

    /// What the epoch after `epoch` completed epochs runs.
    fn phase(&self, epoch: usize) -> Phase {
        // Barycentric-OT: the dual between source and data first, then the
        // map with the critic frozen.
        match self.step {
            StepConfig::Barycentric { dual_epochs } if epoch < dual_epochs => {
                Phase { critic_iters: self.train.critic_iters, fit_generator: false, critic_on_source: true }
            }
            StepConfig::Barycentric { .. } => Phase { critic_iters: 0, fit_generator: true, critic_on_source: true },
            _ => Phase { critic_iters: self.train.critic_iters, fit_generator: true, critic_on_source: false },
        }
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

/// The steps one epoch runs.
struct Phase {
    critic_iters: usize,
    fit_generator: bool,
    critic_on_source: bool,
}

/// The libtorch seed of epoch `epoch` (0-based) of a run seeded `seed`: the
/// SplitMix64 finaliser (Steele, Lea & Flood 2014) applied to the seed and
/// then to the mix with the epoch, so that neighbouring (seed, epoch) pairs
/// get unrelated streams. Non-negative, as `tch::manual_seed` takes an `i64`.
pub fn epoch_seed(seed: u64, epoch: usize) -> i64 {
    fn splitmix(mut z: u64) -> u64 {
        z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    (splitmix(splitmix(seed) ^ epoch as u64) >> 1) as i64
}

/// A TOML error on one line: `line L: message`.
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

/// One evaluation of a run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Row {
    pub epoch: usize,
    /// Training wall-clock seconds so far (evaluation excluded).
    pub seconds: f64,
    pub critic_loss: f64,
    /// The critic's dual estimate `mean φ(y) − mean φ(x)` of W1.
    pub w1_estimate: f64,
    pub generator_loss: f64,
    /// Exact W1 between `G(z_fixed)` and the fixed target sample.
    pub w1: f64,
    /// Exact W2 between the same sets.
    pub w2: f64,
}

/// The rows of a run, in order.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct History {
    pub rows: Vec<Row>,
}

impl History {
    /// Writes `history.csv`-style CSV atomically.
    pub fn save_csv(&self, path: impl AsRef<Path>) -> Result<()> {
        let mut w = csv::Writer::from_writer(Vec::new());
        for r in &self.rows {
            w.serialize(r).map_err(|e| Error::file(path.as_ref(), e))?;
        }
        let bytes = w.into_inner().map_err(|e| Error::file(path.as_ref(), e))?;
        crate::io::write_atomic(path, &bytes)
    }

    /// Writes the rows as a JSON array atomically.
    pub fn save_json(&self, path: impl AsRef<Path>) -> Result<()> {
        let s = serde_json::to_string_pretty(&self.rows).map_err(|e| Error::file(path.as_ref(), e))?;
        crate::io::write_atomic(path, s.as_bytes())
    }

    /// Reads a CSV written by [`History::save_csv`].
    pub fn load_csv(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let mut r = csv::Reader::from_path(path).map_err(|e| Error::file(path, e))?;
        let rows = r.deserialize().collect::<std::result::Result<Vec<Row>, _>>().map_err(|e| Error::file(path, e))?;
        Ok(History { rows })
    }

    /// `(epoch, value)` pairs of one column, for plotting.
    pub fn column(&self, f: impl Fn(&Row) -> f64) -> (Vec<f64>, Vec<f64>) {
        (self.rows.iter().map(|r| r.epoch as f64).collect(), self.rows.iter().map(f).collect())
    }
}

/// The fixed evaluation sample of a run at one moment, as plain points.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Snapshot {
    pub epoch: usize,
    pub source: Vec<[f64; 2]>,
    pub target: Vec<[f64; 2]>,
    pub generated: Vec<[f64; 2]>,
}

/// Version of the tensors [`Trainer::state`] writes.
const STATE_FORMAT: i64 = 1;

/// The guard values of one epoch: one scalar per watched tensor (the tensor
/// itself, or its sum for a batch), concatenated on the device without a sync.
#[derive(Default)]
struct Watch {
    labels: Vec<(&'static str, &'static str)>,
    values: Vec<Tensor>,
}

impl Watch {
    fn push(&mut self, step: &'static str, tensor: &'static str, t: &Tensor) -> Result<()> {
        // A sum is finite exactly when every element is (barring an overflow
        // of a sum of huge values, which is divergence too).
        let v = if t.numel() == 1 { t.detach() } else { t.detach().f_sum(Kind::Float)? };
        self.labels.push((step, tensor));
        self.values.push(v.f_reshape([1])?.f_to_kind(Kind::Double)?);
        Ok(())
    }

    fn finish(&mut self) -> Result<Option<Tensor>> {
        if self.values.is_empty() {
            return Ok(None);
        }
        Ok(Some(Tensor::f_cat(&std::mem::take(&mut self.values), 0)?))
    }
}

/// The Euclidean norm of all gradients of `params` (those defined), on the device.
fn grad_norm(params: &[Tensor]) -> Result<Tensor> {
    let norms: Vec<Tensor> = params.iter().map(|p| p.grad()).filter(|g| g.defined()).map(|g| g.norm()).collect();
    if norms.is_empty() {
        return Ok(Tensor::f_zeros([], (Kind::Float, params.first().map(|p| p.device()).unwrap_or(Device::Cpu)))?);
    }
    Ok(Tensor::f_stack(&norms, 0)?.f_norm()?)
}

/// The frozen copy of the generator that proximal steps compare against.
struct PrevGenerator {
    vs: nn::VarStore,
    net: Net,
}

/// The SBE potential Φ_p and its optimizer.
struct SbePotential {
    vs: nn::VarStore,
    net: Net,
    opt: Adam,
}

/// Trains one [`RunConfig`].
pub struct Trainer {
    cfg: RunConfig,
    device: Device,
    g_vs: nn::VarStore,
    d_vs: nn::VarStore,
    generator: Net,
    critic: Critic,
    opt_g: Adam,
    opt_d: Adam,
    prev: Option<PrevGenerator>,
    sbe: Option<SbePotential>,
    source: Box<dyn Sampler>,
    target: Box<dyn Sampler>,
    fixed_z: Tensor,
    fixed_x: Tensor,
    epoch: usize,
    train_seconds: f64,
    last_critic_loss: Tensor,
    last_estimate: Tensor,
    last_generator_loss: Tensor,
    history: History,
    /// Guard values of the epochs not yet checked: `(epoch, labels, values)`.
    pending: Vec<Pending>,
}

/// The guard values of one trained epoch, not yet read on the host.
struct Pending {
    epoch: usize,
    labels: Vec<(&'static str, &'static str)>,
    values: Tensor,
}

impl Trainer {
    /// Validates `cfg`, seeds every generator with `cfg.train.seed`, builds
    /// the networks and optimizers on `device` and draws the fixed evaluation
    /// samples.
    pub fn new(cfg: RunConfig, device: Device) -> Result<Self> {
        cfg.validate()?;
        // The frozen copy of the generator (proximal steps) is built before
        // seeding and overwritten from the generator below, so that it draws
        // nothing from the seeded stream: RWP with h = ∞ then replays the
        // plain GAN run exactly.
        let prev_parts = match cfg.step {
            StepConfig::Proximal { .. } | StepConfig::SemiBackward { .. } => {
                let vs = nn::VarStore::new(device);
                let net = Net::new(&(vs.root() / "generator"), &cfg.generator, Role::Generator, "generator")?;
                Some((vs, net))
            }
            _ => None,
        };
        // Data sets are loaded (and fitted) before seeding: their minibatch
        // order has its own seed, derived from the run's.
        let mut source = cfg.source.build(cfg.train.seed.wrapping_mul(2).wrapping_add(1), device)?;
        let mut target = cfg.target.build(cfg.train.seed.wrapping_mul(2).wrapping_add(2), device)?;
        crate::device::seed_all(cfg.train.seed);
        // The evaluation samples first, so they depend on the seed alone and
        // every method run with one seed is judged on the same points.
        let fixed_z = source.sample(cfg.train.eval_size, device)?;
        let fixed_x = target.sample(cfg.train.eval_size, device)?;
        let g_vs = nn::VarStore::new(device);
        let d_vs = nn::VarStore::new(device);
        let generator = Net::new(&(g_vs.root() / "generator"), &cfg.generator, Role::Generator, "generator")?;
        let critic = Critic::new(&(d_vs.root() / "critic"), &cfg.critic)?;
        let opt_g = Adam::new(g_vs.trainable_variables(), cfg.train.generator_opt)?;
        let opt_d = Adam::new(d_vs.trainable_variables(), cfg.train.critic_opt)?;
        let prev = match prev_parts {
            Some((mut vs, net)) => {
                vs.copy(&g_vs)?;
                vs.freeze();
                Some(PrevGenerator { vs, net })
            }
            None => None,
        };
        let sbe = match &cfg.step {
            StepConfig::SemiBackward { potential, .. } => {
                let vs = nn::VarStore::new(device);
                let net = Net::new(&(vs.root() / "potential"), potential, Role::Critic, "step.potential")?;
                // 002 App. G: the same Adam settings for all three networks.
                let opt = Adam::new(vs.trainable_variables(), cfg.train.generator_opt)?;
                Some(SbePotential { vs, net, opt })
            }
            _ => None,
        };
        let nan = || Tensor::from(f64::NAN);
        Ok(Trainer {
            cfg,
            device,
            g_vs,
            d_vs,
            generator,
            critic,
            opt_g,
            opt_d,
            prev,
            sbe,
            source,
            target,
            fixed_z,
            fixed_x,
            epoch: 0,
            train_seconds: 0.0,
            last_critic_loss: nan(),
            last_estimate: nan(),
            last_generator_loss: nan(),
            history: History::default(),
            pending: Vec::new(),
        })
    }

    pub fn config(&self) -> &RunConfig {
        &self.cfg
    }
    pub fn device(&self) -> Device {
        self.device
    }
    /// Epochs completed.
    pub fn epoch(&self) -> usize {
        self.epoch
    }
    /// Training seconds so far (evaluation excluded).
    pub fn seconds(&self) -> f64 {
        self.train_seconds
    }
    pub fn history(&self) -> &History {
        &self.history
    }
    pub fn generator(&self) -> &Net {
        &self.generator
    }
    pub fn critic(&self) -> &Critic {
        &self.critic
    }

    /// `G(z)` without gradient (batch norm in evaluation mode).
    pub fn generate(&self, z: &Tensor) -> Tensor {
        tch::no_grad(|| self.generator.forward_t(z, false))
    }

    /// Whether the [`NanAt`] hook poisons `step` in the epoch being trained.
    fn poisoned(&self, step: GuardStep) -> bool {
        self.cfg.debug.nan_at.is_some_and(|h| h.step == step && h.epoch == self.epoch + 1)
    }

    /// One epoch of the three steps.
    pub fn train_epoch(&mut self) -> Result<()> {
        let start = Instant::now();
        let n = self.cfg.train.batch_size;
        let dev = self.device;
        tch::manual_seed(epoch_seed(self.cfg.train.seed, self.epoch));
        let Phase { critic_iters, fit_generator, critic_on_source } = self.cfg.phase(self.epoch);
        let mut watch = Watch::default();
        // Step 1: estimate the potential.
        let poison = self.poisoned(GuardStep::Critic);
        for _ in 0..critic_iters {
            let x = self.target.sample(n, dev)?;
            let z = self.source.sample(n, dev)?;
            let y = if critic_on_source { z } else { tch::no_grad(|| self.generator.forward_t(&z, true)) };
            self.opt_d.zero_grad();
            let l = self.critic.loss(&x, &y)?;
            let loss = if poison { l.loss.f_add_scalar(f64::NAN)? } else { l.loss };
            loss.f_backward()?;
            self.opt_d.step()?;
            self.critic.after_step(self.opt_d.params());
            self.last_critic_loss = loss.detach();
            self.last_estimate = l.estimate;
        }
        if critic_iters > 0 {
            watch.push("critic", "critic loss", &self.last_critic_loss)?;
            watch.push("critic", "critic gradient norm", &grad_norm(self.opt_d.params())?)?;
        }
        if fit_generator {
            self.generator_phase(&mut watch)?;
        }
        if let Some(values) = watch.finish()? {
            self.pending.push(Pending { epoch: self.epoch + 1, labels: watch.labels, values });
        }
        self.epoch += 1;
        self.train_seconds += start.elapsed().as_secs_f64();
        Ok(())
    }

    /// Reads the guard values recorded since the last check (one transfer
    /// from the device) and returns [`Error::Diverged`] for the first that is
    /// not finite.
    pub fn check_finite(&mut self) -> Result<()> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let pending = std::mem::take(&mut self.pending);
        let all = Tensor::f_cat(&pending.iter().map(|p| &p.values).collect::<Vec<_>>(), 0)?;
        let values = Vec::<f64>::try_from(&all.f_to_device(Device::Cpu)?)?;
        let labels = pending.iter().flat_map(|p| p.labels.iter().map(move |l| (p.epoch, l)));
        for ((epoch, (step, tensor)), v) in labels.zip(values) {
            if !v.is_finite() {
                return Err(Error::Diverged { epoch, step: step.to_string(), tensor: tensor.to_string(), value: v });
            }
        }
        Ok(())
    }

    /// Steps 2 and 3: move the particles, fit the generator.
    fn generator_phase(&mut self, watch: &mut Watch) -> Result<()> {
        let n = self.cfg.train.batch_size;
        let dev = self.device;
        let poison = self.poisoned(GuardStep::Generator);
        let poison_potential = self.poisoned(GuardStep::Potential);
        let critic = &self.critic;
        let generator = &self.generator;
        let potential = |t: &Tensor| critic.generator_potential(t);
        let gen = |t: &Tensor| {
            let out = generator.forward_t(t, true);
            if poison {
                out + f64::NAN
            } else {
                out
            }
        };
        let step = self.cfg.step.clone();
        self.last_generator_loss = match step {
            StepConfig::Euler { eps, k } => {
                let z = self.source.sample(n, dev)?;
                let y = tch::no_grad(|| gen(&z));
                watch.push("generator", "generated samples", &y)?;
                let targets = euler::euler_targets(&potential, &y, eps)?;
                watch.push("generator", "moved particles", &targets)?;
                euler::persistent_fit(&gen, &mut self.opt_g, &z, &targets, k)?
            }
            StepConfig::Adversarial { k } => {
                let z = self.source.sample(n, dev)?;
                adversarial::persistent_adversarial(&potential, &gen, &mut self.opt_g, &z, k)?
            }
            StepConfig::Proximal { h, iters } => {
                let prev =
                    self.prev.as_mut().ok_or_else(|| Error::input("proximal step without a previous generator"))?;
                prev.vs.copy(&self.g_vs)?;
                let mut last = Tensor::f_zeros([], (Kind::Float, dev))?;
                for _ in 0..iters {
                    let z = self.source.sample(n, dev)?;
                    let before = tch::no_grad(|| prev.net.forward_t(&z, true));
                    self.opt_g.zero_grad();
                    let loss = proximal::rwp_loss(&potential, &gen(&z), &before, h)?;
                    loss.f_backward()?;
                    self.opt_g.step()?;
                    last = loss.detach();
                }
                last
            }
            StepConfig::SemiBackward { h, iters, potential_iters, .. } => {
                let prev = self.prev.as_mut().ok_or_else(|| Error::input("SBE step without a previous generator"))?;
                let sbe = self.sbe.as_mut().ok_or_else(|| Error::input("SBE step without a potential"))?;
                let phi_p = |t: &Tensor| {
                    let out = sbe.net.forward_t(t, true).squeeze_dim(-1);
                    if poison_potential {
                        out + f64::NAN
                    } else {
                        out
                    }
                };
                let mut objective = None;
                for _ in 0..potential_iters {
                    let z = self.source.sample(n, dev)?;
                    let out = tch::no_grad(|| gen(&z));
                    let before = tch::no_grad(|| prev.net.forward_t(&z, true));
                    sbe.opt.zero_grad();
                    // Ascent: minimise the negated objective.
                    let obj = proximal::sbe_potential_objective(&phi_p, &out, &before, h)?;
                    (-&obj).f_backward()?;
                    sbe.opt.step()?;
                    objective = Some(obj.detach());
                }
                if let Some(obj) = objective {
                    watch.push("potential", "potential objective", &obj)?;
                    watch.push("potential", "potential gradient norm", &grad_norm(sbe.opt.params())?)?;
                }
                // The next phase's Φ_p compares against the generator as it is now.
                prev.vs.copy(&self.g_vs)?;
                let mut last = Tensor::f_zeros([], (Kind::Float, dev))?;
                for _ in 0..iters {
                    let z = self.source.sample(n, dev)?;
                    self.opt_g.zero_grad();
                    let loss = proximal::sbe_generator_loss(&potential, &phi_p, &gen(&z), h)?;
                    loss.f_backward()?;
                    self.opt_g.step()?;
                    last = loss.detach();
                }
                last
            }
            StepConfig::Barycentric { .. } => {
                let w2 = critic.as_w2().ok_or_else(|| Error::config("step", "barycentric needs a w2 critic"))?;
                let x = self.target.sample(n, dev)?;
                let z = self.source.sample(n, dev)?;
                let w = tch::no_grad(|| -> Result<Tensor> {
                    barycentric::plan_weights(
                        &w2.phi(&z),
                        &w2.psi(&x),
                        &z,
                        &x,
                        w2.penalty.regularisation,
                        w2.penalty.lambda_ineq,
                    )
                })?;
                self.opt_g.zero_grad();
                let loss = barycentric::barycentric_loss(&x, &gen(&z), &w)?;
                loss.f_backward()?;
                self.opt_g.step()?;
                loss.detach()
            }
        };
        watch.push("generator", "generator loss", &self.last_generator_loss)?;
        watch.push("generator", "generator gradient norm", &grad_norm(self.opt_g.params())?)?;
        Ok(())
    }

    /// Exact W1 and W2 between `G(z_fixed)` and the fixed target sample, and
    /// a [`Row`] appended to the history. Errors if a loss is not finite.
    pub fn evaluate(&mut self) -> Result<Row> {
        if let Device::Cuda(i) = self.device {
            // Queued GPU work belongs to training time.
            let start = Instant::now();
            tch::Cuda::synchronize(i as i64);
            self.train_seconds += start.elapsed().as_secs_f64();
        }
        self.check_finite()?;
        let y = self.generate(&self.fixed_z);
        let diverged = |tensor: &str, value: f64| Error::Diverged {
            epoch: self.epoch,
            step: "evaluation".into(),
            tensor: tensor.into(),
            value,
        };
        let y_sum = y.f_sum(Kind::Double)?.double_value(&[]);
        if !y_sum.is_finite() {
            return Err(diverged("generated sample G(z_fixed)", y_sum));
        }
        let scalar = |t: &Tensor| t.double_value(&[]);
        // Images are compared as vectors of pixels.
        let (flat_y, flat_x) = (y.f_flatten(1, -1)?, self.fixed_x.f_flatten(1, -1)?);
        let row = Row {
            epoch: self.epoch,
            seconds: self.train_seconds,
            critic_loss: scalar(&self.last_critic_loss),
            w1_estimate: scalar(&self.last_estimate),
            generator_loss: scalar(&self.last_generator_loss),
            w1: emd::wasserstein(&flat_y, &flat_x, 1)?,
            w2: emd::wasserstein(&flat_y, &flat_x, 2)?,
        };
        let trained = [
            ("critic loss", row.critic_loss, self.opt_d.steps() > 0),
            ("generator loss", row.generator_loss, self.opt_g.steps() > 0),
        ];
        for (name, v, updated) in trained {
            if updated && !v.is_finite() {
                return Err(diverged(name, v));
            }
        }
        self.history.rows.push(row.clone());
        Ok(row)
    }

    /// Whether the schedule evaluates after the current epoch.
    pub fn due_for_eval(&self) -> bool {
        self.epoch == 0 || self.epoch % self.cfg.train.eval_every == 0 || self.epoch == self.cfg.train.epochs
    }

    /// Trains to `train.epochs`, evaluating on schedule; `on_eval` sees the
    /// trainer and each new row (for progress, snapshots, early stops).
    pub fn run(&mut self, mut on_eval: impl FnMut(&Trainer, &Row) -> Result<()>) -> Result<()> {
        if self.history.rows.is_empty() {
            let row = self.evaluate()?;
            on_eval(self, &row)?;
        }
        while self.epoch < self.cfg.train.epochs {
            self.train_epoch()?;
            if self.device == Device::Cpu {
                self.check_finite()?;
            }
            if self.due_for_eval() {
                let row = self.evaluate()?;
                on_eval(self, &row)?;
            }
        }
        self.check_finite()
    }

    /// Everything a resumed run needs, as named tensors on the CPU: every
    /// var store (`g/`, `d/`, `prev/`, `sbe/`), every optimizer's moments and
    /// step count (`opt_g/`, `opt_d/`, `opt_sbe/`), the fixed evaluation
    /// samples, the last losses, the epoch, the training seconds and the
    /// history. Checks the guard first ([`Trainer::check_finite`]): a
    /// diverged state is never returned.
    pub fn state(&mut self) -> Result<Vec<(String, Tensor)>> {
        self.check_finite()?;
        let cpu = |t: &Tensor| t.detach().f_to_device(Device::Cpu);
        let mut out: Vec<(String, Tensor)> = vec![("format".into(), Tensor::from(STATE_FORMAT))];
        for (prefix, vs) in self.stores() {
            let mut vars: Vec<_> = vs.variables().into_iter().collect();
            vars.sort_by(|a, b| a.0.cmp(&b.0));
            for (name, t) in vars {
                out.push((format!("{prefix}/{name}"), cpu(&t)?));
            }
        }
        let mut opts: Vec<(&str, &Adam)> = vec![("opt_g", &self.opt_g), ("opt_d", &self.opt_d)];
        if let Some(s) = &self.sbe {
            opts.push(("opt_sbe", &s.opt));
        }
        for (prefix, opt) in opts {
            let (m, v, steps) = opt.state();
            for (i, (m, v)) in m.iter().zip(v).enumerate() {
                out.push((format!("{prefix}/m/{i}"), cpu(m)?));
                out.push((format!("{prefix}/v/{i}"), cpu(v)?));
            }
            out.push((format!("{prefix}/steps"), Tensor::from(steps)));
        }
        for (name, t) in [
            ("fixed_z", &self.fixed_z),
            ("fixed_x", &self.fixed_x),
            ("last/critic_loss", &self.last_critic_loss),
            ("last/estimate", &self.last_estimate),
            ("last/generator_loss", &self.last_generator_loss),
        ] {
            out.push((name.into(), cpu(t)?));
        }
        // Samplers with their own random state (data-set batches): their
        // position in their ChaCha8 stream and their order.
        // Prefixed with their length: libtorch's writer cannot take an empty tensor.
        for (name, state) in [("sampler/source", self.source.state()), ("sampler/target", self.target.state())] {
            let mut v = vec![state.len() as i64];
            v.extend(state);
            out.push((name.into(), Tensor::from_slice(&v)));
        }
        out.push(("epoch".into(), Tensor::from(self.epoch as i64)));
        out.push(("train_seconds".into(), Tensor::from(self.train_seconds)));
        let rows: Vec<f64> = self
            .history
            .rows
            .iter()
            .flat_map(|r| [r.epoch as f64, r.seconds, r.critic_loss, r.w1_estimate, r.generator_loss, r.w1, r.w2])
            .collect();
        out.push(("history".into(), Tensor::from_slice(&rows).f_view([self.history.rows.len() as i64, 7])?));
        Ok(out)
    }

    /// The var stores by checkpoint prefix.
    fn stores(&self) -> Vec<(&'static str, &nn::VarStore)> {
        let mut stores: Vec<(&str, &nn::VarStore)> = vec![("g", &self.g_vs), ("d", &self.d_vs)];
        if let Some(p) = &self.prev {
            stores.push(("prev", &p.vs));
        }
        if let Some(s) = &self.sbe {
            stores.push(("sbe", &s.vs));
        }
        stores
    }

    /// Restores a [`Trainer::state`] into this trainer (built from the same
    /// config). Errors name the missing or mismatched tensor.
    pub fn load_state(&mut self, named: Vec<(String, Tensor)>) -> Result<()> {
        let mut map: std::collections::HashMap<String, Tensor> = named.into_iter().collect();
        let mut take = |name: &str| -> Result<Tensor> {
            map.remove(name).ok_or_else(|| Error::input(format!("checkpoint: no tensor `{name}`")))
        };
        let format = take("format")?.int64_value(&[]);
        if format != STATE_FORMAT {
            return Err(Error::input(format!("checkpoint: format {format}, this wgflow reads {STATE_FORMAT}")));
        }
        let dev = self.device;
        for (prefix, vs) in self.stores() {
            for (name, mut var) in vs.variables() {
                let key = format!("{prefix}/{name}");
                let src = take(&key)?;
                if src.size() != var.size() {
                    return Err(Error::input(format!(
                        "checkpoint: `{key}` has shape {:?}, the network {:?}",
                        src.size(),
                        var.size()
                    )));
                }
                tch::no_grad(|| var.f_copy_(&src))?;
            }
        }
        let mut opts: Vec<(&str, &mut Adam)> = vec![("opt_g", &mut self.opt_g), ("opt_d", &mut self.opt_d)];
        if let Some(s) = self.sbe.as_mut() {
            opts.push(("opt_sbe", &mut s.opt));
        }
        for (prefix, opt) in opts {
            let n = opt.params().len();
            let mut m = Vec::with_capacity(n);
            let mut v = Vec::with_capacity(n);
            for i in 0..n {
                m.push(take(&format!("{prefix}/m/{i}"))?);
                v.push(take(&format!("{prefix}/v/{i}"))?);
            }
            let steps = take(&format!("{prefix}/steps"))?.int64_value(&[]);
            opt.load_state(&m, &v, steps, &format!("checkpoint: {prefix}"))?;
        }
        self.fixed_z = take("fixed_z")?.f_to_device(dev)?;
        self.fixed_x = take("fixed_x")?.f_to_device(dev)?;
        self.last_critic_loss = take("last/critic_loss")?.f_to_device(dev)?;
        self.last_estimate = take("last/estimate")?.f_to_device(dev)?;
        self.last_generator_loss = take("last/generator_loss")?.f_to_device(dev)?;
        for (name, sampler) in [("sampler/source", &mut self.source), ("sampler/target", &mut self.target)] {
            let v = Vec::<i64>::try_from(&take(name)?)?;
            let state = match v.split_first() {
                Some((&n, rest)) if n as usize == rest.len() => rest,
                _ => return Err(Error::input(format!("checkpoint: `{name}` is not a length-prefixed sampler state"))),
            };
            sampler.load_state(state).map_err(|e| Error::input(format!("checkpoint: `{name}`: {e}")))?;
        }
        let epoch = take("epoch")?.int64_value(&[]);
        if epoch < 0 || epoch as usize > self.cfg.train.epochs {
            return Err(Error::input(format!(
                "checkpoint: epoch {epoch} is outside 0..={} (train.epochs)",
                self.cfg.train.epochs
            )));
        }
        self.epoch = epoch as usize;
        self.train_seconds = take("train_seconds")?.double_value(&[]);
        let flat = Vec::<f64>::try_from(&take("history")?.f_reshape([-1])?)?;
        self.history.rows = flat
            .chunks_exact(7)
            .map(|c| Row {
                epoch: c[0] as usize,
                seconds: c[1],
                critic_loss: c[2],
                w1_estimate: c[3],
                generator_loss: c[4],
                w1: c[5],
                w2: c[6],
            })
            .collect();
        self.pending.clear();
        Ok(())
    }

    /// The fixed evaluation samples: source `z` and target `x`.
    pub fn fixed_samples(&self) -> (&Tensor, &Tensor) {
        (&self.fixed_z, &self.fixed_x)
    }

    /// The fixed source sample, the fixed target sample and their images
    /// (2D runs only).
    pub fn snapshot(&self) -> Result<Snapshot> {
        if self.fixed_z.size().get(1) != Some(&2) || self.fixed_x.size().get(1) != Some(&2) {
            return Err(Error::input(format!(
                "a snapshot plots 2D points; this run samples {:?} → {:?}",
                self.fixed_z.size(),
                self.fixed_x.size()
            )));
        }
        let pts = |t: &Tensor, what: &str| -> Result<Vec<[f64; 2]>> {
            let (v, _, _) = emd::points(t, what)?;
            Ok(v.chunks_exact(2).map(|c| [c[0], c[1]]).collect())
        };
        Ok(Snapshot {
            epoch: self.epoch,
            source: pts(&self.fixed_z, "source sample")?,
            target: pts(&self.fixed_x, "target sample")?,
            generated: pts(&self.generate(&self.fixed_z), "generated sample")?,
        })
    }
}
