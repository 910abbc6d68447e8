//! Every system call fnjit makes, one small function each: map, protect, unmap, page size.

use std::io;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicUsize, Ordering};

/// `mmap` of `len` bytes of private, anonymous, read-write memory at `addr` (null: anywhere),
/// with `extra_flags` (for example `MAP_FIXED_NOREPLACE`) added.
pub(super) fn map(addr: *mut u8, len: usize, extra_flags: libc::c_int) -> io::Result<NonNull<u8>> {
    // SAFETY: an anonymous private mapping creates new memory and, without MAP_FIXED, never
    // replaces an existing mapping (MAP_FIXED_NOREPLACE fails with EEXIST instead), so no memory
    // that Rust code references can change under it.
    let p = unsafe {
        libc::mmap(
            addr.cast(),
            len,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | extra_flags,
            -1,
            0,
        )
    };
    if p == libc::MAP_FAILED {
        return Err(io::Error::last_os_error());
    }
    NonNull::new(p.cast()).ok_or_else(|| io::Error::other("mmap returned address zero"))
}

/// Which protection [`protect`] sets. There is no read-write-execute.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Protection {
    ReadWrite,
    ReadExecute,
}

/// `mprotect` of a whole mapping.
///
/// # Safety
/// `ptr`/`len` must be exactly one mapping made by [`map`] that the caller owns, and no
/// reference into it may be used across the change: Rust must never write through a reference
/// into memory that became read-execute, nor run code in memory that became read-write.
pub(super) unsafe fn protect(ptr: NonNull<u8>, len: usize, to: Protection) -> io::Result<()> {
    let prot = match to {
        Protection::ReadWrite => libc::PROT_READ | libc::PROT_WRITE,
        Protection::ReadExecute => libc::PROT_READ | libc::PROT_EXEC,
    };
    // SAFETY: the caller guarantees `ptr`/`len` is one mapping it owns and that nothing uses a
    // reference into it across the change; mprotect affects no other memory.
    let rc = unsafe { libc::mprotect(ptr.as_ptr().cast(), len, prot) };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Unmaps a mapping. Errors are ignored on purpose: `munmap` of a whole live mapping can only
/// fail if the arguments are wrong, and a destructor has no one to report to.
///
/// # Safety
/// `ptr`/`len` must be exactly one mapping made by [`map`] that the caller owns and no longer
/// references.
pub(super) unsafe fn unmap(ptr: NonNull<u8>, len: usize) {
    // SAFETY: the caller passes one mapping it owns and references no more.
    unsafe {
        libc::munmap(ptr.as_ptr().cast(), len);
    }
}

/// The system's page size (at least 4096).
pub(super) fn page_size() -> usize {
    static PAGE: AtomicUsize = AtomicUsize::new(0);
    match PAGE.load(Ordering::Relaxed) {
        0 => {
            // SAFETY: sysconf reads a constant of the running system and has no preconditions.
            let size = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
            let size = usize::try_from(size).unwrap_or(4096).max(4096);
            PAGE.store(size, Ordering::Relaxed);
            size
        }
        size => size,
    }
}
