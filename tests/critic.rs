//! The W1 critic's penalties and loss against closed forms on a linear critic.

mod common;
use common::rng_lock;

use tch::{Device, Kind, Tensor};
use wgflow::critic::w1::{clip_weights, interpolates, lipschitz_penalty, w1_critic_loss, PhiEval};
use wgflow::critic::Constraint;

fn linear(w: [f64; 2], b: f64) -> impl Fn(&Tensor) -> Tensor {
    let wt = Tensor::from_slice(&w);
    move |x: &Tensor| x.matmul(&wt) + b
}

fn sample(n: i64, seed: i64) -> Tensor {
    tch::manual_seed(seed);
    Tensor::randn([n, 2], (Kind::Double, Device::Cpu))
}

#[test]
fn gp_and_lp_on_a_linear_critic_have_closed_forms() {
    let _rng = rng_lock();
    let x = sample(64, 1);
    // |w| = 2: both penalties are λ(2 − 1)² = λ.
    let phi = linear([1.2, -1.6], 0.3);
    for (lambda, one_sided) in [(10.0, false), (10.0, true), (3.0, false)] {
        let p = lipschitz_penalty(&phi, &x, lambda, one_sided).unwrap().double_value(&[]);
        assert!((p - lambda).abs() < 1e-10, "λ={lambda} one_sided={one_sided}: {p}");
    }
    // |w| = 0.5: GP = λ·0.25, LP = 0 (one-sided: slopes below 1 are free).
    let phi = linear([0.3, 0.4], -1.0);
    let gp = lipschitz_penalty(&phi, &x, 10.0, false).unwrap().double_value(&[]);
    let lp = lipschitz_penalty(&phi, &x, 10.0, true).unwrap().double_value(&[]);
    assert!((gp - 2.5).abs() < 1e-10, "{gp}");
    assert_eq!(lp, 0.0);
}

#[test]
fn penalty_is_differentiable_in_the_critic_parameters() {
    let _rng = rng_lock();
    // φ(x) = w·x with w a leaf: d/dw λ(|w| − 1)² = 2λ(|w| − 1) w/|w|.
    let w = Tensor::from_slice(&[3.0f64, 4.0]).set_requires_grad(true);
    let phi = |x: &Tensor| x.matmul(&w);
    let p = lipschitz_penalty(&phi, &sample(8, 2), 2.0, false).unwrap();
    p.backward();
    let g = Vec::<f64>::try_from(&w.grad()).unwrap();
    // |w| = 5: 2·2·4·(3/5, 4/5) = (9.6, 12.8).
    assert!((g[0] - 9.6).abs() < 1e-9 && (g[1] - 12.8).abs() < 1e-9, "{g:?}");
}

#[test]
fn critic_loss_is_dual_gap_plus_penalty() {
    let _rng = rng_lock();
    let x = sample(100, 3);
    let y = sample(100, 4) + 2.0;
    let w = [0.6, 0.8];
    let phi = linear(w, 0.0);
    let mean = |t: &Tensor| Vec::<f64>::try_from(&t.mean_dim(0, false, None::<Kind>)).unwrap();
    let (mx, my) = (mean(&x), mean(&y));
    let est = w[0] * (my[0] - mx[0]) + w[1] * (my[1] - mx[1]);
    // |w| = 1: GP and LP vanish, the loss is minus the estimate.
    for c in [Constraint::Gp { lambda: 10.0 }, Constraint::Lp { lambda: 10.0 }, Constraint::Clip { c: 0.01 }] {
        let l = w1_critic_loss(&phi, &x, &y, c, PhiEval::Separate).unwrap();
        assert!((l.estimate.double_value(&[]) - est).abs() < 1e-12);
        assert!(l.penalty.double_value(&[]).abs() < 1e-12);
        assert!((l.loss.double_value(&[]) + est).abs() < 1e-12);
    }
    // Sign convention: φ increasing towards the generated samples gives a
    // positive W1 estimate.
    assert!(est > 2.0);
}

#[test]
fn interpolates_lie_on_segments() {
    let _rng = rng_lock();
    let x = sample(50, 5);
    let y = sample(50, 6);
    let p = interpolates(&x, &y).unwrap();
    // p − y = t (x − y) with t ∈ [0, 1] per row.
    let a = Vec::<f64>::try_from(&(&p - &y).view([-1])).unwrap();
    let b = Vec::<f64>::try_from(&(&x - &y).view([-1])).unwrap();
    for i in 0..50 {
        let t0 = a[2 * i] / b[2 * i];
        let t1 = a[2 * i + 1] / b[2 * i + 1];
        assert!((t0 - t1).abs() < 1e-9 && (-1e-12..=1.0 + 1e-12).contains(&t0), "row {i}: {t0} {t1}");
    }
    assert!(interpolates(&x, &sample(3, 1)).is_err());
}

#[test]
fn clipping_clamps_weights() {
    let _rng = rng_lock();
    let w = Tensor::from_slice(&[-0.5f64, -0.005, 0.0, 0.009, 0.2]).set_requires_grad(true);
    clip_weights(std::slice::from_ref(&w), 0.01);
    assert_eq!(Vec::<f64>::try_from(&w.detach()).unwrap(), vec![-0.01, -0.005, 0.0, 0.009, 0.01]);
}

#[test]
fn constraint_validation_names_the_field() {
    let _rng = rng_lock();
    let e = Constraint::Gp { lambda: -1.0 }.validate("critic.constraint").unwrap_err().to_string();
    assert!(e.contains("critic.constraint.lambda"), "{e}");
    let e = Constraint::Clip { c: 0.0 }.validate("critic.constraint").unwrap_err().to_string();
    assert!(e.contains("critic.constraint.c"), "{e}");
    assert!(Constraint::from_name("xx").is_err());
}

#[test]
fn stacked_critic_loss_equals_the_two_pass_loss() {
    // A two-layer ReLU φ; the stacked evaluation must give the same loss and
    // the same parameter gradients as evaluating φ(x) and φ(y) separately.
    let _rng = rng_lock();
    tch::manual_seed(7);
    let w1 = Tensor::randn([5, 2], (Kind::Double, Device::Cpu)).set_requires_grad(true);
    let w2 = Tensor::randn([5], (Kind::Double, Device::Cpu)).set_requires_grad(true);
    let phi = |t: &Tensor| t.matmul(&w1.tr()).clamp_min(0.0).matmul(&w2);
    let (x, y) = (sample(64, 2), sample(64, 5) * 3.0 + 1.0);
    for c in [Constraint::Lp { lambda: 10.0 }, Constraint::Gp { lambda: 10.0 }, Constraint::Clip { c: 0.01 }] {
        let mut out = vec![];
        for stacked in [false, true] {
            tch::manual_seed(3); // the same interpolates
            let l = w1_critic_loss(&phi, &x, &y, c, if stacked { PhiEval::Stacked } else { PhiEval::Separate });
            let l = l.unwrap();
            let g = Tensor::run_backward(&[&l.loss], &[&w1, &w2], false, false);
            out.push((l.loss.double_value(&[]), g));
        }
        assert!((out[0].0 - out[1].0).abs() < 1e-12, "{c:?}: {} vs {}", out[0].0, out[1].0);
        for (a, b) in out[0].1.iter().zip(&out[1].1) {
            assert!((a - b).abs().max().double_value(&[]) < 1e-12, "{c:?}: gradients differ");
        }
    }
}
