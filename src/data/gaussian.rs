//! A multivariate Gaussian fitted to a data set: the source of the
//! MV-Gaussian → MNIST experiment (004_… §6.2).
//!
//! The mean and the covariance are the maximum-likelihood estimates (the
//! covariance divides by N), computed in f64. Sampling is `μ + L ε` with
//! `L Lᵀ = Σ + jitter·I` the Cholesky factor. Image data have constant pixels
//! (MNIST's border is always −1), so Σ is singular; the jitter starts at 0 and
//! grows ×10 from 1e-10 · mean(diag Σ) until the factorisation succeeds (at
//! most 1e-1 · mean(diag Σ)); the value used is kept in [`MvGaussian::jitter`].
//!
//! The authors' code (`jshe/wasserstein-2`, `exp_mvg/data_loader.py`) uses
//! `np.cov` (N − 1) and adds 0.1·I before sampling: [`MvGaussian::fit_with_ridge`]
//! with `ridge = 0.1` reproduces the added term.

use crate::error::{Error, Result};
use tch::{Device, Kind, Tensor};

/// A Gaussian `N(μ, Σ)` over samples of a fixed shape.
#[derive(Debug)]
pub struct MvGaussian {
    /// Mean, `D` f64 on the CPU.
    pub mean: Tensor,
    /// Covariance (MLE, plus the ridge if any), `D×D` f64 on the CPU.
    pub cov: Tensor,
    /// Cholesky factor of `cov + jitter·I`, lower triangular, f64 on the CPU.
    pub chol: Tensor,
    /// The jitter that made the factorisation succeed (0 when none was needed).
    pub jitter: f64,
    /// The shape of one sample (`[C, H, W]` for images, `[d]` for points).
    pub sample_shape: Vec<i64>,
    // f32 copies used for sampling, on the last device asked for.
    mean32: Tensor,
    chol32_t: Tensor,
}

impl MvGaussian {
    /// Fits `N(μ, Σ)` to the rows of `x` (`N × …`, N ≥ 2, any float kind).
    pub fn fit(x: &Tensor) -> Result<Self> {
        Self::fit_with_ridge(x, 0.0)
    }

    /// Fits `N(μ, Σ + ridge·I)`.
    pub fn fit_with_ridge(x: &Tensor, ridge: f64) -> Result<Self> {
        let s = x.size();
        if s.is_empty() || s[0] < 2 {
            return Err(Error::input(format!("fitting a Gaussian needs at least 2 samples, got shape {s:?}")));
        }
        if !(ridge >= 0.0 && ridge.is_finite()) {
            return Err(Error::config("ridge", format!("must be finite and ≥ 0, got {ridge}")));
        }
        let n = s[0];
        let d: i64 = s[1..].iter().product();
        let x = x.to_device(Device::Cpu).to_kind(Kind::Double).reshape([n, d]);
        let mean = x.mean_dim(0, false, Kind::Double);
        let xc = &x - &mean;
        let mut cov = xc.tr().matmul(&xc) / n as f64;
        if ridge > 0.0 {
            cov += Tensor::eye(d, (Kind::Double, Device::Cpu)) * ridge;
        }
        if cov.isfinite().all().int64_value(&[]) == 0 {
            return Err(Error::input("the data hold NaN or infinite values: cannot fit a Gaussian"));
        }
        let scale = f64::max(cov.diagonal(0, 0, 1).mean(Kind::Double).double_value(&[]), f64::MIN_POSITIVE);
        let eye = Tensor::eye(d, (Kind::Double, Device::Cpu));
        let mut jitter = 0.0;
        let mut rel = 1e-10;
        let chol = loop {
            let (l, info) = (&cov + &eye * jitter).linalg_cholesky_ex(false, false);
            if info.int64_value(&[]) == 0 {
                break l;
            }
            if rel > 1e-1 {
                return Err(Error::input(format!(
                    "the covariance is not positive definite even with jitter {jitter:.3e}·I"
                )));
            }
            jitter = rel * scale;
            rel *= 10.0;
        };
        Ok(MvGaussian {
            mean32: mean.to_kind(Kind::Float),
            chol32_t: chol.tr().to_kind(Kind::Float).contiguous(),
            mean,
            cov,
            chol,
            jitter,
            sample_shape: s[1..].to_vec(),
        })
    }

    /// Dimension D.
    pub fn dim(&self) -> i64 {
        self.mean.size()[0]
    }

    /// `n` samples `μ + L ε`, f32 of shape `n × sample_shape` on `device`,
    /// drawn from libtorch's generator ([`crate::device::seed_all`]).
    pub fn sample(&mut self, n: i64, device: Device) -> Result<Tensor> {
        if n < 1 {
            return Err(Error::config("n", format!("must be ≥ 1, got {n}")));
        }
        if self.mean32.device() != device {
            self.mean32 = self.mean32.to_device(device);
            self.chol32_t = self.chol32_t.to_device(device);
        }
        let eps = Tensor::f_randn([n, self.dim()], (Kind::Float, device))?;
        let y = eps.f_matmul(&self.chol32_t)? + &self.mean32;
        let mut shape = vec![n];
        shape.extend_from_slice(&self.sample_shape);
        Ok(y.f_reshape(shape)?)
    }
}
