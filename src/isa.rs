//! Which machine the code is for: the host check, and Cranelift's ISA for the host (with the CPU
//! features it detects) with fnjit's settings.

use crate::Error;
use cranelift_codegen::isa::{self, CallConv, OwnedTargetIsa};
use cranelift_codegen::settings::{self, Configurable};
use target_lexicon::{Architecture, OperatingSystem, Triple};

/// The host, if fnjit can run code on it: x86-64 (System V) or AArch64 (AAPCS64, or Apple's
/// variant of it) under Linux or macOS, and x86-64 Windows (Windows x64). Every other host is
/// refused (docs/hosts.md): the BSDs and others lack fnjit's code-memory calls, and Windows on
/// AArch64 has never been built or run (its unwind info, Cranelift's `winarm64`, is not wired).
pub(crate) fn check_host(triple: &Triple) -> Result<(), Error> {
    let unix = matches!(
        triple.architecture,
        Architecture::X86_64 | Architecture::Aarch64(_)
    ) && matches!(
        triple.operating_system,
        OperatingSystem::Linux | OperatingSystem::Darwin(_) | OperatingSystem::MacOSX(_)
    ) && matches!(
        CallConv::triple_default(triple),
        CallConv::SystemV | CallConv::AppleAarch64
    );
    let windows = triple.architecture == Architecture::X86_64
        && triple.operating_system == OperatingSystem::Windows
        && CallConv::triple_default(triple) == CallConv::WindowsFastcall;
    if unix || windows {
        Ok(())
    } else {
        Err(Error::UnsupportedHost {
            triple: triple.to_string(),
        })
    }
}

/// How hard Cranelift optimizes: its `opt_level` setting.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum OptLevel {
    /// `opt_level = none`: for `x + 1` it emits the same bytes as `speed` and compiles faster
    /// (docs/performance.md).
    None,
    /// `opt_level = speed`: for expressions and user IR, whose constants it folds (a guarded
    /// `x / 5` becomes a multiply).
    Speed,
}

/// Cranelift's backend for the host, with the CPU features it has (SSE4.1, AVX, …) but those
/// named in `off` (Cranelift's setting names, such as `has_sse41`).
pub(crate) fn host_isa(opt: OptLevel, off: &[String]) -> Result<OwnedTargetIsa, Error> {
    let host = Triple::host();
    check_host(&host)?;
    let refused = |cause: String| Error::Isa {
        triple: host.to_string(),
        cause,
    };
    let mut builder = cranelift_native::builder().map_err(|cause| refused(cause.to_owned()))?;
    for name in off {
        if !name.starts_with("has_") {
            return Err(refused(format!(
                "{name} is not a CPU feature (those are the settings named has_…)"
            )));
        }
        builder
            .set(name, "false")
            .map_err(|e| refused(format!("setting {name}=false: {e}")))?;
    }
    with_settings(builder, &host, opt)
}

/// Builds the ISA with fnjit's settings.
///
/// The `single_pass` register allocator would compile faster still, but adds a spill and a
/// bigger frame even to `x + 1` (a golden-bytes test pins the code), so the default
/// backtracking allocator stays. The verifier runs inside Cranelift in debug builds and tests;
/// `Jit::compile` runs it on user IR in every build.
pub(crate) fn with_settings(
    builder: isa::Builder,
    triple: &Triple,
    opt: OptLevel,
) -> Result<OwnedTargetIsa, Error> {
    let refused = |cause: String| Error::Isa {
        triple: triple.to_string(),
        cause,
    };
    let mut flags = settings::builder();
    let settings = [
        (
            "opt_level",
            match opt {
                OptLevel::None => "none",
                OptLevel::Speed => "speed",
            },
        ),
        (
            "enable_verifier",
            if cfg!(debug_assertions) {
                "true"
            } else {
                "false"
            },
        ),
        // Unwind info for every function: backtraces, debuggers and profilers walk through JIT
        // frames (`memory/frames.rs`).
        ("unwind_info", "true"),
        // `i128` parameters and results as rustc passes them (two integer registers), which
        // Cranelift otherwise refuses with a panic on x86-64.
        ("enable_llvm_abi_extensions", "true"),
        // A frame bigger than a page (stack slots of user IR) touches each page in order, so that
        // it meets the guard page instead of stepping over it.
        ("enable_probestack", "true"),
        ("probestack_strategy", "inline"),
    ];
    for (name, value) in settings {
        flags
            .set(name, value)
            .map_err(|e| refused(format!("setting {name}={value}: {e}")))?;
    }
    builder
        .finish(settings::Flags::new(flags))
        .map_err(|e| refused(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_check_accepts_linux_and_macos_on_x86_64_and_aarch64_and_windows_on_x86_64() {
        for ok in [
            "x86_64-unknown-linux-gnu",
            "x86_64-apple-darwin",
            "aarch64-unknown-linux-gnu",
            "aarch64-apple-darwin",
            "x86_64-pc-windows-msvc",
            "x86_64-pc-windows-gnu",
        ] {
            assert!(check_host(&ok.parse().unwrap()).is_ok(), "{ok}");
        }
        for bad in [
            "aarch64-pc-windows-msvc",
            "x86_64-unknown-freebsd",
            "riscv64gc-unknown-linux-gnu",
            "s390x-unknown-linux-gnu",
        ] {
            let err = check_host(&bad.parse().unwrap()).unwrap_err();
            assert!(err.to_string().contains(bad), "{err}");
        }
    }
}
