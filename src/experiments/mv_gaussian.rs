//! 004 §6.2, Fig. 5: from the Gaussian fitted to a digit set (its mean and
//! covariance, the authors' ridge 0.1 on the diagonal) to the digits
//! themselves, with W2GAN and Barycentric-OT. The generator is the
//! identity-initialised residual MLP `z + 2·tanh(H(z))` of 004 App. 8.9.2;
//! W2GAN's penalties there are λ_ineq = λ_eq = λ_ε = 10. Both methods see the
//! same fixed Gaussian draws, so the sample grid compares their maps on the
//! same inputs: the draws, Barycentric-OT's images, W2GAN's images.

use super::{check_methods, DataSource, Experiment, FinishedRun, Report, RunSpec};
use crate::config::{preset, RunConfig};
use crate::critic::{CriticConfig, PsiParam};
use crate::data::{DataSpec, Dataset};
use crate::error::{Error, Result};
use crate::flow::StepConfig;
use crate::nets::MlpConfig;
use crate::optim::AdamConfig;
use crate::plot::{Figure, ImageGrid};
use crate::runs::RunLabels;
use serde::{Deserialize, Serialize};
use std::fmt::Write as _;
use std::path::Path;
use tch::{Device, Tensor};

/// The experiment's settings.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct MvGaussianExperiment {
    /// The digits (28×28): `mnist`, `fashion-mnist` or `mnist-5k`.
    pub dataset: Dataset,
    /// `w2gan`, `baryot-l2`, … (004 Fig. 5 compares the first two).
    pub methods: Vec<String>,
    /// Width of the networks' two hidden layers (004: 1024).
    pub width: i64,
    /// Schedule; data, networks, critic and step come from the experiment.
    pub base: RunConfig,
    /// Where the images come from.
    pub data: DataSource,
}

impl MvGaussianExperiment {
    /// `dataset` with W2GAN and Barycentric-OT, width 1024, batch 64, Adam
    /// 1e-4 with β = (0.5, 0.999), 5 critic steps, 3,000 epochs evaluated
    /// every 500 on 256 images.
    pub fn new(dataset: Dataset) -> Self {
        let base = RunConfig::default()
            .epochs(3_000)
            .batch_size(64)
            .critic_iters(5)
            .eval_every(500)
            .eval_size(256)
            .adam(AdamConfig::new(1e-4, 0.5, 0.999));
        MvGaussianExperiment {
            dataset,
            methods: vec!["w2gan".into(), "baryot-l2".into()],
            width: 1024,
            base,
            data: DataSource { limit: Some(10_000), ..DataSource::default() },
        }
    }

    fn spec(&self) -> DataSpec {
        self.data.spec(self.dataset).flat()
    }

    /// The run config of method `m`.
    pub fn config_for(&self, m: &str) -> Result<RunConfig> {
        let d = self.dataset.image_shape().iter().product::<i64>();
        let w = self.width;
        let base = self
            .base
            .clone()
            .source(self.spec().fitted_gaussian(0.1))
            .target(self.spec())
            .generator(MlpConfig::residual_tanh_generator(d, &[w, w]))
            .critic_net(MlpConfig::new(d, 1, &[w, w]))
            .step(StepConfig::Adversarial { k: 1 });
        let mut cfg = preset(m, &base)?;
        if let CriticConfig::W2 { psi: PsiParam::Reparam, penalty, .. } = &mut cfg.critic {
            // 004 App. 8.9.2: λ_ineq = λ_eq = λ_ε = 10 for the image experiments.
            penalty.lambda_ineq = 10.0;
            penalty.lambda_eq = 10.0;
            penalty.lambda_eps = 10.0;
        }
        Ok(cfg)
    }
}

/// One method's exact W2 to the data, before and after training.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MvGaussianRow {
    pub method: String,
    pub epochs: usize,
    pub first_w2: f64,
    pub last_w2: f64,
    pub seconds: f64,
}

/// The table and the sample grid (not in `summary.json`).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct MvGaussianSummary {
    pub dataset: String,
    pub rows: Vec<MvGaussianRow>,
    /// 16 fixed Gaussian draws, then each method's images of them, one row each.
    #[serde(skip)]
    pub grid: Option<ImageGrid>,
}

impl MvGaussianSummary {
    /// The sample grid: the Gaussian draws, then each method's images of them.
    pub fn samples(&self) -> Result<ImageGrid> {
        self.grid.clone().ok_or_else(|| Error::input("no sample grid: the experiment trained no run"))
    }

    /// The last W2 of `method`.
    pub fn last_w2(&self, method: &str) -> Option<f64> {
        self.rows.iter().find(|r| r.method == method).map(|r| r.last_w2)
    }
}

impl Report for MvGaussianSummary {
    fn markdown(&self) -> String {
        let mut s = format!(
            "MV-Gaussian → {}: exact W2 to the data (evaluation samples)\n\n| method | epochs | first W2 | last W2 | seconds |\n|---|---|---|---|---|\n",
            self.dataset
        );
        for r in &self.rows {
            let _ = writeln!(
                s,
                "| {} | {} | {:.3} | {:.3} | {:.0} |",
                r.method, r.epochs, r.first_w2, r.last_w2, r.seconds
            );
        }
        s
    }

    fn save_figures(&self, out: &Path) -> Result<()> {
        match &self.grid {
            Some(g) => g.save(out.join("samples.png")),
            None => Ok(()),
        }
    }
}

impl Experiment for MvGaussianExperiment {
    const KIND: &'static str = "mv-gaussian";
    type Context = ();
    type Summary = MvGaussianSummary;

    fn validate(&self) -> Result<()> {
        check_methods(&self.methods, "methods")?;
        if ![Dataset::Mnist, Dataset::FashionMnist, Dataset::Mnist5k].contains(&self.dataset) {
            return Err(Error::config(
                "dataset",
                "the MV-Gaussian experiment takes 28×28 digits: mnist, fashion-mnist or mnist-5k",
            ));
        }
        // The Gaussian fit needs at least 2 images.
        self.data.validate(2)?;
        Ok(())
    }

    fn runs(&self) -> Result<Vec<RunSpec>> {
        self.methods
            .iter()
            .map(|m| {
                let config = self.config_for(m)?;
                let labels = RunLabels { method: m.clone(), k: config.step.k(), seed: config.train.seed };
                Ok(RunSpec { name: m.clone(), config, labels })
            })
            .collect()
    }

    fn context(&self, _device: Device) -> Result<()> {
        Ok(())
    }

    fn summarise(&self, _ctx: &(), runs: &[FinishedRun], device: Device) -> Result<MvGaussianSummary> {
        let mut rows = vec![];
        let mut images: Vec<Tensor> = vec![];
        for r in runs {
            let (first, last) = match (r.history.rows.first(), r.history.last()) {
                (Some(f), Some(l)) => (f, l),
                _ => return Err(Error::input(format!("{}: no evaluations", r.spec.name))),
            };
            rows.push(MvGaussianRow {
                method: r.spec.name.clone(),
                epochs: last.epoch,
                first_w2: first.w2,
                last_w2: last.w2,
                seconds: last.seconds,
            });
            let t = crate::runs::load_trainer(&r.dir, device)?;
            let z = t.fixed_samples().0.narrow(0, 0, 16);
            if images.is_empty() {
                images.push(z.shallow_clone());
            }
            images.push(t.generate(&z));
        }
        let [_, h, w] = self.dataset.image_shape();
        let grid = if images.is_empty() {
            None
        } else {
            let all = Tensor::f_cat(&images, 0)?.f_clamp(-1.0, 1.0)?.f_view([-1, 1, h, w])?;
            Some(ImageGrid::from_tensor(&all, 16)?.with_scale(2))
        };
        Ok(MvGaussianSummary { dataset: self.dataset.name().into(), rows, grid })
    }

    fn base_mut(&mut self) -> Option<&mut RunConfig> {
        Some(&mut self.base)
    }

    fn data_mut(&mut self) -> Option<&mut DataSource> {
        Some(&mut self.data)
    }
}
