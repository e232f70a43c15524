//! Domain adaptation between digit sets by transport (000 §5 Fig. 3, 004 §6.3
//! Table 1): learn a map G from the source images (USPS, 16×16) to the target
//! domain (MNIST resized to 16×16, or the other way round), then classify the
//! target's test images by 1-nearest-neighbour against `G(source training
//! images)` labelled with the *source* labels. No target label is used in
//! training; the accuracy says how well G moves each source digit onto target
//! digits of the same class.
//!
//! The **source baseline** is the same 1-NN fitted on the untransported source
//! images (004 Table 1 "Source": 33.31 % USPS→MNIST, 70.05 % MNIST→USPS).
//!
//! Settings are the authors' `exp_da` (REFERENCE.md; 004 App. 8.9.3): batch
//! 64, Adam lr 1e-4 with β = (0, 0.9), 5 critic steps, λ = 10; critic MLP
//! 256-200-500-1; generator 256-200-500-256 with batch norm and ReLU, output
//! `z + 2·tanh(H(z))`; accuracy every 100 iterations (one iteration = one
//! epoch of the trainer).

use super::methods::preset;
use crate::data::{data_root, DataSpec, Dataset, Distribution, Download, FetchOptions, Split};
use crate::error::{Error, Result};
use crate::metrics::knn::{transported_accuracy, OneNn};
use crate::nets::{Activation, Init, MlpConfig};
use crate::optim::AdamConfig;
use crate::plot::{Figure, LineChart, Series};
use crate::train::{RunConfig, Trainer};
use serde::{Deserialize, Serialize};
use std::fmt::Write as _;
use std::path::PathBuf;
use tch::{Device, Tensor};

/// The side of the images both domains are brought to.
pub const SIDE: i64 = 16;

/// The experiment's settings.
#[derive(Clone, Debug)]
pub struct AdaptationExperiment {
    pub source: Dataset,
    pub target: Dataset,
    /// Method presets ([`crate::experiments::methods`]) to run.
    pub methods: Vec<String>,
    /// Persistency levels K run for each method (000 Fig. 3: 1, 3, 5, 10);
    /// with more than one, the runs are named `METHOD-kK`.
    pub ks: Vec<usize>,
    /// Everything but critic and step (taken from the presets).
    pub base: RunConfig,
    /// Data root (`None`: `$WGFLOW_DATA`, else `data/`).
    pub data_dir: Option<PathBuf>,
    /// Download missing files.
    pub download: bool,
    /// Use only the first `limit` images of each split (quick runs).
    pub limit: Option<usize>,
    pub out: PathBuf,
}

/// One accuracy evaluation.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AccuracyRow {
    pub epoch: usize,
    pub seconds: f64,
    /// 1-NN accuracy on the target test set, in [0, 1].
    pub accuracy: f64,
}

/// Accuracies of every method and the source baseline.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AdaptationSummary {
    pub source: String,
    pub target: String,
    /// 1-NN on the untransported source images.
    pub baseline: f64,
    /// Per method, its evaluations in order.
    pub methods: Vec<(String, Vec<AccuracyRow>)>,
}

impl AdaptationSummary {
    /// Markdown: method, final and best accuracy (%), and the baseline.
    pub fn table(&self) -> String {
        let mut s = format!(
            "1-NN accuracy on the {} test set, {} → {}\n\n| method | final % | best % | at epoch |\n|---|---|---|---|\n",
            self.target, self.source, self.target
        );
        let _ = writeln!(s, "| source (no transport) | {:.2} | | |", 100.0 * self.baseline);
        for (m, rows) in &self.methods {
            if let (Some(last), Some(best)) =
                (rows.last(), rows.iter().max_by(|a, b| a.accuracy.total_cmp(&b.accuracy)))
            {
                let _ = writeln!(
                    s,
                    "| {m} | {:.2} | {:.2} | {} |",
                    100.0 * last.accuracy,
                    100.0 * best.accuracy,
                    best.epoch
                );
            }
        }
        s
    }

    /// Accuracy (%) against epoch, with the baseline as a flat line (000 Fig. 3).
    pub fn chart(&self) -> LineChart {
        let mut c = LineChart::new(
            format!("{} → {}: 1-NN accuracy", self.source, self.target),
            "epoch",
            "accuracy on the target test set (%)",
        );
        let mut last_epoch = 0.0f64;
        for (m, rows) in &self.methods {
            let x: Vec<f64> = rows.iter().map(|r| r.epoch as f64).collect();
            last_epoch = last_epoch.max(x.last().copied().unwrap_or(0.0));
            c = c.with(Series::new(m.clone(), x, rows.iter().map(|r| 100.0 * r.accuracy).collect()));
        }
        c.with(Series::new("source", vec![0.0, last_epoch.max(1.0)], vec![100.0 * self.baseline; 2]))
    }
}

/// The digit sets as 16×16 flat vectors: source training images and labels,
/// target test images and labels.
pub struct DomainData {
    pub source: Tensor,
    pub source_labels: Vec<i64>,
    pub target: Tensor,
    pub target_labels: Vec<i64>,
}

impl AdaptationExperiment {
    /// USPS → MNIST with the authors' settings, W1-FE-LP (K = 1) and W2GAN,
    /// `epochs` iterations.
    pub fn new(source: Dataset, target: Dataset, epochs: usize, out: impl Into<PathBuf>) -> Self {
        let d = SIDE * SIDE;
        // REFERENCE.md, exp_da: batch 64, lr 1e-4, Adam (0.0, 0.9), 5 critic
        // iterations; critic 256-200-500-1; generator 256-200(BN)-500(BN)-256,
        // output 2·tanh(H(x)) + x.
        let adam = AdamConfig { lr: 1e-4, beta1: 0.0, beta2: 0.9, ..AdamConfig::default() };
        let mut base = RunConfig {
            generator: MlpConfig {
                in_dim: d,
                out_dim: d,
                hidden: vec![200, 500],
                activation: Activation::Relu,
                batch_norm: true,
                residual: true,
                tanh_scale: Some(2.0),
                init: Init::Torch,
            }
            .into(),
            ..RunConfig::default()
        };
        *base.critic.net_mut() =
            MlpConfig { in_dim: d, out_dim: 1, hidden: vec![200, 500], ..MlpConfig::default() }.into();
        base.train.epochs = epochs;
        base.train.batch_size = 64;
        base.train.critic_iters = 5;
        base.train.generator_opt = adam;
        base.train.critic_opt = adam;
        base.train.eval_every = 100.min(epochs.max(1));
        base.train.eval_size = 512;
        let mut exp = AdaptationExperiment {
            source,
            target,
            methods: vec!["w1fe-lp".into(), "w2gan".into()],
            ks: vec![1],
            base,
            data_dir: None,
            download: true,
            limit: None,
            out: out.into(),
        };
        exp.set_data();
        exp
    }

    fn spec(&self, ds: Dataset, split: Split) -> DataSpec {
        DataSpec {
            split: split.name().into(),
            resize: (ds.image_shape()[1] != SIDE).then_some(SIDE),
            flatten: true,
            limit: self.limit,
            dir: self.data_dir.clone(),
            download: self.download,
            ..DataSpec::new(ds)
        }
    }

    /// Points the base config's source and target at the data sets (call
    /// after changing `source`, `target`, `data_dir`, `download` or `limit`).
    pub fn set_data(&mut self) {
        self.base.source = Distribution::Data(self.spec(self.source, Split::Train));
        self.base.target = Distribution::Data(self.spec(self.target, Split::Train));
    }

    /// Checks the data sets, the methods and the base config.
    pub fn validate(&self) -> Result<()> {
        for (field, ds) in [("source", self.source), ("target", self.target)] {
            if ds == Dataset::Cifar10 {
                return Err(Error::config(
                    field,
                    "domain adaptation is between digit sets: mnist, fashion-mnist, usps",
                ));
            }
        }
        if self.methods.is_empty() {
            return Err(Error::config("methods", "give at least one method"));
        }
        if self.ks.is_empty() || self.ks.contains(&0) {
            return Err(Error::config("k", format!("persistency levels must be ≥ 1, got {:?}", self.ks)));
        }
        for (_, m, k) in self.runs() {
            self.config_for(&m, k)?;
        }
        Ok(())
    }

    /// `(name, method, K)` of every run, in order.
    pub fn runs(&self) -> Vec<(String, String, usize)> {
        let mut v = vec![];
        for m in &self.methods {
            for &k in &self.ks {
                let name = if self.ks.len() > 1 { format!("{m}-k{k}") } else { m.clone() };
                v.push((name, m.clone(), k));
            }
        }
        v
    }

    /// The run config of method `m` with persistency (or ℓ) `k`.
    pub fn config_for(&self, m: &str, k: usize) -> Result<RunConfig> {
        let mut base = self.base.clone();
        base.step = base.step.with_k(k);
        let mut cfg = preset(m, &base)?;
        if let crate::flow::StepConfig::Barycentric { .. } = cfg.step {
            // The map is learned from the dual on source and target.
            cfg.step = crate::flow::StepConfig::Barycentric { dual_epochs: self.base.train.epochs / 2 };
        }
        cfg.validate()?;
        Ok(cfg)
    }

    /// Loads what the evaluation needs: the source training images and the
    /// target test images, 16×16, flat, on `device`.
    pub fn load_eval_data(&self, device: Device) -> Result<DomainData> {
        let root = data_root(self.data_dir.as_deref());
        let opts = FetchOptions {
            download: if self.download { Download::IfMissing } else { Download::Never },
            ..FetchOptions::download()
        };
        let load = |ds: Dataset, split: Split| -> Result<(Tensor, Vec<i64>)> {
            let mut set = ds.load(&root, split, &opts, device)?;
            if let Some(n) = self.limit {
                set = set.take(n);
            }
            if ds.image_shape()[1] != SIDE {
                set = set.resized(SIDE)?;
            }
            let labels = Vec::<i64>::try_from(&set.labels.to_device(Device::Cpu))?;
            Ok((set.images.f_flatten(1, -1)?, labels))
        };
        let (source, source_labels) = load(self.source, Split::Train)?;
        let (target, target_labels) = load(self.target, Split::Test)?;
        Ok(DomainData { source, source_labels, target, target_labels })
    }

    /// Runs every method; writes per method `METHOD/{config.toml,history.csv,
    /// accuracy.csv}`, and `accuracy.{png,svg}`, `summary.md`, `summary.json`.
    /// `progress` sees the method, the trainer and the latest accuracy.
    pub fn run(&self, device: Device, mut progress: impl FnMut(&str, &Trainer, f64)) -> Result<AdaptationSummary> {
        self.validate()?;
        crate::io::create_dir_all(&self.out)?;
        let data = self.load_eval_data(device)?;
        let baseline = OneNn::fit(&data.source, &data.source_labels)?.accuracy(&data.target, &data.target_labels)?;
        let mut summary = AdaptationSummary {
            source: self.source.name().into(),
            target: self.target.name().into(),
            baseline,
            methods: vec![],
        };
        for (name, method, k) in self.runs() {
            let m = &name;
            let cfg = self.config_for(&method, k)?;
            let dir = self.out.join(m);
            crate::io::create_dir_all(&dir)?;
            crate::io::write_atomic(dir.join("config.toml"), cfg.to_toml()?.as_bytes())?;
            let mut t = Trainer::new(cfg, device)?;
            let mut rows = Vec::new();
            t.run(|t, row| {
                let accuracy = transported_accuracy(
                    |z| Ok(t.generate(z)),
                    &data.source,
                    &data.source_labels,
                    &data.target,
                    &data.target_labels,
                    1024,
                )?;
                rows.push(AccuracyRow { epoch: row.epoch, seconds: row.seconds, accuracy });
                progress(m, t, accuracy);
                Ok(())
            })?;
            t.history().save_csv(dir.join("history.csv"))?;
            crate::io::write_csv(&rows, dir.join("accuracy.csv"))?;
            summary.methods.push((name.clone(), rows));
        }
        summary.chart().save(self.out.join("accuracy.png"))?;
        summary.chart().save(self.out.join("accuracy.svg"))?;
        crate::io::write_atomic(self.out.join("summary.md"), summary.table().as_bytes())?;
        let json = serde_json::to_string_pretty(&summary).map_err(|e| Error::input(e.to_string()))?;
        crate::io::write_atomic(self.out.join("summary.json"), json.as_bytes())?;
        Ok(summary)
    }
}
