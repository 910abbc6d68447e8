//! The gist's hand-encoded function, in W^X memory: the one [`Function`] not compiled by
//! Cranelift.

use crate::func::Function;
use crate::isa::check_host;
use crate::memory::{Placement, WritableCode};
use crate::targets::GIST_BYTES;
use crate::{Error, perf_map};
use std::ops::Deref;
use target_lexicon::Triple;

/// The gist's stub ([`GIST_BYTES`], `lea eax,[rdi+1]; ret`) mapped read-write, filled, then
/// made read-execute. It is a `Function<i32, i32>`: `call`, `code`, `as_fn` and `is_near` come
/// from there, and it is freed on drop like any other.
#[derive(Debug)]
pub struct HandStub(Function<i32, i32>);

impl HandStub {
    /// The gist's bytes placed near the program's code.
    ///
    /// # Errors
    /// [`Error::UnsupportedHost`] unless the host is x86-64 System V; [`Error::ExecRefused`] when
    /// the OS forbids executable memory; [`Error::MapFailed`] when it has none to give.
    pub fn gist() -> Result<HandStub, Error> {
        Self::gist_placed(Placement::Near)
    }

    /// The gist's bytes placed as `placement` says.
    ///
    /// # Errors
    /// As [`HandStub::gist`].
    pub fn gist_placed(placement: Placement) -> Result<HandStub, Error> {
        check_host(&Triple::host())?;
        let mut memory = WritableCode::new(GIST_BYTES.len(), placement)?;
        memory.as_mut_slice()[..GIST_BYTES.len()].copy_from_slice(&GIST_BYTES);
        let code = memory.make_executable(GIST_BYTES.len())?;
        // SAFETY: the code is GIST_BYTES, `lea eax,[rdi+1]; ret`: under System V on x86-64
        // (checked above) it reads its i32 argument from edi, returns in eax, touches no memory
        // and no callee-saved register, and returns for every input: `extern "C" fn(i32) -> i32`.
        let func = unsafe { Function::new(code, None) };
        if perf_map::enabled_by_env() {
            perf_map::record(func.code(), "fnjit_gist_stub");
        }
        Ok(HandStub(func))
    }
}

impl Deref for HandStub {
    type Target = Function<i32, i32>;

    fn deref(&self) -> &Function<i32, i32> {
        &self.0
    }
}
