//! The call frame information of baseline code, recorded as the emitters write it: where the
//! return address and each saved register are, relative to the canonical frame address (CFA),
//! after every instruction that moves the stack pointer. Written as DWARF call frame
//! instructions for an `.eh_frame` FDE (`debug/frames.rs` frames them), so that unwinders and
//! debuggers can walk through a baseline frame at any instruction.
//!
//! The CFA is always the stack pointer plus an offset: baseline code moves the stack pointer in
//! its prologue and epilogue only.

/// `DW_CFA_advance_loc`, with the delta in its low 6 bits.
const ADVANCE_LOC: u8 = 0x40;
const ADVANCE_LOC1: u8 = 0x02;
const ADVANCE_LOC2: u8 = 0x03;
const ADVANCE_LOC4: u8 = 0x04;
/// `DW_CFA_offset`, with the register in its low 6 bits.
const OFFSET: u8 = 0x80;
/// `DW_CFA_restore`, with the register in its low 6 bits.
const RESTORE: u8 = 0xC0;
const DEF_CFA_OFFSET: u8 = 0x0E;

/// One function's CFA program, appended to a buffer shared by a batch.
pub(crate) struct Cfi {
    bytes: Vec<u8>,
    /// Where in the code buffer the program has advanced to.
    at: usize,
    /// The ISA's instruction size unit (the CIE's code alignment factor): 1 or 4.
    code_align: usize,
    /// The CFA's offset from the stack pointer.
    cfa: usize,
}

impl Cfi {
    /// A program for the function that starts at `start` of its code, appended to `bytes`. At
    /// entry the CFA is the stack pointer plus `cfa`, as the CIE says.
    pub(crate) fn new(bytes: Vec<u8>, start: usize, code_align: usize, cfa: usize) -> Cfi {
        Cfi {
            bytes,
            at: start,
            code_align,
            cfa,
        }
    }

    /// After the code up to `code_len`, the stack pointer moved down by `bytes` (up when
    /// negative).
    pub(crate) fn sp_moved(&mut self, code_len: usize, bytes: isize) {
        self.advance(code_len);
        self.cfa = self.cfa.wrapping_add_signed(bytes);
        self.bytes.push(DEF_CFA_OFFSET);
        uleb(&mut self.bytes, self.cfa as u64);
    }

    /// After the code up to `code_len`, DWARF register `reg` holds its caller's value at
    /// `CFA - below` (`below` a multiple of 8, the data alignment factor).
    pub(crate) fn saved(&mut self, code_len: usize, reg: u8, below: usize) {
        self.advance(code_len);
        self.bytes.push(OFFSET | reg);
        uleb(&mut self.bytes, (below / 8) as u64);
    }

    /// After the code up to `code_len`, DWARF register `reg` holds its caller's value again.
    pub(crate) fn restored(&mut self, code_len: usize, reg: u8) {
        self.advance(code_len);
        self.bytes.push(RESTORE | reg);
    }

    /// The CFA's offset from the stack pointer now.
    pub(crate) fn cfa(&self) -> usize {
        self.cfa
    }

    /// The buffer, with this function's program appended.
    pub(crate) fn finish(self) -> Vec<u8> {
        self.bytes
    }

    fn advance(&mut self, code_len: usize) {
        let delta = (code_len - self.at) / self.code_align;
        self.at = code_len;
        match delta {
            0 => {}
            1..0x40 => self.bytes.push(ADVANCE_LOC | delta as u8),
            0x40..0x100 => self.bytes.extend([ADVANCE_LOC1, delta as u8]),
            0x100..0x10000 => {
                self.bytes.push(ADVANCE_LOC2);
                self.bytes.extend((delta as u16).to_le_bytes());
            }
            _ => {
                self.bytes.push(ADVANCE_LOC4);
                self.bytes.extend((delta as u32).to_le_bytes());
            }
        }
    }
}

/// Appends `value` as unsigned LEB128.
pub(crate) fn uleb(out: &mut Vec<u8>, mut value: u64) {
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
