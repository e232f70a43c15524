//! USPS handwritten digits (16×16) in the libsvm format, bzip2-compressed, as
//! torchvision downloads them from the LIBSVM data page.
//!
//! One line per image: `label idx:val idx:val …` with the label in `1..=10`
//! (digit + 1), indices `1..=256` (16×16 row-major) and values in `[−1, 1]`.
//! An omitted index is a zero value (libsvm's sparse convention). The parser is
//! written here because no maintained libsvm crate reads dense image data
//! without copying through its own sparse types.

use super::fetch::{ensure_file, FetchOptions, RemoteFile};
use super::images::{ImageSet, Split};
use crate::error::{Error, Result};
use std::io::Read;
use std::path::Path;
use tch::{Device, Tensor};

/// The LIBSVM multiclass folder (torchvision `datasets/usps.py`).
pub const USPS_MIRRORS: &[&str] = &["https://www.csie.ntu.edu.tw/~cjlin/libsvmtools/datasets/multiclass/"];
/// `(file, MD5, lines)` of the training and test files.
pub const USPS_FILES: [(&str, &str, usize); 2] =
    [("usps.bz2", "ec16c51db3855ca6c91edd34d0e9b197", 7291), ("usps.t.bz2", "8ea070ee2aca1ac39742fdd1ef5ed118", 2007)];

/// Pixels per image.
const DIM: usize = 256;
/// Tolerance on the value range: values a little outside `[−1, 1]` (rounding
/// in the published text) are clamped; farther ones are an error.
const RANGE_TOL: f32 = 1e-3;

/// Reads a libsvm USPS file (bzip2 or plain text) into `N×1×16×16` f32 in
/// `[−1, 1]` and labels `0..=9`, on the CPU.
pub fn read_usps(path: &Path) -> Result<(Tensor, Tensor)> {
    let raw = std::fs::read(path).map_err(|e| Error::file(path, format!("cannot read: {e}")))?;
    let text = if raw.starts_with(b"BZh") {
        let mut out = Vec::with_capacity(raw.len() * 4);
        bzip2::read::MultiBzDecoder::new(&raw[..])
            .read_to_end(&mut out)
            .map_err(|e| Error::file(path, format!("cannot decompress (bzip2): {e}")))?;
        out
    } else {
        raw
    };
    let text = std::str::from_utf8(&text).map_err(|e| Error::file(path, format!("not text: {e}")))?;
    let (pixels, labels) =
        parse_libsvm(text).map_err(|(line, msg)| Error::file(path, format!("line {line}: {msg}")))?;
    let n = labels.len() as i64;
    Ok((Tensor::from_slice(&pixels).view([n, 1, 16, 16]), Tensor::from_slice(&labels)))
}

/// Parses libsvm lines; an error is `(line number, message)`.
fn parse_libsvm(text: &str) -> std::result::Result<(Vec<f32>, Vec<i64>), (usize, String)> {
    let mut pixels = Vec::new();
    let mut labels = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let ln = i + 1;
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let mut tok = line.split_ascii_whitespace();
        let lab = tok.next().unwrap_or("");
        let label: f64 = lab.parse().map_err(|_| (ln, format!("bad label {lab:?}: expected an integer in 1..=10")))?;
        if label.fract() != 0.0 || !(1.0..=10.0).contains(&label) {
            return Err((ln, format!("bad label {lab:?}: expected an integer in 1..=10")));
        }
        labels.push(label as i64 - 1);
        let base = pixels.len();
        pixels.resize(base + DIM, 0.0);
        for t in tok {
            let (k, v) = t.split_once(':').ok_or_else(|| (ln, format!("bad entry {t:?}: expected index:value")))?;
            let k: usize =
                k.parse().map_err(|_| (ln, format!("bad index in {t:?}: expected an integer in 1..=256")))?;
            if !(1..=DIM).contains(&k) {
                return Err((ln, format!("index {k} out of range in {t:?}: expected 1..=256")));
            }
            let v: f32 = v.parse().map_err(|_| (ln, format!("bad value in {t:?}: expected a number")))?;
            if !v.is_finite() || v.abs() > 1.0 + RANGE_TOL {
                return Err((ln, format!("value {v} out of range in {t:?}: expected [-1, 1]")));
            }
            pixels[base + k - 1] = v.clamp(-1.0, 1.0);
        }
    }
    Ok((pixels, labels))
}

/// The remote files of USPS.
pub(crate) fn remote_files() -> Vec<RemoteFile> {
    USPS_FILES.iter().map(|(n, md5, _)| RemoteFile::new(n, USPS_MIRRORS, md5, None)).collect()
}

/// Loads a split from the cache folder `dir`, fetching it per `opts`.
pub(crate) fn load_cached(dir: &Path, split: Split, opts: &FetchOptions, device: Device) -> Result<ImageSet> {
    let files = remote_files();
    let f = &files[if split == Split::Train { 0 } else { 1 }];
    let path = ensure_file(f, dir, opts)?;
    let (x, y) = read_usps(&path)?;
    ImageSet::new(x.to_device(device), y.to_device(device))
}

/// The values the authors' pipeline saw: torchvision's `USPS` stores
/// `uint8((v + 1) / 2 · 255)` (truncated) and `ToTensor`, `2x − 1` map it back,
/// so the floats are quantised to 256 levels. Apply this to reproduce
/// `exp_da` exactly; [`crate::data::Dataset::Usps`] keeps the published values.
pub fn torchvision_quantize(images: &Tensor) -> Tensor {
    let u8v = ((images + 1.0) / 2.0 * 255.0).floor().clamp(0.0, 255.0);
    u8v / 255.0 * 2.0 - 1.0
}
