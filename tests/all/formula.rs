//! Formulas: the typed entry points refuse what does not fit; compiled code calls the
//! interpreter's math functions from anywhere and from many threads; no input of any size
//! crashes. (Random formulas of every type against the interpreter, on every path:
//! `tests/all/differential.rs`.)

use fnjit::check::same_f64;
use fnjit::{Error, Formula, Jit, compile_formula, eval_formula};

#[test]
fn compile_formula_takes_one_parameter_of_the_formulas_type_per_variable() {
    let f = compile_formula::<(f64, f64), f64>("x*y + sin(x)", &["x", "y"]).expect("compile");
    assert_eq!(f.call((2.0, 3.0)), 6.0 + 2f64.sin());
    let none = compile_formula::<(), f64>("pi * 2", &[]).expect("no variables");
    assert_eq!(none.call(()), std::f64::consts::TAU);
    let six = compile_formula::<(i64, i64, i64, i64, i64, i64), i64>(
        "a + 2*b + 3*c + 4*d + 5*g + 6*h",
        &["a", "b", "c", "d", "g", "h"],
    )
    .expect("six");
    assert_eq!(six.call((1, 1, 1, 1, 1, 1)), 21);
    for (result, want) in [
        (
            compile_formula::<(f64,), f64>("x*y", &["x", "y"]).map(|_| ()),
            "the formula is `(f64, f64) -> f64 system_v` (one parameter of its type per variable), but `(f64) -> f64 system_v` was asked for",
        ),
        (
            compile_formula::<(f64, i64), f64>("x*y", &["x", "y"]).map(|_| ()),
            "the formula is `(f64, f64) -> f64 system_v` (one parameter of its type per variable), but `(f64, i64) -> f64 system_v` was asked for",
        ),
    ] {
        let want = crate::common::host_cc(want);
        let err = result.expect_err(&want);
        assert!(matches!(err, Error::FormulaType { .. }), "{err:?}");
        assert_eq!(err.to_string(), want);
    }
}

#[test]
fn one_parse_compiles_and_evaluates_many_times() {
    let formula = Formula::<f64>::parse("x**2 + y", &["x", "y"]).expect("parse");
    let mut jit = Jit::new().expect("jit");
    let (a, b) = (
        jit.compile_formula::<(f64, f64), f64>(&formula).expect("a"),
        jit.compile_formula::<(f64, f64), f64>(&formula).expect("b"),
    );
    assert_eq!(a.call((3.0, 1.0)), 10.0);
    assert_eq!(b.call((3.0, 1.0)), formula.eval(&[3.0, 1.0]).expect("eval"));
    assert_eq!(formula.vars(), ["x", "y"]);
    assert_eq!(formula.operators(), 2);
    assert_ne!(a.code().as_ptr(), b.code().as_ptr());
}

#[test]
fn compiled_formulas_call_the_interpreters_math_functions() {
    let f = compile_formula::<(f64,), f64>("sin(x) + x % 0.3 + x ** 1.5 + round(x)", &["x"])
        .expect("compile");
    assert!(f.ir().contains("call fn0"), "{}", f.ir());
    for x in [0.0, 0.1, 2.5, -2.5, 1e300, f64::NAN] {
        let want = eval_formula::<f64>("sin(x) + x % 0.3 + x ** 1.5 + round(x)", &["x"], &[x])
            .expect("eval");
        assert!(same_f64(f.call((x,)), want), "{x}");
    }
}

#[test]
fn calls_from_many_threads_at_once() {
    let f = compile_formula::<(f64, f64), f64>("hypot(x, y) * cos(x) - y ** 0.5", &["x", "y"])
        .expect("compile");
    std::thread::scope(|s| {
        for t in 0..4 {
            let f = &f;
            s.spawn(move || {
                for i in 0..50_000 {
                    let (x, y) = (f64::from(i) * 0.001, f64::from(t) + 0.5);
                    let want = x.hypot(y) * x.cos() - y.powf(0.5);
                    assert_eq!(f.call((x, y)).to_bits(), want.to_bits());
                }
            });
        }
    });
}

#[test]
fn no_input_of_any_size_crashes() {
    let deep = format!("{}x{}", "sin(".repeat(2_000), ")".repeat(2_000));
    let ternaries = "x ? ".repeat(1_500) + "1" + &" : 2".repeat(1_500);
    let powers = vec!["x"; 50_000].join(" ** ");
    let huge = "x+".repeat(600_000) + "x";
    let divisions = vec!["x"; 100_002].join("/");
    for src in [
        deep.as_str(),
        &ternaries,
        &huge,
        &divisions,
        &"(".repeat(1 << 20),
    ] {
        let parsed = Formula::<f64>::parse(src, &["x"]);
        let compiled = compile_formula::<(f64,), f64>(src, &["x"]);
        match (parsed, compiled) {
            (Err(a), Err(b)) => assert_eq!(a.to_string(), b.to_string()),
            (a, b) => panic!(
                "{}: parse {:?}, compile {:?}",
                &src[..40],
                a.is_ok(),
                b.is_ok()
            ),
        }
    }
    // Big but within the limits: compiles, and agrees.
    let f = compile_formula::<(f64,), f64>(&powers, &["x"]).expect("50,000 powers");
    let formula = Formula::<f64>::parse(&powers, &["x"]).expect("parse");
    assert!(same_f64(
        f.call((1.0001,)),
        formula.eval(&[1.0001]).expect("eval")
    ));
}

#[test]
fn the_largest_division_heavy_formula_compiles_in_bounded_time() {
    // 100,000 guarded integer divisions: the most work the operator cap admits.
    let src = vec!["x"; 100_001].join(" / ");
    let start = std::time::Instant::now();
    let f = compile_formula::<(i64,), i64>(&src, &["x"]).expect("within the cap");
    eprintln!("100,000 divisions compiled in {:?}", start.elapsed());
    assert_eq!(f.call((1,)), 1);
    assert_eq!(
        f.call((0,)),
        eval_formula::<i64>(&src, &["x"], &[0]).expect("eval")
    );
}

#[test]
fn calls_into_rust_reach_their_callees_from_code_placed_anywhere() {
    // Absolute calls: the callee is reached whether the code lies near the program or not.
    for placement in [fnjit::jit::Placement::Near, fnjit::jit::Placement::Anywhere] {
        let mut jit = Jit::with_placement(placement).expect("jit");
        let formula =
            Formula::<f64>::parse("sin(x) + x % 0.7 + atan2(x, 2)", &["x"]).expect("parse");
        let f = jit
            .compile_formula::<(f64,), f64>(&formula)
            .expect("compile");
        assert_eq!(
            f.is_near(),
            placement == fnjit::jit::Placement::Near,
            "{placement:?}"
        );
        for x in [0.0, 1.5, -3.25, 1e10] {
            assert!(
                same_f64(f.call((x,)), formula.eval(&[x]).expect("eval")),
                "{placement:?} {x}"
            );
        }
    }
}
