//! The one path from Cranelift to code memory. Every compile is a batch: a single function is a
//! batch of one ([`crate::Jit::compile_many`] and the formula batches have many), linked by one
//! cranelift-jit module into one mapping made executable with one `mprotect`.
//!
//! Compiling is split from linking. [`compile_one`] runs Cranelift on one function and keeps its
//! bytes, alignment and relocations; [`compile_all`] does that on every core, one `Context` per
//! thread. [`link`] then sizes one mapping for all of them, hands the bytes to cranelift-jit
//! (`define_function_bytes`), which places each as aligned and applies the relocations, and
//! finalizes the module once.

use super::callees::{self, BATCH, IMPORTS, MATH_NAMESPACE};
use super::provider::CodeSlot;
use super::unwind;
use crate::debug::{self, DebugTools};
use crate::expr::Import;
use crate::memory::{CodeRef, Placement, WriteAccess, end_section, new_section, push_fde};
use crate::{Error, parallel};
use cranelift_codegen::binemit::{Addend, CodeOffset, Reloc};
use cranelift_codegen::control::ControlPlane;
use cranelift_codegen::entity::EntityRef;
use cranelift_codegen::ir::{self, ExternalName, KnownSymbol, Signature};
use cranelift_codegen::isa::{CallConv, OwnedTargetIsa, TargetIsa};
use cranelift_codegen::{Context, FinalizedRelocTarget};
use cranelift_frontend::FunctionBuilderContext;
use cranelift_jit::{JITBuilder, JITModule};
use cranelift_module::{
    FuncId, Linkage, Module, ModuleError, ModuleReloc, ModuleRelocTarget, default_libcall_names,
};
use std::collections::HashMap;
use std::io;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicBool, Ordering};

/// What debuggers and profilers call function `i` of a batch.
pub(crate) type Name<'a> = &'a (dyn Fn(usize) -> String + Sync);

/// Fills `func` with function `i`'s IR (checked as the entry point requires) and returns what the
/// IR's imports `u2:k` are, or the error that item `i` has.
pub(super) type Build<'a> = dyn Fn(usize, &mut ir::Function, &mut FunctionBuilderContext) -> Result<Vec<Import>, Error>
    + Sync
    + 'a;

/// One function of a batch, compiled, not yet placed.
pub(super) struct Compiled {
    bytes: Vec<u8>,
    align: u64,
    signature: Signature,
    relocs: Vec<Patch>,
    /// Its unwind info: its CFA program, from the unwind pseudo-instructions Cranelift recorded,
    /// or on Windows its `UNWIND_INFO` (`unwind.rs`).
    cfi: Vec<u8>,
}

/// A relocation, with its target resolved from the function's own IR.
struct Patch {
    offset: CodeOffset,
    kind: Reloc,
    target: Target,
    addend: Addend,
}

enum Target {
    /// A Rust function: its symbol and address.
    Rust(&'static str, usize),
    /// Function `k` of the batch.
    Batch(usize),
    Known(KnownSymbol),
    /// An offset into the function itself.
    Own(CodeOffset),
}

/// Builds and compiles `count` functions on every core (the calling thread too). Returns them in
/// order, or the error of the first failing item, as [`Error::Batch`] naming its index.
pub(super) fn compile_all(
    isa: &dyn TargetIsa,
    count: usize,
    build: &Build<'_>,
) -> Result<Vec<Compiled>, Error> {
    let failed = AtomicBool::new(false);
    let threads = if count < 2 { 1 } else { parallel::cores() };
    let (results, _) = parallel::map(
        count,
        threads,
        || (Context::new(), FunctionBuilderContext::new()),
        |(ctx, fctx), i| {
            if failed.load(Ordering::Relaxed) {
                return None;
            }
            let result = build(i, &mut ctx.func, fctx)
                .and_then(|imports| compile_one(isa, ctx, &imports, count));
            ctx.clear();
            failed.fetch_or(result.is_err(), Ordering::Relaxed);
            Some(result)
        },
    );
    // Items after a failure were skipped: the first failure by index is the one to report.
    let mut compiled = Vec::with_capacity(count);
    for (index, result) in results.into_iter().enumerate() {
        match result {
            Some(Ok(c)) => compiled.push(c),
            Some(Err(error)) => {
                return Err(Error::Batch {
                    index,
                    error: Box::new(error),
                });
            }
            None => {}
        }
    }
    if compiled.len() == count {
        Ok(compiled)
    } else {
        Err(Error::Internal(
            "a batch skipped an item without a failure before it",
        ))
    }
}

/// Compiles `ctx.func`, one of a batch of `batch` functions: its user function `u2:k` is
/// `imports[k]`, `u0:k` function `k` of the batch, `u1:k` math function `k` (`callees.rs`).
/// Gives each `return` its own source location and every other instruction none, so that the
/// code buffer records where each epilogue lies, for its unwind info (`unwind::of`). fnjit reads
/// no other source location, and the IR kept for `ir()` is a copy made before.
fn mark_returns(func: &mut cranelift_codegen::ir::Function) {
    func.srclocs.clear();
    // Relative locations need a base to mean anything; a user's IR may have set one already.
    func.params
        .ensure_base_srcloc(cranelift_codegen::ir::SourceLoc::new(0));
    let returns: Vec<_> = func
        .layout
        .blocks()
        .flat_map(|block| func.layout.block_insts(block))
        .filter(|&inst| func.dfg.insts[inst].opcode().is_return())
        .collect();
    for (k, inst) in returns.into_iter().enumerate() {
        func.srclocs[inst] = cranelift_codegen::ir::RelSourceLoc::new(k as u32);
    }
}

pub(super) fn compile_one(
    isa: &dyn TargetIsa,
    ctx: &mut Context,
    imports: &[Import],
    batch: usize,
) -> Result<Compiled, Error> {
    let call_conv = ctx.func.signature.call_conv;
    let callees: Vec<(u32, u32)> = ctx
        .func
        .params
        .user_named_funcs()
        .values()
        .map(|name| (name.namespace, name.index))
        .collect();
    let signature = ctx.func.signature.clone();
    mark_returns(&mut ctx.func);
    let code = caught("compiling", || {
        ctx.compile(isa, &mut ControlPlane::default())
            .map_err(|e| Error::from(ModuleError::Compilation(e.inner)))
            .and_then(|code| {
                Ok((
                    code.code_buffer().to_vec(),
                    code.buffer.alignment,
                    code.buffer.relocs().to_vec(),
                    unwind::of(isa, code)?,
                ))
            })
    })?;
    let (bytes, alignment, relocs, cfi) = code;
    let relocs = relocs
        .iter()
        .map(|r| {
            let target = match &r.target {
                FinalizedRelocTarget::ExternalName(ExternalName::User(name)) => {
                    let callee = callees.get(name.index()).copied();
                    let unknown = || Error::Link {
                        callee: callee.map_or_else(
                            || format!("user function {name}"),
                            |(ns, k)| format!("u{ns}:{k}"),
                        ),
                    };
                    match callee.ok_or_else(unknown)? {
                        (IMPORTS, k) => imports
                            .get(k as usize)
                            .map(|&(symbol, callee)| {
                                Target::Rust(symbol, callee.address() as usize)
                            })
                            .ok_or_else(unknown)?,
                        (BATCH, k) if (k as usize) < batch => Target::Batch(k as usize),
                        (MATH_NAMESPACE, k) => callees::math(k)
                            .map(|(symbol, callee)| Target::Rust(symbol, callee.address() as usize))
                            .ok_or_else(unknown)?,
                        _ => return Err(unknown()),
                    }
                }
                FinalizedRelocTarget::ExternalName(ExternalName::LibCall(call)) => {
                    match callees::libcall(*call, call_conv) {
                        Some((symbol, address, _)) => Target::Rust(symbol, address as usize),
                        None => {
                            return Err(Error::Link {
                                callee: format!("Cranelift's libcall {call}"),
                            });
                        }
                    }
                }
                FinalizedRelocTarget::ExternalName(ExternalName::KnownSymbol(symbol)) => {
                    Target::Known(*symbol)
                }
                FinalizedRelocTarget::ExternalName(ExternalName::TestCase(name)) => {
                    return Err(Error::Link {
                        callee: format!("{name}"),
                    });
                }
                FinalizedRelocTarget::Func(offset) => Target::Own(*offset),
            };
            Ok(Patch {
                offset: r.offset,
                kind: r.kind,
                target,
                addend: r.addend,
            })
        })
        .collect::<Result<_, Error>>()?;
    let align = u64::from(alignment)
        .max(u64::from(isa.function_alignment().minimum))
        .max(isa.symbol_alignment());
    Ok(Compiled {
        bytes,
        align,
        signature,
        relocs,
        cfi,
    })
}

/// Runs `f`, turning a panic inside Cranelift (which some IR that passes the verifier still
/// causes) into [`Error::Panicked`], so that no compile panics. `stage` says what was running.
pub(super) fn caught<T>(
    stage: &'static str,
    f: impl FnOnce() -> Result<T, Error>,
) -> Result<T, Error> {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or_else(|payload| {
        let message = payload
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "a panic without a message".to_owned());
        Err(Error::Panicked { stage, message })
    })
}

/// Places every compiled function into one mapping sized for all of them, applies their
/// relocations and makes the mapping executable with one `mprotect`, then registers their unwind
/// info and tells `tools` about them, function `i` called `name(i)`. Returns each function's
/// code, in order; the mapping is freed when the last of them drops.
pub(super) fn link(
    compiled: &[Compiled],
    isa: OwnedTargetIsa,
    placement: Placement,
    tools: DebugTools,
    name: Name<'_>,
) -> Result<Vec<CodeRef>, Error> {
    let too_big = || Error::MapFailed {
        len: usize::MAX,
        source: io::Error::from(io::ErrorKind::OutOfMemory),
    };
    // Windows: the functions' UNWIND_INFO, in the batch's own mapping after them, where the
    // function table's 32-bit offsets reach it (`windows_unwind`).
    let (infos, info_at) = windows_infos(compiled);
    // Room for each function at its worst alignment, and for the unwind info (4-aligned).
    let room_for_infos = if infos.is_empty() { 0 } else { infos.len() + 4 };
    let capacity = compiled.iter().try_fold(room_for_infos, |sum, c| {
        let worst = usize::try_from(c.align).ok()?.checked_add(c.bytes.len())?;
        sum.checked_add(worst)
    });
    let slot = CodeSlot::default();
    let mut builder = JITBuilder::with_isa(isa.clone(), default_libcall_names());
    builder.memory_provider(slot.provider(placement, capacity.ok_or_else(too_big)?));
    for patch in compiled.iter().flat_map(|c| &c.relocs) {
        if let Target::Rust(symbol, address) = patch.target {
            builder.symbol(symbol, address as *const u8);
        }
    }
    let mut module = JITModule::new(builder);
    // This thread writes code memory until the module is finalized; no JIT code runs meanwhile.
    let access = WriteAccess::begin();
    let defined = caught("linking", || {
        define_all(&mut module, compiled, &infos, name)
    });
    drop(access);
    let ids = match (slot.take(), defined) {
        (Some(Err(e)), _) | (None, Err(e)) => return Err(e),
        (Some(Ok(code)), Ok(ids)) => (code, ids),
        (Some(Ok(_)), Err(e)) => return Err(e),
        (None, Ok(_)) if compiled.is_empty() => return Ok(Vec::new()),
        (None, Ok(_)) => {
            return Err(Error::Internal(
                "cranelift-jit finalized a batch without its code",
            ));
        }
    };
    let (code, (ids, infos_id)) = ids;
    let base = code.bytes().as_ptr() as usize;
    let parts: Vec<(usize, usize)> = ids
        .iter()
        .zip(compiled)
        .map(|(&id, c)| {
            let entry = module.get_finalized_function(id) as usize;
            (entry.wrapping_sub(base), c.bytes.len())
        })
        .collect();
    let unwind = if cfg!(windows) {
        // An offset that wrapped fails the table's 32-bit check.
        let infos =
            infos_id.map(|id| (module.get_finalized_function(id) as usize).wrapping_sub(base));
        windows_unwind(&parts, infos, &info_at)?
    } else {
        let mut unwind = new_section(32 * compiled.len());
        for (&(offset, len), c) in parts.iter().zip(compiled) {
            push_fde(&mut unwind, base + offset, len, &c.cfi);
        }
        end_section(&mut unwind);
        unwind
    };
    // SAFETY: each function's unwind info comes from what Cranelift recorded as it compiled the
    // code that lies at `base + offset` (relocations patch addresses, never the frame); on
    // Windows the UNWIND_INFO lies in the same mapping, at the offsets the table gives.
    let codes = unsafe { CodeRef::split(code, &parts, unwind) }.ok_or(Error::Internal(
        "cranelift-jit placed a function outside the batch's mapping",
    ))?;
    debug::announce(&codes, tools, name, || {
        codes[0].unwind_section().unwrap_or_default().to_vec()
    });
    Ok(codes)
}

/// Windows: every function's `UNWIND_INFO`, one after the other at multiples of 4 bytes as
/// Windows requires, and where each starts (`None` for a leaf that has none). Elsewhere nothing.
fn windows_infos(compiled: &[Compiled]) -> (Vec<u8>, Vec<Option<usize>>) {
    let mut infos = Vec::new();
    let mut at = Vec::new();
    if cfg!(windows) {
        for c in compiled {
            at.push((!c.cfi.is_empty()).then_some(infos.len()));
            infos.extend_from_slice(&c.cfi);
            infos.resize(infos.len().next_multiple_of(4), 0);
        }
    }
    (infos, at)
}

/// Windows: the function table of a batch (`memory::frames::Registered::new`): for each function
/// with an `UNWIND_INFO`, its start and end and that info's place, as offsets from the start of
/// the mapping, where `parts` are the functions and `infos` the offset of their `UNWIND_INFO`s.
fn windows_unwind(
    parts: &[(usize, usize)],
    infos: Option<usize>,
    info_at: &[Option<usize>],
) -> Result<Vec<u8>, Error> {
    let far = || Error::Internal("a batch's unwind info lies beyond 4 GiB of its code");
    let mut table = Vec::with_capacity(12 * parts.len());
    for (&(offset, len), at) in parts.iter().zip(info_at) {
        let (Some(infos), Some(at)) = (infos, at) else {
            continue;
        };
        for word in [offset, offset + len, infos + at] {
            table.extend_from_slice(&u32::try_from(word).map_err(|_| far())?.to_le_bytes());
        }
    }
    Ok(table)
}

/// Declares the imports once each and every function, defines the functions from their bytes
/// and relocations, then `infos` (Windows' unwind info, when not empty) after them, as bytes of
/// code memory that never run, and finalizes the module. fnjit names functions for the tools itself
/// (`debug::announce`), so they are declared anonymously, but for one case: under `perf record`
/// (which sets PERF_BUILDID_DIR) cranelift-jit writes a perf-map line of its own, and a batch of
/// one is declared as `name(0)` there rather than shown as `.Lfn0`.
fn define_all(
    module: &mut JITModule,
    compiled: &[Compiled],
    infos: &[u8],
    name: Name<'_>,
) -> Result<(Vec<FuncId>, Option<FuncId>), Error> {
    static UNDER_PERF: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    let under_perf = *UNDER_PERF.get_or_init(|| std::env::var_os("PERF_BUILDID_DIR").is_some());
    let named = compiled.len() == 1 && under_perf;
    let mut imports: HashMap<&'static str, FuncId> = HashMap::new();
    // Every function is declared before any is defined: a call within the batch names its
    // callee's id.
    let mut ids = Vec::with_capacity(compiled.len());
    for c in compiled {
        ids.push(match named {
            true => module.declare_function(&name(0), Linkage::Local, &c.signature)?,
            false => module.declare_anonymous_function(&c.signature)?,
        });
    }
    for (c, &id) in compiled.iter().zip(&ids) {
        let mut relocs = Vec::with_capacity(c.relocs.len());
        for patch in &c.relocs {
            let name = match patch.target {
                Target::Rust(symbol, _) => {
                    let import = match imports.get(symbol) {
                        Some(&import) => import,
                        None => {
                            // The link goes by name and address (`JITBuilder::symbol`); the
                            // signature only declares the name.
                            let sig = Signature::new(c.signature.call_conv);
                            let import = module.declare_function(symbol, Linkage::Import, &sig)?;
                            *imports.entry(symbol).or_insert(import)
                        }
                    };
                    ModuleRelocTarget::user(0, import.as_u32())
                }
                Target::Batch(k) => ModuleRelocTarget::user(0, ids[k].as_u32()),
                Target::Known(symbol) => ModuleRelocTarget::KnownSymbol(symbol),
                Target::Own(offset) => ModuleRelocTarget::FunctionOffset(id, offset),
            };
            relocs.push(ModuleReloc {
                offset: patch.offset,
                kind: patch.kind,
                name,
                addend: patch.addend,
            });
        }
        module.define_function_bytes(id, c.align, &c.bytes, &relocs)?;
    }
    let infos_id = match infos.is_empty() {
        true => None,
        false => {
            let call_conv = compiled.first().map(|c| c.signature.call_conv);
            let sig = Signature::new(call_conv.unwrap_or(CallConv::WindowsFastcall));
            let id = module.declare_anonymous_function(&sig)?;
            module.define_function_bytes(id, 4, infos, &[])?;
            Some(id)
        }
    };
    module.finalize_definitions()?;
    Ok((ids, infos_id))
}
