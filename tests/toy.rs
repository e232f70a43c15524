//! The 2D toy sets: shapes, component balance, spreads, validation, seeding.

mod common;
use common::rng_lock;

use tch::{Device, Kind, Tensor};
use wgflow::data::{SpiralArm, Toy};

fn rows(t: &Tensor) -> Vec<[f64; 2]> {
    let v = Vec::<f64>::try_from(&t.to_kind(Kind::Double).contiguous().view([-1])).unwrap();
    v.chunks_exact(2).map(|c| [c[0], c[1]]).collect()
}

fn nearest(p: [f64; 2], centers: &[[f64; 2]]) -> (usize, f64) {
    centers
        .iter()
        .enumerate()
        .map(|(i, c)| (i, ((p[0] - c[0]).powi(2) + (p[1] - c[1]).powi(2)).sqrt()))
        .fold((0, f64::INFINITY), |a, b| if b.1 < a.1 { b } else { a })
}

#[test]
fn ring_is_balanced_on_the_unit_circle_with_std_01() {
    let _rng = rng_lock();
    tch::manual_seed(0);
    let toy = Toy::ring();
    let t = toy.sample(8000, Device::Cpu).unwrap();
    assert_eq!(t.size(), vec![8000, 2]);
    assert_eq!(t.kind(), Kind::Float);
    let centers = toy.centers().unwrap();
    assert_eq!(centers.len(), 8);
    for c in &centers {
        assert!(((c[0] * c[0] + c[1] * c[1]).sqrt() - 1.0).abs() < 1e-12);
    }
    let mut counts = [0usize; 8];
    let mut sq = 0.0;
    for p in rows(&t) {
        let (i, d) = nearest(p, &centers);
        counts[i] += 1;
        sq += d * d;
    }
    // Modes are 0.77 apart and σ = 0.1: nearly every point lands in its own mode.
    for c in counts {
        assert!((980..=1020).contains(&c), "{counts:?}");
    }
    // E|offset|² = 2σ² = 0.02 for a 2D Gaussian.
    let ms = sq / 8000.0;
    assert!((ms - 0.02).abs() < 0.002, "mean squared offset {ms}");
}

#[test]
fn standard_gaussian_has_unit_moments() {
    let _rng = rng_lock();
    tch::manual_seed(1);
    let t = Toy::standard_gaussian().sample(20000, Device::Cpu).unwrap();
    let m = Vec::<f64>::try_from(&t.mean_dim(0, false, Kind::Double)).unwrap();
    let s = Vec::<f64>::try_from(&t.to_kind(Kind::Double).std_dim(0, true, false)).unwrap();
    for d in 0..2 {
        assert!(m[d].abs() < 0.03 && (s[d] - 1.0).abs() < 0.03, "mean {m:?} std {s:?}");
    }
}

#[test]
fn grid_and_four_gaussians_have_their_centres() {
    let _rng = rng_lock();
    let g = Toy::from_name("grid").unwrap();
    let c = g.centers().unwrap();
    assert_eq!(c.len(), 25);
    assert!(c.contains(&[-2.0, -2.0]) && c.contains(&[0.0, 0.0]) && c.contains(&[2.0, 2.0]));
    let f = Toy::FourGaussians { scale: 2.0, std: 0.1 };
    for p in f.centers().unwrap() {
        assert!(((p[0] * p[0] + p[1] * p[1]).sqrt() - 2.0).abs() < 1e-12);
    }
    tch::manual_seed(2);
    let pts = rows(&g.sample(2500, Device::Cpu).unwrap());
    let mut counts = vec![0; 25];
    for p in &pts {
        counts[nearest(*p, &c).0] += 1;
    }
    assert!(counts.iter().all(|&k| k == 100), "{counts:?}");
}

#[test]
fn checkerboard_points_lie_in_their_squares() {
    let _rng = rng_lock();
    tch::manual_seed(3);
    for alternate in [false, true] {
        let toy = Toy::Checkerboard { scale: 1.5, width: 0.5, alternate };
        let c = toy.centers().unwrap();
        assert_eq!(c.len(), if alternate { 4 } else { 5 });
        for p in rows(&toy.sample(1000, Device::Cpu).unwrap()) {
            let (i, _) = nearest(p, &c);
            assert!((p[0] - c[i][0]).abs() <= 0.25 + 1e-6 && (p[1] - c[i][1]).abs() <= 0.25 + 1e-6, "{p:?}");
        }
    }
}

#[test]
fn spiral_arms_are_mirror_images() {
    let _rng = rng_lock();
    let arm = |a| Toy::Spiral { arm: a, scale: 0.15, noise: 0.0, degrees: 570.0 };
    tch::manual_seed(4);
    let first = rows(&arm(SpiralArm::First).sample(500, Device::Cpu).unwrap());
    tch::manual_seed(4);
    let second = rows(&arm(SpiralArm::Second).sample(500, Device::Cpu).unwrap());
    let max_r = 0.15 * (570f64.to_radians() + 0.001f64.to_radians());
    for (p, q) in first.iter().zip(&second) {
        assert!((p[0] + q[0]).abs() < 1e-5 && (p[1] + q[1]).abs() < 1e-5);
        // Noise-free: |point| = 0.15·t, t ≤ 570°.
        assert!((p[0] * p[0] + p[1] * p[1]).sqrt() <= max_r + 1e-5);
    }
    let both = arm(SpiralArm::Both).sample(10, Device::Cpu).unwrap();
    assert_eq!(both.size(), vec![10, 2]);
}

#[test]
fn same_seed_same_sample() {
    let _rng = rng_lock();
    tch::manual_seed(42);
    let a = Toy::ring().sample(100, Device::Cpu).unwrap();
    tch::manual_seed(42);
    let b = Toy::ring().sample(100, Device::Cpu).unwrap();
    assert!(a.equal(&b));
}

#[test]
fn bad_parameters_are_named() {
    let _rng = rng_lock();
    let e = Toy::Ring { modes: 0, radius: 1.0, std: 0.1 }.validate("target").unwrap_err().to_string();
    assert!(e.contains("target.modes"), "{e}");
    let e = Toy::Gaussian { std: -1.0, mean: [0.0, 0.0] }.sample(5, Device::Cpu).unwrap_err().to_string();
    assert!(e.contains("std"), "{e}");
    assert!(Toy::ring().sample(0, Device::Cpu).is_err());
    let e = Toy::from_name("moons").unwrap_err().to_string();
    assert!(e.contains("moons"), "{e}");
}

#[test]
fn toml_form_uses_defaults_and_refuses_unknown_keys() {
    let _rng = rng_lock();
    #[derive(serde::Deserialize)]
    struct W {
        t: Toy,
    }
    let w: W = toml::from_str("t = { name = \"ring\", std = 0.2 }").unwrap();
    assert_eq!(w.t, Toy::Ring { modes: 8, radius: 1.0, std: 0.2 });
    let e = toml::from_str::<W>("t = { name = \"ring\", sigma = 0.2 }").err().unwrap().to_string();
    assert!(e.contains("sigma"), "{e}");
}
