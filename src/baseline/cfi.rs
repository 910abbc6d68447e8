//! The call frame information of baseline code, recorded as the emitters write it: where the
//! return address and each saved register are, relative to the canonical frame address (CFA),
//! after every instruction that moves the stack pointer, as DWARF call frame instructions
//! (`memory::CfaProgram`) for an `.eh_frame` FDE. Unwinders and debuggers walk through a baseline
//! frame at any instruction.
//!
//! The CFA is always the stack pointer plus an offset: baseline code moves the stack pointer in
//! its prologue and epilogue only.

use crate::memory::CfaProgram;

/// One function's CFA program, appended to a buffer shared by a batch.
pub(crate) struct Cfi {
    program: CfaProgram,
    /// The CFA's offset from the stack pointer.
    cfa: usize,
}

impl Cfi {
    /// A program for the function that starts at `start` of its code, appended to `bytes`; the
    /// ISA's instructions are multiples of `code_align` bytes. At entry the CFA is the stack
    /// pointer plus `cfa`, as the CIE says.
    pub(crate) fn new(bytes: Vec<u8>, start: usize, code_align: usize, cfa: usize) -> Cfi {
        Cfi {
            program: CfaProgram::new(bytes, start, code_align),
            cfa,
        }
    }

    /// After the code up to `code_len`, the stack pointer moved down by `bytes` (up when
    /// negative).
    #[inline]
    pub(crate) fn sp_moved(&mut self, code_len: usize, bytes: isize) {
        self.program.advance(code_len);
        self.cfa = self.cfa.wrapping_add_signed(bytes);
        self.program.cfa_offset(self.cfa as u64);
    }

    /// After the code up to `code_len`, DWARF register `reg` holds its caller's value at
    /// `CFA - below`.
    #[inline]
    pub(crate) fn saved(&mut self, code_len: usize, reg: u8, below: usize) {
        self.program.advance(code_len);
        self.program.saved_at(u16::from(reg), -(below as i64));
    }

    /// After the code up to `code_len`, DWARF register `reg` holds its caller's value again.
    #[inline]
    pub(crate) fn restored(&mut self, code_len: usize, reg: u8) {
        self.program.advance(code_len);
        self.program.restored(u16::from(reg));
    }

    /// The CFA's offset from the stack pointer now.
    pub(crate) fn cfa(&self) -> usize {
        self.cfa
    }

    /// The buffer, with this function's program appended.
    pub(crate) fn finish(self) -> Vec<u8> {
        self.program.finish()
    }
}
