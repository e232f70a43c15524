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
//! `WGFLOW_BENCH_FID_N` sets the number of images of the FID benchmark
//! (default 10,000 on a GPU, 100 on a CPU, where 10,000 Inception passes at
//! 299×299 take hours); `WGFLOW_DEVICE` the device of the FID benchmark,
//! `WGFLOW_BENCH_THREADS` libtorch's thread count on both sides. Each
//! benchmark also prints one `BENCH {json}` line for `benches/report.py`.
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

/// One machine-readable result line for `benches/report.py` (BENCHMARKS.md).
/// `times` = (reference seconds, wgflow seconds).
fn bench_line(bench: &str, name: &str, reference: &str, times: (f64, f64), goal: f64, device: &str, note: &str) {
    let (ref_s, ours) = times;
    let line = serde_json::json!({
        "bench": bench, "name": name, "reference": reference, "ref_s": ref_s, "wgflow_s": ours,
        "ratio": ref_s / ours, "goal": goal, "device": device, "threads": tch::get_num_threads(),
        "unit": "s", "note": note,
    });
    println!("BENCH {line}");
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
    bench_line(
        "emd",
        &format!("Exact W1, {n} vs {n} points in {d}-d (cost matrix + solve, best of 3)"),
        "POT 0.9.7 ot.emd2 + ot.dist",
        (theirs, ours),
        1.0,
        "cpu",
        "",
    );
}

fn bench_knn(dir: &Path) {
    // USPS-sized: 7291 training points, 2007 queries, 256-d in [-1, 1], f32.
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    let proto = Array2::from_shape_fn((10, 256), |_| rng.gen::<f32>() * 2.0 - 1.0);
    let mut draw = |n: usize| {
        let labels: Vec<i64> = (0..n).map(|_| rng.gen_range(0..10)).collect();
        let x = Array2::from_shape_fn((n, 256), |(i, j)| {
            (proto[(labels[i] as usize, j)] + (rng.gen::<f32>() - 0.5) * 4.0).clamp(-1.0, 1.0)
        });
        (x, ndarray::Array1::from(labels))
    };
    let (x, y) = draw(7291);
    let (q, qy) = draw(2007);
    npy::write(dir.join("kx.npy"), &x).unwrap();
    npy::write(dir.join("ky.npy"), &y).unwrap();
    npy::write(dir.join("kq.npy"), &q).unwrap();
    npy::write(dir.join("kqy.npy"), &qy).unwrap();
    let xt = tch::Tensor::try_from(x.view()).unwrap();
    let qt = tch::Tensor::try_from(q.view()).unwrap();
    let mut ours = f64::INFINITY;
    let mut acc = 0.0;
    for _ in 0..3 {
        let t = Instant::now();
        let knn = wgflow::metrics::knn::OneNn::fit(&xt, y.as_slice().unwrap()).unwrap();
        acc = knn.accuracy(&qt, qy.as_slice().unwrap()).unwrap();
        ours = ours.min(t.elapsed().as_secs_f64());
    }
    let (theirs, v) = py_timed(
        r#"
import time, numpy as np
from sklearn.neighbors import KNeighborsClassifier
x = np.load("kx.npy"); y = np.load("ky.npy"); q = np.load("kq.npy"); qy = np.load("kqy.npy")
best = 1e9
for _ in range(3):
    t = time.perf_counter()
    acc = (KNeighborsClassifier(n_neighbors=1).fit(x, y).predict(q) == qy).mean()
    best = min(best, time.perf_counter() - t)
print(best, acc)
"#,
        dir,
    );
    println!("1-NN, 2007 queries on 7291 points in 256-d, f32 (fit + predict, best of 3):");
    println!("  wgflow        {ours:8.3} s   accuracy {acc}");
    println!("  scikit-learn  {theirs:8.3} s   accuracy {v}");
    println!("  ratio scikit-learn / wgflow = {:.2}", theirs / ours);
    bench_line(
        "knn",
        "1-NN, 2007 queries on 7291 points in 256-d, f32 (fit + predict, best of 3)",
        "scikit-learn 1.9 KNeighborsClassifier(1)",
        (theirs, ours),
        1.0,
        "cpu",
        "goal: faster (ratio > 1)",
    );
}

fn bench_fid(dir: &Path) {
    // Speed does not depend on the weight values: both sides use the same
    // random weights (exported by pytorch-fid's code, official layout).
    let device = wgflow::device::choose_device(None).unwrap();
    // 10,000 Inception passes at 299×299 take hours on a small CPU.
    let default_n = if device.is_cuda() { 10_000 } else { 100 };
    let n: i64 = std::env::var("WGFLOW_BENCH_FID_N").ok().and_then(|v| v.parse().ok()).unwrap_or(default_n);
    let dev = if device.is_cuda() { "cuda" } else { "cpu" };
    let mut rng = ChaCha8Rng::seed_from_u64(2);
    let imgs = ndarray::Array4::<u8>::from_shape_fn((n as usize, 32, 32, 3), |_| rng.gen());
    npy::write(dir.join("imgs.npy"), &imgs).unwrap();
    let threads = tch::get_num_threads();
    let script = format!(
        r#"
import time, numpy as np, torch
import pytorch_fid.inception as pi
torch.set_num_threads({threads})
net = pi._inception_v3(num_classes=1008, aux_logits=False, weights=None)
net.Mixed_5b = pi.FIDInceptionA(192, pool_features=32)
net.Mixed_5c = pi.FIDInceptionA(256, pool_features=64)
net.Mixed_5d = pi.FIDInceptionA(288, pool_features=64)
net.Mixed_6b = pi.FIDInceptionC(768, channels_7x7=128)
net.Mixed_6c = pi.FIDInceptionC(768, channels_7x7=160)
net.Mixed_6d = pi.FIDInceptionC(768, channels_7x7=160)
net.Mixed_6e = pi.FIDInceptionC(768, channels_7x7=192)
net.Mixed_7b = pi.FIDInceptionE_1(1280)
net.Mixed_7c = pi.FIDInceptionE_2(2048)
sd = {{k: v for k, v in net.state_dict().items() if not k.endswith("num_batches_tracked")}}
torch.save(sd, "w.pth")
pi.load_state_dict_from_url = lambda *a, **k: torch.load("w.pth")
model = pi.InceptionV3([3]).eval().to("{dev}")
x = torch.from_numpy(np.load("imgs.npy")).permute(0, 3, 1, 2)
def run():
    out = []
    with torch.no_grad():
        for s in range(0, len(x), 50):
            b = x[s:s + 50].to("{dev}").float() / 255
            out.append(model(b)[0].squeeze(3).squeeze(2).cpu())
    return torch.cat(out)
run() if "{dev}" == "cuda" else None  # warm-up
t = time.perf_counter(); f = run()
if "{dev}" == "cuda": torch.cuda.synchronize()
print(time.perf_counter() - t, f.shape[0])
"#
    );
    let (theirs, _) = py_timed(&script, dir);
    let net = wgflow::metrics::inception::FidInception::load(dir.join("w.pth"), device).unwrap();
    let x = tch::Tensor::try_from(imgs.view()).unwrap().permute([0, 3, 1, 2]);
    if device.is_cuda() {
        let _ = wgflow::metrics::fid::features(&net, &x.narrow(0, 0, 50.min(n)), 50).unwrap();
    }
    let t = Instant::now();
    let f = wgflow::metrics::fid::features(&net, &x, 50).unwrap().to_device(tch::Device::Cpu);
    let ours = t.elapsed().as_secs_f64();
    assert_eq!(f.size(), [n, 2048]);
    println!("FID features of {n} 32×32 images on {dev}, batches of 50:");
    println!("  wgflow       {ours:8.3} s");
    println!("  pytorch-fid  {theirs:8.3} s");
    println!("  ratio pytorch-fid / wgflow = {:.2}", theirs / ours);
    let note = if n < 10_000 {
        format!("{n} images instead of 10,000 (WGFLOW_BENCH_FID_N; CPU default)")
    } else {
        String::new()
    };
    bench_line(
        "fid",
        &format!("FID Inception features of {n} 32×32 images, batches of 50"),
        "pytorch-fid 0.3.0 InceptionV3([3])",
        (theirs, ours),
        1.0,
        dev,
        &note,
    );
}

fn main() {
    if let Some(n) = std::env::var("WGFLOW_BENCH_THREADS").ok().and_then(|v| v.parse::<i32>().ok()) {
        tch::set_num_threads(n);
    }
    let args: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with("--")).collect();
    let want = |name: &str| args.is_empty() || args.iter().any(|a| a == name);
    let dir = tempfile::tempdir().unwrap();
    if want("ot") {
        bench_ot(dir.path());
    }
    if want("knn") {
        bench_knn(dir.path());
    }
    if want("fid") {
        bench_fid(dir.path());
    }
}
