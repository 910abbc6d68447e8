//! In-process benchmarks behind `fnjit bench`: what a call costs, how long it takes to get a
//! callable function, and how fast the exhaustive check runs.
//!
//! The machine is shared and its speed drifts, so contenders run interleaved (each round runs
//! every contender once, in a rotated order) and every figure is a median over rounds, with the
//! interquartile range as its spread. Compare ratios taken in the same run, not absolute times.

mod kernels;
mod peers;
mod scale;

pub use kernels::{
    KERNEL_ROWS, KERNELS, KernelContender, KernelFormula, PAR_ROWS, columns, native,
};
pub use peers::{
    ENGINES, Engine, Eval, FORMULAS, PeerFormula, Tiers, both_tiers, f64_engines, i64_engines,
    inputs, int_inputs,
};
pub use scale::{
    BATCH, QUICK_TIER_POWERS, RSS_BATCH, Scale, TIER_FORMULA, TIER_POWERS, Tiering, formula_20,
    inc_ir,
};

use cranelift_codegen::Context;
use cranelift_codegen::control::ControlPlane;
use cranelift_codegen::isa::OwnedTargetIsa;
use cranelift_codegen::settings::{self, Configurable};
use cranelift_frontend::FunctionBuilderContext;
use fnjit::check::{Inputs, check, inc_reference};
use fnjit::jit::Placement;
use fnjit::{Error, HandStub, Jit, JitFunction, compile_inc, ir};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::hint::black_box;
use std::time::Instant;

/// Rust's own `x + 1`, called through a function pointer: the native baseline. rustc compiles
/// it to the gist's four bytes, `lea eax,[rdi+1]; ret`.
#[inline(never)]
pub extern "C" fn native_inc(x: i32) -> i32 {
    x.wrapping_add(1)
}

/// A comparison: the contenders in it share a yardstick, the first of them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Group {
    /// Independent calls of `x + 1` (ns/call); against native Rust.
    CallIndependent,
    /// Dependent chains `x = f(x)` (ns/call); against native Rust.
    CallChain,
    /// Time to a callable function, with its drop (ns); against the gist's way.
    ToCallable,
    /// Where the time of one `Jit::compile_inc` goes (ns); shares of the whole.
    Phases,
    /// The 20-operator expression [`EXPR_20`] (ns/call); against the JIT.
    Expression,
    /// Formulas per evaluation, fnjit against the evaluators Rust users pick (ns/eval); against
    /// a native Rust closure.
    PeerEval,
    /// Parsing (and compiling) those formulas (ns); against fnjit.
    PeerCompile,
    /// Kernels over 1,000,000 rows (ns/row); against a native Rust loop.
    KernelRows,
    /// `eval_par` against `eval` on 10,000,000 rows (ns/row); speed-up over `eval`.
    KernelCores,
    /// `x + 1` compiled one at a time and in batches, hot and cold (ns/function); against the
    /// gist's way.
    BatchInc,
    /// 20-operator formulas compiled one at a time and in batches, hot and cold (ns/function);
    /// against one at a time.
    BatchFormula,
    /// The compile cache (ns); against compiling.
    Cache,
    /// Evaluating a formula 10^p times in all (ns); against the better of always interpreting
    /// and compiling first.
    Tiers,
}

impl Group {
    /// Every group, in the order `fnjit bench` measures them.
    pub const ALL: [Group; 13] = [
        Group::CallIndependent,
        Group::CallChain,
        Group::ToCallable,
        Group::Phases,
        Group::Expression,
        Group::PeerEval,
        Group::PeerCompile,
        Group::KernelRows,
        Group::KernelCores,
        Group::BatchInc,
        Group::BatchFormula,
        Group::Cache,
        Group::Tiers,
    ];

    /// Whether only `fnjit bench --long` measures it.
    pub fn long_only(self) -> bool {
        matches!(self, Group::KernelCores)
    }

    /// The steps [`run`] announces, in order: every group it measures, but the formulas' parse
    /// and compile times, which it measures together with their evaluations.
    pub fn steps(long: bool) -> Vec<Group> {
        Group::ALL
            .into_iter()
            .filter(|g| (long || !g.long_only()) && *g != Group::PeerCompile)
            .collect()
    }

    /// The group's heading, with its unit.
    pub fn title(self) -> &'static str {
        match self {
            Group::CallIndependent => "call, independent (ns/call)",
            Group::CallChain => "call, dependent chain x = f(x) (ns/call)",
            Group::ToCallable => "time to a callable function, with drop (ns)",
            Group::Phases => "phases of Jit::compile_inc (ns)",
            Group::Expression => "20-operator expression, independent (ns/call)",
            Group::PeerEval => "formulas, per evaluation (ns/eval)",
            Group::PeerCompile => "formulas, parse (and compile) (ns)",
            Group::KernelRows => "kernels, 1,000,000 rows (ns/row)",
            Group::KernelCores => "kernel on every core, 10,000,000 rows (ns/row)",
            Group::BatchInc => "x + 1, time per function, hot then cold (ns)",
            Group::BatchFormula => "20-operator formulas, per function, hot then cold (ns)",
            Group::Cache => "compile cache and compile, parsed 20-operator formula (ns)",
            Group::Tiers => "one formula evaluated 10^p times, in all (ns)",
        }
    }

    /// What the ratio column divides by.
    pub fn ratio_heading(self) -> &'static str {
        match self {
            Group::CallIndependent | Group::CallChain => "/ native",
            Group::ToCallable => "/ gist's way",
            Group::Phases => "share",
            Group::Expression => "/ JIT",
            Group::PeerEval => "/ native",
            Group::PeerCompile => "/ fnjit",
            Group::KernelRows => "/ native",
            Group::KernelCores => "speed-up",
            Group::BatchInc => "/ gist's way",
            Group::BatchFormula => "/ one at a time",
            Group::Cache => "/ compile",
            Group::Tiers => "/ better",
        }
    }
}

/// Which code a call contender calls.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Code {
    /// The gist's bytes, [`HandStub`].
    Stub,
    /// Cranelift's `x + 1`, a [`fnjit::JitFunction`].
    Jit,
}

/// One thing measured.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Contender {
    /// Rust's own `x + 1` through a function pointer ([`native_inc`]).
    Native,
    /// A call of `x + 1` through `call` or through the copyable pointer `as_fn`, to code placed
    /// near the program's code or far from it.
    Call {
        /// Which code.
        code: Code,
        /// Through `as_fn()` rather than `call`.
        pointer: bool,
        /// Placed with `mmap(NULL)` rather than near.
        far: bool,
    },
    /// The gist's way: `mmap`, copy, `mprotect`, call, `munmap` ([`Placement::Fresh`]).
    GistWay,
    /// `HandStub::gist()`: the gist's bytes in a pooled page.
    Stub,
    /// `compile_inc()`, a new `Jit` each time.
    CompileInc,
    /// `Jit::compile_inc()` on a reused `Jit`.
    ReusedJit,
    /// Phase: building the IR.
    BuildIr,
    /// Phase: Cranelift's `Context::compile`, without building.
    CraneliftCompile,
    /// Phase: code memory, taken, protected and released.
    CodeMemory,
    /// Phase: cranelift-jit's module and fnjit's glue, the whole minus the parts.
    Rest,
    /// The expression interpreter, `Expr::eval`.
    Interpreter,
    /// The JIT'd expression, `compile_expr`.
    JitExpr,
    /// A way to compute kernel formula `formula` of [`KERNELS`] over columns.
    KernelRow {
        /// Who computes the rows.
        contender: KernelContender,
        /// Index into [`KERNELS`].
        formula: u8,
    },
    /// Compiling many functions, or the cache, with the caches evicted first or not.
    Scale {
        /// What is done.
        what: Scale,
        /// Other work evicted the caches before each compile.
        cold: bool,
    },
    /// Evaluating a formula `10^calls_log10` times, one way.
    Tier {
        /// Which way.
        who: Tiering,
        /// The power of ten.
        calls_log10: u8,
    },
    /// An engine on formula `formula` of [`peers::FORMULAS`].
    Engine {
        /// Which engine.
        engine: Engine,
        /// Index into [`peers::FORMULAS`].
        formula: u8,
    },
}

/// The call contenders, in table order: the yardstick first.
pub const CALLS: [Contender; 9] = {
    use Code::{Jit, Stub};
    const fn call(code: Code, pointer: bool, far: bool) -> Contender {
        Contender::Call { code, pointer, far }
    }
    [
        Contender::Native,
        call(Stub, false, false),
        call(Jit, false, false),
        call(Stub, true, false),
        call(Jit, true, false),
        call(Stub, false, true),
        call(Jit, false, true),
        call(Stub, true, true),
        call(Jit, true, true),
    ]
};

/// The time-to-callable contenders, in table order: the yardstick first.
pub const TO_CALLABLE: [Contender; 4] = [
    Contender::GistWay,
    Contender::Stub,
    Contender::CompileInc,
    Contender::ReusedJit,
];

impl Contender {
    /// A baseline: native code, or the gist's own way.
    pub fn is_baseline(self) -> bool {
        matches!(
            self,
            Contender::Native
                | Contender::GistWay
                | Contender::Scale {
                    what: Scale::GistWay | Scale::SingleFormula | Scale::CacheMiss,
                    ..
                }
                | Contender::Engine {
                    engine: Engine::Native,
                    ..
                }
                | Contender::KernelRow {
                    contender: KernelContender::NativeLoop,
                    ..
                }
        )
    }

    /// Another crate's formula evaluator.
    pub fn is_peer(self) -> bool {
        matches!(
            self,
            Contender::Engine {
                engine: Engine::Fasteval | Engine::Exmex | Engine::Meval | Engine::Evalexpr,
                ..
            } | Contender::KernelRow {
                contender: KernelContender::Peer(_),
                ..
            }
        )
    }

    /// Code placed far from the program's code.
    pub fn is_far(self) -> bool {
        matches!(self, Contender::Call { far: true, .. })
    }
}

impl fmt::Display for Contender {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = match *self {
            Contender::Native => "native Rust, fn pointer",
            Contender::Call { code, pointer, far } => {
                let who = match code {
                    Code::Stub => "HandStub",
                    Code::Jit => "JitFunction",
                };
                let how = if pointer { ", fn pointer" } else { "::call" };
                let place = if far { "far (mmap(NULL))" } else { "near" };
                return write!(f, "{who}{how}, {place}");
            }
            Contender::GistWay => "the gist's way: mmap, copy, mprotect, munmap",
            Contender::Stub => "HandStub::gist()",
            Contender::CompileInc => "compile_inc()",
            Contender::ReusedJit => "Jit::compile_inc(), reused Jit",
            Contender::BuildIr => "build the IR",
            Contender::CraneliftCompile => "compile (Cranelift), without building",
            Contender::CodeMemory => "code memory: take, copy, protect, release",
            Contender::Rest => "cranelift-jit module and glue (the rest)",
            Contender::Interpreter => "interpreter, Expr::eval",
            Contender::JitExpr => "JIT, compile_expr",
            Contender::KernelRow { contender, formula } => {
                let src = KERNELS.get(usize::from(formula)).map_or("?", |f| f.src);
                let short: String = src.chars().take(20).collect();
                let more = if short.len() < src.len() { "…" } else { "" };
                let who = match contender {
                    KernelContender::NativeLoop => "native loop".to_owned(),
                    KernelContender::Eval => "Kernel::eval".to_owned(),
                    KernelContender::EvalPar => "Kernel::eval_par".to_owned(),
                    KernelContender::EvalArrow => "Kernel::eval_arrow".to_owned(),
                    KernelContender::EvalArrowNulls => "eval_arrow, 1 in 8 null".to_owned(),
                    KernelContender::Baseline => "baseline Kernel::eval".to_owned(),
                    KernelContender::ScalarPerRow => "Function per row".to_owned(),
                    KernelContender::Peer(engine) => format!("{engine:?} per row"),
                };
                return write!(f, "{who}: {short}{more}");
            }
            Contender::Scale { what, cold } => {
                let when = if cold { "cold" } else { "hot" };
                return write!(f, "{what}, {when}");
            }
            Contender::Tier { who, calls_log10 } => {
                return write!(f, "10^{calls_log10} calls: {who:?}");
            }
            Contender::Engine { engine, formula } => {
                let src = peers::FORMULAS
                    .get(usize::from(formula))
                    .map_or("?", |f| f.src);
                let short: String = src.chars().take(24).collect();
                let more = if short.len() < src.len() { "…" } else { "" };
                return write!(f, "{engine:?}: {short}{more}");
            }
        };
        f.write_str(text)
    }
}

/// The functions the call contenders call: `x + 1` from Cranelift and from the gist's bytes,
/// each placed near and far. `fnjit bench` and `cargo bench` use the same.
#[derive(Debug)]
pub struct Fixtures {
    jit: JitFunction,
    jit_far: JitFunction,
    stub: HandStub,
    stub_far: HandStub,
}

impl Fixtures {
    /// Compiles and maps the four functions.
    ///
    /// # Errors
    /// As [`compile_inc`] and [`HandStub::gist`].
    pub fn new() -> Result<Fixtures, Error> {
        Ok(Fixtures {
            jit: compile_inc()?,
            jit_far: Jit::with_placement(Placement::Anywhere)?.compile_inc()?,
            stub: HandStub::gist()?,
            stub_far: HandStub::gist_placed(Placement::Anywhere)?,
        })
    }

    /// The function a [`Contender::Call`] calls; `None` for any other contender.
    pub fn target(&self, contender: Contender) -> Option<&JitFunction> {
        let Contender::Call { code, far, .. } = contender else {
            return None;
        };
        Some(match (code, far) {
            (Code::Jit, false) => &self.jit,
            (Code::Jit, true) => &self.jit_far,
            (Code::Stub, false) => &self.stub,
            (Code::Stub, true) => &self.stub_far,
        })
    }
}

/// One time-to-callable round of `contender` (one of [`TO_CALLABLE`]): get the function, call it
/// at 41, drop it; `jit` serves [`Contender::ReusedJit`]. Returns the call's result.
///
/// # Errors
/// As the contender's constructor; a contender not in [`TO_CALLABLE`] is a [`Failure`].
pub fn to_callable_once(contender: Contender, jit: &mut Jit) -> Result<i32, Failure> {
    Ok(match contender {
        Contender::GistWay => HandStub::gist_placed(Placement::Fresh)?.call(41),
        Contender::Stub => HandStub::gist()?.call(41),
        Contender::CompileInc => compile_inc()?.call(41),
        Contender::ReusedJit => jit.compile_inc()?.call(41),
        other => {
            return Err(Failure::Mismatch(format!(
                "{other} is not a time-to-callable contender"
            )));
        }
    })
}

/// Why the benchmark stopped.
#[derive(Debug)]
pub enum Failure {
    /// Compiling or mapping failed.
    Error(Error),
    /// A contender computed a wrong result, so its timing would mean nothing.
    Mismatch(String),
    /// Cranelift would not build the host's backend for timing it alone.
    Isa(String),
}

impl From<Error> for Failure {
    fn from(e: Error) -> Self {
        Failure::Error(e)
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::Error(e) => write!(f, "{e}"),
            Failure::Mismatch(what) => {
                write!(
                    f,
                    "benchmark stopped: {what}; its timings would mean nothing"
                )
            }
            Failure::Isa(why) => write!(
                f,
                "Cranelift would not build the host's backend to time it alone: {why}"
            ),
        }
    }
}

impl std::error::Error for Failure {}

/// One contender's figures.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Row {
    /// Which comparison this row belongs to.
    pub group: Group,
    /// The contender.
    pub contender: Contender,
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
    /// Memory per live function of a batch of 100,000 small formulas, in bytes: resident as
    /// the batch is compiled, resident after freed compiler memory is returned to the OS, and
    /// owned (code and `Function` values).
    #[serde(default)]
    pub batch_memory_per_function: [f64; 3],
    /// The same for the baseline tier's batch.
    #[serde(default)]
    pub baseline_memory_per_function: [f64; 3],
    /// The same for baseline functions compiled one at a time (in the shared chunks).
    #[serde(default)]
    pub baseline_single_memory_per_function: [f64; 3],
}

impl Results {
    /// For formula `formula` of [`FORMULAS`] and fnjit's tier `tier` (`Engine::Fnjit` or
    /// `Engine::FnjitBaseline`): the peer with the fastest evaluation, how many times faster
    /// fnjit evaluates than it, and after how many evaluations fnjit's parse and compile has paid
    /// for itself against that peer's parse (`None` if it never does).
    pub fn against_fastest_peer(
        &self,
        tier: Engine,
        formula: u8,
    ) -> Option<(Engine, f64, Option<f64>)> {
        let time = |group, engine| {
            self.row(group, Contender::Engine { engine, formula })
                .map(|r| r.median_ns)
        };
        let fnjit_eval = time(Group::PeerEval, tier)?;
        let (peer, peer_eval) = ENGINES
            .iter()
            .filter(|&&e| !matches!(e, Engine::Native | Engine::Fnjit | Engine::FnjitBaseline))
            .filter_map(|&e| Some((e, time(Group::PeerEval, e)?)))
            .min_by(|a, b| a.1.total_cmp(&b.1))?;
        let extra_compile = time(Group::PeerCompile, tier)? - time(Group::PeerCompile, peer)?;
        let saved = peer_eval - fnjit_eval;
        let break_even = (saved > 0.0).then(|| (extra_compile / saved).max(0.0).ceil());
        Some((peer, peer_eval / fnjit_eval, break_even))
    }

    /// The row of `contender` in `group`.
    pub fn row(&self, group: Group, contender: Contender) -> Option<&Row> {
        self.rows
            .iter()
            .find(|r| r.group == group && r.contender == contender)
    }
}

/// A 20-operator expression touching every operator kind: the interpreter-versus-JIT benchmark.
pub const EXPR_20: &str = "((x * 3 + 7) ^ (x >> 2)) - ((x & 0xFF) << 3) + x / 5 % 11 | ~x & (x >>> 7) + 1 - -x * 9 + x * 7";

type Runner<'a> = (Contender, Box<dyn FnMut(u64) -> bool + 'a>);

/// Runs the contenders interleaved: `rounds` rounds, each running every contender for `batch`
/// operations. Returns each contender's row (ratio against the first contender); a contender
/// that computed a wrong result stops the run.
fn interleaved(
    group: Group,
    mut contenders: Vec<Runner<'_>>,
    batch: u64,
    rounds: usize,
) -> Result<Vec<Row>, Failure> {
    let n = contenders.len();
    let mut samples = vec![Vec::with_capacity(rounds); n];
    for round in 0..rounds + 1 {
        for k in 0..n {
            let i = (k + round) % n;
            let (contender, run) = &mut contenders[i];
            let start = Instant::now();
            let ok = run(batch);
            let ns = start.elapsed().as_nanos() as f64 / batch as f64;
            if !ok {
                return Err(Failure::Mismatch(format!(
                    "{contender} computed a wrong result"
                )));
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
        .map(|((contender, _), (p25, median, p75))| Row {
            group,
            contender: *contender,
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

/// Measures every group, `rounds` interleaved rounds a figure, calling `progress` as each group
/// starts. Without `long`, the tiering curve stops at 10^5 calls and the 10^7-row kernel on every
/// core ([`Group::KernelCores`]) is left out: the run then takes about a minute.
///
/// # Errors
/// Whatever compiling or mapping returns, or [`Failure::Mismatch`] when a contender computed a
/// wrong result.
pub fn run(rounds: usize, long: bool, progress: &dyn Fn(Group)) -> Result<Results, Failure> {
    let rounds = rounds.max(1);
    let fixtures = Fixtures::new()?;
    let native: extern "C" fn(i32) -> i32 = native_inc;
    let mut rows = Vec::new();

    // Call cost: through a black_box'd function pointer and through the crate's own `call`.
    // Every contender black-boxes its target once per batch and then calls it in the same loop.
    macro_rules! via {
        ($shape:ident, $target:expr, |$f:ident, $x:ident| $call:expr) => {{
            let target = $target;
            let run: Box<dyn FnMut(u64) -> bool + '_> = Box::new(move |n| {
                let $f = black_box(target);
                $shape(|$x| $call, n)
            });
            run
        }};
    }
    macro_rules! calls {
        ($shape:ident) => {
            CALLS
                .iter()
                .map(|&c| {
                    let run = match (fixtures.target(c), c) {
                        (Some(f), Contender::Call { pointer: true, .. }) => {
                            via!($shape, f.as_fn(), |f, x| f.call(x))
                        }
                        (Some(f), _) => via!($shape, f, |f, x| f.call(x)),
                        (None, _) => via!($shape, native, |f, x| f(x)),
                    };
                    (c, run)
                })
                .collect()
        };
    }
    progress(Group::CallIndependent);
    rows.extend(interleaved(
        Group::CallIndependent,
        calls!(independent),
        200_000,
        rounds,
    )?);
    progress(Group::CallChain);
    rows.extend(interleaved(
        Group::CallChain,
        calls!(chain),
        200_000,
        rounds,
    )?);

    // Time to a callable function, including its drop.
    progress(Group::ToCallable);
    let mut runners: Vec<Runner<'_>> = Vec::new();
    for c in TO_CALLABLE {
        let mut jit = Jit::new()?; // used by the reused-Jit contender only
        runners.push((
            c,
            Box::new(move |n| (0..n).all(|_| to_callable_once(c, &mut jit).is_ok_and(|y| y == 42))),
        ));
    }
    rows.extend(interleaved(Group::ToCallable, runners, 200, rounds)?);
    progress(Group::Phases);
    rows.extend(phases(rounds)?);

    // An expression: the interpreter against the JIT, per call.
    progress(Group::Expression);
    let expr = fnjit::Expr::parse(EXPR_20).map_err(Error::from)?;
    let f = Jit::new()?.compile_formula::<i32, i32>(expr.formula())?;
    if expr.eval(12345) != f.call(12345) {
        return Err(Failure::Mismatch(
            "the JIT'd expression disagrees with the interpreter".into(),
        ));
    }
    let expr_contenders: Vec<Runner<'_>> = vec![
        (
            Contender::Interpreter,
            via!(independent_any, &expr, |e, x| e.eval(x)),
        ),
        (
            Contender::JitExpr,
            via!(independent_any, &f, |f, x| f.call(x)),
        ),
    ];
    let mut expr_rows = interleaved(Group::Expression, expr_contenders, 20_000, rounds)?;
    let jit_ns = expr_rows[1].median_ns;
    for row in &mut expr_rows {
        row.ratio = row.median_ns / jit_ns; // how many JIT calls fit in one of this
    }
    rows.extend(expr_rows);

    progress(Group::PeerEval);
    rows.extend(peers::run(rounds)?);
    rows.extend(kernels::run(rounds, long, progress)?);
    rows.extend(scale::run(rounds, long, progress)?);
    let batch_memory_per_function = scale::rss_per_function(fnjit::Strategy::Optimizing, true)?;
    let baseline_memory_per_function = scale::rss_per_function(fnjit::Strategy::Baseline, true)?;
    let baseline_single_memory_per_function =
        scale::rss_per_function(fnjit::Strategy::Baseline, false)?;

    // The side-by-side check on a 2^24-input slice.
    let inputs = Inputs::Slice {
        start: 0,
        len: 1 << 24,
    };
    let (jit, stub) = (&fixtures.jit, &fixtures.stub);
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
            return Err(Failure::Mismatch(r.to_string()));
        }
        threads = r.threads;
        per_s.push(r.checked as f64 / r.elapsed.as_secs_f64());
    }
    let check_inputs_per_s = quartiles(&mut per_s).1;
    let mut results = Results {
        machine: machine(),
        rounds,
        rows,
        check_inputs_per_s,
        check_vs_call_throughput: 0.0,
        threads,
        batch_memory_per_function,
        baseline_memory_per_function,
        baseline_single_memory_per_function,
    };
    let call_ns = |code| {
        let c = Contender::Call {
            code,
            pointer: false,
            far: false,
        };
        results
            .row(Group::CallIndependent, c)
            .map_or(f64::NAN, |r| r.median_ns)
    };
    let call_ns = (call_ns(Code::Jit) + call_ns(Code::Stub)) / 2.0;
    results.check_vs_call_throughput = 2.0 * check_inputs_per_s * call_ns * 1e-9 / threads as f64;
    Ok(results)
}

/// Cranelift's backend for the host with the settings `Jit::compile_inc` uses (`opt_level =
/// none`, no verifier, no unwind info), to time Cranelift's part of a compile alone.
fn inc_isa() -> Result<OwnedTargetIsa, Failure> {
    let refused = |e: &dyn fmt::Display| Failure::Isa(e.to_string());
    let mut flags = settings::builder();
    for (name, value) in [
        ("opt_level", "none"),
        ("enable_verifier", "false"),
        ("unwind_info", "false"),
    ] {
        flags.set(name, value).map_err(|e| refused(&e))?;
    }
    cranelift_native::builder()
        .map_err(|e| refused(&e))?
        .finish(settings::Flags::new(flags))
        .map_err(|e| refused(&e))
}

/// Where the time of one `Jit::compile_inc` goes: building the IR, Cranelift's compile, the
/// memory (map or pool, protect, release), and the rest (cranelift-jit's module and fnjit's glue,
/// measured as the whole minus the parts).
fn phases(rounds: usize) -> Result<Vec<Row>, Failure> {
    let isa = inc_isa()?;
    let (mut ctx, mut fctx) = (Context::new(), FunctionBuilderContext::new());
    let mut reuse = Jit::new()?;
    let contenders: Vec<Runner<'_>> = vec![
        (
            Contender::ReusedJit,
            Box::new(move |n| {
                (0..n).all(|_| {
                    to_callable_once(Contender::ReusedJit, &mut reuse).is_ok_and(|y| y == 42)
                })
            }),
        ),
        (
            Contender::BuildIr,
            Box::new(|n| {
                for _ in 0..n {
                    ir::build_inc(&mut ctx.func, &mut fctx, isa.frontend_config());
                }
                true
            }),
        ),
        (
            Contender::CraneliftCompile,
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
            Contender::CodeMemory,
            Box::new(|n| (0..n).all(|_| HandStub::gist_placed(Placement::Near).is_ok())),
        ),
    ];
    let mut rows = interleaved(Group::Phases, contenders, 200, rounds)?;
    let (whole, build, compile, memory) = (
        rows[0].median_ns,
        rows[1].median_ns,
        rows[2].median_ns,
        rows[3].median_ns,
    );
    // The compile contender built the IR too: take the build out.
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
        group: Group::Phases,
        contender: Contender::Rest,
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

/// The CPU's model name and the number of cores: what every table of figures names.
pub fn machine() -> String {
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
    for group in Group::ALL {
        let _ = write!(
            out,
            "\n{:<44} {:>10} {:>19} {:>12}\n",
            group.title(),
            "median",
            "spread",
            group.ratio_heading()
        );
        for row in r.rows.iter().filter(|row| row.group == group) {
            let _ = writeln!(
                out,
                "  {:<42} {:>10.2} {:>9.2} ..{:>8.2} {:>12.2}",
                row.contender.to_string(),
                row.median_ns,
                row.p25_ns,
                row.p75_ns,
                row.ratio
            );
        }
    }
    for (tier, name) in [
        (Engine::Fnjit, "optimizing"),
        (Engine::FnjitBaseline, "baseline"),
    ] {
        let _ = writeln!(
            out,
            "\nfnjit ({name}) against the fastest peer, per formula:"
        );
        for (k, formula) in FORMULAS.iter().enumerate() {
            if let Some((peer, speedup, break_even)) = r.against_fastest_peer(tier, k as u8) {
                let pays =
                    break_even.map_or("never".to_owned(), |n| format!("after {n:.0} evaluations"));
                let _ = writeln!(
                    out,
                    "  {:<44} {speedup:>6.1} x faster than {peer:?}; compile pays {pays}",
                    formula.src.chars().take(44).collect::<String>()
                );
            }
        }
    }
    let _ = write!(
        out,
        "\nside-by-side check, 2^24 inputs: {:.0} M inputs/s on {} threads = {:.2} of {} x the single-core call throughput\n",
        r.check_inputs_per_s / 1e6,
        r.threads,
        r.check_vs_call_throughput,
        r.threads
    );
    for (tier, [grown, trimmed, owned]) in [
        ("an optimizing batch", r.batch_memory_per_function),
        ("a baseline batch", r.baseline_memory_per_function),
        (
            "baseline, one at a time,",
            r.baseline_single_memory_per_function,
        ),
    ] {
        let _ = writeln!(
            out,
            "memory per live function, {tier} of {RSS_BATCH} small formulas: {grown:.0} bytes of \
             RSS after compiling, {trimmed:.0} once freed compiler memory is returned \
             (malloc_trim), {owned:.0} owned (code and Function)"
        );
    }
    out
}
