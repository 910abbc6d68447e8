//! The crate's one error type, and the syntax error it carries. This module sits at the bottom:
//! it imports nothing from the rest of fnjit.
//!
//! Every message is whole: `Display` includes the cause (an OS error, Cranelift's message), so
//! `source()` returns `None` and a chain walked as anyhow's `{:#}` does prints each message once.
//! The causes stay available as fields.

use std::fmt;
use std::io;

/// What can go wrong when fnjit compiles, maps or checks code.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// fnjit executes code on x86-64 and AArch64, under Linux and macOS, only.
    UnsupportedHost {
        /// The host's target triple.
        triple: String,
    },
    /// Cranelift has no backend for this triple.
    UnsupportedTarget {
        /// The triple that was asked for.
        triple: String,
        /// The triples fnjit compiles for.
        supported: &'static [&'static str],
    },
    /// This build of fnjit leaves out Cranelift's backend for the triple: by default it builds
    /// the host's only.
    BackendNotBuilt {
        /// The triple that was asked for.
        triple: String,
    },
    /// Cranelift has a backend for the triple but refused to build it with fnjit's settings.
    Isa {
        /// The triple.
        triple: String,
        /// Cranelift's reason.
        cause: String,
    },
    /// The kernel did not give us memory for code.
    MapFailed {
        /// How many bytes were asked for.
        len: usize,
        /// The `mmap` (Windows: `VirtualAlloc`) error.
        source: io::Error,
    },
    /// The kernel refused to make memory executable: a policy forbids run-time code (SELinux
    /// `execmem`, `PR_SET_MDWE`, PaX; Windows' Arbitrary Code Guard).
    ExecRefused {
        /// The `mprotect` (Windows: `VirtualProtect`) error.
        source: io::Error,
    },
    /// The kernel refused the barrier that lets other threads run new code (AArch64 Linux:
    /// `membarrier`).
    Coherence {
        /// The `membarrier` error.
        source: io::Error,
    },
    /// One item of a batch could not be compiled; nothing of the batch was kept.
    Batch {
        /// The item's index in the batch.
        index: usize,
        /// What was wrong with it.
        error: Box<Error>,
    },
    /// The IR's signature is not the one the caller asked for.
    Signature {
        /// The signature of `Function<P, R>` in the host's calling convention.
        expected: String,
        /// The IR's signature.
        found: String,
    },
    /// The host's C ABI passes this signature differently from Cranelift's code, so fnjit cannot
    /// call it soundly.
    Abi {
        /// The signature.
        signature: String,
        /// Where the two differ, and what to do instead.
        reason: String,
    },
    /// The IR holds an instruction or a type that a safe call could not survive.
    UnsafeIr {
        /// The instruction, as CLIF text.
        inst: String,
        /// Its block.
        block: String,
        /// Why it is refused, and what to do instead.
        reason: String,
    },
    /// Cranelift's verifier rejected the IR.
    Verifier {
        /// The verifier's message.
        errors: String,
    },
    /// Cranelift failed to compile or link the function.
    Cranelift(Box<cranelift_module::ModuleError>),
    /// The IR calls a function that fnjit cannot link: it links only its own math functions
    /// and the libcalls Cranelift itself emits.
    Link {
        /// The callee, as the IR names it.
        callee: String,
    },
    /// Cranelift panicked on IR that its verifier passed; fnjit caught the panic.
    Panicked {
        /// What was running: compiling or linking.
        stage: &'static str,
        /// The panic's message.
        message: String,
    },
    /// fnjit broke one of its own invariants: a bug in fnjit, never a fault of the input.
    Internal(&'static str),
    /// The text is not an expression or a formula.
    Syntax(SyntaxError),
    /// A typed formula combines types its operation does not take, as `x & 2.0` or
    /// `where(1.5, a, b)`: where, and both types.
    Type(SyntaxError),
    /// A formula's variable names are not usable.
    Variables(String),
    /// A formula was evaluated with the wrong number of arguments.
    Arguments {
        /// How many variables the formula has.
        expected: usize,
        /// How many arguments were given.
        got: usize,
    },
    /// A kernel was given columns that do not fit it.
    Shape(String),
    /// A list of debugging tools names one that does not exist, or one the host lacks.
    DebugTools(String),
    /// A formula was compiled into a function whose signature is not the formula's.
    FormulaType {
        /// The formula's signature: one parameter of its type per variable.
        expected: String,
        /// The signature asked for.
        asked: String,
    },
}

/// Where the text stops making sense, and what was expected there.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SyntaxError {
    /// Byte offset into the source.
    pub offset: usize,
    /// What went wrong, e.g. `expected an operand after '+'`.
    pub message: String,
}

impl SyntaxError {
    pub(crate) fn new(offset: usize, message: String) -> Self {
        SyntaxError { offset, message }
    }
}

impl fmt::Display for SyntaxError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} at {}", self.message, self.offset)
    }
}

impl std::error::Error for SyntaxError {}

/// The call that makes code executable, and the policies that refuse it, on this OS.
#[cfg(not(windows))]
const PROTECT: &str = "mprotect";
#[cfg(not(windows))]
const POLICIES: &str = "SELinux execmem, prctl PR_SET_MDWE, PaX MPROTECT";
#[cfg(windows)]
const PROTECT: &str = "VirtualProtect";
#[cfg(windows)]
const POLICIES: &str = "Arbitrary Code Guard: the ProhibitDynamicCode mitigation policy";

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::UnsupportedHost { triple } => write!(
                f,
                "this host is {triple}, but fnjit runs code on x86-64 and AArch64 under Linux and \
                 macOS, and on x86-64 Windows, only (it still compiles for other targets: `fnjit \
                 targets`); run it on such a host"
            ),
            Error::UnsupportedTarget { triple, supported } => write!(
                f,
                "unsupported target '{triple}'; fnjit supports: {}",
                supported.join(", ")
            ),
            Error::BackendNotBuilt { triple } => write!(
                f,
                "this build of fnjit leaves out Cranelift's backend for {triple} (it builds the \
                 host's only): enable fnjit's `targets` feature, or for the command line \
                 `cargo install --path cli --features all-targets`"
            ),
            Error::Isa { triple, cause } => write!(
                f,
                "Cranelift could not build its backend for {triple} with fnjit's settings: {cause}"
            ),
            Error::MapFailed { len, source } => write!(
                f,
                "could not map {len} bytes of memory for code ({source}); free some memory or \
                 raise the process's address-space limit"
            ),
            Error::ExecRefused { source } => write!(
                f,
                "the operating system refused to make JIT code executable ({PROTECT} to \
                 read+execute failed: {source}); a security policy forbids run-time code here \
                 ({POLICIES}): allow executable memory for this process"
            ),
            Error::Coherence { source } => write!(
                f,
                "the kernel refused the barrier that makes new code visible to every thread \
                 (membarrier failed: {source}); allow membarrier(2) in this process's seccomp \
                 filter, or use Linux 4.3 or later"
            ),
            Error::Batch { index, error } => write!(
                f,
                "item {index} of the batch (counting from 0): {error}; nothing of the batch was \
                 compiled"
            ),
            Error::Signature { expected, found } => write!(
                f,
                "the IR's signature is `{found}`, but the function asked for is `{expected}`: \
                 make them equal, in the host's calling convention (Jit::signature gives it)"
            ),
            Error::Abi { signature, reason } => {
                write!(f, "fnjit cannot call `{signature}` on this host: {reason}")
            }
            Error::UnsafeIr {
                inst,
                block,
                reason,
            } => write!(f, "refused: {inst} in {block}: {reason}"),
            Error::Verifier { errors } => {
                write!(f, "the IR is not valid Cranelift IR: {}", errors.trim_end())
            }
            Error::Cranelift(e) => write!(f, "Cranelift failed: {e}"),
            Error::Link { callee } => write!(
                f,
                "the IR calls {callee}, which fnjit cannot link: it links its own math functions \
                 and Cranelift's libcalls only; pass a function's address as an argument and \
                 `call_indirect` it instead (Jit::compile_unchecked)"
            ),
            Error::Panicked { stage, message } => write!(
                f,
                "Cranelift panicked while {stage} this IR ({message}); fnjit caught the panic \
                 and compiled nothing: the IR uses something Cranelift does not support on this \
                 host"
            ),
            Error::Internal(what) => write!(
                f,
                "fnjit broke its own invariant ({what}): a bug in fnjit, please report it with \
                 the input that caused it"
            ),
            Error::Syntax(e) | Error::Type(e) => write!(f, "{e}"),
            Error::Variables(why) | Error::Shape(why) | Error::DebugTools(why) => {
                write!(f, "{why}")
            }
            Error::Arguments { expected, got } => write!(
                f,
                "the formula has {expected} variable{}, but {got} argument{} were given: give one \
                 per variable, in order",
                if *expected == 1 { "" } else { "s" },
                if *got == 1 { "" } else { "s" }
            ),
            Error::FormulaType { expected, asked } => write!(
                f,
                "the formula is `{expected}` (one parameter of its type per variable), but \
                 `{asked}` was asked for"
            ),
        }
    }
}

impl std::error::Error for Error {}

impl From<SyntaxError> for Error {
    fn from(e: SyntaxError) -> Self {
        Error::Syntax(e)
    }
}

/// Why the parser refused a text: its syntax, or (in a typed formula) its types.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Refused {
    Syntax(SyntaxError),
    Type(SyntaxError),
}

impl From<SyntaxError> for Refused {
    fn from(e: SyntaxError) -> Self {
        Refused::Syntax(e)
    }
}

impl From<Refused> for Error {
    fn from(r: Refused) -> Self {
        match r {
            Refused::Syntax(e) => Error::Syntax(e),
            Refused::Type(e) => Error::Type(e),
        }
    }
}

impl Refused {
    /// The error with its offset, whichever kind.
    pub(crate) fn into_syntax(self) -> SyntaxError {
        match self {
            Refused::Syntax(e) | Refused::Type(e) => e,
        }
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
    fn exec_refused_says_what_and_what_to_do_once() {
        let source = io::Error::from(io::ErrorKind::PermissionDenied);
        let cause = source.to_string();
        let e = Error::ExecRefused { source };
        let text = e.to_string();
        assert!(
            text.contains("refused to make JIT code executable"),
            "{text}"
        );
        assert!(text.contains("allow executable memory"), "{text}");
        assert_eq!(text.matches(&cause).count(), 1, "{text}");
        assert!(e.source().is_none(), "the cause is in the message already");
    }

    #[test]
    fn every_error_with_a_cause_says_it_once_and_ends_the_chain() {
        let io = || io::Error::from_raw_os_error(libc::ENOMEM);
        let errors = [
            Error::MapFailed {
                len: 4096,
                source: io(),
            },
            Error::ExecRefused { source: io() },
            Error::Coherence { source: io() },
            Error::Cranelift(Box::new(cranelift_module::ModuleError::Undeclared(
                "f".into(),
            ))),
            Error::Syntax(SyntaxError::new(3, "expected an operand after '+'".into())),
            Error::Isa {
                triple: "x86_64-unknown-linux-gnu".into(),
                cause: "no such setting".into(),
            },
        ];
        for e in errors {
            // Walked as anyhow's `{:#}` walks it: the message, then each source.
            let mut chain = vec![e.to_string()];
            let mut source = e.source();
            while let Some(s) = source {
                chain.push(s.to_string());
                source = s.source();
            }
            assert_eq!(chain.len(), 1, "{chain:?}");
            let os = chain[0].matches("Cannot allocate memory").count();
            assert!(os <= 1, "{chain:?}");
        }
    }
}
