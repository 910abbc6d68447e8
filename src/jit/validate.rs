//! What [`crate::Jit::compile`] accepts from users: IR whose every instruction touches no memory
//! but its own stack slots, calls only what cannot misbehave and cannot trap. Such IR can only
//! compute values from its arguments, so calling it is sound for every input (it may loop
//! forever, as Rust code may).
//!
//! The rule is an allow-list of opcodes ([`refusal`]), an instruction Cranelift adds in a later
//! version being refused until someone reads what it does and lists it there, and four
//! instructions allowed where their operands prove them safe ([`proven`]):
//! - `udiv`, `urem`, `sdiv`, `srem` whose divisor is an `iconst` that is not 0 (nor -1 for
//!   `sdiv`, whose `MIN / -1` traps; `srem` by -1 is 0);
//! - `stack_addr` of the function's own slot, where every use of the address (or of the address
//!   plus an `iconst`) is the address of a load, store or atomic that lies inside the slot, an
//!   atomic of at most 8 bytes at a multiple of its size;
//! - `call` of a function of the same batch (`u0:k`) with its signature, of one of fnjit's math
//!   functions (`u1:k`), or of a rounding or `fma` libcall, each with the callee's signature.
//!   Calls within a batch may not recurse ([`check_no_recursion`]): the depth of the stack stays
//!   bounded by the batch's size.

use super::callees::{self, BATCH, MATH_NAMESPACE};
use crate::Error;
use cranelift_codegen::ir::{
    Block, ExternalName, Function, Inst, InstructionData, LibCall, Opcode, Signature, StackSlot,
    Value, ValueDef,
};
use std::collections::HashMap;

/// What a function's calls may reach: the functions of its batch (`u0:k` for `k < size`), each of
/// `signature`.
#[derive(Clone, Copy)]
pub(super) struct Batch<'a> {
    pub(super) size: usize,
    pub(super) signature: &'a Signature,
}

/// Refuses the first instruction of `func` that is neither on the allow-list nor proven safe by
/// its operands, naming it, its block and why.
pub(super) fn check_safe(func: &Function, batch: Batch<'_>) -> Result<(), Error> {
    let addresses = stack_addresses(func);
    for block in func.layout.blocks() {
        for inst in func.layout.block_insts(block) {
            let opcode = func.dfg.insts[inst].opcode();
            let reason = match refusal(opcode) {
                Some(reason) => proven(func, inst, batch, &addresses)
                    .err()
                    .map(|why| why.unwrap_or(reason)),
                None => None,
            };
            let reason = reason.or_else(|| address_misuse(func, inst, &addresses));
            if let Some(reason) = reason {
                return Err(refused(func, inst, block, reason));
            }
        }
    }
    Ok(())
}

/// Refuses a batch whose calls (`u0:k`) form a cycle: the index of a function on it, and why.
pub(super) fn check_no_recursion(funcs: &[&Function]) -> Result<(), (usize, Error)> {
    let callees: Vec<Vec<usize>> = funcs.iter().map(|f| batch_callees(f)).collect();
    // Depth-first, iterative: 0 unvisited, 1 on the path, 2 done.
    let mut state = vec![0u8; funcs.len()];
    for root in 0..funcs.len() {
        let mut stack = vec![(root, 0usize)];
        while let Some((node, next)) = stack.pop() {
            if next == 0 {
                if state[node] == 2 {
                    continue;
                }
                state[node] = 1;
            }
            match callees[node].get(next) {
                Some(&callee) if callee < funcs.len() => {
                    stack.push((node, next + 1));
                    match state[callee] {
                        1 => {
                            let error = Error::UnsafeIr {
                                inst: format!("call u0:{callee}"),
                                block: format!("the calls of function {node}"),
                                reason: "calls within a batch may not recurse: a recursion has \
                                         no bound on its depth, and compile() keeps the stack \
                                         bounded; use compile_unchecked"
                                    .into(),
                            };
                            return Err((node, error));
                        }
                        0 => stack.push((callee, 0)),
                        _ => {}
                    }
                }
                Some(_) => stack.push((node, next + 1)),
                None => state[node] = 2,
            }
        }
    }
    Ok(())
}

/// The functions of the batch (`u0:k`) that `func` calls.
fn batch_callees(func: &Function) -> Vec<usize> {
    func.layout
        .blocks()
        .flat_map(|b| func.layout.block_insts(b))
        .filter_map(|inst| match func.dfg.insts[inst] {
            InstructionData::Call { func_ref, .. } => match func.dfg.ext_funcs[func_ref].name {
                ExternalName::User(r) => {
                    let name = &func.params.user_named_funcs()[r];
                    (name.namespace == BATCH).then_some(name.index as usize)
                }
                _ => None,
            },
            _ => None,
        })
        .collect()
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

/// `Ok` when the operands of `inst`, whose opcode the allow-list refuses, prove it safe; else the
/// reason to give instead of the opcode's (or `None` to give the opcode's).
fn proven(
    func: &Function,
    inst: Inst,
    batch: Batch<'_>,
    addresses: &HashMap<Value, (StackSlot, i64)>,
) -> Result<(), Option<String>> {
    let data = &func.dfg.insts[inst];
    match (data.opcode(), data) {
        // Its bounds are checked with every use of the address (`address_misuse`).
        _ if access(func, inst).is_some_and(|a| addresses.contains_key(&a.address)) => Ok(()),
        (op @ (Opcode::Udiv | Opcode::Urem | Opcode::Sdiv | Opcode::Srem), _) => {
            let divisor = func.dfg.inst_args(inst)[1];
            // `srem` by -1 is 0 for every dividend (Cranelift defines it so; the corpus runs it):
            // only `sdiv` traps on MIN / -1.
            match constant(func, divisor) {
                Some(0) => Err(Some(format!("{op} by the constant 0 traps"))),
                Some(-1) if op == Opcode::Sdiv => Err(Some(format!(
                    "{op} by the constant -1 traps on MIN / -1; guard the dividend, or use \
                     compile_unchecked"
                ))),
                Some(_) => Ok(()),
                None => Err(None),
            }
        }
        // Checked where the address is used (`address_misuse`).
        (Opcode::StackAddr, _) => Ok(()),
        (Opcode::Call, InstructionData::Call { func_ref, .. }) => {
            let ext = &func.dfg.ext_funcs[*func_ref];
            let sig = &func.dfg.signatures[ext.signature];
            let call_conv = func.signature.call_conv;
            let (callee, expected) = match &ext.name {
                ExternalName::User(r) => {
                    let name = &func.params.user_named_funcs()[*r];
                    match (name.namespace, name.index) {
                        (BATCH, k) if (k as usize) < batch.size => (
                            format!("function {k} of the batch"),
                            batch.signature.clone(),
                        ),
                        (MATH_NAMESPACE, k) => match callees::math(k) {
                            Some((symbol, callee)) => {
                                (symbol.to_owned(), callee.signature(call_conv))
                            }
                            None => {
                                return Err(Some(format!(
                                    "u1:{k} is no math function of fnjit's (u1:k is function k \
                                     of docs/language.md's list, from u1:0, abs)"
                                )));
                            }
                        },
                        (ns, k) => {
                            return Err(Some(format!(
                                "u{ns}:{k} names no function compile() can link: u0:k is function k \
                                 of the batch ({} of them), u1:k fnjit's math function k",
                                batch.size
                            )));
                        }
                    }
                }
                ExternalName::LibCall(
                    call @ (LibCall::CeilF32
                    | LibCall::CeilF64
                    | LibCall::FloorF32
                    | LibCall::FloorF64
                    | LibCall::TruncF32
                    | LibCall::TruncF64
                    | LibCall::NearestF32
                    | LibCall::NearestF64
                    | LibCall::FmaF32
                    | LibCall::FmaF64),
                ) => match callees::libcall(*call, call_conv) {
                    Some((symbol, _, signature)) => (symbol.to_owned(), signature),
                    None => return Err(None),
                },
                _ => return Err(None),
            };
            if *sig == expected {
                Ok(())
            } else {
                Err(Some(format!(
                    "the call's signature is `{sig}`, but {callee} is `{expected}`"
                )))
            }
        }
        _ => Err(None),
    }
}

/// The integer constant `v` is, sign-extended from its type's width, if an `iconst` defines it.
fn constant(func: &Function, v: Value) -> Option<i64> {
    let ValueDef::Result(def, _) = func.dfg.value_def(v) else {
        return None;
    };
    let InstructionData::UnaryImm {
        opcode: Opcode::Iconst,
        imm,
    } = func.dfg.insts[def]
    else {
        return None;
    };
    let bits = func.dfg.value_type(v).bits();
    let shift = 64u32.checked_sub(bits).filter(|&s| s < 64)?;
    Some((imm.bits() << shift) >> shift)
}

/// Each stack address of `func`: a `stack_addr` result, or such an address plus a constant
/// (`iadd`), with its slot and offset.
fn stack_addresses(func: &Function) -> HashMap<Value, (StackSlot, i64)> {
    let insts = || {
        func.layout
            .blocks()
            .flat_map(|b| func.layout.block_insts(b))
    };
    let mut addresses: HashMap<Value, (StackSlot, i64)> = insts()
        .filter_map(|inst| match func.dfg.insts[inst] {
            InstructionData::StackAddr {
                stack_slot, offset, ..
            } => Some((func.dfg.first_result(inst), (stack_slot, i64::from(offset)))),
            _ => None,
        })
        .collect();
    if addresses.is_empty() {
        return addresses;
    }
    // Twice, for an address defined in a block laid out after one that offsets it.
    for _ in 0..2 {
        for inst in insts() {
            if func.dfg.insts[inst].opcode() != Opcode::Iadd {
                continue;
            }
            let (a, b) = (func.dfg.inst_args(inst)[0], func.dfg.inst_args(inst)[1]);
            let derived = match (addresses.get(&a), addresses.get(&b)) {
                (Some(&(slot, base)), None) => {
                    constant(func, b).map(|k| (slot, base.saturating_add(k)))
                }
                (None, Some(&(slot, base))) => {
                    constant(func, a).map(|k| (slot, base.saturating_add(k)))
                }
                _ => None,
            };
            if let Some(derived) = derived {
                addresses.insert(func.dfg.first_result(inst), derived);
            }
        }
    }
    addresses
}

/// A memory access: its address operand, constant offset, size, and whether it is atomic (and
/// so must be aligned to its size).
struct Access {
    address: Value,
    offset: i64,
    bytes: i64,
    atomic: bool,
}

/// The access `inst` makes, for the loads, stores and atomics compile() allows on stack slots.
fn access(func: &Function, inst: Inst) -> Option<Access> {
    use Opcode::*;
    let dfg = &func.dfg;
    let result_bytes = || i64::from(dfg.value_type(dfg.first_result(inst)).bytes());
    let data = &dfg.insts[inst];
    let op = data.opcode();
    let narrow = match op {
        Uload8 | Sload8 | Istore8 => Some(1),
        Uload16 | Sload16 | Istore16 => Some(2),
        Uload32 | Sload32 | Istore32 => Some(4),
        Uload8x8 | Sload8x8 | Uload16x4 | Sload16x4 | Uload32x2 | Sload32x2 => Some(8),
        _ => None,
    };
    let (address, offset, bytes, atomic) = match *data {
        InstructionData::Load { arg, offset, .. } => (
            arg,
            offset,
            narrow.or((op == Load).then(result_bytes))?,
            false,
        ),
        InstructionData::Store { args, offset, .. } => {
            let stored = i64::from(dfg.value_type(args[0]).bytes());
            (
                args[1],
                offset,
                narrow.or((op == Store).then_some(stored))?,
                false,
            )
        }
        InstructionData::LoadNoOffset { arg, .. } if op == AtomicLoad => {
            (arg, 0.into(), result_bytes(), true)
        }
        InstructionData::StoreNoOffset { args, .. } if op == AtomicStore => (
            args[1],
            0.into(),
            i64::from(dfg.value_type(args[0]).bytes()),
            true,
        ),
        InstructionData::AtomicCas { args, .. } => (args[0], 0.into(), result_bytes(), true),
        InstructionData::AtomicRmw { args, .. } => (args[0], 0.into(), result_bytes(), true),
        _ => return None,
    };
    Some(Access {
        address,
        offset: i64::from(offset),
        bytes,
        atomic,
    })
}

/// Why `inst` uses a stack address other than as the address of an access inside its slot (an
/// atomic one aligned to its size), or to offset it by a constant.
fn address_misuse(
    func: &Function,
    inst: Inst,
    addresses: &HashMap<Value, (StackSlot, i64)>,
) -> Option<String> {
    if addresses.is_empty() {
        return None;
    }
    let data = &func.dfg.insts[inst];
    if data.opcode() == Opcode::Iadd
        && func
            .dfg
            .inst_results(inst)
            .first()
            .is_some_and(|r| addresses.contains_key(r))
    {
        return None;
    }
    let access = access(func, inst);
    for v in func.dfg.inst_values(inst) {
        let Some(&(slot, base)) = addresses.get(&v) else {
            continue;
        };
        let Some(access) = access
            .as_ref()
            .filter(|a| a.address == v && !is_stored_value(data, v))
        else {
            return Some(format!(
                "uses the address of {slot} other than as the address of a load or store inside \
                 it; compile() allows no other use of a stack address"
            ));
        };
        let size = i64::from(func.sized_stack_slots[slot].size);
        let start = base.saturating_add(access.offset);
        let bytes = access.bytes;
        if start < 0 || start.saturating_add(bytes) > size {
            return Some(format!(
                "the access of {bytes} bytes at offset {start} of {slot} lies outside its \
                 {size} bytes"
            ));
        }
        // Cranelift starts every slot at a multiple of 8 bytes of an 8-aligned area: an atomic of
        // up to 8 bytes at a multiple of its size is aligned. A 16-byte atomic would need more
        // than fnjit can prove of the frame's layout.
        if access.atomic && (bytes > 8 || start % bytes != 0) {
            return Some(format!(
                "the atomic access of {bytes} bytes at offset {start} of {slot} is not one of at \
                 most 8 bytes at a multiple of its size, which compile() can prove aligned"
            ));
        }
    }
    None
}

/// Whether `v` is the value `data` stores (a store of the address itself lets it escape).
fn is_stored_value(data: &InstructionData, v: Value) -> bool {
    match data {
        InstructionData::Store { args, .. } | InstructionData::StoreNoOffset { args, .. } => {
            args[0] == v
        }
        InstructionData::AtomicCas { args, .. } => args[1..].contains(&v),
        InstructionData::AtomicRmw { args, .. } => args[1] == v,
        _ => false,
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
        | IaddPairwise | SaddOverflowCin | UaddOverflowCin | SsubOverflowBin | UsubOverflowBin
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
        | SwidenHigh | UwidenLow | UwidenHigh | Fvdemote | FvpromoteLow | ExtractVector => {
            return None;
        }
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
