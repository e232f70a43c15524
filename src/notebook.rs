//! Helpers for notebooks (the evcxr Jupyter kernel of `make kernel`).
//!
//! The kernel's start-up file calls [`init`]; notebooks read [`quick`] to
//! shorten training when run headless in CI (`WGFLOW_QUICK=1`), and use
//! [`evolution_step`] / [`w2_decay`] to turn a trainer into figures.

use crate::error::{Error, Result};
use crate::flow::euler;
use crate::plot::{EvolutionStep, W2Decay};
use crate::train::{History, Trainer};
use std::sync::Once;

/// Whether notebooks should run their quick version: `WGFLOW_QUICK` is set
/// to anything but `""` or `"0"` (`make notebooks` sets it by default).
pub fn quick() -> bool {
    std::env::var("WGFLOW_QUICK").is_ok_and(|v| !v.is_empty() && v != "0")
}

/// `quick_value` under [`quick`], else `full_value`.
pub fn pick<T>(full_value: T, quick_value: T) -> T {
    if quick() {
        quick_value
    } else {
        full_value
    }
}

static HOOK: Once = Once::new();

/// Called by the kernel's start-up file. With `WGFLOW_ABORT_ON_PANIC=1`
/// (set by `make notebooks`) a panic in a cell prints its message and aborts
/// the kernel's child process, so the cell ends in an error instead of
/// evcxr's caught panic, which a headless run would report as success.
/// Idempotent.
pub fn init() {
    if std::env::var("WGFLOW_ABORT_ON_PANIC").is_ok_and(|v| v == "1") {
        HOOK.call_once(|| {
            let default = std::panic::take_hook();
            std::panic::set_hook(Box::new(move |info| {
                default(info);
                eprintln!("wgflow: aborting on panic (WGFLOW_ABORT_ON_PANIC=1)");
                std::process::abort();
            }));
        });
    }
}

/// The trainer's fixed evaluation sample now, with each generated point's
/// Euler target `y − ε∇φ(y)` under the current potential (one column of
/// 004 Fig. 4).
pub fn evolution_step(trainer: &Trainer, eps: f64) -> Result<EvolutionStep> {
    let snap = trainer.snapshot()?;
    let y: Vec<f32> = snap.generated.iter().flat_map(|p| [p[0] as f32, p[1] as f32]).collect();
    let y = tch::Tensor::from_slice(&y).f_reshape([snap.generated.len() as i64, 2])?.f_to_device(trainer.device())?;
    let critic = trainer.critic();
    let moved = euler::euler_targets(&|t: &tch::Tensor| critic.generator_potential(t), &y, eps)?;
    let (v, _, _) = crate::metrics::emd::points(&moved, "moved points")?;
    let moved = v.chunks_exact(2).map(|c| [c[0], c[1]]).collect();
    EvolutionStep::new(format!("epoch {}", snap.epoch), snap.target, snap.source, snap.generated, moved)
}

/// The W2 decay of a history against `e^{−t}` (003 eq. (14)), with flow time
/// `t = epoch · dt` (for W2-FE, `dt` is the Euler step ε per epoch).
pub fn w2_decay(history: &History, dt: f64) -> Result<W2Decay> {
    if !(dt.is_finite() && dt > 0.0) {
        return Err(Error::config("dt", format!("must be finite and > 0, got {dt}")));
    }
    let t = history.rows.iter().map(|r| r.epoch as f64 * dt).collect();
    let w2: Vec<f64> = history.rows.iter().map(|r| r.w2).collect();
    W2Decay::new("W2 decay against e^{-t} (003)", t, &w2)
}
