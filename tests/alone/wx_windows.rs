//! W^X on Windows, read back from the OS (`VirtualQuery`), as `tests/alone/wx_maps.rs` reads
//! `/proc/self/maps` on Linux: every page that holds a live function is read-execute and never
//! writable, and once the function drops its page is free or read-write, never executable.

use fnjit::{Formula, Jit, compile_inc};
use std::ffi::c_void;

/// `MEMORY_BASIC_INFORMATION` (x64).
#[repr(C)]
#[derive(Default)]
struct MemoryInfo {
    base_address: usize,
    allocation_base: usize,
    allocation_protect: u32,
    partition_id: u16,
    region_size: usize,
    state: u32,
    protect: u32,
    kind: u32,
}

#[link(name = "kernel32")]
unsafe extern "system" {
    fn VirtualQuery(address: *const c_void, buffer: *mut MemoryInfo, length: usize) -> usize;
}

const MEM_COMMIT: u32 = 0x1000;
const MEM_FREE: u32 = 0x10000;
const PAGE_READWRITE: u32 = 0x04;
const PAGE_EXECUTE_READ: u32 = 0x20;

/// The state and protection of the page at `address`.
fn query(address: *const u8) -> (u32, u32) {
    let mut info = MemoryInfo::default();
    // SAFETY: VirtualQuery reads the process's address map into `info`, of the size given; it
    // touches no other memory and takes any address.
    let filled = unsafe { VirtualQuery(address.cast(), &mut info, size_of::<MemoryInfo>()) };
    assert_eq!(filled, size_of::<MemoryInfo>(), "VirtualQuery failed");
    (info.state, info.protect)
}

#[test]
fn live_code_is_read_execute_and_freed_code_is_never_executable() {
    let _alone = crate::alone(); // no other test's code takes the freed pages meanwhile
    let mut jit = Jit::new().expect("jit");
    let formula = Formula::<f64>::parse("x * sin(y) + 1", &["x", "y"]).expect("parse");
    let inc = compile_inc().expect("compile_inc");
    let f = jit
        .compile_formula::<(f64, f64), f64>(&formula)
        .expect("formula");
    let kernel = jit.compile_kernel(&formula).expect("kernel");
    let srcs: Vec<String> = (0..100).map(|k| format!("x * {k} + y")).collect();
    let srcs: Vec<&str> = srcs.iter().map(String::as_str).collect();
    let batch = jit
        .compile_formulas::<(f64, f64), f64>(&srcs, &["x", "y"])
        .expect("batch");
    let mut entries = vec![
        inc.code().as_ptr(),
        f.code().as_ptr(),
        kernel.code().as_ptr(),
    ];
    entries.extend(batch.iter().map(|g| g.code().as_ptr()));
    for &entry in &entries {
        assert_eq!(query(entry), (MEM_COMMIT, PAGE_EXECUTE_READ), "{entry:p}");
    }
    assert_eq!(inc.call(41), 42);
    drop((inc, f, kernel, batch));
    for &entry in &entries {
        let (state, protect) = query(entry);
        assert!(
            state == MEM_FREE || protect == PAGE_READWRITE,
            "{entry:p}: state {state:#x}, protection {protect:#x} after drop"
        );
    }
}
