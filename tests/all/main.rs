//! The library's tests, in one binary (as wasmtime keeps `tests/all/`): one link of Cranelift
//! instead of one per file. The tests that judge the whole process (its resident memory, its
//! executable mappings) run in `tests/alone/`, away from the others' threads.

#[path = "../common/mod.rs"]
mod common;

mod agreement;
mod architecture;
#[cfg(feature = "arrow")]
mod arrow;
// The baseline tier's emitters do not run on Windows (`Strategy::Baseline`).
#[cfg(not(windows))]
mod baseline;
mod batch;
mod cache;
mod corpus;
#[cfg(target_os = "linux")]
mod debugger;
mod differential;
// The docs and the source tree, read as files: proven on Linux, the same files everywhere.
#[cfg(not(windows))]
mod docs;
mod evaluator;
mod exec_refused;
mod expr;
mod formula;
#[cfg(feature = "disasm")]
mod golden;
mod kernel;
mod mixed;
mod proven;
#[cfg(feature = "targets")]
mod targets;
mod typed;
mod types;
mod unwind;
