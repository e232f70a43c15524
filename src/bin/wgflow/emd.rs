//! `wgflow emd --p 1|2 A.npy B.npy`: exact Wasserstein distance between two
//! point sets (network simplex), or its entropic approximation.

use ndarray::Array1;
use std::path::{Path, PathBuf};
use wgflow::metrics::ot;
use wgflow::{npy, Error};

#[derive(clap::Args, Debug)]
pub struct EmdArgs {
    /// First point set: an n×d array (.npy, any float or integer dtype).
    a: PathBuf,
    /// Second point set: an m×d array (.npy).
    b: PathBuf,
    /// Order of the distance: 1 (W1, Euclidean cost) or 2 (W2, squared Euclidean cost).
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=2))]
    p: u32,
    /// Weights of the first set (length-n .npy; default uniform). Both sets' weights must have equal sums.
    #[arg(long)]
    weights_a: Option<PathBuf>,
    /// Weights of the second set (length-m .npy; default uniform).
    #[arg(long)]
    weights_b: Option<PathBuf>,
    /// Use entropic Sinkhorn with this regularisation instead of the exact solver (prints <P, M>^(1/p)).
    #[arg(long, allow_negative_numbers = true)]
    sinkhorn: Option<f64>,
    /// cpu, cuda, cuda:N or auto, for --sinkhorn (default: WGFLOW_DEVICE, else auto).
    #[arg(long)]
    device: Option<String>,
}

fn weights(path: &Option<PathBuf>, n: usize, flag: &str) -> wgflow::Result<Array1<f64>> {
    match path {
        None => Ok(Array1::from_elem(n, 1.0 / n as f64)),
        Some(p) => {
            let w = npy::read_matrix(p)?;
            if w.ncols() != 1 || w.nrows() != n {
                return Err(Error::config(
                    flag,
                    format!("{}: expected {n} weights, got shape {:?}", p.display(), w.dim()),
                ));
            }
            let w = w.column(0).to_owned();
            if let Some((i, v)) = w.iter().enumerate().find(|(_, v)| **v < 0.0) {
                return Err(Error::config(flag, format!("{}: weight {i} is {v}, expected ≥ 0", p.display())));
            }
            Ok(w)
        }
    }
}

fn points(path: &Path) -> wgflow::Result<ndarray::Array2<f64>> {
    let x = npy::read_matrix(path)?;
    if x.nrows() == 0 {
        return Err(Error::file(path, "holds no points"));
    }
    Ok(x)
}

pub fn run(args: EmdArgs) -> wgflow::Result<()> {
    let x = points(&args.a)?;
    let y = points(&args.b)?;
    if x.ncols() != y.ncols() {
        return Err(Error::file(
            &args.b,
            format!("points have {} coordinates, but {} has {}", y.ncols(), args.a.display(), x.ncols()),
        ));
    }
    let a = weights(&args.weights_a, x.nrows(), "--weights-a")?;
    let b = weights(&args.weights_b, y.nrows(), "--weights-b")?;
    let (sa, sb) = (a.sum(), b.sum());
    if !(sa > 0.0 && sb > 0.0) || (sa - sb).abs() > 1e-6 * sa.max(sb) {
        return Err(Error::config(
            "--weights-a/--weights-b",
            format!("weights must have equal positive sums, got {sa} and {sb}"),
        ));
    }
    let cost = ot::ground_cost(x.view(), y.view(), args.p)?;
    let value = match args.sinkhorn {
        None => ot::emd(a.view(), b.view(), cost.view())?.cost,
        Some(reg) => {
            if !(reg.is_finite() && reg > 0.0) {
                return Err(Error::config("--sinkhorn", format!("must be > 0, got {reg}")));
            }
            let device = wgflow::device::choose_device(args.device.as_deref())?;
            let t = |v: &Array1<f64>| tch::Tensor::from_slice(v.as_slice().unwrap_or(&v.to_vec())).to_device(device);
            let m = tch::Tensor::try_from(cost.view())?.to_device(device);
            let r = ot::sinkhorn(&t(&a), &t(&b), &m, reg, &ot::SinkhornOptions::default())?;
            if r.marginal_error >= 1e-9 {
                eprintln!(
                    "warning: Sinkhorn stopped after {} iterations, marginal error {:e}",
                    r.iterations, r.marginal_error
                );
            }
            r.cost
        }
    };
    let w = if args.p == 1 { value } else { value.max(0.0).sqrt() };
    println!("{w}");
    Ok(())
}
