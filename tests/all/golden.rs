//! Golden bytes: the host's hand stub and the code Cranelift emits for x + 1, pinned and decoded,
//! for each host fnjit runs on (x86-64 System V and Windows x64, and AArch64 under qemu in CI).

use fnjit::disasm::{Verdict, compare, disassemble, instructions};
use fnjit::targets::GIST_BYTES;
use fnjit::{HandStub, compile_inc};
use target_lexicon::{Architecture, Triple};

/// The pinned code for x86-64 System V: the gist's bytes, and Cranelift 0.135's frame around the
/// same body.
#[cfg(all(target_arch = "x86_64", not(windows)))]
mod host {
    use super::*;

    pub const STUB: &[u8] = &GIST_BYTES;
    pub const STUB_TEXT: &[&str] = &["lea eax,[rdi+1]", "ret"];
    pub const CRANELIFT_INC: &[u8] = &[
        0x55, // push rbp
        0x48, 0x89, 0xE5, // mov rbp,rsp
        0x8D, 0x47, 0x01, // lea eax,[rdi+1]
        0x48, 0x89, 0xEC, // mov rsp,rbp
        0x5D, // pop rbp
        0xC3, // ret
    ];
    pub const CRANELIFT_TEXT: &[&str] = &[
        "push rbp",
        "mov rbp,rsp",
        "lea eax,[rdi+1]",
        "mov rsp,rbp",
        "pop rbp",
        "ret",
    ];
    pub fn verdict() -> Verdict {
        Verdict::SameBodyInFrame {
            shared: vec![false, false, true, false, false, true],
            frame_bytes: 8,
        }
    }
}

/// The pinned code for x86-64 Windows (Windows x64): the argument is in `ecx`, so the hand
/// encoding is `lea eax,[rcx+1]; ret` (ModRM 0x41), not the gist's bytes; Cranelift 0.135 puts
/// the same frame around the same body.
#[cfg(all(target_arch = "x86_64", windows))]
mod host {
    use super::*;

    pub const STUB: &[u8] = &[0x8D, 0x41, 0x01, 0xC3];
    pub const STUB_TEXT: &[&str] = &["lea eax,[rcx+1]", "ret"];
    pub const CRANELIFT_INC: &[u8] = &[
        0x55, // push rbp
        0x48, 0x89, 0xE5, // mov rbp,rsp
        0x8D, 0x41, 0x01, // lea eax,[rcx+1]
        0x48, 0x89, 0xEC, // mov rsp,rbp
        0x5D, // pop rbp
        0xC3, // ret
    ];
    pub const CRANELIFT_TEXT: &[&str] = &[
        "push rbp",
        "mov rbp,rsp",
        "lea eax,[rcx+1]",
        "mov rsp,rbp",
        "pop rbp",
        "ret",
    ];
    pub fn verdict() -> Verdict {
        Verdict::SameBodyInFrame {
            shared: vec![false, false, true, false, false, true],
            frame_bytes: 8,
        }
    }
}

/// The pinned code for AArch64 (AAPCS64): the hand encoding, which Cranelift 0.135 emits exactly
/// (a leaf function gets no frame). The gist's x86 bytes are not used.
#[cfg(target_arch = "aarch64")]
mod host {
    use super::*;

    pub const STUB: &[u8] = &[0x00, 0x04, 0x00, 0x11, 0xC0, 0x03, 0x5F, 0xD6];
    pub const STUB_TEXT: &[&str] = &["add w0, w0, #0x1", "ret"];
    pub const CRANELIFT_INC: &[u8] = STUB;
    pub const CRANELIFT_TEXT: &[&str] = STUB_TEXT;
    pub fn verdict() -> Verdict {
        Verdict::Identical
    }
}

fn arch() -> Architecture {
    Triple::host().architecture
}

fn texts(code: &[u8]) -> Vec<String> {
    disassemble(arch(), code)
        .into_iter()
        .map(|l| l.text)
        .collect()
}

#[test]
fn stub_bytes_are_the_hosts_hand_encoding_and_decode_as_such() {
    let stub = HandStub::gist().expect("stub");
    assert_eq!(stub.code(), host::STUB);
    assert_eq!(stub.code(), HandStub::encoding().expect("host").bytes);
    assert_eq!(
        stub.code() == GIST_BYTES,
        arch() == Architecture::X86_64 && !cfg!(windows),
        "the gist's bytes are the stub on x86-64 System V and nowhere else"
    );
    assert_eq!(texts(stub.code()), host::STUB_TEXT);
}

#[test]
fn cranelift_code_holds_the_hand_encoded_body_and_ends_in_ret() {
    let f = compile_inc().expect("compile");
    let code = f.code();
    assert_eq!(
        code,
        host::CRANELIFT_INC,
        "Cranelift's bytes changed: {code:02X?}"
    );
    assert_eq!(texts(code), host::CRANELIFT_TEXT);
}

#[test]
fn the_shared_body_is_found_in_the_real_code() {
    let (f, stub) = (
        compile_inc().expect("compile"),
        HandStub::gist().expect("stub"),
    );
    let split = |code| instructions(arch(), code);
    assert_eq!(
        compare(&split(f.code()), &split(stub.code())),
        host::verdict()
    );
}

#[test]
fn ir_is_one_block_adding_one() {
    let f = compile_inc().expect("compile");
    assert!(
        f.ir().starts_with(&crate::common::host_cc(
            "function u0:0(i32) -> i32 system_v {"
        )),
        "{}",
        f.ir()
    );
    assert!(f.ir().contains("iadd v0, v1"), "{}", f.ir());
}

#[test]
fn code_is_placed_near_the_program() {
    assert!(compile_inc().expect("compile").is_near());
    assert!(HandStub::gist().expect("stub").is_near());
}
