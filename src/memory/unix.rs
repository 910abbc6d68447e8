//! Every system call fnjit makes for code memory on Unix, one small function each: map, protect,
//! unmap, page size (`windows.rs` has Windows' calls, with the same signatures).
//!
//! On macOS AArch64 code memory is `MAP_JIT`, mapped read-write-execute once: whether a thread
//! sees it writable or executable is switched per thread (`coherence::WriteAccess`), so
//! [`protect`] has nothing to change there.

use std::io;
use std::ptr::NonNull;

/// Whether code memory is `MAP_JIT`, switched per thread instead of by `mprotect`.
const PER_THREAD_JIT: bool = cfg!(all(target_arch = "aarch64", target_vendor = "apple"));

/// The `mmap` flag for [`PER_THREAD_JIT`] memory.
#[cfg(target_vendor = "apple")]
const JIT_FLAG: libc::c_int = if PER_THREAD_JIT { libc::MAP_JIT } else { 0 };
#[cfg(all(unix, not(target_vendor = "apple")))]
const JIT_FLAG: libc::c_int = 0;

/// Linux's "map exactly at the hint, or fail with EEXIST"; elsewhere an address is a mere hint.
#[cfg(any(target_os = "linux", target_os = "android"))]
const NOREPLACE: libc::c_int = libc::MAP_FIXED_NOREPLACE;
#[cfg(all(unix, not(any(target_os = "linux", target_os = "android"))))]
const NOREPLACE: libc::c_int = 0;

/// `mmap` of `len` bytes of private, anonymous, read-write memory. A non-null `hint` asks for that
/// address: on Linux it is a demand that fails with `AlreadyExists` when anything is mapped there
/// (`MAP_FIXED_NOREPLACE`), elsewhere a mere hint that the kernel may ignore. Callers check where
/// the mapping landed.
pub(super) fn map(hint: *mut u8, len: usize) -> io::Result<NonNull<u8>> {
    let placed = if hint.is_null() { 0 } else { NOREPLACE };
    let flags = libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | JIT_FLAG | placed;
    let exec = if PER_THREAD_JIT { libc::PROT_EXEC } else { 0 };
    let prot = libc::PROT_READ | libc::PROT_WRITE | exec;
    // SAFETY: an anonymous private mapping creates new memory and, without MAP_FIXED, never
    // replaces an existing mapping (MAP_FIXED_NOREPLACE fails with EEXIST instead), so no memory
    // that Rust code references can change under it.
    let p = unsafe { libc::mmap(hint.cast(), len, prot, flags, -1, 0) };
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

/// `mprotect` of a whole mapping (nothing on macOS AArch64: see the module's comment).
///
/// # Safety
/// `ptr`/`len` must be exactly one mapping made by [`map`] (or the read-only alias of
/// [`map_twice`]) that the caller owns, and no reference into it may be used across the change: Rust must never write through a reference
/// into memory that became read-execute, nor run code in memory that became read-write.
pub(super) unsafe fn protect(ptr: NonNull<u8>, len: usize, to: Protection) -> io::Result<()> {
    if PER_THREAD_JIT {
        return Ok(());
    }
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
/// `ptr`/`len` must be exactly one mapping made by [`map`] or [`map_twice`] that the caller owns
/// and no longer references.
pub(super) unsafe fn unmap(ptr: NonNull<u8>, len: usize) {
    // SAFETY: the caller passes one mapping it owns and references no more.
    unsafe {
        libc::munmap(ptr.as_ptr().cast(), len);
    }
}

/// One memory object of `len` bytes mapped twice (Linux): read-write at `write` and read-only at
/// `exec`, to be made read-execute by [`protect`], and not by `PROT_EXEC` here, so that a policy
/// that refuses code memory (`PR_SET_MDWE` refuses to add `PROT_EXEC` to a mapping) refuses it as
/// it refuses every other. Writes through `write` show at `exec`. The
/// file descriptor is closed before this returns: the mappings keep the object alive.
#[cfg(any(target_os = "linux", target_os = "android"))]
pub(super) fn map_twice(len: usize) -> io::Result<(NonNull<u8>, NonNull<u8>)> {
    // SAFETY: memfd_create takes a NUL-terminated name and flags, and returns a new descriptor
    // that this function owns.
    let fd = unsafe { libc::memfd_create(c"fnjit-code".as_ptr(), libc::MFD_CLOEXEC) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    let mapped = (|| {
        let size =
            libc::off_t::try_from(len).map_err(|_| io::Error::from(io::ErrorKind::OutOfMemory))?;
        // SAFETY: `fd` is the memory object made above; ftruncate only sizes it.
        if unsafe { libc::ftruncate(fd, size) } != 0 {
            return Err(io::Error::last_os_error());
        }
        let shared = |prot| {
            // SAFETY: a shared mapping of the object above at an address the kernel picks: it
            // never replaces an existing mapping.
            let p = unsafe { libc::mmap(std::ptr::null_mut(), len, prot, libc::MAP_SHARED, fd, 0) };
            if p == libc::MAP_FAILED {
                return Err(io::Error::last_os_error());
            }
            NonNull::new(p.cast::<u8>())
                .ok_or_else(|| io::Error::other("mmap returned address zero"))
        };
        let write = shared(libc::PROT_READ | libc::PROT_WRITE)?;
        match shared(libc::PROT_READ) {
            Ok(exec) => Ok((write, exec)),
            Err(e) => {
                // SAFETY: `write` is the mapping made just above, which nothing references yet.
                unsafe { unmap(write, len) };
                Err(e)
            }
        }
    })();
    // SAFETY: `fd` is ours; the mappings (if any) hold the object.
    unsafe { libc::close(fd) };
    mapped
}

/// Maps the first page of `file` read-execute, privately, for good: how a profiler learns of a
/// file (perf's jitdump). Nothing ever runs there, and the page is never writable.
#[cfg_attr(
    not(target_os = "linux"),
    allow(dead_code, reason = "jitdump is Linux's")
)]
pub(super) fn map_file_executable(file: &std::fs::File) -> io::Result<()> {
    use std::os::fd::AsRawFd as _;
    // SAFETY: a new private read-execute mapping of an open file, where the kernel chooses
    // (never over an existing mapping); no memory of this process changes.
    let p = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            page_size(),
            libc::PROT_READ | libc::PROT_EXEC,
            libc::MAP_PRIVATE,
            file.as_raw_fd(),
            0,
        )
    };
    if p == libc::MAP_FAILED {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// The step between addresses a mapping may start at: the page size here.
pub(super) fn granularity() -> usize {
    page_size()
}

/// The system's page size (at least 4096).
pub(super) fn page_size() -> usize {
    use std::sync::atomic::{AtomicUsize, Ordering};
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
