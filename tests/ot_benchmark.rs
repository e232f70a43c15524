//! Pairs with known optimal maps and the map-quality metrics (issue: the
//! high-dimensional OT-map benchmark): T* = ∇ψ against autograd, T*
//! monotone, the identity's L2-UVP against its closed form, the linear
//! baseline recovering Gaussian maps, L2-UVP and cos against hand
//! computations.

mod common;
use common::rng_lock;

use tch::{Device, Kind, Tensor};
use wgflow::data::pairs::{MapPair, PairFamily};
use wgflow::metrics::maps::{map_scores, LinearMap};

fn t(rows: &[&[f64]]) -> Tensor {
    let flat: Vec<f64> = rows.iter().flat_map(|r| r.iter().copied()).collect();
    Tensor::from_slice(&flat).view([rows.len() as i64, rows[0].len() as i64])
}

#[test]
fn l2_uvp_and_cos_match_hand_computations() {
    let x = t(&[&[0.0, 0.0], &[1.0, 0.0]]);
    let t_star = t(&[&[1.0, 0.0], &[1.0, 1.0]]); // displacements (1, 0), (0, 1)
    let t_hat = t(&[&[1.0, 1.0], &[1.0, 0.0]]); // displacements (1, 1), (0, 0)
    let s = map_scores(&x, &t_hat, &t_star, 2.0).unwrap();
    // mean |T̂ − T*|² = (1 + 1)/2 = 1 → 100 · 1 / 2.
    assert!((s.l2_uvp - 50.0).abs() < 1e-12, "{s:?}");
    // mean ⟨·,·⟩ = (1 + 0)/2; mean |T* − x|² = 1, mean |T̂ − x|² = (2 + 0)/2 = 1.
    assert!((s.cos - 0.5).abs() < 1e-12, "{s:?}");
    // The optimal map itself: 0 and 1; the identity: cos 0 by definition.
    let s = map_scores(&x, &t_star, &t_star, 2.0).unwrap();
    assert_eq!((s.l2_uvp, s.cos), (0.0, 1.0));
    assert_eq!(map_scores(&x, &x, &t_star, 2.0).unwrap().cos, 0.0);
    assert!(map_scores(&x, &x, &t_star, 0.0).unwrap_err().to_string().contains("Var(Q)"));
    assert!(map_scores(&x, &t(&[&[0.0, 0.0]]), &t_star, 1.0).is_err());
}

#[test]
fn the_known_map_is_the_gradient_of_its_convex_potential_and_monotone() {
    let _rng = rng_lock();
    for family in PairFamily::ALL {
        for d in [2, 8, 33] {
            let pair = MapPair::new(family, d, 3).unwrap();
            tch::manual_seed(1);
            let x = pair.sample_input(256, Device::Cpu).unwrap();
            // T* against autograd of ψ.
            let xg = x.detach().set_requires_grad(true);
            let psi = pair.potential(&xg).unwrap().sum(Kind::Float);
            let grad = Tensor::run_backward(&[psi], &[&xg], false, false).remove(0);
            let tx = pair.map(&x).unwrap();
            let err = f64::try_from((&grad - &tx).abs().max()).unwrap();
            let size = f64::try_from(tx.abs().max()).unwrap();
            assert!(err < 1e-4 * size.max(1.0), "{family:?} d={d}: |∇ψ − T*| = {err} (|T*| {size})");
            // Monotone: ⟨T*(x) − T*(y), x − y⟩ > 0 on random pairs.
            let y = pair.sample_input(256, Device::Cpu).unwrap();
            let ty = pair.map(&y).unwrap();
            let dots = ((&tx - &ty) * (&x - &y)).sum_dim_intlist(1, false, Kind::Double);
            let sq = (&x - &y).square().sum_dim_intlist(1, false, Kind::Double);
            // ψ is 0.25- (Gaussian: smallest eigenvalue of A) or 0.5-strongly convex (mixture).
            let ratio = f64::try_from((dots / sq).min()).unwrap();
            assert!(ratio > 0.05, "{family:?} d={d}: min ⟨ΔT*, Δx⟩/|Δx|² = {ratio}");
        }
    }
}

#[test]
fn identity_and_constant_maps_score_their_closed_forms() {
    let _rng = rng_lock();
    for (family, d) in [(PairFamily::Gaussian, 4), (PairFamily::Gaussian, 32), (PairFamily::Mixture, 16)] {
        let pair = MapPair::new(family, d, 0).unwrap();
        let x = pair.test_sample(1 << 15, 1, Device::Cpu).unwrap();
        let tx = pair.map(&x).unwrap();
        // The identity: 100 · E|x − T*(x)|² / Var(Q) = 100 · W2²(P, Q) / Var(Q).
        let s = map_scores(&x, &x, &tx, pair.output_variance).unwrap();
        let closed = 100.0 * pair.w2_squared / pair.output_variance;
        assert!((s.l2_uvp / closed - 1.0).abs() < 0.03, "{family:?} d={d}: {} against {closed}", s.l2_uvp);
        assert_eq!(s.cos, 0.0);
        // The constant map to Q's mean: 100 (Var(Q) is E|y − E y|²).
        let c = pair.output_mean.unsqueeze(0).expand([x.size()[0], d], false);
        let s = map_scores(&x, &c, &tx, pair.output_variance).unwrap();
        assert!((s.l2_uvp - 100.0).abs() < 3.0, "{family:?} d={d}: constant map {}", s.l2_uvp);
    }
}

#[test]
fn the_linear_baseline_recovers_gaussian_maps_and_not_the_mixture_maps() {
    let _rng = rng_lock();
    for d in [2, 16, 64] {
        let pair = MapPair::new(PairFamily::Gaussian, d, 0).unwrap();
        let p = pair.test_sample(1 << 15, 2, Device::Cpu).unwrap();
        let q = pair.map(&pair.test_sample(1 << 15, 3, Device::Cpu).unwrap()).unwrap();
        let lin = LinearMap::fit(&p, &q).unwrap();
        let x = pair.test_sample(4096, 1, Device::Cpu).unwrap();
        let s = map_scores(&x, &lin.apply(&x).unwrap(), &pair.map(&x).unwrap(), pair.output_variance).unwrap();
        assert!(s.l2_uvp < 1.0 && s.cos > 0.99, "Gaussian d={d}: {s:?}");
    }
    // The mixture pairs' maps are far from linear: the linear map leaves a
    // clear part of Q's variance unexplained.
    let pair = MapPair::new(PairFamily::Mixture, 16, 0).unwrap();
    let p = pair.test_sample(1 << 15, 2, Device::Cpu).unwrap();
    let q = pair.map(&pair.test_sample(1 << 15, 3, Device::Cpu).unwrap()).unwrap();
    let x = pair.test_sample(4096, 1, Device::Cpu).unwrap();
    let lin = LinearMap::fit(&p, &q).unwrap();
    let s = map_scores(&x, &lin.apply(&x).unwrap(), &pair.map(&x).unwrap(), pair.output_variance).unwrap();
    eprintln!("mixture linear {s:?}");
    assert!(s.l2_uvp > 2.0 && s.l2_uvp < 50.0, "mixture d=16: {s:?}");
}

#[test]
fn pairs_are_deterministic_in_their_seed_and_read_from_a_config() {
    let a = MapPair::new(PairFamily::Mixture, 8, 4).unwrap();
    let b = MapPair::new(PairFamily::Mixture, 8, 4).unwrap();
    let c = MapPair::new(PairFamily::Mixture, 8, 5).unwrap();
    let x = a.test_sample(64, 0, Device::Cpu).unwrap();
    assert!(a.map(&x).unwrap().equal(&b.map(&x).unwrap()));
    assert!(!a.map(&x).unwrap().equal(&c.map(&x).unwrap()));
    assert_eq!(a.output_variance, b.output_variance);
    let text = r#"
source = { pair = "mixture", dim = 8, seed = 4, side = "input" }
target = { pair = "mixture", dim = 8, seed = 4, side = "output" }
"#;
    let mut cfg = wgflow::config::RunConfig::default();
    let dist: toml::Value = toml::from_str(text).unwrap();
    cfg.source = dist["source"].clone().try_into().unwrap();
    cfg.target = dist["target"].clone().try_into().unwrap();
    assert_eq!(cfg.source.sample_shape().unwrap(), vec![8]);
    let e = toml::from_str::<toml::Value>(r#"s = { pair = "ring", dim = 2, side = "input" }"#).unwrap()["s"]
        .clone()
        .try_into::<wgflow::data::Distribution>()
        .unwrap_err()
        .to_string();
    assert!(e.contains("ring"), "{e}");
}

#[test]
fn the_benchmark_over_seeds_reports_the_mean_and_range_of_its_runs() {
    use wgflow::experiments::{run, DriverOptions, Experiment, OtBenchmarkExperiment, Report};
    let _rng = rng_lock();
    tch::set_num_threads(1);
    let tmp = tempfile::tempdir().unwrap();
    let exp = OtBenchmarkExperiment::new()
        .families(&[PairFamily::Gaussian])
        .dims(&[2])
        .methods(&["w1fe-lp"])
        .seeds(&[0, 1, 2])
        .epochs(6)
        .configure(|b| b.train.eval_every = 3);
    let exp = OtBenchmarkExperiment { test_size: 1024, ..exp };
    let s = run(&exp, tmp.path(), &DriverOptions::on(Device::Cpu).quiet()).unwrap();
    let mut finals = vec![];
    for seed in 0..3 {
        let h =
            wgflow::train::History::load_csv(tmp.path().join(format!("gaussian/d2/w1fe-lp/seed{seed}/history.csv")))
                .unwrap();
        finals.push(h.last().unwrap().metric("l2_uvp").unwrap());
    }
    let row = s.row(PairFamily::Gaussian, 2, "w1fe-lp").unwrap();
    let mean = finals.iter().sum::<f64>() / 3.0;
    assert_eq!(row.runs, 3);
    assert!((row.l2_uvp - mean).abs() < 1e-9, "{row:?} {finals:?}");
    let (lo, hi) = row.l2_uvp_range.unwrap();
    assert_eq!(lo, finals.iter().copied().fold(f64::INFINITY, f64::min));
    assert_eq!(hi, finals.iter().copied().fold(f64::NEG_INFINITY, f64::max));
    assert!(lo < hi, "three seeds, three different runs: {finals:?}");
    assert_eq!(s.row(PairFamily::Gaussian, 2, "linear").unwrap().runs, 0);
    // The curve: the mean over seeds at every evaluation, ending at the row's mean.
    let curve = &s.curves[0];
    assert_eq!((curve.method.as_str(), &curve.epochs), ("w1fe-lp", &vec![0, 3, 6]));
    assert!((curve.l2_uvp[2] - mean).abs() < 1e-9);
    assert_eq!(s.budget_chart(PairFamily::Gaussian, 2).series.len(), 2);
    assert!(s.markdown().contains("over 3 training seeds"), "{}", s.markdown());
    // Seeds must be distinct.
    let err = exp.clone().seeds(&[1, 1]).check().unwrap_err().to_string();
    assert!(err.contains("seeds") && err.contains("distinct"), "{err}");
}
