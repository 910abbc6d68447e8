//! Thousands of functions: batches against one compile at a time (hot, and cold with the caches
//! evicted by other work before each compile), the compile cache, the memory a live batch
//! function costs, and the `Evaluator` against always interpreting and compiling first.

use super::{Contender, Failure, Group, Row, quartiles};
use fnjit::HandStub;
use fnjit::jit::Placement;
use fnjit::{Error, Evaluator, Formula, Function, Jit, Strategy};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::hint::black_box;
use std::time::Instant;

/// Functions per batch.
pub const BATCH: usize = 1000;
/// Functions in the batch whose memory is measured.
pub const RSS_BATCH: usize = 100_000;
/// Bytes of other work streamed through the caches before each cold compile.
const EVICT_BYTES: usize = 32 << 20;
/// Single compiles per contender and round, hot; cold ones are fewer (each evicts first).
const HOT_SINGLES: usize = 200;
const COLD_SINGLES: usize = 20;

/// What a scale contender does, per function.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Scale {
    /// `x + 1` the gist's way: map, copy, protect, call, unmap.
    GistWay,
    /// `Jit::compile_inc` on a reused `Jit`, one function at a time.
    ReusedJit,
    /// `Jit::compile_many` of [`BATCH`] `x + 1` functions.
    BatchInc,
    /// Parse and `Jit::compile_formula` of one 20-operator formula on a reused `Jit`.
    SingleFormula,
    /// `Jit::compile_formulas` of [`BATCH`] 20-operator formulas.
    BatchFormula,
    /// `Jit::compile_formula_cached`, finding a parsed formula in the cache.
    CacheHit,
    /// Parsing the text, then the cache hit.
    ParseAndHit,
    /// `Jit::compile_formula` of the same parsed formula, without the cache.
    CacheMiss,
    /// `Jit::compile` of `x + 1` as IR (`opt_level = speed`).
    UserIr,
    /// `Jit::compile` of `x + 1` as IR on a baseline `Jit` (`opt_level = none`).
    BaselineUserIr,
    /// `Jit::compile_formulas` of [`BATCH`] `x + 1` formulas on a baseline `Jit`.
    BaselineBatchInc,
    /// Parse and `Jit::compile_formula` of one 20-operator formula on a baseline `Jit`.
    BaselineFormula,
    /// `Jit::compile_formulas` of [`BATCH`] 20-operator formulas on a baseline `Jit`.
    BaselineBatchFormula,
    /// `Jit::compile_formula` of the same parsed formula on a baseline `Jit`, without the cache.
    BaselineCompile,
    /// Parse and `Jit::compile_kernel` of the 20-operator formula.
    Kernel,
    /// Parse and `Jit::compile_kernel` of the 20-operator formula on a baseline `Jit`.
    BaselineKernel,
}

/// Who evaluates a formula `10^calls_log10` times in [`Group::Tiers`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Tiering {
    /// `Formula::parse`, then `Formula::eval` every time.
    Interpret,
    /// `Formula::parse` and `Jit::compile_formula` first (a reused `Jit`), then
    /// `Function::call` every time.
    CompileFirst,
    /// `Formula::parse` and `Jit::compile_formula` on a baseline `Jit` first, then
    /// `Function::call` every time.
    BaselineFirst,
    /// `Evaluator::new` (which parses), then `Evaluator::eval` every time.
    Evaluator,
}

impl fmt::Display for Scale {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Scale::GistWay => "x + 1 the gist's way",
            Scale::ReusedJit => "x + 1, Jit::compile_inc, one at a time",
            Scale::BatchInc => "x + 1, Jit::compile_many of 1,000",
            Scale::SingleFormula => "parse + Jit::compile_formula, one at a time",
            Scale::BatchFormula => "Jit::compile_formulas of 1,000",
            Scale::CacheHit => "compile_formula_cached, a hit",
            Scale::ParseAndHit => "parse the text, then a hit",
            Scale::CacheMiss => "compile_formula, no cache",
            Scale::BaselineCompile => "compile_formula, baseline, no cache",
            Scale::UserIr => "x + 1 as IR, Jit::compile",
            Scale::BaselineUserIr => "x + 1 as IR, Jit::compile, baseline Jit",
            Scale::BaselineBatchInc => "x + 1 formulas, baseline, batch of 1,000",
            Scale::BaselineFormula => "parse + compile_formula, baseline",
            Scale::BaselineBatchFormula => "compile_formulas of 1,000, baseline",
            Scale::Kernel => "parse + compile_kernel",
            Scale::BaselineKernel => "parse + compile_kernel, baseline",
        })
    }
}

/// The 20-operator formula of the batch benchmark (the arithmetic kernel's), with its first
/// constant made `k` so that every function of a batch differs.
pub fn formula_20(k: usize) -> String {
    format!("x*y-z/(x+{k}.5)+y*y*0.5-x/3.0+z*z*z-(x-y)*(y-z)+2.5*x-y/4.0+z")
}

/// Streams [`EVICT_BYTES`] through the caches: other work between compiles.
fn evict(buffer: &mut [u8]) {
    for (i, byte) in buffer.iter_mut().step_by(64).enumerate() {
        *byte = byte.wrapping_add(i as u8);
    }
    black_box(&buffer);
}

/// A `fn(i32) -> i32 { x + 1 }` as IR, for `compile_many`.
pub fn inc_ir(jit: &Jit) -> cranelift_codegen::ir::Function {
    let mut func = cranelift_codegen::ir::Function::new();
    fnjit::ir::build_inc(
        &mut func,
        &mut cranelift_frontend::FunctionBuilderContext::new(),
        jit.frontend_config(),
    );
    func
}

/// One timed operation of `what` (a whole batch for the batch contenders), checked, on `jit` or
/// (for the baseline contenders) `baseline`. Returns nanoseconds per function.
fn once(
    what: Scale,
    [jit, baseline]: [&mut Jit; 2],
    inc: &[cranelift_codegen::ir::Function],
) -> Result<f64, Failure> {
    let srcs: Vec<String>;
    let vars = ["x", "y", "z"];
    let start = Instant::now();
    let (functions, ok) = match what {
        Scale::GistWay => (1, HandStub::gist_placed(Placement::Fresh)?.call(41) == 42),
        Scale::ReusedJit => (1, jit.compile_inc()?.call(41) == 42),
        Scale::BatchInc => {
            let fs = jit.compile_many::<i32, i32>(inc)?;
            (fs.len(), fs.iter().all(|f| f.call(41) == 42))
        }
        Scale::UserIr => (1, jit.compile::<i32, i32>(&inc[0])?.call(41) == 42),
        Scale::BaselineUserIr => (1, baseline.compile::<i32, i32>(&inc[0])?.call(41) == 42),
        Scale::BaselineBatchInc => {
            let srcs = [black_box("x + 1"); BATCH];
            let fs = baseline.compile_formulas::<i32, i32>(&srcs, &["x"])?;
            (fs.len(), fs.iter().all(|f| f.call(41) == 42))
        }
        Scale::SingleFormula | Scale::BaselineFormula => {
            let jit = if what == Scale::SingleFormula {
                jit
            } else {
                baseline
            };
            let formula = Formula::<f64>::parse(black_box(&formula_20(7)), &vars)?;
            let f: Function<(f64, f64, f64), f64> = jit.compile_formula(&formula)?;
            (1, f.call((1.0, 2.0, 3.0)).is_finite())
        }
        Scale::BatchFormula | Scale::BaselineBatchFormula => {
            let jit = if what == Scale::BatchFormula {
                jit
            } else {
                baseline
            };
            srcs = (0..BATCH).map(formula_20).collect();
            let srcs: Vec<&str> = srcs.iter().map(String::as_str).collect();
            let fs = jit.compile_formulas::<(f64, f64, f64), f64>(&srcs, &vars)?;
            (
                fs.len(),
                fs.iter().all(|f| f.call((1.0, 2.0, 3.0)).is_finite()),
            )
        }
        Scale::Kernel | Scale::BaselineKernel => {
            let jit = if what == Scale::Kernel { jit } else { baseline };
            let formula = Formula::<f64>::parse(black_box(&formula_20(7)), &vars)?;
            let kernel = jit.compile_kernel(&formula)?;
            let mut out = [0.0];
            kernel.eval(&[&[1.0], &[2.0], &[3.0]], &mut out)?;
            (1, out[0].is_finite())
        }
        other => {
            return Err(Failure::Mismatch(format!(
                "{other} is not a compile contender"
            )));
        }
    };
    let ns = start.elapsed().as_nanos() as f64 / functions as f64;
    if !ok {
        return Err(Failure::Mismatch(format!("{what} computed a wrong result")));
    }
    Ok(ns)
}

/// Hot and cold, interleaved: rows for `group` with `contenders` (the yardstick first).
fn compiles(group: Group, contenders: &[Scale], rounds: usize) -> Result<Vec<Row>, Failure> {
    let mut jit = Jit::new()?;
    let mut baseline = Jit::with_strategy(Strategy::Baseline)?;
    let inc: Vec<_> = (0..BATCH).map(|_| inc_ir(&jit)).collect();
    let mut buffer = vec![0u8; EVICT_BYTES];
    let n = contenders.len();
    let (mut hot, mut cold) = (vec![Vec::new(); n], vec![Vec::new(); n]);
    for round in 0..rounds + 1 {
        for k in 0..n {
            let i = (k + round) % n;
            let what = contenders[i];
            let batch = matches!(
                what,
                Scale::BatchInc
                    | Scale::BatchFormula
                    | Scale::BaselineBatchInc
                    | Scale::BaselineBatchFormula
            );
            let (hots, colds) = if batch {
                (1, 1)
            } else {
                (HOT_SINGLES, COLD_SINGLES)
            };
            let mut sum = 0.0;
            for _ in 0..hots {
                sum += once(what, [&mut jit, &mut baseline], &inc)?;
            }
            let mut cold_sum = 0.0;
            for _ in 0..colds {
                evict(&mut buffer);
                cold_sum += once(what, [&mut jit, &mut baseline], &inc)?;
            }
            if round > 0 {
                hot[i].push(sum / hots as f64);
                cold[i].push(cold_sum / colds as f64);
            }
        }
    }
    let mut rows = Vec::new();
    for (samples, cold) in [(hot, false), (cold, true)] {
        let stats: Vec<_> = samples.into_iter().map(|mut s| quartiles(&mut s)).collect();
        let base = stats[0].1;
        for (&what, (p25, median, p75)) in contenders.iter().zip(stats) {
            rows.push(Row {
                group,
                contender: Contender::Scale { what, cold },
                median_ns: median,
                p25_ns: p25,
                p75_ns: p75,
                ratio: median / base,
            });
        }
    }
    Ok(rows)
}

/// The cache: a hit, text to a hit, and the compile a hit saves, optimizing and baseline.
fn cache(rounds: usize) -> Result<Vec<Row>, Failure> {
    let mut jit = Jit::new()?;
    let mut baseline = Jit::with_strategy(Strategy::Baseline)?;
    let vars = ["x", "y", "z"];
    let src = formula_20(7);
    let formula = Formula::<f64>::parse(&src, &vars)?;
    let first = jit.compile_formula_cached::<(f64, f64, f64), f64>(&formula)?;
    let want = first.call((1.0, 2.0, 3.0));
    let contenders = [
        Scale::CacheMiss,
        Scale::BaselineCompile,
        Scale::CacheHit,
        Scale::ParseAndHit,
    ];
    let reps = |what| if what == Scale::CacheMiss { 20 } else { 10_000 };
    let mut samples = vec![Vec::new(); contenders.len()];
    for round in 0..rounds + 1 {
        for (i, &what) in contenders.iter().enumerate() {
            let start = Instant::now();
            let mut ok = true;
            for _ in 0..reps(what) {
                let f: Function<(f64, f64, f64), f64> = match what {
                    Scale::CacheMiss => jit.compile_formula(&formula)?,
                    Scale::BaselineCompile => baseline.compile_formula(black_box(&formula))?,
                    Scale::CacheHit => jit.compile_formula_cached(black_box(&formula))?,
                    _ => jit.compile_formula_cached(&Formula::parse(black_box(&src), &vars)?)?,
                };
                ok &= f.call((1.0, 2.0, 3.0)).to_bits() == want.to_bits();
            }
            let ns = start.elapsed().as_nanos() as f64 / reps(what) as f64;
            if !ok {
                return Err(Failure::Mismatch(format!("{what} computed a wrong result")));
            }
            if round > 0 {
                samples[i].push(ns);
            }
        }
    }
    let stats: Vec<_> = samples.into_iter().map(|mut s| quartiles(&mut s)).collect();
    let base = stats[0].1;
    Ok(contenders
        .iter()
        .zip(stats)
        .map(|(&what, (p25, median, p75))| Row {
            group: Group::Cache,
            contender: Contender::Scale { what, cold: false },
            median_ns: median,
            p25_ns: p25,
            p75_ns: p75,
            ratio: median / base,
        })
        .collect())
}

/// What a live function of [`RSS_BATCH`] small formulas costs, in bytes, compiled as one batch
/// or one at a time: resident memory grown while they live, per function; the same after
/// `malloc_trim` hands the compiler's freed scratch memory back (glibc); and what the functions
/// own, their code (the span of the memory they use, alignment and gaps included) plus the
/// `Function` values.
pub(super) fn rss_per_function(strategy: Strategy, batch: bool) -> Result<[f64; 3], Error> {
    let srcs: Vec<String> = (0..RSS_BATCH).map(|k| format!("x * {k} + y")).collect();
    let srcs: Vec<&str> = srcs.iter().map(String::as_str).collect();
    let mut jit = Jit::with_strategy(strategy)?;
    let vars = ["x", "y"];
    type Small = Function<(f64, f64), f64>;
    let mut compile = |srcs: &[&str]| -> Result<Vec<Small>, Error> {
        if batch {
            jit.compile_formulas(srcs, &vars)
        } else {
            srcs.iter()
                .map(|src| jit.compile_formula(&Formula::parse(src, &vars)?))
                .collect()
        }
    };
    compile(&srcs[..BATCH])?; // warm up
    trim();
    let before = rss_bytes();
    let fs = compile(&srcs)?;
    let grown = rss_bytes().saturating_sub(before) as f64;
    trim();
    let trimmed = rss_bytes().saturating_sub(before) as f64;
    let start = |f: &Function<(f64, f64), f64>| f.code().as_ptr() as usize;
    let lo = fs.iter().map(start).min().unwrap_or(0);
    let hi = fs
        .iter()
        .map(|f| start(f) + f.code().len())
        .max()
        .unwrap_or(0);
    let owned = (hi - lo + std::mem::size_of_val(fs.as_slice())) as f64;
    let n = fs.len() as f64;
    Ok([grown / n, trimmed / n, owned / n])
}

/// The process's working set (Windows).
#[cfg(windows)]
fn rss_bytes() -> u64 {
    use windows_sys::Win32::System::ProcessStatus::{
        K32GetProcessMemoryInfo, PROCESS_MEMORY_COUNTERS,
    };
    use windows_sys::Win32::System::Threading::GetCurrentProcess;
    // SAFETY: the counters are plain data, valid all zeroes, and the call fills at most `cb`
    // bytes of them; GetCurrentProcess is a constant pseudo-handle.
    unsafe {
        let mut counters: PROCESS_MEMORY_COUNTERS = std::mem::zeroed();
        let cb = size_of::<PROCESS_MEMORY_COUNTERS>() as u32;
        counters.cb = cb;
        match K32GetProcessMemoryInfo(GetCurrentProcess(), &mut counters, cb) {
            0 => 0,
            _ => counters.WorkingSetSize as u64,
        }
    }
}

/// The process's resident memory, from `/proc` (Linux; 0 where there is none).
#[cfg(not(windows))]
fn rss_bytes() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: u64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(0);
    pages * 4096
}

/// Returns freed heap memory to the OS, where glibc can.
fn trim() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only releases free heap memory; it takes and returns plain integers.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// The formula of the tiering curve (20 operators, as the batch's).
pub const TIER_FORMULA: &str = "x*y-z/(x+1.5)+y*y*0.5-x/3.0+z*z*z-(x-y)*(y-z)+2.5*x-y/4.0+z";
/// The curve's call counts with `fnjit bench --long`: 10^0 to 10^7.
pub const TIER_POWERS: std::ops::RangeInclusive<u8> = 0..=7;
/// The curve's call counts by default: 10^0 to 10^5 (the rest takes most of a minute).
pub const QUICK_TIER_POWERS: std::ops::RangeInclusive<u8> = 0..=5;

/// The tiering curve: for 10^p calls, the whole time (compiling included) of always
/// interpreting, compiling first (optimizing, and baseline), and an `Evaluator`. Each row's ratio
/// is its time over the best of the first three.
fn tiers(rounds: usize, long: bool) -> Result<Vec<Row>, Failure> {
    let vars = ["x", "y", "z"];
    let formula = Formula::<f64>::parse(TIER_FORMULA, &vars)?;
    let mut jit = Jit::new()?;
    let mut baseline = Jit::with_strategy(Strategy::Baseline)?;
    let who = [
        Tiering::Interpret,
        Tiering::CompileFirst,
        Tiering::BaselineFirst,
        Tiering::Evaluator,
    ];
    let mut rows = Vec::new();
    let powers = if long { TIER_POWERS } else { QUICK_TIER_POWERS };
    for p in powers {
        let calls = 10u64.pow(u32::from(p));
        // Big counts take seconds a round: fewer rounds there.
        let rounds = if calls >= 1_000_000 {
            rounds.div_ceil(3)
        } else {
            rounds
        };
        let mut samples = vec![Vec::new(); who.len()];
        for round in 0..rounds + 1 {
            for k in 0..who.len() {
                let i = (k + round) % who.len();
                let arg = |c: u64| [(c % 1024) as f64 * 0.001 + 0.1, 2.0, 3.0];
                // Each starts from the text, as a program that reads formulas does. Below the
                // threshold (no compile is asked for), a sample repeats the whole run so that a
                // run of a microsecond is not timed alone, cold from its neighbour's compile.
                let reps = match (calls < 1000, who[i]) {
                    (false, _) => 1,
                    (true, Tiering::CompileFirst) => 20, // tens of µs a run
                    (true, _) => 10_000 / calls,
                };
                let start = Instant::now();
                let mut sum = 0.0;
                for _ in 0..reps {
                    sum = match who[i] {
                        Tiering::Interpret => {
                            let formula = Formula::<f64>::parse(black_box(TIER_FORMULA), &vars)?;
                            (0..calls)
                                .map(|c| formula.eval(black_box(&arg(c))).unwrap_or(f64::NAN))
                                .sum::<f64>()
                        }
                        Tiering::CompileFirst | Tiering::BaselineFirst => {
                            let jit = match who[i] {
                                Tiering::CompileFirst => &mut jit,
                                _ => &mut baseline,
                            };
                            let formula = Formula::<f64>::parse(black_box(TIER_FORMULA), &vars)?;
                            let f: Function<(f64, f64, f64), f64> =
                                jit.compile_formula(&formula)?;
                            (0..calls)
                                .map(|c| {
                                    let [x, y, z] = black_box(arg(c));
                                    f.call((x, y, z))
                                })
                                .sum()
                        }
                        Tiering::Evaluator => {
                            let e = Evaluator::<f64>::new(black_box(TIER_FORMULA), &vars)?;
                            (0..calls)
                                .map(|c| e.eval(black_box(&arg(c))).unwrap_or(f64::NAN))
                                .sum()
                        }
                    };
                }
                let ns = start.elapsed().as_nanos() as f64 / reps as f64;
                let want: f64 = (0..calls)
                    .map(|c| formula.eval(&arg(c)).unwrap_or(f64::NAN))
                    .sum();
                if sum.to_bits() != want.to_bits() {
                    return Err(Failure::Mismatch(format!("{:?} at 10^{p} calls", who[i])));
                }
                if round > 0 {
                    samples[i].push(ns);
                }
            }
        }
        let stats: Vec<_> = samples.into_iter().map(|mut s| quartiles(&mut s)).collect();
        let best = stats[0].1.min(stats[1].1).min(stats[2].1);
        for (&w, (p25, median, p75)) in who.iter().zip(stats) {
            rows.push(Row {
                group: Group::Tiers,
                contender: Contender::Tier {
                    who: w,
                    calls_log10: p,
                },
                median_ns: median,
                p25_ns: p25,
                p75_ns: p75,
                ratio: median / best,
            });
        }
    }
    Ok(rows)
}

/// Every scale figure but the memory one.
///
/// # Errors
/// Whatever compiling returns, or [`Failure::Mismatch`] when a contender computed a wrong
/// result.
pub(super) fn run(
    rounds: usize,
    long: bool,
    progress: &dyn Fn(Group),
) -> Result<Vec<Row>, Failure> {
    progress(Group::BatchInc);
    let mut rows = compiles(
        Group::BatchInc,
        &[
            Scale::GistWay,
            Scale::ReusedJit,
            Scale::BatchInc,
            Scale::UserIr,
            Scale::BaselineUserIr,
            Scale::BaselineBatchInc,
        ],
        rounds,
    )?;
    progress(Group::BatchFormula);
    rows.extend(compiles(
        Group::BatchFormula,
        &[
            Scale::SingleFormula,
            Scale::BatchFormula,
            Scale::BaselineFormula,
            Scale::BaselineBatchFormula,
            Scale::Kernel,
            Scale::BaselineKernel,
        ],
        rounds,
    )?);
    progress(Group::Cache);
    rows.extend(cache(rounds)?);
    progress(Group::Tiers);
    rows.extend(tiers(rounds, long)?);
    Ok(rows)
}

#[cfg(test)]
mod tests {
    /// The bench's one call that Windows makes otherwise (the working set, not `/proc`) reads the
    /// process's memory and sees it grow by the pages a block touches: proven alone where the
    /// bench's smoke run is left out (under Wine, `.ci/run`).
    #[test]
    fn resident_memory_grows_with_the_pages_a_block_touches() {
        let before = super::rss_bytes();
        let block = std::hint::black_box(vec![1u8; 64 << 20]);
        let after = super::rss_bytes();
        assert!(before > 0, "no resident memory read");
        assert!(
            after >= before + (32 << 20),
            "64 MiB touched, resident memory {before} -> {after} bytes"
        );
        drop(block);
    }
}
