//! `Evaluator<T>`: interprets until the first threshold, compiles the baseline tier on the calling
//! thread, asks for optimized code at the second and switches when it is there, and gives the
//! interpreter's results while threads call it across both switches. (Random formulas in
//! both tiers against the interpreter: `tests/all/differential.rs`; where the OS refuses executable
//! memory: `tests/all/exec_refused.rs`.)

#![cfg_attr(
    windows,
    allow(unused_imports, dead_code, reason = "no baseline tier there")
)]

use fnjit::check::same_f64;
use fnjit::{Error, Evaluator, Tier};
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
