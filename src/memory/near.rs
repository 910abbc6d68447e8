//! Near placement: code mapped within direct-branch reach of the program's own code, because
//! indirect calls to far targets predict worse on some cores, and direct calls reach only so far.

use super::sys;
use std::io;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Mappings nearer than this to the program's code count as near: the ±2 GiB that an x86-64
/// 32-bit relative branch reaches (well inside the 4 GiB that branch predictors favour), or the
/// ±128 MiB of an AArch64 `bl`.
#[cfg(not(target_arch = "aarch64"))]
const NEAR_LIMIT: usize = 2 << 30;
#[cfg(target_arch = "aarch64")]
const NEAR_LIMIT: usize = 128 << 20;
/// How far below the program's code the near search goes before it wraps around.
#[cfg(not(target_arch = "aarch64"))]
const NEAR_WINDOW: usize = 1 << 30;
#[cfg(target_arch = "aarch64")]
const NEAR_WINDOW: usize = 32 << 20;
/// Leave this much room below the program's code for its own mappings.
#[cfg(not(target_arch = "aarch64"))]
const NEAR_GAP: usize = 64 << 20;
#[cfg(target_arch = "aarch64")]
const NEAR_GAP: usize = 16 << 20;
/// How many occupied addresses to step over before giving up on near placement.
const NEAR_PROBES: usize = 16;

/// Where the next near mapping is tried (0: not yet started).
static NEXT_NEAR: AtomicUsize = AtomicUsize::new(0);

/// An address inside the program's own code.
fn program_code_address() -> usize {
    program_code_address as fn() -> usize as usize
}

/// Whether `addr` lies within [`NEAR_LIMIT`] of the program's code.
pub(super) fn is_near(addr: usize) -> bool {
    addr.abs_diff(program_code_address()) < NEAR_LIMIT
}

/// Tries to map `len` bytes within [`NEAR_WINDOW`] below the program's code, without replacing
/// anything already mapped there. Returns `None` when no room was found quickly.
pub(super) fn map_near(len: usize) -> Option<NonNull<u8>> {
    // Windows places allocations at multiples of 64 KiB: step by that much, not by pages.
    let step = len.next_multiple_of(sys::granularity());
    let top = (program_code_address() & !(sys::granularity() - 1)).checked_sub(NEAR_GAP + step)?;
    let bottom = top.checked_sub(NEAR_WINDOW)?;
    let mut hint = NEXT_NEAR.load(Ordering::Relaxed);
    for _ in 0..NEAR_PROBES {
        if !(bottom..=top).contains(&hint) {
            hint = top;
        }
        match sys::map(hint as *mut u8, len) {
            Ok(ptr) if ptr.as_ptr() as usize == hint => {
                NEXT_NEAR.store(hint.saturating_sub(step), Ordering::Relaxed);
                return Some(ptr);
            }
            // Taken: the kernel put it elsewhere (a hint, not a demand: macOS, or Linux before
            // 4.17; Windows fails instead). Near enough is kept; otherwise try lower.
            Ok(ptr) if is_near(ptr.as_ptr() as usize) => return Some(ptr),
            Ok(ptr) => {
                // SAFETY: the mapping was just made here and nothing references it.
                unsafe { sys::unmap(ptr, len) };
                hint = hint.saturating_sub(step);
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => hint = hint.saturating_sub(step),
            Err(_) => return None,
        }
    }
    None
}
