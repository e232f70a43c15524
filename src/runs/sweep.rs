//! Sweeps: a grid of methods × persistency K × seeds, one run directory per
//! point (`OUT/METHOD/kK/seedS`), run as separate `wgflow run --resume DIR`
//! processes — locally with [`run_local`] (`jobs` at a time, one CUDA device
//! per job on a multi-GPU machine), or on a cluster through the Slurm
//! job-array script of [`slurm_script`] (in [`super::slurm`]). Finished runs
//! are skipped; started ones continue from their checkpoint.

use super::{create_dir, OnDivergence, RunLabels, State, Status};
use crate::error::{Error, Result};
use crate::experiments::methods::preset;
use crate::train::RunConfig;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

pub use super::slurm::{slurm_script, SlurmOptions};

/// One point of the grid.
#[derive(Clone, Debug, PartialEq)]
pub struct PlannedRun {
    pub dir: PathBuf,
    pub cfg: RunConfig,
    pub labels: RunLabels,
}

/// The grid of a sweep.
#[derive(Clone, Debug)]
pub struct Sweep {
    pub out: PathBuf,
    pub runs: Vec<PlannedRun>,
}

/// Parses `A..B` (B exclusive), `A..=B`, or a comma-separated list of seeds.
pub fn parse_seeds(s: &str) -> Result<Vec<u64>> {
    let bad = |msg: String| Error::config("--seeds", msg);
    let num = |t: &str| {
        t.trim().parse::<u64>().map_err(|_| bad(format!("`{t}` is not a seed (expected e.g. 0..5 or 0,1,2)")))
    };
    let seeds: Vec<u64> = if let Some((a, b)) = s.split_once("..=") {
        (num(a)?..=num(b)?).collect()
    } else if let Some((a, b)) = s.split_once("..") {
        (num(a)?..num(b)?).collect()
    } else {
        s.split(',').map(num).collect::<Result<_>>()?
    };
    if seeds.is_empty() {
        return Err(bad(format!("`{s}` gives no seeds")));
    }
    let mut sorted = seeds.clone();
    sorted.sort_unstable();
    sorted.dedup();
    if sorted.len() != seeds.len() {
        return Err(bad("seeds must be distinct".into()));
    }
    Ok(seeds)
}

impl Sweep {
    /// The grid `methods × ks × seeds` over `base` (`methods` empty: the base
    /// config's own method, named after its critic and step).
    pub fn plan(out: &Path, base: &RunConfig, methods: &[String], ks: &[usize], seeds: &[u64]) -> Result<Sweep> {
        if ks.is_empty() || ks.contains(&0) {
            return Err(Error::config("--k", "give persistency levels ≥ 1"));
        }
        let mut distinct = ks.to_vec();
        distinct.sort_unstable();
        distinct.dedup();
        if distinct.len() != ks.len() {
            return Err(Error::config("--k", "persistency levels must be distinct"));
        }
        let named: Vec<(String, RunConfig)> = if methods.is_empty() {
            vec![(format!("{}-{}", base.critic.name(), base.step.name()), base.clone())]
        } else {
            methods
                .iter()
                .map(|m| {
                    let cfg = preset(m, base).map_err(|e| match e {
                        Error::Config { field, msg } if field == "method" => Error::config("--methods", msg),
                        e => e,
                    })?;
                    Ok((m.clone(), cfg))
                })
                .collect::<Result<_>>()?
        };
        let mut runs = Vec::new();
        for (method, cfg) in &named {
            for &k in ks {
                for &seed in seeds {
                    let mut c = cfg.clone();
                    c.step = c.step.with_k(k);
                    c.train.seed = seed;
                    c.validate()?;
                    runs.push(PlannedRun {
                        dir: out.join(method).join(format!("k{k}")).join(format!("seed{seed}")),
                        cfg: c,
                        labels: RunLabels { method: method.clone(), k, seed },
                    });
                }
            }
        }
        Ok(Sweep { out: out.to_path_buf(), runs })
    }

    /// Creates every run directory (`config.toml`, `run.json`); refuses a
    /// directory that holds a different config.
    pub fn prepare(&self) -> Result<()> {
        for r in &self.runs {
            create_dir(&r.dir, &r.cfg, Some(&r.labels))?;
        }
        Ok(())
    }
}

/// How [`run_local`] runs the grid.
#[derive(Clone, Debug)]
pub struct LocalOptions {
    /// The `wgflow` binary to run (`std::env::current_exe()` from the CLI).
    pub exe: PathBuf,
    /// Runs at a time.
    pub jobs: usize,
    /// A device for every run (`--device`); `None`: one CUDA device per job
    /// slot when libtorch sees GPUs, else the children's default.
    pub device: Option<String>,
    pub checkpoint_every: usize,
    pub on_divergence: OnDivergence,
}

/// What a sweep did.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SweepReport {
    /// Already finished before this sweep (skipped).
    pub skipped: Vec<PathBuf>,
    /// Finished by this sweep.
    pub finished: Vec<PathBuf>,
    /// Stopped by the divergence guard, with the message.
    pub diverged: Vec<(PathBuf, String)>,
    /// Not run because an earlier run diverged (`--on-divergence stop`).
    pub not_started: Vec<PathBuf>,
}

/// Runs the grid as `wgflow run --resume DIR` child processes, `jobs` at a
/// time; each child's output goes to `DIR/log.txt`. A child that fails (not
/// a divergence) is an error naming its directory and log.
pub fn run_local(sweep: &Sweep, opts: &LocalOptions, mut progress: impl FnMut(&str)) -> Result<SweepReport> {
    if opts.jobs == 0 {
        return Err(Error::config("--jobs", "must be ≥ 1, got 0"));
    }
    sweep.prepare()?;
    let mut report = SweepReport::default();
    let mut queue: std::collections::VecDeque<&PlannedRun> = Default::default();
    for r in &sweep.runs {
        match Status::read(&r.dir)? {
            Some(Status { state: State::Finished, .. }) => report.skipped.push(r.dir.clone()),
            Some(Status { state: State::Diverged, message, .. }) => report.diverged.push((r.dir.clone(), message)),
            _ => queue.push_back(r),
        }
    }
    let gpus = if opts.device.is_none() { tch::Cuda::device_count().max(0) as usize } else { 0 };
    let mut slots: Vec<Option<(Child, &PlannedRun)>> = (0..opts.jobs).map(|_| None).collect();
    let mut failures = Vec::new();
    let mut stop = false;
    loop {
        for (i, slot) in slots.iter_mut().enumerate() {
            if slot.is_some() || stop {
                continue;
            }
            let Some(r) = queue.pop_front() else { break };
            let log = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(r.dir.join("log.txt"))
                .map_err(|e| Error::file(r.dir.join("log.txt"), format!("cannot open: {e}")))?;
            let log2 = log.try_clone().map_err(|e| Error::file(r.dir.join("log.txt"), e))?;
            let mut cmd = Command::new(&opts.exe);
            cmd.arg("run")
                .arg("--resume")
                .arg(&r.dir)
                .arg("--quiet")
                .args(["--on-divergence", "continue"])
                .args(["--checkpoint-every", &opts.checkpoint_every.to_string()])
                .stdin(Stdio::null())
                .stdout(log)
                .stderr(log2);
            if let Some(d) = &opts.device {
                cmd.args(["--device", d]);
            } else if gpus > 0 {
                cmd.env("WGFLOW_DEVICE", format!("cuda:{}", i % gpus));
            }
            let child = cmd.spawn().map_err(|e| Error::file(&opts.exe, format!("cannot start: {e}")))?;
            progress(&format!("started {}", r.dir.display()));
            *slot = Some((child, r));
        }
        if slots.iter().all(|s| s.is_none()) {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
        for slot in slots.iter_mut() {
            let Some((child, r)) = slot else { continue };
            let Some(code) = child.try_wait().map_err(|e| Error::input(format!("waiting for a run: {e}")))? else {
                continue;
            };
            let status = Status::read(&r.dir)?;
            match status {
                Some(Status { state: State::Finished, .. }) if code.success() => {
                    progress(&format!("finished {}", r.dir.display()));
                    report.finished.push(r.dir.clone());
                }
                Some(Status { state: State::Diverged, message, .. }) => {
                    progress(&format!("diverged {}: {message}", r.dir.display()));
                    report.diverged.push((r.dir.clone(), message));
                    if opts.on_divergence == OnDivergence::Stop {
                        stop = true;
                    }
                }
                _ => {
                    failures.push(format!("{} ({code}; see {})", r.dir.display(), r.dir.join("log.txt").display()));
                }
            }
            *slot = None;
        }
    }
    report.not_started = queue.into_iter().map(|r| r.dir.clone()).collect();
    if !failures.is_empty() {
        return Err(Error::input(format!("{} run(s) failed: {}", failures.len(), failures.join(", "))));
    }
    if stop {
        let (dir, msg) = report.diverged.last().cloned().unwrap_or_default();
        return Err(Error::input(format!(
            "sweep stopped: {} diverged ({msg}); {} run(s) not started (use --on-divergence continue to go on)",
            dir.display(),
            report.not_started.len()
        )));
    }
    Ok(report)
}
