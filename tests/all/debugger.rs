//! GDB sees JIT frames: with [`DebugTools::GDB`], `bt` in a real gdb (batch mode) names the JIT
//! function of each frame, and walks on to the Rust frames above it, through code of both tiers.
//! The program under gdb is this test binary, running the ignored test `debugger::gdb_child`.

use crate::common;
use crate::unwind::calls_back;
use fnjit::{DebugTools, Formula, Jit, Strategy};
use std::hint::black_box;
use std::process::Command;

/// Where gdb stops: called by JIT code.
#[unsafe(no_mangle)]
pub extern "C" fn fnjit_test_breakpoint(x: i64) -> i64 {
    black_box(x) * 2
}

#[inline(never)]
fn rust_caller_of_user_ir(f: &fnjit::Function<(i64, i64), i64>) -> i64 {
    let callback = fnjit_test_breakpoint as extern "C" fn(i64) -> i64;
    black_box(f.call((callback as usize as i64, black_box(20))))
}

#[inline(never)]
fn rust_caller_of_a_formula(f: &fnjit::Function<f64, f64>) -> f64 {
    black_box(f.call(black_box(0.5)))
}

#[test]
#[ignore = "runs only under gdb, as the child of gdb_bt_names_jit_frames"]
fn gdb_child() {
    if !common::is_child("debugger::gdb_child") {
        return;
    }
    let before = fnjit::debug::gdb_entries();
    let mut jit = Jit::new().expect("jit");
    jit.set_debug_tools(DebugTools::GDB).expect("gdb on Linux");
    let f = calls_back(&mut jit);
    println!("user IR: {}", rust_caller_of_user_ir(&f));
    let mut baseline = Jit::with_strategy(Strategy::Baseline).expect("jit");
    baseline
        .set_debug_tools(DebugTools::GDB)
        .expect("gdb on Linux");
    let formula = Formula::<f64>::parse("sin(x) * 2", &["x"]).expect("parse");
    let g = baseline
        .compile_formula::<f64, f64>(&formula)
        .expect("compile");
    println!("formula: {}", rust_caller_of_a_formula(&g));
    assert_eq!(fnjit::debug::gdb_entries(), before + 2);
    drop((f, g));
    assert_eq!(
        fnjit::debug::gdb_entries(),
        before,
        "entries left in the list"
    );
    println!("gdb child done");
}

#[test]
fn gdb_bt_names_jit_frames() {
    if let Some(runner) = common::runner() {
        eprintln!("skipped: under emulation ({runner}) gdb would debug the emulator");
        return;
    }
    let exe = std::env::current_exe().expect("test binary");
    let out = Command::new("gdb")
        .args(["-batch", "-nx"])
        .args(["-ex", "set debuginfod enabled off"])
        .args(["-ex", "break fnjit_test_breakpoint"])
        .args(["-ex", "break fnjit::expr::math::double::sin"])
        .args([
            "-ex", "run", "-ex", "bt", "-ex", "continue", "-ex", "bt", "-ex", "continue",
        ])
        .arg("--args")
        .arg(&exe)
        .args([
            "--exact",
            "debugger::gdb_child",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(common::CHILD, "debugger::gdb_child")
        .output();
    let out = match out {
        Ok(out) => out,
        Err(e) => {
            eprintln!("skipped: cannot run gdb ({e}); `apt-get install gdb`");
            return;
        }
    };
    let text = String::from_utf8_lossy(&out.stdout);
    println!("{text}");
    assert!(
        text.contains("gdb child done"),
        "the child did not finish:\n{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Each stop's backtrace (lines from `#0` on): the JIT frame by name, then the Rust caller.
    let mut backtraces: Vec<Vec<&str>> = Vec::new();
    for line in text.lines() {
        if line.starts_with("#0") {
            backtraces.push(Vec::new());
        }
        if line.starts_with('#')
            && let Some(bt) = backtraces.last_mut()
        {
            bt.push(line);
        }
    }
    for (jit, caller) in [
        ("in fnjit_ir(%calls_back) ()", "rust_caller_of_user_ir"),
        (
            "in fnjit_formula(sin(x) * 2.0) ()",
            "rust_caller_of_a_formula",
        ),
    ] {
        let bt = backtraces
            .iter()
            .find(|bt| bt.iter().any(|f| f.contains(jit)))
            .unwrap_or_else(|| panic!("no backtrace names {jit}:\n{text}"));
        let at = bt.iter().position(|f| f.contains(jit)).unwrap_or(0);
        assert!(
            bt[at + 1..].iter().any(|f| f.contains(caller)),
            "{caller} is not above {jit}:\n{}",
            bt.join("\n")
        );
    }
}
