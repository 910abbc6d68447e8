//! Backtraces pass through JIT frames: every function fnjit makes has unwind info, registered
//! with the unwinder that Rust's `Backtrace` uses while the code lives.
//! - A `Backtrace` captured in a Rust callback that JIT code called reaches the Rust frames above
//!   the JIT frame, on both strategies.
//! - Formulas and kernels that call Rust math, on both tiers, unwound by libgcc from a signal
//!   handler at whatever instruction the signal lands on: every trace through JIT code ends with
//!   the same frames as a trace taken just before calling it.

#[cfg_attr(
    windows,
    allow(unused_imports, reason = "the profiler workload is Unix's")
)]
use fnjit::{Formula, Function, Jit, Strategy};
use std::backtrace::Backtrace;
use std::hint::black_box;
use std::sync::Mutex;

/// The last backtrace the callback took.
static TRACE: Mutex<String> = Mutex::new(String::new());

/// Called by JIT code: takes a backtrace, and doubles its argument.
extern "C" fn takes_a_backtrace(x: i64) -> i64 {
    let trace = Backtrace::force_capture().to_string();
    *TRACE.lock().unwrap_or_else(|e| e.into_inner()) = trace;
    x * 2
}

/// `fn(callback, x) -> callback(x) + 1` as IR, which only `compile_unchecked` takes.
pub(crate) fn calls_back(jit: &mut Jit) -> Function<(i64, i64), i64> {
    let clif = format!(
        "function %calls_back(i64, i64) -> i64 {cc} {{
            sig0 = (i64) -> i64 {cc}
        block0(v0: i64, v1: i64):
            v2 = call_indirect sig0, v0(v1)
            v3 = iconst.i64 1
            v4 = iadd v2, v3
            return v4
        }}",
        cc = jit.call_conv()
    );
    let func = cranelift_reader::parse_functions(&clif).expect("CLIF")[0].clone();
    // SAFETY: every call passes an `extern "C" fn(i64) -> i64` that does not unwind (this
    // module's and the debugger test's); the IR touches no memory.
    unsafe { jit.compile_unchecked(&func) }.expect("compile")
}

#[inline(never)]
fn rust_frame_above_the_jit(f: &Function<(i64, i64), i64>) -> i64 {
    let callback = takes_a_backtrace as extern "C" fn(i64) -> i64;
    black_box(f.call((callback as usize as i64, black_box(20))))
}

#[test]
fn a_backtrace_from_a_callback_reaches_the_rust_frames_above_the_jit_frame() {
    for strategy in [Strategy::Optimizing, Strategy::Baseline] {
        let mut jit = Jit::with_strategy(strategy).expect("jit");
        let f = calls_back(&mut jit);
        assert_eq!(rust_frame_above_the_jit(&f), 41);
        let trace = TRACE.lock().unwrap_or_else(|e| e.into_inner()).clone();
        for frame in [
            "takes_a_backtrace",
            "rust_frame_above_the_jit",
            "a_backtrace_from_a_callback_reaches_the_rust_frames_above_the_jit_frame",
        ] {
            assert!(
                trace.contains(frame),
                "{strategy:?}: {frame} missing from the backtrace:\n{trace}"
            );
        }
    }
}

/// Traces taken by libgcc's unwinder from a signal handler (Unix: Windows has no signals to
/// interrupt a thread with; its unwind info is proven by the callback's backtrace above).
#[cfg(unix)]
mod from_a_signal {
    use super::*;
    use std::ffi::{c_int, c_void};
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

    // libgcc's unwinder, which Rust's std links on Linux.
    unsafe extern "C" {
        fn _Unwind_Backtrace(
            trace: extern "C" fn(*mut c_void, *mut c_void) -> c_int,
            arg: *mut c_void,
        ) -> c_int;
        fn _Unwind_GetIP(context: *mut c_void) -> usize;
    }

    const DEPTH: usize = 64;
    /// What the signal handler saw: the frames' instruction pointers, and how many.
    static SAMPLE: [AtomicUsize; DEPTH] = [const { AtomicUsize::new(0) }; DEPTH];
    static SAMPLE_LEN: AtomicUsize = AtomicUsize::new(0);
    static SAMPLED: AtomicBool = AtomicBool::new(false);

    extern "C" fn record_frame(context: *mut c_void, arg: *mut c_void) -> c_int {
        // SAFETY: `arg` is the `usize` counter that `record` passed; `context` is libgcc's.
        let (count, ip) = unsafe { (&mut *arg.cast::<usize>(), _Unwind_GetIP(context)) };
        if *count == DEPTH {
            return 5; // _URC_END_OF_STACK: stop
        }
        SAMPLE[*count].store(ip, Ordering::Relaxed);
        *count += 1;
        0 // _URC_NO_REASON: go on
    }

    /// Unwinds from here into [`SAMPLE`]; no allocation, so it may run in a signal handler.
    #[inline(never)]
    fn record() {
        let mut count = 0usize;
        // SAFETY: `record_frame` matches the callback's C signature and only writes `count`.
        unsafe { _Unwind_Backtrace(record_frame, (&raw mut count).cast()) };
        SAMPLE_LEN.store(count, Ordering::Relaxed);
    }

    fn sample() -> Vec<usize> {
        let len = SAMPLE_LEN.load(Ordering::Relaxed);
        SAMPLE[..len]
            .iter()
            .map(|ip| ip.load(Ordering::Relaxed))
            .collect()
    }

    extern "C" fn on_signal(_: c_int) {
        record();
        SAMPLED.store(true, Ordering::Release);
    }

    /// Runs `work` on a thread until `samples` signals have each unwound it, and returns the traces,
    /// with the trace `work`'s caller took before starting (the frames every trace must end with).
    fn sample_while(
        work: impl Fn() + Send + Sync,
        samples: usize,
    ) -> (Vec<usize>, Vec<Vec<usize>>) {
        // SAFETY: a handler that only unwinds into statics (`record`); SIGPROF is this test's.
        unsafe {
            let mut action: libc::sigaction = std::mem::zeroed();
            action.sa_sigaction = on_signal as extern "C" fn(c_int) as usize;
            action.sa_flags = libc::SA_RESTART;
            libc::sigaction(libc::SIGPROF, &action, std::ptr::null_mut());
        }
        let stop = AtomicBool::new(false);
        let (thread_tx, thread_rx) = std::sync::mpsc::channel();
        std::thread::scope(|scope| {
            let worker = scope.spawn(|| {
                #[inline(never)]
                fn spin(work: &dyn Fn(), stop: &AtomicBool) -> Vec<usize> {
                    record();
                    let reference = sample();
                    while !stop.load(Ordering::Relaxed) {
                        work();
                    }
                    reference
                }
                // SAFETY: pthread_self has no preconditions.
                thread_tx
                    .send(unsafe { libc::pthread_self() })
                    .expect("send");
                spin(&work, &stop)
            });
            let thread = thread_rx.recv().expect("worker");
            std::thread::sleep(std::time::Duration::from_millis(20));
            let mut traces = Vec::with_capacity(samples);
            for _ in 0..samples {
                SAMPLED.store(false, Ordering::Release);
                // SAFETY: the worker is alive until `stop` is set below.
                unsafe { libc::pthread_kill(thread, libc::SIGPROF) };
                while !SAMPLED.load(Ordering::Acquire) {
                    std::hint::spin_loop();
                }
                traces.push(sample());
                std::thread::sleep(std::time::Duration::from_micros(300));
            }
            stop.store(true, Ordering::Relaxed);
            let reference = worker.join().expect("worker");
            (reference, traces)
        })
    }

    /// Every trace with a frame in `code` ends with the reference's frames above its first two
    /// (`record` and `spin`, whose address differs); and enough traces went through `code`.
    fn check_traces(what: &str, code: &[&[u8]], reference: &[usize], traces: &[Vec<usize>]) {
        let in_code = |ip: usize| {
            code.iter().any(|c| {
                let start = c.as_ptr() as usize;
                // A return address may be just past the code's last call.
                (start..=start + c.len()).contains(&ip)
            })
        };
        let above = &reference[2..];
        let mut through = 0;
        for trace in traces {
            if !trace.iter().any(|&ip| in_code(ip)) {
                continue;
            }
            through += 1;
            assert!(
                trace.ends_with(above),
                "{what}: a trace through JIT code lost the frames above it:\n{trace:x?}\nreference:\n{reference:x?}"
            );
        }
        println!(
            "{what}: {through} of {} traces went through JIT code",
            traces.len()
        );
        assert!(
            through * 4 >= traces.len(),
            "{what}: only {through} traces went through JIT code"
        );
    }

    #[test]
    fn traces_from_a_signal_pass_through_formulas_and_kernels_at_any_instruction() {
        let samples = if crate::common::runner().is_some() {
            100
        } else {
            400
        };
        let formula =
            Formula::<f64>::parse("sin(x) * x + cos(x * 2) - x / 3", &["x"]).expect("parse");
        let column: Vec<f64> = (0..4096).map(|i| f64::from(i) * 0.001).collect();
        for strategy in [Strategy::Optimizing, Strategy::Baseline] {
            let mut jit = Jit::with_strategy(strategy).expect("jit");
            let f = jit.compile_formula::<f64, f64>(&formula).expect("formula");
            let (reference, traces) = sample_while(
                || {
                    for &x in &column[..256] {
                        black_box(f.call(black_box(x)));
                    }
                },
                samples,
            );
            check_traces(
                &format!("{strategy:?} formula"),
                &[f.code()],
                &reference,
                &traces,
            );
            let kernel = jit.compile_kernel(&formula).expect("kernel");
            // Allocated once: a signal must not land in malloc (the first unwind after new code may
            // allocate).
            let out = Mutex::new(vec![0.0; column.len()]);
            let (reference, traces) = sample_while(
                || {
                    let mut out = out.lock().unwrap_or_else(|e| e.into_inner());
                    kernel.eval(&[&column], &mut out).expect("eval");
                },
                samples,
            );
            check_traces(
                &format!("{strategy:?} kernel"),
                &[kernel.code()],
                &reference,
                &traces,
            );
        }
    }
}

/// What unwind info costs a compile, in instructions that repeat exactly: `FNJIT_ROUNDS` rounds
/// (default 1) of a workload's compile and drop, `FNJIT_WORKLOAD` one of `inc`, `formula`,
/// `batch`, `baseline-formula`, `baseline-batch` (`valgrind --tool=callgrind <test binary>
/// --ignored --exact unwind::compiles_for_a_profiler`). A run of N rounds less a run of none,
/// over N, is one round, every thread counted; at this commit and at the one before unwind info,
/// the difference is its cost (docs/profiling.md). It prints the time per round too.
#[test]
#[ignore = "for a profiler"]
#[cfg(not(windows))]
fn compiles_for_a_profiler() {
    let workload = std::env::var("FNJIT_WORKLOAD").unwrap_or_else(|_| "inc".to_owned());
    let strategy = match workload.starts_with("baseline") {
        true => Strategy::Baseline,
        false => Strategy::Optimizing,
    };
    let mut jit = Jit::with_strategy(strategy).expect("jit");
    let formula = crate::baseline::formula_20();
    let sources: Vec<String> = (0..1000).map(|k| format!("x * {k} + y")).collect();
    let sources: Vec<&str> = sources.iter().map(String::as_str).collect();
    #[inline(never)]
    fn measured(jit: &mut Jit, workload: &str, formula: &Formula<f64>, sources: &[&str]) -> f64 {
        match workload {
            "inc" => f64::from(jit.compile_inc().expect("compile").call(1)),
            "formula" | "baseline-formula" => jit
                .compile_formula::<(f64, f64, f64), f64>(formula)
                .expect("compile")
                .call((1.0, 2.0, 3.0)),
            _ => jit
                .compile_formulas::<(f64, f64), f64>(sources, &["x", "y"])
                .expect("compile")[999]
                .call((1.0, 2.0)),
        }
    }
    let rounds: usize = std::env::var("FNJIT_ROUNDS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(1);
    black_box(measured(&mut jit, &workload, &formula, &sources));
    let start = std::time::Instant::now();
    for _ in 0..rounds {
        black_box(measured(&mut jit, &workload, &formula, &sources));
    }
    let per_round = start.elapsed().as_nanos() / rounds.max(1) as u128;
    println!("{workload}: {per_round} ns per round, after one to warm up");
}
