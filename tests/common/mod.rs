//! Helpers shared by the integration tests. Each test file uses some of them.
#![allow(dead_code)]

pub mod harness;
pub mod process;
pub mod random;

pub use process::*;
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
