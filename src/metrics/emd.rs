//! Exact Wasserstein distances between two point sets of equal size with
//! uniform weights.
//!
//! For `n` points on each side with weights `1/n`, an optimal plan is a
//! permutation (Birkhoff–von Neumann), so `W_p^p = min_σ (1/n) Σ_i |x_i −
//! y_σ(i)|^p` is an assignment problem, solved here exactly by the shortest
//! augmenting path method (Hungarian algorithm with potentials, O(n³)), in
//! f64. This is what the authors evaluate with `ot.emd2` on 512 vs 512 points.
//!
//! Written here rather than taken from a crate: `pathfinding::kuhn_munkres`
//! needs integer costs and `lapjv` pins an older ndarray; the solver is 60
//! lines and tested against brute force.

use crate::error::{Error, Result};
use tch::{Kind, Tensor};

/// An optimal assignment: row `i` goes to column `cols[i]`.
#[derive(Clone, Debug, PartialEq)]
pub struct Assignment {
    pub cols: Vec<usize>,
    /// `Σ_i cost[i][cols[i]]`.
    pub total: f64,
}

/// Minimum-cost perfect matching of the `n×n` row-major `cost` matrix.
///
/// Errors on a matrix that is not `n×n`, or holds NaN or infinite entries.
pub fn assignment(cost: &[f64], n: usize) -> Result<Assignment> {
    if cost.len() != n * n {
        return Err(Error::input(format!("cost matrix has {} entries, expected {n}×{n}", cost.len())));
    }
    if let Some(pos) = cost.iter().position(|c| !c.is_finite()) {
        return Err(Error::input(format!("cost matrix entry ({}, {}) is {}", pos / n, pos % n, cost[pos])));
    }
    if n == 0 {
        return Ok(Assignment { cols: vec![], total: 0.0 });
    }
    // Shortest augmenting paths with row/column potentials u, v; 1-based with
    // column 0 as the virtual source (e-maxx formulation).
    let inf = f64::INFINITY;
    let mut u = vec![0.0; n + 1];
    let mut v = vec![0.0; n + 1];
    let mut p = vec![0usize; n + 1]; // p[j]: row matched to column j
    let mut way = vec![0usize; n + 1];
    let mut minv = vec![inf; n + 1];
    let mut used = vec![false; n + 1];
    for i in 1..=n {
        p[0] = i;
        let mut j0 = 0usize;
        minv.iter_mut().for_each(|m| *m = inf);
        used.iter_mut().for_each(|b| *b = false);
        loop {
            used[j0] = true;
            let i0 = p[j0];
            let row = &cost[(i0 - 1) * n..i0 * n];
            let ui0 = u[i0];
            let mut delta = inf;
            let mut j1 = 0usize;
            for j in 1..=n {
                if !used[j] {
                    let cur = row[j - 1] - ui0 - v[j];
                    if cur < minv[j] {
                        minv[j] = cur;
                        way[j] = j0;
                    }
                    if minv[j] < delta {
                        delta = minv[j];
                        j1 = j;
                    }
                }
            }
            if j1 == 0 {
                // Only reachable with non-finite reduced costs, excluded above.
                return Err(Error::input("assignment solver found no augmenting path"));
            }
            for j in 0..=n {
                if used[j] {
                    u[p[j]] += delta;
                    v[j] -= delta;
                } else {
                    minv[j] -= delta;
                }
            }
            j0 = j1;
            if p[j0] == 0 {
                break;
            }
        }
        loop {
            let j1 = way[j0];
            p[j0] = p[j1];
            j0 = j1;
            if j0 == 0 {
                break;
            }
        }
    }
    let mut cols = vec![0usize; n];
    for j in 1..=n {
        cols[p[j] - 1] = j - 1;
    }
    let total = cols.iter().enumerate().map(|(i, &j)| cost[i * n + j]).sum();
    Ok(Assignment { cols, total })
}

/// Copies an `n×d` tensor to a row-major `Vec<f64>`, checking its shape and
/// values; `what` names it in errors.
pub fn points(t: &Tensor, what: &str) -> Result<(Vec<f64>, usize, usize)> {
    if t.dim() != 2 {
        return Err(Error::input(format!("{what}: expected an n×d array, got shape {:?}", t.size())));
    }
    let (n, d) = (t.size()[0] as usize, t.size()[1] as usize);
    let flat = t.f_detach()?.f_to_device(tch::Device::Cpu)?.f_to_kind(Kind::Double)?.f_contiguous()?.f_view([-1])?;
    let v = Vec::<f64>::try_from(&flat)?;
    if let Some(pos) = v.iter().position(|x| !x.is_finite()) {
        return Err(Error::input(format!("{what}: point {} has a non-finite coordinate ({})", pos / d.max(1), v[pos])));
    }
    Ok((v, n, d))
}

/// The rows of an `n×2` tensor as plot points `[x, y]`.
pub fn points2(t: &Tensor, what: &str) -> Result<Vec<[f64; 2]>> {
    let (v, _, d) = points(t, what)?;
    if d != 2 {
        return Err(Error::input(format!("{what}: expected 2D points, got shape {:?}", t.size())));
    }
    Ok(v.chunks_exact(2).map(|c| [c[0], c[1]]).collect())
}

/// Plot points as an `n×2` f32 tensor on `device`.
pub fn tensor2(points: &[[f64; 2]], device: tch::Device) -> Result<Tensor> {
    let flat: Vec<f32> = points.iter().flat_map(|p| [p[0] as f32, p[1] as f32]).collect();
    Ok(Tensor::from_slice(&flat).f_reshape([points.len() as i64, 2])?.f_to_device(device)?)
}

/// Exact `W_p` (p = 1 or 2) with Euclidean ground distance between the rows
/// of `x` and `y`, both `n×d` with uniform weights:
/// `W_p = (min_σ (1/n) Σ_i |x_i − y_σ(i)|^p)^{1/p}`.
pub fn wasserstein(x: &Tensor, y: &Tensor, p: u32) -> Result<f64> {
    if p != 1 && p != 2 {
        return Err(Error::input(format!("wasserstein: p must be 1 or 2, got {p}")));
    }
    let (a, n, d) = points(x, "first point set")?;
    let (b, m, e) = points(y, "second point set")?;
    if n == 0 || m == 0 {
        return Err(Error::input(format!("wasserstein: empty point set ({n} and {m} points)")));
    }
    if n != m {
        return Err(Error::input(format!("wasserstein: needs equal sizes, got {n} and {m} points")));
    }
    if d != e {
        return Err(Error::input(format!("wasserstein: dimensions differ ({d} and {e})")));
    }
    let mut cost = vec![0.0; n * n];
    for i in 0..n {
        let xi = &a[i * d..(i + 1) * d];
        for j in 0..n {
            let yj = &b[j * d..(j + 1) * d];
            let sq: f64 = xi.iter().zip(yj).map(|(s, t)| (s - t) * (s - t)).sum();
            cost[i * n + j] = if p == 1 { sq.sqrt() } else { sq };
        }
    }
    let mean = assignment(&cost, n)?.total / n as f64;
    Ok(if p == 1 { mean } else { mean.max(0.0).sqrt() })
}
