//! When the OS refuses executable memory, fnjit says so: an error, no panic, no signal.
//!
//! Linux: `prctl(PR_SET_MDWE, PR_MDWE_REFUSE_EXEC_GAIN)` (Linux 6.3+) makes every later attempt
//! to make memory executable fail, for the rest of the process. Windows: Arbitrary Code Guard,
//! `SetProcessMitigationPolicy(ProcessDynamicCodePolicy, ProhibitDynamicCode)`, does the same.
//! So the test runs in a child process: this test binary again, running only the ignored `child`
//! test.
//!
//! Wine (8.0) accepts the Windows policy but does not enforce it: there the child says so and
//! the test skips, saying so too.

use crate::common;

/// Forbids this process to make memory executable from now on, or says why it could not.
#[cfg(target_os = "linux")]
fn forbid_dynamic_code() -> Result<(), String> {
    const PR_MDWE_REFUSE_EXEC_GAIN: libc::c_ulong = 1;
    // SAFETY: PR_SET_MDWE takes plain integers; it only restricts this process's future mappings.
    let rc = unsafe { libc::prctl(libc::PR_SET_MDWE, PR_MDWE_REFUSE_EXEC_GAIN, 0, 0, 0) };
    match rc {
        0 => Ok(()),
        _ => Err(format!(
            "prctl(PR_SET_MDWE) failed: {} (needs Linux 6.3+)",
            std::io::Error::last_os_error()
        )),
    }
}

/// Forbids this process to make memory executable from now on (Arbitrary Code Guard), or says
/// why it could not: the call failed, or it succeeded under Wine, which does not enforce it
/// (checked: memory still becomes executable afterwards).
#[cfg(windows)]
fn forbid_dynamic_code() -> Result<(), String> {
    use std::ffi::c_void;
    /// `PROCESS_MITIGATION_POLICY::ProcessDynamicCodePolicy`.
    const PROCESS_DYNAMIC_CODE_POLICY: i32 = 2;
    /// `PROCESS_MITIGATION_DYNAMIC_CODE_POLICY` with `ProhibitDynamicCode` (bit 0) set.
    const PROHIBIT_DYNAMIC_CODE: u32 = 1;
    #[link(name = "kernel32")]
    unsafe extern "system" {
        fn SetProcessMitigationPolicy(policy: i32, buffer: *const c_void, length: usize) -> i32;
        fn GetModuleHandleA(name: *const u8) -> *mut c_void;
        fn GetProcAddress(module: *mut c_void, name: *const u8) -> *mut c_void;
    }
    let policy = PROHIBIT_DYNAMIC_CODE;
    // SAFETY: the buffer is the policy's 4-byte flags structure, as the length says.
    let ok = unsafe {
        SetProcessMitigationPolicy(
            PROCESS_DYNAMIC_CODE_POLICY,
            (&raw const policy).cast(),
            size_of::<u32>(),
        )
    };
    if ok == 0 {
        return Err(format!(
            "SetProcessMitigationPolicy(ProhibitDynamicCode) failed: {}",
            std::io::Error::last_os_error()
        ));
    }
    // SAFETY: both take NUL-terminated names; ntdll is loaded in every process.
    let wine = unsafe {
        let ntdll = GetModuleHandleA(c"ntdll.dll".as_ptr().cast());
        !ntdll.is_null() && !GetProcAddress(ntdll, c"wine_get_version".as_ptr().cast()).is_null()
    };
    if wine && fnjit::compile_inc().is_ok() {
        return Err(
            "Wine accepts SetProcessMitigationPolicy(ProhibitDynamicCode) but does not \
             enforce it (VirtualProtect to PAGE_EXECUTE_READ still succeeds): Arbitrary Code \
             Guard is tested on real Windows only"
                .into(),
        );
    }
    Ok(())
}

/// No policy to set on this OS.
#[cfg(not(any(target_os = "linux", windows)))]
fn forbid_dynamic_code() -> Result<(), String> {
    Err("no policy forbids dynamic code on this OS".into())
}

#[test]
fn refused_exec_memory_is_an_error_not_a_crash() {
    let out = common::run_child("exec_refused::child");
    let stdout = String::from_utf8_lossy(&out.stdout);
    if stdout.contains("SKIP:") {
        eprintln!(
            "skipped: {}",
            stdout.lines().find(|l| l.contains("SKIP:")).unwrap_or("")
        );
        return;
    }
    assert!(
        out.status.success(),
        "child failed ({}):\n{stdout}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("compile_inc: the operating system refused to make JIT code executable"),
        "{stdout}"
    );
    assert!(
        stdout.contains("HandStub::gist: the operating system refused to make JIT code executable"),
        "{stdout}"
    );
    assert!(
        stdout.contains("Jit::compile: the operating system refused to make JIT code executable"),
        "{stdout}"
    );
    for baseline in ["compile_formula", "compile_kernel"] {
        assert!(
            stdout.contains(&format!(
                "baseline {baseline}: the operating system refused to make JIT code executable"
            )),
            "{stdout}"
        );
    }
    // Evaluators keep interpreting, right, and say why once for the whole process.
    assert!(
        stdout.contains("Evaluator: the operating system refused to make JIT code executable"),
        "{stdout}"
    );
    assert!(stdout.contains("Evaluator: still 41"), "{stdout}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        stderr
            .matches("fnjit: an Evaluator keeps interpreting: the operating system refused")
            .count(),
        1,
        "{stderr}"
    );
}

#[test]
#[ignore = "runs only as the child of refused_exec_memory_is_an_error_not_a_crash"]
fn child() {
    if !common::is_child("exec_refused::child") {
        return;
    }
    if let Err(why) = forbid_dynamic_code() {
        println!("SKIP: {why}");
        return;
    }
    match fnjit::compile_inc() {
        Ok(_) => panic!("compile_inc succeeded with executable memory forbidden"),
        Err(e) => println!("compile_inc: {e}"),
    }
    let mut jit = fnjit::Jit::new().expect("a Jit");
    let square = cranelift_reader::parse_functions(&format!(
        "function %sq(f64) -> f64 {} {{\nblock0(v0: f64):\n    v1 = fmul v0, v0\n    return v1\n}}",
        jit.call_conv()
    ))
    .expect("CLIF");
    match jit.compile::<f64, f64>(&square[0]) {
        Ok(_) => panic!("Jit::compile succeeded with executable memory forbidden"),
        Err(e) => println!("Jit::compile: {e}"),
    }
    let mut baseline = fnjit::Jit::with_strategy(fnjit::Strategy::Baseline).expect("a Jit");
    let formula = fnjit::Formula::<f64>::parse("x * 2 + 1", &["x"]).expect("parse");
    match baseline.compile_formula::<f64, f64>(&formula) {
        Ok(_) => panic!("a baseline compile_formula succeeded with executable memory forbidden"),
        Err(e) => println!("baseline compile_formula: {e}"),
    }
    match baseline.compile_kernel(&formula) {
        Ok(_) => panic!("a baseline compile_kernel succeeded with executable memory forbidden"),
        Err(e) => println!("baseline compile_kernel: {e}"),
    }
    match fnjit::HandStub::gist() {
        Ok(_) => panic!("HandStub::gist succeeded with executable memory forbidden"),
        Err(e) => println!("HandStub::gist: {e}"),
    }
    let evaluators = [("x * 2 + 1", 10), ("x - 1", 0)].map(|(src, at)| {
        // Optimized code asked for at the same point: where there is no baseline tier
        // (Windows), that compile is the one refused.
        fnjit::Evaluator::<f64>::with_thresholds(src, &["x"], at, at).expect(src)
    });
    for i in 0..1000 {
        let x = f64::from(i);
        assert_eq!(evaluators[0].eval(&[x]).expect("eval"), x * 2.0 + 1.0);
        assert_eq!(evaluators[1].eval(&[x]).expect("eval"), x - 1.0);
    }
    for e in &evaluators {
        let start = std::time::Instant::now();
        while e.tier() == fnjit::Tier::Interpreting && start.elapsed().as_secs() < 60 {
            // The baseline compile happens on an evaluating thread: this one.
            e.eval(&[1.0]).expect("eval");
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
        match e.tier() {
            fnjit::Tier::Refused(why) => println!("Evaluator: {why}"),
            other => panic!("an Evaluator with executable memory forbidden is {other:?}"),
        }
    }
    println!(
        "Evaluator: still {}",
        evaluators[0].eval(&[20.0]).expect("eval")
    );
}
