//! Two-dimensional toy distributions.
//!
//! Defaults follow the authors' code (`ZaMalik123/Generative-Networks`,
//! `exp_2d/data_loader.py`) unless the paper's text says otherwise:
//!
//! | set | default |
//! | --- | --- |
//! | [`Toy::Gaussian`] | N(0, I): the source of 000 §5 ("from a standard Gaussian") |
//! | [`Toy::Ring`] | 8 Gaussians on the unit circle, σ = 0.1 (authors' code) |
//! | [`Toy::Grid`] | 5×5 Gaussians on {−2,…,2}², spacing 1, σ = 0.05 |
//! | [`Toy::FourGaussians`] | centres (±s/√2, ±s/√2), s = 1, σ = 0.1 (source of 004 §6.1 uses s = 2) |
//! | [`Toy::Checkerboard`] | squares of side 0.5 at the 5 "black" cells (or 4 "white" with `alternate`), scale 1.5 |
//! | [`Toy::Spiral`] | the two-spirals problem: arm `first` or `second` (or both), ×0.15, 570° |
//!
//! Mixtures put the same number of points in each component (rounded) and
//! shuffle them, as the authors' generators do.

use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use std::f64::consts::PI;
use tch::{Device, Kind, Tensor};

/// Which arm of the two-spirals set to sample.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SpiralArm {
    /// `(t cos t, −t sin t)`: the source in 004 §6.1.
    First,
    /// `(−t cos t, t sin t)`: the target in 004 §6.1.
    Second,
    /// Both arms, half of the points each.
    Both,
}

/// A 2D distribution to sample from. In TOML: `{ name = "ring", std = 0.1 }`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "name", rename_all = "kebab-case", deny_unknown_fields)]
pub enum Toy {
    /// Isotropic Gaussian N(mean, std² I).
    Gaussian {
        #[serde(default = "d_one")]
        std: f64,
        #[serde(default)]
        mean: [f64; 2],
    },
    /// `modes` Gaussians evenly spaced on a circle of `radius` (000 Fig. 1).
    Ring {
        #[serde(default = "d_modes")]
        modes: usize,
        #[serde(default = "d_one")]
        radius: f64,
        #[serde(default = "d_tenth")]
        std: f64,
    },
    /// `side × side` Gaussians on a square grid centred at 0.
    Grid {
        #[serde(default = "d_side")]
        side: usize,
        #[serde(default = "d_one")]
        spacing: f64,
        #[serde(default = "d_grid_std")]
        std: f64,
    },
    /// Four Gaussians at `(±scale/√2, ±scale/√2)`.
    FourGaussians {
        #[serde(default = "d_one")]
        scale: f64,
        #[serde(default = "d_tenth")]
        std: f64,
    },
    /// Uniform squares of side `width` on a 3×3 checkerboard of cell `scale/√2`.
    Checkerboard {
        #[serde(default = "d_check_scale")]
        scale: f64,
        #[serde(default = "d_half")]
        width: f64,
        #[serde(default)]
        alternate: bool,
    },
    /// One or both arms of the two-spirals set.
    Spiral {
        #[serde(default = "d_arm")]
        arm: SpiralArm,
        #[serde(default = "d_spiral_scale")]
        scale: f64,
        #[serde(default = "d_tenth")]
        noise: f64,
        #[serde(default = "d_degrees")]
        degrees: f64,
    },
}

fn d_one() -> f64 {
    1.0
}
fn d_tenth() -> f64 {
    0.1
}
fn d_half() -> f64 {
    0.5
}
fn d_modes() -> usize {
    8
}
fn d_side() -> usize {
    5
}
fn d_grid_std() -> f64 {
    0.05
}
fn d_check_scale() -> f64 {
    1.5
}
fn d_arm() -> SpiralArm {
    SpiralArm::First
}
fn d_spiral_scale() -> f64 {
    0.15
}
fn d_degrees() -> f64 {
    570.0
}

impl Toy {
    /// The standard Gaussian N(0, I).
    pub fn standard_gaussian() -> Self {
        Toy::Gaussian { std: 1.0, mean: [0.0, 0.0] }
    }

    /// The 8-Gaussian ring with the authors' defaults.
    pub fn ring() -> Self {
        Toy::Ring { modes: 8, radius: 1.0, std: 0.1 }
    }

    /// The default of each set by name: `gaussian`, `ring`, `grid`,
    /// `four-gaussians`, `checkerboard`, `spiral`.
    pub fn from_name(name: &str) -> Result<Self> {
        Ok(match name {
            "gaussian" => Self::standard_gaussian(),
            "ring" => Self::ring(),
            "grid" | "25-gaussians" => Toy::Grid { side: 5, spacing: 1.0, std: 0.05 },
            "four-gaussians" | "4-gaussians" => Toy::FourGaussians { scale: 1.0, std: 0.1 },
            "checkerboard" => Toy::Checkerboard { scale: 1.5, width: 0.5, alternate: false },
            "spiral" | "two-spirals" => Toy::Spiral { arm: SpiralArm::First, scale: 0.15, noise: 0.1, degrees: 570.0 },
            other => {
                return Err(Error::config(
                    "data",
                    format!(
                        "unknown toy set `{other}`; expected one of gaussian, ring, grid, \
                         four-gaussians, checkerboard, spiral"
                    ),
                ))
            }
        })
    }

    /// Short name used in file names and tables.
    pub fn name(&self) -> &'static str {
        match self {
            Toy::Gaussian { .. } => "gaussian",
            Toy::Ring { .. } => "ring",
            Toy::Grid { .. } => "grid",
            Toy::FourGaussians { .. } => "four-gaussians",
            Toy::Checkerboard { .. } => "checkerboard",
            Toy::Spiral { .. } => "spiral",
        }
    }

    /// Checks every parameter; `field` prefixes the names in the error.
    pub fn validate(&self, field: &str) -> Result<()> {
        let nonneg = |name: &str, v: f64| -> Result<()> {
            if v.is_finite() && v >= 0.0 {
                Ok(())
            } else {
                Err(Error::config(format!("{field}.{name}"), format!("must be a finite number ≥ 0, got {v}")))
            }
        };
        let positive = |name: &str, v: f64| -> Result<()> {
            if v.is_finite() && v > 0.0 {
                Ok(())
            } else {
                Err(Error::config(format!("{field}.{name}"), format!("must be a finite number > 0, got {v}")))
            }
        };
        match self {
            Toy::Gaussian { std, mean } => {
                nonneg("std", *std)?;
                if !mean.iter().all(|m| m.is_finite()) {
                    return Err(Error::config(format!("{field}.mean"), "must be finite"));
                }
            }
            Toy::Ring { modes, radius, std } => {
                if *modes == 0 {
                    return Err(Error::config(format!("{field}.modes"), "must be ≥ 1"));
                }
                nonneg("radius", *radius)?;
                nonneg("std", *std)?;
            }
            Toy::Grid { side, spacing, std } => {
                if *side == 0 {
                    return Err(Error::config(format!("{field}.side"), "must be ≥ 1"));
                }
                nonneg("spacing", *spacing)?;
                nonneg("std", *std)?;
            }
            Toy::FourGaussians { scale, std } => {
                nonneg("scale", *scale)?;
                nonneg("std", *std)?;
            }
            Toy::Checkerboard { scale, width, .. } => {
                nonneg("scale", *scale)?;
                nonneg("width", *width)?;
            }
            Toy::Spiral { scale, noise, degrees, .. } => {
                positive("scale", *scale)?;
                nonneg("noise", *noise)?;
                positive("degrees", *degrees)?;
            }
        }
        Ok(())
    }

    /// The component centres of a mixture (`k×2`), `None` for the Gaussian
    /// and the spirals.
    pub fn centers(&self) -> Option<Vec<[f64; 2]>> {
        match self {
            Toy::Gaussian { .. } | Toy::Spiral { .. } => None,
            Toy::Ring { modes, radius, .. } => Some(
                (0..*modes)
                    .map(|i| {
                        // Authors' code: angles cumsum(2π/8) = 2π(i+1)/8.
                        let a = 2.0 * PI * (i + 1) as f64 / *modes as f64;
                        [radius * a.cos(), radius * a.sin()]
                    })
                    .collect(),
            ),
            Toy::Grid { side, spacing, .. } => {
                let half = (*side as f64 - 1.0) / 2.0;
                let mut c = Vec::with_capacity(side * side);
                for i in 0..*side {
                    for j in 0..*side {
                        c.push([(i as f64 - half) * spacing, (j as f64 - half) * spacing]);
                    }
                }
                Some(c)
            }
            Toy::FourGaussians { scale, .. } => {
                let s = scale / 2f64.sqrt();
                Some(vec![[s, s], [s, -s], [-s, s], [-s, -s]])
            }
            Toy::Checkerboard { scale, alternate, .. } => {
                let s = scale / 2f64.sqrt();
                Some(if *alternate {
                    vec![[0.0, s], [0.0, -s], [s, 0.0], [-s, 0.0]]
                } else {
                    vec![[s, s], [-s, -s], [s, -s], [-s, s], [0.0, 0.0]]
                })
            }
        }
    }

    /// Draws `n` points as an `n×2` f32 tensor on `device`.
    pub fn sample(&self, n: i64, device: Device) -> Result<Tensor> {
        if n < 1 {
            return Err(Error::input(format!("cannot sample {n} points from `{}`: need n ≥ 1", self.name())));
        }
        self.validate("data")?;
        let opts = (Kind::Float, device);
        let t = match self {
            Toy::Gaussian { std, mean } => {
                Tensor::f_randn([n, 2], opts)? * *std + Tensor::from_slice(&[mean[0] as f32, mean[1] as f32]).to(device)
            }
            Toy::Ring { std, .. } | Toy::Grid { std, .. } | Toy::FourGaussians { std, .. } => {
                let c = self.balanced_centers(n, device)?;
                c + Tensor::f_randn([n, 2], opts)? * *std
            }
            Toy::Checkerboard { width, .. } => {
                let c = self.balanced_centers(n, device)?;
                c + (Tensor::f_rand([n, 2], opts)? - 0.5) * *width
            }
            Toy::Spiral { arm, scale, noise, degrees } => {
                // Authors' SwissrollGenerator: t = start + sqrt(U)·570°, noise
                // U·(noise/0.15) added before the final ×0.15.
                let start = 0.001f64.to_radians();
                let t = Tensor::f_rand([n, 1], opts)?.sqrt() * degrees.to_radians() + start;
                let sign = match arm {
                    SpiralArm::First => Tensor::f_ones([n, 1], opts)?,
                    SpiralArm::Second => -Tensor::f_ones([n, 1], opts)?,
                    SpiralArm::Both => {
                        let half = Tensor::f_arange(n, (Kind::Int64, device))?.remainder(2) * 2 - 1;
                        half.to_kind(Kind::Float).view([n, 1])
                    }
                };
                let x = &sign * t.cos() * &t;
                let y = -&sign * t.sin() * &t;
                let pts = Tensor::f_cat(&[x, y], 1)?;
                let jitter = Tensor::f_rand([n, 2], opts)? * (*noise / *scale);
                let pts = (pts + jitter) * *scale;
                if matches!(arm, SpiralArm::Both) {
                    let perm = Tensor::f_randperm(n, (Kind::Int64, device))?;
                    pts.f_index_select(0, &perm)?
                } else {
                    pts
                }
            }
        };
        Ok(t)
    }

    /// `n` centres, the same number (±1) per component, in random order.
    fn balanced_centers(&self, n: i64, device: Device) -> Result<Tensor> {
        let centers = self.centers().ok_or_else(|| Error::input(format!("`{}` is not a mixture", self.name())))?;
        let k = centers.len() as i64;
        let flat: Vec<f32> = centers.iter().flat_map(|c| [c[0] as f32, c[1] as f32]).collect();
        let c = Tensor::from_slice(&flat).view([k, 2]).to(device);
        let idx = Tensor::f_arange(n, (Kind::Int64, device))?.remainder(k);
        let perm = Tensor::f_randperm(n, (Kind::Int64, device))?;
        let idx = idx.f_index_select(0, &perm)?;
        Ok(c.f_index_select(0, &idx)?)
    }
}
