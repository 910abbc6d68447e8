//! The command line: what it prints, and how it fails (exit status, one line on stderr), like a
//! Unix tool: a closed pipe ends it quietly with 141, a full disk is an error, a leading minus is
//! an expression, every bad value is refused with its range, and formulas come from files too.

use crate::process;
#[cfg(target_os = "linux")]
use std::os::unix::process::CommandExt;
use std::process::{Command, Output, Stdio};

/// `Command::output`, tried once more if the process could not be started: Wine 8.0 now and
/// then fails a `CreateProcess` with `ERROR_INTERNAL_ERROR` (1359), a flake of the host, not of
/// the command line under test.
trait OutputRetried {
    fn output_retried(&mut self) -> std::io::Result<Output>;
}

impl OutputRetried for Command {
    fn output_retried(&mut self) -> std::io::Result<Output> {
        match self.output() {
            Err(e) if e.raw_os_error().is_some() => self.output(),
            done => done,
        }
    }
}

fn fnjit(args: &[&str]) -> Command {
    let mut cmd = process::target_command(env!("CARGO_BIN_EXE_fnjit"));
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
        .output_retried()
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
    let out = fnjit(&["asm"]).output_retried().expect("run fnjit");
    let (stdout, _) = text(&out);
    assert!(out.status.success());
    #[cfg(all(target_arch = "x86_64", windows))]
    let expected = [
        "= 0004  8D 41 01             lea eax,[rcx+1]",
        "+ 0000  55                   push rbp",
        "verdict: same body inside a frame (4 instructions, 8 bytes); the shared body is lea eax,[rcx+1]",
    ];
    #[cfg(all(target_arch = "x86_64", not(windows)))]
    let expected = [
        "= 0004  8D 47 01             lea eax,[rdi+1]",
        "+ 0000  55                   push rbp",
        "verdict: same body inside a frame (4 instructions, 8 bytes); the shared body is lea eax,[rdi+1]",
    ];
    #[cfg(target_arch = "aarch64")]
    let expected = [
        "= 0000  00 04 00 11          add w0, w0, #0x1",
        "= 0004  C0 03 5F D6          ret",
        "verdict: identical; the shared body is add w0, w0, #0x1",
    ];
    for line in expected {
        assert!(stdout.contains(line), "{line:?} not in:\n{stdout}");
    }
}

#[test]
fn ir_prints_the_clif() {
    let out = fnjit(&["ir"]).output_retried().expect("run fnjit");
    assert!(text(&out).0.starts_with(if cfg!(windows) {
        "function u0:0(i32) -> i32 windows_fastcall {"
    } else {
        "function u0:0(i32) -> i32 system_v {"
    }));
}

#[test]
#[cfg(target_os = "linux")]
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
    let out = match cmd.output_retried() {
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
    .output_retried()
    .expect("run fnjit");
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stdout}{stderr}");
    assert!(stdout.contains("imul v0, v1"), "{stdout}");
    #[cfg(all(target_arch = "x86_64", windows))]
    assert!(stdout.contains("imul esi,ecx,3"), "{stdout}");
    #[cfg(all(target_arch = "x86_64", not(windows)))]
    assert!(stdout.contains("imul esi,edi,3"), "{stdout}");
    #[cfg(target_arch = "aarch64")]
    assert!(stdout.contains("madd w0, w0, w4, w5"), "{stdout}");
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
    let out = fnjit(&["expr", "x +"]).output_retried().expect("run fnjit");
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(2), "{stdout}{stderr}");
    assert_eq!(stderr, "fnjit: error: expected an operand after '+' at 3\n");
}

/// Runs fnjit with its stdout on a pipe whose reader takes `lines` lines and then closes it.
fn with_closed_stdout(args: &[&str], lines: usize) -> Output {
    use std::io::BufRead as _;
    let mut child = fnjit(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run fnjit");
    let stdout = child.stdout.take().expect("piped stdout");
    let mut reader = std::io::BufReader::new(stdout);
    for _ in 0..lines {
        let mut line = String::new();
        let _ = reader.read_line(&mut line);
    }
    drop(reader); // the reader exits: fnjit's next write meets a closed pipe
    child.wait_with_output().expect("wait for fnjit")
}

#[test]
fn a_closed_pipe_ends_quietly_with_status_141() {
    // The long formula comes from a file. A Windows command line holds 32,767 characters, and
    // Wine cuts a longer one silently where that falls: after 8,174 of the 30,000 terms with the
    // paths here. CI's paths are 6 characters longer, which would move the cut into a ` + `, and
    // a formula ending in `+` does not parse: the status 2 of CI's last two runs.
    let dir = std::env::temp_dir().join(format!("fnjit-pipe-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join("big.expr");
    std::fs::write(&path, vec!["x"; 30_000].join(" + ")).expect("write");
    let big = path.to_str().expect("utf-8 path");
    for (args, lines) in [
        (vec![], 1),
        (vec!["check", "--samples", "100000000"], 0),
        (vec!["expr", "--file", big], 1),
    ] {
        let out = with_closed_stdout(&args, lines);
        let (_, stderr) = text(&out);
        // One line with the status and stderr: a CI log that keeps only its tail still shows why.
        assert!(
            out.status.code() == Some(141) && stderr.is_empty(),
            "{args:?} ended with {:?} and stderr {stderr:?}",
            out.status.code()
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_full_disk_is_a_one_line_error_with_status_2() {
    for args in [vec!["ir"], vec!["targets"]] {
        let full = std::fs::OpenOptions::new()
            .write(true)
            .open("/dev/full")
            .expect("/dev/full");
        let out = fnjit(&args)
            .stdout(full)
            .output_retried()
            .expect("run fnjit");
        let (_, stderr) = text(&out);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        // ENOSPC; Windows' ERROR_DISK_FULL (as Wine maps /dev/full), in the OS's words.
        let full = std::io::Error::from_raw_os_error(if cfg!(windows) { 112 } else { 28 });
        assert_eq!(
            stderr,
            format!("fnjit: error: cannot write to standard output: {full}\n"),
            "{args:?}"
        );
    }
}

#[test]
fn a_leading_minus_is_part_of_the_expression_and_negative_values_are_values() {
    for args in [
        vec!["expr", "-x + 1", "--at", "5"],
        vec!["expr", "--at", "5", "--", "-x + 1"],
        vec!["expr", "--at=5", "-x + 1"],
    ] {
        let out = fnjit(&args).output_retried().expect("run fnjit");
        let (stdout, stderr) = text(&out);
        assert!(out.status.success(), "{args:?}: {stderr}");
        assert!(
            stdout.contains("f(5) = -4 (the interpreter says -4)"),
            "{args:?}: {stdout}"
        );
    }
    let out = fnjit(&["expr", "-x", "--at", "-7"])
        .output_retried()
        .expect("run fnjit");
    assert!(text(&out).0.contains("f(-7) = 7"), "{}", text(&out).1);
}

#[test]
fn out_of_range_values_are_refused_with_their_range_never_clamped() {
    for (args, message) in [
        (
            vec!["spin", "--seconds", "-1"],
            "invalid value '-1' for '--seconds <SECONDS>': -1 is out of range: give 0 to 3600 seconds",
        ),
        (
            vec!["spin", "--seconds=-1"],
            "invalid value '-1' for '--seconds <SECONDS>': -1 is out of range: give 0 to 3600 seconds",
        ),
        (
            vec!["spin", "--seconds", "1e9"],
            "invalid value '1e9' for '--seconds <SECONDS>': 1e9 is out of range: give 0 to 3600 seconds",
        ),
        (
            vec!["spin", "--seconds", "inf"],
            "invalid value 'inf' for '--seconds <SECONDS>': inf is out of range: give 0 to 3600 seconds",
        ),
        (
            vec!["spin", "--seconds", "NaN"],
            "invalid value 'NaN' for '--seconds <SECONDS>': NaN is out of range: give 0 to 3600 seconds",
        ),
        (
            vec!["spin", "--seconds", "soon"],
            "invalid value 'soon' for '--seconds <SECONDS>': 'soon' is not a number of seconds (give 0 to 3600)",
        ),
        (
            vec!["check", "--samples", "-5"],
            "invalid value '-5' for '--samples <SAMPLES>': -5 is out of range: give a whole number from 0 to 2^40 (1099511627776)",
        ),
        (
            vec!["check", "--samples", "18446744073709551615"],
            "invalid value '18446744073709551615' for '--samples <SAMPLES>': 18446744073709551615 is out of range: give a whole number from 0 to 2^40 (1099511627776)",
        ),
        (
            vec!["bench", "--rounds", "0"],
            "invalid value '0' for '--rounds <ROUNDS>': 0 is not in 1..=10000",
        ),
    ] {
        let out = fnjit(&args).output_retried().expect("run fnjit");
        let (_, stderr) = text(&out);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert_eq!(
            stderr.lines().next(),
            Some(format!("error: {message}").as_str()),
            "{args:?}"
        );
    }
}

#[test]
fn formulas_come_from_files_and_standard_input_even_past_the_argument_limit() {
    // 150,000 bytes: more than the 128 KiB one argument may hold.
    let big = vec!["x + 1"; 18_750].join(" + ");
    assert!(big.len() > 128 << 10);
    let want = format!("f(41) = {}", 41 * 18_750 + 18_750);
    let dir = std::env::temp_dir().join(format!("fnjit-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join("big.expr");
    std::fs::write(&path, &big).expect("write");
    let file = path.to_str().expect("utf-8 path");
    let from_file = fnjit(&["expr", "--file", file])
        .output_retried()
        .expect("run fnjit");
    assert!(from_file.status.success(), "{}", text(&from_file).1);
    assert!(text(&from_file).0.contains(&want));

    for args in [vec!["expr", "-"], vec!["expr", "--file", "-"]] {
        let mut child = fnjit(&args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("run fnjit");
        let mut stdin = child.stdin.take().expect("stdin");
        std::io::Write::write_all(&mut stdin, big.as_bytes()).expect("feed stdin");
        drop(stdin);
        let out = child.wait_with_output().expect("wait");
        assert!(out.status.success(), "{args:?}");
        assert!(text(&out).0.contains(&want), "{args:?}");
    }

    std::fs::write(&path, "x * (x +").expect("write");
    let bad = fnjit(&["expr", "--file", file])
        .output_retried()
        .expect("run fnjit");
    assert_eq!(bad.status.code(), Some(2));
    assert_eq!(
        text(&bad).1,
        "fnjit: error: expected an operand after '+' at 8\n"
    );
    let missing = fnjit(&["expr", "--file", "/nonexistent/f.expr"])
        .output_retried()
        .expect("run fnjit");
    // ENOENT; Windows' ERROR_PATH_NOT_FOUND, in the OS's words.
    let missing_error = std::io::Error::from_raw_os_error(if cfg!(windows) { 3 } else { 2 });
    assert_eq!(
        text(&missing).1,
        format!("fnjit: error: cannot read /nonexistent/f.expr: {missing_error}\n")
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn short_and_long_help_say_the_same_and_expr_help_prints_the_grammar() {
    for sub in [
        None,
        Some("expr"),
        Some("spin"),
        Some("check"),
        Some("bench"),
    ] {
        let args = |flag| sub.into_iter().chain([flag]).collect::<Vec<_>>();
        let short = fnjit(&args("-h")).output_retried().expect("run fnjit");
        let long = fnjit(&args("--help")).output_retried().expect("run fnjit");
        assert!(short.status.success());
        assert_eq!(text(&short).0, text(&long).0, "{sub:?}");
    }
    let help = text(
        &fnjit(&["expr", "--help"])
            .output_retried()
            .expect("run fnjit"),
    )
    .0;
    assert!(help.contains("Grammar of i32 and i64 formulas"), "{help}");
    assert!(
        help.contains("a / 0 == -1") && help.contains("-2**2 == -4"),
        "{help}"
    );
    assert!(!help.contains("README"), "{help}");
}

#[test]
fn plot_refuses_figures_it_cannot_draw() {
    let out = fnjit(&["bench", "--json", "--rounds", "1"])
        .output_retried()
        .expect("run fnjit");
    assert!(out.status.success());
    let json = String::from_utf8(out.stdout).expect("utf-8");
    let broken = json.replacen("\"median_ns\": ", "\"median_ns\": -", 1);
    let dir = std::env::temp_dir().join(format!("fnjit-plot-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let (input, svg) = (dir.join("bench.json"), dir.join("bench.svg"));
    std::fs::write(&input, broken).expect("write");
    let out = fnjit(&[
        "plot",
        input.to_str().expect("path"),
        "-o",
        svg.to_str().expect("path"),
    ])
    .output_retried()
    .expect("run fnjit");
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("not times that can be drawn"), "{stderr}");
    assert!(!svg.exists(), "an SVG was written from nonsense");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn expr_takes_a_type_variables_and_values() {
    let out = fnjit(&[
        "expr",
        "--type",
        "f64",
        "--vars",
        "x,y",
        "--at",
        "-1.5,2",
        "x*y + sin(x) ** 2",
        "--check",
        "--samples",
        "10000",
    ])
    .output_retried()
    .expect("run fnjit");
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    let want = -1.5f64 * 2.0 + (-1.5f64).sin().powf(2.0);
    assert!(
        stdout.contains(&format!(
            "f(-1.5, 2) = {want} (the interpreter says {want})"
        )),
        "{stdout}"
    );
    assert!(stdout.contains("call fn0"), "{stdout}");
    // Every pair of f64 edges for the first two variables, then the samples.
    let checked = fnjit::check::F64_EDGES.len().pow(2) + 10_000;
    assert!(
        stdout.contains(&format!("agree on {checked} inputs")),
        "{stdout}"
    );
    let out = fnjit(&[
        "expr", "--type", "i64", "--vars", "a,b", "--at", "7,0", "a / b",
    ])
    .output_retried()
    .expect("run fnjit");
    assert!(text(&out).0.contains("f(7, 0) = -1"), "{}", text(&out).1);
    for (args, message) in [
        (
            vec!["expr", "--type", "f64", "--vars", "x", "--at", "1,2", "x"],
            "fnjit: error: --at gives 2 values for 1 variables: give one per variable\n",
        ),
        (
            vec!["expr", "--type", "i32", "--vars", "x,y", "x + 2.5"],
            "fnjit: error: '2.5' is not an i32 literal: i32 formulas take whole numbers at 4\n",
        ),
        (
            vec!["expr", "--type", "f64", "--vars", "a,b,c,d,f,g,h", "a"],
            "fnjit: error: 7 variables: a scalar function takes at most 6\n",
        ),
    ] {
        let out = fnjit(&args).output_retried().expect("run fnjit");
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert_eq!(text(&out).1, message, "{args:?}");
    }
}

#[test]
fn expr_kernel_runs_a_loop_over_generated_columns() {
    let out = fnjit(&[
        "expr", "--type", "f64", "--vars", "x,y", "--kernel", "--rows", "1000", "x*y + 1",
    ])
    .output_retried()
    .expect("run fnjit");
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    assert!(stdout.contains("f64x2"), "{stdout}");
    assert!(stdout.contains("2 rows a vector"), "{stdout}");
    assert!(stdout.contains("1000 rows: "), "{stdout}");
    assert!(
        stdout.contains("every row agrees with the interpreter"),
        "{stdout}"
    );
    let refused = fnjit(&["expr", "--kernel", "--rows", "0", "x"])
        .output_retried()
        .expect("run fnjit");
    assert_eq!(refused.status.code(), Some(2));
    assert!(
        text(&refused).1.contains("0 is not in 1..=100000000"),
        "{}",
        text(&refused).1
    );
}
