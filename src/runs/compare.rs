//! Comparing runs: group run directories by method and K, and give each
//! group's mean with its min/max envelope against epoch and against training
//! wall-clock, and a table of the final metric (mean and range over runs) and
//! the epochs and seconds to reach a threshold.
//!
//! **Alignment.** Runs of a group are interpolated linearly onto a common
//! grid before the mean, min and max are taken: against epoch, the union of
//! the runs' evaluation epochs inside the range every run covers; against
//! seconds, 100 evenly spaced points inside the range every run covers (runs
//! of one setting do not evaluate at the same seconds).
//!
//! **Table.** *Final* is each run's metric at its last evaluation; the table
//! gives their mean, min and max. A run *reaches* the threshold at its first
//! evaluation after epoch 0 with the metric at or below it; the table gives
//! how many runs reached it and the mean epoch and seconds over those. The
//! default threshold is the largest group mean of the final metric, the
//! level every group reaches on average.

use super::RunLabels;
use crate::error::{Error, Result};
use crate::plot::{Band, Figure, LineChart};
use crate::train::{History, Row};
use serde::{Deserialize, Serialize};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// The metric compared.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Metric {
    /// Exact W1 between `G(z_fixed)` and the fixed target sample.
    #[default]
    W1,
    /// Exact W2 between the same sets.
    W2,
}

impl Metric {
    pub fn parse(s: &str) -> Result<Metric> {
        match s {
            "w1" => Ok(Metric::W1),
            "w2" => Ok(Metric::W2),
            other => Err(Error::config("metric", format!("expected w1 or w2, got `{other}`"))),
        }
    }
    pub fn name(self) -> &'static str {
        match self {
            Metric::W1 => "w1",
            Metric::W2 => "w2",
        }
    }
    pub fn of(self, r: &Row) -> f64 {
        match self {
            Metric::W1 => r.w1,
            Metric::W2 => r.w2,
        }
    }
}

/// One run: its directory, labels and history.
#[derive(Clone, Debug)]
pub struct RunData {
    pub dir: PathBuf,
    pub labels: RunLabels,
    pub history: History,
}

/// The run directories under `paths`: a path holding `history.csv` is a run;
/// any other directory is searched (sorted, recursively).
pub fn find_runs(paths: &[PathBuf]) -> Result<Vec<PathBuf>> {
    fn walk(p: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
        if p.join("history.csv").is_file() {
            out.push(p.to_path_buf());
            return Ok(());
        }
        if !p.is_dir() {
            return Ok(());
        }
        let mut entries: Vec<PathBuf> = std::fs::read_dir(p)
            .map_err(|e| Error::file(p, format!("cannot list: {e}")))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|e| e.is_dir())
            .collect();
        entries.sort();
        for e in entries {
            walk(&e, out)?;
        }
        Ok(())
    }
    let mut out = Vec::new();
    for p in paths {
        if !p.exists() {
            return Err(Error::file(p, "no such file or directory"));
        }
        walk(p, &mut out)?;
    }
    out.dedup();
    Ok(out)
}

/// Loads every run under `paths` ([`find_runs`]); errors when there is none.
pub fn load_runs(paths: &[PathBuf]) -> Result<Vec<RunData>> {
    let dirs = find_runs(paths)?;
    if dirs.is_empty() {
        let first = paths.first().cloned().unwrap_or_default();
        return Err(Error::file(first, "holds no run directories (directories with a history.csv)"));
    }
    dirs.into_iter()
        .map(|dir| {
            let history = History::load_csv(dir.join("history.csv"))?;
            if history.rows.is_empty() {
                return Err(Error::file(dir.join("history.csv"), "has no evaluations"));
            }
            Ok(RunData { labels: RunLabels::read(&dir)?, history, dir })
        })
        .collect()
}

/// Mean, min and max of several runs on one grid.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Envelope {
    pub x: Vec<f64>,
    pub mean: Vec<f64>,
    pub lo: Vec<f64>,
    pub hi: Vec<f64>,
}

impl Envelope {
    /// Mean, min and max of `curves` (each `(x, y)` with `x` increasing) at
    /// every point of `grid`, each curve read there by [`interp`] (exact at
    /// its own points).
    pub fn of(curves: &[(Vec<f64>, Vec<f64>)], grid: Vec<f64>) -> Envelope {
        let mut mean = Vec::with_capacity(grid.len());
        let mut lo = Vec::with_capacity(grid.len());
        let mut hi = Vec::with_capacity(grid.len());
        for &x in &grid {
            let v: Vec<f64> = curves.iter().map(|(xs, ys)| interp(xs, ys, x)).collect();
            mean.push(v.iter().sum::<f64>() / v.len() as f64);
            lo.push(v.iter().copied().fold(f64::INFINITY, f64::min));
            hi.push(v.iter().copied().fold(f64::NEG_INFINITY, f64::max));
        }
        Envelope { x: grid, mean, lo, hi }
    }

    /// The envelope as a chart band called `name`.
    pub fn band(&self, name: impl Into<String>) -> Result<Band> {
        Band::new(name, self.x.clone(), self.mean.clone(), self.lo.clone(), self.hi.clone())
    }
}

/// Mean, min and max of a value over runs.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Spread {
    pub mean: f64,
    pub min: f64,
    pub max: f64,
}

impl Spread {
    /// The spread of `values` (NaN for none).
    pub fn of(values: &[f64]) -> Spread {
        let n = values.len() as f64;
        Spread {
            mean: values.iter().sum::<f64>() / n,
            min: values.iter().copied().fold(f64::INFINITY, f64::min),
            max: values.iter().copied().fold(f64::NEG_INFINITY, f64::max),
        }
    }
}

/// Which runs reached a threshold, and when on average.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Reach {
    /// Runs whose metric reached the threshold.
    pub runs: usize,
    /// Mean over those runs of the first epoch at or below the threshold.
    pub epoch: Option<f64>,
    /// Mean over those runs of the training seconds at that epoch.
    pub seconds: Option<f64>,
}

/// One method and K.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Group {
    pub method: String,
    pub k: usize,
    pub seeds: Vec<u64>,
    pub dirs: Vec<PathBuf>,
    /// The metric at each run's last evaluation.
    pub final_metric: Spread,
    pub reach: Reach,
    /// Mean of the runs' last epoch and training seconds.
    pub epochs: f64,
    pub seconds: f64,
    pub by_epoch: Envelope,
    pub by_seconds: Envelope,
}

impl Group {
    /// `method K=k`.
    pub fn label(&self) -> String {
        format!("{} K={}", self.method, self.k)
    }
}

/// The comparison of several groups of runs.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Comparison {
    pub metric: Metric,
    pub threshold: f64,
    pub groups: Vec<Group>,
}

/// `y(x)` by linear interpolation of increasing `xs` (clamped at the ends).
pub fn interp(xs: &[f64], ys: &[f64], x: f64) -> f64 {
    let n = xs.len();
    if n == 0 {
        return f64::NAN;
    }
    if x <= xs[0] {
        return ys[0];
    }
    if x >= xs[n - 1] {
        return ys[n - 1];
    }
    let i = xs.partition_point(|&v| v <= x); // xs[i-1] <= x < xs[i]
    let (x0, x1, y0, y1) = (xs[i - 1], xs[i], ys[i - 1], ys[i]);
    if x1 == x0 {
        return y1;
    }
    y0 + (y1 - y0) * (x - x0) / (x1 - x0)
}

/// The range every curve covers: `[max of starts, min of ends]`.
fn common_range(curves: &[(Vec<f64>, Vec<f64>)]) -> (f64, f64) {
    let lo = curves.iter().map(|(x, _)| x[0]).fold(f64::NEG_INFINITY, f64::max);
    let hi = curves.iter().map(|(x, _)| x[x.len() - 1]).fold(f64::INFINITY, f64::min);
    (lo, hi)
}

/// Groups `runs` by (method, K), in order of first appearance, and compares
/// them on `metric`; `threshold` defaults to the largest group mean of the
/// final metric.
pub fn compare(runs: &[RunData], metric: Metric, threshold: Option<f64>) -> Result<Comparison> {
    if runs.is_empty() {
        return Err(Error::input("no runs to compare"));
    }
    let mut keys: Vec<(String, usize)> = Vec::new();
    for r in runs {
        let key = (r.labels.method.clone(), r.labels.k);
        if !keys.contains(&key) {
            keys.push(key);
        }
    }
    let finals = |members: &[&RunData]| -> Vec<f64> {
        members.iter().map(|r| r.history.rows.last().map(|row| metric.of(row)).unwrap_or(f64::NAN)).collect()
    };
    let grouped: Vec<Vec<&RunData>> =
        keys.iter().map(|(m, k)| runs.iter().filter(|r| &r.labels.method == m && r.labels.k == *k).collect()).collect();
    let threshold = match threshold {
        Some(t) => t,
        None => grouped
            .iter()
            .map(|g| {
                let f = finals(g);
                f.iter().sum::<f64>() / f.len() as f64
            })
            .fold(f64::NEG_INFINITY, f64::max),
    };
    let mut groups = Vec::new();
    for ((method, k), members) in keys.into_iter().zip(grouped) {
        let f = finals(&members);
        let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
        let mut hits = Vec::new();
        for r in &members {
            if let Some(row) = r.history.rows.iter().find(|row| row.epoch > 0 && metric.of(row) <= threshold) {
                hits.push((row.epoch as f64, row.seconds));
            }
        }
        let curve = |x: fn(&Row) -> f64| -> Vec<(Vec<f64>, Vec<f64>)> {
            members
                .iter()
                .map(|r| {
                    (r.history.rows.iter().map(x).collect(), r.history.rows.iter().map(|row| metric.of(row)).collect())
                })
                .collect()
        };
        let by_epoch_curves = curve(|r| r.epoch as f64);
        let (e0, e1) = common_range(&by_epoch_curves);
        let mut epoch_grid: Vec<f64> =
            by_epoch_curves.iter().flat_map(|(x, _)| x.iter().copied()).filter(|&e| e >= e0 && e <= e1).collect();
        epoch_grid.sort_by(f64::total_cmp);
        epoch_grid.dedup();
        let by_seconds_curves = curve(|r| r.seconds);
        let (s0, s1) = common_range(&by_seconds_curves);
        let seconds_grid: Vec<f64> =
            if s1 > s0 { (0..100).map(|i| s0 + (s1 - s0) * i as f64 / 99.0).collect() } else { vec![s0] };
        let last = |f: fn(&Row) -> f64| {
            mean(&members.iter().map(|r| r.history.rows.last().map(f).unwrap_or(f64::NAN)).collect::<Vec<_>>())
        };
        groups.push(Group {
            method,
            k,
            seeds: members.iter().map(|r| r.labels.seed).collect(),
            dirs: members.iter().map(|r| r.dir.clone()).collect(),
            final_metric: Spread::of(&f),
            reach: Reach {
                runs: hits.len(),
                epoch: (!hits.is_empty()).then(|| mean(&hits.iter().map(|h| h.0).collect::<Vec<_>>())),
                seconds: (!hits.is_empty()).then(|| mean(&hits.iter().map(|h| h.1).collect::<Vec<_>>())),
            },
            epochs: last(|r| r.epoch as f64),
            seconds: last(|r| r.seconds),
            by_epoch: Envelope::of(&by_epoch_curves, epoch_grid),
            by_seconds: Envelope::of(&by_seconds_curves, seconds_grid),
        });
    }
    Ok(Comparison { metric, threshold, groups })
}

impl Comparison {
    /// The table as Markdown.
    pub fn markdown(&self) -> String {
        let m = self.metric.name().to_uppercase();
        let mut s = format!(
            "Final exact {m} (last evaluation; mean [min, max] over runs) and time to reach {m} ≤ {:.4}\n\n",
            self.threshold
        );
        s.push_str("| method | K | runs | final mean | final min | final max | reached | epochs to reach | seconds to reach | epochs | seconds |\n");
        s.push_str("|---|---|---|---|---|---|---|---|---|---|---|\n");
        let opt = |v: Option<f64>, p: usize| v.map(|v| format!("{v:.p$}")).unwrap_or_else(|| "—".into());
        for g in &self.groups {
            let _ = writeln!(
                s,
                "| {} | {} | {} | {:.4} | {:.4} | {:.4} | {}/{} | {} | {} | {:.0} | {:.1} |",
                g.method,
                g.k,
                g.dirs.len(),
                g.final_metric.mean,
                g.final_metric.min,
                g.final_metric.max,
                g.reach.runs,
                g.dirs.len(),
                opt(g.reach.epoch, 1),
                opt(g.reach.seconds, 2),
                g.epochs,
                g.seconds
            );
        }
        s
    }

    /// The table as CSV (full precision).
    pub fn csv(&self) -> Result<String> {
        let mut w = csv::Writer::from_writer(Vec::new());
        let err = |e: csv::Error| Error::input(format!("cannot write the comparison table: {e}"));
        w.write_record([
            "method",
            "k",
            "runs",
            "final_mean",
            "final_min",
            "final_max",
            "threshold",
            "reached",
            "reach_epoch_mean",
            "reach_seconds_mean",
            "epochs_mean",
            "seconds_mean",
        ])
        .map_err(err)?;
        let opt = |v: Option<f64>| v.map(|v| v.to_string()).unwrap_or_default();
        for g in &self.groups {
            w.write_record([
                g.method.clone(),
                g.k.to_string(),
                g.dirs.len().to_string(),
                g.final_metric.mean.to_string(),
                g.final_metric.min.to_string(),
                g.final_metric.max.to_string(),
                self.threshold.to_string(),
                g.reach.runs.to_string(),
                opt(g.reach.epoch),
                opt(g.reach.seconds),
                g.epochs.to_string(),
                g.seconds.to_string(),
            ])
            .map_err(err)?;
        }
        let bytes = w.into_inner().map_err(|e| Error::input(e.to_string()))?;
        String::from_utf8(bytes).map_err(|e| Error::input(e.to_string()))
    }

    /// Mean and envelope of every group against epoch and against seconds.
    pub fn charts(&self) -> Result<(LineChart, LineChart)> {
        let m = self.metric.name().to_uppercase();
        let y = format!("exact {m} (mean, min–max over runs)");
        let mut by_epoch = LineChart::new(format!("{m}: mean and min/max envelope"), "epoch", &y);
        let mut by_seconds = LineChart::new(format!("{m} against training wall-clock"), "training seconds", &y);
        for g in &self.groups {
            let label = format!("{} ({} runs)", g.label(), g.dirs.len());
            by_epoch.bands.push(g.by_epoch.band(&label)?);
            by_seconds.bands.push(g.by_seconds.band(&label)?);
        }
        Ok((by_epoch, by_seconds))
    }

    /// Writes `compare_epoch.{png,svg}`, `compare_seconds.{png,svg}`,
    /// `compare.md`, `compare.csv` and `compare.json` into `out`.
    pub fn write(&self, out: &Path) -> Result<()> {
        crate::io::create_dir_all(out)?;
        let (by_epoch, by_seconds) = self.charts()?;
        by_epoch.save_png_svg(out, "compare_epoch")?;
        by_seconds.save_png_svg(out, "compare_seconds")?;
        crate::io::write_atomic(out.join("compare.md"), self.markdown().as_bytes())?;
        crate::io::write_atomic(out.join("compare.csv"), self.csv()?.as_bytes())?;
        let json = serde_json::to_string_pretty(self).map_err(|e| Error::input(e.to_string()))?;
        crate::io::write_atomic(out.join("compare.json"), json.as_bytes())
    }
}
