//! What [`Trainer::fit`] calls around its one loop, and the evaluators a
//! trainer runs at every evaluation.
//!
//! * A [`Hook`] sees every trained epoch, every evaluation and the end of
//!   the run, and may fail: progress ([`crate::progress::Progress`]),
//!   checkpoints ([`crate::runs`]), snapshots ([`Snapshots`]), a notebook's
//!   own closure ([`on_eval`], [`on_epoch`]). An error stops the run.
//! * An [`Evaluator`] adds named values to every evaluation row (the exact
//!   W1 and W2 are the trainer's own): 1-NN accuracy, FID, … They are kept
//!   in the history and its checkpoint like the trainer's columns.

use super::{Row, Snapshot, Trainer};
use crate::error::Result;

/// Called by [`Trainer::fit`]; every method has a default that does nothing.
pub trait Hook {
    /// Before the first step of this `fit` (after any checkpoint was loaded).
    fn on_start(&mut self, _trainer: &mut Trainer) -> Result<()> {
        Ok(())
    }

    /// After an evaluation; `row` is the history's last row.
    fn on_eval(&mut self, _trainer: &Trainer, _row: &Row) -> Result<()> {
        Ok(())
    }

    /// After each trained epoch, once the guard and any evaluation ran.
    fn on_epoch(&mut self, _trainer: &mut Trainer) -> Result<()> {
        Ok(())
    }

    /// Once the last epoch is trained and checked.
    fn on_finish(&mut self, _trainer: &mut Trainer) -> Result<()> {
        Ok(())
    }
}

/// Named values computed from the trainer at every evaluation, stored in
/// the row's `metrics`.
pub trait Evaluator {
    /// `(name, value)` pairs for the current state of `trainer`. Must not
    /// disturb training: draw from libtorch's generator only after seeding
    /// it (the trainer reseeds every epoch), never from a data sampler.
    fn evaluate(&mut self, trainer: &Trainer) -> Result<Vec<(String, f64)>>;
}

/// The NaN test hook as a hook: set on the trainer when `fit` starts.
impl Hook for super::NanAt {
    fn on_start(&mut self, trainer: &mut Trainer) -> Result<()> {
        trainer.inject_nan(*self)
    }
}

/// A closure `FnMut(&Trainer) -> Result<f64>` as an evaluator of one value.
pub struct FnEvaluator<F> {
    name: String,
    f: F,
}

/// An evaluator named `name` computing one value with `f`.
pub fn evaluator<F: FnMut(&Trainer) -> Result<f64>>(name: impl Into<String>, f: F) -> FnEvaluator<F> {
    FnEvaluator { name: name.into(), f }
}

impl<F: FnMut(&Trainer) -> Result<f64>> Evaluator for FnEvaluator<F> {
    fn evaluate(&mut self, trainer: &Trainer) -> Result<Vec<(String, f64)>> {
        Ok(vec![(self.name.clone(), (self.f)(trainer)?)])
    }
}

/// A closure called after every evaluation ([`on_eval`]).
pub struct OnEval<F>(F);

/// A hook calling `f(trainer, row)` after every evaluation.
pub fn on_eval<F: FnMut(&Trainer, &Row) -> Result<()>>(f: F) -> OnEval<F> {
    OnEval(f)
}

impl<F: FnMut(&Trainer, &Row) -> Result<()>> Hook for OnEval<F> {
    fn on_eval(&mut self, trainer: &Trainer, row: &Row) -> Result<()> {
        (self.0)(trainer, row)
    }
}

/// A closure called after every trained epoch ([`on_epoch`]).
pub struct OnEpoch<F>(F);

/// A hook calling `f(trainer)` after every trained epoch.
pub fn on_epoch<F: FnMut(&Trainer) -> Result<()>>(f: F) -> OnEpoch<F> {
    OnEpoch(f)
}

impl<F: FnMut(&Trainer) -> Result<()>> Hook for OnEpoch<F> {
    fn on_epoch(&mut self, trainer: &mut Trainer) -> Result<()> {
        (self.0)(trainer)
    }
}

/// Snapshots of a 2D run's fixed evaluation sample at chosen epochs (the
/// evolution panels of 000 Fig. 1); epoch 0 is taken at the first
/// evaluation.
#[derive(Clone, Debug, Default)]
pub struct Snapshots {
    pub epochs: Vec<usize>,
    pub taken: Vec<Snapshot>,
}

impl Snapshots {
    /// Snapshots at `epochs`.
    pub fn at(epochs: impl IntoIterator<Item = usize>) -> Self {
        Snapshots { epochs: epochs.into_iter().collect(), taken: vec![] }
    }

    /// Snapshots at 0, E/4, E/2 and E for a run of `epochs` epochs.
    pub fn quarters(epochs: usize) -> Self {
        let mut v = vec![0, epochs / 4, epochs / 2, epochs];
        v.dedup();
        Self::at(v)
    }

    fn take(&mut self, trainer: &Trainer) -> Result<()> {
        if self.epochs.contains(&trainer.epoch()) && !self.taken.iter().any(|s| s.epoch == trainer.epoch()) {
            self.taken.push(trainer.snapshot()?);
            self.taken.sort_by_key(|s| s.epoch);
        }
        Ok(())
    }
}

impl Hook for Snapshots {
    fn on_eval(&mut self, trainer: &Trainer, _row: &Row) -> Result<()> {
        self.take(trainer)
    }

    fn on_epoch(&mut self, trainer: &mut Trainer) -> Result<()> {
        self.take(trainer)
    }
}
