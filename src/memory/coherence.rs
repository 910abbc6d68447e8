//! Making freshly written code visible to instruction fetch, as each architecture requires.
//!
//! - **x86-64** keeps instruction fetch coherent with stores to the same addresses, and the
//!   `mprotect` that makes code executable serializes the writing thread: nothing to do (on
//!   Windows, `FlushInstructionCache`, which Windows asks every program that writes code to call).
//! - **AArch64** does not. After writing code, clean the data cache to the point of unification
//!   (`dc cvau`), invalidate the instruction cache over the range (`ic ivau`), wait for both
//!   (`dsb ish`) and resynchronize the fetch pipeline (`isb`): [`flush_icache`] does that on the
//!   writing thread. Any other thread may still hold stale instructions in its pipeline, so
//!   [`sync_other_threads`] makes every thread of the process pass a context-synchronizing event
//!   (Linux: `membarrier(PRIVATE_EXPEDITED_SYNC_CORE)`, the kernel's way to make every core
//!   running this process execute the equivalent of an `isb`).
//! - **macOS on AArch64** maps code with `MAP_JIT`: such pages are writable or executable per
//!   thread, switched by `pthread_jit_write_protect_np`. [`WriteAccess`] switches the calling
//!   thread to writing for as long as it lives; `sys_icache_invalidate` does the cache work.
//!   (Compiled for, never run: docs/hosts.md.)

use std::io;
use std::ptr::NonNull;

/// Makes `len` bytes of new code at `ptr` visible to instruction fetch on this thread.
///
/// # Safety
/// `ptr`/`len` must lie inside one live mapping that the caller owns.
pub(super) unsafe fn flush_icache(ptr: NonNull<u8>, len: usize) {
    #[cfg(all(target_arch = "aarch64", target_vendor = "apple"))]
    {
        unsafe extern "C" {
            /// libSystem: makes `len` bytes at `start` coherent for instruction fetch.
            fn sys_icache_invalidate(start: *mut std::ffi::c_void, len: usize);
        }
        // SAFETY: the range lies inside a live mapping the caller owns (the function's
        // contract); the call only performs cache maintenance on it.
        unsafe { sys_icache_invalidate(ptr.as_ptr().cast(), len) };
    }
    #[cfg(all(target_arch = "aarch64", not(target_vendor = "apple")))]
    // SAFETY: the range lies inside a live mapping the caller owns (the function's contract).
    unsafe {
        aarch64::clean_and_invalidate(ptr.as_ptr() as usize, len)
    };
    #[cfg(windows)]
    // SAFETY: the range lies inside a live mapping the caller owns (the function's contract).
    unsafe {
        super::sys::flush_instruction_cache(ptr, len)
    };
    #[cfg(all(not(target_arch = "aarch64"), not(windows)))]
    let _ = (ptr, len);
}

/// Makes every other thread of the process discard instructions it may have fetched before the
/// code was written. Call after [`flush_icache`].
///
/// # Errors
/// The `membarrier` error, when the kernel offers none of the barriers (Linux before 4.3, or a
/// seccomp filter that forbids the call).
#[cfg(all(target_arch = "aarch64", target_os = "linux"))]
pub(super) fn sync_other_threads() -> io::Result<()> {
    aarch64::membarrier_sync_core()
}

/// Nothing to do here: x86-64 fetches coherently, and on macOS Apple's guide to porting JITs
/// asks for `sys_icache_invalidate` alone.
#[cfg(not(all(target_arch = "aarch64", target_os = "linux")))]
pub(super) fn sync_other_threads() -> io::Result<()> {
    Ok(())
}

/// While this value lives, the calling thread may write code memory: on macOS AArch64 it turns
/// the thread's view of `MAP_JIT` memory from executable to writable, and back when the last
/// one on the thread drops. Elsewhere page protections do the job and this is nothing.
///
/// It is held only around Rust code that writes code memory (Cranelift filling a module, a
/// stub being copied, a freed page being zeroed), never around a call into JIT code, and it
/// cannot leave its thread.
#[derive(Debug)]
pub(crate) struct WriteAccess {
    _this_thread_only: std::marker::PhantomData<*const ()>,
}

impl WriteAccess {
    /// Write access to code memory for this thread.
    pub(crate) fn begin() -> WriteAccess {
        #[cfg(all(target_arch = "aarch64", target_vendor = "apple"))]
        apple::enter();
        WriteAccess {
            _this_thread_only: std::marker::PhantomData,
        }
    }
}

impl Drop for WriteAccess {
    fn drop(&mut self) {
        #[cfg(all(target_arch = "aarch64", target_vendor = "apple"))]
        apple::leave();
    }
}

#[cfg(all(target_arch = "aarch64", target_vendor = "apple"))]
mod apple {
    use std::cell::Cell;

    thread_local! {
        /// How many [`super::WriteAccess`] values live on this thread.
        static WRITERS: Cell<usize> = const { Cell::new(0) };
    }

    pub(super) fn enter() {
        if WRITERS.replace(WRITERS.get() + 1) == 0 {
            // SAFETY: switches this thread's view of MAP_JIT memory to writable (and not
            // executable). No JIT code runs on this thread until `leave` switches back: the
            // guard is held only around Rust code that writes code memory.
            unsafe { libc::pthread_jit_write_protect_np(0) };
        }
    }

    pub(super) fn leave() {
        let left = WRITERS.get().saturating_sub(1);
        WRITERS.set(left);
        if left == 0 {
            // SAFETY: switches this thread's view of MAP_JIT memory back to executable (and not
            // writable); the last writer on this thread is done.
            unsafe { libc::pthread_jit_write_protect_np(1) };
        }
    }
}

#[cfg(all(target_arch = "aarch64", not(target_vendor = "apple")))]
mod aarch64 {
    use std::arch::asm;

    /// The cache maintenance the Arm ARM prescribes for new code (B2.4.4, "Concurrent modification
    /// and execution of instructions"), with line sizes and shortcuts read from `CTR_EL0`, as
    /// compiler-rt's `__clear_cache` does.
    ///
    /// # Safety
    /// `start`/`len` must lie inside one live mapping that the caller owns.
    pub(super) unsafe fn clean_and_invalidate(start: usize, len: usize) {
        let ctr: u64;
        // SAFETY: Linux lets EL0 read CTR_EL0 (or emulates the read); it has no side effects.
        unsafe { asm!("mrs {}, ctr_el0", out(reg) ctr, options(nomem, nostack, preserves_flags)) };
        let end = start.saturating_add(len);
        // CTR_EL0.IDC (bit 28): the data cache need not be cleaned for instruction coherence.
        if ctr & (1 << 28) == 0 {
            let line = 4usize << ((ctr >> 16) & 0xF); // DminLine: log2 of words
            let mut addr = start & !(line - 1);
            while addr < end {
                // SAFETY: cleans one cache line of the caller's mapping to the point of
                // unification; it changes no memory contents.
                unsafe { asm!("dc cvau, {}", in(reg) addr, options(nostack, preserves_flags)) };
                addr += line;
            }
        }
        // SAFETY: a barrier: waits for the cleaning above to complete.
        unsafe { asm!("dsb ish", options(nostack, preserves_flags)) };
        // CTR_EL0.DIC (bit 29): the instruction cache need not be invalidated.
        if ctr & (1 << 29) == 0 {
            let line = 4usize << (ctr & 0xF); // IminLine: log2 of words
            let mut addr = start & !(line - 1);
            while addr < end {
                // SAFETY: invalidates one instruction-cache line of the caller's mapping.
                unsafe { asm!("ic ivau, {}", in(reg) addr, options(nostack, preserves_flags)) };
                addr += line;
            }
            // SAFETY: a barrier: waits for the invalidation to complete.
            unsafe { asm!("dsb ish", options(nostack, preserves_flags)) };
        }
        // SAFETY: an instruction barrier: this thread fetches anew after it.
        unsafe { asm!("isb", options(nostack, preserves_flags)) };
    }

    /// `membarrier(2)` commands (linux/membarrier.h).
    #[cfg(target_os = "linux")]
    const GLOBAL: libc::c_int = 1;
    #[cfg(target_os = "linux")]
    const PRIVATE_EXPEDITED_SYNC_CORE: libc::c_int = 32;
    #[cfg(target_os = "linux")]
    const REGISTER_PRIVATE_EXPEDITED_SYNC_CORE: libc::c_int = 64;

    #[cfg(target_os = "linux")]
    fn membarrier(cmd: libc::c_int) -> std::io::Result<()> {
        // SAFETY: membarrier takes two integers and touches no memory of ours.
        match unsafe { libc::syscall(libc::SYS_membarrier, cmd, 0 as libc::c_int) } {
            0 => Ok(()),
            _ => Err(std::io::Error::last_os_error()),
        }
    }

    /// Every thread of this process passes a context-synchronizing event before this returns.
    /// The process registers for the expedited barrier on first use; a kernel without it (before
    /// 4.16) gets the global barrier, which waits for every core to pass through the kernel.
    #[cfg(target_os = "linux")]
    pub(super) fn membarrier_sync_core() -> std::io::Result<()> {
        match membarrier(PRIVATE_EXPEDITED_SYNC_CORE) {
            Ok(()) => Ok(()),
            Err(e) if e.raw_os_error() == Some(libc::EPERM) => {
                membarrier(REGISTER_PRIVATE_EXPEDITED_SYNC_CORE)?;
                membarrier(PRIVATE_EXPEDITED_SYNC_CORE)
            }
            Err(e) if e.raw_os_error() == Some(libc::EINVAL) => membarrier(GLOBAL),
            Err(e) => Err(e),
        }
    }
}
