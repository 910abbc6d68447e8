//! Helpers shared by the integration tests. Each test file uses some of them.
#![allow(dead_code, unused_imports)]

pub mod harness;
pub mod process;
pub mod random;

pub use process::*;

/// `text` (CLIF, or a message quoting a signature) in the host's calling convention: `system_v`
/// becomes `windows_fastcall` on Windows.
pub fn host_cc(text: &str) -> String {
    if cfg!(windows) {
        text.replace("system_v", "windows_fastcall")
    } else {
        text.to_owned()
    }
}
use proptest::test_runner::{Config, RngSeed};

/// Proptest's settings for `cases` cases drawn from a fixed seed (or the one in `FNJIT_SEED`), so
/// that every run of `cargo test` draws the same cases; no failure files are written.
pub fn proptest_config(cases: u32) -> Config {
    Config {
        cases,
        rng_seed: RngSeed::Fixed(harness::seeds(&[0xF1A7])[0]),
        failure_persistence: None,
        ..Config::default()
    }
}
