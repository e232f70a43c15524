//! numpy `.npy` / `.npz` files at the edges (CLI inputs, parity tests, FID
//! statistics), read and written with `ndarray-npy`.
//!
//! Readers accept the dtypes numpy users produce (`f64`, `f32`, `u8`, `i64`,
//! `i32`, `bool` not included), either byte order and C or Fortran order;
//! every error names the file and what was expected. Writers are atomic.

use crate::error::{Error, Result};
use ndarray::{Array2, ArrayBase, ArrayD, Data, Dimension, IxDyn};
use ndarray_npy::{NpzReader, NpzWriter, ReadNpyExt, WritableElement, WriteNpyExt};
use std::path::Path;
use tch::Tensor;

/// An array read from a `.npy` file, in its stored element type.
#[derive(Clone, Debug)]
pub enum NpyArray {
    F64(ArrayD<f64>),
    F32(ArrayD<f32>),
    U8(ArrayD<u8>),
    I64(ArrayD<i64>),
    I32(ArrayD<i32>),
}

impl NpyArray {
    /// The array's shape.
    pub fn shape(&self) -> &[usize] {
        match self {
            NpyArray::F64(a) => a.shape(),
            NpyArray::F32(a) => a.shape(),
            NpyArray::U8(a) => a.shape(),
            NpyArray::I64(a) => a.shape(),
            NpyArray::I32(a) => a.shape(),
        }
    }

    /// numpy's name of the element type.
    pub fn dtype(&self) -> &'static str {
        match self {
            NpyArray::F64(_) => "float64",
            NpyArray::F32(_) => "float32",
            NpyArray::U8(_) => "uint8",
            NpyArray::I64(_) => "int64",
            NpyArray::I32(_) => "int32",
        }
    }

    /// The values converted to `f64` (exact for every supported type but
    /// `i64` beyond 2⁵³).
    pub fn to_f64(&self) -> ArrayD<f64> {
        match self {
            NpyArray::F64(a) => a.clone(),
            NpyArray::F32(a) => a.mapv(f64::from),
            NpyArray::U8(a) => a.mapv(f64::from),
            NpyArray::I64(a) => a.mapv(|v| v as f64),
            NpyArray::I32(a) => a.mapv(f64::from),
        }
    }

    /// A CPU tensor holding the array with its element type.
    pub fn to_tensor(&self) -> Result<Tensor> {
        Ok(match self {
            NpyArray::F64(a) => Tensor::try_from(a.as_standard_layout().view())?,
            NpyArray::F32(a) => Tensor::try_from(a.as_standard_layout().view())?,
            NpyArray::U8(a) => Tensor::try_from(a.as_standard_layout().view())?,
            NpyArray::I64(a) => Tensor::try_from(a.as_standard_layout().view())?,
            NpyArray::I32(a) => Tensor::try_from(a.as_standard_layout().view())?,
        })
    }
}

fn read_bytes(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|e| Error::file(path, format!("cannot read: {e}")))
}

/// Reads a `.npy` file of any supported element type.
pub fn read(path: impl AsRef<Path>) -> Result<NpyArray> {
    let path = path.as_ref();
    let bytes = read_bytes(path)?;
    if !bytes.starts_with(b"\x93NUMPY") {
        return Err(Error::file(path, "is not a .npy file (no \\x93NUMPY magic)"));
    }
    let mut errors = Vec::new();
    macro_rules! attempt {
        ($t:ty, $v:ident) => {
            match ArrayD::<$t>::read_npy(&bytes[..]) {
                Ok(a) => return Ok(NpyArray::$v(a)),
                Err(e) => errors.push(e.to_string()),
            }
        };
    }
    attempt!(f64, F64);
    attempt!(f32, F32);
    attempt!(u8, U8);
    attempt!(i64, I64);
    attempt!(i32, I32);
    let e = errors.pop().unwrap_or_default();
    Err(Error::file(path, format!("unsupported .npy array (expected float64, float32, uint8, int64 or int32): {e}")))
}

/// Reads an `n×d` matrix (`d ≥ 1`) as `f64`, rejecting NaN and infinities;
/// a 1-D array of `n` values is read as `n×1`.
pub fn read_matrix(path: impl AsRef<Path>) -> Result<Array2<f64>> {
    let path = path.as_ref();
    let a = read(path)?;
    let v = a.to_f64();
    let v = match v.ndim() {
        1 => {
            let n = v.len();
            v.into_shape_with_order(IxDyn(&[n, 1])).map_err(|e| Error::file(path, e))?
        }
        2 => v,
        k => return Err(Error::file(path, format!("expected a 2-D array (n×d), got {k}-D shape {:?}", a.shape()))),
    };
    let m = v.into_dimensionality::<ndarray::Ix2>().map_err(|e| Error::file(path, e))?;
    if let Some(((i, j), x)) = m.indexed_iter().find(|(_, x)| !x.is_finite()) {
        return Err(Error::file(path, format!("entry ({i}, {j}) is {x}: expected finite values")));
    }
    Ok(m)
}

/// Reads a 1-D array of integer class labels (any integer dtype, or floats
/// holding integers).
pub fn read_labels(path: impl AsRef<Path>) -> Result<Vec<i64>> {
    let path = path.as_ref();
    let a = read(path)?;
    if a.shape().len() != 1 && !(a.shape().len() == 2 && a.shape()[1] == 1) {
        return Err(Error::file(path, format!("expected a 1-D array of labels, got shape {:?}", a.shape())));
    }
    match &a {
        NpyArray::I64(v) => Ok(v.iter().copied().collect()),
        NpyArray::I32(v) => Ok(v.iter().map(|&x| x as i64).collect()),
        NpyArray::U8(v) => Ok(v.iter().map(|&x| x as i64).collect()),
        _ => a
            .to_f64()
            .iter()
            .enumerate()
            .map(|(i, &x)| {
                if x.is_finite() && x.fract() == 0.0 && x.abs() < 9.0e15 {
                    Ok(x as i64)
                } else {
                    Err(Error::file(path, format!("label {i} is {x}: expected an integer")))
                }
            })
            .collect(),
    }
}

/// Writes an array to `path` as `.npy`, atomically.
pub fn write<A, S, D>(path: impl AsRef<Path>, array: &ArrayBase<S, D>) -> Result<()>
where
    A: WritableElement,
    S: Data<Elem = A>,
    D: Dimension,
{
    let path = path.as_ref();
    let mut buf = Vec::new();
    array.write_npy(&mut buf).map_err(|e| Error::file(path, format!("cannot encode .npy: {e}")))?;
    crate::io::write_atomic(path, &buf)
}

/// Writes named `f64` arrays to an uncompressed `.npz` (numpy's `np.savez`),
/// atomically.
pub fn write_npz(path: impl AsRef<Path>, arrays: &[(&str, ArrayD<f64>)]) -> Result<()> {
    let path = path.as_ref();
    let mut w = NpzWriter::new(std::io::Cursor::new(Vec::new()));
    for (name, a) in arrays {
        w.add_array(*name, a).map_err(|e| Error::file(path, format!("cannot encode `{name}`: {e}")))?;
    }
    let buf = w.finish().map_err(|e| Error::file(path, format!("cannot encode .npz: {e}")))?.into_inner();
    crate::io::write_atomic(path, &buf)
}

/// Reads the array `name` of a `.npz` as `f64` (stored as `f64` or `f32`).
pub fn read_npz_f64(path: impl AsRef<Path>, name: &str) -> Result<ArrayD<f64>> {
    let path = path.as_ref();
    let bytes = read_bytes(path)?;
    let mut r = NpzReader::new(std::io::Cursor::new(&bytes[..]))
        .map_err(|e| Error::file(path, format!("is not a .npz archive: {e}")))?;
    let names = r.names().map_err(|e| Error::file(path, e))?;
    if !names.iter().any(|n| n == name || n == &format!("{name}.npy")) {
        return Err(Error::file(path, format!("has no array `{name}` (found {names:?})")));
    }
    if let Ok(a) = r.by_name::<ndarray::OwnedRepr<f64>, IxDyn>(name) {
        return Ok(a);
    }
    r.by_name::<ndarray::OwnedRepr<f32>, IxDyn>(name)
        .map(|a| a.mapv(f64::from))
        .map_err(|e| Error::file(path, format!("array `{name}`: expected float64 or float32: {e}")))
}
