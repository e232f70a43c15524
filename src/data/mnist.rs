//! MNIST and Fashion-MNIST: the IDX format, gzip-compressed or not.
//!
//! An IDX file is a big-endian header — a `u32` magic number (2051 for
//! images, 2049 for labels: two zero bytes, the type byte 0x08 = u8, the
//! number of dimensions), one `u32` per dimension — followed by the u8 data in
//! row-major order (<http://yann.lecun.com/exdb/mnist/>).
//!
//! The format is small enough that no crate is worth depending on (the `mnist`
//! crate reads only uncompressed files and panics on bad input).

use super::fetch::{ensure_file, FetchOptions, RemoteFile};
use super::images::{advise_huge_pages, bytes_to_tensor, ImageSet, Split};
use crate::error::{Error, Result};
use std::io::Read;
use std::path::{Path, PathBuf};
use tch::{Device, Tensor};

/// IDX magic number of an image file (u8, 3 dimensions).
pub const IMAGES_MAGIC: u32 = 2051;
/// IDX magic number of a label file (u8, 1 dimension).
pub const LABELS_MAGIC: u32 = 2049;

/// MNIST's mirrors, in torchvision's order (`torchvision/datasets/mnist.py`).
pub const MNIST_MIRRORS: &[&str] =
    &["https://ossci-datasets.s3.amazonaws.com/mnist/", "http://yann.lecun.com/exdb/mnist/"];
/// Fashion-MNIST's mirror (torchvision; github.com/zalandoresearch/fashion-mnist).
pub const FASHION_MIRRORS: &[&str] = &["http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"];

/// `(file, MD5)` of MNIST as torchvision checks them.
pub const MNIST_FILES: [(&str, &str); 4] = [
    ("train-images-idx3-ubyte.gz", "f68b3c2dcbeaaa9fbdd348bbdeb94873"),
    ("train-labels-idx1-ubyte.gz", "d53e105ee54ea40749a09fcbcd1e9432"),
    ("t10k-images-idx3-ubyte.gz", "9fb629c4189551a2d022fa330f9573f3"),
    ("t10k-labels-idx1-ubyte.gz", "ec29112dd5afa0611ce80d1b7f02629c"),
];
/// `(file, MD5)` of Fashion-MNIST as its README and torchvision publish them.
pub const FASHION_FILES: [(&str, &str); 4] = [
    ("train-images-idx3-ubyte.gz", "8d4fb7e6c68d591d4c3dfef9ec88bf0d"),
    ("train-labels-idx1-ubyte.gz", "25c81989df183df01b3e8a0aad5dffbe"),
    ("t10k-images-idx3-ubyte.gz", "bef4ecab320f06d8554ea6380940ec79"),
    ("t10k-labels-idx1-ubyte.gz", "bb300cfdad3c16e7a12a480ee83cd310"),
];

/// Reads a whole file, decompressing it when it starts with the gzip magic
/// bytes (whatever its name).
pub fn read_maybe_gz(path: &Path) -> Result<Vec<u8>> {
    let raw = read_file(path)?;
    if raw.len() >= 2 && raw[0] == 0x1f && raw[1] == 0x8b {
        let mut out = Vec::with_capacity(raw.len() * 2);
        advise_huge_pages(out.as_mut_ptr(), out.capacity());
        flate2::read::MultiGzDecoder::new(&raw[..])
            .read_to_end(&mut out)
            .map_err(|e| Error::file(path, format!("cannot decompress (gzip): {e}")))?;
        Ok(out)
    } else {
        Ok(raw)
    }
}

/// `std::fs::read` into a buffer advised to use huge pages (see
/// [`advise_huge_pages`]).
fn read_file(path: &Path) -> Result<Vec<u8>> {
    let bad = |e: std::io::Error| Error::file(path, format!("cannot read: {e}"));
    let mut f = std::fs::File::open(path).map_err(bad)?;
    let len = f.metadata().map_err(bad)?.len() as usize;
    let mut buf = Vec::with_capacity(len + 1);
    advise_huge_pages(buf.as_mut_ptr(), buf.capacity());
    f.read_to_end(&mut buf).map_err(bad)?;
    Ok(buf)
}

/// Parses an IDX header of `ndims` dimensions with `magic`; returns the
/// dimensions and the offset of the data. Checks that the data fill the
/// dimensions exactly.
fn parse_idx(bytes: &[u8], magic: u32, what: &str, path: &Path) -> Result<(Vec<usize>, usize)> {
    let ndims = (magic & 0xff) as usize;
    let header = 4 + 4 * ndims;
    if bytes.len() < 4 {
        return Err(Error::file(
            path,
            format!("truncated header: {} bytes, an IDX {what} header has {header}", bytes.len()),
        ));
    }
    let be = |i: usize| u32::from_be_bytes([bytes[i], bytes[i + 1], bytes[i + 2], bytes[i + 3]]);
    let m = be(0);
    if m != magic {
        return Err(Error::file(
            path,
            format!("not an IDX {what} file: magic number {m} (0x{m:08x}), expected {magic} (0x{magic:08x})"),
        ));
    }
    if bytes.len() < header {
        return Err(Error::file(
            path,
            format!("truncated header: {} bytes, an IDX {what} header has {header}", bytes.len()),
        ));
    }
    let dims: Vec<usize> = (0..ndims).map(|k| be(4 + 4 * k) as usize).collect();
    let need = dims.iter().try_fold(1usize, |a, &d| a.checked_mul(d));
    let have = bytes.len() - header;
    match need {
        Some(n) if n == have => Ok((dims, header)),
        Some(n) if n > have => Err(Error::file(
            path,
            format!("truncated data: the header announces {dims:?} ({n} bytes of data), the file holds {have}"),
        )),
        Some(n) => Err(Error::file(
            path,
            format!(
                "{} bytes after the data: the header announces {dims:?} ({n} bytes), the file holds {have}",
                have - n
            ),
        )),
        None => Err(Error::file(path, format!("impossible dimensions {dims:?} in the header"))),
    }
}

/// Reads an IDX image file (gzip or plain) into `N×1×H×W` f32 in `[−1, 1]`
/// on the CPU (torchvision's `ToTensor` + `Normalize(0.5, 0.5)`, bit for bit).
pub fn read_idx_images(path: &Path) -> Result<Tensor> {
    let bytes = read_maybe_gz(path)?;
    let (d, off) = parse_idx(&bytes, IMAGES_MAGIC, "image", path)?;
    bytes_to_tensor(&bytes[off..], &[d[0] as i64, 1, d[1] as i64, d[2] as i64]).map_err(|e| Error::file(path, e))
}

/// Reads an IDX image file (gzip or plain) as its bytes: `N×1×H×W` u8 on
/// the CPU (what torchvision's `MNIST.data` holds, with a channel axis).
pub fn read_idx_images_u8(path: &Path) -> Result<Tensor> {
    let bytes = read_maybe_gz(path)?;
    let (d, off) = parse_idx(&bytes, IMAGES_MAGIC, "image", path)?;
    let data = &bytes[off..];
    let t = Tensor::f_empty([d[0] as i64, 1, d[1] as i64, d[2] as i64], (tch::Kind::Uint8, Device::Cpu))?;
    // SAFETY: `t` was just created by `empty`: contiguous, u8, on the CPU,
    // exactly `data.len()` elements (checked by `parse_idx`), not shared.
    let out: &mut [u8] = unsafe { std::slice::from_raw_parts_mut(t.data_ptr() as *mut u8, data.len()) };
    advise_huge_pages(out.as_mut_ptr(), out.len());
    out.copy_from_slice(data);
    Ok(t)
}

/// Reads an IDX label file (gzip or plain) into `N` i64 on the CPU.
pub fn read_idx_labels(path: &Path) -> Result<Tensor> {
    let bytes = read_maybe_gz(path)?;
    let (_, off) = parse_idx(&bytes, LABELS_MAGIC, "label", path)?;
    let v: Vec<i64> = bytes[off..].iter().map(|&b| b as i64).collect();
    Ok(Tensor::from_slice(&v))
}

/// The file names of a split: `(images, labels)`, with the `.gz` suffix.
fn split_files(split: Split) -> (&'static str, &'static str) {
    match split {
        Split::Train => ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
        Split::Test => ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
    }
}

/// `dir/NAME` if present, else `dir/NAME` without `.gz` if present (as
/// torchvision leaves them after extracting).
fn present(dir: &Path, name: &str) -> Option<PathBuf> {
    let gz = dir.join(name);
    if gz.is_file() {
        return Some(gz);
    }
    let plain = dir.join(name.trim_end_matches(".gz"));
    plain.is_file().then_some(plain)
}

/// Loads one split from a folder holding the IDX files (`.gz` or not), such
/// as Debian's `/usr/share/datasets/fashion-mnist/`. No download, no checksum.
pub fn load_idx_dir(dir: &Path, split: Split, device: Device) -> Result<ImageSet> {
    let (img, lab) = split_files(split);
    let find = |name: &str| {
        present(dir, name).ok_or_else(|| {
            Error::file(
                dir.join(name),
                format!("missing: neither {name} nor {} in {}", name.trim_end_matches(".gz"), dir.display()),
            )
        })
    };
    let (ip, lp) = (find(img)?, find(lab)?);
    load_pair(&ip, &lp, device)
}

/// Loads an image file and a label file, checking that their counts agree.
pub fn load_pair(images: &Path, labels: &Path, device: Device) -> Result<ImageSet> {
    let x = read_idx_images(images)?;
    let y = read_idx_labels(labels)?;
    let (n, m) = (x.size()[0], y.size()[0]);
    if n != m {
        return Err(Error::file(labels, format!("count mismatch: {m} labels for {n} images in {}", images.display())));
    }
    ImageSet::new(x.to_device(device), y.to_device(device))
}

/// The remote files of MNIST (`fashion = false`) or Fashion-MNIST.
pub(crate) fn remote_files(fashion: bool) -> Vec<RemoteFile> {
    let (files, mirrors) = if fashion { (FASHION_FILES, FASHION_MIRRORS) } else { (MNIST_FILES, MNIST_MIRRORS) };
    files.iter().map(|(n, md5)| RemoteFile::new(n, mirrors, md5, None)).collect()
}

/// Loads a split from the cache folder `dir`, fetching missing files per `opts`.
/// An uncompressed file present in the folder is used as is.
pub(crate) fn load_cached(
    dir: &Path,
    fashion: bool,
    split: Split,
    opts: &FetchOptions,
    device: Device,
) -> Result<ImageSet> {
    let (img, lab) = split_files(split);
    let files = remote_files(fashion);
    let get = |name: &str| -> Result<PathBuf> {
        let f = files.iter().find(|f| f.name == name).expect("split files are among the remote files");
        let plain = dir.join(name.trim_end_matches(".gz"));
        if !dir.join(name).is_file() && plain.is_file() {
            return Ok(plain); // extracted by hand or by torchvision: no published checksum to check
        }
        ensure_file(f, dir, opts)
    };
    let (ip, lp) = (get(img)?, get(lab)?);
    load_pair(&ip, &lp, device)
}
