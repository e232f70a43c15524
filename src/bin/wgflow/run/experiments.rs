//! One subcommand per experiment, each with its own flags and defaults; the
//! flags every experiment shares are [`CommonArgs`].

use super::{drive, flags, TrainingArgs};
use clap::{Subcommand, ValueEnum};
use std::path::PathBuf;
use wgflow::config::RunConfig;
use wgflow::data::{Dataset, PairFamily};
use wgflow::experiments::image_gan::{FidSpec, FidWeights};
use wgflow::experiments::{
    AdaptationExperiment, DataSource, Experiment, ImageGanExperiment, MvGaussianExperiment, OtBenchmarkExperiment,
    OtMapsExperiment, RingExperiment, TwoDeltaExperiment, W2DecayExperiment, W2PartsExperiment,
};
use wgflow::Error;

#[derive(Subcommand, Debug)]
pub enum ExperimentCmd {
    /// Persistency levels K on the 8-Gaussian ring (000 §5, Fig. 1-2).
    Ring(RingArgs),
    /// 2D optimal maps against Discrete-OT (004 §6.1, Fig. 1-2): the map-error table.
    OtMaps(OtMapsArgs),
    /// Domain adaptation between digit sets scored by 1-NN accuracy (000 Fig. 3, 004 Table 1).
    Adaptation(AdaptationArgs),
    /// W2-FE's W2 decay against e^(−t) (003 eq. 14), for several K.
    W2Decay(W2DecayArgs),
    /// The W2 flow taken apart: exact map, critic only, generator only and full W2-FE, per-epoch ratios against 1 − ε.
    W2Parts(W2PartsArgs),
    /// DCGAN image generation scored by FID or pixel W2 against epochs and seconds (001, 002 Fig. 2, 4, 5).
    ImageGan(ImageGanArgs),
    /// From the Gaussian fitted to a digit set to the digits: W2GAN against Barycentric-OT (004 §6.2, Fig. 5).
    MvGaussian(MvGaussianArgs),
    /// The learned W2 maps against maps known exactly, d = 2 … 256: L2-UVP and cos (Korotin et al. 2021).
    OtBenchmark(OtBenchmarkArgs),
    /// The two-delta example of the Wasserstein proximal: Prop. 5 and Fig. 1 (002 §2.3); no training.
    TwoDelta(TwoDeltaArgs),
}

impl DataArgs {
    /// The experiment's data source, `limit` unless the flag gives one.
    fn source(self, limit: Option<usize>) -> DataSource {
        DataSource { dir: self.data_dir, download: !self.offline, limit: self.limit.or(limit) }
    }
}

/// Where an experiment's image data comes from.
#[derive(clap::Args, Debug)]
pub struct DataArgs {
    /// Data root [default: $WGFLOW_DATA, else data/].
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// Never download; a missing file is an error.
    #[arg(long)]
    offline: bool,
    /// Use only the first N images of each split.
    #[arg(long)]
    limit: Option<usize>,
}

/// Flags every experiment that trains takes.
#[derive(clap::Args, Debug)]
pub struct CommonArgs {
    /// Output directory [default: runs/EXPERIMENT].
    #[arg(long)]
    out: Option<PathBuf>,
    /// Epochs per run [default: the experiment's, from its paper].
    #[arg(long, allow_negative_numbers = true)]
    epochs: Option<usize>,
    /// Seed of every random draw.
    #[arg(long)]
    seed: Option<u64>,
    /// A run config (TOML) the runs start from: data, networks, schedule.
    #[arg(long)]
    config: Option<PathBuf>,
    #[command(flatten)]
    training: TrainingArgs,
}

impl CommonArgs {
    /// `exp` with the base config, epochs and seed the flags give, and the
    /// output directory.
    fn apply<E: Experiment>(&self, mut exp: E) -> wgflow::Result<(E, PathBuf)> {
        if let Some(0) = self.epochs {
            return Err(Error::config("--epochs", "must be ≥ 1, got 0"));
        }
        if let (Some(path), Some(base)) = (&self.config, exp.base_mut()) {
            *base = RunConfig::load(path)?;
        }
        if let Some(e) = self.epochs {
            exp = exp.epochs(e);
        }
        if let Some(s) = self.seed {
            exp = exp.seed(s);
        }
        let out = self.out.clone().unwrap_or_else(|| PathBuf::from("runs").join(E::KIND));
        Ok((exp, out))
    }

    /// Validates `exp` (errors naming flags), then drives it.
    fn drive<E: Experiment>(&self, exp: E, extra: &'static [(&'static str, &'static str)]) -> wgflow::Result<()> {
        let (exp, out) = self.apply(exp)?;
        exp.check().map_err(flags(extra))?;
        let opts = self.training.options()?;
        drive(&exp, &out, &opts).map_err(flags(extra))
    }
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum CriticArg {
    /// One-sided Lipschitz penalty, λ = 10 (W1-LP, Petzka et al.): --method w1fe-lp.
    Lp,
    /// Gradient penalty, λ = 10 (W1-GP, Gulrajani et al.): --method w1fe-gp.
    Gp,
    /// Weight clipping, c = 0.01 (vanilla WGAN): --method w1fe-clip.
    Clip,
}

#[derive(clap::Args, Debug)]
pub struct RingArgs {
    /// Persistency levels, comma-separated; the first is the baseline.
    #[arg(long, value_delimiter = ',', default_values_t = [1, 3, 5, 10], allow_negative_numbers = true)]
    k: Vec<usize>,
    /// The method preset [default: w1fe-lp, or the --config file's own critic and step].
    #[arg(long)]
    method: Option<String>,
    /// Shorthand for --method w1fe-lp|w1fe-gp|w1fe-clip.
    #[arg(long, value_enum, conflicts_with = "method")]
    critic: Option<CriticArg>,
    /// Evaluate the exact W1 every N epochs [default: 10, 000 §5].
    #[arg(long)]
    eval_every: Option<usize>,
    /// Evaluations averaged for "final" and "reached".
    #[arg(long, default_value_t = 5)]
    window: usize,
    #[command(flatten)]
    common: CommonArgs,
}

#[derive(clap::Args, Debug)]
pub struct OtMapsArgs {
    /// Methods to compare, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "w2gan,w2fe,w2fe-w2gan,wgan-lp,wgan-gp,baryot-l2")]
    methods: Vec<String>,
    /// Problems, comma-separated: four-gaussians, checkerboard, spiral.
    #[arg(long, value_delimiter = ',', default_value = "four-gaussians,checkerboard,spiral")]
    datasets: Vec<String>,
    #[command(flatten)]
    common: CommonArgs,
}

#[derive(clap::Args, Debug)]
pub struct AdaptationArgs {
    /// Source and target data sets: usps, mnist, fashion-mnist, uci-digits, mnist-5k.
    #[arg(long, value_delimiter = ',', default_value = "usps,mnist")]
    domains: Vec<String>,
    /// Methods to compare, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "w1fe-lp,w2gan")]
    methods: Vec<String>,
    /// Persistency levels (or ℓ) of every method, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "1", allow_negative_numbers = true)]
    k: Vec<usize>,
    /// 1-NN accuracy every N epochs.
    #[arg(long, default_value_t = 100)]
    eval_every: usize,
    #[command(flatten)]
    data: DataArgs,
    #[command(flatten)]
    common: CommonArgs,
}

#[derive(clap::Args, Debug)]
pub struct W2DecayArgs {
    /// Persistency levels, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "1,10,50", allow_negative_numbers = true)]
    k: Vec<usize>,
    /// The Euler step ε (flow time per epoch), in (0, 1].
    #[arg(long, default_value_t = 0.2, allow_negative_numbers = true)]
    eps: f64,
    #[command(flatten)]
    common: CommonArgs,
}

#[derive(clap::Args, Debug)]
pub struct W2PartsArgs {
    /// Problems, comma-separated: ring, four-gaussians, checkerboard, spiral.
    #[arg(long, value_delimiter = ',', default_value = "ring,four-gaussians")]
    problems: Vec<String>,
    /// Persistency levels of the generator-only part and of W2-FE, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "1,10,50", allow_negative_numbers = true)]
    k: Vec<usize>,
    /// Penalty weights λ of the critic-only part, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "20,200,2000", allow_negative_numbers = true)]
    lambdas: Vec<f64>,
    /// Generator learning rates of the generator-only part, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "0.0001,0.001", allow_negative_numbers = true)]
    lrs: Vec<f64>,
    /// The Euler step ε, in (0, 1).
    #[arg(long, default_value_t = 0.2, allow_negative_numbers = true)]
    eps: f64,
    /// Critic steps per epoch (S) of the critic-only part and of W2-FE [default: 20].
    #[arg(long)]
    critic_iters: Option<usize>,
    #[command(flatten)]
    common: CommonArgs,
}

#[derive(clap::Args, Debug)]
pub struct ImageGanArgs {
    /// The image data set: cifar10, mnist, fashion-mnist, usps, uci-digits, mnist-5k.
    #[arg(long, default_value = "cifar10")]
    dataset: String,
    /// Methods to compare, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "wgan-gp,w1fe-gp")]
    methods: Vec<String>,
    /// Persistency levels (or ℓ) of every method [default: each preset's own].
    #[arg(long, value_delimiter = ',', allow_negative_numbers = true)]
    k: Vec<usize>,
    /// Width of the DCGAN pair.
    #[arg(long, default_value_t = 64)]
    width: i64,
    /// Evaluations per run.
    #[arg(long, default_value_t = 10)]
    evaluations: usize,
    /// FID at every evaluation with pytorch-fid's Inception: `official` (the cached weights,
    /// downloaded when absent) or a weights file [default: no FID, pixel W2 only].
    #[arg(long, value_name = "official|PATH")]
    fid: Option<String>,
    /// Generated images per FID.
    #[arg(long, default_value_t = 10_000)]
    fid_samples: i64,
    /// The domain FID and KID at every evaluation, from this many generated images: the
    /// features of the project's classifier of the data set (`wgflow classifier`), not
    /// Inception's [default: none].
    #[arg(long, value_name = "SAMPLES")]
    domain_fid: Option<i64>,
    #[command(flatten)]
    data: DataArgs,
    #[command(flatten)]
    common: CommonArgs,
}

#[derive(clap::Args, Debug)]
pub struct MvGaussianArgs {
    /// The digits: mnist, fashion-mnist or mnist-5k.
    #[arg(long, default_value = "mnist")]
    dataset: String,
    /// Methods to compare, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "w2gan,baryot-l2")]
    methods: Vec<String>,
    /// Width of the networks' two hidden layers.
    #[arg(long, default_value_t = 1024)]
    width: i64,
    #[command(flatten)]
    data: DataArgs,
    #[command(flatten)]
    common: CommonArgs,
}

#[derive(clap::Args, Debug)]
pub struct OtBenchmarkArgs {
    /// Pair families, comma-separated: gaussian (Gaussian → Gaussian), mixture (∇ψ of a convex ψ).
    #[arg(long, value_delimiter = ',', default_value = "gaussian,mixture")]
    families: Vec<String>,
    /// Dimensions, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "2,4,8,16,32,64,128,256")]
    dims: Vec<i64>,
    /// Methods to compare, comma-separated (the baselines identity, constant and linear are always scored).
    #[arg(long, value_delimiter = ',', default_value = "w2gan,w2fe,w2fe-w2gan,baryot-l2,w1fe-lp")]
    methods: Vec<String>,
    /// Test points the scores are computed on.
    #[arg(long, default_value_t = 4096)]
    test_size: usize,
    /// The seed every pair is drawn with.
    #[arg(long, default_value_t = 0)]
    pair_seed: u64,
    /// Training seeds, comma-separated: one run per method, pair and seed, the
    /// table giving the mean and the range [default: one run at --seed].
    #[arg(long, value_delimiter = ',')]
    seeds: Vec<u64>,
    #[command(flatten)]
    common: CommonArgs,
}

#[derive(clap::Args, Debug)]
pub struct TwoDeltaArgs {
    /// The mass α of the first delta, in (0, 1).
    #[arg(long, default_value_t = 0.2)]
    alpha: f64,
    /// The proximal step h.
    #[arg(long, default_value_t = 0.3)]
    h: f64,
    /// Proximal iterations drawn.
    #[arg(long, default_value_t = 25)]
    steps: usize,
    /// Output directory.
    #[arg(long, default_value = "runs/two-delta")]
    out: PathBuf,
}

pub fn run(cmd: ExperimentCmd) -> wgflow::Result<()> {
    match cmd {
        ExperimentCmd::Ring(a) => {
            let method = match (a.critic, &a.method) {
                (Some(CriticArg::Lp), _) => Some("w1fe-lp"),
                (Some(CriticArg::Gp), _) => Some("w1fe-gp"),
                (Some(CriticArg::Clip), _) => Some("w1fe-clip"),
                (None, Some(m)) => Some(m.as_str()),
                (None, None) if a.common.config.is_some() => None,
                (None, None) => Some("w1fe-lp"),
            };
            let mut exp = match method {
                Some(m) => RingExperiment::new(m),
                None => RingExperiment::from_config(RunConfig::default()),
            };
            exp = exp.ks(a.k);
            exp.window = a.window;
            if let Some(n) = a.eval_every {
                exp = exp.configure(|b| b.train.eval_every = n);
            }
            a.common.drive(exp, &[("window", "--window")])
        }
        ExperimentCmd::OtMaps(a) => {
            let mut exp = OtMapsExperiment::new();
            exp.methods = a.methods;
            exp.datasets = a.datasets;
            a.common.drive(exp, &[("datasets", "--datasets")])
        }
        ExperimentCmd::Adaptation(a) => {
            let [source, target] = a.domains.as_slice() else {
                return Err(Error::config(
                    "--domains",
                    format!("give SOURCE,TARGET (two names), got {}", a.domains.len()),
                ));
            };
            let parse = |n: &str| Dataset::from_name(n).map_err(flags(&[("dataset", "--domains")]));
            let mut exp = AdaptationExperiment::new(parse(source)?, parse(target)?).ks(a.k);
            exp.methods = a.methods;
            exp.data = a.data.source(None);
            let exp = exp.configure(|b| b.train.eval_every = a.eval_every);
            a.common.drive(exp, &[("source", "--domains"), ("target", "--domains"), ("limit", "--limit")])
        }
        ExperimentCmd::W2Decay(a) => {
            let mut exp = W2DecayExperiment::new().ks(a.k);
            exp.eps = a.eps;
            a.common.drive(exp, &[("eps", "--eps")])
        }
        ExperimentCmd::W2Parts(a) => {
            let mut exp = W2PartsExperiment::new().ks(a.k).lambdas(a.lambdas).lrs(a.lrs);
            exp.problems = a.problems;
            exp.eps = a.eps;
            if let Some(s) = a.critic_iters {
                exp.base.train.critic_iters = s;
            }
            a.common.drive(
                exp,
                &[
                    ("eps", "--eps"),
                    ("problems", "--problems"),
                    ("ks", "--k"),
                    ("lambdas", "--lambdas"),
                    ("lrs", "--lrs"),
                ],
            )
        }
        ExperimentCmd::ImageGan(a) => {
            let dataset = Dataset::from_name(&a.dataset).map_err(flags(&[("dataset", "--dataset")]))?;
            let mut exp = ImageGanExperiment::new().ks(a.k).width(a.width);
            exp.dataset = dataset;
            exp.methods = a.methods;
            exp.evaluations = a.evaluations;
            exp.data = a.data.source(None);
            exp.fid = a.fid.map(|f| FidSpec {
                weights: if f == "official" { FidWeights::Official } else { FidWeights::File(f.into()) },
                samples: a.fid_samples,
                reference: None,
                batch_size: 100,
            });
            exp.domain_fid = a.domain_fid.map(wgflow::experiments::image_gan::DomainFidSpec::new);
            a.common.drive(
                exp,
                &[
                    ("limit", "--limit"),
                    ("evaluations", "--evaluations"),
                    ("fid", "--fid-samples"),
                    ("domain_fid", "--domain-fid"),
                    ("dataset", "--dataset"),
                ],
            )
        }
        ExperimentCmd::MvGaussian(a) => {
            let dataset = Dataset::from_name(&a.dataset).map_err(flags(&[("dataset", "--dataset")]))?;
            let mut exp = MvGaussianExperiment::new(dataset);
            exp.methods = a.methods;
            exp.width = a.width;
            exp.data = a.data.source(exp.data.limit);
            a.common.drive(exp, &[("dataset", "--dataset"), ("limit", "--limit")])
        }
        ExperimentCmd::OtBenchmark(a) => {
            let families = a.families.iter().map(|f| PairFamily::from_name(f)).collect::<wgflow::Result<Vec<_>>>();
            let mut exp = OtBenchmarkExperiment::new().dims(&a.dims);
            exp.families = families.map_err(flags(&[("pair", "--families")]))?;
            exp.methods = a.methods;
            exp.test_size = a.test_size;
            exp.pair_seed = a.pair_seed;
            exp.seeds = a.seeds;
            a.common.drive(
                exp,
                &[("families", "--families"), ("dims", "--dims"), ("test_size", "--test-size"), ("seeds", "--seeds")],
            )
        }
        ExperimentCmd::TwoDelta(a) => {
            let exp = TwoDeltaExperiment { alpha: a.alpha, h: a.h, steps: a.steps, ..TwoDeltaExperiment::default() };
            exp.check().map_err(flags(&[("alpha", "--alpha"), ("h", "--h")]))?;
            let opts = wgflow::experiments::DriverOptions::on(tch::Device::Cpu).quiet();
            drive(&exp, &a.out, &opts)
        }
    }
}
