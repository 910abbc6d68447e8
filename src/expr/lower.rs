//! Lowering a postfix program to Cranelift IR: one block, a value stack, no recursion.
//!
//! Integer division and remainder are guarded so that no input traps. f64 functions that
//! Cranelift has no instruction for (and `%`, `**`) become calls of the very Rust functions the
//! interpreter calls (`math.rs`), through imports that the JIT module resolves.

use super::{BinOp, Callee, Func, Node, Program, Test, Ty, UnOp, float_division};
use cranelift_codegen::ir::condcodes::{FloatCC, IntCC};
use cranelift_codegen::ir::{
    AbiParam, ExtFuncData, ExternalName, FuncRef, Function, InstBuilder, InstructionData,
    MemFlagsData, Opcode, Signature, Type, UserExternalName, UserFuncName, Value, ValueDef, types,
};
use cranelift_codegen::isa::TargetFrontendConfig;
use cranelift_frontend::{FunctionBuilder, FunctionBuilderContext};

/// A Rust function that the built IR calls: its symbol name and address. The IR names import
/// `k` as the user function `u2:k` (`jit/callees.rs`).
pub(crate) type Import = (&'static str, Callee);

/// The Cranelift type of a formula type.
pub(crate) fn clif_type(ty: Ty) -> Type {
    match ty {
        // 0 or 1, as Rust's `bool` is.
        Ty::Bool => types::I8,
        Ty::I32 => types::I32,
        Ty::F32 => types::F32,
        Ty::I64 => types::I64,
        Ty::F64 => types::F64,
    }
}

/// The condition of a float comparison `op`.
pub(crate) fn float_cc(op: BinOp) -> FloatCC {
    match op {
        BinOp::Lt => FloatCC::LessThan,
        BinOp::Le => FloatCC::LessThanOrEqual,
        BinOp::Gt => FloatCC::GreaterThan,
        BinOp::Ge => FloatCC::GreaterThanOrEqual,
        BinOp::Eq => FloatCC::Equal,
        // Unordered or unequal: NaN != NaN is true, as in Rust.
        _ => FloatCC::NotEqual,
    }
}

/// The condition of an integer comparison `op`, signed unless `unsigned`.
pub(crate) fn int_cc(op: BinOp, unsigned: bool) -> IntCC {
    match op {
        BinOp::Lt if unsigned => IntCC::UnsignedLessThan,
        BinOp::Le if unsigned => IntCC::UnsignedLessThanOrEqual,
        BinOp::Gt if unsigned => IntCC::UnsignedGreaterThan,
        BinOp::Ge if unsigned => IntCC::UnsignedGreaterThanOrEqual,
        BinOp::Lt => IntCC::SignedLessThan,
        BinOp::Le => IntCC::SignedLessThanOrEqual,
        BinOp::Gt => IntCC::SignedGreaterThan,
        BinOp::Ge => IntCC::SignedGreaterThanOrEqual,
        BinOp::Eq => IntCC::Equal,
        _ => IntCC::NotEqual,
    }
}

/// Where a compiled formula finds its arguments.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Args {
    /// One parameter per variable: `fn(T, …) -> T`.
    Registers,
    /// One pointer parameter to the variables in order, variable `i` at `i` times
    /// [`Program::arg_slot`] bytes, in its type's width: `fn(*const T) -> T` as a `[T]` lies in
    /// memory for a single-type program, one 8-byte slot per variable otherwise (for
    /// [`crate::Evaluator`] and [`crate::TypedEvaluator`], whose arguments come as a slice).
    Memory,
}

/// Builds `program` into `func` as a function of its variables, taking them as `args` says, in
/// the target's default calling convention; returns the Rust functions it calls.
pub(crate) fn build_formula(
    func: &mut Function,
    fctx: &mut FunctionBuilderContext,
    target: TargetFrontendConfig,
    program: &Program,
    args: Args,
) -> Vec<Import> {
    func.clear();
    func.name = UserFuncName::testcase("formula");
    let mut sig = Signature::new(target.default_call_conv);
    match args {
        Args::Registers => sig.params.extend(
            program
                .var_types
                .iter()
                .map(|&v| AbiParam::new(clif_type(v))),
        ),
        Args::Memory => sig.params.push(AbiParam::new(target.pointer_type())),
    }
    sig.returns.push(AbiParam::new(clif_type(program.ty)));
    func.signature = sig;
    let mut b = FunctionBuilder::new(func, fctx);
    let block = b.create_block();
    b.append_block_params_for_function_params(block);
    b.switch_to_block(block);
    b.seal_block(block);
    let params = match args {
        Args::Registers => b.block_params(block).to_vec(),
        Args::Memory => {
            let base = b.block_params(block)[0];
            // Aligned (a `[T]` or `[u64]` is), and valid for every variable: the caller checked
            // the length.
            let flags = MemFlagsData::trusted();
            let slot = program.arg_slot();
            program
                .var_types
                .iter()
                .enumerate()
                // At most MAX_VARS (65,535) variables of 8 bytes: the offset fits an i32.
                .map(|(i, &v)| {
                    let t = clif_type(v);
                    b.ins().load(t, flags, base, (i * slot) as i32)
                })
                .collect()
        }
    };
    let mut lower = Lower::new(b, target.default_call_conv);
    let (result, ty) = walk(program, |node, k, args, tys| {
        lower.scalar(node, k, &params, args, tys)
    });
    let result = lower.convert(result, ty, program.ty);
    lower.b.ins().return_(&[result]);
    lower.finish(target)
}

/// Runs `program` over a stack of IR values: `emit` gets each node, the type it computes in,
/// and its operands with their types, in order, and returns the node's value. Returns the
/// program's result and its type.
pub(crate) fn walk(
    program: &Program,
    mut emit: impl FnMut(Node, Ty, &[Value], &[Ty]) -> Value,
) -> (Value, Ty) {
    let mut stack: Vec<Value> = Vec::with_capacity(program.max_stack);
    let mut tys: Vec<Ty> = Vec::with_capacity(program.max_stack);
    for (k, &node) in program.nodes.iter().enumerate() {
        let n = node.pops();
        let ty = program.types[k];
        // A parsed program never pops more than it pushed; a literal 0 keeps this total.
        while stack.len() < n {
            let zero = emit(Node::Lit(0), ty, &[], &[]);
            stack.insert(0, zero);
            tys.insert(0, ty);
        }
        let args = stack.split_off(stack.len() - n);
        let arg_tys = tys.split_off(tys.len() - n);
        let v = emit(node, ty, &args, &arg_tys);
        stack.push(v);
        tys.push(program.yields(k));
    }
    match (stack.pop(), tys.pop()) {
        (Some(v), Some(t)) => (v, t),
        _ => (emit(Node::Lit(0), program.ty, &[], &[]), program.ty),
    }
}

/// Lowers the nodes of a program of one type to IR, scalar by scalar.
pub(crate) struct Lower<'a> {
    pub(crate) b: FunctionBuilder<'a>,
    /// The type the node being lowered computes in.
    ty: Ty,
    t: Type,
    imports: Vec<Import>,
    refs: Vec<FuncRef>,
    call_conv: cranelift_codegen::isa::CallConv,
}

impl<'a> Lower<'a> {
    pub(crate) fn new(b: FunctionBuilder<'a>, call_conv: cranelift_codegen::isa::CallConv) -> Self {
        Lower {
            b,
            ty: Ty::F64,
            t: types::F64,
            imports: Vec::new(),
            refs: Vec::new(),
            call_conv,
        }
    }

    /// Finalizes the function; returns the Rust functions it calls.
    pub(crate) fn finish(self, target: TargetFrontendConfig) -> Vec<Import> {
        self.b.finalize(target);
        self.imports
    }

    /// The scalar value of `node`, computing in `ty`, with operands `args` of types `tys`;
    /// `vars` are the variables' values. Each operand is converted to `ty` first (a select's
    /// condition to `bool`), as the interpreter converts it.
    pub(crate) fn scalar(
        &mut self,
        node: Node,
        ty: Ty,
        vars: &[Value],
        args: &[Value],
        tys: &[Ty],
    ) -> Value {
        // At most three operands.
        let mut ops = [Value::from_u32(0); 3];
        for (i, (&v, &from)) in args.iter().zip(tys).enumerate().take(3) {
            let to = if node == Node::Select && i == 0 {
                Ty::Bool
            } else {
                ty
            };
            ops[i] = self.convert(v, from, to);
        }
        let ops = &ops[..args.len().min(3)];
        self.ty = ty;
        self.t = clif_type(ty);
        match node {
            Node::Var(i) => match vars.get(usize::from(i)) {
                Some(&v) => v,
                None => self.zero(),
            },
            Node::Lit(bits) => self.literal(bits),
            Node::Un(op) => self.unary(op, ops[0]),
            Node::Bin(op) if op.is_comparison() => self.compare(op, ops[0], ops[1]),
            Node::Bin(op) => self.binary(op, ops[0], ops[1]),
            Node::Select => self.b.ins().select(ops[0], ops[1], ops[2]),
            Node::Call(f) => self.call(f, ops),
            Node::Cast => ops[0],
            Node::Test(t) => self.test(t, ops[0]),
            Node::Order => self.total_order(ops[0]),
        }
    }

    /// `v`, of type `from`, as a value of type `to`: as [`crate::Value::to`] converts.
    pub(crate) fn convert(&mut self, v: Value, from: Ty, to: Ty) -> Value {
        let (t, ins) = (clif_type(to), self.b.ins());
        match (from, to) {
            _ if from == to => v,
            (_, Ty::Bool) if from.is_float() => {
                let zero = if from == Ty::F32 {
                    ins.f32const(0.0)
                } else {
                    self.b.ins().f64const(0.0)
                };
                // Unordered or unequal: a NaN is true.
                self.b.ins().fcmp(FloatCC::NotEqual, v, zero)
            }
            (_, Ty::Bool) => ins.icmp_imm_s(IntCC::NotEqual, v, 0),
            (Ty::Bool, _) if to.is_float() => {
                let (one, zero) = if to == Ty::F32 {
                    (ins.f32const(1.0), self.b.ins().f32const(0.0))
                } else {
                    (ins.f64const(1.0), self.b.ins().f64const(0.0))
                };
                self.b.ins().select(v, one, zero)
            }
            (Ty::Bool, _) => ins.uextend(t, v),
            (Ty::I32, Ty::I64) => ins.sextend(t, v),
            (Ty::I64, Ty::I32) => ins.ireduce(t, v),
            (Ty::I32 | Ty::I64, _) => ins.fcvt_from_sint(t, v),
            (Ty::F32, Ty::F64) => ins.fpromote(t, v),
            (Ty::F64, Ty::F32) => ins.fdemote(t, v),
            // Float to integer: toward zero, saturating, NaN to 0 (Rust's `as`).
            _ => ins.fcvt_to_sint_sat(t, v),
        }
    }
}

impl Lower<'_> {
    fn is_float(&self) -> bool {
        self.ty.is_float()
    }

    fn zero(&mut self) -> Value {
        self.literal(0)
    }

    #[allow(
        clippy::cast_possible_truncation,
        reason = "an f32's bits are the low 32"
    )]
    fn literal(&mut self, bits: u64) -> Value {
        match self.ty {
            Ty::F64 => self.b.ins().f64const(f64::from_bits(bits)),
            Ty::F32 => self.b.ins().f32const(f32::from_bits(bits as u32)),
            _ => self.b.ins().iconst(self.t, bits as i64),
        }
    }

    fn unary(&mut self, op: UnOp, a: Value) -> Value {
        match (op, self.is_float()) {
            (UnOp::Neg, true) => self.b.ins().fneg(a),
            (UnOp::Neg, false) => self.b.ins().ineg(a),
            (UnOp::Not, _) if self.ty == Ty::Bool => self.b.ins().bxor_imm_s(a, 1),
            (UnOp::Not, _) => self.b.ins().bnot(a),
        }
    }

    /// A comparison, giving a `bool`: signed for integers, `false < true` for bools.
    fn compare(&mut self, op: BinOp, lhs: Value, rhs: Value) -> Value {
        if self.is_float() {
            return self.b.ins().fcmp(float_cc(op), lhs, rhs);
        }
        let cc = int_cc(op, self.ty == Ty::Bool);
        self.b.ins().icmp(cc, lhs, rhs)
    }

    /// `total_order` of a float: its bits as a signed integer, the magnitude bits flipped where
    /// the sign is set, so that negative floats count down (Rust's `total_cmp`).
    fn total_order(&mut self, x: Value) -> Value {
        let (t, shift) = if self.ty == Ty::F32 {
            (types::I32, 31)
        } else {
            (types::I64, 63)
        };
        let b = &mut self.b;
        let bits = b.ins().bitcast(t, MemFlagsData::new(), x);
        let sign = b.ins().sshr_imm_u(bits, shift);
        let flip = b.ins().ushr_imm_u(sign, 1);
        b.ins().bxor(bits, flip)
    }

    /// `isnan`, `isinf`, `isfinite` of a float.
    fn test(&mut self, t: Test, x: Value) -> Value {
        if t == Test::Nan {
            return self.b.ins().fcmp(FloatCC::Unordered, x, x);
        }
        let inf = if self.ty == Ty::F32 {
            self.b.ins().f32const(f32::INFINITY)
        } else {
            self.b.ins().f64const(f64::INFINITY)
        };
        let magnitude = self.b.ins().fabs(x);
        let cc = if t == Test::Inf {
            FloatCC::Equal
        } else {
            // Ordered and below: a NaN is not finite.
            FloatCC::LessThan
        };
        self.b.ins().fcmp(cc, magnitude, inf)
    }

    fn binary(&mut self, op: BinOp, lhs: Value, rhs: Value) -> Value {
        if self.is_float() {
            return self.float_binary(op, lhs, rhs);
        }
        let ins = self.b.ins();
        match op {
            BinOp::Mul => ins.imul(lhs, rhs),
            BinOp::Add => ins.iadd(lhs, rhs),
            BinOp::Sub => ins.isub(lhs, rhs),
            // Cranelift takes shift amounts modulo the type's width: the low 5 or 6 bits.
            BinOp::Shl => ins.ishl(lhs, rhs),
            BinOp::Sar => ins.sshr(lhs, rhs),
            BinOp::Shr => ins.ushr(lhs, rhs),
            BinOp::And => ins.band(lhs, rhs),
            BinOp::Xor => ins.bxor(lhs, rhs),
            BinOp::Or => ins.bor(lhs, rhs),
            BinOp::Div | BinOp::Rem => self.guarded_division(op, lhs, rhs),
            BinOp::FloorDiv | BinOp::Mod => self.floor_division(op, lhs, rhs),
            // The parser refuses the rest in integer formulas.
            _ => lhs,
        }
    }

    /// NumPy's integer `//` and `%`: 0 for a zero divisor; otherwise the quotient rounds down
    /// and the remainder takes the divisor's sign (MIN // -1 wraps to MIN). Divides by 1 where
    /// `sdiv` or `srem` would trap, then corrects a truncated result whose remainder's sign
    /// differs from the divisor's.
    fn floor_division(&mut self, op: BinOp, lhs: Value, rhs: Value) -> Value {
        let min = if self.t == types::I32 {
            i64::from(i32::MIN)
        } else {
            i64::MIN
        };
        let t = self.t;
        let b = &mut self.b;
        let zero = b.ins().icmp_imm_s(IntCC::Equal, rhs, 0);
        let minus_one = b.ins().icmp_imm_s(IntCC::Equal, rhs, -1);
        let is_min = b.ins().icmp_imm_s(IntCC::Equal, lhs, min);
        let overflow = b.ins().band(is_min, minus_one);
        let risky = b.ins().bor(zero, overflow);
        let one = b.ins().iconst(t, 1);
        let divisor = b.ins().select(risky, one, rhs);
        let rem = b.ins().srem(lhs, divisor);
        // The remainder is nonzero and its sign differs from the divisor's.
        let signs = b.ins().bxor(rem, rhs);
        let negative = b.ins().icmp_imm_s(IntCC::SignedLessThan, signs, 0);
        let nonzero = b.ins().icmp_imm_s(IntCC::NotEqual, rem, 0);
        let adjust = b.ins().band(negative, nonzero);
        let result = if op == BinOp::FloorDiv {
            let q = b.ins().sdiv(lhs, divisor);
            let down = b.ins().iadd_imm_s(q, -1);
            b.ins().select(adjust, down, q)
        } else {
            let up = b.ins().iadd(rem, rhs);
            b.ins().select(adjust, up, rem)
        };
        let z = b.ins().iconst(t, 0);
        b.ins().select(zero, z, result)
    }

    /// `sdiv` and `srem` trap on a zero divisor, and `sdiv` on MIN / -1. Divide by 1 in those
    /// cases instead (MIN / 1 == MIN, a % 1 == 0: the defined results), then pick the result
    /// for a zero divisor: -1 for `/`, the dividend for `%`.
    fn guarded_division(&mut self, op: BinOp, lhs: Value, rhs: Value) -> Value {
        let min = if self.t == types::I32 {
            i64::from(i32::MIN)
        } else {
            i64::MIN
        };
        let b = &mut self.b;
        let zero = b.ins().icmp_imm_s(IntCC::Equal, rhs, 0);
        let minus_one = b.ins().icmp_imm_s(IntCC::Equal, rhs, -1);
        let risky = if op == BinOp::Div {
            let is_min = b.ins().icmp_imm_s(IntCC::Equal, lhs, min);
            let overflow = b.ins().band(is_min, minus_one);
            b.ins().bor(zero, overflow)
        } else {
            b.ins().bor(zero, minus_one)
        };
        let one = b.ins().iconst(self.t, 1);
        let divisor = b.ins().select(risky, one, rhs);
        let (result, if_zero) = if op == BinOp::Div {
            (b.ins().sdiv(lhs, divisor), b.ins().iconst(self.t, -1))
        } else {
            (b.ins().srem(lhs, divisor), lhs)
        };
        b.ins().select(zero, if_zero, result)
    }

    fn float_binary(&mut self, op: BinOp, lhs: Value, rhs: Value) -> Value {
        match op {
            BinOp::Mul => self.b.ins().fmul(lhs, rhs),
            BinOp::Div => self.b.ins().fdiv(lhs, rhs),
            BinOp::Add => self.b.ins().fadd(lhs, rhs),
            BinOp::Sub => self.b.ins().fsub(lhs, rhs),
            BinOp::Rem | BinOp::FloorDiv | BinOp::Mod => {
                let callee = float_division(op, self.ty);
                self.call_rust(callee, &[lhs, rhs])
            }
            // `x ** 2` is `x * x`, as the callee computes it (`math::pow`), without the call.
            BinOp::Pow if is_two(self.b.func, rhs) => self.b.ins().fmul(lhs, lhs),
            BinOp::Pow => self.call(Func::Pow, &[lhs, rhs]),
            // The parser refuses bit operators on floats.
            _ => lhs,
        }
    }

    fn call(&mut self, f: Func, args: &[Value]) -> Value {
        let (x, y) = (args[0], args.get(1).copied().unwrap_or(args[0]));
        if !self.is_float() {
            // `abs`, `min`, `max` of integers; the parser makes them f64 for the rest.
            return match f {
                Func::Abs => self.b.ins().iabs(x),
                Func::Min => self.b.ins().smin(x, y),
                Func::Max => self.b.ins().smax(x, y),
                _ => x,
            };
        }
        match f {
            Func::Abs => self.b.ins().fabs(x),
            Func::Sqrt => self.b.ins().sqrt(x),
            Func::Floor => self.b.ins().floor(x),
            Func::Ceil => self.b.ins().ceil(x),
            Func::Trunc => self.b.ins().trunc(x),
            // Cranelift's fmin/fmax: NaN if either is NaN, -0 below +0 (`math::min`, `max`).
            Func::Min => self.b.ins().fmin(x, y),
            Func::Max => self.b.ins().fmax(x, y),
            other => match other.callee(self.ty) {
                Some(callee) => self.call_rust(callee, args),
                None => x,
            },
        }
    }

    /// A call of a Rust `extern "C"` function, imported under its symbol name.
    fn call_rust(&mut self, (name, callee): Import, args: &[Value]) -> Value {
        let k = match self.imports.iter().position(|(n, _)| *n == name) {
            Some(k) => k,
            None => {
                let signature = self.b.import_signature(callee.signature(self.call_conv));
                let k = self.imports.len();
                let user = self
                    .b
                    .func
                    .declare_imported_user_function(UserExternalName::new(2, k as u32));
                let func_ref = self.b.import_function(ExtFuncData {
                    name: ExternalName::user(user),
                    signature,
                    // Not colocated: an absolute call reaches the callee wherever the code is.
                    colocated: false,
                    patchable: false,
                });
                self.imports.push((name, callee));
                self.refs.push(func_ref);
                k
            }
        };
        let call = self.b.ins().call(self.refs[k], args);
        self.b.inst_results(call)[0]
    }
}

/// Whether `v` is the float constant 2, or a vector of it: the exponent `**` squares with.
pub(crate) fn is_two(func: &Function, v: Value) -> bool {
    let ValueDef::Result(inst, _) = func.dfg.value_def(v) else {
        return false;
    };
    match func.dfg.insts[inst] {
        InstructionData::UnaryIeee64 { imm, .. } => f64::from_bits(imm.bits()) == 2.0,
        InstructionData::UnaryIeee32 { imm, .. } => f32::from_bits(imm.bits()) == 2.0,
        InstructionData::Unary {
            opcode: Opcode::Splat,
            arg,
        } => is_two(func, arg),
        _ => false,
    }
}
