//! FID and KID as pytorch-fid computes them, as a pipeline of small steps:
//! images → [`FidInception::features`] (2048-d pool3) → [`Stats`] `(μ, Σ)`
//! (saved to / loaded from `.npz` like pytorch-fid's `--save-stats`) →
//! [`frechet_distance`]; [`kid`] works on the same features.
//!
//! ## The matrix square root
//!
//! `FID = |μ₁ − μ₂|² + tr Σ₁ + tr Σ₂ − 2 tr (Σ₁Σ₂)^{1/2}`. pytorch-fid takes
//! scipy's `sqrtm` of the non-symmetric product `Σ₁Σ₂`, which can return
//! complex values on near-singular covariances (it then fails, or adds 1e-6·I).
//! Here, in f64, with `S = Σ₁^{1/2}` from a symmetric eigendecomposition
//! (eigenvalues clamped at 0), `Σ₁Σ₂ = S (S Σ₂ S) S⁻¹` is similar to the
//! symmetric positive semi-definite `S Σ₂ S`, so
//! `tr (Σ₁Σ₂)^{1/2} = Σ_k √λ_k(S Σ₂ S)` with the λ_k from a second symmetric
//! eigendecomposition (clamped at 0). Only real, non-negative quantities
//! appear, so there is no imaginary part to fail on, and the result stays
//! finite with fewer samples than dimensions (rank-deficient Σ). It is the
//! same number as scipy's where scipy's is accurate (tested).

use crate::data::fetch::{ensure_file, FetchOptions, RemoteFile};
use crate::error::{Error, Result};
use crate::metrics::inception::{FidInception, WEIGHTS_FILE, WEIGHTS_SHA256_PREFIX, WEIGHTS_URL};
use ndarray::{Array1, Array2};
use rand::seq::index::sample;
use rand::SeedableRng;
use std::path::{Path, PathBuf};
use tch::{Device, Kind, Tensor};

/// Mean and covariance (with `N − 1`) of a feature set, in f64 on the CPU.
#[derive(Debug)]
pub struct Stats {
    /// `d` means.
    pub mu: Array1<f64>,
    /// `d×d` covariance.
    pub sigma: Array2<f64>,
    /// Number of samples (0 when loaded from a file that does not say).
    pub n: usize,
}

impl Stats {
    /// Statistics of the rows of `features` (`N×d`, any float kind and
    /// device). Needs N ≥ 2; with N ≤ d the covariance is singular, which
    /// [`frechet_distance`] handles (see [`Stats::rank_deficient`]).
    pub fn from_features(features: &Tensor) -> Result<Self> {
        if features.dim() != 2 {
            return Err(Error::input(format!("features: expected N×d, got shape {:?}", features.size())));
        }
        let (n, d) = (features.size()[0], features.size()[1]);
        if n < 2 {
            return Err(Error::input(format!("features: need at least 2 samples for a covariance, got {n}")));
        }
        let f = features.f_detach()?.f_to_kind(Kind::Double)?;
        if f.f_isfinite()?.f_logical_not()?.f_any()?.f_int64_value(&[])? != 0 {
            return Err(Error::input("features: NaN or infinite values"));
        }
        let mu = f.f_mean_dim([0i64].as_slice(), true, Kind::Double)?;
        let c = f.f_sub(&mu)?;
        let sigma = c.f_tr()?.f_matmul(&c)?.f_div_scalar((n - 1) as f64)?;
        let mu = Vec::<f64>::try_from(&mu.f_view([d])?.f_to_device(Device::Cpu)?)?;
        let sigma = Vec::<f64>::try_from(&sigma.f_view([-1])?.f_to_device(Device::Cpu)?)?;
        let sigma = Array2::from_shape_vec((d as usize, d as usize), sigma).map_err(|e| Error::input(e.to_string()))?;
        Ok(Stats { mu: Array1::from(mu), sigma, n: n as usize })
    }

    /// Feature dimension.
    pub fn dim(&self) -> usize {
        self.mu.len()
    }

    /// True when there were fewer samples than feature dimensions + 1 (Σ is
    /// singular; the FID is still finite but biased and noisy).
    pub fn rank_deficient(&self) -> bool {
        self.n != 0 && self.n <= self.dim()
    }

    /// Writes `mu` and `sigma` to an `.npz` (`np.savez` layout, what
    /// pytorch-fid's `--save-stats` writes and reads), atomically.
    pub fn save(&self, path: impl AsRef<Path>) -> Result<()> {
        crate::npy::write_npz(path, &[("mu", self.mu.clone().into_dyn()), ("sigma", self.sigma.clone().into_dyn())])
    }

    /// Reads `mu` (d) and `sigma` (d×d) from an `.npz`.
    pub fn load(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let mu = crate::npy::read_npz_f64(path, "mu")?;
        let sigma = crate::npy::read_npz_f64(path, "sigma")?;
        let d = mu.len();
        let mu = mu.into_dimensionality::<ndarray::Ix1>().map_err(|_| Error::file(path, "`mu` is not 1-D"))?;
        let sigma = sigma
            .into_dimensionality::<ndarray::Ix2>()
            .ok()
            .filter(|s| s.dim() == (d, d))
            .ok_or_else(|| Error::file(path, format!("`sigma` is not {d}×{d} (the size of `mu`)")))?;
        if mu.iter().chain(sigma.iter()).any(|v| !v.is_finite()) {
            return Err(Error::file(path, "NaN or infinite values in `mu` or `sigma`"));
        }
        Ok(Stats { mu, sigma, n: 0 })
    }
}

fn to_tensor(a: &Array2<f64>) -> Result<Tensor> {
    Ok(Tensor::try_from(a.as_standard_layout().view())?)
}

/// Symmetric eigenvalues/vectors of a (symmetrised) matrix, in f64.
fn eigh(a: &Tensor) -> Result<(Tensor, Tensor)> {
    let s = a.f_add(&a.f_tr()?)?.f_mul_scalar(0.5)?;
    Ok(s.f_linalg_eigh("L")?)
}

/// `tr (Σ₁Σ₂)^{1/2}` by the symmetric method of the module docs.
pub fn trace_sqrt_product(s1: &Array2<f64>, s2: &Array2<f64>) -> Result<f64> {
    if s1.dim() != s2.dim() || s1.nrows() != s1.ncols() {
        return Err(Error::input(format!("covariances have shapes {:?} and {:?}", s1.dim(), s2.dim())));
    }
    let (l1, v1) = eigh(&to_tensor(s1)?)?;
    let root = v1.f_mul(&l1.f_clamp_min(0.0)?.f_sqrt()?.f_unsqueeze(0)?)?.f_matmul(&v1.f_tr()?)?;
    let m = root.f_matmul(&to_tensor(s2)?)?.f_matmul(&root)?;
    let (l, _) = eigh(&m)?;
    Ok(l.f_clamp_min(0.0)?.f_sqrt()?.f_sum(Kind::Double)?.f_double_value(&[])?)
}

/// The Fréchet distance between two Gaussians `N(μ₁, Σ₁)`, `N(μ₂, Σ₂)`.
pub fn frechet_distance(a: &Stats, b: &Stats) -> Result<f64> {
    if a.dim() != b.dim() {
        return Err(Error::input(format!("statistics have dimensions {} and {}", a.dim(), b.dim())));
    }
    let diff = &a.mu - &b.mu;
    let tr = trace_sqrt_product(&a.sigma, &b.sigma)?;
    let trace = |s: &Array2<f64>| s.diag().sum();
    Ok(diff.dot(&diff) + trace(&a.sigma) + trace(&b.sigma) - 2.0 * tr)
}

/// Options of [`kid`] (torch-fidelity's defaults).
#[derive(Clone, Debug)]
pub struct KidOptions {
    pub subsets: usize,
    /// Samples per subset (capped at the smaller set's size).
    pub subset_size: usize,
    /// Polynomial kernel `(x·y/d·γ' + coef)^degree` with γ' = 1: torch-fidelity's `(x·y/d + 1)³`.
    pub degree: i32,
    pub coef: f64,
    pub seed: u64,
}

impl Default for KidOptions {
    fn default() -> Self {
        KidOptions { subsets: 100, subset_size: 1000, degree: 3, coef: 1.0, seed: 0 }
    }
}

/// Unbiased MMD² with kernel `k(x, y) = (x·y/d + coef)^degree` between two
/// equal-size samples `x`, `y` (`m×d` f64 tensors):
/// `Σ_{i≠j} k(x_i, x_j)/(m(m−1)) + Σ_{i≠j} k(y_i, y_j)/(m(m−1)) − 2 Σ_{i,j} k(x_i, y_j)/m²`.
pub fn mmd2_unbiased(x: &Tensor, y: &Tensor, degree: i32, coef: f64) -> Result<f64> {
    let (m, d) = (x.size()[0], x.size()[1]);
    if m < 2 || y.size() != x.size() {
        return Err(Error::input(format!(
            "mmd: need two m×d samples with m ≥ 2, got {:?} and {:?}",
            x.size(),
            y.size()
        )));
    }
    let k = |a: &Tensor, b: &Tensor| -> Result<Tensor> {
        Ok(a.f_matmul(&b.f_tr()?)?.f_div_scalar(d as f64)?.f_add_scalar(coef)?.f_pow_tensor_scalar(degree as i64)?)
    };
    let s = |t: Tensor| -> Result<f64> { Ok(t.f_sum(Kind::Double)?.f_double_value(&[])?) };
    let (kxx, kyy, kxy) = (k(x, x)?, k(y, y)?, k(x, y)?);
    let off = |t: &Tensor| -> Result<f64> { Ok(s(t.shallow_clone())? - s(t.f_diagonal(0, 0, 1)?)?) };
    let mf = m as f64;
    Ok((off(&kxx)? + off(&kyy)?) / (mf * (mf - 1.0)) - 2.0 * s(kxy)? / (mf * mf))
}

/// KID: mean and standard deviation (population, as torch-fidelity) of the
/// unbiased MMD² over `subsets` random subsets (drawn without replacement
/// within a subset, seeded) of the two feature sets.
pub fn kid(f1: &Tensor, f2: &Tensor, opts: &KidOptions) -> Result<(f64, f64)> {
    if f1.dim() != 2 || f2.dim() != 2 || f1.size()[1] != f2.size()[1] {
        return Err(Error::input(format!("kid: features have shapes {:?} and {:?}", f1.size(), f2.size())));
    }
    let (n1, n2) = (f1.size()[0] as usize, f2.size()[0] as usize);
    let m = opts.subset_size.min(n1).min(n2);
    if m < 2 || opts.subsets == 0 {
        return Err(Error::input(format!("kid: need ≥ 2 samples per set and ≥ 1 subset (got {n1}, {n2})")));
    }
    let (a, b) = (f1.f_to_kind(Kind::Double)?, f2.f_to_kind(Kind::Double)?);
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(opts.seed);
    let mut vals = Vec::with_capacity(opts.subsets);
    for _ in 0..opts.subsets {
        let pick = |n: usize, rng: &mut rand_chacha::ChaCha8Rng| -> Tensor {
            let idx: Vec<i64> = sample(rng, n, m).into_iter().map(|i| i as i64).collect();
            Tensor::from_slice(&idx)
        };
        let ia = pick(n1, &mut rng).f_to_device(a.device())?;
        let ib = pick(n2, &mut rng).f_to_device(b.device())?;
        vals.push(mmd2_unbiased(&a.f_index_select(0, &ia)?, &b.f_index_select(0, &ib)?, opts.degree, opts.coef)?);
    }
    let mean = vals.iter().sum::<f64>() / vals.len() as f64;
    let var = vals.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / vals.len() as f64;
    Ok((mean, var.sqrt()))
}

/// Pool3 features of `images` (`N×C×H×W` in [0, 1], f32/f64, or u8 in
/// [0, 255]) in batches of `batch_size`, as an `N×2048` f32 tensor on the
/// network's device.
pub fn features(net: &FidInception, images: &Tensor, batch_size: i64) -> Result<Tensor> {
    if batch_size < 1 {
        return Err(Error::config("batch_size", format!("must be ≥ 1, got {batch_size}")));
    }
    let n = images.size().first().copied().unwrap_or(0);
    if n == 0 {
        return Err(Error::input("images: empty set"));
    }
    let mut parts = Vec::new();
    let mut s = 0;
    while s < n {
        let len = batch_size.min(n - s);
        let b = images.f_narrow(0, s, len)?.f_to_device(net.device())?;
        let b = if b.kind() == Kind::Uint8 { b.f_to_kind(Kind::Float)?.f_div_scalar(255.0)? } else { b };
        if b.f_isfinite()?.f_logical_not()?.f_any()?.f_int64_value(&[])? != 0 {
            return Err(Error::input(format!("images: NaN or infinite values in images {s}..{}", s + len)));
        }
        parts.push(net.features(&b)?);
        s += len;
    }
    Ok(Tensor::f_cat(&parts, 0)?)
}

/// Features of `n` samples drawn from a generator: `generate(k)` returns `k`
/// images `k×C×H×W` in `[-1, 1]` (the crate's convention; mapped to [0, 1]
/// here). For a trainer logging FID on the GPU every N iterations.
pub fn generator_features(
    net: &FidInception,
    generate: impl FnMut(i64) -> Result<Tensor>,
    n: i64,
    batch_size: i64,
) -> Result<Tensor> {
    generated_features(generate, n, batch_size, |x| {
        net.features(&x.f_add_scalar(1.0)?.f_mul_scalar(0.5)?.f_clamp(0.0, 1.0)?)
    })
}

/// `features` of `n` samples drawn from a generator in batches of
/// `batch_size`: `generate(k)` returns `k` images (run without gradients,
/// detached before `features` sees them), the rows of every batch's
/// features are concatenated. [`generator_features`] with Inception's
/// input transform; the domain FID ([`crate::metrics::domain`]) with its
/// classifier.
pub fn generated_features(
    mut generate: impl FnMut(i64) -> Result<Tensor>,
    n: i64,
    batch_size: i64,
    mut features: impl FnMut(&Tensor) -> Result<Tensor>,
) -> Result<Tensor> {
    if n < 2 || batch_size < 1 {
        return Err(Error::input(format!("generator features: need n ≥ 2 and batch_size ≥ 1, got {n}, {batch_size}")));
    }
    let mut parts = Vec::new();
    let mut done = 0;
    while done < n {
        let k = batch_size.min(n - done);
        let x = tch::no_grad(|| generate(k))?;
        parts.push(features(&x.f_detach()?)?);
        done += k;
    }
    Ok(Tensor::f_cat(&parts, 0)?)
}

/// A FID input as named on the command line.
#[derive(Debug)]
pub enum Source {
    /// A folder of images (png), all of one size.
    Folder(PathBuf),
    /// `N×H×W×C` u8 or `N×C×H×W` float (in [0, 1]) array.
    Npy(PathBuf),
    /// Saved statistics (`mu`, `sigma`).
    Stats(PathBuf),
}

impl Source {
    /// Classifies `path`: a directory, a `.npz` (statistics) or a `.npy`.
    pub fn from_path(path: impl AsRef<Path>) -> Result<Self> {
        let p = path.as_ref().to_path_buf();
        if p.is_dir() {
            return Ok(Source::Folder(p));
        }
        if !p.is_file() {
            return Err(Error::file(&p, "no such file or directory"));
        }
        match p.extension().and_then(|e| e.to_str()).map(|e| e.to_ascii_lowercase()).as_deref() {
            Some("npz") => Ok(Source::Stats(p)),
            Some("npy") => Ok(Source::Npy(p)),
            _ => Err(Error::file(&p, "expected a folder of images, a .npy array or a .npz of statistics")),
        }
    }
}

/// Loads images as an `N×C×H×W` tensor: u8 (0..255) or float in [0, 1].
/// `.npy`: u8 arrays are `N×H×W×C` (C = 1 or 3) or `N×H×W` (grayscale);
/// float arrays are `N×C×H×W` in [0, 1]. Folders: every `.png` (sorted by
/// name), converted to RGB, all of one size.
pub fn load_images(src: &Source) -> Result<Tensor> {
    match src {
        Source::Npy(p) => {
            let a = crate::npy::read(p)?;
            let t = a.to_tensor()?;
            let s = a.shape().to_vec();
            let bad_shape =
                |what: &str| Error::file(p, format!("expected {what}, got {} array of shape {s:?}", a.dtype()));
            if s.first().copied().unwrap_or(0) == 0 {
                return Err(Error::file(p, "holds no images"));
            }
            match a {
                crate::npy::NpyArray::U8(_) => match s.len() {
                    3 => Ok(t.f_unsqueeze(1)?),
                    4 if s[3] == 1 || s[3] == 3 => Ok(t.f_permute([0, 3, 1, 2])?.f_contiguous()?),
                    _ => Err(bad_shape("u8 N×H×W×C with C = 1 or 3")),
                },
                crate::npy::NpyArray::F32(_) | crate::npy::NpyArray::F64(_) => {
                    if s.len() != 4 || !(s[1] == 1 || s[1] == 3) {
                        return Err(bad_shape("float N×C×H×W with C = 1 or 3"));
                    }
                    let t = t.f_to_kind(Kind::Float)?;
                    if t.f_isfinite()?.f_logical_not()?.f_any()?.f_int64_value(&[])? != 0 {
                        return Err(Error::file(p, "NaN or infinite values"));
                    }
                    let (lo, hi) = (t.f_min()?.f_double_value(&[])?, t.f_max()?.f_double_value(&[])?);
                    if lo < 0.0 || hi > 1.0 {
                        return Err(Error::file(p, format!("float images must lie in [0, 1], found [{lo}, {hi}]")));
                    }
                    Ok(t)
                }
                _ => Err(bad_shape("u8 N×H×W×C or float N×C×H×W")),
            }
        }
        Source::Folder(dir) => {
            let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
                .map_err(|e| Error::file(dir, format!("cannot list: {e}")))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().and_then(|e| e.to_str()).is_some_and(|e| e.eq_ignore_ascii_case("png")))
                .collect();
            files.sort();
            if files.is_empty() {
                return Err(Error::file(dir, "holds no .png images"));
            }
            let mut data = Vec::new();
            let mut size = None;
            for f in &files {
                let img = image::open(f).map_err(|e| Error::file(f, format!("cannot decode: {e}")))?.to_rgb8();
                let dims = img.dimensions();
                if *size.get_or_insert(dims) != dims {
                    return Err(Error::file(f, format!("is {}×{}, the first image {:?}", dims.0, dims.1, size)));
                }
                data.extend_from_slice(img.as_raw());
            }
            let (w, h) = size.unwrap_or((0, 0));
            Ok(Tensor::from_slice(&data)
                .f_view([files.len() as i64, h as i64, w as i64, 3])?
                .f_permute([0, 3, 1, 2])?)
        }
        Source::Stats(p) => Err(Error::file(p, "holds statistics, not images")),
    }
}

/// The official weights: the zip-format copy that `make fid-weights` writes
/// (`….pth.zip`) if present, else the file itself, downloaded (SHA-256
/// checked, written atomically) when absent — both in `inception/` under the
/// data cache root ([`crate::data::data_root`]).
pub fn official_weights() -> Result<PathBuf> {
    let dir = crate::data::data_root(None).join("inception");
    let zip = dir.join(format!("{WEIGHTS_FILE}.zip"));
    if zip.is_file() {
        return Ok(zip);
    }
    let file = RemoteFile {
        name: WEIGHTS_FILE.into(),
        urls: vec![WEIGHTS_URL.into()],
        md5: None,
        sha256: Some(WEIGHTS_SHA256_PREFIX.into()),
    };
    ensure_file(&file, &dir, &FetchOptions::download())
        .map_err(|e| Error::input(format!("{e} (or pass the weights' path)")))
}
