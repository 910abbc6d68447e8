//! W^X as the kernel sees it: no mapping of this process is ever writable and executable, and
//! code memory is gone once its owner drops. One test, so no other thread maps memory meanwhile.

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
    let (jit, stub) = (
        compile_inc().expect("compile"),
        HandStub::gist().expect("stub"),
    );
    let (jit_at, stub_at) = (jit.code().as_ptr() as usize, stub.code().as_ptr() as usize);
    let live = maps();
    assert_eq!(
        rwx_lines(&live),
        Vec::<&str>::new(),
        "rwx mapping after compiling"
    );
    for at in [jit_at, stub_at] {
        let line = line_holding(&live, at).expect("code is mapped");
        assert!(
            line.split_whitespace()
                .nth(1)
                .is_some_and(|p| p.starts_with("r-x")),
            "{line}"
        );
    }
    drop((jit, stub));
    let after = maps();
    assert_eq!(
        rwx_lines(&after),
        Vec::<&str>::new(),
        "rwx mapping after dropping"
    );
    assert_eq!(
        line_holding(&after, jit_at),
        None,
        "JIT code still mapped after drop"
    );
    assert_eq!(
        line_holding(&after, stub_at),
        None,
        "stub still mapped after drop"
    );
}
