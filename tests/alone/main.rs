//! The tests that judge the whole process: its resident memory under churn, and its executable
//! mappings. Each holds [`ALONE`] while it runs, so that no other test's code or memory moves the
//! figures they read.

#[path = "../common/mod.rs"]
mod common;

// Both read the process from /proc (Linux).
#[cfg(target_os = "linux")]
mod churn_rss;
#[cfg(target_os = "linux")]
mod wx_maps;
// W^X read back with VirtualQuery.
#[cfg(windows)]
mod wx_windows;

use std::sync::{Mutex, MutexGuard, PoisonError};

static ALONE: Mutex<()> = Mutex::new(());

/// Runs the calling test with no other test of this binary running.
fn alone() -> MutexGuard<'static, ()> {
    ALONE.lock().unwrap_or_else(PoisonError::into_inner)
}
