//! CIFAR-10, binary version: `cifar-10-binary.tar.gz` holding
//! `cifar-10-batches-bin/data_batch_1.bin` … `data_batch_5.bin` and
//! `test_batch.bin`, each 10,000 records of 3073 bytes: the label (0..=9), then
//! the 1024 red, 1024 green and 1024 blue bytes of a 32×32 image, row-major
//! (<https://www.cs.toronto.edu/~kriz/cifar.html>).
//!
//! The archive is read in one pass without being extracted.

use super::fetch::{ensure_file, FetchOptions, RemoteFile};
use super::images::{bytes_to_tensor, ImageSet, Split};
use crate::error::{Error, Result};
use std::io::Read;
use std::path::Path;
use tch::{Device, Tensor};

/// The publisher's folder.
pub const CIFAR_MIRRORS: &[&str] = &["https://www.cs.toronto.edu/~kriz/"];
/// The archive and its MD5 (the publisher's page).
pub const CIFAR_FILE: (&str, &str) = ("cifar-10-binary.tar.gz", "c32a1d4ab5d03f1284b67883e8d87530");

/// Bytes per record: one label byte and 3×32×32 pixel bytes.
pub const RECORD: usize = 1 + 3 * 32 * 32;
/// Records per batch file.
pub const PER_BATCH: usize = 10_000;

/// Member names of a split, in order.
pub fn members(split: Split) -> Vec<String> {
    match split {
        Split::Train => (1..=5).map(|i| format!("cifar-10-batches-bin/data_batch_{i}.bin")).collect(),
        Split::Test => vec!["cifar-10-batches-bin/test_batch.bin".to_string()],
    }
}

/// Reads one split from the archive into `N×3×32×32` f32 in `[−1, 1]`
/// (torchvision's `ToTensor` + `Normalize(0.5, 0.5)` per channel, bit for
/// bit) and labels, on the CPU.
pub fn read_cifar_archive(path: &Path, split: Split) -> Result<(Tensor, Tensor)> {
    let wanted = members(split);
    let f = std::fs::File::open(path).map_err(|e| Error::file(path, format!("cannot read: {e}")))?;
    let gz = flate2::read::GzDecoder::new(std::io::BufReader::with_capacity(1 << 20, f));
    let mut ar = tar::Archive::new(gz);
    let bad = |e: std::io::Error| Error::file(path, format!("not a readable tar.gz archive: {e}"));
    let mut found: Vec<Option<Vec<u8>>> = vec![None; wanted.len()];
    for entry in ar.entries().map_err(bad)? {
        let mut entry = entry.map_err(bad)?;
        let name = entry.path().map_err(bad)?.to_string_lossy().trim_start_matches("./").to_string();
        let Some(k) = wanted.iter().position(|w| *w == name) else { continue };
        let size = entry.header().size().map_err(bad)? as usize;
        if size != RECORD * PER_BATCH {
            return Err(Error::file(
                path,
                format!(
                    "member {name} has {size} bytes, expected {} ({PER_BATCH} records of {RECORD} bytes)",
                    RECORD * PER_BATCH
                ),
            ));
        }
        let mut buf = Vec::with_capacity(size);
        entry.read_to_end(&mut buf).map_err(|e| Error::file(path, format!("member {name}: truncated: {e}")))?;
        if buf.len() != size {
            return Err(Error::file(path, format!("member {name}: truncated: {} of {size} bytes", buf.len())));
        }
        found[k] = Some(buf);
        if found.iter().all(Option::is_some) {
            break;
        }
    }
    let mut batches = Vec::with_capacity(wanted.len());
    for (w, b) in wanted.iter().zip(found) {
        batches.push(b.ok_or_else(|| Error::file(path, format!("member {w} missing from the archive")))?);
    }
    decode_records(&batches).map_err(|e| Error::file(path, e))
}

/// Decodes whole batches of records.
fn decode_records(batches: &[Vec<u8>]) -> Result<(Tensor, Tensor)> {
    let n: usize = batches.iter().map(|b| b.len() / RECORD).sum();
    let mut px = Vec::with_capacity(n * (RECORD - 1));
    let mut labels = Vec::with_capacity(n);
    for b in batches {
        if b.len() % RECORD != 0 {
            return Err(Error::input(format!("{} bytes are not whole records of {RECORD} bytes", b.len())));
        }
        for rec in b.chunks_exact(RECORD) {
            if rec[0] > 9 {
                return Err(Error::input(format!("label {} out of range 0..=9 in record {}", rec[0], labels.len())));
            }
            labels.push(rec[0] as i64);
            px.extend_from_slice(&rec[1..]);
        }
    }
    Ok((bytes_to_tensor(&px, &[n as i64, 3, 32, 32])?, Tensor::from_slice(&labels)))
}

/// The remote archive.
pub(crate) fn remote_files() -> Vec<RemoteFile> {
    vec![RemoteFile::new(CIFAR_FILE.0, CIFAR_MIRRORS, CIFAR_FILE.1, None)]
}

/// Loads a split from the cache folder `dir`, fetching the archive per `opts`.
pub(crate) fn load_cached(dir: &Path, split: Split, opts: &FetchOptions, device: Device) -> Result<ImageSet> {
    let path = ensure_file(&remote_files()[0], dir, opts)?;
    let (x, y) = read_cifar_archive(&path, split)?;
    ImageSet::new(x.to_device(device), y.to_device(device))
}
