//! `wgflow run EXPERIMENT`: the papers' experiments; `wgflow run --config
//! run.toml --out DIR`: one run in a resumable run directory;
//! `wgflow run --resume DIR`: continue it from its last checkpoint.

use clap::ValueEnum;
use indicatif::{ProgressBar, ProgressStyle};
use std::path::PathBuf;
use wgflow::experiments::methods::{preset, METHODS};
use wgflow::experiments::ot_maps::OtMapsExperiment;
use wgflow::experiments::RingExperiment;
use wgflow::runs::{OnDivergence, Outcome, RunOptions};
use wgflow::train::RunConfig;
use wgflow::Error;

#[derive(Clone, Copy, Debug, ValueEnum)]
enum Experiment {
    /// Persistency levels K on the 8-Gaussian ring (000 §5, Fig. 1-2).
    Ring,
    /// 2D optimal maps against Discrete-OT (004 §6.1, Fig. 1-2): the map-error table.
    OtMaps,
    /// USPS → MNIST (or back) domain adaptation scored by 1-NN accuracy (000 Fig. 3, 004 Table 1).
    Adaptation,
    /// W2-FE's W2 decay against e^(−t) (003 eq. 14), for several K.
    W2Decay,
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

#[derive(clap::Args, Debug)]
pub struct RunArgs {
    /// Which experiment; without one, a single run of --config (or the default config) into --out.
    experiment: Option<Experiment>,
    /// ring, adaptation, w2-decay: persistency levels (or ℓ for rwp), comma-separated; ring: the first is the baseline
    /// [default: ring 1,3,5,10; adaptation 1; w2-decay 1,10,50]; single run: one K.
    #[arg(long, value_delimiter = ',', allow_negative_numbers = true)]
    k: Option<Vec<usize>>,
    /// w2-decay: the Euler step ε (flow time per epoch) [default: 0.2].
    #[arg(long, allow_negative_numbers = true)]
    eps: Option<f64>,
    /// ring: shorthand for --method w1fe-lp|w1fe-gp|w1fe-clip.
    #[arg(long, value_enum, conflicts_with = "method")]
    critic: Option<CriticArg>,
    /// ring: the method (see `wgflow run --help`): w1fe-lp (default), w2fe, wgan-gp, rwp-gan, ...
    #[arg(long)]
    method: Option<String>,
    /// ot-maps, adaptation: methods to compare, comma-separated.
    #[arg(long, value_delimiter = ',')]
    methods: Option<Vec<String>>,
    /// ot-maps: problems, comma-separated (four-gaussians, checkerboard, spiral).
    #[arg(long, value_delimiter = ',')]
    datasets: Option<Vec<String>>,
    /// Output directory [default: runs/ring or runs/ot-maps].
    #[arg(long)]
    out: Option<PathBuf>,
    /// Epochs per run (ring: 800 as in 000 §5; ot-maps: 1000).
    #[arg(long, allow_negative_numbers = true)]
    epochs: Option<usize>,
    /// Seed of every random draw.
    #[arg(long)]
    seed: Option<u64>,
    /// cpu, cuda, cuda:N or auto (default: WGFLOW_DEVICE, else auto).
    #[arg(long)]
    device: Option<String>,
    /// ring: evaluate the exact W1 every N epochs (paper: 10).
    #[arg(long)]
    eval_every: Option<usize>,
    /// Base run config (TOML); flags given on the command line override it.
    #[arg(long)]
    config: Option<PathBuf>,
    /// adaptation: source and target data sets (usps, mnist, fashion-mnist) [default: usps,mnist].
    #[arg(long, value_delimiter = ',')]
    domains: Option<Vec<String>>,
    /// adaptation: data root [default: $WGFLOW_DATA, else data/].
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// adaptation: never download; a missing file is an error.
    #[arg(long)]
    offline: bool,
    /// adaptation: use only the first N images of each split (quick runs).
    #[arg(long)]
    limit: Option<usize>,
    /// No progress output.
    #[arg(long)]
    quiet: bool,
    /// Continue the run directory DIR from its last checkpoint (its config.toml holds every setting).
    #[arg(long, value_name = "DIR")]
    resume: Option<PathBuf>,
    /// Single runs: a checkpoint every N epochs (and after the last).
    #[arg(long, value_name = "N", default_value_t = wgflow::runs::DEFAULT_CHECKPOINT_EVERY)]
    checkpoint_every: usize,
    /// Single runs: when NaN or Inf appears, stop with an error, or mark the run diverged and exit 0.
    #[arg(long, value_enum, default_value = "stop")]
    on_divergence: DivergenceArg,
}

pub fn run(args: RunArgs) -> wgflow::Result<()> {
    if let Some(0) = args.epochs {
        return Err(Error::config("--epochs", "must be ≥ 1, got 0"));
    }
    if let Some(0) = args.eval_every {
        return Err(Error::config("--eval-every", "must be ≥ 1, got 0"));
    }
    if args.checkpoint_every == 0 {
        return Err(Error::config("--checkpoint-every", "must be ≥ 1, got 0"));
    }
    // Runs that checkpoint stop at the end of an epoch on SIGTERM/SIGINT/SIGUSR1 (exit 75).
    if args.resume.is_some() || matches!(args.experiment, None | Some(Experiment::Ring | Experiment::OtMaps)) {
        wgflow::interrupt::install()?;
    }
    if let Some(dir) = args.resume.clone() {
        return resume(args, dir);
    }
    match args.experiment {
        Some(Experiment::Ring) => run_ring(args),
        Some(Experiment::OtMaps) => run_ot_maps(args),
        Some(Experiment::Adaptation) => run_adaptation(args),
        Some(Experiment::W2Decay) => run_w2_decay(args),
        None => run_single(args),
    }
}

/// `--resume DIR`: every setting comes from `DIR/config.toml`.
fn resume(args: RunArgs, dir: PathBuf) -> wgflow::Result<()> {
    let given = [
        ("an experiment", args.experiment.is_some()),
        ("--k", args.k.is_some()),
        ("--eps", args.eps.is_some()),
        ("--domains", args.domains.is_some()),
        ("--limit", args.limit.is_some()),
        ("--data-dir", args.data_dir.is_some()),
        ("--critic", args.critic.is_some()),
        ("--method", args.method.is_some()),
        ("--methods", args.methods.is_some()),
        ("--datasets", args.datasets.is_some()),
        ("--out", args.out.is_some()),
        ("--epochs", args.epochs.is_some()),
        ("--seed", args.seed.is_some()),
        ("--eval-every", args.eval_every.is_some()),
        ("--config", args.config.is_some()),
    ];
    if let Some((name, _)) = given.iter().find(|(_, g)| *g) {
        return Err(Error::config(
            "--resume",
            format!("takes every setting from {}; drop {name}", dir.join("config.toml").display()),
        ));
    }
    if dir.join("ot-maps.json").is_file() {
        let exp = OtMapsExperiment::load(&dir)?;
        let device = wgflow::device::choose_device(args.device.as_deref())?;
        return ot_maps_with_progress(&exp, device, args.quiet, true);
    }
    if dir.join("experiment.json").is_file() {
        let exp = RingExperiment::load(&dir)?;
        let device = wgflow::device::choose_device(args.device.as_deref())?;
        return ring_with_progress(&exp, device, args.quiet, true);
    }
    if !dir.join("config.toml").is_file() {
        return Err(Error::file(
            dir.join("config.toml"),
            "not found: --resume needs a run directory written by `wgflow run --out`, `wgflow run ring` or `wgflow sweep`",
        ));
    }
    train(&dir, &args)
}

/// A single run of `--config` (or the default config) into `--out`.
fn run_single(args: RunArgs) -> wgflow::Result<()> {
    let out = args
        .out
        .clone()
        .ok_or_else(|| Error::config("--out", "a single run needs --out DIR (or name an experiment: ring, ot-maps)"))?;
    let mut cfg = match &args.config {
        Some(path) => RunConfig::load(path)?,
        None => RunConfig::default(),
    };
    let method = match (args.critic, &args.method) {
        (Some(CriticArg::Lp), _) => Some("w1fe-lp".to_string()),
        (Some(CriticArg::Gp), _) => Some("w1fe-gp".to_string()),
        (Some(CriticArg::Clip), _) => Some("w1fe-clip".to_string()),
        (None, m) => m.clone(),
    };
    if let Some(m) = &method {
        cfg = preset(m, &cfg).map_err(method_error("--method"))?;
    }
    match args.k.as_deref() {
        None => {}
        Some([k]) if *k >= 1 => cfg.step = cfg.step.with_k(*k),
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
    cfg.validate()?;
    if wgflow::runs::has_started(&out) {
        return Err(Error::config(
            "--out",
            format!("{} already holds a run: continue it with --resume {0} or choose another --out", out.display()),
        ));
    }
    let labels = method.map(|m| wgflow::runs::RunLabels { method: m, k: cfg.step.k(), seed: cfg.train.seed });
    wgflow::runs::create_dir(&out, &cfg, labels.as_ref())?;
    train(&out, &args)
}

fn train(dir: &std::path::Path, args: &RunArgs) -> wgflow::Result<()> {
    let device = wgflow::device::choose_device(args.device.as_deref())?;
    let cfg = RunConfig::load(dir.join("config.toml"))?;
    let epochs = cfg.train.epochs as u64;
    let bar = (!args.quiet).then(|| progress_bar(epochs, "run".into()));
    let outcome =
        wgflow::runs::train_dir(dir, device, RunOptions { checkpoint_every: args.checkpoint_every }, |t, row| {
            if let Some(b) = &bar {
                b.set_position(t.epoch() as u64);
                b.set_message(format!("W1 {:.4}  critic {:.4}", row.w1, row.critic_loss));
                if b.is_hidden() && (t.epoch() as u64 == epochs || t.epoch() % 100 == 0) {
                    eprintln!("epoch {:>4}  {:>7.1}s  W1 {:.4}", t.epoch(), row.seconds, row.w1);
                }
            }
        })?;
    if let Some(b) = bar {
        b.finish();
    }
    match outcome {
        Outcome::Finished { already } => {
            if already {
                println!("{} is already finished", dir.display());
            } else {
                println!("wrote {}/{{history.csv,history.json,w1.png,w1.svg,checkpoint.ot}}", dir.display());
            }
            Ok(())
        }
        Outcome::Diverged { message, .. } => match OnDivergence::from(args.on_divergence) {
            OnDivergence::Stop => {
                Err(Error::input(format!("{message} ({} keeps the last good checkpoint)", dir.display())))
            }
            OnDivergence::Continue => {
                eprintln!("{}: {message}; marked diverged", dir.display());
                Ok(())
            }
        },
    }
}

fn method_error(flag: &str) -> impl Fn(Error) -> Error + '_ {
    move |e| match e {
        Error::Config { field, msg } if field == "method" => Error::config(flag, msg),
        e => e,
    }
}

fn run_ring(args: RunArgs) -> wgflow::Result<()> {
    let out = args.out.clone().unwrap_or_else(|| PathBuf::from("runs/ring"));
    let ks = args.k.clone().unwrap_or_else(|| vec![1, 3, 5, 10]);
    let mut exp = RingExperiment::new(ks, wgflow::critic::Constraint::Lp { lambda: 10.0 }, &out);
    if let Some(path) = &args.config {
        exp.base = RunConfig::load(path)?;
    }
    let method = match (args.critic, &args.method) {
        (Some(CriticArg::Lp), _) => Some("w1fe-lp".to_string()),
        (Some(CriticArg::Gp), _) => Some("w1fe-gp".to_string()),
        (Some(CriticArg::Clip), _) => Some("w1fe-clip".to_string()),
        (None, m) => m.clone(),
    };
    if let Some(m) = &method {
        exp.base = preset(m, &exp.base).map_err(method_error("--method"))?;
    }
    if let Some(e) = args.epochs {
        exp.base.train.epochs = e;
    }
    if let Some(s) = args.seed {
        exp.base.train.seed = s;
    }
    if let Some(n) = args.eval_every {
        exp.base.train.eval_every = n;
    }
    exp.checkpoint_every = args.checkpoint_every;
    exp.validate().map_err(|e| match e {
        Error::Config { field, msg } if field == "k" => Error::config("--k", msg),
        e => e,
    })?;
    let device = wgflow::device::choose_device(args.device.as_deref())?;
    ring_with_progress(&exp, device, args.quiet, false)
}

/// Runs (or resumes) the ring experiment with progress bars and prints its summary.
fn ring_with_progress(exp: &RingExperiment, device: tch::Device, quiet: bool, resume: bool) -> wgflow::Result<()> {
    let out = exp.out.clone();
    let epochs = exp.base.train.epochs as u64;
    if !quiet {
        eprintln!(
            "{} on the ring: K = {:?}, {} epochs, seed {}, device {}",
            exp.method_name(),
            exp.ks,
            epochs,
            exp.base.train.seed,
            wgflow::device::device_name(device)
        );
    }
    let mut bar: Option<(usize, ProgressBar)> = None;
    let progress = |k: usize, t: &wgflow::train::Trainer, row: &wgflow::train::Row| {
        if quiet {
            return;
        }
        if bar.as_ref().map(|(bk, _)| *bk) != Some(k) {
            if let Some((_, b)) = bar.take() {
                b.finish();
            }
            bar = Some((k, progress_bar(epochs, format!("K={k}"))));
        }
        if let Some((_, b)) = &bar {
            b.set_position(t.epoch() as u64);
            b.set_message(format!("W1 {:.4}  critic {:.4}", row.w1, row.critic_loss));
            if b.is_hidden() && (t.epoch() as u64 == epochs || t.epoch() % 100 == 0) {
                eprintln!("K={k} epoch {:>4}  {:>7.1}s  W1 {:.4}", t.epoch(), row.seconds, row.w1);
            }
        }
    };
    let summary = if resume { exp.resume(device, progress)? } else { exp.run(device, progress)? };
    if let Some((_, b)) = bar.take() {
        b.finish();
    }
    println!("{}", summary.table());
    println!("wrote {}/{{w1_epoch,w1_seconds}}.{{png,svg}}, summary.md and k*/ run directories", out.display());
    Ok(())
}

fn progress_bar(len: u64, prefix: String) -> ProgressBar {
    let style = ProgressStyle::with_template("{prefix:>12} [{bar:30}] {pos:>5}/{len} epochs {elapsed_precise} {msg}")
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> ");
    ProgressBar::new(len).with_style(style).with_prefix(prefix)
}

fn run_ot_maps(args: RunArgs) -> wgflow::Result<()> {
    let out = args.out.clone().unwrap_or_else(|| PathBuf::from("runs/ot-maps"));
    let mut exp = OtMapsExperiment::new(args.epochs.unwrap_or(1000), &out);
    load_base(&args, &mut exp.base)?;
    if let Some(m) = checked_methods(&args)? {
        exp.methods = m;
    }
    if let Some(d) = &args.datasets {
        for name in d {
            wgflow::experiments::ot_maps::dataset(name).map_err(|e| match e {
                Error::Config { msg, .. } => Error::config("--datasets", msg),
                e => e,
            })?;
        }
        exp.datasets = d.clone();
    }
    if let Some(s) = args.seed {
        exp.base.train.seed = s;
    }
    exp.base.train.eval_every = exp.base.train.epochs;
    exp.checkpoint_every = args.checkpoint_every;
    let device = wgflow::device::choose_device(args.device.as_deref())?;
    ot_maps_with_progress(&exp, device, args.quiet, false)
}

/// Runs (or resumes) the ot-maps experiment with progress bars and prints its table.
fn ot_maps_with_progress(exp: &OtMapsExperiment, device: tch::Device, quiet: bool, resume: bool) -> wgflow::Result<()> {
    let out = exp.out.clone();
    let epochs = exp.base.train.epochs as u64;
    let mut bar: Option<(String, ProgressBar)> = None;
    let progress = |ds: &str, m: &str, epoch: usize| {
        if quiet {
            return;
        }
        let key = format!("{ds}/{m}");
        if bar.as_ref().map(|(k, _)| k != &key).unwrap_or(true) {
            if let Some((_, b)) = bar.take() {
                b.finish();
            }
            bar = Some((key.clone(), progress_bar(epochs, key.clone())));
        }
        if let Some((_, b)) = &bar {
            b.set_position(epoch as u64);
            if b.is_hidden() && epoch as u64 == epochs {
                eprintln!("{key}: done");
            }
        }
    };
    let table = if resume { exp.resume(device, progress)? } else { exp.run(device, progress)? };
    if let Some((_, b)) = bar.take() {
        b.finish();
    }
    println!("{}", table.markdown());
    println!("wrote {}/{{<dataset>.png,map_errors.md,map_errors.json}}", out.display());
    Ok(())
}

fn run_adaptation(args: RunArgs) -> wgflow::Result<()> {
    use wgflow::data::Dataset;
    use wgflow::experiments::adaptation::AdaptationExperiment;
    let out = args.out.clone().unwrap_or_else(|| PathBuf::from("runs/adaptation"));
    let (source, target) = match args.domains.as_deref() {
        None => (Dataset::Usps, Dataset::Mnist),
        Some([s, t]) => {
            let parse = |n: &str| {
                Dataset::from_name(n).map_err(|e| match e {
                    Error::Config { msg, .. } => Error::config("--domains", msg),
                    e => e,
                })
            };
            (parse(s)?, parse(t)?)
        }
        Some(other) => {
            return Err(Error::config("--domains", format!("give SOURCE,TARGET (two names), got {}", other.len())))
        }
    };
    // 100,000 iterations in the authors' exp_da.
    let mut exp = AdaptationExperiment::new(source, target, args.epochs.unwrap_or(100_000), &out);
    load_base(&args, &mut exp.base)?;
    if let Some(m) = checked_methods(&args)? {
        exp.methods = m;
    }
    if let Some(s) = args.seed {
        exp.base.train.seed = s;
    }
    if let Some(n) = args.eval_every {
        exp.base.train.eval_every = n;
    }
    if let Some(ks) = &args.k {
        exp.ks = ks.clone();
    }
    if let Some(0) = args.limit {
        return Err(Error::config("--limit", "must be ≥ 1, got 0"));
    }
    exp.data_dir = args.data_dir.clone();
    exp.download = !args.offline;
    exp.limit = args.limit;
    exp.set_data();
    exp.validate().map_err(|e| match e {
        Error::Config { field, msg } if field == "source" || field == "target" => Error::config("--domains", msg),
        Error::Config { field, msg } if field == "method" => Error::config("--methods", msg),
        Error::Config { field, msg } if field == "k" => Error::config("--k", msg),
        e => e,
    })?;
    let device = wgflow::device::choose_device(args.device.as_deref())?;
    let epochs = exp.base.train.epochs as u64;
    let quiet = args.quiet;
    let mut bar: Option<(String, ProgressBar)> = None;
    let summary = exp.run(device, |m, t, acc| {
        if quiet {
            return;
        }
        if bar.as_ref().map(|(k, _)| k != m).unwrap_or(true) {
            if let Some((_, b)) = bar.take() {
                b.finish();
            }
            bar = Some((m.to_string(), progress_bar(epochs, m.to_string())));
        }
        if let Some((_, b)) = &bar {
            b.set_position(t.epoch() as u64);
            b.set_message(format!("1-NN {:.2} %", 100.0 * acc));
            if b.is_hidden() {
                eprintln!("{m} epoch {:>6}  1-NN {:.2} %", t.epoch(), 100.0 * acc);
            }
        }
    })?;
    if let Some((_, b)) = bar.take() {
        b.finish();
    }
    println!("{}", summary.table());
    println!("wrote {}/{{accuracy.png,accuracy.svg,summary.md,summary.json}} and one folder per method", out.display());
    Ok(())
}

fn run_w2_decay(args: RunArgs) -> wgflow::Result<()> {
    use wgflow::experiments::w2_decay::W2DecayExperiment;
    let out = args.out.clone().unwrap_or_else(|| PathBuf::from("runs/w2-decay"));
    let mut exp = W2DecayExperiment::new(args.epochs.unwrap_or(30), &out);
    load_base(&args, &mut exp.base)?;
    if let Some(ks) = &args.k {
        if ks.is_empty() || ks.contains(&0) {
            return Err(Error::config("--k", format!("persistency levels must be ≥ 1, got {ks:?}")));
        }
        exp.ks = ks.clone();
    }
    if let Some(e) = args.eps {
        exp.eps = e;
    }
    if let Some(s) = args.seed {
        exp.base.train.seed = s;
    }
    exp.config_for(exp.ks[0]).map_err(|e| match e {
        Error::Config { field, msg } if field == "eps" => Error::config("--eps", msg),
        e => e,
    })?;
    let device = wgflow::device::choose_device(args.device.as_deref())?;
    let epochs = exp.base.train.epochs as u64;
    let quiet = args.quiet;
    let mut bar: Option<(usize, ProgressBar)> = None;
    let summary = exp.run(device, |k, t| {
        if quiet {
            return;
        }
        if bar.as_ref().map(|(bk, _)| *bk) != Some(k) {
            if let Some((_, b)) = bar.take() {
                b.finish();
            }
            bar = Some((k, progress_bar(epochs, format!("K={k}"))));
        }
        if let Some((_, b)) = &bar {
            b.set_position(t.epoch() as u64);
        }
    })?;
    if let Some((_, b)) = bar.take() {
        b.finish();
    }
    println!("{}", summary.table());
    println!("wrote {}/{{decay.png,decay.svg,decay.md,decay.json}}", out.display());
    Ok(())
}

/// `--config` replaces the experiment's base config; an `--epochs` flag given
/// with it keeps the experiment's epoch count (already set from the flag).
fn load_base(args: &RunArgs, base: &mut RunConfig) -> wgflow::Result<()> {
    if let Some(path) = &args.config {
        let epochs = base.train.epochs;
        *base = RunConfig::load(path)?;
        if args.epochs.is_some() {
            base.train.epochs = epochs;
        }
    }
    Ok(())
}

/// `--methods`, each a preset name.
fn checked_methods(args: &RunArgs) -> wgflow::Result<Option<Vec<String>>> {
    let Some(m) = &args.methods else { return Ok(None) };
    if let Some(bad) = m.iter().find(|m| !METHODS.contains(&m.as_str())) {
        return Err(Error::config(
            "--methods",
            format!("unknown method `{bad}`; expected one of {}", METHODS.join(", ")),
        ));
    }
    Ok(Some(m.clone()))
}
