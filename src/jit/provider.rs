//! cranelift-jit's memory provider, backed by fnjit's own code memory.
//!
//! cranelift-jit asks a [`JITMemoryProvider`] for memory, copies the compiled bytes in, applies
//! relocations and then calls `finalize`. This provider hands out one [`WritableCode`] mapping
//! per module and, on `finalize`, turns it into [`ExecutableCode`] that the caller takes out
//! through a [`CodeSlot`]. Unlike cranelift-jit's own providers it never leaks and never panics:
//! failures come back as [`Error`]s that say what the kernel refused.

use crate::Error;
use crate::memory::{ExecutableCode, Placement, WritableCode, WriteAccess};
use cranelift_jit::{BranchProtection, JITMemoryKind, JITMemoryProvider};
use cranelift_module::{ModuleError, ModuleResult};
use std::io;
use std::sync::{Arc, Mutex, PoisonError};

/// What the provider has made so far, shared with the code that drives the module.
#[derive(Debug, Default)]
enum State {
    #[default]
    Empty,
    Writing {
        memory: WritableCode,
        code_len: usize,
    },
    Done(Result<ExecutableCode, Error>),
}

/// The caller's end of a [`CodeProvider`]: where the finished code is picked up.
#[derive(Debug, Clone, Default)]
pub(super) struct CodeSlot(Arc<Mutex<State>>);

impl CodeSlot {
    /// A provider that fills this slot, mapping code as `placement` asks.
    pub(super) fn provider(&self, placement: Placement) -> Box<dyn JITMemoryProvider + Send> {
        Box::new(CodeProvider {
            slot: self.clone(),
            placement,
        })
    }

    /// The executable code of the finalized module, or the error that stopped it; `None`, and
    /// nothing changed, while no module has been finalized.
    pub(super) fn take(&self) -> Option<Result<ExecutableCode, Error>> {
        let mut state = self.lock();
        if !matches!(*state, State::Done(_)) {
            return None;
        }
        match std::mem::take(&mut *state) {
            State::Done(result) => Some(result),
            State::Empty | State::Writing { .. } => None,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // The state is always left consistent, so a panic elsewhere does not spoil it.
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

struct CodeProvider {
    slot: CodeSlot,
    placement: Placement,
}

fn unsupported(what: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::Unsupported,
        format!("fnjit's code memory {what}"),
    )
}

impl JITMemoryProvider for CodeProvider {
    fn allocate(&mut self, size: usize, align: u64, kind: JITMemoryKind) -> io::Result<*mut u8> {
        if !matches!(kind, JITMemoryKind::Executable) {
            return Err(unsupported("holds code only, no data objects"));
        }
        // A fresh mapping starts on a page boundary, which satisfies any alignment up to a page.
        if align > 4096 {
            return Err(unsupported("aligns code to at most 4096 bytes"));
        }
        let mut state = self.slot.lock();
        if !matches!(*state, State::Empty) {
            return Err(unsupported("holds one function per module"));
        }
        match WritableCode::new(size, self.placement) {
            Ok(mut memory) => {
                // cranelift-jit writes through this pointer until `finalize`, all inside the
                // `WriteAccess` that `Jit::compile_code` holds around the module's work.
                let ptr = memory.as_mut_slice(&WriteAccess::begin()).as_mut_ptr();
                *state = State::Writing {
                    memory,
                    code_len: size,
                };
                Ok(ptr)
            }
            Err(e) => {
                let io = io::Error::other(e.to_string());
                *state = State::Done(Err(e));
                Err(io)
            }
        }
    }

    unsafe fn free_memory(&mut self) {
        *self.slot.lock() = State::Empty;
    }

    fn finalize(&mut self, _: BranchProtection) -> ModuleResult<()> {
        let mut state = self.slot.lock();
        let State::Writing { memory, code_len } = std::mem::take(&mut *state) else {
            return Ok(());
        };
        let result = memory.make_executable(code_len);
        let outcome = match &result {
            Ok(_) => Ok(()),
            Err(e) => Err(ModuleError::Allocation {
                err: io::Error::other(e.to_string()),
            }),
        };
        *state = State::Done(result);
        outcome
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_function_of_code_per_module_and_no_data() {
        let slot = CodeSlot::default();
        let mut provider = slot.provider(Placement::Near);
        assert!(provider.allocate(16, 8, JITMemoryKind::ReadOnly).is_err());
        assert!(
            provider
                .allocate(16, 8192, JITMemoryKind::Executable)
                .is_err()
        );
        let ptr = provider
            .allocate(4, 16, JITMemoryKind::Executable)
            .expect("code memory");
        assert!(provider.allocate(4, 16, JITMemoryKind::Executable).is_err());
        assert!(slot.take().is_none(), "nothing is finished before finalize");
        provider.finalize(BranchProtection::None).expect("finalize");
        let code = slot.take().expect("finalized").expect("executable");
        assert_eq!(code.bytes(), [0, 0, 0, 0], "fresh code memory is zeroed");
        assert_eq!(code.bytes().as_ptr(), ptr.cast_const());
        // Taken: the provider can serve the next function.
        assert!(provider.allocate(4, 16, JITMemoryKind::Executable).is_ok());
    }
}
