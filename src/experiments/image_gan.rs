//! Image generation with DCGAN networks, scored against wall-clock (001's
//! CIFAR-10 comparison of W1-FE and WGAN-GP over the persistency K; 002 §3,
//! Fig. 2, 4, 5: RWP and SBE on Standard GAN, WGAN-GP and DRAGAN).
//!
//! Every method of [`crate::config::METHODS`] runs on the same data with the DCGAN
//! pair of [`crate::nets::dcgan`]: generator `z ~ N(0, I_latent) → C×S×S`
//! images in [−1, 1], critic without batch norm. Settings per critic, 002
//! App. C (REFERENCE.md):
//!
//! * W1 critics (WGAN-GP, W1-FE, RWP on WGAN-GP): Adam lr 1e-4,
//!   β = (0.5, 0.9), latent 128, 5 critic steps per generator phase;
//! * GAN critics (Standard GAN, DRAGAN and their RWP): Adam lr 2e-4,
//!   β = (0.1, 0.999), latent 100, 1 discriminator step;
//! * SBE on WGAN-GP (App. G): Adam lr 2e-4, β = (0.1, 0.999) for the
//!   generator, the critic and Φ_p, latent 100, 5 critic steps;
//! * batch 64.
//!
//! Every `eval_every` epochs the experiment records the trainer's seconds
//! (evaluation excluded), the exact W2 between generated and data images in
//! pixel space (the trainer's own evaluation, `eval_size` against
//! `eval_size`) and, when a [`FidSpec`] is given, the FID of
//! `fid.samples` generated images against the statistics of the data's
//! training images (pytorch-fid's network and formula, [`crate::metrics::fid`]),
//! and, when a [`DomainFidSpec`] is given, the domain FID and KID of
//! `domain_fid.samples` generated images against the data's training images
//! in the features of the project's own classifier of the data set
//! ([`crate::metrics::domain`]: "FID (fashion-mnist classifier)", a different
//! network and scale from Inception FID; the score of these experiments
//! where pytorch-fid's weights cannot be had).
//! One epoch of the trainer is one outer iteration of the papers.

use super::{check_ks, check_methods, grid_runs, to_strings, DataSource, Experiment, FinishedRun, Report, RunSpec};
use crate::config::{preset, RunConfig};
use crate::data::{DataSpec, Dataset, Distribution, NormalSpec};
use crate::error::{Error, Result};
use crate::metrics::domain::{ClassifierOptions, DomainClassifier};
use crate::metrics::fid::{features, frechet_distance, generated_features, generator_features, kid, KidOptions, Stats};
use crate::metrics::inception::FidInception;
use crate::nets::{DcganConfig, NetConfig};
use crate::optim::AdamConfig;
use crate::plot::{Figure, ImageGrid, LineChart, Series};
use crate::train::{Evaluator, Trainer};
use serde::{Deserialize, Serialize};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::rc::Rc;
use tch::{Device, Tensor};

/// Which Inception weights FID uses.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FidWeights {
    /// pytorch-fid's weights from the cache, downloaded when absent
    /// ([`crate::metrics::fid::official_weights`]): the real FID.
    Official,
    /// A weights file in torch's zip format.
    File(PathBuf),
    /// An untrained network drawn with this seed: not an FID anyone
    /// reports, but the same path (for tests without the weights).
    Untrained(u64),
}

/// FID at every evaluation: the network and how many images it sees.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FidSpec {
    pub weights: FidWeights,
    /// Generated images per evaluation (002: 10,000).
    pub samples: i64,
    /// Data images the reference statistics are computed from (`None`: the
    /// whole training split, after `limit`).
    pub reference: Option<i64>,
    /// Images per Inception forward pass.
    pub batch_size: i64,
}

impl FidSpec {
    fn network(&self, device: Device) -> Result<FidInception> {
        match &self.weights {
            FidWeights::Official => FidInception::load(crate::metrics::fid::official_weights()?, device),
            FidWeights::File(p) => FidInception::load(p, device),
            FidWeights::Untrained(seed) => {
                tch::manual_seed(*seed as i64);
                Ok(FidInception::untrained(device))
            }
        }
    }
}

/// The domain FID and KID at every evaluation ([`crate::metrics::domain`]):
/// the classifier of the experiment's data set and how many images it sees.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DomainFidSpec {
    /// How the classifier is trained (it is trained once and cached).
    pub classifier: ClassifierOptions,
    /// Generated images per evaluation.
    pub samples: i64,
    /// Training images the reference features come from (`None`: all, after `limit`).
    pub reference: Option<i64>,
    /// KID subsets per evaluation (of ≤ 1,000 images each; 0: no KID).
    pub kid_subsets: usize,
}

impl DomainFidSpec {
    /// The default classifier, `samples` generated images against 10,000
    /// training images, KID over 100 subsets.
    pub fn new(samples: i64) -> Self {
        DomainFidSpec { classifier: ClassifierOptions::default(), samples, reference: Some(10_000), kid_subsets: 100 }
    }
}

/// The experiment's settings.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ImageGanExperiment {
    pub dataset: Dataset,
    /// Method presets ([`crate::config::METHODS`]).
    pub methods: Vec<String>,
    /// Persistency levels K (or RWP's ℓ) per method; with more than one the
    /// runs are named `METHOD-kK`. Empty: each preset's own.
    pub ks: Vec<usize>,
    /// Networks and schedule; data, critic and step come from the
    /// experiment and the presets, optimizers and latent size from the
    /// critic's kind (module docs).
    pub base: RunConfig,
    /// Evaluations per run (`train.eval_every` = epochs / this).
    pub evaluations: usize,
    /// Where the images come from.
    pub data: DataSource,
    /// FID at every evaluation; `None`: pixel W2 only.
    pub fid: Option<FidSpec>,
    /// The domain FID and KID at every evaluation; `None`: not computed.
    #[serde(default)]
    pub domain_fid: Option<DomainFidSpec>,
}

/// One evaluation of one run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ScoreRow {
    pub epoch: usize,
    /// Training seconds (evaluation excluded).
    pub seconds: f64,
    /// Exact W2 between `eval_size` generated and data images, pixels in [−1, 1].
    pub w2: f64,
    /// FID, when the experiment computes it.
    pub fid: Option<f64>,
    /// The domain FID ([`crate::metrics::domain`]), when the experiment computes it.
    #[serde(default)]
    pub domain_fid: Option<f64>,
    /// The domain KID (mean over subsets), when the experiment computes it.
    #[serde(default)]
    pub domain_kid: Option<f64>,
}

/// The evaluations of every run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ImageGanSummary {
    pub dataset: String,
    /// Per run, its evaluations in order.
    pub runs: Vec<(String, Vec<ScoreRow>)>,
}

impl ImageGanSummary {
    /// Whether the rows carry FIDs.
    pub fn has_fid(&self) -> bool {
        self.runs.iter().any(|(_, rows)| rows.iter().any(|r| r.fid.is_some()))
    }

    /// Whether the rows carry domain FIDs.
    pub fn has_domain_fid(&self) -> bool {
        self.runs.iter().any(|(_, rows)| rows.iter().any(|r| r.domain_fid.is_some()))
    }

    /// The score the charts and table use: Inception FID if computed, else
    /// the domain FID (`FID (fashion-mnist classifier)`), else pixel W2.
    pub fn score_name(&self) -> String {
        if self.has_fid() {
            "FID".into()
        } else if self.has_domain_fid() {
            format!("FID ({} classifier)", self.dataset)
        } else {
            "pixel W2".into()
        }
    }

    fn score(&self, r: &ScoreRow) -> f64 {
        if self.has_fid() {
            r.fid.unwrap_or(f64::NAN)
        } else if self.has_domain_fid() {
            r.domain_fid.unwrap_or(f64::NAN)
        } else {
            r.w2
        }
    }

    /// `wgan-gp 24.000 (best 23.270), …`: every run's final and best score.
    pub fn final_scores(&self) -> String {
        let f = |(m, rows): &(String, Vec<ScoreRow>)| {
            let best = rows.iter().map(|r| self.score(r)).fold(f64::INFINITY, f64::min);
            format!("{m} {:.3} (best {best:.3})", rows.last().map_or(f64::NAN, |r| self.score(r)))
        };
        self.runs.iter().map(f).collect::<Vec<_>>().join(", ")
    }

    /// The last row of run `name`.
    pub fn last(&self, name: &str) -> Option<&ScoreRow> {
        self.runs.iter().find(|r| r.0 == name).and_then(|r| r.1.last())
    }

    /// The score the table uses (FID if computed, else pixel W2) of a row.
    pub fn score_of(&self, r: &ScoreRow) -> f64 {
        self.score(r)
    }

    /// Markdown: per run the first, final and best score, and the seconds.
    pub fn table(&self) -> String {
        let name = self.score_name();
        // The domain KID beside the domain FID, when computed.
        let kid = !self.has_fid() && self.runs.iter().any(|(_, rows)| rows.iter().any(|r| r.domain_kid.is_some()));
        let mut s = format!(
            "{} on {}\n\n| run | first {name} | final {name} | best {name} | at epoch | seconds |{}\n|---|---|---|---|---|---|{}\n",
            name,
            self.dataset,
            if kid { " final KID |" } else { "" },
            if kid { "---|" } else { "" }
        );
        for (m, rows) in &self.runs {
            let best = rows.iter().min_by(|a, b| self.score(a).total_cmp(&self.score(b)));
            if let (Some(first), Some(last), Some(best)) = (rows.first(), rows.last(), best) {
                let _ = write!(
                    s,
                    "| {m} | {:.3} | {:.3} | {:.3} | {} | {:.1} |",
                    self.score(first),
                    self.score(last),
                    self.score(best),
                    best.epoch,
                    last.seconds
                );
                if kid {
                    let _ = write!(s, " {:.3} |", last.domain_kid.unwrap_or(f64::NAN));
                }
                s.push('\n');
            }
        }
        s
    }

    /// The score against epochs (`wall_clock = false`, 001) or training
    /// seconds (`true`, 002 Fig. 2).
    pub fn chart(&self, wall_clock: bool) -> LineChart {
        let name = self.score_name();
        let xlabel = if wall_clock { "training seconds" } else { "epoch" };
        let mut c = LineChart::new(format!("{}: {name}", self.dataset), xlabel, name.clone());
        for (m, rows) in &self.runs {
            let x = rows.iter().map(|r| if wall_clock { r.seconds } else { r.epoch as f64 }).collect();
            c = c.with(Series::new(m.clone(), x, rows.iter().map(|r| self.score(r)).collect()));
        }
        c
    }
}

impl Report for ImageGanSummary {
    fn markdown(&self) -> String {
        self.table()
    }

    fn save_figures(&self, out: &Path) -> Result<()> {
        self.chart(false).save(out.join("score-epochs.svg"))?;
        self.chart(true).save(out.join("score-seconds.svg"))
    }
}

impl ImageGanExperiment {
    /// CIFAR-10 with the DCGAN pair (width 64, 32×32×3), WGAN-GP and W1-FE-GP
    /// (001), 20,000 outer iterations, 10 evaluations.
    pub fn new() -> Self {
        let net = DcganConfig::default();
        let base = RunConfig {
            source: Distribution::Normal(NormalSpec { normal: vec![net.latent], std: 1.0 }),
            generator: net.clone().into(),
            critic: crate::critic::CriticConfig::W1 {
                net: net.into(),
                constraint: crate::critic::Constraint::Gp { lambda: 10.0 },
            },
            ..RunConfig::default()
        }
        .epochs(20_000)
        .batch_size(64)
        .critic_iters(5)
        .eval_size(256);
        ImageGanExperiment {
            dataset: Dataset::Cifar10,
            methods: vec!["wgan-gp".into(), "w1fe-gp".into()],
            ks: vec![],
            base,
            evaluations: 10,
            data: DataSource::default(),
            fid: None,
            domain_fid: None,
        }
    }

    setters! {
        /// The methods to compare.
        methods(methods: &[&str]) => methods = to_strings(methods);
        /// The persistency levels of every method.
        ks(ks: Vec<usize>) => ks;
    }

    /// The DCGAN pair at `width` (both networks).
    pub fn width(mut self, width: i64) -> Self {
        let net = DcganConfig { width, ..DcganConfig::default() };
        self.base.generator = net.clone().into();
        *self.base.critic.net_mut() = net.into();
        self
    }

    /// Small networks and data for the CIFAR-10 stand-in on a CPU: the DCGAN
    /// pair at `width`, the first `limit` training images.
    pub fn standin_schedule(self, width: i64, limit: usize) -> Self {
        self.width(width).limit(limit)
    }

    /// The run config of method `m` (with persistency `k`): the preset, then
    /// the optimizers, latent size and critic steps of its critic's kind.
    pub fn config_for(&self, m: &str, k: Option<usize>) -> Result<RunConfig> {
        let mut base = self.base.clone();
        base.target = Distribution::Data(self.images());
        base.train.eval_every = (base.train.epochs / self.evaluations.max(1)).max(1);
        // The DCGAN pair at the data's channels and (resized) side.
        let (channels, image_size) = (self.dataset.image_shape()[0], dcgan_side(self.dataset));
        if let NetConfig::Dcgan(g) = &mut base.generator {
            (g.channels, g.image_size) = (channels, image_size);
        }
        if let NetConfig::Dcgan(c) = base.critic.net_mut() {
            (c.channels, c.image_size) = (channels, image_size);
        }
        if let Some(k) = k {
            base.step = base.step.with_k(k);
        }
        let mut cfg = preset(m, &base)?;
        if let Some(k) = k {
            cfg.step = cfg.step.with_k(k);
        }
        let gan = matches!(cfg.critic, crate::critic::CriticConfig::Gan { .. });
        let sbe = matches!(cfg.step, crate::flow::StepConfig::SemiBackward { .. });
        let app_g = AdamConfig { lr: 2e-4, beta1: 0.1, beta2: 0.999, ..AdamConfig::default() };
        let (adam, latent, critic_iters) = if gan {
            (app_g, 100, 1)
        } else if sbe {
            (app_g, 100, self.base.train.critic_iters)
        } else {
            (
                AdamConfig { lr: 1e-4, beta1: 0.5, beta2: 0.9, ..AdamConfig::default() },
                128,
                self.base.train.critic_iters,
            )
        };
        cfg.train.generator_opt = adam;
        cfg.train.critic_opt = adam;
        cfg.train.critic_iters = critic_iters;
        if let NetConfig::Dcgan(g) = &mut cfg.generator {
            g.latent = latent;
            cfg.source = Distribution::Normal(NormalSpec { normal: vec![latent], std: 1.0 });
        }
        Ok(cfg)
    }

    /// The training images, the first `limit`, resized to a side the DCGAN
    /// makes ([`dcgan_side`]): the runs' target.
    fn images(&self) -> DataSpec {
        let spec = self.data.spec(self.dataset);
        let side = dcgan_side(self.dataset);
        if side == self.dataset.image_shape()[1] {
            spec
        } else {
            spec.resize(side)
        }
    }

    /// The domain classifier and the reference features of the data's
    /// training images (at the DCGAN side, as the samples are).
    fn domain_context(&self, f: &DomainFidSpec, device: Device) -> Result<DomainContext> {
        // Trained on the experiment's own data (cached by the data set's name).
        let root = self.data.dir.clone().unwrap_or_else(|| self.dataset.root(None));
        let cache = crate::data::data_root(None).join("classifiers");
        let classifier = DomainClassifier::cached_in(&cache, self.dataset, &root, &f.classifier, device)?;
        let mut set = self.images().load_images(device)?;
        if let Some(n) = f.reference {
            set = set.take(n as usize);
        }
        let reference = classifier.features(&set.images)?;
        Ok(DomainContext {
            stats: Rc::new(Stats::from_features(&reference)?),
            reference: Rc::new(reference),
            classifier: Rc::new(classifier),
            spec: f.clone(),
        })
    }

    /// The FID reference statistics of the data's training images.
    fn reference_stats(&self, net: &FidInception, f: &FidSpec, device: Device) -> Result<Stats> {
        let mut set = self.images().load_images(device)?;
        if let Some(n) = f.reference {
            set = set.take(n as usize);
        }
        // [−1, 1] → [0, 1], what the FID network takes.
        let images = set.images.f_add_scalar(1.0)?.f_mul_scalar(0.5)?;
        Stats::from_features(&features(net, &images, f.batch_size)?)
    }
}

impl Default for ImageGanExperiment {
    fn default() -> Self {
        Self::new()
    }
}

/// What the evaluators share across runs: FID's network and the data's
/// reference statistics, the domain classifier and its reference features.
#[derive(Default)]
pub struct ImageGanContext {
    fid: Option<FidContext>,
    domain: Option<DomainContext>,
}

/// FID's network and the data's reference statistics, shared by the runs.
struct FidContext {
    net: Rc<FidInception>,
    reference: Rc<Stats>,
    spec: FidSpec,
}

/// The domain classifier and the data's reference features.
struct DomainContext {
    classifier: Rc<DomainClassifier>,
    reference: Rc<Tensor>,
    stats: Rc<Stats>,
    spec: DomainFidSpec,
}

/// The domain FID and KID of `spec.samples` generated images against the
/// reference, from the same latent draws at every evaluation.
struct DomainFidEvaluator {
    ctx: DomainContext,
    seed: u64,
}

impl Evaluator for DomainFidEvaluator {
    fn evaluate(&mut self, t: &Trainer) -> Result<Vec<(String, f64)>> {
        let latent = t.config().source.dim()?;
        let device = t.device();
        tch::manual_seed(self.seed as i64 ^ 0x0d0f);
        let generate = |k: i64| Ok(t.generate(&Tensor::f_randn([k, latent], (tch::Kind::Float, device))?));
        let classifier = &self.ctx.classifier;
        let feats =
            generated_features(generate, self.ctx.spec.samples, 500, |x| classifier.features(&x.f_clamp(-1.0, 1.0)?))?;
        let mut out = vec![("domain_fid".into(), frechet_distance(&Stats::from_features(&feats)?, &self.ctx.stats)?)];
        if self.ctx.spec.kid_subsets > 0 {
            let opts = KidOptions { subsets: self.ctx.spec.kid_subsets, seed: self.seed, ..KidOptions::default() };
            out.push(("domain_kid".into(), kid(&feats, &self.ctx.reference, &opts)?.0));
        }
        Ok(out)
    }
}

/// The FID of `spec.samples` generated images against the reference: the
/// same latent draws at every evaluation (training reseeds every epoch, so
/// this does not disturb it).
struct FidEvaluator {
    net: Rc<FidInception>,
    reference: Rc<Stats>,
    spec: FidSpec,
    seed: u64,
}

impl Evaluator for FidEvaluator {
    fn evaluate(&mut self, t: &Trainer) -> Result<Vec<(String, f64)>> {
        let latent = t.config().source.dim()?;
        let device = t.device();
        tch::manual_seed(self.seed as i64 ^ 0x0f1d);
        let generate = |k: i64| Ok(t.generate(&Tensor::f_randn([k, latent], (tch::Kind::Float, device))?));
        let feats = generator_features(&self.net, generate, self.spec.samples, self.spec.batch_size)?;
        Ok(vec![("fid".into(), frechet_distance(&Stats::from_features(&feats)?, &self.reference)?)])
    }
}

impl Experiment for ImageGanExperiment {
    const KIND: &'static str = "image-gan";
    type Context = ImageGanContext;
    type Summary = ImageGanSummary;

    fn validate(&self) -> Result<()> {
        check_methods(&self.methods, "methods")?;
        check_ks(&self.ks, "ks", true)?;
        self.data.validate(1)?;
        if self.evaluations == 0 {
            return Err(Error::config("evaluations", "must be ≥ 1, got 0"));
        }
        if let Some(f) = &self.domain_fid {
            if f.samples < 2 || f.reference.is_some_and(|r| r < 2) || f.classifier.epochs == 0 {
                return Err(Error::config(
                    "domain_fid",
                    format!(
                        "needs samples ≥ 2, reference ≥ 2 and classifier.epochs ≥ 1, got {}, {:?}, {}",
                        f.samples, f.reference, f.classifier.epochs
                    ),
                ));
            }
        }
        if let Some(f) = &self.fid {
            if f.samples < 2 || f.batch_size < 1 || f.reference.is_some_and(|r| r < 2) {
                return Err(Error::config(
                    "fid",
                    format!(
                        "needs samples ≥ 2, reference ≥ 2 and batch_size ≥ 1, got {}, {:?}, {}",
                        f.samples, f.reference, f.batch_size
                    ),
                ));
            }
        }
        Ok(())
    }

    fn runs(&self) -> Result<Vec<RunSpec>> {
        grid_runs(&self.methods, &self.ks, |m, k| self.config_for(m, k))
    }

    fn context(&self, device: Device) -> Result<ImageGanContext> {
        let mut ctx = ImageGanContext::default();
        if let Some(f) = &self.fid {
            let net = f.network(device)?;
            let reference = self.reference_stats(&net, f, device)?;
            ctx.fid = Some(FidContext { net: Rc::new(net), reference: Rc::new(reference), spec: f.clone() });
        }
        if let Some(f) = &self.domain_fid {
            ctx.domain = Some(self.domain_context(f, device)?);
        }
        Ok(ctx)
    }

    fn evaluators(&self, ctx: &ImageGanContext, run: &RunSpec) -> Result<Vec<Box<dyn Evaluator>>> {
        let mut out: Vec<Box<dyn Evaluator>> = vec![];
        if let Some(c) = &ctx.fid {
            out.push(Box::new(FidEvaluator {
                net: Rc::clone(&c.net),
                reference: Rc::clone(&c.reference),
                spec: c.spec.clone(),
                seed: run.config.train.seed,
            }));
        }
        if let Some(c) = &ctx.domain {
            let ctx = DomainContext {
                classifier: Rc::clone(&c.classifier),
                reference: Rc::clone(&c.reference),
                stats: Rc::clone(&c.stats),
                spec: c.spec.clone(),
            };
            out.push(Box::new(DomainFidEvaluator { ctx, seed: run.config.train.seed }));
        }
        Ok(out)
    }

    /// Also writes each run's `samples.png`: 64 images from its fixed latent codes.
    fn summarise(&self, _ctx: &ImageGanContext, runs: &[FinishedRun], device: Device) -> Result<ImageGanSummary> {
        let mut summary = ImageGanSummary { dataset: self.dataset.name().into(), runs: vec![] };
        for r in runs {
            let t = crate::runs::load_trainer(&r.dir, device)?;
            let z = t.fixed_samples().0;
            let z = z.narrow(0, 0, z.size()[0].min(64));
            ImageGrid::from_tensor(&t.generate(&z).clamp(-1.0, 1.0), 8)?.save(r.dir.join("samples.png"))?;
            let rows = r
                .history
                .rows
                .iter()
                .map(|row| ScoreRow {
                    epoch: row.epoch,
                    seconds: row.seconds,
                    w2: row.w2,
                    fid: row.metric("fid"),
                    domain_fid: row.metric("domain_fid"),
                    domain_kid: row.metric("domain_kid"),
                })
                .collect();
            summary.runs.push((r.spec.name.clone(), rows));
        }
        Ok(summary)
    }

    fn base_mut(&mut self) -> Option<&mut RunConfig> {
        Some(&mut self.base)
    }

    fn data_mut(&mut self) -> Option<&mut DataSource> {
        Some(&mut self.data)
    }
}

/// The image side the DCGAN pair is built for on `ds`: the data's own side
/// when it is 4·2^s (CIFAR-10 32, USPS 16), else the next such side the
/// images are resized to (MNIST and Fashion-MNIST 28 → 32, as DCGAN
/// implementations on MNIST do).
pub fn dcgan_side(ds: crate::data::Dataset) -> i64 {
    let side = ds.image_shape()[1];
    let mut s = 8;
    while s < side {
        s *= 2;
    }
    s
}
