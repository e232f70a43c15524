//! `wgflow sweep CONFIG --k 1,3,5,10 --seeds 0..5 [--methods …] [--jobs N] [--emit slurm [SLURM OPTIONS]]`.

use clap::ValueEnum;
use std::path::PathBuf;
use wgflow::runs::sweep::{parse_seeds, run_local, slurm_script, LocalOptions, Sweep};
use wgflow::runs::OnDivergence;
use wgflow::train::RunConfig;
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
    let seeds = parse_seeds(&args.seeds)?;
    let mut base = RunConfig::load(&args.config)?;
    if let Some(e) = args.epochs {
        base.train.epochs = e;
    }
    if let Some(d) = &args.device {
        wgflow::device::choose_device(Some(d))?;
    }
    let methods = args.methods.clone().unwrap_or_default();
    let sweep = Sweep::plan(&args.out, &base, &methods, &args.k, &seeds)?;
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
    for (dir, msg) in &report.diverged {
        println!("diverged: {}: {msg}", dir.display());
    }
    println!("compare with `wgflow compare {}`", args.out.display());
    Ok(())
}
