//! Running the `wgflow` binary from the CLI tests.

use std::process::{Command, Output};

/// Runs `wgflow ARGS` on the CPU and returns its output.
pub fn wgflow(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_wgflow")).args(args).env("WGFLOW_DEVICE", "cpu").output().unwrap()
}

/// Bad input: exit code 2, one stderr line that names `needle`, no panic.
pub fn assert_usage_error(args: &[&str], needle: &str) {
    let out = wgflow(args);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{args:?}: stderr {err}");
    assert_eq!(err.trim_end().lines().count(), 1, "{args:?}: expected one line, got {err:?}");
    assert!(err.contains(needle), "{args:?}: {err:?} does not name {needle}");
    assert!(!err.contains("panicked"), "{err}");
}
