//! The `wgflow` binary: bad input gets one line naming it and exit code 2; a
//! small real run writes its outputs.

use std::process::Command;

mod cli_common;
use cli_common::{assert_usage_error, wgflow};

#[test]
fn malformed_flags_get_one_line_and_exit_2() {
    assert_usage_error(&["run", "ring", "--k", "1,x"], "--k");
    assert_usage_error(&["run", "ring", "--k", "-3"], "--k");
    assert_usage_error(&["run", "ring", "--k", "0,1"], "--k");
    assert_usage_error(&["run", "ring", "--k", "3,3"], "--k");
    assert_usage_error(&["run", "ring", "--epochs", "0"], "--epochs");
    assert_usage_error(&["run", "ring", "--epochs", "ten"], "--epochs");
    assert_usage_error(&["run", "ring", "--critic", "hinge"], "--critic");
    assert_usage_error(&["run", "ring", "--device", "tpu"], "--device");
    assert_usage_error(&["run", "ring", "--device", "cuda:7"], "--device");
    assert_usage_error(&["run", "moons"], "moons");
    assert_usage_error(&["run", "ring", "--bogus"], "--bogus");
    assert_usage_error(&["frobnicate"], "frobnicate");
    assert_usage_error(&["run", "ring", "--method", "w3gan"], "--method");
    assert_usage_error(&["run", "ring", "--method", "w2fe", "--critic", "gp"], "--critic");
    assert_usage_error(&["run", "ot-maps", "--methods", "w2gan,nope"], "--methods");
    assert_usage_error(&["run", "ot-maps", "--datasets", "moons"], "--datasets");
    assert_usage_error(&["run", "adaptation", "--domains", "usps"], "--domains");
    assert_usage_error(&["run", "adaptation", "--domains", "usps,cifar10", "--offline"], "--domains");
    assert_usage_error(&["run", "adaptation", "--limit", "0", "--offline"], "--limit");
    assert_usage_error(&["run", "adaptation", "--k", "0", "--offline"], "--k");
    assert_usage_error(&["run", "w2-decay", "--eps", "1.5"], "--eps");
    assert_usage_error(&["run", "w2-decay", "--k", "0"], "--k");
    assert_usage_error(&["run", "w2-parts", "--problems", "moons"], "--problems");
    assert_usage_error(&["run", "w2-parts", "--lambdas", "-1"], "--lambdas");
}

#[test]
fn ot_maps_prints_the_map_error_table() {
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("maps");
    let out = wgflow(&[
        "run",
        "ot-maps",
        "--datasets",
        "four-gaussians",
        "--methods",
        "w2gan,baryot-l2",
        "--epochs",
        "4",
        "--quiet",
        "--out",
        out_dir.to_str().unwrap(),
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "stderr: {}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("| method | four-gaussians |"), "{stdout}");
    assert!(stdout.contains("| w2gan |") && stdout.contains("| baryot-l2 |"), "{stdout}");
    assert!(out_dir.join("four-gaussians.png").is_file() && out_dir.join("summary.json").is_file());
    let table: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out_dir.join("summary.json")).unwrap()).unwrap();
    let rows = table["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 2);
    for r in rows {
        // Identity-initialised generators after 4 epochs: the map error is
        // close to the squared W2 between the samples, far from 0.
        let e = r["map_error"].as_f64().unwrap();
        assert!(e.is_finite() && e > 0.1, "{r}");
    }
}

#[test]
fn bad_device_in_environment_is_named() {
    let out = Command::new(env!("CARGO_BIN_EXE_wgflow"))
        .args(["run", "ring", "--epochs", "1"])
        .env("WGFLOW_DEVICE", "quantum")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("WGFLOW_DEVICE") && err.contains("quantum"), "{err}");
}

#[test]
fn bad_config_file_names_the_file_and_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = wgflow::config::RunConfig::default().to_toml().unwrap();
    let p = dir.path().join("run.toml");
    std::fs::write(&p, cfg.replace("critic_iters = 10", "critic_iters = 10\ncritic_itres = 5")).unwrap();
    let ps = p.to_str().unwrap();
    assert_usage_error(&["run", "ring", "--config", ps], "critic_itres");
    std::fs::write(&p, cfg.replace("batch_size = 512", "batch_size = -5")).unwrap();
    assert_usage_error(&["run", "ring", "--config", ps], "batch_size");
    std::fs::write(&p, cfg.replace("eps = 1.0", "eps = 0.0")).unwrap();
    assert_usage_error(&["run", "ring", "--config", ps], "step.eps");
    let missing = dir.path().join("nope.toml");
    assert_usage_error(&["run", "ring", "--config", missing.to_str().unwrap()], "nope.toml");
}

#[test]
fn small_run_writes_histories_plots_and_table() {
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("ring");
    // A smaller base config than the paper's, through --config.
    let mut cfg = wgflow::config::RunConfig::default();
    cfg.train.batch_size = 128;
    cfg.train.critic_iters = 2;
    cfg.train.eval_size = 128;
    let cfg_path = dir.path().join("small.toml");
    std::fs::write(&cfg_path, cfg.to_toml().unwrap()).unwrap();
    let out = wgflow(&[
        "run",
        "ring",
        "--config",
        cfg_path.to_str().unwrap(),
        "--k",
        "1,3",
        "--epochs",
        "20",
        "--eval-every",
        "10",
        "--seed",
        "4",
        "--quiet",
        "--out",
        out_dir.to_str().unwrap(),
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "stderr: {}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("| K | final W1"), "{stdout}");
    assert!(stdout.contains("| 1 |") && stdout.contains("| 3 |"), "{stdout}");
    for f in ["w1_epoch.png", "w1_epoch.svg", "w1_seconds.png", "w1_seconds.svg", "summary.md", "summary.json"] {
        assert!(out_dir.join(f).is_file(), "missing {f}");
    }
    for k in ["k1", "k3"] {
        for f in ["config.toml", "history.csv", "history.json", "transport.png", "transport.svg", "evolution.png"] {
            assert!(out_dir.join(k).join(f).is_file(), "missing {k}/{f}");
        }
        let h = wgflow::train::History::load_csv(out_dir.join(k).join("history.csv")).unwrap();
        assert_eq!(h.rows.iter().map(|r| r.epoch).collect::<Vec<_>>(), vec![0, 10, 20]);
        let cfg = wgflow::config::RunConfig::load(out_dir.join(k).join("config.toml")).unwrap();
        assert_eq!(cfg.train.seed, 4);
        assert_eq!(cfg.train.batch_size, 128);
        assert_eq!(cfg.step.k().to_string(), k[1..]);
    }
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out_dir.join("summary.json")).unwrap()).unwrap();
    assert_eq!(summary["baseline_k"], 1);
    assert_eq!(summary["results"].as_array().unwrap().len(), 2);
    // No temporary files are left behind by the atomic writes.
    let leftovers: Vec<_> = walk(&out_dir).into_iter().filter(|p| p.to_string_lossy().contains(".tmp-")).collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut v = vec![];
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            v.extend(walk(&p));
        } else {
            v.push(p);
        }
    }
    v
}
