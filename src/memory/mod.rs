//! Code memory. W^X is a property of the types, not of care:
//! - [`WritableCode`] is a private read-write mapping. It is never executable.
//! - [`WritableCode::make_executable`] consumes it and returns [`ExecutableCode`], read-execute
//!   and never writable again. No value of any type here is writable and executable at once.
//!
//! The system calls live in `unix.rs` and `windows.rs`, the pool of free pages in `pool.rs`, near
//! placement in `near.rs`, the shared chunks of small functions in `arena.rs`, and what each
//! architecture needs before new code may run in `coherence.rs`. When its owner drops, a one-page
//! mapping is made read-write again (never executable), zeroed and pooled for the next function;
//! a chunk is unmapped with its last function; everything else is unmapped.

mod arena;
mod coherence;
mod frames;
mod near;
mod pool;
#[cfg(unix)]
mod unix;
#[cfg(unix)]
use unix as sys;
#[cfg(windows)]
mod windows;
#[cfg(windows)]
use windows as sys;

use crate::Error;
pub(crate) use coherence::WriteAccess;
pub(crate) use frames::{CfaProgram, end_section, new_section, push_fde};
use std::fmt;
use std::io;
use std::mem::ManuallyDrop;
use std::ptr::{self, NonNull};
use std::sync::{Arc, OnceLock};
use sys::Protection;

/// Where to map code memory.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Placement {
    /// Within 1 GiB below the program's own code, falling back to anywhere when no room is found
    /// there (the code then reports itself as not near).
    Near,
    /// Wherever the kernel puts `mmap(NULL, …)`: on Linux x86-64, tens of TiB from the program's
    /// code. This is where the gist's stub and cranelift-jit's default provider put code.
    Anywhere,
    /// As `Anywhere`, but always a mapping of its own that is unmapped on drop, never pooled: the
    /// gist's way (map, copy, protect, unmap), kept W^X. For a process that must not keep freed
    /// pages, and for comparisons.
    Fresh,
}

/// Private read-write memory being filled with machine code. Never executable.
#[derive(Debug)]
pub(crate) struct WritableCode {
    ptr: NonNull<u8>,
    map_len: usize,
    pooled: bool,
}

// SAFETY: the mapping is owned exclusively by this value (nothing else holds its address), so
// moving it to another thread moves sole access with it.
unsafe impl Send for WritableCode {}

/// Read-execute memory holding finished machine code. Never writable.
#[derive(Debug)]
pub(crate) struct ExecutableCode {
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
    ///
    /// # Errors
    /// [`Error::MapFailed`] when the kernel has no memory to give.
    pub(crate) fn new(len: usize, placement: Placement) -> Result<Self, Error> {
        let map_len = len
            .max(1)
            .checked_next_multiple_of(sys::page_size())
            .ok_or(Error::MapFailed {
                len,
                source: io::Error::from(io::ErrorKind::OutOfMemory),
            })?;
        let pooled = placement != Placement::Fresh;
        if pooled
            && map_len == sys::page_size()
            && let Some(ptr) = pool::take(placement == Placement::Near)
        {
            return Ok(Self {
                ptr,
                map_len,
                pooled,
            });
        }
        let near = match placement {
            Placement::Near => near::map_near(map_len),
            Placement::Anywhere | Placement::Fresh => None,
        };
        let ptr = match near {
            Some(ptr) => ptr,
            None => sys::map(ptr::null_mut(), map_len).map_err(|source| Error::MapFailed {
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

    /// The whole mapping, for writing code into while this thread has write `access`.
    pub(crate) fn as_mut_slice<'a>(&'a mut self, access: &'a WriteAccess) -> &'a mut [u8] {
        let _ = access;
        // SAFETY: `ptr` is a live read-write mapping of `map_len` bytes that this value owns
        // exclusively, and `&mut self` guarantees no other reference into it exists.
        unsafe { std::slice::from_raw_parts_mut(self.ptr.as_ptr(), self.map_len) }
    }

    /// Makes the memory read-execute and returns it as code whose first `code_len` bytes are the
    /// machine code. Consumes `self`: nothing writable remains.
    ///
    /// Before it returns, instruction fetch sees the new code on every thread (`coherence.rs`).
    ///
    /// # Errors
    /// [`Error::ExecRefused`] when the kernel refuses `PROT_EXEC` (SELinux `execmem`,
    /// `PR_SET_MDWE`, PaX); [`Error::Coherence`] when it refuses the barrier that other threads
    /// need on AArch64. The memory is released (pooled or unmapped) in either case.
    pub(crate) fn make_executable(self, code_len: usize) -> Result<ExecutableCode, Error> {
        let code_len = code_len.min(self.map_len);
        // SAFETY: `ptr`/`map_len` are exactly the mapping this value owns, and `self` is consumed:
        // no reference from `as_mut_slice` can outlive this call.
        let protected = unsafe { sys::protect(self.ptr, self.map_len, Protection::ReadExecute) };
        if let Err(source) = protected {
            // `self` drops here and releases the still read-write memory.
            return Err(Error::ExecRefused { source });
        }
        // SAFETY: the code lies inside the mapping this value owns.
        unsafe { coherence::flush_icache(self.ptr, code_len) };
        let this = ManuallyDrop::new(self);
        let code = ExecutableCode {
            ptr: this.ptr,
            map_len: this.map_len,
            code_len,
            pooled: this.pooled,
        };
        // On failure `code` drops here and is released like any freed code.
        coherence::sync_other_threads().map_err(|source| Error::Coherence { source })?;
        Ok(code)
    }
}

impl Drop for WritableCode {
    fn drop(&mut self) {
        // SAFETY: this value owns the read-write mapping, and no reference into it outlives it.
        unsafe { release(self.ptr, self.map_len, self.pooled) };
    }
}

impl ExecutableCode {
    /// The machine code, as it lies in executable memory: `bytes().as_ptr()` is the entry point.
    pub(crate) fn bytes(&self) -> &[u8] {
        // SAFETY: the first `code_len` bytes of the live mapping this value owns are readable
        // (PROT_READ | PROT_EXEC) and never written again; the slice borrows `self`, so it
        // cannot outlive the mapping.
        unsafe { std::slice::from_raw_parts(self.ptr.as_ptr(), self.code_len) }
    }
}

impl Drop for ExecutableCode {
    fn drop(&mut self) {
        if !self.pooled {
            // SAFETY: this value owns the mapping and is being dropped: no reference into it
            // remains, and nothing can be executing it (calls borrow the owner).
            unsafe { sys::unmap(self.ptr, self.map_len) };
            return;
        }
        // Executable memory only goes back to the pool once it is writable, i.e. not executable.
        // SAFETY: as above; after the change nothing runs or reads the code any more.
        match unsafe { sys::protect(self.ptr, self.map_len, Protection::ReadWrite) } {
            // SAFETY: the mapping is read-write now, owned here and referenced by no one.
            Ok(()) => unsafe { pool::give_back(self.ptr, self.map_len) },
            // SAFETY: as above.
            Err(_) => unsafe { sys::unmap(self.ptr, self.map_len) },
        }
    }
}

/// One function's code in memory that several functions may share (a batch, or a chunk of small
/// functions): it stays mapped and executable until the last `CodeRef` into it drops, and is never
/// writable again.
#[derive(Clone, Debug)]
pub(crate) struct CodeRef {
    /// The function's first byte, kept here so that a call reads one field.
    entry: NonNull<u8>,
    len: usize,
    owner: Arc<Owner>,
}

/// What keeps a block of functions' code mapped, and what must go before the code does. The
/// fields drop in order: what tools were told about the code, then its unwind info, then the
/// memory. No unwinder or debugger is left describing freed code.
struct Owner {
    /// What debuggers and profilers hold about the block ([`CodeRef::attach`]).
    attached: OnceLock<Box<dyn fmt::Debug + Send + Sync>>,
    /// The block's unwind info (a chunk's lives in the chunk).
    frames: Option<frames::Registered>,
    #[allow(dead_code, reason = "held for its Drop")]
    memory: Memory,
}

impl fmt::Debug for Owner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Owner")
            .field("attached", &self.attached.get())
            .field("frames", &self.frames.is_some())
            .field("memory", &self.memory)
            .finish()
    }
}

/// The memory of a block: pages of its own (and its batch's), or a place in a shared chunk.
#[derive(Debug)]
enum Memory {
    Pages(#[allow(dead_code, reason = "held for its Drop")] ExecutableCode),
    Chunk(#[allow(dead_code, reason = "held for its Drop")] Arc<arena::Chunk>),
}

// SAFETY: `entry` points into read-execute memory that `owner` keeps mapped; the code is only
// ever read, and both owners are Send and Sync.
unsafe impl Send for CodeRef {}
// SAFETY: as above.
unsafe impl Sync for CodeRef {}

impl CodeRef {
    /// All of `code`, as one function without unwind info (a leaf that never calls: the
    /// hand stub).
    pub(crate) fn whole(code: ExecutableCode) -> CodeRef {
        CodeRef {
            entry: code.ptr,
            len: code.code_len,
            owner: Arc::new(Owner::new(None, Memory::Pages(code))),
        }
    }

    /// Several functions in one mapping: `(offset, len)` each, from the start of `code`, with
    /// `unwind`, what describes them to the host's unwinder (empty for nothing): an `.eh_frame`
    /// section on Unix, a function table with offsets from the start of `code` on Windows
    /// (`frames::Registered::new`), registered until the last of them drops. `None` if a range
    /// lies outside the code (nothing is split or registered then; `code` is released).
    ///
    /// # Safety
    /// Each FDE of `unwind` describes code inside `code`, as it is.
    pub(crate) unsafe fn split(
        code: ExecutableCode,
        parts: &[(usize, usize)],
        unwind: Vec<u8>,
    ) -> Option<Vec<CodeRef>> {
        let base = code.ptr;
        let code_len = code.code_len;
        if parts
            .iter()
            .any(|&(offset, len)| offset.checked_add(len).is_none_or(|end| end > code_len))
        {
            return None;
        }
        // SAFETY: the caller vouches for the section; `Owner` deregisters it before the code goes.
        let frames = (!unwind.is_empty())
            .then(|| unsafe { frames::Registered::new(unwind, base.as_ptr() as usize) });
        let owner = Arc::new(Owner::new(frames, Memory::Pages(code)));
        let codes = parts.iter().map(|&(offset, len)| CodeRef {
            // SAFETY: `offset + len` lies inside the mapping, checked above.
            entry: unsafe { base.add(offset) },
            len,
            owner: Arc::clone(&owner),
        });
        Some(codes.collect())
    }

    /// Small functions' machine code, copied into shared memory as one block (a chunk of the
    /// arena, or pages of their own when they are big or the OS has no arena): one `CodeRef`
    /// each, in order. Each comes with its CFA program (`baseline/cfi.rs`), registered as unwind
    /// info until the block is freed, when the last of them drops.
    ///
    /// # Errors
    /// As [`WritableCode::new`] and [`WritableCode::make_executable`].
    ///
    /// # Safety
    /// Each function's CFA program describes its frame at every instruction, for the host's CIE.
    pub(crate) unsafe fn install(functions: &[(&[u8], &[u8])]) -> Result<Vec<CodeRef>, Error> {
        if functions.is_empty() {
            return Ok(Vec::new());
        }
        // SAFETY: as the caller guarantees.
        if let Some((chunk, entries)) = unsafe { arena::place(functions)? } {
            let owner = Arc::new(Owner::new(None, Memory::Chunk(chunk)));
            return Ok(entries
                .into_iter()
                .zip(functions)
                .map(|(entry, (part, _))| CodeRef {
                    entry,
                    len: part.len(),
                    owner: Arc::clone(&owner),
                })
                .collect());
        }
        let mut offsets = Vec::with_capacity(functions.len());
        let mut end = 0usize;
        for (part, _) in functions {
            offsets.push((end, part.len()));
            end = end
                .checked_add(part.len().next_multiple_of(arena::ALIGN))
                .ok_or(Error::MapFailed {
                    len: usize::MAX,
                    source: io::Error::from(io::ErrorKind::OutOfMemory),
                })?;
        }
        let mut memory = WritableCode::new(end, Placement::Anywhere)?;
        let access = WriteAccess::begin();
        let bytes = memory.as_mut_slice(&access);
        for (&(offset, len), (part, _)) in offsets.iter().zip(functions) {
            bytes[offset..offset + len].copy_from_slice(part);
        }
        drop(access);
        let code = memory.make_executable(end)?;
        let base = code.bytes().as_ptr() as usize;
        let mut unwind = new_section(offsets.len() * 32);
        for (&(offset, len), (_, cfi)) in offsets.iter().zip(functions) {
            push_fde(&mut unwind, base + offset, len, cfi);
        }
        end_section(&mut unwind);
        // Windows reads function tables, not DWARF (and the baseline tier, whose CFA programs
        // these are, does not run there: `baseline::ON_HOST`).
        if cfg!(windows) {
            unwind.clear();
        }
        // SAFETY: each FDE describes its part, as the caller guarantees, at the address where it
        // was just copied.
        unsafe { CodeRef::split(code, &offsets, unwind) }
            .ok_or(Error::Internal("a block split outside its pages"))
    }

    /// Keeps `attachment` (what debuggers and profilers were told about this function's block)
    /// until the block is freed, and drops it first. A block takes one; `false` if it has one.
    #[cfg_attr(
        not(target_os = "linux"),
        allow(dead_code, reason = "GDB's interface is Linux's")
    )]
    pub(crate) fn attach(&self, attachment: Box<dyn fmt::Debug + Send + Sync>) -> bool {
        self.owner.attached.set(attachment).is_ok()
    }

    /// The registered unwind info of this function's block, if the block has its own.
    pub(crate) fn unwind_section(&self) -> Option<&[u8]> {
        self.owner.frames.as_ref().map(frames::Registered::section)
    }

    /// The function's machine code: `bytes().as_ptr()` is its entry.
    pub(crate) fn bytes(&self) -> &[u8] {
        // SAFETY: `entry`/`len` lie inside read-execute memory that `owner` keeps mapped for as
        // long as `self` lives, and those bytes are never written again.
        unsafe { std::slice::from_raw_parts(self.entry.as_ptr(), self.len) }
    }

    /// The first byte of the function: where a call enters it.
    pub(crate) fn entry(&self) -> NonNull<u8> {
        self.entry
    }

    /// Whether the function lies within direct-branch reach of the program's code.
    pub(crate) fn is_near(&self) -> bool {
        near::is_near(self.entry.as_ptr() as usize)
    }

    /// How many functions share this one's mapping or block (itself included).
    pub(crate) fn sharers(&self) -> usize {
        Arc::strong_count(&self.owner)
    }
}

impl Owner {
    fn new(frames: Option<frames::Registered>, memory: Memory) -> Owner {
        Owner {
            attached: OnceLock::new(),
            frames,
            memory,
        }
    }
}

/// Maps the first page of `file` read-execute, for good, as perf's jitdump asks: see
/// `unix::map_file_executable`.
///
/// # Errors
/// What `mmap` says.
#[cfg(unix)]
#[cfg_attr(
    not(target_os = "linux"),
    allow(dead_code, reason = "jitdump is Linux's")
)]
pub(crate) fn map_file_executable(file: &std::fs::File) -> io::Result<()> {
    sys::map_file_executable(file)
}

/// Releases a read-write mapping: to the pool if `pooled`, else back to the kernel.
///
/// # Safety
/// The caller owns the read-write mapping `ptr`/`len` and references it no more.
unsafe fn release(ptr: NonNull<u8>, len: usize, pooled: bool) {
    if pooled {
        // SAFETY: as the caller guarantees.
        unsafe { pool::give_back(ptr, len) }
    } else {
        // SAFETY: as the caller guarantees.
        unsafe { sys::unmap(ptr, len) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn near_placement_is_near_and_anywhere_is_far() {
        let near = WritableCode::new(1, Placement::Near)
            .and_then(|w| w.make_executable(1))
            .map(CodeRef::whole)
            .expect("map near");
        assert!(
            near.is_near(),
            "near mapping at {:p}",
            near.bytes().as_ptr()
        );
        let far = WritableCode::new(1, Placement::Anywhere)
            .and_then(|w| w.make_executable(1))
            .map(CodeRef::whole)
            .expect("map anywhere");
        // Linux x86-64 puts mmap(NULL) tens of TiB from a PIE's code. (qemu-user, which runs the
        // AArch64 suite, packs everything into a few GiB, so there the layout proves nothing.)
        #[cfg(target_arch = "x86_64")]
        assert!(
            !far.is_near(),
            "mmap(NULL) mapping at {:p}",
            far.bytes().as_ptr()
        );
        assert_eq!(far.is_near(), near::is_near(far.bytes().as_ptr() as usize));
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
        let access = WriteAccess::begin();
        w.as_mut_slice(&access)[..4].copy_from_slice(&[0x8D, 0x47, 0x01, 0xC3]);
        drop(access);
        let x = w.make_executable(4).expect("exec");
        drop(x);
        // Whichever page comes next (this one, from the pool, or another), it is clean.
        let mut again = WritableCode::new(4, Placement::Anywhere).expect("map");
        assert!(
            again
                .as_mut_slice(&WriteAccess::begin())
                .iter()
                .all(|&b| b == 0)
        );
    }

    #[test]
    fn writable_memory_is_zeroed_and_sized_in_pages() {
        let mut w = WritableCode::new(5, Placement::Near).expect("map");
        let access = WriteAccess::begin();
        let bytes = w.as_mut_slice(&access);
        assert_eq!(bytes.len() % sys::page_size(), 0);
        assert!(bytes.iter().all(|&b| b == 0));
    }
}
