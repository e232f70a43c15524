//! Run directories: bit-identical resume from a checkpoint for every kind of
//! trainer state, the divergence guard with the NaN test hook, the
//! comparison's numbers against hand computations, sweep plans and the Slurm
//! script.

mod common;
use common::rng_lock;

use std::path::{Path, PathBuf};
use tch::{Device, Tensor};
use wgflow::config::preset;
use wgflow::config::RunConfig;
use wgflow::optim::AdamConfig;
use wgflow::runs::checkpoint::{self, CHECKPOINT};
use wgflow::runs::compare::{compare, interp, load_runs, Metric};
use wgflow::runs::sweep::{parse_seeds, slurm_script, SlurmOptions, Sweep};
use wgflow::runs::{create_dir, train_dir, CheckpointPolicy, Outcome, RunLabels, State, Status};
use wgflow::train::{epoch_seed, on_eval, GuardStep, NanAt, Trainer};
use wgflow::Error;

fn small(method: &str, seed: u64) -> RunConfig {
    let mut base = RunConfig::default();
    base.train.epochs = 6;
    base.train.batch_size = 64;
    base.train.critic_iters = 2;
    base.train.eval_size = 64;
    base.train.eval_every = 2;
    base.train.seed = seed;
    let adam = AdamConfig { lr: 2e-3, beta1: 0.5, beta2: 0.9, ..AdamConfig::default() };
    base.train.generator_opt = adam;
    base.train.critic_opt = adam;
    let mut cfg = preset(method, &base).unwrap();
    cfg.step = cfg.step.with_k(2);
    cfg
}

/// History rows as bits, wall-clock seconds left out (they are not reproducible).
fn history_bits(dir: &Path) -> Vec<[u64; 6]> {
    let h = wgflow::train::History::load_csv(dir.join("history.csv")).unwrap();
    h.rows
        .iter()
        .map(|r| {
            [
                r.epoch as u64,
                r.critic_loss.to_bits(),
                r.w1_estimate.to_bits(),
                r.generator_loss.to_bits(),
                r.w1.to_bits(),
                r.w2.to_bits(),
            ]
        })
        .collect()
}

fn checkpoint_tensors(dir: &Path) -> Vec<(String, Tensor)> {
    let mut v = checkpoint::from_bytes(std::fs::read(dir.join(CHECKPOINT)).unwrap()).unwrap();
    v.sort_by(|a, b| a.0.cmp(&b.0));
    v
}

/// Trains `dir` to `stop` epochs with the same schedule as `train_dir` and
/// writes a checkpoint there, as a process interrupted after that epoch's
/// checkpoint would leave it.
fn interrupted_at(dir: &Path, cfg: &RunConfig, stop: usize) {
    create_dir(dir, cfg, None).unwrap();
    let mut t = Trainer::new(cfg.clone(), Device::Cpu).unwrap();
    while t.epoch() < stop || t.history().rows.is_empty() {
        t.step().unwrap();
    }
    checkpoint::save(&mut t, dir, false).unwrap();
    t.history().save_csv(dir.join("history.csv")).unwrap();
}

#[test]
fn resumed_runs_equal_uninterrupted_runs_bit_for_bit() {
    let _rng = rng_lock();
    let tmp = tempfile::tempdir().unwrap();
    // Euler with batch norm in the generator; the proximal step's previous
    // generator; SBE's potential and its optimizer; Barycentric-OT resumed
    // inside its dual phase (dual_epochs = 3) and again in the map phase;
    // W2-FE's two dual networks.
    for (method, stops) in
        [("w1fe-lp", vec![3]), ("rwp-gan", vec![3]), ("sbe", vec![1, 4]), ("baryot-l2", vec![1, 4]), ("w2fe", vec![5])]
    {
        let cfg = small(method, 7);
        let full = tmp.path().join(format!("{method}-full"));
        create_dir(&full, &cfg, None).unwrap();
        let opts = CheckpointPolicy::every(100);
        assert_eq!(train_dir(&full, Device::Cpu, opts, &mut []).unwrap(), Outcome::Finished { already: false });
        for stop in stops {
            let resumed = tmp.path().join(format!("{method}-resumed-{stop}"));
            interrupted_at(&resumed, &cfg, stop);
            let mut seen = vec![];
            let mut record = on_eval(|t, r| {
                seen.push((t.epoch(), r.epoch));
                Ok(())
            });
            let out = train_dir(&resumed, Device::Cpu, opts, &mut [&mut record]).unwrap();
            assert_eq!(out, Outcome::Finished { already: false });
            // The resumed process evaluates only the epochs after the checkpoint.
            assert!(seen.iter().all(|&(e, _)| e > stop), "{method}: {seen:?}");
            let (a, b) = (history_bits(&full), history_bits(&resumed));
            assert_eq!(a.len(), 4, "{method}");
            assert_eq!(a, b, "{method} resumed after epoch {stop}");
            // Every network, optimizer moment and step count, equal bit for bit.
            let (ca, cb) = (checkpoint_tensors(&full), checkpoint_tensors(&resumed));
            assert_eq!(ca.iter().map(|c| &c.0).collect::<Vec<_>>(), cb.iter().map(|c| &c.0).collect::<Vec<_>>());
            for ((name, x), (_, y)) in ca.iter().zip(&cb) {
                if name == "train_seconds" || name == "history" {
                    continue;
                }
                assert!(x.equal(y), "{method} resumed after epoch {stop}: `{name}` differs");
            }
            let names: Vec<&str> = ca.iter().map(|c| c.0.as_str()).collect();
            assert!(names.contains(&"opt_g/m/0") && names.contains(&"opt_d/v/0") && names.contains(&"opt_d/steps"));
            if method == "sbe" {
                assert!(names.iter().any(|n| n.starts_with("sbe/")) && names.contains(&"opt_sbe/steps"));
            }
            if method == "sbe" || method == "rwp-gan" {
                assert!(names.iter().any(|n| n.starts_with("prev/")));
            }
            // Resuming a finished run does nothing.
            assert_eq!(train_dir(&resumed, Device::Cpu, opts, &mut []).unwrap(), Outcome::Finished { already: true });
        }
    }
}

#[test]
fn checkpoint_holds_optimizer_state_and_training_seconds() {
    let _rng = rng_lock();
    let cfg = small("w1fe-lp", 3);
    let mut t = Trainer::new(cfg.clone(), Device::Cpu).unwrap();
    // The evaluation before training, then two epochs.
    for _ in 0..3 {
        t.step().unwrap();
    }
    let state = t.state().unwrap();
    let get = |n: &str| state.iter().find(|(name, _)| name == n).unwrap().1.shallow_clone();
    // 2 epochs × 2 critic steps; 2 epochs × K = 2 generator steps.
    assert_eq!(get("opt_d/steps").int64_value(&[]), 4);
    assert_eq!(get("opt_g/steps").int64_value(&[]), 4);
    assert_eq!(get("epoch").int64_value(&[]), 2);
    assert!(get("opt_g/v/0").abs().sum(tch::Kind::Double).double_value(&[]) > 0.0);
    let mut back = Trainer::new(cfg, Device::Cpu).unwrap();
    back.load_state(checkpoint::from_bytes(checkpoint::to_bytes(&state).unwrap()).unwrap()).unwrap();
    assert_eq!(back.epoch(), 2);
    assert_eq!(back.seconds().to_bits(), t.seconds().to_bits());
    let bits = |t: &Trainer| -> Vec<[u64; 7]> {
        let rows = t.history().rows.iter();
        rows.map(|r| {
            [r.epoch as f64, r.seconds, r.critic_loss, r.w1_estimate, r.generator_loss, r.w1, r.w2].map(f64::to_bits)
        })
        .collect()
    };
    assert_eq!(bits(&back), bits(&t));
    // A state missing a tensor is refused, naming it.
    let partial: Vec<(String, Tensor)> =
        state.iter().filter(|(n, _)| n != "opt_g/m/0").map(|(n, t)| (n.clone(), t.shallow_clone())).collect();
    let e = back.load_state(partial).unwrap_err().to_string();
    assert!(e.contains("opt_g/m/0"), "{e}");
}

#[test]
fn epoch_seeds_are_distinct_and_fixed() {
    // The mixing function is part of the run's definition: pin two values.
    assert_eq!(epoch_seed(0, 0), epoch_seed(0, 0));
    let mut all: Vec<i64> = (0..20).flat_map(|s| (0..200).map(move |e| epoch_seed(s, e))).collect();
    assert!(all.iter().all(|&s| s >= 0));
    all.sort_unstable();
    all.dedup();
    assert_eq!(all.len(), 20 * 200);
    assert_ne!(epoch_seed(0, 1), epoch_seed(1, 0));
}

#[test]
fn nan_hook_stops_the_run_naming_epoch_step_and_tensor() {
    let _rng = rng_lock();
    let tmp = tempfile::tempdir().unwrap();
    let cases = [
        ("w1fe-lp", GuardStep::Critic, "critic step: the critic loss is NaN"),
        ("w1fe-lp", GuardStep::Generator, "generator step: the generated samples is NaN"),
        ("wgan-gp", GuardStep::Generator, "generator step: the generator loss is NaN"),
        ("sbe", GuardStep::Potential, "potential step: the potential objective is NaN"),
    ];
    for (method, step, expected) in cases {
        let cfg = small(method, 1);
        // The hook as a test writes it (and as WGFLOW_TEST_NAN_AT gives it).
        let mut hook = NanAt::parse(&format!("5:{}", step.name())).unwrap();
        assert_eq!(hook, NanAt { epoch: 5, step });
        let dir = tmp.path().join(format!("{method}-{}", step.name()));
        create_dir(&dir, &cfg, None).unwrap();
        let out = train_dir(&dir, Device::Cpu, CheckpointPolicy::every(2), &mut [&mut hook]).unwrap();
        let Outcome::Diverged { message, already: false } = out else { panic!("{method}: {out:?}") };
        assert!(message.starts_with("training diverged at epoch 5, "), "{message}");
        assert!(message.contains(expected), "{method}: {message}");
        let status = Status::read(&dir).unwrap().unwrap();
        assert_eq!(status.state, State::Diverged);
        assert_eq!(status.epoch, 4, "the last good checkpoint is epoch 4");
        // The kept checkpoint is the one of epoch 4, and every tensor in it is finite.
        let ck = checkpoint_tensors(&dir);
        let epoch = ck.iter().find(|c| c.0 == "epoch").unwrap().1.int64_value(&[]);
        assert_eq!(epoch, 4);
        for (name, t) in &ck {
            if t.kind() == tch::Kind::Float && !name.starts_with("last/") {
                assert!(bool::try_from(t.isfinite().all()).unwrap(), "{method}: `{name}` not finite");
            }
        }
        // Resuming a diverged run does not train again.
        let again = train_dir(&dir, Device::Cpu, CheckpointPolicy::default(), &mut []).unwrap();
        assert!(matches!(again, Outcome::Diverged { already: true, .. }));
    }
    // Without the hook the same runs finish: the guard does not fire on its own.
    let dir = tmp.path().join("clean");
    create_dir(&dir, &small("sbe", 1), None).unwrap();
    assert_eq!(
        train_dir(&dir, Device::Cpu, CheckpointPolicy::default(), &mut []).unwrap(),
        Outcome::Finished { already: false }
    );
}

#[test]
fn the_library_trainer_loop_reports_divergence_too() {
    let _rng = rng_lock();
    let mut t = Trainer::new(small("w1fe-gp", 2), Device::Cpu).unwrap();
    t.inject_nan(NanAt { epoch: 3, step: GuardStep::Critic }).unwrap();
    match t.fit(&mut []).unwrap_err() {
        Error::Diverged { epoch, step, tensor, value } => {
            assert_eq!((epoch, step.as_str(), tensor.as_str()), (3, "critic", "critic loss"));
            assert!(value.is_nan());
        }
        e => panic!("{e}"),
    }
    assert_eq!(t.epoch(), 3, "stopped right after the poisoned epoch on the CPU");
}

#[test]
fn invalid_hooks_and_keys_are_refused_naming_the_key() {
    let _rng = rng_lock();
    let mut t = Trainer::new(small("w1fe-lp", 0), Device::Cpu).unwrap();
    let mut with = |s: &str| NanAt::parse(s).and_then(|h| t.inject_nan(h)).unwrap_err().to_string();
    let e = with("0:critic");
    assert!(e.contains("nan_at.epoch"), "{e}");
    let e = with("7:critic");
    assert!(e.contains("nan_at.epoch") && e.contains("1..=6"), "{e}");
    let e = with("2:potential");
    assert!(e.contains("nan_at.step"), "{e}");
    let e = with("2:critics");
    assert!(e.contains("critics") && e.contains("WGFLOW_TEST_NAN_AT"), "{e}");
    let e = with("2");
    assert!(e.contains("EPOCH:STEP"), "{e}");
    // Barycentric-OT has no generator step during its dual epochs (dual_epochs = 3).
    let mut bary = Trainer::new(small("baryot-l2", 0), Device::Cpu).unwrap();
    let e = bary.inject_nan(NanAt { epoch: 2, step: GuardStep::Generator }).unwrap_err().to_string();
    assert!(e.contains("nan_at.step"), "{e}");
    // The hook is not part of a run's config: a config with a [debug] table
    // is refused naming the key, and a normal config has none.
    let base = small("w1fe-lp", 0).to_toml().unwrap();
    let e = RunConfig::from_toml(&format!("{base}\n[debug]\nnan_at = 3\n"), "c.toml").unwrap_err().to_string();
    assert!(e.contains("debug"), "{e}");
    assert!(!base.contains("[debug]"));
}

fn write_run(dir: &Path, method: &str, k: usize, seed: u64, rows: &[(usize, f64, f64)]) {
    std::fs::create_dir_all(dir).unwrap();
    let mut csv = String::from("epoch,seconds,critic_loss,w1_estimate,generator_loss,w1,w2\n");
    for (e, s, w1) in rows {
        csv.push_str(&format!("{e},{s},0,0,0,{w1},{}\n", w1 * 2.0));
    }
    std::fs::write(dir.join("history.csv"), csv).unwrap();
    RunLabels { method: method.into(), k, seed }.write(dir).unwrap();
}

#[test]
fn comparison_matches_hand_computed_means_envelopes_and_reach_times() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    write_run(&root.join("a/s0"), "w1fe-lp", 1, 0, &[(0, 0.0, 0.5), (10, 1.0, 0.3), (20, 2.0, 0.2)]);
    write_run(&root.join("a/s1"), "w1fe-lp", 1, 1, &[(0, 0.0, 0.7), (10, 2.0, 0.4), (20, 4.0, 0.1)]);
    write_run(&root.join("b/s0"), "w1fe-lp", 3, 0, &[(0, 0.0, 0.6), (10, 3.0, 0.15), (20, 6.0, 0.12)]);
    let runs = load_runs(&[root.to_path_buf()]).unwrap();
    assert_eq!(runs.len(), 3);
    let c = compare(&runs, Metric::W1, None).unwrap();
    assert_eq!(c.groups.len(), 2);
    let (g1, g3) = (&c.groups[0], &c.groups[1]);
    assert_eq!((g1.k, g1.seeds.clone(), g3.k), (1, vec![0, 1], 3));
    // Final W1: K=1 runs end at 0.2 and 0.1; K=3 at 0.12.
    assert!((g1.final_metric.mean - 0.15).abs() < 1e-12 && g1.final_metric.min == 0.1 && g1.final_metric.max == 0.2);
    assert!((g3.final_metric.mean - 0.12).abs() < 1e-12);
    // Default threshold: the larger group mean, 0.15.
    assert!((c.threshold - 0.15).abs() < 1e-12);
    // K=1: s0 never reaches 0.15 (it ends at 0.2), s1 does at epoch 20 (4 s); K=3 at epoch 10 (3 s).
    assert_eq!((g1.reach.runs, g1.reach.epoch, g1.reach.seconds), (1, Some(20.0), Some(4.0)));
    assert_eq!((g3.reach.runs, g3.reach.epoch, g3.reach.seconds), (1, Some(10.0), Some(3.0)));
    // Against epoch: the shared grid 0, 10, 20; mean and envelope per epoch.
    assert_eq!(g1.by_epoch.x, vec![0.0, 10.0, 20.0]);
    let close = |a: &[f64], b: &[f64]| a.len() == b.len() && a.iter().zip(b).all(|(x, y)| (x - y).abs() < 1e-12);
    assert!(close(&g1.by_epoch.mean, &[0.6, 0.35, 0.15]), "{:?}", g1.by_epoch.mean);
    assert!(close(&g1.by_epoch.lo, &[0.5, 0.3, 0.1]) && close(&g1.by_epoch.hi, &[0.7, 0.4, 0.2]));
    // Against seconds: 100 points on [0, 2] (s0 ends at 2 s); at 1 s, s0 is at
    // 0.3 and s1 half-way from 0.7 to 0.4 (0.55).
    let s = &g1.by_seconds;
    assert_eq!(s.x.len(), 100);
    assert_eq!((s.x[0], s.x[99]), (0.0, 2.0));
    let at1 = interp(&s.x, &s.mean, 1.0);
    assert!((at1 - (0.3 + 0.55) / 2.0).abs() < 1e-3, "{at1}");
    assert!((s.hi[99] - 0.4).abs() < 1e-12 && (s.lo[99] - 0.2).abs() < 1e-12);
    // An explicit threshold and W2 (= 2·W1 in these files).
    let c2 = compare(&runs, Metric::W2, Some(0.25)).unwrap();
    assert!((c2.groups[0].final_metric.mean - 0.3).abs() < 1e-12);
    assert_eq!(c2.groups[1].reach.runs, 1);
    assert_eq!(c2.groups[0].reach.runs, 1);
    // The tables and plots.
    let out = root.join("cmp");
    c.write(&out).unwrap();
    let md = std::fs::read_to_string(out.join("compare.md")).unwrap();
    assert!(md.contains("| w1fe-lp | 1 | 2 | 0.1500 | 0.1000 | 0.2000 | 1/2 | 20.0 | 4.00 |"), "{md}");
    let csv = std::fs::read_to_string(out.join("compare.csv")).unwrap();
    let row: Vec<&str> = csv.lines().nth(2).unwrap().split(',').collect();
    assert_eq!(&row[..3], &["w1fe-lp", "3", "1"], "{csv}");
    let nums: Vec<f64> = row[3..].iter().map(|v| v.parse().unwrap()).collect();
    assert!(close(&nums, &[0.12, 0.12, 0.12, 0.15, 1.0, 10.0, 3.0, 20.0, 6.0]), "{csv}");
    let img = image::open(out.join("compare_epoch.png")).unwrap().to_rgb8();
    // Band of palette 0 (31,119,180) at 25 % over white (199,221,237), and its mean line.
    let band = img.pixels().filter(|p| p.0 == [199, 221, 237]).count();
    let line = img.pixels().filter(|p| p.0 == [31, 119, 180]).count();
    assert!(band > 2000 && line > 200, "band {band} line {line}");
    assert!(std::fs::read_to_string(out.join("compare_seconds.svg")).unwrap().contains("w1fe-lp K=3 (1 runs)"));
    // Nothing to compare: an error naming the path.
    let e = load_runs(&[root.join("cmp")]).unwrap_err().to_string();
    assert!(e.contains("cmp"), "{e}");
}

#[test]
fn seeds_parse_and_the_sweep_grid_names_its_run_directories() {
    assert_eq!(parse_seeds("0..5").unwrap(), vec![0, 1, 2, 3, 4]);
    assert_eq!(parse_seeds("2..=3").unwrap(), vec![2, 3]);
    assert_eq!(parse_seeds("7,1").unwrap(), vec![7, 1]);
    for bad in ["3..3", "a..2", "1,1", ""] {
        assert!(parse_seeds(bad).unwrap_err().to_string().contains("`seeds`"), "{bad}");
    }
    let base = small("w1fe-lp", 0);
    let out = PathBuf::from("runs/s");
    let sweep = Sweep::plan(&out, &base, &["w1fe-lp".into(), "wgan-gp".into()], &[1, 3], &[0, 1, 2]).unwrap();
    assert_eq!(sweep.runs.len(), 12);
    let r = &sweep.runs[4];
    assert_eq!(r.dir, PathBuf::from("runs/s/w1fe-lp/k3/seed1"));
    assert_eq!((r.cfg.step.k(), r.cfg.train.seed, r.labels.k), (3, 1, 3));
    assert_eq!(sweep.runs[11].dir, PathBuf::from("runs/s/wgan-gp/k3/seed2"));
    let e = Sweep::plan(&out, &base, &["w3gan".into()], &[1], &[0]).unwrap_err().to_string();
    assert!(e.contains("`methods`"), "{e}");
    assert!(Sweep::plan(&out, &base, &[], &[1, 1], &[0]).unwrap_err().to_string().contains("`ks`"));
}

#[test]
fn slurm_script_runs_one_resumable_directory_per_array_task_on_one_gpu() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("sweep");
    let sweep = Sweep::plan(&out, &small("w1fe-lp", 0), &[], &[1, 3, 5, 10], &[0, 1, 2, 3, 4]).unwrap();
    let opts = SlurmOptions {
        checkpoint_every: 25,
        job_name: "wg".into(),
        gpus: 1,
        ..SlurmOptions::new("/opt/wgflow/bin/wgflow")
    };
    let s = slurm_script(&sweep, &opts).unwrap();
    let lines: Vec<&str> = s.lines().collect();
    assert_eq!(lines[0], "#!/bin/bash");
    assert!(lines.contains(&"#SBATCH --array=0-19"), "{s}");
    assert!(lines.contains(&"#SBATCH --gres=gpu:1"));
    assert!(lines.contains(&"#SBATCH --signal=B:USR1@120"));
    assert!(lines.contains(&"#SBATCH --job-name=wg"));
    assert!(lines.contains(&"WGFLOW=${WGFLOW:-'/opt/wgflow/bin/wgflow'}"));
    // The array lists the 20 directories in grid order, absolute; task i runs the i-th.
    let start = lines.iter().position(|l| *l == "RUNS=(").unwrap();
    let dirs: Vec<&str> = lines[start + 1..start + 21].iter().map(|l| l.trim()).collect();
    assert_eq!(lines[start + 21], ")");
    for (i, r) in sweep.runs.iter().enumerate() {
        assert_eq!(dirs[i], format!("'{}'", std::path::absolute(&r.dir).unwrap().display()));
    }
    assert!(dirs[0].ends_with("/k1/seed0'") && dirs[19].ends_with("/k10/seed4'"));
    assert!(lines.contains(&"DIR=\"${RUNS[$SLURM_ARRAY_TASK_ID]}\""));
    assert!(lines.contains(
        &"\"$WGFLOW\" run --resume \"$DIR\" --device cuda:0 --quiet --on-divergence continue --checkpoint-every 25 &"
    ));
    assert_eq!(*lines.last().unwrap(), "exit \"$status\"");
    // The script is valid bash.
    let check = std::process::Command::new("bash").arg("-n").arg("-c").arg(&s).status().unwrap();
    assert!(check.success());

    // The defaults: a CPU partition (no GPU resource, --device cpu).
    let cpu = slurm_script(&sweep, &SlurmOptions::new("/opt/wgflow/bin/wgflow")).unwrap();
    assert!(!cpu.contains("--gres"), "{cpu}");
    assert!(cpu.contains("--device cpu --quiet"), "{cpu}");
    // The signal must come before the time limit; a run uses one GPU.
    let late = SlurmOptions { time: Some("2:00".into()), signal_before: 120, ..SlurmOptions::new("wgflow") };
    assert!(slurm_script(&sweep, &late).unwrap_err().to_string().contains("`signal_before`"));
    let two = SlurmOptions { gpus: 2, ..SlurmOptions::new("wgflow") };
    assert!(slurm_script(&sweep, &two).unwrap_err().to_string().contains("`gpus`"));
}

#[test]
fn slurm_time_limits_parse_in_every_format_slurm_takes() {
    use wgflow::runs::slurm::parse_time_limit;
    for (s, secs) in [
        ("1", 60),
        ("90", 5400),
        ("1:30", 90),
        ("2:00:00", 7200),
        ("1-0", 86400),
        ("1-2", 93600),
        ("1-2:03", 93780),
        ("1-2:03:04", 93784),
    ] {
        assert_eq!(parse_time_limit(s).unwrap(), Some(secs), "{s}");
    }
    assert_eq!(parse_time_limit("UNLIMITED").unwrap(), None);
    assert_eq!(parse_time_limit("infinite").unwrap(), None);
    assert_eq!(parse_time_limit("0").unwrap(), None);
    for bad in ["", "1:2:3:4", "-1", "1-", "1h", "1-2:3:4:5", "1.5"] {
        assert!(parse_time_limit(bad).unwrap_err().to_string().contains("`time`"), "{bad}");
    }
}

#[test]
fn resume_is_exact_with_data_set_batches_too() {
    use wgflow::data::{Batches, DataSpec, Dataset, Distribution, NormalSpec, Sampler};
    // Batches keep their own ChaCha8 stream and order: the checkpoint carries them.
    let data = Tensor::arange(50, (tch::Kind::Float, Device::Cpu)).view([50, 1]);
    let mut a = Batches::new(&data, 3, false).unwrap();
    for _ in 0..7 {
        let _ = a.sample(16, Device::Cpu).unwrap();
    }
    let mut b = Batches::new(&data, 3, false).unwrap();
    b.load_state(&a.state()).unwrap();
    for _ in 0..5 {
        assert!(a.sample(16, Device::Cpu).unwrap().equal(&b.sample(16, Device::Cpu).unwrap()));
    }
    assert!(b.load_state(&[0, 0, 0]).is_err());

    let _rng = rng_lock();
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("data");
    wgflow::data::synthetic::write_shifted_digit_domains(&root, 120, 10, 5).unwrap();
    let mut cfg = small("w1fe-lp", 4);
    cfg.source = Distribution::Normal(NormalSpec { normal: vec![256], std: 1.0 });
    cfg.target = Distribution::Data(DataSpec {
        flatten: true,
        dir: Some(root),
        download: false,
        ..DataSpec::new(Dataset::Usps)
    });
    let g = cfg.generator.as_mlp_mut().unwrap();
    (g.in_dim, g.out_dim) = (256, 256);
    cfg.critic.net_mut().as_mlp_mut().unwrap().in_dim = 256;
    cfg.validate().unwrap();
    let full = tmp.path().join("full");
    create_dir(&full, &cfg, None).unwrap();
    let opts = CheckpointPolicy::every(100);
    train_dir(&full, Device::Cpu, opts, &mut []).unwrap();
    let resumed = tmp.path().join("resumed");
    interrupted_at(&resumed, &cfg, 3);
    let state = checkpoint_tensors(&resumed);
    let target_state = &state.iter().find(|c| c.0 == "sampler/target").unwrap().1;
    // Length, then the USPS batches' stream position (2), pass position, passes and order (120).
    assert_eq!(target_state.size(), vec![1 + 4 + 120]);
    train_dir(&resumed, Device::Cpu, opts, &mut []).unwrap();
    assert_eq!(history_bits(&full), history_bits(&resumed));
}

#[test]
fn resume_is_exact_for_dcgan_networks() {
    // DCGAN generator (batch norm, transposed convolutions) and critic, on
    // 3×8×8 samples; W1-FE (Euler targets on images) and RWP (the frozen
    // previous generator, with its batch-norm buffers).
    use wgflow::data::{Distribution, NormalSpec};
    use wgflow::nets::DcganConfig;
    let _rng = rng_lock();
    let tmp = tempfile::tempdir().unwrap();
    for method in ["w1fe-gp", "rwp-wgan-gp"] {
        let mut cfg = small(method, 3);
        let net = DcganConfig { latent: 8, width: 4, channels: 3, image_size: 8 };
        cfg.source = Distribution::Normal(NormalSpec { normal: vec![8], std: 1.0 });
        cfg.target = Distribution::Normal(NormalSpec { normal: vec![3, 8, 8], std: 0.5 });
        cfg.generator = net.clone().into();
        *cfg.critic.net_mut() = net.into();
        cfg.validate().unwrap();
        let full = tmp.path().join(format!("{method}-full"));
        create_dir(&full, &cfg, None).unwrap();
        let opts = CheckpointPolicy::every(100);
        train_dir(&full, Device::Cpu, opts, &mut []).unwrap();
        let resumed = tmp.path().join(format!("{method}-resumed"));
        interrupted_at(&resumed, &cfg, 3);
        train_dir(&resumed, Device::Cpu, opts, &mut []).unwrap();
        let (a, b) = (history_bits(&full), history_bits(&resumed));
        assert_eq!(a.len(), 4, "{method}");
        assert_eq!(a, b, "{method}");
        let (ca, cb) = (checkpoint_tensors(&full), checkpoint_tensors(&resumed));
        let names: Vec<&str> = ca.iter().map(|c| c.0.as_str()).collect();
        // The batch-norm running statistics travel with the checkpoint.
        assert!(names.iter().any(|n| n.contains("running_mean")), "{names:?}");
        for ((name, x), (_, y)) in ca.iter().zip(&cb) {
            if name != "train_seconds" && name != "history" {
                assert!(x.equal(y), "{method}: `{name}` differs");
            }
        }
        // The generated images moved: W2 between generated and target samples changed.
        assert_ne!(a[0][5], a[3][5]);
    }
}
