//! What [`crate::Jit::compile`] accepts from users: IR whose every instruction touches no memory,
//! makes no call and cannot trap. Such IR can only compute values from its arguments, so calling
//! it is sound for every input (it may loop forever, as Rust code may).
//!
//! The rule is an allow-list: an instruction Cranelift adds in a later version is refused until
//! someone reads what it does and lists it here.

use crate::Error;
use cranelift_codegen::ir::{Block, Function, Inst, Opcode};

/// Refuses the first instruction of `func` that is not on the allow-list, naming it, its block
/// and why.
pub(super) fn check_safe(func: &Function) -> Result<(), Error> {
    for block in func.layout.blocks() {
        for inst in func.layout.block_insts(block) {
            let opcode = func.dfg.insts[inst].opcode();
            if let Some(reason) = refusal(opcode) {
                return Err(refused(func, inst, block, reason));
            }
        }
    }
    Ok(())
}

fn refused(func: &Function, inst: Inst, block: Block, reason: String) -> Error {
    Error::UnsafeIr {
        inst: func
            .dfg
            .display_inst(inst)
            .to_string()
            .trim_end()
            .to_owned(),
        block: block.to_string(),
        reason,
    }
}

/// Why `op` is refused, or `None` when it is allowed.
fn refusal(op: Opcode) -> Option<String> {
    use Opcode::*;
    let reason = match op {
        // Control flow, constants and moves.
        Jump | Brif | BrTable | Return | Nop | Iconst | F16const | F32const | F64const
        | F128const | Vconst | Select | SelectSpectreGuard | Bitselect
        // Integer arithmetic that wraps or reports overflow as a value.
        | Iadd | Isub | Ineg | Iabs | Imul | Umulhi | Smulhi | UaddOverflow | SaddOverflow
        | UsubOverflow | SsubOverflow | UmulOverflow | SmulOverflow | Smin | Umin | Smax
        | Umax | UaddSat | SaddSat | UsubSat | SsubSat | AvgRound | SqmulRoundSat
        | IaddPairwise
        // Bits and comparisons.
        | Band | Bor | Bxor | Bnot | Rotl | Rotr | Ishl | Ushr | Sshr | Bitrev | Clz | Cls
        | Ctz | Bswap | Popcnt | Icmp | Fcmp | Bmask
        // Floating point (IEEE-754: no traps).
        | Fadd | Fsub | Fmul | Fdiv | Sqrt | Fma | Fneg | Fabs | Fcopysign | Fmin | Fmax
        | Ceil | Floor | Trunc | Nearest
        // Conversions that cannot trap.
        | Bitcast | Ireduce | Uextend | Sextend | Fpromote | Fdemote | FcvtToUintSat
        | FcvtToSintSat | FcvtFromUint | FcvtFromSint | Isplit | Iconcat
        // Vector lanes.
        | Splat | Swizzle | Shuffle | Insertlane | Extractlane | ScalarToVector | Blendv
        | VanyTrue | VallTrue | VhighBits | Snarrow | Unarrow | Uunarrow | SwidenLow
        | SwidenHigh | UwidenLow | UwidenHigh | Fvdemote | FvpromoteLow => return None,
        Sdiv => "sdiv traps on a zero divisor and on MIN / -1; guard the divisor, or use \
                 compile_unchecked"
            .to_owned(),
        Udiv | Urem | Srem => {
            format!("{op} traps on a zero divisor; guard the divisor, or use compile_unchecked")
        }
        FcvtToSint | FcvtToUint => format!(
            "{op} traps on NaN and on values out of range; use {op}_sat, or compile_unchecked"
        ),
        UaddOverflowTrap => {
            "uadd_overflow_trap traps on overflow; use uadd_overflow, or compile_unchecked".into()
        }
        Trap | Trapz | Trapnz | Debugtrap => {
            format!("{op} traps; return a value instead, or use compile_unchecked")
        }
        Call | CallIndirect | ReturnCall | ReturnCallIndirect | TryCall | TryCallIndirect => {
            format!("{op} makes a call, which compile() cannot check; use compile_unchecked")
        }
        StackAddr | DynamicStackAddr | StackSwitch | GetStackPointer | GetFramePointer
        | GetReturnAddress | GetExceptionHandlerAddress | GetPinnedReg | SetPinnedReg => format!(
            "{op} reaches the stack or machine registers outside the IR; use compile_unchecked"
        ),
        SymbolValue | TlsValue | FuncAddr => {
            format!("{op} takes the address of a global; use compile_unchecked")
        }
        op if op.can_load() || op.can_store() => format!(
            "{op} touches memory; pass values as parameters instead, or use compile_unchecked"
        ),
        op => format!(
            "{op} is not on the allow-list of instructions that touch no memory, make no call \
             and cannot trap; use compile_unchecked"
        ),
    };
    Some(reason)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_allowed_opcode_is_free_of_effects_by_cranelifts_own_account() {
        let allowed: Vec<_> = Opcode::all()
            .iter()
            .filter(|op| refusal(**op).is_none())
            .collect();
        assert!(allowed.len() > 90, "{allowed:?}");
        for op in allowed {
            assert!(
                !(op.can_load()
                    || op.can_store()
                    || op.can_trap()
                    || op.is_call()
                    || op.other_side_effects()),
                "{op} is allowed but Cranelift says it has effects"
            );
        }
    }

    #[test]
    fn every_opcode_with_an_effect_is_refused() {
        for &op in Opcode::all() {
            if op.can_load() || op.can_store() || op.can_trap() || op.is_call() {
                let reason = refusal(op).unwrap_or_else(|| panic!("{op} is allowed"));
                assert!(reason.starts_with(&op.to_string()), "{op}: {reason}");
                assert!(reason.contains("compile_unchecked"), "{op}: {reason}");
            }
        }
    }
}
