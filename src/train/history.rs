//! What a run records: one [`Row`] per evaluation, the [`History`] of a run,
//! and [`Snapshot`]s of its fixed evaluation sample.
//!
//! A row holds the trainer's own columns (epoch, training seconds, losses,
//! exact W1 and W2) and the values of any extra evaluators
//! ([`crate::train::Evaluator`]: 1-NN accuracy, FID, …) by name. In
//! `history.csv` the extra values are columns after `w2`, empty where an
//! evaluation did not compute them.

use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

/// One evaluation of a run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Row {
    pub epoch: usize,
    /// Training wall-clock seconds so far (evaluation excluded).
    pub seconds: f64,
    pub critic_loss: f64,
    /// The critic's dual estimate `mean φ(y) − mean φ(x)` of W1.
    pub w1_estimate: f64,
    pub generator_loss: f64,
    /// Exact W1 between `G(z_fixed)` and the fixed target sample.
    pub w1: f64,
    /// Exact W2 between the same sets.
    pub w2: f64,
    /// The extra evaluators' values by name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub metrics: BTreeMap<String, f64>,
}

impl Row {
    /// An extra evaluator's value (`None` if this row has none).
    pub fn metric(&self, name: &str) -> Option<f64> {
        self.metrics.get(name).copied()
    }

    /// The trainer's own columns, in [`History::COLUMNS`] order.
    pub fn columns(&self) -> [f64; 7] {
        [self.epoch as f64, self.seconds, self.critic_loss, self.w1_estimate, self.generator_loss, self.w1, self.w2]
    }

    /// A row from [`Row::columns`].
    pub fn from_columns(c: [f64; 7]) -> Self {
        Row {
            epoch: c[0] as usize,
            seconds: c[1],
            critic_loss: c[2],
            w1_estimate: c[3],
            generator_loss: c[4],
            w1: c[5],
            w2: c[6],
            metrics: BTreeMap::new(),
        }
    }
}

/// The rows of a run, in order.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct History {
    pub rows: Vec<Row>,
}

impl History {
    /// The trainer's own columns, first in `history.csv`.
    pub const COLUMNS: [&'static str; 7] =
        ["epoch", "seconds", "critic_loss", "w1_estimate", "generator_loss", "w1", "w2"];

    /// The names of the extra metrics in any row, sorted.
    pub fn metric_names(&self) -> Vec<String> {
        let mut names: Vec<String> = self.rows.iter().flat_map(|r| r.metrics.keys().cloned()).collect();
        names.sort();
        names.dedup();
        names
    }

    /// `(epoch, value)` pairs of one column, for plotting.
    pub fn column(&self, f: impl Fn(&Row) -> f64) -> (Vec<f64>, Vec<f64>) {
        (self.rows.iter().map(|r| r.epoch as f64).collect(), self.rows.iter().map(f).collect())
    }

    /// One column against epoch as a chart series labelled `label`.
    pub fn series(&self, label: impl Into<String>, f: impl Fn(&Row) -> f64) -> crate::plot::Series {
        let (x, y) = self.column(f);
        crate::plot::Series::new(label, x, y)
    }

    /// `(epoch, value)` pairs of an extra metric, over the rows that have it.
    pub fn metric(&self, name: &str) -> (Vec<f64>, Vec<f64>) {
        self.rows.iter().filter_map(|r| r.metric(name).map(|v| (r.epoch as f64, v))).unzip()
    }

    /// The last row.
    pub fn last(&self) -> Option<&Row> {
        self.rows.last()
    }

    /// Writes `history.csv` atomically: the trainer's columns, then one
    /// column per extra metric (empty where a row has none).
    pub fn save_csv(&self, path: impl AsRef<Path>) -> Result<()> {
        let names = self.metric_names();
        let mut header: Vec<String> = Self::COLUMNS.iter().map(|s| s.to_string()).collect();
        header.extend(names.iter().cloned());
        let rows = self.rows.iter().map(|r| {
            let mut cells: Vec<String> = vec![r.epoch.to_string()];
            cells.extend(r.columns()[1..].iter().map(|v| v.to_string()));
            cells.extend(names.iter().map(|n| r.metric(n).map(|v| v.to_string()).unwrap_or_default()));
            cells
        });
        crate::io::write_records(path, &header, rows)
    }

    /// Writes the rows as a JSON array atomically.
    pub fn save_json(&self, path: impl AsRef<Path>) -> Result<()> {
        crate::io::write_json(path, &self.rows)
    }

    /// Reads a CSV written by [`History::save_csv`].
    pub fn load_csv(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let mut r = csv::Reader::from_path(path).map_err(|e| Error::file(path, e))?;
        let header: Vec<String> = r.headers().map_err(|e| Error::file(path, e))?.iter().map(String::from).collect();
        if header.len() < 7 || header[..7] != Self::COLUMNS {
            return Err(Error::file(path, format!("expected the columns {} first", Self::COLUMNS.join(","))));
        }
        let mut rows = Vec::new();
        for (i, rec) in r.records().enumerate() {
            let rec = rec.map_err(|e| Error::file(path, e))?;
            let num = |j: usize| -> Result<f64> {
                let cell = rec.get(j).unwrap_or("");
                cell.parse::<f64>().map_err(|_| {
                    Error::file(path, format!("row {}: column `{}` is not a number: {cell:?}", i + 1, header[j]))
                })
            };
            let mut c = [0.0; 7];
            for (j, v) in c.iter_mut().enumerate() {
                *v = num(j)?;
            }
            let mut row = Row::from_columns(c);
            for (j, name) in header.iter().enumerate().skip(7) {
                if !rec.get(j).unwrap_or("").is_empty() {
                    row.metrics.insert(name.clone(), num(j)?);
                }
            }
            rows.push(row);
        }
        Ok(History { rows })
    }
}

/// The fixed evaluation sample of a run at one moment, as plain points.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Snapshot {
    pub epoch: usize,
    pub source: Vec<[f64; 2]>,
    pub target: Vec<[f64; 2]>,
    pub generated: Vec<[f64; 2]>,
}

impl Snapshot {
    /// The target (green), the source points (magenta) and arrows to their
    /// images (000 Fig. 1).
    pub fn transport_plot(&self, title: impl Into<String>) -> Result<crate::plot::TransportPlot> {
        crate::plot::TransportPlot::new(title, self.target.clone(), self.source.clone(), self.generated.clone())
    }
}
