//! Golden bytes: the gist's stub and the code Cranelift emits for x + 1, pinned and decoded.

use fnjit::disasm::{Verdict, compare, disassemble_x86_64, instructions};
use fnjit::{GIST_BYTES, HandStub, compile_inc};
use target_lexicon::Architecture;

/// What Cranelift 0.135 emits for x + 1 on x86-64 System V with fnjit's settings.
const CRANELIFT_INC: [u8; 12] = [
    0x55, // push rbp
    0x48, 0x89, 0xE5, // mov rbp,rsp
    0x8D, 0x47, 0x01, // lea eax,[rdi+1]
    0x48, 0x89, 0xEC, // mov rsp,rbp
    0x5D, // pop rbp
    0xC3, // ret
];

fn texts(code: &[u8]) -> Vec<String> {
    disassemble_x86_64(code)
        .into_iter()
        .map(|l| l.text)
        .collect()
}

#[test]
fn stub_bytes_are_the_gists_and_decode_as_lea_then_ret() {
    let stub = HandStub::gist().expect("stub");
    assert_eq!(stub.code(), [0x8D, 0x47, 0x01, 0xC3]);
    assert_eq!(stub.code(), GIST_BYTES);
    assert_eq!(texts(stub.code()), ["lea eax,[rdi+1]", "ret"]);
}

#[test]
fn cranelift_code_holds_the_gists_body_and_ends_in_ret() {
    let f = compile_inc().expect("compile");
    let code = f.code();
    assert!(
        code.windows(3).any(|w| w == [0x8D, 0x47, 0x01]),
        "{code:02X?}"
    );
    assert_eq!(code.last(), Some(&0xC3));
    assert_eq!(
        code, CRANELIFT_INC,
        "Cranelift's bytes changed: {code:02X?}"
    );
    assert_eq!(
        texts(code),
        [
            "push rbp",
            "mov rbp,rsp",
            "lea eax,[rdi+1]",
            "mov rsp,rbp",
            "pop rbp",
            "ret"
        ]
    );
}

#[test]
fn the_shared_body_is_found_in_the_real_code() {
    let (f, stub) = (
        compile_inc().expect("compile"),
        HandStub::gist().expect("stub"),
    );
    let x86 = |code| instructions(Architecture::X86_64, code);
    let verdict = compare(&x86(f.code()), &x86(stub.code()));
    assert_eq!(
        verdict,
        Verdict::SameBodyInFrame {
            shared: vec![false, false, true, false, false, true],
            frame_bytes: 8
        }
    );
}

#[test]
fn ir_is_one_block_adding_one() {
    let f = compile_inc().expect("compile");
    assert!(
        f.ir().starts_with("function u0:0(i32) -> i32 system_v {"),
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
