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

use crate::critic::{Constraint, Critic, CriticConfig};
use crate::data::{Distribution, Sampler, Toy};
use crate::error::{Error, Result};
use crate::flow::{adversarial, barycentric, euler, proximal, StepConfig};
use crate::metrics::emd;
use crate::nets::{Mlp, MlpConfig};
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

/// One run: what to sample (a 2D toy set, a normal, an image data set — see
/// [`Distribution`]), the networks, the method's steps and the schedule.
/// Serialises to the `config.toml` of a run directory.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunConfig {
    pub source: Distribution,
    pub target: Distribution,
    pub generator: MlpConfig,
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
            generator: MlpConfig::generator_2d(),
            critic: CriticConfig::W1 { net: MlpConfig::critic_2d(), constraint: Constraint::Lp { lambda: 10.0 } },
            step: StepConfig::Euler { eps: 1.0, k: 1 },
            train: TrainConfig::default(),
        }
    }
}

impl RunConfig {
    /// Checks every field and their combinations before any work is done.
    pub fn validate(&self) -> Result<()> {
        self.source.validate("source")?;
        self.target.validate("target")?;
        self.generator.validate("generator")?;
        self.critic.validate()?;
        self.step.validate("step")?;
        self.train.validate()?;
        // The networks are MLPs over flat samples: their widths must match.
        let (zdim, xdim) = (self.source.dim()?, self.target.dim()?);
        for (field, d) in [("source", &self.source), ("target", &self.target)] {
            if d.sample_shape()?.len() != 1 {
                return Err(Error::config(
                    field,
                    format!("the networks are MLPs: image samples need flatten = true (shape {:?})", d.sample_shape()?),
                ));
            }
        }
        let widths = [
            ("generator.in_dim", self.generator.in_dim, zdim, "the source"),
            ("generator.out_dim", self.generator.out_dim, xdim, "the target"),
            ("critic.net.in_dim", self.critic.net().in_dim, xdim, "the target"),
        ];
        for (field, got, want, what) in widths {
            if got != want {
                return Err(Error::config(field, format!("must be {want}, the dimension of {what}, got {got}")));
            }
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
            if potential.in_dim != xdim {
                return Err(Error::config(
                    "step.potential.in_dim",
                    format!("must be {xdim}, the dimension of the target, got {}", potential.in_dim),
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
#[derive(Clone, Debug, PartialEq)]
pub struct Snapshot {
    pub epoch: usize,
    pub source: Vec<[f64; 2]>,
    pub target: Vec<[f64; 2]>,
    pub generated: Vec<[f64; 2]>,
}

/// The frozen copy of the generator that proximal steps compare against.
struct PrevGenerator {
    vs: nn::VarStore,
    net: Mlp,
}

/// The SBE potential Φ_p and its optimizer.
struct SbePotential {
    _vs: nn::VarStore,
    net: Mlp,
    opt: Adam,
}

/// Trains one [`RunConfig`].
pub struct Trainer {
    cfg: RunConfig,
    device: Device,
    g_vs: nn::VarStore,
    _d_vs: nn::VarStore,
    generator: Mlp,
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
                let net = Mlp::new(&(vs.root() / "generator"), &cfg.generator)?;
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
        let generator = Mlp::new(&(g_vs.root() / "generator"), &cfg.generator)?;
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
                let net = Mlp::new(&(vs.root() / "potential"), potential)?;
                // 002 App. G: the same Adam settings for all three networks.
                let opt = Adam::new(vs.trainable_variables(), cfg.train.generator_opt)?;
                Some(SbePotential { _vs: vs, net, opt })
            }
            _ => None,
        };
        let nan = || Tensor::from(f64::NAN);
        Ok(Trainer {
            cfg,
            device,
            g_vs,
            _d_vs: d_vs,
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
    pub fn generator(&self) -> &Mlp {
        &self.generator
    }
    pub fn critic(&self) -> &Critic {
        &self.critic
    }

    /// `G(z)` without gradient (batch norm in evaluation mode).
    pub fn generate(&self, z: &Tensor) -> Tensor {
        tch::no_grad(|| self.generator.forward_t(z, false))
    }

    /// One epoch of the three steps.
    pub fn train_epoch(&mut self) -> Result<()> {
        let start = Instant::now();
        let n = self.cfg.train.batch_size;
        let dev = self.device;
        // Barycentric-OT: the dual between source and data first, then the
        // map with the critic frozen.
        let (critic_iters, fit_generator, critic_on_source) = match self.cfg.step {
            StepConfig::Barycentric { dual_epochs } if self.epoch < dual_epochs => {
                (self.cfg.train.critic_iters, false, true)
            }
            StepConfig::Barycentric { .. } => (0, true, true),
            _ => (self.cfg.train.critic_iters, true, false),
        };
        // Step 1: estimate the potential.
        for _ in 0..critic_iters {
            let x = self.target.sample(n, dev)?;
            let z = self.source.sample(n, dev)?;
            let y = if critic_on_source { z } else { tch::no_grad(|| self.generator.forward_t(&z, true)) };
            self.opt_d.zero_grad();
            let l = self.critic.loss(&x, &y)?;
            l.loss.f_backward()?;
            self.opt_d.step()?;
            self.critic.after_step(self.opt_d.params());
            self.last_critic_loss = l.loss.detach();
            self.last_estimate = l.estimate;
        }
        if fit_generator {
            self.generator_phase()?;
        }
        self.epoch += 1;
        self.train_seconds += start.elapsed().as_secs_f64();
        Ok(())
    }

    /// Steps 2 and 3: move the particles, fit the generator.
    fn generator_phase(&mut self) -> Result<()> {
        let n = self.cfg.train.batch_size;
        let dev = self.device;
        let critic = &self.critic;
        let generator = &self.generator;
        let potential = |t: &Tensor| critic.generator_potential(t);
        let gen = |t: &Tensor| generator.forward_t(t, true);
        let step = self.cfg.step.clone();
        self.last_generator_loss = match step {
            StepConfig::Euler { eps, k } => {
                let z = self.source.sample(n, dev)?;
                let y = tch::no_grad(|| gen(&z));
                let targets = euler::euler_targets(&potential, &y, eps)?;
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
                let phi_p = |t: &Tensor| sbe.net.forward_t(t, true).squeeze_dim(-1);
                for _ in 0..potential_iters {
                    let z = self.source.sample(n, dev)?;
                    let out = tch::no_grad(|| gen(&z));
                    let before = tch::no_grad(|| prev.net.forward_t(&z, true));
                    sbe.opt.zero_grad();
                    // Ascent: minimise the negated objective.
                    let obj = proximal::sbe_potential_objective(&phi_p, &out, &before, h)?;
                    (-obj).f_backward()?;
                    sbe.opt.step()?;
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
        let y = self.generate(&self.fixed_z);
        let scalar = |t: &Tensor| t.double_value(&[]);
        let row = Row {
            epoch: self.epoch,
            seconds: self.train_seconds,
            critic_loss: scalar(&self.last_critic_loss),
            w1_estimate: scalar(&self.last_estimate),
            generator_loss: scalar(&self.last_generator_loss),
            w1: emd::wasserstein(&y, &self.fixed_x, 1).map_err(|e| self.diverged("generated samples", e))?,
            w2: emd::wasserstein(&y, &self.fixed_x, 2).map_err(|e| self.diverged("generated samples", e))?,
        };
        let trained = [
            ("critic loss", row.critic_loss, self.opt_d.steps() > 0),
            ("generator loss", row.generator_loss, self.opt_g.steps() > 0),
        ];
        for (name, v, updated) in trained {
            if updated && !v.is_finite() {
                return Err(Error::input(format!("training diverged at epoch {}: the {name} is {v}", self.epoch)));
            }
        }
        self.history.rows.push(row.clone());
        Ok(row)
    }

    fn diverged(&self, what: &str, e: Error) -> Error {
        Error::input(format!("training diverged at epoch {}: {what}: {e}", self.epoch))
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
            if self.due_for_eval() {
                let row = self.evaluate()?;
                on_eval(self, &row)?;
            }
        }
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
