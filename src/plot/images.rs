//! Image grids (samples of an image generator, data sets) and latent-space
//! walks (002 App. F, after Radford et al.: decode points on the segments
//! between latent codes and show the images as rows of a grid).
//!
//! An [`ImageGrid`] is pixels, not a chart: it saves and displays as PNG
//! (inline in evcxr as `image/png`), and its SVG embeds that PNG.

use super::{plot_err, Figure};
use crate::error::{Error, Result};
use base64::Engine;
use plotters::coord::Shift;
use plotters::prelude::*;
use tch::{Device, Kind, Tensor};

/// Images laid out in a grid: `rows × cols` cells of `cell_h × cell_w`
/// pixels, separated by `pad` pixels of `background`, each pixel drawn as a
/// `scale × scale` block.
#[derive(Clone, Debug, PartialEq)]
pub struct ImageGrid {
    pub rows: u32,
    pub cols: u32,
    pub cell_h: u32,
    pub cell_w: u32,
    /// RGB pixels of every image, in order, `cell_h × cell_w × 3` each.
    pub images: Vec<Vec<u8>>,
    pub pad: u32,
    pub scale: u32,
    pub background: [u8; 3],
}

impl ImageGrid {
    /// A grid of the images of an `N×C×H×W` tensor with values in `[−1, 1]`
    /// (the crate's convention; values outside are clamped), `C` = 1 (grey)
    /// or 3 (RGB), `cols` per row. The tensor may live on any device.
    pub fn from_tensor(images: &Tensor, cols: usize) -> Result<Self> {
        let size = images.size();
        if size.len() != 4 || !(size[1] == 1 || size[1] == 3) || size[0] < 1 || size[2] < 1 || size[3] < 1 {
            return Err(Error::input(format!(
                "image grid: expected an N×C×H×W tensor with N ≥ 1 and C = 1 or 3, got shape {size:?}"
            )));
        }
        if cols == 0 {
            return Err(Error::config("cols", "must be ≥ 1, got 0"));
        }
        let (n, c, h, w) = (size[0] as usize, size[1], size[2] as u32, size[3] as u32);
        // [-1, 1] → [0, 255], rounded to the nearest integer.
        let bytes = images
            .f_to_kind(Kind::Float)?
            .f_clamp(-1.0, 1.0)?
            .f_add_scalar(1.0)?
            .f_mul_scalar(127.5)?
            .f_round()?
            .f_to_kind(Kind::Uint8)?;
        let bytes = if c == 1 { bytes.f_expand([n as i64, 3, h as i64, w as i64], false)? } else { bytes };
        let hwc = bytes.f_permute([0, 2, 3, 1])?.f_contiguous()?.f_to_device(Device::Cpu)?;
        let flat = Vec::<u8>::try_from(hwc.f_flatten(0, -1)?).map_err(|e| Error::input(format!("image grid: {e}")))?;
        let per = (h * w * 3) as usize;
        let images: Vec<Vec<u8>> = flat.chunks_exact(per).map(|c| c.to_vec()).collect();
        let cols = cols.min(n) as u32;
        let rows = (n as u32).div_ceil(cols);
        Ok(ImageGrid { rows, cols, cell_h: h, cell_w: w, images, pad: 2, scale: 2, background: [255, 255, 255] })
    }

    /// The same grid with each pixel drawn `scale × scale` (builder style).
    pub fn with_scale(mut self, scale: u32) -> Self {
        self.scale = scale.max(1);
        self
    }

    /// The grid as an RGB image (exact pixels, no interpolation).
    pub fn to_image(&self) -> image::RgbImage {
        let (w, h) = self.size();
        let mut img = image::RgbImage::from_pixel(w, h, image::Rgb(self.background));
        let s = self.scale;
        for (i, px) in self.images.iter().enumerate() {
            let (r, c) = (i as u32 / self.cols, i as u32 % self.cols);
            let x0 = self.pad + c * (self.cell_w * s + self.pad);
            let y0 = self.pad + r * (self.cell_h * s + self.pad);
            for y in 0..self.cell_h * s {
                for x in 0..self.cell_w * s {
                    let k = (((y / s) * self.cell_w + x / s) * 3) as usize;
                    img.put_pixel(x0 + x, y0 + y, image::Rgb([px[k], px[k + 1], px[k + 2]]));
                }
            }
        }
        img
    }

    /// The PNG as a `data:` URI (what the SVG and HTML forms embed).
    fn png_base64(&self) -> Result<String> {
        Ok(base64::engine::general_purpose::STANDARD.encode(self.to_png()?))
    }
}

impl Figure for ImageGrid {
    fn size(&self) -> (u32, u32) {
        let s = self.scale;
        (self.pad + self.cols * (self.cell_w * s + self.pad), self.pad + self.rows * (self.cell_h * s + self.pad))
    }

    /// Draws pixel by pixel (for composing a grid into a larger figure; the
    /// PNG and SVG forms do not go through here).
    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> Result<()> {
        let img = self.to_image();
        for (x, y, p) in img.enumerate_pixels() {
            area.draw_pixel((x as i32, y as i32), &RGBColor(p[0], p[1], p[2])).map_err(plot_err)?;
        }
        Ok(())
    }

    fn to_rgb(&self) -> Result<Vec<u8>> {
        Ok(self.to_image().into_raw())
    }

    /// An SVG document holding the PNG (pixels stay crisp when scaled).
    fn to_svg(&self) -> Result<String> {
        let (w, h) = self.size();
        Ok(format!(
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\" viewBox=\"0 0 {w} {h}\">\
             <image width=\"{w}\" height=\"{h}\" style=\"image-rendering:pixelated\" \
             href=\"data:image/png;base64,{}\"/></svg>",
            self.png_base64()?
        ))
    }

    /// Shows the grid inline in an evcxr notebook as PNG.
    fn evcxr_display(&self) {
        match self.png_base64() {
            Ok(b64) => println!("EVCXR_BEGIN_CONTENT image/png\n{b64}\nEVCXR_END_CONTENT"),
            Err(e) => eprintln!("{e}"),
        }
    }
}

/// `steps` latent codes on each segment `anchors[i] → anchors[i+1]` of a walk
/// (both ends included; a shared end appears once), stacked as rows: for `a`
/// anchors of shape `[d]` (given as an `a×d` tensor) the result is
/// `((a−1)(steps−1)+1)×d`. Linear interpolation, as in 002 App. F / Radford
/// et al. 2015.
pub fn latent_path(anchors: &Tensor, steps: usize) -> Result<Tensor> {
    let size = anchors.size();
    if size.len() != 2 || size[0] < 2 {
        return Err(Error::input(format!("latent walk: expected ≥ 2 anchors as an a×d tensor, got shape {size:?}")));
    }
    if steps < 2 {
        return Err(Error::config("steps", format!("must be ≥ 2 (both ends of a segment), got {steps}")));
    }
    let t = Tensor::f_linspace(0.0, 1.0, steps as i64, (anchors.kind(), anchors.device()))?.f_unsqueeze(1)?;
    let mut parts = Vec::new();
    for i in 0..size[0] - 1 {
        let (a, b) = (anchors.f_get(i)?, anchors.f_get(i + 1)?);
        let seg = (&a + (&b - &a).f_unsqueeze(0)?.f_mul(&t)?).f_contiguous()?;
        parts.push(if i == 0 { seg } else { seg.f_narrow(0, 1, steps as i64 - 1)? });
    }
    Ok(Tensor::f_cat(&parts, 0)?)
}

/// A latent-space walk (002 App. F, Fig. 8-9): for each row of `walks`
/// (each an `a×d` tensor of anchors), `steps` codes per segment decoded by
/// `decode` (codes `m×d` → images `m×C×H×W` in `[−1, 1]`), one grid row per
/// walk. Smooth rows mean the generator does not memorise.
pub fn latent_walk(walks: &[Tensor], steps: usize, decode: impl Fn(&Tensor) -> Result<Tensor>) -> Result<ImageGrid> {
    if walks.is_empty() {
        return Err(Error::input("latent walk: no walks given"));
    }
    let mut rows = Vec::new();
    let mut per_row = None;
    for w in walks {
        let codes = latent_path(w, steps)?;
        let images = tch::no_grad(|| decode(&codes))?;
        if images.size().first() != Some(&codes.size()[0]) {
            return Err(Error::input(format!(
                "latent walk: decoding {} codes gave images of shape {:?}",
                codes.size()[0],
                images.size()
            )));
        }
        if *per_row.get_or_insert(codes.size()[0]) != codes.size()[0] {
            return Err(Error::input("latent walk: every walk needs the same number of anchors"));
        }
        rows.push(images);
    }
    let cols = per_row.unwrap_or(1) as usize;
    ImageGrid::from_tensor(&Tensor::f_cat(&rows, 0)?, cols)
}
