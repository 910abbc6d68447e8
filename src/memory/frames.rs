//! Unwind info: an `.eh_frame` section per block of JIT code, registered with the unwinder that
//! Rust's backtraces use (libgcc's on Linux, libunwind's on macOS) while the code lives.
//!
//! Cranelift's functions get their section from `create_unwind_info`, written by gimli
//! (`jit/link.rs`); the baseline tier's from the CFA programs its emitters record
//! (`baseline/cfi.rs`), framed here by hand, since gimli's writer would cost more than the
//! baseline compile it describes. Both use Cranelift's CIE (a test compares the bytes) with
//! absolute addresses, so an FDE means the same wherever its section lies.

/// The host's CIE, as Cranelift's `create_systemv_cie` has it (version 1, no augmentation, so
/// FDE addresses are absolute): code alignment 1, data alignment -8, return address in DWARF
/// register 16, CFA = rsp + 8 and the return address at CFA - 8; padded with `DW_CFA_nop`.
#[cfg(target_arch = "x86_64")]
const CIE: [u8; 24] = [
    20, 0, 0, 0, 0, 0, 0, 0, 1, 0, 1, 0x78, 16, 0x0C, 7, 8, 0x90, 1, 0, 0, 0, 0, 0, 0,
];
/// AArch64's: code alignment 4, data alignment -8, return address in x30, CFA = sp.
#[cfg(target_arch = "aarch64")]
const CIE: [u8; 16] = [12, 0, 0, 0, 0, 0, 0, 0, 1, 0, 4, 0x78, 30, 0x0C, 31, 0];
#[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
const CIE: [u8; 0] = [];

/// `DW_CFA_nop`, which pads a record to a multiple of 8 bytes.
const NOP: u8 = 0;

/// The host's CIE, then FDEs appended one by one, as an `.eh_frame` section without its end.
pub(crate) fn new_section(capacity: usize) -> Vec<u8> {
    let mut section = Vec::with_capacity(CIE.len() + capacity + 4);
    section.extend_from_slice(&CIE);
    section
}

/// Appends to `section` (which starts with the host's CIE) the FDE of the code at
/// `entry..entry + len`, whose CFA program is `cfi`.
pub(crate) fn push_fde(section: &mut Vec<u8>, entry: usize, len: usize, cfi: &[u8]) {
    let start = section.len();
    // length, CIE pointer (back to offset 0), address, range, program, padding
    let body = 4 + 8 + 8 + cfi.len();
    let length = (4 + body).next_multiple_of(8) - 4;
    section.extend_from_slice(&(length as u32).to_le_bytes());
    section.extend_from_slice(&((start + 4) as u32).to_le_bytes());
    section.extend_from_slice(&(entry as u64).to_le_bytes());
    section.extend_from_slice(&(len as u64).to_le_bytes());
    section.extend_from_slice(cfi);
    section.resize(start + 4 + length, NOP);
}

/// Ends `section` with the zero length that tells an unwinder there is no more.
pub(crate) fn end_section(section: &mut Vec<u8>) {
    section.extend_from_slice(&[0; 4]);
}

/// An `.eh_frame` section registered with the unwinder until dropped.
#[derive(Debug)]
pub(crate) struct Registered {
    section: Vec<u8>,
}

impl Registered {
    /// Registers `section` (a CIE, FDEs, and the end).
    ///
    /// # Safety
    /// Each FDE of `section` describes the code at its addresses, which stays mapped and
    /// unchanged until the returned value drops.
    pub(crate) unsafe fn new(section: Vec<u8>) -> Registered {
        // SAFETY: the section lives in this value, never written or moved, until `drop`
        // deregisters it, and the caller vouches for the code it describes.
        unsafe { sys::register(&section) };
        Registered { section }
    }

    /// The registered section.
    pub(crate) fn section(&self) -> &[u8] {
        &self.section
    }
}

impl Drop for Registered {
    fn drop(&mut self) {
        // SAFETY: registered by `new`, and not yet deregistered.
        unsafe { sys::deregister(&self.section) };
    }
}

/// The unwind info of a chunk of the arena, which grows function by function: one registration
/// for the whole chunk, however many functions it holds (libgcc before GCC 13 deregisters in time
/// linear in the number of registrations, so one per function would make freeing quadratic).
///
/// libgcc reads a section lazily and keeps what it read, so a grown section is registered anew.
/// Two copies take turns: the one not registered is brought up to date and registered, then the
/// other deregistered. A registered copy is never written, and between the two steps every
/// function callable so far is covered by at least one of them.
#[derive(Debug)]
pub(crate) struct Growing {
    copies: [Vec<u8>; 2],
    /// Which copy is registered, if one is.
    live: Option<usize>,
}

impl Growing {
    pub(crate) fn new() -> Growing {
        let ended = || {
            let mut section = new_section(0);
            end_section(&mut section);
            section
        };
        Growing {
            copies: [ended(), ended()],
            live: None,
        }
    }

    /// Adds the FDEs of `functions` (entry, length, CFA program) and registers the grown section.
    ///
    /// # Safety
    /// As [`Registered::new`], for the new functions and every function added before.
    pub(crate) unsafe fn add<'a>(
        &mut self,
        functions: impl Iterator<Item = (usize, usize, &'a [u8])>,
    ) {
        let next = self.live.map_or(0, |live| 1 - live);
        let [a, b] = &mut self.copies;
        let (target, current) = if next == 0 { (a, &*b) } else { (b, &*a) };
        // Both copies end with the end marker. The unregistered one holds a prefix of the
        // registered one's FDEs (the same CIE, at the same offsets): it catches up, then grows.
        target.truncate(target.len() - 4);
        if self.live.is_some() {
            target.extend_from_slice(&current[target.len()..current.len() - 4]);
        }
        for (entry, len, cfi) in functions {
            push_fde(target, entry, len, cfi);
        }
        end_section(target);
        // SAFETY: `target` is not registered, and stays unwritten and unmoved until `add` or
        // `drop` deregisters it; the caller vouches for the code.
        unsafe { sys::register(target) };
        if let Some(live) = self.live {
            // SAFETY: registered by the previous `add`.
            unsafe { sys::deregister(&self.copies[live]) };
        }
        self.live = Some(next);
    }

    /// Deregisters the section: before the chunk's code is unmapped.
    pub(crate) fn deregister(&mut self) {
        if let Some(live) = self.live.take() {
            // SAFETY: registered by the last `add`, not yet deregistered.
            unsafe { sys::deregister(&self.copies[live]) };
        }
    }
}

impl Drop for Growing {
    fn drop(&mut self) {
        self.deregister();
    }
}

/// The unwinder's registration calls.
mod sys {
    // The unwinders that register JIT code: libgcc (Linux with glibc) and libunwind (macOS).
    // Elsewhere backtraces stop at JIT frames, as they did before fnjit had unwind info.
    #[cfg(any(all(target_os = "linux", target_env = "gnu"), target_vendor = "apple"))]
    unsafe extern "C" {
        fn __register_frame(begin: *const u8);
        fn __deregister_frame(begin: *const u8);
    }

    /// Registers `section`.
    ///
    /// # Safety
    /// `section` is an `.eh_frame` section (CIE, FDEs, zero end) that stays alive and unchanged
    /// until [`deregister`], and its FDEs describe mapped code.
    pub(super) unsafe fn register(section: &[u8]) {
        // libgcc takes the whole section.
        #[cfg(all(target_os = "linux", target_env = "gnu"))]
        // SAFETY: as the caller guarantees.
        unsafe {
            __register_frame(section.as_ptr())
        };
        // libunwind takes one FDE at a time.
        #[cfg(target_vendor = "apple")]
        for fde in fdes(section) {
            // SAFETY: as the caller guarantees, for each FDE of the section.
            unsafe { __register_frame(fde) };
        }
        #[cfg(not(any(all(target_os = "linux", target_env = "gnu"), target_vendor = "apple")))]
        let _ = section;
    }

    /// Deregisters `section`.
    ///
    /// # Safety
    /// `section` was registered by [`register`] and not deregistered since.
    pub(super) unsafe fn deregister(section: &[u8]) {
        #[cfg(all(target_os = "linux", target_env = "gnu"))]
        // SAFETY: as the caller guarantees.
        unsafe {
            __deregister_frame(section.as_ptr())
        };
        #[cfg(target_vendor = "apple")]
        for fde in fdes(section) {
            // SAFETY: as the caller guarantees, for each FDE of the section.
            unsafe { __deregister_frame(fde) };
        }
        #[cfg(not(any(all(target_os = "linux", target_env = "gnu"), target_vendor = "apple")))]
        let _ = section;
    }

    /// Where each FDE of `section` starts (each record is a length, then a CIE id that is zero
    /// for a CIE and the back offset to one for an FDE).
    #[cfg(target_vendor = "apple")]
    fn fdes(section: &[u8]) -> impl Iterator<Item = *const u8> + '_ {
        let word = |at: usize| {
            section
                .get(at..at + 4)
                .map_or(0, |b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize)
        };
        let mut at = 0;
        std::iter::from_fn(move || {
            loop {
                let length = word(at);
                if length == 0 {
                    return None;
                }
                let record = at;
                at += 4 + length;
                if word(record + 4) != 0 {
                    return Some(section[record..].as_ptr());
                }
            }
        })
    }
}
