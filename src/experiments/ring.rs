//! 000 §5: learn the 8-Gaussian ring from N(0, I) with W1-FE-LP (or -GP, or
//! WGAN clipping, or any method preset) at several persistency levels K, and
//! compare how fast each reaches the W1 that K = 1 (plain W1-LP, Prop. 4.1)
//! ends with.
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

use super::{check_ks, Experiment, FinishedRun, Report, RunSpec};
use crate::config::{preset, RunConfig};
use crate::error::{Error, Result};
use crate::flow::StepConfig;
use crate::plot::{Figure, LineChart, Series, TransportPanels, TransportPlot};
use crate::runs::compare::{Envelope, Spread};
use crate::runs::RunLabels;
use crate::train::{Hook, Row, Snapshot, Snapshots, Trainer};
use serde::{Deserialize, Serialize};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use tch::Device;

/// The experiment: one run per K, sharing everything else.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RingExperiment {
    /// The method preset every run uses (`None`: the base config's own
    /// critic and step).
    pub method: Option<String>,
    /// Persistency levels to run; the first is the baseline whose final W1
    /// the others must reach (put 1 first for the paper's comparison).
    /// Empty: one run with the method's own K (RWP's ℓ stays the preset's).
    pub ks: Vec<usize>,
    /// The config every run starts from (`step.k` is replaced per run).
    pub base: RunConfig,
    /// Trailing window (in evaluations) for "final" and "reached".
    pub window: usize,
}

impl RingExperiment {
    /// The paper's setting (000 §5) with the method preset `method` and
    /// K ∈ {1, 3, 5, 10}.
    pub fn new(method: &str) -> Self {
        RingExperiment { method: Some(method.into()), ks: vec![1, 3, 5, 10], base: RunConfig::default(), window: 5 }
    }

    /// The runs of `base` as it is (its own critic and step) at K ∈ {1, 3, 5, 10}.
    pub fn from_config(base: RunConfig) -> Self {
        RingExperiment { method: None, ks: vec![1, 3, 5, 10], base, window: 5 }
    }

    setters! {
        /// The persistency levels; the first is the baseline.
        ks(ks: Vec<usize>) => ks;
    }

    /// The config of the run with persistency `k`.
    pub fn config_for(&self, k: usize) -> Result<RunConfig> {
        Ok(self.method_config()?.k(k))
    }

    /// The method's config with its own K.
    fn method_config(&self) -> Result<RunConfig> {
        match &self.method {
            Some(m) => preset(m, &self.base),
            None => Ok(self.base.clone()),
        }
    }

    /// `(K, config)` of every run.
    fn configs(&self) -> Result<Vec<(usize, RunConfig)>> {
        if self.ks.is_empty() {
            let cfg = self.method_config()?;
            return Ok(vec![(cfg.step.k(), cfg)]);
        }
        self.ks.iter().map(|&k| Ok((k, self.config_for(k)?))).collect()
    }

    /// The method's name for titles: `W1-FE-LP`, `W2-FE`, `W1-LP (adversarial)`, …
    pub fn method_name(&self) -> String {
        let cfg = self.config_for(1).unwrap_or_else(|_| self.base.clone());
        let critic = cfg.critic.name().to_uppercase();
        match &cfg.step {
            StepConfig::Euler { .. } => match critic.strip_prefix("W1-") {
                Some(c) => format!("W1-FE-{c}"),
                None => format!("{critic}-FE"),
            },
            other => format!("{critic} ({})", other.name()),
        }
    }
}

/// Snapshots at 0, E/4, E/2 and E, kept in the run's `snapshots.json` so
/// that a resumed run has the earlier ones.
struct SnapshotFile {
    path: PathBuf,
    snaps: Snapshots,
}

impl SnapshotFile {
    fn open(dir: &Path, epochs: usize) -> Result<Self> {
        let path = dir.join("snapshots.json");
        let mut snaps = Snapshots::quarters(epochs);
        if path.exists() {
            snaps.taken = crate::io::read_json(&path, "snapshots")?;
        }
        Ok(SnapshotFile { path, snaps })
    }

    fn save_if_new(&mut self, before: usize) -> Result<()> {
        if self.snaps.taken.len() != before {
            crate::io::write_json(&self.path, &self.snaps.taken)?;
        }
        Ok(())
    }
}

impl Hook for SnapshotFile {
    fn on_eval(&mut self, t: &Trainer, row: &Row) -> Result<()> {
        let n = self.snaps.taken.len();
        self.snaps.on_eval(t, row)?;
        self.save_if_new(n)
    }
}

impl Experiment for RingExperiment {
    const KIND: &'static str = "ring";
    type Context = ();
    type Summary = RingSummary;

    fn validate(&self) -> Result<()> {
        check_ks(&self.ks, "ks", true)?;
        if self.window == 0 {
            return Err(Error::config("window", "must be ≥ 1"));
        }
        Ok(())
    }

    fn runs(&self) -> Result<Vec<RunSpec>> {
        let method = self.method.clone().unwrap_or_else(|| self.method_name());
        let runs = self.configs()?.into_iter().map(|(k, config)| {
            let labels = RunLabels { method: method.clone(), k, seed: config.train.seed };
            RunSpec { name: format!("k{k}"), config, labels }
        });
        Ok(runs.collect())
    }

    fn context(&self, _device: Device) -> Result<()> {
        Ok(())
    }

    fn hooks(&self, run: &RunSpec, dir: &Path) -> Result<Vec<Box<dyn Hook>>> {
        Ok(vec![Box::new(SnapshotFile::open(dir, run.config.train.epochs)?)])
    }

    fn summarise(&self, _ctx: &(), runs: &[FinishedRun], _device: Device) -> Result<RingSummary> {
        let method = self.method_name();
        let mut histories = vec![];
        let mut snapshots = vec![];
        for r in runs {
            let k = r.spec.labels.k;
            let path = r.dir.join("snapshots.json");
            let snaps: Vec<Snapshot> = if path.exists() { crate::io::read_json(&path, "snapshots")? } else { vec![] };
            if let Some(last) = snaps.last() {
                let p = transport_plot(last, k, &method)?;
                p.save_png_svg(&r.dir, "transport")?;
            }
            let panels = snaps.iter().map(|s| transport_plot(s, k, &method)).collect::<Result<Vec<_>>>()?;
            TransportPanels::new(panels).save(r.dir.join("evolution.png"))?;
            histories.push((k, r.history.rows.clone()));
            snapshots.push((k, snaps));
        }
        let mut summary = RingSummary::from_runs(&histories, self.window, &method)?;
        summary.snapshots = snapshots;
        Ok(summary)
    }

    fn base_mut(&mut self) -> Option<&mut RunConfig> {
        Some(&mut self.base)
    }

    fn extension_notes(&self, from: usize, to: usize) -> Vec<String> {
        let (old, new) = (Snapshots::quarters(from).epochs, Snapshots::quarters(to).epochs);
        vec![format!(
            "the evolution panels keep the snapshots taken at {old:?} (the quarters of {from} epochs) and add              those of {new:?} still ahead; a run of {to} epochs from the start has only {new:?}"
        )]
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

/// One K's W1 curve.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Curve {
    pub k: usize,
    pub epoch: Vec<f64>,
    pub seconds: Vec<f64>,
    pub w1: Vec<f64>,
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
    /// Every K's W1 against epoch and seconds.
    pub curves: Vec<Curve>,
    /// Every K's snapshots at 0, E/4, E/2, E (not in `summary.json`).
    #[serde(skip)]
    pub snapshots: Vec<(usize, Vec<Snapshot>)>,
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
    /// Builds the summary from `(k, rows)` pairs; the first is the baseline.
    pub fn from_runs(runs: &[(usize, Vec<Row>)], window: usize, critic: &str) -> Result<Self> {
        let (baseline_k, base) = runs.first().ok_or_else(|| Error::input("no runs to summarise"))?;
        let final_of = |rows: &[Row]| -> Result<f64> {
            let m = trailing_mean(rows, window);
            m.last().copied().ok_or_else(|| Error::input("a run has no evaluations"))
        };
        let threshold = final_of(base)?;
        let mut results = Vec::new();
        let mut curves = Vec::new();
        for (k, rows) in runs {
            let means = trailing_mean(rows, window);
            let last = rows.last().ok_or_else(|| Error::input(format!("run K={k} has no evaluations")))?;
            // Skip the evaluation before training (epoch 0).
            let hit = rows.iter().zip(&means).find(|(r, &m)| r.epoch > 0 && m <= threshold);
            results.push(KResult {
                k: *k,
                epochs: last.epoch,
                seconds: last.seconds,
                last_w1: last.w1,
                final_w1: final_of(rows)?,
                reach_epoch: hit.map(|(r, _)| r.epoch),
                reach_seconds: hit.map(|(r, _)| r.seconds),
            });
            curves.push(Curve {
                k: *k,
                epoch: rows.iter().map(|r| r.epoch as f64).collect(),
                seconds: rows.iter().map(|r| r.seconds).collect(),
                w1: rows.iter().map(|r| r.w1).collect(),
            });
        }
        Ok(RingSummary {
            critic: critic.to_string(),
            baseline_k: *baseline_k,
            threshold,
            window,
            results,
            curves,
            snapshots: vec![],
        })
    }

    /// K's line.
    pub fn result(&self, k: usize) -> Option<&KResult> {
        self.results.iter().find(|r| r.k == k)
    }

    /// "0.56 of K=1's epochs (440 vs 780)", "never reached" or "not run".
    pub fn reach_ratio(&self, k: usize) -> String {
        let base = self.results.first().and_then(|r| r.reach_epoch);
        match (self.result(k), base) {
            (Some(KResult { reach_epoch: Some(e), .. }), Some(b)) => {
                format!("{:.2} of K={}'s epochs ({e} vs {b})", *e as f64 / b as f64, self.baseline_k)
            }
            (Some(_), _) => "never reached".into(),
            (None, _) => "not run".into(),
        }
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
        let b = self.baseline_k;
        let _ = writeln!(s, "| K | final W1 | last W1 | reached at epoch | at seconds | epochs vs K={b} | seconds vs K={b} | total seconds |");
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

    /// K's W1 against training seconds, labelled `label` (for charts
    /// across experiments).
    pub fn seconds_series(&self, k: usize, label: impl Into<String>) -> Option<Series> {
        let c = self.curves.iter().find(|c| c.k == k)?;
        Some(Series::new(label, c.seconds.clone(), c.w1.clone()))
    }

    /// K's W1 against epoch, labelled `label`.
    pub fn epoch_series(&self, k: usize, label: impl Into<String>) -> Option<Series> {
        let c = self.curves.iter().find(|c| c.k == k)?;
        Some(Series::new(label, c.epoch.clone(), c.w1.clone()))
    }

    /// W1 against epoch, one curve per K (000 Fig. 2).
    pub fn by_epoch(&self) -> LineChart {
        self.chart("epoch", |c| c.epoch.clone())
    }

    /// W1 against training seconds, one curve per K.
    pub fn by_seconds(&self) -> LineChart {
        self.chart("training seconds", |c| c.seconds.clone())
    }

    fn chart(&self, xlabel: &str, x: impl Fn(&Curve) -> Vec<f64>) -> LineChart {
        let mut chart = LineChart::new(format!("{} on the ring", self.critic), xlabel, "exact W1 (512 vs 512)");
        for c in &self.curves {
            chart.series.push(Series::new(format!("K={}", c.k), x(c), c.w1.clone()));
        }
        chart
    }

    /// Every K's generator after training: arrows from the source sample to
    /// its image (000 Fig. 1).
    pub fn final_transport(&self) -> Result<TransportPanels> {
        let panels = self
            .snapshots
            .iter()
            .filter_map(|(k, s)| s.last().map(|s| transport_plot(s, *k, &self.critic)))
            .collect::<Result<Vec<_>>>()?;
        Ok(TransportPanels::new(panels))
    }
}

impl Report for RingSummary {
    fn markdown(&self) -> String {
        self.table()
    }

    fn save_figures(&self, out: &Path) -> Result<()> {
        for (name, chart) in [("w1_epoch", self.by_epoch()), ("w1_seconds", self.by_seconds())] {
            chart.save_png_svg(out, name)?;
        }
        Ok(())
    }
}

/// One persistency level of [`RingSeeds`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SeedsRow {
    pub k: usize,
    /// Final W1 (trailing mean), over seeds.
    pub final_w1: Spread,
    /// Seeds whose run reached its own baseline's final W1 (of those whose
    /// baseline reached it too).
    pub reached: usize,
    /// Epochs to reach it relative to the baseline's, over the seeds that reached it.
    pub epoch_ratio: Option<Spread>,
    /// The same in training seconds.
    pub seconds_ratio: Option<Spread>,
}

/// The ring experiment repeated over seeds: per K, the final W1 and the
/// epochs and seconds each seed's run takes to reach *that seed's* baseline
/// final W1, relative to the baseline, as mean and min–max over seeds.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RingSeeds {
    pub critic: String,
    pub baseline_k: usize,
    pub seeds: usize,
    pub rows: Vec<SeedsRow>,
    /// Per K, the W1 curves of every seed against epoch.
    #[serde(skip)]
    curves: Vec<(usize, Vec<Curve>)>,
}

impl RingSeeds {
    /// From one summary per seed (the same Ks and baseline in each).
    pub fn from_summaries(summaries: &[RingSummary]) -> Result<Self> {
        let first = summaries.first().ok_or_else(|| Error::input("no ring summaries to combine"))?;
        let ks: Vec<usize> = first.results.iter().map(|r| r.k).collect();
        for s in summaries {
            let other: Vec<usize> = s.results.iter().map(|r| r.k).collect();
            if other != ks || s.baseline_k != first.baseline_k {
                return Err(Error::input(format!(
                    "ring summaries differ: K {ks:?} (baseline {}) against {other:?} (baseline {})",
                    first.baseline_k, s.baseline_k
                )));
            }
        }
        let mut rows = Vec::new();
        let mut curves = Vec::new();
        for &k in &ks {
            let mut finals = Vec::new();
            let (mut epochs, mut seconds) = (Vec::new(), Vec::new());
            for s in summaries {
                let (r, b) = (s.result(k), s.results.first());
                let (Some(r), Some(b)) = (r, b) else { continue };
                finals.push(r.final_w1);
                if let (Some(e), Some(be), Some(t), Some(bt)) =
                    (r.reach_epoch, b.reach_epoch, r.reach_seconds, b.reach_seconds)
                {
                    epochs.push(e as f64 / be as f64);
                    seconds.push(t / bt);
                }
            }
            let spread = |v: &[f64]| (!v.is_empty()).then(|| Spread::of(v));
            rows.push(SeedsRow {
                k,
                final_w1: Spread::of(&finals),
                reached: epochs.len(),
                epoch_ratio: spread(&epochs),
                seconds_ratio: spread(&seconds),
            });
            curves.push((k, summaries.iter().filter_map(|s| s.curves.iter().find(|c| c.k == k).cloned()).collect()));
        }
        Ok(RingSeeds {
            critic: first.critic.clone(),
            baseline_k: first.baseline_k,
            seeds: summaries.len(),
            rows,
            curves,
        })
    }

    /// Reads `summary.json` from each finished ring experiment in `dirs`.
    pub fn load(dirs: &[PathBuf]) -> Result<Self> {
        let summaries = dirs
            .iter()
            .map(|d| crate::io::read_json::<RingSummary>(d.join("summary.json"), "a ring experiment's summary"))
            .collect::<Result<Vec<_>>>()?;
        Self::from_summaries(&summaries)
    }

    /// K's row.
    pub fn row(&self, k: usize) -> Option<&SeedsRow> {
        self.rows.iter().find(|r| r.k == k)
    }

    /// "0.62 [0.50–0.75] of K=1's epochs (2/3 seeds reached it)", or "no seed
    /// reached it", or "not run".
    pub fn reach(&self, k: usize) -> String {
        match self.row(k) {
            Some(SeedsRow { epoch_ratio: Some(e), reached, .. }) => format!(
                "{:.2} [{:.2}–{:.2}] of K={}'s epochs ({reached}/{} seeds reached it)",
                e.mean, e.min, e.max, self.baseline_k, self.seeds
            ),
            Some(_) => format!("no seed of {} reached it", self.seeds),
            None => "not run".into(),
        }
    }

    /// Markdown: per K, final W1 and the reach ratios, mean [min–max].
    pub fn table(&self) -> String {
        let b = self.baseline_k;
        let f = |s: &Spread, digits: usize| format!("{:.d$} [{:.d$}–{:.d$}]", s.mean, s.min, s.max, d = digits);
        let mut out = format!(
            "{} on the 8-Gaussian ring over {} seed{}: final W1 and the epochs and seconds to reach each seed's \
             K={b} final W1, relative to K={b} (mean [min–max] over the seeds that reached it)\n\n\
             | K | final W1 | reached | epochs vs K={b} | seconds vs K={b} |\n|---|---|---|---|---|\n",
            self.critic,
            self.seeds,
            if self.seeds == 1 { "" } else { "s" }
        );
        for r in &self.rows {
            let opt = |s: &Option<Spread>| s.as_ref().map(|s| f(s, 2)).unwrap_or_else(|| "—".into());
            let _ = writeln!(
                out,
                "| {} | {} | {}/{} | {} | {} |",
                r.k,
                f(&r.final_w1, 4),
                r.reached,
                self.seeds,
                opt(&r.epoch_ratio),
                opt(&r.seconds_ratio)
            );
        }
        out
    }

    /// W1 against epoch: per K the mean over seeds with its min–max envelope
    /// (the seeds' evaluation epochs must agree).
    pub fn by_epoch(&self) -> Result<LineChart> {
        let mut chart = LineChart::new(
            format!("{} on the ring, {} seeds", self.critic, self.seeds),
            "epoch",
            "exact W1 (512 vs 512)",
        );
        for (k, curves) in &self.curves {
            let Some(first) = curves.first() else { continue };
            let n = curves.iter().map(|c| c.w1.len()).min().unwrap_or(0);
            if curves.iter().any(|c| c.epoch[..n] != first.epoch[..n]) {
                return Err(Error::input(format!("K={k}: the seeds evaluated at different epochs")));
            }
            let xy: Vec<(Vec<f64>, Vec<f64>)> =
                curves.iter().map(|c| (c.epoch[..n].to_vec(), c.w1[..n].to_vec())).collect();
            chart = chart.with_band(Envelope::of(&xy, first.epoch[..n].to_vec()).band(format!("K={k}"))?);
        }
        Ok(chart)
    }
}
