//! Compiling the same IR for every Cranelift target, without running it, and setting the result
//! beside each target's hand encoding (the table in `hand.rs`).

use super::hand::{HAND_ENCODINGS, HandEncoding, SUPPORTED_TARGETS};
use crate::disasm::{Verdict, compare, disassemble_x86_64, instructions};
use crate::isa::{OptLevel, with_settings};
use crate::{Error, ir};
use cranelift_codegen::Context;
use cranelift_codegen::control::ControlPlane;
use cranelift_codegen::isa::{self, OwnedTargetIsa};
use cranelift_frontend::FunctionBuilderContext;
use std::fmt::Write as _;
use target_lexicon::{Architecture, Triple};

/// `x + 1` compiled for some target: bytes to look at, not to run.
#[derive(Clone, Debug)]
pub struct CompiledCode {
    triple: Triple,
    call_conv: String,
    code: Vec<u8>,
    disassembly: String,
}

/// Compiles `fn(i32) -> i32 { x + 1 }` (the IR of [`crate::compile_inc`], with `opt_level =
/// none` as there) for `triple`, in its default calling convention.
///
/// # Errors
/// [`Error::UnsupportedTarget`], listing the supported triples, for a triple that is malformed
/// or not one of [`SUPPORTED_TARGETS`]; [`Error::BackendNotBuilt`] for a triple whose backend
/// this build leaves out (without the `targets` feature, every backend but the host's);
/// [`Error::Cranelift`] if compiling fails.
pub fn compile_inc_for(triple: &str) -> Result<CompiledCode, Error> {
    let unsupported = || Error::UnsupportedTarget {
        triple: triple.to_owned(),
        supported: &SUPPORTED_TARGETS,
    };
    if !SUPPORTED_TARGETS.contains(&triple) {
        return Err(unsupported());
    }
    let parsed: Triple = triple.parse().map_err(|_| unsupported())?;
    let isa = isa_for(parsed.clone(), OptLevel::None)?;
    let mut ctx = Context::new();
    ir::build_inc(
        &mut ctx.func,
        &mut FunctionBuilderContext::new(),
        isa.frontend_config(),
    );
    ctx.set_disasm(true);
    let compiled = ctx
        .compile(&*isa, &mut ControlPlane::default())
        .map_err(|e| Error::from(cranelift_module::ModuleError::Compilation(e.inner)))?;
    let code = compiled.code_buffer().to_vec();
    let disassembly = if parsed.architecture == Architecture::X86_64 {
        disassemble_x86_64(&code)
            .iter()
            .fold(String::new(), |mut out, l| {
                let _ = writeln!(out, "{}", l.text);
                out
            })
    } else {
        // Cranelift's own listing of the instructions it emitted (no second disassembler).
        compiled
            .vcode
            .clone()
            .unwrap_or_default()
            .lines()
            // Labels, and the unwind-info pseudo-instructions, which emit no bytes.
            .filter(|l| !l.ends_with(':') && !l.trim_start().starts_with("unwind "))
            .map(|l| format!("{}\n", l.trim()))
            .collect()
    };
    Ok(CompiledCode {
        call_conv: isa.default_call_conv().to_string(),
        triple: parsed,
        code,
        disassembly,
    })
}

impl CompiledCode {
    /// The machine code.
    pub fn code(&self) -> &[u8] {
        &self.code
    }

    /// One instruction a line: Intel syntax from iced-x86 on x86-64, Cranelift's own listing
    /// elsewhere.
    pub fn disassembly(&self) -> &str {
        &self.disassembly
    }

    /// The calling convention the function was compiled for, in Cranelift's spelling.
    pub fn call_conv(&self) -> &str {
        &self.call_conv
    }

    /// How the code compares with `hand`, instruction by instruction.
    pub fn verdict(&self, hand: &HandEncoding) -> Verdict {
        let arch = self.triple.architecture;
        compare(
            &instructions(arch, &self.code),
            &instructions(arch, hand.bytes),
        )
    }
}

/// One row of `fnjit targets`.
#[derive(Clone, Debug)]
pub struct TargetRow {
    /// The target triple.
    pub triple: &'static str,
    /// Cranelift's calling convention for it.
    pub call_conv: String,
    /// Cranelift's bytes.
    pub cranelift: Vec<u8>,
    /// The hand encoding.
    pub hand: &'static HandEncoding,
    /// How they compare.
    pub verdict: Verdict,
}

/// Compiles for every supported target and compares each with its hand encoding.
///
/// # Errors
/// As [`compile_inc_for`].
pub fn target_rows() -> Result<Vec<TargetRow>, Error> {
    HAND_ENCODINGS
        .iter()
        .map(|hand| {
            let compiled = compile_inc_for(hand.triple)?;
            Ok(TargetRow {
                triple: hand.triple,
                verdict: compiled.verdict(hand),
                call_conv: compiled.call_conv,
                cranelift: compiled.code,
                hand,
            })
        })
        .collect()
}

/// Cranelift's backend for `triple` (a baseline CPU of that architecture), to look at its code.
pub(crate) fn isa_for(triple: Triple, opt: OptLevel) -> Result<OwnedTargetIsa, Error> {
    let builder = isa::lookup(triple.clone()).map_err(|e| lookup_error(e, &triple))?;
    with_settings(builder, &triple, opt)
}

/// Why Cranelift has no backend for `triple`: left out of this build, or none at all.
fn lookup_error(e: isa::LookupError, triple: &Triple) -> Error {
    match e {
        isa::LookupError::SupportDisabled => Error::BackendNotBuilt {
            triple: triple.to_string(),
        },
        isa::LookupError::Unsupported => Error::UnsupportedTarget {
            triple: triple.to_string(),
            supported: &SUPPORTED_TARGETS,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_backend_left_out_of_the_build_says_how_to_get_it() {
        let triple: Triple = "s390x-unknown-linux-gnu".parse().expect("triple");
        let err = lookup_error(isa::LookupError::SupportDisabled, &triple);
        assert!(matches!(err, Error::BackendNotBuilt { .. }), "{err}");
        assert!(err.to_string().contains("`targets` feature"), "{err}");
        let err = lookup_error(isa::LookupError::Unsupported, &triple);
        assert!(matches!(err, Error::UnsupportedTarget { .. }), "{err}");
    }
}
