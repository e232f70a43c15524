//! Stand-in data files for machines that cannot download USPS, MNIST or
//! CIFAR-10 ([`write_cifar_standin`]). The digits:
//! a synthetic pair of domains written in the data sets' exact formats
//! (USPS libsvm `.bz2`, MNIST IDX `.gz`) under a data root, so that the
//! loaders, the trainer and the domain-adaptation protocol run end to end.
//!
//! Five classes differ by their brightness (levels 0.3 apart in [−1, 1],
//! plus uniform pixel noise of width 0.1); the "MNIST" domain (28×28) adds
//! [`SHIFT`] = 0.6 to every pixel of the "USPS" domain (16×16). 1-NN on the
//! raw source images therefore puts a target digit of class c next to source
//! digits of class c + 2: the source baseline is exactly 1/5 (only class 4 is
//! right), while the W2-optimal transport between the domains is the
//! translation, which keeps every class. (In W1 the translation is one of
//! several optimal plans: moving each class onto its neighbour's target costs
//! as much, so what W1-FE learns here depends on floating-point order.) These
//! are not digits: the numbers they give say that the pipeline works, not
//! what the papers' tables measure.

use crate::error::{Error, Result};
use std::io::Write;
use std::path::Path;

/// Brightness added by the target domain.
pub const SHIFT: f64 = 0.6;
/// Number of classes (digits 0..CLASSES).
pub const CLASSES: usize = 5;

/// A small deterministic generator (xorshift), so the files depend only on
/// the seed, not on libtorch's generator.
struct Xs(u64);
impl Xs {
    fn next(&mut self) -> f64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// A pixel of a digit of class `k` in [−1, 1]: the class level and noise.
fn pixel(k: usize, rng: &mut Xs) -> f64 {
    -0.8 + 0.3 * k as f64 + 0.1 * (rng.next() - 0.5)
}

fn compressed(path: &Path, bytes: &[u8], bz2: bool) -> Result<()> {
    let io = |e: std::io::Error| Error::file(path, e);
    let out = if bz2 {
        let mut e = bzip2::write::BzEncoder::new(Vec::new(), bzip2::Compression::fast());
        e.write_all(bytes).map_err(io)?;
        e.finish().map_err(io)?
    } else {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        e.write_all(bytes).map_err(io)?;
        e.finish().map_err(io)?
    };
    if let Some(dir) = path.parent() {
        crate::io::create_dir_all(dir)?;
    }
    crate::io::write_atomic(path, &out)
}

/// Writes `root/usps/{usps.bz2,usps.t.bz2}` and
/// `root/mnist/{train,t10k}-{images-idx3,labels-idx1}-ubyte.gz` with
/// `n_train` and `n_test` images each (classes in turn), from `seed`.
pub fn write_shifted_digit_domains(root: &Path, n_train: usize, n_test: usize, seed: u64) -> Result<()> {
    if n_train == 0 || n_test == 0 {
        return Err(Error::config("n_train/n_test", "write at least one image per split"));
    }
    let mut rng = Xs(seed ^ 0x9e37_79b9_7f4a_7c15 | 1);
    // USPS: libsvm lines "label i:v …", label 10 for digit 0.
    for (name, n) in [("usps.bz2", n_train), ("usps.t.bz2", n_test)] {
        let mut text = String::new();
        for i in 0..n {
            let k = i % CLASSES;
            text += &(if k == 0 { 10 } else { k }).to_string();
            for j in 0..256 {
                text += &format!(" {}:{:.6}", j + 1, pixel(k, &mut rng).clamp(-1.0, 1.0));
            }
            text.push('\n');
        }
        compressed(&root.join("usps").join(name), text.as_bytes(), true)?;
    }
    // MNIST: IDX u8, 28×28, brighter.
    for (prefix, n) in [("train", n_train), ("t10k", n_test)] {
        let mut img = Vec::new();
        for v in [2051u32, n as u32, 28, 28] {
            img.extend_from_slice(&v.to_be_bytes());
        }
        let mut lab = Vec::new();
        for v in [2049u32, n as u32] {
            lab.extend_from_slice(&v.to_be_bytes());
        }
        for i in 0..n {
            let k = i % CLASSES;
            lab.push(k as u8);
            for _ in 0..28 * 28 {
                let v = (pixel(k, &mut rng) + SHIFT).clamp(-1.0, 1.0);
                img.push(((v + 1.0) / 2.0 * 255.0).round() as u8);
            }
        }
        let dir = root.join("mnist");
        compressed(&dir.join(format!("{prefix}-images-idx3-ubyte.gz")), &img, false)?;
        compressed(&dir.join(format!("{prefix}-labels-idx1-ubyte.gz")), &lab, false)?;
    }
    Ok(())
}

/// Writes `root/cifar10/cifar-10-binary.tar.gz` in CIFAR-10's exact binary
/// format (five training batches and a test batch of 10,000 records each)
/// with synthetic 32×32 colour images: image `i` is of class `i mod 10`, a
/// filled square of the class's colour (side 8 to 15 pixels, at a random
/// place) on a dark, noisy background. These are not photographs: a
/// generator trained on them can be judged by eye and by distances, not
/// against the papers' CIFAR-10 FIDs. Deterministic in `seed`. Returns the
/// archive's path.
pub fn write_cifar_standin(root: &Path, seed: u64) -> Result<std::path::PathBuf> {
    use crate::data::cifar::{members, PER_BATCH, RECORD};
    use crate::data::Split;
    // One colour per class (R, G, B), far apart.
    const COLOURS: [[u8; 3]; 10] = [
        [230, 40, 40],
        [40, 200, 40],
        [50, 80, 240],
        [240, 220, 40],
        [220, 60, 220],
        [40, 220, 220],
        [250, 150, 30],
        [150, 90, 40],
        [250, 250, 250],
        [120, 120, 250],
    ];
    let mut rng = Xs(seed ^ 0x2545_f491_4f6c_dd1d | 1);
    let mut record = |i: usize, rec: &mut Vec<u8>| {
        let k = i % 10;
        rec.push(k as u8);
        let side = 8 + (rng.next() * 8.0) as usize;
        let (r0, c0) = ((rng.next() * (32 - side) as f64) as usize, (rng.next() * (32 - side) as f64) as usize);
        for (ch, &level) in COLOURS[k].iter().enumerate() {
            for r in 0..32 {
                for c in 0..32 {
                    let inside = (r0..r0 + side).contains(&r) && (c0..c0 + side).contains(&c);
                    let base = if inside { level as f64 } else { 20.0 + 10.0 * ch as f64 };
                    rec.push((base + 24.0 * (rng.next() - 0.5)).clamp(0.0, 255.0).round() as u8);
                }
            }
        }
    };
    let path = root.join("cifar10").join("cifar-10-binary.tar.gz");
    let io = |e: std::io::Error| Error::file(&path, e);
    let gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    let mut ar = tar::Builder::new(gz);
    let mut i = 0;
    for name in members(Split::Train).into_iter().chain(members(Split::Test)) {
        let mut data = Vec::with_capacity(PER_BATCH * RECORD);
        for _ in 0..PER_BATCH {
            record(i, &mut data);
            i += 1;
        }
        let mut h = tar::Header::new_gnu();
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        h.set_cksum();
        ar.append_data(&mut h, &name, data.as_slice()).map_err(io)?;
    }
    let bytes = ar.into_inner().map_err(io)?.finish().map_err(io)?;
    crate::io::create_dir_all(path.parent().unwrap_or(root))?;
    crate::io::write_atomic(&path, &bytes)?;
    Ok(path)
}
