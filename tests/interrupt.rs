//! A signal stops `wgflow run` cleanly: SIGUSR1 (Slurm's pre-timeout
//! signal), SIGTERM (`scancel`, `kill`) and SIGINT (Ctrl-C) each make the run
//! write a checkpoint of the epoch it just trained and exit 75, and
//! `wgflow run --resume` then ends with the history and the final checkpoint
//! of an uninterrupted run. The Slurm script of `wgflow sweep --emit slurm`,
//! run here by bash with a stand-in `scontrol`, passes the pre-timeout signal
//! on and requeues the task on that status; after a `scancel` it does not.
//!
//! The signals are sent at a known epoch through the test hook
//! `WGFLOW_TEST_WAIT_FOR_SIGNAL=E` (the run waits after epoch E until a signal
//! comes), so nothing here depends on timing.

#![cfg(unix)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use wgflow::interrupt::{EXIT_INTERRUPTED, WAIT_ENV};
use wgflow::runs::{State, Status};
use wgflow::train::History;

/// A small ring run: 12 epochs, batch 64, evaluations every 2 epochs.
fn small_config(dir: &Path) -> PathBuf {
    let mut cfg = wgflow::config::RunConfig::default();
    cfg.train.epochs = 12;
    cfg.train.batch_size = 64;
    cfg.train.critic_iters = 2;
    cfg.train.eval_size = 64;
    cfg.train.eval_every = 2;
    cfg.train.seed = 5;
    let path = dir.join("run.toml");
    std::fs::write(&path, cfg.to_toml().unwrap()).unwrap();
    path
}

fn wgflow(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_wgflow"))
        .args(args)
        .env("WGFLOW_DEVICE", "cpu")
        .env("OMP_NUM_THREADS", "1")
        .output()
        .unwrap()
}

fn ok(out: &Output) {
    assert!(
        out.status.success(),
        "{}: stdout {} stderr {}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Every column of the history but the wall-clock seconds, as bits.
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

fn checkpoint_epoch(dir: &Path) -> i64 {
    checkpoint(dir).iter().find(|c| c.0 == "epoch").unwrap().1.int64_value(&[])
}

/// The final checkpoints of two runs hold the same tensors (all but the
/// training seconds and the history, which carries them).
fn assert_same_checkpoints(a: &Path, b: &Path) {
    let (a, b) = (checkpoint(a), checkpoint(b));
    assert_eq!(a.len(), b.len());
    for ((name, x), (name_b, y)) in a.iter().zip(&b) {
        assert_eq!(name, name_b);
        if name != "train_seconds" && name != "history" {
            assert!(x.equal(y), "`{name}` differs after the resume");
        }
    }
}

fn send(pid: u32, sig: i32) {
    assert_eq!(unsafe { libc::kill(pid as i32, sig) }, 0, "kill({pid}, {sig})");
}

/// Spawns `cmd` with the wait hook at `epoch`, waits for the hook's line on
/// stderr, and returns the child with the rest of its stderr.
fn spawn_until_waiting(
    mut cmd: Command,
    epoch: usize,
) -> (Child, std::io::Lines<BufReader<std::process::ChildStderr>>) {
    let mut child = cmd
        .env("WGFLOW_DEVICE", "cpu")
        .env("OMP_NUM_THREADS", "1")
        .env(WAIT_ENV, epoch.to_string())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let expected = format!("waiting for a signal after epoch {epoch}");
    for line in lines.by_ref() {
        let line = line.unwrap();
        if line == expected {
            return (child, lines);
        }
        if line.contains("error") {
            break;
        }
    }
    let status = child.wait().unwrap();
    panic!("the run ended ({status}) without reaching the hook at epoch {epoch}");
}

#[test]
fn a_signal_writes_a_checkpoint_exits_75_and_the_resumed_run_equals_the_uninterrupted_one() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = small_config(tmp.path());
    let cfg = cfg.to_str().unwrap();
    let full = tmp.path().join("full");
    ok(&wgflow(&["run", "--config", cfg, "--out", full.to_str().unwrap(), "--checkpoint-every", "4", "--quiet"]));
    assert_eq!(history_bits(&full).len(), 7);

    // Epochs 7, 5 and 9 are not checkpoint epochs (every 4): the signal's checkpoint is its own.
    for (sig, name, epoch) in
        [(libc::SIGUSR1, "SIGUSR1", 7), (libc::SIGTERM, "SIGTERM", 5), (libc::SIGINT, "SIGINT", 9)]
    {
        let cut = tmp.path().join(name);
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_wgflow"));
        cmd.args(["run", "--config", cfg, "--out", cut.to_str().unwrap(), "--checkpoint-every", "4", "--quiet"]);
        let (mut child, lines) = spawn_until_waiting(cmd, epoch);
        send(child.id(), sig);
        let code = child.wait().unwrap().code();
        let err: Vec<String> = lines.map(|l| l.unwrap()).collect();
        assert_eq!(code, Some(i32::from(EXIT_INTERRUPTED)), "{name}: {err:?}");
        assert_eq!(err.len(), 1, "{name}: one line: {err:?}");
        let expected = format!(
            "stopped by {name} after epoch {epoch}: checkpoint written to {}; continue with `wgflow run --resume`",
            cut.display()
        );
        assert_eq!(err[0], expected);

        // The checkpoint of the interrupted epoch, the history so far, the status.
        assert_eq!(checkpoint_epoch(&cut), epoch as i64, "{name}");
        let status = Status::read(&cut).unwrap().unwrap();
        assert_eq!((status.state, status.epoch, status.epochs), (State::Running, epoch, 12), "{name}");
        assert_eq!(status.message, format!("stopped by {name} after epoch {epoch}; checkpoint written"));
        let rows = history_bits(&cut);
        assert_eq!(rows.len(), epoch / 2 + 1, "{name}: evaluations at 0, 2, …, {epoch}");
        assert_eq!(rows[..], history_bits(&full)[..rows.len()], "{name}");

        let out = wgflow(&["run", "--resume", cut.to_str().unwrap(), "--checkpoint-every", "4", "--quiet"]);
        ok(&out);
        assert_eq!(history_bits(&cut), history_bits(&full), "{name}: the resumed history");
        assert_same_checkpoints(&full, &cut);
        assert_eq!(Status::read(&cut).unwrap().unwrap().state, State::Finished);
        let h = History::load_csv(cut.join("history.csv")).unwrap();
        assert!(h.rows.windows(2).all(|w| w[1].seconds >= w[0].seconds), "{name}: the seconds continue");
    }
}

#[test]
fn a_signal_at_a_checkpoint_epoch_does_not_write_it_twice_and_ring_resumes() {
    // `run ring` (two runs, K = 1, 2) stopped at epoch 4 of K = 1, a checkpoint epoch.
    let tmp = tempfile::tempdir().unwrap();
    let cfg = small_config(tmp.path());
    let cfg = cfg.to_str().unwrap();
    let common = ["--config", cfg, "--k", "1,2", "--checkpoint-every", "4", "--quiet"];
    let full = tmp.path().join("full");
    let mut args = vec!["run", "ring", "--out", full.to_str().unwrap()];
    args.extend(common);
    ok(&wgflow(&args));

    let cut = tmp.path().join("cut");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_wgflow"));
    cmd.args(["run", "ring", "--out", cut.to_str().unwrap()]).args(common);
    let (mut child, _lines) = spawn_until_waiting(cmd, 4);
    let written = std::fs::metadata(cut.join("k1/checkpoint.ot")).unwrap().modified().unwrap();
    send(child.id(), libc::SIGTERM);
    assert_eq!(child.wait().unwrap().code(), Some(i32::from(EXIT_INTERRUPTED)));
    assert_eq!(std::fs::metadata(cut.join("k1/checkpoint.ot")).unwrap().modified().unwrap(), written);
    assert_eq!(checkpoint_epoch(&cut.join("k1")), 4);
    assert!(!cut.join("k2").join("checkpoint.ot").exists());

    ok(&wgflow(&["run", "--resume", cut.to_str().unwrap(), "--quiet"]));
    for k in ["k1", "k2"] {
        assert_eq!(history_bits(&full.join(k)), history_bits(&cut.join(k)), "{k}");
        assert_same_checkpoints(&full.join(k), &cut.join(k));
    }
}

/// Emits the Slurm script of a one-run sweep and a stand-in `scontrol` that
/// records its arguments; returns (script, run directory, PATH, record file).
fn slurm_sweep(tmp: &Path) -> (PathBuf, PathBuf, String, PathBuf) {
    let cfg = small_config(tmp);
    let out = tmp.join("grid");
    ok(&wgflow(&[
        "sweep",
        cfg.to_str().unwrap(),
        "--seeds",
        "5",
        "--checkpoint-every",
        "4",
        "--out",
        out.to_str().unwrap(),
        "--emit",
        "slurm",
        "--time",
        "1:00:00",
        "--signal-before",
        "300",
    ]));
    let bin = tmp.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let record = tmp.join("scontrol.args");
    let scontrol = bin.join("scontrol");
    std::fs::write(&scontrol, format!("#!/bin/sh\necho \"$@\" >> '{}'\n", record.display())).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&scontrol, std::fs::Permissions::from_mode(0o755)).unwrap();
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap_or_default());
    let dir = out.join("w1-lp-euler/k1/seed5");
    assert!(dir.join("config.toml").exists());
    (out.join("sweep.slurm"), dir, path, record)
}

/// bash running the script as array task 0 of job `job`.
fn batch(script: &Path, path: &str, job: &str) -> Command {
    let mut cmd = Command::new("bash");
    cmd.arg(script).env("PATH", path).env("SLURM_ARRAY_TASK_ID", "0").env("SLURM_JOB_ID", job);
    cmd
}

#[test]
fn the_slurm_script_passes_the_pre_timeout_signal_on_and_requeues_the_task() {
    let tmp = tempfile::tempdir().unwrap();
    let (script, dir, path, record) = slurm_sweep(tmp.path());
    let text = std::fs::read_to_string(&script).unwrap();
    assert!(text.contains("\n#SBATCH --signal=B:USR1@300\n#SBATCH --requeue\n"), "{text}");
    let full = tmp.path().join("full");
    let cfg = dir.join("config.toml");
    ok(&wgflow(&["run", "--config", cfg.to_str().unwrap(), "--out", full.to_str().unwrap(), "--quiet"]));

    // Slurm's --signal=B:USR1 goes to the batch shell only; the script passes it on.
    let (mut shell, _lines) = spawn_until_waiting(batch(&script, &path, "101"), 6);
    send(shell.id(), libc::SIGUSR1);
    assert_eq!(shell.wait().unwrap().code(), Some(0), "requeued: the batch script succeeds");
    assert_eq!(std::fs::read_to_string(&record).unwrap(), "requeue 101\n");
    assert_eq!(checkpoint_epoch(&dir), 6);
    let status = Status::read(&dir).unwrap().unwrap();
    assert_eq!((status.state, status.epoch), (State::Running, 6));
    assert!(status.message.contains("SIGUSR1"), "{}", status.message);

    // scancel: SIGTERM to the batch shell (and to wgflow); a checkpoint, no requeue, exit 75.
    let (mut shell, _lines) = spawn_until_waiting(batch(&script, &path, "102"), 9);
    send(shell.id(), libc::SIGTERM);
    assert_eq!(shell.wait().unwrap().code(), Some(i32::from(EXIT_INTERRUPTED)));
    assert_eq!(std::fs::read_to_string(&record).unwrap(), "requeue 101\n", "no requeue after scancel");
    assert_eq!(checkpoint_epoch(&dir), 9);

    // The requeued (or resubmitted) task resumes and finishes as the uninterrupted run.
    let out = batch(&script, &path, "101").output().unwrap();
    ok(&out);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("restart 0") && stdout.contains("\"epoch\": 9,"), "{stdout}");
    assert!(stdout.contains("wgflow: exit status 0"), "{stdout}");
    assert_eq!(history_bits(&dir), history_bits(&full));
    assert_same_checkpoints(&full, &dir);
    // A finished run: the next task exits at once.
    let out = batch(&script, &path, "103").output().unwrap();
    ok(&out);
    assert!(String::from_utf8_lossy(&out.stdout).contains("is already finished"));
}
