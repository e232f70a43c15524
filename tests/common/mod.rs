//! Helpers shared by the integration tests (each test file uses some).
#![allow(dead_code)]

use std::sync::{Mutex, MutexGuard};

static RNG: Mutex<()> = Mutex::new(());

/// libtorch's random generator is global to the process and the tests of one
/// file run on parallel threads: a test that seeds and then draws holds this
/// lock so that no other test draws in between.
pub fn rng_lock() -> MutexGuard<'static, ()> {
    RNG.lock().unwrap_or_else(|e| e.into_inner())
}

/// What a notebook shows of a stream's text: within each line, a carriage
/// return moves back to its start and what follows overwrites it (trailing
/// blanks dropped; no line after a final newline).
pub fn visible(text: &str) -> Vec<String> {
    let mut lines: Vec<String> = text
        .split('\n')
        .map(|line| {
            let mut shown: Vec<char> = vec![];
            for part in line.split('\r') {
                for (i, c) in part.chars().enumerate() {
                    if i < shown.len() {
                        shown[i] = c;
                    } else {
                        shown.push(c);
                    }
                }
            }
            shown.into_iter().collect::<String>().trim_end().to_string()
        })
        .collect();
    if text.ends_with('\n') {
        lines.pop();
    }
    lines
}
