//! The divergence guard and its test hook.
//!
//! The last loss, the gradient norm after the last update and the moved
//! samples of each step of an epoch are recorded on the device without a
//! host synchronisation ([`Watch`]); [`Guard::check`] reads them (one
//! transfer) and returns [`Error::Diverged`] naming the first non-finite one.
//! The trainer checks after every epoch on the CPU and at every evaluation
//! on a GPU, and before a checkpoint is taken, so a checkpoint never holds a
//! diverged state.
//!
//! **Test hook** ([`NanAt`]): poison one step of one epoch with a NaN, to
//! exercise the guard. It is not part of a run's config: a test sets it on a
//! trainer ([`crate::train::Trainer::inject_nan`]), or on every trainer of a
//! process through `WGFLOW_TEST_NAN_AT=EPOCH:STEP` (e.g. `5:critic`).

use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use tch::{Device, Kind, Tensor};

/// The environment variable of the NaN test hook.
pub const NAN_AT_ENV: &str = "WGFLOW_TEST_NAN_AT";

/// The step of an epoch a [`NanAt`] hook poisons (and an [`Error::Diverged`] names).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum GuardStep {
    /// Step 1: the critic's loss gets a NaN added.
    Critic,
    /// Steps 2–3: the generator's output gets a NaN added.
    Generator,
    /// SBE only: the potential Φ_p's output gets a NaN added.
    Potential,
}

impl GuardStep {
    pub fn name(self) -> &'static str {
        match self {
            GuardStep::Critic => "critic",
            GuardStep::Generator => "generator",
            GuardStep::Potential => "potential",
        }
    }

    fn from_name(name: &str) -> Option<Self> {
        [GuardStep::Critic, GuardStep::Generator, GuardStep::Potential].into_iter().find(|s| s.name() == name)
    }
}

/// **Test hook**: add a NaN to `step` in epoch `epoch` (epochs count from 1:
/// the 5th epoch trained).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NanAt {
    pub epoch: usize,
    pub step: GuardStep,
}

impl NanAt {
    /// Parses `EPOCH:STEP`, e.g. `5:critic`.
    pub fn parse(s: &str) -> Result<Self> {
        let bad = |msg: String| Error::config(NAN_AT_ENV, msg);
        let (e, st) =
            s.split_once(':').ok_or_else(|| bad(format!("expected EPOCH:STEP (e.g. 5:critic), got {s:?}")))?;
        let epoch = e.trim().parse().map_err(|_| bad(format!("`{e}` is not an epoch number")))?;
        let step = GuardStep::from_name(st.trim())
            .ok_or_else(|| bad(format!("unknown step `{st}`; expected critic, generator or potential")))?;
        Ok(NanAt { epoch, step })
    }

    /// The hook of `WGFLOW_TEST_NAN_AT`, if set.
    pub fn from_env() -> Result<Option<Self>> {
        match std::env::var(NAN_AT_ENV) {
            Ok(v) if !v.is_empty() => Self::parse(&v).map(Some),
            _ => Ok(None),
        }
    }
}

/// The guard values of one epoch: one scalar per watched tensor (the tensor
/// itself, or its sum for a batch), concatenated on the device without a sync.
#[derive(Default)]
pub struct Watch {
    labels: Vec<(&'static str, &'static str)>,
    values: Vec<Tensor>,
}

impl Watch {
    /// Records `t` as `tensor` of `step`.
    pub fn push(&mut self, step: &'static str, tensor: &'static str, t: &Tensor) -> Result<()> {
        // A sum is finite exactly when every element is (barring an overflow
        // of a sum of huge values, which is divergence too).
        let v = if t.numel() == 1 { t.detach() } else { t.detach().f_sum(Kind::Float)? };
        self.labels.push((step, tensor));
        self.values.push(v.f_reshape([1])?.f_to_kind(Kind::Double)?);
        Ok(())
    }
}

/// `(step, tensor)` labels of watched values.
type Labels = Vec<(&'static str, &'static str)>;

/// The guard values of the epochs not yet read on the host.
#[derive(Default)]
pub struct Guard {
    pending: Vec<(usize, Labels, Tensor)>,
}

impl Guard {
    /// Keeps the values `watch` recorded in epoch `epoch` (1-based).
    pub fn record(&mut self, epoch: usize, watch: Watch) -> Result<()> {
        if !watch.values.is_empty() {
            self.pending.push((epoch, watch.labels, Tensor::f_cat(&watch.values, 0)?));
        }
        Ok(())
    }

    /// Reads every value recorded since the last check (one transfer from
    /// the device) and returns [`Error::Diverged`] for the first that is not
    /// finite.
    pub fn check(&mut self) -> Result<()> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let pending = std::mem::take(&mut self.pending);
        let all = Tensor::f_cat(&pending.iter().map(|p| &p.2).collect::<Vec<_>>(), 0)?;
        let values = Vec::<f64>::try_from(&all.f_to_device(Device::Cpu)?)?;
        let labels = pending.iter().flat_map(|(epoch, labels, _)| labels.iter().map(move |l| (*epoch, l)));
        for ((epoch, (step, tensor)), v) in labels.zip(values) {
            if !v.is_finite() {
                return Err(Error::Diverged { epoch, step: step.to_string(), tensor: tensor.to_string(), value: v });
            }
        }
        Ok(())
    }

    /// Forgets unchecked values (a state was loaded over them).
    pub fn clear(&mut self) {
        self.pending.clear();
    }
}

/// The Euclidean norm of all gradients of `params` (those defined), on the device.
pub fn grad_norm(params: &[Tensor]) -> Result<Tensor> {
    let norms: Vec<Tensor> = params.iter().map(|p| p.grad()).filter(|g| g.defined()).map(|g| g.norm()).collect();
    if norms.is_empty() {
        return Ok(Tensor::f_zeros([], (Kind::Float, params.first().map(|p| p.device()).unwrap_or(Device::Cpu)))?);
    }
    Ok(Tensor::f_stack(&norms, 0)?.f_norm()?)
}
