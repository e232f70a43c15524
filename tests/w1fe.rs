//! W1-FE's step against hand computations and Prop. 4.1 of 000.

mod common;
use common::rng_lock;

use tch::{nn, Device, Kind, Tensor};
use wgflow::critic::gradient;
use wgflow::flow::adversarial::wgan_generator_loss;
use wgflow::flow::euler::{euler_targets, fit_loss, persistent_fit};
use wgflow::nets::{Init, Mlp, MlpConfig};
use wgflow::optim::{Adam, AdamConfig};

fn t2(rows: &[[f64; 2]]) -> Tensor {
    let flat: Vec<f64> = rows.iter().flat_map(|r| [r[0], r[1]]).collect();
    Tensor::from_slice(&flat).view([rows.len() as i64, 2])
}

fn to_vec(t: &Tensor) -> Vec<f64> {
    Vec::<f64>::try_from(&t.to_kind(Kind::Double).contiguous().view([-1])).unwrap()
}

/// φ(y) = Σ_j v_j relu(W_j·y + c_j), one hidden layer of 3 units.
const W: [[f64; 2]; 3] = [[1.0, -2.0], [0.5, 0.25], [-1.5, 1.0]];
const C: [f64; 3] = [0.1, -0.2, 0.3];
const V: [f64; 3] = [2.0, -1.0, 0.5];

fn phi_tensor(y: &Tensor) -> Tensor {
    let w = t2(&W);
    let c = Tensor::from_slice(&C);
    let v = Tensor::from_slice(&V);
    (y.matmul(&w.tr()) + c).relu().matmul(&v)
}

fn grad_by_hand(y: [f64; 2]) -> [f64; 2] {
    let mut g = [0.0; 2];
    for j in 0..3 {
        let pre = W[j][0] * y[0] + W[j][1] * y[1] + C[j];
        if pre > 0.0 {
            g[0] += V[j] * W[j][0];
            g[1] += V[j] * W[j][1];
        }
    }
    g
}

#[test]
fn euler_targets_match_hand_computation() {
    let _rng = rng_lock();
    let ys = [[0.3, -0.7], [1.2, 0.4], [-0.8, 0.9], [0.0, 0.05]];
    let eps = 0.37;
    let y = t2(&ys);
    let zeta = euler_targets(&phi_tensor, &y, eps).unwrap();
    assert!(!zeta.requires_grad(), "targets must be detached");
    let got = to_vec(&zeta);
    for (i, yi) in ys.iter().enumerate() {
        let g = grad_by_hand(*yi);
        for d in 0..2 {
            let want = yi[d] - eps * g[d];
            assert!((got[2 * i + d] - want).abs() < 1e-12, "row {i} dim {d}: {} vs {want}", got[2 * i + d]);
        }
    }
    // The input batch is not modified and carries no gradient afterwards.
    assert_eq!(to_vec(&y), ys.iter().flat_map(|r| [r[0], r[1]]).collect::<Vec<_>>());
}

#[test]
fn gradient_of_a_quadratic_is_the_identity() {
    let _rng = rng_lock();
    let x = Tensor::from_slice(&[1.0f64, -2.0, 3.5, 0.25]).view([2, 2]);
    let g = gradient(&|t: &Tensor| t.square().sum_dim_intlist(1, false, None::<Kind>) * 0.5, &x, false).unwrap();
    assert_eq!(to_vec(&g), to_vec(&x));
}

#[test]
fn fit_loss_sums_coordinates_and_averages_samples() {
    let _rng = rng_lock();
    let out = t2(&[[1.0, 2.0], [0.0, -1.0], [3.0, 3.0]]);
    let tgt = t2(&[[0.0, 0.0], [1.0, 1.0], [3.0, 5.0]]);
    // (1 + 4) + (1 + 4) + (0 + 4) = 14, over 3 samples.
    let l = fit_loss(&out, &tgt).unwrap().double_value(&[]);
    assert!((l - 14.0 / 3.0).abs() < 1e-12, "{l}");
    assert!(fit_loss(&out, &t2(&[[0.0, 0.0]])).is_err());
}

fn tiny_nets(vs_g: &nn::VarStore, vs_d: &nn::VarStore) -> (Mlp, Mlp) {
    let gcfg = MlpConfig { hidden: vec![5, 4], init: Init::Normal { std: 0.7 }, ..MlpConfig::default() };
    let dcfg = MlpConfig { hidden: vec![6], out_dim: 1, init: Init::Normal { std: 0.9 }, ..MlpConfig::default() };
    (Mlp::new(&vs_g.root(), &gcfg).unwrap(), Mlp::new(&vs_d.root(), &dcfg).unwrap())
}

fn zero_grads(params: &[Tensor]) {
    for p in params {
        p.shallow_clone().zero_grad();
    }
}

fn grads(params: &[Tensor]) -> Vec<f64> {
    params.iter().flat_map(|p| to_vec(&p.grad())).collect()
}

/// 000 Prop. 4.1: with K = 1 the parameter gradient of the first fit step,
/// (1/m) Σ|ζ_i − G(z_i)|², equals 2ε times the gradient of the WGAN generator
/// loss (1/m) Σ φ(G(z_i)).
#[test]
fn prop_4_1_k1_fit_gradient_is_2eps_wgan_gradient() {
    let _rng = rng_lock();
    tch::manual_seed(7);
    let mut vs_g = nn::VarStore::new(Device::Cpu);
    let mut vs_d = nn::VarStore::new(Device::Cpu);
    let (g, d) = tiny_nets(&vs_g, &vs_d);
    vs_g.double();
    vs_d.double();
    let params = vs_g.trainable_variables();
    let phi = |t: &Tensor| d.forward_t(t, true).squeeze_dim(-1);
    let z = Tensor::randn([16, 2], (Kind::Double, Device::Cpu));
    for eps in [1.0, 0.1, 2.5] {
        // WGAN generator gradient.
        zero_grads(&params);
        wgan_generator_loss(&phi, &g.forward_t(&z, true)).unwrap().backward();
        let g_wgan = grads(&params);
        // First MSE step of W1-FE.
        zero_grads(&params);
        let y = tch::no_grad(|| g.forward_t(&z, true));
        let zeta = euler_targets(&phi, &y, eps).unwrap();
        fit_loss(&g.forward_t(&z, true), &zeta).unwrap().backward();
        let g_fe = grads(&params);
        assert_eq!(g_fe.len(), g_wgan.len());
        let scale = g_wgan.iter().map(|v| v.abs()).fold(0.0, f64::max);
        assert!(scale > 1e-6, "degenerate test: WGAN gradient is zero");
        for (a, b) in g_fe.iter().zip(&g_wgan) {
            assert!((a - 2.0 * eps * b).abs() <= 1e-10 * (1.0 + scale), "ε={eps}: {a} vs 2ε·{b}");
        }
    }
}

/// With plain gradient descent (β1 = 0 Adam is not SGD, so compare the
/// updates of one Adam step instead): one K = 1 fit step and one WGAN step
/// move the parameters identically, because Adam's first step only sees the
/// gradient's sign and they differ by the positive factor 2ε.
#[test]
fn k1_adam_step_equals_wgan_adam_step() {
    let _rng = rng_lock();
    tch::manual_seed(11);
    let mut vs_g = nn::VarStore::new(Device::Cpu);
    let mut vs_d = nn::VarStore::new(Device::Cpu);
    let (g, d) = tiny_nets(&vs_g, &vs_d);
    vs_g.double();
    vs_d.double();
    let phi = |t: &Tensor| d.forward_t(t, true).squeeze_dim(-1);
    let z = Tensor::randn([32, 2], (Kind::Double, Device::Cpu));
    let start: Vec<Tensor> = vs_g.trainable_variables().iter().map(|p| p.detach().copy()).collect();
    let cfg = AdamConfig { lr: 1e-3, eps: 1e-30, ..AdamConfig::default() };

    let mut opt = Adam::new(vs_g.trainable_variables(), cfg).unwrap();
    let y = tch::no_grad(|| g.forward_t(&z, true));
    let zeta = euler_targets(&phi, &y, 0.5).unwrap();
    let _ = persistent_fit(&|t: &Tensor| g.forward_t(t, true), &mut opt, &z, &zeta, 1).unwrap();
    let after_fe: Vec<f64> = vs_g.trainable_variables().iter().flat_map(to_vec).collect();

    tch::no_grad(|| {
        for (p, s) in vs_g.trainable_variables().iter_mut().zip(&start) {
            p.copy_(s);
        }
    });
    let mut opt = Adam::new(vs_g.trainable_variables(), cfg).unwrap();
    let _ =
        wgflow::flow::adversarial::persistent_adversarial(&phi, &|t: &Tensor| g.forward_t(t, true), &mut opt, &z, 1)
            .unwrap();
    let after_wgan: Vec<f64> = vs_g.trainable_variables().iter().flat_map(to_vec).collect();
    let moved = after_fe.iter().zip(start.iter().flat_map(to_vec)).map(|(a, b)| (a - b).abs()).fold(0.0, f64::max);
    assert!(moved > 1e-4, "the step did not move the generator");
    for (a, b) in after_fe.iter().zip(&after_wgan) {
        assert!((a - b).abs() < 1e-12, "{a} vs {b}");
    }
}

/// Persistent training: K steps reuse the same z and targets and keep lowering
/// the fit loss.
#[test]
fn persistent_fit_lowers_the_fit_loss() {
    let _rng = rng_lock();
    tch::manual_seed(3);
    let vs_g = nn::VarStore::new(Device::Cpu);
    let vs_d = nn::VarStore::new(Device::Cpu);
    let (g, d) = tiny_nets(&vs_g, &vs_d);
    let phi = |t: &Tensor| d.forward_t(t, true).squeeze_dim(-1);
    let z = Tensor::randn([64, 2], (Kind::Float, Device::Cpu));
    let gen = |t: &Tensor| g.forward_t(t, true);
    let y = tch::no_grad(|| gen(&z));
    let zeta = euler_targets(&phi, &y, 1.0).unwrap();
    let before = fit_loss(&gen(&z), &zeta).unwrap().double_value(&[]);
    let mut opt = Adam::new(vs_g.trainable_variables(), AdamConfig { lr: 1e-2, ..AdamConfig::default() }).unwrap();
    let last = persistent_fit(&gen, &mut opt, &z, &zeta, 20).unwrap().double_value(&[]);
    let after = fit_loss(&gen(&z), &zeta).unwrap().double_value(&[]);
    assert_eq!(opt.steps(), 20);
    assert!(last < before && after < 0.5 * before, "before {before}, last step {last}, after {after}");
}

#[test]
fn k1_gradient_gap_is_rounding_for_w1_and_w2_critics() {
    let _rng = rng_lock();
    for method in ["w1fe-lp", "w2fe"] {
        let mut cfg = wgflow::config::preset(method, &wgflow::config::RunConfig::default()).unwrap();
        cfg.train.batch_size = 128;
        let mut t = wgflow::train::Trainer::new(cfg, Device::Cpu).unwrap();
        // The evaluation before training, then 5 epochs.
        for _ in 0..6 {
            t.step().unwrap();
        }
        let z = Tensor::randn([128, 2], (Kind::Float, Device::Cpu));
        let g = t.generator();
        let critic = t.critic();
        let phi = |y: &Tensor| critic.generator_potential(y);
        for eps in [1.0, 0.1] {
            let (diff, size) =
                wgflow::flow::euler::k1_gradient_gap(&|x| g.forward_t(x, true), &g.parameters(), &phi, &z, eps)
                    .unwrap();
            assert!(size > 1e-6 && diff <= 1e-5 * size, "{method} ε={eps}: {diff} vs {size}");
        }
    }
}

/// Rows of a run whose W1 is `w1[i]` at epoch `10·i`, one second per 10 epochs.
fn ring_rows(w1: &[f64]) -> Vec<wgflow::train::Row> {
    w1.iter()
        .enumerate()
        .map(|(i, &w)| wgflow::train::Row {
            epoch: 10 * i,
            seconds: i as f64,
            critic_loss: 0.0,
            w1_estimate: 0.0,
            generator_loss: 0.0,
            w1: w,
            w2: 0.0,
            metrics: Default::default(),
        })
        .collect()
}

/// Per seed, K = 3 reaches its own K = 1 final W1 at a different fraction of
/// the epochs; the table gives their mean and range, counts a seed that
/// never reaches it, and the envelope spans the seeds.
#[test]
fn ring_claims_over_seeds_are_mean_and_range_of_per_seed_ratios() {
    use wgflow::experiments::ring::{RingSeeds, RingSummary};
    let k1 = ring_rows(&[1.0, 0.8, 0.6, 0.5, 0.4]);
    let seeds = [
        // Reaches 0.4 at epoch 20 (K=1 at 40): 0.5.
        vec![(1, k1.clone()), (3, ring_rows(&[1.0, 0.5, 0.3, 0.3, 0.3]))],
        // At epoch 30: 0.75.
        vec![(1, k1.clone()), (3, ring_rows(&[1.0, 0.7, 0.5, 0.4, 0.35]))],
        // Never.
        vec![(1, k1.clone()), (3, ring_rows(&[1.0, 0.9, 0.9, 0.9, 0.9]))],
    ];
    let summaries: Vec<RingSummary> = seeds.iter().map(|r| RingSummary::from_runs(r, 1, "W1-FE-LP").unwrap()).collect();
    let combined = RingSeeds::from_summaries(&summaries).unwrap();
    let k3 = &combined.rows[1];
    assert_eq!((k3.k, k3.reached), (3, 2));
    let e = k3.epoch_ratio.unwrap();
    assert!((e.mean - 0.625).abs() < 1e-12 && e.min == 0.5 && e.max == 0.75, "{e:?}");
    assert!((k3.final_w1.mean - (0.3 + 0.35 + 0.9) / 3.0).abs() < 1e-12 && k3.final_w1.max == 0.9);
    let table = combined.table();
    assert_eq!(combined.reach(3), "0.62 [0.50–0.75] of K=1's epochs (2/3 seeds reached it)");
    assert!(table.contains("| 3 | 0.5167 [0.3000–0.9000] | 2/3 | 0.62 [0.50–0.75] |"), "{table}");
    let chart = combined.by_epoch().unwrap();
    let band = &chart.bands[1];
    assert_eq!((band.lo[1], band.hi[1]), (0.5, 0.9));
    // Summaries over different Ks do not combine.
    let other = RingSummary::from_runs(&[(1, k1.clone()), (5, k1)], 1, "W1-FE-LP").unwrap();
    let e = RingSeeds::from_summaries(&[summaries[0].clone(), other]).unwrap_err().to_string();
    assert!(e.contains("[1, 3]") && e.contains("[1, 5]"), "{e}");
}
