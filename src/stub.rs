//! The gist's hand-encoded function, in W^X memory: the one [`Function`] not compiled by
//! Cranelift.

use crate::debug::DebugTools;
use crate::func::Function;
use crate::isa::check_host;
use crate::memory::{CodeRef, Placement, WritableCode, WriteAccess};
use crate::targets::{HAND_ENCODINGS, HandEncoding};
use crate::{Error, perf_map};
use cranelift_codegen::isa::CallConv;
use std::ops::Deref;
use std::sync::OnceLock;
use target_lexicon::Triple;

/// The gist's function, `x + 1`, hand-encoded for the host, mapped read-write, filled, then made
/// read-execute: on x86-64 the gist's own bytes ([`crate::targets::GIST_BYTES`],
/// `lea eax,[rdi+1]; ret`), on AArch64 `add w0, w0, #1; ret` (the gist's x86 bytes cannot run
/// there). It is a `Function<i32, i32>`: `call`, `code`, `as_fn` and `is_near` come from there,
/// and it is freed on drop like any other.
#[derive(Debug)]
pub struct HandStub(Function<i32, i32>);

impl HandStub {
    /// The host's hand encoding placed near the program's code.
    ///
    /// # Errors
    /// [`Error::UnsupportedHost`] unless the host is one fnjit runs code on;
    /// [`Error::ExecRefused`] when the OS forbids executable memory; [`Error::MapFailed`] when it
    /// has none to give.
    pub fn gist() -> Result<HandStub, Error> {
        Self::gist_placed(Placement::Near)
    }

    /// The host's hand encoding placed as `placement` says.
    ///
    /// # Errors
    /// As [`HandStub::gist`].
    pub fn gist_placed(placement: Placement) -> Result<HandStub, Error> {
        let bytes = Self::encoding()?.bytes;
        let mut memory = WritableCode::new(bytes.len(), placement)?;
        memory.as_mut_slice(&WriteAccess::begin())[..bytes.len()].copy_from_slice(bytes);
        let code = memory.make_executable(bytes.len())?;
        // SAFETY: the code is the hand encoding of `x + 1` for the host's architecture and C
        // calling convention (`HandStub::encoding`, checked against the host): it reads its i32
        // argument from the first argument register (edi; w0), returns it plus one in the return
        // register (eax; w0), touches no memory, no stack and no callee-saved register, and
        // returns for every input: `extern "C" fn(i32) -> i32`.
        let func = unsafe { Function::new(CodeRef::whole(code), None) };
        if DebugTools::from_env().contains(DebugTools::PERF_MAP) {
            perf_map::record(func.code(), "fnjit_gist_stub");
        }
        Ok(HandStub(func))
    }

    /// The hand encoding for the host: the first row of the table with the host's architecture and
    /// C calling convention.
    ///
    /// # Errors
    /// [`Error::UnsupportedHost`] when fnjit does not run code on the host, or has no row for it.
    pub fn encoding() -> Result<&'static HandEncoding, Error> {
        // Looked up once: parsing the table's triples on every stub would cost more than the
        // copy into memory.
        static HOST: OnceLock<Option<&'static HandEncoding>> = OnceLock::new();
        let host = Triple::host();
        check_host(&host)?;
        let found = HOST.get_or_init(|| {
            let conv = CallConv::triple_default(&host);
            HAND_ENCODINGS.iter().find(|h| {
                h.triple.parse::<Triple>().is_ok_and(|t| {
                    t.architecture == host.architecture && CallConv::triple_default(&t) == conv
                })
            })
        });
        found.ok_or(Error::UnsupportedHost {
            triple: host.to_string(),
        })
    }
}

impl Deref for HandStub {
    type Target = Function<i32, i32>;

    fn deref(&self) -> &Function<i32, i32> {
        &self.0
    }
}
