//! Every target, pinned: Cranelift's bytes, the calling convention, and the verdict against the
//! hand encoding; the x86-64 hand encodings re-assembled by iced-x86; bad triples rejected.

use fnjit::Error;
use fnjit::disasm::Verdict;
use fnjit::targets::{
    GIST_BYTES, HAND_ENCODINGS, SUPPORTED_TARGETS, compile_inc_for, hand_encoding, target_rows,
};
use iced_x86::code_asm::{CodeAssembler, eax, ptr, rcx, rdi};

/// Cranelift's x86-64 frame around the hand-written body: `push rbp; mov rbp,rsp` before it,
/// `mov rsp,rbp; pop rbp` after it.
const IN_FRAME: Verdict = Verdict::SameBodyInFrame {
    shared: Vec::new(),
    frame_bytes: 8,
};

/// (triple, calling convention, Cranelift's bytes, verdict)
const ROWS: [(&str, &str, &str, Verdict); 7] = [
    (
        "x86_64-unknown-linux-gnu",
        "system_v",
        "55 48 89 E5 8D 47 01 48 89 EC 5D C3",
        IN_FRAME,
    ),
    (
        "x86_64-apple-darwin",
        "system_v",
        "55 48 89 E5 8D 47 01 48 89 EC 5D C3",
        IN_FRAME,
    ),
    (
        "x86_64-pc-windows-msvc",
        "windows_fastcall",
        "55 48 89 E5 8D 41 01 48 89 EC 5D C3",
        IN_FRAME,
    ),
    (
        "aarch64-unknown-linux-gnu",
        "system_v",
        "00 04 00 11 C0 03 5F D6",
        Verdict::Identical,
    ),
    (
        "aarch64-apple-darwin",
        "apple_aarch64",
        "00 04 00 11 C0 03 5F D6",
        Verdict::Identical,
    ),
    (
        "riscv64gc-unknown-linux-gnu",
        "system_v",
        "1B 05 15 00 67 80 00 00",
        Verdict::Identical,
    ),
    (
        "s390x-unknown-linux-gnu",
        "system_v",
        "A7 2A 00 01 07 FE",
        Verdict::Identical,
    ),
];

#[test]
fn every_row_is_pinned() {
    let rows = target_rows().expect("targets");
    assert_eq!(rows.len(), ROWS.len());
    for (row, (triple, call_conv, bytes, verdict)) in rows.iter().zip(ROWS) {
        assert_eq!(row.triple, triple);
        assert_eq!(row.call_conv, call_conv, "{triple}");
        assert_eq!(fnjit::disasm::hex(&row.cranelift), bytes, "{triple}");
        let verdict = match verdict {
            Verdict::SameBodyInFrame { frame_bytes, .. } => Verdict::SameBodyInFrame {
                // push rbp; mov rbp,rsp; [body]; mov rsp,rbp; pop rbp; ret
                shared: vec![false, false, true, false, false, true],
                frame_bytes,
            },
            other => other,
        };
        assert_eq!(row.verdict, verdict, "{triple}");
    }
}

#[test]
fn the_table_is_the_hand_encodings_in_order() {
    let triples: Vec<_> = HAND_ENCODINGS.iter().map(|h| h.triple).collect();
    assert_eq!(triples, SUPPORTED_TARGETS);
    assert_eq!(HAND_ENCODINGS[0].bytes, GIST_BYTES);
}

#[test]
fn disassembly_names_each_instruction() {
    let text = |t| compile_inc_for(t).expect(t).disassembly().to_owned();
    assert_eq!(
        text("x86_64-pc-windows-msvc").lines().nth(2),
        Some("lea eax,[rcx+1]")
    );
    assert_eq!(text("aarch64-unknown-linux-gnu"), "add w0, w0, #1\nret\n");
    assert_eq!(text("riscv64gc-unknown-linux-gnu"), "addiw a0,a0,1\nret\n");
    assert_eq!(text("s390x-unknown-linux-gnu"), "ahi %r2, 1\nbr %r14\n");
}

#[test]
fn x86_64_hand_encodings_match_iced_x86s_assembler() {
    let assemble = |arg| {
        let mut a = CodeAssembler::new(64).expect("assembler");
        a.lea(eax, ptr(arg + 1)).expect("lea");
        a.ret().expect("ret");
        a.assemble(0).expect("assemble")
    };
    let sysv = assemble(rdi);
    let win64 = assemble(rcx);
    for h in HAND_ENCODINGS
        .iter()
        .filter(|h| h.triple.starts_with("x86_64"))
    {
        let want = if h.triple.contains("windows") {
            &win64
        } else {
            &sysv
        };
        assert_eq!(h.bytes, want.as_slice(), "{}: {}", h.triple, h.asm);
    }
    assert_eq!(
        hand_encoding("x86_64-pc-windows-msvc").map(|h| h.bytes),
        Some(&[0x8D, 0x41, 0x01, 0xC3][..])
    );
}

#[test]
fn unknown_or_malformed_triples_are_errors_listing_the_supported_ones() {
    for bad in [
        "i686-unknown-linux-gnu",
        "not a triple",
        "",
        "x86_64-unknown-linux-gnu ",
    ] {
        let err = compile_inc_for(bad).expect_err(bad);
        assert!(
            matches!(err, Error::UnsupportedTarget { .. }),
            "{bad}: {err:?}"
        );
        let text = err.to_string();
        assert!(text.contains(&format!("'{bad}'")), "{text}");
        for t in SUPPORTED_TARGETS {
            assert!(text.contains(t), "{text}");
        }
    }
}
