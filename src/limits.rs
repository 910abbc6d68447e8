//! Every limit fnjit sets, in one place: how much text and nesting a formula may have, how many
//! variables, how many compiled formulas a [`crate::Jit`] caches, how many free pages of code
//! memory it keeps, and when an [`crate::Evaluator`] compiles.

/// Inputs longer than this are refused.
pub const MAX_INPUT: usize = 1 << 20;
/// Parentheses, function calls, `?:` and unary operators nest at most this deep.
pub const MAX_NESTING: usize = 1000;
/// A formula has at most this many operators (and function calls): enough for the 100,000-term
/// sum, and a bound on the time and memory that compiling one can take.
pub const MAX_OPERATORS: usize = 100_000;
/// The most variables a formula (a kernel's, above all) may have.
pub const MAX_VARS: usize = u16::MAX as usize;
/// How many formulas a [`crate::Jit`]'s cache keeps until told otherwise.
pub const CACHE_ENTRIES: usize = 1024;
/// How many free pages the pool of code memory keeps for each placement (near the program's code,
/// and not).
pub const POOL_PAGES: usize = 64;
/// How many evaluations an [`crate::Evaluator`] interprets before it compiles the baseline
/// tier on the calling thread, unless told otherwise ([`crate::Evaluator::with_threshold`]). The
/// baseline compile of a parsed 20-operator formula costs about ten interpreted evaluations
/// (docs/performance.md, "The baseline tier"), and parsing, which every way pays, costs more than
/// that: compiling after 4 kept the Evaluator within 1.2 × of the best way from 100 to 10,000
/// evaluations, and within 1.33 × at 10.
pub const EVALUATOR_THRESHOLD: u64 = 4;
/// How many evaluations an [`crate::Evaluator`] makes before it asks fnjit's compiler thread for
/// Cranelift's optimized code, unless told otherwise ([`crate::Evaluator::with_thresholds`]).
/// The compile runs off the calling thread, but it takes 100 to 150 µs of a core, and the
/// optimized code saves about 10 ns a call of a 20-operator formula over the baseline tier's:
/// it pays after about 10,000 calls.
pub const EVALUATOR_OPTIMIZE_THRESHOLD: u64 = 10_000;
