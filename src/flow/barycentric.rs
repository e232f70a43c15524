//! Barycentric-OT's map stage (Seguy et al. 2018, the baseline of 004) and
//! the Discrete-OT map (004 Fig. 1(b)), and the W2 flow under it.
//!
//! Given a regularised dual (φ on the source, ψ on the target) the plan's
//! density on a pair is `w(z, x) = H(φ(z) + ψ(x) − |z − x|²/2)` (L2: `λ·s_+`;
//! entropic: `exp(s/λ)`), and the barycentric projection `E_π[x | z]` is the
//! minimiser of `E_{z,x} w(z, x)·|x − G(z)|²/2` over maps G. The authors'
//! `map_loss` estimates this expectation on the row-paired batch, as here.

use crate::critic::w2::{half_sq_cost, plan_weight, Regularisation};
use crate::error::{same_shape, Error, Result};
use crate::metrics::emd;
use tch::{Kind, Tensor};

/// `mean_i w_i · |x_i − out_i|²/2` with the plan weights `w` (detached).
pub fn barycentric_loss(x: &Tensor, out: &Tensor, weights: &Tensor) -> Result<Tensor> {
    Ok((half_sq_cost(x, out)? * weights.detach()).f_mean(None::<Kind>)?)
}

/// The plan weights `H(φ(z) + ψ(x) − |z − x|²/2)` of row-paired `z`, `x`.
pub fn plan_weights(
    phi_z: &Tensor,
    psi_x: &Tensor,
    z: &Tensor,
    x: &Tensor,
    reg: Regularisation,
    lambda: f64,
) -> Result<Tensor> {
    let slack = phi_z + psi_x - half_sq_cost(z, x)?;
    Ok(plan_weight(&slack, reg, lambda)?.detach())
}

/// The Discrete-OT map between two equal-size samples: the optimal
/// assignment for the squared Euclidean cost, returned as the target row each
/// source row goes to (004 Fig. 1(b), "optimal assignment algorithm").
pub fn discrete_ot_map(source: &Tensor, target: &Tensor) -> Result<Tensor> {
    let (a, n, d) = emd::points(source, "source sample")?;
    let (b, m, e) = emd::points(target, "target sample")?;
    if n != m || d != e {
        return Err(Error::input(format!("Discrete-OT needs samples of one shape, got {n}×{d} and {m}×{e}")));
    }
    let mut cost = vec![0.0; n * n];
    for i in 0..n {
        for j in 0..n {
            cost[i * n + j] =
                a[i * d..(i + 1) * d].iter().zip(&b[j * d..(j + 1) * d]).map(|(p, q)| (p - q) * (p - q)).sum();
        }
    }
    let asg = emd::assignment(&cost, n)?;
    let idx = Tensor::from_slice(&asg.cols.iter().map(|&c| c as i64).collect::<Vec<_>>()).to(target.device());
    Ok(target.f_index_select(0, &idx)?)
}

/// The map error of 004 §6.1: `(1/n) Σ_i |G(x_i) − T(x_i)|²`, T the
/// Discrete-OT image of `x_i` on the same samples.
pub fn map_error(mapped: &Tensor, discrete: &Tensor) -> Result<f64> {
    same_shape(mapped, discrete, "map error")?;
    let d = (mapped.detach() - discrete.detach()).f_to_kind(Kind::Double)?;
    Ok(d.f_square()?
        .f_flatten(1, -1)?
        .f_sum_dim_intlist(1, false, None::<Kind>)?
        .f_mean(None::<Kind>)?
        .double_value(&[]))
}

/// The W2 flow of particles under the exact map: `y ← y − ε(y − T(y))`, `T`
/// the Discrete-OT map of the current particles onto `x` ([`discrete_ot_map`]),
/// for `steps` steps. Returns the flow times `nε` and the exact W2 between the
/// particles and `x` at each (`steps + 1` values). With the exact map the
/// Euler scheme decays as `(1 − ε)^n` until the sampling floor (003 eq. 14).
pub fn exact_w2_flow(y0: &Tensor, x: &Tensor, eps: f64, steps: usize) -> Result<(Vec<f64>, Vec<f64>)> {
    if !(eps > 0.0 && eps <= 1.0) {
        return Err(Error::config("eps", format!("the Euler step must be in (0, 1], got {eps}")));
    }
    let mut y = y0.detach().f_to_kind(Kind::Double)?;
    let x = x.detach().f_to_kind(Kind::Double)?;
    let (mut t, mut w2) = (Vec::with_capacity(steps + 1), Vec::with_capacity(steps + 1));
    for n in 0..=steps {
        let ty = discrete_ot_map(&y, &x)?;
        t.push(n as f64 * eps);
        w2.push(map_error(&y, &ty)?.sqrt());
        y = (&y - (&y - &ty) * eps).detach();
    }
    Ok((t, w2))
}
