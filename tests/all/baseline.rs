//! The baseline tier through the public API: what `Strategy` selects, and the shapes the random
//! formulas of the harness (`differential.rs`, every path on both strategies) do not reach: frames
//! bigger than a page, thousands of variables, and your IR at Cranelift's fastest settings.

use fnjit::check::same_f64;
use fnjit::{Evaluator, Formula, Jit, Strategy, Tier};

fn baseline() -> Jit {
    Jit::with_strategy(Strategy::Baseline).expect("a baseline Jit")
}

#[test]
fn the_strategy_is_chosen_once_and_reported() {
    assert_eq!(Jit::new().expect("jit").strategy(), Strategy::Optimizing);
    let mut jit = baseline();
    assert_eq!(jit.strategy(), Strategy::Baseline);
    let formula = Formula::<f64>::parse("x * y + sin(x)", &["x", "y"]).expect("parse");
    let f = jit
        .compile_formula::<(f64, f64), f64>(&formula)
        .expect("compile");
    assert_eq!(f.call((2.0, 3.0)), 6.0 + 2f64.sin());
    assert_eq!(f.ir(), "", "the baseline tier builds no IR");
    let k = jit.compile_kernel(&formula).expect("kernel");
    assert_eq!((k.lanes(), k.ir()), (1, ""), "one row at a time, no IR");
    let optimized = Jit::new()
        .and_then(|mut jit| jit.compile_formula::<(f64, f64), f64>(&formula))
        .expect("compile");
    assert_ne!(f.code(), optimized.code(), "the two tiers' code differs");
}

/// 1,500 values on the stack at once: a frame of 12 KB, entered page by page.
#[test]
fn a_frame_bigger_than_a_page_runs_every_shape() {
    let src = vec!["x"; 1500].join(" ** ");
    let nested = format!("{}x{}", "(x - ".repeat(900), ")".repeat(900));
    let mut jit = baseline();
    let f64_formula = Formula::<f64>::parse(&src, &["x"]).expect("parse");
    let i64_formula = Formula::<i64>::parse(&nested, &["x"]).expect("parse");
    for x in [1.0001, 0.5, -2.0, f64::NAN] {
        let want = f64_formula.eval(&[x]).expect("eval");
        let f = jit
            .compile_formula::<f64, f64>(&f64_formula)
            .expect("compile");
        assert!(same_f64(f.call(x), want), "{x}");
        let mut out = [0.0; 3];
        let k = jit.compile_kernel(&f64_formula).expect("kernel");
        k.eval(&[&[x; 3]], &mut out).expect("eval");
        assert!(out.iter().all(|&o| same_f64(o, want)), "{x}");
    }
    for x in [7, -3, i64::MIN] {
        let f = jit
            .compile_formula::<i64, i64>(&i64_formula)
            .expect("compile");
        assert_eq!(f.call(x), i64_formula.eval(&[x]).expect("eval"));
    }
    let e = Evaluator::<i64>::with_thresholds(&nested, &["x"], 0, u64::MAX).expect("parse");
    assert_eq!(
        e.eval(&[5]).expect("eval"),
        i64_formula.eval(&[5]).expect("eval")
    );
    assert_eq!(e.tier(), Tier::Baseline);
}

/// 5,000 variables: offsets past every short immediate form, for a kernel's column table and an
/// Evaluator's arguments.
#[test]
fn thousands_of_variables_reach_every_column() {
    let names: Vec<String> = (0..5000).map(|i| format!("v{i}")).collect();
    let vars: Vec<&str> = names.iter().map(String::as_str).collect();
    let src = names
        .iter()
        .enumerate()
        .map(|(i, v)| format!("{v} * {}", i % 7))
        .collect::<Vec<_>>()
        .join(" + ");
    let formula = Formula::<i32>::parse(&src, &vars).expect("parse");
    let args: Vec<i32> = (0..5000).map(|i| i * 3 - 7000).collect();
    let want = formula.eval(&args).expect("eval");
    let k = baseline().compile_kernel(&formula).expect("kernel");
    let columns: Vec<[i32; 2]> = args.iter().map(|&a| [a, a]).collect();
    let columns: Vec<&[i32]> = columns.iter().map(|c| &c[..]).collect();
    let mut out = [0; 2];
    k.eval(&columns, &mut out).expect("eval");
    assert_eq!(out, [want; 2]);
    let e = Evaluator::<i32>::with_thresholds(&src, &vars, 0, u64::MAX).expect("parse");
    assert_eq!(e.eval(&args).expect("eval"), want);
    assert_eq!(e.tier(), Tier::Baseline);
}

#[test]
fn your_ir_compiles_at_cranelifts_fastest_settings() {
    let square = cranelift_reader::parse_functions(
        "function %sq(f64) -> f64 system_v {\nblock0(v0: f64):\n    v1 = fmul v0, v0\n    return v1\n}",
    )
    .expect("CLIF");
    let mut jit = baseline();
    let f = jit.compile::<f64, f64>(&square[0]).expect("compile");
    assert_eq!(f.call(1.5), 2.25);
    let fs = jit.compile_many::<f64, f64>(&square).expect("compile");
    assert_eq!(fs[0].call(-3.0), 9.0);
}

/// The 20-operator formula of the benchmarks, for the profiling tests below.
pub(crate) fn formula_20() -> Formula<f64> {
    Formula::parse(
        "x*y-z/(x+1.5)+y*y*0.5-x/3.0+z*z*z-(x-y)*(y-z)+2.5*x-y/4.0+z",
        &["x", "y", "z"],
    )
    .expect("parse")
}

/// Where a baseline compile's time goes: run under callgrind, one compile of the 20-operator
/// formula a thousand times (`valgrind --tool=callgrind <test binary> --ignored --exact
/// baseline::compile_under_a_profiler`).
#[test]
#[ignore = "for a profiler"]
fn compile_under_a_profiler() {
    let mut jit = baseline();
    let formula = formula_20();
    for _ in 0..1000 {
        let f = jit
            .compile_formula::<(f64, f64, f64), f64>(&formula)
            .expect("compile");
        assert!(f.call((1.0, 2.0, 3.0)).is_finite());
    }
}

/// Where parsing's time goes, for the profiler: the 20-operator formula parsed a thousand times.
#[test]
#[ignore = "for a profiler"]
fn parse_under_a_profiler() {
    for _ in 0..1000 {
        assert_eq!(formula_20().vars().len(), 3);
    }
}

/// How a baseline kernel's speed depends on where its code lands: the same loop compiled eight
/// times (each at another place in the shared chunk), each timed over 1,000,000 rows. A tool for
/// looking, not a check: `cargo test --test all -- --ignored --nocapture kernel_speed_by_address`.
#[test]
#[ignore = "a measurement"]
fn kernel_speed_by_address() {
    let mut jit = baseline();
    let formula = formula_20();
    let rows = 1_000_000;
    let cols: Vec<Vec<f64>> = (0..3)
        .map(|c| {
            (0..rows)
                .map(|i| 0.5 + ((i * (c + 3)) % 1000) as f64 * 0.001)
                .collect()
        })
        .collect();
    let cols: Vec<&[f64]> = cols.iter().map(Vec::as_slice).collect();
    let mut out = vec![0.0; rows];
    let mut keep = Vec::new();
    for _ in 0..8 {
        let k = jit.compile_kernel(&formula).expect("kernel");
        let mut best = f64::MAX;
        for _ in 0..5 {
            let start = std::time::Instant::now();
            k.eval(&cols, &mut out).expect("eval");
            best = best.min(start.elapsed().as_nanos() as f64 / rows as f64);
        }
        println!(
            "{:p} (offset {:3} in 64): {best:.2} ns/row",
            k.code().as_ptr(),
            k.code().as_ptr() as usize % 64
        );
        keep.push(k);
        // Shift the next kernel by a small function in between.
        keep.push(
            jit.compile_kernel(&Formula::parse("x", &["x", "y", "z"]).expect("x"))
                .expect("k"),
        );
    }
}
