//! Checkpoint IO: a [`Trainer::state`] serialised with libtorch's
//! `save_multi` format into memory, then written atomically.
//!
//! The write follows [`crate::io::write_atomic`] (temporary file in the same
//! directory, flushed, renamed over the old checkpoint) and adds an fsync of
//! the directory, so the previous checkpoint stays in place until the new one
//! is complete. It is written here rather than through `write_atomic` only to
//! host the test hook below between the partial write and the rename.
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

/// File name of a run directory's checkpoint.
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

/// Writes the trainer's state to `dir/checkpoint.ot` atomically (after the
/// guard check of [`Trainer::state`]).
pub fn save(trainer: &mut Trainer, dir: &Path) -> Result<()> {
    let bytes = to_bytes(&trainer.state()?)?;
    let pause = std::env::var(PAUSE_ENV).ok().and_then(|v| v.parse::<usize>().ok()) == Some(trainer.epoch());
    write_atomic_durable(&dir.join(CHECKPOINT), &bytes, pause.then_some(trainer.epoch()))
}

/// Restores `dir/checkpoint.ot` into `trainer` (built from the run's config).
/// Returns false when the directory has no checkpoint.
pub fn load(trainer: &mut Trainer, dir: &Path) -> Result<bool> {
    let path = dir.join(CHECKPOINT);
    if !path.exists() {
        return Ok(false);
    }
    let bytes = std::fs::read(&path).map_err(|e| Error::file(&path, format!("cannot read: {e}")))?;
    let named = from_bytes(bytes).map_err(|e| Error::file(&path, format!("not a wgflow checkpoint: {e}")))?;
    trainer.load_state(named).map_err(|e| Error::file(&path, e))?;
    Ok(true)
}

/// Temporary files of interrupted writes (`.NAME.tmp-PID`) left in `dir`.
pub fn stale_temporaries(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else { return vec![] };
    entries
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with('.') && n.contains(".tmp-")))
        .collect()
}

fn write_atomic_durable(path: &Path, bytes: &[u8], pause_at: Option<usize>) -> Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    crate::io::create_dir_all(dir)?;
    let name = path.file_name().ok_or_else(|| Error::file(path, "is not a file path"))?.to_string_lossy();
    let tmp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    let result = (|| -> std::io::Result<()> {
        let mut f = std::fs::File::create(&tmp)?;
        if let Some(epoch) = pause_at {
            f.write_all(&bytes[..bytes.len() / 2])?;
            f.sync_all()?;
            eprintln!("checkpoint write paused at epoch {epoch}");
            loop {
                std::thread::sleep(std::time::Duration::from_secs(3600));
            }
        }
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)?;
        // The rename itself reaches the disk with the directory.
        std::fs::File::open(dir)?.sync_all()
    })();
    if let Err(e) = result {
        let _ = std::fs::remove_file(&tmp);
        return Err(Error::file(path, format!("cannot write: {e}")));
    }
    Ok(())
}
