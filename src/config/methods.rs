//! Every method of the four papers as a choice of one variant per step.
//!
//! | name | critic (step 1) | particles and fit (steps 2–3) | source |
//! | --- | --- | --- | --- |
//! | `w1fe-lp`, `w1fe-gp`, `w1fe-clip` | W1 with LP / GP / clipping | Euler ε, K persistent MSE steps | 000 Alg. 1 |
//! | `wgan-lp`, `wgan-gp`, `wgan` | the same | WGAN loss, K steps on one batch (K > 1: naive persistent WGAN) | 000 Prop. 4.1, 001 |
//! | `w2fe` | W2 dual (φ, ψ), L2 inequality penalty | Euler ε, K persistent MSE steps | 003 Alg. 1 |
//! | `w2fe-w2gan` | W2GAN's critic (ψ = −φ + ε, inequality + interpolation + equality penalties) | Euler ε, K persistent MSE steps | 003 with 004's critic, as the authors' `--solver w2 --follow_ode 1` |
//! | `w2gan` | W2 dual, ψ = −φ + ε, inequality + interpolation (independent pairs, [`crate::critic::InterpPairs`]) + equality penalties | W2GAN loss `mean φ(G(z))` | 004 eq. 4–5, 28 |
//! | `gan`, `dragan` | GAN discriminator (non-saturating), DRAGAN penalty | GAN loss | 002 §3 |
//! | `rwp-gan`, `rwp-dragan` | GAN / DRAGAN | RWP, h = 0.2, ℓ = 5 | 002 App. C |
//! | `rwp-wgan-gp` | W1-GP | RWP, h = 0.1, ℓ = 10 | 002 App. C |
//! | `sbe` | W1-GP | SBE, h = 0.2, Φ_p 1×128 MLP, 5 Φ_p steps, anchor at the phase start ([`SbeReading::Algorithm2`]) | 002 Alg. 2, App. G |
//! | `baryot-l2`, `baryot-entropy` | W2 dual between source and data, L2 / entropic | barycentric projection, after half the epochs of dual training | Seguy et al. 2018, 004 |
//!
//! A preset keeps the base config's data, networks and schedule and replaces
//! the critic and the step; K (or ℓ) comes from the base step when it has one.

use super::RunConfig;
use crate::critic::{Constraint, CriticConfig, GanLoss, PsiParam, Regularisation, W2Penalty};
use crate::error::{Error, Result};
use crate::flow::{SbeReading, StepConfig};
use crate::nets::{Activation, Init, MlpConfig, NetConfig};

/// A preset: its name (what configs, the CLI and sweeps take), one line on
/// what it is, and where it comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Method {
    pub name: &'static str,
    pub description: &'static str,
    pub source: &'static str,
}

const fn m(name: &'static str, description: &'static str, source: &'static str) -> Method {
    Method { name, description, source }
}

/// Every preset, in the order of the table above.
pub const METHODS: &[Method] = &[
    m("w1fe-lp", "W1 forward Euler with persistency K, Lipschitz-penalty critic", "000 Alg. 1"),
    m("w1fe-gp", "W1 forward Euler with persistency K, gradient-penalty critic", "000 Alg. 1, 001"),
    m("w1fe-clip", "W1 forward Euler with persistency K, weight-clipped critic", "000 Alg. 1"),
    m("wgan-lp", "WGAN-LP; K > 1 repeats the generator step on one batch (naive persistent)", "000 Prop. 4.1"),
    m("wgan-gp", "WGAN-GP; K > 1 repeats the generator step on one batch (naive persistent)", "001, 002"),
    m("wgan", "WGAN with weight clipping", "000 §5"),
    m("w2fe", "W2 forward Euler with persistency K, Seguy's L2 dual (φ, ψ independent)", "003 Alg. 1"),
    m("w2fe-w2gan", "W2 forward Euler with persistency K on W2GAN's critic (K = 1 is W2GAN)", "003, authors' code"),
    m("w2gan", "W2GAN: W2 dual with ψ = −φ + ε, inequality, interpolation and equality penalties", "004 eq. 4-5, 28"),
    m("gan", "standard GAN, non-saturating generator loss", "002 §3"),
    m("dragan", "DRAGAN: GAN with a gradient penalty around the data", "002 §3"),
    m("rwp-gan", "relaxed Wasserstein proximal on the standard GAN (h = 0.2, ℓ = 5)", "002 Alg. 1, App. C"),
    m("rwp-dragan", "relaxed Wasserstein proximal on DRAGAN (h = 0.2, ℓ = 5)", "002 Alg. 1, App. C"),
    m("rwp-wgan-gp", "relaxed Wasserstein proximal on WGAN-GP (h = 0.1, ℓ = 10)", "002 Alg. 1, App. C"),
    m("sbe", "semi-backward Euler: a potential Φ_p and the generator, on a WGAN-GP critic", "002 Alg. 2, App. G"),
    m("baryot-l2", "Barycentric-OT: L2-regularised W2 dual, then the barycentric projection", "Seguy et al. 2018, 004"),
    m("baryot-entropy", "Barycentric-OT with the entropic dual", "Seguy et al. 2018, 004"),
];

/// The method called `name`.
pub fn method(name: &str) -> Result<&'static Method> {
    METHODS.iter().find(|m| m.name == name).ok_or_else(|| {
        let names: Vec<&str> = METHODS.iter().map(|m| m.name).collect();
        Error::config("method", format!("unknown method `{name}`; expected one of {}", names.join(", ")))
    })
}

/// Every preset's name.
pub fn names() -> Vec<&'static str> {
    METHODS.iter().map(|m| m.name).collect()
}

/// DRAGAN's defaults (Kodali et al.): λ = 10, perturbation scale 0.5.
const DRAGAN: GanLoss = GanLoss::Dragan { lambda: 10.0, c: 0.5 };

/// `base` with the critic and step of method `name`.
pub fn preset(name: &str, base: &RunConfig) -> Result<RunConfig> {
    method(name)?;
    let mut cfg = base.clone();
    let net = base.critic.net().clone();
    let k = base.step.k();
    let w1 = |constraint| CriticConfig::W1 { net: net.clone(), constraint };
    let lp = Constraint::Lp { lambda: 10.0 };
    let gp = Constraint::Gp { lambda: 10.0 };
    let clip = Constraint::Clip { c: 0.01 };
    let euler = StepConfig::euler(1.0, k);
    let adv = StepConfig::Adversarial { k };
    let (critic, step) = match name {
        "w1fe-lp" => (w1(lp), euler),
        "w1fe-gp" => (w1(gp), euler),
        "w1fe-clip" => (w1(clip), euler),
        "wgan-lp" => (w1(lp), adv),
        "wgan-gp" => (w1(gp), adv),
        "wgan" => (w1(clip), adv),
        // 003 Alg. 1: (φ_w, ψ_v) two networks, Seguy et al.'s L2 penalty;
        // λ = 200 as the authors' `--lambda_ineq` default.
        "w2fe" => (
            CriticConfig::W2 {
                net: net.clone(),
                psi_net: net.clone(),
                psi: PsiParam::Independent,
                penalty: W2Penalty::seguy(Regularisation::L2, 200.0),
            },
            euler,
        ),
        // The authors run W2-FE with the full W2GAN critic (REFERENCE.md:
        // `--solver w2 --follow_ode 1`); with K = 1 it is W2GAN's step.
        "w2fe-w2gan" => (CriticConfig::w2gan(net.clone()), euler),
        "w2gan" => (CriticConfig::w2gan(net.clone()), adv),
        "gan" => (CriticConfig::Gan { net: net.clone(), loss: GanLoss::Standard }, adv),
        "dragan" => (CriticConfig::Gan { net: net.clone(), loss: DRAGAN }, adv),
        // 002 App. C: Standard and DRAGAN h = 0.2, ℓ = 5; WGAN-GP h = 0.1, ℓ = 10.
        "rwp-gan" => {
            (CriticConfig::Gan { net: net.clone(), loss: GanLoss::Standard }, StepConfig::Proximal { h: 0.2, iters: 5 })
        }
        "rwp-dragan" => {
            (CriticConfig::Gan { net: net.clone(), loss: DRAGAN }, StepConfig::Proximal { h: 0.2, iters: 5 })
        }
        "rwp-wgan-gp" => (w1(gp), StepConfig::Proximal { h: 0.1, iters: 10 }),
        // 002 App. G: h = 0.2, one generator step, 5 potential steps, a
        // one-hidden-layer MLP potential (layer norm not implemented here);
        // on images from a DCGAN generator, Φ_p is a DCGAN critic.
        "sbe" => (
            w1(gp),
            StepConfig::SemiBackward {
                h: 0.2,
                iters: 1,
                potential: match &base.generator {
                    NetConfig::Mlp(g) => MlpConfig {
                        in_dim: g.out_dim,
                        out_dim: 1,
                        hidden: vec![128],
                        activation: Activation::Relu,
                        batch_norm: false,
                        residual: false,
                        tanh_scale: None,
                        init: Init::Torch,
                    }
                    .into(),
                    NetConfig::Dcgan(g) => g.clone().into(),
                },
                potential_iters: 5,
                reading: SbeReading::Algorithm2,
            },
        ),
        "baryot-l2" | "baryot-entropy" => {
            let (reg, lambda) = if name == "baryot-l2" {
                (Regularisation::L2, 200.0)
            } else {
                // Entropic weights exp(s/λ) need λ on the scale of the cost.
                (Regularisation::Entropy, 0.05)
            };
            (
                CriticConfig::W2 {
                    net: net.clone(),
                    psi_net: net.clone(),
                    psi: PsiParam::Independent,
                    penalty: W2Penalty::seguy(reg, lambda),
                },
                StepConfig::Barycentric { dual_epochs: base.train.epochs / 2 },
            )
        }
        // `method(name)` above refused unknown names; a name in METHODS
        // without a branch here is a bug, reported rather than panicking.
        other => return Err(Error::input(format!("method `{other}` has no preset"))),
    };
    cfg.critic = critic;
    cfg.step = step;
    cfg.validate()?;
    Ok(cfg)
}
