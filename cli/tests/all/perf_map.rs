//! JIT code that profilers can name: the perf map, read back; a map that cannot be written is a
//! warning, not an error; the real `perf` naming the JIT'd function; and, through perf's
//! jitdump, `perf annotate` showing its instructions.

use crate::process;
use fnjit::{Jit, perf_map};
use std::process::Command;

#[test]
fn the_perf_map_names_each_function_at_its_address() {
    let mut jit = Jit::new().expect("jit");
    jit.set_perf_map(true);
    let f = jit.compile_inc().expect("compile");
    let line = format!(
        "{:x} {:x} fnjit_inc",
        f.code().as_ptr() as usize,
        f.code().len()
    );
    let map = std::fs::read_to_string(perf_map::path()).expect("read the perf map");
    assert!(map.lines().any(|l| l == line), "{line:?} not in:\n{map}");
}

#[test]
fn the_env_variable_turns_it_on_for_the_stub_and_the_jit() {
    let child = process::target_command(env!("CARGO_BIN_EXE_fnjit"))
        .arg("asm")
        .env("FNJIT_PERF_MAP", "1")
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("run fnjit");
    let map_path = format!("/tmp/perf-{}.map", child.id());
    let out = child.wait_with_output().expect("wait for fnjit");
    assert!(out.status.success());
    // The child printed both addresses; its map must hold both, with their sizes.
    let stdout = String::from_utf8_lossy(&out.stdout);
    let addr = |what: &str| {
        let line = stdout.lines().find(|l| l.contains(what)).expect(what);
        line.split(" at 0x")
            .nth(1)
            .and_then(|r| r.split(' ').next())
            .expect("address")
            .to_owned()
    };
    let map = std::fs::read_to_string(&map_path).expect("the child's perf map");
    let _ = std::fs::remove_file(&map_path);
    let (jit, stub) = (
        fnjit::compile_inc().expect("x + 1"),
        fnjit::HandStub::gist().expect("stub"),
    );
    let (jit_len, stub_len) = (jit.code().len(), stub.code().len());
    for line in [
        format!(
            "{} {jit_len:x} fnjit_inc",
            addr(&format!("Cranelift, {jit_len} bytes"))
        ),
        format!(
            "{} {stub_len:x} fnjit_gist_stub",
            addr(&format!("hand stub, {stub_len} bytes"))
        ),
    ] {
        assert!(map.lines().any(|l| l == line), "{line:?} not in:\n{map}");
    }
}

#[test]
fn an_unwritable_map_is_a_warning_not_an_error() {
    let out = process::run_child("perf_map::unwritable_child");
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(out.status.success(), "{stdout}{stderr}");
    assert!(stdout.contains("compiled: 42"), "{stdout}");
    assert_eq!(
        stderr
            .matches("fnjit: warning: cannot write the perf map")
            .count(),
        1,
        "{stderr}"
    );
}

#[test]
#[ignore = "runs only as the child of an_unwritable_map_is_a_warning_not_an_error"]
fn unwritable_child() {
    if !process::is_child("perf_map::unwritable_child") {
        return;
    }
    // A directory where the map file should be: no one, not even root, can open it for append.
    let path = perf_map::path();
    let _ = std::fs::remove_file(&path);
    std::fs::create_dir_all(&path).expect("make the blocking directory");
    let mut jit = Jit::new().expect("jit");
    jit.set_perf_map(true);
    for _ in 0..3 {
        println!(
            "compiled: {}",
            jit.compile_inc().expect("compile despite the map").call(41)
        );
    }
    let _ = std::fs::remove_dir(&path);
}

#[test]
fn perf_report_names_the_jit_function() {
    if let Some(runner) = process::runner() {
        eprintln!("skipped: under emulation ({runner}) perf samples the emulator, not JIT code");
        return;
    }
    let dir = std::env::temp_dir().join(format!("fnjit-perf-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let data = dir.join("perf.data");
    let Some(record) = perf_record(&data, &[], ("FNJIT_PERF_MAP", "1".as_ref())) else {
        return;
    };
    assert!(String::from_utf8_lossy(&record.stdout).contains("calls of the JIT'd x + 1"));
    let report = Command::new("perf")
        .args(["report", "--stdio", "--sort", "symbol", "-i"])
        .arg(&data)
        .output()
        .expect("perf report");
    let text = String::from_utf8_lossy(&report.stdout);
    let _ = std::fs::remove_dir_all(&dir);
    assert!(
        text.contains("fnjit_inc"),
        "perf report does not name the JIT code:\n{text}"
    );
}

/// `FNJIT_DEBUG=jitdump`: `perf record -k mono`, then `perf inject --jit`, and `perf report`
/// names the JIT function while `perf annotate` shows its instructions.
#[test]
fn perf_annotate_shows_the_jit_function_from_the_jitdump() {
    if let Some(runner) = process::runner() {
        eprintln!("skipped: under emulation ({runner}) perf samples the emulator, not JIT code");
        return;
    }
    let dir = std::env::temp_dir().join(format!("fnjit-jitdump-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let (data, injected) = (dir.join("perf.data"), dir.join("jit.data"));
    let jitdump = ("FNJIT_DEBUG", "jitdump".as_ref());
    let Some(_) = perf_record(&data, &["-k", "mono"], jitdump) else {
        return;
    };
    let perf = |args: &[&str]| {
        let out = Command::new("perf")
            .args(args)
            .current_dir(&dir)
            .output()
            .expect("run perf");
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    };
    let (data, injected) = (data.to_string_lossy(), injected.to_string_lossy());
    let inject = perf(&["inject", "--jit", "-i", &data, "-o", &injected]);
    let report = perf(&["report", "--stdio", "--sort", "symbol", "-i", &injected]);
    let annotate = perf(&["annotate", "--stdio", "-s", "fnjit_inc", "-i", &injected]);
    let _ = std::fs::remove_dir_all(&dir);
    assert!(
        report.contains("fnjit_inc"),
        "perf report does not name the JIT code:\n{inject}\n{report}"
    );
    // x + 1 as Cranelift compiles it: `lea eax, [rdi+1]` (AT&T syntax in objdump's output), or
    // `add w0, w0, #1`.
    let add = if cfg!(target_arch = "x86_64") {
        "lea    0x1(%rdi),%eax"
    } else {
        "add\tw0, w0, #0x1"
    };
    assert!(
        annotate.contains("jitted-") && annotate.contains(add),
        "perf annotate does not show the JIT code:\n{annotate}"
    );
}

/// `perf record -q -e cpu-clock <options> -o <data> -- fnjit spin --seconds 1`, with `env` set and
/// the jitdump's directory next to `data`; `None`, saying why, where perf is missing or not
/// permitted.
fn perf_record(
    data: &std::path::Path,
    options: &[&str],
    env: (&str, &std::ffi::OsStr),
) -> Option<std::process::Output> {
    let record = Command::new("perf")
        .args(["record", "-q", "-e", "cpu-clock"])
        .args(options)
        .arg("-o")
        .arg(data)
        .args(["--", env!("CARGO_BIN_EXE_fnjit"), "spin", "--seconds", "1"])
        .env(env.0, env.1)
        .env("JITDUMPDIR", data.parent().unwrap_or(data))
        .output();
    match record {
        Ok(out) if out.status.success() => Some(out),
        Ok(out) => {
            eprintln!(
                "skipped: perf record is not permitted here: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            );
            None
        }
        Err(e) => {
            eprintln!("skipped: perf is not installed ({e}); apt-get install linux-perf");
            None
        }
    }
}
