#![doc = include_str!("../docs/crate.md")]
#![deny(
    missing_docs,
    missing_debug_implementations,
    unreachable_pub,
    unsafe_op_in_unsafe_fn,
    clippy::undocumented_unsafe_blocks
)]
#![warn(clippy::missing_errors_doc)]

// The pipeline, downhill: source (expr) → IR (ir, expr) → validate and compile (jit) → code
// memory (memory) → a typed call (func) or a loop over columns (kernel). Side tools: the stub,
// the check, disassembly, targets, perf.
mod error;
mod evaluator;
mod expr;
mod func;
pub mod ir;
mod isa;
mod jit;
mod kernel;
mod memory;
mod stub;
mod targets;

pub mod check;
pub mod disasm;
pub mod perf_map;

#[cfg(feature = "cli")]
pub mod bench;
#[cfg(feature = "cli")]
pub mod plot;

pub use error::{Error, SyntaxError};
pub use evaluator::{EVALUATOR_THRESHOLD, Evaluator, Tier};
pub use expr::{
    Expr, Formula, MAX_INPUT, MAX_NESTING, MAX_OPERATORS, MAX_VARS, Number, eval_expr, eval_formula,
};
pub use func::{FnRef, Function, Params, Scalar};
pub use jit::{
    CACHE_ENTRIES, CacheStats, Jit, JitFunction, compile_expr, compile_formula, compile_inc,
};
pub use kernel::{Kernel, compile_kernel};
pub use memory::{POOL_PAGES, Placement};
pub use stub::HandStub;
pub use targets::{
    CompiledCode, GIST_BYTES, HAND_ENCODINGS, HandEncoding, SUPPORTED_TARGETS, TargetRow,
    compile_inc_for, hand_encoding, target_rows,
};

/// The README's examples run as doctests too.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;

/// What `compile_inc` computes, in plain Rust: the reference every check compares against.
pub fn inc_reference(x: i32) -> i32 {
    x.wrapping_add(1)
}

/// A compile-time proof that the callable types may be shared between threads.
const _: () = {
    const fn send_sync<T: Send + Sync>() {}
    send_sync::<JitFunction>();
    send_sync::<HandStub>();
    send_sync::<Function<(f64, i64, f32, i32, f64, f64), f32>>();
    send_sync::<FnRef<'static, (), i64>>();
    send_sync::<Kernel<f64>>();
    send_sync::<Evaluator<f64>>();
};
