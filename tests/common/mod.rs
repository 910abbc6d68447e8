//! Helpers shared by the integration tests. Each test file uses some of them.
#![allow(dead_code)]

pub mod formulas;

use std::process::{Command, Output};

/// The environment variable that tells a test it runs as a child (see [`run_child`]).
pub const CHILD: &str = "FNJIT_TEST_CHILD";

/// Runs the ignored test `name` of this very test binary in a child process, with [`CHILD`] set
/// to `name`, for what must not happen to the parent (a process-wide policy, a blocked file).
pub fn run_child(name: &str) -> Output {
    Command::new(std::env::current_exe().expect("test binary"))
        .args([
            "--exact",
            name,
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD, name)
        .output()
        .expect("run the child test")
}

/// Whether this process is the child that [`run_child`] started for test `name`.
pub fn is_child(name: &str) -> bool {
    std::env::var_os(CHILD).is_some_and(|v| v == name)
}
