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
/// How many evaluations an [`crate::Evaluator`] interprets before it asks for machine code, unless
/// told otherwise ([`crate::Evaluator::with_threshold`]). A compile costs as much as 80 to 1,800
/// interpreted evaluations (the break-evens of docs/performance.md), but it runs off the calling
/// thread, which goes on interpreting meanwhile: waiting for the break-even before asking would
/// only add interpretation. Asking costs the calling thread about 4 µs, as much as 40
/// evaluations of a 20-operator formula, so it is not worth it for fewer than about 100. The
/// tiering curve in docs/performance.md, is measured with this value.
pub const EVALUATOR_THRESHOLD: u64 = 100;
