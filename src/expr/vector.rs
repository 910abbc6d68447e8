//! Lowering a program into a loop over columns: `fn(columns: *const *const T, out: *mut T,
//! len: u64) -> u64` computing `out[i] = formula(columns[0][i], …)` for `i < len`.
//!
//! The body runs on 128-bit vectors (`f64x2`, `i64x2`, `i32x4`), `unroll` vectors per iteration,
//! then a scalar tail finishes the rows. An operation with a vector instruction uses it
//! (arithmetic, comparisons, `?:` as a bit select, `abs sqrt floor ceil trunc min max`);
//! anything else runs lane by lane through the scalar lowering (calls such as `sin`, guarded
//! integer division, shifts whose amounts differ per lane). Vector and scalar instructions are
//! the same IEEE-754 operations, and nothing is fused or reassociated, so every row gets the
//! interpreter's bits.

use super::lower::{Import, Lower, clif_type, walk};
use super::{BinOp, Func, Node, Program, Ty, UnOp};
use cranelift_codegen::ir::condcodes::{FloatCC, IntCC};
use cranelift_codegen::ir::{
    AbiParam, Endianness, Function, InstBuilder, MemFlagsData, Signature, Type, UserFuncName,
    Value, types,
};
use cranelift_codegen::isa::TargetFrontendConfig;
use cranelift_frontend::{FunctionBuilder, FunctionBuilderContext};

/// How many lanes a 128-bit vector of `ty` holds.
pub(crate) fn lanes(ty: Ty) -> u32 {
    128 / clif_type(ty).bits()
}

/// How many rows one iteration of `program`'s loop computes at once: a vector's lanes for a
/// single-type program, 1 for a program that mixes types (its loop is scalar).
pub(crate) fn kernel_lanes(program: &Program) -> u32 {
    program.single_type().map_or(1, lanes)
}

/// Builds the loop for `program` into `func`; `unroll` vectors per iteration, or none at all
/// (`unroll == 0`: the scalar loop only, as for every program that mixes types). Column `k`
/// holds values of variable `k`'s type, and `out` of the program's. Returns the Rust functions
/// it calls.
pub(crate) fn build_kernel(
    func: &mut Function,
    fctx: &mut FunctionBuilderContext,
    target: TargetFrontendConfig,
    program: &Program,
    unroll: u32,
) -> Vec<Import> {
    let t = clif_type(program.ty);
    let size = i64::from(t.bytes());
    let unroll = if program.single_type().is_some() {
        unroll
    } else {
        0
    };
    func.clear();
    func.name = UserFuncName::testcase("kernel");
    let mut sig = Signature::new(target.default_call_conv);
    sig.params.extend([AbiParam::new(types::I64); 3]);
    sig.returns.push(AbiParam::new(types::I64));
    func.signature = sig;
    let mut b = FunctionBuilder::new(func, fctx);
    let [entry, vhead, vbody, thead, tbody, exit] = [(); 6].map(|()| b.create_block());
    b.append_block_params_for_function_params(entry);
    for block in [vhead, vbody, thead, tbody] {
        b.append_block_param(block, types::I64);
    }
    // Rows are in bounds (the caller checked the lengths), but a column may start anywhere:
    // loads and stores cannot trap and need no alignment.
    let mem = MemFlagsData::new().with_notrap();

    b.switch_to_block(entry);
    let p = b.block_params(entry).to_vec();
    let (columns, out, len) = (p[0], p[1], p[2]);
    let cols: Vec<Value> = (0..program.vars)
        .map(|k| b.ins().load(types::I64, mem, columns, (8 * k) as i32))
        .collect();
    let zero = b.ins().iconst(types::I64, 0);
    let step = i64::from(lanes(program.ty) * unroll);
    let vec_end = if unroll == 0 {
        zero
    } else {
        // `step` is a power of two: the rows that fill whole iterations.
        b.ins().band_imm_s(len, -step)
    };
    b.ins().jump(vhead, &[zero.into()]);

    let mut lower = Lower::new(b, target.default_call_conv);

    // The vector loop.
    lower.b.switch_to_block(vhead);
    let i = lower.b.block_params(vhead)[0];
    let more = lower.b.ins().icmp(IntCC::UnsignedLessThan, i, vec_end);
    lower
        .b
        .ins()
        .brif(more, vbody, &[i.into()], thead, &[i.into()]);
    lower.b.switch_to_block(vbody);
    let i = lower.b.block_params(vbody)[0];
    if unroll > 0 {
        let vt = t.by(lanes(program.ty)).unwrap_or(t);
        for u in 0..unroll {
            let row = lower
                .b
                .ins()
                .iadd_imm_s(i, i64::from(u * lanes(program.ty)));
            let offset = lower.b.ins().imul_imm_s(row, size);
            let vars: Vec<Value> = cols
                .iter()
                .map(|&c| {
                    let at = lower.b.ins().iadd(c, offset);
                    lower.b.ins().load(vt, mem, at, 0)
                })
                .collect();
            let mut v = Vector {
                lower: &mut lower,
                ty: program.ty,
                vt,
            };
            let (result, _) = walk(program, |node, _, args, _| v.node(node, &vars, args));
            let at = lower.b.ins().iadd(out, offset);
            lower.b.ins().store(mem, result, at, 0);
        }
    }
    let next = lower.b.ins().iadd_imm_s(i, step);
    lower.b.ins().jump(vhead, &[next.into()]);

    // The scalar tail.
    lower.b.switch_to_block(thead);
    let i = lower.b.block_params(thead)[0];
    let more = lower.b.ins().icmp(IntCC::UnsignedLessThan, i, len);
    lower.b.ins().brif(more, tbody, &[i.into()], exit, &[]);
    lower.b.switch_to_block(tbody);
    let i = lower.b.block_params(tbody)[0];
    let vars: Vec<Value> = cols
        .iter()
        .zip(&program.var_types)
        .map(|(&c, &v)| {
            let t = clif_type(v);
            let offset = lower.b.ins().imul_imm_s(i, i64::from(t.bytes()));
            let at = lower.b.ins().iadd(c, offset);
            lower.b.ins().load(t, mem, at, 0)
        })
        .collect();
    let (result, ty) = walk(program, |node, k, args, tys| {
        lower.scalar(node, k, &vars, args, tys)
    });
    let result = lower.convert(result, ty, program.ty);
    let offset = lower.b.ins().imul_imm_s(i, size);
    let at = lower.b.ins().iadd(out, offset);
    lower.b.ins().store(mem, result, at, 0);
    let next = lower.b.ins().iadd_imm_s(i, 1);
    lower.b.ins().jump(thead, &[next.into()]);

    lower.b.switch_to_block(exit);
    lower.b.ins().return_(&[len]);
    lower.b.seal_all_blocks();
    lower.finish(target)
}

/// The vector lowering of one program's nodes.
struct Vector<'l, 'a> {
    lower: &'l mut Lower<'a>,
    ty: Ty,
    /// The vector type.
    vt: Type,
}

impl Vector<'_, '_> {
    fn node(&mut self, node: Node, vars: &[Value], args: &[Value]) -> Value {
        let float = self.ty == Ty::F64;
        match node {
            Node::Var(i) => match vars.get(usize::from(i)) {
                Some(&v) => v,
                None => self.splat(0),
            },
            Node::Lit(bits) => self.splat(bits),
            Node::Un(UnOp::Neg) if float => self.lower.b.ins().fneg(args[0]),
            Node::Un(UnOp::Neg) => self.lower.b.ins().ineg(args[0]),
            Node::Un(UnOp::Not) => self.lower.b.ins().bnot(args[0]),
            Node::Bin(op) => {
                let (x, y) = (args[0], args[1]);
                let ins = self.lower.b.ins();
                match (op, float) {
                    (BinOp::Add, true) => ins.fadd(x, y),
                    (BinOp::Sub, true) => ins.fsub(x, y),
                    (BinOp::Mul, true) => ins.fmul(x, y),
                    (BinOp::Div, true) => ins.fdiv(x, y),
                    (BinOp::Lt, _) => self.truth(FloatCC::LessThan, x, y),
                    (BinOp::Le, _) => self.truth(FloatCC::LessThanOrEqual, x, y),
                    (BinOp::Gt, _) => self.truth(FloatCC::GreaterThan, x, y),
                    (BinOp::Ge, _) => self.truth(FloatCC::GreaterThanOrEqual, x, y),
                    (BinOp::Eq, _) => self.truth(FloatCC::Equal, x, y),
                    (BinOp::Ne, _) => self.truth(FloatCC::NotEqual, x, y),
                    (BinOp::Add, false) => ins.iadd(x, y),
                    (BinOp::Sub, false) => ins.isub(x, y),
                    (BinOp::Mul, false) => ins.imul(x, y),
                    (BinOp::And, false) => ins.band(x, y),
                    (BinOp::Or, false) => ins.bor(x, y),
                    (BinOp::Xor, false) => ins.bxor(x, y),
                    // `%` and `**` (calls), guarded division, per-lane shift amounts.
                    _ => self.lane_by_lane(node, args),
                }
            }
            Node::Select => {
                // `c ? a : b`: `a` where `c != 0` (NaN too), as a bit select.
                let zero = self.splat(0);
                let mask = self.lower.b.ins().fcmp(FloatCC::NotEqual, args[0], zero);
                let mask = self.as_lanes(mask);
                self.lower.b.ins().bitselect(mask, args[1], args[2])
            }
            Node::Call(f) => {
                let ins = self.lower.b.ins();
                match f {
                    Func::Abs => ins.fabs(args[0]),
                    Func::Sqrt => ins.sqrt(args[0]),
                    Func::Floor => ins.floor(args[0]),
                    Func::Ceil => ins.ceil(args[0]),
                    Func::Trunc => ins.trunc(args[0]),
                    Func::Min => ins.fmin(args[0], args[1]),
                    Func::Max => ins.fmax(args[0], args[1]),
                    _ => self.lane_by_lane(node, args),
                }
            }
            // Single-type programs have neither.
            Node::Cast | Node::Test(_) | Node::Order => self.lane_by_lane(node, args),
        }
    }

    /// A vector of the literal with these bits in every lane.
    fn splat(&mut self, bits: u64) -> Value {
        let scalar = self.lower.scalar(Node::Lit(bits), self.ty, &[], &[], &[]);
        let vt = self.vt;
        self.lower.b.ins().splat(vt, scalar)
    }

    /// A comparison's mask as this vector type (all ones or all zeros per lane).
    fn as_lanes(&mut self, mask: Value) -> Value {
        let vt = self.vt;
        let little = MemFlagsData::new().with_endianness(Endianness::Little);
        self.lower.b.ins().bitcast(vt, little, mask)
    }

    /// 1.0 where the comparison holds, else 0.0.
    fn truth(&mut self, cc: FloatCC, x: Value, y: Value) -> Value {
        let mask = self.lower.b.ins().fcmp(cc, x, y);
        let mask = self.as_lanes(mask);
        let (one, zero) = (self.splat(1f64.to_bits()), self.splat(0));
        self.lower.b.ins().bitselect(mask, one, zero)
    }

    /// `node` applied lane by lane through the scalar lowering.
    fn lane_by_lane(&mut self, node: Node, args: &[Value]) -> Value {
        let lanes = lanes(self.ty);
        let mut result = args.first().copied().unwrap_or_else(|| self.splat(0));
        for lane in 0..lanes as u8 {
            let scalars: Vec<Value> = args
                .iter()
                .map(|&a| self.lower.b.ins().extractlane(a, lane))
                .collect();
            let tys = [self.ty; 3];
            let v = self
                .lower
                .scalar(node, self.ty, &[], &scalars, &tys[..scalars.len()]);
            result = self.lower.b.ins().insertlane(result, v, lane);
        }
        result
    }
}

#[cfg(all(test, feature = "targets"))]
mod tests {
    use super::*;
    use crate::expr::Formula;
    use crate::isa::OptLevel;
    use crate::targets::isa_for;
    use cranelift_codegen::Context;
    use cranelift_codegen::control::ControlPlane;

    /// The loop uses only operations Cranelift can lower on both 64-bit hosts fnjit targets:
    /// x86-64 (SSE2 baseline) and AArch64 (NEON), whatever the host. (`tests/all/differential.rs`
    /// runs them on AArch64 too, under qemu in CI.)
    #[test]
    fn kernels_compile_for_x86_64_and_aarch64() {
        let f64_src = "x > y ? sqrt(x) * sin(y) : -x ** 2 + min(x, y) + floor(x) - abs(y) % 3";
        let int_src = "x * 3 + y / (x - 5) - (x << y) ^ ~y % 7 & x | y >>> 2";
        let programs = [
            Formula::<f64>::parse(f64_src, &["x", "y"]).map(|f| f.program().clone()),
            Formula::<i64>::parse(int_src, &["x", "y"]).map(|f| f.program().clone()),
            Formula::<i32>::parse(int_src, &["x", "y"]).map(|f| f.program().clone()),
        ];
        for triple in ["x86_64-unknown-linux-gnu", "aarch64-unknown-linux-gnu"] {
            let isa = isa_for(triple.parse().expect("triple"), OptLevel::Speed).expect("isa");
            for program in &programs {
                let program = program.as_ref().expect("parse");
                let mut ctx = Context::new();
                let mut fctx = FunctionBuilderContext::new();
                build_kernel(&mut ctx.func, &mut fctx, isa.frontend_config(), program, 2);
                let text = ctx.func.display().to_string();
                assert!(
                    text.contains("x2") || text.contains("x4"),
                    "{triple}: {text}"
                );
                if let Err(e) = ctx.compile(&*isa, &mut ControlPlane::default()) {
                    panic!("{triple}, {:?}: {:?}", program.ty, e.inner);
                }
            }
        }
    }
}
