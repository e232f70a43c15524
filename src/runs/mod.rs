//! Runs that survive and compare: run directories with checkpoints
//! ([`checkpoint`]), resumable and extendable training ([`train_dir`],
//! [`extend_dir`]), sweeps over K, seeds and methods ([`sweep`]) and their
//! comparison ([`compare`]).
//!
//! A **run directory** holds:
//!
//! | file | what |
//! | --- | --- |
//! | `config.toml` | the [`RunConfig`] (written first; the truth of the run) |
//! | `run.json` | optional labels for comparisons: method, K, seed ([`RunLabels`]) |
//! | `status.json` | `running`, `finished` or `diverged`, the epoch, the message ([`Status`]) |
//! | `checkpoint.ot` | the last checkpoint ([`crate::train::Trainer::state`]) |
//! | `checkpoint-E.ot` | older checkpoints a [`CheckpointPolicy`] keeps |
//! | `history.csv`, `history.json` | the evaluations so far |
//! | `w1.png`, `w1.svg` | exact W1 against epoch, when finished |
//!
//! [`train_dir`] starts the run, or continues it from `checkpoint.ot`; on CPU
//! with the same seed and thread count, the resumed history equals the
//! uninterrupted one bit for bit (all columns but the wall-clock seconds).
//! [`extend_dir`] raises a run's epochs, finished or not; the extended run
//! equals one configured with the longer length from the start.

pub mod checkpoint;
pub mod compare;
pub mod slurm;
pub mod sweep;

use crate::config::RunConfig;
use crate::error::{Error, Result};
use crate::plot::{Figure, LineChart, Series};
use crate::train::{Evaluator, Hook, Trainer};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use tch::Device;

/// Default checkpoint interval, in epochs.
pub const DEFAULT_CHECKPOINT_EVERY: usize = 50;

/// Where a run stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum State {
    Running,
    Finished,
    Diverged,
}

/// `status.json` of a run directory.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Status {
    pub state: State,
    /// Epochs completed (at divergence: the epoch of the last checkpoint).
    pub epoch: usize,
    pub epochs: usize,
    #[serde(default)]
    pub message: String,
}

impl Status {
    /// Reads `dir/status.json`; `None` when absent.
    pub fn read(dir: &Path) -> Result<Option<Status>> {
        let path = dir.join("status.json");
        if !path.exists() {
            return Ok(None);
        }
        crate::io::read_json(&path, "a run status").map(Some)
    }

    pub(crate) fn write(&self, dir: &Path) -> Result<()> {
        crate::io::write_json(dir.join("status.json"), self)
    }
}

/// `run.json`: how a comparison labels the run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunLabels {
    pub method: String,
    pub k: usize,
    pub seed: u64,
}

impl RunLabels {
    /// `dir/run.json`, or labels derived from `dir/config.toml` (method =
    /// critic and step names, K = the step's K, seed = `train.seed`).
    pub fn read(dir: &Path) -> Result<RunLabels> {
        let path = dir.join("run.json");
        if path.exists() {
            return crate::io::read_json(&path, "run labels");
        }
        let cfg = RunConfig::load(dir.join("config.toml"))?;
        Ok(RunLabels {
            method: format!("{} {}", cfg.critic.name(), cfg.step.name()),
            k: cfg.step.k(),
            seed: cfg.train.seed,
        })
    }

    pub fn write(&self, dir: &Path) -> Result<()> {
        crate::io::write_json(dir.join("run.json"), self)
    }
}

/// What to do when a run diverges.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum OnDivergence {
    /// The run (and a sweep) stops with an error.
    #[default]
    Stop,
    /// The run stops, is marked `diverged`, and its caller (a sweep) goes on.
    Continue,
}

/// When to checkpoint and how many checkpoints to keep, apart from how a
/// checkpoint is written ([`checkpoint`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckpointPolicy {
    /// A checkpoint every this many epochs, and after the last one.
    pub every: usize,
    /// Checkpoints kept: the latest as `checkpoint.ot`, the `keep − 1`
    /// before it as `checkpoint-E.ot`.
    pub keep: usize,
}

impl Default for CheckpointPolicy {
    fn default() -> Self {
        CheckpointPolicy { every: DEFAULT_CHECKPOINT_EVERY, keep: 1 }
    }
}

impl CheckpointPolicy {
    /// Every `every` epochs, keeping the latest.
    pub fn every(every: usize) -> Self {
        CheckpointPolicy { every, keep: 1 }
    }

    pub fn validate(&self) -> Result<()> {
        if self.every == 0 {
            return Err(Error::config("checkpoint_every", "must be ≥ 1, got 0"));
        }
        if self.keep == 0 {
            return Err(Error::config("checkpoint_keep", "must be ≥ 1, got 0"));
        }
        Ok(())
    }

    /// Whether epoch `epoch` of `epochs` gets a checkpoint.
    pub fn due(&self, epoch: usize, epochs: usize) -> bool {
        epoch % self.every == 0 || epoch == epochs
    }

    /// Of the kept epochs (oldest first, the latest included), those to delete.
    pub fn surplus(&self, kept: &[usize]) -> Vec<usize> {
        kept[..kept.len().saturating_sub(self.keep)].to_vec()
    }
}

/// How a [`train_dir`] call ended.
#[derive(Clone, Debug, PartialEq)]
pub enum Outcome {
    /// Trained to the last epoch (now, or before this call: `already`).
    Finished { already: bool },
    /// Stopped by the divergence guard; the message names epoch, step, tensor.
    Diverged { message: String, already: bool },
}

/// Writes `config.toml` (and `run.json`) of a new run directory. Refuses a
/// directory that already holds a run with another config.
pub fn create_dir(dir: &Path, cfg: &RunConfig, labels: Option<&RunLabels>) -> Result<()> {
    cfg.validate()?;
    crate::io::create_dir_all(dir)?;
    let path = dir.join("config.toml");
    if path.exists() {
        let old = RunConfig::load(&path)?;
        if &old != cfg {
            return Err(Error::file(&path, "holds a different config; choose another directory"));
        }
    } else {
        crate::io::write_atomic(&path, cfg.to_toml()?.as_bytes())?;
    }
    if let Some(l) = labels {
        l.write(dir)?;
    }
    Ok(())
}

/// The files of a run directory that a fresh (not resumed) run replaces.
pub const RUN_FILES: &[&str] =
    &["config.toml", "status.json", "checkpoint.ot", "history.csv", "history.json", "snapshots.json", "run.json"];

/// Removes the [`RUN_FILES`] and kept checkpoints of `dir` (a run started
/// again from scratch).
pub fn remove_run_files(dir: &Path) -> Result<()> {
    let kept = checkpoint::kept(dir).into_iter().map(|(_, p)| p);
    for p in RUN_FILES.iter().map(|f| dir.join(f)).chain(kept) {
        if p.exists() {
            std::fs::remove_file(&p).map_err(|e| Error::file(&p, format!("cannot remove: {e}")))?;
        }
    }
    Ok(())
}

/// Whether `dir` holds a run that has started (a status or a checkpoint).
pub fn has_started(dir: &Path) -> bool {
    dir.join("status.json").exists() || dir.join(checkpoint::CHECKPOINT).exists()
}

/// The run of `dir` as a trainer: built from `config.toml` on `device` and
/// restored from `checkpoint.ot` when there is one (a finished run's
/// trained networks; a fresh trainer otherwise).
pub fn load_trainer(dir: &Path, device: Device) -> Result<Trainer> {
    let mut t = Trainer::new(RunConfig::load(dir.join("config.toml"))?, device)?;
    checkpoint::load(&mut t, dir)?;
    Ok(t)
}

/// The [`Hook`] of [`train_dir`]: checkpoints by its policy (with the
/// history and the status), and keeps the status file up to date.
struct RunDirHook {
    dir: PathBuf,
    policy: CheckpointPolicy,
    status: Status,
}

impl RunDirHook {
    fn save(&mut self, t: &mut Trainer) -> Result<()> {
        // The guard is checked before the state is taken.
        let dir = self.dir.as_path();
        checkpoint::save(t, dir, self.policy.keep > 1)?;
        let kept: Vec<usize> = checkpoint::kept(dir).into_iter().map(|(e, _)| e).collect();
        for e in self.policy.surplus(&kept) {
            checkpoint::remove_kept(dir, e)?;
        }
        t.history().save_csv(dir.join("history.csv"))?;
        t.history().save_json(dir.join("history.json"))?;
        self.status.epoch = t.epoch();
        self.status.write(dir)
    }
}

impl Hook for RunDirHook {
    fn on_epoch(&mut self, t: &mut Trainer) -> Result<()> {
        if self.policy.due(t.epoch(), t.config().train.epochs) {
            self.save(t)?;
        }
        // SIGTERM/SIGINT/SIGUSR1: checkpoint and stop (Error::Interrupted).
        crate::interrupt::checkpoint_if_requested(t, &self.dir, &mut self.status)
    }
}

/// Trains the run of `dir/config.toml` on `device`, continuing from
/// `dir/checkpoint.ot` when there is one; checkpoints by `policy` (with the
/// history and the status), writes the W1 plot at the end. `hooks`
/// (progress, snapshots) see the run. A finished or diverged run is left as
/// it is.
///
/// A divergence ([`crate::Error::Diverged`]) marks the run `diverged`
/// (keeping the last good checkpoint) and is returned as
/// [`Outcome::Diverged`]; other errors are returned as errors.
pub fn train_dir(dir: &Path, device: Device, policy: CheckpointPolicy, hooks: &mut [&mut dyn Hook]) -> Result<Outcome> {
    train_dir_with(dir, device, policy, vec![], hooks)
}

/// [`train_dir`] with extra evaluators added to the trainer (their values
/// go into the history).
pub fn train_dir_with(
    dir: &Path,
    device: Device,
    policy: CheckpointPolicy,
    evaluators: Vec<Box<dyn Evaluator>>,
    hooks: &mut [&mut dyn Hook],
) -> Result<Outcome> {
    policy.validate()?;
    let cfg = RunConfig::load(dir.join("config.toml"))?;
    match Status::read(dir)? {
        Some(Status { state: State::Finished, .. }) => return Ok(Outcome::Finished { already: true }),
        Some(Status { state: State::Diverged, message, .. }) => {
            return Ok(Outcome::Diverged { message, already: true })
        }
        _ => {}
    }
    for tmp in crate::io::stale_temporaries(dir) {
        // An interrupted write; the previous file is intact.
        let _ = std::fs::remove_file(tmp);
    }
    let epochs = cfg.train.epochs;
    let mut t = Trainer::new(cfg, device)?;
    checkpoint::load(&mut t, dir)?;
    // After an extension, a last evaluation the old length forced goes.
    t.set_epochs(epochs)?;
    for e in evaluators {
        t.add_boxed_evaluator(e);
    }
    let status = Status { state: State::Running, epoch: t.epoch(), epochs, message: String::new() };
    status.write(dir)?;
    let mut own = RunDirHook { dir: dir.to_path_buf(), policy, status };
    let result = {
        let mut all: Vec<&mut dyn Hook> = vec![&mut own];
        for h in hooks.iter_mut() {
            all.push(&mut **h);
        }
        t.fit(&mut all)
    };
    let mut status = own.status;
    match result {
        Ok(()) => {
            w1_chart(dir, &t)?;
            status.state = State::Finished;
            status.epoch = t.epoch();
            status.write(dir)?;
            Ok(Outcome::Finished { already: false })
        }
        Err(e @ Error::Diverged { .. }) => {
            let message = e.to_string();
            t.history().save_csv(dir.join("history.csv"))?;
            t.history().save_json(dir.join("history.json"))?;
            status.state = State::Diverged;
            status.message = message.clone();
            status.write(dir)?;
            Ok(Outcome::Diverged { message, already: false })
        }
        Err(e) => Err(e),
    }
}

/// Raises the run of `dir` to `epochs` epochs (finished or not): rewrites
/// `config.toml` and marks a finished run running again, so that the next
/// [`train_dir`] continues from its checkpoint. The extended run equals one
/// configured with `epochs` from the start (the random streams depend on
/// the seed and the epoch only; an evaluation the old length forced off the
/// `eval_every` grid is dropped). Refuses fewer epochs than trained and a
/// diverged run.
pub fn extend_dir(dir: &Path, epochs: usize) -> Result<()> {
    let path = dir.join("config.toml");
    let mut cfg = RunConfig::load(&path)?;
    let status = Status::read(dir)?;
    if let Some(s) = &status {
        if s.state == State::Diverged {
            return Err(Error::file(dir, format!("diverged ({}); it cannot be extended", s.message)));
        }
        if epochs < s.epoch {
            return Err(Error::config(
                "train.epochs",
                format!("{} has trained {} epochs; it cannot be shortened to {epochs}", dir.display(), s.epoch),
            ));
        }
    }
    cfg.train.epochs = epochs;
    cfg.validate()?;
    crate::io::write_atomic(&path, cfg.to_toml()?.as_bytes())?;
    if let Some(mut s) = status {
        s.state = State::Running;
        s.epochs = epochs;
        s.write(dir)?;
    }
    Ok(())
}

fn w1_chart(dir: &Path, t: &Trainer) -> Result<()> {
    let (x, y) = t.history().column(|r| r.w1);
    let chart = LineChart::new("exact W1 to the target", "epoch", "exact W1").with(Series::new("W1", x, y));
    chart.save(dir.join("w1.png"))?;
    chart.save(dir.join("w1.svg"))
}
