//! Disassembly (x86-64 by iced-x86 in Intel syntax, AArch64 by yaxpeax-arm) and the
//! byte-by-byte comparison of two functions.

use iced_x86::{Decoder, DecoderOptions, FlowControl, Formatter, IntelFormatter};
use std::fmt::{self, Write as _};
use target_lexicon::Architecture;
use yaxpeax_arch::{Decoder as _, U8Reader};

/// One decoded instruction.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Line {
    /// Offset from the start of the code.
    pub offset: usize,
    /// The instruction's bytes.
    pub bytes: Vec<u8>,
    /// Intel syntax, e.g. `lea eax,[rdi+1]`.
    pub text: String,
}

/// Decodes x86-64 `code` from its entry at offset 0, following the control flow, so that data
/// the compiler placed among or after the code (Cranelift's constant pool) is shown as `(data)`
/// lines rather than decoded into made-up instructions.
pub fn disassemble_x86_64(code: &[u8]) -> Vec<Line> {
    let mut formatter = IntelFormatter::new();
    let mut decoded = std::collections::BTreeMap::new();
    let mut todo = vec![0u64];
    while let Some(start) = todo.pop() {
        let mut decoder = Decoder::with_ip(64, code, 0, DecoderOptions::NONE);
        let Ok(()) = decoder.set_position(start as usize) else {
            continue;
        };
        decoder.set_ip(start);
        while decoder.can_decode() && !decoded.contains_key(&decoder.ip()) {
            let insn = decoder.decode();
            decoded.insert(insn.ip(), insn);
            match insn.flow_control() {
                FlowControl::Next | FlowControl::Call | FlowControl::IndirectCall => continue,
                FlowControl::ConditionalBranch => todo.push(insn.near_branch_target()),
                FlowControl::UnconditionalBranch => {
                    todo.push(insn.near_branch_target());
                    break;
                }
                _ => break, // ret, ud2, indirect jumps: no known successor
            }
        }
    }
    let mut lines = Vec::new();
    let mut at = 0usize;
    let data_line = |from: usize, to: usize, lines: &mut Vec<Line>| {
        if from < to {
            lines.push(Line {
                offset: from,
                bytes: code[from..to].to_vec(),
                text: "(data)".into(),
            });
        }
    };
    for (ip, insn) in decoded {
        let offset = ip as usize;
        if offset < at || offset + insn.len() > code.len() {
            continue; // overlaps an instruction already listed, or runs past the end
        }
        data_line(at, offset, &mut lines);
        let mut text = String::new();
        formatter.format(&insn, &mut text);
        lines.push(Line {
            offset,
            bytes: code[offset..offset + insn.len()].to_vec(),
            text,
        });
        at = offset + insn.len();
    }
    data_line(at, code.len(), &mut lines);
    lines
}

/// How a compiled function relates to a hand-written one, instruction by instruction.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// The same bytes.
    Identical,
    /// The hand-written body (all but its final `ret`) appears unchanged inside the compiled
    /// code, which adds a frame around it; both end in the same `ret`.
    SameBodyInFrame {
        /// Which compiled instructions belong to the body or the final `ret`.
        shared: Vec<bool>,
        /// How many bytes the frame adds.
        frame_bytes: usize,
    },
    /// Neither of the above.
    Different {
        /// The compiled code's length in bytes.
        compiled_bytes: usize,
        /// The hand-written code's length in bytes.
        hand_bytes: usize,
    },
}

impl Verdict {
    /// Whether compiled instruction `i` is one the hand-written code has too.
    pub fn is_shared(&self, i: usize) -> bool {
        match self {
            Verdict::Identical => true,
            Verdict::SameBodyInFrame { shared, .. } => shared.get(i).copied().unwrap_or(false),
            Verdict::Different { .. } => false,
        }
    }
}

/// The one rendering of a verdict, used by `fnjit asm`, the demo and `fnjit targets`.
impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Verdict::Identical => write!(f, "identical"),
            Verdict::SameBodyInFrame {
                shared,
                frame_bytes,
            } => {
                let frame = shared.iter().filter(|&&s| !s).count();
                write!(
                    f,
                    "same body inside a frame ({frame} instructions, {frame_bytes} bytes)"
                )
            }
            Verdict::Different {
                compiled_bytes,
                hand_bytes,
            } => write!(
                f,
                "different: Cranelift emits {compiled_bytes} bytes, the hand encoding \
                 {hand_bytes}, and the hand-written body is not among Cranelift's instructions"
            ),
        }
    }
}

/// Compares `compiled` with `hand`, each given as its instructions' bytes (see
/// [`instructions`]).
pub fn compare(compiled: &[&[u8]], hand: &[&[u8]]) -> Verdict {
    if compiled == hand {
        return Verdict::Identical;
    }
    let different = Verdict::Different {
        compiled_bytes: compiled.iter().map(|i| i.len()).sum(),
        hand_bytes: hand.iter().map(|i| i.len()).sum(),
    };
    let (Some((hand_ret, hand_body)), Some(last)) = (hand.split_last(), compiled.last()) else {
        return different;
    };
    if last != hand_ret || hand_body.is_empty() {
        return different;
    }
    let body_at = (0..compiled.len().saturating_sub(hand_body.len()))
        .find(|&i| &compiled[i..i + hand_body.len()] == hand_body);
    let Some(at) = body_at else {
        return different;
    };
    let shared: Vec<bool> = (0..compiled.len())
        .map(|i| (at..at + hand_body.len()).contains(&i) || i == compiled.len() - 1)
        .collect();
    let frame_bytes = compiled
        .iter()
        .zip(&shared)
        .filter(|&(_, &s)| !s)
        .map(|(i, _)| i.len())
        .sum();
    Verdict::SameBodyInFrame {
        shared,
        frame_bytes,
    }
}

/// Disassembles `code` for `arch`: x86-64 by [`disassemble_x86_64`], AArch64 word by word with
/// yaxpeax-arm (a word it cannot decode, such as an inline constant, reads `.inst 0x…`), and any
/// other architecture as [`instructions`] with no text.
pub fn disassemble(arch: Architecture, code: &[u8]) -> Vec<Line> {
    if arch == Architecture::X86_64 {
        return disassemble_x86_64(code);
    }
    let decoder = yaxpeax_arm::armv8::a64::InstDecoder::default();
    let mut offset = 0;
    instructions(arch, code)
        .into_iter()
        .map(|bytes| {
            let text = match arch {
                Architecture::Aarch64(_) => match decoder.decode(&mut U8Reader::new(bytes)) {
                    Ok(insn) => insn.to_string(),
                    Err(_) => format!(
                        ".inst 0x{}",
                        hex(&bytes.iter().rev().copied().collect::<Vec<_>>()).replace(' ', "")
                    ),
                },
                _ => String::new(),
            };
            let line = Line {
                offset,
                bytes: bytes.to_vec(),
                text,
            };
            offset += bytes.len();
            line
        })
        .collect()
}

/// Splits machine code for `arch` into its instructions, by each ISA's length rules: x86-64 by
/// decoding along the control flow ([`disassemble_x86_64`], so data is one piece), AArch64 in
/// 4-byte words, RISC-V by the low two bits of each parcel (`11`: 4 bytes, else a 2-byte
/// compressed one), s390x by the top two bits of the opcode (`00`: 2 bytes, `01` and `10`: 4,
/// `11`: 6). A truncated last instruction is returned as it is.
pub fn instructions(arch: Architecture, code: &[u8]) -> Vec<&[u8]> {
    if arch == Architecture::X86_64 {
        return disassemble_x86_64(code)
            .iter()
            .map(|l| &code[l.offset..l.offset + l.bytes.len()])
            .collect();
    }
    let length = |rest: &[u8]| match arch {
        Architecture::Riscv64(_) if rest[0] & 0b11 != 0b11 => 2,
        Architecture::S390x => match rest[0] >> 6 {
            0b00 => 2,
            0b11 => 6,
            _ => 4,
        },
        _ => 4,
    };
    let mut out = Vec::new();
    let mut rest = code;
    while !rest.is_empty() {
        let (insn, tail) = rest.split_at(length(rest).min(rest.len()));
        out.push(insn);
        rest = tail;
    }
    out
}

/// Hex bytes, space-separated: `8D 47 01`.
pub fn hex(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// A listing: one instruction a line, each after the mark `mark` gives its index (for example
/// `=` shared, `+` added).
pub fn listing(lines: &[Line], mark: impl Fn(usize) -> char) -> String {
    let mut out = String::new();
    for (i, line) in lines.iter().enumerate() {
        let mark = mark(i);
        let _ = writeln!(
            out,
            "     {mark} {:04X}  {:<20} {}",
            line.offset,
            hex(&line.bytes),
            line.text
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aarch64_words_decode_and_a_constant_stays_a_word() {
        let arch = Architecture::Aarch64(target_lexicon::Aarch64Architecture::Aarch64);
        let hand = crate::targets::hand_encoding("aarch64-unknown-linux-gnu").expect("row");
        let mut code = hand.bytes.to_vec();
        code.extend([0xFF; 4]); // no instruction: as an inline constant would be
        let lines = disassemble(arch, &code);
        let texts: Vec<_> = lines.iter().map(|l| l.text.as_str()).collect();
        assert_eq!(texts, ["add w0, w0, #0x1", "ret", ".inst 0xFFFFFFFF"]);
        assert_eq!(lines[2].offset, 8);
    }

    #[test]
    fn frame_around_the_body_is_found() {
        let jit = [
            0x55, 0x48, 0x89, 0xE5, 0x8D, 0x47, 0x01, 0x48, 0x89, 0xEC, 0x5D, 0xC3,
        ];
        let hand = [0x8D, 0x47, 0x01, 0xC3];
        let x86 = |code| instructions(Architecture::X86_64, code);
        let verdict = compare(&x86(&jit), &x86(&hand));
        assert_eq!(
            verdict,
            Verdict::SameBodyInFrame {
                shared: vec![false, false, true, false, false, true],
                frame_bytes: 8
            }
        );
        assert_eq!(
            verdict.to_string(),
            "same body inside a frame (4 instructions, 8 bytes)"
        );
        assert_eq!(compare(&x86(&hand), &x86(&hand)), Verdict::Identical);
    }

    #[test]
    fn instructions_split_by_each_isas_length_rules() {
        let x86 = [0x55, 0x48, 0x89, 0xE5, 0xC3];
        assert_eq!(
            instructions(Architecture::X86_64, &x86),
            [&x86[..1], &x86[1..4], &x86[4..]]
        );
        let rv = [0x05, 0x25, 0x1B, 0x05, 0x15, 0x00, 0x82, 0x80]; // c.addiw; addiw; c.jr
        let riscv = Architecture::Riscv64(target_lexicon::Riscv64Architecture::Riscv64gc);
        assert_eq!(instructions(riscv, &rv), [&rv[..2], &rv[2..6], &rv[6..]]);
        let z = [
            0x07, 0xFE, 0xA7, 0x2A, 0x00, 0x01, 0xE3, 0x10, 0xF0, 0x00, 0x00, 0x04,
        ];
        assert_eq!(
            instructions(Architecture::S390x, &z),
            [&z[..2], &z[2..6], &z[6..]]
        );
    }

    #[test]
    fn data_after_the_code_is_not_decoded_as_instructions() {
        // cmp edi,0; je +1; ret; ud2; then 8 bytes of constants
        let code = [
            0x83, 0xFF, 0x00, 0x74, 0x01, 0xC3, 0x0F, 0x0B, 1, 0, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF,
        ];
        let texts: Vec<_> = disassemble_x86_64(&code)
            .into_iter()
            .map(|l| (l.offset, l.text))
            .collect();
        let want = [
            (0, "cmp edi,0"),
            (3, "je short 6"),
            (5, "ret"),
            (6, "ud2"),
            (8, "(data)"),
        ];
        assert_eq!(texts, want.map(|(o, t)| (o, t.to_owned())));
    }

    #[test]
    fn a_different_body_is_different() {
        let add = [0x8D, 0x47, 0x02, 0xC3]; // lea eax,[rdi+2]; ret
        let hand = [0x8D, 0x47, 0x01, 0xC3]; // lea eax,[rdi+1]; ret
        let x86 = |code| instructions(Architecture::X86_64, code);
        let verdict = compare(&x86(&add), &x86(&hand));
        assert_eq!(
            verdict,
            Verdict::Different {
                compiled_bytes: 4,
                hand_bytes: 4
            }
        );
        assert!(!verdict.is_shared(0));
    }
}
