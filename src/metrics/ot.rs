//! Exact and entropic optimal transport between weighted point sets.
//!
//! * [`emd`]: the exact discrete OT problem `min_P <P, M>` subject to
//!   `P 1 = a`, `Pᵀ 1 = b`, `P ≥ 0`, for any sizes and non-negative weights,
//!   solved by the primal **network simplex** on the bipartite transportation
//!   network (the algorithm of POT's `ot.emd`, which derives from LEMON's
//!   `NetworkSimplex`: artificial root arcs with a big-M cost for the initial
//!   basis, block-search pricing with blocks of `√(nm)` arcs, and the
//!   strongly-feasible leaving-arc rule that rules out cycling). Returns the
//!   cost, the sparse optimal plan (at most `n + m − 1` non-zero entries, a
//!   basic solution) and dual potentials `(α, β)` with `α_i + β_j ≤ M_ij`.
//! * [`sinkhorn`]: entropic OT in the log domain on tensors (CPU or GPU),
//!   POT's `ot.sinkhorn2(..., method="sinkhorn_log")`.
//! * [`wasserstein_weighted`]: `W_p` (p = 1, 2) between two point clouds with
//!   Euclidean ground distance, what `ot.emd2(a, b, ot.dist(x, y)^…)` gives.
//!
//! Written here rather than taken from a crate: the OT crates seen
//! (`lapjv`, `pathfinding::kuhn_munkres`) solve only square assignment
//! problems (uniform weights, equal sizes), and `rust-optimal-transport`
//! wraps POT's C++ and is unmaintained. The spanning tree is kept as parent
//! pointers plus child lists (instead of LEMON's thread/successor arrays):
//! each pivot re-hangs the cut subtree and shifts its potentials in time
//! linear in its size, which is the same order as LEMON's update.

use crate::error::{Error, Result};
use ndarray::{Array2, ArrayView1, ArrayView2};
use tch::{Kind, Tensor};

/// Options of the exact solver.
#[derive(Clone, Debug)]
pub struct EmdOptions {
    /// Upper bound on simplex pivots; reaching it is an error (POT instead
    /// warns and returns a non-optimal plan).
    pub max_iter: usize,
}

impl Default for EmdOptions {
    fn default() -> Self {
        EmdOptions { max_iter: 100_000_000 }
    }
}

/// The solution of an exact OT problem.
#[derive(Clone, Debug)]
pub struct EmdResult {
    /// `<P, M>` at the optimum.
    pub cost: f64,
    /// Non-zero entries `(i, j, P_ij)` of the optimal plan, sorted by `(i, j)`.
    pub plan: Vec<(usize, usize, f64)>,
    /// Dual potential of the first marginal (length `n`).
    pub alpha: Vec<f64>,
    /// Dual potential of the second marginal (length `m`).
    pub beta: Vec<f64>,
    /// Simplex pivots performed.
    pub iterations: usize,
}

impl EmdResult {
    /// The plan as a dense `n×m` matrix.
    pub fn dense_plan(&self, n: usize, m: usize) -> Array2<f64> {
        let mut p = Array2::zeros((n, m));
        for &(i, j, v) in &self.plan {
            p[(i, j)] = v;
        }
        p
    }

    /// The dual objective `Σ a_i α_i + Σ b_j β_j` (equal to `cost` at the
    /// optimum, up to rounding).
    pub fn dual_value(&self, a: &[f64], b: &[f64]) -> f64 {
        a.iter().zip(&self.alpha).map(|(x, y)| x * y).sum::<f64>()
            + b.iter().zip(&self.beta).map(|(x, y)| x * y).sum::<f64>()
    }
}

fn check_weights(w: ArrayView1<f64>, what: &str) -> Result<f64> {
    if w.is_empty() {
        return Err(Error::input(format!("{what}: empty weight vector")));
    }
    if let Some((i, x)) = w.iter().enumerate().find(|(_, x)| !x.is_finite() || **x < 0.0) {
        return Err(Error::input(format!("{what}: weight {i} is {x}, expected a finite value ≥ 0")));
    }
    let s: f64 = w.sum();
    if s <= 0.0 {
        return Err(Error::input(format!("{what}: weights sum to 0")));
    }
    Ok(s)
}

/// Checks `(a, b, M)` and returns `b` rescaled to the mass of `a` (POT's
/// convention: sums must agree to 6 decimals relative, then `b ← b Σa / Σb`).
fn check_problem(a: ArrayView1<f64>, b: ArrayView1<f64>, cost: ArrayView2<f64>) -> Result<Vec<f64>> {
    let sa = check_weights(a, "a")?;
    let sb = check_weights(b, "b")?;
    if cost.dim() != (a.len(), b.len()) {
        return Err(Error::input(format!(
            "cost matrix is {}×{}, expected {}×{} (len a × len b)",
            cost.nrows(),
            cost.ncols(),
            a.len(),
            b.len()
        )));
    }
    if let Some(((i, j), x)) = cost.indexed_iter().find(|(_, x)| !x.is_finite()) {
        return Err(Error::input(format!("cost matrix entry ({i}, {j}) is {x}")));
    }
    if (sa - sb).abs() > 1e-6 * sa.max(sb) {
        return Err(Error::input(format!("a and b must have the same total mass, got {sa} and {sb}")));
    }
    Ok(b.iter().map(|x| x * (sa / sb)).collect())
}

/// Exact OT with default options; see [`emd_with`].
pub fn emd(a: ArrayView1<f64>, b: ArrayView1<f64>, cost: ArrayView2<f64>) -> Result<EmdResult> {
    emd_with(a, b, cost, &EmdOptions::default())
}

/// Exact OT between weights `a` (length n) and `b` (length m) with the `n×m`
/// ground cost `cost`, by the network simplex.
///
/// Errors on empty, negative, non-finite or zero-mass weights, weights whose
/// sums differ (relative 1e-6), a cost matrix of the wrong shape or with
/// non-finite entries, and on reaching `max_iter` pivots. Points of zero
/// weight are left out of the simplex (as POT does); their potentials are the
/// c-transforms of the others', so `α_i + β_j ≤ M_ij` holds everywhere.
pub fn emd_with(a: ArrayView1<f64>, b: ArrayView1<f64>, cost: ArrayView2<f64>, opts: &EmdOptions) -> Result<EmdResult> {
    let b = check_problem(a, b, cost)?;
    let rows: Vec<usize> = (0..a.len()).filter(|&i| a[i] > 0.0).collect();
    let cols: Vec<usize> = (0..b.len()).filter(|&j| b[j] > 0.0).collect();
    let (n, m) = (rows.len(), cols.len());
    let mut sub = vec![0.0; n * m];
    for (r, &i) in rows.iter().enumerate() {
        for (c, &j) in cols.iter().enumerate() {
            sub[r * m + c] = cost[(i, j)];
        }
    }
    let supply: Vec<f64> = rows.iter().map(|&i| a[i]).chain(cols.iter().map(|&j| -b[j])).collect();
    let mut ns = Simplex::new(n, m, sub, supply);
    let iterations = ns.run(opts.max_iter)?;

    let mut plan = Vec::with_capacity(n + m);
    let mut total = 0.0;
    for (r, &i) in rows.iter().enumerate() {
        for (c, &j) in cols.iter().enumerate() {
            let f = ns.flow[r * m + c];
            if f > 0.0 {
                plan.push((i, j, f));
                total += f * ns.cost[r * m + c];
            }
        }
    }
    // Potentials: α_i = −π_i, β_j = π_j, shifted so that min β = 0 (any shift
    // of α up and β down by the same constant is also optimal).
    let mut alpha = vec![f64::NAN; a.len()];
    let mut beta = vec![f64::NAN; b.len()];
    let shift = ns.pi[n..n + m].iter().copied().fold(f64::INFINITY, f64::min);
    for (r, &i) in rows.iter().enumerate() {
        alpha[i] = -ns.pi[r] + shift;
    }
    for (c, &j) in cols.iter().enumerate() {
        beta[j] = ns.pi[n + c] - shift;
    }
    for i in 0..a.len() {
        if alpha[i].is_nan() {
            alpha[i] = cols.iter().map(|&j| cost[(i, j)] - beta[j]).fold(f64::INFINITY, f64::min);
        }
    }
    for j in 0..b.len() {
        if beta[j].is_nan() {
            beta[j] = (0..a.len()).map(|i| cost[(i, j)] - alpha[i]).fold(f64::INFINITY, f64::min);
        }
    }
    Ok(EmdResult { cost: total, plan, alpha, beta, iterations })
}

const NONE: usize = usize::MAX;
const TREE: u8 = 0;
const LOWER: u8 = 1;

/// The network simplex on the complete bipartite network `n → m` plus a
/// root joined to every node by an artificial arc. Real arc `e = r·m + c`
/// goes from supply node `r` to demand node `n + c`; artificial arc
/// `n·m + u` joins node `u` and the root. Reduced cost of arc `s → t`:
/// `cost + π_s − π_t` (zero on tree arcs, ≥ 0 on the others at the optimum).
struct Simplex {
    n: usize,
    m: usize,
    /// Costs of the real arcs, then of the artificial ones.
    cost: Vec<f64>,
    flow: Vec<f64>,
    state: Vec<u8>,
    /// Source of artificial arc of node `u` is `u` (true) or the root (false).
    art_up: Vec<bool>,
    pi: Vec<f64>,
    parent: Vec<usize>,
    pred: Vec<usize>,
    /// `pred[u]` goes from `u` to `parent[u]` (true) or the other way.
    pred_up: Vec<bool>,
    depth: Vec<usize>,
    children: Vec<Vec<usize>>,
    block: usize,
    next_arc: usize,
}

impl Simplex {
    fn new(n: usize, m: usize, sub: Vec<f64>, supply: Vec<f64>) -> Self {
        let nodes = n + m;
        let root = nodes;
        let arcs = n * m;
        let max_cost = sub.iter().fold(0.0f64, |acc, c| acc.max(c.abs()));
        // LEMON's big-M for the artificial arcs: more than any simple path.
        let art_cost = (max_cost + 1.0) * (nodes as f64 + 1.0);
        let mut cost = sub;
        cost.resize(arcs + nodes, 0.0);
        let mut flow = vec![0.0; arcs + nodes];
        let mut state = vec![LOWER; arcs + nodes];
        let mut art_up = vec![true; nodes];
        let mut pi = vec![0.0; nodes + 1];
        let mut pred_up = vec![true; nodes + 1];
        for u in 0..nodes {
            let e = arcs + u;
            state[e] = TREE;
            if supply[u] >= 0.0 {
                art_up[u] = true;
                flow[e] = supply[u];
                cost[e] = 0.0;
                pi[u] = 0.0;
                pred_up[u] = true;
            } else {
                art_up[u] = false;
                flow[e] = -supply[u];
                cost[e] = art_cost;
                pi[u] = art_cost;
                pred_up[u] = false;
            }
        }
        let mut parent = vec![root; nodes + 1];
        parent[root] = NONE;
        let pred: Vec<usize> = (0..nodes).map(|u| arcs + u).chain([NONE]).collect();
        let mut depth = vec![1; nodes + 1];
        depth[root] = 0;
        let mut children = vec![Vec::new(); nodes + 1];
        children[root] = (0..nodes).collect();
        let block = ((arcs as f64).sqrt().ceil() as usize).max(10).min(arcs.max(1));
        Simplex { n, m, cost, flow, state, art_up, pi, parent, pred, pred_up, depth, children, block, next_arc: 0 }
    }

    fn ends(&self, e: usize) -> (usize, usize) {
        let arcs = self.n * self.m;
        if e < arcs {
            (e / self.m, self.n + e % self.m)
        } else {
            let u = e - arcs;
            let root = self.n + self.m;
            if self.art_up[u] {
                (u, root)
            } else {
                (root, u)
            }
        }
    }

    /// Block search pricing: scans blocks of arcs cyclically from where the
    /// last search stopped and returns the most negative reduced cost of the
    /// first block that has one. Reduced costs above `−1e-14·scale` count as
    /// zero, so rounding noise cannot make the method cycle.
    fn entering(&mut self) -> Option<usize> {
        let (n, m) = (self.n, self.m);
        let arcs = n * m;
        let mut best = NONE;
        let mut min = 0.0f64;
        let mut cnt = self.block;
        let mut e = self.next_arc;
        let (mut r, mut c) = (e / m, e % m);
        for _ in 0..arcs {
            if self.state[e] == LOWER {
                let rc = self.cost[e] + self.pi[r] - self.pi[n + c];
                if rc < min {
                    let scale = self.cost[e].abs().max(self.pi[r].abs()).max(self.pi[n + c].abs());
                    if rc < -1e-14 * scale.max(1e-300) {
                        min = rc;
                        best = e;
                    }
                }
            }
            e += 1;
            c += 1;
            if c == m {
                c = 0;
                r += 1;
            }
            if e == arcs {
                e = 0;
                r = 0;
                c = 0;
            }
            cnt -= 1;
            if cnt == 0 {
                if best != NONE {
                    self.next_arc = e;
                    return Some(best);
                }
                cnt = self.block;
            }
        }
        if best != NONE {
            self.next_arc = e;
        }
        (best != NONE).then_some(best)
    }

    fn join(&self, mut u: usize, mut v: usize) -> usize {
        while self.depth[u] > self.depth[v] {
            u = self.parent[u];
        }
        while self.depth[v] > self.depth[u] {
            v = self.parent[v];
        }
        while u != v {
            u = self.parent[u];
            v = self.parent[v];
        }
        u
    }

    fn remove_child(&mut self, p: usize, child: usize) {
        let list = &mut self.children[p];
        if let Some(k) = list.iter().position(|&x| x == child) {
            list.swap_remove(k);
        }
    }

    fn run(&mut self, max_iter: usize) -> Result<usize> {
        let mut iter = 0usize;
        while let Some(e_in) = self.entering() {
            iter += 1;
            if iter > max_iter {
                return Err(Error::input(format!("emd: no optimum after {max_iter} simplex pivots (max_iter)")));
            }
            self.pivot(e_in)?;
        }
        let arcs = self.n * self.m;
        let left: f64 = self.flow[arcs..].iter().sum();
        let mass: f64 = self.flow[..arcs].iter().sum::<f64>().max(1e-300);
        if left > 1e-9 * mass {
            return Err(Error::input(format!("emd: infeasible problem ({left} mass left on artificial arcs)")));
        }
        Ok(iter)
    }

    fn pivot(&mut self, e_in: usize) -> Result<()> {
        let (s, t) = self.ends(e_in);
        let join = self.join(s, t);
        // Leaving arc: the blocking arc met last when going round the cycle in
        // the direction of e_in, starting at the join (strongly feasible rule:
        // `<` on the source side, `<=` on the target side).
        let mut delta = f64::INFINITY;
        let mut u_out = NONE;
        let mut side = 0;
        let mut u = s;
        while u != join {
            if self.pred_up[u] {
                let d = self.flow[self.pred[u]];
                if d < delta {
                    delta = d;
                    u_out = u;
                    side = 1;
                }
            }
            u = self.parent[u];
        }
        let mut u = t;
        while u != join {
            if !self.pred_up[u] {
                let d = self.flow[self.pred[u]];
                if d <= delta {
                    delta = d;
                    u_out = u;
                    side = 2;
                }
            }
            u = self.parent[u];
        }
        if u_out == NONE {
            return Err(Error::input("emd: unbounded problem (negative cycle of infinite capacity)"));
        }
        if delta > 0.0 {
            self.flow[e_in] += delta;
            let mut u = s;
            while u != join {
                let e = self.pred[u];
                if self.pred_up[u] {
                    self.flow[e] -= delta;
                } else {
                    self.flow[e] += delta;
                }
                u = self.parent[u];
            }
            let mut u = t;
            while u != join {
                let e = self.pred[u];
                if self.pred_up[u] {
                    self.flow[e] += delta;
                } else {
                    self.flow[e] -= delta;
                }
                u = self.parent[u];
            }
        }
        let e_out = self.pred[u_out];
        self.flow[e_out] = 0.0;
        self.state[e_out] = LOWER;
        self.state[e_in] = TREE;

        // Re-hang the subtree cut at u_out from the end of e_in inside it.
        let (u_in, v_in) = if side == 1 { (s, t) } else { (t, s) };
        let rc = self.cost[e_in] + self.pi[s] - self.pi[t];
        let shift = if u_in == s { -rc } else { rc };
        let mut path = vec![u_in];
        let mut w = u_in;
        while w != u_out {
            w = self.parent[w];
            path.push(w);
        }
        let old_parent = self.parent[u_out];
        self.remove_child(old_parent, u_out);
        for k in 0..path.len() - 1 {
            self.remove_child(path[k + 1], path[k]);
        }
        for k in (1..path.len()).rev() {
            let (child, par) = (path[k], path[k - 1]);
            self.parent[child] = par;
            self.pred[child] = self.pred[par];
            self.pred_up[child] = !self.pred_up[par];
            self.children[par].push(child);
        }
        self.parent[u_in] = v_in;
        self.pred[u_in] = e_in;
        self.pred_up[u_in] = s == u_in;
        self.children[v_in].push(u_in);
        // Potentials and depths of the re-hung subtree.
        let mut stack = vec![u_in];
        self.depth[u_in] = self.depth[v_in] + 1;
        while let Some(x) = stack.pop() {
            self.pi[x] += shift;
            let d = self.depth[x] + 1;
            for k in 0..self.children[x].len() {
                let ch = self.children[x][k];
                self.depth[ch] = d;
                stack.push(ch);
            }
        }
        Ok(())
    }
}

/// Row-major `n×m` ground cost between the rows of `x` (n×d) and `y` (m×d):
/// `|x_i − y_j|` for `p = 1`, `|x_i − y_j|²` for `p = 2`, from coordinate
/// differences (not `|x|² + |y|² − 2x·y`, which loses digits for close points).
pub fn ground_cost(x: ArrayView2<f64>, y: ArrayView2<f64>, p: u32) -> Result<Array2<f64>> {
    if p != 1 && p != 2 {
        return Err(Error::input(format!("ground cost: p must be 1 or 2, got {p}")));
    }
    if x.ncols() != y.ncols() {
        return Err(Error::input(format!("point sets have different dimensions ({} and {})", x.ncols(), y.ncols())));
    }
    let mut c = Array2::zeros((x.nrows(), y.nrows()));
    for (i, xi) in x.rows().into_iter().enumerate() {
        for (j, yj) in y.rows().into_iter().enumerate() {
            let sq: f64 = xi.iter().zip(yj.iter()).map(|(s, t)| (s - t) * (s - t)).sum();
            c[(i, j)] = if p == 1 { sq.sqrt() } else { sq };
        }
    }
    Ok(c)
}

fn check_points(x: ArrayView2<f64>, what: &str) -> Result<()> {
    if x.nrows() == 0 {
        return Err(Error::input(format!("{what}: empty point set")));
    }
    if let Some(((i, _), v)) = x.indexed_iter().find(|(_, v)| !v.is_finite()) {
        return Err(Error::input(format!("{what}: point {i} has a non-finite coordinate ({v})")));
    }
    Ok(())
}

/// Exact `W_p` (p = 1 or 2, Euclidean ground distance) between the rows of
/// `x` with weights `a` and of `y` with weights `b` (uniform when `None`):
/// `W_1 = min <P, |x − y|>`, `W_2 = (min <P, |x − y|²>)^{1/2}`. Weights are
/// used as given (they must have equal sums; POT's convention).
pub fn wasserstein_weighted(
    x: ArrayView2<f64>,
    a: Option<ArrayView1<f64>>,
    y: ArrayView2<f64>,
    b: Option<ArrayView1<f64>>,
    p: u32,
) -> Result<f64> {
    check_points(x, "first point set")?;
    check_points(y, "second point set")?;
    let cost = ground_cost(x, y, p)?;
    let uniform = |n: usize| ndarray::Array1::from_elem(n, 1.0 / n as f64);
    let a = a.map(|a| a.to_owned()).unwrap_or_else(|| uniform(x.nrows()));
    let b = b.map(|b| b.to_owned()).unwrap_or_else(|| uniform(y.nrows()));
    if a.len() != x.nrows() || b.len() != y.nrows() {
        return Err(Error::input(format!(
            "weights have lengths {} and {} for {} and {} points",
            a.len(),
            b.len(),
            x.nrows(),
            y.nrows()
        )));
    }
    let v = emd(a.view(), b.view(), cost.view())?.cost;
    Ok(if p == 1 { v } else { v.max(0.0).sqrt() })
}

/// Options of [`sinkhorn`].
#[derive(Clone, Debug)]
pub struct SinkhornOptions {
    /// Maximum number of (row + column) iterations.
    pub max_iter: usize,
    /// Stop when `|Pᵀ1 − b|₂ < tol`, checked after iterations 1, 11, 21, … (POT's rule).
    pub tol: f64,
}

impl Default for SinkhornOptions {
    fn default() -> Self {
        // POT's defaults for ot.sinkhorn2.
        SinkhornOptions { max_iter: 1000, tol: 1e-9 }
    }
}

/// The result of [`sinkhorn`].
#[derive(Debug)]
pub struct SinkhornResult {
    /// `<P, M>` (the transport cost of the entropic plan, what POT's
    /// `sinkhorn2` returns; no entropy term).
    pub cost: f64,
    /// The `n×m` plan (f64, on the device of the inputs).
    pub plan: Tensor,
    /// Iterations run.
    pub iterations: usize,
    /// `|Pᵀ1 − b|₂` at the end; ≥ `tol` when `max_iter` was reached.
    pub marginal_error: f64,
}

/// Entropic OT `min <P, M> − reg·H(P)` by Sinkhorn iterations in the log
/// domain (stable for small `reg`), in f64 on the device of `cost`:
/// `u ← log a − LSE_j(v_j − M_ij/reg)`, `v ← log b − LSE_i(u_i − M_ij/reg)`,
/// `P = exp(u_i − M_ij/reg + v_j)`. Weights must be positive.
pub fn sinkhorn(a: &Tensor, b: &Tensor, cost: &Tensor, reg: f64, opts: &SinkhornOptions) -> Result<SinkhornResult> {
    if !(reg.is_finite() && reg > 0.0) {
        return Err(Error::input(format!("sinkhorn: reg must be > 0, got {reg}")));
    }
    let dev = cost.device();
    let a = a.f_to_kind(Kind::Double)?.f_to_device(dev)?;
    let b = b.f_to_kind(Kind::Double)?.f_to_device(dev)?;
    let m = cost.f_to_kind(Kind::Double)?;
    let (na, nb) = (a.numel() as i64, b.numel() as i64);
    if na == 0 || nb == 0 {
        return Err(Error::input("sinkhorn: empty weight vector"));
    }
    if m.size() != [na, nb] {
        return Err(Error::input(format!("sinkhorn: cost matrix is {:?}, expected [{na}, {nb}]", m.size())));
    }
    let bad = |t: &Tensor| -> Result<bool> { Ok(t.f_isfinite()?.f_logical_not()?.f_any()?.f_int64_value(&[])? != 0) };
    if bad(&m)? || bad(&a)? || bad(&b)? {
        return Err(Error::input("sinkhorn: NaN or infinite entries in a, b or the cost matrix"));
    }
    if a.f_le(0.0)?.f_any()?.f_int64_value(&[])? != 0 || b.f_le(0.0)?.f_any()?.f_int64_value(&[])? != 0 {
        return Err(Error::input("sinkhorn: weights must be > 0"));
    }
    let a = a.f_view([na])?;
    let b = b.f_view([nb])?;
    let k = m.f_div_scalar(-reg)?;
    let (la, lb) = (a.f_log()?, b.f_log()?);
    let mut u = Tensor::f_zeros([na], (Kind::Double, dev))?;
    let mut v = Tensor::f_zeros([nb], (Kind::Double, dev))?;
    let mut err = f64::INFINITY;
    let mut it = 0;
    while it < opts.max_iter {
        v = lb.f_sub(&k.f_add(&u.f_unsqueeze(1)?)?.f_logsumexp([0i64].as_slice(), false)?)?;
        u = la.f_sub(&k.f_add(&v.f_unsqueeze(0)?)?.f_logsumexp([1i64].as_slice(), false)?)?;
        it += 1;
        // Checked after iterations 1, 11, 21, … as POT does.
        if (it - 1) % 10 == 0 {
            let p = k.f_add(&u.f_unsqueeze(1)?)?.f_add(&v.f_unsqueeze(0)?)?.f_exp()?;
            let col = p.f_sum_dim_intlist([0i64].as_slice(), false, Kind::Double)?;
            err = col.f_sub(&b)?.f_norm()?.f_double_value(&[])?;
            if err < opts.tol {
                break;
            }
        }
    }
    let plan = k.f_add(&u.f_unsqueeze(1)?)?.f_add(&v.f_unsqueeze(0)?)?.f_exp()?;
    let cost = plan.f_mul(&m)?.f_sum(Kind::Double)?.f_double_value(&[])?;
    Ok(SinkhornResult { cost, plan, iterations: it, marginal_error: err })
}
