//! The command line: what it prints, and how it fails (exit status, one line on stderr).

use std::os::unix::process::CommandExt;
use std::process::{Command, Output};

fn fnjit(args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_fnjit"));
    cmd.args(args);
    cmd
}

fn text(out: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&out.stdout).into(),
        String::from_utf8_lossy(&out.stderr).into(),
    )
}

#[test]
fn check_reports_agreement_and_succeeds() {
    let out = fnjit(&["check", "--samples", "1000"])
        .output()
        .expect("run fnjit");
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stdout}{stderr}");
    assert!(
        stdout.contains("agree on 1006 inputs (0 mismatches)"),
        "{stdout}"
    );
}

#[test]
fn asm_shows_both_listings_and_the_verdict() {
    let out = fnjit(&["asm"]).output().expect("run fnjit");
    let (stdout, _) = text(&out);
    assert!(out.status.success());
    assert!(
        stdout.contains("= 0004  8D 47 01             lea eax,[rdi+1]"),
        "{stdout}"
    );
    assert!(
        stdout.contains("+ 0000  55                   push rbp"),
        "{stdout}"
    );
    assert!(
        stdout.contains("same body: both compute `lea eax,[rdi+1]`"),
        "{stdout}"
    );
}

#[test]
fn ir_prints_the_clif() {
    let out = fnjit(&["ir"]).output().expect("run fnjit");
    assert!(
        text(&out)
            .0
            .starts_with("function u0:0(i32) -> i32 system_v {")
    );
}

#[test]
fn refused_exec_memory_exits_2_with_one_line_on_stderr() {
    let mut cmd = fnjit(&["check"]);
    // SAFETY: between fork and exec the child only makes one async-signal-safe system call.
    // PR_SET_MDWE (Linux 6.3+) survives exec, so fnjit cannot make any memory executable.
    unsafe {
        cmd.pre_exec(|| {
            if libc::prctl(libc::PR_SET_MDWE, 1 as libc::c_ulong, 0, 0, 0) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let out = match cmd.output() {
        Ok(out) => out,
        Err(e) => {
            eprintln!("skipped: prctl(PR_SET_MDWE) is not available here ({e}); needs Linux 6.3+");
            return;
        }
    };
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(2), "{stdout}{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr
            .starts_with("fnjit: error: the operating system refused to make JIT code executable"),
        "{stderr}"
    );
}

#[test]
fn expr_prints_clif_code_and_value_and_checks_against_the_interpreter() {
    let out = fnjit(&[
        "expr",
        "x * 3 + 1",
        "--at",
        "-2",
        "--check",
        "--samples",
        "1000",
    ])
    .output()
    .expect("run fnjit");
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stdout}{stderr}");
    assert!(stdout.contains("imul v0, v1"), "{stdout}");
    assert!(stdout.contains("imul esi,edi,3"), "{stdout}");
    assert!(
        stdout.contains("f(-2) = -5 (the interpreter says -5)"),
        "{stdout}"
    );
    assert!(
        stdout.contains("agree on 1006 inputs (0 mismatches)"),
        "{stdout}"
    );
}

#[test]
fn a_bad_expression_exits_2_with_the_offset() {
    let out = fnjit(&["expr", "x +"]).output().expect("run fnjit");
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(2), "{stdout}{stderr}");
    assert_eq!(stderr, "fnjit: error: expected an operand after '+' at 3\n");
}

#[test]
fn spin_refuses_a_duration_that_is_not_a_number() {
    let out = fnjit(&["spin", "--seconds", "NaN"])
        .output()
        .expect("run fnjit");
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        text(&out).1,
        "fnjit: error: --seconds NaN: give a number of seconds\n"
    );
}
