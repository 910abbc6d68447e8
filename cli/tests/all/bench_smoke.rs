//! `fnjit bench` measures every contender it names, with sane figures, and its JSON and chart
//! carry them all. (No timing targets here: those live in the benchmarks.)

use fnjit_cli::bench::{CALLS, Contender, Group, QUICK_TIER_POWERS, Results, TO_CALLABLE, run};
use std::sync::OnceLock;

/// One run of the bench as `fnjit bench` runs it by default (without `--long`), shared by the
/// tests (it takes seconds, minutes under qemu), with the groups it announced.
fn results() -> &'static (Results, Vec<Group>) {
    static RESULTS: OnceLock<(Results, Vec<Group>)> = OnceLock::new();
    RESULTS.get_or_init(|| {
        let announced = std::sync::Mutex::new(Vec::new());
        let results = run(1, false, &|g| announced.lock().expect("lock").push(g)).expect("bench");
        (results, announced.into_inner().expect("lock"))
    })
}

#[test]
fn bench_measures_every_contender_and_round_trips_through_json_and_svg() {
    let (results, announced) = results();
    assert_eq!(
        announced,
        &Group::steps(false),
        "the progress names each step as it starts"
    );
    for group in Group::ALL {
        let rows: Vec<_> = results.rows.iter().filter(|r| r.group == group).collect();
        if group.long_only() {
            assert!(rows.is_empty(), "{group:?} runs only with --long: {rows:?}");
            continue;
        }
        assert!(rows.len() >= 2, "{group:?}: {rows:?}");
        assert!(
            (rows[0].ratio - 1.0).abs() < 1e-9 || group == Group::Expression,
            "{group:?}: the baseline comes first"
        );
        // Every measured figure is a positive time; only the phases derived by subtraction may
        // come out negative on a noisy machine: the rest (the whole minus the parts) and
        // Cranelift's compile (compiling with the build, minus the build).
        assert!(
            rows.iter()
                .filter(|r| !matches!(r.contender, Contender::Rest | Contender::CraneliftCompile))
                .all(|r| r.median_ns > 0.0 && r.p25_ns <= r.median_ns && r.median_ns <= r.p75_ns),
            "{rows:?}"
        );
    }
    for (group, contenders) in [
        (Group::CallIndependent, &CALLS[..]),
        (Group::CallChain, &CALLS[..]),
        (Group::ToCallable, &TO_CALLABLE[..]),
    ] {
        let measured: Vec<_> = results
            .rows
            .iter()
            .filter(|r| r.group == group)
            .map(|r| r.contender)
            .collect();
        assert_eq!(measured, contenders, "{group:?}");
    }
    let expr = |c| results.row(Group::Expression, c).expect("expression row");
    assert!(
        (expr(Contender::JitExpr).ratio - 1.0).abs() < 1e-9,
        "the JIT is the yardstick"
    );
    assert!(results.check_inputs_per_s > 0.0);
    assert!(results.check_vs_call_throughput.is_finite());
    let tiers = results
        .rows
        .iter()
        .filter(|r| r.group == Group::Tiers)
        .count();
    assert_eq!(
        tiers,
        4 * QUICK_TIER_POWERS.count(),
        "every way at every power of ten"
    );
    for [grown, trimmed, owned] in [
        results.batch_memory_per_function,
        results.baseline_memory_per_function,
        results.baseline_single_memory_per_function,
    ] {
        assert!(
            grown > 0.0 && trimmed > 0.0 && owned > 0.0,
            "{grown} {trimmed} {owned}"
        );
    }

    let json = serde_json::to_string(&results).expect("to json");
    let back: Results = serde_json::from_str(&json).expect("from json");
    assert_eq!(back.rows.len(), results.rows.len());
    let svg = fnjit_cli::plot::svg(&back).expect("svg");
    assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
    assert!(svg.contains("JitFunction::call, near") && svg.contains("compile_inc()"));
    assert!(
        svg.contains("<polyline") && svg.contains("Evaluator"),
        "the tiering curve"
    );
}

#[test]
fn the_chart_refuses_figures_it_cannot_draw() {
    let results = results().0.clone();
    let mut nan = results.clone();
    nan.rows[3].median_ns = f64::NAN;
    let err = fnjit_cli::plot::svg(&nan).expect_err("NaN drawn");
    assert!(err.contains("not times that can be drawn"), "{err}");
    let mut missing = results;
    missing.rows.retain(|r| r.group != Group::ToCallable);
    let err = fnjit_cli::plot::svg(&missing).expect_err("missing group drawn");
    assert!(err.starts_with("no figures for"), "{err}");
}
