//! Speed of the evaluators against the reference a user would otherwise pick,
//! on one machine in one run; prints the ratio (reference time / ours, > 1
//! means we are faster).
//!
//! ```text
//! cargo bench --bench metrics            # all
//! cargo bench --bench metrics -- ot      # exact W1, 2048 vs 2048, vs POT ot.emd2
//! cargo bench --bench metrics -- knn     # 1-NN, 2007 queries on 7291 points in 256-d, vs scikit-learn
//! cargo bench --bench metrics -- fid     # FID features of 10,000 32×32 images, vs pytorch-fid
//! ```
//!
//! The Python side runs in the project's venv (`.venv/bin/python` or
//! `WGFLOW_PYTHON`) with the packages of `make test-deps`.

use ndarray::Array2;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;
use wgflow::npy;

fn python() -> PathBuf {
    std::env::var_os("WGFLOW_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv/bin/python"))
}

/// Runs a Python script that prints `seconds value` on its last line.
fn py_timed(script: &str, dir: &Path) -> (f64, String) {
    let out = Command::new(python()).arg("-c").arg(script).current_dir(dir).output().expect("cannot run python");
    assert!(out.status.success(), "python failed:\n{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let last = text.lines().last().unwrap_or("").to_string();
    let mut it = last.split_whitespace();
    let secs: f64 = it.next().and_then(|s| s.parse().ok()).expect("no timing printed");
    (secs, it.collect::<Vec<_>>().join(" "))
}

fn uniform(rng: &mut ChaCha8Rng, n: usize, d: usize) -> Array2<f64> {
    Array2::from_shape_fn((n, d), |_| rng.gen::<f64>())
}

fn bench_ot(dir: &Path) {
    let mut rng = ChaCha8Rng::seed_from_u64(0);
    let (n, d) = (2048, 2);
    let x = uniform(&mut rng, n, d);
    let y = uniform(&mut rng, n, d).mapv(|v| v * 2.0 + 0.5);
    npy::write(dir.join("x.npy"), &x).unwrap();
    npy::write(dir.join("y.npy"), &y).unwrap();
    let mut ours = f64::INFINITY;
    let mut w = 0.0;
    for _ in 0..3 {
        let t = Instant::now();
        w = wgflow::metrics::ot::wasserstein_weighted(x.view(), None, y.view(), None, 1).unwrap();
        ours = ours.min(t.elapsed().as_secs_f64());
    }
    let (theirs, v) = py_timed(
        r#"
import time, numpy as np, ot
x = np.load("x.npy"); y = np.load("y.npy")
a = np.full(len(x), 1 / len(x)); b = np.full(len(y), 1 / len(y))
best = 1e9
for _ in range(3):
    t = time.perf_counter()
    v = ot.emd2(a, b, ot.dist(x, y, metric="euclidean"), numItermax=10**8)
    best = min(best, time.perf_counter() - t)
print(best, v)
"#,
        dir,
    );
    println!("exact W1, {n} vs {n} points in {d}-d (cost matrix + solve, best of 3):");
    println!("  wgflow  {ours:8.3} s   W1 = {w:.12}");
    println!("  POT     {theirs:8.3} s   W1 = {v}   (ot.emd2 + ot.dist)");
    println!("  ratio POT / wgflow = {:.2}", theirs / ours);
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with("--")).collect();
    let want = |name: &str| args.is_empty() || args.iter().any(|a| a == name);
    let dir = tempfile::tempdir().unwrap();
    if want("ot") {
        bench_ot(dir.path());
    }
}
