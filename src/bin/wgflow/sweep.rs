//! `wgflow sweep CONFIG --k 1,3,5,10 --seeds 0..5 [--methods …] [--jobs N] [--emit slurm [SLURM OPTIONS]]`.

use clap::ValueEnum;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use wgflow::config::RunConfig;
use wgflow::runs::sweep::{parse_seeds, slurm_script, PlannedRun, Sweep};
use wgflow::runs::{OnDivergence, State, Status};
use wgflow::Error;

#[derive(Clone, Copy, Debug, ValueEnum)]
enum Emit {
    /// A Slurm job-array script (OUT/sweep.slurm), one array task per run.
    Slurm,
}

#[derive(clap::Args, Debug)]
pub struct SweepArgs {
    /// Base run config (TOML, as `wgflow run --config` takes).
    config: PathBuf,
    /// Persistency levels (or ℓ), comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "1", allow_negative_numbers = true)]
    k: Vec<usize>,
    /// Seeds: A..B (B excluded), A..=B or a comma-separated list.
    #[arg(long, default_value = "0")]
    seeds: String,
    /// Method presets, comma-separated (default: the config's own method).
    #[arg(long, value_delimiter = ',')]
    methods: Option<Vec<String>>,
    /// Runs at a time (one CUDA device per job on a multi-GPU machine).
    #[arg(long, default_value_t = 1)]
    jobs: usize,
    /// Epochs per run (overrides the config's train.epochs).
    #[arg(long, allow_negative_numbers = true)]
    epochs: Option<usize>,
    /// Output directory: one run directory per point, OUT/METHOD/kK/seedS.
    #[arg(long, default_value = "runs/sweep")]
    out: PathBuf,
    /// Device of every run (default: one CUDA device per job when there are GPUs, else the CPU).
    #[arg(long)]
    device: Option<String>,
    /// A checkpoint every N epochs in every run.
    #[arg(long, value_name = "N", default_value_t = wgflow::runs::DEFAULT_CHECKPOINT_EVERY)]
    checkpoint_every: usize,
    /// After a run diverges: stop the sweep (running runs finish), or continue with the others.
    #[arg(long, value_enum, default_value = "stop")]
    on_divergence: super::run::DivergenceArg,
    /// Instead of running, write a scheduler script for the grid.
    #[arg(long, value_enum)]
    emit: Option<Emit>,
    /// No progress output.
    #[arg(long)]
    quiet: bool,
    #[command(flatten)]
    slurm: super::slurm_args::SlurmArgs,
}

pub fn run(args: SweepArgs) -> wgflow::Result<()> {
    if args.checkpoint_every == 0 {
        return Err(Error::config("--checkpoint-every", "must be ≥ 1, got 0"));
    }
    if args.jobs == 0 {
        return Err(Error::config("--jobs", "must be ≥ 1, got 0"));
    }
    if let Some(0) = args.epochs {
        return Err(Error::config("--epochs", "must be ≥ 1, got 0"));
    }
    let seeds = parse_seeds(&args.seeds).map_err(super::run::flags(&[]))?;
    let mut base = RunConfig::load(&args.config)?;
    if let Some(e) = args.epochs {
        base.train.epochs = e;
    }
    if let Some(d) = &args.device {
        wgflow::device::choose_device(Some(d))?;
    }
    let methods = args.methods.clone().unwrap_or_default();
    let sweep = Sweep::plan(&args.out, &base, &methods, &args.k, &seeds).map_err(super::run::flags(&[]))?;
    let exe = std::env::current_exe().map_err(|e| Error::input(format!("cannot find the wgflow binary: {e}")))?;
    if let Some(Emit::Slurm) = args.emit {
        if args.device.is_some() {
            return Err(Error::config(
                "--device",
                "with --emit slurm the device follows --gpus-per-task (0: cpu, 1: cuda:0)",
            ));
        }
        let opts = args.slurm.options(exe, args.checkpoint_every)?;
        sweep.prepare()?;
        let script = slurm_script(&sweep, &opts)?;
        let path = args.out.join("sweep.slurm");
        wgflow::io::write_atomic(&path, script.as_bytes())?;
        println!(
            "wrote {} ({} array tasks): submit with `sbatch {}`",
            path.display(),
            sweep.runs.len(),
            path.display()
        );
        return Ok(());
    }
    let quiet = args.quiet;
    let opts = LocalOptions {
        exe,
        jobs: args.jobs,
        device: args.device.clone(),
        checkpoint_every: args.checkpoint_every,
        on_divergence: OnDivergence::from(args.on_divergence),
    };
    let report = run_local(&sweep, &opts, |msg| {
        if !quiet {
            eprintln!("{msg}");
        }
    })?;
    println!(
        "{} runs: {} finished now, {} already finished (skipped), {} diverged",
        sweep.runs.len(),
        report.finished.len(),
        report.skipped.len(),
        report.diverged.len()
    );
    if !report.stopped.is_empty() {
        println!(
            "{} run(s) stopped by a signal with a checkpoint: run the same sweep again to continue them",
            report.stopped.len()
        );
    }
    for (dir, msg) in &report.diverged {
        println!("diverged: {}: {msg}", dir.display());
    }
    println!("compare with `wgflow compare {}`", args.out.display());
    Ok(())
}

/// How [`run_local`] runs the grid.
#[derive(Clone, Debug)]
struct LocalOptions {
    /// The `wgflow` binary to run (`std::env::current_exe()` from the CLI).
    exe: PathBuf,
    /// Runs at a time.
    jobs: usize,
    /// A device for every run (`--device`); `None`: one CUDA device per job
    /// slot when libtorch sees GPUs, else the children's default.
    device: Option<String>,
    checkpoint_every: usize,
    on_divergence: OnDivergence,
}

/// What a sweep did.
#[derive(Clone, Debug, Default, PartialEq)]
struct SweepReport {
    /// Already finished before this sweep (skipped).
    skipped: Vec<PathBuf>,
    /// Finished by this sweep.
    finished: Vec<PathBuf>,
    /// Stopped by the divergence guard, with the message.
    diverged: Vec<(PathBuf, String)>,
    /// Not run because an earlier run diverged (`--on-divergence stop`).
    not_started: Vec<PathBuf>,
    /// Stopped by a signal with a checkpoint (exit 75): the next sweep continues them.
    stopped: Vec<PathBuf>,
}

/// Runs the grid as `wgflow run --resume DIR` child processes, `jobs` at a
/// time; each child's output goes to `DIR/log.txt`. A child that fails (not
/// a divergence) is an error naming its directory and log.
fn run_local(sweep: &Sweep, opts: &LocalOptions, mut progress: impl FnMut(&str)) -> wgflow::Result<SweepReport> {
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
                _ if code.code() == Some(wgflow::interrupt::EXIT_INTERRUPTED.into()) => {
                    progress(&format!("stopped {} with a checkpoint", r.dir.display()));
                    report.stopped.push(r.dir.clone());
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
