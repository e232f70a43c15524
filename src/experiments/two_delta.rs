//! The two-delta example of 002 §2.3 (Prop. 5, App. B).
//!
//! The model is `ρ_θ = α δ_a + (1 − α) δ_b` with `θ = (a, b)`, the loss is
//! `F_W1(θ) = W1(ρ_θ, ρ_θ*) = α|a − a*| + (1 − α)|b − b*|`, and one proximal
//! step is `argmin_θ F_W1(θ) + d(θ, θ^k)²/(2h)` with either the Wasserstein
//! metric `d_W² = α(a − a^k)² + (1 − α)(b − b^k)²` or the Euclidean
//! `d_E² = (a − a^k)² + (b − b^k)²`. Both have closed forms through the
//! shrink (soft-threshold) operator, and Prop. 5 says the Wasserstein step
//! lowers `F_W1` at least as much as the Euclidean one.

/// `shrink_{target}(x, h)`: move `x` towards `target` by `h`, stopping there.
pub fn shrink(x: f64, target: f64, h: f64) -> f64 {
    if x > target + h {
        x - h
    } else if x < target - h {
        x + h
    } else {
        target
    }
}

/// `F_W1(θ) = α|a − a*| + (1 − α)|b − b*|`.
pub fn f_w1(theta: (f64, f64), star: (f64, f64), alpha: f64) -> f64 {
    alpha * (theta.0 - star.0).abs() + (1.0 - alpha) * (theta.1 - star.1).abs()
}

/// The Wasserstein proximal step: `(shrink_{a*}(a^k, h), shrink_{b*}(b^k, h))`.
pub fn wasserstein_prox(theta_k: (f64, f64), star: (f64, f64), h: f64) -> (f64, f64) {
    (shrink(theta_k.0, star.0, h), shrink(theta_k.1, star.1, h))
}

/// The Euclidean proximal step: `(shrink_{a*}(a^k, αh), shrink_{b*}(b^k, (1−α)h))`.
pub fn euclidean_prox(theta_k: (f64, f64), star: (f64, f64), h: f64, alpha: f64) -> (f64, f64) {
    (shrink(theta_k.0, star.0, alpha * h), shrink(theta_k.1, star.1, (1.0 - alpha) * h))
}

/// The objective `F_W1(θ) + d(θ, θ^k)²/(2h)` each step minimises
/// (`wasserstein` selects d_W, else d_E).
pub fn prox_objective(
    theta: (f64, f64),
    theta_k: (f64, f64),
    star: (f64, f64),
    h: f64,
    alpha: f64,
    wasserstein: bool,
) -> f64 {
    let (da, db) = ((theta.0 - theta_k.0).powi(2), (theta.1 - theta_k.1).powi(2));
    let d2 = if wasserstein { alpha * da + (1.0 - alpha) * db } else { da + db };
    f_w1(theta, star, alpha) + d2 / (2.0 * h)
}

/// A sequence of parameters `(a, b)`.
pub type Trajectory = Vec<(f64, f64)>;

/// `k` steps of each proximal scheme from `theta0`, returning the
/// Wasserstein and the Euclidean trajectories of `(a, b)` (for 002 Fig. 1).
pub fn trajectories(theta0: (f64, f64), star: (f64, f64), h: f64, alpha: f64, k: usize) -> (Trajectory, Trajectory) {
    let (mut w, mut e) = (vec![theta0], vec![theta0]);
    for _ in 0..k {
        w.push(wasserstein_prox(*w.last().unwrap_or(&theta0), star, h));
        e.push(euclidean_prox(*e.last().unwrap_or(&theta0), star, h, alpha));
    }
    (w, e)
}
