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
// memory (memory) → a typed call (func), a loop over columns (kernel) or a tiered evaluator
// (evaluator); kernels over Arrow arrays (arrow). Beside it: the hand stub and its encodings
// (stub, targets), the side-by-side check, disassembly and the perf map.
// `tests/all/architecture.rs` keeps the module graph acyclic.
#[cfg(feature = "arrow")]
mod arrow;
mod baseline;
pub mod check;
pub mod debug;
#[cfg(feature = "disasm")]
pub mod disasm;
pub mod error;
mod evaluator;
mod expr;
mod func;
pub mod ir;
mod isa;
pub mod jit;
mod kernel;
pub mod limits;
mod memory;
mod parallel;
pub mod perf_map;
mod stub;
pub mod targets;
mod value;

pub use debug::DebugTools;
pub use error::Error;
pub use evaluator::{Evaluator, Tier, TypedEvaluator};
pub use expr::{Expr, Formula, Number, Ty, TypedFormula, Value, eval_expr, eval_formula};
pub use func::{FnRef, Function, Params};
pub use jit::{Jit, JitFunction, Strategy, compile_expr, compile_formula, compile_inc};
pub use kernel::{Column, ColumnMut, Kernel, TypedKernel, compile_kernel};
pub use stub::HandStub;
pub use value::{F32x4, F64x2, I8x16, I16x8, I32x4, I64x2, Results, Scalar};

/// The examples of the README and of every page of `docs/` run as doctests
/// (`tests/all/docs.rs` checks that each page with Rust in it is listed here).
#[cfg(doctest)]
mod pages {
    #[doc = include_str!("../README.md")]
    struct Readme;
    #[doc = include_str!("../docs/api.md")]
    struct Api;
    #[doc = include_str!("../docs/language.md")]
    struct Language;
    #[doc = include_str!("../docs/kernels.md")]
    struct Kernels;
    #[doc = include_str!("../docs/batches.md")]
    struct Batches;
    #[doc = include_str!("../docs/baseline.md")]
    struct Baseline;
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
    send_sync::<TypedKernel>();
};
