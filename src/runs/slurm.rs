//! The Slurm job-array script of a sweep (`wgflow sweep --emit slurm`).
//!
//! One array task per run directory; task `i` runs
//! `wgflow run --resume <i-th directory>`, so a resubmitted or requeued task
//! continues from its checkpoint and a finished one exits at once.
//!
//! **Resources.** [`SlurmOptions::gpus`] = 0 (the default) runs on a CPU
//! partition: `--device cpu`, no GPU resource requested; 1 asks for
//! `--gres=RESOURCE:1` (the site's resource name, `gpu` or e.g. `gpu:a100`)
//! and runs on `cuda:0`, the GPU Slurm gives the task. The CPUs per task are
//! also libtorch's threads (`OMP_NUM_THREADS`). Partition, time limit,
//! account and any other `#SBATCH` line are options.
//!
//! **Before the time limit.** The script asks Slurm for `SIGUSR1` a few
//! minutes before the limit (`--signal=B:USR1@SECONDS`, sent to the batch
//! shell), forwards it to `wgflow`, which finishes its epoch, writes a
//! checkpoint and exits with [`crate::interrupt::EXIT_INTERRUPTED`] (75); on
//! that status after that signal the script runs
//! `scontrol requeue $SLURM_JOB_ID` and Slurm starts the task again, which
//! resumes the run. A `scancel` (SIGTERM to every process of the task) also
//! leaves a checkpoint of the last epoch, but is not requeued: resubmitting
//! the script continues the cancelled runs and skips the finished ones.

use super::sweep::Sweep;
use crate::error::{Error, Result};
use std::path::{Path, PathBuf};

/// Default seconds between the pre-timeout signal and the time limit.
pub const DEFAULT_SIGNAL_BEFORE: u32 = 120;

/// Slurm's largest `--signal` time (a 16-bit field).
const MAX_SIGNAL_BEFORE: u32 = 65535;

/// Options of the Slurm script. [`SlurmOptions::new`] gives the defaults,
/// which run on a plain CPU partition.
#[derive(Clone, Debug, PartialEq)]
pub struct SlurmOptions {
    /// The `wgflow` binary the cluster nodes run.
    pub exe: PathBuf,
    pub checkpoint_every: usize,
    pub job_name: String,
    /// GPUs per array task: 0 (CPU; no GPU resource requested) or 1 (the
    /// run's device is `cuda:0`). A run uses one device.
    pub gpus: u32,
    /// The generic resource holding the GPUs: `gpu`, or with a type, `gpu:a100`.
    pub gpu_resource: String,
    pub partition: Option<String>,
    /// Time limit per task, in one of Slurm's formats (`MM`, `MM:SS`,
    /// `HH:MM:SS`, `D-HH`, `D-HH:MM`, `D-HH:MM:SS`).
    pub time: Option<String>,
    pub account: Option<String>,
    /// CPUs per task, also libtorch's threads in the task.
    pub cpus_per_task: u32,
    /// More `#SBATCH` lines (`--mem=8G` or `#SBATCH --mem=8G`).
    pub extra: Vec<String>,
    /// Seconds before the time limit at which Slurm sends `SIGUSR1` (wgflow
    /// checkpoints and stops); 0: no signal.
    pub signal_before: u32,
    /// Requeue a task stopped by the pre-timeout signal (`--requeue` and
    /// `scontrol requeue`); without, it stops and a resubmission continues it.
    pub requeue: bool,
}

impl SlurmOptions {
    /// The defaults: CPU, 1 CPU per task, the partition's time limit, a
    /// signal 120 s before it, requeue.
    pub fn new(exe: impl Into<PathBuf>) -> Self {
        SlurmOptions {
            exe: exe.into(),
            checkpoint_every: super::DEFAULT_CHECKPOINT_EVERY,
            job_name: "wgflow-sweep".into(),
            gpus: 0,
            gpu_resource: "gpu".into(),
            partition: None,
            time: None,
            account: None,
            cpus_per_task: 1,
            extra: Vec::new(),
            signal_before: DEFAULT_SIGNAL_BEFORE,
            requeue: true,
        }
    }

    /// Checks every option; errors name the field (the CLI maps them to its flags).
    pub fn validate(&self) -> Result<()> {
        if self.checkpoint_every == 0 {
            return Err(Error::config("checkpoint_every", "must be ≥ 1, got 0"));
        }
        if self.gpus > 1 {
            return Err(Error::config(
                "gpus",
                format!("a run uses one device: give 0 (CPU) or 1, got {} (more runs: more array tasks)", self.gpus),
            ));
        }
        let word = |field: &str, v: &str| -> Result<()> {
            let ok = !v.is_empty()
                && v.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ':' | ',' | '+'));
            if ok {
                Ok(())
            } else {
                Err(Error::config(field, format!("`{v}` is not a Slurm name (letters, digits, - _ . : , +)")))
            }
        };
        word("job_name", &self.job_name)?;
        word("gpu_resource", &self.gpu_resource)?;
        if self.gpu_resource.split(':').count() > 2 {
            return Err(Error::config(
                "gpu_resource",
                format!("expected NAME or NAME:TYPE (e.g. gpu or gpu:a100), got `{}`", self.gpu_resource),
            ));
        }
        if let Some(p) = &self.partition {
            word("partition", p)?;
        }
        if let Some(a) = &self.account {
            word("account", a)?;
        }
        if self.cpus_per_task == 0 {
            return Err(Error::config("cpus_per_task", "must be ≥ 1, got 0"));
        }
        if self.signal_before > MAX_SIGNAL_BEFORE {
            return Err(Error::config(
                "signal_before",
                format!(
                    "Slurm sends the signal at most {MAX_SIGNAL_BEFORE} s before the limit, got {}",
                    self.signal_before
                ),
            ));
        }
        if let Some(t) = &self.time {
            if let Some(limit) = parse_time_limit(t)? {
                if self.signal_before > 0 && u64::from(self.signal_before) >= limit {
                    return Err(Error::config(
                        "signal_before",
                        format!(
                            "the signal {} s before the limit would come at the start of a {limit} s task (time `{t}`)",
                            self.signal_before
                        ),
                    ));
                }
            }
        }
        for line in &self.extra {
            sbatch_line(line)?;
        }
        Ok(())
    }
}

/// Seconds of a Slurm time limit: `MM`, `MM:SS`, `HH:MM:SS`, `D-HH`,
/// `D-HH:MM`, `D-HH:MM:SS`; `None` for no limit (`0`, `UNLIMITED`, `INFINITE`).
pub fn parse_time_limit(s: &str) -> Result<Option<u64>> {
    let bad = || {
        Error::config(
            "time",
            format!("`{s}` is not a Slurm time limit (MM, MM:SS, HH:MM:SS, D-HH, D-HH:MM or D-HH:MM:SS)"),
        )
    };
    let t = s.trim();
    if t.eq_ignore_ascii_case("unlimited") || t.eq_ignore_ascii_case("infinite") {
        return Ok(None);
    }
    let num = |x: &str| -> Result<u64> {
        if x.is_empty() || !x.chars().all(|c| c.is_ascii_digit()) {
            return Err(bad());
        }
        x.parse::<u64>().map_err(|_| bad())
    };
    let (days, rest) = match t.split_once('-') {
        Some((d, r)) => (Some(num(d)?), r),
        None => (None, t),
    };
    let parts: Vec<u64> = rest.split(':').map(num).collect::<Result<_>>()?;
    let secs = match (days, parts.as_slice()) {
        (None, [m]) => m * 60,
        (None, [m, s]) => m * 60 + s,
        (None, [h, m, s]) => h * 3600 + m * 60 + s,
        (Some(d), [h]) => d * 86400 + h * 3600,
        (Some(d), [h, m]) => d * 86400 + h * 3600 + m * 60,
        (Some(d), [h, m, s]) => d * 86400 + h * 3600 + m * 60 + s,
        _ => return Err(bad()),
    };
    // Slurm: "a time limit of zero requests that no time limit be imposed".
    Ok((secs > 0).then_some(secs))
}

/// An extra `#SBATCH` line from `--mem=8G` or `#SBATCH --mem=8G`.
fn sbatch_line(line: &str) -> Result<String> {
    let l = line.trim();
    let l = l.strip_prefix("#SBATCH").map(str::trim_start).unwrap_or(l);
    if !l.starts_with('-') || l.contains('\n') || l.contains('\r') {
        return Err(Error::config("extra", format!("expected an sbatch option such as --mem=8G, got `{line}`")));
    }
    Ok(format!("#SBATCH {l}"))
}

/// The job-array script running the grid (see the module's documentation).
/// Directory paths are made absolute.
pub fn slurm_script(sweep: &Sweep, opts: &SlurmOptions) -> Result<String> {
    opts.validate()?;
    if sweep.runs.is_empty() {
        return Err(Error::input("the sweep has no runs"));
    }
    let abs = |p: &Path| -> Result<PathBuf> {
        std::path::absolute(p).map_err(|e| Error::file(p, format!("cannot make the path absolute: {e}")))
    };
    let out = abs(&sweep.out)?;
    let quote = |p: &Path| format!("'{}'", p.display().to_string().replace('\'', r"'\''"));
    let n = sweep.runs.len();
    let exit = crate::interrupt::EXIT_INTERRUPTED;
    let device = if opts.gpus == 0 { "cpu" } else { "cuda:0" };
    let mut s = String::new();
    let mut line = |l: String| {
        s.push_str(&l);
        s.push('\n');
    };
    line("#!/bin/bash".into());
    line(format!("# wgflow sweep: {n} runs, one Slurm array task each (written by `wgflow sweep --emit slurm`)."));
    line(format!("# Submit with `sbatch {}`.", out.join("sweep.slurm").display()));
    line("# Every task resumes its run directory: resubmitting the script continues unfinished runs".into());
    line("# and skips finished ones.".into());
    line(format!("#SBATCH --job-name={}", opts.job_name));
    line(format!("#SBATCH --array=0-{}", n - 1));
    line("#SBATCH --ntasks=1".into());
    line(format!("#SBATCH --cpus-per-task={}", opts.cpus_per_task));
    if opts.gpus > 0 {
        line(format!("#SBATCH --gres={}:{}", opts.gpu_resource, opts.gpus));
    }
    if let Some(p) = &opts.partition {
        line(format!("#SBATCH --partition={p}"));
    }
    if let Some(t) = &opts.time {
        line(format!("#SBATCH --time={}", t.trim()));
    }
    if let Some(a) = &opts.account {
        line(format!("#SBATCH --account={a}"));
    }
    if opts.signal_before > 0 {
        line(format!("#SBATCH --signal=B:USR1@{}", opts.signal_before));
    }
    line(if opts.requeue { "#SBATCH --requeue" } else { "#SBATCH --no-requeue" }.into());
    line("#SBATCH --open-mode=append".into());
    line(format!("#SBATCH --output={}", out.join("slurm-%A_%a.out").display()));
    for l in &opts.extra {
        line(sbatch_line(l)?);
    }
    line("set -uo pipefail".into());
    line(format!("WGFLOW=${{WGFLOW:-{}}}", quote(&opts.exe)));
    line("RUNS=(".into());
    for r in &sweep.runs {
        line(format!("  {}", quote(&abs(&r.dir)?)));
    }
    line(")".into());
    line("DIR=\"${RUNS[$SLURM_ARRAY_TASK_ID]}\"".into());
    line(format!(
        "# libtorch's threads: the task's CPUs. Device {device}{}.",
        if opts.gpus > 0 {
            " (Slurm sets CUDA_VISIBLE_DEVICES to the task's GPU, which libtorch sees as cuda:0)"
        } else {
            ""
        }
    ));
    line(format!("export OMP_NUM_THREADS={0} MKL_NUM_THREADS={0}", opts.cpus_per_task));
    line(
        "echo \"wgflow: task $SLURM_ARRAY_TASK_ID, job $SLURM_JOB_ID, restart ${SLURM_RESTART_COUNT:-0}, \
         on $(hostname): $DIR\""
            .into(),
    );
    line(
        "[ -f \"$DIR/status.json\" ] && echo \"wgflow: status before: $(sed 's/^ *//' \"$DIR/status.json\" | tr -d '\\n')\""
            .into(),
    );
    line("# SIGUSR1 (before the time limit) and SIGTERM (scancel) go on to wgflow, which finishes its".into());
    line(format!("# epoch, writes a checkpoint and exits {exit}."));
    line("child=; signal=; pending=".into());
    line("trap 'signal=USR1; pending=1; [ -n \"$child\" ] && kill -USR1 \"$child\" 2>/dev/null' USR1".into());
    line("trap 'signal=TERM; pending=1; [ -n \"$child\" ] && kill -TERM \"$child\" 2>/dev/null' TERM INT".into());
    line(format!(
        "\"$WGFLOW\" run --resume \"$DIR\" --device {device} --quiet --on-divergence continue --checkpoint-every {} &",
        opts.checkpoint_every
    ));
    line("child=$!".into());
    line("[ -n \"$signal\" ] && kill -\"$signal\" \"$child\" 2>/dev/null".into());
    line("while :; do".into());
    line("  wait \"$child\"; status=$?".into());
    line("  # A trap interrupted the wait (status > 128): wait again for wgflow's own status.".into());
    line("  if [ \"$status\" -gt 128 ] && [ -n \"$pending\" ]; then pending=; continue; fi".into());
    line("  break".into());
    line("done".into());
    line("echo \"wgflow: exit status $status${signal:+ after SIG$signal}\"".into());
    if opts.requeue {
        line("# Requeue after the pre-timeout signal: on wgflow's checkpoint status, or when the signal came".into());
        line("# before wgflow could handle it (killed by SIGUSR1: its last checkpoint stands).".into());
        line(format!(
            "if [ \"$signal\" = USR1 ] && {{ [ \"$status\" -eq {exit} ] || [ \"$status\" -eq $((128 + $(kill -l USR1))) ]; }}; then"
        ));
        line("  echo \"wgflow: checkpoint written before the time limit: requeueing job $SLURM_JOB_ID\"".into());
        line("  scontrol requeue \"$SLURM_JOB_ID\" && exit 0".into());
        line("fi".into());
    }
    line("exit \"$status\"".into());
    Ok(s)
}
