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
//! epoch of the trainer), kept as the `accuracy` column of each run's history.

use super::{check_ks, check_methods, grid_runs, to_strings, DataSource, Experiment, FinishedRun, Report, RunSpec};
use crate::config::{preset, RunConfig};
use crate::critic::{CriticConfig, PsiParam, W2Penalty};
use crate::data::{DataSpec, Dataset, Distribution, Split};
use crate::error::{Error, Result};
use crate::metrics::knn::{transported_accuracy, OneNn};
use crate::nets::{Activation, Init, MlpConfig};
use crate::optim::AdamConfig;
use crate::plot::{Figure, LineChart, Series};
use crate::runs::compare::{Envelope, Spread};
use crate::train::{evaluator, Evaluator};
use serde::{Deserialize, Serialize};
use std::fmt::Write as _;
use std::path::Path;
use std::rc::Rc;
use tch::{Device, Tensor};

/// The side of the images both domains are brought to.
pub const SIDE: i64 = 16;

/// The experiment's settings.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct AdaptationExperiment {
    pub source: Dataset,
    pub target: Dataset,
    /// Method presets ([`crate::config::METHODS`]) to run.
    pub methods: Vec<String>,
    /// Persistency levels K run for each method (000 Fig. 3: 1, 3, 5, 10);
    /// with more than one, the runs are named `METHOD-kK`.
    pub ks: Vec<usize>,
    /// Everything but data, critic and step (taken from the presets).
    pub base: RunConfig,
    /// Where the images come from.
    pub data: DataSource,
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
    /// The last accuracy of run `name`.
    pub fn final_accuracy(&self, name: &str) -> Option<f64> {
        self.methods.iter().find(|m| m.0 == name).and_then(|m| m.1.last()).map(|r| r.accuracy)
    }

    /// One summary of several experiments on the same domains (their runs
    /// in order); the domains and the source baseline must agree.
    pub fn merge(parts: &[AdaptationSummary]) -> Result<AdaptationSummary> {
        let first = parts.first().ok_or_else(|| Error::input("no adaptation summaries to merge"))?;
        let mut merged = AdaptationSummary { methods: vec![], ..first.clone() };
        for p in parts {
            if (p.source.as_str(), p.target.as_str(), p.baseline) != (&first.source, &first.target, first.baseline) {
                return Err(Error::input(format!(
                    "adaptation summaries differ: {} → {} (source baseline {}) against {} → {} ({})",
                    first.source, first.target, first.baseline, p.source, p.target, p.baseline
                )));
            }
            for (name, rows) in &p.methods {
                if merged.methods.iter().any(|m| &m.0 == name) {
                    return Err(Error::input(format!("adaptation summaries both have a run `{name}`")));
                }
                merged.methods.push((name.clone(), rows.clone()));
            }
        }
        Ok(merged)
    }

    /// `w1fe-lp 60.0 %, w2gan 55.3 %`: every run's final accuracy.
    pub fn accuracies(&self) -> String {
        let f = |(m, _): &(String, Vec<AccuracyRow>)| {
            format!("{m} {:.1} %", 100.0 * self.final_accuracy(m).unwrap_or(f64::NAN))
        };
        self.methods.iter().map(f).collect::<Vec<_>>().join(", ")
    }

    /// `best w1fe-lp-k3` (the runs with the highest final accuracy), or
    /// `all equal`.
    pub fn best(&self) -> String {
        let finals: Vec<(&str, f64)> =
            self.methods.iter().map(|(m, _)| (m.as_str(), self.final_accuracy(m).unwrap_or(f64::NAN))).collect();
        let top = finals.iter().map(|f| f.1).fold(f64::NEG_INFINITY, f64::max);
        let best: Vec<&str> = finals.iter().filter(|f| f.1 == top).map(|f| f.0).collect();
        if best.len() == finals.len() {
            "all equal".into()
        } else {
            format!("best {}", best.join(", "))
        }
    }

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

impl Report for AdaptationSummary {
    fn markdown(&self) -> String {
        self.table()
    }

    fn save_figures(&self, out: &Path) -> Result<()> {
        self.chart().save_png_svg(out, "accuracy")
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

/// What the runs' evaluators and the summary share: the evaluation data and
/// the source baseline.
pub struct AdaptationContext {
    pub data: Rc<DomainData>,
    pub baseline: f64,
}

impl AdaptationExperiment {
    /// `source` → `target` with the authors' settings, W1-FE-LP (K = 1) and
    /// W2GAN, 100,000 iterations (the authors' `exp_da`).
    pub fn new(source: Dataset, target: Dataset) -> Self {
        let d = SIDE * SIDE;
        // REFERENCE.md, exp_da: batch 64, lr 1e-4, Adam (0.0, 0.9), 5 critic
        // iterations; critic 256-200-500-1; generator 256-200(BN)-500(BN)-256,
        // output 2·tanh(H(x)) + x.
        let adam = AdamConfig { lr: 1e-4, beta1: 0.0, beta2: 0.9, ..AdamConfig::default() };
        let generator = MlpConfig {
            in_dim: d,
            out_dim: d,
            hidden: vec![200, 500],
            activation: Activation::Relu,
            batch_norm: true,
            residual: true,
            tanh_scale: Some(2.0),
            init: Init::Torch,
        };
        let critic = MlpConfig { in_dim: d, out_dim: 1, hidden: vec![200, 500], ..MlpConfig::default() };
        let base = RunConfig::default()
            .generator(generator)
            .critic_net(critic)
            .epochs(100_000)
            .batch_size(64)
            .critic_iters(5)
            .adam(adam)
            .eval_every(100)
            .eval_size(512);
        AdaptationExperiment {
            source,
            target,
            methods: vec!["w1fe-lp".into(), "w2gan".into()],
            ks: vec![1],
            base,
            data: DataSource::default(),
        }
    }

    setters! {
        /// The methods to compare.
        methods(methods: &[&str]) => methods = to_strings(methods);
        /// The persistency levels of every method.
        ks(ks: Vec<usize>) => ks;
    }

    /// The schedule the synthetic stand-in domains need (they are learned
    /// within a few hundred epochs at a higher rate): Adam 3e-4 with
    /// β = (0.5, 0.9), 256 evaluation points.
    pub fn standin_schedule(self) -> Self {
        let adam = AdamConfig::new(3e-4, 0.5, 0.9);
        self.configure(|b| {
            b.train.generator_opt = adam;
            b.train.critic_opt = adam;
            b.train.eval_size = 256;
        })
    }

    fn spec(&self, ds: Dataset, split: Split) -> DataSpec {
        DataSpec {
            split: split.name().into(),
            resize: (ds.image_shape()[1] != SIDE).then_some(SIDE),
            flatten: true,
            ..self.data.spec(ds)
        }
    }

    /// The run config of method `m` with persistency (or ℓ) `k`.
    pub fn config_for(&self, m: &str, k: usize) -> Result<RunConfig> {
        let base = self
            .base
            .clone()
            .source(Distribution::Data(self.spec(self.source, Split::Train)))
            .target(Distribution::Data(self.spec(self.target, Split::Train)))
            .k(k);
        // Barycentric-OT learns its dual on source and target for half the
        // epochs (the preset's dual_epochs), then the map.
        let mut cfg = preset(m, &base)?;
        if let CriticConfig::W2 { psi: PsiParam::Reparam, penalty, .. } = &mut cfg.critic {
            // W2GAN's critic (w2gan, w2fe-w2gan): 004 App. 8.9.2–8.9.3 and the
            // authors' `exp_da` options set λ_ineq = λ_eq = λ_ε = 10 (the 2D
            // experiments' 200 and no ε term are the preset's).
            *penalty = W2Penalty { lambda_ineq: 10.0, lambda_eq: 10.0, lambda_eps: 10.0, ..*penalty };
        }
        Ok(cfg)
    }

    /// Loads what the evaluation needs: the source training images and the
    /// target test images, 16×16, flat, on `device`.
    pub fn load_eval_data(&self, device: Device) -> Result<DomainData> {
        let load = |ds: Dataset, split: Split| -> Result<(Tensor, Vec<i64>)> {
            let set = self.spec(ds, split).load_images(device)?;
            let labels = Vec::<i64>::try_from(&set.labels.to_device(Device::Cpu))?;
            Ok((set.images.f_flatten(1, -1)?, labels))
        };
        let (source, source_labels) = load(self.source, Split::Train)?;
        let (target, target_labels) = load(self.target, Split::Test)?;
        Ok(DomainData { source, source_labels, target, target_labels })
    }
}

impl Experiment for AdaptationExperiment {
    const KIND: &'static str = "adaptation";
    type Context = AdaptationContext;
    type Summary = AdaptationSummary;

    fn validate(&self) -> Result<()> {
        for (field, ds) in [("source", self.source), ("target", self.target)] {
            if ds == Dataset::Cifar10 {
                return Err(Error::config(
                    field,
                    "domain adaptation is between digit sets: mnist, fashion-mnist, usps, uci-digits, mnist-5k",
                ));
            }
        }
        self.data.validate(1)?;
        check_methods(&self.methods, "methods")?;
        check_ks(&self.ks, "ks", false)?;
        Ok(())
    }

    fn runs(&self) -> Result<Vec<RunSpec>> {
        grid_runs(&self.methods, &self.ks, |m, k| self.config_for(m, k.unwrap_or(1)))
    }

    fn context(&self, device: Device) -> Result<AdaptationContext> {
        let data = self.load_eval_data(device)?;
        let baseline = OneNn::fit(&data.source, &data.source_labels)?.accuracy(&data.target, &data.target_labels)?;
        Ok(AdaptationContext { data: Rc::new(data), baseline })
    }

    fn evaluators(&self, ctx: &AdaptationContext, _run: &RunSpec) -> Result<Vec<Box<dyn Evaluator>>> {
        let d = Rc::clone(&ctx.data);
        Ok(vec![Box::new(evaluator("accuracy", move |t| {
            transported_accuracy(|z| Ok(t.generate(z)), &d.source, &d.source_labels, &d.target, &d.target_labels, 1024)
        }))])
    }

    fn summarise(&self, ctx: &AdaptationContext, runs: &[FinishedRun], _device: Device) -> Result<AdaptationSummary> {
        let methods = runs
            .iter()
            .map(|r| {
                let rows = r
                    .history
                    .rows
                    .iter()
                    .filter_map(|row| {
                        row.metric("accuracy").map(|accuracy| AccuracyRow {
                            epoch: row.epoch,
                            seconds: row.seconds,
                            accuracy,
                        })
                    })
                    .collect();
                (r.spec.name.clone(), rows)
            })
            .collect();
        Ok(AdaptationSummary {
            source: self.source.name().into(),
            target: self.target.name().into(),
            baseline: ctx.baseline,
            methods,
        })
    }

    fn base_mut(&mut self) -> Option<&mut RunConfig> {
        Some(&mut self.base)
    }

    fn data_mut(&mut self) -> Option<&mut DataSource> {
        Some(&mut self.data)
    }
}

/// One run name of [`AdaptationSeeds`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SeedsAccuracy {
    pub name: String,
    /// Seeds that ran it.
    pub seeds: usize,
    /// Final accuracy over those seeds.
    pub final_accuracy: Spread,
    /// Best accuracy of each run over its evaluations.
    pub best_accuracy: Spread,
    /// Seeds in which its final accuracy was the highest (ties count) of
    /// that seed's runs, and the lowest.
    pub top: usize,
    pub bottom: usize,
}

/// The adaptation experiment repeated over seeds (one summary per seed, on
/// the same domains): per run name, the final and best accuracy as mean and
/// min–max, and in how many seeds it ranked first and last.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AdaptationSeeds {
    pub source: String,
    pub target: String,
    pub baseline: f64,
    pub seeds: usize,
    pub runs: Vec<SeedsAccuracy>,
    /// Per run name, every seed's accuracy curve.
    #[serde(skip)]
    curves: Vec<(String, Vec<Vec<AccuracyRow>>)>,
}

impl AdaptationSeeds {
    /// From one summary per seed.
    pub fn from_summaries(summaries: &[AdaptationSummary]) -> Result<Self> {
        let first = summaries.first().ok_or_else(|| Error::input("no adaptation summaries to combine"))?;
        let mut names: Vec<String> = vec![];
        for s in summaries {
            if (s.source.as_str(), s.target.as_str()) != (&first.source, &first.target) {
                return Err(Error::input(format!(
                    "adaptation summaries on different domains: {} → {} and {} → {}",
                    first.source, first.target, s.source, s.target
                )));
            }
            for (m, _) in &s.methods {
                if !names.contains(m) {
                    names.push(m.clone());
                }
            }
        }
        let finals = |s: &AdaptationSummary| -> Vec<f64> {
            s.methods.iter().filter_map(|(m, _)| s.final_accuracy(m)).collect::<Vec<f64>>()
        };
        let mut runs = vec![];
        let mut curves = vec![];
        for name in names {
            let (mut fin, mut best, mut top, mut bottom, mut seeds_curves) = (vec![], vec![], 0, 0, vec![]);
            for s in summaries {
                let Some((_, rows)) = s.methods.iter().find(|(m, _)| *m == name) else { continue };
                let (Some(f), Some(b)) = (rows.last(), rows.iter().map(|r| r.accuracy).reduce(f64::max)) else {
                    continue;
                };
                let all = finals(s);
                top += usize::from(all.iter().all(|&a| a <= f.accuracy));
                bottom += usize::from(all.iter().all(|&a| a >= f.accuracy));
                fin.push(f.accuracy);
                best.push(b);
                seeds_curves.push(rows.clone());
            }
            runs.push(SeedsAccuracy {
                name: name.clone(),
                seeds: fin.len(),
                final_accuracy: Spread::of(&fin),
                best_accuracy: Spread::of(&best),
                top,
                bottom,
            });
            curves.push((name, seeds_curves));
        }
        let baselines: Vec<f64> = summaries.iter().map(|s| s.baseline).collect();
        Ok(AdaptationSeeds {
            source: first.source.clone(),
            target: first.target.clone(),
            baseline: Spread::of(&baselines).mean,
            seeds: summaries.len(),
            runs,
            curves,
        })
    }

    /// Run `name`'s line.
    pub fn run(&self, name: &str) -> Option<&SeedsAccuracy> {
        self.runs.iter().find(|r| r.name == name)
    }

    /// `w1fe-lp-k3 36.2 [34.0–38.1] % (best in 2/5 seeds, worst in 0/5)`.
    pub fn describe(&self, name: &str) -> String {
        match self.run(name) {
            Some(r) => format!(
                "{name} {:.1} [{:.1}–{:.1}] % (best in {}/{} seeds, worst in {}/{})",
                100.0 * r.final_accuracy.mean,
                100.0 * r.final_accuracy.min,
                100.0 * r.final_accuracy.max,
                r.top,
                r.seeds,
                r.bottom,
                r.seeds
            ),
            None => format!("{name} not run"),
        }
    }

    /// Markdown: per run, final and best accuracy (%) as mean [min–max] over
    /// seeds, and how often it ranked first and last.
    pub fn table(&self) -> String {
        let pct = |s: &Spread| format!("{:.2} [{:.2}–{:.2}]", 100.0 * s.mean, 100.0 * s.min, 100.0 * s.max);
        let mut out = format!(
            "1-NN accuracy on the {} test set, {} → {}, over {} seed{} (mean [min–max])\n\n\
             | run | seeds | final % | best % | first | last |\n|---|---|---|---|---|---|\n\
             | source (no transport) | | {:.2} | | | |\n",
            self.target,
            self.source,
            self.target,
            self.seeds,
            if self.seeds == 1 { "" } else { "s" },
            100.0 * self.baseline
        );
        for r in &self.runs {
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} | {} |",
                r.name,
                r.seeds,
                pct(&r.final_accuracy),
                pct(&r.best_accuracy),
                r.top,
                r.bottom
            );
        }
        out
    }

    /// Accuracy (%) against epoch: per run the mean over seeds with its
    /// min–max envelope, and the source baseline (the seeds' evaluation
    /// epochs must agree).
    pub fn chart(&self) -> Result<LineChart> {
        let mut c = LineChart::new(
            format!("{} → {}: 1-NN accuracy, {} seeds", self.source, self.target, self.seeds),
            "epoch",
            "accuracy on the target test set (%)",
        );
        let mut last = 1.0f64;
        for (name, seeds) in &self.curves {
            let Some(first) = seeds.first() else { continue };
            let n = seeds.iter().map(Vec::len).min().unwrap_or(0);
            if seeds.iter().any(|rows| rows[..n].iter().zip(&first[..n]).any(|(a, b)| a.epoch != b.epoch)) {
                return Err(Error::input(format!("{name}: the seeds evaluated at different epochs")));
            }
            let x: Vec<f64> = first[..n].iter().map(|r| r.epoch as f64).collect();
            let xy: Vec<(Vec<f64>, Vec<f64>)> =
                seeds.iter().map(|rows| (x.clone(), rows[..n].iter().map(|r| 100.0 * r.accuracy).collect())).collect();
            last = last.max(x.last().copied().unwrap_or(1.0));
            c = c.with_band(Envelope::of(&xy, x).band(name.clone())?);
        }
        Ok(c.with(Series::new("source", vec![0.0, last], vec![100.0 * self.baseline; 2])))
    }
}
