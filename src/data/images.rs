//! Labelled image sets and the resize the authors applied to MNIST.

use crate::error::{Error, Result};
use tch::{Device, Kind, Tensor};

/// Which part of a data set.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Split {
    Train,
    Test,
}

impl Split {
    pub fn name(self) -> &'static str {
        match self {
            Split::Train => "train",
            Split::Test => "test",
        }
    }
}

/// Images `N×C×H×W` f32 in `[−1, 1]` and their labels `N` i64, on one device.
#[derive(Debug)]
pub struct ImageSet {
    pub images: Tensor,
    pub labels: Tensor,
}

impl ImageSet {
    /// Checks the shapes and kinds: `images` 4-D f32, `labels` 1-D i64 of the
    /// same length, on the same device.
    pub fn new(images: Tensor, labels: Tensor) -> Result<Self> {
        let (is, ls) = (images.size(), labels.size());
        if is.len() != 4 || images.kind() != Kind::Float {
            return Err(Error::input(format!("images must be N×C×H×W f32, got {is:?} {:?}", images.kind())));
        }
        if ls.len() != 1 || labels.kind() != Kind::Int64 || ls[0] != is[0] {
            return Err(Error::input(format!(
                "labels must be {} i64 values (one per image), got {ls:?} {:?}",
                is[0],
                labels.kind()
            )));
        }
        if images.device() != labels.device() {
            return Err(Error::input("images and labels are on different devices"));
        }
        Ok(ImageSet { images, labels })
    }

    /// Number of images.
    pub fn len(&self) -> usize {
        self.images.size()[0] as usize
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// `[C, H, W]`.
    pub fn image_shape(&self) -> [i64; 3] {
        let s = self.images.size();
        [s[1], s[2], s[3]]
    }

    /// The same set on `device`.
    pub fn to_device(&self, device: Device) -> ImageSet {
        ImageSet { images: self.images.to_device(device), labels: self.labels.to_device(device) }
    }

    /// Images per label `0..classes` (labels outside are not counted).
    pub fn label_counts(&self, classes: usize) -> Vec<i64> {
        let l = self.labels.to_device(Device::Cpu);
        let v: Vec<i64> = Vec::<i64>::try_from(&l).unwrap_or_default();
        let mut h = vec![0i64; classes];
        for x in v {
            if (0..classes as i64).contains(&x) {
                h[x as usize] += 1;
            }
        }
        h
    }

    /// The first `n` images (all if fewer).
    pub fn take(&self, n: usize) -> ImageSet {
        let n = n.min(self.len()) as i64;
        ImageSet { images: self.images.narrow(0, 0, n), labels: self.labels.narrow(0, 0, n) }
    }

    /// The images resized as the authors did for MNIST → 16×16 ([`resize_center_crop`]).
    pub fn resized(&self, size: i64) -> Result<ImageSet> {
        Ok(ImageSet { images: resize_center_crop(&self.images, size)?, labels: self.labels.shallow_clone() })
    }
}

/// `u8 → f32` as torchvision computes it: `ToTensor` (`v / 255`) then
/// `Normalize(0.5, 0.5)` (`(x − 0.5) / 0.5`), in f32, so that the values are
/// bit-identical to a torchvision pipeline.
pub(crate) fn u8_to_unit_lut() -> [f32; 256] {
    let mut lut = [0f32; 256];
    for (i, v) in lut.iter_mut().enumerate() {
        *v = (i as f32 / 255.0 - 0.5) / 0.5;
    }
    lut
}

/// Converts bytes to a f32 tensor of `shape` in `[−1, 1]` through the
/// torchvision lookup table, on the CPU: one pass over the data, written
/// straight into the tensor's memory by as many threads as there are cores
/// on memory advised to use huge pages. For the 60,000 Fashion-MNIST training
/// images on the 2-core development machine: 0.64 s building a `Vec` and
/// copying it into a tensor, 0.31 s writing in place, 0.11–0.18 s with huge
/// pages (`benches/data.rs`).
pub(crate) fn bytes_to_tensor(bytes: &[u8], shape: &[i64]) -> Result<Tensor> {
    let n: i64 = shape.iter().product();
    if n as usize != bytes.len() {
        return Err(Error::input(format!("{} bytes do not fill a tensor of shape {shape:?}", bytes.len())));
    }
    let lut = u8_to_unit_lut();
    let t = Tensor::f_empty(shape, (Kind::Float, Device::Cpu))?;
    if n == 0 {
        return Ok(t);
    }
    // SAFETY: `t` was just created by `empty`: it is contiguous, f32, on the
    // CPU, holds exactly `n` elements and no other handle to it exists until
    // this function returns it, so the slice is the only view of its memory.
    let out: &mut [f32] = unsafe { std::slice::from_raw_parts_mut(t.data_ptr() as *mut f32, n as usize) };
    advise_huge_pages(out.as_mut_ptr() as *mut u8, out.len() * 4);
    let threads = std::thread::available_parallelism().map_or(1, |p| p.get()).min(16);
    let chunk = bytes.len().div_ceil(threads).max(1 << 16);
    std::thread::scope(|s| {
        for (o, b) in out.chunks_mut(chunk).zip(bytes.chunks(chunk)) {
            s.spawn(move || {
                for (d, &v) in o.iter_mut().zip(b) {
                    *d = lut[v as usize];
                }
            });
        }
    });
    Ok(t)
}

/// Asks Linux to back a fresh, untouched buffer with transparent huge pages
/// (`madvise(MADV_HUGEPAGE)`, honoured when THP is in `madvise` or `always`
/// mode): the first write to 188 MB then costs ~100 page faults instead of
/// ~46,000, which is most of the decoding time of the Fashion-MNIST training
/// set. Only the 2 MiB-aligned interior is advised; failures are ignored (the
/// advice is an optimisation). No-op on other systems.
pub(crate) fn advise_huge_pages(ptr: *mut u8, len: usize) {
    #[cfg(target_os = "linux")]
    {
        const HUGE: usize = 2 << 20;
        let start = (ptr as usize).div_ceil(HUGE) * HUGE;
        let end = (ptr as usize + len) / HUGE * HUGE;
        if end > start {
            // SAFETY: [start, end) lies inside the caller's live allocation;
            // MADV_HUGEPAGE changes how pages are backed, never their contents.
            unsafe {
                libc::madvise(start as *mut libc::c_void, end - start, libc::MADV_HUGEPAGE);
            }
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = (ptr, len);
}

/// torchvision's `Resize(size)` followed by `CenterCrop(size)`, as the
/// authors prepare MNIST for domain adaptation (`exp_da/data_loader.py`:
/// `Resize(16)`, `CenterCrop(16)`, `ToTensor`, `2x − 1`).
///
/// On a PIL image `Resize` is Pillow's antialiased bilinear resample of the
/// 8-bit image: a horizontal pass, rounded to 8 bits, then a vertical pass,
/// with weights in 22-bit fixed point (`libImaging/Resample.c`). libtorch's
/// `_upsample_bilinear2d_aa` computes the same filter in floating point in one
/// pass and differs from Pillow by one 8-bit level on 11 % of the pixels of
/// resized MNIST-like images; this function reproduces Pillow's integer
/// arithmetic instead (as two matrix products in f64, exact for these sizes),
/// so it agrees with torchvision pixel for pixel (`tests/data_images.rs`).
/// It is written here because no crate implements Pillow's fixed-point
/// resample on tensors.
///
/// Input: images in `[−1, 1]` that are 8-bit levels (as the loaders produce);
/// they are rounded to the nearest level first. Non-square images: the shorter
/// side becomes `size` (torchvision's rule), then the centre `size × size`
/// crop is taken.
pub fn resize_center_crop(images: &Tensor, size: i64) -> Result<Tensor> {
    let s = images.size();
    if s.len() != 4 {
        return Err(Error::input(format!("resize expects N×C×H×W images, got shape {s:?}")));
    }
    if size < 1 {
        return Err(Error::config("size", format!("must be ≥ 1, got {size}")));
    }
    let (h, w) = (s[2], s[3]);
    if h == size && w == size {
        return Ok(images.shallow_clone());
    }
    // torchvision: the short side to `size`, the long one to int(size · long / short).
    let (oh, ow) = if h <= w { (size, size * w / h) } else { (size * h / w, size) };
    let dev = images.device();
    let opts = (Kind::Double, dev);
    let mut px = ((images.to_kind(Kind::Double) + 1.0) * 127.5).round().clamp(0.0, 255.0);
    let half = (1u64 << (PIL_PRECISION_BITS - 1)) as f64;
    let one = (1u64 << PIL_PRECISION_BITS) as f64;
    if ow != w {
        let k = Tensor::from_slice(&pil_bilinear_weights(w as usize, ow as usize))
            .view([ow, w])
            .to_kind(opts.0)
            .to_device(dev);
        px = ((px.f_matmul(&k.tr())? + half) / one).floor().clamp(0.0, 255.0);
    }
    if oh != h {
        let k = Tensor::from_slice(&pil_bilinear_weights(h as usize, oh as usize))
            .view([oh, h])
            .to_kind(opts.0)
            .to_device(dev);
        px = ((k.f_matmul(&px)? + half) / one).floor().clamp(0.0, 255.0);
    }
    // torchvision's center_crop: int(round((H − size) / 2.0)), Python's round.
    let mid = |d: i64| if d % 2 == 1 && (d / 2) % 2 == 1 { d / 2 + 1 } else { d / 2 };
    let px = px.narrow(2, mid(oh - size), size).narrow(3, mid(ow - size), size).to_kind(Kind::Float);
    Ok((px / 255.0 - 0.5) / 0.5)
}

/// Pillow's fixed-point precision for 8-bit images (`Resample.c`: 32 − 8 − 2).
const PIL_PRECISION_BITS: u32 = 22;

/// Pillow's bilinear resample weights from `input` to `output` samples
/// (`precompute_coeffs` + `normalize_coeffs_8bpc` of `libImaging/Resample.c`),
/// as a dense `output × input` matrix of fixed-point integers.
fn pil_bilinear_weights(input: usize, output: usize) -> Vec<f64> {
    let scale = input as f64 / output as f64;
    let filterscale = scale.max(1.0);
    let support = filterscale; // the bilinear (triangle) filter has support 1
    let tri = |x: f64| if x.abs() < 1.0 { 1.0 - x.abs() } else { 0.0 };
    let mut m = vec![0.0; output * input];
    for xx in 0..output {
        let center = (xx as f64 + 0.5) * scale;
        let xmin = ((center - support + 0.5) as i64).max(0) as usize;
        let xmax = ((center + support + 0.5) as i64).min(input as i64) as usize;
        let w: Vec<f64> = (xmin..xmax).map(|x| tri((x as f64 - center + 0.5) / filterscale)).collect();
        let total: f64 = w.iter().sum();
        for (k, wk) in w.iter().enumerate() {
            let v = if total != 0.0 { wk / total } else { *wk };
            let f = v * (1u64 << PIL_PRECISION_BITS) as f64;
            // C's (int)(±0.5 + f): round half away from zero, then truncate.
            m[xx * input + xmin + k] = if f < 0.0 { (f - 0.5).trunc() } else { (f + 0.5).trunc() };
        }
    }
    m
}
