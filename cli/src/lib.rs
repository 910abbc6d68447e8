//! The `fnjit` command line: the demo, its subcommands, and `fnjit bench`, the benchmark harness
//! that measures fnjit against the gist's bytes, native Rust and the formula evaluators Rust
//! users pick. The library it drives is the `fnjit` crate at the workspace's root.
#![deny(missing_docs, missing_debug_implementations, unreachable_pub)]

pub mod bench;
mod cli;
pub mod plot;

pub use cli::main;
