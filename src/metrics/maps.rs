//! How close a learned map T̂ is to a known optimal map T*, as Korotin et
//! al. 2021 measure it (`src/metrics.py` of their Wasserstein2Benchmark), on
//! a fixed test sample `x_1..x_n` of P:
//!
//! * **L2-UVP** (unexplained variance percentage):
//!   `100 · mean_i |T̂(x_i) − T*(x_i)|² / Var(Q)`: 0 for the optimal map,
//!   100 for the constant map to Q's mean;
//! * **cos**: `mean_i ⟨T*(x_i) − x_i, T̂(x_i) − x_i⟩ /
//!   √(mean_i |T*(x_i) − x_i|² · mean_i |T̂(x_i) − x_i|²)`, the cosine between
//!   the two displacement fields: 1 when T̂ moves every point the right way,
//!   0 for the identity (defined so; its displacement is zero).
//!
//! [`LinearMap`] is the baseline Korotin et al. call *linear*: the optimal
//! map between the Gaussians fitted to samples of P and Q (the Bures map).

use crate::data::pairs::gaussian_map_matrix;
use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use tch::{Kind, Tensor};

/// L2-UVP (%) and cos of a map on a test sample.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct MapScores {
    pub l2_uvp: f64,
    pub cos: f64,
}

fn mean_row_sq(t: &Tensor) -> Result<f64> {
    Ok(t.f_square()?.f_sum_dim_intlist(1, false, Kind::Double)?.f_mean(Kind::Double)?.f_double_value(&[])?)
}

/// The scores of `t_hat = T̂(x)` against `t_star = T*(x)` on the rows of `x`,
/// with `var_q` = Var(Q) (see the [module docs](self)).
pub fn map_scores(x: &Tensor, t_hat: &Tensor, t_star: &Tensor, var_q: f64) -> Result<MapScores> {
    if x.size() != t_hat.size() || x.size() != t_star.size() || x.dim() != 2 {
        return Err(Error::input(format!(
            "map scores need n×d samples of one shape, got {:?}, {:?} and {:?}",
            x.size(),
            t_hat.size(),
            t_star.size()
        )));
    }
    if !(var_q.is_finite() && var_q > 0.0) {
        return Err(Error::input(format!("map scores need Var(Q) > 0, got {var_q}")));
    }
    let (x, t_hat, t_star) =
        (x.f_to_kind(Kind::Double)?, t_hat.f_to_kind(Kind::Double)?, t_star.f_to_kind(Kind::Double)?);
    let l2_uvp = 100.0 * mean_row_sq(&(&t_hat - &t_star))? / var_q;
    let (move_hat, move_star) = (&t_hat - &x, &t_star - &x);
    let dot =
        (&move_hat * &move_star).f_sum_dim_intlist(1, false, Kind::Double)?.f_mean(Kind::Double)?.f_double_value(&[])?;
    let denom = (mean_row_sq(&move_hat)? * mean_row_sq(&move_star)?).sqrt();
    let cos = if denom > 0.0 { dot / denom } else { 0.0 };
    Ok(MapScores { l2_uvp, cos })
}

/// The optimal map between the Gaussians fitted to two samples:
/// `x ↦ μ_Q + A(x − μ_P)`, `A = Σ_P^{-1/2}(Σ_P^{1/2} Σ_Q Σ_P^{1/2})^{1/2} Σ_P^{-1/2}`.
#[derive(Debug)]
pub struct LinearMap {
    pub mu_p: Tensor,
    pub mu_q: Tensor,
    pub a: Tensor,
}

impl LinearMap {
    /// Fitted to samples `p` of P and `q` of Q (rows; f64 throughout).
    pub fn fit(p: &Tensor, q: &Tensor) -> Result<Self> {
        let moments = |t: &Tensor| -> Result<(Tensor, Tensor)> {
            let t = t.f_to_kind(Kind::Double)?;
            let n = t.size()[0];
            if n < 2 {
                return Err(Error::input("a linear map needs at least 2 samples of each side"));
            }
            let mu = t.f_mean_dim(0, false, Kind::Double)?;
            let c = &t - &mu;
            let cov = c.f_transpose(0, 1)?.f_matmul(&c)? / (n - 1) as f64;
            Ok((mu, cov))
        };
        let (mu_p, sigma_p) = moments(p)?;
        let (mu_q, sigma_q) = moments(q)?;
        // A tiny ridge keeps Σ_P^{-1/2} finite when the sample spans less than d.
        let d = sigma_p.size()[0];
        let ridge = Tensor::f_eye(d, (Kind::Double, sigma_p.device()))? * 1e-9;
        let a = gaussian_map_matrix(&(sigma_p + ridge), &sigma_q)?;
        Ok(LinearMap { mu_p, mu_q, a })
    }

    /// The map applied to the rows of `x` (result in `x`'s kind).
    pub fn apply(&self, x: &Tensor) -> Result<Tensor> {
        let dev = x.device();
        let y = (x.f_to_kind(Kind::Double)? - self.mu_p.f_to_device(dev)?).f_matmul(&self.a.f_to_device(dev)?)?
            + self.mu_q.f_to_device(dev)?;
        Ok(y.f_to_kind(x.kind())?)
    }
}
