//! `wgflow knn --train-x X.npy --train-y Y.npy --test-x X2.npy --test-y Y2.npy`:
//! exact 1-nearest-neighbour accuracy.

use std::path::{Path, PathBuf};
use tch::Tensor;
use wgflow::metrics::knn::OneNn;
use wgflow::{npy, Error};

#[derive(clap::Args, Debug)]
pub struct KnnArgs {
    /// Training points: n×d (or n×… images, flattened) .npy.
    #[arg(long)]
    train_x: PathBuf,
    /// Training labels: n integers (.npy).
    #[arg(long)]
    train_y: PathBuf,
    /// Test points: m×d .npy.
    #[arg(long)]
    test_x: PathBuf,
    /// Test labels: m integers (.npy).
    #[arg(long)]
    test_y: PathBuf,
    /// Also write the predicted labels (int64 .npy) here.
    #[arg(long)]
    predictions: Option<PathBuf>,
    /// cpu, cuda, cuda:N or auto (default: WGFLOW_DEVICE, else auto).
    #[arg(long)]
    device: Option<String>,
}

fn points(path: &Path) -> wgflow::Result<Tensor> {
    let a = npy::read(path)?;
    if a.shape().len() < 2 || a.shape()[0] == 0 {
        return Err(Error::file(path, format!("expected a non-empty n×d array, got shape {:?}", a.shape())));
    }
    let t = a.to_tensor()?.to_kind(tch::Kind::Double);
    let n = a.shape()[0] as i64;
    let d: i64 = a.shape()[1..].iter().product::<usize>() as i64;
    let t = t.reshape([n, d]);
    let bad = t.isfinite().logical_not().any_dim(1, false);
    if bad.any().int64_value(&[]) != 0 {
        let row = bad.nonzero().int64_value(&[0, 0]);
        return Err(Error::file(path, format!("row {row} has a NaN or infinite value")));
    }
    Ok(t)
}

pub fn run(args: KnnArgs) -> wgflow::Result<()> {
    let device = wgflow::device::choose_device(args.device.as_deref())?;
    let xtr = points(&args.train_x)?;
    let ytr = npy::read_labels(&args.train_y)?;
    let xte = points(&args.test_x)?;
    let yte = npy::read_labels(&args.test_y)?;
    if ytr.len() as i64 != xtr.size()[0] {
        return Err(Error::file(&args.train_y, format!("{} labels for {} training points", ytr.len(), xtr.size()[0])));
    }
    if yte.len() as i64 != xte.size()[0] {
        return Err(Error::file(&args.test_y, format!("{} labels for {} test points", yte.len(), xte.size()[0])));
    }
    if xtr.size()[1] != xte.size()[1] {
        return Err(Error::file(
            &args.test_x,
            format!("points have {} features, the training points {}", xte.size()[1], xtr.size()[1]),
        ));
    }
    let knn = OneNn::fit(&xtr.to_device(device), &ytr)?;
    let pred = knn.predict(&xte)?;
    let acc = pred.iter().zip(&yte).filter(|(p, l)| p == l).count() as f64 / yte.len() as f64;
    if let Some(out) = &args.predictions {
        npy::write(out, &ndarray::Array1::from(pred))?;
    }
    println!("{acc}");
    Ok(())
}
