//! Executable memory: the one module of fnjit that maps, protects and calls machine code.
//!
//! W^X is a property of the types, not of care:
//! - [`WritableCode`] is a private read-write mapping. It is never executable.
//! - [`WritableCode::make_executable`] consumes it and returns [`ExecutableCode`], read-execute
//!   and never writable again. No value of any type here is writable and executable at once.
//! - [`I32Function`] owns an [`ExecutableCode`] and holds the crate's only transmute to
//!   `extern "C" fn(i32) -> i32`. The function pointer never leaves it: callers get `call(&self)`,
//!   so nothing callable can outlive the memory.
//!
//! Mappings are placed near the program's own code when there is room (see [`Placement`]),
//! because indirect calls to far targets predict worse on current x86-64 cores.
//!
//! When its owner drops, a one-page mapping is made read-write again (never executable), zeroed
//! and kept in a small pool for the next function: a fresh mapping costs `mmap`, a page fault and
//! `munmap`, a pooled page one `mprotect` each way. The pool holds at most [`POOL_PAGES`] pages a
//! placement; everything else is unmapped.

use crate::Error;
use std::io;
use std::marker::PhantomData;
use std::mem::ManuallyDrop;
use std::ptr::{self, NonNull};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, PoisonError};

/// Where to map code memory.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Placement {
    /// Within 1 GiB below the program's own code, falling back to anywhere when no room is found
    /// there (the mapping then reports itself as not near).
    Near,
    /// Wherever the kernel puts `mmap(NULL, …)`: on Linux x86-64, tens of TiB from the program's
    /// code. This is where the gist's stub and cranelift-jit's default provider put code.
    Anywhere,
    /// As `Anywhere`, but always a fresh mapping that is unmapped on drop, never pooled: the
    /// gist's way (map, copy, protect, unmap), kept W^X. For comparisons.
    Fresh,
}

/// Private read-write memory being filled with machine code. Never executable.
#[derive(Debug)]
pub struct WritableCode {
    ptr: NonNull<u8>,
    map_len: usize,
    pooled: bool,
}

// SAFETY: the mapping is owned exclusively by this value (nothing else holds its address), so
// moving it to another thread moves sole access with it.
unsafe impl Send for WritableCode {}

/// Read-execute memory holding finished machine code. Never writable.
#[derive(Debug)]
pub struct ExecutableCode {
    ptr: NonNull<u8>,
    map_len: usize,
    code_len: usize,
    pooled: bool,
}

// SAFETY: the mapping is read-execute and owned by this value; it is only ever read, and shared
// reads from any number of threads are sound.
unsafe impl Send for ExecutableCode {}
// SAFETY: as above: `&ExecutableCode` only allows reads of memory that no one writes.
unsafe impl Sync for ExecutableCode {}

impl WritableCode {
    /// Maps at least `len` bytes (a whole number of pages, at least one) of zeroed read-write
    /// memory, placed as `placement` asks.
    pub fn new(len: usize, placement: Placement) -> Result<Self, Error> {
        let map_len = len
            .max(1)
            .checked_next_multiple_of(page_size())
            .ok_or(Error::MapFailed {
                len,
                source: io::Error::from(io::ErrorKind::OutOfMemory),
            })?;
        let pooled = placement != Placement::Fresh;
        if pooled
            && map_len == page_size()
            && let Some(ptr) = pool_take(placement)
        {
            return Ok(Self {
                ptr,
                map_len,
                pooled,
            });
        }
        let near = match placement {
            Placement::Near => map_near(map_len),
            Placement::Anywhere | Placement::Fresh => None,
        };
        let ptr = match near {
            Some(ptr) => ptr,
            None => map_at(ptr::null_mut(), map_len, 0).map_err(|source| Error::MapFailed {
                len: map_len,
                source,
            })?,
        };
        Ok(Self {
            ptr,
            map_len,
            pooled,
        })
    }

    /// The whole mapping, for writing code into.
    pub fn as_mut_slice(&mut self) -> &mut [u8] {
        // SAFETY: `ptr` is a live read-write mapping of `map_len` bytes that this value owns
        // exclusively, and `&mut self` guarantees no other reference into it exists.
        unsafe { std::slice::from_raw_parts_mut(self.ptr.as_ptr(), self.map_len) }
    }

    /// Makes the memory read-execute and returns it as code whose first `code_len` bytes are the
    /// machine code. Consumes `self`: nothing writable remains.
    ///
    /// # Errors
    /// [`Error::ExecRefused`] when the kernel refuses `PROT_EXEC` (SELinux `execmem`,
    /// `PR_SET_MDWE`, PaX). The memory is released (pooled or unmapped) in that case.
    pub fn make_executable(self, code_len: usize) -> Result<ExecutableCode, Error> {
        let code_len = code_len.min(self.map_len);
        // x86-64 keeps instruction fetch coherent with stores to the same addresses, and the
        // mprotect system call below serializes this thread; other threads only reach the code
        // through a synchronizing hand-over of the owner. So no icache flush is needed here
        // (fnjit executes code on x86-64 hosts only: see `isa::check_host`).
        //
        // SAFETY: `ptr`/`map_len` describe exactly the mapping this value owns; changing its
        // protection affects no other memory, and no reference into it outlives `self`.
        let rc = unsafe {
            libc::mprotect(
                self.ptr.as_ptr().cast(),
                self.map_len,
                libc::PROT_READ | libc::PROT_EXEC,
            )
        };
        if rc != 0 {
            // `self` drops here and releases the still read-write memory.
            return Err(Error::ExecRefused {
                source: io::Error::last_os_error(),
            });
        }
        let this = ManuallyDrop::new(self);
        Ok(ExecutableCode {
            ptr: this.ptr,
            map_len: this.map_len,
            code_len,
            pooled: this.pooled,
        })
    }
}

impl Drop for WritableCode {
    fn drop(&mut self) {
        if self.pooled {
            release(self.ptr, self.map_len);
        } else {
            unmap(self.ptr, self.map_len);
        }
    }
}

impl ExecutableCode {
    /// The machine code, as it lies in executable memory: `bytes().as_ptr()` is the entry point.
    pub fn bytes(&self) -> &[u8] {
        // SAFETY: the first `code_len` bytes of the live mapping this value owns are readable
        // (PROT_READ | PROT_EXEC) and never written again; the slice borrows `self`, so it
        // cannot outlive the mapping.
        unsafe { std::slice::from_raw_parts(self.ptr.as_ptr(), self.code_len) }
    }

    /// Whether the code lies within 2 GiB of the program's own code (see [`Placement`]).
    pub fn is_near(&self) -> bool {
        distance_from_program(self.ptr.as_ptr() as usize) < NEAR_LIMIT
    }
}

impl Drop for ExecutableCode {
    fn drop(&mut self) {
        if !self.pooled {
            unmap(self.ptr, self.map_len);
            return;
        }
        // Executable memory only goes back to the pool once it is writable, i.e. not executable.
        // SAFETY: `ptr`/`map_len` are exactly the mapping this value owns, and it is being
        // dropped: no reference into it remains, and nothing can be executing it (calls borrow
        // the owner, which a drop cannot).
        let rc = unsafe {
            libc::mprotect(
                self.ptr.as_ptr().cast(),
                self.map_len,
                libc::PROT_READ | libc::PROT_WRITE,
            )
        };
        if rc == 0 {
            release(self.ptr, self.map_len);
        } else {
            unmap(self.ptr, self.map_len);
        }
    }
}

/// Machine code known to implement `extern "C" fn(i32) -> i32`, callable through `&self` only.
#[derive(Debug)]
pub struct I32Function {
    entry: extern "C" fn(i32) -> i32,
    // Declared after `entry` and owned here: the pointer above is valid exactly as long as this.
    code: ExecutableCode,
}

impl I32Function {
    /// Wraps `code` whose first byte is the entry of a function of the host's C ABI (System V on
    /// x86-64: argument in `edi`, result in `eax`) taking one `i32` and returning one `i32`.
    ///
    /// # Safety
    /// The bytes of `code` must be such a function, must return for every argument, must touch
    /// no memory but their own stack frame, and must not unwind. Only then is [`Self::call`]
    /// sound for every input.
    pub unsafe fn new(code: ExecutableCode) -> Self {
        // SAFETY: this is fnjit's one transmute from code to a callable. `code.ptr` is the first
        // byte of a live read-execute mapping that `Self` keeps alive for as long as `entry` can
        // be reached; function pointers and data pointers have the same size and representation
        // on every platform fnjit executes code on (x86-64); and the caller guarantees that the
        // bytes implement `extern "C" fn(i32) -> i32` under the host's C ABI.
        let entry = unsafe {
            std::mem::transmute::<*const u8, extern "C" fn(i32) -> i32>(code.ptr.as_ptr())
        };
        Self { entry, code }
    }

    /// Calls the code with `x`.
    #[inline]
    pub fn call(&self, x: i32) -> i32 {
        (self.entry)(x)
    }

    /// A copyable handle that calls the code directly, borrowing it.
    pub fn as_fn(&self) -> FnRef<'_> {
        FnRef {
            entry: self.entry,
            _code: PhantomData,
        }
    }

    /// The code behind the function.
    pub fn code(&self) -> &ExecutableCode {
        &self.code
    }
}

/// A function pointer into code that stays mapped as long as the borrow `'a` lasts: what a bare
/// `extern "C" fn(i32) -> i32` would be, minus the chance to outlive its memory.
#[derive(Clone, Copy, Debug)]
pub struct FnRef<'a> {
    entry: extern "C" fn(i32) -> i32,
    _code: PhantomData<&'a ExecutableCode>,
}

impl FnRef<'_> {
    /// Calls the code with `x`.
    #[inline]
    pub fn call(self, x: i32) -> i32 {
        (self.entry)(x)
    }
}

/// How many free pages the pool keeps for each placement.
pub const POOL_PAGES: usize = 64;

/// Free read-write code pages, zeroed: near the program's code, and anywhere else.
static POOL: [Mutex<Vec<usize>>; 2] = [Mutex::new(Vec::new()), Mutex::new(Vec::new())];

fn pool_for(near: bool) -> std::sync::MutexGuard<'static, Vec<usize>> {
    // A page address list is consistent after any panic, so poisoning is ignored.
    POOL[usize::from(near)]
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
}

fn pool_take(placement: Placement) -> Option<NonNull<u8>> {
    let page = pool_for(placement == Placement::Near).pop()?;
    NonNull::new(page as *mut u8)
}

/// Gives back a read-write mapping whose owner is done with it: one page is zeroed and pooled
/// while the pool has room; anything else is unmapped.
fn release(ptr: NonNull<u8>, len: usize) {
    let addr = ptr.as_ptr() as usize;
    if len == page_size() {
        let mut pool = pool_for(distance_from_program(addr) < NEAR_LIMIT);
        if pool.len() < POOL_PAGES {
            // SAFETY: the caller owns this read-write page and holds no reference into it.
            unsafe { ptr::write_bytes(ptr.as_ptr(), 0, len) };
            pool.push(addr);
            return;
        }
    }
    unmap(ptr, len);
}

/// Mappings nearer than this to the program's code count as near: within the ±2 GiB that a
/// 32-bit relative branch reaches, and well inside the 4 GiB that branch predictors favour.
const NEAR_LIMIT: usize = 2 << 30;
/// How far below the program's code the near search goes before it wraps around.
const NEAR_WINDOW: usize = 1 << 30;
/// Leave this much room below the program's code for its own mappings.
const NEAR_GAP: usize = 64 << 20;
/// How many occupied addresses to step over before giving up on near placement.
const NEAR_PROBES: usize = 16;

/// Where the next near mapping is tried (0: not yet started).
static NEXT_NEAR: AtomicUsize = AtomicUsize::new(0);

/// An address inside the program's own code.
fn program_code_address() -> usize {
    program_code_address as fn() -> usize as usize
}

fn distance_from_program(addr: usize) -> usize {
    addr.abs_diff(program_code_address())
}

/// Tries to map `len` bytes within [`NEAR_WINDOW`] below the program's code, without replacing
/// anything already mapped there. Returns `None` when no room was found quickly.
fn map_near(len: usize) -> Option<NonNull<u8>> {
    let top = (program_code_address() & !(page_size() - 1)).checked_sub(NEAR_GAP + len)?;
    let bottom = top.checked_sub(NEAR_WINDOW)?;
    let mut hint = NEXT_NEAR.load(Ordering::Relaxed);
    for _ in 0..NEAR_PROBES {
        if !(bottom..=top).contains(&hint) {
            hint = top;
        }
        match map_at(hint as *mut u8, len, libc::MAP_FIXED_NOREPLACE) {
            Ok(ptr) if ptr.as_ptr() as usize == hint => {
                NEXT_NEAR.store(hint.saturating_sub(len), Ordering::Relaxed);
                return Some(ptr);
            }
            Ok(ptr) => {
                // A kernel older than 4.17 takes the flag as a mere hint and maps elsewhere.
                unmap(ptr, len);
                return None;
            }
            Err(e) if e.raw_os_error() == Some(libc::EEXIST) => hint = hint.saturating_sub(len),
            Err(_) => return None,
        }
    }
    None
}

/// `mmap` of `len` bytes of private, anonymous, read-write memory at `addr` (null: anywhere).
fn map_at(addr: *mut u8, len: usize, extra_flags: libc::c_int) -> io::Result<NonNull<u8>> {
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

/// Unmaps a mapping that the caller owns and no longer references. Errors are ignored on
/// purpose: `munmap` of a whole live mapping can only fail if the arguments are wrong, and a
/// destructor has no one to report to.
fn unmap(ptr: NonNull<u8>, len: usize) {
    // SAFETY: `ptr`/`len` are exactly one mapping created by `map_at` and owned by the caller,
    // which drops its last reference into it here.
    unsafe {
        libc::munmap(ptr.as_ptr().cast(), len);
    }
}

fn page_size() -> usize {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn near_placement_is_near_and_anywhere_is_far() {
        let near = WritableCode::new(1, Placement::Near)
            .and_then(|w| w.make_executable(1))
            .expect("map near");
        assert!(
            near.is_near(),
            "near mapping at {:p}",
            near.bytes().as_ptr()
        );
        let far = WritableCode::new(1, Placement::Anywhere)
            .and_then(|w| w.make_executable(1))
            .expect("map anywhere");
        assert!(
            !far.is_near(),
            "mmap(NULL) mapping at {:p}",
            far.bytes().as_ptr()
        );
    }

    #[test]
    fn near_placement_steps_over_live_mappings() {
        let maps: Vec<_> = (0..64)
            .map(|_| WritableCode::new(4096, Placement::Near).expect("map"))
            .collect();
        let mut addrs: Vec<_> = maps.iter().map(|m| m.ptr.as_ptr() as usize).collect();
        addrs.sort();
        addrs.dedup();
        assert_eq!(
            addrs.len(),
            maps.len(),
            "two live mappings share an address"
        );
    }

    #[test]
    fn pooled_pages_come_back_zeroed_and_writable() {
        let mut w = WritableCode::new(4, Placement::Anywhere).expect("map");
        w.as_mut_slice()[..4].copy_from_slice(&[0x8D, 0x47, 0x01, 0xC3]);
        let x = w.make_executable(4).expect("exec");
        drop(x);
        // Whichever page comes next (this one, from the pool, or another), it is clean.
        let mut again = WritableCode::new(4, Placement::Anywhere).expect("map");
        assert!(again.as_mut_slice().iter().all(|&b| b == 0));
    }

    #[test]
    fn writable_memory_is_zeroed_and_sized_in_pages() {
        let mut w = WritableCode::new(5, Placement::Near).expect("map");
        let bytes = w.as_mut_slice();
        assert_eq!(bytes.len() % page_size(), 0);
        assert!(bytes.iter().all(|&b| b == 0));
    }
}
