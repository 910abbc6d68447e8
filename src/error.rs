//! The crate's one error type.

use std::fmt;
use std::io;

/// What can go wrong when fnjit compiles, maps or checks code.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// fnjit executes code for x86-64 with the System V ABI only.
    UnsupportedHost {
        /// The host's target triple.
        triple: String,
    },
    /// Cranelift has no backend for this triple, or refused a setting for it.
    UnsupportedTarget {
        /// The triple that was asked for.
        triple: String,
        /// The triples fnjit compiles for.
        supported: &'static [&'static str],
    },
    /// The kernel did not give us memory for code.
    MapFailed {
        /// How many bytes were asked for.
        len: usize,
        /// The `mmap` error.
        source: io::Error,
    },
    /// The kernel refused to make memory executable.
    ExecRefused {
        /// The `mprotect` error.
        source: io::Error,
    },
    /// Cranelift failed to compile or link the function.
    Cranelift(Box<cranelift_module::ModuleError>),
    /// The text is not an expression (see [`crate::expr`]).
    Syntax(crate::expr::SyntaxError),
    /// A benchmark contender computed a wrong result, so its timing means nothing.
    BenchMismatch {
        /// Which contender, and what it got wrong.
        what: String,
    },
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::UnsupportedHost { triple } => write!(
                f,
                "this host is {triple}, but fnjit runs code for x86-64 with the System V ABI only \
                 (Linux, macOS, BSD); run it on such a host"
            ),
            Error::UnsupportedTarget { triple, supported } => {
                write!(
                    f,
                    "unsupported target '{triple}'; fnjit supports: {}",
                    supported.join(", ")
                )
            }
            Error::MapFailed { len, source } => write!(
                f,
                "could not map {len} bytes of memory for code ({source}); free some memory or raise \
                 the process's address-space limit"
            ),
            Error::ExecRefused { source } => write!(
                f,
                "the operating system refused to make JIT code executable (mprotect to read+execute \
                 failed: {source}); a security policy forbids run-time code here (SELinux execmem, \
                 prctl PR_SET_MDWE, PaX MPROTECT): allow executable memory for this process"
            ),
            Error::Cranelift(e) => write!(f, "Cranelift failed: {e}"),
            Error::Syntax(e) => write!(f, "{e}"),
            Error::BenchMismatch { what } => {
                write!(
                    f,
                    "benchmark stopped: {what}; its timings would mean nothing"
                )
            }
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::MapFailed { source, .. } | Error::ExecRefused { source } => Some(source),
            Error::Cranelift(e) => Some(e),
            Error::Syntax(e) => Some(e),
            Error::UnsupportedHost { .. }
            | Error::UnsupportedTarget { .. }
            | Error::BenchMismatch { .. } => None,
        }
    }
}

impl From<crate::expr::SyntaxError> for Error {
    fn from(e: crate::expr::SyntaxError) -> Self {
        Error::Syntax(e)
    }
}

impl From<cranelift_module::ModuleError> for Error {
    fn from(e: cranelift_module::ModuleError) -> Self {
        Error::Cranelift(Box::new(e))
    }
}

/// Errors cross threads: the exhaustive check runs on all cores.
const _: () = {
    const fn send_sync<T: Send + Sync + 'static>() {}
    send_sync::<Error>();
};

#[cfg(test)]
mod tests {
    use super::*;
    use std::error::Error as _;

    #[test]
    fn exec_refused_says_what_and_what_to_do() {
        let e = Error::ExecRefused {
            source: io::Error::from_raw_os_error(libc::EACCES),
        };
        let text = e.to_string();
        assert!(
            text.contains("refused to make JIT code executable"),
            "{text}"
        );
        assert!(text.contains("allow executable memory"), "{text}");
        assert!(e.source().is_some());
    }
}
