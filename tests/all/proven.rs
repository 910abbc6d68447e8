//! What `Jit::compile` accepts because its operands prove it safe: division by a constant that
//! cannot trap, the function's own stack slots, calls within a batch and to fnjit's math
//! functions; what it still refuses, with the reason; and Cranelift's libcalls resolved to
//! fnjit's Rust functions on a CPU without the instructions.

use crate::types::clif;
use fnjit::{Error, Jit};

fn refusal(text: &str) -> String {
    let mut jit = Jit::new().expect("jit");
    let func = clif(&jit, text);
    let err = jit.compile::<i64, i64>(&func).expect_err(text);
    assert!(matches!(err, Error::UnsafeIr { .. }), "{err:?}");
    err.to_string()
}

#[test]
fn division_by_a_constant_that_cannot_trap_is_accepted() {
    let mut jit = Jit::new().expect("jit");
    for (op, k) in [
        ("udiv", 8),
        ("urem", 7),
        ("sdiv", -3),
        ("srem", 5),
        ("sdiv", 1),
    ] {
        let text = format!(
            "function %f(i64) -> i64 CC {{\nblock0(v0: i64):\n v1 = iconst.i64 {k}\n v2 = {op} v0, v1\n return v2\n}}"
        );
        let f = jit.compile::<i64, i64>(&clif(&jit, &text)).expect(&text);
        for x in [0i64, 1, -1, 100, -100, i64::MIN, i64::MAX] {
            let want = match op {
                "udiv" => ((x as u64) / k as u64) as i64,
                "urem" => ((x as u64) % k as u64) as i64,
                "sdiv" => x.wrapping_div(k),
                _ => x.wrapping_rem(k),
            };
            assert_eq!(f.call(x), want, "{op} {x} by {k}");
        }
    }
    // An i8 constant of 255 is -1 in its width.
    let minus_one_i8 = "function %f(i8) -> i8 CC {\nblock0(v0: i8):\n v1 = iconst.i8 255\n v2 = sdiv v0, v1\n return v2\n}";
    let err = jit
        .compile::<i8, i8>(&clif(&jit, minus_one_i8))
        .expect_err("sdiv by -1");
    assert!(
        err.to_string().contains("sdiv by the constant -1 traps"),
        "{err}"
    );
    assert!(
        refusal("function %f(i64) -> i64 CC {\nblock0(v0: i64):\n v1 = iconst.i64 0\n v2 = udiv v0, v1\n return v2\n}")
            .contains("udiv by the constant 0 traps")
    );
    assert!(
        refusal("function %f(i64) -> i64 CC {\nblock0(v0: i64):\n v2 = urem v0, v0\n return v2\n}")
            .contains("urem traps on a zero divisor")
    );
}

#[test]
fn the_functions_own_stack_slots_are_accepted_inside_their_bounds() {
    let mut jit = Jit::new().expect("jit");
    let ok = "function %f(i64) -> i64 CC {
        ss0 = explicit_slot 16
    block0(v0: i64):
        v6 = stack_addr.i64 ss0+8
        store v0, v6
        v1 = stack_addr.i64 ss0
        v2 = iconst.i64 3
        store v2, v1
        v7 = iconst.i64 1
        v8 = iadd v7, v1
        istore8 v0, v8
        v3 = load.i64 v6
        v4 = load.i64 v1
        v5 = imul v3, v4
        return v5
    }";
    let f = jit.compile::<i64, i64>(&clif(&jit, ok)).expect("in bounds");
    // The low byte but one of the 3 stored at offset 0 is overwritten by 14.
    assert_eq!(f.call(14), 14 * (3 + 14 * 256));
    // A frame far bigger than a page is probed page by page on the way down.
    let big = "function %f(i64) -> i64 CC {
        ss0 = explicit_slot 1048576
    block0(v0: i64):
        v2 = stack_addr.i64 ss0+1048568
        store v0, v2
        v1 = load.i64 v2
        return v1
    }";
    assert_eq!(
        jit.compile::<i64, i64>(&clif(&jit, big))
            .expect("big")
            .call(-9),
        -9
    );
    for (text, want) in [
        (
            "function %f(i64) -> i64 CC {\n ss0 = explicit_slot 8\nblock0(v0: i64):\n v1 = stack_addr.i64 ss0+4\n store v0, v1\n return v0\n}",
            "the access of 8 bytes at offset 4 of ss0 lies outside its 8 bytes",
        ),
        (
            "function %f(i64) -> i64 CC {\n ss0 = explicit_slot 8\nblock0(v0: i64):\n v1 = stack_addr.i64 ss0\n return v1\n}",
            "uses the address of ss0 other than as the address of a load or store",
        ),
        (
            "function %f(i64) -> i64 CC {\n ss0 = explicit_slot 8\nblock0(v0: i64):\n v1 = stack_addr.i64 ss0\n v2 = iadd v1, v0\n v3 = load.i64 v2\n return v3\n}",
            "uses the address of ss0 other than",
        ),
        (
            "function %f(i64) -> i64 CC {\n ss0 = explicit_slot 8\nblock0(v0: i64):\n v1 = stack_addr.i64 ss0\n v4 = iconst.i64 4\n v2 = iadd v1, v4\n v3 = load.i64 v2\n return v3\n}",
            "the access of 8 bytes at offset 4 of ss0 lies outside",
        ),
        (
            "function %f(i64) -> i64 CC {\n ss0 = explicit_slot 8\nblock0(v0: i64):\n v1 = stack_addr.i64 ss0\n store v1, v1\n return v0\n}",
            "uses the address of ss0 other than",
        ),
        (
            "function %f(i64) -> i64 CC {\n ss0 = explicit_slot 8\nblock0(v0: i64):\n v1 = stack_addr.i64 ss0\n v2 = load.i64 v1-1\n return v2\n}",
            "offset -1 of ss0 lies outside",
        ),
        (
            "function %f(i64) -> i64 CC {\nblock0(v0: i64):\n v1 = load.i64 v0\n return v1\n}",
            "load touches memory",
        ),
        (
            "function %f(i64) -> i64 CC {\n ss0 = explicit_slot 16\nblock0(v0: i64):\n v1 = stack_addr.i64 ss0+4\n v2 = atomic_rmw.i64 add v1, v0\n return v2\n}",
            "the atomic access of 8 bytes at offset 4 of ss0 is not one of at most 8 bytes at a multiple",
        ),
        (
            "function %f(i64) -> i64 CC {\n ss0 = explicit_slot 16, align = 16\nblock0(v0: i64):\n v1 = stack_addr.i64 ss0\n v3 = sextend.i128 v0\n atomic_store v3, v1\n return v0\n}",
            "the atomic access of 16 bytes at offset 0 of ss0",
        ),
    ] {
        let got = refusal(text);
        assert!(got.contains(want), "{got}\nwanted: {want}");
    }
}

#[test]
fn calls_within_a_batch_are_accepted_and_recursion_refused() {
    let mut jit = Jit::new().expect("jit");
    let double =
        "function u0:0(i64) -> i64 CC {\nblock0(v0: i64):\n v1 = iadd v0, v0\n return v1\n}";
    let calls_double = "function u0:1(i64) -> i64 CC {\n fn0 = colocated u0:0(i64) -> i64 CC\nblock0(v0: i64):\n v1 = call fn0(v0)\n v3 = iconst.i64 1\n v2 = iadd v1, v3\n return v2\n}";
    let calls_both = "function u0:2(i64) -> i64 CC {\n fn0 = u0:0(i64) -> i64 CC\n fn1 = u0:1(i64) -> i64 CC\nblock0(v0: i64):\n v1 = call fn0(v0)\n v2 = call fn1(v1)\n return v2\n}";
    let funcs: Vec<_> = [double, calls_double, calls_both]
        .iter()
        .map(|t| clif(&jit, t))
        .collect();
    let fs = jit.compile_many::<i64, i64>(&funcs).expect("a call chain");
    assert_eq!((fs[0].call(5), fs[1].call(5), fs[2].call(5)), (10, 11, 21));

    let loop_a = "function u0:0(i64) -> i64 CC {\n fn0 = u0:1(i64) -> i64 CC\nblock0(v0: i64):\n v1 = call fn0(v0)\n return v1\n}";
    let loop_b = "function u0:1(i64) -> i64 CC {\n fn0 = u0:0(i64) -> i64 CC\nblock0(v0: i64):\n v1 = call fn0(v0)\n return v1\n}";
    let funcs: Vec<_> = [double, loop_a, loop_b]
        .iter()
        .map(|t| clif(&jit, t))
        .collect();
    let err = jit
        .compile_many::<i64, i64>(&funcs)
        .expect_err("mutual recursion");
    assert!(err.to_string().contains("may not recurse"), "{err}");
    let itself = "function u0:0(i64) -> i64 CC {\n fn0 = u0:0(i64) -> i64 CC\nblock0(v0: i64):\n v1 = call fn0(v0)\n return v1\n}";
    assert!(refusal(itself).contains("may not recurse"));
    let wrong_sig = "function u0:0(i64) -> i64 CC {\n fn0 = u0:1(f64) -> i64 CC\nblock0(v0: i64):\n v1 = fcvt_from_sint.f64 v0\n v2 = call fn0(v1)\n return v2\n}";
    let funcs: Vec<_> = [wrong_sig, double].iter().map(|t| clif(&jit, t)).collect();
    let err = jit.compile_many::<i64, i64>(&funcs).expect_err("signature");
    assert!(
        err.to_string().contains("but function 1 of the batch is"),
        "{err}"
    );
    let beyond = "function u0:0(i64) -> i64 CC {\n fn0 = u0:5(i64) -> i64 CC\nblock0(v0: i64):\n v1 = call fn0(v0)\n return v1\n}";
    assert!(refusal(beyond).contains("u0:5 names no function"));
}

#[test]
fn calls_to_fnjits_math_and_rounding_libcalls_are_accepted() {
    let mut jit = Jit::new().expect("jit");
    // u1:9 is sin, u1:8 pow, as Jit::import_math declares them.
    let text = "function %f(f64) -> f64 CC {
        fn0 = colocated u1:9(f64) -> f64 CC
        fn1 = u1:8(f64, f64) -> f64 CC
        fn2 = colocated %CeilF64(f64) -> f64 CC
    block0(v0: f64):
        v1 = call fn0(v0)
        v2 = call fn1(v1, v0)
        v3 = call fn2(v2)
        return v3
    }";
    let f = jit
        .compile::<f64, f64>(&clif(&jit, text))
        .expect("math calls");
    for x in [0.5, 1.0, 2.0, 0.1] {
        assert_eq!(f.call(x).to_bits(), x.sin().powf(x).ceil().to_bits(), "{x}");
    }
    let mut jit = Jit::new().expect("jit");
    let wrong = "function %f(f64) -> f64 CC {\n fn0 = u1:9(f64, f64) -> f64 CC\nblock0(v0: f64):\n v1 = call fn0(v0, v0)\n return v1\n}";
    let err = jit
        .compile::<f64, f64>(&clif(&jit, wrong))
        .expect_err("sig");
    assert!(
        err.to_string().contains("but fnjit_sin is `(f64) -> f64"),
        "{err}"
    );
    let unknown = "function %f(f64) -> f64 CC {\n fn0 = u1:99(f64) -> f64 CC\nblock0(v0: f64):\n v1 = call fn0(v0)\n return v1\n}";
    let err = jit
        .compile::<f64, f64>(&clif(&jit, unknown))
        .expect_err("u1:99");
    assert!(
        err.to_string().contains("u1:99 is no math function"),
        "{err}"
    );
    let memcpy = "function %f(i64) -> i64 CC {\n fn0 = %Memcpy(i64, i64, i64) -> i64 CC\nblock0(v0: i64):\n v1 = call fn0(v0, v0, v0)\n return v1\n}";
    assert!(refusal(memcpy).contains("call makes a call"));
    assert!(matches!(
        jit.import_math(&mut clif(&jit, unknown), "gamma"),
        Err(Error::Link { .. })
    ));
}

/// Without SSE4.1 and FMA (x86-64) Cranelift turns `ceil`, `nearest` and `fma` into libcalls:
/// each resolves to fnjit's Rust function, in any process.
#[test]
fn libcalls_for_instructions_the_cpu_lacks_resolve_to_rust() {
    let mut jit = Jit::without_cpu_features(if cfg!(target_arch = "x86_64") {
        &["has_sse41", "has_fma"]
    } else {
        &[]
    })
    .expect("jit");
    let text = "function %f(f32, f64) -> f64 CC {
    block0(v0: f32, v1: f64):
        v2 = ceil v0
        v3 = fpromote.f64 v2
        v4 = nearest v1
        v5 = fma v3, v4, v1
        v6 = floor v5
        v7 = trunc v6
        return v7
    }";
    let func = clif(&jit, text);
    let f = jit.compile::<(f32, f64), f64>(&func).expect("libcalls");
    for (a, b) in [(1.5f32, 2.5f64), (-0.5, -3.5), (7.25, 0.1)] {
        let want = (f64::from(a.ceil()).mul_add(b.round_ties_even(), b))
            .floor()
            .trunc();
        assert_eq!(f.call((a, b)).to_bits(), want.to_bits(), "{a} {b}");
    }
    if cfg!(target_arch = "x86_64") {
        // The code calls out: no roundss/roundsd, no vfmadd.
        let code = f.code();
        assert!(code.len() > 40, "{} bytes", code.len());
    }
    let err = Jit::without_cpu_features(&["opt_level"]).expect_err("not a feature");
    assert!(matches!(err, Error::Isa { .. }), "{err}");
}

/// IR the verifier passes but Cranelift or cranelift-jit cannot handle is an error naming the
/// symbol or the cause, from `compile` and `compile_unchecked` alike; the process goes on.
#[test]
fn unlinkable_names_and_libcalls_are_errors_not_panics() {
    let mut jit = Jit::new().expect("jit");
    let tls = "function %f(i64) -> i64 CC {\n fn0 = %ElfTlsGetAddr(i64) -> i64 CC\nblock0(v0: i64):\n v1 = call fn0(v0)\n return v1\n}";
    // SAFETY: refused before any code exists; nothing is called.
    let err = unsafe { jit.compile_unchecked::<i64, i64>(&clif(&jit, tls)) }.expect_err("tls");
    assert!(err.to_string().contains("ElfTlsGetAddr"), "{err}");
    let math_ns = "function %f(i64) -> i64 CC {\n fn0 = u7:3(i64) -> i64 CC\nblock0(v0: i64):\n v1 = call fn0(v0)\n return v1\n}";
    // SAFETY: as above.
    let err = unsafe { jit.compile_unchecked::<i64, i64>(&clif(&jit, math_ns)) }.expect_err("u7");
    assert!(matches!(err, Error::Link { .. }), "{err}");
    assert!(err.to_string().contains("u7:3"), "{err}");
    // Cranelift 0.135's x86-64 backend reaches `unreachable!` on a saturating conversion to i8:
    // the panic is caught and returned.
    if cfg!(target_arch = "x86_64") {
        let sat = "function %f(f32) -> i8 CC {\nblock0(v0: f32):\n v1 = fcvt_to_sint_sat.i8 v0\n return v1\n}";
        let err = jit
            .compile::<f32, i8>(&clif(&jit, sat))
            .expect_err("a panic in Cranelift");
        assert!(matches!(err, Error::Panicked { .. }), "{err:?}");
        assert!(
            err.to_string()
                .starts_with("Cranelift panicked while compiling"),
            "{err}"
        );
    }
}
