//! Training-loop speed against PyTorch eager: the same algorithm, the same
//! hyper-parameters and the same thread count, on one machine in one run.
//!
//! ```text
//! cargo bench --bench train              # all three
//! cargo bench --bench train -- w1fe-2d   # 2D W1-FE-LP epoch (000 §5), goal ≥ 2× on CPU
//! cargo bench --bench train -- da        # USPS-sized domain-adaptation epoch, goal ≥ 2× on CPU
//! cargo bench --bench train -- dcgan-rwp # DCGAN CIFAR-sized WGAN-GP + RWP step (002 App. C), goal ≥ 1× on GPU
//! ```
//!
//! The reference is `benches/reference/train.py` (read its docstring for
//! the exact loops), run by `WGFLOW_PYTHON` (default `.venv/bin/python`) as a
//! server: the two sides alternate repetitions, so both see the same load;
//! times are medians. `WGFLOW_BENCH_THREADS` sets the thread count of both
//! sides (default: all cores), `WGFLOW_DEVICE` the device (`cpu`, `cuda`;
//! default CUDA when present), `WGFLOW_BENCH_REPS` the repetitions (default 7,
//! 3 for the DCGAN step on a CPU). Each benchmark prints a human-readable
//! block and one `BENCH {json}` line that `benches/report.py` collects into
//! `BENCHMARKS.md`.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::time::Instant;
use tch::{nn, Device, Kind, Tensor};
use wgflow::config::RunConfig;
use wgflow::critic::w1::{w1_critic_loss, Constraint, PhiEval};
use wgflow::critic::{Critic, CriticConfig};
use wgflow::flow::{euler, proximal, StepConfig};
use wgflow::nets::{Activation, DcganConfig, DcganCritic, DcganGenerator, Init, Mlp, MlpConfig};
use wgflow::optim::{Adam, AdamConfig};
use wgflow::train::Trainer;

fn python() -> PathBuf {
    std::env::var_os("WGFLOW_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv/bin/python"))
}

fn env_usize(name: &str) -> Option<usize> {
    std::env::var(name).ok().and_then(|v| v.parse().ok())
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// `benches/reference/train.py BENCH THREADS DEVICE`, serving timings.
struct Reference {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
}

impl Reference {
    fn spawn(bench: &str, threads: i64, device: &str) -> Reference {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/reference/train.py");
        let mut child = Command::new(python())
            .arg(&script)
            .args([bench, &threads.to_string(), device])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run {}: {e} (set WGFLOW_PYTHON)", python().display()));
        let stdin = child.stdin.take().unwrap();
        let mut r = Reference { stdout: BufReader::new(child.stdout.take().unwrap()), stdin, child };
        assert_eq!(r.line(), "ready", "{} did not start", script.display());
        r
    }

    fn line(&mut self) -> String {
        let mut s = String::new();
        self.stdout.read_line(&mut s).unwrap();
        if s.is_empty() {
            panic!("the reference exited: {:?}", self.child.wait());
        }
        s.trim().to_string()
    }

    /// Seconds for `n` epochs.
    fn time(&mut self, n: usize) -> f64 {
        writeln!(self.stdin, "{n}").unwrap();
        self.stdin.flush().unwrap();
        let l = self.line();
        l.parse().unwrap_or_else(|_| panic!("reference printed {l:?}"))
    }
}

impl Drop for Reference {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn sync(device: Device) {
    if let Device::Cuda(i) = device {
        tch::Cuda::synchronize(i as i64);
    }
}

struct Spec<'a> {
    bench: &'a str,
    title: &'a str,
    goal: f64,
    /// The device the goal is stated for (`None`: any).
    goal_device: Option<&'a str>,
    epochs_per_rep: usize,
    reps: usize,
    note: &'a str,
}

/// Alternates reference and wgflow repetitions of `epochs_per_rep` epochs;
/// prints the medians per epoch and the ratio.
fn compare(spec: Spec, threads: i64, device: Device, mut epoch: impl FnMut() -> Tensor) {
    let dev = if device.is_cuda() { "cuda" } else { "cpu" };
    let mut reference = Reference::spawn(spec.bench, threads, dev);
    let warm = match (spec.bench, device.is_cuda()) {
        ("dcgan-rwp", false) => 1,
        ("dcgan-rwp", true) => 3,
        _ => 20,
    };
    for _ in 0..warm {
        let _ = epoch();
    }
    sync(device);
    let n = env_usize("WGFLOW_BENCH_EPOCHS").unwrap_or(spec.epochs_per_rep).max(1);
    let (mut theirs, mut ours) = (Vec::new(), Vec::new());
    let mut last = f64::NAN;
    for _ in 0..spec.reps {
        theirs.push(reference.time(n) / n as f64);
        sync(device);
        let t = Instant::now();
        let mut l = Tensor::from(0.0);
        for _ in 0..n {
            l = epoch();
        }
        last = l.double_value(&[]);
        sync(device);
        ours.push(t.elapsed().as_secs_f64() / n as f64);
    }
    assert!(last.is_finite(), "{}: the last loss is {last}", spec.bench);
    let (r, o) = (median(theirs), median(ours));
    println!("{} on {dev}, {threads} threads (median of {} × {n} epochs, alternating):", spec.title, spec.reps);
    println!("  PyTorch eager  {:10.3} ms / epoch", r * 1e3);
    println!("  wgflow         {:10.3} ms / epoch", o * 1e3);
    println!("  ratio reference / wgflow = {:.2}× (goal ≥ {}×)", r / o, spec.goal);
    let line = serde_json::json!({
        "bench": spec.bench,
        "name": spec.title,
        "reference": format!("PyTorch eager ({})", "benches/reference/train.py"),
        "ref_s": r,
        "wgflow_s": o,
        "ratio": r / o,
        "goal": spec.goal,
        "goal_device": spec.goal_device,
        "device": dev,
        "threads": threads,
        "unit": "s per epoch",
        "note": spec.note,
    });
    println!("BENCH {line}");
}

fn adam(lr: f64, beta1: f64, beta2: f64) -> AdamConfig {
    AdamConfig { lr, beta1, beta2, eps: 1e-8, weight_decay: 0.0 }
}

/// 000 §5 / Algorithm 1 through the library's trainer: `RunConfig::default()`
/// (W1-LP λ = 10, batch 512, 10 critic steps, 3×128 MLPs, Adam 1e-4) with
/// K = 3.
fn bench_w1fe_2d(threads: i64, device: Device, reps: usize) {
    // Evaluated once, before training (the first step): the benchmark times epochs.
    let cfg = RunConfig { step: StepConfig::euler(1.0, 3), ..RunConfig::default() };
    let mut trainer = Trainer::new(cfg.epochs(1_000_000_000).eval_every(1_000_000_000), device).unwrap();
    trainer.step().unwrap();
    let spec = Spec {
        bench: "w1fe-2d",
        title: "2D W1-FE-LP epoch (10 critic steps, LP λ=10, ε=1, K=3, batch 512, 3×128 MLPs, Adam)",
        goal: if device.is_cuda() { 3.0 } else { 2.0 },
        goal_device: None,
        epochs_per_rep: 10,
        reps,
        note: "wgflow::train::Trainer with RunConfig::default() and K=3",
    };
    compare(spec, threads, device, || {
        trainer.step().unwrap();
        Tensor::from(0.0)
    });
}

/// W1-FE-LP with the library's pieces (critic, Euler step, Adam) on fixed
/// pools of points; the loop of `Trainer::step` on image-sized data.
struct W1fe {
    critic: Critic,
    gen: Mlp,
    opt_d: Adam,
    opt_g: Adam,
    source: Tensor,
    target: Tensor,
    batch: i64,
    critic_iters: usize,
    k: usize,
    eps: f64,
    _vs: (nn::VarStore, nn::VarStore),
}

impl W1fe {
    fn draw(pool: &Tensor, n: i64) -> Tensor {
        let idx = Tensor::randint(pool.size()[0], [n], (Kind::Int64, pool.device()));
        pool.index_select(0, &idx)
    }

    fn epoch(&mut self) -> Tensor {
        for _ in 0..self.critic_iters {
            let x = Self::draw(&self.target, self.batch);
            let z = Self::draw(&self.source, self.batch);
            let y = tch::no_grad(|| self.gen.forward_t(&z, true));
            self.opt_d.zero_grad();
            let l = self.critic.loss(&x, &y).unwrap();
            l.loss.backward();
            self.opt_d.step().unwrap();
        }
        let z = Self::draw(&self.source, self.batch);
        let y = tch::no_grad(|| self.gen.forward_t(&z, true));
        let critic = &self.critic;
        let targets = euler::euler_targets(&|t: &Tensor| critic.generator_potential(t), &y, self.eps).unwrap();
        let gen = &self.gen;
        euler::persistent_fit(&|t: &Tensor| gen.forward_t(t, true), &mut self.opt_g, &z, &targets, self.k).unwrap()
    }
}

/// 000 §5 USPS → MNIST (W1-FE-LP, K = 3, 5 critic steps, batch 64, γ = 1e-4,
/// ε = 1) with the networks of 004 App. 8.9.3 and the authors' Adam
/// β = (0, 0.9); random 256-d points in [−1, 1] stand in for the images.
fn bench_da(threads: i64, device: Device, reps: usize) {
    tch::manual_seed(0);
    let (gvs, dvs) = (nn::VarStore::new(device), nn::VarStore::new(device));
    // 004 App. 8.9.3: FC(256→200)-BN-ReLU-FC(200→500)-BN-ReLU-FC(500→256)-tanh, G(z) = z + 2·H(z).
    let g_cfg = MlpConfig {
        in_dim: 256,
        out_dim: 256,
        hidden: vec![200, 500],
        activation: Activation::Relu,
        batch_norm: true,
        residual: true,
        tanh_scale: Some(2.0),
        init: Init::Torch,
    };
    // FC(256→200)-ReLU-FC(200→500)-ReLU-FC(500→1).
    let d_cfg = MlpConfig { out_dim: 1, batch_norm: false, residual: false, tanh_scale: None, ..g_cfg.clone() };
    let critic_cfg = CriticConfig::W1 { net: d_cfg.into(), constraint: Constraint::Lp { lambda: 10.0 } };
    let critic = Critic::new(&(dvs.root() / "critic"), &critic_cfg).unwrap();
    let gen = Mlp::new(&(gvs.root() / "generator"), &g_cfg).unwrap();
    let opt_d = Adam::new(dvs.trainable_variables(), adam(1e-4, 0.0, 0.9)).unwrap();
    let opt_g = Adam::new(gvs.trainable_variables(), adam(1e-4, 0.0, 0.9)).unwrap();
    let source = Tensor::rand([7291, 256], (Kind::Float, device)) * 2.0 - 1.0;
    let target = Tensor::rand([10000, 256], (Kind::Float, device)) * 2.0 - 1.0;
    let mut run =
        W1fe { critic, gen, opt_d, opt_g, source, target, batch: 64, critic_iters: 5, k: 3, eps: 1.0, _vs: (gvs, dvs) };
    let spec = Spec {
        bench: "da",
        title: "USPS-sized domain-adaptation epoch (W1-FE-LP, 5 critic steps, K=3, batch 64, critic 256-200-500-1, generator 256-200-500-256 + BN)",
        goal: 2.0,
        goal_device: Some("cpu"),
        epochs_per_rep: 20,
        reps,
        note: "random 256-d data in [-1, 1] (7291 source, 10000 target points) instead of the images",
    };
    compare(spec, threads, device, || run.epoch());
}

/// 002 App. C, CIFAR-10 WGAN-GP + RWP: 5 critic steps with the gradient
/// penalty (λ = 10), then ℓ = 10 generator steps with the proximal term
/// (h = 0.1) against the generator as it was before them; batch 64, latent
/// 128, Adam(1e-4, β = (0.5, 0.9)); DCGAN networks; random images.
fn bench_dcgan(threads: i64, device: Device, reps: usize) {
    tch::manual_seed(0);
    let cfg = DcganConfig::default();
    let (gvs, dvs, mut pvs) = (nn::VarStore::new(device), nn::VarStore::new(device), nn::VarStore::new(device));
    let gen = DcganGenerator::new(&(gvs.root() / "g"), &cfg).unwrap();
    let prev = DcganGenerator::new(&(pvs.root() / "g"), &cfg).unwrap();
    pvs.freeze();
    let critic = DcganCritic::new(&dvs.root(), &cfg).unwrap();
    let mut opt_d = Adam::new(dvs.trainable_variables(), adam(1e-4, 0.5, 0.9)).unwrap();
    let mut opt_g = Adam::new(gvs.trainable_variables(), adam(1e-4, 0.5, 0.9)).unwrap();
    let data = Tensor::rand([1024, 3, 32, 32], (Kind::Float, device)) * 2.0 - 1.0;
    let (n, h, ell) = (64i64, 0.1, 10);
    let phi = |t: &Tensor| critic.forward_t(t, true).squeeze_dim(-1);
    let spec = Spec {
        bench: "dcgan-rwp",
        title: "DCGAN CIFAR-sized WGAN-GP + RWP outer step (5 critic steps with GP λ=10, ℓ=10 generator steps, h=0.1, batch 64)",
        goal: 1.0,
        goal_device: Some("cuda"),
        epochs_per_rep: 1,
        reps,
        note: "random 32×32×3 images in [-1, 1]; DCGAN width 64 (src/nets/dcgan.rs)",
    };
    compare(spec, threads, device, || {
        for _ in 0..5 {
            let idx = Tensor::randint(1024, [n], (Kind::Int64, device));
            let x = data.index_select(0, &idx);
            let y = tch::no_grad(|| gen.forward_t(&Tensor::randn([n, cfg.latent], (Kind::Float, device)), true));
            opt_d.zero_grad();
            let l = w1_critic_loss(&phi, &x, &y, Constraint::Gp { lambda: 10.0 }, PhiEval::Separate).unwrap();
            l.loss.backward();
            opt_d.step().unwrap();
        }
        pvs.copy(&gvs).unwrap();
        let mut last = Tensor::from(0.0);
        for _ in 0..ell {
            let z = Tensor::randn([n, cfg.latent], (Kind::Float, device));
            let before = tch::no_grad(|| prev.forward_t(&z, true));
            opt_g.zero_grad();
            let loss = proximal::rwp_loss(&phi, &gen.forward_t(&z, true), &before, h).unwrap();
            loss.backward();
            opt_g.step().unwrap();
            last = loss.detach();
        }
        last
    });
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with("--")).collect();
    let want = |name: &str| args.is_empty() || args.iter().any(|a| a == name);
    let device = wgflow::device::choose_device(None).unwrap_or_else(|e| {
        eprintln!("{e}");
        std::process::exit(2)
    });
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    let threads = env_usize("WGFLOW_BENCH_THREADS").unwrap_or(cores) as i64;
    tch::set_num_threads(threads as i32);
    let reps = env_usize("WGFLOW_BENCH_REPS").unwrap_or(7).max(1);
    if want("w1fe-2d") {
        bench_w1fe_2d(threads, device, reps);
    }
    if want("da") {
        bench_da(threads, device, reps);
    }
    if want("dcgan-rwp") {
        let reps = if device.is_cuda() { reps } else { env_usize("WGFLOW_BENCH_REPS").unwrap_or(3).max(1) };
        bench_dcgan(threads, device, reps);
    }
}
