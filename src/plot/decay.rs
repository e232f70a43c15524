//! The W2 decay of the W2 gradient flow against its theory (003 eq. (14)):
//! along the flow, `W2(μ_t, μ_d) = e^{−t} W2(μ_0, μ_d)`. The chart shows the
//! measured ratio `W2(μ_t, μ_d) / W2(μ_0, μ_d)` (points joined by a line)
//! and the curve `e^{−t}` (dashed).

use super::{draw_legend, finite_points, legend_line, line_axes, palette, plot_err, Figure};
use crate::error::{Error, Result};
use plotters::coord::Shift;
use plotters::prelude::*;

/// Measured W2 ratios against flow time, with the theoretical `e^{−t}`.
#[derive(Clone, Debug, PartialEq)]
pub struct W2Decay {
    pub title: String,
    /// Flow time of each measurement.
    pub t: Vec<f64>,
    /// `W2(μ_t, μ_d) / W2(μ_0, μ_d)`.
    pub ratio: Vec<f64>,
    pub width: u32,
    pub height: u32,
}

impl W2Decay {
    /// From measured `w2` at times `t` (the first at the start of the flow,
    /// which normalises the rest). Errors on mismatched lengths, an empty
    /// series, or a first W2 that is not finite and positive.
    pub fn new(title: impl Into<String>, t: Vec<f64>, w2: &[f64]) -> Result<Self> {
        if t.len() != w2.len() || t.is_empty() {
            return Err(Error::input(format!(
                "W2 decay: {} times for {} W2 values (need ≥ 1 of each)",
                t.len(),
                w2.len()
            )));
        }
        let w0 = w2[0];
        if !(w0.is_finite() && w0 > 0.0) {
            return Err(Error::input(format!("W2 decay: the first W2 must be finite and > 0, got {w0}")));
        }
        Ok(W2Decay { title: title.into(), t, ratio: w2.iter().map(|w| w / w0).collect(), width: 720, height: 480 })
    }

    /// `e^{−t}` at the measured times (003 eq. (14)).
    pub fn theory(&self) -> Vec<f64> {
        self.t.iter().map(|t| (-t).exp()).collect()
    }
}

impl Figure for W2Decay {
    fn size(&self) -> (u32, u32) {
        (self.width, self.height)
    }

    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> Result<()> {
        let t0 = self.t.iter().copied().filter(|v| v.is_finite()).fold(f64::INFINITY, f64::min).min(0.0);
        let t1 = self.t.iter().copied().filter(|v| v.is_finite()).fold(f64::NEG_INFINITY, f64::max).max(t0 + 1e-9);
        let top = self.ratio.iter().copied().filter(|v| v.is_finite()).fold(1.0f64, f64::max) * 1.05;
        let mut chart =
            line_axes(area, &self.title, (t0, t1), (0.0, top), "flow time t", "W2(μ_t, μ_d) / W2(μ_0, μ_d)")?;
        let steps = 200;
        let theory: Vec<(f64, f64)> =
            (0..=steps).map(|k| t0 + (t1 - t0) * k as f64 / steps as f64).map(|t| (t, (-t).exp())).collect();
        chart
            .draw_series(DashedLineSeries::new(theory, 8, 5, BLACK.stroke_width(2)))
            .map_err(plot_err)?
            .label("e^{-t} (003 eq. 14)")
            .legend(legend_line(BLACK));
        let c = palette(0);
        let pts = finite_points(&self.t, &self.ratio);
        chart
            .draw_series(LineSeries::new(pts.clone(), c.stroke_width(2)))
            .map_err(plot_err)?
            .label("measured")
            .legend(legend_line(c));
        chart.draw_series(pts.iter().map(|&(a, b)| Circle::new((a, b), 3, c.filled()))).map_err(plot_err)?;
        draw_legend(&mut chart)?;
        Ok(())
    }
}
