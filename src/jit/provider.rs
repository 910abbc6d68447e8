//! cranelift-jit's memory provider, backed by fnjit's own code memory.
//!
//! cranelift-jit asks a [`JITMemoryProvider`] for memory, copies the compiled bytes in, applies
//! relocations and then calls `finalize`. This provider hands out one [`WritableCode`] mapping
//! per module, sized up front (a batch's functions are compiled before they are linked, so their
//! sizes are known), places each function in it as Cranelift aligns it, and on `finalize` turns
//! the whole mapping into [`ExecutableCode`] with one `mprotect`, which the caller takes out
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
        /// Bytes handed out so far, from the start of the mapping.
        used: usize,
    },
    Done(Result<ExecutableCode, Error>),
}

/// The caller's end of a [`CodeProvider`]: where the finished code is picked up.
#[derive(Debug, Clone, Default)]
pub(super) struct CodeSlot(Arc<Mutex<State>>);

impl CodeSlot {
    /// A provider that fills this slot with one mapping of at least `capacity` bytes (at least
    /// the first function's size), placed as `placement` asks.
    pub(super) fn provider(
        &self,
        placement: Placement,
        capacity: usize,
    ) -> Box<dyn JITMemoryProvider + Send> {
        Box::new(CodeProvider {
            slot: self.clone(),
            placement,
            capacity,
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
    capacity: usize,
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
        let access = WriteAccess::begin();
        // cranelift-jit writes through the pointers returned here until `finalize`, all inside
        // the `WriteAccess` that `Jit` holds around the module's work.
        match &mut *state {
            State::Writing { memory, used } => {
                let start = used.next_multiple_of(align.max(1) as usize);
                let end = start.checked_add(size);
                let room = end.and_then(|end| memory.as_mut_slice(&access).get_mut(start..end));
                let Some(room) = room else {
                    return Err(unsupported(
                        "has no room left: a batch is sized before linking",
                    ));
                };
                *used = start + size;
                Ok(room.as_mut_ptr())
            }
            State::Empty => match WritableCode::new(size.max(self.capacity), self.placement) {
                Ok(mut memory) => {
                    let ptr = memory.as_mut_slice(&access).as_mut_ptr();
                    *state = State::Writing { memory, used: size };
                    Ok(ptr)
                }
                Err(e) => {
                    let io = io::Error::other(e.to_string());
                    *state = State::Done(Err(e));
                    Err(io)
                }
            },
            State::Done(_) => Err(unsupported("holds one module's code")),
        }
    }

    unsafe fn free_memory(&mut self) {
        *self.slot.lock() = State::Empty;
    }

    fn finalize(&mut self, _: BranchProtection) -> ModuleResult<()> {
        let mut state = self.slot.lock();
        let State::Writing { memory, used } = std::mem::take(&mut *state) else {
            return Ok(());
        };
        let result = memory.make_executable(used);
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
    fn one_mapping_per_module_sized_up_front_and_no_data() {
        let slot = CodeSlot::default();
        let mut provider = slot.provider(Placement::Near, 0);
        assert!(provider.allocate(16, 8, JITMemoryKind::ReadOnly).is_err());
        assert!(
            provider
                .allocate(16, 8192, JITMemoryKind::Executable)
                .is_err()
        );
        let ptr = provider
            .allocate(4, 16, JITMemoryKind::Executable)
            .expect("code memory");
        // A module without capacity has room for what its first function asked (in one page).
        let page = 4096;
        assert!(
            provider
                .allocate(page, 16, JITMemoryKind::Executable)
                .is_err()
        );
        assert!(slot.take().is_none(), "nothing is finished before finalize");
        provider.finalize(BranchProtection::None).expect("finalize");
        let code = slot.take().expect("finalized").expect("executable");
        assert_eq!(code.bytes(), [0, 0, 0, 0], "fresh code memory is zeroed");
        assert_eq!(code.bytes().as_ptr(), ptr.cast_const());
        // Taken: the provider can serve the next function.
        assert!(provider.allocate(4, 16, JITMemoryKind::Executable).is_ok());
    }

    #[test]
    fn a_batch_packs_its_functions_aligned_into_one_mapping() {
        let slot = CodeSlot::default();
        let mut provider = slot.provider(Placement::Anywhere, 3 * 4096);
        let mut alloc = |size, align| {
            provider
                .allocate(size, align, JITMemoryKind::Executable)
                .expect("room") as usize
        };
        let first = alloc(10, 16);
        assert_eq!(alloc(10, 16) - first, 16);
        assert_eq!(alloc(1, 1) - first, 26);
        assert_eq!(alloc(4096, 32) - first, 32);
        assert_eq!(alloc(4096, 4) - first, 32 + 4096);
        provider.finalize(BranchProtection::None).expect("finalize");
        let code = slot.take().expect("finalized").expect("executable");
        assert_eq!(
            code.bytes().len(),
            32 + 2 * 4096,
            "one mapping, code up to the last byte"
        );
    }
}
