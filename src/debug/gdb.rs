//! The GDB JIT interface (GDB's manual, "JIT Compilation Interface"): a list of in-memory object
//! files headed by `__jit_debug_descriptor`, and `__jit_debug_register_code`, a function on which
//! a debugger keeps a breakpoint to read the list when it changes. An [`Entry`] is one object
//! (`elf.rs`) in the list, from its creation to its drop.
//!
//! Both symbols are weak, as in wasmtime and LLVM, so that another JIT (or another copy of fnjit)
//! in the same program can define them too and the linker keeps one. Each keeps its own lock on
//! the list, so two JITs that change it at the same moment could race; within fnjit a mutex
//! orders every change.

use std::ptr::{self, NonNull};
use std::sync::{Mutex, PoisonError};

#[repr(C)]
struct CodeEntry {
    next: *mut CodeEntry,
    prev: *mut CodeEntry,
    symfile: *const u8,
    size: u64,
}

#[repr(C)]
struct Descriptor {
    version: u32,
    action: u32,
    relevant: *mut CodeEntry,
    first: *mut CodeEntry,
}

const REGISTER: u32 = 1;
const UNREGISTER: u32 = 2;

// The descriptor (version 1, no action, no entry) and the empty function, weak, in ELF sections of
// their own. LLVM's assembler takes `%` section types on both architectures.
std::arch::global_asm!(
    ".pushsection .text.__jit_debug_register_code,\"ax\",%progbits",
    ".weak __jit_debug_register_code",
    ".type __jit_debug_register_code,%function",
    ".p2align 4",
    "__jit_debug_register_code:",
    "ret",
    ".size __jit_debug_register_code, . - __jit_debug_register_code",
    ".popsection",
    ".pushsection .data.__jit_debug_descriptor,\"aw\",%progbits",
    ".weak __jit_debug_descriptor",
    ".type __jit_debug_descriptor,%object",
    ".p2align 3",
    "__jit_debug_descriptor:",
    ".long 1",
    ".long 0",
    ".quad 0",
    ".quad 0",
    ".size __jit_debug_descriptor, 24",
    ".popsection",
);

unsafe extern "C" {
    fn __jit_debug_register_code();
    static mut __jit_debug_descriptor: Descriptor;
}

/// Orders fnjit's changes to the list.
static LIST: Mutex<()> = Mutex::new(());

/// An object file in the debugger's list, removed on drop.
#[derive(Debug)]
pub(crate) struct Entry {
    node: NonNull<CodeEntry>,
    /// The ELF object the node points to, read by the debugger.
    #[allow(dead_code, reason = "held for the debugger to read")]
    image: Box<[u8]>,
}

// SAFETY: the node is only reached through the list, under `LIST`; the image is never written.
unsafe impl Send for Entry {}
// SAFETY: as above; `&Entry` allows nothing.
unsafe impl Sync for Entry {}

impl Entry {
    /// Puts `image` (an ELF object) at the head of the list and tells the debugger.
    pub(crate) fn new(image: Vec<u8>) -> Entry {
        let image = image.into_boxed_slice();
        let node = NonNull::from(Box::leak(Box::new(CodeEntry {
            next: ptr::null_mut(),
            prev: ptr::null_mut(),
            symfile: image.as_ptr(),
            size: image.len() as u64,
        })));
        let _list = LIST.lock().unwrap_or_else(PoisonError::into_inner);
        let descriptor = &raw mut __jit_debug_descriptor;
        // SAFETY: the descriptor is a static; its list holds only live nodes (each is unlinked
        // before it is freed), and `LIST` keeps fnjit's other changes out. The node is ours.
        unsafe {
            let first = (*descriptor).first;
            (*node.as_ptr()).next = first;
            if !first.is_null() {
                (*first).prev = node.as_ptr();
            }
            (*descriptor).first = node.as_ptr();
            (*descriptor).relevant = node.as_ptr();
            (*descriptor).action = REGISTER;
            __jit_debug_register_code();
        }
        Entry { node, image }
    }
}

impl Drop for Entry {
    fn drop(&mut self) {
        let _list = LIST.lock().unwrap_or_else(PoisonError::into_inner);
        let descriptor = &raw mut __jit_debug_descriptor;
        let node = self.node.as_ptr();
        // SAFETY: the node is in the list (linked by `new`), whose other nodes are live; after
        // unlinking it, nothing points to it and it is freed once, here.
        unsafe {
            let (prev, next) = ((*node).prev, (*node).next);
            if prev.is_null() {
                (*descriptor).first = next;
            } else {
                (*prev).next = next;
            }
            if !next.is_null() {
                (*next).prev = prev;
            }
            (*descriptor).relevant = node;
            (*descriptor).action = UNREGISTER;
            __jit_debug_register_code();
            (*descriptor).relevant = ptr::null_mut();
            drop(Box::from_raw(node));
        }
    }
}

/// How many objects the debugger's list holds (fnjit's and any other JIT's).
pub(crate) fn entries() -> usize {
    let _list = LIST.lock().unwrap_or_else(PoisonError::into_inner);
    let descriptor = &raw const __jit_debug_descriptor;
    let mut count = 0;
    // SAFETY: under `LIST`, the list holds live nodes only.
    unsafe {
        let mut node = (*descriptor).first;
        while !node.is_null() {
            count += 1;
            node = (*node).next;
        }
    }
    count
}
