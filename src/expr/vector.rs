//! Lowering a program into a loop over columns: `fn(columns: *const *const u8, out: *mut u8,
//! len: u64) -> u64` computing `out[i] = formula(columns[0][i], …)` for `i < len`, column `k`
//! holding values of variable `k`'s type and `out` of the program's.
//!
//! The body runs `rows` rows at a time on 128-bit vectors, `unroll` vectors per iteration, then
//! a scalar tail finishes the rows. `rows` is 2 when any value of the program is 64 bits wide,
//! else 4. A value of each type lives in one vector:
//! - `f64`, `i64`: `f64x2`, `i64x2`; `f32`, `i32`: `f32x4`, `i32x4`, the low `rows` lanes used;
//! - `bool`: a lane mask (all ones for true) `rows` lanes wide: `i64x2`, or `i32x4`. A
//!   comparison gives one, `where` and `&` `|` `^` `~` on bools take them.
//!
//! An operation with a vector instruction uses it (arithmetic, comparisons, `where` as a bit
//! select, `total_order`, the float tests, most casts, `abs sqrt floor ceil trunc min max`);
//! anything else runs lane by lane through the scalar lowering (calls such as `sin`, guarded
//! integer division, shifts whose amounts differ per lane). Vector and scalar instructions are
//! the same IEEE-754 operations, and nothing is fused or reassociated, so every row gets the
//! interpreter's bits.

use super::lower::{Import, Lower, clif_type, float_cc, int_cc, is_two, walk};
use super::{BinOp, Func, Node, Program, Test, Ty, UnOp};
use cranelift_codegen::ir::condcodes::{FloatCC, IntCC};
use cranelift_codegen::ir::immediates::V128Imm;
use cranelift_codegen::ir::{
    AbiParam, Endianness, Function, InstBuilder, MemFlagsData, Signature, Type, UserFuncName,
    Value, types,
};
use cranelift_codegen::isa::TargetFrontendConfig;
use cranelift_frontend::{FunctionBuilder, FunctionBuilderContext};

/// How many rows one vector of `program`'s loop holds: 2 when any of its values is 64 bits
/// wide, else 4.
pub(crate) fn kernel_lanes(program: &Program) -> u32 {
    let wide = (0..program.nodes.len())
        .map(|k| program.yields(k))
        .chain(program.types.iter().copied())
        .chain(program.var_types.iter().copied())
        .chain([program.ty])
        .any(|t| matches!(t, Ty::I64 | Ty::F64));
    if wide { 2 } else { 4 }
}

/// Builds the loop for `program` into `func`, `unroll` vectors per iteration, or none at all
/// (`unroll == 0`: the scalar loop only). Returns the Rust functions it calls.
pub(crate) fn build_kernel(
    func: &mut Function,
    fctx: &mut FunctionBuilderContext,
    target: TargetFrontendConfig,
    program: &Program,
    unroll: u32,
) -> Vec<Import> {
    let rows = kernel_lanes(program);
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
    let step = i64::from(rows * unroll);
    let vec_end = if unroll == 0 {
        zero
    } else {
        // `step` is a power of two: the rows that fill whole iterations.
        b.ins().band_imm_s(len, -step)
    };
    b.ins().jump(vhead, &[zero.into()]);

    let mut lower = Lower::new(b, target.default_call_conv);
    // The address of row `i` of a column of `ty` that starts at `base`.
    let at = |lower: &mut Lower<'_>, base: Value, i: Value, ty: Ty| {
        let offset = lower
            .b
            .ins()
            .imul_imm_s(i, i64::from(clif_type(ty).bytes()));
        lower.b.ins().iadd(base, offset)
    };

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
    for u in 0..unroll {
        let row = lower.b.ins().iadd_imm_s(i, i64::from(u * rows));
        let vars: Vec<Value> = cols
            .iter()
            .zip(&program.var_types)
            .map(|(&c, &ty)| {
                let at = at(&mut lower, c, row, ty);
                Vector::new(&mut lower, rows).load(ty, mem, at)
            })
            .collect();
        let mut v = Vector::new(&mut lower, rows);
        let (result, ty) = walk(program, |node, k, args, tys| {
            v.node(node, k, &vars, args, tys)
        });
        let result = v.convert(result, ty, program.ty);
        let at = at(&mut lower, out, row, program.ty);
        Vector::new(&mut lower, rows).store(program.ty, mem, result, at);
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
        .map(|(&c, &ty)| {
            let at = at(&mut lower, c, i, ty);
            lower.b.ins().load(clif_type(ty), mem, at, 0)
        })
        .collect();
    let (result, ty) = walk(program, |node, k, args, tys| {
        lower.scalar(node, k, &vars, args, tys)
    });
    let result = lower.convert(result, ty, program.ty);
    let at = at(&mut lower, out, i, program.ty);
    lower.b.ins().store(mem, result, at, 0);
    let next = lower.b.ins().iadd_imm_s(i, 1);
    lower.b.ins().jump(thead, &[next.into()]);

    lower.b.switch_to_block(exit);
    lower.b.ins().return_(&[len]);
    lower.b.seal_all_blocks();
    lower.finish(target)
}

/// The vector lowering of one program's nodes, `rows` rows per vector.
struct Vector<'l, 'a> {
    lower: &'l mut Lower<'a>,
    rows: u32,
}

/// Bit casts between vector types: lanes are numbered from the lowest address.
fn little() -> MemFlagsData {
    MemFlagsData::new().with_endianness(Endianness::Little)
}

impl<'l, 'a> Vector<'l, 'a> {
    fn new(lower: &'l mut Lower<'a>, rows: u32) -> Self {
        Vector { lower, rows }
    }

    /// The vector type a value of `ty` is held in.
    fn vt(&self, ty: Ty) -> Type {
        match ty {
            Ty::Bool => self.mask_type(128 / self.rows),
            _ => {
                let t = clif_type(ty);
                t.by(128 / t.bits()).unwrap_or(t)
            }
        }
    }

    /// The integer vector type of masks whose lanes are `bits` wide.
    fn mask_type(&self, bits: u32) -> Type {
        if bits == 64 {
            types::I64X2
        } else {
            types::I32X4
        }
    }

    /// The width of a lane of `ty`'s vector.
    fn lane_bits(&self, ty: Ty) -> u32 {
        self.vt(ty).lane_bits()
    }

    fn bitcast(&mut self, to: Type, v: Value) -> Value {
        if self.lower.b.func.dfg.value_type(v) == to {
            return v;
        }
        self.lower.b.ins().bitcast(to, little(), v)
    }

    /// Rows `[row, row + rows)` of a column of `ty`, at `at`.
    fn load(&mut self, ty: Ty, mem: MemFlagsData, at: Value) -> Value {
        let (vt, rows) = (self.vt(ty), self.rows);
        let ins = self.lower.b.ins();
        match ty {
            // Bytes 0 or 1 (Rust's `bool`), widened to lanes and compared with zero.
            Ty::Bool => {
                let (scalar, small) = if rows == 2 {
                    (types::I16, types::I16X8)
                } else {
                    (types::I32, types::I32X4)
                };
                let bytes = ins.load(scalar, mem, at, 0);
                let v = self.lower.b.ins().scalar_to_vector(small, bytes);
                let mut v = self.bitcast(types::I8X16, v);
                while self.lower.b.func.dfg.value_type(v) != vt {
                    v = self.lower.b.ins().swiden_low(v);
                }
                let zero = self.splat(Ty::Bool, 0);
                self.lower.b.ins().icmp(IntCC::NotEqual, v, zero)
            }
            _ if clif_type(ty).bits() * rows == 128 => ins.load(vt, mem, at, 0),
            // Two 32-bit values: one 64-bit load into the low lanes.
            _ => {
                let pair = ins.load(types::I64, mem, at, 0);
                let v = self.lower.b.ins().scalar_to_vector(types::I64X2, pair);
                self.bitcast(vt, v)
            }
        }
    }

    /// Stores the `rows` values of `v`, of type `ty`, at `at`.
    fn store(&mut self, ty: Ty, mem: MemFlagsData, v: Value, at: Value) {
        let rows = self.rows;
        if ty == Ty::Bool {
            // The low byte of each lane, gathered into the low bytes and made 0 or 1.
            let bytes = self.bitcast(types::I8X16, v);
            let stride = (128 / rows) as u8 / 8;
            let mut pick = [0u8; 16];
            for (k, p) in pick.iter_mut().enumerate().take(rows as usize) {
                *p = k as u8 * stride;
            }
            let pick = self.lower.b.func.dfg.immediates.push(V128Imm(pick).into());
            let gathered = self.lower.b.ins().shuffle(bytes, bytes, pick);
            let (lanes, scalar, ones) = if rows == 2 {
                (types::I16X8, types::I16, 0x0101)
            } else {
                (types::I32X4, types::I32, 0x0101_0101)
            };
            let gathered = self.bitcast(lanes, gathered);
            let low = self.lower.b.ins().extractlane(gathered, 0);
            debug_assert_eq!(self.lower.b.func.dfg.value_type(low), scalar);
            let low = self.lower.b.ins().band_imm_s(low, ones);
            self.lower.b.ins().store(mem, low, at, 0);
        } else if clif_type(ty).bits() * rows == 128 {
            self.lower.b.ins().store(mem, v, at, 0);
        } else {
            let v = self.bitcast(types::I64X2, v);
            let pair = self.lower.b.ins().extractlane(v, 0);
            self.lower.b.ins().store(mem, pair, at, 0);
        }
    }

    /// The vector of node `node`, computing in `ty`, of operands `args` of types `tys`: each
    /// operand is converted to `ty` first (a select's condition to `bool`), as
    /// [`Lower::scalar`] does.
    fn node(&mut self, node: Node, ty: Ty, vars: &[Value], args: &[Value], tys: &[Ty]) -> Value {
        let ops: Vec<Value> = args
            .iter()
            .zip(tys)
            .enumerate()
            .map(|(i, (&v, &from))| {
                let to = if node == Node::Select && i == 0 {
                    Ty::Bool
                } else {
                    ty
                };
                self.convert(v, from, to)
            })
            .collect();
        let float = ty.is_float();
        let int = ty.is_int();
        match node {
            Node::Var(i) => match vars.get(usize::from(i)) {
                Some(&v) => v,
                None => self.splat(ty, 0),
            },
            Node::Lit(bits) => self.splat(ty, bits),
            Node::Un(UnOp::Neg) if float => self.lower.b.ins().fneg(ops[0]),
            Node::Un(UnOp::Neg) if int => self.lower.b.ins().ineg(ops[0]),
            // On masks as on integers: every bit flips.
            Node::Un(UnOp::Not) => self.lower.b.ins().bnot(ops[0]),
            Node::Bin(op) if op.is_comparison() => self.compare(op, ty, ops[0], ops[1]),
            Node::Bin(op) => {
                let (x, y) = (ops[0], ops[1]);
                let squares = op == BinOp::Pow && is_two(self.lower.b.func, y);
                let ins = self.lower.b.ins();
                match op {
                    BinOp::Add if float => ins.fadd(x, y),
                    BinOp::Sub if float => ins.fsub(x, y),
                    BinOp::Mul if float => ins.fmul(x, y),
                    BinOp::Div if float => ins.fdiv(x, y),
                    // `x ** 2` is `x * x`, as the callee computes it (`math::pow`).
                    BinOp::Pow if squares => ins.fmul(x, x),
                    BinOp::Add if int => ins.iadd(x, y),
                    BinOp::Sub if int => ins.isub(x, y),
                    BinOp::Mul if int => ins.imul(x, y),
                    // Logical on masks, bitwise on integers.
                    BinOp::And if !float => ins.band(x, y),
                    BinOp::Or if !float => ins.bor(x, y),
                    BinOp::Xor if !float => ins.bxor(x, y),
                    // `%`, `//`, `**` (calls), guarded division, per-lane shift amounts.
                    _ => self.lane_by_lane(node, ty, &ops),
                }
            }
            Node::Select => {
                let vt = self.vt(ty);
                let mask = self.resize_mask(ops[0], self.lane_bits(ty));
                let mask = self.bitcast(vt, mask);
                self.lower.b.ins().bitselect(mask, ops[1], ops[2])
            }
            Node::Call(f) if float => {
                let ins = self.lower.b.ins();
                match f {
                    Func::Abs => ins.fabs(ops[0]),
                    Func::Sqrt => ins.sqrt(ops[0]),
                    Func::Floor => ins.floor(ops[0]),
                    Func::Ceil => ins.ceil(ops[0]),
                    Func::Trunc => ins.trunc(ops[0]),
                    // NaN if either is NaN, -0 below +0, as the scalar `fmin`, `fmax`.
                    Func::Min => ins.fmin(ops[0], ops[1]),
                    Func::Max => ins.fmax(ops[0], ops[1]),
                    _ => self.lane_by_lane(node, ty, &ops),
                }
            }
            Node::Call(f) if int => {
                let ins = self.lower.b.ins();
                match f {
                    Func::Abs => ins.iabs(ops[0]),
                    Func::Min => ins.smin(ops[0], ops[1]),
                    Func::Max => ins.smax(ops[0], ops[1]),
                    _ => self.lane_by_lane(node, ty, &ops),
                }
            }
            // The cast itself was the operand's conversion.
            Node::Cast => ops[0],
            Node::Test(t) if float => self.test(t, ty, ops[0]),
            Node::Order if float => self.total_order(ty, ops[0]),
            _ => self.lane_by_lane(node, ty, &ops),
        }
    }

    /// A vector of `ty` with these bits in every lane (`bool`: all ones for nonzero bits).
    fn splat(&mut self, ty: Ty, bits: u64) -> Value {
        let vt = self.vt(ty);
        if ty == Ty::Bool {
            let ones = if vt.lane_bits() == 64 {
                u64::MAX
            } else {
                u64::from(u32::MAX)
            };
            let key = if vt.lane_bits() == 64 {
                Ty::I64
            } else {
                Ty::I32
            };
            let scalar =
                self.lower
                    .scalar(Node::Lit(ones * u64::from(bits != 0)), key, &[], &[], &[]);
            return self.lower.b.ins().splat(vt, scalar);
        }
        let scalar = self.lower.scalar(Node::Lit(bits), ty, &[], &[], &[]);
        self.lower.b.ins().splat(vt, scalar)
    }

    /// `mask`, a mask vector, with lanes `bits` wide: sign-extended from 32 to 64 bits, or the
    /// low half of each 64-bit lane.
    fn resize_mask(&mut self, mask: Value, bits: u32) -> Value {
        let from = self.lower.b.func.dfg.value_type(mask).lane_bits();
        match (from, bits) {
            (32, 64) => {
                let m = self.bitcast(types::I32X4, mask);
                self.lower.b.ins().swiden_low(m)
            }
            (64, 32) => self.low_halves(mask),
            _ => mask,
        }
    }

    /// The low 32 bits of each 64-bit lane of `v`, in the low lanes of an `i32x4`.
    fn low_halves(&mut self, v: Value) -> Value {
        let bytes = self.bitcast(types::I8X16, v);
        let mut pick = [0u8; 16];
        for (k, p) in pick.iter_mut().enumerate() {
            *p = ((k / 4) % 2 * 8 + k % 4) as u8;
        }
        let pick = self.lower.b.func.dfg.immediates.push(V128Imm(pick).into());
        let halves = self.lower.b.ins().shuffle(bytes, bytes, pick);
        self.bitcast(types::I32X4, halves)
    }

    /// `v`, of type `from`, as a value of type `to`: as [`Lower::convert`] converts.
    fn convert(&mut self, v: Value, from: Ty, to: Ty) -> Value {
        let vt = self.vt(to);
        let bool_bits = self.lane_bits(Ty::Bool);
        match (from, to) {
            _ if from == to => v,
            (_, Ty::Bool) => {
                let zero = self.splat(from, 0);
                let mask = if from.is_float() {
                    // Unordered or unequal: a NaN is true.
                    self.lower.b.ins().fcmp(FloatCC::NotEqual, v, zero)
                } else {
                    self.lower.b.ins().icmp(IntCC::NotEqual, v, zero)
                };
                self.resize_mask(mask, bool_bits)
            }
            (Ty::Bool, _) => {
                // The mask's lanes and 1's bits: 0 (0.0 too) or 1.
                let mask = self.resize_mask(v, self.lane_bits(to));
                let mask = self.bitcast(vt, mask);
                let one = if to.is_float() { float_one(to) } else { 1 };
                let one = self.splat(to, one);
                self.lower.b.ins().band(mask, one)
            }
            (Ty::I32, Ty::I64) => self.lower.b.ins().swiden_low(v),
            (Ty::I64, Ty::I32) => self.low_halves(v),
            (Ty::I32, Ty::F32) => self.lower.b.ins().fcvt_from_sint(vt, v),
            (Ty::I32, Ty::F64) => {
                let wide = self.lower.b.ins().swiden_low(v);
                self.lower.b.ins().fcvt_from_sint(vt, wide)
            }
            (Ty::I64, Ty::F64) => self.lower.b.ins().fcvt_from_sint(vt, v),
            (Ty::F32, Ty::F64) => self.lower.b.ins().fvpromote_low(v),
            (Ty::F64, Ty::F32) => self.lower.b.ins().fvdemote(v),
            // Toward zero, saturating, NaN to 0 (Rust's `as`).
            (Ty::F32, Ty::I32) => self.lower.b.ins().fcvt_to_sint_sat(vt, v),
            _ => self.lanes_of(vt, to, &[v], &[from], |lower, s| {
                lower.convert(s[0], from, to)
            }),
        }
    }

    /// A comparison of two vectors of `ty`, giving a `bool` mask: signed for integers, `false
    /// < true` for bools.
    fn compare(&mut self, op: BinOp, ty: Ty, x: Value, y: Value) -> Value {
        let bool_bits = self.lane_bits(Ty::Bool);
        let ins = self.lower.b.ins();
        let mask = if ty.is_float() {
            ins.fcmp(float_cc(op), x, y)
        } else if ty == Ty::Bool {
            // Masks: x < y is !x & y, x <= y is !x | y.
            let (not_x, not_y) = (ins.bnot(x), self.lower.b.ins().bnot(y));
            let ins = self.lower.b.ins();
            match op {
                BinOp::Lt => ins.band(not_x, y),
                BinOp::Le => ins.bor(not_x, y),
                BinOp::Gt => ins.band(x, not_y),
                BinOp::Ge => ins.bor(x, not_y),
                BinOp::Eq => ins.bxor(not_x, y),
                _ => ins.bxor(x, y),
            }
        } else {
            ins.icmp(int_cc(op, false), x, y)
        };
        self.resize_mask(mask, bool_bits)
    }

    /// `isnan`, `isinf`, `isfinite` of a float vector, as a `bool` mask.
    fn test(&mut self, t: Test, ty: Ty, x: Value) -> Value {
        let bool_bits = self.lane_bits(Ty::Bool);
        let mask = if t == Test::Nan {
            self.lower.b.ins().fcmp(FloatCC::Unordered, x, x)
        } else {
            let inf = if ty == Ty::F32 {
                u64::from(f32::INFINITY.to_bits())
            } else {
                f64::INFINITY.to_bits()
            };
            let inf = self.splat(ty, inf);
            let magnitude = self.lower.b.ins().fabs(x);
            // Ordered and below: a NaN is not finite.
            let cc = if t == Test::Inf {
                FloatCC::Equal
            } else {
                FloatCC::LessThan
            };
            self.lower.b.ins().fcmp(cc, magnitude, inf)
        };
        self.resize_mask(mask, bool_bits)
    }

    /// `total_order` of a float vector (see [`Lower`]'s): the bits, with the magnitude bits
    /// flipped where the sign is set.
    fn total_order(&mut self, ty: Ty, x: Value) -> Value {
        let key = self.vt(super::order_key(ty));
        let shift = i64::from(key.lane_bits()) - 1;
        let bits = self.bitcast(key, x);
        let ins = self.lower.b.ins();
        let sign = ins.sshr_imm_s(bits, shift);
        let flip = self.lower.b.ins().ushr_imm_s(sign, 1);
        self.lower.b.ins().bxor(bits, flip)
    }

    /// `node`, computing in `ty`, applied lane by lane through the scalar lowering to `ops`,
    /// already of the types it takes.
    fn lane_by_lane(&mut self, node: Node, ty: Ty, ops: &[Value]) -> Value {
        let mut tys = [ty; 3];
        if node == Node::Select {
            tys[0] = Ty::Bool;
        }
        let tys = &tys[..ops.len().min(3)];
        let yields = match node {
            Node::Bin(op) if op.is_comparison() => Ty::Bool,
            Node::Test(_) => Ty::Bool,
            Node::Order => super::order_key(ty),
            _ => ty,
        };
        let vt = self.vt(yields);
        self.lanes_of(vt, yields, ops, tys, |lower, s| {
            lower.scalar(node, ty, &[], s, tys)
        })
    }

    /// The vector of `to` (held in `vt`) whose lane `l` is `scalar` of lane `l` of each of
    /// `ops` (of types `tys`), for the `rows` lanes in use.
    fn lanes_of(
        &mut self,
        vt: Type,
        to: Ty,
        ops: &[Value],
        tys: &[Ty],
        mut scalar: impl FnMut(&mut Lower<'a>, &[Value]) -> Value,
    ) -> Value {
        let mut result = None;
        for lane in 0..self.rows as u8 {
            let scalars: Vec<Value> = ops
                .iter()
                .zip(tys)
                .map(|(&v, &t)| {
                    let s = self.lower.b.ins().extractlane(v, lane);
                    if t == Ty::Bool {
                        self.lower.b.ins().icmp_imm_s(IntCC::NotEqual, s, 0)
                    } else {
                        s
                    }
                })
                .collect();
            let mut s = scalar(self.lower, &scalars);
            if to == Ty::Bool {
                s = self.lower.b.ins().bmask(vt.lane_type(), s);
            }
            result = Some(match result {
                None => self.lower.b.ins().splat(vt, s),
                Some(r) => self.lower.b.ins().insertlane(r, s, lane),
            });
        }
        result.unwrap_or_else(|| self.splat(to, 0))
    }
}

/// The bits of 1.0 in the float type `ty`.
fn float_one(ty: Ty) -> u64 {
    if ty == Ty::F32 {
        u64::from(1f32.to_bits())
    } else {
        1f64.to_bits()
    }
}

#[cfg(all(test, feature = "targets"))]
mod tests {
    use super::*;
    use crate::expr::{Formula, TypedFormula};
    use crate::isa::OptLevel;
    use crate::targets::isa_for;
    use cranelift_codegen::Context;
    use cranelift_codegen::control::ControlPlane;

    /// Every vector lowering of a mixed program: 2 rows a vector (`d` and `l` are 64-bit).
    const MIXED_64: &str = "where((d > 0.5) & ~b | isnan(d), d * f64(i), f64(f) + f64(l)) \
        + f64(total_order(d) > l) + f64(i64(i) * l - abs(l)) + f64(f32(d)) + f64(b < (i == 3)) \
        + f64(min(i, 7)) + f64(max(f, f32(l))) + f64(i32(f)) + f64(i32(l)) + f64(isinf(f))";
    /// 32-bit values and bools only: 4 rows a vector.
    const MIXED_32: &str = "where((f > f32(i)) ^ b, f * f32(i), sqrt(f)) + f32(total_order(f) > i) \
        + f32((~i & 3) == i) + f32(b >= isfinite(f)) + f32(i32(f) - abs(i))";

    /// `src` over `b i f` (and `l d` where `wide`), of their names' types.
    fn typed(src: &str, wide: bool) -> Result<crate::expr::Program, crate::Error> {
        let vars = [
            ("b", Ty::Bool),
            ("i", Ty::I32),
            ("f", Ty::F32),
            ("l", Ty::I64),
            ("d", Ty::F64),
        ];
        let used = if wide { 5 } else { 3 };
        TypedFormula::parse(src, &vars[..used]).map(|f| f.program().clone())
    }

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
            typed(MIXED_64, true),
            typed(MIXED_32, false),
        ];
        let rows: Vec<u32> = programs
            .iter()
            .map(|p| p.as_ref().map_or(0, kernel_lanes))
            .collect();
        assert_eq!(rows, [2, 2, 4, 2, 4]);
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
