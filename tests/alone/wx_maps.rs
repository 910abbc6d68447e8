//! W^X as the kernel sees it: no mapping of this process is ever writable and executable, and
//! code memory stops being executable once its owner drops (it is unmapped, or pooled read-write).
//! One test, so no other thread maps memory meanwhile.

use fnjit::jit::Placement;
use fnjit::{HandStub, compile_inc};

fn maps() -> String {
    std::fs::read_to_string("/proc/self/maps").expect("read /proc/self/maps")
}

fn rwx_lines(maps: &str) -> Vec<&str> {
    maps.lines()
        .filter(|l| {
            l.split_whitespace()
                .nth(1)
                .is_some_and(|p| p.starts_with("rwx"))
        })
        .collect()
}

/// The `/proc/self/maps` line whose range holds `addr`, if any.
fn line_holding(maps: &str, addr: usize) -> Option<String> {
    maps.lines()
        .find(|l| {
            let range = l.split_whitespace().next().unwrap_or("");
            let (lo, hi) = range.split_once('-').unwrap_or(("0", "0"));
            let parse = |h| usize::from_str_radix(h, 16).unwrap_or(0);
            (parse(lo)..parse(hi)).contains(&addr)
        })
        .map(str::to_owned)
}

#[test]
fn code_is_never_writable_and_executable_and_is_unmapped_on_drop() {
    let _alone = crate::alone();
    let (jit, stub) = (
        compile_inc().expect("compile"),
        HandStub::gist().expect("stub"),
    );
    let expr = fnjit::compile_expr("x * x - 1").expect("compile an expression");
    let hypot = cranelift_reader::parse_functions(
        "function %h(f64, f64) -> f64 system_v {\nblock0(v0: f64, v1: f64):\n    v2 = fmul v0, v0\n    v3 = fmul v1, v1\n    v4 = fadd v2, v3\n    v5 = sqrt v4\n    return v5\n}",
    )
    .expect("CLIF");
    let typed = fnjit::Jit::new()
        .and_then(|mut jit| jit.compile::<(f64, f64), f64>(&hypot[0]))
        .expect("compile typed IR");
    assert_eq!(typed.call((3.0, 4.0)), 5.0);
    let (jit_at, stub_at) = (jit.code().as_ptr() as usize, stub.code().as_ptr() as usize);
    let (expr_at, typed_at) = (
        expr.code().as_ptr() as usize,
        typed.code().as_ptr() as usize,
    );
    let live = maps();
    assert_eq!(
        rwx_lines(&live),
        Vec::<&str>::new(),
        "rwx mapping after compiling"
    );
    for at in [jit_at, stub_at, expr_at, typed_at] {
        let line = line_holding(&live, at).expect("code is mapped");
        assert!(
            line.split_whitespace()
                .nth(1)
                .is_some_and(|p| p.starts_with("r-x")),
            "{line}"
        );
    }
    let fresh = HandStub::gist_placed(Placement::Fresh).expect("stub the gist's way");
    let fresh_at = fresh.code().as_ptr() as usize;
    drop((jit, stub, expr, typed, fresh));
    let after = maps();
    assert_eq!(
        rwx_lines(&after),
        Vec::<&str>::new(),
        "rwx mapping after dropping"
    );
    for at in [jit_at, stub_at, expr_at, typed_at] {
        if let Some(line) = line_holding(&after, at) {
            let perms = line.split_whitespace().nth(1).unwrap_or("");
            assert!(
                perms.starts_with("rw-"),
                "code still executable after drop: {line}"
            );
        }
    }
    assert_eq!(
        line_holding(&after, fresh_at),
        None,
        "a fresh mapping outlived its drop"
    );
    shared_mappings_too();
    baseline_chunks_too();
}

/// 100,000 live baseline functions: packed into shared chunks, each mapped read-execute at one
/// address and read-write at another (never both at once), the read-write alias unmapped once a
/// chunk is full, every chunk unmapped when its last function drops.
fn baseline_chunks_too() {
    let mut jit = fnjit::Jit::with_strategy(fnjit::Strategy::Baseline).expect("jit");
    let formula =
        |k: i64| fnjit::Formula::<i64>::parse(&format!("x * {k} - 1"), &["x"]).expect("parse");
    // The arena's current chunk exists from here on.
    let first = jit
        .compile_formula::<i64, i64>(&formula(0))
        .expect("compile");
    drop(first);
    let before = executable_lines();
    let writable_before = maps()
        .lines()
        .filter(|l| perms(l).starts_with("rw-s"))
        .count();
    let fs: Vec<_> = (0..100_000)
        .map(|k| {
            jit.compile_formula::<i64, i64>(&formula(k))
                .expect("compile")
        })
        .collect();
    let live = maps();
    assert_eq!(
        rwx_lines(&live),
        Vec::<&str>::new(),
        "rwx mapping with 100,000 baseline functions"
    );
    for (k, f) in fs.iter().enumerate().step_by(997) {
        assert_eq!(f.call(3), 3 * k as i64 - 1);
        let line = line_holding(&live, f.code().as_ptr() as usize).expect("mapped");
        assert!(perms(&line).starts_with("r-x"), "{line}");
    }
    let chunks = executable_lines() - before;
    assert!(chunks >= 2, "100,000 functions in {chunks} chunks");
    assert!(
        maps()
            .lines()
            .filter(|l| perms(l).starts_with("rw-s"))
            .count()
            <= writable_before + 1,
        "full chunks kept their read-write alias"
    );
    drop(fs);
    assert!(
        executable_lines() <= before + 1,
        "chunks outlived their functions: {} executable mappings, {before} before",
        executable_lines()
    );
}

fn perms(line: &str) -> &str {
    line.split_whitespace().nth(1).unwrap_or("")
}

fn executable_lines() -> usize {
    maps().lines().filter(|l| perms(l).contains('x')).count()
}

/// A batch's functions share one read-execute mapping, never writable, unmapped when the last
/// of them drops; a failed batch leaves nothing; a cached function's code goes when the cache
/// and the function both let go of it.
fn shared_mappings_too() {
    let mut jit = fnjit::Jit::new().expect("jit");
    let before = executable_lines();
    let srcs: Vec<String> = (0..2000).map(|k| format!("x * {k} - y")).collect();
    let srcs: Vec<&str> = srcs.iter().map(String::as_str).collect();
    let mut fs = jit
        .compile_formulas::<(f64, f64), f64>(&srcs, &["x", "y"])
        .expect("batch");
    let live = maps();
    assert_eq!(
        rwx_lines(&live),
        Vec::<&str>::new(),
        "rwx mapping in a batch"
    );
    let at = |f: &fnjit::Function<(f64, f64), f64>| f.code().as_ptr() as usize;
    let line = line_holding(&live, at(&fs[0])).expect("batch code is mapped");
    assert!(perms(&line).starts_with("r-x"), "{line}");
    for f in &fs {
        assert_eq!(
            line_holding(&live, at(f)),
            Some(line.clone()),
            "one mapping"
        );
    }
    assert_eq!(
        executable_lines(),
        before + 1,
        "one executable mapping per batch"
    );
    let last = fs.pop().expect("functions");
    let last_at = at(&last);
    drop(fs);
    assert_eq!(
        line_holding(&maps(), last_at),
        Some(line),
        "the last one keeps it"
    );
    assert_eq!(last.call((2.0, 1.0)), 3997.0);
    drop(last);
    assert!(
        line_holding(&maps(), last_at).is_none_or(|l| !perms(&l).contains('x')),
        "a batch's code outlived its functions"
    );

    let mut broken = srcs.clone();
    broken[1000] = "x +";
    for _ in 0..10 {
        assert!(
            jit.compile_formulas::<(f64, f64), f64>(&broken, &["x", "y"])
                .is_err()
        );
    }
    assert_eq!(
        executable_lines(),
        before,
        "a failed batch left code memory behind"
    );

    let formula = fnjit::Formula::parse("x * y + 0.5", &["x", "y"]).expect("formula");
    let cached = jit
        .compile_formula_cached::<(f64, f64), f64>(&formula)
        .expect("cached");
    let cached_at = cached.code().as_ptr() as usize;
    assert_eq!(cached.sharers(), 2, "the function and the cache");
    drop(cached);
    let line = line_holding(&maps(), cached_at).expect("the cache keeps it");
    assert!(perms(&line).starts_with("r-x"), "{line}");
    jit.set_cache_capacity(0);
    assert!(
        line_holding(&maps(), cached_at).is_none_or(|l| !perms(&l).contains('x')),
        "cached code outlived the cache and its functions"
    );
}
