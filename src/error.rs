//! The crate's one error type.
//!
//! Every variant names what was wrong and where (the config field, the file, the
//! flag) so that a user can fix the input without reading the source.

use std::path::{Path, PathBuf};

/// Errors returned by wgflow. Library code never panics on user input.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A libtorch error (shape mismatch, out of memory, missing CUDA, ...).
    #[error("libtorch: {0}")]
    Torch(#[from] tch::TchError),

    /// A configuration value out of range or a combination that cannot run.
    #[error("invalid value for `{field}`: {msg}")]
    Config { field: String, msg: String },

    /// A file that could not be read, written or parsed.
    #[error("{}: {msg}", path.display())]
    File { path: PathBuf, msg: String },

    /// A chart that could not be drawn or encoded.
    #[error("plot: {0}")]
    Plot(String),

    /// Input data that does not fit (empty sets, NaN, mismatched dimensions).
    #[error("{0}")]
    Input(String),

    /// Training produced a NaN or an infinity: the epoch, the step of the
    /// epoch (`critic`, `generator`, `potential`, `evaluation`) and the tensor.
    #[error("training diverged at epoch {epoch}, {step} step: the {tensor} is {value}")]
    Diverged { epoch: usize, step: String, tensor: String, value: f64 },

    /// A signal (SIGTERM, SIGINT, SIGUSR1) stopped training after `epoch`,
    /// once the checkpoint of that epoch was written to `dir`
    /// ([`crate::interrupt`]); `wgflow run --resume` continues the run.
    #[error("stopped by {signal} after epoch {epoch}: checkpoint written to {}; continue with `wgflow run --resume`", dir.display())]
    Interrupted { signal: String, epoch: usize, dir: PathBuf },
}

/// `Result` with [`Error`].
pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    /// A [`Error::Config`] for `field`.
    pub fn config(field: impl Into<String>, msg: impl Into<String>) -> Self {
        Error::Config { field: field.into(), msg: msg.into() }
    }

    /// A [`Error::File`] for `path`.
    pub fn file(path: impl AsRef<Path>, msg: impl std::fmt::Display) -> Self {
        Error::File { path: path.as_ref().to_path_buf(), msg: msg.to_string() }
    }

    /// An [`Error::Input`].
    pub fn input(msg: impl Into<String>) -> Self {
        Error::Input(msg.into())
    }
}

/// An [`Error::Input`] `what: shapes A and B differ` unless `a` and `b` have
/// one shape.
pub(crate) fn same_shape(a: &tch::Tensor, b: &tch::Tensor, what: &str) -> Result<()> {
    if a.size() != b.size() {
        return Err(Error::input(format!("{what}: shapes {:?} and {:?} differ", a.size(), b.size())));
    }
    Ok(())
}

/// Whether no value of `values` repeats (for the checks of seed and
/// persistency lists).
pub(crate) fn all_distinct<T: Ord + Clone>(values: &[T]) -> bool {
    let mut sorted = values.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    sorted.len() == values.len()
}
