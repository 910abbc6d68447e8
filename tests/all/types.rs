//! Every type of `Function<P, R>` beyond i32, i64, f32 and f64: the small and unsigned integers,
//! `bool`, `i128`, tuples of results and the 128-bit vectors, each called through Cranelift's
//! code in the host's C ABI and checked against Rust; and what the ABI cannot carry, refused.

use cranelift_codegen::ir::Function;
#[cfg_attr(
    windows,
    allow(unused_imports, reason = "the vector tests are System V's")
)]
use fnjit::{Error, F32x4, F64x2, I8x16, I16x8, I32x4, I64x2, Jit, Params, Results};

/// Parses one function of CLIF text, in the host's calling convention.
pub(crate) fn clif(jit: &Jit, text: &str) -> Function {
    let text = text.replace("CC", &jit.call_conv().to_string());
    let mut funcs = cranelift_reader::parse_functions(&text).expect("CLIF parses");
    assert_eq!(funcs.len(), 1);
    funcs.remove(0)
}

fn compile<P: Params, R: Results>(text: &str) -> fnjit::Function<P, R> {
    let mut jit = Jit::new().expect("jit");
    let func = clif(&jit, text);
    jit.compile::<P, R>(&func)
        .unwrap_or_else(|e| panic!("{e}\n{text}"))
}

fn refused<P: Params, R: Results>(text: &str) -> Error {
    let mut jit = Jit::new().expect("jit");
    let func = clif(&jit, text);
    jit.compile::<P, R>(&func).expect_err(text)
}

const SMALL: [i64; 9] = [0, 1, -1, 127, -128, 255, 32767, -32768, 0x1234_5678_9abc];

#[test]
fn small_and_unsigned_integers_wrap_as_rust_does() {
    let add8 =
        "function %f(i8, i8) -> i8 CC {\nblock0(v0: i8, v1: i8):\n v2 = iadd v0, v1\n return v2\n}";
    let i8s = compile::<(i8, i8), i8>(add8);
    let u8s = compile::<(u8, u8), u8>(add8);
    let mul16 = "function %f(i16, i16) -> i16 CC {\nblock0(v0: i16, v1: i16):\n v2 = imul v0, v1\n return v2\n}";
    let i16s = compile::<(i16, i16), i16>(mul16);
    let u16s = compile::<(u16, u16), u16>(mul16);
    let shr32 = "function %f(i32, i32) -> i32 CC {\nblock0(v0: i32, v1: i32):\n v2 = ushr v0, v1\n return v2\n}";
    let u32s = compile::<(u32, u32), u32>(shr32);
    let div64 = "function %f(i64) -> i64 CC {\nblock0(v0: i64):\n v1 = iconst.i64 7\n v2 = udiv v0, v1\n return v2\n}";
    let u64s = compile::<u64, u64>(div64);
    for &a in &SMALL {
        for &b in &SMALL {
            assert_eq!(
                i8s.call((a as i8, b as i8)),
                (a as i8).wrapping_add(b as i8)
            );
            assert_eq!(
                u8s.call((a as u8, b as u8)),
                (a as u8).wrapping_add(b as u8)
            );
            assert_eq!(
                i16s.call((a as i16, b as i16)),
                (a as i16).wrapping_mul(b as i16)
            );
            assert_eq!(
                u16s.call((a as u16, b as u16)),
                (a as u16).wrapping_mul(b as u16)
            );
            assert_eq!(
                u32s.call((a as u32, b as u32)),
                (a as u32).wrapping_shr(b as u32)
            );
        }
        assert_eq!(u64s.call(a as u64), a as u64 / 7);
    }
}

/// Cranelift leaves the bits above a narrow result undefined: here they are set on purpose, and
/// the result is still the narrow value.
#[test]
fn narrow_results_ignore_the_bits_above_them() {
    let cut = "function %f(i64) -> i8 CC {\nblock0(v0: i64):\n v1 = ireduce.i8 v0\n return v1\n}";
    let as_i8 = compile::<i64, i8>(cut);
    let as_u8 = compile::<i64, u8>(cut);
    let as_bool = compile::<i64, bool>(cut);
    for x in [0x1234_5680i64, -1, 0x100, 0x7f_ffff_ff01] {
        assert_eq!(as_i8.call(x), x as i8, "{x:#x}");
        assert_eq!(as_u8.call(x), x as u8, "{x:#x}");
        assert_eq!(u32::from(as_u8.call(x)), u32::from(x as u8), "{x:#x}");
        assert_eq!(as_bool.call(x), x as u8 != 0, "{x:#x}");
    }
    let cut16 =
        "function %f(i64) -> i16 CC {\nblock0(v0: i64):\n v1 = ireduce.i16 v0\n return v1\n}";
    assert_eq!(compile::<i64, u16>(cut16).call(-2), 0xfffe);
    assert_eq!(compile::<i64, i16>(cut16).call(0x1_8000), i16::MIN);
}

#[test]
fn bools_are_i8_going_in_and_icmp_results_coming_out() {
    let less = "function %f(i64, i64) -> i8 CC {\nblock0(v0: i64, v1: i64):\n v2 = icmp slt v0, v1\n return v2\n}";
    let f = compile::<(i64, i64), bool>(less);
    assert!(f.call((-5, 3)));
    assert!(!f.call((3, 3)));
    let not = "function %f(i8) -> i8 CC {\nblock0(v0: i8):\n v2 = iconst.i8 1\n v1 = bxor v0, v2\n return v1\n}";
    let g = compile::<bool, bool>(not);
    assert!(g.call(false));
    assert!(!g.call(true));
    let widen = "function %f(i8) -> i32 CC {\nblock0(v0: i8):\n v1 = uextend.i32 v0\n return v1\n}";
    assert_eq!(compile::<bool, i32>(widen).call(true), 1);
}

#[test]
#[cfg(not(windows))]
fn i128_travels_in_register_pairs_in_every_position() {
    let add = "function %f(i128, i128) -> i128 CC {\nblock0(v0: i128, v1: i128):\n v2 = iadd v0, v1\n return v2\n}";
    let f = compile::<(i128, i128), i128>(add);
    let big = [
        0i128,
        1,
        -1,
        i128::MAX,
        i128::MIN,
        0x1234_5678_9abc_def0_1122_3344_5566_7788,
    ];
    for &a in &big {
        for &b in &big {
            assert_eq!(f.call((a, b)), a.wrapping_add(b));
        }
    }
    assert_eq!(compile::<(u128, u128), u128>(add).call((u128::MAX, 2)), 1);
    // After an odd number of integers: AAPCS64 skips a register to start the pair at an even one.
    let mid = "function %f(i64, i128, i64) -> i128 CC {\nblock0(v0: i64, v1: i128, v2: i64):\n v3 = sextend.i128 v0\n v4 = sextend.i128 v2\n v5 = imul v1, v3\n v6 = iadd v5, v4\n return v6\n}";
    let g = compile::<(i64, i128, i64), i128>(mid);
    assert_eq!(g.call((-3, 1 << 100, 7)), -(3i128 << 100) + 7);
    let three = "function %f(i128, i128, i128) -> i128 CC {\nblock0(v0: i128, v1: i128, v2: i128):\n v3 = isub v0, v1\n v4 = bxor v3, v2\n return v4\n}";
    let h = compile::<(i128, i128, i128), i128>(three);
    assert_eq!(h.call((1 << 90, 5, -1)), !((1i128 << 90) - 5));
    // An i128 that would not lie whole in registers is refused: after five integers on x86-64
    // (six registers), after three i128 and an i64 on AArch64 (eight, pairs starting even).
    let err = if cfg!(target_arch = "aarch64") {
        refused::<(i128, i128, i128, i64, i128), i64>(
            "function %f(i128, i128, i128, i64, i128) -> i64 CC {\nblock0(v0: i128, v1: i128, v2: i128, v3: i64, v4: i128):\n return v3\n}",
        )
    } else {
        refused::<(i64, i64, i64, i64, i64, i128), i64>(
            "function %f(i64, i64, i64, i64, i64, i128) -> i64 CC {\nblock0(v0: i64, v1: i64, v2: i64, v3: i64, v4: i64, v5: i128):\n return v0\n}",
        )
    };
    assert!(matches!(err, Error::Abi { .. }), "{err:?}");
    assert!(err.to_string().contains("i128 parameter"), "{err}");
}

#[test]
#[cfg(not(windows))]
fn tuples_of_two_results_come_back_in_order() {
    let swap =
        "function %f(i64, i64) -> i64, i64 CC {\nblock0(v0: i64, v1: i64):\n return v1, v0\n}";
    assert_eq!(
        compile::<(i64, i64), (i64, i64)>(swap).call((1, -2)),
        (-2, 1)
    );
    let overflow = "function %f(i64, i64) -> i64, i8 CC {\nblock0(v0: i64, v1: i64):\n v2, v3 = sadd_overflow v0, v1\n return v2, v3\n}";
    let f = compile::<(i64, i64), (i64, bool)>(overflow);
    assert_eq!(f.call((i64::MAX, 1)), (i64::MIN, true));
    assert_eq!(f.call((40, 2)), (42, false));
    let narrow = "function %f(i32) -> i8, i16 CC {\nblock0(v0: i32):\n v1 = ireduce.i8 v0\n v2 = ireduce.i16 v0\n return v1, v2\n}";
    assert_eq!(
        compile::<i32, (u8, i16)>(narrow).call(0x1234_8081),
        (0x81, i16::from_ne_bytes(0x8081u16.to_ne_bytes()))
    );
    let floats = "function %f(f64, f32) -> f32, f64 CC {\nblock0(v0: f64, v1: f32):\n v2 = fneg v1\n return v2, v0\n}";
    assert_eq!(
        compile::<(f64, f32), (f32, f64)>(floats).call((0.5, 1.5)),
        (-1.5, 0.5)
    );
}

#[test]
#[cfg(not(windows))]
fn tuples_the_host_abi_returns_elsewhere_are_refused_and_the_rest_agree() {
    let mixed =
        "function %f(i64, f64) -> f64, i64 CC {\nblock0(v0: i64, v1: f64):\n return v1, v0\n}";
    let four = "function %f(f64) -> f64, f64, f32, f64 CC {\nblock0(v0: f64):\n v1 = fneg v0\n v2 = fdemote.f32 v0\n v3 = fadd v0, v0\n return v0, v1, v2, v3\n}";
    let ints3 = "function %f(i64) -> i64, i64, i64 CC {\nblock0(v0: i64):\n return v0, v0, v0\n}";
    let wide = "function %f(i128) -> i128, i8 CC {\nblock0(v0: i128):\n v1 = ireduce.i8 v0\n return v0, v1\n}";
    for err in [
        refused::<i64, (i64, i64, i64)>(ints3),
        refused::<i128, (i128, i8)>(wide),
    ] {
        assert!(matches!(err, Error::Abi { .. }), "{err:?}");
        assert!(err.to_string().starts_with("fnjit cannot call"), "{err}");
    }
    if cfg!(target_arch = "aarch64") {
        assert!(matches!(
            refused::<(i64, f64), (f64, i64)>(mixed),
            Error::Abi { .. }
        ));
        let f = compile::<f64, (f64, f64, f32, f64)>(four);
        assert_eq!(f.call(1.25), (1.25, -1.25, 1.25, 2.5));
    } else {
        assert!(matches!(
            refused::<f64, (f64, f64, f32, f64)>(four),
            Error::Abi { .. }
        ));
        let f = compile::<(i64, f64), (f64, i64)>(mixed);
        assert_eq!(f.call((7, -0.5)), (-0.5, 7));
    }
}

#[test]
#[cfg(not(windows))]
fn vectors_travel_in_vector_registers_lane_by_lane() {
    let add = |ty: &str, op: &str| {
        format!(
            "function %f({ty}, {ty}) -> {ty} CC {{\nblock0(v0: {ty}, v1: {ty}):\n v2 = {op} v0, v1\n return v2\n}}"
        )
    };
    let a8: [i8; 16] = std::array::from_fn(|i| (i as i8).wrapping_mul(37).wrapping_sub(100));
    let b8: [i8; 16] = std::array::from_fn(|i| 100i8.wrapping_sub((i as i8).wrapping_mul(9)));
    let f = compile::<(I8x16, I8x16), I8x16>(&add("i8x16", "iadd"));
    let want: [i8; 16] = std::array::from_fn(|i| a8[i].wrapping_add(b8[i]));
    assert_eq!(<[i8; 16]>::from(f.call((a8.into(), b8.into()))), want);

    let f = compile::<(I16x8, I16x8), I16x8>(&add("i16x8", "imul"));
    let (a, b) = (
        [1i16, -2, 300, -400, 5, 6, i16::MAX, 8],
        [9i16, 8, 7, 6, -5, 4, 2, 1],
    );
    let want: [i16; 8] = std::array::from_fn(|i| a[i].wrapping_mul(b[i]));
    assert_eq!(f.call((a.into(), b.into())).to_array(), want);

    let f = compile::<(I32x4, I32x4), I32x4>(&add("i32x4", "isub"));
    assert_eq!(
        f.call(([1, 2, 3, i32::MIN].into(), [4, 3, 2, 1].into()))
            .to_array(),
        [-3, -1, 1, i32::MAX]
    );
    let f = compile::<(I64x2, I64x2), I64x2>(&add("i64x2", "iadd"));
    assert_eq!(
        f.call(([1, i64::MAX].into(), [-2, 1].into())).to_array(),
        [-1, i64::MIN]
    );
    let f = compile::<(F32x4, F32x4), F32x4>(&add("f32x4", "fmul"));
    assert_eq!(
        f.call(([1.5, -2.0, 0.0, 3.0].into(), [2.0, 0.25, -1.0, 1e30].into()))
            .to_array(),
        [3.0, -0.5, -0.0, 3.0 * 1e30f32]
    );
    let f = compile::<(F64x2, F64x2), F64x2>(&add("f64x2", "fdiv"));
    assert_eq!(
        f.call(([1.0, -3.0].into(), [4.0, 0.5].into())).to_array(),
        [0.25, -6.0]
    );

    // Mixed with scalars: lanes out, scalars in.
    let lane = "function %f(i64, f64x2, i32x4) -> f64 CC {\nblock0(v0: i64, v1: f64x2, v2: i32x4):\n v3 = extractlane v1, 1\n v4 = extractlane v2, 3\n v5 = fcvt_from_sint.f64 v4\n v6 = fcvt_from_sint.f64 v0\n v7 = fadd v3, v5\n v8 = fadd v7, v6\n return v8\n}";
    let f = compile::<(i64, F64x2, I32x4), f64>(lane);
    assert_eq!(f.call((100, [1.0, 2.5].into(), [0, 0, 0, -7].into())), 95.5);
    let splat =
        "function %f(f32) -> f32x4 CC {\nblock0(v0: f32):\n v1 = splat.f32x4 v0\n return v1\n}";
    assert_eq!(compile::<f32, F32x4>(splat).call(0.5).to_array(), [0.5; 4]);
}

/// Windows x64: what rustc passes by reference or returns in memory is refused (an i128, a
/// vector parameter, a tuple); a vector result comes back in `xmm0` in both, lane by lane.
#[test]
#[cfg(windows)]
fn windows_x64_refuses_what_rustc_passes_by_reference_or_returns_in_memory() {
    let i128s = "function %f(i128, i128) -> i128 CC {\nblock0(v0: i128, v1: i128):\n v2 = iadd v0, v1\n return v2\n}";
    let pair =
        "function %f(i64, i64) -> i64, i64 CC {\nblock0(v0: i64, v1: i64):\n return v1, v0\n}";
    let vectors = "function %f(i32x4, i32x4) -> i32x4 CC {\nblock0(v0: i32x4, v1: i32x4):\n v2 = iadd v0, v1\n return v2\n}";
    for (err, says) in [
        (
            refused::<(i128, i128), i128>(i128s),
            "passes an i128 by reference",
        ),
        (
            refused::<(i64, i64), (i64, i64)>(pair),
            "returns a struct through memory",
        ),
        (
            refused::<(I32x4, I32x4), I32x4>(vectors),
            "passes a 128-bit vector by reference",
        ),
    ] {
        assert!(matches!(err, Error::Abi { .. }), "{err:?}");
        assert!(err.to_string().contains(says), "{err}");
    }
    let splat = compile::<(i32,), I32x4>(
        "function %f(i32) -> i32x4 CC {\nblock0(v0: i32):\n v1 = splat.i32x4 v0\n return v1\n}",
    );
    assert_eq!(splat.call((-7,)).to_array(), [-7; 4]);
    let lanes = compile::<(f64, f64), F64x2>(
        "function %f(f64, f64) -> f64x2 CC {\nblock0(v0: f64, v1: f64):\n v2 = scalar_to_vector.f64x2 v0\n v3 = insertlane v2, v1, 1\n return v3\n}",
    );
    assert_eq!(
        lanes.call((1.5, -0.0)).to_array().map(f64::to_bits),
        [1.5f64.to_bits(), (-0.0f64).to_bits()]
    );
}
