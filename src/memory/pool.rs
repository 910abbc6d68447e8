//! Free code pages, kept read-write and zeroed for the next function: a fresh mapping costs
//! `mmap`, a page fault and `munmap`; a pooled page one `mprotect` each way.

use super::{WriteAccess, near, sys};
use crate::limits::POOL_PAGES;
use std::ptr::{self, NonNull};
use std::sync::{Mutex, MutexGuard, PoisonError};

static POOL: [Mutex<Vec<usize>>; 2] = [Mutex::new(Vec::new()), Mutex::new(Vec::new())];

fn pool_for(near: bool) -> MutexGuard<'static, Vec<usize>> {
    // A list of page addresses is consistent after any panic, so poisoning is ignored.
    POOL[usize::from(near)]
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
}

/// A free read-write page, zeroed, near the program's code or not.
pub(super) fn take(near: bool) -> Option<NonNull<u8>> {
    let page = pool_for(near).pop()?;
    NonNull::new(page as *mut u8)
}

/// Takes back a read-write mapping whose owner is done with it: one page is zeroed and pooled
/// while the pool has room; anything else is unmapped.
///
/// # Safety
/// `ptr`/`len` must be one read-write mapping made by [`sys::map`] (or taken from this pool)
/// that the caller owns and no longer references.
pub(super) unsafe fn give_back(ptr: NonNull<u8>, len: usize) {
    let addr = ptr.as_ptr() as usize;
    if len == sys::page_size() {
        let mut pool = pool_for(near::is_near(addr));
        if pool.len() < POOL_PAGES {
            let _access = WriteAccess::begin();
            // SAFETY: the caller owns this read-write page and holds no reference into it.
            unsafe { ptr::write_bytes(ptr.as_ptr(), 0, len) };
            pool.push(addr);
            return;
        }
    }
    // SAFETY: as the caller guarantees.
    unsafe { sys::unmap(ptr, len) };
}
