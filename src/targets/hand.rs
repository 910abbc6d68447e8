//! The target table: `x + 1; return` for `fn(i32) -> i32`, encoded by hand for every target
//! fnjit compiles for, from each ISA's manual (field by field below), not copied from Cranelift's
//! output. The gist's bytes are one row. This table imports nothing: everything else reads it.

/// The gist's four bytes: `x + 1` for x86-64 System V, a leaf function with no frame.
///
/// - `8D 47 01`: `lea eax,[rdi+1]`. Opcode 8D is LEA r32, m; ModRM 0x47 = 01 000 111: mod=01
///   (base register + disp8), reg=000 (eax, the destination), rm=111 (rdi, the first argument);
///   then disp8 = 0x01.
/// - `C3`: `ret`, near return.
pub const GIST_BYTES: [u8; 4] = [0x8D, 0x47, 0x01, 0xC3]; // lea eax,[rdi+1]; ret

/// One hand encoding.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HandEncoding {
    /// The target triple.
    pub triple: &'static str,
    /// Assembly, in the ISA's usual syntax.
    pub asm: &'static str,
    /// The machine code, in memory order.
    pub bytes: &'static [u8],
}

/// x86-64, System V (Linux, macOS): the argument is in `edi`, the result goes in `eax`. These are
/// the gist's bytes; [`GIST_BYTES`] works out their fields.
const X86_64_SYSV: &[u8] = &GIST_BYTES;

/// x86-64, Windows x64: the first integer argument is in `ecx`, so the gist's bytes are wrong
/// here. `lea eax,[rcx+1]` = `8D /r` with ModRM `01 000 001` = 0x41 (rm=001: rcx); disp8 0x01;
/// `ret` = `C3`.
const X86_64_WIN64: &[u8] = &[0x8D, 0x41, 0x01, 0xC3];

/// AArch64 (AAPCS64 and Apple's variant alike: argument and result in `w0`), little-endian words.
/// - `add w0, w0, #1`, ADD (immediate): sf=0 (32-bit) | op=0 | S=0 | 100010 | sh=0 |
///   imm12=0b000000000001 | Rn=00000 (w0) | Rd=00000 (w0)
///   = 0b0_0_0_100010_0_000000000001_00000_00000 = 0x1100_0400.
/// - `ret` (x30): 1101011_0_0_10_11111_0000_0_0 | Rn=11110 | 00000 = 0xD65F_03C0.
const AARCH64: &[u8] = &[0x00, 0x04, 0x00, 0x11, 0xC0, 0x03, 0x5F, 0xD6];

/// RISC-V RV64 (LP64D: argument and result in `a0` = x10; an i32 lives sign-extended in 64 bits,
/// which the W-form instruction keeps). Base 32-bit encodings, little-endian:
/// - `addiw a0, a0, 1`, I-type: imm[11:0]=0x001 | rs1=01010 | funct3=000 | rd=01010 |
///   opcode=0011011 (OP-IMM-32) = (1<<20)|(10<<15)|(10<<7)|0x1B = 0x0015_051B.
/// - `ret` = `jalr x0, 0(x1)`: imm=0 | rs1=00001 | funct3=000 | rd=00000 | opcode=1100111
///   = (1<<15)|0x67 = 0x0000_8067.
///
/// (The C extension of `gc` would allow `c.addiw a0,1` = 0x2505 and `c.jr ra` = 0x8082, four
/// bytes in all; Cranelift's default RISC-V flags leave compressed instructions off.)
const RISCV64: &[u8] = &[0x1B, 0x05, 0x15, 0x00, 0x67, 0x80, 0x00, 0x00];

/// s390x (z/Architecture ELF ABI: argument and result in r2, return address in r14), big-endian.
/// - `ahi %r2, 1`, RI-a format: op1=0xA7 | R1=0x2 | op2=0xA | I2=0x0001 = A7 2A 00 01.
/// - `br %r14` = BCR M1=15 (always), R2=14, RR format: op=0x07 | M1=0xF | R2=0xE = 07 FE.
const S390X: &[u8] = &[0xA7, 0x2A, 0x00, 0x01, 0x07, 0xFE];

/// Every target fnjit compiles for, with its hand encoding.
pub const HAND_ENCODINGS: [HandEncoding; 7] = [
    HandEncoding {
        triple: "x86_64-unknown-linux-gnu",
        asm: "lea eax,[rdi+1]; ret",
        bytes: X86_64_SYSV,
    },
    HandEncoding {
        triple: "x86_64-apple-darwin",
        asm: "lea eax,[rdi+1]; ret",
        bytes: X86_64_SYSV,
    },
    HandEncoding {
        triple: "x86_64-pc-windows-msvc",
        asm: "lea eax,[rcx+1]; ret",
        bytes: X86_64_WIN64,
    },
    HandEncoding {
        triple: "aarch64-unknown-linux-gnu",
        asm: "add w0, w0, #1; ret",
        bytes: AARCH64,
    },
    HandEncoding {
        triple: "aarch64-apple-darwin",
        asm: "add w0, w0, #1; ret",
        bytes: AARCH64,
    },
    HandEncoding {
        triple: "riscv64gc-unknown-linux-gnu",
        asm: "addiw a0, a0, 1; ret",
        bytes: RISCV64,
    },
    HandEncoding {
        triple: "s390x-unknown-linux-gnu",
        asm: "ahi %r2, 1; br %r14",
        bytes: S390X,
    },
];

/// The targets fnjit compiles for: every Cranelift backend, with each of its common ABIs (the
/// triples of [`HAND_ENCODINGS`], in order).
pub const SUPPORTED_TARGETS: [&str; HAND_ENCODINGS.len()] = {
    let mut triples = [""; HAND_ENCODINGS.len()];
    let mut i = 0;
    while i < triples.len() {
        triples[i] = HAND_ENCODINGS[i].triple;
        i += 1;
    }
    triples
};

/// The hand encoding for `triple`, if fnjit has one.
pub fn hand_encoding(triple: &str) -> Option<&'static HandEncoding> {
    HAND_ENCODINGS.iter().find(|h| h.triple == triple)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[allow(
        clippy::unusual_byte_groupings,
        reason = "the digits are grouped by instruction field"
    )]
    fn the_worked_out_words_are_the_bytes() {
        assert_eq!(
            u32::from_le_bytes([0x00, 0x04, 0x00, 0x11]),
            0b0_0_0_100010_0_000000000001_00000_00000
        );
        assert_eq!(u32::from_le_bytes([0xC0, 0x03, 0x5F, 0xD6]), 0xD65F_03C0);
        assert_eq!(
            u32::from_le_bytes([0x1B, 0x05, 0x15, 0x00]),
            (1 << 20) | (10 << 15) | (10 << 7) | 0x1B
        );
        assert_eq!(
            u32::from_le_bytes([0x67, 0x80, 0x00, 0x00]),
            (1 << 15) | 0x67
        );
        assert_eq!(0b01_000_111, 0x47);
        assert_eq!(0b01_000_001, 0x41);
    }

    #[test]
    fn the_supported_targets_are_the_tables_triples() {
        assert_eq!(SUPPORTED_TARGETS[0], "x86_64-unknown-linux-gnu");
        assert_eq!(SUPPORTED_TARGETS[6], "s390x-unknown-linux-gnu");
        assert_eq!(
            hand_encoding("x86_64-unknown-linux-gnu").map(|h| h.bytes),
            Some(GIST_BYTES.as_slice())
        );
        assert_eq!(hand_encoding("i686-unknown-linux-gnu"), None);
    }
}
