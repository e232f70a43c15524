//! Exact W1/W2 on cases with known answers.

mod common;
use common::rng_lock;

use tch::{Device, Kind, Tensor};
use wgflow::metrics::emd::{assignment, wasserstein};

fn cloud(n: i64, d: i64, seed: i64) -> Tensor {
    tch::manual_seed(seed);
    Tensor::randn([n, d], (Kind::Double, Device::Cpu))
}

fn sorted(v: &Tensor) -> Vec<f64> {
    let mut a = Vec::<f64>::try_from(&v.view([-1])).unwrap();
    a.sort_by(|x, y| x.partial_cmp(y).unwrap());
    a
}

#[test]
fn one_dimensional_sets_match_sorted_coupling() {
    let _rng = rng_lock();
    for seed in 0..5 {
        let x = cloud(60, 1, seed);
        let y = cloud(60, 1, 100 + seed) * 2.0 + 0.5;
        let (a, b) = (sorted(&x), sorted(&y));
        let w1: f64 = a.iter().zip(&b).map(|(p, q)| (p - q).abs()).sum::<f64>() / 60.0;
        let w2: f64 = (a.iter().zip(&b).map(|(p, q)| (p - q) * (p - q)).sum::<f64>() / 60.0).sqrt();
        let g1 = wasserstein(&x, &y, 1).unwrap();
        let g2 = wasserstein(&x, &y, 2).unwrap();
        assert!((g1 - w1).abs() < 1e-12 * (1.0 + w1), "seed {seed}: W1 {g1} vs {w1}");
        assert!((g2 - w2).abs() < 1e-12 * (1.0 + w2), "seed {seed}: W2 {g2} vs {w2}");
    }
}

#[test]
fn permuted_copy_is_at_distance_zero() {
    let _rng = rng_lock();
    let x = cloud(200, 3, 1);
    let perm = Tensor::randperm(200, (Kind::Int64, Device::Cpu));
    let y = x.index_select(0, &perm);
    assert_eq!(wasserstein(&x, &y, 1).unwrap(), 0.0);
    assert_eq!(wasserstein(&x, &y, 2).unwrap(), 0.0);
}

#[test]
fn shifted_set_is_at_distance_of_the_shift() {
    let _rng = rng_lock();
    let x = cloud(150, 2, 2);
    let v = Tensor::from_slice(&[0.3f64, -0.4]);
    let y = &x + &v;
    // Translation by v: W1 = W2 = |v| = 0.5 (the KR bound with φ(x) = v·x/|v|
    // meets the shift coupling).
    assert!((wasserstein(&x, &y, 1).unwrap() - 0.5).abs() < 1e-12);
    assert!((wasserstein(&x, &y, 2).unwrap() - 0.5).abs() < 1e-12);
}

fn permutations(n: usize) -> Vec<Vec<usize>> {
    if n == 0 {
        return vec![vec![]];
    }
    let mut out = vec![];
    for p in permutations(n - 1) {
        for i in 0..=p.len() {
            let mut q = p.clone();
            q.insert(i, n - 1);
            out.push(q);
        }
    }
    out
}

#[test]
fn assignment_matches_brute_force() {
    let _rng = rng_lock();
    use rand::{Rng, SeedableRng};
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(9);
    for n in 1..=7 {
        let perms = permutations(n);
        for trial in 0..40 {
            // Half the trials with small integer costs (many ties), half continuous.
            let cost: Vec<f64> = (0..n * n)
                .map(|_| if trial % 2 == 0 { rng.gen_range(0..5) as f64 } else { rng.gen::<f64>() * 10.0 })
                .collect();
            let best =
                perms.iter().map(|p| (0..n).map(|i| cost[i * n + p[i]]).sum::<f64>()).fold(f64::INFINITY, f64::min);
            let a = assignment(&cost, n).unwrap();
            let mut seen = a.cols.clone();
            seen.sort_unstable();
            assert_eq!(seen, (0..n).collect::<Vec<_>>(), "not a permutation");
            assert!((a.total - best).abs() < 1e-9, "n={n}: {} vs {best}", a.total);
        }
    }
}

#[test]
fn bad_inputs_are_errors() {
    let _rng = rng_lock();
    let x = cloud(10, 2, 3);
    assert!(wasserstein(&x, &cloud(11, 2, 4), 1).unwrap_err().to_string().contains("equal sizes"));
    assert!(wasserstein(&x, &cloud(10, 3, 4), 1).unwrap_err().to_string().contains("dimensions"));
    assert!(wasserstein(&x, &x, 3).is_err());
    let empty = Tensor::zeros([0, 2], (Kind::Double, Device::Cpu));
    assert!(wasserstein(&empty, &empty, 1).unwrap_err().to_string().contains("empty"));
    let nan = x.copy();
    let _ = nan.get(3).get(1).fill_(f64::NAN);
    let e = wasserstein(&nan, &x, 1).unwrap_err().to_string();
    assert!(e.contains("point 3") && e.contains("NaN"), "{e}");
    assert!(wasserstein(&Tensor::zeros([4], (Kind::Double, Device::Cpu)), &x, 1).is_err());
    assert!(assignment(&[1.0, 2.0, 3.0], 2).is_err());
    assert!(assignment(&[1.0, f64::INFINITY, 3.0, 4.0], 2).is_err());
}
