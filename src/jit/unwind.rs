//! The CFA program of a function Cranelift compiled, read from the unwind pseudo-instructions its
//! code buffer records (`unwind_info = true`), as Cranelift's own `create_unwind_info` reads them
//! for System V (`cranelift_codegen::isa::unwind::systemv`), but written straight into DWARF
//! bytes (`memory::CfaProgram`): going through `create_unwind_info` and gimli's writer cost 5 %
//! of compiling `x + 1`. A test holds the bytes equal to gimli's for every function of
//! Cranelift's run-test corpus that compiles here.

use crate::Error;
use crate::memory::CfaProgram;
use cranelift_codegen::CompiledCode;
use cranelift_codegen::binemit::CodeOffset;
use cranelift_codegen::isa::TargetIsa;
use cranelift_codegen::isa::unwind::UnwindInst;

/// The host's frame pointer, and its link register with the offset it is saved at above the
/// frame pointer (none on x86-64, where the return address is on the stack), as DWARF registers.
#[cfg(target_arch = "aarch64")]
const FRAME: (u16, Option<(u16, i64)>) = (29, Some((30, 8)));
#[cfg(not(target_arch = "aarch64"))]
const FRAME: (u16, Option<(u16, i64)>) = (6, None);

/// The host's `ret`, its stack pointer as a DWARF register, and the CFA's offset above the stack
/// pointer at a `ret` (the return address on x86-64's stack; nothing on AArch64).
#[cfg(all(target_arch = "aarch64", not(windows)))]
const RET: (&[u8], u16, u64) = (&[0xC0, 0x03, 0x5F, 0xD6], 31, 0); // ret
#[cfg(all(not(target_arch = "aarch64"), not(windows)))]
const RET: (&[u8], u16, u64) = (&[0xC3], 7, 8); // ret

/// The unwind info of a function Cranelift compiled, in the host's format: its CFA program
/// (DWARF, for `memory::push_fde`), or on Windows its `UNWIND_INFO`, as Cranelift's
/// `create_unwind_info` writes it (empty for a leaf that needs none).
///
/// # Errors
/// As [`cfa_program`]; on Windows, [`Error::Internal`] if Cranelift writes no Windows x64 info.
pub(super) fn of(isa: &dyn TargetIsa, code: &CompiledCode) -> Result<Vec<u8>, Error> {
    #[cfg(windows)]
    {
        use cranelift_codegen::isa::unwind::UnwindInfo;
        match code.create_unwind_info(isa) {
            Ok(Some(UnwindInfo::WindowsX64(info))) => {
                let mut bytes = vec![0; info.emit_size()];
                info.emit(&mut bytes);
                Ok(bytes)
            }
            Ok(None) => Ok(Vec::new()),
            Ok(Some(_)) | Err(_) => Err(Error::Internal(
                "Cranelift wrote no Windows x64 unwind info for a function",
            )),
        }
    }
    #[cfg(not(windows))]
    {
        // Each `return` has its own source location (`link::mark_returns`): its epilogue, which
        // ends with the `ret`.
        let bytes = code.code_buffer();
        let rets: Vec<usize> = code
            .buffer
            .get_srclocs_sorted()
            .iter()
            .filter(|l| !l.loc.is_default())
            .filter_map(|l| {
                let end = l.end as usize;
                let start = end.checked_sub(RET.0.len())?;
                (bytes.get(start..end) == Some(RET.0)).then_some(start)
            })
            .collect();
        let mut program = cfa_program(isa, &code.buffer.unwind_info, Vec::new())?;
        epilogues(&mut program, &rets);
        Ok(program.0.finish())
    }
}

/// Describes the `ret` of each epilogue, at offsets `rets`, which Cranelift's unwind
/// instructions leave out (they describe prologues; an exception never unwinds from an
/// epilogue, but a profiler's signal may land on any instruction): there the frame is gone, the
/// CFA is the stack pointer's, and every register holds its caller's value again. After the
/// `ret`, the function's rules hold again (another block may follow).
#[cfg(not(windows))]
fn epilogues(program: &mut (CfaProgram, Vec<u16>), rets: &[usize]) {
    let (fp, link) = FRAME;
    let (ret, sp, cfa) = RET;
    let (program, saved) = program;
    for &at in rets {
        program.advance(at);
        program.remember_state();
        program.def_cfa(sp, cfa);
        program.restored(fp);
        if let Some((lr, _)) = link {
            program.restored(lr);
        }
        for &reg in saved.iter() {
            program.restored(reg);
        }
        program.advance(at + ret.len());
        program.restore_state();
    }
}

/// The CFA program of the function whose code buffer recorded `insts`, appended to `bytes`, and
/// the DWARF registers it saves besides the frame's; [`CfaProgram::finish`] gives the bytes.
///
/// # Errors
/// [`Error::Internal`] for what fnjit's settings never make Cranelift record: a register without
/// a DWARF number, or return-address signing.
#[cfg_attr(windows, allow(dead_code, reason = "Windows reads UNWIND_INFO"))]
pub(super) fn cfa_program(
    isa: &dyn TargetIsa,
    insts: &[(CodeOffset, UnwindInst)],
    bytes: Vec<u8>,
) -> Result<(CfaProgram, Vec<u16>), Error> {
    let (fp, link) = FRAME;
    let mut saved = Vec::new();
    let code_align = if cfg!(target_arch = "aarch64") { 4 } else { 1 };
    let mut program = CfaProgram::new(bytes, 0, code_align);
    let dwarf = |reg: cranelift_codegen::RealReg| {
        isa.map_regalloc_reg_to_dwarf(reg.into())
            .map_err(|_| Error::Internal("a saved register has no DWARF number"))
    };
    // The distance from the CFA down to where callee-saved registers are saved.
    let mut clobbers_below_cfa = 0i64;
    for &(offset, ref inst) in insts {
        // Advanced to only where a rule changes, as gimli writes it.
        let at = offset as usize;
        match *inst {
            UnwindInst::PushFrameRegs {
                offset_upward_to_caller_sp,
            } => {
                let up = i64::from(offset_upward_to_caller_sp);
                program.advance(at);
                program.cfa_offset(up as u64);
                program.saved_at(fp, -up);
                if let Some((lr, lr_offset)) = link {
                    program.saved_at(lr, -up + lr_offset);
                }
            }
            UnwindInst::DefineNewFrame {
                offset_upward_to_caller_sp,
                offset_downward_to_clobbers,
            } => {
                program.advance(at);
                program.cfa_register(fp);
                clobbers_below_cfa =
                    i64::from(offset_upward_to_caller_sp) + i64::from(offset_downward_to_clobbers);
            }
            // The CFA follows the frame pointer, which every fnjit host has: nothing changes.
            UnwindInst::StackAlloc { .. } => {}
            UnwindInst::SaveReg {
                clobber_offset,
                reg,
            } => {
                program.advance(at);
                let reg = dwarf(reg)?;
                saved.push(reg);
                program.saved_at(reg, i64::from(clobber_offset) - clobbers_below_cfa);
            }
            UnwindInst::RegStackOffset {
                clobber_offset,
                reg,
            } => {
                program.advance(at);
                let reg = dwarf(reg)?;
                saved.push(reg);
                program.value_at(reg, i64::from(clobber_offset) - clobbers_below_cfa);
            }
            UnwindInst::Aarch64SetPointerAuth { .. } => {
                return Err(Error::Internal(
                    "Cranelift signed return addresses, which fnjit never asks for",
                ));
            }
        }
    }
    Ok((program, saved))
}

// System V's DWARF against gimli's; Windows' UNWIND_INFO is Cranelift's own bytes, proven by
// Windows' unwinder walking through JIT frames (tests/all/unwind.rs).
#[cfg(all(test, not(windows)))]
mod tests {
    use super::*;
    use crate::isa::{OptLevel, host_isa};
    use crate::memory::{end_section, new_section, push_fde};
    use cranelift_codegen::Context;
    use cranelift_codegen::control::ControlPlane;
    use cranelift_codegen::isa::unwind::UnwindInfo;
    use gimli::write::{Address, EhFrame, EndianVec, FrameTable};
    use std::panic::{AssertUnwindSafe, catch_unwind};

    /// The section of one function at `entry` as Cranelift and gimli write it: the oracle.
    fn gimli_section(isa: &dyn TargetIsa, info: UnwindInfo, entry: u64) -> Vec<u8> {
        let mut table = FrameTable::default();
        let cie = table.add_cie(isa.create_systemv_cie().expect("a System V CIE"));
        let UnwindInfo::SystemV(info) = info else {
            panic!("not System V unwind info");
        };
        table.add_fde(cie, info.to_fde(Address::Constant(entry)));
        let mut section = EhFrame(EndianVec::new(gimli::RunTimeEndian::Little));
        table.write_eh_frame(&mut section).expect("gimli writes");
        let mut section = section.0.into_vec();
        end_section(&mut section);
        section
    }

    /// Every function of Cranelift's run-test corpus that compiles for the host (in the files
    /// that target its architecture), at both optimization levels: fnjit's `.eh_frame` section is gimli's, byte for byte (CIE included).
    #[test]
    fn every_corpus_function_gets_the_section_cranelift_and_gimli_write() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus/runtests");
        let mut compared = 0;
        for opt in [OptLevel::None, OptLevel::Speed] {
            let isa = host_isa(opt, &[]).expect("host");
            let mut ctx = Context::new();
            for entry in std::fs::read_dir(&dir).expect("corpus") {
                let path = entry.expect("entry").path();
                if path.extension().is_none_or(|e| e != "clif") {
                    continue;
                }
                let text = std::fs::read_to_string(&path).expect("read");
                // The files Cranelift runs on this architecture (as the corpus test takes them).
                let arch = if cfg!(target_arch = "aarch64") {
                    "aarch64"
                } else {
                    "x86_64"
                };
                if !text
                    .lines()
                    .any(|l| l.trim().starts_with(&format!("target {arch}")))
                {
                    continue;
                }
                let options = cranelift_reader::ParseOptions {
                    default_calling_convention: isa.default_call_conv(),
                    ..Default::default()
                };
                let Ok(file) = cranelift_reader::parse_test(&text, options) else {
                    continue;
                };
                for (mut func, _) in file.functions {
                    func.signature.call_conv = isa.default_call_conv();
                    ctx.clear();
                    ctx.func = func;
                    // Some corpus functions make Cranelift fail or panic for this host: skipped.
                    let compiled = catch_unwind(AssertUnwindSafe(|| {
                        let code = ctx.compile(&*isa, &mut ControlPlane::default()).ok()?;
                        let info = code.create_unwind_info(&*isa).ok()??;
                        let ours = cfa_program(&*isa, &code.buffer.unwind_info, Vec::new())
                            .map(|(program, _)| program.finish());
                        Some((info, ours, code.code_buffer().len()))
                    }));
                    let Ok(Some((info, ours, len))) = compiled else {
                        continue;
                    };
                    let entry = 0x7f12_3456_7000u64 + 16 * compared as u64;
                    let mut section = new_section(0);
                    push_fde(
                        &mut section,
                        entry as usize,
                        len,
                        &ours.expect("a CFA program"),
                    );
                    end_section(&mut section);
                    assert_eq!(
                        section,
                        gimli_section(&*isa, info, entry),
                        "{} ({opt:?})",
                        path.display()
                    );
                    compared += 1;
                }
            }
        }
        println!("{compared} compiled functions: fnjit's unwind info is gimli's");
        assert!(compared > 2000, "only {compared} functions compared");
    }
}
