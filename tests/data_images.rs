//! The authors' MNIST resize against torchvision, seeded minibatches, and the
//! Gaussian fitted to a data set.

mod common;

use tch::{Device, Kind, Tensor};
use wgflow::data::{resize_center_crop, Batches, ImageSet, MvGaussian, Sampler, Toy};

fn fixture(name: &str) -> Tensor {
    let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name);
    Tensor::read_npy(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// `tests/fixtures/resize16_*.npy` were written by `make_resize_fixture.py`
/// with torchvision 0.26.0 and Pillow 13.0.0 (PIL's 8-bit antialiased
/// bilinear resize): 24 random images, 8 patterns, 32 Fashion-MNIST images.
#[test]
fn resize_to_16_matches_torchvision_resize_and_center_crop() {
    let input = fixture("resize16_input.npy"); // 64×1×28×28 u8
    let expected = fixture("resize16_expected.npy"); // 64×1×16×16 f32 in [−1, 1]
    assert_eq!(input.size(), [64, 1, 28, 28]);
    let x = (input.to_kind(Kind::Float) / 255.0 - 0.5) / 0.5;
    let y = resize_center_crop(&x, 16).unwrap();
    assert_eq!(y.size(), [64, 1, 16, 16]);
    // In 8-bit levels: Pillow's fixed-point arithmetic reproduced exactly.
    let levels = ((&y - &expected).abs() * 127.5).round();
    let max = levels.max().double_value(&[]);
    let differ = levels.gt(0.5).sum(Kind::Int64).int64_value(&[]);
    let total = expected.numel();
    println!("resize parity: max |Δ| = {max} levels of 255; {differ} of {total} pixels differ");
    assert_eq!((max, differ), (0.0, 0), "max difference {max} levels, {differ} of {total} pixels differ");
    assert!((&y - &expected).abs().max().double_value(&[]) < 1e-6);
    // Values are whole 8-bit levels mapped to [−1, 1].
    let back = (&y + 1.0) * 127.5;
    assert!((&back - back.round()).abs().max().double_value(&[]) < 1e-4);
    // The set method does the same; 16×16 input is left alone.
    let set = ImageSet::new(x.shallow_clone(), Tensor::zeros([64], (Kind::Int64, Device::Cpu))).unwrap();
    assert!(set.resized(16).unwrap().images.equal(&y));
    assert!(resize_center_crop(&y, 16).unwrap().equal(&y));
    assert!(resize_center_crop(&Tensor::zeros([3, 4], (Kind::Float, Device::Cpu)), 16).is_err());
}

fn ints(t: &Tensor) -> Vec<i64> {
    Vec::<i64>::try_from(&t.to_kind(Kind::Int64).flatten(0, -1)).unwrap()
}

#[test]
fn batches_without_replacement_visit_every_row_once_per_pass() {
    let data = Tensor::arange(10, (Kind::Float, Device::Cpu)).view([10, 1]);
    let mut b = Batches::new(&data, 7, false).unwrap();
    let mut seen = Vec::new();
    for _ in 0..5 {
        let x = b.next_batch(4).unwrap();
        assert_eq!(x.size(), [4, 1]);
        seen.extend(ints(&x));
    }
    // 20 rows drawn = two whole passes, each a permutation of 0..10.
    for pass in seen.chunks(10) {
        let mut p = pass.to_vec();
        p.sort();
        assert_eq!(p, (0..10).collect::<Vec<_>>(), "{seen:?}");
    }
    assert_ne!(&seen[..10], &(0..10).collect::<Vec<_>>()[..], "not shuffled");
    assert_ne!(&seen[..10], &seen[10..], "reshuffled each pass");
    assert_eq!(b.passes(), 2);
    // Same seed, same batches; another seed, others.
    let mut again = Batches::new(&data, 7, false).unwrap();
    let a: Vec<i64> = (0..5).flat_map(|_| ints(&again.next_batch(4).unwrap())).collect();
    assert_eq!(a, seen);
    let mut other = Batches::new(&data, 8, false).unwrap();
    assert_ne!(ints(&other.next_batch(10).unwrap()), seen[..10].to_vec());
    // A batch larger than the set spans passes.
    let mut big = Batches::new(&data, 1, false).unwrap();
    let x = ints(&big.next_batch(25).unwrap());
    let mut first = x[..10].to_vec();
    first.sort();
    assert_eq!(first, (0..10).collect::<Vec<_>>());
    assert!(big.next_batch(0).is_err());
    assert!(Batches::new(&Tensor::zeros([0, 3], (Kind::Float, Device::Cpu)), 0, false).is_err());
}

#[test]
fn batches_with_replacement_draw_uniformly_and_keep_labels() {
    let images = Tensor::arange(10, (Kind::Float, Device::Cpu)).view([10, 1, 1, 1]);
    let labels = Tensor::arange(10, (Kind::Int64, Device::Cpu)) * 3;
    let set = ImageSet::new(images, labels).unwrap();
    let mut b = Batches::from_set(&set, 3, true).unwrap();
    let mut counts = [0i64; 10];
    for _ in 0..500 {
        let (x, y) = b.next_labelled(20).unwrap();
        let (xi, yi) = (ints(&x), ints(&y));
        for (a, l) in xi.iter().zip(&yi) {
            assert_eq!(*l, 3 * a, "label travels with its image");
            counts[*a as usize] += 1;
        }
    }
    // 10,000 draws: 1000 ± 30 per row (binomial σ = 30); 6σ bounds.
    assert!(counts.iter().all(|&c| (820..=1180).contains(&c)), "{counts:?}");
    let mut unl = Batches::new(&set.images, 0, true).unwrap();
    assert!(unl.next_labelled(2).is_err());
    // Through the trait, onto a device.
    let s: &mut dyn Sampler = &mut unl;
    assert_eq!(s.sample(5, Device::Cpu).unwrap().size(), [5, 1, 1, 1]);
}

#[test]
fn toy_sets_are_samplers() {
    let _g = common::rng_lock();
    tch::manual_seed(3);
    let direct = Toy::ring().sample(64, Device::Cpu).unwrap();
    tch::manual_seed(3);
    let mut t = Toy::ring();
    let via: &mut dyn Sampler = &mut t;
    assert!(via.sample(64, Device::Cpu).unwrap().equal(&direct));
}

#[test]
fn gaussian_fit_is_the_maximum_likelihood_estimate() {
    // Hand computation: mean (1, 2); variances 1 and 4 (divided by N = 4); covariance 0.
    let x = Tensor::from_slice(&[0.0f32, 0.0, 2.0, 0.0, 0.0, 4.0, 2.0, 4.0]).view([4, 2]);
    let g = MvGaussian::fit(&x).unwrap();
    assert_eq!(Vec::<f64>::try_from(&g.mean).unwrap(), vec![1.0, 2.0]);
    assert_eq!(Vec::<f64>::try_from(&g.cov.flatten(0, -1)).unwrap(), vec![1.0, 0.0, 0.0, 4.0]);
    assert_eq!(g.jitter, 0.0);
    assert_eq!(Vec::<f64>::try_from(&g.chol.flatten(0, -1)).unwrap(), vec![1.0, 0.0, 0.0, 2.0]);
    // The authors' added 0.1·I.
    let r = MvGaussian::fit_with_ridge(&x, 0.1).unwrap();
    assert_eq!(Vec::<f64>::try_from(&r.cov.flatten(0, -1)).unwrap(), vec![1.1, 0.0, 0.0, 4.1]);
    // Singular data (a constant pixel, two collinear ones): jitter makes Cholesky succeed.
    let s = Tensor::from_slice(&[-1.0f32, 1.0, 2.0, -1.0, 3.0, 6.0, -1.0, 5.0, 10.0]).view([3, 3]);
    let gs = MvGaussian::fit(&s).unwrap();
    assert!(gs.jitter > 0.0 && gs.jitter <= 0.1 * 50.0 / 3.0, "jitter {}", gs.jitter);
    let rebuilt = gs.chol.matmul(&gs.chol.tr());
    let want = &gs.cov + Tensor::eye(3, (Kind::Double, Device::Cpu)) * gs.jitter;
    assert!((rebuilt - want).abs().max().double_value(&[]) < 1e-9);
    assert!(MvGaussian::fit(&Tensor::zeros([1, 3], (Kind::Float, Device::Cpu))).is_err());
    let nan = Tensor::from_slice(&[f32::NAN, 0.0, 1.0, 2.0]).view([2, 2]);
    assert!(MvGaussian::fit(&nan).is_err());
}

#[test]
fn gaussian_recovers_a_known_covariance_and_samples_from_it() {
    let _g = common::rng_lock();
    tch::manual_seed(11);
    // Σ = L Lᵀ with L below; μ = (1, −2, 0.5, 3).
    let l = Tensor::from_slice(&[1.4f64, 0.0, 0.0, 0.0, 0.4, 0.9, 0.0, 0.0, 0.0, -0.3, 0.6, 0.0, 0.2, 0.1, 0.3, 0.5])
        .view([4, 4]);
    let sigma = l.matmul(&l.tr());
    let mu = Tensor::from_slice(&[1.0f64, -2.0, 0.5, 3.0]);
    let n = 200_000;
    let x = Tensor::randn([n, 4], (Kind::Double, Device::Cpu)).matmul(&l.tr()) + &mu;
    let x = x.to_kind(Kind::Float).view([n, 1, 2, 2]);
    let mut g = MvGaussian::fit(&x).unwrap();
    assert_eq!(g.sample_shape, vec![1, 2, 2]);
    let dm = (&g.mean - &mu).abs().max().double_value(&[]);
    let dc = (&g.cov - &sigma).abs().max().double_value(&[]);
    // Standard errors: ≤ 1.4/√n ≈ 0.003 for the mean, ≤ 2·1.96/√n ≈ 0.009 for Σ.
    assert!(dm < 0.02 && dc < 0.04, "mean error {dm}, covariance error {dc}");
    assert_eq!(g.jitter, 0.0);
    let y = g.sample(n, Device::Cpu).unwrap();
    assert_eq!(y.size(), [n, 1, 2, 2]);
    assert_eq!(y.kind(), Kind::Float);
    let y = y.view([n, 4]).to_kind(Kind::Double);
    let ym = y.mean_dim(0, false, Kind::Double);
    let yc = (&y - &ym).tr().matmul(&(&y - &ym)) / n as f64;
    let dm = (&ym - &g.mean).abs().max().double_value(&[]);
    let dc = (&yc - &g.cov).abs().max().double_value(&[]);
    assert!(dm < 0.02 && dc < 0.04, "sample mean error {dm}, sample covariance error {dc}");
    // Through the trait.
    let s: &mut dyn Sampler = &mut g;
    assert_eq!(s.sample(3, Device::Cpu).unwrap().size(), [3, 1, 2, 2]);
}
