//! The baseline tier for programs that mix types (`bool`, `i32`, `i64`, `f32`, `f64`): the same
//! one pass, no IR, over the same [`Program`], with every value in the 8-byte frame slot of its
//! depth. Each node loads its operands into the first three registers of their class (`rax rcx
//! rdx` and `xmm0..2`; `x0..2` and `v0..2`), converts each to the type the node computes in, as
//! [`crate::Value::to`] converts, computes into register 0 and stores it back: nothing lives in
//! a register between two nodes, so calls of Rust math functions save nothing (their arguments
//! and result are already in the registers the C ABI puts them in). The host's emitter writes
//! the instructions ([`TypedEmitter`], in `x64/typed.rs` and `arm64/typed.rs`), with the same
//! semantics as Cranelift's lowering (`expr/lower.rs`): saturating float-to-integer casts,
//! NumPy's `//` and `%` of integers (0 for a zero divisor), IEEE comparisons, and calls of the
//! same Rust functions.

use super::{Emitted, Emitter, Shape};
use crate::expr::{Node, Program, Ty};

/// What each ISA's emitter does for a typed program. Register `r` (0 to 2) is the `r`-th of the
/// class of the type in question: an integer register for `bool` (0 or 1), `i32` and `i64`, a
/// float register for `f32` and `f64`.
pub(crate) trait TypedEmitter: Emitter {
    /// Register `r` of `ty`'s class = the value of type `ty` in slot `k`.
    fn load(&mut self, r: usize, ty: Ty, k: usize);
    /// Slot `k` = register 0 of `ty`'s class, a value of type `ty`.
    fn store(&mut self, k: usize, ty: Ty);
    /// Register 0 of `ty`'s class = variable `index`, of type `ty`.
    fn load_var(&mut self, index: usize, ty: Ty);
    /// Slot `k` = a literal's 64 bits.
    fn store_literal(&mut self, k: usize, bits: u64);
    /// Register `r` of `to`'s class = register `r` of `from`'s class converted to `to`.
    fn convert(&mut self, r: usize, from: Ty, to: Ty);
    /// Register 0 = `node` computed in `ty`, its operands in registers 0, 1 and 2 (a select's
    /// condition a `bool`, the rest of type `ty`); a comparison and a test give a `bool`,
    /// `total_order` an integer of the float's width.
    fn compute(&mut self, node: Node, ty: Ty);
}

/// `out` with the machine code of the typed `program` as `shape` appended, by emitter `E`; the
/// result is left in register 0 of its type's class for [`Emitter::epilogue`].
pub(crate) fn emit<E: TypedEmitter>(program: &Program, shape: Shape, mut out: Emitted) -> Emitted {
    out.code.reserve(64 + 24 * program.nodes.len());
    let mut e = E::new(program.ty, shape, program, out);
    e.prologue();
    // The type of the value in each slot, by depth.
    let mut stack: Vec<Ty> = Vec::with_capacity(program.max_stack);
    for (k, &node) in program.nodes.iter().enumerate() {
        let ty = program.types[k];
        // A parsed program never pops more than it pushed.
        let base = stack.len().saturating_sub(node.pops());
        match node {
            Node::Lit(bits) => e.store_literal(base, bits),
            Node::Var(i) => {
                let from = program.var_types.get(usize::from(i)).copied().unwrap_or(ty);
                e.load_var(usize::from(i), from);
                e.convert(0, from, ty);
                e.store(base, ty);
            }
            _ => {
                for (r, &from) in stack[base..].iter().enumerate() {
                    let to = if node == Node::Select && r == 0 {
                        Ty::Bool
                    } else {
                        ty
                    };
                    e.load(r, from, base + r);
                    e.convert(r, from, to);
                }
                e.compute(node, ty);
                e.store(base, program.yields(k));
            }
        }
        stack.truncate(base);
        stack.push(program.yields(k));
    }
    let last = match stack.first() {
        Some(&t) => t,
        None => {
            e.store_literal(0, 0);
            program.ty
        }
    };
    e.load(0, last, 0);
    e.convert(0, last, program.ty);
    e.epilogue();
    e.finish()
}
