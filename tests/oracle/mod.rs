//! Runs the Python reference implementations (POT, scikit-learn, pytorch-fid)
//! that the parity tests compare against. They live in the project's venv
//! (`.venv/bin/python`, or `WGFLOW_PYTHON`), installed by `make test-deps`;
//! a missing package FAILS the test with that instruction, it never skips.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

/// The interpreter that holds the reference packages.
pub fn python() -> PathBuf {
    match std::env::var_os("WGFLOW_PYTHON") {
        Some(p) => PathBuf::from(p),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv/bin/python"),
    }
}

/// Runs `script` in `dir` after importing `modules`; returns stdout. Panics
/// (fails the test) with the install instruction when a module is missing,
/// and with Python's stderr when the script fails.
pub fn run(modules: &[&str], script: &str, dir: &Path) -> String {
    let py = python();
    let imports: String = modules.iter().map(|m| format!("import {m}\n")).collect();
    let out = Command::new(&py)
        .arg("-c")
        .arg(format!("import warnings\nwarnings.filterwarnings('ignore')\n{imports}{script}"))
        .current_dir(dir)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {} ({e}): run `make setup test-deps` first", py.display()));
    let err = String::from_utf8_lossy(&out.stderr);
    if err.contains("ModuleNotFoundError") || err.contains("ImportError") {
        panic!(
            "the parity oracle needs Python packages {modules:?} in {}: run `make test-deps` (pip install of the \
             pinned POT, scikit-learn, pytorch-fid):\n{err}",
            py.display()
        );
    }
    assert!(out.status.success(), "python oracle failed:\n{err}");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Parses the whitespace-separated floats Python printed with `repr`.
pub fn floats(s: &str) -> Vec<f64> {
    s.split_whitespace().map(|t| t.parse::<f64>().unwrap_or_else(|_| panic!("not a float: {t:?}"))).collect()
}

/// `|a − b| / max(|b|, tiny)`.
pub fn rel(a: f64, b: f64) -> f64 {
    (a - b).abs() / b.abs().max(1e-300)
}
