//! The targets: the hand encodings of `x + 1` for every Cranelift backend fnjit tabulates (the
//! gist's bytes among them), and, with the `disasm` feature, Cranelift's code for each set beside
//! its hand encoding. Cranelift compiles for the backends it was built with: the host's by
//! default, all of them with the `targets` feature.

#[cfg(feature = "disasm")]
mod compile;
mod hand;

#[cfg(all(test, feature = "targets"))]
pub(crate) use compile::isa_for;
#[cfg(feature = "disasm")]
pub use compile::{CompiledCode, TargetRow, compile_inc_for, target_rows};
pub use hand::{GIST_BYTES, HAND_ENCODINGS, HandEncoding, SUPPORTED_TARGETS, hand_encoding};
