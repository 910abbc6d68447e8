//! In-process benchmarks behind `fnjit bench`: what a call costs, how long it takes to get a
//! callable function, and how fast the exhaustive check runs.
//!
//! The machine is shared and its speed drifts, so contenders run interleaved (each round runs
//! every contender once, in a rotated order) and every figure is a median over rounds, with the
//! interquartile range as its spread. Compare ratios taken in the same run, not absolute times.

use crate::check::{Inputs, check};
use crate::code_memory::{Placement, WritableCode};
use crate::{Error, HandStub, Jit, compile_inc, inc_reference, ir, isa};
use cranelift_codegen::Context;
use cranelift_codegen::control::ControlPlane;
use cranelift_frontend::FunctionBuilderContext;
use serde::{Deserialize, Serialize};
use std::hint::black_box;
use std::time::Instant;

/// Rust's own `x + 1`, called through a function pointer: the native baseline. rustc compiles
/// it to the gist's four bytes, `lea eax,[rdi+1]; ret`.
#[inline(never)]
pub extern "C" fn native_inc(x: i32) -> i32 {
    x.wrapping_add(1)
}

/// One contender's figures.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Row {
    /// Which comparison this row belongs to.
    pub group: String,
    /// The contender.
    pub name: String,
    /// Median nanoseconds per operation.
    pub median_ns: f64,
    /// First quartile.
    pub p25_ns: f64,
    /// Third quartile.
    pub p75_ns: f64,
    /// Median divided by the group's yardstick: native Rust for calls, the gist's way for time
    /// to a callable function, the whole compile for its phases, the JIT for the expression.
    pub ratio: f64,
}

/// Everything `fnjit bench` measures.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Results {
    /// CPU model and core count.
    pub machine: String,
    /// Interleaved rounds per figure.
    pub rounds: usize,
    /// All rows, grouped.
    pub rows: Vec<Row>,
    /// Inputs per second of the side-by-side check (reference, Cranelift, stub) on all cores.
    pub check_inputs_per_s: f64,
    /// JIT calls per second in that check (two per input), divided by cores times the
    /// single-core throughput of independent calls through `call` (the mean of JIT and stub).
    pub check_vs_call_throughput: f64,
    /// Threads the check ran on.
    pub threads: usize,
}

/// Call-cost group: independent calls.
pub const THROUGHPUT: &str = "call, independent (ns/call)";
/// Call-cost group: dependent chains.
pub const LATENCY: &str = "call, dependent chain x = f(x) (ns/call)";
/// Time-to-callable group.
pub const TO_CALLABLE: &str = "time to a callable function, with drop (ns)";
/// Phases of one `Jit::compile_inc`.
pub const PHASES: &str = "phases of Jit::compile_inc (ns)";
/// Interpreter against JIT on [`EXPR_20`].
pub const EXPRESSION: &str = "20-operator expression, independent (ns/call)";

/// A 20-operator expression touching every operator kind: the interpreter-versus-JIT benchmark.
pub const EXPR_20: &str = "((x * 3 + 7) ^ (x >> 2)) - ((x & 0xFF) << 3) + x / 5 % 11 | ~x & (x >>> 7) + 1 - -x * 9 + x * 7";

type Contender<'a> = (&'static str, Box<dyn FnMut(u64) -> bool + 'a>);

/// Runs the contenders interleaved: `rounds` rounds, each running every contender for `batch`
/// operations. Returns each contender's rows (ratio against the first contender); `Err` names a
/// contender that computed a wrong result.
fn interleaved(
    group: &str,
    mut contenders: Vec<Contender<'_>>,
    batch: u64,
    rounds: usize,
) -> Result<Vec<Row>, String> {
    let n = contenders.len();
    let mut samples = vec![Vec::with_capacity(rounds); n];
    for round in 0..rounds + 1 {
        for k in 0..n {
            let i = (k + round) % n;
            let (name, run) = &mut contenders[i];
            let start = Instant::now();
            let ok = run(batch);
            let ns = start.elapsed().as_nanos() as f64 / batch as f64;
            if !ok {
                return Err(format!("{name} computed a wrong result"));
            }
            if round > 0 {
                samples[i].push(ns); // round 0 warms up caches and predictors
            }
        }
    }
    let stats: Vec<_> = samples.iter_mut().map(|s| quartiles(s)).collect();
    let base = stats[0].1;
    Ok(contenders
        .iter()
        .zip(stats)
        .map(|((name, _), (p25, median, p75))| Row {
            group: group.to_owned(),
            name: (*name).to_owned(),
            median_ns: median,
            p25_ns: p25,
            p75_ns: p75,
            ratio: median / base,
        })
        .collect())
}

fn quartiles(s: &mut [f64]) -> (f64, f64, f64) {
    s.sort_by(f64::total_cmp);
    let at = |q: f64| s[((s.len() - 1) as f64 * q).round() as usize];
    (at(0.25), at(0.5), at(0.75))
}

/// `n` rounds of compiling `x + 1` with `jit`, calling each function once and dropping it.
fn compile_rounds(jit: &mut Jit, n: u64) -> bool {
    (0..n).all(|_| jit.compile_inc().is_ok_and(|f| f.call(41) == 42))
}

/// `n` independent calls of `f`, whose results are folded together so that none is dropped.
fn independent_any(f: impl Fn(i32) -> i32, n: u64) -> bool {
    black_box((0..n as i32).fold(0i32, |acc, x| acc ^ f(x)));
    true
}

/// `n` independent calls, each checked.
fn independent(f: impl Fn(i32) -> i32, n: u64) -> bool {
    let mut bad = false;
    for i in 0..n as i32 {
        bad |= f(i) != i.wrapping_add(1);
    }
    !bad
}

/// `n` dependent calls, `x = f(x)`, each checked.
fn chain(f: impl Fn(i32) -> i32, n: u64) -> bool {
    let (mut x, mut expected, mut bad) = (black_box(0i32), 0i32, false);
    for _ in 0..n {
        x = f(x);
        expected = expected.wrapping_add(1);
        bad |= x != expected;
    }
    !bad
}

/// Measures everything; `rounds` interleaved rounds a figure.
///
/// # Errors
/// Whatever compiling or mapping returns, or [`Error::BenchMismatch`] when a contender computed
/// a wrong result.
pub fn run(rounds: usize) -> Result<Results, Error> {
    let rounds = rounds.max(1);
    let (jit, jit_far) = (
        compile_inc()?,
        Jit::with_placement(Placement::Anywhere)?.compile_inc()?,
    );
    let (stub, stub_far) = (
        HandStub::gist()?,
        HandStub::gist_placed(Placement::Anywhere)?,
    );
    let mismatch = |what: String| Error::BenchMismatch { what };
    let native: extern "C" fn(i32) -> i32 = native_inc;
    let mut rows = Vec::new();

    // Call cost: through a black_box'd function pointer and through the crate's own `call`.
    // Every contender black-boxes its target once per batch and then calls it in the same loop.
    macro_rules! via {
        ($shape:ident, $name:expr, $target:expr, |$f:ident, $x:ident| $call:expr) => {{
            let target = $target;
            let run: Box<dyn FnMut(u64) -> bool + '_> = Box::new(move |n| {
                let $f = black_box(target);
                $shape(|$x| $call, n)
            });
            ($name, run)
        }};
    }
    macro_rules! calls {
        ($shape:ident) => {
            vec![
                via!($shape, "native Rust, fn pointer", native, |f, x| f(x)),
                via!($shape, "HandStub::call, near", &stub, |f, x| f.call(x)),
                via!($shape, "JitFunction::call, near", &jit, |f, x| f.call(x)),
                via!(
                    $shape,
                    "HandStub, fn pointer, near",
                    stub.as_fn(),
                    |f, x| f.call(x)
                ),
                via!(
                    $shape,
                    "JitFunction, fn pointer, near",
                    jit.as_fn(),
                    |f, x| f.call(x)
                ),
                via!(
                    $shape,
                    "HandStub::call, far (mmap(NULL))",
                    &stub_far,
                    |f, x| f.call(x)
                ),
                via!(
                    $shape,
                    "JitFunction::call, far (mmap(NULL))",
                    &jit_far,
                    |f, x| f.call(x)
                ),
                via!(
                    $shape,
                    "HandStub, fn pointer, far",
                    stub_far.as_fn(),
                    |f, x| f.call(x)
                ),
                via!(
                    $shape,
                    "JitFunction, fn pointer, far",
                    jit_far.as_fn(),
                    |f, x| f.call(x)
                ),
            ]
        };
    }
    rows.extend(interleaved(THROUGHPUT, calls!(independent), 200_000, rounds).map_err(mismatch)?);
    rows.extend(interleaved(LATENCY, calls!(chain), 200_000, rounds).map_err(mismatch)?);

    // Time to a callable function, including its drop.
    let mut reuse = Jit::new()?;
    let once =
        |f: &dyn Fn() -> Result<i32, Error>, n: u64| (0..n).all(|_| f().is_ok_and(|y| y == 42));
    let to_callable: Vec<Contender<'_>> = vec![
        (
            "the gist's way: mmap, copy, mprotect, munmap",
            Box::new(|n| once(&|| Ok(HandStub::gist_placed(Placement::Fresh)?.call(41)), n)),
        ),
        (
            "HandStub::gist()",
            Box::new(|n| once(&|| Ok(HandStub::gist()?.call(41)), n)),
        ),
        (
            "compile_inc()",
            Box::new(|n| once(&|| Ok(compile_inc()?.call(41)), n)),
        ),
        (
            "Jit::compile_inc(), reused Jit",
            Box::new(move |n| compile_rounds(&mut reuse, n)),
        ),
    ];
    rows.extend(interleaved(TO_CALLABLE, to_callable, 200, rounds).map_err(mismatch)?);
    rows.extend(phases(rounds)?);

    // An expression: the interpreter against the JIT, per call.
    let expr = crate::Expr::parse(EXPR_20)?;
    let f = crate::compile_expr(EXPR_20)?;
    let expr_contenders: Vec<Contender<'_>> = vec![
        via!(independent_any, "interpreter, Expr::eval", &expr, |e, x| e
            .eval(x)),
        via!(independent_any, "JIT, compile_expr", &f, |f, x| f.call(x)),
    ];
    let mut expr_rows =
        interleaved(EXPRESSION, expr_contenders, 20_000, rounds).map_err(mismatch)?;
    let jit_ns = expr_rows[1].median_ns;
    if expr.eval(12345) != f.call(12345) {
        return Err(mismatch(
            "the JIT'd expression disagrees with the interpreter".into(),
        ));
    }
    for row in &mut expr_rows {
        row.ratio = row.median_ns / jit_ns; // how many JIT calls fit in one of this
    }
    rows.extend(expr_rows);

    // The side-by-side check on a 2^24-input slice.
    let inputs = Inputs::Slice {
        start: 0,
        len: 1 << 24,
    };
    let mut per_s = Vec::new();
    let mut threads = 1;
    for _ in 0..rounds.div_ceil(4) {
        let r = check(
            ["rust", "cranelift", "stub"],
            |x| [inc_reference(x), jit.call(x), stub.call(x)],
            inputs,
            &|_| {},
        );
        if !r.agree() {
            return Err(mismatch(r.to_string()));
        }
        threads = r.threads;
        per_s.push(r.checked as f64 / r.elapsed.as_secs_f64());
    }
    let check_inputs_per_s = quartiles(&mut per_s).1;
    let call_ns = |name: &str| {
        rows.iter()
            .find(|r| r.group == THROUGHPUT && r.name == name)
            .map_or(f64::NAN, |r| r.median_ns)
    };
    let call_ns = (call_ns("JitFunction::call, near") + call_ns("HandStub::call, near")) / 2.0;
    let check_vs_call_throughput = 2.0 * check_inputs_per_s * call_ns * 1e-9 / threads as f64;

    Ok(Results {
        machine: machine(),
        rounds,
        rows,
        check_inputs_per_s,
        check_vs_call_throughput,
        threads,
    })
}

/// Where the time of one `Jit::compile_inc` goes: building the IR, Cranelift's compile, the
/// memory (map or pool, protect, release), and the rest (cranelift-jit's module and fnjit's glue,
/// measured as the whole minus the parts).
fn phases(rounds: usize) -> Result<Vec<Row>, Error> {
    let host = target_lexicon::Triple::host();
    let isa = isa::isa_for(host, isa::Opt::Fast)?;
    let (mut ctx, mut fctx) = (Context::new(), FunctionBuilderContext::new());
    let mut reuse = Jit::new()?;
    let contenders: Vec<Contender<'_>> = vec![
        (
            "whole Jit::compile_inc(), with drop",
            Box::new(move |n| compile_rounds(&mut reuse, n)),
        ),
        (
            "build the IR",
            Box::new(|n| {
                for _ in 0..n {
                    ir::build_inc(&mut ctx.func, &mut fctx, isa.frontend_config());
                }
                true
            }),
        ),
        (
            "build and compile (Cranelift)",
            Box::new(|n| {
                let (mut ctx, mut fctx) = (Context::new(), FunctionBuilderContext::new());
                (0..n).all(|_| {
                    ir::build_inc(&mut ctx.func, &mut fctx, isa.frontend_config());
                    let ok = ctx.compile(&*isa, &mut ControlPlane::default()).is_ok();
                    ctx.clear();
                    ok
                })
            }),
        ),
        (
            "code memory: take, protect, release",
            Box::new(|n| {
                (0..n).all(|_| {
                    WritableCode::new(12, Placement::Near)
                        .and_then(|w| w.make_executable(12))
                        .is_ok()
                })
            }),
        ),
    ];
    let mut rows = interleaved(PHASES, contenders, 200, rounds)
        .map_err(|what| Error::BenchMismatch { what })?;
    let (whole, build, compile, memory) = (
        rows[0].median_ns,
        rows[1].median_ns,
        rows[2].median_ns,
        rows[3].median_ns,
    );
    rows[2].name = "compile (Cranelift), without building".into();
    let compile_row = &mut rows[2];
    for stat in [
        &mut compile_row.median_ns,
        &mut compile_row.p25_ns,
        &mut compile_row.p75_ns,
    ] {
        *stat -= build;
    }
    let rest = whole - compile - memory;
    rows.push(Row {
        group: PHASES.to_owned(),
        name: "cranelift-jit module and glue (the rest)".into(),
        median_ns: rest,
        p25_ns: rest,
        p75_ns: rest,
        ratio: rest / whole,
    });
    for row in &mut rows {
        row.ratio = row.median_ns / whole;
    }
    Ok(rows)
}

fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    format!("{cpu}, {cores} cores")
}

/// The results as a table.
pub fn table(r: &Results) -> String {
    use std::fmt::Write as _;
    let mut out = format!(
        "fnjit bench on {}: medians of {} interleaved rounds, spread = interquartile range\n",
        r.machine, r.rounds
    );
    let mut group = "";
    for row in &r.rows {
        if row.group != group {
            group = &row.group;
            let ratio = match group {
                g if g == TO_CALLABLE => "/ gist's way",
                g if g == PHASES => "share",
                g if g == EXPRESSION => "/ JIT",
                _ => "/ native",
            };
            let _ = write!(
                out,
                "\n{group:<44} {:>10} {:>19} {:>12}\n",
                "median", "spread", ratio
            );
        }
        let _ = writeln!(
            out,
            "  {:<42} {:>10.2} {:>9.2} ..{:>8.2} {:>12.2}",
            row.name, row.median_ns, row.p25_ns, row.p75_ns, row.ratio
        );
    }
    let _ = write!(
        out,
        "\nside-by-side check, 2^24 inputs: {:.0} M inputs/s on {} threads = {:.2} of {} x the single-core call throughput\n",
        r.check_inputs_per_s / 1e6,
        r.threads,
        r.check_vs_call_throughput,
        r.threads
    );
    out
}
