//! The gist's hand-encoded function, in W^X memory.

use crate::Error;
use crate::code_memory::{FnRef, I32Function, Placement, WritableCode};
use crate::isa::check_host;
use crate::perf_map;
use target_lexicon::Triple;

/// The gist's four bytes: `x + 1` for x86-64 System V, a leaf function with no frame.
///
/// - `8D 47 01`: `lea eax,[rdi+1]`. Opcode 8D is LEA r32, m; ModRM 0x47 = 01 000 111: mod=01
///   (base register + disp8), reg=000 (eax, the destination), rm=111 (rdi, the first argument);
///   then disp8 = 0x01.
/// - `C3`: `ret`, near return.
pub const GIST_BYTES: [u8; 4] = [0x8D, 0x47, 0x01, 0xC3]; // lea eax,[rdi+1]; ret

/// The gist's stub, mapped read-write, filled, then made read-execute; unmapped on drop.
#[derive(Debug)]
pub struct HandStub {
    func: I32Function,
}

impl HandStub {
    /// The gist's bytes ([`GIST_BYTES`]) placed near the program's code.
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
        let func = unsafe { I32Function::new(code) };
        if perf_map::enabled_by_env() {
            perf_map::record(func.code().bytes(), "fnjit_gist_stub");
        }
        Ok(HandStub { func })
    }

    /// Calls the stub.
    #[inline]
    pub fn call(&self, x: i32) -> i32 {
        self.func.call(x)
    }

    /// A copyable function pointer to the stub that cannot outlive it.
    pub fn as_fn(&self) -> FnRef<'_> {
        self.func.as_fn()
    }

    /// The stub's bytes as they lie in executable memory.
    pub fn code(&self) -> &[u8] {
        self.func.code().bytes()
    }

    /// Whether the stub lies within 2 GiB of the program's own code.
    pub fn is_near(&self) -> bool {
        self.func.code().is_near()
    }
}
