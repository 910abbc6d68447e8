//! Unwind info: an `.eh_frame` section per block of JIT code, registered with the unwinder that
//! Rust's backtraces use (libgcc's on Linux, libunwind's on macOS) while the code lives; on
//! Windows, a function table over the `UNWIND_INFO` that Cranelift writes (`jit/link.rs` places
//! it in the block's own mapping), added with `RtlAddFunctionTable`.
//!
//! Cranelift's functions get their CFA programs from the unwind pseudo-instructions Cranelift
//! records (`jit/unwind.rs`); the baseline tier's from the programs its emitters record
//! (`baseline/cfi.rs`). Both are framed here by hand, with Cranelift's CIE and absolute
//! addresses, so an FDE means the same wherever its section lies.

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

/// A CFA program (the DWARF call frame instructions of one FDE) being written, each instruction
/// encoded as gimli's writer encodes it (a test compares the bytes), for a CIE whose data
/// alignment is -8.
#[derive(Debug)]
pub(crate) struct CfaProgram {
    bytes: Vec<u8>,
    /// The code offset the program has advanced to.
    at: usize,
    /// The CIE's code alignment factor: 1 on x86-64, 4 on AArch64.
    code_align: usize,
}

impl CfaProgram {
    /// A program appended to `bytes`, for code that starts at offset `start` of its buffer.
    pub(crate) fn new(bytes: Vec<u8>, start: usize, code_align: usize) -> CfaProgram {
        CfaProgram {
            bytes,
            at: start,
            code_align,
        }
    }

    /// The rules that follow hold from code offset `to` on.
    #[inline]
    pub(crate) fn advance(&mut self, to: usize) {
        let delta = to.saturating_sub(self.at) / self.code_align;
        self.at = to;
        match delta {
            0 => {}
            1..0x40 => self.bytes.push(0x40 | delta as u8), // DW_CFA_advance_loc
            0x40..0x100 => self.bytes.extend([0x02, delta as u8]),
            0x100..0x10000 => {
                self.bytes.push(0x03);
                self.bytes.extend((delta as u16).to_le_bytes());
            }
            _ => {
                self.bytes.push(0x04);
                self.bytes.extend((delta as u32).to_le_bytes());
            }
        }
    }

    /// The CFA is the CFA register plus `offset` bytes (`DW_CFA_def_cfa_offset`).
    #[inline]
    pub(crate) fn cfa_offset(&mut self, offset: u64) {
        self.bytes.push(0x0E);
        uleb(&mut self.bytes, offset);
    }

    /// The CFA is DWARF register `reg` plus the offset (`DW_CFA_def_cfa_register`).
    pub(crate) fn cfa_register(&mut self, reg: u16) {
        self.bytes.push(0x0D);
        uleb(&mut self.bytes, u64::from(reg));
    }

    /// DWARF register `reg` holds its caller's value at `CFA + offset` (`offset` a multiple of 8).
    #[inline]
    pub(crate) fn saved_at(&mut self, reg: u16, offset: i64) {
        let factored = offset / -8;
        if factored < 0 {
            self.bytes.push(0x11); // DW_CFA_offset_extended_sf
            uleb(&mut self.bytes, u64::from(reg));
            sleb(&mut self.bytes, factored);
        } else if reg < 0x40 {
            self.bytes.push(0x80 | reg as u8); // DW_CFA_offset
            uleb(&mut self.bytes, factored as u64);
        } else {
            self.bytes.push(0x05); // DW_CFA_offset_extended
            uleb(&mut self.bytes, u64::from(reg));
            uleb(&mut self.bytes, factored as u64);
        }
    }

    /// DWARF register `reg`'s caller value is `CFA + offset` (`DW_CFA_val_offset`).
    pub(crate) fn value_at(&mut self, reg: u16, offset: i64) {
        let factored = offset / -8;
        if factored < 0 {
            self.bytes.push(0x15); // DW_CFA_val_offset_sf
            uleb(&mut self.bytes, u64::from(reg));
            sleb(&mut self.bytes, factored);
        } else {
            self.bytes.push(0x14);
            uleb(&mut self.bytes, u64::from(reg));
            uleb(&mut self.bytes, factored as u64);
        }
    }

    /// DWARF register `reg` holds its caller's value again (`DW_CFA_restore`).
    #[inline]
    pub(crate) fn restored(&mut self, reg: u16) {
        if reg < 0x40 {
            self.bytes.push(0xC0 | reg as u8);
        } else {
            self.bytes.push(0x06); // DW_CFA_restore_extended
            uleb(&mut self.bytes, u64::from(reg));
        }
    }

    /// The CFA is DWARF register `reg` plus `offset` bytes (`DW_CFA_def_cfa`).
    pub(crate) fn def_cfa(&mut self, reg: u16, offset: u64) {
        self.bytes.push(0x0C);
        uleb(&mut self.bytes, u64::from(reg));
        uleb(&mut self.bytes, offset);
    }

    /// Keeps the rules as they stand, for [`CfaProgram::restore_state`] (`DW_CFA_remember_state`).
    pub(crate) fn remember_state(&mut self) {
        self.bytes.push(0x0A);
    }

    /// The rules as [`CfaProgram::remember_state`] kept them (`DW_CFA_restore_state`).
    pub(crate) fn restore_state(&mut self) {
        self.bytes.push(0x0B);
    }

    /// The buffer, with the program appended.
    pub(crate) fn finish(self) -> Vec<u8> {
        self.bytes
    }
}

/// Appends `value` as unsigned LEB128.
#[inline]
fn uleb(out: &mut Vec<u8>, mut value: u64) {
    loop {
        let byte = (value & 0x7F) as u8;
        value >>= 7;
        if value == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

/// Appends `value` as signed LEB128.
fn sleb(out: &mut Vec<u8>, mut value: i64) {
    loop {
        let byte = (value & 0x7F) as u8;
        value >>= 7;
        let done = (value == 0 && byte & 0x40 == 0) || (value == -1 && byte & 0x40 != 0);
        if done {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

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
    // length, CIE pointer (back to offset 0), address, range; then the program, and padding
    let length = (4 + 4 + 8 + 8 + cfi.len()).next_multiple_of(8) - 4;
    let mut fde = [NOP; 64];
    fde[..4].copy_from_slice(&(length as u32).to_le_bytes());
    fde[4..8].copy_from_slice(&((start + 4) as u32).to_le_bytes());
    fde[8..16].copy_from_slice(&(entry as u64).to_le_bytes());
    fde[16..24].copy_from_slice(&(len as u64).to_le_bytes());
    // Most programs fit the stack buffer with the header: one copy into the section.
    if let Some(program) = fde.get_mut(24..24 + cfi.len()) {
        program.copy_from_slice(cfi);
        section.extend_from_slice(&fde[..4 + length]);
    } else {
        section.extend_from_slice(&fde[..24]);
        section.extend_from_slice(cfi);
        section.resize(start + 4 + length, NOP);
    }
}

/// Ends `section` with the zero length that tells an unwinder there is no more.
pub(crate) fn end_section(section: &mut Vec<u8>) {
    section.extend_from_slice(&[0; 4]);
}

/// A block's unwind info, registered with the unwinder until dropped: on Unix an `.eh_frame`
/// section; on Windows a function table.
pub(crate) struct Registered {
    section: Vec<u8>,
    /// The table as Windows reads it (aligned, unlike the bytes).
    #[cfg(windows)]
    table: Box<[windows::Entry]>,
}

impl Registered {
    /// Registers `section`: on Unix an `.eh_frame` section (a CIE, FDEs, and the end); on
    /// Windows a function table, one `RUNTIME_FUNCTION` of three little-endian `u32`s per
    /// function (its start, its end and its `UNWIND_INFO`, each an offset from `base`), in
    /// order of address.
    ///
    /// # Safety
    /// Each entry of `section` describes the code at its addresses, which stays mapped and
    /// unchanged until the returned value drops (on Windows, with its `UNWIND_INFO`).
    pub(crate) unsafe fn new(section: Vec<u8>, base: usize) -> Registered {
        #[cfg(windows)]
        {
            let table = windows::table(&section);
            // SAFETY: the table lives in this value, never written or moved, until `drop`
            // deletes it, and the caller vouches for what it describes.
            unsafe { windows::add(&table, base) };
            Registered { section, table }
        }
        #[cfg(not(windows))]
        {
            let _ = base;
            // SAFETY: the section lives in this value, never written or moved, until `drop`
            // deregisters it, and the caller vouches for the code it describes.
            unsafe { sys::register(&section) };
            Registered { section }
        }
    }

    /// The registered section (the bytes given to [`Registered::new`]).
    pub(crate) fn section(&self) -> &[u8] {
        &self.section
    }
}

impl std::fmt::Debug for Registered {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registered")
            .field("bytes", &self.section.len())
            .finish()
    }
}

impl Drop for Registered {
    fn drop(&mut self) {
        #[cfg(windows)]
        // SAFETY: added by `new`, and not yet deleted.
        unsafe {
            windows::delete(&self.table)
        };
        #[cfg(not(windows))]
        // SAFETY: registered by `new`, and not yet deregistered.
        unsafe {
            sys::deregister(&self.section)
        };
    }
}

/// Windows' function tables: `RtlAddFunctionTable` and `RtlDeleteFunctionTable`, which the
/// system unwinder (exceptions, `RtlVirtualUnwind`, debuggers, Rust's backtraces) reads.
#[cfg(windows)]
mod windows {
    use windows_sys::Win32::System::Diagnostics::Debug::{
        IMAGE_RUNTIME_FUNCTION_ENTRY, IMAGE_RUNTIME_FUNCTION_ENTRY_0, RtlAddFunctionTable,
        RtlDeleteFunctionTable,
    };

    pub(super) type Entry = IMAGE_RUNTIME_FUNCTION_ENTRY;

    /// The entries of a table written as bytes (three `u32`s each).
    pub(super) fn table(bytes: &[u8]) -> Box<[Entry]> {
        let word = |w: &[u8]| u32::from_le_bytes([w[0], w[1], w[2], w[3]]);
        bytes
            .chunks_exact(12)
            .map(|e| IMAGE_RUNTIME_FUNCTION_ENTRY {
                BeginAddress: word(&e[0..4]),
                EndAddress: word(&e[4..8]),
                Anonymous: IMAGE_RUNTIME_FUNCTION_ENTRY_0 {
                    UnwindInfoAddress: word(&e[8..12]),
                },
            })
            .collect()
    }

    /// Adds `table`, whose offsets count from `base`. A table Windows refuses is left out:
    /// backtraces then stop at these functions, as they did before fnjit had unwind info.
    ///
    /// # Safety
    /// `table` stays alive and unchanged until [`delete`], and describes mapped code.
    pub(super) unsafe fn add(table: &[Entry], base: usize) {
        if table.is_empty() {
            return;
        }
        let count = u32::try_from(table.len()).unwrap_or(u32::MAX);
        // SAFETY: as the caller guarantees; Windows reads the table until it is deleted.
        unsafe { RtlAddFunctionTable(table.as_ptr(), count, base as u64) };
    }

    /// Deletes `table`.
    ///
    /// # Safety
    /// `table` was added by [`add`] and not deleted since.
    pub(super) unsafe fn delete(table: &[Entry]) {
        if !table.is_empty() {
            // SAFETY: as the caller guarantees.
            unsafe { RtlDeleteFunctionTable(table.as_ptr()) };
        }
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
    #[cfg_attr(
        not(target_os = "linux"),
        allow(dead_code, reason = "the arena is Linux's")
    )]
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
    // Elsewhere (Windows has function tables instead) no DWARF is registered.
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
