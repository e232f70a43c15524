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

    /// Shows the figure inline in an evcxr (Jupyter) notebook as SVG.
    fn evcxr_display(&self) {
        match self.to_svg() {
            Ok(svg) => println!("EVCXR_BEGIN_CONTENT image/svg+xml\n{svg}\nEVCXR_END_CONTENT"),
            Err(e) => eprintln!("{e}"),
        }
    }
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
