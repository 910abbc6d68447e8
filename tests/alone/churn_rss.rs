//! Compiling and dropping 100,000 functions leaves memory flat: nothing leaks, code or metadata.

use crate::common;
use fnjit::{DebugTools, Formula, HandStub, Jit, Strategy, compile_inc};

fn rss_bytes() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").expect("read /proc/self/statm");
    let pages: u64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .expect("statm");
    pages * 4096
}

fn assert_flat(what: &str, rounds: u32, mut round: impl FnMut()) {
    // Under emulation the process's resident memory includes the emulator's translation cache,
    // which grows with every newly written code page it translates: it measures qemu, not fnjit.
    // There the rounds still run (every call is checked), fewer of them, and RSS is not judged.
    let emulator = common::runner();
    let rounds = if emulator.is_some() {
        rounds / 20
    } else {
        rounds
    };
    for _ in 0..1_000 {
        round(); // warm up allocator caches and lazily built state
    }
    let before = rss_bytes();
    for _ in 0..rounds {
        round();
    }
    let grown = rss_bytes().saturating_sub(before);
    if let Some(runner) = emulator {
        println!("{what}: {rounds} rounds; RSS not judged under emulation ({runner})");
        return;
    }
    assert!(
        grown < 2 << 20,
        "{what}: RSS grew by {grown} bytes over {rounds} rounds"
    );
}

#[test]
fn memory_stays_flat_under_churn() {
    let _alone = crate::alone();
    assert_flat("compile_inc", 100_000, || {
        let f = compile_inc().expect("compile");
        assert_eq!(f.call(41), 42);
    });
    let mut jit = Jit::new().expect("jit");
    assert_flat("Jit::compile_inc", 100_000, || {
        let f = jit.compile_inc().expect("compile");
        assert_eq!(f.call(41), 42);
    });
    assert_flat("Jit::compile_expr", 100_000, || {
        let f = jit.compile_expr("x * 3 + 1 / x").expect("compile");
        assert_eq!(f.call(41), 123);
    });
    let hypot = cranelift_reader::parse_functions(
        "function %h(f64, f64) -> f64 system_v {\nblock0(v0: f64, v1: f64):\n    v2 = fmul v0, v0\n    v3 = fmul v1, v1\n    v4 = fadd v2, v3\n    v5 = sqrt v4\n    return v5\n}",
    )
    .expect("CLIF");
    assert_flat("Jit::compile::<(f64, f64), f64>", 100_000, || {
        let f = jit.compile::<(f64, f64), f64>(&hypot[0]).expect("compile");
        assert_eq!(f.call((3.0, 4.0)), 5.0);
    });
    let mut baseline = Jit::with_strategy(Strategy::Baseline).expect("jit");
    let formula = Formula::<f64>::parse("x * 3 + 1 / x - sin(x)", &["x"]).expect("parse");
    assert_flat("baseline compile_formula", 100_000, || {
        let f = baseline
            .compile_formula::<f64, f64>(&formula)
            .expect("compile");
        assert_eq!(f.call(2.0), 6.5 - 2f64.sin());
    });
    assert_flat("baseline compile_kernel", 100_000, || {
        let k = baseline.compile_kernel(&formula).expect("compile");
        let mut out = [0.0; 2];
        k.eval(&[&[2.0, 2.0]], &mut out).expect("eval");
        assert_eq!(out, [6.5 - 2f64.sin(); 2]);
    });
    assert_flat("HandStub::gist", 100_000, || {
        let s = HandStub::gist().expect("stub");
        assert_eq!(s.call(41), 42);
    });
}

/// With every debugging tool on (GDB's list, perf's jitdump and map), compiling and dropping
/// 100,000 functions of both tiers leaves memory flat, and GDB's list as it was.
#[test]
fn memory_stays_flat_with_every_debugging_tool_on() {
    let _alone = crate::alone();
    let every = DebugTools::GDB | DebugTools::JITDUMP | DebugTools::PERF_MAP;
    let entries = fnjit::debug::gdb_entries();
    let mut jit = Jit::new().expect("jit");
    jit.set_debug_tools(every).expect("Linux has every tool");
    assert_flat("Jit::compile_inc, every tool on", 100_000, || {
        let f = jit.compile_inc().expect("compile");
        assert_eq!(f.call(41), 42);
        assert_eq!(fnjit::debug::gdb_entries(), entries + 1);
    });
    let mut baseline = Jit::with_strategy(Strategy::Baseline).expect("jit");
    baseline
        .set_debug_tools(every)
        .expect("Linux has every tool");
    let formula = Formula::<f64>::parse("x * 3 + 1 / x - sin(x)", &["x"]).expect("parse");
    assert_flat("baseline compile_formula, every tool on", 100_000, || {
        let f = baseline
            .compile_formula::<f64, f64>(&formula)
            .expect("compile");
        assert_eq!(f.call(2.0), 6.5 - 2f64.sin());
    });
    assert_eq!(
        fnjit::debug::gdb_entries(),
        entries,
        "GDB's list kept entries"
    );
    let _ = std::fs::remove_file(fnjit::debug::jitdump_path());
    let _ = std::fs::remove_file(fnjit::perf_map::path());
}
