//! Names for JIT code that Linux `perf` can read: one `START SIZE NAME` line (hex start and size)
//! per function in `/tmp/perf-<pid>.map`, the format `perf report` reads for JIT code.
//!
//! Opt-in: `FNJIT_PERF_MAP=1` in the environment, or [`crate::Jit::set_perf_map`]. Writing the
//! map never breaks compilation: a failure is one warning on stderr, not an error.

use std::fs::OpenOptions;
use std::io::{self, Write as _};
use std::path::PathBuf;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, Ordering};

/// Whether `FNJIT_PERF_MAP=1` was set when fnjit first looked (it looks once per process).
pub fn enabled_by_env() -> bool {
    static ON: OnceLock<bool> = OnceLock::new();
    *ON.get_or_init(|| std::env::var_os("FNJIT_PERF_MAP").is_some_and(|v| v == "1"))
}

/// This process's map file: `/tmp/perf-<pid>.map`.
pub fn path() -> PathBuf {
    PathBuf::from(format!("/tmp/perf-{}.map", std::process::id()))
}

/// Records `code` under `name`. On failure, warns once per process on stderr and goes on.
pub fn record(code: &[u8], name: &str) {
    record_all(&[(name, code)]);
}

/// Records each `code` under its `name`, in one write. On failure, warns once per process on
/// stderr and goes on.
pub fn record_all(functions: &[(&str, &[u8])]) {
    static WARNED: AtomicBool = AtomicBool::new(false);
    if let Err(e) = append(functions)
        && !WARNED.swap(true, Ordering::Relaxed)
    {
        eprintln!(
            "fnjit: warning: cannot write the perf map {} ({e}); profilers will not name JIT code",
            path().display()
        );
    }
}

fn append(functions: &[(&str, &[u8])]) -> io::Result<()> {
    use std::fmt::Write as _;
    let mut lines = String::new();
    for (name, code) in functions {
        let _ = writeln!(
            lines,
            "{:x} {:x} {name}",
            code.as_ptr() as usize,
            code.len()
        );
    }
    OpenOptions::new()
        .create(true)
        .append(true)
        .open(path())?
        .write_all(lines.as_bytes())
}
