#![doc = include_str!("../README.md")]
#![deny(
    missing_docs,
    unsafe_op_in_unsafe_fn,
    clippy::undocumented_unsafe_blocks
)]
#![warn(clippy::missing_errors_doc)]

pub mod bench;
pub mod check;
mod code_memory;
pub mod disasm;
mod error;
pub mod expr;
pub mod hand_encodings;
pub mod ir;
mod isa;
mod jit;
mod jit_memory;
pub mod perf_map;
pub mod plot;
mod stub;
pub mod targets;

pub use code_memory::{FnRef, POOL_PAGES, Placement};
pub use error::Error;
pub use expr::{Expr, eval_expr};
pub use isa::SUPPORTED_TARGETS;
pub use jit::{Jit, JitFunction, compile_expr, compile_inc};
pub use stub::{GIST_BYTES, HandStub};
pub use targets::{CompiledCode, compile_inc_for};

/// What `compile_inc` computes, in plain Rust: the reference every check compares against.
pub fn inc_reference(x: i32) -> i32 {
    x.wrapping_add(1)
}

/// A compile-time proof that the callable types may be shared between threads.
const _: () = {
    const fn send_sync<T: Send + Sync>() {}
    send_sync::<JitFunction>();
    send_sync::<HandStub>();
};
