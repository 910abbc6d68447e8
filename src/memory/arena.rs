//! Shared code memory for small functions (the baseline tier's): a page each would cost more
//! than compiling them. Linux only; elsewhere [`place`] declines and the caller maps pages.
//!
//! A chunk is one memory object mapped twice (`sys::map_twice`): read-write at one address, which
//! only this module knows, and read-execute at another, where the code runs. No mapping is ever
//! writable and executable at once. Functions are copied in one after another and never written
//! again. When the current chunk is full, its read-write alias is unmapped, so a full chunk is
//! read-execute only; it is unmapped when the last function in it drops.

use super::frames::Growing;
use super::{coherence, sys};
use crate::Error;
use std::ptr::NonNull;
use std::sync::{Arc, Mutex, PoisonError};

/// The size of a chunk. Placements larger than a quarter of it get pages of their own.
const CHUNK_LEN: usize = 256 << 10;
/// Where each function starts: a multiple of this.
pub(super) const ALIGN: usize = 16;

/// The read-execute alias of a chunk, mapped as long as a function in it lives, and the unwind
/// info of every function placed in it, registered as long as the alias is mapped.
#[derive(Debug)]
pub(crate) struct Chunk {
    exec: NonNull<u8>,
    frames: Mutex<Growing>,
}

// SAFETY: the alias is read-execute and only ever read through this value; bytes that a `Chunk`
// hands out are never written again.
unsafe impl Send for Chunk {}
// SAFETY: as above.
unsafe impl Sync for Chunk {}

impl Drop for Chunk {
    fn drop(&mut self) {
        // No unwinder may be left describing unmapped code.
        self.frames
            .get_mut()
            .unwrap_or_else(PoisonError::into_inner)
            .deregister();
        // SAFETY: the last function in the chunk is gone (each holds the `Arc<Chunk>`), so nothing
        // runs or reads the code; the arena's read-write alias is a separate mapping.
        unsafe { sys::unmap(self.exec, CHUNK_LEN) };
    }
}

/// The chunk being filled: its read-write alias, and how much of it is used.
struct Current {
    chunk: Arc<Chunk>,
    write: NonNull<u8>,
    used: usize,
}

// SAFETY: the read-write alias is only written while the arena's lock is held.
unsafe impl Send for Current {}

impl Drop for Current {
    fn drop(&mut self) {
        // SAFETY: the read-write alias is owned here and no reference into it outlives a call of
        // `place`; the read-execute alias stays mapped as long as `chunk` has holders.
        unsafe { sys::unmap(self.write, CHUNK_LEN) };
    }
}

static CURRENT: Mutex<Option<Current>> = Mutex::new(None);

/// A chunk, and where each part placed in it starts.
type Placed = (Arc<Chunk>, Vec<NonNull<u8>>);

/// Copies the functions' code one after another (each at a multiple of [`ALIGN`]) into the
/// current chunk, or a new one, registers their unwind info (each one's CFA program) with the
/// chunk's, and returns the chunk with each function's address. `Ok(None)` when they are too big
/// for a chunk, or on an OS without the dual mapping: the caller maps pages instead.
///
/// # Errors
/// [`Error::MapFailed`] when the kernel gives no memory; [`Error::ExecRefused`] when it refuses
/// to make the alias executable; [`Error::Coherence`] as `make_executable`.
///
/// # Safety
/// Each CFA program describes its function's frame at every instruction.
pub(super) unsafe fn place(functions: &[(&[u8], &[u8])]) -> Result<Option<Placed>, Error> {
    let len = functions.iter().try_fold(0usize, |sum, (p, _)| {
        sum.checked_add(p.len().next_multiple_of(ALIGN))
    });
    let Some(len) = len.filter(|&len| len <= CHUNK_LEN / 4) else {
        return Ok(None);
    };
    if !cfg!(any(target_os = "linux", target_os = "android")) {
        return Ok(None);
    }
    // A list of offsets is consistent after any panic, so poisoning is ignored.
    let mut current = CURRENT.lock().unwrap_or_else(PoisonError::into_inner);
    if current.as_ref().is_none_or(|c| CHUNK_LEN - c.used < len) {
        // The full chunk's read-write alias is unmapped here (`Current::drop`).
        *current = None;
        *current = Some(new_chunk()?);
    }
    let Some(current) = current.as_mut() else {
        return Err(Error::Internal("the code arena has no chunk"));
    };
    let start = current.used;
    let mut entries = Vec::with_capacity(functions.len());
    let _access = coherence::WriteAccess::begin();
    for (part, _) in functions {
        // SAFETY: `used + part.len()` ≤ CHUNK_LEN (checked above for the sum): the bytes lie in the
        // read-write alias this arena owns, past everything handed out (which is never written
        // again), and the lock keeps every other writer out.
        let entry = unsafe {
            let at = current.write.as_ptr().add(current.used);
            std::ptr::copy_nonoverlapping(part.as_ptr(), at, part.len());
            current.chunk.exec.add(current.used)
        };
        entries.push(entry);
        current.used += part.len().next_multiple_of(ALIGN);
    }
    // SAFETY: the range was just written and lies inside the chunk's read-execute alias.
    unsafe { coherence::flush_icache(current.chunk.exec.add(start), current.used - start) };
    coherence::sync_other_threads().map_err(|source| Error::Coherence { source })?;
    let fdes = entries
        .iter()
        .zip(functions)
        .map(|(entry, (part, cfi))| (entry.as_ptr() as usize, part.len(), *cfi));
    let mut frames = current
        .chunk
        .frames
        .lock()
        .unwrap_or_else(PoisonError::into_inner);
    // SAFETY: each part now lies, never to change, at its entry in the read-execute alias, which
    // stays mapped until the chunk deregisters its frames; the caller vouches for the programs.
    unsafe { frames.add(fdes) };
    drop(frames);
    Ok(Some((Arc::clone(&current.chunk), entries)))
}

/// A new chunk, its alias made read-execute.
#[cfg(any(target_os = "linux", target_os = "android"))]
fn new_chunk() -> Result<Current, Error> {
    let (write, exec) = sys::map_twice(CHUNK_LEN).map_err(|source| Error::MapFailed {
        len: CHUNK_LEN,
        source,
    })?;
    let current = Current {
        chunk: Arc::new(Chunk {
            exec,
            frames: Mutex::new(Growing::new()),
        }),
        write,
        used: 0,
    };
    // SAFETY: `exec` is the read-only alias of the mapping made above, owned by `current`, and
    // nothing references it yet.
    unsafe { sys::protect(exec, CHUNK_LEN, sys::Protection::ReadExecute) }
        .map_err(|source| Error::ExecRefused { source })?;
    Ok(current)
}

#[cfg(not(any(target_os = "linux", target_os = "android")))]
fn new_chunk() -> Result<Current, Error> {
    Err(Error::Internal("the code arena needs Linux"))
}
