//! Scatter plots of target, initial and generated points with the generator's
//! transport rays (000 Fig. 1, 004 Fig. 2): target in green, the initial
//! (source) sample in magenta, grey arrows from each source point `z` to its
//! image `G(z)`, whose heads are the generated points.

use super::{plot_err, range, Figure};
use crate::error::{Error, Result};
use plotters::coord::Shift;
use plotters::prelude::*;

const TARGET: RGBColor = RGBColor(34, 160, 60);
const SOURCE: RGBColor = RGBColor(200, 0, 200);
const GENERATED: RGBColor = RGBColor(30, 90, 200);
const ARROW: RGBColor = RGBColor(150, 150, 150);

/// One scatter panel.
#[derive(Clone, Debug, PartialEq)]
pub struct TransportPlot {
    pub title: String,
    pub target: Vec<[f64; 2]>,
    pub source: Vec<[f64; 2]>,
    /// `generated[i] = G(source[i])`; arrows join the two when both are given.
    pub generated: Vec<[f64; 2]>,
    /// Draw at most this many arrows (the first ones), to keep plots readable.
    pub max_arrows: usize,
    /// `(x0, x1, y0, y1)`; `None` fits all points.
    pub bounds: Option<(f64, f64, f64, f64)>,
    pub width: u32,
    pub height: u32,
}

impl TransportPlot {
    /// A plot of the three samples; errors if `generated` is given and its
    /// length differs from `source`.
    pub fn new(
        title: impl Into<String>,
        target: Vec<[f64; 2]>,
        source: Vec<[f64; 2]>,
        generated: Vec<[f64; 2]>,
    ) -> Result<Self> {
        if !generated.is_empty() && !source.is_empty() && generated.len() != source.len() {
            return Err(Error::input(format!(
                "transport plot: {} generated points for {} source points",
                generated.len(),
                source.len()
            )));
        }
        Ok(TransportPlot {
            title: title.into(),
            target,
            source,
            generated,
            max_arrows: 256,
            bounds: None,
            width: 520,
            height: 520,
        })
    }

    /// The square bounds that hold every point with a margin.
    pub fn fitted_bounds(&self) -> (f64, f64, f64, f64) {
        let all = || self.target.iter().chain(&self.source).chain(&self.generated);
        let (x0, x1) = range(all().map(|p| p[0]), 0.05);
        let (y0, y1) = range(all().map(|p| p[1]), 0.05);
        let (cx, cy) = ((x0 + x1) / 2.0, (y0 + y1) / 2.0);
        let half = ((x1 - x0).max(y1 - y0)) / 2.0;
        (cx - half, cx + half, cy - half, cy + half)
    }

    fn draw_in<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>, b: (f64, f64, f64, f64)) -> Result<()> {
        let mut chart = ChartBuilder::on(area)
            .caption(&self.title, ("sans-serif", 18))
            .margin(8)
            .x_label_area_size(30)
            .y_label_area_size(40)
            .build_cartesian_2d(b.0..b.1, b.2..b.3)
            .map_err(plot_err)?;
        chart.configure_mesh().light_line_style(TRANSPARENT).draw().map_err(plot_err)?;
        let dot = |c: RGBColor| move |p: &[f64; 2]| Circle::new((p[0], p[1]), 2, c.mix(0.7).filled());
        chart.draw_series(self.target.iter().map(dot(TARGET))).map_err(plot_err)?;
        chart.draw_series(self.source.iter().map(dot(SOURCE))).map_err(plot_err)?;
        if self.generated.len() == self.source.len() {
            let scale = (b.1 - b.0) * 0.015;
            let arrows = self.source.iter().zip(&self.generated).take(self.max_arrows);
            for (s, g) in arrows {
                let (dx, dy) = (g[0] - s[0], g[1] - s[1]);
                let len = (dx * dx + dy * dy).sqrt();
                let mut lines = vec![vec![(s[0], s[1]), (g[0], g[1])]];
                if len > 1e-12 {
                    // Two barbs at 25° from the shaft.
                    let (ux, uy) = (dx / len, dy / len);
                    let (c, sn) = (25f64.to_radians().cos(), 25f64.to_radians().sin());
                    for sign in [1.0, -1.0] {
                        let bx = -(ux * c - sign * uy * sn) * scale;
                        let by = -(uy * c + sign * ux * sn) * scale;
                        lines.push(vec![(g[0], g[1]), (g[0] + bx, g[1] + by)]);
                    }
                }
                chart
                    .draw_series(lines.into_iter().map(|l| PathElement::new(l, ARROW.mix(0.6).stroke_width(1))))
                    .map_err(plot_err)?;
            }
        }
        chart.draw_series(self.generated.iter().map(dot(GENERATED))).map_err(plot_err)?;
        Ok(())
    }
}

impl Figure for TransportPlot {
    fn size(&self) -> (u32, u32) {
        (self.width, self.height)
    }

    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> Result<()> {
        self.draw_in(area, self.bounds.unwrap_or_else(|| self.fitted_bounds()))
    }
}

/// Several [`TransportPlot`]s side by side on shared axes (the evolution of
/// one run, 000 Fig. 1 / 004 Fig. 4).
#[derive(Clone, Debug, PartialEq)]
pub struct TransportPanels {
    pub panels: Vec<TransportPlot>,
    pub panel_size: u32,
}

impl TransportPanels {
    pub fn new(panels: Vec<TransportPlot>) -> Self {
        TransportPanels { panels, panel_size: 360 }
    }
}

impl Figure for TransportPanels {
    fn size(&self) -> (u32, u32) {
        (self.panel_size * self.panels.len().max(1) as u32, self.panel_size)
    }

    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> Result<()> {
        if self.panels.is_empty() {
            return Ok(());
        }
        let fits: Vec<_> = self.panels.iter().map(|p| p.fitted_bounds()).collect();
        let shared = (
            fits.iter().map(|b| b.0).fold(f64::INFINITY, f64::min),
            fits.iter().map(|b| b.1).fold(f64::NEG_INFINITY, f64::max),
            fits.iter().map(|b| b.2).fold(f64::INFINITY, f64::min),
            fits.iter().map(|b| b.3).fold(f64::NEG_INFINITY, f64::max),
        );
        let areas = area.split_evenly((1, self.panels.len()));
        for (p, a) in self.panels.iter().zip(areas.iter()) {
            p.draw_in(a, p.bounds.unwrap_or(shared))?;
        }
        Ok(())
    }
}
