//! Pairs of distributions whose optimal map is known exactly, for measuring
//! how well a method learns W2 maps in high dimension (the idea of Korotin
//! et al. 2021, "Do Neural Optimal Transport Solvers Work?", built here from
//! nothing instead of from pretrained networks).
//!
//! By Brenier's theorem the gradient of a convex function ψ is the optimal
//! map, for the cost `|x − y|²/2`, from any P to `(∇ψ)#P`. Two families,
//! each seeded and of any dimension d:
//!
//! * [`PairFamily::Gaussian`]: P = N(μ_P, Σ_P) → Q = N(μ_Q, Σ_Q) with random
//!   means and covariances; `T*(x) = μ_Q + A(x − μ_P)`,
//!   `A = Σ_P^{-1/2}(Σ_P^{1/2} Σ_Q Σ_P^{1/2})^{1/2} Σ_P^{-1/2}` (the W2GN
//!   benchmark setting), and W2 in closed form.
//! * [`PairFamily::Mixture`]: P a mixture of three Gaussians pushed by
//!   `T* = ∇ψ`, `ψ(x) = ½xᵀBx + Σ_j w_j softplus(a_j·x + c_j)` with B positive
//!   definite (eigenvalues in [0.5, 2]) and `w_j ≥ 0`: ψ is strongly convex,
//!   so T* is the optimal map from P to Q = T*#P. Each ridge is a smooth
//!   fold across a hyperplane through a point of P (a random unit direction,
//!   sharpness a quarter of the spread of P's projections on it), and the
//!   folds together displace points three times as much (in RMS) as the
//!   quadratic part: the map is far from linear (the best linear map leaves
//!   8–10 % of Q's variance unexplained for d = 2 … 256).
//!
//! Construction draws from a ChaCha8 stream of the pair's seed (never from
//! libtorch's generator); samples of P draw from libtorch's generator, which
//! the trainer reseeds every epoch, as the toy sets do.
//!
//! In a run's config: `source = { pair = "mixture", dim = 16, side = "input" }`
//! and `target = { pair = "mixture", dim = 16, side = "output" }`.

use super::batch::Sampler;
use crate::error::{Error, Result};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use tch::{Device, Kind, Tensor};

/// Which family of pairs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PairFamily {
    /// Gaussian → Gaussian, the linear optimal map.
    Gaussian,
    /// A mixture of three Gaussians → its push-forward by ∇ψ.
    Mixture,
}

impl PairFamily {
    pub const ALL: [PairFamily; 2] = [PairFamily::Gaussian, PairFamily::Mixture];

    pub fn name(self) -> &'static str {
        match self {
            PairFamily::Gaussian => "gaussian",
            PairFamily::Mixture => "mixture",
        }
    }

    pub fn from_name(name: &str) -> Result<Self> {
        Self::ALL
            .into_iter()
            .find(|f| f.name() == name)
            .ok_or_else(|| Error::config("pair", format!("unknown pair family `{name}`; expected gaussian or mixture")))
    }
}

/// P (`input`) or Q = T*#P (`output`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PairSide {
    Input,
    Output,
}

/// One side of a pair, as a run's source or target.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PairSpec {
    pub pair: PairFamily,
    pub dim: i64,
    #[serde(default)]
    pub seed: u64,
    pub side: PairSide,
}

impl PairSpec {
    /// Checks the dimension (1 to 4096).
    pub fn validate(&self, field: &str) -> Result<()> {
        if !(1..=4096).contains(&self.dim) {
            return Err(Error::config(format!("{field}.dim"), format!("must be in 1..=4096, got {}", self.dim)));
        }
        Ok(())
    }
}

/// `n × d` standard normal values from a ChaCha8 stream (Box–Muller).
fn normals(rng: &mut ChaCha8Rng, n: usize) -> Vec<f64> {
    (0..n)
        .map(|_| {
            let u: f64 = rng.gen_range(f64::EPSILON..1.0);
            let v: f64 = rng.gen();
            (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
        })
        .collect()
}

fn mat(values: Vec<f64>, rows: i64, cols: i64) -> Result<Tensor> {
    Ok(Tensor::from_slice(&values).f_reshape([rows, cols])?)
}

/// A random orthogonal d×d matrix (QR of a Gaussian matrix), f64.
fn orthogonal(rng: &mut ChaCha8Rng, d: i64) -> Result<Tensor> {
    let g = mat(normals(rng, (d * d) as usize), d, d)?;
    let (q, r) = Tensor::f_linalg_qr(&g, "reduced")?;
    // Signs of R's diagonal, so that Q is Haar-distributed.
    let signs = r.f_diagonal(0, 0, 1)?.f_sign()?;
    Ok(q * signs.f_unsqueeze(0)?)
}

/// `O diag(λ) Oᵀ` with eigenvalues log-uniform in `[lo, hi]`.
fn random_spd(rng: &mut ChaCha8Rng, d: i64, lo: f64, hi: f64) -> Result<Tensor> {
    let o = orthogonal(rng, d)?;
    let lam: Vec<f64> = (0..d).map(|_| (lo.ln() + rng.gen::<f64>() * (hi / lo).ln()).exp()).collect();
    let lam = Tensor::from_slice(&lam);
    Ok((&o * lam.f_unsqueeze(0)?).f_matmul(&o.f_transpose(0, 1)?)?)
}

/// `S^p` of a symmetric positive semi-definite matrix by its eigendecomposition.
pub fn spd_power(s: &Tensor, p: f64) -> Result<Tensor> {
    let (lam, v) = s.f_linalg_eigh("L")?;
    let lam = lam.f_clamp_min(0.0)?.f_pow_tensor_scalar(p)?;
    Ok((&v * lam.f_unsqueeze(0)?).f_matmul(&v.f_transpose(0, 1)?)?)
}

/// The optimal linear map between Gaussians: `A = Σ_P^{-1/2}(Σ_P^{1/2} Σ_Q Σ_P^{1/2})^{1/2} Σ_P^{-1/2}`.
pub fn gaussian_map_matrix(sigma_p: &Tensor, sigma_q: &Tensor) -> Result<Tensor> {
    let half = spd_power(sigma_p, 0.5)?;
    let inv_half = spd_power(sigma_p, -0.5)?;
    let mid = spd_power(&half.f_matmul(sigma_q)?.f_matmul(&half)?, 0.5)?;
    let a = inv_half.f_matmul(&mid)?.f_matmul(&inv_half)?;
    // Symmetric up to rounding; make it exactly so.
    Ok((&a + a.f_transpose(0, 1)?) * 0.5)
}

/// P.
#[derive(Debug)]
enum Input {
    /// N(mean, chol cholᵀ).
    Gaussian { mean: Tensor, chol: Tensor },
    /// Equal-weight mixture of N(means_c, std² I).
    Mixture { means: Tensor, std: f64 },
}

impl Input {
    /// `n` points from a ChaCha8 stream, f32 on the CPU.
    fn sample_with(&self, rng: &mut ChaCha8Rng, n: usize, d: i64) -> Result<Tensor> {
        let eps = mat(normals(rng, n * d as usize), n as i64, d)?.f_to_kind(Kind::Float)?;
        match self {
            Input::Gaussian { mean, chol } => Ok(eps.f_matmul(&chol.f_transpose(0, 1)?)? + mean),
            Input::Mixture { means, std } => {
                let comp: Vec<i64> = (0..n).map(|_| rng.gen_range(0..3)).collect();
                Ok(eps * *std + means.f_index_select(0, &Tensor::from_slice(&comp))?)
            }
        }
    }
}

/// T*.
#[derive(Debug)]
enum KnownMap {
    /// `μ_Q + A(x − μ_P)`.
    Linear { mu_p: Tensor, mu_q: Tensor, a: Tensor },
    /// `∇ψ(x) = Bx + Σ_j w_j σ(a_j·x + c_j) a_j`.
    Potential { b: Tensor, a: Tensor, c: Tensor, w: Tensor },
}

/// A pair (P, Q = T*#P) with its exact optimal map T*. See the [module docs](self).
#[derive(Debug)]
pub struct MapPair {
    pub family: PairFamily,
    pub dim: i64,
    pub seed: u64,
    input: Input,
    map: KnownMap,
    /// Q's mean.
    pub output_mean: Tensor,
    /// Var(Q) = E|y − E y|², y ~ Q (exact for Gaussian pairs; estimated on
    /// 2^16 points of the pair's own stream for mixtures).
    pub output_variance: f64,
    /// W2(P, Q)² = E|T*(x) − x|² (exact for Gaussian pairs, estimated likewise).
    pub w2_squared: f64,
}

/// The folds' displacement RMS, as a multiple of the quadratic part's.
const FOLDS: f64 = 3.0;

/// Points used to estimate a mixture pair's moments.
const MOMENT_SAMPLES: usize = 1 << 16;

impl MapPair {
    /// The pair of `family` in dimension `dim` drawn with `seed`.
    pub fn new(family: PairFamily, dim: i64, seed: u64) -> Result<Self> {
        if dim < 1 {
            return Err(Error::config("dim", format!("must be ≥ 1, got {dim}")));
        }
        let d = dim;
        let mut rng =
            ChaCha8Rng::seed_from_u64(seed ^ (family as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ dim as u64);
        let f32v = |t: Tensor| t.f_to_kind(Kind::Float);
        match family {
            PairFamily::Gaussian => {
                let mu_p = Tensor::from_slice(&normals(&mut rng, d as usize));
                let mu_q = Tensor::from_slice(&normals(&mut rng, d as usize));
                let sigma_p = random_spd(&mut rng, d, 0.25, 4.0)?;
                let sigma_q = random_spd(&mut rng, d, 0.25, 4.0)?;
                let a = gaussian_map_matrix(&sigma_p, &sigma_q)?;
                let chol = sigma_p.f_linalg_cholesky(false)?;
                // W2² = |μ_P − μ_Q|² + tr(Σ_P + Σ_Q − 2(Σ_P^{1/2} Σ_Q Σ_P^{1/2})^{1/2}).
                let half = spd_power(&sigma_p, 0.5)?;
                let cross = spd_power(&half.f_matmul(&sigma_q)?.f_matmul(&half)?, 0.5)?;
                let tr = |t: &Tensor| -> Result<f64> { Ok(t.f_trace()?.f_double_value(&[])?) };
                let w2_squared = (&mu_p - &mu_q).f_square()?.f_sum(Kind::Double)?.f_double_value(&[])?
                    + tr(&sigma_p)?
                    + tr(&sigma_q)?
                    - 2.0 * tr(&cross)?;
                let output_variance = tr(&sigma_q)?;
                Ok(MapPair {
                    family,
                    dim,
                    seed,
                    input: Input::Gaussian { mean: f32v(mu_p.shallow_clone())?, chol: f32v(chol)? },
                    output_mean: f32v(mu_q.shallow_clone())?,
                    map: KnownMap::Linear { mu_p: f32v(mu_p)?, mu_q: f32v(mu_q)?, a: f32v(a)? },
                    output_variance,
                    w2_squared,
                })
            }
            PairFamily::Mixture => {
                // Three components two standard deviations apart on average.
                let means = mat(normals(&mut rng, 3 * d as usize), 3, d)? * 2.0;
                let b = random_spd(&mut rng, d, 0.5, 2.0)?;
                let input = Input::Mixture { means: f32v(means)?, std: 1.0 };
                // Ridges: folds across hyperplanes through points of P, in
                // random unit directions, their sharpness a quarter of the
                // spread of P's projections.
                let ridges = d.max(8);
                let x = input.sample_with(&mut rng, MOMENT_SAMPLES, d)?;
                let dirs = mat(normals(&mut rng, (ridges * d) as usize), ridges, d)?.f_to_kind(Kind::Float)?;
                let dirs = &dirs / dirs.f_norm_scalaropt_dim(2, [1], true)?;
                let proj = x.f_matmul(&dirs.f_transpose(0, 1)?)?;
                let spread = proj.f_std_dim(Some([0].as_slice()), true, false)?;
                let picks: Vec<i64> = (0..ridges).map(|_| rng.gen_range(0..MOMENT_SAMPLES as i64)).collect();
                let through = proj.f_index_select(0, &Tensor::from_slice(&picks))?.f_diagonal(0, 0, 1)?;
                let sharp = (spread.f_squeeze_dim(0)? * 0.25).f_reciprocal()?;
                // ∇ of w softplus(β(a·x − a·x_k))/β is w σ(β(a·x − a·x_k)) a.
                let a = &dirs * sharp.f_unsqueeze(1)?;
                let c = -(through * &sharp);
                let w: Vec<f64> = (0..ridges).map(|_| -(rng.gen_range(f64::EPSILON..1.0f64)).ln()).collect();
                let w = Tensor::from_slice(&w).f_to_kind(Kind::Float)? / &sharp;
                let mut pair = MapPair {
                    family,
                    dim,
                    seed,
                    input,
                    map: KnownMap::Potential { b: f32v(b)?, a, c, w },
                    output_mean: Tensor::zeros([d], (Kind::Float, Device::Cpu)),
                    output_variance: 0.0,
                    w2_squared: 0.0,
                };
                // Scale the folds: their displacement has the RMS of the quadratic part's.
                if let KnownMap::Potential { b, a, c, w } = &mut pair.map {
                    let lin = x.f_matmul(b)?;
                    let ridge = ridge_gradient(&x, a, c, w)?;
                    let rms = |t: &Tensor| -> Result<f64> {
                        Ok(t.f_square()?.f_sum(Kind::Double)?.f_double_value(&[])?.sqrt())
                    };
                    let scale = FOLDS * rms(&lin)? / rms(&ridge)?.max(1e-12);
                    *w = (&*w * scale).f_to_kind(Kind::Float)?;
                }
                let y = pair.map(&x)?;
                let mean = y.f_mean_dim(0, false, Kind::Double)?;
                pair.output_variance =
                    (&y - &mean).f_square()?.f_sum(Kind::Double)?.f_double_value(&[])? / MOMENT_SAMPLES as f64;
                pair.w2_squared =
                    (&y - &x).f_square()?.f_sum(Kind::Double)?.f_double_value(&[])? / MOMENT_SAMPLES as f64;
                pair.output_mean = mean.f_to_kind(Kind::Float)?;
                Ok(pair)
            }
        }
    }

    /// The pair of a [`PairSpec`].
    pub fn of(spec: &PairSpec) -> Result<Self> {
        spec.validate("pair")?;
        Self::new(spec.pair, spec.dim, spec.seed)
    }

    /// `n` fixed points of P (a test sample), drawn from the pair's own
    /// stream with `seed`, f32 on `device`: the same points whatever the run.
    pub fn test_sample(&self, n: usize, seed: u64, device: Device) -> Result<Tensor> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x7e57);
        Ok(self.input.sample_with(&mut rng, n, self.dim)?.f_to_device(device)?)
    }

    /// `n` points of P from libtorch's generator, on `device`.
    pub fn sample_input(&self, n: i64, device: Device) -> Result<Tensor> {
        if n < 1 {
            return Err(Error::input(format!("cannot sample {n} points: need n ≥ 1")));
        }
        let eps = Tensor::f_randn([n, self.dim], (Kind::Float, device))?;
        match &self.input {
            Input::Gaussian { mean, chol } => {
                Ok(eps.f_matmul(&chol.f_transpose(0, 1)?.f_to_device(device)?)? + mean.f_to_device(device)?)
            }
            Input::Mixture { means, std } => {
                let comp = Tensor::f_randint(3, [n], (Kind::Int64, device))?;
                Ok(eps * *std + means.f_to_device(device)?.f_index_select(0, &comp)?)
            }
        }
    }

    /// T*(x), rows of `x` (f32, any device).
    pub fn map(&self, x: &Tensor) -> Result<Tensor> {
        let dev = x.device();
        match &self.map {
            KnownMap::Linear { mu_p, mu_q, a } => {
                Ok((x - mu_p.f_to_device(dev)?).f_matmul(&a.f_to_device(dev)?)? + mu_q.f_to_device(dev)?)
            }
            KnownMap::Potential { b, a, c, w } => {
                let (a, c, w) = (a.f_to_device(dev)?, c.f_to_device(dev)?, w.f_to_device(dev)?);
                Ok(x.f_matmul(&b.f_to_device(dev)?)? + ridge_gradient(x, &a, &c, &w)?)
            }
        }
    }

    /// The potential ψ(x) whose gradient is T* (one value per row).
    pub fn potential(&self, x: &Tensor) -> Result<Tensor> {
        let dev = x.device();
        match &self.map {
            KnownMap::Linear { mu_p, mu_q, a } => {
                let xc = x - mu_p.f_to_device(dev)?;
                let quad = (xc.f_matmul(&a.f_to_device(dev)?)? * &xc).f_sum_dim_intlist(1, false, None::<Kind>)? * 0.5;
                Ok(quad + x.f_matmul(&mu_q.f_to_device(dev)?)?)
            }
            KnownMap::Potential { b, a, c, w } => {
                let quad = (x.f_matmul(&b.f_to_device(dev)?)? * x).f_sum_dim_intlist(1, false, None::<Kind>)? * 0.5;
                let s = (x.f_matmul(&a.f_to_device(dev)?.f_transpose(0, 1)?)? + c.f_to_device(dev)?).f_softplus()?;
                Ok(quad + s.f_matmul(&w.f_to_device(dev)?)?)
            }
        }
    }

    /// A sampler of one side.
    pub fn sampler(self, side: PairSide) -> PairSampler {
        PairSampler { pair: self, side }
    }
}

/// `Σ_j w_j σ(a_j·x + c_j) a_j` for the rows of `x`.
fn ridge_gradient(x: &Tensor, a: &Tensor, c: &Tensor, w: &Tensor) -> Result<Tensor> {
    let s = (x.f_matmul(&a.f_transpose(0, 1)?)? + c).f_sigmoid()? * w;
    Ok(s.f_matmul(a)?)
}

/// Draws one side of a [`MapPair`].
pub struct PairSampler {
    pub pair: MapPair,
    pub side: PairSide,
}

impl Sampler for PairSampler {
    fn sample(&mut self, n: i64, device: Device) -> Result<Tensor> {
        let x = self.pair.sample_input(n, device)?;
        match self.side {
            PairSide::Input => Ok(x),
            PairSide::Output => self.pair.map(&x),
        }
    }
}
