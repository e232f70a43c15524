//! 000 §5: learn the 8-Gaussian ring from N(0, I) with W1-FE-LP (or -GP, or
//! WGAN clipping) at several persistency levels K, and compare how fast each
//! reaches the W1 that K = 1 (plain W1-LP, Prop. 4.1) ends with.
//!
//! The paper's claim: "for W1-FE-LP, we see that the K=3 case halves the
//! training time compared to the K=1 case".
//!
//! **How "reached" is measured.** The exact W1 on 512 vs 512 points is noisy
//! from one evaluation to the next, so both sides of the comparison use a
//! trailing mean over `window` evaluations (default 5, i.e. 50 epochs at the
//! paper's evaluation every 10 epochs): the *final W1* of a run is the mean of
//! its last `window` evaluations, and a run *reaches* the baseline's final W1
//! at the first evaluation where its trailing mean is at or below it.

use crate::critic::{Constraint, CriticConfig};
use crate::error::{Error, Result};
use crate::flow::StepConfig;
use crate::plot::{Figure, LineChart, Series, TransportPanels, TransportPlot};
use crate::train::{History, Row, RunConfig, Snapshot, Trainer};
use serde::{Deserialize, Serialize};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use tch::Device;

/// The experiment: one run per K, sharing everything else.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RingExperiment {
    /// Persistency levels to run; the first is the baseline whose final W1
    /// the others must reach (put 1 first for the paper's comparison).
    pub ks: Vec<usize>,
    /// The config every run starts from (`step.k` is replaced per run).
    pub base: RunConfig,
    /// Where the run directories, plots and summary go.
    pub out: PathBuf,
    /// Trailing window (in evaluations) for "final" and "reached".
    pub window: usize,
    /// A checkpoint of each run every this many epochs (and after the last).
    #[serde(default = "default_checkpoint_every")]
    pub checkpoint_every: usize,
}

fn default_checkpoint_every() -> usize {
    crate::runs::DEFAULT_CHECKPOINT_EVERY
}

impl RingExperiment {
    /// The paper's setting with `constraint` and the given K values.
    pub fn new(ks: Vec<usize>, constraint: Constraint, out: impl Into<PathBuf>) -> Self {
        let mut base = RunConfig::default();
        base.critic = CriticConfig::W1 { net: base.critic.net().clone(), constraint };
        RingExperiment { ks, base, out: out.into(), window: 5, checkpoint_every: default_checkpoint_every() }
    }

    /// Checks the K list and the base config.
    pub fn validate(&self) -> Result<()> {
        if self.ks.is_empty() {
            return Err(Error::config("k", "give at least one persistency level"));
        }
        if let Some(pos) = self.ks.iter().position(|&k| k == 0) {
            return Err(Error::config("k", format!("persistency levels must be ≥ 1 (entry {} is 0)", pos + 1)));
        }
        let mut seen = self.ks.clone();
        seen.sort_unstable();
        seen.dedup();
        if seen.len() != self.ks.len() {
            return Err(Error::config("k", "persistency levels must be distinct"));
        }
        if self.window == 0 {
            return Err(Error::config("window", "must be ≥ 1"));
        }
        if self.checkpoint_every == 0 {
            return Err(Error::config("checkpoint_every", "must be ≥ 1"));
        }
        self.base.validate()
    }

    /// The config of the run with persistency `k`.
    pub fn config_for(&self, k: usize) -> RunConfig {
        let mut cfg = self.base.clone();
        cfg.step = cfg.step.with_k(k);
        cfg
    }

    /// The method's name for titles: `W1-FE-LP`, `W2-FE`, `WGAN-GP (adversarial)`, …
    pub fn method_name(&self) -> String {
        let critic = self.base.critic.name().to_uppercase();
        match &self.base.step {
            StepConfig::Euler { .. } => match critic.strip_prefix("W1-") {
                Some(c) => format!("W1-FE-{c}"),
                None => format!("{critic}-FE"),
            },
            other => format!("{critic} ({})", other.name()),
        }
    }

    /// Epochs at which the evolution panels are taken: 0, E/4, E/2, E.
    pub fn snapshot_epochs(&self) -> Vec<usize> {
        let e = self.base.train.epochs;
        let mut v = vec![0, e / 4, e / 2, e];
        v.dedup();
        v
    }

    /// Runs every K from the start, writes `experiment.json` (this
    /// experiment, for [`RingExperiment::resume`]), each run directory
    /// (`k{K}/config.toml`, `history.csv`, `history.json`, `checkpoint.ot`,
    /// `snapshots.json`, `transport.png|svg`, `evolution.png`) and the
    /// comparison (`w1_epoch.png|svg`, `w1_seconds.png|svg`, `summary.md`,
    /// `summary.json`). `progress(k, trainer, row)` is called at every
    /// evaluation.
    pub fn run(&self, device: Device, progress: impl FnMut(usize, &Trainer, &Row)) -> Result<RingSummary> {
        self.validate()?;
        crate::io::create_dir_all(&self.out)?;
        let json = serde_json::to_string_pretty(self).map_err(|e| Error::input(e.to_string()))?;
        crate::io::write_atomic(self.out.join("experiment.json"), json.as_bytes())?;
        for &k in &self.ks {
            crate::runs::remove_run_files(&self.out.join(format!("k{k}")))?;
        }
        self.train_all(device, progress)
    }

    /// The experiment written to `out/experiment.json` by [`RingExperiment::run`].
    pub fn load(out: &Path) -> Result<Self> {
        let path = out.join("experiment.json");
        let text = crate::io::read_to_string(&path)?;
        let mut exp: RingExperiment =
            serde_json::from_str(&text).map_err(|e| Error::file(&path, format!("not a ring experiment: {e}")))?;
        exp.out = out.to_path_buf();
        exp.validate()?;
        Ok(exp)
    }

    /// Continues every run from its last checkpoint (finished runs are
    /// read back), then writes the plots and the summary as
    /// [`RingExperiment::run`] does.
    pub fn resume(&self, device: Device, progress: impl FnMut(usize, &Trainer, &Row)) -> Result<RingSummary> {
        self.validate()?;
        self.train_all(device, progress)
    }

    fn train_all(&self, device: Device, mut progress: impl FnMut(usize, &Trainer, &Row)) -> Result<RingSummary> {
        let snaps_at = self.snapshot_epochs();
        let mut runs = Vec::new();
        for &k in &self.ks {
            let cfg = self.config_for(k);
            let dir = self.out.join(format!("k{k}"));
            crate::runs::create_dir(&dir, &cfg, None)?;
            let snaps_path = dir.join("snapshots.json");
            let mut snaps: Vec<Snapshot> = if snaps_path.exists() {
                serde_json::from_str(&crate::io::read_to_string(&snaps_path)?)
                    .map_err(|e| Error::file(&snaps_path, format!("invalid snapshots: {e}")))?
            } else {
                Vec::new()
            };
            let mut failed: Option<Error> = None;
            let opts = crate::runs::RunOptions { checkpoint_every: self.checkpoint_every };
            let outcome = crate::runs::train_dir(&dir, device, opts, |t, row| {
                progress(k, t, row);
                if failed.is_none() && snaps_at.contains(&t.epoch()) {
                    let saved = t.snapshot().and_then(|s| {
                        snaps.retain(|old| old.epoch != s.epoch);
                        snaps.push(s);
                        let json = serde_json::to_string(&snaps).map_err(|e| Error::input(e.to_string()))?;
                        crate::io::write_atomic(&snaps_path, json.as_bytes())
                    });
                    failed = saved.err();
                }
            })?;
            if let Some(e) = failed {
                return Err(e);
            }
            if let crate::runs::Outcome::Diverged { message, .. } = outcome {
                return Err(Error::input(format!("K={k}: {message}")));
            }
            snaps.sort_by_key(|s| s.epoch);
            let history = History::load_csv(dir.join("history.csv"))?;
            if let Some(last) = snaps.last() {
                let p = transport_plot(last, k, &self.method_name())?;
                p.save(dir.join("transport.png"))?;
                p.save(dir.join("transport.svg"))?;
            }
            let panels = snaps.iter().map(|s| transport_plot(s, k, &self.method_name())).collect::<Result<Vec<_>>>()?;
            TransportPanels::new(panels).save(dir.join("evolution.png"))?;
            runs.push((k, history));
        }
        let summary = RingSummary::from_runs(&runs, self.window, &self.method_name())?;
        let (by_epoch, by_time) = summary.charts(&runs);
        by_epoch.save(self.out.join("w1_epoch.png"))?;
        by_epoch.save(self.out.join("w1_epoch.svg"))?;
        by_time.save(self.out.join("w1_seconds.png"))?;
        by_time.save(self.out.join("w1_seconds.svg"))?;
        crate::io::write_atomic(self.out.join("summary.md"), summary.table().as_bytes())?;
        let json = serde_json::to_string_pretty(&summary).map_err(|e| Error::input(e.to_string()))?;
        crate::io::write_atomic(self.out.join("summary.json"), json.as_bytes())?;
        Ok(summary)
    }
}

fn transport_plot(s: &Snapshot, k: usize, method: &str) -> Result<TransportPlot> {
    TransportPlot::new(
        format!("{method} K={k}, epoch {}", s.epoch),
        s.target.clone(),
        s.source.clone(),
        s.generated.clone(),
    )
}

/// One K's line of the summary.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct KResult {
    pub k: usize,
    pub epochs: usize,
    pub seconds: f64,
    /// Exact W1 at the last evaluation.
    pub last_w1: f64,
    /// Mean exact W1 over the last `window` evaluations.
    pub final_w1: f64,
    /// First epoch whose trailing mean W1 ≤ the baseline's final W1.
    pub reach_epoch: Option<usize>,
    /// Training seconds at that epoch.
    pub reach_seconds: Option<f64>,
}

/// The comparison of the persistency levels against the baseline (first K).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RingSummary {
    /// The method, e.g. `W1-FE-LP`.
    pub critic: String,
    pub baseline_k: usize,
    /// The baseline's final W1: the threshold every run must reach.
    pub threshold: f64,
    pub window: usize,
    pub results: Vec<KResult>,
}

/// Trailing means of `w1` over `window` rows (shorter at the start).
pub fn trailing_mean(rows: &[Row], window: usize) -> Vec<f64> {
    (0..rows.len())
        .map(|i| {
            let lo = (i + 1).saturating_sub(window);
            let s = &rows[lo..=i];
            s.iter().map(|r| r.w1).sum::<f64>() / s.len() as f64
        })
        .collect()
}

impl RingSummary {
    /// Builds the summary from `(k, history)` pairs; the first is the baseline.
    pub fn from_runs(runs: &[(usize, History)], window: usize, critic: &str) -> Result<Self> {
        let (baseline_k, base) = runs.first().ok_or_else(|| Error::input("no runs to summarise"))?;
        let final_of = |h: &History| -> Result<f64> {
            let m = trailing_mean(&h.rows, window);
            m.last().copied().ok_or_else(|| Error::input("a run has no evaluations"))
        };
        let threshold = final_of(base)?;
        let mut results = Vec::new();
        for (k, h) in runs {
            let means = trailing_mean(&h.rows, window);
            let last = h.rows.last().ok_or_else(|| Error::input(format!("run K={k} has no evaluations")))?;
            // Skip the evaluation before training (epoch 0).
            let hit = h.rows.iter().zip(&means).find(|(r, &m)| r.epoch > 0 && m <= threshold);
            results.push(KResult {
                k: *k,
                epochs: last.epoch,
                seconds: last.seconds,
                last_w1: last.w1,
                final_w1: final_of(h)?,
                reach_epoch: hit.map(|(r, _)| r.epoch),
                reach_seconds: hit.map(|(r, _)| r.seconds),
            });
        }
        Ok(RingSummary { critic: critic.to_string(), baseline_k: *baseline_k, threshold, window, results })
    }

    /// The table `make demo` prints (Markdown).
    pub fn table(&self) -> String {
        let base = self.results.first();
        let mut s = String::new();
        let _ = writeln!(
            s,
            "{} on the 8-Gaussian ring: epochs and seconds to reach the final W1 of K={} ({:.4}; \
             means over the last {} evaluations)\n",
            self.critic, self.baseline_k, self.threshold, self.window
        );
        let _ = writeln!(s, "| K | final W1 | last W1 | reached at epoch | at seconds | epochs vs K={} | seconds vs K={} | total seconds |", self.baseline_k, self.baseline_k);
        let _ = writeln!(s, "|---|---|---|---|---|---|---|---|");
        for r in &self.results {
            let ratio = |a: Option<f64>, b: Option<f64>| match (a, b) {
                (Some(a), Some(b)) if b > 0.0 => format!("{:.2}", a / b),
                _ => "—".into(),
            };
            let ep = r.reach_epoch.map(|e| e.to_string()).unwrap_or_else(|| "not reached".into());
            let sec = r.reach_seconds.map(|t| format!("{t:.1}")).unwrap_or_else(|| "—".into());
            let er = ratio(r.reach_epoch.map(|e| e as f64), base.and_then(|b| b.reach_epoch.map(|e| e as f64)));
            let sr = ratio(r.reach_seconds, base.and_then(|b| b.reach_seconds));
            let _ = writeln!(
                s,
                "| {} | {:.4} | {:.4} | {} | {} | {} | {} | {:.1} |",
                r.k, r.final_w1, r.last_w1, ep, sec, er, sr, r.seconds
            );
        }
        s
    }

    /// W1 against epoch and against training seconds, one curve per K (Fig. 2).
    pub fn charts(&self, runs: &[(usize, History)]) -> (LineChart, LineChart) {
        let title = format!("{} on the ring", self.critic);
        let mut by_epoch = LineChart::new(&title, "epoch", "exact W1 (512 vs 512)");
        let mut by_time = LineChart::new(&title, "training seconds", "exact W1 (512 vs 512)");
        for (k, h) in runs {
            let x: Vec<f64> = h.rows.iter().map(|r| r.epoch as f64).collect();
            let t: Vec<f64> = h.rows.iter().map(|r| r.seconds).collect();
            let y: Vec<f64> = h.rows.iter().map(|r| r.w1).collect();
            by_epoch.series.push(Series::new(format!("K={k}"), x, y.clone()));
            by_time.series.push(Series::new(format!("K={k}"), t, y));
        }
        (by_epoch, by_time)
    }
}

/// Reads the histories of an experiment directory back (`k*/history.csv`).
pub fn load_histories(out: &Path, ks: &[usize]) -> Result<Vec<(usize, History)>> {
    ks.iter().map(|&k| Ok((k, History::load_csv(out.join(format!("k{k}")).join("history.csv"))?))).collect()
}
