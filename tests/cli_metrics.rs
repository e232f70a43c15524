//! `wgflow emd`, `wgflow knn`, `wgflow fid`: printed values and one-line
//! errors with exit code 2 for bad input.

use ndarray::{arr1, arr2};
use std::process::{Command, Output};
use wgflow::npy;

fn wgflow(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_wgflow")).args(args).env("WGFLOW_DEVICE", "cpu").output().unwrap()
}

fn assert_usage_error(args: &[&str], needle: &str) {
    let out = wgflow(args);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{args:?}: stderr {err}");
    assert_eq!(err.trim_end().lines().count(), 1, "{args:?}: expected one line, got {err:?}");
    assert!(err.contains(needle), "{args:?}: {err:?} does not name {needle}");
    assert!(!err.contains("panicked"), "{err}");
}

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
