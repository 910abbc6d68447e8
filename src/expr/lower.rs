//! Lowering a postfix program to Cranelift IR: one block, a value stack, no recursion.

use super::{BinOp, Expr, Node};
use crate::ir::build_i32_fn;
use cranelift_codegen::ir::condcodes::IntCC;
use cranelift_codegen::ir::{Function, InstBuilder, Value, types};
use cranelift_codegen::isa::TargetFrontendConfig;
use cranelift_frontend::{FunctionBuilder, FunctionBuilderContext};

/// Builds `expr` into `func` as `fn(i32) -> i32` in the target's default calling convention.
/// Division and remainder are guarded so that no input can trap (see [`BinOp::apply`]).
pub(crate) fn build_expr(
    func: &mut Function,
    fctx: &mut FunctionBuilderContext,
    target: TargetFrontendConfig,
    expr: &Expr,
) {
    build_i32_fn(func, fctx, target, 1, |b, x| {
        let mut stack: Vec<Value> = Vec::with_capacity(expr.max_stack);
        for &node in &expr.program {
            let v = match node {
                Node::X => x,
                Node::Lit(v) => b.ins().iconst(types::I32, i64::from(v)),
                Node::Neg => {
                    let a = stack.pop().unwrap_or(x);
                    b.ins().ineg(a)
                }
                Node::Not => {
                    let a = stack.pop().unwrap_or(x);
                    b.ins().bnot(a)
                }
                Node::Bin(op) => {
                    let rhs = stack.pop().unwrap_or(x);
                    let lhs = stack.pop().unwrap_or(x);
                    binary(b, op, lhs, rhs)
                }
            };
            stack.push(v);
        }
        // A parsed program leaves exactly one value.
        stack.pop().unwrap_or(x)
    });
}

fn binary(b: &mut FunctionBuilder<'_>, op: BinOp, lhs: Value, rhs: Value) -> Value {
    match op {
        BinOp::Mul => b.ins().imul(lhs, rhs),
        BinOp::Add => b.ins().iadd(lhs, rhs),
        BinOp::Sub => b.ins().isub(lhs, rhs),
        // Cranelift takes shift amounts modulo the type's width: the low 5 bits for i32.
        BinOp::Shl => b.ins().ishl(lhs, rhs),
        BinOp::Sar => b.ins().sshr(lhs, rhs),
        BinOp::Shr => b.ins().ushr(lhs, rhs),
        BinOp::And => b.ins().band(lhs, rhs),
        BinOp::Xor => b.ins().bxor(lhs, rhs),
        BinOp::Or => b.ins().bor(lhs, rhs),
        BinOp::Div | BinOp::Rem => {
            // `sdiv` and `srem` trap on a zero divisor, and `sdiv` on i32::MIN / -1. Divide by 1
            // in those cases instead (i32::MIN / 1 == i32::MIN, a % 1 == 0: the defined results),
            // then pick the result for a zero divisor: -1 for `/`, the dividend for `%`.
            let zero = b.ins().icmp_imm_s(IntCC::Equal, rhs, 0);
            let minus_one = b.ins().icmp_imm_s(IntCC::Equal, rhs, -1);
            let risky = if op == BinOp::Div {
                let min = b.ins().icmp_imm_s(IntCC::Equal, lhs, i64::from(i32::MIN));
                let overflow = b.ins().band(min, minus_one);
                b.ins().bor(zero, overflow)
            } else {
                b.ins().bor(zero, minus_one)
            };
            let one = b.ins().iconst(types::I32, 1);
            let divisor = b.ins().select(risky, one, rhs);
            let (result, if_zero) = if op == BinOp::Div {
                (b.ins().sdiv(lhs, divisor), b.ins().iconst(types::I32, -1))
            } else {
                (b.ins().srem(lhs, divisor), lhs)
            };
            b.ins().select(zero, if_zero, result)
        }
    }
}
