//! `Evaluator<T>`: interprets until the first threshold, compiles the baseline tier on the calling
//! thread, asks for optimized code at the second and switches when it is there, and gives the
//! interpreter's results while threads call it across both switches. `TypedEvaluator`: a mixed
//! formula interpreted until the second threshold, then optimized; one of a single type through
//! every tier; wrong arguments refused in each. (Random formulas in
//! both tiers against the interpreter: `tests/all/differential.rs`; where the OS refuses executable
//! memory: `tests/all/exec_refused.rs`.)

#![cfg_attr(
    windows,
    allow(unused_imports, dead_code, reason = "no baseline tier there")
)]

use fnjit::check::same_f64;
use fnjit::{Error, Evaluator, Tier, Ty, TypedEvaluator, TypedFormula, Value};
use std::time::{Duration, Instant};

/// Waits (up to a minute) for the background compile to replace the baseline tier's code.
fn optimized<T: fnjit::Number>(e: &Evaluator<T>) -> Tier {
    let start = Instant::now();
    while e.tier() == Tier::Baseline && start.elapsed() < Duration::from_secs(60) {
        std::thread::sleep(Duration::from_millis(1));
    }
    e.tier()
}

#[test]
#[cfg(not(windows))] // no baseline tier there
fn it_interprets_then_runs_baseline_code_then_optimized_code() {
    let e =
        Evaluator::<f64>::with_thresholds("x * sin(y) + 1", &["x", "y"], 100, 300).expect("parse");
    for i in 0..100 {
        e.eval(&[f64::from(i), 0.5]).expect("two arguments");
    }
    assert_eq!(e.tier(), Tier::Interpreting);
    // The 101st compiles the baseline tier on this thread, and runs it.
    assert_eq!(e.eval(&[2.0, 0.5]).expect("eval"), 2.0 * 0.5f64.sin() + 1.0);
    assert_eq!(e.tier(), Tier::Baseline);
    for i in 101..300 {
        e.eval(&[f64::from(i), 0.5]).expect("two arguments");
    }
    // 300 evaluations: optimized code not yet asked for, so nothing can have been compiled.
    std::thread::sleep(Duration::from_millis(50));
    assert_eq!(e.tier(), Tier::Baseline);
    e.eval(&[1.0, 2.0]).expect("two arguments"); // the 301st asks for it
    assert_eq!(optimized(&e), Tier::Optimized);
    assert_eq!(e.eval(&[2.0, 0.5]).expect("eval"), 2.0 * 0.5f64.sin() + 1.0);
    assert_eq!(
        Evaluator::<f64>::new("x", &["x"]).expect("parse").tier(),
        Tier::Interpreting
    );
}

#[test]
#[cfg(not(windows))] // no baseline tier there
fn threads_evaluating_across_the_switch_all_get_the_right_results() {
    let e = Evaluator::<f64>::with_thresholds(
        "x * x - y / (x + 0.5) + sqrt(y)",
        &["x", "y"],
        2000,
        20_000,
    )
    .expect("parse");
    let formula = e.formula().clone();
    let tiers = std::thread::scope(|s| {
        let workers: Vec<_> = (0..4)
            .map(|t| {
                let (e, formula) = (&e, &formula);
                s.spawn(move || {
                    let mut seen = Vec::new();
                    // 50,000 evaluations at least, and on until this thread has run the optimized
                    // code (a minute at most): on a loaded machine four busy threads can finish
                    // their 50,000 before the compiler thread gets a core.
                    let start = Instant::now();
                    let mut i = 0u32;
                    while i < 50_000
                        || seen.last() != Some(&Tier::Optimized)
                            && start.elapsed() < Duration::from_secs(60)
                    {
                        i += 1;
                        let args = [f64::from(i % 50_000) * 0.001 + f64::from(t), 2.5];
                        let want = formula.eval(&args).expect("eval");
                        assert!(
                            same_f64(e.eval(&args).expect("eval"), want),
                            "thread {t} at {args:?}"
                        );
                        if seen.last() != Some(&e.tier()) {
                            seen.push(e.tier());
                        }
                    }
                    seen
                })
            })
            .collect();
        workers
            .into_iter()
            .map(|w| w.join().expect("worker"))
            .collect::<Vec<_>>()
    });
    assert_eq!(optimized(&e), Tier::Optimized);
    for tier in [Tier::Baseline, Tier::Optimized] {
        assert!(
            tiers.iter().any(|seen| seen.contains(&tier)),
            "no thread ever ran in {tier:?}: {tiers:?}"
        );
    }
}

#[test]
#[cfg(not(windows))] // no baseline tier there
fn a_wrong_number_of_arguments_is_an_error_in_every_tier() {
    let e = Evaluator::<i32>::with_thresholds("x + y", &["x", "y"], 1, 3).expect("parse");
    for tier in [Tier::Interpreting, Tier::Baseline, Tier::Optimized] {
        for wrong in [&[1][..], &[1, 2, 3], &[]] {
            let err = e.eval(wrong).expect_err("a wrong count");
            assert!(matches!(err, Error::Arguments { expected: 2, .. }), "{err}");
            assert!(err.to_string().contains("argument"), "{err}");
        }
        assert_eq!(
            if tier == Tier::Optimized {
                optimized(&e)
            } else {
                e.tier()
            },
            tier
        );
        e.eval(&[1, 2]).expect("two arguments");
        e.eval(&[1, 2]).expect("two arguments"); // past a threshold: the next tier
    }
    assert_eq!(optimized(&e), Tier::Optimized);
    assert_eq!(
        e.eval(&[i32::MAX, 1]).expect("eval"),
        i32::MIN,
        "wrapping, as formulas do"
    );
}

/// Waits (up to a minute) for a typed evaluator's background compile.
fn typed_optimized(e: &TypedEvaluator, args: &[Value]) -> Tier {
    let start = Instant::now();
    while matches!(e.tier(), Tier::Interpreting | Tier::Baseline)
        && start.elapsed() < Duration::from_secs(60)
    {
        e.eval(args).expect("eval");
        std::thread::sleep(Duration::from_millis(1));
    }
    e.tier()
}

#[test]
fn a_typed_evaluator_runs_a_mixed_formula_on_every_tier() {
    let vars = [
        ("x", Ty::F64),
        ("n", Ty::I32),
        ("ok", Ty::Bool),
        ("s", Ty::F32),
    ];
    let f = TypedFormula::parse("where(ok & (x > 0), log(x) * n, f64(s) // 2) + n", &vars)
        .expect("parse");
    let e = TypedEvaluator::with_thresholds(f.clone(), 0, 50);
    let rows: Vec<[Value; 4]> = (0..64)
        .map(|k| {
            [
                Value::F64(f64::from(k) - 20.5),
                Value::I32(k * 7 - 100),
                Value::Bool(k % 3 != 0),
                Value::F32(k as f32 * -1.25),
            ]
        })
        .collect();
    for row in &rows[..50] {
        assert!(e.eval(row).expect("eval").same(f.eval(row).expect("eval")));
    }
    // Baseline code from the first evaluation (Windows has no baseline tier: it interprets)
    // until the optimizing compile.
    let baseline = if cfg!(windows) {
        Tier::Interpreting
    } else {
        Tier::Baseline
    };
    assert_eq!(e.tier(), baseline);
    assert_eq!(typed_optimized(&e, &rows[0]), Tier::Optimized);
    for row in &rows {
        let (got, want) = (e.eval(row).expect("eval"), f.eval(row).expect("eval"));
        assert!(got.same(want), "{row:?}: {got} against {want}");
    }
    // Wrong arguments are the interpreter's errors in the optimized tier too.
    assert!(matches!(
        e.eval(&rows[0][..3]),
        Err(Error::Arguments { .. })
    ));
    let wrong = [
        Value::F64(1.0),
        Value::I64(2),
        Value::Bool(true),
        Value::F32(1.0),
    ];
    assert!(matches!(e.eval(&wrong), Err(Error::FormulaType { .. })));
}

#[test]
#[cfg(not(windows))] // no baseline tier there
fn a_typed_evaluator_of_one_type_goes_through_every_tier() {
    for (src, ty, args, want) in [
        (
            "a * b - 3",
            Ty::I32,
            [Value::I32(6), Value::I32(-7)],
            Value::I32(-45),
        ),
        (
            "a * b + 0.5",
            Ty::F64,
            [Value::F64(1.5), Value::F64(2.0)],
            Value::F64(3.5),
        ),
        (
            "a // b",
            Ty::I64,
            [Value::I64(-7), Value::I64(2)],
            Value::I64(-4),
        ),
    ] {
        let f = TypedFormula::parse(src, &[("a", ty), ("b", ty)]).expect("parse");
        let e = TypedEvaluator::with_thresholds(f, 1, 3);
        assert_eq!(e.eval(&args).expect("eval"), want, "{src}");
        assert_eq!(e.tier(), Tier::Interpreting);
        assert_eq!(e.eval(&args).expect("eval"), want, "{src}");
        // `//` is NumPy's: the program is a typed one, which the baseline tier takes too.
        assert_eq!(e.tier(), Tier::Baseline, "{src}");
        assert_eq!(typed_optimized(&e, &args), Tier::Optimized, "{src}");
        assert_eq!(e.eval(&args).expect("eval"), want, "{src}");
    }
}
