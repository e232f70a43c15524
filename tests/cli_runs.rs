//! `wgflow run --resume`, `wgflow sweep` and `wgflow compare` as processes:
//! a run killed while writing a checkpoint resumes to the uninterrupted
//! result; the NaN hook stops a run; a small real sweep (ring, K ∈ {1, 3},
//! 2 seeds) and its comparison plot; the Slurm script (CPU and GPU
//! partitions); bad flags.

mod cli_common;
use cli_common::{assert_usage_error, assert_usage_error_env, wgflow, wgflow_env};

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use wgflow::train::History;

/// A small ring run: 8 epochs, batch 64, evaluations every 2 epochs.
fn small_config(dir: &Path, extra: &str) -> PathBuf {
    let mut cfg = wgflow::config::RunConfig::default();
    cfg.train.epochs = 8;
    cfg.train.batch_size = 64;
    cfg.train.critic_iters = 2;
    cfg.train.eval_size = 64;
    cfg.train.eval_every = 2;
    cfg.train.seed = 11;
    let path = dir.join("run.toml");
    std::fs::write(&path, format!("{}\n{extra}", cfg.to_toml().unwrap())).unwrap();
    path
}

fn history_bits(dir: &Path) -> Vec<Vec<u64>> {
    let h = History::load_csv(dir.join("history.csv")).unwrap();
    let rows = h.rows.iter();
    rows.map(|r| {
        [r.epoch as f64, r.critic_loss, r.w1_estimate, r.generator_loss, r.w1, r.w2].map(f64::to_bits).to_vec()
    })
    .collect()
}

fn checkpoint(dir: &Path) -> Vec<(String, tch::Tensor)> {
    let bytes = std::fs::read(dir.join("checkpoint.ot")).unwrap();
    let mut v = wgflow::runs::checkpoint::from_bytes(bytes).unwrap();
    v.sort_by(|a, b| a.0.cmp(&b.0));
    v
}

fn ok(out: &std::process::Output) {
    assert!(
        out.status.success(),
        "stdout {} stderr {}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn a_run_killed_while_writing_a_checkpoint_resumes_to_the_uninterrupted_result() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = small_config(tmp.path(), "");
    let cfg = cfg.to_str().unwrap();
    let full = tmp.path().join("full");
    ok(&wgflow(&["run", "--config", cfg, "--out", full.to_str().unwrap(), "--checkpoint-every", "2", "--quiet"]));

    let cut = tmp.path().join("cut");
    let mut child = Command::new(env!("CARGO_BIN_EXE_wgflow"))
        .args(["run", "--config", cfg, "--out", cut.to_str().unwrap(), "--checkpoint-every", "2", "--quiet"])
        .env("WGFLOW_DEVICE", "cpu")
        .env(wgflow::runs::checkpoint::PAUSE_ENV, "6")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let line = lines.next().unwrap().unwrap();
    assert_eq!(line, "checkpoint write paused at epoch 6");
    // Mid-write: the checkpoint of epoch 4 in place, half of epoch 6's in a temporary file.
    let tmp_file = cut.join(format!(".checkpoint.ot.tmp-{}", child.id()));
    let partial = std::fs::metadata(&tmp_file).unwrap().len();
    let whole = std::fs::metadata(full.join("checkpoint.ot")).unwrap().len();
    assert!(partial > 0 && partial < whole, "{partial} of {whole} bytes");
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let kept = checkpoint(&cut);
    assert_eq!(kept.iter().find(|c| c.0 == "epoch").unwrap().1.int64_value(&[]), 4);
    let status = wgflow::runs::Status::read(&cut).unwrap().unwrap();
    assert_eq!((status.state, status.epoch), (wgflow::runs::State::Running, 4));

    let out = wgflow(&["run", "--resume", cut.to_str().unwrap(), "--checkpoint-every", "2", "--quiet"]);
    ok(&out);
    assert!(!tmp_file.exists(), "the interrupted write's temporary file is removed");
    assert_eq!(history_bits(&full).len(), 5);
    assert_eq!(history_bits(&full), history_bits(&cut));
    let (a, b) = (checkpoint(&full), checkpoint(&cut));
    assert_eq!(a.len(), b.len());
    for ((name, x), (name_b, y)) in a.iter().zip(&b) {
        assert_eq!(name, name_b);
        if name != "train_seconds" && name != "history" {
            assert!(x.equal(y), "`{name}` differs after the resume");
        }
    }
    // Wall-clock seconds continue from the checkpoint: increasing.
    let h = History::load_csv(cut.join("history.csv")).unwrap();
    assert!(h.rows.windows(2).all(|w| w[1].seconds >= w[0].seconds));
    // Resuming a finished run is a no-op.
    let again = wgflow(&["run", "--resume", cut.to_str().unwrap()]);
    ok(&again);
    assert!(String::from_utf8_lossy(&again.stdout).contains("already finished"));
}

#[test]
fn a_nan_injected_through_the_test_hook_stops_the_run() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = small_config(tmp.path(), "");
    let nan_3 = [("WGFLOW_TEST_NAN_AT", "3:critic")];
    let dir = tmp.path().join("nan");
    let out = wgflow_env(
        &[
            "run",
            "--config",
            cfg.to_str().unwrap(),
            "--out",
            dir.to_str().unwrap(),
            "--checkpoint-every",
            "2",
            "--quiet",
        ],
        &nan_3,
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert!(err.contains("training diverged at epoch 3, critic step: the critic loss is NaN"), "{err}");
    assert!(err.contains("last good checkpoint"), "{err}");
    assert_eq!(checkpoint(&dir).iter().find(|c| c.0 == "epoch").unwrap().1.int64_value(&[]), 2);
    // For sweeps: the run is marked diverged and the process succeeds.
    let dir2 = tmp.path().join("nan2");
    let out = wgflow_env(
        &[
            "run",
            "--config",
            cfg.to_str().unwrap(),
            "--out",
            dir2.to_str().unwrap(),
            "--on-divergence",
            "continue",
            "--quiet",
        ],
        &nan_3,
    );
    ok(&out);
    let status = wgflow::runs::Status::read(&dir2).unwrap().unwrap();
    assert_eq!(status.state, wgflow::runs::State::Diverged);
    assert!(status.message.contains("epoch 3, critic step"), "{}", status.message);
}

#[test]
fn a_small_real_sweep_on_the_ring_and_its_comparison() {
    // Kept under target/tmp so that the comparison plot can be looked at after `make test`.
    let out = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("sweep-ring");
    let _ = std::fs::remove_dir_all(&out);
    std::fs::create_dir_all(&out).unwrap();
    let mut cfg = wgflow::config::RunConfig::default();
    cfg.train.epochs = 30;
    cfg.train.batch_size = 128;
    cfg.train.critic_iters = 3;
    cfg.train.eval_size = 128;
    cfg.train.eval_every = 5;
    let adam = wgflow::optim::AdamConfig { lr: 2e-3, beta1: 0.5, beta2: 0.9, ..Default::default() };
    cfg.train.generator_opt = adam;
    cfg.train.critic_opt = adam;
    let cfg_path = out.join("ring.toml");
    std::fs::write(&cfg_path, cfg.to_toml().unwrap()).unwrap();
    let runs = out.join("runs");
    let args = [
        "sweep",
        cfg_path.to_str().unwrap(),
        "--methods",
        "w1fe-lp",
        "--k",
        "1,3",
        "--seeds",
        "0..2",
        "--jobs",
        "2",
        "--checkpoint-every",
        "10",
        "--out",
        runs.to_str().unwrap(),
        "--quiet",
    ];
    let first = wgflow(&args);
    ok(&first);
    assert!(String::from_utf8_lossy(&first.stdout).contains("4 runs: 4 finished now, 0 already finished"));
    // A second sweep skips the finished runs.
    let second = wgflow(&args);
    ok(&second);
    assert!(String::from_utf8_lossy(&second.stdout).contains("4 runs: 0 finished now, 4 already finished"));

    let cmp = wgflow(&["compare", runs.to_str().unwrap(), "--out", out.to_str().unwrap()]);
    ok(&cmp);
    // The table: final W1 mean/min/max per K from the four histories.
    let csv = std::fs::read_to_string(out.join("compare.csv")).unwrap();
    let mut finals_all = vec![];
    for (line, k) in csv.lines().skip(1).zip([1, 3]) {
        let f: Vec<&str> = line.split(',').collect();
        assert_eq!((f[0], f[1], f[2]), ("w1fe-lp", k.to_string().as_str(), "2"), "{csv}");
        let finals: Vec<f64> = (0..2)
            .map(|s| {
                let h = History::load_csv(runs.join(format!("w1fe-lp/k{k}/seed{s}/history.csv"))).unwrap();
                assert_eq!(h.rows.last().unwrap().epoch, 30);
                h.rows.last().unwrap().w1
            })
            .collect();
        let num = |i: usize| f[i].parse::<f64>().unwrap();
        assert!((num(3) - (finals[0] + finals[1]) / 2.0).abs() < 1e-12, "{csv}");
        assert_eq!(num(4), finals[0].min(finals[1]));
        assert_eq!(num(5), finals[0].max(finals[1]));
        assert_ne!(finals[0], finals[1], "two seeds give two runs");
        finals_all.push((finals[0] + finals[1]) / 2.0);
    }
    // The default threshold is the larger of the two means.
    let threshold: f64 = csv.lines().nth(1).unwrap().split(',').nth(6).unwrap().parse().unwrap();
    assert_eq!(threshold, finals_all[0].max(finals_all[1]));
    let stdout = String::from_utf8_lossy(&cmp.stdout);
    assert!(stdout.contains("| w1fe-lp | 3 | 2 |"), "{stdout}");
    // The plots: both groups' mean lines and bands drawn.
    for name in ["compare_epoch.png", "compare_seconds.png"] {
        let img = image::open(out.join(name)).unwrap().to_rgb8();
        assert_eq!(img.dimensions(), (720, 480));
        let n = |c: [u8; 3]| img.pixels().filter(|p| p.0 == c).count();
        assert!(n([31, 119, 180]) > 150 && n([255, 127, 14]) > 150, "{name}: mean lines");
        let not_white = img.pixels().filter(|p| p.0 != [255, 255, 255]).count();
        assert!(not_white > 20_000, "{name}: {not_white} drawn pixels");
        assert!(std::fs::metadata(out.join(name.replace(".png", ".svg"))).unwrap().len() > 5_000);
    }
}

#[test]
fn sweep_emits_a_slurm_array_script_for_the_grid() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = small_config(tmp.path(), "");
    let out = tmp.path().join("grid");
    let res = wgflow(&[
        "sweep",
        cfg.to_str().unwrap(),
        "--k",
        "1,3",
        "--seeds",
        "0..3",
        "--methods",
        "w1fe-lp,wgan-gp",
        "--emit",
        "slurm",
        "--out",
        out.to_str().unwrap(),
    ]);
    ok(&res);
    // The defaults run on a plain CPU partition: no GPU resource, the CPU, one thread.
    let script = std::fs::read_to_string(out.join("sweep.slurm")).unwrap();
    let sbatch: Vec<&str> = script.lines().filter(|l| l.starts_with("#SBATCH")).collect();
    let abs = std::path::absolute(&out).unwrap();
    assert_eq!(
        sbatch,
        [
            "#SBATCH --job-name=wgflow-sweep",
            "#SBATCH --array=0-11",
            "#SBATCH --ntasks=1",
            "#SBATCH --cpus-per-task=1",
            "#SBATCH --signal=B:USR1@120",
            "#SBATCH --requeue",
            "#SBATCH --open-mode=append",
            &format!("#SBATCH --output={}/slurm-%A_%a.out", abs.display()),
        ]
    );
    assert!(script.contains(&format!("'{}'", abs.join("wgan-gp/k3/seed2").display())));
    assert!(script.contains("\nexport OMP_NUM_THREADS=1 MKL_NUM_THREADS=1\n"), "{script}");
    assert!(
        script.contains("run --resume \"$DIR\" --device cpu --quiet --on-divergence continue --checkpoint-every 50 &"),
        "{script}"
    );
    assert!(script.contains("scontrol requeue \"$SLURM_JOB_ID\""));
    let syntax = std::process::Command::new("bash").arg("-n").arg(out.join("sweep.slurm")).output().unwrap();
    ok(&syntax);

    // A GPU partition: the site's resource name, the partition, time, account, CPUs and extra lines.
    let gpu = tmp.path().join("gpu");
    ok(&wgflow(&[
        "sweep",
        cfg.to_str().unwrap(),
        "--k",
        "1,3",
        "--out",
        gpu.to_str().unwrap(),
        "--emit",
        "slurm",
        "--gpus-per-task",
        "1",
        "--gpu-resource",
        "gpu:a100",
        "--partition",
        "gpu",
        "--time",
        "1-12:00:00",
        "--account",
        "proj42",
        "--cpus-per-task",
        "8",
        "--sbatch=--mem=32G",
        "--sbatch",
        "#SBATCH --constraint=a100",
        "--signal-before",
        "600",
        "--no-requeue",
        "--job-name",
        "ring-k",
        "--checkpoint-every",
        "100",
    ]));
    let script = std::fs::read_to_string(gpu.join("sweep.slurm")).unwrap();
    let sbatch: Vec<&str> = script.lines().filter(|l| l.starts_with("#SBATCH")).collect();
    assert_eq!(
        sbatch,
        [
            "#SBATCH --job-name=ring-k",
            "#SBATCH --array=0-1",
            "#SBATCH --ntasks=1",
            "#SBATCH --cpus-per-task=8",
            "#SBATCH --gres=gpu:a100:1",
            "#SBATCH --partition=gpu",
            "#SBATCH --time=1-12:00:00",
            "#SBATCH --account=proj42",
            "#SBATCH --signal=B:USR1@600",
            "#SBATCH --no-requeue",
            "#SBATCH --open-mode=append",
            &format!("#SBATCH --output={}/slurm-%A_%a.out", std::path::absolute(&gpu).unwrap().display()),
            "#SBATCH --mem=32G",
            "#SBATCH --constraint=a100",
        ]
    );
    assert!(script.contains("\nexport OMP_NUM_THREADS=8 MKL_NUM_THREADS=8\n"), "{script}");
    assert!(script.contains("--device cuda:0 --quiet --on-divergence continue --checkpoint-every 100 &"), "{script}");
    assert!(!script.contains("scontrol requeue"), "--no-requeue: {script}");
    // The run directories exist with their configs; nothing was trained.
    let d = out.join("w1fe-lp/k3/seed1");
    let c = wgflow::config::RunConfig::load(d.join("config.toml")).unwrap();
    assert_eq!((c.step.k(), c.train.seed), (3, 1));
    assert!(d.join("run.json").exists() && !d.join("status.json").exists());
}

#[test]
fn bad_flags_for_runs_sweeps_and_comparisons_get_one_line_and_exit_2() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = small_config(tmp.path(), "");
    let cfg = cfg.to_str().unwrap();
    let missing = tmp.path().join("missing");
    let missing = missing.to_str().unwrap();
    assert_usage_error(&["run", "--resume", missing], "config.toml");
    assert_usage_error(&["run", "--resume", missing, "--epochs", "3"], "--resume");
    assert_usage_error(&["run", "--config", cfg], "--out");
    assert_usage_error(&["run", "--config", cfg, "--out", missing, "--checkpoint-every", "0"], "--checkpoint-every");
    assert_usage_error(&["run", "--config", cfg, "--out", missing, "--on-divergence", "maybe"], "--on-divergence");
    assert_usage_error(&["run", "--config", cfg, "--out", missing, "--k", "1,3"], "--k");
    let hook = tmp.path().join("hook");
    let nan_99 = [("WGFLOW_TEST_NAN_AT", "99:critic")];
    assert_usage_error_env(&["run", "--config", cfg, "--out", hook.to_str().unwrap()], &nan_99, "nan_at.epoch");
    assert_usage_error(&["sweep", cfg, "--seeds", "5..2"], "--seeds");
    assert_usage_error(&["sweep", cfg, "--methods", "nope"], "--methods");
    assert_usage_error(&["sweep", cfg, "--jobs", "0"], "--jobs");
    assert_usage_error(&["sweep", cfg, "--k", "0"], "--k");
    assert_usage_error(&["sweep", cfg, "--emit", "pbs"], "--emit");
    let slurm = |extra: &[&'static str]| -> Vec<&str> {
        let mut a = vec!["sweep", cfg, "--out", missing, "--emit", "slurm"];
        a.extend(extra);
        a
    };
    assert_usage_error(&slurm(&["--gpus-per-task", "2"]), "--gpus-per-task");
    assert_usage_error(&slurm(&["--time", "1:00", "--signal-before", "60"]), "--signal-before");
    assert_usage_error(&slurm(&["--time", "90 minutes"]), "--time");
    assert_usage_error(&slurm(&["--cpus-per-task", "0"]), "--cpus-per-task");
    assert_usage_error(&slurm(&["--sbatch", "mem=4G"]), "--sbatch");
    assert_usage_error(&slurm(&["--partition", "gpu;rm -rf /"]), "--partition");
    assert_usage_error(&slurm(&["--gpu-resource", "gpu:a100:2"]), "--gpu-resource");
    assert_usage_error(&slurm(&["--device", "cpu"]), "--device");
    assert_usage_error(&["sweep", cfg, "--partition", "cpu"], "--emit");
    assert!(!Path::new(missing).exists(), "no directory written for bad flags");
    assert_usage_error(&["sweep", &format!("{missing}.toml")], "missing.toml");
    assert_usage_error(&["compare", missing], "missing");
    assert_usage_error(&["compare", tmp.path().to_str().unwrap(), "--metric", "w3"], "--metric");
    assert_usage_error(&["compare", tmp.path().to_str().unwrap()], "no run directories");
    // A directory that already holds a run is not overwritten.
    let dir = tmp.path().join("r");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("status.json"), "{}").unwrap();
    assert_usage_error(&["run", "--config", cfg, "--out", dir.to_str().unwrap()], "--resume");
}

#[test]
fn the_ring_experiment_resumes_each_of_its_runs() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = small_config(tmp.path(), "");
    let cfg = cfg.to_str().unwrap();
    let common = ["--config", cfg, "--k", "1,2", "--checkpoint-every", "2", "--quiet"];
    let full = tmp.path().join("full");
    let mut args = vec!["run", "ring", "--out", full.to_str().unwrap()];
    args.extend(common);
    ok(&wgflow(&args));

    // Killed while writing K=1's checkpoint of epoch 6; K=2 not started.
    let cut = tmp.path().join("cut");
    let mut args = vec!["run", "ring", "--out", cut.to_str().unwrap()];
    args.extend(common);
    let mut child = Command::new(env!("CARGO_BIN_EXE_wgflow"))
        .args(&args)
        .env("WGFLOW_DEVICE", "cpu")
        .env(wgflow::runs::checkpoint::PAUSE_ENV, "6")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    assert_eq!(lines.next().unwrap().unwrap(), "checkpoint write paused at epoch 6");
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(!cut.join("k2").join("history.csv").exists());

    let out = wgflow(&["run", "--resume", cut.to_str().unwrap(), "--quiet"]);
    ok(&out);
    assert!(String::from_utf8_lossy(&out.stdout).contains("| 2 |"));
    for k in ["k1", "k2"] {
        assert_eq!(history_bits(&full.join(k)), history_bits(&cut.join(k)), "{k}");
        // The evolution snapshots (epochs 0, 2, 4, 8) taken before and after the kill.
        let snaps = |d: &Path| std::fs::read_to_string(d.join(k).join("snapshots.json")).unwrap();
        assert!(snaps(&full) == snaps(&cut), "{k}: the snapshots differ");
        assert!(cut.join(k).join("evolution.png").exists());
    }
    let summary = |d: &Path| -> Vec<(u64, u64, Option<usize>)> {
        let s: wgflow::experiments::RingSummary =
            serde_json::from_str(&std::fs::read_to_string(d.join("summary.json")).unwrap()).unwrap();
        s.results.iter().map(|r| (r.k as u64, r.final_w1.to_bits(), r.reach_epoch)).collect()
    };
    assert_eq!(summary(&full), summary(&cut));
    assert!(cut.join("w1_epoch.png").exists());
}

#[test]
fn the_ot_maps_experiment_resumes_each_of_its_runs() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = small_config(tmp.path(), "");
    let cfg = cfg.to_str().unwrap();
    let common = [
        "--config",
        cfg,
        "--datasets",
        "four-gaussians",
        "--methods",
        "w2gan,wgan-gp",
        "--checkpoint-every",
        "2",
        "--quiet",
    ];
    let full = tmp.path().join("full");
    let mut args = vec!["run", "ot-maps", "--out", full.to_str().unwrap()];
    args.extend(common);
    ok(&wgflow(&args));

    let cut = tmp.path().join("cut");
    let mut args = vec!["run", "ot-maps", "--out", cut.to_str().unwrap()];
    args.extend(common);
    let mut child = Command::new(env!("CARGO_BIN_EXE_wgflow"))
        .args(&args)
        .env("WGFLOW_DEVICE", "cpu")
        .env(wgflow::runs::checkpoint::PAUSE_ENV, "6")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    assert_eq!(lines.next().unwrap().unwrap(), "checkpoint write paused at epoch 6");
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(!cut.join("summary.json").exists());

    ok(&wgflow(&["run", "--resume", cut.to_str().unwrap(), "--quiet"]));
    let rows = |d: &Path| -> Vec<(String, u64, u64)> {
        let t: wgflow::experiments::ot_maps::OtMapsTable =
            serde_json::from_str(&std::fs::read_to_string(d.join("summary.json")).unwrap()).unwrap();
        t.rows.iter().map(|r| (r.method.clone(), r.map_error.to_bits(), r.w2.to_bits())).collect()
    };
    assert_eq!(rows(&full).len(), 2);
    assert_eq!(rows(&full), rows(&cut));
    for m in ["w2gan", "wgan-gp"] {
        assert_eq!(
            history_bits(&full.join("four-gaussians").join(m)),
            history_bits(&cut.join("four-gaussians").join(m))
        );
    }
    assert!(cut.join("four-gaussians.png").exists());
}

fn maps_row(dataset: &str, method: &str, map_error: f64) -> wgflow::experiments::ot_maps::OtMapsRow {
    wgflow::experiments::ot_maps::OtMapsRow {
        dataset: dataset.into(),
        method: method.into(),
        map_error,
        w2: 2.0 * map_error,
        seconds: 1.0,
    }
}

#[test]
fn ot_maps_tables_combine_over_seeds() {
    use wgflow::experiments::ot_maps::{OtMapsSeeds, OtMapsTable};
    let table = |seed: u64, w2gan: f64, wgan: f64, identity: f64| OtMapsTable {
        epochs: 10,
        seed,
        rows: vec![maps_row("spiral", "w2gan", w2gan), maps_row("spiral", "wgan-lp", wgan)],
        identity: vec![("spiral".into(), identity)],
        panels: vec![],
    };
    let seeds =
        OtMapsSeeds::from_tables(&[table(0, 0.05, 0.10, 0.4), table(1, 0.20, 0.08, 0.5), table(2, 0.02, 0.6, 0.45)])
            .unwrap();
    assert_eq!(seeds.seeds, vec![0, 1, 2]);
    let w2gan = seeds.row("spiral", "w2gan").unwrap();
    assert!((w2gan.map_error.mean - 0.09).abs() < 1e-12);
    assert_eq!((w2gan.map_error.min, w2gan.map_error.max), (0.02, 0.20));
    assert!((w2gan.w2.mean - 0.18).abs() < 1e-12);
    assert_eq!((w2gan.best, w2gan.below_identity), (2, 3));
    let wgan = seeds.row("spiral", "wgan-lp").unwrap();
    assert_eq!((wgan.best, wgan.below_identity), (1, 2));
    let id = seeds.identity_error("spiral").unwrap();
    assert!((id.mean - 0.45).abs() < 1e-12);
    let md = seeds.markdown();
    assert!(md.contains("| w2gan | 0.0900 [0.0200–0.2000] best 2/3 |"), "{md}");
    assert!(md.contains("| identity (the start) | 0.4500 [0.4000–0.5000] |"), "{md}");

    // A repeated seed, or tables of other methods or lengths, are refused.
    let err = OtMapsSeeds::from_tables(&[table(0, 0.1, 0.1, 0.4), table(0, 0.1, 0.1, 0.4)]).unwrap_err();
    assert!(err.to_string().contains("repeat a seed"), "{err}");
    let mut other = table(1, 0.1, 0.1, 0.4);
    other.rows.pop();
    let err = OtMapsSeeds::from_tables(&[table(0, 0.1, 0.1, 0.4), other]).unwrap_err();
    assert!(err.to_string().contains("ot-maps tables differ"), "{err}");
    // A table of more methods combines once restricted to the others' methods.
    let mut wider = table(1, 0.1, 0.1, 0.4);
    wider.rows.insert(0, maps_row("spiral", "w2fe", 0.01));
    assert!(OtMapsSeeds::from_tables(&[table(0, 0.1, 0.1, 0.4), wider.clone()]).is_err());
    let narrowed = OtMapsSeeds::from_tables(&[table(0, 0.1, 0.1, 0.4), wider.only(&["w2gan", "wgan-lp"])]).unwrap();
    assert_eq!(narrowed.rows.len(), 2);
    assert_eq!(narrowed.seeds, vec![0, 1]);
    let mut longer = table(1, 0.1, 0.1, 0.4);
    longer.epochs = 20;
    assert!(OtMapsSeeds::from_tables(&[table(0, 0.1, 0.1, 0.4), longer]).is_err());
}

#[test]
fn ot_maps_records_its_seed_and_the_identity_error() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = small_config(tmp.path(), "");
    let mut dirs = vec![];
    for seed in ["0", "3"] {
        let out = tmp.path().join(format!("s{seed}"));
        ok(&wgflow(&[
            "run",
            "ot-maps",
            "--config",
            cfg.to_str().unwrap(),
            "--datasets",
            "four-gaussians",
            "--methods",
            "w2gan,wgan-lp",
            "--seed",
            seed,
            "--out",
            out.to_str().unwrap(),
            "--quiet",
        ]));
        dirs.push(out);
    }
    let seeds = wgflow::experiments::OtMapsSeeds::load(&dirs).unwrap();
    assert_eq!(seeds.seeds, vec![0, 3]);
    // Four Gaussians at scale 2 onto the same at scale 1: each mode moves by
    // 1, so the identity's squared error is 1 up to the samples' spread.
    let id = seeds.identity_error("four-gaussians").unwrap();
    assert!((id.min - 1.0).abs() < 0.1 && (id.max - 1.0).abs() < 0.1, "{id:?}");
    assert!(id.min < id.max, "the two seeds drew the same samples: {id:?}");
    for m in ["w2gan", "wgan-lp"] {
        let r = seeds.row("four-gaussians", m).unwrap();
        assert!(r.map_error.min > 0.0 && r.map_error.min <= r.map_error.max);
    }
    let best: usize = ["w2gan", "wgan-lp"].iter().map(|m| seeds.row("four-gaussians", m).unwrap().best).sum();
    assert_eq!(best, 2);
}
