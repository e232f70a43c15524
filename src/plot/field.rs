//! The potential as a heat map with its gradient field (004 Fig. 3): the
//! values of φ on a grid over the plane, and black arrows from points `y`
//! toward `y − ∇φ(y)`, the direction φ gives the generator (004 §5; the
//! forward-Euler step `ζ = y − ε∇φ(y)` of 000 eq. (4.1) with ε = 1).

use super::{draw_arrows, plot_err, point_chart, range, Figure};
use crate::error::{Error, Result};
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::colors::colormaps::ViridisRGB;
use tch::{Device, Kind, Tensor};

const POINT: RGBColor = RGBColor(200, 0, 200);

/// A scalar field sampled on an `n × n` grid plus arrows.
#[derive(Clone, Debug, PartialEq)]
pub struct PotentialField {
    pub title: String,
    /// `(x0, x1, y0, y1)` of the grid.
    pub bounds: (f64, f64, f64, f64),
    /// Grid resolution per axis.
    pub n: usize,
    /// `values[j * n + i]` = φ at column `i` (x), row `j` (y), cell centres.
    pub values: Vec<f64>,
    /// Arrows `(from, to)`: from `y` to `y − ∇φ(y)` (magenta dots at `from`).
    pub arrows: Vec<([f64; 2], [f64; 2])>,
    pub width: u32,
    pub height: u32,
}

/// The centres of an `n × n` grid over `bounds`, row by row (y outer), as an
/// `n²×2` tensor.
pub fn grid_points(bounds: (f64, f64, f64, f64), n: usize, device: Device) -> Result<Tensor> {
    if n < 2 {
        return Err(Error::config("n", format!("a grid needs n ≥ 2 cells per axis, got {n}")));
    }
    let (x0, x1, y0, y1) = bounds;
    if !(x1 > x0 && y1 > y0 && [x0, x1, y0, y1].iter().all(|v| v.is_finite())) {
        return Err(Error::config("bounds", format!("need finite x0 < x1 and y0 < y1, got {bounds:?}")));
    }
    let mut pts = Vec::with_capacity(2 * n * n);
    for j in 0..n {
        for i in 0..n {
            pts.push((x0 + (i as f64 + 0.5) * (x1 - x0) / n as f64) as f32);
            pts.push((y0 + (j as f64 + 0.5) * (y1 - y0) / n as f64) as f32);
        }
    }
    Ok(Tensor::from_slice(&pts).f_reshape([(n * n) as i64, 2])?.f_to_device(device)?)
}

fn to_pairs(t: &Tensor, what: &str) -> Result<Vec<[f64; 2]>> {
    let (v, _, d) = crate::metrics::emd::points(t, what)?;
    if d != 2 {
        return Err(Error::input(format!("{what}: expected 2D points, got dimension {d}")));
    }
    Ok(v.chunks_exact(2).map(|c| [c[0], c[1]]).collect())
}

impl PotentialField {
    /// Samples `phi` (rows `m×2` → values `m` or `m×1`) on an `n × n` grid
    /// over `bounds`, and draws arrows from each row of `points` (`k×2`) to
    /// `y − ∇φ(y)` (gradient by autograd). Runs on the device of `points`.
    pub fn compute(
        title: impl Into<String>,
        phi: impl Fn(&Tensor) -> Tensor,
        bounds: (f64, f64, f64, f64),
        n: usize,
        points: &Tensor,
    ) -> Result<Self> {
        let device = points.device();
        let grid = grid_points(bounds, n, device)?;
        let values = tch::no_grad(|| phi(&grid)).f_to_kind(Kind::Double)?.f_flatten(0, -1)?.f_to_device(Device::Cpu)?;
        let values = Vec::<f64>::try_from(&values).map_err(|e| Error::input(format!("potential values: {e}")))?;
        if values.len() != n * n {
            return Err(Error::input(format!("potential: {} values for {} grid points", values.len(), n * n)));
        }
        let arrows = if points.numel() == 0 {
            vec![]
        } else {
            let g = crate::critic::gradient(&phi, points, false)?;
            let moved = points.detach() - g;
            to_pairs(points, "arrow points")?.into_iter().zip(to_pairs(&moved, "moved points")?).collect()
        };
        Ok(PotentialField { title: title.into(), bounds, n, values, arrows, width: 560, height: 520 })
    }

    /// `[min, max]` of the finite values (the colour scale).
    pub fn value_range(&self) -> (f64, f64) {
        range(self.values.iter().copied(), 0.0)
    }
}

impl Figure for PotentialField {
    fn size(&self) -> (u32, u32) {
        (self.width, self.height)
    }

    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> Result<()> {
        let (x0, x1, y0, y1) = self.bounds;
        let (main, bar) = area.split_horizontally(self.width.saturating_sub(70));
        let mut chart = point_chart(&main, &self.title, 18, self.bounds)?;
        chart.configure_mesh().disable_mesh().draw().map_err(plot_err)?;
        let (lo, hi) = self.value_range();
        let (dx, dy) = ((x1 - x0) / self.n as f64, (y1 - y0) / self.n as f64);
        let cells = self.values.iter().enumerate().map(|(k, &v)| {
            let (i, j) = ((k % self.n) as f64, (k / self.n) as f64);
            let c = if v.is_finite() { ViridisRGB.get_color_normalized(v, lo, hi) } else { RGBColor(255, 255, 255) };
            Rectangle::new([(x0 + i * dx, y0 + j * dy), (x0 + (i + 1.0) * dx, y0 + (j + 1.0) * dy)], c.filled())
        });
        chart.draw_series(cells).map_err(plot_err)?;
        draw_arrows(&mut chart, self.arrows.iter().map(|(s, g)| (s, g)), (x1 - x0) * 0.015, BLACK.stroke_width(1))?;
        chart
            .draw_series(self.arrows.iter().map(|(s, _)| Circle::new((s[0], s[1]), 2, POINT.filled())))
            .map_err(plot_err)?;
        // The colour bar.
        let mut cb = ChartBuilder::on(&bar)
            .margin_top(36)
            .margin_bottom(38)
            .margin_right(8)
            .y_label_area_size(44)
            .build_cartesian_2d(0.0..1.0, lo..hi)
            .map_err(plot_err)?;
        cb.configure_mesh().disable_mesh().disable_x_axis().y_labels(5).draw().map_err(plot_err)?;
        let steps = 64;
        cb.draw_series((0..steps).map(|k| {
            let (a, b) = (lo + (hi - lo) * k as f64 / steps as f64, lo + (hi - lo) * (k + 1) as f64 / steps as f64);
            Rectangle::new([(0.0, a), (1.0, b)], ViridisRGB.get_color_normalized(a, lo, hi).filled())
        }))
        .map_err(plot_err)?;
        Ok(())
    }
}
