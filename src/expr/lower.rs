//! Lowering a postfix program to Cranelift IR: one block, a value stack, no recursion.
//!
//! Integer division and remainder are guarded so that no input traps. f64 functions that
//! Cranelift has no instruction for (and `%`, `**`) become calls of the very Rust functions the
//! interpreter calls (`math.rs`), through imports that the JIT module resolves.

use super::{BinOp, Callee, Func, Node, Program, REM_CALLEE, Ty, UnOp};
use cranelift_codegen::ir::condcodes::{FloatCC, IntCC};
use cranelift_codegen::ir::{
    AbiParam, ExtFuncData, ExternalName, FuncRef, Function, InstBuilder, MemFlagsData, Signature,
    Type, UserExternalName, UserFuncName, Value, types,
};
use cranelift_codegen::isa::TargetFrontendConfig;
use cranelift_frontend::{FunctionBuilder, FunctionBuilderContext};

/// A Rust function that the built IR calls: its symbol name and address. The IR names import
/// `k` as the user function `u2:k` (`jit/callees.rs`).
pub(crate) type Import = (&'static str, Callee);

/// The Cranelift type of a formula type.
pub(crate) fn clif_type(ty: Ty) -> Type {
    match ty {
        Ty::I32 => types::I32,
        Ty::I64 => types::I64,
        Ty::F64 => types::F64,
    }
}

/// Builds `program` into `func` as `fn(T, …) -> T` (one parameter per variable) in the target's
/// default calling convention, and returns the Rust functions it calls.
/// Where a compiled formula finds its arguments.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Args {
    /// One parameter per variable: `fn(T, …) -> T`.
    Registers,
    /// One pointer parameter to the variables in order, as a `[T]` lies in memory:
    /// `fn(*const T) -> T` (for [`crate::Evaluator`], whose arguments come as a slice).
    Memory,
}

/// Builds `program` as a function of its variables, taking them as `args` says.
pub(crate) fn build_formula(
    func: &mut Function,
    fctx: &mut FunctionBuilderContext,
    target: TargetFrontendConfig,
    program: &Program,
    args: Args,
) -> Vec<Import> {
    let t = clif_type(program.ty);
    func.clear();
    func.name = UserFuncName::testcase("formula");
    let mut sig = Signature::new(target.default_call_conv);
    match args {
        Args::Registers => sig
            .params
            .extend((0..program.vars).map(|_| AbiParam::new(t))),
        Args::Memory => sig.params.push(AbiParam::new(target.pointer_type())),
    }
    sig.returns.push(AbiParam::new(t));
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
            // Aligned (a `[T]` is), and valid for every variable: the caller checked the length.
            let flags = MemFlagsData::trusted();
            (0..program.vars)
                // At most MAX_VARS (65,535) variables of 8 bytes: the offset fits an i32.
                .map(|i| {
                    b.ins()
                        .load(t, flags, base, (i * t.bytes() as usize) as i32)
                })
                .collect()
        }
    };
    let mut lower = Lower::new(b, program.ty, target.default_call_conv);
    let result = walk(program, |node, args| lower.scalar(node, &params, args));
    lower.b.ins().return_(&[result]);
    lower.finish(target)
}

/// Runs `program` over a stack of IR values: `emit` gets each node and its operands, in order,
/// and returns the node's value. Returns the program's result.
pub(crate) fn walk(program: &Program, mut emit: impl FnMut(Node, &[Value]) -> Value) -> Value {
    let mut stack: Vec<Value> = Vec::with_capacity(program.max_stack);
    for &node in &program.nodes {
        let n = node.pops();
        // A parsed program never pops more than it pushed; a literal 0 keeps this total.
        while stack.len() < n {
            let zero = emit(Node::Lit(0), &[]);
            stack.insert(0, zero);
        }
        let args = stack.split_off(stack.len() - n);
        let v = emit(node, &args);
        stack.push(v);
    }
    match stack.pop() {
        Some(v) => v,
        None => emit(Node::Lit(0), &[]),
    }
}

/// Lowers the nodes of a program of one type to IR, scalar by scalar.
pub(crate) struct Lower<'a> {
    pub(crate) b: FunctionBuilder<'a>,
    t: Type,
    imports: Vec<Import>,
    refs: Vec<FuncRef>,
    call_conv: cranelift_codegen::isa::CallConv,
}

impl<'a> Lower<'a> {
    pub(crate) fn new(
        b: FunctionBuilder<'a>,
        ty: Ty,
        call_conv: cranelift_codegen::isa::CallConv,
    ) -> Self {
        Lower {
            b,
            t: clif_type(ty),
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

    /// The scalar value of `node` with operands `args`; `vars` are the variables' values.
    pub(crate) fn scalar(&mut self, node: Node, vars: &[Value], args: &[Value]) -> Value {
        match node {
            Node::Var(i) => match vars.get(usize::from(i)) {
                Some(&v) => v,
                None => self.zero(),
            },
            Node::Lit(bits) => self.literal(bits),
            Node::Un(op) => self.unary(op, args[0]),
            Node::Bin(op) => self.binary(op, args[0], args[1]),
            Node::Select => self.select(args[0], args[1], args[2]),
            Node::Call(f) => self.call(f, args),
        }
    }
}

impl Lower<'_> {
    fn is_float(&self) -> bool {
        self.t == types::F64
    }

    fn zero(&mut self) -> Value {
        self.literal(0)
    }

    fn literal(&mut self, bits: u64) -> Value {
        if self.is_float() {
            self.b.ins().f64const(f64::from_bits(bits))
        } else {
            self.b.ins().iconst(self.t, bits as i64)
        }
    }

    fn unary(&mut self, op: UnOp, a: Value) -> Value {
        match (op, self.is_float()) {
            (UnOp::Neg, true) => self.b.ins().fneg(a),
            (UnOp::Neg, false) => self.b.ins().ineg(a),
            (UnOp::Not, _) => self.b.ins().bnot(a),
        }
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
            // The parser refuses the rest in integer formulas.
            _ => lhs,
        }
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
        let cc = match op {
            BinOp::Mul => return self.b.ins().fmul(lhs, rhs),
            BinOp::Div => return self.b.ins().fdiv(lhs, rhs),
            BinOp::Add => return self.b.ins().fadd(lhs, rhs),
            BinOp::Sub => return self.b.ins().fsub(lhs, rhs),
            BinOp::Rem => return self.call_rust(REM_CALLEE, &[lhs, rhs]),
            BinOp::Pow => return self.call(Func::Pow, &[lhs, rhs]),
            BinOp::Lt => FloatCC::LessThan,
            BinOp::Le => FloatCC::LessThanOrEqual,
            BinOp::Gt => FloatCC::GreaterThan,
            BinOp::Ge => FloatCC::GreaterThanOrEqual,
            BinOp::Eq => FloatCC::Equal,
            // Unordered or unequal: NaN != NaN is true, as in Rust.
            BinOp::Ne => FloatCC::NotEqual,
            // The parser refuses bit operators in f64 formulas.
            _ => return lhs,
        };
        let truth = self.b.ins().fcmp(cc, lhs, rhs);
        let (one, zero) = (self.b.ins().f64const(1.0), self.b.ins().f64const(0.0));
        self.b.ins().select(truth, one, zero)
    }

    /// `cond ? yes : no`: `yes` when `cond != 0` (so a NaN condition picks `yes`).
    fn select(&mut self, cond: Value, yes: Value, no: Value) -> Value {
        let truth = if self.is_float() {
            let zero = self.b.ins().f64const(0.0);
            self.b.ins().fcmp(FloatCC::NotEqual, cond, zero)
        } else {
            self.b.ins().icmp_imm_s(IntCC::NotEqual, cond, 0)
        };
        self.b.ins().select(truth, yes, no)
    }

    fn call(&mut self, f: Func, args: &[Value]) -> Value {
        let (x, y) = (args[0], args.get(1).copied().unwrap_or(args[0]));
        match f {
            Func::Abs => self.b.ins().fabs(x),
            Func::Sqrt => self.b.ins().sqrt(x),
            Func::Floor => self.b.ins().floor(x),
            Func::Ceil => self.b.ins().ceil(x),
            Func::Trunc => self.b.ins().trunc(x),
            // Cranelift's fmin/fmax: NaN if either is NaN, -0 below +0 (`math::min`, `max`).
            Func::Min => self.b.ins().fmin(x, y),
            Func::Max => self.b.ins().fmax(x, y),
            other => match other.callee() {
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
