//! Exact OT (network simplex) and Sinkhorn: invariants, and parity with POT.

mod oracle;

use ndarray::{Array1, Array2, Axis};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use wgflow::metrics::ot::{emd, ground_cost, sinkhorn, wasserstein_weighted, SinkhornOptions};
use wgflow::npy;

fn gauss(rng: &mut ChaCha8Rng) -> f64 {
    // Box–Muller; enough for test clouds.
    let (u, v): (f64, f64) = (rng.gen::<f64>().max(1e-300), rng.gen());
    (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
}

fn cloud(rng: &mut ChaCha8Rng, n: usize, d: usize, shift: f64) -> Array2<f64> {
    Array2::from_shape_fn((n, d), |_| gauss(rng) + shift)
}

/// Points around 3 centres, with a small spread.
fn clustered(rng: &mut ChaCha8Rng, n: usize, d: usize) -> Array2<f64> {
    let centres = cloud(rng, 3, d, 0.0) * 5.0;
    let mut x = cloud(rng, n, d, 0.0) * 0.05;
    for i in 0..n {
        let c = rng.gen_range(0..3);
        let mut row = x.row_mut(i);
        row += &centres.row(c);
    }
    x
}

/// Points drawn with replacement from a small pool (many exact ties).
fn duplicated(rng: &mut ChaCha8Rng, n: usize, pool: &Array2<f64>) -> Array2<f64> {
    let mut x = Array2::zeros((n, pool.ncols()));
    for i in 0..n {
        let k = rng.gen_range(0..pool.nrows());
        x.row_mut(i).assign(&pool.row(k));
    }
    x
}

fn weights(rng: &mut ChaCha8Rng, n: usize, zeros: bool) -> Array1<f64> {
    let mut w = Array1::from_shape_fn(n, |i| if zeros && i % 5 == 2 { 0.0 } else { rng.gen::<f64>() + 0.05 });
    let s = w.sum();
    w /= s;
    w
}

fn check_solution(a: &Array1<f64>, b: &Array1<f64>, m: &Array2<f64>, tag: &str) -> f64 {
    let r = emd(a.view(), b.view(), m.view()).unwrap();
    let p = r.dense_plan(a.len(), b.len());
    let rows = p.sum_axis(Axis(1));
    let cols = p.sum_axis(Axis(0));
    for i in 0..a.len() {
        assert!((rows[i] - a[i]).abs() < 1e-12, "{tag}: row {i} mass {} vs {}", rows[i], a[i]);
    }
    for j in 0..b.len() {
        assert!((cols[j] - b[j]).abs() < 1e-12, "{tag}: col {j} mass {} vs {}", cols[j], b[j]);
    }
    assert!(p.iter().all(|&v| v >= 0.0), "{tag}: negative plan entry");
    assert!(r.plan.len() < a.len() + b.len(), "{tag}: {} non-zeros, not a basic solution", r.plan.len());
    let scale = m.iter().fold(0.0f64, |s, v| s.max(v.abs())).max(1.0);
    for i in 0..a.len() {
        for j in 0..b.len() {
            assert!(r.alpha[i] + r.beta[j] <= m[(i, j)] + 1e-10 * scale, "{tag}: dual infeasible at ({i}, {j})");
        }
    }
    let dual = r.dual_value(a.as_slice().unwrap(), b.as_slice().unwrap());
    assert!(
        (dual - r.cost).abs() <= 1e-10 * scale,
        "{tag}: duality gap {} (primal {}, dual {dual})",
        r.cost - dual,
        r.cost
    );
    let direct: f64 = p.iter().zip(m.iter()).map(|(x, y)| x * y).sum();
    assert!((direct - r.cost).abs() <= 1e-12 * scale, "{tag}: cost {} vs <P, M> {direct}", r.cost);
    r.cost
}

#[test]
fn plans_are_feasible_and_optimal_by_duality() {
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    for (n, k, d) in [(1, 1, 2), (1, 7, 2), (9, 1, 3), (13, 8, 2), (40, 71, 5), (120, 90, 2)] {
        for zeros in [false, true] {
            let x = cloud(&mut rng, n, d, 0.0);
            let y = cloud(&mut rng, k, d, 1.0);
            let (a, b) = (weights(&mut rng, n, zeros && n > 3), weights(&mut rng, k, zeros && k > 3));
            for p in [1, 2] {
                check_solution(&a, &b, &ground_cost(x.view(), y.view(), p).unwrap(), &format!("{n}x{k} p{p}"));
            }
        }
    }
    // Integer costs: many ties and degenerate pivots.
    for trial in 0..20 {
        let (n, k) = (5 + trial, 30 - trial);
        let m = Array2::from_shape_fn((n, k), |_| rng.gen_range(0..4) as f64);
        let a = Array1::from_elem(n, 1.0 / n as f64);
        let b = Array1::from_elem(k, 1.0 / k as f64);
        check_solution(&a, &b, &m, &format!("ties {trial}"));
    }
}

#[test]
fn uniform_equal_sizes_agree_with_the_assignment_solver() {
    let mut rng = ChaCha8Rng::seed_from_u64(2);
    for n in [1, 2, 5, 33, 150] {
        let m = Array2::from_shape_fn((n, n), |_| rng.gen::<f64>() * 3.0);
        let u = Array1::from_elem(n, 1.0 / n as f64);
        let got = check_solution(&u, &u, &m, &format!("n={n}"));
        let want = wgflow::metrics::assignment(m.as_slice().unwrap(), n).unwrap().total / n as f64;
        assert!((got - want).abs() <= 1e-12 * want.max(1.0), "n={n}: {got} vs {want}");
    }
}

#[test]
fn distance_to_itself_is_zero_and_translation_gives_the_shift() {
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    let x = cloud(&mut rng, 70, 3, 0.0);
    let a = weights(&mut rng, 70, true);
    for p in [1, 2] {
        assert_eq!(wasserstein_weighted(x.view(), Some(a.view()), x.view(), Some(a.view()), p).unwrap(), 0.0);
    }
    // Shift by v with |v| = 0.5: W1 = W2 = 0.5 (the shift coupling meets the
    // Kantorovich bound with φ(x) = v·x/|v|).
    let y = &x + &ndarray::arr1(&[0.3, 0.0, -0.4]);
    for p in [1, 2] {
        let w = wasserstein_weighted(x.view(), Some(a.view()), y.view(), Some(a.view()), p).unwrap();
        assert!((w - 0.5).abs() < 1e-12, "p={p}: {w}");
    }
    // Point masses: W_p between δ_0 and 0.25 δ_1 + 0.75 δ_3 in 1-D.
    let z = ndarray::arr2(&[[0.0]]);
    let t = ndarray::arr2(&[[1.0], [3.0]]);
    let wt = ndarray::arr1(&[0.25, 0.75]);
    let w1 = wasserstein_weighted(z.view(), None, t.view(), Some(wt.view()), 1).unwrap();
    let w2 = wasserstein_weighted(z.view(), None, t.view(), Some(wt.view()), 2).unwrap();
    assert!((w1 - 2.5).abs() < 1e-15, "{w1}");
    assert!((w2 - 7.0f64.sqrt()).abs() < 1e-15, "{w2}");
}

#[test]
fn bad_inputs_are_errors_naming_the_problem() {
    let x = ndarray::arr2(&[[0.0, 1.0], [2.0, 3.0]]);
    let y = ndarray::arr2(&[[0.0, 1.0, 2.0]]);
    let e = wasserstein_weighted(x.view(), None, y.view(), None, 1).unwrap_err().to_string();
    assert!(e.contains("dimensions"), "{e}");
    let empty = Array2::<f64>::zeros((0, 2));
    let e = wasserstein_weighted(empty.view(), None, x.view(), None, 1).unwrap_err().to_string();
    assert!(e.contains("empty"), "{e}");
    let mut nan = x.clone();
    nan[(1, 0)] = f64::NAN;
    let e = wasserstein_weighted(x.view(), None, nan.view(), None, 2).unwrap_err().to_string();
    assert!(e.contains("point 1") && e.contains("NaN"), "{e}");
    let m = Array2::<f64>::ones((2, 3));
    let (a, b) = (ndarray::arr1(&[0.5, 0.5]), ndarray::arr1(&[0.2, 0.2, 0.2]));
    let e = emd(a.view(), b.view(), m.view()).unwrap_err().to_string();
    assert!(e.contains("same total mass"), "{e}");
    let b = ndarray::arr1(&[0.5, 0.7, -0.2]);
    let e = emd(a.view(), b.view(), m.view()).unwrap_err().to_string();
    assert!(e.contains("weight 2") && e.contains("-0.2"), "{e}");
    let b = ndarray::arr1(&[0.5, 0.5]);
    let e = emd(a.view(), b.view(), m.view()).unwrap_err().to_string();
    assert!(e.contains("2×3") && e.contains("2×2"), "{e}");
    let b = ndarray::arr1(&[0.5, 0.5, 0.0]);
    let mut m2 = m.clone();
    m2[(0, 1)] = f64::INFINITY;
    let e = emd(a.view(), b.view(), m2.view()).unwrap_err().to_string();
    assert!(e.contains("(0, 1)"), "{e}");
    assert!(wasserstein_weighted(x.view(), None, x.view(), None, 3).is_err());
}

/// Writes the sets, asks POT for `ot.emd2` (exact costs from coordinate
/// differences, as this crate computes them) and compares at relative 1e-9.
#[test]
fn exact_wasserstein_matches_pot_emd2() {
    let dir = tempfile::tempdir().unwrap();
    let mut rng = ChaCha8Rng::seed_from_u64(4);
    let pool = cloud(&mut rng, 7, 3, 0.0);
    let cases: Vec<(&str, Array2<f64>, Array2<f64>)> = vec![
        ("random", cloud(&mut rng, 150, 3, 0.0), cloud(&mut rng, 97, 3, 0.7)),
        ("clustered", clustered(&mut rng, 160, 2), clustered(&mut rng, 121, 2)),
        ("duplicated", duplicated(&mut rng, 90, &pool), duplicated(&mut rng, 140, &pool)),
        ("random-5d", cloud(&mut rng, 300, 5, 0.0), cloud(&mut rng, 256, 5, 0.2)),
    ];
    let mut names = vec![];
    let mut ours = vec![];
    for (name, x, y) in &cases {
        let a = weights(&mut rng, x.nrows(), true);
        let b = weights(&mut rng, y.nrows(), false);
        npy::write(dir.path().join(format!("{name}_x.npy")), x).unwrap();
        npy::write(dir.path().join(format!("{name}_y.npy")), y).unwrap();
        npy::write(dir.path().join(format!("{name}_a.npy")), &a).unwrap();
        npy::write(dir.path().join(format!("{name}_b.npy")), &b).unwrap();
        for p in [1, 2] {
            ours.push(wasserstein_weighted(x.view(), Some(a.view()), y.view(), Some(b.view()), p).unwrap());
            // Uniform weights too.
            ours.push(wasserstein_weighted(x.view(), None, y.view(), None, p).unwrap());
        }
        names.push(*name);
    }
    let script = format!(
        r#"
import numpy as np
for name in {names:?}:
    x = np.load(name + "_x.npy"); y = np.load(name + "_y.npy")
    a = np.load(name + "_a.npy"); b = np.load(name + "_b.npy")
    sq = ((x[:, None, :] - y[None, :, :]) ** 2).sum(-1)
    np.save(name + "_m1.npy", np.sqrt(sq))
    for p, M in ((1, np.sqrt(sq)), (2, sq)):
        for wa, wb in ((a, b), (np.full(len(x), 1 / len(x)), np.full(len(y), 1 / len(y)))):
            v = ot.emd2(wa, wb, M, numItermax=10**8)
            print(repr(float(v if p == 1 else np.sqrt(v))))
"#
    );
    let pot = oracle::floats(&oracle::run(&["numpy", "ot"], &script, dir.path()));
    assert_eq!(pot.len(), ours.len());
    for (k, (o, r)) in ours.iter().zip(&pot).enumerate() {
        let err = oracle::rel(*o, *r);
        assert!(err <= 1e-9, "case {} ({}): ours {o} POT {r}, relative {err:e}", k / 4, names[k / 4]);
    }
    // The solver alone on POT's own cost matrix (read back from .npy).
    for name in &names {
        let m = npy::read_matrix(dir.path().join(format!("{name}_m1.npy"))).unwrap();
        let a = npy::read_matrix(dir.path().join(format!("{name}_a.npy"))).unwrap().column(0).to_owned();
        let b = npy::read_matrix(dir.path().join(format!("{name}_b.npy"))).unwrap().column(0).to_owned();
        check_solution(&a, &b, &m, name);
    }
}

#[test]
fn sinkhorn_matches_pot_sinkhorn_log() {
    let dir = tempfile::tempdir().unwrap();
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    let x = cloud(&mut rng, 60, 2, 0.0);
    let y = cloud(&mut rng, 45, 2, 1.0);
    let a = weights(&mut rng, 60, false);
    let b = weights(&mut rng, 45, false);
    let m = ground_cost(x.view(), y.view(), 2).unwrap();
    npy::write(dir.path().join("m.npy"), &m).unwrap();
    npy::write(dir.path().join("a.npy"), &a).unwrap();
    npy::write(dir.path().join("b.npy"), &b).unwrap();
    let regs = [1.0, 0.1, 0.01];
    let script = format!(
        r#"
import numpy as np
M = np.load("m.npy"); a = np.load("a.npy"); b = np.load("b.npy")
for reg in {regs:?}:
    print(repr(float(ot.sinkhorn2(a, b, M, reg, method="sinkhorn_log", numItermax=5000, stopThr=1e-11))))
print(repr(float(ot.emd2(a, b, M))))
"#
    );
    let pot = oracle::floats(&oracle::run(&["numpy", "ot"], &script, dir.path()));
    let t = |v: &Array1<f64>| tch::Tensor::from_slice(v.as_slice().unwrap());
    let mt = tch::Tensor::try_from(m.view()).unwrap();
    let opts = SinkhornOptions { max_iter: 5000, tol: 1e-11 };
    for (k, reg) in regs.iter().enumerate() {
        let r = sinkhorn(&t(&a), &t(&b), &mt, *reg, &opts).unwrap();
        let err = oracle::rel(r.cost, pot[k]);
        assert!(err <= 1e-8, "reg {reg}: ours {} POT {}, relative {err:e}", r.cost, pot[k]);
        assert!(r.marginal_error < 1e-11, "reg {reg}: marginal error {}", r.marginal_error);
    }
    // Small reg approaches the exact cost from above.
    let exact = emd(a.view(), b.view(), m.view()).unwrap().cost;
    assert!(oracle::rel(exact, pot[3]) <= 1e-9);
    let r = sinkhorn(&t(&a), &t(&b), &mt, 0.01, &opts).unwrap();
    assert!(r.cost >= exact - 1e-12 && r.cost < exact * 1.05, "sinkhorn {} vs exact {exact}", r.cost);
    assert!(sinkhorn(&t(&a), &t(&b), &mt, 0.0, &opts).is_err());
}
