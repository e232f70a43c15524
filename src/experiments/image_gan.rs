//! Image generation with DCGAN networks, scored against wall-clock (001's
//! CIFAR-10 comparison of W1-FE and WGAN-GP over the persistency K; 002 §3,
//! Fig. 2, 4, 5: RWP and SBE on Standard GAN, WGAN-GP and DRAGAN).
//!
//! Every method of [`super::methods`] runs on the same data with the DCGAN
//! pair of [`crate::nets::dcgan`]: generator `z ~ N(0, I_latent) → C×S×S`
//! images in [−1, 1], critic without batch norm. Settings per critic, 002
//! App. C (REFERENCE.md):
//!
//! * W1 critics (WGAN-GP, W1-FE, RWP on WGAN-GP, SBE): Adam lr 1e-4,
//!   β = (0.5, 0.9), latent 128, 5 critic steps per generator phase;
//! * GAN critics (Standard GAN, DRAGAN and their RWP): Adam lr 2e-4,
//!   β = (0.1, 0.999), latent 100, 1 discriminator step;
//! * batch 64.
//!
//! Every `eval_every` epochs the experiment records the trainer's seconds
//! (evaluation excluded), the exact W2 between generated and data images in
//! pixel space (the trainer's own evaluation, `eval_size` against
//! `eval_size`) and, when [`FidSettings`] are given, the FID of
//! `fid.samples` generated images against the statistics of the data's
//! training images (pytorch-fid's network and formula, [`crate::metrics::fid`]).
//! One epoch of the trainer is one outer iteration of the papers.

use super::methods::preset;
use crate::data::{data_root, DataSpec, Dataset, Distribution, Download, FetchOptions, NormalSpec, Split};
use crate::error::{Error, Result};
use crate::metrics::fid::{features, frechet_distance, generator_features, Stats};
use crate::metrics::inception::FidInception;
use crate::nets::{DcganConfig, NetConfig};
use crate::optim::AdamConfig;
use crate::plot::{Figure, ImageGrid, LineChart, Series};
use crate::train::{RunConfig, Trainer};
use serde::{Deserialize, Serialize};
use std::fmt::Write as _;
use std::path::PathBuf;
use tch::{Device, Tensor};

/// Where FID's network comes from and how many images it sees.
#[derive(Debug)]
pub struct FidSettings {
    /// The Inception network with its weights ([`FidInception::load`] of
    /// [`crate::metrics::fid::official_weights`] for real FIDs).
    pub net: FidInception,
    /// Generated images per evaluation (002: 10,000).
    pub samples: i64,
    /// Data images the reference statistics are computed from (`None`: the
    /// whole training split, after `limit`).
    pub reference: Option<i64>,
    /// Images per Inception forward pass.
    pub batch_size: i64,
}

/// The experiment's settings.
#[derive(Debug)]
pub struct ImageGanExperiment {
    pub dataset: Dataset,
    /// Method presets ([`crate::experiments::methods`]).
    pub methods: Vec<String>,
    /// Persistency levels K (or RWP's ℓ) per method; with more than one the
    /// runs are named `METHOD-kK`. Empty: each preset's own.
    pub ks: Vec<usize>,
    /// Data, networks and schedule; critic and step come from the presets,
    /// optimizers and latent size from the critic's kind (module docs).
    pub base: RunConfig,
    /// Data root (`None`: `$WGFLOW_DATA`, else `data/`).
    pub data_dir: Option<PathBuf>,
    pub download: bool,
    /// Use only the first `limit` training images.
    pub limit: Option<usize>,
    /// FID at every evaluation; `None`: pixel W2 only.
    pub fid: Option<FidSettings>,
    pub out: PathBuf,
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

    /// The score the charts and table use: FID if computed, else pixel W2.
    pub fn score_name(&self) -> &'static str {
        if self.has_fid() {
            "FID"
        } else {
            "pixel W2"
        }
    }

    fn score(&self, r: &ScoreRow) -> f64 {
        r.fid.unwrap_or(r.w2)
    }

    /// Markdown: per run the first, final and best score, and the seconds.
    pub fn table(&self) -> String {
        let name = self.score_name();
        let mut s = format!(
            "{} on {}\n\n| run | first {name} | final {name} | best {name} | at epoch | seconds |\n|---|---|---|---|---|---|\n",
            name, self.dataset
        );
        for (m, rows) in &self.runs {
            let best = rows.iter().min_by(|a, b| self.score(a).total_cmp(&self.score(b)));
            if let (Some(first), Some(last), Some(best)) = (rows.first(), rows.last(), best) {
                let _ = writeln!(
                    s,
                    "| {m} | {:.3} | {:.3} | {:.3} | {} | {:.1} |",
                    self.score(first),
                    self.score(last),
                    self.score(best),
                    best.epoch,
                    last.seconds
                );
            }
        }
        s
    }

    /// The score against epochs (`wall_clock = false`, 001) or training
    /// seconds (`true`, 002 Fig. 2).
    pub fn chart(&self, wall_clock: bool) -> LineChart {
        let name = self.score_name();
        let xlabel = if wall_clock { "training seconds" } else { "epoch" };
        let mut c = LineChart::new(format!("{}: {name}", self.dataset), xlabel, name);
        for (m, rows) in &self.runs {
            let x = rows.iter().map(|r| if wall_clock { r.seconds } else { r.epoch as f64 }).collect();
            c = c.with(Series::new(m.clone(), x, rows.iter().map(|r| self.score(r)).collect()));
        }
        c
    }
}

impl ImageGanExperiment {
    /// CIFAR-10 with the DCGAN pair (width 64, 32×32×3), WGAN-GP and W1-FE-GP
    /// (001), `epochs` outer iterations, evaluated every `epochs / 10`.
    pub fn new(epochs: usize, out: impl Into<PathBuf>) -> Self {
        let net = DcganConfig::default();
        let mut base = RunConfig {
            source: Distribution::Normal(NormalSpec { normal: vec![net.latent], std: 1.0 }),
            generator: net.clone().into(),
            critic: crate::critic::CriticConfig::W1 {
                net: net.into(),
                constraint: crate::critic::Constraint::Gp { lambda: 10.0 },
            },
            ..RunConfig::default()
        };
        base.train.epochs = epochs;
        base.train.batch_size = 64;
        base.train.critic_iters = 5;
        base.train.eval_every = (epochs / 10).max(1);
        base.train.eval_size = 256;
        let mut exp = ImageGanExperiment {
            dataset: Dataset::Cifar10,
            methods: vec!["wgan-gp".into(), "w1fe-gp".into()],
            ks: vec![],
            base,
            data_dir: None,
            download: true,
            limit: None,
            fid: None,
            out: out.into(),
        };
        exp.set_data();
        exp
    }

    /// Points the base config's target at the data set (call after changing
    /// `dataset`, `data_dir`, `download` or `limit`).
    pub fn set_data(&mut self) {
        self.base.target = Distribution::Data(DataSpec {
            limit: self.limit,
            dir: self.data_dir.clone(),
            download: self.download,
            ..DataSpec::new(self.dataset)
        });
    }

    /// `(name, method, K)` of every run, in order.
    pub fn runs(&self) -> Vec<(String, String, Option<usize>)> {
        let mut v = vec![];
        for m in &self.methods {
            if self.ks.is_empty() {
                v.push((m.clone(), m.clone(), None));
            }
            for &k in &self.ks {
                let name = if self.ks.len() > 1 { format!("{m}-k{k}") } else { m.clone() };
                v.push((name, m.clone(), Some(k)));
            }
        }
        v
    }

    /// The run config of method `m` (with persistency `k`): the preset, then
    /// the optimizers, latent size and critic steps of its critic's kind.
    pub fn config_for(&self, m: &str, k: Option<usize>) -> Result<RunConfig> {
        let mut base = self.base.clone();
        if let Some(k) = k {
            base.step = base.step.with_k(k);
        }
        let mut cfg = preset(m, &base)?;
        if let Some(k) = k {
            cfg.step = cfg.step.with_k(k);
        }
        let gan = matches!(cfg.critic, crate::critic::CriticConfig::Gan { .. });
        let (adam, latent, critic_iters) = if gan {
            (AdamConfig { lr: 2e-4, beta1: 0.1, beta2: 0.999, ..AdamConfig::default() }, 100, 1)
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
        cfg.validate()?;
        Ok(cfg)
    }

    /// Checks the methods and every run's config.
    pub fn validate(&self) -> Result<()> {
        if self.methods.is_empty() {
            return Err(Error::config("methods", "give at least one method"));
        }
        if self.ks.contains(&0) {
            return Err(Error::config("k", format!("persistency levels must be ≥ 1, got {:?}", self.ks)));
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
        for (_, m, k) in self.runs() {
            self.config_for(&m, k)?;
        }
        Ok(())
    }

    /// The FID reference statistics of the data's training images.
    pub fn reference_stats(&self, device: Device) -> Result<Option<Stats>> {
        let Some(f) = &self.fid else { return Ok(None) };
        let root = data_root(self.data_dir.as_deref());
        let opts = FetchOptions {
            download: if self.download { Download::IfMissing } else { Download::Never },
            ..FetchOptions::download()
        };
        let mut set = self.dataset.load(&root, Split::Train, &opts, device)?;
        if let Some(n) = self.limit {
            set = set.take(n);
        }
        if let Some(n) = f.reference {
            set = set.take(n as usize);
        }
        // [−1, 1] → [0, 1], what the FID network takes.
        let images = set.images.f_add_scalar(1.0)?.f_mul_scalar(0.5)?;
        Ok(Some(Stats::from_features(&features(&f.net, &images, f.batch_size)?)?))
    }

    /// Runs every method; writes per run `RUN/{config.toml,history.csv,
    /// scores.csv,samples.png}` (64 images from the trainer's fixed latent
    /// codes) and `score-epochs.svg`, `score-seconds.svg`, `summary.md`,
    /// `summary.json`. `progress` sees the run's name, the trainer and the
    /// latest row.
    pub fn run(&self, device: Device, progress: impl FnMut(&str, &Trainer, &ScoreRow)) -> Result<ImageGanSummary> {
        Ok(self.run_with_trainers(device, progress)?.0)
    }

    /// [`Self::run`], also returning every run's trained [`Trainer`] (for
    /// samples and latent walks).
    pub fn run_with_trainers(
        &self,
        device: Device,
        mut progress: impl FnMut(&str, &Trainer, &ScoreRow),
    ) -> Result<(ImageGanSummary, Vec<(String, Trainer)>)> {
        self.validate()?;
        crate::io::create_dir_all(&self.out)?;
        let reference = self.reference_stats(device)?;
        let mut summary = ImageGanSummary { dataset: self.dataset.name().into(), runs: vec![] };
        let mut trainers = vec![];
        for (name, method, k) in self.runs() {
            let cfg = self.config_for(&method, k)?;
            let dir = self.out.join(&name);
            crate::io::create_dir_all(&dir)?;
            crate::io::write_atomic(dir.join("config.toml"), cfg.to_toml()?.as_bytes())?;
            let latent = cfg.source.dim()?;
            let seed = cfg.train.seed;
            let mut t = Trainer::new(cfg, device)?;
            let mut rows = Vec::new();
            t.run(|t, row| {
                let fid = match (&self.fid, &reference) {
                    (Some(f), Some(stats)) => {
                        // The same latent draws at every evaluation; training
                        // reseeds every epoch, so this does not disturb it.
                        tch::manual_seed(seed as i64 ^ 0x0f1d);
                        let generate =
                            |k: i64| Ok(t.generate(&Tensor::f_randn([k, latent], (tch::Kind::Float, device))?));
                        let feats = generator_features(&f.net, generate, f.samples, f.batch_size)?;
                        Some(frechet_distance(&Stats::from_features(&feats)?, stats)?)
                    }
                    _ => None,
                };
                let r = ScoreRow { epoch: row.epoch, seconds: row.seconds, w2: row.w2, fid };
                progress(&name, t, &r);
                rows.push(r);
                Ok(())
            })?;
            t.history().save_csv(dir.join("history.csv"))?;
            crate::io::write_csv(&rows, dir.join("scores.csv"))?;
            let z = t.fixed_samples().0;
            let z = z.narrow(0, 0, z.size()[0].min(64));
            ImageGrid::from_tensor(&t.generate(&z).clamp(-1.0, 1.0), 8)?.save(dir.join("samples.png"))?;
            summary.runs.push((name.clone(), rows));
            trainers.push((name, t));
        }
        summary.chart(false).save(self.out.join("score-epochs.svg"))?;
        summary.chart(true).save(self.out.join("score-seconds.svg"))?;
        crate::io::write_atomic(self.out.join("summary.md"), summary.table().as_bytes())?;
        let json = serde_json::to_string_pretty(&summary).map_err(|e| Error::input(e.to_string()))?;
        crate::io::write_atomic(self.out.join("summary.json"), json.as_bytes())?;
        Ok((summary, trainers))
    }
}
