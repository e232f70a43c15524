//! A method's generator step — steps 2 and 3 of the crate docs — as one
//! value that owns the state the step needs: [`GeneratorStep`].
//!
//! | variant | state it owns | one epoch's generator phase |
//! | --- | --- | --- |
//! | `Euler` | — | targets `ζ = y − ε∇φ(y)`, K persistent fit steps ([`crate::flow::euler`]) |
//! | `Adversarial` | — | K steps of `mean φ(G(z))` on one batch ([`crate::flow::adversarial`]) |
//! | `Proximal` | the frozen previous generator | ℓ RWP steps ([`crate::flow::proximal`]) |
//! | `SemiBackward` | the frozen previous generator, Φ_p and its optimizer | Φ_p ascent, then ℓ SBE steps |
//! | `Barycentric` | — | the dual on (source, data) for `dual_epochs`, then the barycentric map ([`crate::flow::barycentric`]) |
//!
//! The trainer builds it from the run's [`StepConfig`] and calls
//! [`GeneratorStep::run`] once per epoch; a step without its state (SBE
//! without a potential) cannot be built. The functions of [`crate::flow`]
//! stay pure in the potential and the samples.

use super::guard::{grad_norm, Watch};
use crate::config::RunConfig;
use crate::critic::Critic;
use crate::data::Sampler;
use crate::error::{Error, Result};
use crate::flow::{adversarial, barycentric, euler, proximal, SbeReading, StepConfig};
use crate::nets::{Net, Role};
use crate::optim::Adam;
use tch::{nn, Device, Kind, Tensor};

/// A frozen copy of the generator, refreshed at the start of each proximal
/// phase (RWP's and SBE's `G_{θ^{k−1}}`).
pub struct FrozenGenerator {
    vs: nn::VarStore,
    net: Net,
}

impl FrozenGenerator {
    fn new(cfg: &RunConfig, g_vs: &nn::VarStore, device: Device) -> Result<Self> {
        let mut vs = nn::VarStore::new(device);
        let net = Net::new(&(vs.root() / "generator"), &cfg.generator, Role::Generator, "generator")?;
        vs.copy(g_vs)?;
        vs.freeze();
        Ok(FrozenGenerator { vs, net })
    }

    /// `G_prev(z)`, without gradient.
    fn forward(&self, z: &Tensor) -> Tensor {
        tch::no_grad(|| self.net.forward_t(z, true))
    }
}

/// SBE's potential Φ_p and its optimizer.
pub struct SbePotential {
    vs: nn::VarStore,
    net: Net,
    opt: Adam,
}

impl SbePotential {
    /// `Φ_p(t)`, one value per row (a NaN added under the test hook).
    fn forward(&self, t: &Tensor, poison: bool) -> Tensor {
        let out = self.net.forward_t(t, true).squeeze_dim(-1);
        if poison {
            out + f64::NAN
        } else {
            out
        }
    }
}

/// `iters` ascent steps of Φ_p on fresh batches, the current generator
/// against the anchor `prev`; records the last objective.
#[allow(clippy::too_many_arguments)]
fn fit_potential(
    sbe: &mut SbePotential,
    prev: &FrozenGenerator,
    gen: &dyn Fn(&Tensor) -> Tensor,
    source: &mut dyn Sampler,
    n: i64,
    device: Device,
    h: f64,
    iters: usize,
    poison: bool,
    watch: &mut Watch,
) -> Result<()> {
    let mut objective = None;
    for _ in 0..iters {
        let z = source.sample(n, device)?;
        let out = tch::no_grad(|| gen(&z));
        let before = prev.forward(&z);
        sbe.opt.zero_grad();
        // Ascent: minimise the negated objective.
        let obj = proximal::sbe_potential_objective(&|t: &Tensor| sbe.forward(t, poison), &out, &before, h)?;
        (-&obj).f_backward()?;
        sbe.opt.step()?;
        objective = Some(obj.detach());
    }
    if let Some(obj) = objective {
        watch.push("potential", "potential objective", &obj)?;
        watch.push("potential", "potential gradient norm", &grad_norm(sbe.opt.params())?)?;
    }
    Ok(())
}

/// A method's generator step with its state. See the [module docs](self).
pub enum GeneratorStep {
    Euler {
        eps: f64,
        k: usize,
        tol: Option<f64>,
    },
    Adversarial {
        k: usize,
    },
    Proximal {
        h: f64,
        iters: usize,
        prev: FrozenGenerator,
    },
    SemiBackward {
        h: f64,
        iters: usize,
        potential_iters: usize,
        reading: SbeReading,
        prev: FrozenGenerator,
        potential: Box<SbePotential>,
    },
    Barycentric {
        dual_epochs: usize,
    },
}

/// The steps one epoch runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Phase {
    /// Critic updates (step 1).
    pub critic_iters: usize,
    /// Whether steps 2–3 run.
    pub fit_generator: bool,
    /// The critic compares the data with the *source* samples (Barycentric-OT's dual).
    pub critic_on_source: bool,
}

/// What the trainer lends a step for one epoch.
pub struct StepInputs<'a> {
    pub generator: &'a Net,
    pub g_vs: &'a nn::VarStore,
    pub opt: &'a mut Adam,
    pub critic: &'a Critic,
    pub source: &'a mut dyn Sampler,
    pub target: &'a mut dyn Sampler,
    pub batch_size: i64,
    pub device: Device,
    pub watch: &'a mut Watch,
    /// Test hook: add a NaN to the generator's (or Φ_p's) output.
    pub poison_generator: bool,
    pub poison_potential: bool,
}

impl GeneratorStep {
    /// The step of `cfg.step`, its state built on `device`: Φ_p drawn from
    /// libtorch's generator (seeded by the trainer), the frozen generator a
    /// copy of `g_vs`. Built after the generator and the critic; the frozen
    /// copy is built last, so its draws change no later draw.
    pub fn new(cfg: &RunConfig, g_vs: &nn::VarStore, device: Device) -> Result<Self> {
        Ok(match &cfg.step {
            StepConfig::Euler { eps, k, tol } => GeneratorStep::Euler { eps: *eps, k: *k, tol: *tol },
            StepConfig::Adversarial { k } => GeneratorStep::Adversarial { k: *k },
            StepConfig::Proximal { h, iters } => {
                GeneratorStep::Proximal { h: *h, iters: *iters, prev: FrozenGenerator::new(cfg, g_vs, device)? }
            }
            StepConfig::SemiBackward { h, iters, potential, potential_iters, reading } => {
                let vs = nn::VarStore::new(device);
                let net = Net::new(&(vs.root() / "potential"), potential, Role::Critic, "step.potential")?;
                // 002 App. G: the same Adam settings for all three networks.
                let opt = Adam::new(vs.trainable_variables(), cfg.train.generator_opt)?;
                let potential = Box::new(SbePotential { vs, net, opt });
                GeneratorStep::SemiBackward {
                    h: *h,
                    iters: *iters,
                    potential_iters: *potential_iters,
                    reading: *reading,
                    prev: FrozenGenerator::new(cfg, g_vs, device)?,
                    potential,
                }
            }
            StepConfig::Barycentric { dual_epochs } => GeneratorStep::Barycentric { dual_epochs: *dual_epochs },
        })
    }

    /// What the epoch after `epoch` completed epochs runs.
    pub fn phase(&self, epoch: usize, critic_iters: usize) -> Phase {
        match *self {
            // Barycentric-OT: the dual between source and data first, then
            // the map with the critic frozen.
            GeneratorStep::Barycentric { dual_epochs } if epoch < dual_epochs => {
                Phase { critic_iters, fit_generator: false, critic_on_source: true }
            }
            GeneratorStep::Barycentric { .. } => Phase { critic_iters: 0, fit_generator: true, critic_on_source: true },
            _ => Phase { critic_iters, fit_generator: true, critic_on_source: false },
        }
    }

    /// Whether the step has a potential Φ_p (SBE).
    pub fn has_potential(&self) -> bool {
        matches!(self, GeneratorStep::SemiBackward { .. })
    }

    /// The var stores the step owns, by checkpoint prefix (`prev`, `sbe`).
    pub fn stores(&self) -> Vec<(&'static str, &nn::VarStore)> {
        match self {
            GeneratorStep::Proximal { prev, .. } => vec![("prev", &prev.vs)],
            GeneratorStep::SemiBackward { prev, potential, .. } => vec![("prev", &prev.vs), ("sbe", &potential.vs)],
            _ => vec![],
        }
    }

    /// The optimizers the step owns, by checkpoint prefix (`opt_sbe`).
    pub fn optimizers(&self) -> Vec<(&'static str, &Adam)> {
        match self {
            GeneratorStep::SemiBackward { potential, .. } => vec![("opt_sbe", &potential.opt)],
            _ => vec![],
        }
    }

    /// [`GeneratorStep::optimizers`], mutable (for loading a checkpoint).
    pub fn optimizers_mut(&mut self) -> Vec<(&'static str, &mut Adam)> {
        match self {
            GeneratorStep::SemiBackward { potential, .. } => vec![("opt_sbe", &mut potential.opt)],
            _ => vec![],
        }
    }

    /// Steps 2 and 3 of one epoch; returns the last generator loss (detached).
    pub fn run(&mut self, inputs: StepInputs<'_>) -> Result<Tensor> {
        let StepInputs { generator, g_vs, opt, critic, source, target, batch_size: n, device, watch, .. } = inputs;
        let (poison, poison_potential) = (inputs.poison_generator, inputs.poison_potential);
        let potential = |t: &Tensor| critic.generator_potential(t);
        let gen = |t: &Tensor| {
            let out = generator.forward_t(t, true);
            if poison {
                out + f64::NAN
            } else {
                out
            }
        };
        let loss = match self {
            GeneratorStep::Euler { eps, k, tol } => {
                let z = source.sample(n, device)?;
                let y = tch::no_grad(|| gen(&z));
                watch.push("generator", "generated samples", &y)?;
                let targets = euler::euler_targets(&potential, &y, *eps)?;
                watch.push("generator", "moved particles", &targets)?;
                match tol {
                    None => euler::persistent_fit(&gen, opt, &z, &targets, *k)?,
                    Some(tol) => euler::fit_to_tolerance(&gen, opt, &z, &y, &targets, *tol, *k)?.0,
                }
            }
            GeneratorStep::Adversarial { k } => {
                let z = source.sample(n, device)?;
                adversarial::persistent_adversarial(&potential, &gen, opt, &z, *k)?
            }
            GeneratorStep::Proximal { h, iters, prev } => {
                prev.vs.copy(g_vs)?;
                let mut last = Tensor::f_zeros([], (Kind::Float, device))?;
                for _ in 0..*iters {
                    let z = source.sample(n, device)?;
                    let before = prev.forward(&z);
                    last = opt.minimise(|| proximal::rwp_loss(&potential, &gen(&z), &before, *h))?;
                }
                last
            }
            GeneratorStep::SemiBackward { h, iters, potential_iters, reading, prev, potential: sbe } => {
                let (h, reading, p_iters) = (*h, *reading, *potential_iters);
                if reading != SbeReading::Lagged {
                    // The anchor is the generator as the phase begins.
                    prev.vs.copy(g_vs)?;
                }
                fit_potential(sbe, prev, &gen, &mut *source, n, device, h, p_iters, poison_potential, watch)?;
                if reading == SbeReading::Lagged {
                    // The next phase's Φ_p compares against the generator as it is now.
                    prev.vs.copy(g_vs)?;
                }
                let mut last = Tensor::f_zeros([], (Kind::Float, device))?;
                for i in 0..*iters {
                    if reading == SbeReading::MinMax && i > 0 {
                        fit_potential(sbe, prev, &gen, &mut *source, n, device, h, p_iters, poison_potential, watch)?;
                    }
                    let z = source.sample(n, device)?;
                    let phi_p = |t: &Tensor| sbe.forward(t, poison_potential);
                    last = opt.minimise(|| proximal::sbe_generator_loss(&potential, &phi_p, &gen(&z), h))?;
                }
                last
            }
            GeneratorStep::Barycentric { .. } => {
                let w2 = critic.as_w2().ok_or_else(|| Error::config("step", "barycentric needs a w2 critic"))?;
                let x = target.sample(n, device)?;
                let z = source.sample(n, device)?;
                let w = tch::no_grad(|| -> Result<Tensor> {
                    let p = w2.penalty;
                    barycentric::plan_weights(&w2.phi(&z), &w2.psi(&x), &z, &x, p.regularisation, p.lambda_ineq)
                })?;
                opt.minimise(|| barycentric::barycentric_loss(&x, &gen(&z), &w))?
            }
        };
        watch.push("generator", "generator loss", &loss)?;
        watch.push("generator", "generator gradient norm", &grad_norm(opt.params())?)?;
        Ok(loss)
    }
}
