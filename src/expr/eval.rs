//! The interpreter: a postfix program run over a value stack. Its operations, per type, are the
//! semantics that the JIT's IR must match (the grammar table of docs/language.md).
#![allow(
    private_interfaces,
    reason = "Semantics is sealed: outside the crate no one can name it, nor its argument types"
)]

use super::{BinOp, Func, Node, Program, Ty, UnOp, math};

/// How a formula type computes. Implemented for `i32`, `i64` and `f64`.
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
    /// A function of f64 formulas (integers have none: the parser refuses them).
    #[doc(hidden)]
    fn call(f: Func, args: &[Self]) -> Self;
}

macro_rules! integer {
    ($t:ty, $unsigned:ty, $ty:expr) => {
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

            fn call(_: Func, _: &[Self]) -> Self {
                0
            }
        }
    };
}

integer!(i32, u32, Ty::I32);
integer!(i64, u64, Ty::I64);

impl Semantics for f64 {
    const TY: Ty = Ty::F64;

    fn literal(bits: u64) -> Self {
        f64::from_bits(bits)
    }

    fn unary(op: UnOp, a: Self) -> Self {
        match op {
            UnOp::Neg => -a,
            UnOp::Not => a, // the parser refuses `~` in f64 formulas
        }
    }

    fn binary(op: BinOp, a: Self, b: Self) -> Self {
        let truth = |t: bool| if t { 1.0 } else { 0.0 };
        match op {
            BinOp::Mul => a * b,
            BinOp::Div => a / b,
            BinOp::Rem => math::rem(a, b),
            BinOp::Add => a + b,
            BinOp::Sub => a - b,
            BinOp::Pow => math::pow(a, b),
            BinOp::Lt => truth(a < b),
            BinOp::Le => truth(a <= b),
            BinOp::Gt => truth(a > b),
            BinOp::Ge => truth(a >= b),
            BinOp::Eq => truth(a == b),
            BinOp::Ne => truth(a != b),
            // The parser refuses bit operators in f64 formulas.
            BinOp::Shl | BinOp::Sar | BinOp::Shr | BinOp::And | BinOp::Xor | BinOp::Or => f64::NAN,
        }
    }

    fn is_true(self) -> bool {
        self != 0.0
    }

    fn call(f: Func, args: &[Self]) -> Self {
        let (x, y) = (args[0], args.get(1).copied().unwrap_or(0.0));
        // The very functions JIT code calls (`math.rs`): `abs` moves bits, as `-` does; the rest
        // quiet a NaN argument first, as the hardware instructions do that JIT code uses for some
        // of them (`sqrtsd`, `roundsd`, `minsd`; AArch64's `fsqrt`, `frintm`, `fmin`).
        match f.rust() {
            super::Callee::Unary(f) => f(x),
            super::Callee::Binary(f) => f(x, y),
        }
    }
}

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
