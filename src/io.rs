//! Small file helpers: the crate's one atomic writer, directory creation,
//! CSV and JSON, with errors that name the path.

use crate::error::{Error, Result};
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::io::Write;
use std::path::Path;

/// Writes `bytes` to `path` atomically and durably: the data goes to a
/// temporary file in the same directory (`.NAME.tmp-PID`), is flushed to
/// disk, is renamed over `path` only when complete, and the directory is
/// synced so that the rename survives a crash. A reader never sees a
/// half-written file; the previous file stays until the new one is complete;
/// on error nothing is left behind.
pub fn write_atomic(path: impl AsRef<Path>, bytes: &[u8]) -> Result<()> {
    write_atomic_paused(path.as_ref(), bytes, None)
}

/// [`write_atomic`] with a test hook: `pause_note = Some(note)` stops after
/// half of the bytes are in the temporary file, prints `note` on stderr and
/// sleeps, so that a test can kill the process mid-write
/// ([`crate::runs::checkpoint`]).
pub(crate) fn write_atomic_paused(path: &Path, bytes: &[u8], pause_note: Option<String>) -> Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    create_dir_all(dir)?;
    let name = path.file_name().ok_or_else(|| Error::file(path, "is not a file path"))?.to_string_lossy();
    let tmp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    let result = (|| -> std::io::Result<()> {
        let mut f = std::fs::File::create(&tmp)?;
        if let Some(note) = pause_note {
            f.write_all(&bytes[..bytes.len() / 2])?;
            f.sync_all()?;
            eprintln!("{note}");
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

/// Temporary files of interrupted [`write_atomic`]s (`.NAME.tmp-PID`) in `dir`.
pub fn stale_temporaries(dir: &Path) -> Vec<std::path::PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else { return vec![] };
    entries
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with('.') && n.contains(".tmp-")))
        .collect()
}

/// `std::fs::create_dir_all` with an error naming the directory.
pub fn create_dir_all(dir: impl AsRef<Path>) -> Result<()> {
    let dir = dir.as_ref();
    std::fs::create_dir_all(dir).map_err(|e| Error::file(dir, format!("cannot create directory: {e}")))
}

/// Reads a whole text file with an error naming it.
pub fn read_to_string(path: impl AsRef<Path>) -> Result<String> {
    let path = path.as_ref();
    std::fs::read_to_string(path).map_err(|e| Error::file(path, format!("cannot read: {e}")))
}

/// Writes `rows` as CSV with a header row (one column per field) to `path`,
/// atomically.
pub fn write_csv<T: Serialize>(rows: &[T], path: impl AsRef<Path>) -> Result<()> {
    let path = path.as_ref();
    let mut w = csv::Writer::from_writer(Vec::new());
    for r in rows {
        w.serialize(r).map_err(|e| Error::file(path, e))?;
    }
    let bytes = w.into_inner().map_err(|e| Error::file(path, e))?;
    write_atomic(path, &bytes)
}

/// Writes a CSV with the given header and string cells, atomically.
pub fn write_records(
    path: impl AsRef<Path>,
    header: &[String],
    rows: impl IntoIterator<Item = Vec<String>>,
) -> Result<()> {
    let path = path.as_ref();
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(header).map_err(|e| Error::file(path, e))?;
    for r in rows {
        w.write_record(&r).map_err(|e| Error::file(path, e))?;
    }
    let bytes = w.into_inner().map_err(|e| Error::file(path, e))?;
    write_atomic(path, &bytes)
}

/// Writes `value` as pretty JSON, atomically.
pub fn write_json<T: Serialize + ?Sized>(path: impl AsRef<Path>, value: &T) -> Result<()> {
    let path = path.as_ref();
    let s = serde_json::to_string_pretty(value).map_err(|e| Error::file(path, format!("cannot serialise: {e}")))?;
    write_atomic(path, s.as_bytes())
}

/// Reads JSON written by [`write_json`]; `what` names the expected content
/// in the error (`"a ring experiment"`).
pub fn read_json<T: DeserializeOwned>(path: impl AsRef<Path>, what: &str) -> Result<T> {
    let path = path.as_ref();
    let text = read_to_string(path)?;
    serde_json::from_str(&text).map_err(|e| Error::file(path, format!("not {what}: {e}")))
}
