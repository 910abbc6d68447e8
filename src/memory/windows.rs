//! Every system call fnjit makes for code memory on Windows, one small function each, with the
//! signatures of `unix.rs`: `VirtualAlloc` (map), `VirtualProtect` (protect), `VirtualFree`
//! (unmap), `FlushInstructionCache`, `GetSystemInfo` (page size and allocation granularity).
//!
//! The bindings are windows-sys's, the crate cranelift-jit already takes on Windows: generated
//! from Microsoft's metadata, so no signature here is written by hand. (memmap2 maps files, and
//! region has no placement by address; neither has the rest of what fnjit needs.)

use std::io;
use std::ptr::NonNull;
use windows_sys::Win32::Foundation::{ERROR_INVALID_ADDRESS, GetLastError};
use windows_sys::Win32::System::Diagnostics::Debug::FlushInstructionCache;
use windows_sys::Win32::System::Memory::{
    MEM_COMMIT, MEM_RELEASE, MEM_RESERVE, PAGE_EXECUTE_READ, PAGE_PROTECTION_FLAGS, PAGE_READWRITE,
    VirtualAlloc, VirtualFree, VirtualProtect,
};
use windows_sys::Win32::System::SystemInformation::{GetSystemInfo, SYSTEM_INFO};
use windows_sys::Win32::System::Threading::GetCurrentProcess;

/// `VirtualAlloc` of `len` bytes of committed, zeroed, read-write memory. A non-null `hint`
/// (a multiple of [`granularity`]) is a demand: the call fails with `AlreadyExists` when that
/// range is taken, as Linux's `MAP_FIXED_NOREPLACE` does. Callers check where the memory landed.
pub(super) fn map(hint: *mut u8, len: usize) -> io::Result<NonNull<u8>> {
    // SAFETY: VirtualAlloc reserves and commits new pages; at a given address it fails rather
    // than touch pages already allocated, so no memory that Rust code references can change.
    let p = unsafe {
        VirtualAlloc(
            hint.cast_const().cast(),
            len,
            MEM_COMMIT | MEM_RESERVE,
            PAGE_READWRITE,
        )
    };
    match NonNull::new(p.cast::<u8>()) {
        Some(p) => Ok(p),
        None => {
            // SAFETY: reads this thread's last error; no preconditions.
            let code = unsafe { GetLastError() };
            if !hint.is_null() && code == ERROR_INVALID_ADDRESS {
                return Err(io::Error::from(io::ErrorKind::AlreadyExists));
            }
            Err(io::Error::from_raw_os_error(code as i32))
        }
    }
}

/// Which protection [`protect`] sets. There is no read-write-execute.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Protection {
    ReadWrite,
    ReadExecute,
}

/// `VirtualProtect` of a whole allocation. Where the process forbids dynamic code (Arbitrary
/// Code Guard), making memory executable fails with `ERROR_DYNAMIC_CODE_BLOCKED`.
///
/// # Safety
/// `ptr`/`len` must be exactly one allocation made by [`map`] that the caller owns, and no
/// reference into it may be used across the change: Rust must never write through a reference
/// into memory that became read-execute, nor run code in memory that became read-write.
pub(super) unsafe fn protect(ptr: NonNull<u8>, len: usize, to: Protection) -> io::Result<()> {
    let new = match to {
        Protection::ReadWrite => PAGE_READWRITE,
        Protection::ReadExecute => PAGE_EXECUTE_READ,
    };
    let mut old: PAGE_PROTECTION_FLAGS = 0;
    // SAFETY: the caller guarantees `ptr`/`len` is one allocation it owns and that nothing uses a
    // reference into it across the change; VirtualProtect affects no other memory, and `old` is
    // a valid place for the previous protection.
    let ok = unsafe { VirtualProtect(ptr.as_ptr().cast(), len, new, &mut old) };
    if ok != 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Releases an allocation. Errors are ignored on purpose, as `munmap`'s are on Unix: releasing a
/// whole live allocation fails only for wrong arguments, and a destructor has no one to tell.
///
/// # Safety
/// `ptr` must be one allocation made by [`map`] that the caller owns and no longer references.
pub(super) unsafe fn unmap(ptr: NonNull<u8>, _len: usize) {
    // SAFETY: the caller passes one allocation it owns and references no more; MEM_RELEASE takes
    // size 0 and frees the whole allocation.
    unsafe {
        VirtualFree(ptr.as_ptr().cast(), 0, MEM_RELEASE);
    }
}

/// `FlushInstructionCache` over new code, as Windows asks of every program that writes code
/// (x86-64 fetches coherently, so this is cheap there).
///
/// # Safety
/// `ptr`/`len` must lie inside one live allocation that the caller owns.
pub(super) unsafe fn flush_instruction_cache(ptr: NonNull<u8>, len: usize) {
    // SAFETY: the range lies inside one of the caller's allocations; the call does cache
    // maintenance only, on this process (GetCurrentProcess is a constant pseudo-handle).
    unsafe {
        FlushInstructionCache(GetCurrentProcess(), ptr.as_ptr().cast_const().cast(), len);
    }
}

/// The page size and the allocation granularity, read once.
fn system_info() -> (usize, usize) {
    use std::sync::OnceLock;
    static INFO: OnceLock<(usize, usize)> = OnceLock::new();
    *INFO.get_or_init(|| {
        // SAFETY: SYSTEM_INFO is plain data, valid all zeroes; GetSystemInfo fills it.
        let mut info: SYSTEM_INFO = unsafe { std::mem::zeroed() };
        // SAFETY: `info` is a valid SYSTEM_INFO to write.
        unsafe { GetSystemInfo(&mut info) };
        let page = (info.dwPageSize as usize).max(4096);
        (page, (info.dwAllocationGranularity as usize).max(page))
    })
}

/// The system's page size (at least 4096).
pub(super) fn page_size() -> usize {
    system_info().0
}

/// The step between addresses an allocation may start at: 64 KiB on Windows, where a one-page
/// allocation still takes that much address space.
pub(super) fn granularity() -> usize {
    system_info().1
}
