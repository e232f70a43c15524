//! Sweeps: a grid of methods × persistency K × seeds, one run directory per
//! point (`OUT/METHOD/kK/seedS`). The CLI runs the grid as separate
//! `wgflow run --resume DIR` processes — locally (`wgflow sweep --jobs N`, one
//! CUDA device per job on a multi-GPU machine), or on a cluster through the
//! Slurm job-array script of [`slurm_script`] (in [`super::slurm`]). Finished runs are skipped;
//! started ones continue from their checkpoint.

use super::{create_dir, RunLabels};
use crate::config::{preset, RunConfig};
use crate::error::{Error, Result};
use std::path::{Path, PathBuf};

pub use super::slurm::{slurm_script, SlurmOptions};

/// One point of the grid.
#[derive(Clone, Debug, PartialEq)]
pub struct PlannedRun {
    pub dir: PathBuf,
    pub cfg: RunConfig,
    pub labels: RunLabels,
}

/// The grid of a sweep.
#[derive(Clone, Debug)]
pub struct Sweep {
    pub out: PathBuf,
    pub runs: Vec<PlannedRun>,
}

/// Parses `A..B` (B exclusive), `A..=B`, or a comma-separated list of seeds.
pub fn parse_seeds(s: &str) -> Result<Vec<u64>> {
    let bad = |msg: String| Error::config("seeds", msg);
    let num = |t: &str| {
        t.trim().parse::<u64>().map_err(|_| bad(format!("`{t}` is not a seed (expected e.g. 0..5 or 0,1,2)")))
    };
    let seeds: Vec<u64> = if let Some((a, b)) = s.split_once("..=") {
        (num(a)?..=num(b)?).collect()
    } else if let Some((a, b)) = s.split_once("..") {
        (num(a)?..num(b)?).collect()
    } else {
        s.split(',').map(num).collect::<Result<_>>()?
    };
    if seeds.is_empty() {
        return Err(bad(format!("`{s}` gives no seeds")));
    }
    if !crate::error::all_distinct(&seeds) {
        return Err(bad("seeds must be distinct".into()));
    }
    Ok(seeds)
}

impl Sweep {
    /// The grid `methods × ks × seeds` over `base` (`methods` empty: the base
    /// config's own method, named after its critic and step).
    pub fn plan(out: &Path, base: &RunConfig, methods: &[String], ks: &[usize], seeds: &[u64]) -> Result<Sweep> {
        if ks.is_empty() || ks.contains(&0) {
            return Err(Error::config("ks", "give persistency levels ≥ 1"));
        }
        if !crate::error::all_distinct(ks) {
            return Err(Error::config("ks", "persistency levels must be distinct"));
        }
        let named: Vec<(String, RunConfig)> = if methods.is_empty() {
            vec![(format!("{}-{}", base.critic.name(), base.step.name()), base.clone())]
        } else {
            methods
                .iter()
                .map(|m| {
                    let cfg = preset(m, base).map_err(|e| match e {
                        Error::Config { field, msg } if field == "method" => Error::config("methods", msg),
                        e => e,
                    })?;
                    Ok((m.clone(), cfg))
                })
                .collect::<Result<_>>()?
        };
        let mut runs = Vec::new();
        for (method, cfg) in &named {
            for &k in ks {
                for &seed in seeds {
                    let mut c = cfg.clone();
                    c.step = c.step.with_k(k);
                    c.train.seed = seed;
                    c.validate()?;
                    runs.push(PlannedRun {
                        dir: out.join(method).join(format!("k{k}")).join(format!("seed{seed}")),
                        cfg: c,
                        labels: RunLabels { method: method.clone(), k, seed },
                    });
                }
            }
        }
        Ok(Sweep { out: out.to_path_buf(), runs })
    }

    /// Creates every run directory (`config.toml`, `run.json`); refuses a
    /// directory that holds a different config.
    pub fn prepare(&self) -> Result<()> {
        for r in &self.runs {
            create_dir(&r.dir, &r.cfg, Some(&r.labels))?;
        }
        Ok(())
    }
}
