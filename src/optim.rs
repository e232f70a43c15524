//! Optimizers whose state the crate owns.
//!
//! `tch::nn::Optimizer` cannot expose or save its moments, so a run could not
//! be resumed exactly. [`Adam`] keeps its first and second moments and its
//! step count as plain tensors; it follows `torch.optim.Adam` (no AMSGrad,
//! L2 weight decay added to the gradient).

use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use tch::Tensor;

/// Hyper-parameters of [`Adam`].
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdamConfig {
    pub lr: f64,
    pub beta1: f64,
    pub beta2: f64,
    #[serde(default = "d_eps")]
    pub eps: f64,
    #[serde(default)]
    pub weight_decay: f64,
}

fn d_eps() -> f64 {
    1e-8
}

impl Default for AdamConfig {
    /// PyTorch's defaults: lr 1e-3, β = (0.9, 0.999), eps 1e-8.
    fn default() -> Self {
        AdamConfig { lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, weight_decay: 0.0 }
    }
}

impl AdamConfig {
    /// Learning rate and β = (beta1, beta2), the rest PyTorch's defaults.
    pub fn new(lr: f64, beta1: f64, beta2: f64) -> Self {
        AdamConfig { lr, beta1, beta2, ..Self::default() }
    }

    /// Checks the ranges; `field` prefixes names in the error.
    pub fn validate(&self, field: &str) -> Result<()> {
        let bad = |name: &str, msg: String| Err(Error::config(format!("{field}.{name}"), msg));
        if !(self.lr.is_finite() && self.lr > 0.0) {
            return bad("lr", format!("must be > 0, got {}", self.lr));
        }
        for (name, b) in [("beta1", self.beta1), ("beta2", self.beta2)] {
            if !(0.0..1.0).contains(&b) {
                return bad(name, format!("must be in [0, 1), got {b}"));
            }
        }
        if !(self.eps.is_finite() && self.eps > 0.0) {
            return bad("eps", format!("must be > 0, got {}", self.eps));
        }
        if !(self.weight_decay.is_finite() && self.weight_decay >= 0.0) {
            return bad("weight_decay", format!("must be ≥ 0, got {}", self.weight_decay));
        }
        Ok(())
    }
}

/// Adam (Kingma & Ba 2015) over a fixed list of parameters.
#[derive(Debug)]
pub struct Adam {
    pub cfg: AdamConfig,
    params: Vec<Tensor>,
    exp_avg: Vec<Tensor>,
    exp_avg_sq: Vec<Tensor>,
    steps: i64,
}

impl Adam {
    /// An optimizer over `params` (e.g. `VarStore::trainable_variables()`).
    pub fn new(params: Vec<Tensor>, cfg: AdamConfig) -> Result<Self> {
        cfg.validate("adam")?;
        let exp_avg = params.iter().map(|p| p.f_zeros_like()).collect::<std::result::Result<Vec<_>, _>>()?;
        let exp_avg_sq = params.iter().map(|p| p.f_zeros_like()).collect::<std::result::Result<Vec<_>, _>>()?;
        Ok(Adam { cfg, params, exp_avg, exp_avg_sq, steps: 0 })
    }

    /// The parameters this optimizer updates.
    pub fn params(&self) -> &[Tensor] {
        &self.params
    }

    /// Number of steps taken.
    pub fn steps(&self) -> i64 {
        self.steps
    }

    /// The state a checkpoint needs: the first moments, the second moments
    /// (one tensor per parameter, in [`Adam::params`] order) and the step count.
    pub fn state(&self) -> (&[Tensor], &[Tensor], i64) {
        (&self.exp_avg, &self.exp_avg_sq, self.steps)
    }

    /// Restores a [`Adam::state`]: copies the moments into this optimizer's
    /// tensors (same number, same shapes, else an error naming `what` and the
    /// parameter index) and sets the step count.
    pub fn load_state(&mut self, exp_avg: &[Tensor], exp_avg_sq: &[Tensor], steps: i64, what: &str) -> Result<()> {
        let n = self.params.len();
        if exp_avg.len() != n || exp_avg_sq.len() != n {
            return Err(Error::input(format!(
                "{what}: the optimizer has {n} parameters, the saved state {} and {} moments",
                exp_avg.len(),
                exp_avg_sq.len()
            )));
        }
        if steps < 0 {
            return Err(Error::input(format!("{what}: negative step count {steps}")));
        }
        let _guard = tch::no_grad_guard();
        for (i, (dst, src)) in
            self.exp_avg.iter_mut().chain(self.exp_avg_sq.iter_mut()).zip(exp_avg.iter().chain(exp_avg_sq)).enumerate()
        {
            if dst.size() != src.size() {
                return Err(Error::input(format!(
                    "{what}: moment {} of parameter {} has shape {:?}, the saved one {:?}",
                    if i < n { 1 } else { 2 },
                    i % n,
                    dst.size(),
                    src.size()
                )));
            }
            dst.f_copy_(src)?;
        }
        self.steps = steps;
        Ok(())
    }

    /// One descent step on `loss`: zeroes the gradients, evaluates `loss`,
    /// back-propagates it and steps; returns the loss, detached.
    pub fn minimise(&mut self, loss: impl FnOnce() -> Result<Tensor>) -> Result<Tensor> {
        self.zero_grad();
        let loss = loss()?;
        loss.f_backward()?;
        self.step()?;
        Ok(loss.detach())
    }

    /// Sets every parameter's gradient to zero.
    pub fn zero_grad(&mut self) {
        for p in self.params.iter_mut() {
            p.zero_grad();
        }
    }

    /// One Adam step with the gradients currently stored in the parameters:
    ///
    /// `m ← β1 m + (1−β1) g`, `v ← β2 v + (1−β2) g²`,
    /// `p ← p − lr/(1−β1^t) · m / (√v/√(1−β2^t) + eps)` — `torch.optim.Adam`'s
    /// formula, so runs can be compared with PyTorch's.
    pub fn step(&mut self) -> Result<()> {
        let AdamConfig { lr, beta1, beta2, eps, weight_decay } = self.cfg;
        self.steps += 1;
        let t = self.steps as i32;
        let bc1 = 1.0 - beta1.powi(t);
        let bc2_sqrt = (1.0 - beta2.powi(t)).sqrt();
        // p + m / d with d = (√v/√(1−β2^t) + eps)·(−(1−β1^t)/lr) is the
        // formula above in seven kernels per parameter (two lerps, a square,
        // a sqrt, two in-place scalings and one addcdiv) instead of eleven:
        // the small networks of the papers are bound by kernel launches.
        let scale = -bc1 / lr;
        let _guard = tch::no_grad_guard();
        for ((p, m), v) in self.params.iter_mut().zip(self.exp_avg.iter_mut()).zip(self.exp_avg_sq.iter_mut()) {
            let mut g = p.grad();
            if !g.defined() {
                continue;
            }
            if weight_decay != 0.0 {
                g = g.f_add(&(&*p * weight_decay))?;
            }
            let _ = m.f_lerp_(&g, 1.0 - beta1)?;
            let _ = v.f_lerp_(&g.f_square()?, 1.0 - beta2)?;
            let mut d = v.f_sqrt()?;
            let _ = d.f_mul_scalar_(scale / bc2_sqrt)?;
            let _ = d.f_add_scalar_(eps * scale)?;
            let _ = p.f_addcdiv_(m, &d)?;
        }
        Ok(())
    }
}
