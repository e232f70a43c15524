//! Stopping a run cleanly on a signal, with a checkpoint.
//!
//! [`install`] registers handlers for `SIGTERM` (`kill`, `scancel`), `SIGINT`
//! (Ctrl-C) and `SIGUSR1` (the signal the Slurm script of
//! [`crate::runs::slurm`] asks for shortly before a task's time limit). A
//! handler only records which signal came (an atomic store, through the
//! `signal-hook` crate); the training loop calls [`checkpoint_if_requested`]
//! after every epoch, which then writes the checkpoint, the history and
//! `status.json` exactly as a periodic checkpoint does and returns
//! [`Error::Interrupted`]. The command line exits with [`EXIT_INTERRUPTED`]
//! (75, `EX_TEMPFAIL`: "try again later"), the status on which the Slurm
//! script requeues the task; `wgflow run --resume DIR` continues the run and
//! ends, on the CPU, with the history an uninterrupted run has (all columns
//! but the wall-clock seconds).
//!
//! A second Ctrl-C while the epoch finishes ends the process at once, as
//! `SIGINT`'s default action does (the last periodic checkpoint stays).
//!
//! Nothing is installed unless [`install`] is called: the library never
//! changes a process's signal dispositions by itself.
//!
//! **Test hook**: with `WGFLOW_TEST_WAIT_FOR_SIGNAL=E` in the environment (and
//! the handlers installed), the loop stops after epoch `E`, prints
//! `waiting for a signal after epoch E` on stderr and waits until a signal
//! comes, so that a test can send one at a known epoch.

use crate::error::{Error, Result};
use crate::runs::{checkpoint, Status};
use crate::train::Trainer;
use signal_hook::consts::signal::{SIGINT, SIGTERM, SIGUSR1};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};

/// The exit status of `wgflow run` stopped by a signal after writing its
/// checkpoint (`EX_TEMPFAIL` of `sysexits.h`). The Slurm script requeues a
/// task that exits with it after the pre-timeout signal.
pub const EXIT_INTERRUPTED: u8 = 75;

/// The environment variable of the wait-for-a-signal test hook.
pub const WAIT_ENV: &str = "WGFLOW_TEST_WAIT_FOR_SIGNAL";

/// The signals [`install`] handles.
pub const SIGNALS: [i32; 3] = [SIGTERM, SIGINT, SIGUSR1];

struct Flags {
    /// The last signal received (0: none).
    signal: Arc<AtomicUsize>,
    /// Set by the first SIGINT: a second one takes the default action.
    sigint: Arc<AtomicBool>,
}

static FLAGS: OnceLock<Flags> = OnceLock::new();

/// Registers the handlers of [`SIGNALS`] (once per process; later calls do
/// nothing). From then on these signals no longer end the process: they
/// are reported by [`requested`] — except a second `SIGINT`.
pub fn install() -> Result<()> {
    if FLAGS.get().is_some() {
        return Ok(());
    }
    let flags = Flags { signal: Arc::new(AtomicUsize::new(0)), sigint: Arc::new(AtomicBool::new(false)) };
    let err = |e: std::io::Error| Error::input(format!("cannot install the signal handlers: {e}"));
    // The conditional default action first, so that the first SIGINT arms it
    // and only the second takes it.
    signal_hook::flag::register_conditional_default(SIGINT, Arc::clone(&flags.sigint)).map_err(err)?;
    signal_hook::flag::register(SIGINT, Arc::clone(&flags.sigint)).map_err(err)?;
    for sig in SIGNALS {
        signal_hook::flag::register_usize(sig, Arc::clone(&flags.signal), sig as usize).map_err(err)?;
    }
    let _ = FLAGS.set(flags);
    Ok(())
}

/// The signal received since [`install`] (or the last [`clear`]), if any.
pub fn requested() -> Option<i32> {
    let flags = FLAGS.get()?;
    match flags.signal.load(Ordering::SeqCst) {
        0 => None,
        s => Some(s as i32),
    }
}

/// Forgets a received signal (a notebook or a test that goes on).
pub fn clear() {
    if let Some(flags) = FLAGS.get() {
        flags.signal.store(0, Ordering::SeqCst);
        flags.sigint.store(false, Ordering::SeqCst);
    }
}

/// `SIGTERM`, `SIGINT`, `SIGUSR1`, or `signal N`.
pub fn signal_name(sig: i32) -> String {
    match sig {
        SIGTERM => "SIGTERM".into(),
        SIGINT => "SIGINT".into(),
        SIGUSR1 => "SIGUSR1".into(),
        n => format!("signal {n}"),
    }
}

/// Called by the training loop after each trained epoch (after its periodic
/// checkpoint, if one was due). When a signal was received, writes
/// `dir/checkpoint.ot` (unless this epoch's is already written), the history
/// and `status.json` (still `running`, its message naming the signal) and
/// returns [`Error::Interrupted`]; otherwise does nothing.
pub fn checkpoint_if_requested(t: &mut Trainer, dir: &Path, status: &mut Status) -> Result<()> {
    let epoch = t.epoch();
    if FLAGS.get().is_some() && std::env::var(WAIT_ENV).ok().and_then(|v| v.parse::<usize>().ok()) == Some(epoch) {
        eprintln!("waiting for a signal after epoch {epoch}");
        while requested().is_none() {
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
    }
    let Some(sig) = requested() else { return Ok(()) };
    if status.epoch != epoch {
        checkpoint::save(t, dir, false)?;
        t.history().save_csv(dir.join("history.csv"))?;
        t.history().save_json(dir.join("history.json"))?;
    }
    let signal = signal_name(sig);
    status.epoch = epoch;
    status.message = format!("stopped by {signal} after epoch {epoch}; checkpoint written");
    status.write(dir)?;
    Err(Error::Interrupted { signal, epoch, dir: dir.to_path_buf() })
}
