//! `wgflow run EXPERIMENT …`: the papers' experiments (one subcommand each);
//! `wgflow run --config run.toml --out DIR`: one run in a resumable run
//! directory; `wgflow run --resume DIR [--epochs N]`: continue (or extend)
//! a run or an experiment from its last checkpoints.

mod experiments;

use clap::ValueEnum;
use std::path::{Path, PathBuf};
use wgflow::config::RunConfig;
use wgflow::experiments::{DriverOptions, Experiment, ProgressMode, Report};
use wgflow::progress::Progress;
use wgflow::runs::{CheckpointPolicy, OnDivergence, Outcome, RunLabels};
use wgflow::Error;

pub use experiments::ExperimentCmd;

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum DivergenceArg {
    /// Exit with an error (code 1).
    Stop,
    /// Mark the run diverged and exit 0, so that a sweep goes on.
    Continue,
}

impl From<DivergenceArg> for OnDivergence {
    fn from(d: DivergenceArg) -> Self {
        match d {
            DivergenceArg::Stop => OnDivergence::Stop,
            DivergenceArg::Continue => OnDivergence::Continue,
        }
    }
}

/// How a run trains, for every subcommand.
#[derive(clap::Args, Debug, Clone)]
pub struct TrainingArgs {
    /// cpu, cuda, cuda:N or auto [default: WGFLOW_DEVICE, else auto].
    #[arg(long)]
    pub device: Option<String>,
    /// A checkpoint every N epochs (and after the last).
    #[arg(long, value_name = "N", default_value_t = wgflow::runs::DEFAULT_CHECKPOINT_EVERY)]
    pub checkpoint_every: usize,
    /// When NaN or Inf appears: stop with an error, or mark the run diverged and go on (exit 0).
    #[arg(long, value_enum, default_value = "stop")]
    pub on_divergence: DivergenceArg,
    /// No progress output.
    #[arg(long)]
    pub quiet: bool,
}

impl TrainingArgs {
    /// The driver's options; errors name the flags.
    pub fn options(&self) -> wgflow::Result<DriverOptions> {
        let device = wgflow::device::choose_device(self.device.as_deref()).map_err(flags(&[]))?;
        let checkpoint = CheckpointPolicy::every(self.checkpoint_every);
        checkpoint.validate().map_err(flags(&[]))?;
        Ok(DriverOptions {
            device,
            checkpoint,
            progress: if self.quiet { ProgressMode::Quiet } else { ProgressMode::Auto },
            on_divergence: self.on_divergence.into(),
        })
    }
}

#[derive(clap::Args, Debug)]
#[command(args_conflicts_with_subcommands = true, after_help = methods_help())]
pub struct RunArgs {
    #[command(subcommand)]
    experiment: Option<ExperimentCmd>,
    /// The run's config (TOML) [default: W1-FE-LP on the ring, 000 §5].
    #[arg(long)]
    config: Option<PathBuf>,
    /// The run directory to create.
    #[arg(long)]
    out: Option<PathBuf>,
    /// A method preset replacing the config's critic and step (see `wgflow methods`).
    #[arg(long)]
    method: Option<String>,
    /// The persistency level K (or RWP's ℓ).
    #[arg(long, allow_negative_numbers = true)]
    k: Option<usize>,
    /// Epochs (with --resume: extend the run or experiment to N epochs).
    #[arg(long, allow_negative_numbers = true)]
    epochs: Option<usize>,
    /// Seed of every random draw.
    #[arg(long)]
    seed: Option<u64>,
    /// Evaluate every N epochs.
    #[arg(long)]
    eval_every: Option<usize>,
    /// Continue the run or experiment directory DIR from its last checkpoints (every setting comes from DIR).
    #[arg(long, value_name = "DIR")]
    resume: Option<PathBuf>,
    #[command(flatten)]
    training: TrainingArgs,
}

/// The method presets, one line each, for `wgflow run --help`.
pub fn methods_help() -> String {
    let mut s = String::from("Methods (--method, --methods; `wgflow methods` for their sources):\n");
    for m in wgflow::config::METHODS {
        s += &format!("  {:<15} {}\n", m.name, m.description);
    }
    s
}

/// Maps errors that name a config field to the flag that sets it: the
/// common fields, then `extra` (field, flag) pairs.
pub fn flags(extra: &'static [(&'static str, &'static str)]) -> impl Fn(Error) -> Error {
    const COMMON: &[(&str, &str)] = &[
        ("device", "--device"),
        ("checkpoint_every", "--checkpoint-every"),
        ("train.epochs", "--epochs"),
        ("train.eval_every", "--eval-every"),
        ("method", "--method"),
        ("methods", "--methods"),
        ("ks", "--k"),
        ("seeds", "--seeds"),
        ("epochs", "--epochs"),
    ];
    move |e| match e {
        Error::Config { field, msg } => {
            let flag = extra.iter().chain(COMMON).find(|(f, _)| *f == field).map(|(_, flag)| *flag);
            Error::config(flag.unwrap_or(&field), msg)
        }
        e => e,
    }
}

pub fn run(args: RunArgs) -> wgflow::Result<()> {
    if let Some(0) = args.epochs {
        return Err(Error::config("--epochs", "must be ≥ 1, got 0"));
    }
    // Every run checkpoints: it stops at the end of an epoch on
    // SIGTERM/SIGINT/SIGUSR1 with a checkpoint (exit 75).
    wgflow::interrupt::install()?;
    if let Some(cmd) = args.experiment {
        return experiments::run(cmd);
    }
    if let Some(dir) = args.resume.clone() {
        return resume(args, dir);
    }
    run_single(args)
}

/// `--resume DIR [--epochs N]`: every setting comes from DIR.
fn resume(args: RunArgs, dir: PathBuf) -> wgflow::Result<()> {
    let given = [
        ("--config", args.config.is_some()),
        ("--out", args.out.is_some()),
        ("--method", args.method.is_some()),
        ("--k", args.k.is_some()),
        ("--seed", args.seed.is_some()),
        ("--eval-every", args.eval_every.is_some()),
    ];
    if let Some((name, _)) = given.iter().find(|(_, g)| *g) {
        return Err(Error::config("--resume", format!("takes every setting from {}; drop {name}", dir.display())));
    }
    let opts = args.training.options()?;
    if dir.join(wgflow::experiments::EXPERIMENT_FILE).is_file() {
        let (markdown, notes) = wgflow::experiments::resume_any(&dir, args.epochs, &opts).map_err(flags(&[]))?;
        println!("{markdown}");
        for n in notes {
            println!("note: {n}");
        }
        println!("wrote {}/summary.md, summary.json and the plots", dir.display());
        return Ok(());
    }
    if !dir.join("config.toml").is_file() {
        return Err(Error::file(
            dir.join("config.toml"),
            "not found: --resume needs a run directory written by `wgflow run --out`, `wgflow run EXPERIMENT` \
             or `wgflow sweep`",
        ));
    }
    if let Some(n) = args.epochs {
        wgflow::runs::extend_dir(&dir, n).map_err(flags(&[]))?;
    }
    train(&dir, &args.training, &opts)
}

/// A single run of `--config` (or the default config) into `--out`.
fn run_single(args: RunArgs) -> wgflow::Result<()> {
    let out = args.out.clone().ok_or_else(|| {
        Error::config("--out", "a single run needs --out DIR (or name an experiment: `wgflow run --help`)")
    })?;
    let mut cfg = match &args.config {
        Some(path) => RunConfig::load(path)?,
        None => RunConfig::default(),
    };
    if let Some(m) = &args.method {
        cfg = cfg.with_method(m).map_err(flags(&[]))?;
    }
    match args.k {
        None => {}
        Some(k) if k >= 1 => cfg = cfg.k(k),
        Some(_) => return Err(Error::config("--k", "a single run takes one persistency level ≥ 1")),
    }
    if let Some(e) = args.epochs {
        cfg.train.epochs = e;
    }
    if let Some(s) = args.seed {
        cfg.train.seed = s;
    }
    if let Some(n) = args.eval_every {
        cfg.train.eval_every = n;
    }
    cfg.validate().map_err(flags(&[]))?;
    let opts = args.training.options()?;
    if wgflow::runs::has_started(&out) {
        return Err(Error::config(
            "--out",
            format!("{} already holds a run: continue it with --resume {0} or choose another --out", out.display()),
        ));
    }
    let labels = args.method.map(|m| RunLabels { method: m, k: cfg.step.k(), seed: cfg.train.seed });
    wgflow::runs::create_dir(&out, &cfg, labels.as_ref())?;
    train(&out, &args.training, &opts)
}

fn train(dir: &Path, args: &TrainingArgs, opts: &DriverOptions) -> wgflow::Result<()> {
    let epochs = RunConfig::load(dir.join("config.toml"))?.train.epochs;
    let mut progress = if args.quiet { Progress::quiet() } else { Progress::new("run", epochs) };
    let outcome = wgflow::runs::train_dir(dir, opts.device, opts.checkpoint, &mut [&mut progress])?;
    match outcome {
        Outcome::Finished { already: true } => println!("{} is already finished", dir.display()),
        Outcome::Finished { already: false } => {
            println!("wrote {}/{{history.csv,history.json,w1.png,w1.svg,checkpoint.ot}}", dir.display())
        }
        Outcome::Diverged { message, .. } => match opts.on_divergence {
            OnDivergence::Stop => {
                return Err(Error::input(format!("{message} ({} keeps the last good checkpoint)", dir.display())))
            }
            OnDivergence::Continue => eprintln!("{}: {message}; marked diverged", dir.display()),
        },
    }
    Ok(())
}

/// Runs an experiment from the start, prints its summary.
pub fn drive<E: Experiment>(exp: &E, out: &Path, opts: &DriverOptions) -> wgflow::Result<()> {
    let summary = wgflow::experiments::run(exp, out, opts)?;
    println!("{}", summary.markdown());
    println!("wrote {}/summary.md, summary.json, the plots and one run directory per run", out.display());
    Ok(())
}
