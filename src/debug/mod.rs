//! What debuggers and profilers see of JIT code. Every function has unwind info, always
//! (`memory/frames.rs`), so backtraces pass through it. On request ([`DebugTools`]), fnjit also
//! tells:
//! - GDB, through its JIT interface (`gdb.rs`): an in-memory ELF object per block of code
//!   (`elf.rs`), so that `bt` names each JIT frame;
//! - perf, through a jitdump file (`jitdump.rs`), so that `perf inject --jit` gives `perf report`
//!   and `perf annotate` the functions' names and instructions;
//! - perf, through the perf map (`crate::perf_map`), which names functions only.

#[cfg(target_os = "linux")]
mod elf;
#[cfg(all(
    target_os = "linux",
    any(target_arch = "x86_64", target_arch = "aarch64")
))]
mod gdb;
#[cfg(target_os = "linux")]
mod jitdump;

use crate::memory::CodeRef;
use crate::{Error, perf_map};
use std::fmt;
use std::sync::OnceLock;

/// The tools fnjit tells about the functions a [`crate::Jit`] compiles, besides the unwinder,
/// which is always told. Combine them with `|`:
///
/// ```
/// use fnjit::DebugTools;
/// let mut jit = fnjit::Jit::new()?;
/// // GDB's JIT interface and perf's jitdump are Linux's: elsewhere asking is an error.
/// let asked = jit.set_debug_tools(DebugTools::GDB | DebugTools::JITDUMP);
/// assert_eq!(asked.is_ok(), cfg!(target_os = "linux"));
/// assert_eq!(jit.debug_tools().contains(DebugTools::GDB), cfg!(target_os = "linux"));
/// assert_eq!(jit.compile_inc()?.call(41), 42);
/// # Ok::<(), fnjit::Error>(())
/// ```
///
/// A program you cannot change takes them from the environment: `FNJIT_DEBUG=gdb,jitdump` (and
/// `perfmap`), read once per process, is where every `Jit` starts.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct DebugTools(u8);

impl DebugTools {
    /// No tool but the unwinder.
    pub const NONE: DebugTools = DebugTools(0);
    /// GDB's JIT interface: `bt` in gdb names JIT frames (Linux).
    pub const GDB: DebugTools = DebugTools(1);
    /// perf's jitdump file, `jit-<pid>.dump` in `$JITDUMPDIR` or the temporary directory:
    /// `perf inject --jit` makes the functions' names and code visible to `perf report` and
    /// `perf annotate` (Linux).
    pub const JITDUMP: DebugTools = DebugTools(2);
    /// The perf map, `/tmp/perf-<pid>.map`: names for `perf report` (see [`crate::perf_map`]).
    pub const PERF_MAP: DebugTools = DebugTools(4);

    const NAMES: [(&'static str, DebugTools); 3] = [
        ("gdb", DebugTools::GDB),
        ("jitdump", DebugTools::JITDUMP),
        ("perfmap", DebugTools::PERF_MAP),
    ];

    /// Whether every tool of `other` is in `self`.
    pub fn contains(self, other: DebugTools) -> bool {
        self.0 & other.0 == other.0
    }

    /// `self` without the tools of `other`.
    pub(crate) fn without(self, other: DebugTools) -> DebugTools {
        DebugTools(self.0 & !other.0)
    }

    /// The tools a comma-separated list names (`"gdb,jitdump"`; `""` is none).
    ///
    /// # Errors
    /// [`Error::DebugTools`] naming an entry that is not `gdb`, `jitdump` or `perfmap`.
    pub fn parse(list: &str) -> Result<DebugTools, Error> {
        list.split(',')
            .map(str::trim)
            .filter(|name| !name.is_empty())
            .try_fold(DebugTools::NONE, |tools, name| {
                match DebugTools::NAMES.iter().find(|(n, _)| *n == name) {
                    Some(&(_, tool)) => Ok(tools | tool),
                    None => Err(Error::DebugTools(format!(
                        "{name:?} is not a tool: name gdb, jitdump or perfmap, separated by commas"
                    ))),
                }
            })
    }

    /// What the environment asks for: `FNJIT_DEBUG` (as [`DebugTools::parse`] reads it), plus
    /// the perf map when `FNJIT_PERF_MAP=1`. Read once per process; a list that does not parse
    /// is one warning on stderr and no tool.
    pub fn from_env() -> DebugTools {
        static TOOLS: OnceLock<DebugTools> = OnceLock::new();
        *TOOLS.get_or_init(|| {
            let listed = std::env::var("FNJIT_DEBUG").unwrap_or_default();
            let tools = DebugTools::parse(&listed).unwrap_or_else(|e| {
                eprintln!("fnjit: warning: FNJIT_DEBUG={listed:?}: {e}");
                DebugTools::NONE
            });
            if perf_map::enabled_by_env() {
                tools | DebugTools::PERF_MAP
            } else {
                tools
            }
        })
    }

    /// [`Error::DebugTools`] if the host lacks one of the tools (GDB's interface and jitdump
    /// need Linux).
    pub(crate) fn check_host(self) -> Result<DebugTools, Error> {
        let linux = cfg!(all(
            target_os = "linux",
            any(target_arch = "x86_64", target_arch = "aarch64")
        ));
        if !linux && (self.contains(DebugTools::GDB) || self.contains(DebugTools::JITDUMP)) {
            return Err(Error::DebugTools(format!(
                "{self:?}: GDB's JIT interface and perf's jitdump are made on Linux only"
            )));
        }
        Ok(self)
    }
}

impl std::ops::BitOr for DebugTools {
    type Output = DebugTools;
    fn bitor(self, other: DebugTools) -> DebugTools {
        DebugTools(self.0 | other.0)
    }
}

impl fmt::Debug for DebugTools {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = DebugTools::NAMES
            .iter()
            .filter(|(_, tool)| self.contains(*tool))
            .map(|(name, _)| *name)
            .collect();
        match names.is_empty() {
            true => f.write_str("DebugTools(none)"),
            false => write!(f, "DebugTools({})", names.join(",")),
        }
    }
}

/// Tells `tools` about `block`, the functions of one block of code (one batch, or what one
/// baseline compile placed), function `i` called `name(i)`. `unwind` gives the block's
/// `.eh_frame` section, for a debugger. With no tool, nothing is computed.
pub(crate) fn announce(
    block: &[CodeRef],
    tools: DebugTools,
    name: impl Fn(usize) -> String,
    unwind: impl FnOnce() -> Vec<u8>,
) {
    if tools == DebugTools::NONE || block.is_empty() {
        return;
    }
    let names: Vec<String> = (0..block.len()).map(name).collect();
    let functions: Vec<(&str, &[u8])> = names
        .iter()
        .zip(block)
        .map(|(name, code)| (name.as_str(), code.bytes()))
        .collect();
    if tools.contains(DebugTools::PERF_MAP) {
        perf_map::record_all(&functions);
    }
    #[cfg(target_os = "linux")]
    if tools.contains(DebugTools::JITDUMP) {
        jitdump::record(&functions);
    }
    drop(functions);
    #[cfg(all(
        target_os = "linux",
        any(target_arch = "x86_64", target_arch = "aarch64")
    ))]
    if tools.contains(DebugTools::GDB) {
        let functions: Vec<(String, usize, usize)> = names
            .into_iter()
            .zip(block)
            .map(|(name, code)| (name, code.entry().as_ptr() as usize, code.bytes().len()))
            .collect();
        let entry = gdb::Entry::new(elf::image(&functions, &unwind()));
        // The block keeps the entry until its code goes (all of `block` share it).
        let _ = block[0].attach(Box::new(entry));
    }
    #[cfg(not(all(
        target_os = "linux",
        any(target_arch = "x86_64", target_arch = "aarch64")
    )))]
    let _ = unwind;
}

/// How many object files GDB's JIT list holds (`__jit_debug_descriptor`): zero once every
/// function compiled with [`DebugTools::GDB`] is gone, unless another JIT shares the list.
pub fn gdb_entries() -> usize {
    #[cfg(all(
        target_os = "linux",
        any(target_arch = "x86_64", target_arch = "aarch64")
    ))]
    return gdb::entries();
    #[cfg(not(all(
        target_os = "linux",
        any(target_arch = "x86_64", target_arch = "aarch64")
    )))]
    0
}

/// This process's jitdump file (see [`DebugTools::JITDUMP`]).
#[cfg(target_os = "linux")]
pub fn jitdump_path() -> std::path::PathBuf {
    jitdump::path()
}
