//! The real Fashion-MNIST (70,000 images) from Debian's `dataset-fashion-mnist`
//! (`/usr/share/datasets/fashion-mnist/`; `.ci/run` installs it). Skipped with
//! a notice only outside CI when the folder is absent; in CI (`CI` set) its
//! absence is a failure.

use std::path::{Path, PathBuf};
use std::process::Command;
use tch::{Device, Kind};
use wgflow::data::mnist::load_idx_dir;
use wgflow::data::{Dataset, Download, FetchOptions, Split};

const FILES: [&str; 4] = [
    "train-images-idx3-ubyte.gz",
    "train-labels-idx1-ubyte.gz",
    "t10k-images-idx3-ubyte.gz",
    "t10k-labels-idx1-ubyte.gz",
];

fn debian_dir() -> Option<PathBuf> {
    let dir = PathBuf::from(
        std::env::var("WGFLOW_FASHION_MNIST_DIR").unwrap_or_else(|_| "/usr/share/datasets/fashion-mnist".into()),
    );
    if FILES.iter().all(|f| dir.join(f).is_file()) {
        return Some(dir);
    }
    let ci = std::env::var("CI").map(|v| !v.is_empty() && v != "false" && v != "0").unwrap_or(false);
    assert!(
        !ci,
        "CI is set but the Fashion-MNIST files are not in {}: install Debian's dataset-fashion-mnist \
         (apt-get install dataset-fashion-mnist) or set WGFLOW_FASHION_MNIST_DIR",
        dir.display()
    );
    eprintln!("SKIPPED: no Fashion-MNIST in {} (apt-get install dataset-fashion-mnist)", dir.display());
    None
}

/// Values computed from the same files with numpy (`np.frombuffer(gzip…)`).
#[test]
fn real_fashion_mnist_has_70000_images_and_balanced_labels() {
    let Some(dir) = debian_dir() else { return };
    let train = load_idx_dir(&dir, Split::Train, Device::Cpu).unwrap();
    let test = load_idx_dir(&dir, Split::Test, Device::Cpu).unwrap();
    assert_eq!(train.images.size(), [60_000, 1, 28, 28]);
    assert_eq!(test.images.size(), [10_000, 1, 28, 28]);
    assert_eq!(train.len() + test.len(), 70_000);
    assert_eq!(train.label_counts(10), [6000; 10]);
    assert_eq!(test.label_counts(10), [1000; 10]);
    assert_eq!(Vec::<i64>::try_from(&train.labels.narrow(0, 0, 10)).unwrap(), [9, 0, 0, 3, 0, 2, 7, 2, 5, 5]);
    assert_eq!(Vec::<i64>::try_from(&test.labels.narrow(0, 0, 10)).unwrap(), [9, 2, 1, 1, 6, 1, 4, 6, 5, 7]);
    for set in [&train, &test] {
        assert_eq!(set.images.kind(), Kind::Float);
        assert_eq!(set.images.min().double_value(&[]), -1.0);
        assert_eq!(set.images.max().double_value(&[]), 1.0);
    }
    // Back to bytes: a row of the first image, per-image and whole-set sums.
    let bytes = |t: &tch::Tensor| ((t.to_kind(Kind::Double) + 1.0) * 127.5).round();
    let row: Vec<f64> = Vec::try_from(&bytes(&train.images.get(0).get(0).get(14).narrow(0, 10, 8))).unwrap();
    assert_eq!(row, [0.0, 0.0, 237.0, 226.0, 217.0, 223.0, 222.0, 219.0]);
    assert_eq!(bytes(&train.images.get(0)).sum(Kind::Double).double_value(&[]), 76247.0);
    assert_eq!(bytes(&train.images.get(59_999)).sum(Kind::Double).double_value(&[]), 16684.0);
    assert_eq!(bytes(&test.images.get(0)).sum(Kind::Double).double_value(&[]), 33456.0);
    assert_eq!(bytes(&train.images).sum(Kind::Double).double_value(&[]), 3_431_114_169.0);
    assert_eq!(bytes(&test.images).sum(Kind::Double).double_value(&[]), 573_469_082.0);
    // The authors' 16×16 version keeps the count and the range.
    let small = test.take(100).resized(16).unwrap();
    assert_eq!(small.images.size(), [100, 1, 16, 16]);
    assert!(small.images.min().double_value(&[]) >= -1.0 && small.images.max().double_value(&[]) <= 1.0);
}

fn link_cache(dir: &Path) -> tempfile::TempDir {
    let root = tempfile::tempdir().unwrap();
    let d = root.path().join("fashion-mnist");
    std::fs::create_dir_all(&d).unwrap();
    for f in FILES {
        std::os::unix::fs::symlink(dir.join(f), d.join(f)).unwrap();
    }
    root
}

/// Debian recompressed the published `.gz` files (same images, other bytes):
/// present files are trusted, `--verify` reports the mismatch.
#[test]
fn real_files_in_the_cache_are_trusted_and_verify_tells_they_differ_from_the_published_ones() {
    let Some(dir) = debian_dir() else { return };
    let root = link_cache(&dir);
    let trust = FetchOptions { download: Download::Never, verify: false, quiet: true };
    let set = Dataset::FashionMnist.load(root.path(), Split::Test, &trust, Device::Cpu).unwrap();
    assert_eq!(set.len(), 10_000);
    let verify = FetchOptions { verify: true, ..trust };
    let m = Dataset::FashionMnist.load(root.path(), Split::Test, &verify, Device::Cpu).unwrap_err().to_string();
    assert!(m.contains("t10k-images-idx3-ubyte.gz") && m.contains("bef4ecab320f06d8554ea6380940ec79"), "{m}");
    assert!(m.contains("checksum mismatch: MD5 is"), "{m}");

    let out = Command::new(env!("CARGO_BIN_EXE_wgflow"))
        .args(["data", "fetch", "fashion-mnist", "--offline", "--dir", root.path().to_str().unwrap()])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout} {}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("fashion-mnist train: 60000 images 1×28×28"), "{stdout}");
    assert!(stdout.contains("fashion-mnist test: 10000 images 1×28×28"), "{stdout}");
}

/// The MV-Gaussian source of 004 §6.2 fitted to real images: a 784-dimensional
/// covariance that the Cholesky factor reproduces, and samples with the data's
/// mean and pixel variances.
#[test]
fn gaussian_fitted_to_real_images_samples_their_moments() {
    let Some(dir) = debian_dir() else { return };
    tch::manual_seed(5); // the only test of this file that draws from libtorch's generator
    let test = load_idx_dir(&dir, Split::Test, Device::Cpu).unwrap();
    let mut g = wgflow::data::MvGaussian::fit(&test.images).unwrap();
    assert_eq!(g.dim(), 784);
    let want = &g.cov + tch::Tensor::eye(784, (Kind::Double, Device::Cpu)) * g.jitter;
    let err = (g.chol.matmul(&g.chol.tr()) - &want).abs().max().double_value(&[]);
    assert!(err < 1e-9, "L Lᵀ differs from Σ + jitter·I by {err}");
    let n = 20_000;
    let y = g.sample(n, Device::Cpu).unwrap();
    assert_eq!(y.size(), [n, 1, 28, 28]);
    let y = y.view([n, 784]).to_kind(Kind::Double);
    let dm = (y.mean_dim(0, false, Kind::Double) - &g.mean).abs().max().double_value(&[]);
    let var = y.var_dim(0, false, false);
    let dv = (var - g.cov.diagonal(0, 0, 1)).abs().max().double_value(&[]);
    println!("MvGaussian on Fashion-MNIST test: jitter {:.3e}, |L Lᵀ − Σ − jI| {err:.2e}, mean error {dm:.4}, variance error {dv:.4}", g.jitter);
    // Pixel variances ≤ 1 here: standard errors ≤ 1/√n ≈ 0.007 (mean), ≤ √2/√n ≈ 0.01 (variance).
    assert!(dm < 0.05 && dv < 0.08, "mean error {dm}, variance error {dv}");
}
