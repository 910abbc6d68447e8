//! The interpreter: a postfix program run over a value stack. Its operations, per type, are the
//! semantics that the JIT's IR must match (the grammar table of docs/language.md).
#![allow(
    private_interfaces,
    reason = "Semantics is sealed: outside the crate no one can name it, nor its argument types"
)]

use super::typed::Value;
use super::{BinOp, Func, Node, Program, Test, Ty, UnOp, math};

/// How a formula type computes. Implemented for `bool`, `i32`, `i64`, `f32` and `f64`.
pub trait Semantics: Copy + Default {
    /// The type's tag.
    #[doc(hidden)]
    const TY: Ty;
    /// A literal from its bits (an integer sign-extended to 64 bits).
    #[doc(hidden)]
    fn literal(bits: u64) -> Self;
    #[doc(hidden)]
    fn unary(op: UnOp, a: Self) -> Self;
    #[doc(hidden)]
    fn binary(op: BinOp, a: Self, b: Self) -> Self;
    /// `c ? a : b` picks `a`: `c != 0`.
    #[doc(hidden)]
    fn is_true(self) -> bool;
    /// A function: the float functions on floats; `abs`, `min` and `max` on integers too.
    #[doc(hidden)]
    fn call(f: Func, args: &[Self]) -> Self;
    /// A comparison.
    #[doc(hidden)]
    fn compare(op: BinOp, a: Self, b: Self) -> bool;
    /// `isnan` and the other tests (of floats only: the parser makes integers f64 first).
    #[doc(hidden)]
    fn test(t: Test, a: Self) -> bool;
    /// The value of a typed formula.
    #[doc(hidden)]
    fn value(self) -> Value;
    /// Out of a value of this type (any other gives the default).
    #[doc(hidden)]
    fn from_value(v: Value) -> Self;
}

/// The comparison `op` by Rust's operators: IEEE 754's for floats, `false < true` for bools.
fn compare<T: PartialOrd>(op: BinOp, a: T, b: T) -> bool {
    match op {
        BinOp::Lt => a < b,
        BinOp::Le => a <= b,
        BinOp::Gt => a > b,
        BinOp::Ge => a >= b,
        BinOp::Eq => a == b,
        _ => a != b,
    }
}

macro_rules! integer {
    ($t:ty, $unsigned:ty, $ty:expr, $variant:ident) => {
        impl Semantics for $t {
            const TY: Ty = $ty;

            fn literal(bits: u64) -> Self {
                bits as $t
            }

            fn unary(op: UnOp, a: Self) -> Self {
                match op {
                    UnOp::Neg => a.wrapping_neg(),
                    UnOp::Not => !a,
                }
            }

            fn binary(op: BinOp, a: Self, b: Self) -> Self {
                match op {
                    BinOp::Mul => a.wrapping_mul(b),
                    BinOp::Div if b == 0 => -1,
                    BinOp::Div => a.wrapping_div(b), // MIN / -1 wraps to MIN
                    BinOp::Rem if b == 0 => a,
                    BinOp::Rem => a.wrapping_rem(b), // MIN % -1 is 0
                    // NumPy's: a zero divisor gives 0; otherwise the quotient rounds down, and
                    // the remainder has the divisor's sign.
                    BinOp::FloorDiv | BinOp::Mod if b == 0 => 0,
                    BinOp::FloorDiv => {
                        let (q, r) = (a.wrapping_div(b), a.wrapping_rem(b));
                        if r != 0 && (r < 0) != (b < 0) {
                            q.wrapping_sub(1)
                        } else {
                            q
                        }
                    }
                    BinOp::Mod => {
                        let r = a.wrapping_rem(b);
                        if r != 0 && (r < 0) != (b < 0) {
                            r.wrapping_add(b)
                        } else {
                            r
                        }
                    }
                    BinOp::Add => a.wrapping_add(b),
                    BinOp::Sub => a.wrapping_sub(b),
                    BinOp::Shl => a.wrapping_shl(b as u32),
                    BinOp::Sar => a.wrapping_shr(b as u32),
                    BinOp::Shr => (a as $unsigned).wrapping_shr(b as u32) as $t,
                    BinOp::And => a & b,
                    BinOp::Xor => a ^ b,
                    BinOp::Or => a | b,
                    // The parser refuses these in integer formulas.
                    BinOp::Pow
                    | BinOp::Lt
                    | BinOp::Le
                    | BinOp::Gt
                    | BinOp::Ge
                    | BinOp::Eq
                    | BinOp::Ne => 0,
                }
            }

            fn is_true(self) -> bool {
                self != 0
            }

            fn call(f: Func, args: &[Self]) -> Self {
                let (x, y) = (args[0], args.get(1).copied().unwrap_or(0));
                match f {
                    Func::Abs => x.wrapping_abs(),
                    Func::Min => x.min(y),
                    Func::Max => x.max(y),
                    // The parser makes integers f64 for the float functions.
                    _ => 0,
                }
            }

            fn compare(op: BinOp, a: Self, b: Self) -> bool {
                compare(op, a, b)
            }

            fn test(_: Test, _: Self) -> bool {
                false
            }

            fn value(self) -> Value {
                Value::$variant(self)
            }

            fn from_value(v: Value) -> Self {
                match v {
                    Value::$variant(x) => x,
                    _ => 0,
                }
            }
        }
    };
}

integer!(i32, u32, Ty::I32, I32);
integer!(i64, u64, Ty::I64, I64);

impl Semantics for bool {
    const TY: Ty = Ty::Bool;

    fn literal(bits: u64) -> Self {
        bits != 0
    }

    fn unary(op: UnOp, a: Self) -> Self {
        match op {
            UnOp::Not => !a,
            UnOp::Neg => a, // the parser refuses `-` of a bool
        }
    }

    fn binary(op: BinOp, a: Self, b: Self) -> Self {
        match op {
            BinOp::And => a & b,
            BinOp::Or => a | b,
            BinOp::Xor => a ^ b,
            // The parser counts bools as integers for everything else.
            _ => a,
        }
    }

    fn is_true(self) -> bool {
        self
    }

    fn call(_: Func, args: &[Self]) -> Self {
        args[0]
    }

    fn compare(op: BinOp, a: Self, b: Self) -> bool {
        compare(op, a, b)
    }

    fn test(_: Test, _: Self) -> bool {
        false
    }

    fn value(self) -> Value {
        Value::Bool(self)
    }

    fn from_value(v: Value) -> Self {
        matches!(v, Value::Bool(true))
    }
}

macro_rules! float {
    ($t:ident, $ty:expr, $variant:ident, $m:ident) => {
        impl Semantics for $t {
            const TY: Ty = $ty;

            #[allow(
                clippy::cast_possible_truncation,
                reason = "an f32's bits are the low 32"
            )]
            fn literal(bits: u64) -> Self {
                $t::from_bits(bits as _)
            }

            fn unary(op: UnOp, a: Self) -> Self {
                match op {
                    UnOp::Neg => -a,
                    UnOp::Not => a, // the parser refuses `~` of a float
                }
            }

            fn binary(op: BinOp, a: Self, b: Self) -> Self {
                match op {
                    BinOp::Mul => a * b,
                    BinOp::Div => a / b,
                    BinOp::Rem => math::$m::rem(a, b),
                    BinOp::FloorDiv => math::$m::floordiv(a, b),
                    BinOp::Mod => math::$m::modulo(a, b),
                    BinOp::Add => a + b,
                    BinOp::Sub => a - b,
                    BinOp::Pow => math::$m::pow(a, b),
                    // A `Formula<f64>`'s comparisons give 1.0 or 0.0.
                    op if op.is_comparison() => {
                        if compare(op, a, b) {
                            1.0
                        } else {
                            0.0
                        }
                    }
                    // The parser refuses bit operators on floats.
                    _ => $t::NAN,
                }
            }

            fn is_true(self) -> bool {
                self != 0.0
            }

            fn call(f: Func, args: &[Self]) -> Self {
                let (x, y) = (args[0], args.get(1).copied().unwrap_or(0.0));
                // The very functions JIT code calls (`math.rs`): `abs` moves bits, as `-` does;
                // the rest quiet a NaN argument first, as the hardware instructions do that JIT
                // code uses for some of them (`sqrtsd`, `roundsd`, `minsd`; AArch64's `fsqrt`,
                // `frintm`, `fmin`).
                // `rust_in` gives this type's functions: the casts change nothing.
                #[allow(
                    clippy::unnecessary_cast,
                    clippy::cast_possible_truncation,
                    reason = "identities"
                )]
                match f.rust_in($ty).1 {
                    super::Callee::Unary(f) => f(x as f64) as $t,
                    super::Callee::Binary(f) => f(x as f64, y as f64) as $t,
                    super::Callee::Unary32(f) => f(x as f32) as $t,
                    super::Callee::Binary32(f) => f(x as f32, y as f32) as $t,
                }
            }

            fn compare(op: BinOp, a: Self, b: Self) -> bool {
                compare(op, a, b)
            }

            fn test(t: Test, a: Self) -> bool {
                match t {
                    Test::Nan => a.is_nan(),
                    Test::Inf => a.is_infinite(),
                    Test::Finite => a.is_finite(),
                }
            }

            fn value(self) -> Value {
                Value::$variant(self)
            }

            fn from_value(v: Value) -> Self {
                match v {
                    Value::$variant(x) => x,
                    _ => 0.0,
                }
            }
        }
    };
}

float!(f64, Ty::F64, F64, double);
float!(f32, Ty::F32, F32, single);

/// Runs `program` at `args` (one per variable).
pub(super) fn eval<T: Semantics>(program: &Program, args: &[T]) -> T {
    // A stack on the stack for the usual small formulas: the exhaustive checks evaluate 2^32
    // times, and neither allocating nor zeroing a big array may dominate that.
    match program.max_stack {
        0..=4 => run(program, args, &mut [T::default(); 4]),
        5..=32 => run(program, args, &mut [T::default(); 32]),
        n => run(program, args, &mut vec![T::default(); n]),
    }
}

/// Runs the program with `stack`, which holds `max_stack` values.
fn run<T: Semantics>(program: &Program, args: &[T], stack: &mut [T]) -> T {
    let mut top = 0; // number of values on the stack
    for &node in &program.nodes {
        match node {
            // Single-type programs have neither (`Program::single_type`).
            Node::Cast | Node::Test(_) | Node::Order => {}
            Node::Var(i) => {
                stack[top] = args[usize::from(i)];
                top += 1;
            }
            Node::Lit(bits) => {
                stack[top] = T::literal(bits);
                top += 1;
            }
            Node::Un(op) => stack[top - 1] = T::unary(op, stack[top - 1]),
            Node::Bin(op) => {
                top -= 1;
                stack[top - 1] = T::binary(op, stack[top - 1], stack[top]);
            }
            Node::Select => {
                top -= 2;
                let (c, a, b) = (stack[top - 1], stack[top], stack[top + 1]);
                stack[top - 1] = if c.is_true() { a } else { b };
            }
            Node::Call(f) => {
                let n = f.arity();
                top -= n - 1;
                stack[top - 1] = T::call(f, &stack[top - 1..top - 1 + n]);
            }
        }
    }
    stack[0]
}

/// Runs a program of any types at `args` (one per variable, each of its variable's type): the
/// oracle of typed formulas. Each node computes with its type's [`Semantics`], on operands
/// converted to that type as casts convert them ([`Value::to`]).
pub(super) fn eval_typed(program: &Program, args: &[Value]) -> Value {
    let mut stack: Vec<Value> = Vec::with_capacity(program.max_stack);
    for (k, &node) in program.nodes.iter().enumerate() {
        let ty = program.types[k];
        let at = stack.len().saturating_sub(node.pops());
        let operands = &stack[at..];
        let v = match node {
            Node::Var(i) => args
                .get(usize::from(i))
                .map_or(Value::F64(0.0), |v| v.to(ty)),
            Node::Lit(bits) => Value::from_bits(ty, bits),
            Node::Select => {
                let pick = if operands[0].to(Ty::Bool) == Value::Bool(true) {
                    operands[1]
                } else {
                    operands[2]
                };
                pick.to(ty)
            }
            Node::Cast => operands[0].to(ty),
            Node::Order => total_order(operands[0].to(ty)),
            _ => match ty {
                Ty::Bool => apply::<bool>(node, operands),
                Ty::I32 => apply::<i32>(node, operands),
                Ty::I64 => apply::<i64>(node, operands),
                Ty::F32 => apply::<f32>(node, operands),
                Ty::F64 => apply::<f64>(node, operands),
            },
        };
        stack.truncate(at);
        stack.push(v);
    }
    stack.pop().map_or(Value::F64(0.0), |v| v.to(program.ty))
}

/// One operation in `T` over `operands`, each converted to `T` first.
fn apply<T: Semantics>(node: Node, operands: &[Value]) -> Value {
    let arg = |i: usize| {
        operands
            .get(i)
            .map_or_else(T::default, |v| T::from_value(v.to(T::TY)))
    };
    match node {
        Node::Un(op) => T::unary(op, arg(0)).value(),
        Node::Bin(op) if op.is_comparison() => Value::Bool(T::compare(op, arg(0), arg(1))),
        Node::Bin(op) => T::binary(op, arg(0), arg(1)).value(),
        Node::Call(f) => T::call(f, &[arg(0), arg(1)][..f.arity()]).value(),
        Node::Test(t) => Value::Bool(T::test(t, arg(0))),
        // Handled by `eval_typed`.
        Node::Var(_) | Node::Lit(_) | Node::Select | Node::Cast | Node::Order => {
            T::default().value()
        }
    }
}

/// `total_order(x)`: the integer that `f64::total_cmp` (or `f32`'s) compares in place of `x`.
fn total_order(x: Value) -> Value {
    match x {
        Value::F32(x) => {
            let bits = x.to_bits().cast_signed();
            Value::I32(bits ^ ((bits >> 31).cast_unsigned() >> 1).cast_signed())
        }
        Value::F64(x) => {
            let bits = x.to_bits().cast_signed();
            Value::I64(bits ^ ((bits >> 63).cast_unsigned() >> 1).cast_signed())
        }
        // The typing gives it floats only.
        other => other,
    }
}
