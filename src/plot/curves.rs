//! Curves of several runs on one chart (000 Fig. 2: W1 against epoch and
//! against wall-clock), and mean curves with a min/max envelope over repeated
//! runs ([`Band`], as 002 plots 5 runs of each method).

use super::{draw_legend, finite_points, legend_line, line_axes, palette, plot_err, range, Figure};
use crate::error::Result;
use plotters::coord::Shift;
use plotters::prelude::*;

/// One named curve.
#[derive(Clone, Debug, PartialEq)]
pub struct Series {
    pub name: String,
    pub x: Vec<f64>,
    pub y: Vec<f64>,
}

impl Series {
    pub fn new(name: impl Into<String>, x: Vec<f64>, y: Vec<f64>) -> Self {
        Series { name: name.into(), x, y }
    }
}

/// A mean curve with the min/max envelope around it (one setting, several
/// runs): drawn as a translucent band and a solid line of the same colour.
#[derive(Clone, Debug, PartialEq)]
pub struct Band {
    pub name: String,
    pub x: Vec<f64>,
    pub mean: Vec<f64>,
    pub lo: Vec<f64>,
    pub hi: Vec<f64>,
}

impl Band {
    /// A band; the four vectors must have one length (else [`crate::Error::Plot`]).
    pub fn new(name: impl Into<String>, x: Vec<f64>, mean: Vec<f64>, lo: Vec<f64>, hi: Vec<f64>) -> Result<Self> {
        let n = x.len();
        if mean.len() != n || lo.len() != n || hi.len() != n {
            return Err(crate::Error::Plot(format!(
                "band: x, mean, lo, hi have lengths {n}, {}, {}, {}",
                mean.len(),
                lo.len(),
                hi.len()
            )));
        }
        Ok(Band { name: name.into(), x, mean, lo, hi })
    }
}

/// Several curves with a legend: envelopes ([`Band`]) first, in palette
/// order, then plain series.
#[derive(Clone, Debug, PartialEq)]
pub struct LineChart {
    pub title: String,
    pub x_label: String,
    pub y_label: String,
    pub series: Vec<Series>,
    pub bands: Vec<Band>,
    pub width: u32,
    pub height: u32,
}

impl LineChart {
    pub fn new(title: impl Into<String>, x_label: impl Into<String>, y_label: impl Into<String>) -> Self {
        LineChart {
            title: title.into(),
            x_label: x_label.into(),
            y_label: y_label.into(),
            series: vec![],
            bands: vec![],
            width: 720,
            height: 480,
        }
    }

    /// Adds a curve (builder style).
    pub fn with(mut self, s: Series) -> Self {
        self.series.push(s);
        self
    }

    /// Adds a mean curve with its envelope (builder style).
    pub fn with_band(mut self, b: Band) -> Self {
        self.bands.push(b);
        self
    }
}

impl Figure for LineChart {
    fn size(&self) -> (u32, u32) {
        (self.width, self.height)
    }

    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> Result<()> {
        let xs = self.series.iter().flat_map(|s| s.x.iter().copied());
        let (x0, x1) = range(xs.chain(self.bands.iter().flat_map(|b| b.x.iter().copied())), 0.0);
        let ys = self.series.iter().flat_map(|s| s.y.iter().copied());
        let band_ys = self.bands.iter().flat_map(|b| b.lo.iter().chain(&b.hi).chain(&b.mean).copied());
        let (y0, y1) = range(ys.chain(band_ys), 0.05);
        let mut chart = line_axes(area, &self.title, (x0, x1), (y0, y1), &self.x_label, &self.y_label)?;
        for (i, b) in self.bands.iter().enumerate() {
            let color = palette(i);
            let mut poly = finite_points(&b.x, &b.hi);
            poly.extend(finite_points(&b.x, &b.lo).into_iter().rev());
            if poly.len() >= 3 {
                chart.draw_series(std::iter::once(Polygon::new(poly, color.mix(0.25).filled()))).map_err(plot_err)?;
            }
            chart
                .draw_series(LineSeries::new(finite_points(&b.x, &b.mean), color.stroke_width(2)))
                .map_err(plot_err)?
                .label(b.name.clone())
                .legend(legend_line(color));
        }
        for (i, s) in self.series.iter().enumerate() {
            let color = palette(self.bands.len() + i);
            chart
                .draw_series(LineSeries::new(finite_points(&s.x, &s.y), color.stroke_width(2)))
                .map_err(plot_err)?
                .label(s.name.clone())
                .legend(legend_line(color));
        }
        if !self.series.is_empty() || !self.bands.is_empty() {
            draw_legend(&mut chart)?;
        }
        Ok(())
    }
}
