//! Running the `wgflow` binary from the CLI tests.
#![allow(dead_code)] // each test binary uses some of these

use std::process::{Command, Output};

/// Runs `wgflow ARGS` on the CPU and returns its output.
pub fn wgflow(args: &[&str]) -> Output {
    wgflow_env(args, &[])
}

/// [`wgflow`] with extra environment variables (the test hooks).
pub fn wgflow_env(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_wgflow"));
    cmd.args(args).env("WGFLOW_DEVICE", "cpu").env("OMP_NUM_THREADS", "1");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
}

/// Bad input: exit code 2, one stderr line that names `needle`, no panic.
pub fn assert_usage_error(args: &[&str], needle: &str) {
    assert_usage_error_env(args, &[], needle)
}

/// [`assert_usage_error`] with extra environment variables.
pub fn assert_usage_error_env(args: &[&str], env: &[(&str, &str)], needle: &str) {
    let out = wgflow_env(args, env);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{args:?}: stderr {err}");
    assert_eq!(err.trim_end().lines().count(), 1, "{args:?}: expected one line, got {err:?}");
    assert!(err.contains(needle), "{args:?}: {err:?} does not name {needle}");
    assert!(!err.contains("panicked"), "{err}");
}
