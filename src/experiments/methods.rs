//! Every method of the four papers as a choice of one variant per step.
//!
//! | name | critic (step 1) | particles and fit (steps 2–3) | source |
//! | --- | --- | --- | --- |
//! | `w1fe-lp`, `w1fe-gp`, `w1fe-clip` | W1 with LP / GP / clipping | Euler ε, K persistent MSE steps | 000 Alg. 1 |
//! | `wgan-lp`, `wgan-gp`, `wgan` | the same | WGAN loss, K steps on one batch (K > 1: naive persistent WGAN) | 000 Prop. 4.1, 001 |
//! | `w2fe` | W2 dual (φ, ψ), L2 inequality penalty | Euler ε, K persistent MSE steps | 003 Alg. 1 |
//! | `w2gan` | W2 dual, ψ = −φ + ε, inequality + interpolation + equality penalties | W2GAN loss `mean φ(G(z))` | 004 eq. 4–5, 28 |
//! | `gan`, `dragan` | GAN discriminator (non-saturating), DRAGAN penalty | GAN loss | 002 §3 |
//! | `rwp-gan`, `rwp-dragan` | GAN / DRAGAN | RWP, h = 0.2, ℓ = 5 | 002 App. C |
//! | `rwp-wgan-gp` | W1-GP | RWP, h = 0.1, ℓ = 10 | 002 App. C |
//! | `sbe` | W1-GP | SBE, h = 0.2, Φ_p 1×128 MLP, 5 Φ_p steps | 002 App. G |
//! | `baryot-l2`, `baryot-entropy` | W2 dual between source and data, L2 / entropic | barycentric projection, after half the epochs of dual training | Seguy et al. 2018, 004 |
//!
//! A preset keeps the base config's data, networks and schedule and replaces
//! the critic and the step; K (or ℓ) comes from the base step when it has one.

use crate::critic::{Constraint, CriticConfig, GanLoss, PsiParam, Regularisation, W2Penalty};
use crate::error::{Error, Result};
use crate::flow::StepConfig;
use crate::nets::{Activation, Init, MlpConfig, NetConfig};
use crate::train::RunConfig;

/// Every preset name.
pub const METHODS: &[&str] = &[
    "w1fe-lp",
    "w1fe-gp",
    "w1fe-clip",
    "wgan-lp",
    "wgan-gp",
    "wgan",
    "w2fe",
    "w2gan",
    "gan",
    "dragan",
    "rwp-gan",
    "rwp-dragan",
    "rwp-wgan-gp",
    "sbe",
    "baryot-l2",
    "baryot-entropy",
];

/// DRAGAN's defaults (Kodali et al.): λ = 10, perturbation scale 0.5.
const DRAGAN: GanLoss = GanLoss::Dragan { lambda: 10.0, c: 0.5 };

/// `base` with the critic and step of method `name`.
pub fn preset(name: &str, base: &RunConfig) -> Result<RunConfig> {
    let mut cfg = base.clone();
    let net = base.critic.net().clone();
    let k = base.step.k();
    let w1 = |constraint| CriticConfig::W1 { net: net.clone(), constraint };
    let lp = Constraint::Lp { lambda: 10.0 };
    let gp = Constraint::Gp { lambda: 10.0 };
    let clip = Constraint::Clip { c: 0.01 };
    let euler = StepConfig::Euler { eps: 1.0, k };
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
        other => {
            return Err(Error::config(
                "method",
                format!("unknown method `{other}`; expected one of {}", METHODS.join(", ")),
            ))
        }
    };
    cfg.critic = critic;
    cfg.step = step;
    cfg.validate()?;
    Ok(cfg)
}
