//! `wgflow emd`, `wgflow knn`, `wgflow fid`: printed values and one-line
//! errors with exit code 2 for bad input.

use ndarray::{arr1, arr2};
use wgflow::npy;

mod cli_common;
use cli_common::{assert_usage_error, wgflow};

fn printed(args: &[&str]) -> f64 {
    let out = wgflow(args);
    assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).trim().parse().unwrap()
}

#[test]
fn emd_prints_the_distance() {
    let dir = tempfile::tempdir().unwrap();
    let p = |n: &str| dir.path().join(n).to_str().unwrap().to_string();
    // δ_0 against 0.25 δ_1 + 0.75 δ_3 in 1-D: W1 = 2.5, W2 = √7.
    npy::write(p("x.npy"), &arr2(&[[0.0f32], [0.0]])).unwrap();
    npy::write(p("y.npy"), &arr2(&[[1.0f64], [3.0]])).unwrap();
    npy::write(p("wy.npy"), &arr1(&[0.25, 0.75])).unwrap();
    assert_eq!(printed(&["emd", "--p", "1", &p("x.npy"), &p("y.npy"), "--weights-b", &p("wy.npy")]), 2.5);
    let w2 = printed(&["emd", "--p", "2", &p("x.npy"), &p("y.npy"), "--weights-b", &p("wy.npy")]);
    assert!((w2 - 7f64.sqrt()).abs() < 1e-15, "{w2}");
    // Uniform: (|0−1| + |0−3|)/2 = 2.
    assert_eq!(printed(&["emd", "--p", "1", &p("x.npy"), &p("y.npy")]), 2.0);
    let s = printed(&["emd", "--p", "2", &p("x.npy"), &p("y.npy"), "--sinkhorn", "0.05"]);
    assert!((s - 5f64.sqrt()).abs() < 1e-6, "{s}");

    npy::write(p("z.npy"), &arr2(&[[0.0, 1.0]])).unwrap();
    npy::write(p("nan.npy"), &arr2(&[[0.0], [f64::NAN]])).unwrap();
    npy::write(p("bad_w.npy"), &arr1(&[0.5, 0.25, 0.25])).unwrap();
    std::fs::write(p("text.npy"), "hello").unwrap();
    assert_usage_error(&["emd", &p("x.npy"), &p("y.npy")], "--p");
    assert_usage_error(&["emd", "--p", "3", &p("x.npy"), &p("y.npy")], "--p");
    assert_usage_error(&["emd", "--p", "1", &p("x.npy"), &p("z.npy")], "z.npy");
    assert_usage_error(&["emd", "--p", "1", &p("x.npy"), &p("nan.npy")], "NaN");
    assert_usage_error(&["emd", "--p", "1", &p("x.npy"), &p("missing.npy")], "missing.npy");
    assert_usage_error(&["emd", "--p", "1", &p("x.npy"), &p("text.npy")], "text.npy");
    assert_usage_error(&["emd", "--p", "1", &p("x.npy"), &p("y.npy"), "--weights-b", &p("bad_w.npy")], "--weights-b");
    assert_usage_error(&["emd", "--p", "1", &p("x.npy"), &p("y.npy"), "--sinkhorn", "-1"], "--sinkhorn");
}

#[test]
fn knn_prints_the_accuracy() {
    let dir = tempfile::tempdir().unwrap();
    let p = |n: &str| dir.path().join(n).to_str().unwrap().to_string();
    npy::write(p("xtr.npy"), &arr2(&[[0.0f32, 0.0], [10.0, 0.0], [0.0, 10.0]])).unwrap();
    npy::write(p("ytr.npy"), &arr1(&[1i64, 2, 3])).unwrap();
    npy::write(p("xte.npy"), &arr2(&[[1.0f32, 1.0], [9.0, 1.0], [1.0, 8.0], [6.0, 0.0]])).unwrap();
    npy::write(p("yte.npy"), &arr1(&[1i32, 2, 2, 2])).unwrap();
    let args = ["knn", "--train-x", &p("xtr.npy"), "--train-y", &p("ytr.npy"), "--test-x", &p("xte.npy")];
    let mut ok: Vec<&str> = args.to_vec();
    let (pred, yte0) = (p("pred.npy"), p("yte.npy"));
    ok.extend(["--test-y", &yte0, "--predictions", &pred]);
    assert_eq!(printed(&ok), 0.75);
    let labels: Vec<i64> = npy::read_labels(&pred).unwrap();
    assert_eq!(labels, vec![1, 2, 3, 2]);

    npy::write(p("y_short.npy"), &arr1(&[1i64, 2])).unwrap();
    npy::write(p("x3.npy"), &arr2(&[[1.0, 1.0, 1.0]])).unwrap();
    npy::write(p("y1.npy"), &arr1(&[1i64])).unwrap();
    npy::write(p("yfrac.npy"), &arr1(&[1.5f64, 2.0, 3.0])).unwrap();
    let mut bad = args.to_vec();
    bad.extend(["--test-y", "y_missing.npy"]);
    assert_usage_error(&bad, "y_missing.npy");
    let xtr = p("xtr.npy");
    let xte = p("xte.npy");
    let yte = p("yte.npy");
    let ys = p("y_short.npy");
    assert_usage_error(
        &["knn", "--train-x", &xtr, "--train-y", &ys, "--test-x", &xte, "--test-y", &yte],
        "y_short.npy",
    );
    let (x3, y1) = (p("x3.npy"), p("y1.npy"));
    assert_usage_error(
        &["knn", "--train-x", &xtr, "--train-y", &p("ytr.npy"), "--test-x", &x3, "--test-y", &y1],
        "x3.npy",
    );
    let yf = p("yfrac.npy");
    assert_usage_error(&["knn", "--train-x", &xtr, "--train-y", &yf, "--test-x", &xte, "--test-y", &yte], "1.5");
    assert_usage_error(&["knn", "--train-x", &xtr], "--train-y");
}

#[test]
fn fid_of_saved_statistics_and_bad_inputs() {
    use wgflow::metrics::fid::{frechet_distance, Stats};
    let dir = tempfile::tempdir().unwrap();
    let p = |n: &str| dir.path().join(n).to_str().unwrap().to_string();
    let s1 = Stats { mu: arr1(&[0.0, 1.0]), sigma: arr2(&[[2.0, 0.5], [0.5, 1.0]]), n: 0 };
    let s2 = Stats { mu: arr1(&[1.0, 1.0]), sigma: arr2(&[[1.0, 0.0], [0.0, 3.0]]), n: 0 };
    s1.save(p("s1.npz")).unwrap();
    s2.save(p("s2.npz")).unwrap();
    let want = frechet_distance(&s1, &s2).unwrap();
    assert_eq!(printed(&["fid", &p("s1.npz"), &p("s2.npz")]), want);
    let s3 = Stats { mu: arr1(&[0.0]), sigma: arr2(&[[1.0]]), n: 0 };
    s3.save(p("s3.npz")).unwrap();
    assert_usage_error(&["fid", &p("s1.npz"), &p("s3.npz")], "s3.npz");
    assert_usage_error(&["fid", &p("s1.npz")], "--save-stats");
    assert_usage_error(&["fid", &p("s1.npz"), &p("nope")], "nope");
    assert_usage_error(&["fid", &p("s1.npz"), &p("s2.npz"), "--kid"], "--kid");
    assert_usage_error(&["fid", &p("s1.npz"), &p("s2.npz"), "--batch-size", "0"], "--batch-size");
    npy::write(p("img.npy"), &ndarray::Array4::<u8>::zeros((2, 8, 8, 3))).unwrap();
    assert_usage_error(&["fid", &p("img.npy"), &p("s2.npz"), "--weights", &p("missing.pth")], "missing.pth");
    std::fs::write(p("junk.pth"), "not a checkpoint").unwrap();
    assert_usage_error(&["fid", &p("img.npy"), &p("s2.npz"), "--weights", &p("junk.pth")], "junk.pth");
}
