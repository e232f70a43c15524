//! Decoding the 60,000-image Fashion-MNIST training set into a tensor:
//! wgflow against torchvision on the same files, one run on one machine.
//!
//! ```sh
//! make bench-data            # or: cargo bench --bench data
//! ```
//!
//! Needs the files (`/usr/share/datasets/fashion-mnist/`, Debian's
//! `dataset-fashion-mnist`, or `WGFLOW_FASHION_MNIST_DIR`) and a python with
//! torchvision (`WGFLOW_PYTHON`, default `.venv/bin/python`). The compressed
//! files are expanded once into a temporary `FashionMNIST/raw/`, where
//! torchvision reads them; wgflow reads the same uncompressed files (and,
//! separately, the `.gz` files). Times are medians of `REPEATS` (default 7).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;
use tch::Kind;
use wgflow::data::mnist::{read_idx_images, read_idx_images_u8, read_idx_labels, read_maybe_gz};

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn time<T>(repeats: usize, mut f: impl FnMut() -> T) -> (f64, T) {
    let mut ts = Vec::new();
    let mut out = None;
    for _ in 0..repeats {
        let t0 = Instant::now();
        out = Some(f());
        ts.push(t0.elapsed().as_secs_f64());
    }
    (median(ts), out.expect("repeats ≥ 1"))
}

fn json_f64(text: &str, key: &str) -> f64 {
    let v: serde_json::Value = serde_json::from_str(text).unwrap_or_else(|e| panic!("reference output {text:?}: {e}"));
    v[key].as_f64().unwrap_or_else(|| panic!("no {key} in {text}"))
}

fn main() {
    let src = PathBuf::from(
        std::env::var("WGFLOW_FASHION_MNIST_DIR").unwrap_or_else(|_| "/usr/share/datasets/fashion-mnist".into()),
    );
    let gz_images = src.join("train-images-idx3-ubyte.gz");
    let gz_labels = src.join("train-labels-idx1-ubyte.gz");
    if !gz_images.is_file() {
        eprintln!("no {}: apt-get install dataset-fashion-mnist or set WGFLOW_FASHION_MNIST_DIR", gz_images.display());
        std::process::exit(2);
    }
    if let Some(n) = std::env::var("WGFLOW_BENCH_THREADS").ok().and_then(|v| v.parse::<i32>().ok()) {
        tch::set_num_threads(n);
    }
    let repeats: usize = std::env::var("REPEATS").ok().and_then(|s| s.parse().ok()).unwrap_or(7).max(1);
    let python = std::env::var("WGFLOW_PYTHON")
        .unwrap_or_else(|_| Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv/bin/python").display().to_string());

    let tmp = tempfile::tempdir().expect("temporary folder");
    let raw = tmp.path().join("FashionMNIST/raw");
    std::fs::create_dir_all(&raw).unwrap();
    for (gz, name) in [
        (&gz_images, "train-images-idx3-ubyte"),
        (&gz_labels, "train-labels-idx1-ubyte"),
        (&src.join("t10k-images-idx3-ubyte.gz"), "t10k-images-idx3-ubyte"),
        (&src.join("t10k-labels-idx1-ubyte.gz"), "t10k-labels-idx1-ubyte"),
    ] {
        std::fs::write(raw.join(name), read_maybe_gz(gz).unwrap()).unwrap();
    }
    let (images, labels) = (raw.join("train-images-idx3-ubyte"), raw.join("train-labels-idx1-ubyte"));

    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/reference/fashion_mnist.py");
    let out = Command::new(&python)
        .arg(&script)
        .arg(tmp.path())
        .arg(repeats.to_string())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {python}: {e} (set WGFLOW_PYTHON)"));
    let text = String::from_utf8_lossy(&out.stdout).trim().to_string();
    if !out.status.success() {
        panic!("{python} {}: {}", script.display(), String::from_utf8_lossy(&out.stderr));
    }

    let (t_plain, (x, y)) = time(repeats, || (read_idx_images(&images).unwrap(), read_idx_labels(&labels).unwrap()));
    let (t_gz, (xg, _)) =
        time(repeats, || (read_idx_images(&gz_images).unwrap(), read_idx_labels(&gz_labels).unwrap()));
    let (t_u8, (xu, _)) = time(repeats, || (read_idx_images_u8(&images).unwrap(), read_idx_labels(&labels).unwrap()));
    assert_eq!(x.size(), [60_000, 1, 28, 28]);
    assert!(((xu.to_kind(Kind::Float) / 255.0 - 0.5) / 0.5).equal(&x));
    assert!(x.equal(&xg));
    let sum = x.to_kind(Kind::Double).sum(Kind::Double).double_value(&[]);
    let label_sum = y.sum(Kind::Int64).int64_value(&[]);
    assert_eq!(sum, json_f64(&text, "checksum"), "wgflow's tensor differs from torchvision's");
    assert_eq!(label_sum as f64, json_f64(&text, "label_sum"));

    let (r_ds, r_tensor, r_item) = (json_f64(&text, "dataset"), json_f64(&text, "tensor"), json_f64(&text, "per_item"));
    println!("Fashion-MNIST training set, 60,000 × 1×28×28 → f32 in [−1, 1] (median of {repeats}); reference: {text}");
    println!("| reader | seconds | wgflow (plain IDX) faster by |");
    println!("|---|---|---|");
    println!("| torchvision FashionMNIST(...) → uint8 tensor only | {r_ds:.4} | {:.2}× |", r_ds / t_plain);
    println!(
        "| torchvision FashionMNIST(...) + vectorised ToTensor/Normalize | {r_tensor:.4} | {:.2}× |",
        r_tensor / t_plain
    );
    println!("| torchvision per item ToTensor/Normalize, stacked | {r_item:.4} | {:.2}× |", r_item / t_plain);
    println!("| wgflow read_idx_images + labels, plain IDX | {t_plain:.4} | 1.00× |");
    println!("| wgflow read_idx_images_u8 + labels (uint8, as torchvision's dataset) | {t_u8:.4} | {:.2}× (vs torchvision uint8: {:.2}×) |", t_u8 / t_plain, r_ds / t_u8);
    println!("| wgflow read_idx_images + labels, .gz IDX | {t_gz:.4} | {:.2}× |", t_gz / t_plain);
    println!("ratio (torchvision tensor / wgflow, >1 = wgflow faster): {:.2}", r_tensor / t_plain);
    let line = serde_json::json!({
        "bench": "decode",
        "name": format!("Fashion-MNIST training set decode, 60,000 × 28×28 → f32 in [−1, 1] (median of {repeats})"),
        "reference": "torchvision 0.26 FashionMNIST + vectorised ToTensor/Normalize",
        "ref_s": r_tensor, "wgflow_s": t_plain, "ratio": r_tensor / t_plain, "goal": 1.0, "device": "cpu",
        "threads": tch::get_num_threads(), "unit": "s", "note": "uncompressed IDX files",
    });
    println!("BENCH {line}");
}
