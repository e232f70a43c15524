//! The W2 flow taken apart (issue "Faithful flows"): the exact discrete flow
//! decays as (1 − ε)^n, and each learned piece is measured against it.

mod common;
use common::rng_lock;

use tch::{Device, Kind, Tensor};
use wgflow::experiments::w2_parts::{Part, W2PartsExperiment};
use wgflow::experiments::{DriverOptions, Experiment};
use wgflow::flow::barycentric::exact_w2_flow;

#[test]
fn the_exact_flow_decays_as_one_minus_eps_to_the_n() {
    let _rng = rng_lock();
    tch::manual_seed(3);
    let y0 = Tensor::randn([300, 2], (Kind::Double, Device::Cpu));
    let x = Tensor::randn([300, 2], (Kind::Double, Device::Cpu)) * 0.3 + 2.0;
    for eps in [0.05, 0.2, 0.5] {
        let (t, w2) = exact_w2_flow(&y0, &x, eps, 30).unwrap();
        assert_eq!(t.len(), 31);
        for (n, w) in w2.iter().enumerate() {
            let expected = w2[0] * (1.0 - eps).powi(n as i32);
            assert!(((w - expected) / expected).abs() < 1e-6, "ε {eps}, n {n}: {w} against {expected}");
        }
    }
}

#[test]
fn each_piece_of_w2fe_is_measured_against_the_exact_flow() {
    let _rng = rng_lock();
    let out = tempfile::tempdir().unwrap();
    let exp = W2PartsExperiment::new()
        .problems(&["ring"])
        .ks(vec![1, 10])
        .lambdas(vec![20.0, 2000.0])
        .lrs(vec![1e-3])
        .epochs(8)
        .batch_size(256)
        .configure(|b| b.train.eval_size = 256);
    let s = wgflow::experiments::run(&exp, out.path(), &DriverOptions::on(Device::Cpu).quiet()).unwrap();
    eprintln!("{}", s.table());
    let curve = |p: Part| s.curve("ring", &p).unwrap_or_else(|| panic!("no curve {p:?}"));
    // (A): every ratio is 1 − ε.
    let a = curve(Part::Exact);
    assert_eq!(a.w2.len(), 9);
    assert!(a.ratios().iter().all(|r| (r - 0.8).abs() < 1e-6), "{:?}", a.ratios());
    // Every part starts from the same particles.
    assert!(s.curves.iter().all(|c| (c.w2[0] - a.w2[0]).abs() < 1e-6 && c.w2.len() == 9), "{:?}", s.curves);
    // (C): ten Adam steps leave less of the Euler step undone than one.
    let res = |k| curve(Part::Generator { k, lr: 1e-3 }).median_extra(0.0).unwrap();
    assert!(res(10) < res(1) && res(1) > 0.5 && res(1) <= 1.5, "residuals K=1 {} K=10 {}", res(1), res(10));
    // (B): an alignment per epoch; the exact step is 1.
    let b = curve(Part::Critic { lambda: 20.0 });
    assert_eq!(b.extra.len(), 8);
    assert!(b.extra.iter().all(|v| v.is_finite()), "{:?}", b.extra);
    // Trained on fresh batches, the critic alone moves the particles towards
    // the target, partly along the exact step (measured: W2 to 0.65 of its
    // start in 8 epochs, median alignment 0.21).
    let align = b.median_extra(0.0).unwrap();
    assert!(b.w2[8] / b.w2[0] < 0.8 && align > 0.05 && align < 1.5, "W2 {:?}, alignment {align}", b.w2);
    assert!(curve(Part::Full { k: 10 }).w2.iter().all(|w| w.is_finite()));
    let table = s.table();
    for row in ["| A exact | 0.800 |", "| B critic λ=2000 |", "| C generator K=10 lr=0.001 |", "| full K=1 |"] {
        assert!(table.contains(row), "{row} missing in\n{table}");
    }
    assert!(s.floor("ring") > 0.05 && s.floor("ring") < 0.2, "{}", s.floor("ring"));
    for f in ["parts-ring.png", "parts-ring.svg", "summary.md", "ring/k10/history.csv"] {
        assert!(out.path().join(f).is_file(), "{f}");
    }
}

#[test]
fn a_bad_setting_is_named() {
    let msg = |e: W2PartsExperiment| e.check().unwrap_err().to_string();
    assert!(msg(W2PartsExperiment::new().problems(&["moons"])).contains("problems"));
    assert!(msg(W2PartsExperiment::new().lambdas(vec![0.0])).contains("lambdas"));
    assert!(msg(W2PartsExperiment::new().lrs(vec![f64::NAN])).contains("lrs"));
    let mut e = W2PartsExperiment::new();
    e.eps = 1.0;
    assert!(msg(e).contains("eps"));
}

/// W2 after `epochs` of W2-FE on the ring over its W2 at the start.
fn w2fe_ratio(eps: f64, step: wgflow::flow::StepConfig, epochs: usize) -> f64 {
    use wgflow::config::preset;
    let base = wgflow::experiments::W2DecayExperiment::new().base.epochs(epochs).batch_size(256).eval_size(256);
    let cfg = preset("w2fe", &base).unwrap().step(step).eval_every(epochs);
    let mut t = wgflow::train::Trainer::new(cfg, Device::Cpu).unwrap();
    t.fit(&mut []).unwrap();
    let rows = &t.history().rows;
    eprintln!("ε {eps}: W2 {} → {}", rows[0].w2, rows.last().unwrap().w2);
    rows.last().unwrap().w2 / rows[0].w2
}

#[test]
fn with_a_fit_tolerance_a_larger_eps_moves_the_generator_further() {
    use wgflow::flow::StepConfig;
    let _rng = rng_lock();
    // The papers' fit (K = 1, Adam) is invariant to the scale of its loss:
    // ε = 0.1 and ε = 0.4 train the same generator.
    let (a1, a4) = (w2fe_ratio(0.1, StepConfig::euler(0.1, 1), 5), w2fe_ratio(0.4, StepConfig::euler(0.4, 1), 5));
    assert!((a1 - a4).abs() < 0.01, "fixed K = 1: {a1} and {a4}");
    // Fitted to within 10 % of each Euler step, the larger step goes further.
    let tol = |eps| StepConfig::Euler { eps, k: 300, tol: Some(0.1) };
    let (b1, b4) = (w2fe_ratio(0.1, tol(0.1), 5), w2fe_ratio(0.4, tol(0.4), 5));
    assert!(b4 < b1 - 0.05 && b1 < a1, "with a tolerance: ε = 0.1 {b1}, ε = 0.4 {b4} (fixed K = 1: {a1})");
}
