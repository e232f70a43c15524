//! Scatter plots of target, initial and generated points with the generator's
//! transport rays (000 Fig. 1, 004 Fig. 2): target in green, the initial
//! (source) sample in magenta, grey arrows from each source point `z` to its
//! image `G(z)`, whose heads are the generated points.

use super::{dots, draw_arrows, plot_err, point_chart, square_bounds, Figure, GENERATED, TARGET};
use crate::error::{Error, Result};
use plotters::coord::Shift;
use plotters::prelude::*;

const SOURCE: RGBColor = RGBColor(200, 0, 200);
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
        square_bounds(|| self.target.iter().chain(&self.source).chain(&self.generated))
    }

    fn draw_in<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>, b: (f64, f64, f64, f64)) -> Result<()> {
        let mut chart = point_chart(area, &self.title, 18, b)?;
        chart.configure_mesh().light_line_style(TRANSPARENT).draw().map_err(plot_err)?;
        chart.draw_series(dots(&self.target, TARGET)).map_err(plot_err)?;
        chart.draw_series(dots(&self.source, SOURCE)).map_err(plot_err)?;
        if self.generated.len() == self.source.len() {
            let arrows = self.source.iter().zip(&self.generated).take(self.max_arrows);
            draw_arrows(&mut chart, arrows, (b.1 - b.0) * 0.015, ARROW.mix(0.6).stroke_width(1))?;
        }
        chart.draw_series(dots(&self.generated, GENERATED)).map_err(plot_err)?;
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
