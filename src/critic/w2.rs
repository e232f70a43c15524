//! The W2 dual critic (φ, ψ) of W2-FE (003, Algorithm 1), W2GAN (004 eq. 4,
//! 25–29, App. 8.7) and the dual stage of Barycentric-OT (Seguy et al. 2018).
//!
//! With cost `c(y, x) = |y − x|²/2`, `W2²/2 = sup { E φ(y) + E ψ(x) :
//! φ(y) + ψ(x) ≤ c(y, x) }`; φ lives on the generated (or source) side, ψ on
//! the data side (004 eq. 4: `φ(G(z)) + ψ(x)`). The optimal map from the
//! generated samples is `T(y) = y − ∇φ(y)` (004 eq. 3), so the forward-Euler
//! step `ζ = y − ε∇φ(y)` with ε = 1 jumps to the Monge image.
//!
//! The critic maximises `L_OT = mean(φ(y) + ψ(x))` minus penalties; this
//! module returns the loss to *minimise*, `−L_OT + penalties`:
//! * inequality (004 eq. 4): `λ_ineq · mean((φ(y) + ψ(x) − c(y, x))_+²)` (L2,
//!   as in 004 and the authors' `ineq_loss`), or the entropic
//!   `λ · mean(exp((φ + ψ − c)/λ))` of Seguy et al.;
//! * the same on interpolated points `ỹ = t y + (1−t) x` and
//!   `x̃ = s x' + (1−s) y'` (004 eq. 28), where `(y', x')` is an independent
//!   pair (004 §8.6: "two i.i.d. random variables"; Algorithm 1 samples
//!   `x, x'` and `y, y'`) or, as in the authors' code, the same pair `(y, x)`
//!   ([`InterpPairs`]);
//! * equality (004 eq. 25–26): `λ_eq · mean((φ(y) + ψ(y − ∇φ(y)) − |∇φ(y)|²/2)²)`
//!   and `λ_eq · mean((φ(x − ∇ψ(x)) + ψ(x) − |∇ψ(x)|²/2)²)`;
//! * with the reparametrisation ψ = −φ + ε (004 App. 8.7), `λ_ε · mean(ε(x)_+²)`
//!   (eq. 29).
//!
//! The talk 003 prints the inequality term unsquared; the papers it cites
//! (Seguy et al., 004) and the authors' code square it, as here.

use super::{gradient, per_row_uniform, row_sq_norm, CriticLoss};
use crate::error::{same_shape, Error, Result};
use crate::nets::{Net, NetConfig, Role};
use serde::{Deserialize, Serialize};
use tch::{nn, Kind, Tensor};

/// How ψ is parametrised.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PsiParam {
    /// ψ is its own network (Seguy et al.; W2-FE in 003).
    Independent,
    /// ψ = −φ + ε with ε a second network (004 App. 8.7; authors' `W2.psi`).
    Reparam,
}

/// How the c-inequality `φ(y) + ψ(x) ≤ c(y, x)` is relaxed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Regularisation {
    /// `λ · (φ + ψ − c)_+²`.
    L2,
    /// `λ · exp((φ + ψ − c)/λ)`.
    Entropy,
}

/// Which pairs the interpolated inequality penalty (004 eq. 28) mixes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum InterpPairs {
    /// `ỹ` from the pair `(y_i, x_i)` and `x̃` from an independent pair
    /// `(y_π(i), x_π(i))`, `π` a uniform random permutation of the batch: 004
    /// §8.6 defines `X̃` and `Ỹ` as two i.i.d. copies of `εX + (1−ε)Y`, and
    /// its Algorithm 1 samples `x, x' ~ P_X`, `y, y' ~ P_G(Z)`, `ε₁, ε₂`.
    /// The default.
    Independent,
    /// `ỹ` and `x̃` from the same pair `(y_i, x_i)`, as the authors' code
    /// (`exp_2d`, `exp_da`) does. Every run saved before this choice existed
    /// used it, so a saved config with `interp` on and without the field
    /// reads as `same`.
    Same,
}

/// Penalty weights of the W2 critic. `Default` is 004 App. 8.9.1 and the
/// authors' 2D defaults: λ_ineq = λ_eq = 200, interpolation and both equality
/// terms on, no ε term.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(from = "W2PenaltyFields")]
pub struct W2Penalty {
    pub regularisation: Regularisation,
    pub lambda_ineq: f64,
    /// Also penalise the inequality on interpolated pairs (004 eq. 28).
    pub interp: bool,
    /// Which pairs the interpolates mix (with `interp`). A saved config
    /// from before this field existed reads as `same` when `interp` is on
    /// (what it ran), else as `independent` (unused, as the presets write it).
    pub interp_pairs: InterpPairs,
    /// Weight of the equality terms (0 turns them off).
    pub lambda_eq: f64,
    pub eq_phi: bool,
    pub eq_psi: bool,
    /// Weight of `ε(x)_+²` (only with [`PsiParam::Reparam`]).
    pub lambda_eps: f64,
}

/// [`W2Penalty`] as written, before `interp_pairs` gets its value.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct W2PenaltyFields {
    regularisation: Regularisation,
    lambda_ineq: f64,
    interp: bool,
    #[serde(default)]
    interp_pairs: Option<InterpPairs>,
    lambda_eq: f64,
    eq_phi: bool,
    eq_psi: bool,
    lambda_eps: f64,
}

impl From<W2PenaltyFields> for W2Penalty {
    fn from(f: W2PenaltyFields) -> Self {
        let saved_before_choice = if f.interp { InterpPairs::Same } else { InterpPairs::Independent };
        W2Penalty {
            regularisation: f.regularisation,
            lambda_ineq: f.lambda_ineq,
            interp: f.interp,
            interp_pairs: f.interp_pairs.unwrap_or(saved_before_choice),
            lambda_eq: f.lambda_eq,
            eq_phi: f.eq_phi,
            eq_psi: f.eq_psi,
            lambda_eps: f.lambda_eps,
        }
    }
}

impl Default for W2Penalty {
    fn default() -> Self {
        // 004 App. 8.9.1: "we set λ_eq = λ_ineq = 200".
        W2Penalty {
            regularisation: Regularisation::L2,
            lambda_ineq: 200.0,
            interp: true,
            interp_pairs: InterpPairs::Independent,
            lambda_eq: 200.0,
            eq_phi: true,
            eq_psi: true,
            lambda_eps: 0.0,
        }
    }
}

impl W2Penalty {
    /// Only the inequality term (Seguy et al.'s dual, used by W2-FE in 003 and
    /// by Barycentric-OT), with weight `lambda`.
    pub fn seguy(regularisation: Regularisation, lambda: f64) -> Self {
        W2Penalty {
            regularisation,
            lambda_ineq: lambda,
            interp: false,
            interp_pairs: InterpPairs::Independent,
            lambda_eq: 0.0,
            eq_phi: false,
            eq_psi: false,
            lambda_eps: 0.0,
        }
    }

    /// Checks every weight is finite and ≥ 0 (λ_ineq > 0 for entropy).
    pub fn validate(&self, field: &str) -> Result<()> {
        for (name, v) in
            [("lambda_ineq", self.lambda_ineq), ("lambda_eq", self.lambda_eq), ("lambda_eps", self.lambda_eps)]
        {
            if !(v.is_finite() && v >= 0.0) {
                return Err(Error::config(format!("{field}.{name}"), format!("must be a finite number ≥ 0, got {v}")));
            }
        }
        if self.regularisation == Regularisation::Entropy && self.lambda_ineq <= 0.0 {
            return Err(Error::config(format!("{field}.lambda_ineq"), "entropic regularisation needs λ > 0"));
        }
        Ok(())
    }
}

/// The interpolated points `(ỹ, x̃)` of 004 eq. 28 for data `x` and
/// generated samples `y` (same shape): `ỹ_i = t_i y_i + (1−t_i) x_i` and
/// `x̃_i = s_i x'_i + (1−s_i) y'_i` with `t_i, s_i ~ U(0, 1)` and `(y', x')`
/// per `pairs`. Detached. Draws `t`, then `s`, then (independent pairs) the
/// permutation from libtorch's generator.
pub fn interpolated_points(x: &Tensor, y: &Tensor, pairs: InterpPairs) -> Result<(Tensor, Tensor)> {
    same_shape(x, y, "W2 critic interpolates")?;
    let t = per_row_uniform(y)?;
    let s = per_row_uniform(y)?;
    let yt = (y * &t + x * (-&t + 1.0)).detach();
    let (x2, y2) = match pairs {
        InterpPairs::Same => (x.shallow_clone(), y.shallow_clone()),
        InterpPairs::Independent => {
            let perm = Tensor::f_randperm(y.size()[0], (Kind::Int64, y.device()))?;
            (x.f_index_select(0, &perm)?, y.f_index_select(0, &perm)?)
        }
    };
    let xt = (&x2 * &s + &y2 * (-&s + 1.0)).detach();
    Ok((yt, xt))
}

/// `|a − b|²/2` per row.
pub fn half_sq_cost(a: &Tensor, b: &Tensor) -> Result<Tensor> {
    Ok(row_sq_norm(&(a - b))? * 0.5)
}

/// The relaxed c-inequality term on values `s = φ + ψ − c`.
pub fn ineq_term(s: &Tensor, reg: Regularisation, lambda: f64) -> Result<Tensor> {
    Ok(match reg {
        Regularisation::L2 => s.f_clamp_min(0.0)?.f_square()?.f_mean(None::<Kind>)? * lambda,
        Regularisation::Entropy => (s / lambda).f_exp()?.f_mean(None::<Kind>)? * lambda,
    })
}

/// The weight the regularised plan puts on a pair with slack `s = φ + ψ − c`:
/// `λ·s_+` (L2, as the authors' `map_loss`) or `exp(s/λ)` (entropic).
pub fn plan_weight(s: &Tensor, reg: Regularisation, lambda: f64) -> Result<Tensor> {
    Ok(match reg {
        Regularisation::L2 => s.f_clamp_min(0.0)? * lambda,
        Regularisation::Entropy => (s / lambda).f_exp()?,
    })
}

/// The W2 dual critic.
#[derive(Debug)]
pub struct W2Critic {
    phi: Net,
    second: Net,
    pub param: PsiParam,
    pub penalty: W2Penalty,
}

impl W2Critic {
    /// φ and the second network (ψ, or ε for the reparametrisation) under `path`.
    pub fn new(
        path: &nn::Path,
        phi: &NetConfig,
        second: &NetConfig,
        param: PsiParam,
        penalty: W2Penalty,
    ) -> Result<Self> {
        penalty.validate("critic.penalty")?;
        Ok(W2Critic {
            phi: Net::new(&(path / "phi"), phi, Role::Critic, "critic.net")?,
            second: Net::new(&(path / "psi"), second, Role::Critic, "critic.psi_net")?,
            param,
            penalty,
        })
    }

    /// φ, one value per row.
    pub fn phi(&self, y: &Tensor) -> Tensor {
        self.phi.forward_t(y, true).squeeze_dim(-1)
    }

    /// The second network's output (ε under the reparametrisation).
    fn second(&self, x: &Tensor) -> Tensor {
        self.second.forward_t(x, true).squeeze_dim(-1)
    }

    /// ψ, one value per row.
    pub fn psi(&self, x: &Tensor) -> Tensor {
        match self.param {
            PsiParam::Independent => self.second(x),
            PsiParam::Reparam => -self.phi(x) + self.second(x),
        }
    }

    /// The loss on data `x` and generated (or source) samples `y`, paired
    /// row by row as independent draws.
    pub fn loss(&self, x: &Tensor, y: &Tensor) -> Result<CriticLoss> {
        same_shape(x, y, "W2 critic batches")?;
        let (x, y) = (x.detach(), y.detach());
        let p = self.penalty;
        let phi = |t: &Tensor| self.phi(t);
        let psi = |t: &Tensor| self.psi(t);
        let u = phi(&y);
        let v = psi(&x);
        let l_ot = (&u + &v).f_mean(None::<Kind>)?;
        let mut pen = ineq_term(&(&u + &v - half_sq_cost(&y, &x)?), p.regularisation, p.lambda_ineq)?;
        if p.interp {
            let (yt, xt) = interpolated_points(&x, &y, p.interp_pairs)?;
            let slack = phi(&yt) + psi(&xt) - half_sq_cost(&yt, &xt)?;
            pen += ineq_term(&slack, p.regularisation, p.lambda_ineq)?;
        }
        // The equality penalty of potential f at the points `at`:
        // `λ_eq·mean((r(at − ∇f(at)) − |∇f(at)|²/2)²)`, where `r(m)` adds f
        // at `at` and the other potential at the moved points `m`.
        let eq_term = |f: &dyn Fn(&Tensor) -> Tensor, at: &Tensor, r: &dyn Fn(&Tensor) -> Tensor| -> Result<Tensor> {
            let g = gradient(f, at, true)?;
            let moved = at - &g;
            let half = row_sq_norm(&g)? * 0.5;
            let r = r(&moved) - half;
            Ok(r.f_square()?.f_mean(None::<Kind>)? * p.lambda_eq)
        };
        if p.lambda_eq > 0.0 && p.eq_phi {
            // 004 eq. (25): φ(y) + ψ(y − ∇φ(y)) = |∇φ(y)|²/2 on the support.
            pen += eq_term(&phi, &y, &|ty| phi(&y) + psi(ty))?;
        }
        if p.lambda_eq > 0.0 && p.eq_psi {
            // 004 eq. (26): φ(x − ∇ψ(x)) + ψ(x) = |∇ψ(x)|²/2.
            pen += eq_term(&psi, &x, &|tx| phi(tx) + psi(&x))?;
        }
        if p.lambda_eps > 0.0 && self.param == PsiParam::Reparam {
            // 004 eq. (29).
            pen += self.second(&x).f_clamp_min(0.0)?.f_square()?.f_mean(None::<Kind>)? * p.lambda_eps;
        }
        Ok(CriticLoss { loss: -&l_ot + &pen, estimate: l_ot.detach(), penalty: pen.detach() })
    }
}
