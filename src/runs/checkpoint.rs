//! Checkpoint IO: a [`Trainer::state`] serialised with libtorch's
//! `save_multi` format into memory, then written with the crate's atomic
//! writer ([`crate::io::write_atomic`]), so the previous checkpoint stays in
//! place until the new one is complete. When and how many is the
//! [`super::CheckpointPolicy`]'s business, not this module's.
//!
//! **Test hook**: with `WGFLOW_TEST_PAUSE_CHECKPOINT=E` in the environment, the
//! write of the checkpoint of epoch `E` stops after half of its bytes are in
//! the temporary file, prints `checkpoint write paused at epoch E` on stderr
//! and sleeps, so that a test can kill the process mid-write.

use crate::error::{Error, Result};
use crate::train::Trainer;
use std::cell::RefCell;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::rc::Rc;
use tch::{Device, Tensor};

/// The environment variable of the kill-during-write test hook.
pub const PAUSE_ENV: &str = "WGFLOW_TEST_PAUSE_CHECKPOINT";

/// File name of a run directory's latest checkpoint.
pub const CHECKPOINT: &str = "checkpoint.ot";

/// A `Write` into a shared buffer (tch's stream writer needs `'static`).
#[derive(Clone, Default)]
struct SharedBuf(Rc<RefCell<Vec<u8>>>);

impl Write for SharedBuf {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.borrow_mut().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Named tensors as the bytes of a libtorch `.ot` file.
pub fn to_bytes(named: &[(String, Tensor)]) -> Result<Vec<u8>> {
    let buf = SharedBuf::default();
    Tensor::save_multi_to_stream(named, buf.clone())?;
    let bytes = buf.0.borrow().clone();
    Ok(bytes)
}

/// The named tensors of a libtorch `.ot` file's bytes, on the CPU.
pub fn from_bytes(bytes: Vec<u8>) -> Result<Vec<(String, Tensor)>> {
    Ok(Tensor::load_multi_from_stream_with_device(std::io::Cursor::new(bytes), Device::Cpu)?)
}

/// The file of the kept checkpoint of epoch `epoch`.
fn kept_path(dir: &Path, epoch: usize) -> PathBuf {
    dir.join(format!("checkpoint-{epoch}.ot"))
}

/// Writes the trainer's state to `dir/checkpoint.ot` atomically (after the
/// guard check of [`Trainer::state`]); with `keep_copy`, also as
/// `dir/checkpoint-E.ot`.
pub fn save(trainer: &mut Trainer, dir: &Path, keep_copy: bool) -> Result<()> {
    let bytes = to_bytes(&trainer.state()?)?;
    let epoch = trainer.epoch();
    let pause = std::env::var(PAUSE_ENV).ok().and_then(|v| v.parse::<usize>().ok()) == Some(epoch);
    let note = pause.then(|| format!("checkpoint write paused at epoch {epoch}"));
    crate::io::write_atomic_paused(&dir.join(CHECKPOINT), &bytes, note)?;
    if keep_copy {
        crate::io::write_atomic(kept_path(dir, epoch), &bytes)?;
    }
    Ok(())
}

/// Restores `dir/checkpoint.ot` into `trainer` (built from the run's config).
/// Returns false when the directory has no checkpoint.
pub fn load(trainer: &mut Trainer, dir: &Path) -> Result<bool> {
    load_file(trainer, &dir.join(CHECKPOINT))
}

/// Restores the checkpoint file `path` into `trainer`; false when absent.
pub fn load_file(trainer: &mut Trainer, path: &Path) -> Result<bool> {
    if !path.exists() {
        return Ok(false);
    }
    let bytes = std::fs::read(path).map_err(|e| Error::file(path, format!("cannot read: {e}")))?;
    let named = from_bytes(bytes).map_err(|e| Error::file(path, format!("not a wgflow checkpoint: {e}")))?;
    trainer.load_state(named).map_err(|e| Error::file(path, e))?;
    Ok(true)
}

/// The kept checkpoints of `dir` (`checkpoint-E.ot`), oldest first.
pub fn kept(dir: &Path) -> Vec<(usize, PathBuf)> {
    let Ok(entries) = std::fs::read_dir(dir) else { return vec![] };
    let mut v: Vec<(usize, PathBuf)> = entries
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().to_string();
            let epoch = name.strip_prefix("checkpoint-")?.strip_suffix(".ot")?.parse().ok()?;
            Some((epoch, e.path()))
        })
        .collect();
    v.sort();
    v
}

/// Deletes the kept checkpoint of epoch `epoch`.
pub fn remove_kept(dir: &Path, epoch: usize) -> Result<()> {
    let p = kept_path(dir, epoch);
    std::fs::remove_file(&p).map_err(|e| Error::file(&p, format!("cannot remove: {e}")))
}
