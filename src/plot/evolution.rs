//! Generator evolution panels (004 Fig. 4): one column per moment of
//! training. Top row: the generator's transport — target (green), source
//! (magenta), grey arrows from each source point `z` to `G(z)` (blue). Bottom
//! row: the signal the potential gives the generator — black arrows from each
//! generated point `y` to the Euler target `y − ε∇φ(y)` (000 eq. (4.1)).

use super::{dots, draw_arrows, plot_err, point_chart, square_bounds, Figure, TransportPlot, GENERATED, TARGET};
use crate::error::{Error, Result};
use plotters::coord::Shift;
use plotters::prelude::*;

/// One column: the samples at one moment and where the potential moves them.
#[derive(Clone, Debug, PartialEq)]
pub struct EvolutionStep {
    pub title: String,
    pub target: Vec<[f64; 2]>,
    pub source: Vec<[f64; 2]>,
    /// `generated[i] = G(source[i])`.
    pub generated: Vec<[f64; 2]>,
    /// `moved[i] = generated[i] − ε∇φ(generated[i])`.
    pub moved: Vec<[f64; 2]>,
}

impl EvolutionStep {
    /// Checks that `generated` and `moved` pair up with `source`.
    pub fn new(
        title: impl Into<String>,
        target: Vec<[f64; 2]>,
        source: Vec<[f64; 2]>,
        generated: Vec<[f64; 2]>,
        moved: Vec<[f64; 2]>,
    ) -> Result<Self> {
        if generated.len() != source.len() || moved.len() != generated.len() {
            return Err(Error::input(format!(
                "evolution step: {} source, {} generated and {} moved points must pair up",
                source.len(),
                generated.len(),
                moved.len()
            )));
        }
        Ok(EvolutionStep { title: title.into(), target, source, generated, moved })
    }
}

/// Columns of [`EvolutionStep`]s on shared axes, two rows.
#[derive(Clone, Debug, PartialEq)]
pub struct EvolutionPanels {
    pub steps: Vec<EvolutionStep>,
    pub panel_size: u32,
    /// At most this many arrows per panel (the first points).
    pub max_arrows: usize,
}

impl EvolutionPanels {
    pub fn new(steps: Vec<EvolutionStep>) -> Self {
        EvolutionPanels { steps, panel_size: 320, max_arrows: 200 }
    }

    /// Square bounds holding every point of every column.
    pub fn bounds(&self) -> (f64, f64, f64, f64) {
        square_bounds(|| {
            self.steps.iter().flat_map(|s| s.target.iter().chain(&s.source).chain(&s.generated).chain(&s.moved))
        })
    }
}

impl Figure for EvolutionPanels {
    fn size(&self) -> (u32, u32) {
        (self.panel_size * self.steps.len().max(1) as u32, self.panel_size * 2)
    }

    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> Result<()> {
        if self.steps.is_empty() {
            return Ok(());
        }
        let b = self.bounds();
        let areas = area.split_evenly((2, self.steps.len()));
        let (top, bottom) = areas.split_at(self.steps.len());
        for ((s, t), bt) in self.steps.iter().zip(top).zip(bottom) {
            let mut p = TransportPlot::new(s.title.clone(), s.target.clone(), s.source.clone(), s.generated.clone())?;
            p.bounds = Some(b);
            p.max_arrows = self.max_arrows;
            p.draw(t)?;
            let mut chart = point_chart(bt, &format!("{}: y → y − ε∇φ(y)", s.title), 14, b)?;
            chart.configure_mesh().light_line_style(TRANSPARENT).draw().map_err(plot_err)?;
            chart.draw_series(dots(&s.target, TARGET)).map_err(plot_err)?;
            chart.draw_series(dots(&s.generated, GENERATED)).map_err(plot_err)?;
            let arrows = s.generated.iter().zip(&s.moved).take(self.max_arrows);
            draw_arrows(&mut chart, arrows, (b.1 - b.0) * 0.015, BLACK.stroke_width(1))?;
        }
        Ok(())
    }
}
