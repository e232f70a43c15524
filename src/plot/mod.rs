//! Plots: curves of several runs, scatter plots with transport arrows, panels,
//! potential heat maps with gradient fields, generator evolution, the W2
//! decay against e^{-t}, image grids and latent-space walks.
//!
//! Plot types take plain data (never the trainer). Each one can be
//! [`Figure::save`]d as PNG or SVG (chosen by the file extension, written
//! atomically) and shows itself inline in an evcxr notebook when it is the
//! value of a cell ([`Figure::evcxr_display`], SVG).
//!
//! Text is drawn with DejaVu Sans, shipped in `assets/fonts/` and compiled in,
//! so plotting works on machines without fontconfig or system fonts.

mod curves;
mod decay;
mod evolution;
mod field;
mod images;
mod scatter;

pub use curves::{Band, LineChart, Series};
pub use decay::W2Decay;
pub use evolution::{EvolutionPanels, EvolutionStep};
pub use field::{grid_points, PotentialField};
pub use images::{latent_path, latent_walk, ImageGrid};
pub use scatter::{TransportPanels, TransportPlot};

use crate::error::{Error, Result};
use plotters::coord::types::RangedCoordf64;
use plotters::coord::Shift;
use plotters::prelude::*;
use std::path::Path;
use std::sync::Once;

static FONT: Once = Once::new();
const FONT_BYTES: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans.ttf");

/// Registers the shipped font as plotters' `sans-serif`.
pub(crate) fn ensure_font() {
    FONT.call_once(|| {
        // The font is compiled in and parses (a test renders text), so this
        // cannot fail at run time; ignore the impossible error.
        let _ = plotters::style::register_font("sans-serif", FontStyle::Normal, FONT_BYTES);
    });
}

pub(crate) fn plot_err<E: std::fmt::Debug>(e: E) -> Error {
    Error::Plot(format!("{e:?}"))
}

/// Something that draws itself on a plotters drawing area.
pub trait Figure {
    /// Width and height in pixels.
    fn size(&self) -> (u32, u32);

    /// Draws onto `area` (already sized [`Figure::size`]).
    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> Result<()>;

    /// The figure as an SVG document.
    fn to_svg(&self) -> Result<String> {
        ensure_font();
        let mut s = String::new();
        {
            let area = SVGBackend::with_string(&mut s, self.size()).into_drawing_area();
            area.fill(&WHITE).map_err(plot_err)?;
            self.draw(&area)?;
            area.present().map_err(plot_err)?;
        }
        Ok(s)
    }

    /// The figure as RGB pixels (`width × height × 3`, row-major).
    fn to_rgb(&self) -> Result<Vec<u8>> {
        ensure_font();
        let (w, h) = self.size();
        let mut buf = vec![0u8; (w * h * 3) as usize];
        {
            let area = BitMapBackend::with_buffer(&mut buf, (w, h)).into_drawing_area();
            area.fill(&WHITE).map_err(plot_err)?;
            self.draw(&area)?;
            area.present().map_err(plot_err)?;
        }
        Ok(buf)
    }

    /// The figure as a PNG file's bytes.
    fn to_png(&self) -> Result<Vec<u8>> {
        use image::ImageEncoder;
        let (w, h) = self.size();
        let rgb = self.to_rgb()?;
        let mut out = Vec::new();
        image::codecs::png::PngEncoder::new(&mut out)
            .write_image(&rgb, w, h, image::ColorType::Rgb8)
            .map_err(plot_err)?;
        Ok(out)
    }

    /// Writes the figure to `path` as PNG or SVG, by extension, atomically.
    fn save(&self, path: impl AsRef<Path>) -> Result<()> {
        let path = path.as_ref();
        let ext = path.extension().and_then(|e| e.to_str()).map(|e| e.to_ascii_lowercase());
        let bytes = match ext.as_deref() {
            Some("png") => self.to_png()?,
            Some("svg") => self.to_svg()?.into_bytes(),
            _ => return Err(Error::file(path, "unknown plot format: use a .png or .svg file name")),
        };
        crate::io::write_atomic(path, &bytes)
    }

    /// Writes the figure twice into `dir`: `STEM.png` and `STEM.svg`.
    fn save_png_svg(&self, dir: impl AsRef<Path>, stem: &str) -> Result<()> {
        let dir = dir.as_ref();
        self.save(dir.join(format!("{stem}.png")))?;
        self.save(dir.join(format!("{stem}.svg")))
    }

    /// Shows the figure inline in an evcxr (Jupyter) notebook as SVG.
    fn evcxr_display(&self) {
        match self.to_svg() {
            Ok(svg) => println!("EVCXR_BEGIN_CONTENT image/svg+xml\n{svg}\nEVCXR_END_CONTENT"),
            Err(e) => eprintln!("{e}"),
        }
    }
}

/// The target sample's colour in point plots.
pub(crate) const TARGET: RGBColor = RGBColor(34, 160, 60);
/// The generated points' colour in point plots.
pub(crate) const GENERATED: RGBColor = RGBColor(30, 90, 200);

/// A chart of 2D points on `bounds` `(x0, x1, y0, y1)`, titled `caption` at
/// `font` points, without the mesh (the callers style it).
pub(crate) fn point_chart<'a, DB: DrawingBackend>(
    area: &'a DrawingArea<DB, Shift>,
    caption: &str,
    font: u32,
    b: (f64, f64, f64, f64),
) -> Result<ChartContext<'a, DB, Cartesian2d<RangedCoordf64, RangedCoordf64>>> {
    ChartBuilder::on(area)
        .caption(caption, ("sans-serif", font))
        .margin(8)
        .x_label_area_size(30)
        .y_label_area_size(40)
        .build_cartesian_2d(b.0..b.1, b.2..b.3)
        .map_err(plot_err)
}

/// A line chart titled `title` on `x` × `y`, with its axis labels and no
/// light grid lines.
pub(crate) fn line_axes<'a, DB: DrawingBackend>(
    area: &'a DrawingArea<DB, Shift>,
    title: &str,
    x: (f64, f64),
    y: (f64, f64),
    x_label: &str,
    y_label: &str,
) -> Result<ChartContext<'a, DB, Cartesian2d<RangedCoordf64, RangedCoordf64>>> {
    let mut chart = ChartBuilder::on(area)
        .caption(title, ("sans-serif", 20))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(60)
        .build_cartesian_2d(x.0..x.1, y.0..y.1)
        .map_err(plot_err)?;
    chart.configure_mesh().x_desc(x_label).y_desc(y_label).light_line_style(TRANSPARENT).draw().map_err(plot_err)?;
    Ok(chart)
}

/// The legend box in the upper right corner.
pub(crate) fn draw_legend<'a, DB: DrawingBackend + 'a>(
    chart: &mut ChartContext<'a, DB, Cartesian2d<RangedCoordf64, RangedCoordf64>>,
) -> Result<()> {
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .label_font(("sans-serif", 14))
        .draw()
        .map_err(plot_err)
}

/// A legend entry: a short line of `color`, 2 pixels wide.
pub(crate) fn legend_line(color: RGBColor) -> impl Fn((i32, i32)) -> PathElement<(i32, i32)> {
    move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2))
}

/// The pairs `(x[i], y[i])` where both are finite.
pub(crate) fn finite_points(x: &[f64], y: &[f64]) -> Vec<(f64, f64)> {
    x.iter().zip(y).filter(|(a, b)| a.is_finite() && b.is_finite()).map(|(&a, &b)| (a, b)).collect()
}

/// Dots of radius 2 in `color` at 70 % opacity, one per point.
pub(crate) fn dots(points: &[[f64; 2]], color: RGBColor) -> impl Iterator<Item = Circle<(f64, f64), i32>> + '_ {
    points.iter().map(move |p| Circle::new((p[0], p[1]), 2, color.mix(0.7).filled()))
}

/// Draws an [`arrow`] with heads of length `head` for every `(from, to)`, in `style`.
pub(crate) fn draw_arrows<'a, 'p, DB: DrawingBackend + 'a>(
    chart: &mut ChartContext<'a, DB, Cartesian2d<RangedCoordf64, RangedCoordf64>>,
    arrows: impl Iterator<Item = (&'p [f64; 2], &'p [f64; 2])>,
    head: f64,
    style: ShapeStyle,
) -> Result<()> {
    for (from, to) in arrows {
        chart.draw_series(arrow(*from, *to, head).into_iter().map(|l| PathElement::new(l, style))).map_err(plot_err)?;
    }
    Ok(())
}

/// The square bounds `(x0, x1, y0, y1)` around `points`, with 5 % margins.
pub(crate) fn square_bounds<'p, I: Iterator<Item = &'p [f64; 2]>>(points: impl Fn() -> I) -> (f64, f64, f64, f64) {
    let (x0, x1) = range(points().map(|p| p[0]), 0.05);
    let (y0, y1) = range(points().map(|p| p[1]), 0.05);
    let (cx, cy, half) = ((x0 + x1) / 2.0, (y0 + y1) / 2.0, (x1 - x0).max(y1 - y0) / 2.0);
    (cx - half, cx + half, cy - half, cy + half)
}

/// A palette that stays readable with many runs.
pub(crate) fn palette(i: usize) -> RGBColor {
    const C: [RGBColor; 8] = [
        RGBColor(31, 119, 180),
        RGBColor(255, 127, 14),
        RGBColor(44, 160, 44),
        RGBColor(214, 39, 40),
        RGBColor(148, 103, 189),
        RGBColor(140, 86, 75),
        RGBColor(227, 119, 194),
        RGBColor(127, 127, 127),
    ];
    C[i % C.len()]
}

/// `[lo, hi]` of finite values, widened by `pad` of its span (or ±0.5 when
/// flat); `(0, 1)` when nothing is finite.
pub(crate) fn range(values: impl Iterator<Item = f64>, pad: f64) -> (f64, f64) {
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    for v in values.filter(|v| v.is_finite()) {
        lo = lo.min(v);
        hi = hi.max(v);
    }
    if !lo.is_finite() {
        return (0.0, 1.0);
    }
    let span = hi - lo;
    if span <= 0.0 {
        (lo - 0.5, hi + 0.5)
    } else {
        (lo - pad * span, hi + pad * span)
    }
}

/// An arrow from `from` to `to` as plotters paths: the shaft and two barbs at
/// 25° of length `head` (in data units); just the shaft when the arrow is
/// shorter than 1e-12.
pub(crate) fn arrow(from: [f64; 2], to: [f64; 2], head: f64) -> Vec<Vec<(f64, f64)>> {
    let (dx, dy) = (to[0] - from[0], to[1] - from[1]);
    let len = (dx * dx + dy * dy).sqrt();
    let mut lines = vec![vec![(from[0], from[1]), (to[0], to[1])]];
    if len > 1e-12 {
        let (ux, uy) = (dx / len, dy / len);
        let (c, s) = (25f64.to_radians().cos(), 25f64.to_radians().sin());
        for sign in [1.0, -1.0] {
            let bx = -(ux * c - sign * uy * s) * head;
            let by = -(uy * c + sign * ux * s) * head;
            lines.push(vec![(to[0], to[1]), (to[0] + bx, to[1] + by)]);
        }
    }
    lines
}
