//! Every experiment through the CLI: killed mid-run and resumed with
//! `wgflow run --resume DIR` to the summary (and run histories) of an
//! uninterrupted run, bit for bit on the CPU but for wall-clock seconds;
//! runs and experiments extended to more epochs; the method presets and
//! every experiment reachable from the CLI's help.

mod cli_common;
use cli_common::{wgflow, wgflow_env};
mod common;
use common::rng_lock;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use wgflow::train::History;

fn ok(out: &std::process::Output) {
    assert!(
        out.status.success(),
        "stdout {} stderr {}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `summary.json` without the wall-clock fields (any key naming seconds).
fn summary(dir: &Path) -> serde_json::Value {
    fn strip(v: &mut serde_json::Value) {
        match v {
            serde_json::Value::Object(m) => {
                m.retain(|k, _| !k.contains("seconds"));
                m.values_mut().for_each(strip);
            }
            serde_json::Value::Array(a) => a.iter_mut().for_each(strip),
            _ => {}
        }
    }
    let mut v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("summary.json")).unwrap()).unwrap();
    strip(&mut v);
    v
}

/// Every column of a run's history but the seconds, as bits; extra metrics too.
fn history_bits(dir: &Path) -> Vec<Vec<u64>> {
    let h = History::load_csv(dir.join("history.csv")).unwrap();
    h.rows
        .iter()
        .map(|r| {
            let mut v: Vec<u64> =
                [r.epoch as f64, r.critic_loss, r.w1_estimate, r.generator_loss, r.w1, r.w2].map(f64::to_bits).to_vec();
            v.extend(r.metrics.values().map(|x| x.to_bits()));
            v
        })
        .collect()
}

/// Runs `wgflow run EXPERIMENT ARGS --out full` to the end, and the same
/// into `cut`, killed while writing the checkpoint of epoch `pause` of its
/// first run; resumes `cut`; checks that both end with the same summary and
/// the same run histories (`runs`, relative to the experiment).
fn killed_and_resumed(tmp: &Path, experiment: &str, args: &[&str], pause: usize, runs: &[&str]) {
    let full = tmp.join(format!("{experiment}-full"));
    let cut = tmp.join(format!("{experiment}-cut"));
    let with_out = |out: &Path| {
        let mut v = vec!["run".to_string(), experiment.to_string(), "--out".into(), out.display().to_string()];
        v.extend(args.iter().map(|s| s.to_string()));
        v.extend(["--checkpoint-every", "2", "--quiet"].map(String::from));
        v
    };
    let full_args = with_out(&full);
    ok(&wgflow(&full_args.iter().map(String::as_str).collect::<Vec<_>>()));
    let mut child = Command::new(env!("CARGO_BIN_EXE_wgflow"))
        .args(with_out(&cut))
        .env("WGFLOW_DEVICE", "cpu")
        .env("OMP_NUM_THREADS", "1")
        .env(wgflow::runs::checkpoint::PAUSE_ENV, pause.to_string())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let first = lines.next().unwrap().unwrap();
    assert_eq!(first, format!("checkpoint write paused at epoch {pause}"), "{experiment}");
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(!cut.join("summary.json").exists(), "{experiment}: the cut run finished");
    let out = wgflow(&["run", "--resume", cut.to_str().unwrap(), "--quiet"]);
    ok(&out);
    assert_eq!(summary(&full), summary(&cut), "{experiment}: the resumed summary differs");
    for r in runs {
        let (a, b) = (history_bits(&full.join(r)), history_bits(&cut.join(r)));
        assert!(a.len() >= 2, "{experiment}/{r}: {a:?}");
        assert_eq!(a, b, "{experiment}/{r}: the resumed history differs");
    }
}

#[test]
fn the_adaptation_experiment_resumes_to_the_same_summary() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("digits");
    wgflow::data::synthetic::write_shifted_digit_domains(&data, 600, 300, 0).unwrap();
    let args = [
        "--data-dir",
        data.to_str().unwrap(),
        "--offline",
        "--methods",
        "w1fe-lp,w2gan",
        "--epochs",
        "6",
        "--eval-every",
        "2",
    ];
    killed_and_resumed(tmp.path(), "adaptation", &args, 4, &["w1fe-lp", "w2gan"]);
    // The 1-NN accuracy is a column of each run's history, at every evaluation.
    let h = History::load_csv(tmp.path().join("adaptation-cut/w2gan/history.csv")).unwrap();
    assert_eq!(h.metric("accuracy").0, vec![0.0, 2.0, 4.0, 6.0]);
}

#[test]
fn the_w2_decay_experiment_resumes_to_the_same_summary() {
    let tmp = tempfile::tempdir().unwrap();
    killed_and_resumed(tmp.path(), "w2-decay", &["--epochs", "6", "--k", "1,3"], 4, &["k1", "k3"]);
}

#[test]
fn the_w2_parts_experiment_resumes_to_the_same_summary() {
    let tmp = tempfile::tempdir().unwrap();
    let args = ["--epochs", "6", "--k", "1,3", "--problems", "ring", "--lambdas", "200", "--lrs", "0.001"];
    killed_and_resumed(tmp.path(), "w2-parts", &args, 4, &["ring/k1", "ring/k3"]);
}

#[test]
fn the_image_gan_experiment_resumes_to_the_same_summary() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("cifar");
    wgflow::data::synthetic::write_cifar_standin(&data, 0).unwrap();
    let args = [
        "--data-dir",
        data.to_str().unwrap(),
        "--offline",
        "--limit",
        "500",
        "--width",
        "8",
        "--epochs",
        "6",
        "--evaluations",
        "3",
        "--methods",
        "wgan-gp,rwp-gan",
    ];
    killed_and_resumed(tmp.path(), "image-gan", &args, 2, &["wgan-gp", "rwp-gan"]);
    assert!(tmp.path().join("image-gan-cut/rwp-gan/samples.png").is_file());
}

#[test]
fn the_mv_gaussian_experiment_resumes_to_the_same_summary() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("digits");
    wgflow::data::synthetic::write_shifted_digit_domains(&data, 300, 100, 0).unwrap();
    let args = ["--data-dir", data.to_str().unwrap(), "--offline", "--limit", "300", "--width", "32", "--epochs", "6"];
    killed_and_resumed(tmp.path(), "mv-gaussian", &args, 4, &["w2gan", "baryot-l2"]);
    assert!(tmp.path().join("mv-gaussian-cut/samples.png").is_file());
}

#[test]
fn the_ot_benchmark_experiment_resumes_to_the_same_summary() {
    let tmp = tempfile::tempdir().unwrap();
    let args = ["--dims", "2,8", "--methods", "w2gan,w1fe-lp", "--epochs", "6", "--test-size", "1024"];
    let runs = ["gaussian/d2/w2gan", "gaussian/d8/w1fe-lp", "mixture/d8/w2gan"];
    killed_and_resumed(tmp.path(), "ot-benchmark", &args, 4, &runs);
    // Baselines and methods on both families; the scores are history columns.
    let s = summary(&tmp.path().join("ot-benchmark-cut"));
    assert_eq!(s["rows"].as_array().unwrap().len(), 2 * 2 * (3 + 2));
    let h = History::load_csv(tmp.path().join("ot-benchmark-cut/mixture/d2/w2gan/history.csv")).unwrap();
    assert!(h.last().unwrap().metric("l2_uvp").unwrap() > 0.0 && h.last().unwrap().metric("cos").is_some());
    assert!(tmp.path().join("ot-benchmark-cut/maps-mixture-2d.png").is_file());
}

#[test]
fn the_two_delta_experiment_resumes_to_the_same_summary() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("two-delta");
    let run = wgflow(&["run", "two-delta", "--out", out.to_str().unwrap()]);
    ok(&run);
    let text = String::from_utf8_lossy(&run.stdout);
    assert!(text.contains("Prop. 5 on 10000 (θ^k, h, α): 0 steps where the Euclidean step did better"), "{text}");
    let first = summary(&out);
    ok(&wgflow(&["run", "--resume", out.to_str().unwrap()]));
    assert_eq!(summary(&out), first);
    assert!(out.join("f_w1.svg").is_file() && out.join("paths.svg").is_file());
}

/// A small ring config: 6 epochs evaluated every 4 (so the last evaluation,
/// at 6, is off the grid an extension to 10 epochs follows).
fn small_config(dir: &Path) -> std::path::PathBuf {
    let cfg = wgflow::config::RunConfig::preset("w1fe-lp")
        .unwrap()
        .k(2)
        .epochs(6)
        .batch_size(64)
        .critic_iters(2)
        .eval_size(64)
        .eval_every(4)
        .seed(5);
    let path = dir.join("run.toml");
    std::fs::write(&path, cfg.to_toml().unwrap()).unwrap();
    path
}

#[test]
fn a_finished_single_run_extends_to_the_run_trained_that_long_from_the_start() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = small_config(tmp.path());
    let cfg = cfg.to_str().unwrap();
    let (short, long) = (tmp.path().join("short"), tmp.path().join("long"));
    ok(&wgflow(&["run", "--config", cfg, "--out", short.to_str().unwrap(), "--quiet"]));
    let epochs =
        |d: &Path| History::load_csv(d.join("history.csv")).unwrap().rows.iter().map(|r| r.epoch).collect::<Vec<_>>();
    assert_eq!(epochs(&short), vec![0, 4, 6]);
    ok(&wgflow(&["run", "--config", cfg, "--out", long.to_str().unwrap(), "--epochs", "10", "--quiet"]));
    // Extended: the forced evaluation at the old end (6) goes, the run goes on from its checkpoint.
    let out = wgflow(&["run", "--resume", short.to_str().unwrap(), "--epochs", "10", "--quiet"]);
    ok(&out);
    assert_eq!(epochs(&short), vec![0, 4, 8, 10]);
    assert_eq!(history_bits(&short), history_bits(&long));
    let status = wgflow::runs::Status::read(&short).unwrap().unwrap();
    assert_eq!((status.state, status.epoch, status.epochs), (wgflow::runs::State::Finished, 10, 10));
    // Every network, optimizer moment and step count equal too.
    let tensors = |d: &Path| {
        let mut v = wgflow::runs::checkpoint::from_bytes(std::fs::read(d.join("checkpoint.ot")).unwrap()).unwrap();
        v.sort_by(|a, b| a.0.cmp(&b.0));
        v
    };
    for ((name, a), (_, b)) in tensors(&short).iter().zip(&tensors(&long)) {
        if name != "train_seconds" && name != "history" {
            assert!(a.equal(b), "`{name}` differs");
        }
    }
    // It cannot be shortened below what it trained.
    let e = wgflow(&["run", "--resume", short.to_str().unwrap(), "--epochs", "8"]);
    assert_eq!(e.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&e.stderr).contains("--epochs"), "{}", String::from_utf8_lossy(&e.stderr));
}

#[test]
fn an_extended_experiment_says_what_differs_from_a_longer_run() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = small_config(tmp.path());
    let cfg = cfg.to_str().unwrap();
    // Ring: the runs equal runs configured for 10 epochs from the start.
    let (short, long) = (tmp.path().join("ring-short"), tmp.path().join("ring-long"));
    let ring = |out: &Path, epochs: &str| {
        wgflow(&[
            "run",
            "ring",
            "--config",
            cfg,
            "--k",
            "1,2",
            "--epochs",
            epochs,
            "--quiet",
            "--out",
            out.to_str().unwrap(),
        ])
    };
    ok(&ring(&short, "6"));
    ok(&ring(&long, "10"));
    let out = wgflow(&["run", "--resume", short.to_str().unwrap(), "--epochs", "10", "--quiet"]);
    ok(&out);
    for k in ["k1", "k2"] {
        assert_eq!(history_bits(&short.join(k)), history_bits(&long.join(k)), "{k}");
    }
    let results = |d: &Path| summary(d)["results"].clone();
    assert_eq!(results(&short), results(&long));
    // ot-maps evaluates once, at the end: the extended runs keep their
    // evaluation interval, and the note says so.
    let maps = tmp.path().join("maps");
    let base = ["run", "ot-maps", "--config", cfg, "--datasets", "four-gaussians", "--methods", "w2gan", "--quiet"];
    let mut args = base.to_vec();
    args.extend(["--epochs", "6", "--out", maps.to_str().unwrap()]);
    ok(&wgflow(&args));
    let out = wgflow_env(&["run", "--resume", maps.to_str().unwrap(), "--epochs", "10", "--quiet"], &[]);
    ok(&out);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("note: four-gaussians/w2gan: train.eval_every stays 6 (a run configured for 10 epochs from the start would have 10)"),
        "{text}"
    );
    let h = History::load_csv(maps.join("four-gaussians/w2gan/history.csv")).unwrap();
    assert_eq!(h.rows.iter().map(|r| r.epoch).collect::<Vec<_>>(), vec![0, 6, 10]);
}

#[test]
fn every_method_and_every_experiment_is_reachable_from_the_cli() {
    let help = wgflow(&["run", "--help"]);
    ok(&help);
    let help = String::from_utf8_lossy(&help.stdout);
    let methods = wgflow(&["methods"]);
    ok(&methods);
    let methods = String::from_utf8_lossy(&methods.stdout);
    // The 16 presets of the four papers, and W2-FE on W2GAN's critic.
    assert_eq!(wgflow::config::METHODS.len(), 17);
    for m in wgflow::config::METHODS {
        let line = format!("  {:<15} {}", m.name, m.description);
        assert!(help.contains(&line), "`wgflow run --help` lacks {line:?}");
        assert!(methods.lines().any(|l| l.starts_with(m.name) && l.contains(m.source)), "{}", m.name);
    }
    assert_eq!(wgflow::experiments::KINDS.len(), 9);
    for kind in wgflow::experiments::KINDS {
        assert!(help.lines().any(|l| l.trim_start().starts_with(kind)), "`wgflow run --help` lacks {kind}");
        let sub = wgflow(&["run", kind, "--help"]);
        ok(&sub);
        let text = String::from_utf8_lossy(&sub.stdout);
        assert!(text.contains(&format!("Usage: wgflow run {kind}")) && text.contains("--out"), "{text}");
    }
}

#[test]
fn run_or_resume_reads_a_finished_experiment_back_and_runs_a_changed_one() {
    use wgflow::experiments::{run_or_resume, DriverOptions, Experiment, RingExperiment};
    let _rng = rng_lock();
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("ring");
    let exp = RingExperiment::new("w1fe-lp").ks(vec![1]).epochs(4).batch_size(64).configure(|b| {
        b.train.eval_size = 64;
        b.train.critic_iters = 1;
        b.train.eval_every = 2;
    });
    let opts = DriverOptions::on(tch::Device::Cpu).quiet();
    let a = run_or_resume(&exp, &out, &opts).unwrap();
    let written = || std::fs::metadata(out.join("k1/checkpoint.ot")).unwrap().modified().unwrap();
    let first = written();
    // The same experiment again: read back, nothing trained.
    let b = run_or_resume(&exp, &out, &opts).unwrap();
    assert_eq!(written(), first);
    assert_eq!(a.results, b.results);
    // Another seed: trained from the start.
    let c = run_or_resume(&exp.clone().seed(3), &out, &opts).unwrap();
    assert!(written() > first, "the changed experiment was not retrained");
    assert_ne!(c.results[0].final_w1, a.results[0].final_w1);
    // The same experiment, but its saved run was made under another preset
    // (here: another penalty weight): trained again, not refused.
    let exp = exp.seed(3);
    let cfg = out.join("k1/config.toml");
    let text = std::fs::read_to_string(&cfg).unwrap();
    assert!(text.contains("lambda = 10.0"), "{text}");
    std::fs::write(&cfg, text.replace("lambda = 10.0", "lambda = 11.0")).unwrap();
    let before = written();
    let d = run_or_resume(&exp, &out, &opts).unwrap();
    assert!(written() > before, "the run saved under another preset was not retrained");
    assert_eq!(std::fs::read_to_string(&cfg).unwrap(), text);
    assert_eq!(d.results[0].final_w1, c.results[0].final_w1);
}
