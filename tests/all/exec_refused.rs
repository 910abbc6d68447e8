//! When the kernel refuses executable memory, fnjit says so: an error, no panic, no signal.
//!
//! `prctl(PR_SET_MDWE, PR_MDWE_REFUSE_EXEC_GAIN)` (Linux 6.3+) makes every later attempt to make
//! memory executable fail, for the rest of the process. So the test runs in a child process: this
//! test binary again, running only the ignored `child` test with FNJIT_MDWE_CHILD set.

use crate::common;

const PR_MDWE_REFUSE_EXEC_GAIN: libc::c_ulong = 1;

#[test]
fn refused_exec_memory_is_an_error_not_a_crash() {
    let out = common::run_child("mdwe::child");
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
    if !common::is_child("mdwe::child") {
        return;
    }
    // SAFETY: PR_SET_MDWE takes plain integers; it only restricts this process's future mappings.
    let rc = unsafe { libc::prctl(libc::PR_SET_MDWE, PR_MDWE_REFUSE_EXEC_GAIN, 0, 0, 0) };
    if rc != 0 {
        println!(
            "SKIP: prctl(PR_SET_MDWE) failed: {} (needs Linux 6.3+)",
            std::io::Error::last_os_error()
        );
        return;
    }
    match fnjit::compile_inc() {
        Ok(_) => panic!("compile_inc succeeded under MDWE"),
        Err(e) => println!("compile_inc: {e}"),
    }
    let square = cranelift_reader::parse_functions(
        "function %sq(f64) -> f64 system_v {\nblock0(v0: f64):\n    v1 = fmul v0, v0\n    return v1\n}",
    )
    .expect("CLIF");
    match fnjit::Jit::new().and_then(|mut jit| jit.compile::<f64, f64>(&square[0])) {
        Ok(_) => panic!("Jit::compile succeeded under MDWE"),
        Err(e) => println!("Jit::compile: {e}"),
    }
    let mut baseline = fnjit::Jit::with_strategy(fnjit::Strategy::Baseline).expect("a Jit");
    let formula = fnjit::Formula::<f64>::parse("x * 2 + 1", &["x"]).expect("parse");
    match baseline.compile_formula::<f64, f64>(&formula) {
        Ok(_) => panic!("a baseline compile_formula succeeded under MDWE"),
        Err(e) => println!("baseline compile_formula: {e}"),
    }
    match baseline.compile_kernel(&formula) {
        Ok(_) => panic!("a baseline compile_kernel succeeded under MDWE"),
        Err(e) => println!("baseline compile_kernel: {e}"),
    }
    match fnjit::HandStub::gist() {
        Ok(_) => panic!("HandStub::gist succeeded under MDWE"),
        Err(e) => println!("HandStub::gist: {e}"),
    }
    let evaluators = [("x * 2 + 1", 10), ("x - 1", 0)]
        .map(|(src, at)| fnjit::Evaluator::<f64>::with_threshold(src, &["x"], at).expect(src));
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
            other => panic!("an Evaluator under MDWE is {other:?}"),
        }
    }
    println!(
        "Evaluator: still {}",
        evaluators[0].eval(&[20.0]).expect("eval")
    );
}
