//! Exact 1-nearest-neighbour classification (Euclidean), the accuracy the
//! papers report for domain adaptation (000 Fig. 3, 004 Table 1).
//!
//! Distances are screened in batches with one matrix product each,
//! `|t|² − 2 q·t` (+ the row constant `|q|²`) in f32 on the device of the
//! training set, and every
//! training point within the rounding bound of that product of the
//! smallest screened distance is re-measured exactly in f64 from coordinate
//! differences. The winner is the smallest exact distance, ties going to the
//! lowest training index (scikit-learn's brute-force rule), so the result does
//! not depend on the screen's rounding.
//!
//! The bound: for vectors of dimension d, `|fl(q·t) − q·t| ≤ γ_d |q||t|` with
//! `γ_d ≈ d·u` (u = 2⁻²⁴ for f32), plus the rounding of the inputs to f32 and
//! of the norms; `2(d + 8)·u·(|q|² + max|t|²)` covers all of them.

use crate::error::{Error, Result};
use tch::{Device, Kind, Tensor};

/// A fitted 1-NN classifier.
#[derive(Debug)]
pub struct OneNn {
    /// Training points, `n×d` f64.
    train: Tensor,
    /// `−2 tᵀ` in f32 (`d×n`) for the screen.
    neg2_t32: Tensor,
    /// `|t_j|²` in f32, `1×n`.
    norms32: Tensor,
    max_norm: f64,
    labels: Vec<i64>,
}

fn check_finite(t: &Tensor, what: &str) -> Result<()> {
    let bad = t.f_isfinite()?.f_logical_not()?;
    if bad.f_any()?.f_int64_value(&[])? != 0 {
        let row = bad.f_any_dim(1, false)?.f_nonzero()?.f_int64_value(&[0, 0])?;
        return Err(Error::input(format!("{what}: row {row} has a NaN or infinite value")));
    }
    Ok(())
}

fn as_matrix(t: &Tensor, what: &str) -> Result<Tensor> {
    if t.dim() < 2 {
        return Err(Error::input(format!("{what}: expected an n×d array (or n×… images), got shape {:?}", t.size())));
    }
    let n = t.size()[0];
    let d: i64 = t.size()[1..].iter().product();
    let x = t.f_detach()?.f_to_kind(Kind::Double)?.f_reshape([n, d])?;
    check_finite(&x, what)?;
    Ok(x)
}

impl OneNn {
    /// Stores the training set (`n×…`, flattened to `n×d`) and its labels.
    pub fn fit(x: &Tensor, labels: &[i64]) -> Result<Self> {
        let train = as_matrix(x, "training set")?;
        let n = train.size()[0] as usize;
        if n == 0 {
            return Err(Error::input("training set: empty"));
        }
        if labels.len() != n {
            return Err(Error::input(format!("training set: {n} points but {} labels", labels.len())));
        }
        let neg2_t32 = train.f_to_kind(Kind::Float)?.f_tr()?.f_mul_scalar(-2.0)?.f_contiguous()?;
        let norms = train.f_square()?.f_sum_dim_intlist([1i64].as_slice(), false, Kind::Double)?;
        let max_norm = norms.f_max()?.f_double_value(&[])?;
        let norms32 = norms.f_to_kind(Kind::Float)?.f_unsqueeze(0)?;
        Ok(OneNn { train, neg2_t32, norms32, max_norm, labels: labels.to_vec() })
    }

    /// Number of training points.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// Always false: [`OneNn::fit`] rejects empty sets.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// The device the training set lives on.
    pub fn device(&self) -> Device {
        self.train.device()
    }

    /// Index of the nearest training point of each row of `q` (ties to the
    /// lowest index). `q` is moved to the training set's device.
    pub fn nearest(&self, q: &Tensor) -> Result<Vec<usize>> {
        let q = as_matrix(q, "query set")?.f_to_device(self.device())?;
        let (nq, d) = (q.size()[0], q.size()[1]);
        if d != self.train.size()[1] {
            return Err(Error::input(format!(
                "query set has {d} features per point, the training set {}",
                self.train.size()[1]
            )));
        }
        let n = self.len() as i64;
        let u = f32::EPSILON as f64 / 2.0;
        // About 2M screened distances (8 MB) per batch: cache-friendly, and
        // still a large matrix product.
        let batch = (1i64 << 21).checked_div(n).unwrap_or(1).clamp(16, 4096);
        let mut out = Vec::with_capacity(nq as usize);
        let mut start = 0;
        while start < nq {
            let len = batch.min(nq - start);
            let qb = q.f_narrow(0, start, len)?;
            let q32 = qb.f_to_kind(Kind::Float)?;
            let qn = qb.f_square()?.f_sum_dim_intlist([1i64].as_slice(), true, Kind::Double)?;
            // |t|² − 2 q·t: the row constant |q|² changes neither the minimum's
            // position nor the candidate set, so it is left out of the screen.
            let d2 = self.norms32.f_addmm(&q32, &self.neg2_t32)?;
            let min = d2.f_amin([1i64].as_slice(), true)?.f_to_kind(Kind::Double)?;
            // Twice the bound, which also covers rounding the threshold to f32.
            let tol = qn.f_add_scalar(self.max_norm)?.f_mul_scalar(4.0 * (d as f64 + 8.0) * u)?;
            let mask = d2.f_le_tensor(&min.f_add(&tol)?.f_to_kind(Kind::Float)?)?;
            let cand = mask.f_nonzero()?; // sorted by (row, column)
            let rows = cand.f_select(1, 0)?;
            let cols = cand.f_select(1, 1)?;
            let diff = qb.f_index_select(0, &rows)?.f_sub(&self.train.f_index_select(0, &cols)?)?;
            let exact = diff.f_square()?.f_sum_dim_intlist([1i64].as_slice(), false, Kind::Double)?;
            let rows = Vec::<i64>::try_from(&rows.f_to_device(Device::Cpu)?)?;
            let cols = Vec::<i64>::try_from(&cols.f_to_device(Device::Cpu)?)?;
            let exact = Vec::<f64>::try_from(&exact.f_to_device(Device::Cpu)?)?;
            let mut best = vec![(f64::INFINITY, usize::MAX); len as usize];
            for ((&r, &c), &e) in rows.iter().zip(&cols).zip(&exact) {
                let b = &mut best[r as usize];
                if e < b.0 {
                    *b = (e, c as usize);
                }
            }
            if let Some(r) = best.iter().position(|b| b.1 == usize::MAX) {
                return Err(Error::input(format!("query point {} has no finite distance", start as usize + r)));
            }
            out.extend(best.iter().map(|b| b.1));
            start += len;
        }
        Ok(out)
    }

    /// Label of the nearest training point of each row of `q`.
    pub fn predict(&self, q: &Tensor) -> Result<Vec<i64>> {
        Ok(self.nearest(q)?.into_iter().map(|j| self.labels[j]).collect())
    }

    /// Fraction of rows of `q` whose predicted label equals `labels`.
    pub fn accuracy(&self, q: &Tensor, labels: &[i64]) -> Result<f64> {
        let n = q.size().first().copied().unwrap_or(0) as usize;
        if n == 0 {
            return Err(Error::input("query set: empty"));
        }
        if labels.len() != n {
            return Err(Error::input(format!("query set: {n} points but {} labels", labels.len())));
        }
        let pred = self.predict(q)?;
        Ok(pred.iter().zip(labels).filter(|(p, l)| p == l).count() as f64 / n as f64)
    }
}

/// The domain-adaptation protocol of 000 §5 / 004 §5: transport the source
/// set with `g` (in batches of `batch_size`, without gradients), fit 1-NN on
/// `g(source)` with the source labels, and return the accuracy on the target
/// test set.
pub fn transported_accuracy(
    g: impl Fn(&Tensor) -> Result<Tensor>,
    source: &Tensor,
    source_labels: &[i64],
    target: &Tensor,
    target_labels: &[i64],
    batch_size: i64,
) -> Result<f64> {
    if batch_size < 1 {
        return Err(Error::config("batch_size", format!("must be ≥ 1, got {batch_size}")));
    }
    let n = source.size().first().copied().unwrap_or(0);
    let mut parts = Vec::new();
    tch::no_grad(|| -> Result<()> {
        let mut s = 0;
        while s < n {
            let len = batch_size.min(n - s);
            parts.push(g(&source.f_narrow(0, s, len)?)?.f_detach()?);
            s += len;
        }
        Ok(())
    })?;
    if parts.is_empty() {
        return Err(Error::input("source set: empty"));
    }
    let moved = Tensor::f_cat(&parts, 0)?;
    OneNn::fit(&moved, source_labels)?.accuracy(target, target_labels)
}
