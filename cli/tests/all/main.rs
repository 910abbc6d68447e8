//! The command line's tests, in one binary: the demo and subcommands, the bench harness, and the
//! perf map under real `perf`.

#[path = "../../../tests/common/process.rs"]
mod process;

mod bench_smoke;
mod cli;
mod perf_map;
