//! The one driver of every [`Experiment`]: run directories, checkpoints,
//! resume, extension, progress, the summary and its plots.
//!
//! An experiment's directory holds `experiment.json` (its kind and settings,
//! written first: the truth of the experiment), one run directory per
//! declared run ([`crate::runs`]), `summary.md`, `summary.json` and the
//! plots.

use super::{Experiment, FinishedRun, Report};
use crate::config::RunConfig;
use crate::error::{Error, Result};
use crate::progress::Progress;
use crate::runs::{self, CheckpointPolicy, OnDivergence, Outcome};
use crate::train::{History, Hook, Trainer};
use serde::{Deserialize, Serialize};
use std::path::Path;
use tch::Device;

/// File name of an experiment's settings.
pub const EXPERIMENT_FILE: &str = "experiment.json";

/// `experiment.json`.
#[derive(Serialize, Deserialize)]
struct ExperimentFile<E> {
    kind: String,
    experiment: E,
    /// Epochs every run was extended to after it started ([`extend`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    extended_to: Option<usize>,
}

/// Whether the driver shows progress.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ProgressMode {
    /// A bar in a terminal, one line updated in place in a `wgflow` notebook,
    /// throttled lines elsewhere ([`Progress::new`]).
    #[default]
    Auto,
    Quiet,
}

/// How the driver trains.
#[derive(Clone, Copy, Debug)]
pub struct DriverOptions {
    pub device: Device,
    pub checkpoint: CheckpointPolicy,
    pub progress: ProgressMode,
    /// A diverged run stops the experiment (`Stop`), or is summarised with
    /// the epochs it trained (`Continue`).
    pub on_divergence: OnDivergence,
}

impl DriverOptions {
    /// On `device`, with the default checkpoints and progress.
    pub fn on(device: Device) -> Self {
        DriverOptions {
            device,
            checkpoint: CheckpointPolicy::default(),
            progress: ProgressMode::Auto,
            on_divergence: OnDivergence::Stop,
        }
    }

    /// On the default device ([`crate::device::choose_device`]).
    pub fn auto() -> Result<Self> {
        Ok(Self::on(crate::device::choose_device(None)?))
    }

    pub fn quiet(mut self) -> Self {
        self.progress = ProgressMode::Quiet;
        self
    }
}

/// Runs `exp` from the start into `out`: writes `experiment.json`, starts
/// every run directory afresh, trains them, and writes the summary.
pub fn run<E: Experiment>(exp: &E, out: &Path, opts: &DriverOptions) -> Result<E::Summary> {
    let specs = exp.check()?;
    crate::io::create_dir_all(out)?;
    write_file(out, exp, None)?;
    for s in &specs {
        runs::remove_run_files(&out.join(&s.name))?;
    }
    drive(exp, None, out, opts)
}

/// Continues the experiment of `out/experiment.json`: every run from its
/// last checkpoint (finished runs are read back), then the summary.
pub fn resume<E: Experiment>(out: &Path, opts: &DriverOptions) -> Result<E::Summary> {
    let file: ExperimentFile<E> = read_file(out)?;
    file.experiment.check()?;
    drive(&file.experiment, file.extended_to, out, opts)
}

/// [`resume`] when `out` holds `exp` with the same settings and length and
/// every run directory there holds the config `exp` gives that run (a preset
/// that changed since leaves a run that is no longer `exp`'s), else [`run`].
pub fn run_or_resume<E: Experiment>(exp: &E, out: &Path, opts: &DriverOptions) -> Result<E::Summary> {
    let same = read_file::<E>(out).ok().is_some_and(|f| {
        f.extended_to.is_none() && serde_json::to_value(&f.experiment).ok() == serde_json::to_value(exp).ok()
    }) && exp.runs().is_ok_and(|specs| {
        specs.iter().all(|s| {
            let saved = out.join(&s.name).join("config.toml");
            !saved.exists() || RunConfig::load(&saved).is_ok_and(|c| c == s.config)
        })
    });
    if same {
        resume::<E>(out, opts)
    } else {
        run(exp, out, opts)
    }
}

/// An extended experiment's summary, with what the extension could not make
/// equal to a run configured for the new length from the start.
#[derive(Debug)]
pub struct Extended<S> {
    pub summary: S,
    pub notes: Vec<String>,
}

/// Raises every run of the experiment in `out` to `epochs` epochs and trains
/// them on from their checkpoints. Each extended run equals one configured
/// with `epochs` from the start; where the experiment would configure a run
/// of `epochs` epochs differently (a schedule derived from the length, such
/// as Barycentric-OT's dual phase or the evaluation interval), the runs keep
/// their settings and the notes say which.
pub fn extend<E: Experiment>(out: &Path, epochs: usize, opts: &DriverOptions) -> Result<Extended<E::Summary>> {
    let file: ExperimentFile<E> = read_file(out)?;
    let exp = file.experiment;
    let mut longer = exp.clone();
    longer
        .base_mut()
        .ok_or_else(|| Error::config("epochs", format!("a {} experiment trains nothing to extend", E::KIND)))?
        .train
        .epochs = epochs;
    let old = specs_of(&exp, file.extended_to)?;
    let new = longer.check()?;
    let from = old.first().map_or(epochs, |s| s.config.train.epochs);
    let mut notes = exp.extension_notes(from, epochs);
    for (o, n) in old.iter().zip(&new) {
        let mut extended = o.config.clone();
        extended.train.epochs = epochs;
        for (field, kept, fresh) in config_differences(&extended, &n.config) {
            notes.push(format!(
                "{}: {field} stays {kept} (a run configured for {epochs} epochs from the start would have {fresh})",
                o.name
            ));
        }
        let dir = out.join(&o.name);
        match runs::Status::read(&dir)? {
            Some(s) if s.state == runs::State::Diverged => {
                notes.push(format!("{}: diverged at epoch {}; not extended", o.name, s.epoch))
            }
            _ if dir.join("config.toml").is_file() => runs::extend_dir(&dir, epochs)?,
            _ => {}
        }
    }
    write_file(out, &exp, Some(epochs))?;
    let summary = drive(&exp, Some(epochs), out, opts)?;
    Ok(Extended { summary, notes })
}

/// The kind in `out/experiment.json`.
pub fn kind_of(out: &Path) -> Result<String> {
    let v: serde_json::Value = crate::io::read_json(out.join(EXPERIMENT_FILE), "an experiment")?;
    v.get("kind")
        .and_then(|k| k.as_str())
        .map(String::from)
        .ok_or_else(|| Error::file(out.join(EXPERIMENT_FILE), "has no `kind`"))
}

/// [`resume`] (or, with `epochs`, [`extend`]) whatever experiment `out`
/// holds; returns its summary as Markdown and the extension's notes.
pub fn resume_any(out: &Path, epochs: Option<usize>, opts: &DriverOptions) -> Result<(String, Vec<String>)> {
    fn go<E: Experiment>(out: &Path, epochs: Option<usize>, opts: &DriverOptions) -> Result<(String, Vec<String>)> {
        match epochs {
            Some(n) => extend::<E>(out, n, opts).map(|e| (e.summary.markdown(), e.notes)),
            None => resume::<E>(out, opts).map(|s| (s.markdown(), vec![])),
        }
    }
    use super::*;
    match kind_of(out)?.as_str() {
        RingExperiment::KIND => go::<RingExperiment>(out, epochs, opts),
        OtMapsExperiment::KIND => go::<OtMapsExperiment>(out, epochs, opts),
        AdaptationExperiment::KIND => go::<AdaptationExperiment>(out, epochs, opts),
        W2DecayExperiment::KIND => go::<W2DecayExperiment>(out, epochs, opts),
        W2PartsExperiment::KIND => go::<W2PartsExperiment>(out, epochs, opts),
        ImageGanExperiment::KIND => go::<ImageGanExperiment>(out, epochs, opts),
        MvGaussianExperiment::KIND => go::<MvGaussianExperiment>(out, epochs, opts),
        OtBenchmarkExperiment::KIND => go::<OtBenchmarkExperiment>(out, epochs, opts),
        TwoDeltaExperiment::KIND => go::<TwoDeltaExperiment>(out, epochs, opts),
        other => Err(Error::file(
            out.join(EXPERIMENT_FILE),
            format!("unknown experiment kind `{other}`; this wgflow knows {}", super::KINDS.join(", ")),
        )),
    }
}

/// The trained trainer of run `name` of the experiment in `out` (restored
/// from its last checkpoint).
pub fn trainer(out: impl AsRef<Path>, name: &str, device: Device) -> Result<Trainer> {
    runs::load_trainer(&out.as_ref().join(name), device)
}

fn write_file<E: Experiment>(out: &Path, exp: &E, extended_to: Option<usize>) -> Result<()> {
    let file = ExperimentFile { kind: E::KIND.to_string(), experiment: exp, extended_to };
    crate::io::write_json(out.join(EXPERIMENT_FILE), &file)
}

fn read_file<E: Experiment>(out: &Path) -> Result<ExperimentFile<E>> {
    let path = out.join(EXPERIMENT_FILE);
    let kind = kind_of(out)?;
    if kind != E::KIND {
        return Err(Error::file(&path, format!("holds a {kind} experiment, not {}", E::KIND)));
    }
    crate::io::read_json(&path, &format!("a {} experiment", E::KIND))
}

fn specs_of<E: Experiment>(exp: &E, extended_to: Option<usize>) -> Result<Vec<super::RunSpec>> {
    let mut specs = exp.runs()?;
    if let Some(n) = extended_to {
        for s in &mut specs {
            s.config.train.epochs = n;
        }
    }
    Ok(specs)
}

fn drive<E: Experiment>(exp: &E, extended_to: Option<usize>, out: &Path, opts: &DriverOptions) -> Result<E::Summary> {
    let device = opts.device;
    let ctx = exp.context(device)?;
    let mut finished = vec![];
    for spec in specs_of(exp, extended_to)? {
        let dir = out.join(&spec.name);
        runs::create_dir(&dir, &spec.config, Some(&spec.labels))?;
        let evaluators = exp.evaluators(&ctx, &spec)?;
        let mut hooks = exp.hooks(&spec, &dir)?;
        let mut progress = match opts.progress {
            ProgressMode::Auto => Progress::new(&spec.name, spec.config.train.epochs),
            ProgressMode::Quiet => Progress::quiet(),
        };
        let mut all: Vec<&mut dyn Hook> = hooks.iter_mut().map(|h| h.as_mut() as &mut dyn Hook).collect();
        all.push(&mut progress);
        let outcome = runs::train_dir_with(&dir, device, opts.checkpoint, evaluators, &mut all)?;
        if let Outcome::Diverged { message, .. } = outcome {
            if opts.on_divergence == OnDivergence::Stop {
                return Err(Error::input(format!(
                    "{}: {message} ({} keeps the last good checkpoint)",
                    spec.name,
                    dir.display()
                )));
            }
        }
        let history = History::load_csv(dir.join("history.csv"))?;
        finished.push(FinishedRun { spec, dir, history });
    }
    let summary = exp.summarise(&ctx, &finished, device)?;
    crate::io::write_atomic(out.join("summary.md"), summary.markdown().as_bytes())?;
    crate::io::write_json(out.join("summary.json"), &summary)?;
    summary.save_figures(out)?;
    Ok(summary)
}

/// The fields (dotted TOML keys) where two configs differ, with both values.
pub fn config_differences(a: &RunConfig, b: &RunConfig) -> Vec<(String, String, String)> {
    fn flatten(prefix: &str, v: &toml::Value, out: &mut Vec<(String, String)>) {
        match v {
            toml::Value::Table(t) => {
                for (k, v) in t {
                    let key = if prefix.is_empty() { k.clone() } else { format!("{prefix}.{k}") };
                    flatten(&key, v, out);
                }
            }
            other => out.push((prefix.to_string(), other.to_string())),
        }
    }
    let flat = |c: &RunConfig| {
        let mut out = vec![];
        if let Ok(v) = toml::Value::try_from(c) {
            flatten("", &v, &mut out);
        }
        out
    };
    let (fa, fb) = (flat(a), flat(b));
    let mut diffs = vec![];
    for (k, va) in &fa {
        let vb = fb.iter().find(|(kb, _)| kb == k).map(|(_, v)| v.clone()).unwrap_or_else(|| "(absent)".into());
        if &vb != va {
            diffs.push((k.clone(), va.clone(), vb));
        }
    }
    for (k, vb) in &fb {
        if !fa.iter().any(|(ka, _)| ka == k) {
            diffs.push((k.clone(), "(absent)".into(), vb.clone()));
        }
    }
    diffs
}
