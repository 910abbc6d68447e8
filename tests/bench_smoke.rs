//! `fnjit bench` measures every contender it names, with sane figures, and its JSON and chart
//! carry them all. (No timing targets here: those live in the benchmarks.)

use fnjit::bench::{EXPRESSION, LATENCY, PHASES, Results, THROUGHPUT, TO_CALLABLE, run};

#[test]
fn bench_measures_every_contender_and_round_trips_through_json_and_svg() {
    let results = run(1).expect("bench");
    for group in [THROUGHPUT, LATENCY, TO_CALLABLE, PHASES] {
        let rows: Vec<_> = results.rows.iter().filter(|r| r.group == group).collect();
        assert!(rows.len() >= 4, "{group}: {rows:?}");
        assert!(
            (rows[0].ratio - 1.0).abs() < 1e-9,
            "{group}: the baseline comes first"
        );
        assert!(
            rows.iter()
                .all(|r| r.median_ns > 0.0 && r.p25_ns <= r.p75_ns),
            "{rows:?}"
        );
    }
    let names: Vec<_> = results.rows.iter().map(|r| r.name.as_str()).collect();
    for name in [
        "native Rust, fn pointer",
        "JitFunction::call, far (mmap(NULL))",
        "Jit::compile_inc(), reused Jit",
    ] {
        assert!(names.contains(&name), "{name} missing from {names:?}");
    }
    assert!(results.check_inputs_per_s > 0.0);
    let expr: Vec<_> = results
        .rows
        .iter()
        .filter(|r| r.group == EXPRESSION)
        .collect();
    assert_eq!(expr.len(), 2, "{expr:?}");
    assert!(
        (expr[1].ratio - 1.0).abs() < 1e-9,
        "the JIT is the yardstick: {expr:?}"
    );

    let json = serde_json::to_string(&results).expect("to json");
    let back: Results = serde_json::from_str(&json).expect("from json");
    assert_eq!(back.rows.len(), results.rows.len());
    let svg = fnjit::plot::svg(&back);
    assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
    assert!(svg.contains("JitFunction::call, near") && svg.contains("compile_inc()"));
}
