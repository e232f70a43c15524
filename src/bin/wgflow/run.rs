//! `wgflow run EXPERIMENT`: the papers' experiments.

use clap::ValueEnum;
use indicatif::{ProgressBar, ProgressStyle};
use std::path::PathBuf;
use wgflow::critic::Constraint;
use wgflow::experiments::RingExperiment;
use wgflow::train::RunConfig;
use wgflow::Error;

#[derive(Clone, Copy, Debug, ValueEnum)]
enum Experiment {
    /// W1-FE on the 8-Gaussian ring at several persistency levels (000 §5, Fig. 1-2).
    Ring,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum CriticArg {
    /// One-sided Lipschitz penalty, λ = 10 (W1-LP, Petzka et al.).
    Lp,
    /// Gradient penalty, λ = 10 (W1-GP, Gulrajani et al.).
    Gp,
    /// Weight clipping, c = 0.01 (vanilla WGAN).
    Clip,
}

#[derive(clap::Args, Debug)]
pub struct RunArgs {
    /// Which experiment.
    experiment: Experiment,
    /// Persistency levels, comma-separated; the first is the baseline.
    #[arg(long, value_delimiter = ',', default_value = "1,3,5,10", allow_negative_numbers = true)]
    k: Vec<usize>,
    /// How the critic is kept 1-Lipschitz [default: lp, or the config's].
    #[arg(long, value_enum)]
    critic: Option<CriticArg>,
    /// Output directory.
    #[arg(long, default_value = "runs/ring")]
    out: PathBuf,
    /// Epochs per run (paper: 800).
    #[arg(long, allow_negative_numbers = true)]
    epochs: Option<usize>,
    /// Seed of every random draw.
    #[arg(long)]
    seed: Option<u64>,
    /// cpu, cuda, cuda:N or auto (default: WGFLOW_DEVICE, else auto).
    #[arg(long)]
    device: Option<String>,
    /// Evaluate the exact W1 every N epochs (paper: 10).
    #[arg(long)]
    eval_every: Option<usize>,
    /// Base run config (TOML); flags given on the command line override it.
    #[arg(long)]
    config: Option<PathBuf>,
    /// No progress output.
    #[arg(long)]
    quiet: bool,
}

pub fn run(args: RunArgs) -> wgflow::Result<()> {
    match args.experiment {
        Experiment::Ring => run_ring(args),
    }
}

fn run_ring(args: RunArgs) -> wgflow::Result<()> {
    let mut exp = RingExperiment::new(args.k.clone(), Constraint::Lp { lambda: 10.0 }, &args.out);
    if let Some(path) = &args.config {
        exp.base = RunConfig::load(path)?;
    }
    if let Some(c) = args.critic {
        exp.base.critic.constraint = match c {
            CriticArg::Lp => Constraint::Lp { lambda: 10.0 },
            CriticArg::Gp => Constraint::Gp { lambda: 10.0 },
            CriticArg::Clip => Constraint::Clip { c: 0.01 },
        };
    }
    let constraint = exp.base.critic.constraint;
    if let Some(e) = args.epochs {
        if e == 0 {
            return Err(Error::config("--epochs", "must be ≥ 1, got 0"));
        }
        exp.base.train.epochs = e;
    }
    if let Some(s) = args.seed {
        exp.base.train.seed = s;
    }
    if let Some(n) = args.eval_every {
        if n == 0 {
            return Err(Error::config("--eval-every", "must be ≥ 1, got 0"));
        }
        exp.base.train.eval_every = n;
    }
    exp.validate().map_err(|e| match e {
        Error::Config { field, msg } if field == "k" => Error::config("--k", msg),
        e => e,
    })?;
    let device = wgflow::device::choose_device(args.device.as_deref())?;
    let epochs = exp.base.train.epochs as u64;
    if !args.quiet {
        eprintln!(
            "W1-FE-{} on the ring: K = {:?}, {} epochs, seed {}, device {}",
            constraint.name().to_uppercase(),
            exp.ks,
            epochs,
            exp.base.train.seed,
            wgflow::device::device_name(device)
        );
    }
    let mut bar: Option<(usize, ProgressBar)> = None;
    let style = ProgressStyle::with_template("{prefix:>5} [{bar:30}] {pos:>4}/{len} epochs {elapsed_precise} {msg}")
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> ");
    let quiet = args.quiet;
    let summary = exp.run(device, |k, t, row| {
        if quiet {
            return;
        }
        if bar.as_ref().map(|(bk, _)| *bk) != Some(k) {
            if let Some((_, b)) = bar.take() {
                b.finish();
            }
            let b = ProgressBar::new(epochs).with_style(style.clone()).with_prefix(format!("K={k}"));
            bar = Some((k, b));
        }
        if let Some((_, b)) = &bar {
            b.set_position(t.epoch() as u64);
            b.set_message(format!("W1 {:.4}  critic {:.4}", row.w1, row.critic_loss));
            if b.is_hidden() && (t.epoch() as u64 == epochs || t.epoch() % 100 == 0) {
                eprintln!("K={k} epoch {:>4}  {:>7.1}s  W1 {:.4}", t.epoch(), row.seconds, row.w1);
            }
        }
    })?;
    if let Some((_, b)) = bar.take() {
        b.finish();
    }
    println!("{}", summary.table());
    println!("wrote {}/{{w1_epoch,w1_seconds}}.{{png,svg}}, summary.md and k*/ run directories", args.out.display());
    Ok(())
}
