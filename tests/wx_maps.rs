//! W^X as the kernel sees it: no mapping of this process is ever writable and executable, and
//! code memory stops being executable once its owner drops (it is unmapped, or pooled read-write).
//! One test, so no other thread maps memory meanwhile.

use fnjit::{HandStub, Placement, compile_inc};

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
}
