//! Runs that survive and compare: run directories with checkpoints
//! ([`checkpoint`]), resumable training ([`train_dir`]), sweeps over K, seeds
//! and methods ([`sweep`]) and their comparison ([`compare`]).
//!
//! A **run directory** holds:
//!
//! | file | what |
//! | --- | --- |
//! | `config.toml` | the [`RunConfig`] (written first; the truth of the run) |
//! | `run.json` | optional labels for comparisons: method, K, seed ([`RunLabels`]) |
//! | `status.json` | `running`, `finished` or `diverged`, the epoch, the message ([`Status`]) |
//! | `checkpoint.ot` | the last checkpoint ([`crate::train::Trainer::state`]) |
//! | `history.csv`, `history.json` | the evaluations so far |
//! | `w1.png`, `w1.svg` | exact W1 against epoch, when finished |
//!
//! [`train_dir`] starts the run, or continues it from `checkpoint.ot`; on CPU
//! with the same seed and thread count, the resumed history equals the
//! uninterrupted one bit for bit (all columns but the wall-clock seconds).

pub mod checkpoint;
pub mod compare;
pub mod slurm;
pub mod sweep;

use crate::error::{Error, Result};
use crate::plot::{Figure, LineChart, Series};
use crate::train::{Row, RunConfig, Trainer};
use serde::{Deserialize, Serialize};
use std::path::Path;
use tch::Device;

/// Default `--checkpoint-every`, in epochs.
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
        let text = crate::io::read_to_string(&path)?;
        serde_json::from_str(&text).map(Some).map_err(|e| Error::file(&path, format!("invalid status: {e}")))
    }

    pub(crate) fn write(&self, dir: &Path) -> Result<()> {
        let s = serde_json::to_string_pretty(self).map_err(|e| Error::input(e.to_string()))?;
        crate::io::write_atomic(dir.join("status.json"), s.as_bytes())
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
            let text = crate::io::read_to_string(&path)?;
            return serde_json::from_str(&text).map_err(|e| Error::file(&path, format!("invalid run labels: {e}")));
        }
        let cfg = RunConfig::load(dir.join("config.toml"))?;
        Ok(RunLabels {
            method: format!("{} {}", cfg.critic.name(), cfg.step.name()),
            k: cfg.step.k(),
            seed: cfg.train.seed,
        })
    }

    pub fn write(&self, dir: &Path) -> Result<()> {
        let s = serde_json::to_string_pretty(self).map_err(|e| Error::input(e.to_string()))?;
        crate::io::write_atomic(dir.join("run.json"), s.as_bytes())
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

/// How [`train_dir`] checkpoints.
#[derive(Clone, Copy, Debug)]
pub struct RunOptions {
    /// A checkpoint every this many epochs (and after the last one).
    pub checkpoint_every: usize,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions { checkpoint_every: DEFAULT_CHECKPOINT_EVERY }
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

/// Removes the [`RUN_FILES`] of `dir` (an experiment started again from scratch).
pub fn remove_run_files(dir: &Path) -> Result<()> {
    for f in RUN_FILES {
        let p = dir.join(f);
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

/// Trains the run of `dir/config.toml` on `device`, continuing from
/// `dir/checkpoint.ot` when there is one; checkpoints every
/// `opts.checkpoint_every` epochs and after the last, writes the history at
/// every checkpoint and the W1 plot at the end. A finished or diverged run
/// is left as it is. `progress` sees every evaluation.
///
/// A divergence ([`Error::Diverged`]) marks the run `diverged` (keeping the
/// last good checkpoint) and is returned as [`Outcome::Diverged`]; other
/// errors are returned as errors.
pub fn train_dir(
    dir: &Path,
    device: Device,
    opts: RunOptions,
    mut progress: impl FnMut(&Trainer, &Row),
) -> Result<Outcome> {
    if opts.checkpoint_every == 0 {
        return Err(Error::config("checkpoint_every", "must be ≥ 1, got 0"));
    }
    let cfg = RunConfig::load(dir.join("config.toml"))?;
    match Status::read(dir)? {
        Some(Status { state: State::Finished, .. }) => return Ok(Outcome::Finished { already: true }),
        Some(Status { state: State::Diverged, message, .. }) => {
            return Ok(Outcome::Diverged { message, already: true })
        }
        _ => {}
    }
    for tmp in checkpoint::stale_temporaries(dir) {
        // An interrupted write; the previous checkpoint is intact.
        let _ = std::fs::remove_file(tmp);
    }
    let epochs = cfg.train.epochs;
    let mut t = Trainer::new(cfg, device)?;
    checkpoint::load(&mut t, dir)?;
    let mut status = Status { state: State::Running, epoch: t.epoch(), epochs, message: String::new() };
    status.write(dir)?;
    let result = (|| -> Result<()> {
        if t.history().rows.is_empty() {
            let row = t.evaluate()?;
            progress(&t, &row);
        }
        while t.epoch() < epochs {
            t.train_epoch()?;
            if t.device() == Device::Cpu {
                t.check_finite()?;
            }
            if t.due_for_eval() {
                let row = t.evaluate()?;
                progress(&t, &row);
            }
            if t.epoch() % opts.checkpoint_every == 0 || t.epoch() == epochs {
                // The guard is checked before the state is taken.
                checkpoint::save(&mut t, dir)?;
                t.history().save_csv(dir.join("history.csv"))?;
                t.history().save_json(dir.join("history.json"))?;
                status.epoch = t.epoch();
                status.write(dir)?;
            }
            // SIGTERM/SIGINT/SIGUSR1: checkpoint and stop (Error::Interrupted).
            crate::interrupt::checkpoint_if_requested(&mut t, dir, &mut status)?;
        }
        Ok(())
    })();
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

fn w1_chart(dir: &Path, t: &Trainer) -> Result<()> {
    let h = t.history();
    let (x, y) = h.column(|r| r.w1);
    let chart = LineChart::new("exact W1 to the target", "epoch", "exact W1").with(Series::new("W1", x, y));
    chart.save(dir.join("w1.png"))?;
    chart.save(dir.join("w1.svg"))
}
