//! The crate's Adam against torch.optim.Adam's formula, step by step.

use tch::{Device, Kind, Tensor};
use wgflow::optim::{Adam, AdamConfig};

/// Reference Adam in plain f64 (torch.optim.Adam, amsgrad = False).
fn reference(p0: f64, grad: impl Fn(f64) -> f64, cfg: AdamConfig, steps: usize) -> Vec<f64> {
    let (mut p, mut m, mut v) = (p0, 0.0, 0.0);
    let mut out = vec![];
    for t in 1..=steps as i32 {
        let g = grad(p) + cfg.weight_decay * p;
        m = cfg.beta1 * m + (1.0 - cfg.beta1) * g;
        v = cfg.beta2 * v + (1.0 - cfg.beta2) * g * g;
        let bc1 = 1.0 - cfg.beta1.powi(t);
        let bc2 = 1.0 - cfg.beta2.powi(t);
        p -= cfg.lr / bc1 * m / (v.sqrt() / bc2.sqrt() + cfg.eps);
        out.push(p);
    }
    out
}

#[test]
fn adam_follows_the_torch_formula() {
    for cfg in [
        AdamConfig { lr: 0.1, ..AdamConfig::default() },
        AdamConfig { lr: 1e-2, beta1: 0.5, beta2: 0.9, eps: 1e-6, weight_decay: 0.1 },
        AdamConfig { lr: 1e-3, beta1: 0.0, beta2: 0.9, ..AdamConfig::default() },
    ] {
        // f(p) = p⁴/4 + p, gradient p³ + 1; a second, untouched parameter.
        let p = Tensor::from_slice(&[1.5f64]).set_requires_grad(true);
        let idle = Tensor::from_slice(&[2.0f64]).set_requires_grad(true);
        let mut opt = Adam::new(vec![p.shallow_clone(), idle.shallow_clone()], cfg).unwrap();
        let want = reference(1.5, |x| x * x * x + 1.0, cfg, 25);
        for (i, w) in want.iter().enumerate() {
            opt.zero_grad();
            (p.pow_tensor_scalar(4) / 4.0 + &p).sum(Kind::Double).backward();
            opt.step().unwrap();
            let got = p.double_value(&[0]);
            assert!((got - w).abs() < 1e-12, "{cfg:?} step {}: {got} vs {w}", i + 1);
        }
        assert_eq!(idle.double_value(&[0]), 2.0, "a parameter without gradient must not move");
        assert_eq!(opt.steps(), 25);
    }
}

#[test]
fn bad_hyper_parameters_are_named() {
    let e = Adam::new(vec![], AdamConfig { lr: 0.0, ..AdamConfig::default() }).unwrap_err().to_string();
    assert!(e.contains("lr"), "{e}");
    let e = AdamConfig { beta2: 1.0, ..AdamConfig::default() }.validate("train.critic_opt").unwrap_err().to_string();
    assert!(e.contains("train.critic_opt.beta2"), "{e}");
    let _ = Tensor::zeros([1], (Kind::Float, Device::Cpu));
}
