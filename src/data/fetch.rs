//! Download, verification and cache of the data sets' files.
//!
//! Files live under the crate's one cache root ([`data_root`]: `--dir`, else
//! the `WGFLOW_DATA` environment variable, else `data/` in the project), one
//! folder per data set, and `inception/` for FID's network weights
//! ([`crate::metrics::fid::official_weights`]). Like torchvision, a file already present is trusted;
//! [`FetchOptions::verify`] checks its MD5 (and SHA-256 where known) anyway.
//!
//! A download streams into a temporary file next to its destination
//! (`.NAME.tmp-PID-N`), hashing as it goes, and is renamed to its final name only
//! when the checksums match: an interrupted or corrupt download leaves nothing
//! in the cache. The mirrors are tried in order, as torchvision does;
//! `WGFLOW_DATA_MIRROR=URL` (an `http://`, `https://` or `file://` folder)
//! replaces them all, for sites with a local mirror.

use crate::error::{Error, Result};
use indicatif::{ProgressBar, ProgressStyle};
use md5::Md5;
use sha2::{Digest, Sha256};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// One file of a data set as its publisher serves it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RemoteFile {
    /// File name in the cache folder (and at the end of every URL).
    pub name: String,
    /// Full URLs, tried in order.
    pub urls: Vec<String>,
    /// Published MD5, lowercase hex, where known.
    pub md5: Option<String>,
    /// SHA-256, lowercase hex, where known: the whole digest or the prefix a
    /// publisher gives (pytorch-fid names its weights after the first 8
    /// digits).
    pub sha256: Option<String>,
}

impl RemoteFile {
    /// A file served under `name` at each of the `mirrors` (folder URLs ending
    /// in `/`).
    pub fn new(name: &str, mirrors: &[&str], md5: &str, sha256: Option<&str>) -> Self {
        RemoteFile {
            name: name.to_string(),
            urls: mirrors.iter().map(|m| format!("{m}{name}")).collect(),
            md5: Some(md5.to_string()),
            sha256: sha256.map(str::to_string),
        }
    }
}

/// Whether a missing file may be downloaded.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Download {
    /// Never touch the network: a missing file is an error that says where to
    /// get it.
    #[default]
    Never,
    /// Download the files that are missing (torchvision's `download=True`).
    IfMissing,
}

/// How [`ensure_file`] treats the cache.
#[derive(Clone, Debug, Default)]
pub struct FetchOptions {
    pub download: Download,
    /// Check the checksums of files already present too.
    pub verify: bool,
    /// No progress bar.
    pub quiet: bool,
}

impl FetchOptions {
    /// Download what is missing, trust what is present (torchvision's default).
    pub fn download() -> Self {
        FetchOptions { download: Download::IfMissing, ..Default::default() }
    }
}

/// The environment variable naming the cache root.
pub const DATA_ENV: &str = "WGFLOW_DATA";
/// The environment variable replacing the publishers' mirrors by one folder URL.
pub const MIRROR_ENV: &str = "WGFLOW_DATA_MIRROR";

/// The cache root: `dir` if given, else `$WGFLOW_DATA`, else `data/` in the
/// project (the crate's folder, where `data/README.md` lists the sources).
pub fn data_root(dir: Option<&Path>) -> PathBuf {
    if let Some(d) = dir {
        return d.to_path_buf();
    }
    match std::env::var_os(DATA_ENV) {
        Some(v) if !v.is_empty() => PathBuf::from(v),
        _ => Path::new(env!("CARGO_MANIFEST_DIR")).join("data"),
    }
}

/// The URLs to try for `file`: `$WGFLOW_DATA_MIRROR/NAME` when that is set,
/// else the publisher's mirrors.
pub fn urls_for(file: &RemoteFile) -> Vec<String> {
    match std::env::var(MIRROR_ENV) {
        Ok(m) if !m.is_empty() => vec![format!("{}/{}", m.trim_end_matches('/'), file.name)],
        _ => file.urls.clone(),
    }
}

/// Makes sure `dir/NAME` is present (downloading it if allowed) and, with
/// `opts.verify`, that its checksums match. Returns its path.
pub fn ensure_file(file: &RemoteFile, dir: &Path, opts: &FetchOptions) -> Result<PathBuf> {
    let path = dir.join(&file.name);
    if path.is_file() {
        if opts.verify {
            verify_file(&path, file).map_err(|e| match e {
                Error::File { path, msg } => {
                    Error::File { msg: format!("{msg} (delete the file to download it again)"), path }
                }
                e => e,
            })?;
        }
        return Ok(path);
    }
    let urls = urls_for(file);
    if opts.download == Download::Never {
        return Err(Error::file(
            &path,
            format!(
                "missing: no file {} in {}; fetch it with `wgflow data fetch` (or Download::IfMissing), \
                 or download {} yourself and put it at {}",
                file.name,
                dir.display(),
                urls.first().map(String::as_str).unwrap_or("(no URL known)"),
                path.display()
            ),
        ));
    }
    let created = !dir.exists();
    crate::io::create_dir_all(dir)?;
    let mut tried = Vec::new();
    for url in &urls {
        match download_verified(url, &path, file, opts.quiet) {
            Ok(()) => return Ok(path),
            Err(e) => tried.push(format!("{url}: {e}")),
        }
    }
    if created {
        let _ = std::fs::remove_dir(dir); // only if still empty: leave the cache as it was
    }
    Err(Error::file(
        &path,
        format!(
            "cannot download {}: {}. Without network, fetch {} on another machine and put it at {}",
            file.name,
            tried.join("; "),
            urls.first().map(String::as_str).unwrap_or("(no URL known)"),
            path.display()
        ),
    ))
}

/// Checks the MD5 (and SHA-256 when known) of `path` against `file`.
pub fn verify_file(path: &Path, file: &RemoteFile) -> Result<()> {
    let f = std::fs::File::open(path).map_err(|e| Error::file(path, format!("cannot read: {e}")))?;
    let (md5, sha) = hash_reader(f, |_| {}).map_err(|e| Error::file(path, format!("cannot read: {e}")))?;
    check_sums(&md5, &sha, file).map_err(|m| Error::file(path, m))
}

fn check_sums(md5: &str, sha256: &str, file: &RemoteFile) -> std::result::Result<(), String> {
    if let Some(m) = &file.md5 {
        if !md5.eq_ignore_ascii_case(m) {
            return Err(format!("checksum mismatch: MD5 is {md5}, expected {m}"));
        }
    }
    if let Some(s) = &file.sha256 {
        if !sha256.to_ascii_lowercase().starts_with(&s.to_ascii_lowercase()) {
            let what = if s.len() < 64 { "to start with " } else { "" };
            return Err(format!("checksum mismatch: SHA-256 is {sha256}, expected {what}{s}"));
        }
    }
    Ok(())
}

/// Streams `r` through MD5 and SHA-256, handing every chunk to `sink`.
fn hash_reader(mut r: impl Read, mut sink: impl FnMut(&[u8])) -> std::io::Result<(String, String)> {
    let mut md5 = Md5::new();
    let mut sha = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = match r.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        md5.update(&buf[..n]);
        sha.update(&buf[..n]);
        sink(&buf[..n]);
    }
    Ok((hex(&md5.finalize()), hex(&sha.finalize())))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Downloads `url` into a temporary file next to `dest`, checks the sums and
/// renames it to `dest`. On any error the temporary file is removed. The
/// error message is bare (the caller names the file and the URL).
fn download_verified(url: &str, dest: &Path, file: &RemoteFile, quiet: bool) -> std::result::Result<(), String> {
    let (reader, len) = open_url(url)?;
    let dir = dest.parent().unwrap_or(Path::new("."));
    // Unique per process and per call, so that concurrent downloads never share a temporary file.
    static CALLS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let call = CALLS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let tmp = dir.join(format!(".{}.tmp-{}-{call}", file.name, std::process::id()));
    let result = (|| -> std::result::Result<(), String> {
        let mut out = std::fs::File::create(&tmp).map_err(|e| format!("cannot create {}: {e}", tmp.display()))?;
        let bar = progress_bar(&file.name, len, quiet);
        let mut write_err = None;
        let sums = hash_reader(reader, |chunk| {
            if write_err.is_none() {
                if let Err(e) = out.write_all(chunk) {
                    write_err = Some(e);
                }
            }
            bar.inc(chunk.len() as u64);
        });
        bar.finish_and_clear();
        let (md5, sha) = sums.map_err(|e| format!("download interrupted: {e}"))?;
        if let Some(e) = write_err {
            return Err(format!("cannot write {}: {e}", tmp.display()));
        }
        check_sums(&md5, &sha, file)?;
        out.sync_all().map_err(|e| format!("cannot write {}: {e}", tmp.display()))?;
        drop(out);
        std::fs::rename(&tmp, dest).map_err(|e| format!("cannot rename {} to {}: {e}", tmp.display(), dest.display()))
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// A reader over the bytes at `url` (`http://`, `https://` or `file://`)
/// and its length when known.
fn open_url(url: &str) -> std::result::Result<(Box<dyn Read>, Option<u64>), String> {
    if let Some(p) = url.strip_prefix("file://") {
        let f = std::fs::File::open(p).map_err(|e| format!("cannot open: {e}"))?;
        let len = f.metadata().ok().map(|m| m.len());
        return Ok((Box::new(f), len));
    }
    if !(url.starts_with("http://") || url.starts_with("https://")) {
        return Err("unsupported URL scheme (expected http://, https:// or file://)".into());
    }
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_connect(Some(Duration::from_secs(20)))
        .timeout_recv_response(Some(Duration::from_secs(60)))
        .user_agent(concat!("wgflow/", env!("CARGO_PKG_VERSION")))
        .build()
        .into();
    let resp = agent.get(url).call().map_err(|e| e.to_string())?;
    let body = resp.into_body();
    let len = body.content_length();
    Ok((Box::new(body.into_reader()), len))
}

fn progress_bar(name: &str, len: Option<u64>, quiet: bool) -> ProgressBar {
    if quiet {
        return ProgressBar::hidden();
    }
    let bar = match len {
        Some(n) => ProgressBar::new(n).with_style(
            ProgressStyle::with_template("{msg:>28} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} eta {eta}")
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
        ),
        None => ProgressBar::new_spinner().with_style(
            ProgressStyle::with_template("{msg:>28} {spinner} {bytes} {bytes_per_sec}")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        ),
    };
    bar.set_message(name.to_string());
    bar
}
