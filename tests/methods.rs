//! The methods of issue 3 pinned to their formulas, and the equivalences the
//! papers prove.

mod common;
use common::rng_lock;

use std::collections::HashMap;
use tch::{nn, Device, Kind, Tensor};
use wgflow::config::RunConfig;
use wgflow::config::{preset, METHODS};
use wgflow::critic::gan::{GanCritic, GanLoss};
use wgflow::critic::w2::{ineq_term, interpolated_points, W2Critic};
use wgflow::critic::{Critic, CriticConfig, InterpPairs, PsiParam, Regularisation, W2Penalty};
use wgflow::data::{Distribution, NormalSpec};
use wgflow::flow::barycentric::{barycentric_loss, discrete_ot_map, map_error, plan_weights};
use wgflow::flow::euler::{euler_targets, fit_loss};
use wgflow::flow::proximal::{proximal_term, sbe_potential_objective};
use wgflow::flow::{SbeReading, StepConfig};
use wgflow::nets::{Init, Mlp, MlpConfig, NetConfig};
use wgflow::train::Trainer;

fn t2(rows: &[[f64; 2]]) -> Tensor {
    let flat: Vec<f64> = rows.iter().flat_map(|r| [r[0], r[1]]).collect();
    Tensor::from_slice(&flat).view([rows.len() as i64, 2])
}

fn vecf(t: &Tensor) -> Vec<f64> {
    Vec::<f64>::try_from(&t.to_kind(Kind::Double).contiguous().view([-1])).unwrap()
}

fn linear_cfg() -> NetConfig {
    MlpConfig { hidden: vec![], out_dim: 1, init: Init::Normal { std: 0.0 }, ..MlpConfig::default() }.into()
}

fn set(vs: &nn::VarStore, values: &[(&str, Tensor)]) {
    let vars: HashMap<String, Tensor> = vs.variables();
    tch::no_grad(|| {
        for (name, v) in values {
            let mut t =
                vars.get(*name).unwrap_or_else(|| panic!("no variable {name} in {:?}", vars.keys())).shallow_clone();
            t.copy_(v);
        }
    });
}

/// A translation by `a` has potentials φ(y) = −a·y, ψ(x) = a·x − |a|²/2
/// (T(y) = y − ∇φ(y) = y + a). They satisfy the equality constraints of 004
/// eq. (25)–(26) and the c-inequality, so every penalty vanishes and the
/// dual value on x = y + a is |a|²/2 = W2²/2.
#[test]
fn w2_penalties_vanish_on_exact_translation_potentials() {
    let _rng = rng_lock();
    let a = [0.6, -0.8];
    let mut vs = nn::VarStore::new(Device::Cpu);
    let critic =
        W2Critic::new(&vs.root(), &linear_cfg(), &linear_cfg(), PsiParam::Independent, W2Penalty::default()).unwrap();
    vs.double();
    set(
        &vs,
        &[
            ("phi.l0.weight", Tensor::from_slice(&[-a[0], -a[1]]).view([1, 2])),
            ("psi.l0.weight", Tensor::from_slice(&a).view([1, 2])),
            ("psi.l0.bias", Tensor::from_slice(&[-0.5f64])),
        ],
    );
    tch::manual_seed(0);
    let y = Tensor::randn([64, 2], (Kind::Double, Device::Cpu));
    let x = &y + Tensor::from_slice(&a);
    let l = critic.loss(&x, &y).unwrap();
    assert!(l.penalty.double_value(&[]).abs() < 1e-12, "penalty {}", l.penalty.double_value(&[]));
    assert!((l.estimate.double_value(&[]) - 0.5).abs() < 1e-12, "W2²/2 estimate {}", l.estimate.double_value(&[]));
    assert!((l.loss.double_value(&[]) + 0.5).abs() < 1e-12);
    // The Euler step with ε = 1 lands exactly on the Monge image y + a.
    let zeta = euler_targets(&|t: &Tensor| critic.phi(t), &y, 1.0).unwrap();
    assert!((zeta - &x).abs().max().double_value(&[]) < 1e-12);
}

/// With φ(y) = w·y instead of −a·y the φ-equality residual of eq. (25) is
/// (w + a)·y − |w + a|²/2; check the penalty against that hand formula.
#[test]
fn w2_equality_penalty_matches_hand_formula() {
    let _rng = rng_lock();
    let a = [0.6, -0.8];
    let w = [-0.2, 0.5];
    let pen = W2Penalty {
        regularisation: Regularisation::L2,
        lambda_ineq: 0.0,
        interp: false,
        interp_pairs: InterpPairs::Independent,
        lambda_eq: 3.0,
        eq_phi: true,
        eq_psi: false,
        lambda_eps: 0.0,
    };
    let mut vs = nn::VarStore::new(Device::Cpu);
    let critic = W2Critic::new(&vs.root(), &linear_cfg(), &linear_cfg(), PsiParam::Independent, pen).unwrap();
    vs.double();
    set(
        &vs,
        &[
            ("phi.l0.weight", Tensor::from_slice(&w).view([1, 2])),
            ("psi.l0.weight", Tensor::from_slice(&a).view([1, 2])),
            ("psi.l0.bias", Tensor::from_slice(&[-0.5f64])),
        ],
    );
    let ys = [[0.3, 1.0], [-1.0, 0.2], [2.0, -0.5]];
    let y = t2(&ys);
    let x = t2(&[[0.0, 0.0], [1.0, 1.0], [0.5, 0.5]]);
    let l = critic.loss(&x, &y).unwrap();
    let s = [w[0] + a[0], w[1] + a[1]];
    let half = (s[0] * s[0] + s[1] * s[1]) / 2.0;
    let want: f64 = ys.iter().map(|p| (s[0] * p[0] + s[1] * p[1] - half).powi(2)).sum::<f64>() / 3.0 * 3.0;
    assert!((l.penalty.double_value(&[]) - want).abs() < 1e-12, "{} vs {want}", l.penalty.double_value(&[]));
}

#[test]
fn w2_inequality_terms_and_reparametrisation() {
    let _rng = rng_lock();
    let s = Tensor::from_slice(&[-1.0f64, 0.5, 2.0, 0.0]);
    // L2: λ mean(s_+²) = 4 · (0.25 + 4)/4.
    assert!((ineq_term(&s, Regularisation::L2, 4.0).unwrap().double_value(&[]) - 4.25).abs() < 1e-12);
    // Entropic: λ mean(exp(s/λ)).
    let want = 2.0 * ((-0.5f64).exp() + 0.25f64.exp() + 1f64.exp() + 1.0) / 4.0;
    assert!((ineq_term(&s, Regularisation::Entropy, 2.0).unwrap().double_value(&[]) - want).abs() < 1e-12);
    // ψ = −φ + ε.
    let mut vs = nn::VarStore::new(Device::Cpu);
    let critic =
        W2Critic::new(&vs.root(), &linear_cfg(), &linear_cfg(), PsiParam::Reparam, W2Penalty::default()).unwrap();
    vs.double();
    set(
        &vs,
        &[
            ("phi.l0.weight", Tensor::from_slice(&[1.0f64, 2.0]).view([1, 2])),
            ("psi.l0.weight", Tensor::from_slice(&[0.5f64, 0.0]).view([1, 2])),
            ("psi.l0.bias", Tensor::from_slice(&[0.25f64])),
        ],
    );
    let x = t2(&[[1.0, 1.0], [2.0, -1.0]]);
    assert_eq!(vecf(&critic.psi(&x)), vec![-3.0 + 0.75, 0.0 + 1.25]);
}

/// For each row of `pts`, the indices `j` whose segment `[y_j, x_j]` holds it.
fn segments_holding(pts: &Tensor, x: &Tensor, y: &Tensor) -> Vec<Vec<usize>> {
    let (p, x, y) = (
        Vec::<Vec<f64>>::try_from(pts).unwrap(),
        Vec::<Vec<f64>>::try_from(x).unwrap(),
        Vec::<Vec<f64>>::try_from(y).unwrap(),
    );
    p.iter()
        .map(|q| {
            (0..x.len())
                .filter(|&j| {
                    let (d, r) = ([x[j][0] - y[j][0], x[j][1] - y[j][1]], [q[0] - y[j][0], q[1] - y[j][1]]);
                    let len2 = d[0] * d[0] + d[1] * d[1];
                    let along = d[0] * r[0] + d[1] * r[1];
                    (d[0] * r[1] - d[1] * r[0]).abs() < 1e-9 * len2.max(1.0) && (-1e-9..=len2 + 1e-9).contains(&along)
                })
                .collect()
        })
        .collect()
}

#[test]
fn w2gan_interpolates_pair_as_the_paper_by_default_and_as_the_code_on_request() {
    let _rng = rng_lock();
    tch::manual_seed(3);
    let n = 256;
    let x = Tensor::randn([n, 2], (Kind::Double, Device::Cpu));
    let y = Tensor::randn([n, 2], (Kind::Double, Device::Cpu)) * 2.0 + 1.0;
    let own = |holders: &[Vec<usize>]| holders.iter().enumerate().filter(|(i, h)| h.contains(i)).count();
    // The authors' code: x̃_i and ỹ_i both on the segment of pair i.
    let (yt, xt) = interpolated_points(&x, &y, InterpPairs::Same).unwrap();
    assert_eq!(own(&segments_holding(&yt, &x, &y)), n as usize);
    assert_eq!(own(&segments_holding(&xt, &x, &y)), n as usize);
    // 004 §8.6 / Alg. 1: ỹ_i on pair i's segment, x̃_i on another pair's;
    // a uniform permutation fixes one row on average.
    let (yt, xt) = interpolated_points(&x, &y, InterpPairs::Independent).unwrap();
    assert_eq!(own(&segments_holding(&yt, &x, &y)), n as usize);
    let holders = segments_holding(&xt, &x, &y);
    assert!(own(&holders) <= 6, "{} of {n} x̃ rows on their own pair's segment", own(&holders));
    // Every x̃ lies on exactly one pair's segment, and the pairs used are a permutation.
    let mut used: Vec<usize> = holders
        .iter()
        .map(|h| {
            assert_eq!(h.len(), 1, "x̃ on {} segments", h.len());
            h[0]
        })
        .collect();
    used.sort_unstable();
    assert_eq!(used, (0..n as usize).collect::<Vec<_>>());
    // The default and every preset with interpolation follow the paper; a
    // saved config from before the choice existed reads as the code's.
    assert_eq!(W2Penalty::default().interp_pairs, InterpPairs::Independent);
    let base = RunConfig::default();
    for m in ["w2gan", "w2fe-w2gan"] {
        match preset(m, &base).unwrap().critic {
            CriticConfig::W2 { penalty, .. } => assert_eq!(penalty.interp_pairs, InterpPairs::Independent, "{m}"),
            other => panic!("{m}: {other:?}"),
        }
    }
    let mut table = toml::to_string(&W2Penalty::default()).unwrap();
    assert!(table.contains("interp_pairs = \"independent\""), "{table}");
    table = table.lines().filter(|l| !l.starts_with("interp_pairs")).collect::<Vec<_>>().join("\n");
    let old: W2Penalty = toml::from_str(&table).unwrap();
    assert_eq!(old.interp_pairs, InterpPairs::Same);
    // Without interpolation the pairing is unused and reads as the presets write it.
    let seguy = W2Penalty::seguy(Regularisation::L2, 200.0);
    let table = toml::to_string(&seguy).unwrap();
    let table: String = table.lines().filter(|l| !l.starts_with("interp_pairs")).collect::<Vec<_>>().join("\n");
    assert_eq!(toml::from_str::<W2Penalty>(&table).unwrap(), seguy);
    // Unknown fields are still refused.
    assert!(toml::from_str::<W2Penalty>(&format!("{table}\nlambda_typo = 1.0")).is_err());
}

fn tiny_generator(vs: &nn::VarStore) -> Mlp {
    Mlp::new(&vs.root(), &MlpConfig { hidden: vec![5, 4], init: Init::Normal { std: 0.7 }, ..MlpConfig::default() })
        .unwrap()
}

fn grads_of(params: &[Tensor], loss: Tensor) -> Vec<f64> {
    for p in params {
        p.shallow_clone().zero_grad();
    }
    loss.backward();
    params.iter().flat_map(|p| vecf(&p.grad())).collect()
}

/// 003 "Connections to GANs": with K = 1 the W2-FE generator gradient is the
/// W2GAN generator gradient `∇_θ mean φ(G(z))` times 2ε (the learning-rate
/// factor).
#[test]
fn w2fe_k1_equals_w2gan_up_to_learning_rate() {
    let _rng = rng_lock();
    tch::manual_seed(5);
    let mut vs_g = nn::VarStore::new(Device::Cpu);
    let mut vs_d = nn::VarStore::new(Device::Cpu);
    let g = tiny_generator(&vs_g);
    let net = MlpConfig { hidden: vec![6], out_dim: 1, init: Init::Normal { std: 0.9 }, ..MlpConfig::default() };
    let critic = Critic::new(&vs_d.root(), &CriticConfig::w2gan(net.into())).unwrap();
    vs_g.double();
    vs_d.double();
    let params = vs_g.trainable_variables();
    let pot = |t: &Tensor| critic.generator_potential(t);
    let z = Tensor::randn([16, 2], (Kind::Double, Device::Cpu));
    let g_w2gan = grads_of(&params, pot(&g.forward_t(&z, true)).mean(Kind::Double));
    for eps in [1.0, 0.3] {
        let y = tch::no_grad(|| g.forward_t(&z, true));
        let zeta = euler_targets(&pot, &y, eps).unwrap();
        let g_fe = grads_of(&params, fit_loss(&g.forward_t(&z, true), &zeta).unwrap());
        let scale = g_w2gan.iter().map(|v| v.abs()).fold(0.0, f64::max);
        assert!(scale > 1e-6);
        for (a, b) in g_fe.iter().zip(&g_w2gan) {
            assert!((a - 2.0 * eps * b).abs() <= 1e-10 * (1.0 + scale), "ε={eps}: {a} vs 2ε·{b}");
        }
    }
}

fn small(method: &str, seed: u64) -> RunConfig {
    let mut base = RunConfig::default();
    base.train.epochs = 4;
    base.train.batch_size = 64;
    base.train.critic_iters = 2;
    base.train.eval_size = 64;
    base.train.eval_every = 2;
    base.train.seed = seed;
    base.critic.net_mut().as_mlp_mut().unwrap().hidden = vec![32, 32];
    base.generator.as_mlp_mut().unwrap().hidden = vec![32, 32];
    base.step = StepConfig::euler(1.0, 2);
    preset(method, &base).unwrap()
}

fn generator_params(t: &Trainer) -> Vec<f64> {
    t.generator().parameters().iter().flat_map(vecf).collect()
}

fn trained(cfg: RunConfig) -> Trainer {
    let mut t = Trainer::new(cfg, Device::Cpu).unwrap();
    t.fit(&mut []).unwrap();
    t
}

/// 002 Algorithm 2 read literally: in outer iteration k the anchor
/// `g_{θ^{k−1}}` is the generator as the phase begins, so Φ_p's objective has
/// no `Φ_p(g_θ) − Φ_p(g_{θ^{k−1}})` part and, for a linear Φ_p(x) = a·x + b,
/// reduces to `−|a|²/(2h)`: Φ_p never sees where the generator goes. With
/// the anchor lagged one phase (the earlier reading) it does.
#[test]
fn sbe_anchor_is_the_generator_as_the_phase_begins() {
    let _rng = rng_lock();
    let potential_after = |reading: SbeReading, target_std: f64| {
        let mut cfg = small("sbe", 4);
        cfg.train.epochs = 6;
        // A target far narrower or far wider than the generator's first
        // samples: the generator moves inwards or outwards. Φ_p's optimizer
        // shares the generator's settings (App. G); a large step makes the
        // generator's motion large against Φ_p's initial slope.
        cfg.target = Distribution::Normal(NormalSpec { normal: vec![2], std: target_std });
        cfg.train.generator_opt.lr = 0.05;
        if let StepConfig::SemiBackward { potential, reading: r, .. } = &mut cfg.step {
            *potential =
                MlpConfig { hidden: vec![], out_dim: 1, init: Init::Normal { std: 0.5 }, ..MlpConfig::default() }
                    .into();
            *r = reading;
        }
        let t = trained(cfg);
        let (_, vs) = t.method().stores().into_iter().find(|(p, _)| *p == "sbe").unwrap();
        let mut vars: Vec<(String, Tensor)> = vs.variables().into_iter().collect();
        vars.sort_by(|a, b| a.0.cmp(&b.0));
        vars.iter().flat_map(|(_, v)| vecf(v)).collect::<Vec<f64>>()
    };
    assert_eq!(
        SbeReading::Algorithm2,
        match preset("sbe", &RunConfig::default()).unwrap().step {
            StepConfig::SemiBackward { reading, .. } => reading,
            other => panic!("{other:?}"),
        }
    );
    let (slow, fast) = (potential_after(SbeReading::Algorithm2, 0.1), potential_after(SbeReading::Algorithm2, 10.0));
    assert_eq!(slow, fast, "Φ_p depends on where the generator went");
    // With one generator step per phase (App. G), Proposition 3's min–max is Algorithm 2.
    assert_eq!(potential_after(SbeReading::MinMax, 10.0), fast);
    let (slow, fast) = (potential_after(SbeReading::Lagged, 0.1), potential_after(SbeReading::Lagged, 10.0));
    let gap = slow.iter().zip(&fast).map(|(a, b)| (a - b).abs()).fold(0.0, f64::max);
    assert!(gap > 1e-5, "lagged anchor: Φ_p moved by {gap} between targets");
}

/// 002: with h → ∞ (and with ℓ = 1 for any h, since the proximal term and its
/// gradient vanish where the phase starts) RWP is the plain GAN step.
#[test]
fn rwp_reduces_to_the_gan_step() {
    let _rng = rng_lock();
    for (gan, rwp) in [("gan", "rwp-gan"), ("wgan-gp", "rwp-wgan-gp"), ("dragan", "rwp-dragan")] {
        let mut plain = small(gan, 9);
        plain.step = StepConfig::Adversarial { k: 1 };
        let reference = generator_params(&trained(plain));
        for h in [f64::INFINITY, 0.2] {
            let mut cfg = small(rwp, 9);
            cfg.step = StepConfig::Proximal { h, iters: 1 };
            let got = generator_params(&trained(cfg));
            let diff = got.iter().zip(&reference).map(|(a, b)| (a - b).abs()).fold(0.0, f64::max);
            assert!(got.len() == reference.len() && diff == 0.0, "{rwp} with h={h}, ℓ=1 differs from {gan} by {diff}");
        }
        // ℓ = 3 with a finite h is a different algorithm.
        let mut cfg = small(rwp, 9);
        cfg.step = StepConfig::Proximal { h: 0.2, iters: 3 };
        let got = generator_params(&trained(cfg));
        let diff = got.iter().zip(&reference).map(|(a, b)| (a - b).abs()).fold(0.0, f64::max);
        assert!(diff > 1e-6, "{rwp} with ℓ = 3 should move differently (max diff {diff})");
    }
}

#[test]
fn proximal_and_sbe_terms_match_hand_formulas() {
    let _rng = rng_lock();
    let out = t2(&[[1.0, 2.0], [0.0, 0.0]]);
    let prev = t2(&[[0.0, 0.0], [3.0, 4.0]]);
    // (1/(2h)) · mean(|Δ|²) = (1/(2·0.5)) · (5 + 25)/2 = 15.
    assert!((proximal_term(&out, &prev, 0.5).unwrap().double_value(&[]) - 15.0).abs() < 1e-12);
    assert_eq!(proximal_term(&out, &prev, f64::INFINITY).unwrap().double_value(&[]), 0.0);
    // Φ(x) = c·x: (1/h) mean(c·(out − prev) − |c|²/2).
    let c = Tensor::from_slice(&[0.5f64, -1.0]);
    let phi = |t: &Tensor| t.matmul(&c);
    let want = ((0.5 * 1.0 - 2.0 - 0.625) + (-0.5 * 3.0 + 4.0 - 0.625)) / 2.0 / 0.25;
    assert!((sbe_potential_objective(&phi, &out, &prev, 0.25).unwrap().double_value(&[]) - want).abs() < 1e-12);
}

#[test]
fn gan_and_dragan_losses_match_closed_forms() {
    let _rng = rng_lock();
    let mut vs = nn::VarStore::new(Device::Cpu);
    let d = GanCritic::new(&vs.root(), &linear_cfg(), GanLoss::Standard).unwrap();
    let mut vs2 = nn::VarStore::new(Device::Cpu);
    let dr = GanCritic::new(&vs2.root(), &linear_cfg(), GanLoss::Dragan { lambda: 10.0, c: 0.5 }).unwrap();
    vs.double();
    vs2.double();
    let w = [3.0, 4.0];
    for v in [&vs, &vs2] {
        set(v, &[("l0.weight", Tensor::from_slice(&w).view([1, 2])), ("l0.bias", Tensor::from_slice(&[0.5f64]))]);
    }
    let x = t2(&[[1.0, 0.0], [0.0, -1.0]]);
    let y = t2(&[[0.0, 0.0], [-1.0, 1.0]]);
    let sp = |v: f64| (1.0 + v.exp()).ln();
    let dx = [3.5, -3.5];
    let dy = [0.5, 1.5];
    let want = (sp(-dx[0]) + sp(-dx[1])) / 2.0 + (sp(dy[0]) + sp(dy[1])) / 2.0;
    let l = d.loss(&x, &y).unwrap();
    assert!((l.loss.double_value(&[]) - want).abs() < 1e-12);
    assert!((l.estimate.double_value(&[]) + want).abs() < 1e-12);
    // Non-saturating generator loss softplus(−D(y)).
    assert!((vecf(&d.generator_potential(&y))[1] - sp(-1.5)).abs() < 1e-12);
    // DRAGAN on a linear D: |∇D| = |w| = 5 everywhere, penalty λ(5 − 1)² = 160.
    let l = dr.loss(&x, &y).unwrap();
    assert!((l.penalty.double_value(&[]) - 160.0).abs() < 1e-9, "{}", l.penalty.double_value(&[]));
}

#[test]
fn barycentric_weights_and_discrete_ot() {
    let _rng = rng_lock();
    let z = t2(&[[0.0, 0.0], [1.0, 0.0]]);
    let x = t2(&[[0.0, 1.0], [1.0, 1.0]]);
    // slack = φ + ψ − |z − x|²/2 = (0.2 + 0.5 − 0.5, 1.0 − 0.3 − 0.5).
    let w = plan_weights(
        &Tensor::from_slice(&[0.2f64, 1.0]),
        &Tensor::from_slice(&[0.5f64, -0.3]),
        &z,
        &x,
        Regularisation::L2,
        10.0,
    )
    .unwrap();
    let wv = vecf(&w);
    assert!((wv[0] - 2.0).abs() < 1e-12 && (wv[1] - 2.0).abs() < 1e-12, "{wv:?}");
    let out = t2(&[[0.0, 0.0], [1.0, 3.0]]);
    // mean(w · |x − out|²/2) = (2·0.5 + 2·2)/2.
    assert!((barycentric_loss(&x, &out, &w).unwrap().double_value(&[]) - 2.5).abs() < 1e-12);

    // Discrete-OT recovers a shift's matching and has zero error against itself.
    tch::manual_seed(1);
    let src = Tensor::randn([40, 2], (Kind::Double, Device::Cpu));
    let perm = Tensor::randperm(40, (Kind::Int64, Device::Cpu));
    let tgt = src.index_select(0, &perm) + 0.01;
    let mapped = discrete_ot_map(&src, &tgt).unwrap();
    assert!((&mapped - (&src + 0.01)).abs().max().double_value(&[]) < 1e-12);
    assert_eq!(map_error(&mapped, &mapped).unwrap(), 0.0);
    assert!((map_error(&src, &mapped).unwrap() - 2.0 * 0.01f64.powi(2)).abs() < 1e-12);
}

#[test]
fn every_method_trains_on_cpu_and_records_finite_history() {
    let _rng = rng_lock();
    for m in METHODS.iter().map(|m| m.name) {
        let t = trained(small(m, 3));
        let h = t.history();
        assert_eq!(h.rows.iter().map(|r| r.epoch).collect::<Vec<_>>(), vec![0, 2, 4], "{m}");
        let last = h.rows.last().unwrap();
        assert!(last.w1.is_finite() && last.w1 > 0.0 && last.critic_loss.is_finite(), "{m}: {last:?}");
        if !m.starts_with("baryot") {
            assert!(last.generator_loss.is_finite(), "{m}: {last:?}");
        }
    }
}

#[test]
fn incompatible_combinations_are_refused_before_training() {
    let mut cfg = small("w1fe-lp", 0);
    cfg.step = StepConfig::Barycentric { dual_epochs: 2 };
    let e = Trainer::new(cfg, Device::Cpu).err().unwrap().to_string();
    assert!(e.contains("`step`") && e.contains("w2"), "{e}");
    let mut cfg = small("baryot-l2", 0);
    cfg.step = StepConfig::Barycentric { dual_epochs: 10 };
    assert!(cfg.validate().unwrap_err().to_string().contains("step.dual_epochs"));
    let mut cfg = small("sbe", 0);
    if let StepConfig::SemiBackward { h, .. } = &mut cfg.step {
        *h = f64::INFINITY;
    }
    assert!(cfg.validate().unwrap_err().to_string().contains("step.h"));
    let mut cfg = small("rwp-gan", 0);
    cfg.step = StepConfig::Proximal { h: -1.0, iters: 5 };
    assert!(cfg.validate().unwrap_err().to_string().contains("step.h"));
    let e = preset("w3gan", &RunConfig::default()).unwrap_err().to_string();
    assert!(e.contains("w3gan") && e.contains("w2gan"), "{e}");
    // A method round-trips through TOML with its critic and step.
    let cfg = small("w2gan", 0);
    assert_eq!(RunConfig::from_toml(&cfg.to_toml().unwrap(), "m.toml").unwrap(), cfg);
}
