//! The outer loop. The trainer alone owns the var stores, the optimizers and
//! the schedule; each epoch runs the three steps of the crate docs:
//!
//! 1. `critic_iters` critic updates on fresh batches (step 1, [`crate::critic`]);
//! 2. and 3. the method's generator step ([`GeneratorStep`]): particles
//!    moved from a fresh batch `y = G(z)` and the generator fitted to them
//!    (or the adversarial, proximal or barycentric step).
//!
//! [`Trainer::step`] is the one public step: it trains one epoch, runs the
//! divergence guard ([`guard`]) and evaluates when due. [`Trainer::fit`]
//! drives it to the last epoch and calls [`Hook`]s around it (progress,
//! checkpoints, snapshots); nothing else in the crate, the CLI or a notebook
//! writes an epoch loop.
//!
//! Every `eval_every` epochs (and before the first and after the last) the
//! trainer records a [`Row`]: the epoch, the training wall-clock seconds (time
//! spent in evaluation is not counted), the last critic loss, the critic's
//! dual W1 estimate, the last generator loss, the exact W1 and W2 between
//! `G(z_fixed)` and a fixed target sample ([`crate::metrics::emd`]), as the
//! authors evaluate with `ot.emd2` on 512 vs 512 points, and the values of
//! any extra [`Evaluator`]s.
//!
//! **Random streams.** The networks' initial weights and the fixed evaluation
//! samples are drawn from `train.seed` alone; every epoch then reseeds
//! libtorch with [`epoch_seed`]`(train.seed, epoch)`, so an epoch's draws
//! depend on the seed and the epoch number only. A run resumed from a
//! checkpoint ([`Trainer::state`], [`Trainer::load_state`]) therefore draws
//! exactly what the uninterrupted run draws (tch cannot read or restore
//! libtorch's generator state).

pub mod guard;
mod history;
mod hooks;
pub mod method;
mod state;

pub use guard::{GuardStep, NanAt, NAN_AT_ENV};
pub use history::{History, Row, Snapshot};
pub use hooks::{evaluator, on_epoch, on_eval, Evaluator, FnEvaluator, Hook, OnEpoch, OnEval, Snapshots};
pub use method::{GeneratorStep, Phase};

use crate::config::RunConfig;
use crate::critic::Critic;
use crate::data::Sampler;
use crate::error::{Error, Result};
use crate::metrics::emd;
use crate::nets::{Net, Role};
use crate::optim::Adam;
use guard::{grad_norm, Guard, Watch};
use method::StepInputs;
use std::time::Instant;
use tch::{nn, Device, Kind, Tensor};

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
    method: GeneratorStep,
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
    guard: Guard,
    evaluators: Vec<Box<dyn Evaluator>>,
    nan_at: Option<NanAt>,
}

impl Trainer {
    /// Validates `cfg`, seeds every generator with `cfg.train.seed`, builds
    /// the networks, the optimizers and the method's state on `device` and
    /// draws the fixed evaluation samples.
    pub fn new(cfg: RunConfig, device: Device) -> Result<Self> {
        cfg.validate()?;
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
        let method = GeneratorStep::new(&cfg, &g_vs, device)?;
        let nan = || Tensor::from(f64::NAN);
        let mut t = Trainer {
            cfg,
            device,
            g_vs,
            d_vs,
            generator,
            critic,
            opt_g,
            opt_d,
            method,
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
            guard: Guard::default(),
            evaluators: vec![],
            nan_at: None,
        };
        if let Some(hook) = NanAt::from_env()? {
            t.inject_nan(hook).map_err(|e| match e {
                Error::Config { field, msg } => Error::config(format!("{NAN_AT_ENV} ({field})"), msg),
                e => e,
            })?;
        }
        Ok(t)
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
    /// Whether every configured epoch is trained.
    pub fn is_finished(&self) -> bool {
        self.epoch >= self.cfg.train.epochs
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
    /// The method's generator step and its state.
    pub fn method(&self) -> &GeneratorStep {
        &self.method
    }

    /// `G(z)` without gradient (batch norm in evaluation mode).
    pub fn generate(&self, z: &Tensor) -> Tensor {
        tch::no_grad(|| self.generator.forward_t(z, false))
    }

    /// The fixed evaluation samples: source `z` and target `x`.
    pub fn fixed_samples(&self) -> (&Tensor, &Tensor) {
        (&self.fixed_z, &self.fixed_x)
    }

    /// Adds an evaluator whose values every later evaluation row carries.
    pub fn add_evaluator(&mut self, e: impl Evaluator + 'static) {
        self.evaluators.push(Box::new(e));
    }

    /// [`Trainer::add_evaluator`] for boxed evaluators.
    pub fn add_boxed_evaluator(&mut self, e: Box<dyn Evaluator>) {
        self.evaluators.push(e);
    }

    /// **Test hook**: poison one step of one epoch with a NaN ([`NanAt`]).
    /// Refuses an epoch outside the run or a step the epoch does not run.
    pub fn inject_nan(&mut self, hook: NanAt) -> Result<()> {
        let NanAt { epoch, step } = hook;
        if epoch == 0 || epoch > self.cfg.train.epochs {
            return Err(Error::config(
                "nan_at.epoch",
                format!("must be in 1..={} (train.epochs), got {epoch}", self.cfg.train.epochs),
            ));
        }
        let phase = self.method.phase(epoch - 1, self.cfg.train.critic_iters);
        let runs = match step {
            GuardStep::Critic => phase.critic_iters > 0,
            GuardStep::Generator => phase.fit_generator,
            GuardStep::Potential => self.method.has_potential(),
        };
        if !runs {
            return Err(Error::config(
                "nan_at.step",
                format!("epoch {epoch} of this method has no {} step", step.name()),
            ));
        }
        self.nan_at = Some(hook);
        Ok(())
    }

    /// Whether the [`NanAt`] hook poisons `step` in the epoch being trained.
    fn poisoned(&self, step: GuardStep) -> bool {
        self.nan_at.is_some_and(|h| h.step == step && h.epoch == self.epoch + 1)
    }

    /// One step of the schedule. The first call on a fresh trainer records
    /// the evaluation before training; every later call trains one epoch,
    /// runs the divergence guard (every epoch on the CPU, at evaluations on
    /// a GPU) and evaluates when due. Returns the row recorded, if any.
    /// Errors when the run is already finished.
    ///
    /// ```no_run
    /// # use wgflow::prelude::*;
    /// let mut t = Trainer::new(RunConfig::preset("w1fe-lp")?.epochs(100), choose_device(None)?)?;
    /// while !t.is_finished() {
    ///     if let Some(row) = t.step()? {
    ///         println!("epoch {} W1 {:.3}", row.epoch, row.w1);
    ///     }
    /// }
    /// # Ok::<(), wgflow::Error>(())
    /// ```
    pub fn step(&mut self) -> Result<Option<Row>> {
        if self.history.rows.is_empty() {
            return self.evaluate().map(Some);
        }
        if self.is_finished() {
            return Err(Error::config(
                "train.epochs",
                format!("the run is finished at epoch {}; raise train.epochs to train further", self.epoch),
            ));
        }
        self.train_epoch()?;
        if self.device == Device::Cpu {
            self.check_finite()?;
        }
        if self.due_for_eval() {
            return self.evaluate().map(Some);
        }
        Ok(None)
    }

    /// Trains to `train.epochs` with [`Trainer::step`], calling every hook
    /// after each evaluation and each trained epoch, and at the end. A
    /// hook's error stops the run and is returned.
    pub fn fit(&mut self, hooks: &mut [&mut dyn Hook]) -> Result<()> {
        for h in hooks.iter_mut() {
            h.on_start(self)?;
        }
        while !self.is_finished() || self.history.rows.is_empty() {
            let trains = !self.history.rows.is_empty();
            if let Some(row) = self.step()? {
                for h in hooks.iter_mut() {
                    h.on_eval(self, &row)?;
                }
            }
            if trains {
                for h in hooks.iter_mut() {
                    h.on_epoch(self)?;
                }
            }
        }
        self.check_finite()?;
        for h in hooks.iter_mut() {
            h.on_finish(self)?;
        }
        Ok(())
    }

    /// One epoch of the three steps.
    fn train_epoch(&mut self) -> Result<()> {
        let start = Instant::now();
        let n = self.cfg.train.batch_size;
        let dev = self.device;
        tch::manual_seed(epoch_seed(self.cfg.train.seed, self.epoch));
        let phase = self.method.phase(self.epoch, self.cfg.train.critic_iters);
        let mut watch = Watch::default();
        // Step 1: estimate the potential.
        let poison = self.poisoned(GuardStep::Critic);
        for _ in 0..phase.critic_iters {
            let x = self.target.sample(n, dev)?;
            let z = self.source.sample(n, dev)?;
            let y = if phase.critic_on_source { z } else { tch::no_grad(|| self.generator.forward_t(&z, true)) };
            self.opt_d.zero_grad();
            let l = self.critic.loss(&x, &y)?;
            let loss = if poison { l.loss.f_add_scalar(f64::NAN)? } else { l.loss };
            loss.f_backward()?;
            self.opt_d.step()?;
            self.critic.after_step(self.opt_d.params());
            self.last_critic_loss = loss.detach();
            self.last_estimate = l.estimate;
        }
        if phase.critic_iters > 0 {
            watch.push("critic", "critic loss", &self.last_critic_loss)?;
            watch.push("critic", "critic gradient norm", &grad_norm(self.opt_d.params())?)?;
        }
        // Steps 2 and 3: the method's generator step.
        if phase.fit_generator {
            let (poison_generator, poison_potential) =
                (self.poisoned(GuardStep::Generator), self.poisoned(GuardStep::Potential));
            let inputs = StepInputs {
                generator: &self.generator,
                g_vs: &self.g_vs,
                opt: &mut self.opt_g,
                critic: &self.critic,
                source: self.source.as_mut(),
                target: self.target.as_mut(),
                batch_size: n,
                device: dev,
                watch: &mut watch,
                poison_generator,
                poison_potential,
            };
            self.last_generator_loss = self.method.run(inputs)?;
        }
        self.guard.record(self.epoch + 1, watch)?;
        self.epoch += 1;
        self.train_seconds += start.elapsed().as_secs_f64();
        Ok(())
    }

    /// Reads the guard values recorded since the last check and returns
    /// [`Error::Diverged`] for the first that is not finite.
    pub fn check_finite(&mut self) -> Result<()> {
        self.guard.check()
    }

    /// Whether the schedule evaluates after the current epoch.
    fn due_for_eval(&self) -> bool {
        self.epoch == 0 || self.epoch % self.cfg.train.eval_every == 0 || self.epoch == self.cfg.train.epochs
    }

    /// Exact W1 and W2 between `G(z_fixed)` and the fixed target sample,
    /// the extra evaluators' values, and a [`Row`] appended to the history.
    /// Errors if a loss is not finite.
    fn evaluate(&mut self) -> Result<Row> {
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
        let mut row = Row::from_columns([
            self.epoch as f64,
            self.train_seconds,
            scalar(&self.last_critic_loss),
            scalar(&self.last_estimate),
            scalar(&self.last_generator_loss),
            emd::wasserstein(&flat_y, &flat_x, 1)?,
            emd::wasserstein(&flat_y, &flat_x, 2)?,
        ]);
        let trained = [
            ("critic loss", row.critic_loss, self.opt_d.steps() > 0),
            ("generator loss", row.generator_loss, self.opt_g.steps() > 0),
        ];
        for (name, v, updated) in trained {
            if updated && !v.is_finite() {
                return Err(diverged(name, v));
            }
        }
        let mut evaluators = std::mem::take(&mut self.evaluators);
        let values: Result<Vec<Vec<(String, f64)>>> = evaluators.iter_mut().map(|e| e.evaluate(self)).collect();
        self.evaluators = evaluators;
        row.metrics.extend(values?.into_iter().flatten());
        self.history.rows.push(row.clone());
        Ok(row)
    }

    /// Raises (or lowers, not below the epochs trained) the run's length:
    /// the schedule, evaluation and checkpoints continue as if the run had
    /// been configured so. A last evaluation the old length forced at an
    /// epoch off the `eval_every` grid is dropped, so that the history
    /// equals that of a run trained to the new length from the start.
    /// Returns whether such a row was dropped.
    pub fn set_epochs(&mut self, epochs: usize) -> Result<bool> {
        if epochs < self.epoch {
            return Err(Error::config(
                "train.epochs",
                format!("the run has trained {} epochs; it cannot be shortened to {epochs}", self.epoch),
            ));
        }
        let mut cfg = self.cfg.clone();
        cfg.train.epochs = epochs;
        cfg.validate()?;
        self.cfg = cfg;
        let off_grid = |e: usize| e != 0 && e % self.cfg.train.eval_every != 0 && e != epochs;
        let dropped = self.history.rows.last().is_some_and(|r| r.epoch == self.epoch && off_grid(r.epoch));
        if dropped {
            self.history.rows.pop();
        }
        Ok(dropped)
    }

    /// The images of the first `n` fixed source samples as a grid of
    /// `columns` columns (image runs: DCGAN generators, or flat samples of a
    /// square number of pixels, shown as one channel).
    pub fn sample_grid(&self, n: i64, columns: usize) -> Result<crate::plot::ImageGrid> {
        let z = self.fixed_z.narrow(0, 0, self.fixed_z.size()[0].min(n));
        let y = self.generate(&z).f_clamp(-1.0, 1.0)?;
        let y = if y.dim() == 2 {
            let side = (y.size()[1] as f64).sqrt().round() as i64;
            if side * side != y.size()[1] {
                return Err(Error::input(format!("samples of {} values are not square images", y.size()[1])));
            }
            y.f_view([-1, 1, side, side])?
        } else {
            y
        };
        crate::plot::ImageGrid::from_tensor(&y, columns)
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
        Ok(Snapshot {
            epoch: self.epoch,
            source: emd::points2(&self.fixed_z, "source sample")?,
            target: emd::points2(&self.fixed_x, "target sample")?,
            generated: emd::points2(&self.generate(&self.fixed_z), "generated sample")?,
        })
    }
}
