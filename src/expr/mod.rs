//! Formulas over one numeric type (`i32`, `i64` or `f64`) and named variables, and typed
//! formulas that mix `bool`, `i32`, `i64`, `f32` and `f64` (`typed.rs`, `promote.rs`): parsed by
//! one parser into one typed postfix program, interpreted (the oracle), and lowered to Cranelift
//! IR (the JIT). Neither walks a tree recursively, so no input of any size overflows the stack.
//! docs/language.md's tables state the semantics; [`Number`]'s implementations are exactly it.
//!
//! The integer types: literals (decimal or `0x` hex, read as bit patterns of the type), `( … )`;
//! unary `-` (wrapping negation) and `~` (bitwise not); `* / %`; `+ -`; `<< >> >>>`; `&`; `^`;
//! `|`. Arithmetic wraps; shifts use the low 5 (i32) or 6 (i64) bits of their amount (`>>`
//! arithmetic, `>>>` logical); `/` and `%` truncate toward zero and are total, as RISC-V defines
//! them: `a / 0 == -1`, `a % 0 == a`, `MIN / -1 == MIN`, `MIN % -1 == 0`.
//!
//! f64: literals (`1`, `1.5`, `.5`, `1e-3`), constants `pi e inf nan`; `**` (power, `powf`,
//! right-associative, tighter than unary minus); unary `-`; `* / %` (IEEE-754; `%` is Rust's);
//! `+ -`; comparisons `< <= > >= == !=` (1.0 or 0.0); `c ? a : b` (`a` when `c != 0`, so a NaN
//! condition picks `a`); and the functions of [`Func`].
//!
//! NaN: every operator and function gives on a signaling NaN what it gives on its quiet NaN (the
//! quiet bit set), and whatever computes returns a quiet NaN; `-`, `abs` and `?:` move bits.
//! The sign and payload of a NaN result are unspecified (docs/language.md).

mod eval;
mod lower;
pub(crate) mod math;
mod parse;
mod promote;
mod show;
mod typed;
mod vector;

use crate::error::{Error, Refused, SyntaxError};
use crate::limits::MAX_VARS;
use crate::value::Scalar;
use cranelift_codegen::ir::{AbiParam, Signature, types};
use cranelift_codegen::isa::CallConv;
pub(crate) use eval::Semantics;
pub(crate) use lower::{Args, Import, build_formula, clif_type};
use std::marker::PhantomData;
pub(crate) use typed::signature;
pub use typed::{TypedFormula, Value};
pub(crate) use vector::{build_kernel, kernel_lanes};

/// The type of a value in a formula: of a variable, of a node of its program, of its result.
/// A [`Formula<T>`] has one (`i32`, `i64` or `f64`); a [`TypedFormula`] mixes all five.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Ty {
    /// `true` or `false`.
    Bool,
    /// 32-bit integers, wrapping.
    I32,
    /// 64-bit integers, wrapping.
    I64,
    /// IEEE-754 singles.
    F32,
    /// IEEE-754 doubles.
    F64,
}

impl Ty {
    /// Every type, in promotion order.
    pub const ALL: [Ty; 5] = [Ty::Bool, Ty::I32, Ty::I64, Ty::F32, Ty::F64];

    /// Whether it is `i32` or `i64`.
    pub fn is_int(self) -> bool {
        matches!(self, Ty::I32 | Ty::I64)
    }

    /// Whether it is `f32` or `f64`.
    pub fn is_float(self) -> bool {
        matches!(self, Ty::F32 | Ty::F64)
    }

    /// Its name in formulas and messages: `bool`, `i32`, `i64`, `f32`, `f64`.
    pub fn name(self) -> &'static str {
        match self {
            Ty::Bool => "bool",
            Ty::I32 => "i32",
            Ty::I64 => "i64",
            Ty::F32 => "f32",
            Ty::F64 => "f64",
        }
    }

    /// The type a type's name spells (`"f32"`), as in a variable's declaration.
    pub fn by_name(name: &str) -> Option<Ty> {
        Ty::ALL.into_iter().find(|t| t.name() == name)
    }
}

impl std::fmt::Display for Ty {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// A unary operator.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum UnOp {
    /// `-`: wrapping for integers.
    Neg,
    /// `~`: bitwise not (integers only).
    Not,
}

/// A binary operator.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum BinOp {
    Mul,
    Div,
    Rem,
    Add,
    Sub,
    Shl,
    Sar,
    Shr,
    And,
    Xor,
    Or,
    Pow,
    Lt,
    Le,
    Gt,
    Ge,
    Eq,
    Ne,
    /// `//` of typed formulas: NumPy's `floor_divide`.
    FloorDiv,
    /// `%` of typed formulas: NumPy's `remainder`, with the divisor's sign.
    Mod,
}

impl BinOp {
    /// Each operator as formulas spell it (`%` is `Rem` in a `Formula<T>`, `Mod` in a typed
    /// formula: the parser picks).
    const ALL: [(&'static str, BinOp); 20] = [
        ("*", BinOp::Mul),
        ("/", BinOp::Div),
        ("%", BinOp::Rem),
        ("+", BinOp::Add),
        ("-", BinOp::Sub),
        ("<<", BinOp::Shl),
        (">>", BinOp::Sar),
        (">>>", BinOp::Shr),
        ("&", BinOp::And),
        ("^", BinOp::Xor),
        ("|", BinOp::Or),
        ("**", BinOp::Pow),
        ("<", BinOp::Lt),
        ("<=", BinOp::Le),
        (">", BinOp::Gt),
        (">=", BinOp::Ge),
        ("==", BinOp::Eq),
        ("!=", BinOp::Ne),
        ("//", BinOp::FloorDiv),
        ("%", BinOp::Mod),
    ];

    /// A comparison, whose result is a `bool` of its operands' type.
    pub(crate) fn is_comparison(self) -> bool {
        matches!(
            self,
            BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge | BinOp::Eq | BinOp::Ne
        )
    }

    fn symbol(self) -> &'static str {
        Self::ALL
            .iter()
            .find(|(_, op)| *op == self)
            .map_or("?", |(s, _)| s)
    }

    /// Higher binds tighter. Unary operators sit at [`UNARY`].
    fn precedence(self) -> u8 {
        match self {
            BinOp::Pow => 7,
            BinOp::Mul | BinOp::Div | BinOp::Rem | BinOp::FloorDiv | BinOp::Mod => 5,
            BinOp::Add | BinOp::Sub => 4,
            BinOp::Shl | BinOp::Sar | BinOp::Shr => 3,
            BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge | BinOp::Eq | BinOp::Ne => 3,
            BinOp::And => 2,
            BinOp::Xor => 1,
            BinOp::Or => 0,
        }
    }
}

/// Where unary operators bind: below `**`, above everything else.
const UNARY: u8 = 6;

/// A function of f64 formulas, each the Rust `f64` method of the same name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Func {
    Abs,
    Sqrt,
    Cbrt,
    Exp,
    Exp2,
    Ln,
    Log2,
    Log10,
    Pow,
    Sin,
    Cos,
    Tan,
    Asin,
    Acos,
    Atan,
    Atan2,
    Sinh,
    Cosh,
    Tanh,
    Floor,
    Ceil,
    Round,
    Trunc,
    Min,
    Max,
    Hypot,
    Asinh,
    Acosh,
    Atanh,
    Log1p,
    Expm1,
    Rint,
    Sign,
    Copysign,
    Nextafter,
}

impl Func {
    /// Every function, by name.
    const ALL: [(&'static str, Func); 35] = [
        ("abs", Func::Abs),
        ("sqrt", Func::Sqrt),
        ("cbrt", Func::Cbrt),
        ("exp", Func::Exp),
        ("exp2", Func::Exp2),
        ("ln", Func::Ln),
        ("log2", Func::Log2),
        ("log10", Func::Log10),
        ("pow", Func::Pow),
        ("sin", Func::Sin),
        ("cos", Func::Cos),
        ("tan", Func::Tan),
        ("asin", Func::Asin),
        ("acos", Func::Acos),
        ("atan", Func::Atan),
        ("atan2", Func::Atan2),
        ("sinh", Func::Sinh),
        ("cosh", Func::Cosh),
        ("tanh", Func::Tanh),
        ("floor", Func::Floor),
        ("ceil", Func::Ceil),
        ("round", Func::Round),
        ("trunc", Func::Trunc),
        ("min", Func::Min),
        ("max", Func::Max),
        ("hypot", Func::Hypot),
        ("asinh", Func::Asinh),
        ("acosh", Func::Acosh),
        ("atanh", Func::Atanh),
        ("log1p", Func::Log1p),
        ("expm1", Func::Expm1),
        ("rint", Func::Rint),
        ("sign", Func::Sign),
        ("copysign", Func::Copysign),
        ("nextafter", Func::Nextafter),
    ];

    pub(crate) fn by_name(name: &str) -> Option<Func> {
        Self::ALL.iter().find(|(n, _)| *n == name).map(|&(_, f)| f)
    }

    fn name(self) -> &'static str {
        Self::ALL
            .iter()
            .find(|(_, f)| *f == self)
            .map_or("?", |(n, _)| n)
    }

    pub(crate) fn arity(self) -> usize {
        match self {
            Func::Pow
            | Func::Atan2
            | Func::Min
            | Func::Max
            | Func::Hypot
            | Func::Copysign
            | Func::Nextafter => 2,
            _ => 1,
        }
    }

    /// Function `k` of the language's list (docs/language.md): what user IR names `u1:k`.
    pub(crate) fn nth(k: usize) -> Option<Func> {
        Self::ALL.get(k).map(|&(_, f)| f)
    }

    /// Its place in the language's list ([`Func::nth`]).
    pub(crate) fn index(self) -> usize {
        Self::ALL
            .iter()
            .position(|&(_, f)| f == self)
            .unwrap_or(usize::MAX)
    }

    /// The symbol of its Rust function, for the link and for profilers.
    pub(crate) fn symbol(self) -> &'static str {
        self.rust_in(Ty::F64).0
    }

    /// The Rust function JIT code calls for this function in `ty` (f64 or f32), if Cranelift
    /// has no instruction for it: its symbol name and address.
    pub(crate) fn callee(self, ty: Ty) -> Option<Import> {
        match self {
            Func::Abs
            | Func::Sqrt
            | Func::Floor
            | Func::Ceil
            | Func::Trunc
            | Func::Min
            | Func::Max => None,
            _ => Some(self.rust_in(ty)),
        }
    }

    /// The Rust function that computes this function as the interpreter does: what JIT code
    /// calls when it has no instruction for it (the baseline tier has fewer than Cranelift).
    pub(crate) fn rust(self) -> Callee {
        self.rust_in(Ty::F64).1
    }

    /// [`Func::rust`] in `ty`: the f32 functions for `f32`, the f64 ones otherwise; with its
    /// symbol.
    pub(crate) fn rust_in(self, ty: Ty) -> Import {
        macro_rules! each {
            ($m:ident, $unary:ident, $binary:ident, $suffix:literal) => {
                match self {
                    Func::Abs => (concat!("fnjit_abs", $suffix), Callee::$unary(math::$m::abs)),
                    Func::Sqrt => (
                        concat!("fnjit_sqrt", $suffix),
                        Callee::$unary(math::$m::sqrt),
                    ),
                    Func::Cbrt => (
                        concat!("fnjit_cbrt", $suffix),
                        Callee::$unary(math::$m::cbrt),
                    ),
                    Func::Exp => (concat!("fnjit_exp", $suffix), Callee::$unary(math::$m::exp)),
                    Func::Exp2 => (
                        concat!("fnjit_exp2", $suffix),
                        Callee::$unary(math::$m::exp2),
                    ),
                    Func::Ln => (concat!("fnjit_ln", $suffix), Callee::$unary(math::$m::ln)),
                    Func::Log2 => (
                        concat!("fnjit_log2", $suffix),
                        Callee::$unary(math::$m::log2),
                    ),
                    Func::Log10 => (
                        concat!("fnjit_log10", $suffix),
                        Callee::$unary(math::$m::log10),
                    ),
                    Func::Pow => (
                        concat!("fnjit_pow", $suffix),
                        Callee::$binary(math::$m::pow),
                    ),
                    Func::Sin => (concat!("fnjit_sin", $suffix), Callee::$unary(math::$m::sin)),
                    Func::Cos => (concat!("fnjit_cos", $suffix), Callee::$unary(math::$m::cos)),
                    Func::Tan => (concat!("fnjit_tan", $suffix), Callee::$unary(math::$m::tan)),
                    Func::Asin => (
                        concat!("fnjit_asin", $suffix),
                        Callee::$unary(math::$m::asin),
                    ),
                    Func::Acos => (
                        concat!("fnjit_acos", $suffix),
                        Callee::$unary(math::$m::acos),
                    ),
                    Func::Atan => (
                        concat!("fnjit_atan", $suffix),
                        Callee::$unary(math::$m::atan),
                    ),
                    Func::Atan2 => (
                        concat!("fnjit_atan2", $suffix),
                        Callee::$binary(math::$m::atan2),
                    ),
                    Func::Sinh => (
                        concat!("fnjit_sinh", $suffix),
                        Callee::$unary(math::$m::sinh),
                    ),
                    Func::Cosh => (
                        concat!("fnjit_cosh", $suffix),
                        Callee::$unary(math::$m::cosh),
                    ),
                    Func::Tanh => (
                        concat!("fnjit_tanh", $suffix),
                        Callee::$unary(math::$m::tanh),
                    ),
                    Func::Floor => (
                        concat!("fnjit_floor", $suffix),
                        Callee::$unary(math::$m::floor),
                    ),
                    Func::Ceil => (
                        concat!("fnjit_ceil", $suffix),
                        Callee::$unary(math::$m::ceil),
                    ),
                    Func::Round => (
                        concat!("fnjit_round", $suffix),
                        Callee::$unary(math::$m::round),
                    ),
                    Func::Trunc => (
                        concat!("fnjit_trunc", $suffix),
                        Callee::$unary(math::$m::trunc),
                    ),
                    Func::Min => (
                        concat!("fnjit_min", $suffix),
                        Callee::$binary(math::$m::min),
                    ),
                    Func::Max => (
                        concat!("fnjit_max", $suffix),
                        Callee::$binary(math::$m::max),
                    ),
                    Func::Hypot => (
                        concat!("fnjit_hypot", $suffix),
                        Callee::$binary(math::$m::hypot),
                    ),
                    Func::Asinh => (
                        concat!("fnjit_asinh", $suffix),
                        Callee::$unary(math::$m::asinh),
                    ),
                    Func::Acosh => (
                        concat!("fnjit_acosh", $suffix),
                        Callee::$unary(math::$m::acosh),
                    ),
                    Func::Atanh => (
                        concat!("fnjit_atanh", $suffix),
                        Callee::$unary(math::$m::atanh),
                    ),
                    Func::Log1p => (
                        concat!("fnjit_log1p", $suffix),
                        Callee::$unary(math::$m::log1p),
                    ),
                    Func::Expm1 => (
                        concat!("fnjit_expm1", $suffix),
                        Callee::$unary(math::$m::expm1),
                    ),
                    Func::Rint => (
                        concat!("fnjit_rint", $suffix),
                        Callee::$unary(math::$m::rint),
                    ),
                    Func::Sign => (
                        concat!("fnjit_sign", $suffix),
                        Callee::$unary(math::$m::sign),
                    ),
                    Func::Copysign => (
                        concat!("fnjit_copysign", $suffix),
                        Callee::$binary(math::$m::copysign),
                    ),
                    Func::Nextafter => (
                        concat!("fnjit_nextafter", $suffix),
                        Callee::$binary(math::$m::nextafter),
                    ),
                }
            };
        }
        match ty {
            Ty::F32 => each!(single, Unary32, Binary32, "_f32"),
            _ => each!(double, Unary, Binary, ""),
        }
    }
}

/// A Rust function that JIT code calls.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Callee {
    Unary(extern "C" fn(f64) -> f64),
    Binary(extern "C" fn(f64, f64) -> f64),
    Unary32(extern "C" fn(f32) -> f32),
    Binary32(extern "C" fn(f32, f32) -> f32),
}

impl Callee {
    pub(crate) fn address(self) -> *const u8 {
        match self {
            Callee::Unary(f) => f as *const u8,
            Callee::Binary(f) => f as *const u8,
            Callee::Unary32(f) => f as *const u8,
            Callee::Binary32(f) => f as *const u8,
        }
    }

    pub(crate) fn arity(self) -> usize {
        match self {
            Callee::Unary(_) | Callee::Unary32(_) => 1,
            Callee::Binary(_) | Callee::Binary32(_) => 2,
        }
    }

    /// Its Cranelift signature: float arguments, one float result of the same type.
    pub(crate) fn signature(self, call_conv: CallConv) -> Signature {
        let t = match self {
            Callee::Unary(_) | Callee::Binary(_) => types::F64,
            Callee::Unary32(_) | Callee::Binary32(_) => types::F32,
        };
        let mut sig = Signature::new(call_conv);
        sig.params
            .extend((0..self.arity()).map(|_| AbiParam::new(t)));
        sig.returns.push(AbiParam::new(t));
        sig
    }
}

/// What `%` in f64 calls (`**` calls `Func::Pow`'s callee).
pub(crate) const REM_CALLEE: (&str, Callee) = ("fnjit_rem", Callee::Binary(math::rem));

/// The integer type `total_order` gives for a float of type `ty`: one of its width.
pub(crate) fn order_key(ty: Ty) -> Ty {
    if ty == Ty::F32 { Ty::I32 } else { Ty::I64 }
}

/// What `//`, `%` and `fmod` of floats in typed formulas call, in `ty` (f32 or f64).
pub(crate) fn float_division(op: BinOp, ty: Ty) -> Import {
    match (op, ty) {
        (BinOp::Rem, Ty::F32) => ("fnjit_rem_f32", Callee::Binary32(math::single::rem)),
        (BinOp::Rem, _) => REM_CALLEE,
        (BinOp::FloorDiv, Ty::F32) => (
            "fnjit_floordiv_f32",
            Callee::Binary32(math::single::floordiv),
        ),
        (BinOp::FloorDiv, _) => ("fnjit_floordiv", Callee::Binary(math::double::floordiv)),
        (_, Ty::F32) => ("fnjit_mod_f32", Callee::Binary32(math::single::modulo)),
        _ => ("fnjit_mod", Callee::Binary(math::double::modulo)),
    }
}

/// One step of a postfix program.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Node {
    /// Argument `i`.
    Var(u16),
    /// A literal, as the bits of the formula's type (an integer sign-extended to 64 bits).
    Lit(u64),
    Un(UnOp),
    Bin(BinOp),
    /// `c ? a : b` or `where(c, a, b)`, with `c`, `a`, `b` on the stack in that order.
    Select,
    Call(Func),
    /// `bool(x)`, `i32(x)`, …: the operand converted to the node's type.
    Cast,
    /// `isnan`, `isinf`, `isfinite`: a `bool`.
    Test(Test),
    /// `total_order(x)` of a float: the signed integer of its width whose order is IEEE 754's
    /// totalOrder (Rust's `total_cmp`, Arrow's order of floats).
    Order,
}

/// A test of a float, giving a `bool`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Test {
    Nan,
    Inf,
    Finite,
}

impl Test {
    pub(crate) const ALL: [(&'static str, Test); 3] = [
        ("isnan", Test::Nan),
        ("isinf", Test::Inf),
        ("isfinite", Test::Finite),
    ];

    fn name(self) -> &'static str {
        Self::ALL
            .iter()
            .find(|(_, t)| *t == self)
            .map_or("?", |(n, _)| n)
    }
}

impl Node {
    /// How many values it pops, and pushes one.
    pub(crate) fn pops(self) -> usize {
        match self {
            Node::Var(_) | Node::Lit(_) => 0,
            Node::Un(_) | Node::Cast | Node::Test(_) | Node::Order => 1,
            Node::Bin(_) => 2,
            Node::Select => 3,
            Node::Call(f) => f.arity(),
        }
    }
}

/// A parsed program: the one form every path consumes (interpreter, Cranelift, baseline,
/// kernels). Node `k` computes in `types[k]`: each operand is converted to that type first (a
/// `Select`'s condition to `bool`), and the node gives a value of that type, or a `bool` for a
/// comparison and a `Test`. The result is converted to `ty`. A `Formula<T>` is the case where
/// every variable, node and the result are `T`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) struct Program {
    pub(crate) ty: Ty,
    pub(crate) vars: usize,
    pub(crate) var_types: Vec<Ty>,
    pub(crate) nodes: Vec<Node>,
    pub(crate) types: Vec<Ty>,
    pub(crate) max_stack: usize,
}

impl Program {
    fn from_postfix(ty: Ty, var_types: Vec<Ty>, nodes: Vec<Node>, types: Vec<Ty>) -> Program {
        let (mut depth, mut max_stack) = (0usize, 0usize);
        for node in &nodes {
            depth = depth + 1 - node.pops();
            max_stack = max_stack.max(depth);
        }
        Program {
            ty,
            vars: var_types.len(),
            var_types,
            nodes,
            types,
            max_stack,
        }
    }

    /// The type of the value node `k` gives.
    pub(crate) fn yields(&self, k: usize) -> Ty {
        match self.nodes[k] {
            Node::Bin(op) if op.is_comparison() => Ty::Bool,
            Node::Test(_) => Ty::Bool,
            Node::Order => order_key(self.types[k]),
            _ => self.types[k],
        }
    }

    /// `Some(T)` when the program is a `Formula<T>`'s: every variable and node of type `T`,
    /// and only the operations single-type formulas have. The paths written for one type (the
    /// baseline tier, vector loops) take these; every other program takes the typed path.
    pub(crate) fn single_type(&self) -> Option<Ty> {
        let t = self.ty;
        let classic = |n: &Node| match n {
            Node::Cast | Node::Test(_) | Node::Order | Node::Bin(BinOp::FloorDiv | BinOp::Mod) => {
                false
            }
            Node::Bin(op) if op.is_comparison() => t == Ty::F64,
            Node::Select | Node::Call(_) => t == Ty::F64,
            _ => true,
        };
        let one = matches!(t, Ty::I32 | Ty::I64 | Ty::F64)
            && self.var_types.iter().all(|&v| v == t)
            && self.types.iter().all(|&v| v == t)
            && self.nodes.iter().all(classic);
        one.then_some(t)
    }

    /// The bytes between two variables read from memory (`Args::Memory`): a `T`'s for a
    /// single-type program, as a `[T]` holds them, and 8 otherwise, each variable in the first
    /// bytes of its slot.
    pub(crate) fn arg_slot(&self) -> usize {
        match self.single_type() {
            Some(Ty::I32) => 4,
            _ => 8,
        }
    }

    /// How many operators (and function calls) it has.
    fn operators(&self) -> usize {
        self.nodes
            .iter()
            .filter(|n| !matches!(n, Node::Var(_) | Node::Lit(_)))
            .count()
    }
}

mod sealed {
    pub trait Sealed {}
}

/// A type formulas can have: `i32`, `i64` or `f64`. Sealed; its semantics are docs/language.md's
/// grammar table.
pub trait Number: Scalar + sealed::Sealed + eval::Semantics {}

impl sealed::Sealed for i32 {}
impl sealed::Sealed for i64 {}
impl sealed::Sealed for f64 {}
impl Number for i32 {}
impl Number for i64 {}
impl Number for f64 {}

/// A formula of type `T`, parsed once: evaluate it by interpretation ([`Formula::eval`]), or
/// compile it ([`crate::Jit::compile_formula`]), as often as you like without parsing again.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Formula<T> {
    program: Program,
    names: Vec<String>,
    ty: PhantomData<fn() -> T>,
}

impl<T: Number> Formula<T> {
    /// Parses `src` with the variables `vars` (`vars[i]` is argument `i`).
    ///
    /// # Errors
    /// [`Error::Syntax`] with the byte offset and what was expected there; [`Error::Variables`]
    /// when a name in `vars` is not an identifier, is declared twice, or is the name of a
    /// function or a constant.
    pub fn parse(src: &str, vars: &[&str]) -> Result<Formula<T>, Error> {
        check_vars(vars, false)?;
        let types = vec![T::TY; vars.len()];
        let program = parse::parse(src, vars, &types, parse::Dialect::Single(T::TY))?;
        Ok(Formula {
            program,
            names: vars.iter().map(|&v| v.to_owned()).collect(),
            ty: PhantomData,
        })
    }

    /// The value at `args` (`args[i]` for variable `i`), by interpretation: the oracle the JIT
    /// is checked against.
    ///
    /// # Errors
    /// [`Error::Arguments`] unless there is one argument per variable.
    pub fn eval(&self, args: &[T]) -> Result<T, Error> {
        if args.len() != self.names.len() {
            return Err(Error::Arguments {
                expected: self.names.len(),
                got: args.len(),
            });
        }
        Ok(eval::eval(&self.program, args))
    }

    /// The variables' names, in argument order.
    pub fn vars(&self) -> &[String] {
        &self.names
    }

    /// How many operators (and function calls) it has.
    pub fn operators(&self) -> usize {
        self.program.operators()
    }

    pub(crate) fn program(&self) -> &Program {
        &self.program
    }

    /// The formula as text (every operation parenthesized, long ones cut): what debuggers and
    /// profilers call its code.
    pub(crate) fn describe(&self) -> String {
        show::show(&self.program, &self.names)
    }

    pub(crate) fn into_program(self) -> Program {
        self.program
    }
}

/// The variable names are identifiers, distinct, and not taken by a function or a constant (nor,
/// in a typed formula, by the names it reserves).
fn check_vars(vars: &[&str], typed: bool) -> Result<(), Error> {
    if vars.len() > MAX_VARS {
        return Err(Error::Variables(format!(
            "{} variables: a formula has at most {MAX_VARS}",
            vars.len()
        )));
    }
    // A kernel's variables may be thousands: a map then, a scan for the usual few.
    let mut seen = std::collections::HashMap::new();
    for (i, &name) in vars.iter().enumerate() {
        let bad = |why: String| Err(Error::Variables(format!("variable {i}, '{name}', {why}")));
        let mut chars = name.chars();
        let ident = chars
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !ident {
            return bad(
                "is not a name: use letters, digits and _, not starting with a digit".into(),
            );
        }
        if Func::by_name(name).is_some()
            || parse::CONSTANTS.iter().any(|(c, _)| *c == name)
            || (typed && parse::reserved_in_typed(name))
        {
            return bad("is the name of a function or a constant".into());
        }
        let twice = if vars.len() <= 16 {
            vars[..i].iter().position(|&v| v == name)
        } else {
            seen.insert(name, i)
        };
        if let Some(j) = twice {
            return bad(format!("is declared twice (also variable {j})"));
        }
    }
    Ok(())
}

/// Parses `src` as a formula of type `T` in `vars` and evaluates it at `args` with the
/// interpreter: the oracle the JIT is checked against.
///
/// ```
/// assert_eq!(fnjit::eval_formula::<f64>("x*y + 1", &["x", "y"], &[2.0, 3.0])?, 7.0);
/// assert_eq!(fnjit::eval_formula::<f64>("-2**2", &[], &[])?, -4.0);
/// assert_eq!(fnjit::eval_formula::<i64>("a / 0", &["a"], &[7])?, -1);
/// # Ok::<(), fnjit::Error>(())
/// ```
///
/// # Errors
/// As [`Formula::parse`] and [`Formula::eval`].
pub fn eval_formula<T: Number>(src: &str, vars: &[&str], args: &[T]) -> Result<T, Error> {
    Formula::<T>::parse(src, vars)?.eval(args)
}

/// An integer expression of one variable `x`: the i32 case of [`Formula`], kept for
/// `compile_expr` and the exhaustive checks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Expr(Formula<i32>);

impl Expr {
    /// Parses `src`.
    ///
    /// # Errors
    /// A [`SyntaxError`] with the byte offset and what was expected there.
    pub fn parse(src: &str) -> Result<Expr, SyntaxError> {
        Ok(Expr(Formula {
            program: parse::parse(src, &["x"], &[Ty::I32], parse::Dialect::Single(Ty::I32))
                .map_err(Refused::into_syntax)?,
            names: vec!["x".to_owned()],
            ty: PhantomData,
        }))
    }

    /// The value at `x`, by interpretation.
    pub fn eval(&self, x: i32) -> i32 {
        eval::eval(&self.0.program, &[x])
    }

    /// How many operators the expression has.
    pub fn operators(&self) -> usize {
        self.0.operators()
    }

    /// The same program as a formula of the variable `x`, to compile without parsing again
    /// (see [`crate::Jit::compile_formula`]).
    pub fn formula(&self) -> &Formula<i32> {
        &self.0
    }
}

/// Parses `src` and evaluates it at `x` with the interpreter: the oracle the JIT is checked
/// against.
///
/// # Errors
/// [`crate::Error::Syntax`] when `src` is not an expression.
pub fn eval_expr(src: &str, x: i32) -> Result<i32, Error> {
    Ok(Expr::parse(src)?.eval(x))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::limits::{MAX_INPUT, MAX_NESTING, MAX_OPERATORS};

    fn ev(src: &str, x: i32) -> i32 {
        eval_expr(src, x).unwrap_or_else(|e| panic!("{src}: {e}"))
    }

    fn err(src: &str) -> String {
        Expr::parse(src).expect_err(src).to_string()
    }

    #[test]
    fn precedence_and_associativity() {
        assert_eq!(ev("x * 3 + 1", 41), 124);
        assert_eq!(ev("1 + 2 * 3", 0), 7);
        assert_eq!(ev("10 - 3 - 2", 0), 5);
        assert_eq!(ev("100 / 10 / 5", 0), 2);
        assert_eq!(ev("1 | 2 ^ 3 & 6", 0), 1); // 1 | (2 ^ (3 & 6)); left to right would give 0
        assert_eq!(ev("1 << 2 + 1", 0), 8);
        assert_eq!(ev("-x * 2", 5), -10);
        assert_eq!(ev("~x & 0xFF", 0), 255);
        assert_eq!(ev("-(x + 1)", 41), -42);
        assert_eq!(ev("--x", 7), 7);
        assert_eq!(ev("- ~ - x", 3), -(!(-3)));
    }

    #[test]
    fn literals_are_bit_patterns() {
        assert_eq!(ev("0xFFFFFFFF", 0), -1);
        assert_eq!(ev("4294967295", 0), -1);
        assert_eq!(ev("0x2A", 0), 42);
        assert_eq!(ev("0X80000000", 0), i32::MIN);
        assert_eq!(ev("2147483648", 0), i32::MIN);
    }

    #[test]
    fn division_and_remainder_are_total() {
        assert_eq!(ev("x / 0", 5), -1);
        assert_eq!(ev("x % 0", 5), 5);
        assert_eq!(ev("x / -1", i32::MIN), i32::MIN);
        assert_eq!(ev("x % -1", i32::MIN), 0);
        assert_eq!(ev("-7 / 2", 0), -3);
        assert_eq!(ev("-7 % 2", 0), -1);
    }

    #[test]
    fn shifts_use_the_low_five_bits() {
        assert_eq!(ev("x << 33", 1), 2);
        assert_eq!(ev("x >> 1", -8), -4);
        assert_eq!(ev("x >>> 1", -8), ((-8i32 as u32) >> 1) as i32);
        assert_eq!(ev("x >>> 32", -8), -8);
        assert_eq!(ev("1 << -1", 0), i32::MIN);
    }

    #[test]
    fn whitespace_may_stand_between_tokens() {
        assert_eq!(ev(" \tx\n*\r\n3 ", 2), 6);
        assert_eq!(ev("x>>>1", -2), i32::MAX);
    }

    #[test]
    fn errors_give_the_offset_and_what_was_expected() {
        assert_eq!(err("x +"), "expected an operand after '+' at 3");
        assert_eq!(err(""), "empty expression: expected an operand at 0");
        assert_eq!(err("   "), "empty expression: expected an operand at 3");
        assert_eq!(err("x $ 1"), "unexpected character '$' at 2");
        assert_eq!(
            err("y + 1"),
            "unknown name 'y' (the only variable is x) at 0"
        );
        assert_eq!(err("(x + 1"), "unbalanced '(': never closed at 0");
        assert_eq!(err("x + 1)"), "unbalanced ')': no '(' to close at 5");
        assert_eq!(
            err("x * * 2"),
            "expected an operand after '*', found '*' at 4"
        );
        assert_eq!(
            err("x 2"),
            "expected an operator or ')' after 'x', found '2' at 2"
        );
        assert_eq!(
            err("4294967296"),
            "literal 4294967296 is out of range (0 to 0xFFFFFFFF) at 0"
        );
        assert_eq!(
            err("0x100000000"),
            "literal 0x100000000 is out of range (0 to 0xFFFFFFFF) at 0"
        );
        assert_eq!(
            err("99999999999999999999999"),
            "literal 99999999999999999999999 is out of range (0 to 0xFFFFFFFF) at 0"
        );
        assert_eq!(err("0x"), "malformed number '0x' at 0");
        assert_eq!(err("12ab"), "malformed number '12ab' at 0");
        assert_eq!(err("()"), "expected an operand after '(', found ')' at 1");
        assert_eq!(
            err("x ~ 1"),
            "expected an operator or ')' after 'x', found '~' at 2"
        );
        assert_eq!(err("é"), "unexpected character '\\u{e9}' at 0");
    }

    #[test]
    fn size_and_nesting_limits() {
        let deep_ok = format!("{}x{}", "(".repeat(MAX_NESTING), ")".repeat(MAX_NESTING));
        assert_eq!(ev(&deep_ok, 3), 3);
        let too_deep = format!(
            "{}x{}",
            "(".repeat(MAX_NESTING + 1),
            ")".repeat(MAX_NESTING + 1)
        );
        assert_eq!(
            err(&too_deep),
            format!("nesting deeper than 1000 levels at {MAX_NESTING}")
        );
        let negs = format!("{}x", "-".repeat(MAX_NESTING + 1));
        assert!(err(&negs).starts_with("nesting deeper than 1000 levels"));
        let huge = "x".repeat(MAX_INPUT + 1);
        assert_eq!(
            err(&huge),
            "input is 1048577 bytes; the limit is 1048576 (1 MiB) at 0"
        );
    }

    #[test]
    fn long_flat_expressions_need_no_deep_stack() {
        let sum = vec!["x"; 100_000].join(" + ");
        let e = Expr::parse(&sum).expect("parse");
        assert_eq!(e.eval(3), 300_000);
        assert_eq!(e.0.program.max_stack, 2);
        let right_deep = format!("{}x{}", "(x + ".repeat(999), ")".repeat(999));
        assert_eq!(ev(&right_deep, 1), 1000);
    }

    fn f(src: &str, vars: &[&str], args: &[f64]) -> f64 {
        eval_formula::<f64>(src, vars, args).unwrap_or_else(|e| panic!("{src}: {e}"))
    }

    fn f_err(src: &str, vars: &[&str]) -> String {
        Formula::<f64>::parse(src, vars).expect_err(src).to_string()
    }

    #[test]
    fn f64_power_binds_tighter_than_minus_and_to_the_right() {
        assert_eq!(f("-2**2", &[], &[]), -4.0);
        assert_eq!(f("2**3**2", &[], &[]), 512.0);
        assert_eq!(f("2**-1", &[], &[]), 0.5);
        assert_eq!(f("(-2)**2", &[], &[]), 4.0);
        assert_eq!(f("-x**2", &["x"], &[3.0]), -9.0);
        assert_eq!(f("2*3**2", &[], &[]), 18.0);
    }

    #[test]
    fn f64_literals_constants_and_operators() {
        assert_eq!(f(".5 + 1e-3 + 2.5E+1 + 1", &[], &[]), 26.501);
        assert_eq!(f("pi", &[], &[]), std::f64::consts::PI);
        assert_eq!(f("e", &[], &[]), std::f64::consts::E);
        assert!(f("nan", &[], &[]).is_nan());
        assert_eq!(f("-inf", &[], &[]), f64::NEG_INFINITY);
        assert_eq!(f("7 % 3", &[], &[]), 1.0);
        assert_eq!(f("-7 % 3", &[], &[]), -1.0);
        assert_eq!(f("1 / 0", &[], &[]), f64::INFINITY);
        assert_eq!(f("x - y - z", &["x", "y", "z"], &[10.0, 3.0, 2.0]), 5.0);
    }

    #[test]
    fn f64_comparisons_and_the_conditional() {
        assert_eq!(f("1 < 2", &[], &[]), 1.0);
        assert_eq!(f("2 <= 1", &[], &[]), 0.0);
        assert_eq!(f("nan == nan", &[], &[]), 0.0);
        assert_eq!(f("nan != nan", &[], &[]), 1.0);
        assert_eq!(f("x > 0 ? x : -x", &["x"], &[-3.0]), 3.0);
        assert_eq!(f("nan ? 1 : 2", &[], &[]), 1.0);
        assert_eq!(f("0 ? 1 : 0 ? 2 : 3", &[], &[]), 3.0);
        assert_eq!(f("1 ? 0 ? 4 : 5 : 6", &[], &[]), 5.0);
        assert_eq!(f("1 + 1 < 3 ? 10 : 20", &[], &[]), 10.0);
    }

    #[test]
    fn f64_functions_are_rusts() {
        let x = 0.7f64;
        for (src, want) in [
            ("sin(x)", x.sin()),
            ("atan2(x, 2)", x.atan2(2.0)),
            ("pow(x, 3)", x.powf(3.0)),
            ("hypot(x, 2)", x.hypot(2.0)),
            ("round(2.5)", 3.0),
            ("round(-2.5)", -3.0),
            ("floor(-x)", -1.0),
            ("ln(e)", 1.0),
            ("cbrt(27)", 3.0),
            ("min(1, x)", x),
            ("max(-0, 0)", 0.0),
        ] {
            assert_eq!(f(src, &["x"], &[x]).to_bits(), want.to_bits(), "{src}");
        }
        assert!(f("min(nan, 1)", &[], &[]).is_nan(), "min propagates NaN");
        assert!(f("min(-0, 0)", &[], &[]).is_sign_negative());
    }

    #[test]
    fn i64_is_i32_widened() {
        let ev = |src: &str, x: i64| eval_formula::<i64>(src, &["x"], &[x]).expect(src);
        assert_eq!(ev("x + 1", i64::MAX), i64::MIN);
        assert_eq!(ev("x / 0", 5), -1);
        assert_eq!(ev("x / -1", i64::MIN), i64::MIN);
        assert_eq!(ev("x % -1", i64::MIN), 0);
        assert_eq!(ev("x << 65", 1), 2);
        assert_eq!(ev("x >>> 63", -1), 1);
        assert_eq!(ev("0xFFFFFFFFFFFFFFFF", 0), -1);
        assert_eq!(ev("4294967296", 0), 1 << 32);
    }

    #[test]
    fn formula_errors_give_the_offset_and_what_to_do() {
        assert_eq!(
            Formula::<i32>::parse("x + 2.5", &["x"])
                .expect_err("float")
                .to_string(),
            "'2.5' is not an i32 literal: i32 formulas take whole numbers at 4"
        );
        assert_eq!(
            f_err("atan2(x)", &["x"]),
            "atan2 takes 2 arguments, given 1 at 0"
        );
        assert_eq!(
            f_err("sin(x, x)", &["x"]),
            "sin takes 1 argument, given more at 0"
        );
        assert_eq!(
            f_err("sine(x)", &["x"]),
            "unknown function 'sine'; did you mean 'sin'? at 0"
        );
        assert_eq!(
            f_err("x ^ 2", &["x"]),
            "'^' is xor, which f64 formulas do not have: write '**' for a power at 2"
        );
        assert_eq!(
            f_err("x + q", &["x", "y"]),
            "unknown name 'q' (the variables are x, y) at 4"
        );
        assert_eq!(f_err("x ? 1", &["x"]), "'?' without its ':' at 2");
        assert_eq!(
            f_err("2 + x(1)", &["x"]),
            "'x' is a variable, not a function: write x * (…) to multiply at 4"
        );
        assert_eq!(f_err("x : 1", &["x"]), "':' without a '?' before it at 2");
        assert_eq!(
            f_err("0x10", &[]),
            "hex literal '0x10' in an f64 formula: write f64 literals in decimal at 0"
        );
        assert_eq!(
            Formula::<i64>::parse("x ** 2", &["x"])
                .expect_err("pow")
                .to_string(),
            "'**' (power) belongs to f64 formulas, not i64 at 2"
        );
        assert_eq!(
            Formula::<i64>::parse("sin(x)", &["x"])
                .expect_err("fn")
                .to_string(),
            "'sin' is an f64 function: i64 formulas have no functions at 0"
        );
        assert_eq!(
            Formula::<f64>::parse("x", &["x", "x"])
                .expect_err("dup")
                .to_string(),
            "variable 1, 'x', is declared twice (also variable 0)"
        );
        assert_eq!(
            Formula::<f64>::parse("x", &["sin"])
                .expect_err("fn name")
                .to_string(),
            "variable 0, 'sin', is the name of a function or a constant"
        );
        assert_eq!(
            Formula::<f64>::parse("x", &["2x"])
                .expect_err("bad name")
                .to_string(),
            "variable 0, '2x', is not a name: use letters, digits and _, not starting with a digit"
        );
        assert_eq!(
            Formula::<f64>::parse("x", &["x"])
                .and_then(|f| f.eval(&[]))
                .expect_err("arity")
                .to_string(),
            "the formula has 1 variable, but 0 arguments were given: give one per variable, in order"
        );
    }

    #[test]
    fn the_operator_cap_admits_the_100_000_term_sum_only() {
        let sum = vec!["x"; 100_000].join("+");
        assert_eq!(Expr::parse(&sum).expect("admitted").operators(), 99_999);
        let over = vec!["x"; MAX_OPERATORS + 2].join("+");
        let err = Expr::parse(&over).expect_err("too many").to_string();
        assert!(
            err.starts_with("more than 100000 operators: split the formula at "),
            "{err}"
        );
    }
}
