//! perf's jitdump file (`tools/perf/Documentation/jitdump-specification.txt` in Linux):
//! `jit-<pid>.dump`, a header and then one record per function with its name, address and bytes.
//! The file is mapped executable once, so that `perf record` notes it; `perf inject --jit` then
//! turns each record into an ELF object that `perf report` and `perf annotate` read.
//!
//! The file goes in `$JITDUMPDIR` if set, else in the system's temporary directory. Timestamps
//! are `CLOCK_MONOTONIC`, which `perf record -k mono` uses. Failing to write never fails a
//! compile: one warning on stderr, and the dump stops.

use std::fs::File;
use std::io::{self, Write as _};
use std::path::PathBuf;
use std::sync::{Mutex, PoisonError};

const MAGIC: u32 = 0x4A69_5444;
const VERSION: u32 = 1;
const HEADER_SIZE: u32 = 40;
const JIT_CODE_LOAD: u32 = 0;

/// The open dump of this process, and the index of its next function.
struct Dump {
    file: File,
    pid: u32,
    next_index: u64,
}

/// `None` until the first record; `Some(Err)` once writing has failed (nothing more is tried).
static DUMP: Mutex<Option<Result<Dump, ()>>> = Mutex::new(None);

/// This process's dump file.
pub(crate) fn path() -> PathBuf {
    let dir = std::env::var_os("JITDUMPDIR")
        .map(PathBuf::from)
        .unwrap_or_else(std::env::temp_dir);
    dir.join(format!("jit-{}.dump", std::process::id()))
}

/// Records that each `code` (executable, at its address) is the function `name`: one write for
/// all of them.
pub(crate) fn record(functions: &[(&str, &[u8])]) {
    let mut dump = DUMP.lock().unwrap_or_else(PoisonError::into_inner);
    // A child process after fork writes a dump of its own.
    if matches!(&*dump, Some(Ok(d)) if d.pid != std::process::id()) {
        *dump = None;
    }
    if dump.is_none() {
        *dump = Some(open().map_err(|e| warn(&e)));
    }
    if let Some(Ok(d)) = dump.as_mut()
        && let Err(e) = d.load(functions)
    {
        warn(&e);
        *dump = Some(Err(()));
    }
}

fn warn(e: &io::Error) {
    eprintln!(
        "fnjit: warning: cannot write the jitdump {} ({e}); perf will not see JIT code",
        path().display()
    );
}

fn open() -> io::Result<Dump> {
    let path = path();
    let mut file = File::options()
        .read(true)
        .write(true)
        .create(true)
        .truncate(true)
        .open(&path)?;
    let pid = std::process::id();
    let mut header = Vec::with_capacity(HEADER_SIZE as usize);
    header.extend_from_slice(&MAGIC.to_le_bytes());
    header.extend_from_slice(&VERSION.to_le_bytes());
    header.extend_from_slice(&HEADER_SIZE.to_le_bytes());
    header.extend_from_slice(&u32::from(super::elf::MACHINE).to_le_bytes());
    header.extend_from_slice(&0u32.to_le_bytes()); // pad1
    header.extend_from_slice(&pid.to_le_bytes());
    header.extend_from_slice(&now().to_le_bytes());
    header.extend_from_slice(&0u64.to_le_bytes()); // flags
    file.write_all(&header)?;
    // The mapping is how `perf record` learns where the dump is.
    crate::memory::map_file_executable(&file)?;
    Ok(Dump {
        file,
        pid,
        next_index: 0,
    })
}

impl Dump {
    fn load(&mut self, functions: &[(&str, &[u8])]) -> io::Result<()> {
        let mut records = Vec::new();
        for &(name, code) in functions {
            self.push_load(&mut records, name, code);
        }
        self.file.write_all(&records)
    }

    /// Appends a `JIT_CODE_LOAD` record to `record`.
    fn push_load(&mut self, record: &mut Vec<u8>, name: &str, code: &[u8]) {
        let size = 16 + 4 + 4 + 8 * 4 + name.len() + 1 + code.len();
        record.reserve(size);
        record.extend_from_slice(&JIT_CODE_LOAD.to_le_bytes());
        record.extend_from_slice(&(size as u32).to_le_bytes());
        record.extend_from_slice(&now().to_le_bytes());
        record.extend_from_slice(&self.pid.to_le_bytes());
        // SAFETY: gettid has no preconditions.
        let tid = unsafe { libc::gettid() } as u32;
        record.extend_from_slice(&tid.to_le_bytes());
        let address = code.as_ptr() as u64;
        record.extend_from_slice(&address.to_le_bytes()); // vma
        record.extend_from_slice(&address.to_le_bytes()); // code_addr
        record.extend_from_slice(&(code.len() as u64).to_le_bytes());
        record.extend_from_slice(&self.next_index.to_le_bytes());
        record.extend_from_slice(name.as_bytes());
        record.push(0);
        record.extend_from_slice(code);
        self.next_index += 1;
    }
}

/// `CLOCK_MONOTONIC` in nanoseconds.
fn now() -> u64 {
    let mut t = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `t` is a valid timespec to write; CLOCK_MONOTONIC always exists on Linux.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut t) };
    (t.tv_sec as u64) * 1_000_000_000 + t.tv_nsec as u64
}
