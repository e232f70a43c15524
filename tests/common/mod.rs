//! Helpers shared by the integration tests.

use std::sync::{Mutex, MutexGuard};

static RNG: Mutex<()> = Mutex::new(());

/// libtorch's random generator is global to the process and the tests of one
/// file run on parallel threads: a test that seeds and then draws holds this
/// lock so that no other test draws in between.
pub fn rng_lock() -> MutexGuard<'static, ()> {
    RNG.lock().unwrap_or_else(|e| e.into_inner())
}
