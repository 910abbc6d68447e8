//! Running programs built for the target, directly or under the emulator, and tests in child
//! processes: shared by the library's tests and the command line's.
#![allow(dead_code)]

use fnjit::check::Inputs;
use std::ffi::OsStr;
use std::process::{Command, Output};

/// Set (by `.ci/run`) when the suite runs under emulation: the command that runs a program built
/// for the target, for example `qemu-aarch64-static -L /usr/aarch64-linux-gnu`.
pub const RUNNER: &str = "FNJIT_TEST_RUNNER";

/// The emulator's command line, when the suite runs under one.
pub fn runner() -> Option<String> {
    std::env::var(RUNNER).ok().filter(|r| !r.trim().is_empty())
}

/// A command that runs `program`, a binary built for the target: directly, or through the
/// emulator when [`RUNNER`] is set (a child of an emulated process is not emulated by itself).
pub fn target_command(program: impl AsRef<OsStr>) -> Command {
    let Some(runner) = runner() else {
        return Command::new(program);
    };
    let mut words = runner.split_whitespace();
    let mut cmd = Command::new(words.next().unwrap_or_default());
    cmd.args(words).arg(program);
    cmd
}

/// Every `i32`; under emulation ([`RUNNER`] set), where 2^32 calls take too long, the edges and
/// 2^22 fixed pseudo-random inputs instead, which the test's output says.
pub fn every_i32(what: &str) -> Inputs {
    if runner().is_none() {
        return Inputs::All;
    }
    let sample = Inputs::Quick { samples: 1 << 22 };
    println!(
        "{what}: emulated run ({RUNNER} is set): checking {} of the 2^32 inputs (the edges and a \
         fixed pseudo-random sample), not all of them",
        sample.count()
    );
    sample
}

/// The environment variable that tells a test it runs as a child (see [`run_child`]).
pub const CHILD: &str = "FNJIT_TEST_CHILD";

/// Runs the ignored test `name` of this very test binary in a child process, with [`CHILD`] set
/// to `name`, for what must not happen to the parent (a process-wide policy, a blocked file).
pub fn run_child(name: &str) -> Output {
    target_command(std::env::current_exe().expect("test binary"))
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
