//! `Function<P, R>` from user IR: every signature shape called correctly and checked against
//! Rust (floats bit for bit), golden bytes for the integer shapes, every refused instruction
//! kind and signature mismatch shown with its error, and random IR accepted or refused by the
//! allow-list.

use crate::common;
use cranelift_codegen::ir::condcodes::IntCC;
use cranelift_codegen::ir::{Function, InstBuilder, TrapCode, UserFuncName, Value, types};
use cranelift_frontend::{FunctionBuilder, FunctionBuilderContext};
use fnjit::check::{F64_EDGES, I64_EDGES, same_f64};
use fnjit::{Error, Jit, Params, Scalar};
use proptest::prelude::*;

/// Parses one function of CLIF text (the `cranelift-reader` crate).
fn clif(text: &str) -> Function {
    let mut funcs =
        cranelift_reader::parse_functions(&crate::common::host_cc(text)).expect("CLIF parses");
    assert_eq!(funcs.len(), 1);
    funcs.remove(0)
}

/// Builds `P -> R` IR: `body` gets the builder and the parameters, returns the result.
fn build<P: Params, R: Scalar>(
    jit: &Jit,
    body: impl FnOnce(&mut FunctionBuilder<'_>, &[Value]) -> Value,
) -> Function {
    let mut func = Function::with_name_signature(UserFuncName::default(), jit.signature::<P, R>());
    let mut fctx = FunctionBuilderContext::new();
    let mut b = FunctionBuilder::new(&mut func, &mut fctx);
    let block = b.create_block();
    b.append_block_params_for_function_params(block);
    b.switch_to_block(block);
    let params = b.block_params(block).to_vec();
    let y = body(&mut b, &params);
    b.ins().return_(&[y]);
    b.seal_all_blocks();
    b.finalize(jit.frontend_config());
    func
}

fn i64_mix(x: i64, y: i64) -> i64 {
    x.wrapping_mul(y).wrapping_add((x >> 3) ^ y)
}

fn i64_mix_ir(jit: &Jit) -> Function {
    build::<(i64, i64), i64>(jit, |b, p| {
        let (x, y) = (p[0], p[1]);
        let xy = b.ins().imul(x, y);
        let three = b.ins().iconst(types::I64, 3);
        let shifted = b.ins().sshr(x, three);
        let mixed = b.ins().bxor(shifted, y);
        b.ins().iadd(xy, mixed)
    })
}

fn f64_mix(x: f64, y: f64) -> f64 {
    (x * y + x) / y - x.abs().sqrt() + x.floor() * y
}

fn f64_mix_ir(jit: &Jit) -> Function {
    build::<(f64, f64), f64>(jit, |b, p| {
        let (x, y) = (p[0], p[1]);
        let xy = b.ins().fmul(x, y);
        let sum = b.ins().fadd(xy, x);
        let q = b.ins().fdiv(sum, y);
        let abs = b.ins().fabs(x);
        let root = b.ins().sqrt(abs);
        let d = b.ins().fsub(q, root);
        let fl = b.ins().floor(x);
        let fy = b.ins().fmul(fl, y);
        b.ins().fadd(d, fy)
    })
}

fn six(a: i32, b: i32, c: i32, d: i32, e: i32, f: i32) -> i32 {
    [b, c, d, e, f]
        .into_iter()
        .fold(a, |acc, v| acc.wrapping_mul(31).wrapping_add(v))
}

fn six_ir(jit: &Jit) -> Function {
    build::<(i32, i32, i32, i32, i32, i32), i32>(jit, |b, p| {
        let mut acc = p[0];
        for &v in &p[1..] {
            let k = b.ins().iconst(types::I32, 31);
            let m = b.ins().imul(acc, k);
            acc = b.ins().iadd(m, v);
        }
        acc
    })
}

/// `() -> i32`: the sum 1 + … + 100 as a loop.
fn sum_loop_ir(jit: &Jit) -> Function {
    let mut func =
        Function::with_name_signature(UserFuncName::default(), jit.signature::<(), i32>());
    let mut fctx = FunctionBuilderContext::new();
    let mut b = FunctionBuilder::new(&mut func, &mut fctx);
    let (entry, head, exit) = (b.create_block(), b.create_block(), b.create_block());
    let (i, sum) = (b.declare_var(types::I32), b.declare_var(types::I32));
    b.switch_to_block(entry);
    let one = b.ins().iconst(types::I32, 1);
    let zero = b.ins().iconst(types::I32, 0);
    b.def_var(i, one);
    b.def_var(sum, zero);
    b.ins().jump(head, &[]);
    b.switch_to_block(head);
    let (iv, sv) = (b.use_var(i), b.use_var(sum));
    let s2 = b.ins().iadd(sv, iv);
    let i2 = b.ins().iadd_imm_s(iv, 1);
    b.def_var(sum, s2);
    b.def_var(i, i2);
    let more = b.ins().icmp_imm_s(IntCC::SignedLessThanOrEqual, i2, 100);
    b.ins().brif(more, head, &[], exit, &[]);
    b.switch_to_block(exit);
    let result = b.use_var(sum);
    b.ins().return_(&[result]);
    b.seal_all_blocks();
    b.finalize(jit.frontend_config());
    func
}

/// `(i32, f64, i64, f32) -> f64`: integer and float arguments interleaved.
fn mixed(a: i32, b: f64, c: i64, d: f32) -> f64 {
    f64::from(a) + b * 2.0 + c as f64 + f64::from(d)
}

fn mixed_ir(jit: &Jit) -> Function {
    build::<(i32, f64, i64, f32), f64>(jit, |b, p| {
        let a = b.ins().fcvt_from_sint(types::F64, p[0]);
        let two = b.ins().f64const(2.0);
        let b2 = b.ins().fmul(p[1], two);
        let c = b.ins().fcvt_from_sint(types::F64, p[2]);
        let d = b.ins().fpromote(types::F64, p[3]);
        let s = b.ins().fadd(a, b2);
        let s = b.ins().fadd(s, c);
        b.ins().fadd(s, d)
    })
}

#[test]
fn i64_pair_agrees_with_rust_and_its_bytes_are_pinned() {
    let mut jit = Jit::new().expect("jit");
    let f = jit
        .compile::<(i64, i64), i64>(&i64_mix_ir(&jit))
        .expect("compile");
    for x in I64_EDGES {
        for y in I64_EDGES {
            assert_eq!(f.call((x, y)), i64_mix(x, y), "({x}, {y})");
        }
    }
    // Windows x64: the arguments in rcx and rdx, and rsi callee-saved, so saved and restored.
    #[cfg(all(target_arch = "x86_64", windows))]
    let (golden, text): (&[u8], &[&str]) = (
        &[
            0x55, // push rbp
            0x48, 0x89, 0xE5, // mov rbp,rsp
            0x48, 0x83, 0xEC, 0x10, // sub rsp,10h
            0x48, 0x89, 0x34, 0x24, // mov [rsp],rsi
            0x48, 0x89, 0xCE, // mov rsi,rcx
            0x48, 0x0F, 0xAF, 0xF2, // imul rsi,rdx
            0x48, 0xC1, 0xF9, 0x03, // sar rcx,3
            0x48, 0x33, 0xCA, // xor rcx,rdx
            0x48, 0x8D, 0x04, 0x0E, // lea rax,[rsi+rcx]
            0x48, 0x8B, 0x34, 0x24, // mov rsi,[rsp]
            0x48, 0x83, 0xC4, 0x10, // add rsp,10h
            0x48, 0x89, 0xEC, // mov rsp,rbp
            0x5D, // pop rbp
            0xC3, // ret
        ],
        &[
            "push rbp",
            "mov rbp,rsp",
            "sub rsp,10h",
            "mov [rsp],rsi",
            "mov rsi,rcx",
            "imul rsi,rdx",
            "sar rcx,3",
            "xor rcx,rdx",
            "lea rax,[rsi+rcx]",
            "mov rsi,[rsp]",
            "add rsp,10h",
            "mov rsp,rbp",
            "pop rbp",
            "ret",
        ],
    );
    #[cfg(all(target_arch = "x86_64", not(windows)))]
    let (golden, text): (&[u8], &[&str]) = (
        &[
            0x55, // push rbp
            0x48, 0x89, 0xE5, // mov rbp,rsp
            0x49, 0x89, 0xF8, // mov r8,rdi
            0x4C, 0x0F, 0xAF, 0xC6, // imul r8,rsi
            0x48, 0xC1, 0xFF, 0x03, // sar rdi,3
            0x48, 0x33, 0xFE, // xor rdi,rsi
            0x49, 0x8D, 0x04, 0x38, // lea rax,[r8+rdi]
            0x48, 0x89, 0xEC, // mov rsp,rbp
            0x5D, // pop rbp
            0xC3, // ret
        ],
        &[
            "push rbp",
            "mov rbp,rsp",
            "mov r8,rdi",
            "imul r8,rsi",
            "sar rdi,3",
            "xor rdi,rsi",
            "lea rax,[r8+rdi]",
            "mov rsp,rbp",
            "pop rbp",
            "ret",
        ],
    );
    #[cfg(target_arch = "aarch64")]
    let (golden, text): (&[u8], &[&str]) = (
        &[
            0x05, 0xFC, 0x43, 0x93, // asr x5, x0, #0x3
            0xA5, 0x00, 0x01, 0xCA, // eor x5, x5, x1
            0x00, 0x14, 0x01, 0x9B, // madd x0, x0, x1, x5
            0xC0, 0x03, 0x5F, 0xD6, // ret
        ],
        &[
            "asr x5, x0, #0x3",
            "eor x5, x5, x1",
            "madd x0, x0, x1, x5",
            "ret",
        ],
    );
    let listing = fnjit::disasm::disassemble(target_lexicon::Triple::host().architecture, f.code());
    let texts: Vec<_> = listing.iter().map(|l| l.text.as_str()).collect();
    assert_eq!(f.code(), golden, "{:02X?} {texts:?}", f.code());
    assert_eq!(texts, text);
}

#[test]
fn f64_pair_agrees_with_rust_bit_for_bit() {
    let mut jit = Jit::new().expect("jit");
    let f = jit
        .compile::<(f64, f64), f64>(&f64_mix_ir(&jit))
        .expect("compile");
    for x in F64_EDGES {
        for y in F64_EDGES {
            let (got, want) = (f.call((x, y)), f64_mix(x, y));
            assert!(same_f64(got, want), "({x:e}, {y:e}): {got:e} vs {want:e}");
        }
    }
    assert!(f.ir().contains("sqrt"), "{}", f.ir());
}

#[test]
fn no_arguments_and_a_loop() {
    let mut jit = Jit::new().expect("jit");
    let f = jit.compile::<(), i32>(&sum_loop_ir(&jit)).expect("compile");
    assert_eq!(f.call(()), 5050);
}

#[test]
fn six_arguments_fill_every_system_v_integer_register_in_order() {
    let mut jit = Jit::new().expect("jit");
    let f = jit
        .compile::<(i32, i32, i32, i32, i32, i32), i32>(&six_ir(&jit))
        .expect("compile");
    assert_eq!(f.call((1, 2, 3, 4, 5, 6)), six(1, 2, 3, 4, 5, 6));
    assert_eq!(f.call((1, 0, 0, 0, 0, 0)), 31i32.pow(5));
    assert_eq!(f.call((0, 0, 0, 0, 0, 1)), 1);
    for e in [i32::MIN, -1, 0, 1, i32::MAX] {
        let n = e.wrapping_neg();
        assert_eq!(f.call((e, n, e, 7, e, -3)), six(e, n, e, 7, e, -3));
    }
    // The six argument registers all reach the code: System V's edi, esi, edx, ecx, r8d and r9d,
    // or AAPCS64's w0 to w5.
    let all = fnjit::disasm::disassemble(target_lexicon::Triple::host().architecture, f.code())
        .into_iter()
        .map(|l| l.text)
        .collect::<Vec<_>>()
        .join("; ");
    #[cfg(target_arch = "x86_64")]
    let regs = ["edi", "esi", "edx", "ecx", "r8d", "r9d"];
    #[cfg(target_arch = "aarch64")]
    let regs = ["w0", "w1", "w2", "w3", "w4", "w5"];
    for reg in regs {
        assert!(all.contains(reg), "{reg} unused: {all}");
    }
}

#[test]
fn mixed_integer_and_float_arguments() {
    let mut jit = Jit::new().expect("jit");
    let f = jit
        .compile::<(i32, f64, i64, f32), f64>(&mixed_ir(&jit))
        .expect("compile");
    for (a, b, c, d) in [
        (1, 2.5, 3, 4.5f32),
        (i32::MIN, f64::NAN, i64::MAX, -0.0),
        (-7, -0.0, i64::MIN, f32::INFINITY),
    ] {
        assert!(same_f64(f.call((a, b, c, d)), mixed(a, b, c, d)));
    }
}

proptest! {
    #![proptest_config(common::proptest_config(2_000))]
    #[test]
    fn typed_functions_agree_with_rust_on_random_inputs(
        x in any::<i64>(), y in any::<i64>(),
        fx in any::<f64>(), fy in any::<f64>(),
        s in any::<[i32; 6]>(),
    ) {
        let f = fixtures();
        prop_assert_eq!(f.0.call((x, y)), i64_mix(x, y));
        let (got, want) = (f.1.call((fx, fy)), f64_mix(fx, fy));
        prop_assert!(same_f64(got, want), "{} {}: {} vs {}", fx, fy, got, want);
        prop_assert_eq!(f.2.call((s[0], s[1], s[2], s[3], s[4], s[5])), six(s[0], s[1], s[2], s[3], s[4], s[5]));
    }
}

type Fixtures = (
    fnjit::Function<(i64, i64), i64>,
    fnjit::Function<(f64, f64), f64>,
    fnjit::Function<(i32, i32, i32, i32, i32, i32), i32>,
);

fn fixtures() -> &'static Fixtures {
    static F: std::sync::OnceLock<Fixtures> = std::sync::OnceLock::new();
    F.get_or_init(|| {
        let mut jit = Jit::new().expect("jit");
        (
            jit.compile(&i64_mix_ir(&jit)).expect("i64"),
            jit.compile(&f64_mix_ir(&jit)).expect("f64"),
            jit.compile(&six_ir(&jit)).expect("six"),
        )
    })
}

#[test]
fn many_threads_call_typed_functions_at_once() {
    let f = fixtures();
    std::thread::scope(|s| {
        for t in 0..8i64 {
            s.spawn(move || {
                for i in 0..200_000i64 {
                    let x = i.wrapping_mul(0x9E37_79B9_7F4A_7C15u64 as i64) ^ t;
                    assert_eq!(f.0.call((x, t - i)), i64_mix(x, t - i));
                    let fx = x as f64 * 1e-9;
                    assert!(same_f64(f.1.call((fx, 3.0)), f64_mix(fx, 3.0)));
                }
            });
        }
    });
}

/// (CLIF, the error) for every kind of refused instruction. The instruction is shown with its
/// controlling type (`sdiv.i64`), as Cranelift prints one instruction on its own.
const REFUSED: [(&str, &str); 16] = [
    (
        "function %f(i64, i64) -> i64 system_v {\nblock0(v0: i64, v1: i64):\n    v2 = sdiv v0, v1\n    return v2\n}",
        "refused: v2 = sdiv.i64 v0, v1 in block0: sdiv traps on a zero divisor and on MIN / -1; guard the divisor, or use compile_unchecked",
    ),
    (
        "function %f(i64, i64) -> i64 system_v {\nblock0(v0: i64, v1: i64):\n    v2 = udiv v0, v1\n    return v2\n}",
        "refused: v2 = udiv.i64 v0, v1 in block0: udiv traps on a zero divisor; guard the divisor, or use compile_unchecked",
    ),
    (
        "function %f(i64, i64) -> i64 system_v {\nblock0(v0: i64, v1: i64):\n    v2 = srem v0, v1\n    return v2\n}",
        "refused: v2 = srem.i64 v0, v1 in block0: srem traps on a zero divisor; guard the divisor, or use compile_unchecked",
    ),
    (
        "function %f(i64, i64) -> i64 system_v {\nblock0(v0: i64, v1: i64):\n    v2 = urem v0, v1\n    return v2\n}",
        "refused: v2 = urem.i64 v0, v1 in block0: urem traps on a zero divisor; guard the divisor, or use compile_unchecked",
    ),
    (
        "function %f(f64) -> i64 system_v {\nblock0(v0: f64):\n    v1 = fcvt_to_sint.i64 v0\n    return v1\n}",
        "refused: v1 = fcvt_to_sint.i64 v0 in block0: fcvt_to_sint traps on NaN and on values out of range; use fcvt_to_sint_sat, or compile_unchecked",
    ),
    (
        "function %f(f64) -> i64 system_v {\nblock0(v0: f64):\n    v1 = fcvt_to_uint.i64 v0\n    return v1\n}",
        "refused: v1 = fcvt_to_uint.i64 v0 in block0: fcvt_to_uint traps on NaN and on values out of range; use fcvt_to_uint_sat, or compile_unchecked",
    ),
    (
        "function %f(i64) -> i64 system_v {\nblock0(v0: i64):\n    v1 = load.i64 v0\n    return v1\n}",
        "refused: v1 = load.i64 v0 in block0: load touches memory; pass values as parameters instead, or use compile_unchecked",
    ),
    (
        "function %f(i64) -> i64 system_v {\nblock0(v0: i64):\n    store v0, v0\n    return v0\n}",
        "refused: store.i64 v0, v0 in block0: store touches memory; pass values as parameters instead, or use compile_unchecked",
    ),
    (
        "function %f(i64) -> i64 system_v {\nblock0(v0: i64):\n    v1 = atomic_rmw.i64 add v0, v0\n    return v1\n}",
        "refused: v1 = atomic_rmw.i64 add v0, v0 in block0: atomic_rmw touches memory; pass values as parameters instead, or use compile_unchecked",
    ),
    (
        "function %f(i64) -> i64 system_v {\n    fn0 = %g(i64) -> i64 system_v\nblock0(v0: i64):\n    v1 = call fn0(v0)\n    return v1\n}",
        "refused: v1 = call fn0(v0) in block0: call makes a call, which compile() cannot check; use compile_unchecked",
    ),
    (
        "function %f(i64) -> i64 system_v {\n    sig0 = (i64) -> i64 system_v\nblock0(v0: i64):\n    v1 = call_indirect sig0, v0(v0)\n    return v1\n}",
        "refused: v1 = call_indirect.i64 sig0, v0(v0) in block0: call_indirect makes a call, which compile() cannot check; use compile_unchecked",
    ),
    (
        "function %f(i64) -> i64 system_v {\nblock0(v0: i64):\n    trapnz v0, user1\n    return v0\n}",
        "refused: trapnz.i64 v0, user1 in block0: trapnz traps; return a value instead, or use compile_unchecked",
    ),
    (
        "function %f(i64) -> i64 system_v {\nblock0(v0: i64):\n    v1 = uadd_overflow_trap v0, v0, user1\n    return v1\n}",
        "refused: v1 = uadd_overflow_trap.i64 v0, v0, user1 in block0: uadd_overflow_trap traps on overflow; use uadd_overflow, or compile_unchecked",
    ),
    (
        "function %f(i64) -> i64 system_v {\n    ss0 = explicit_slot 8\nblock0(v0: i64):\n    v1 = stack_addr.i64 ss0\n    return v1\n}",
        "refused: return v1 in block0: uses the address of ss0 other than as the address of a load or store inside it; compile() allows no other use of a stack address",
    ),
    (
        "function %f(i64) -> i64 system_v {\n    gv0 = symbol %g\nblock0(v0: i64):\n    v1 = symbol_value.i64 gv0\n    return v1\n}",
        "refused: v1 = symbol_value.i64 gv0 in block0: symbol_value takes the address of a global; use compile_unchecked",
    ),
    (
        "function %f(i64) -> i64 system_v {\nblock0(v0: i64):\n    jump block1\nblock1:\n    v1 = get_stack_pointer.i64\n    return v1\n}",
        "refused: v1 = get_stack_pointer.i64 in block1: get_stack_pointer reaches the stack or machine registers outside the IR; use compile_unchecked",
    ),
];

#[test]
fn every_refused_instruction_kind_says_what_and_where() {
    let mut jit = Jit::new().expect("jit");
    for (text, want) in REFUSED {
        let func = clif(text);
        let err = if func.signature.returns[0].value_type == types::I64
            && func.signature.params[0].value_type == types::F64
        {
            jit.compile::<f64, i64>(&func).map(|_| ())
        } else if func.signature.params.len() == 2 {
            jit.compile::<(i64, i64), i64>(&func).map(|_| ())
        } else {
            jit.compile::<i64, i64>(&func).map(|_| ())
        }
        .expect_err(text);
        assert!(matches!(err, Error::UnsafeIr { .. }), "{err:?}");
        assert_eq!(err.to_string(), want, "{text}");
    }
}

#[test]
fn mismatched_signatures_are_refused_showing_both() {
    let mut jit = Jit::new().expect("jit");
    let ir = i64_mix_ir(&jit); // (i64, i64) -> i64 system_v
    let cases = [
        (
            jit.compile::<(i64,), i64>(&ir).map(|_| ()),
            "the IR's signature is `(i64, i64) -> i64 system_v`, but the function asked for is `(i64) -> i64 system_v`",
        ),
        (
            jit.compile::<(i64, i32), i64>(&ir).map(|_| ()),
            "but the function asked for is `(i64, i32) -> i64 system_v`",
        ),
        (
            jit.compile::<(i64, i64), f64>(&ir).map(|_| ()),
            "but the function asked for is `(i64, i64) -> f64 system_v`",
        ),
    ];
    for (result, want) in cases {
        let want = crate::common::host_cc(want);
        let err = result.expect_err(&want);
        assert!(matches!(err, Error::Signature { .. }), "{err:?}");
        assert!(err.to_string().contains(&want), "{err}");
    }
    // The other x86-64 convention than the host's.
    let other = if cfg!(windows) {
        "system_v"
    } else {
        "windows_fastcall"
    };
    let wrong_conv = cranelift_reader::parse_functions(&format!(
        "function %f(i64, i64) -> i64 {other} {{\nblock0(v0: i64, v1: i64):\n    return v0\n}}"
    ))
    .expect("CLIF")
    .remove(0);
    let err = jit
        .compile::<(i64, i64), i64>(&wrong_conv)
        .expect_err("not the host's convention");
    assert!(
        err.to_string().starts_with(&format!(
            "the IR's signature is `(i64, i64) -> i64 {other}`"
        )),
        "{err}"
    );
    let extended =
        clif("function %f(i32 sext) -> i32 system_v {\nblock0(v0: i32):\n    return v0\n}");
    assert!(matches!(
        jit.compile::<i32, i32>(&extended),
        Err(Error::Signature { .. })
    ));
}

#[test]
fn ir_the_verifier_rejects_is_an_error_not_a_panic() {
    let mut jit = Jit::new().expect("jit");
    let bad = clif(
        "function %f(i64) -> i64 system_v {\nblock0(v0: i64):\n    v1 = iconst.i32 1\n    v2 = iadd v0, v1\n    return v2\n}",
    );
    let err = jit.compile::<i64, i64>(&bad).expect_err("invalid IR");
    assert!(matches!(err, Error::Verifier { .. }), "{err:?}");
    assert!(
        err.to_string()
            .starts_with("the IR is not valid Cranelift IR:"),
        "{err}"
    );
}

#[test]
fn compile_unchecked_runs_ir_that_loads_when_the_caller_vouches() {
    let mut jit = Jit::new().expect("jit");
    let load = clif(
        "function %f(i64) -> i64 system_v {\nblock0(v0: i64):\n    v1 = load.i64 notrap aligned v0\n    v2 = iconst.i64 1\n    v3 = iadd v1, v2\n    return v3\n}",
    );
    let cell = Box::new(41i64);
    // SAFETY: the function loads 8 bytes from its argument, which is the address of a live,
    // aligned i64 that nothing writes during the call.
    let f = unsafe { jit.compile_unchecked::<i64, i64>(&load) }.expect("compile");
    assert_eq!(f.call(&*cell as *const i64 as i64), 42);
    // The signature is still checked.
    // SAFETY: refused before anything is compiled.
    let err = unsafe { jit.compile_unchecked::<f64, i64>(&load) }.expect_err("signature");
    assert!(matches!(err, Error::Signature { .. }));
}

/// A call to a function fnjit cannot link (named by a test-case name, as Cranelift's own run
/// tests name them) is an error that names it, not a panic in cranelift-module.
#[test]
fn a_call_fnjit_cannot_link_is_an_error() {
    let mut jit = Jit::new().expect("jit");
    let call = clif(&format!(
        "function %f(i64) -> i64 {} {{
             fn0 = %callee(i64) -> i64 {}
         block0(v0: i64):
             v1 = call fn0(v0)
             return v1
         }}",
        jit.call_conv(),
        jit.call_conv()
    ));
    // SAFETY: refused before any code exists; nothing is called.
    let err = unsafe { jit.compile_unchecked::<i64, i64>(&call) }.expect_err("unlinkable");
    assert!(matches!(err, Error::Link { .. }), "{err}");
    assert!(err.to_string().contains("%callee"), "{err}");
}

#[test]
fn debug_shows_the_signature_not_the_ir() {
    let f = fnjit::compile_expr(&vec!["x"; 1000].join(" + ")).expect("compile");
    let text = format!("{f:?}");
    assert!(text.len() < 200, "{text}");
    assert!(text.contains("fn(i32) -> i32"), "{text}");
}

/// The building blocks of random IR: (name, whether the allow-list admits it).
const RANDOM_OPS: [(&str, bool); 22] = [
    ("iadd", true),
    ("isub", true),
    ("imul", true),
    ("band", true),
    ("bor", true),
    ("bxor", true),
    ("ishl", true),
    ("sshr", true),
    ("ushr", true),
    ("rotl", true),
    ("smin", true),
    ("umax", true),
    ("select", true),
    ("fmix", true),
    ("fcvt_to_sint_sat", true),
    ("clz", true),
    ("sdiv", false),
    ("udiv", false),
    ("srem", false),
    ("urem", false),
    ("fcvt_to_sint", false),
    ("uadd_overflow_trap", false),
];

/// Builds `(i64, i64, f64) -> i64` from `ops` (indices into [`RANDOM_OPS`]), each applied to
/// values picked by `picks`, with a branch and a join in the middle.
fn random_ir(jit: &Jit, ops: &[(usize, usize, usize)]) -> Function {
    let mut func = Function::with_name_signature(
        UserFuncName::default(),
        jit.signature::<(i64, i64, f64), i64>(),
    );
    let mut fctx = FunctionBuilderContext::new();
    let mut b = FunctionBuilder::new(&mut func, &mut fctx);
    let (entry, then, join) = (b.create_block(), b.create_block(), b.create_block());
    b.append_block_params_for_function_params(entry);
    b.append_block_param(join, types::I64);
    b.switch_to_block(entry);
    let p = b.block_params(entry).to_vec();
    let mut ints = vec![p[0], p[1]];
    let float = p[2];
    let half = ops.len() / 2;
    for op in &ops[..half] {
        emit(&mut b, &mut ints, float, *op);
    }
    let last = *ints.last().expect("a value");
    b.ins().brif(last, then, &[], join, &[last.into()]);
    b.switch_to_block(then);
    let mut then_ints = ints.clone();
    for op in &ops[half..] {
        emit(&mut b, &mut then_ints, float, *op);
    }
    let out = *then_ints.last().expect("a value");
    b.ins().jump(join, &[out.into()]);
    b.switch_to_block(join);
    let result = b.block_params(join)[0];
    b.ins().return_(&[result]);
    b.seal_all_blocks();
    b.finalize(jit.frontend_config());
    func
}

/// Appends one instruction of [`RANDOM_OPS`] to `ints`.
fn emit(
    b: &mut FunctionBuilder<'_>,
    ints: &mut Vec<Value>,
    float: Value,
    (op, i, j): (usize, usize, usize),
) {
    let (x, y) = (ints[i % ints.len()], ints[j % ints.len()]);
    let v = match RANDOM_OPS[op % RANDOM_OPS.len()].0 {
        "iadd" => b.ins().iadd(x, y),
        "isub" => b.ins().isub(x, y),
        "imul" => b.ins().imul(x, y),
        "band" => b.ins().band(x, y),
        "bor" => b.ins().bor(x, y),
        "bxor" => b.ins().bxor(x, y),
        "ishl" => b.ins().ishl(x, y),
        "sshr" => b.ins().sshr(x, y),
        "ushr" => b.ins().ushr(x, y),
        "rotl" => b.ins().rotl(x, y),
        "smin" => b.ins().smin(x, y),
        "umax" => b.ins().umax(x, y),
        "select" => {
            let c = b.ins().icmp(IntCC::SignedLessThan, x, y);
            b.ins().select(c, x, y)
        }
        "fmix" => {
            let fx = b.ins().fcvt_from_sint(types::F64, x);
            let s = b.ins().fmul(fx, float);
            b.ins().fcvt_to_sint_sat(types::I64, s)
        }
        "fcvt_to_sint_sat" => b.ins().fcvt_to_sint_sat(types::I64, float),
        "clz" => b.ins().clz(x),
        "sdiv" => b.ins().sdiv(x, y),
        "udiv" => b.ins().udiv(x, y),
        "srem" => b.ins().srem(x, y),
        "urem" => b.ins().urem(x, y),
        "fcvt_to_sint" => b.ins().fcvt_to_sint(types::I64, float),
        "uadd_overflow_trap" => b.ins().uadd_overflow_trap(x, y, TrapCode::INTEGER_OVERFLOW),
        other => unreachable!("{other}"),
    };
    ints.push(v);
}

proptest! {
    #![proptest_config(common::proptest_config(500))]
    #[test]
    fn random_ir_is_accepted_exactly_when_every_instruction_is_allowed(
        ops in prop::collection::vec((0..RANDOM_OPS.len(), 0usize..64, 0usize..64), 1..24),
        args in any::<(i64, i64, f64)>(),
    ) {
        let mut jit = Jit::new().expect("jit");
        let func = random_ir(&jit, &ops);
        let forbidden = ops.iter().map(|&(op, _, _)| RANDOM_OPS[op]).find(|(_, ok)| !ok);
        match (jit.compile::<(i64, i64, f64), i64>(&func), forbidden) {
            (Ok(f), None) => {
                let _ = f.call(args); // allowed IR runs on any input without a crash
            }
            (Err(Error::UnsafeIr { inst, .. }), Some(_)) => {
                let named = ops.iter().any(|&(op, _, _)| {
                    let (name, ok) = RANDOM_OPS[op];
                    !ok && inst.contains(name)
                });
                prop_assert!(named, "the refusal names no forbidden instruction: {}", inst);
            }
            (Ok(_), Some((name, _))) => prop_assert!(false, "{} was accepted", name),
            (Err(e), None) => prop_assert!(false, "allowed IR refused: {}", e),
            (Err(e), Some(_)) => prop_assert!(false, "refused, but not as unsafe IR: {}", e),
        }
    }
}
