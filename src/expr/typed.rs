//! Typed formulas: variables of `bool`, `i32`, `i64`, `f32` and `f64` in one formula, combined
//! by NumPy's rules (`promote.rs`), parsed by the same parser as [`Formula`]s into the same
//! [`Program`], which every path consumes. A `Formula<T>` is the case where everything is `T`
//! ([`Formula::typed`]).

use super::parse::{self, Dialect};
use super::{Formula, Number, Program, Ty, check_vars, eval, show};
use crate::error::Error;
use std::fmt;

/// A value of a typed formula: an argument, or its result.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Value {
    /// A `bool`.
    Bool(bool),
    /// An `i32`.
    I32(i32),
    /// An `i64`.
    I64(i64),
    /// An `f32`.
    F32(f32),
    /// An `f64`.
    F64(f64),
}

impl Value {
    /// Its type.
    pub fn ty(self) -> Ty {
        match self {
            Value::Bool(_) => Ty::Bool,
            Value::I32(_) => Ty::I32,
            Value::I64(_) => Ty::I64,
            Value::F32(_) => Ty::F32,
            Value::F64(_) => Ty::F64,
        }
    }

    /// The value converted to `ty`, as the casts `bool(x)`, `i32(x)`, … convert: to `bool`,
    /// whether it is not 0 (a NaN is `true`); from `bool`, 0 or 1; between integers, wrapping
    /// (`i64` to `i32` keeps the low 32 bits); to a float, the nearest; from a float to an
    /// integer, toward zero, saturating, NaN to 0 (Rust's `as`).
    #[allow(
        clippy::cast_possible_truncation,
        clippy::cast_precision_loss,
        reason = "the conversions are the language's: Rust's `as`"
    )]
    pub fn to(self, ty: Ty) -> Value {
        use Value::{Bool, F32, F64, I32, I64};
        match (self, ty) {
            (v, t) if v.ty() == t => v,
            (v, Ty::Bool) => Bool(match v {
                Bool(b) => b,
                I32(x) => x != 0,
                I64(x) => x != 0,
                F32(x) => x != 0.0,
                F64(x) => x != 0.0,
            }),
            (Bool(b), t) => I32(i32::from(b)).to(t),
            (I32(x), Ty::I64) => I64(i64::from(x)),
            (I32(x), Ty::F32) => F32(x as f32),
            (I32(x), _) => F64(f64::from(x)),
            (I64(x), Ty::I32) => I32(x as i32),
            (I64(x), Ty::F32) => F32(x as f32),
            (I64(x), _) => F64(x as f64),
            (F32(x), Ty::I32) => I32(x as i32),
            (F32(x), Ty::I64) => I64(x as i64),
            (F32(x), _) => F64(f64::from(x)),
            (F64(x), Ty::I32) => I32(x as i32),
            (F64(x), Ty::I64) => I64(x as i64),
            (F64(x), _) => F32(x as f32),
        }
    }

    /// The value of type `ty` with these bits (a literal's, as the program holds it).
    #[allow(clippy::cast_possible_truncation, reason = "a value cut to its width")]
    pub(crate) fn from_bits(ty: Ty, bits: u64) -> Value {
        match ty {
            Ty::Bool => Value::Bool(bits != 0),
            Ty::I32 => Value::I32(bits as i32),
            Ty::I64 => Value::I64(bits as i64),
            Ty::F32 => Value::F32(f32::from_bits(bits as u32)),
            Ty::F64 => Value::F64(f64::from_bits(bits)),
        }
    }

    /// Whether `self` and `other` are the same value bit for bit, except that any NaN matches
    /// any NaN of its type: the language leaves a NaN's sign and payload unspecified.
    pub fn same(self, other: Value) -> bool {
        match (self, other) {
            (Value::F32(a), Value::F32(b)) => {
                a.to_bits() == b.to_bits() || a.is_nan() && b.is_nan()
            }
            (Value::F64(a), Value::F64(b)) => {
                a.to_bits() == b.to_bits() || a.is_nan() && b.is_nan()
            }
            (a, b) => a == b,
        }
    }
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Bool(x) => write!(f, "{x}"),
            Value::I32(x) => write!(f, "{x}"),
            Value::I64(x) => write!(f, "{x}"),
            Value::F32(x) => write!(f, "{x:?}"),
            Value::F64(x) => write!(f, "{x:?}"),
        }
    }
}

/// A formula whose variables each have a type, parsed once: evaluate it by interpretation
/// ([`TypedFormula::eval`]), or compile it into a function ([`crate::Jit::compile_typed`]) or
/// a kernel over typed columns ([`crate::Jit::compile_typed_kernel`]). The language is
/// docs/language.md's "Typed formulas".
///
/// ```
/// use fnjit::{Ty, TypedFormula, Value};
/// let f = TypedFormula::parse("where(price * qty > 100, 1.5, 0) + region", &[
///     ("price", Ty::F64), ("qty", Ty::I32), ("region", Ty::I32),
/// ])?;
/// assert_eq!(f.ty(), Ty::F64);
/// let at = [Value::F64(12.5), Value::I32(10), Value::I32(3)];
/// assert_eq!(f.eval(&at)?, Value::F64(4.5));
/// # Ok::<(), fnjit::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct TypedFormula {
    program: Program,
    names: Vec<String>,
}

impl TypedFormula {
    /// Parses `src` over the variables `vars`, each a name and its type.
    ///
    /// # Errors
    /// [`Error::Syntax`] with the byte offset and what was expected there; [`Error::Type`] at
    /// an operation that does not take its operands' types, naming them; [`Error::Variables`]
    /// as for [`Formula::parse`] (a typed formula also reserves `where`, `true`, `false`,
    /// `log`, the tests and the casts).
    pub fn parse(src: &str, vars: &[(&str, Ty)]) -> Result<TypedFormula, Error> {
        let names: Vec<&str> = vars.iter().map(|&(n, _)| n).collect();
        let types: Vec<Ty> = vars.iter().map(|&(_, t)| t).collect();
        check_vars(&names, true)?;
        let program = parse::parse(src, &names, &types, Dialect::Typed)?;
        Ok(TypedFormula {
            program,
            names: names.iter().map(|&n| n.to_owned()).collect(),
        })
    }

    /// Parses `src` over variables declared as text: `"price: f64, qty: i32"`.
    ///
    /// # Errors
    /// [`Error::Type`] when a declaration is not `name: type` with one of the five types;
    /// otherwise as [`TypedFormula::parse`].
    pub fn parse_declared(src: &str, declarations: &str) -> Result<TypedFormula, Error> {
        let mut vars = Vec::new();
        for (i, decl) in declarations.split(',').enumerate() {
            let decl = decl.trim();
            if decl.is_empty() && i == 0 {
                break;
            }
            let bad = |why: String| {
                Error::Type(crate::error::SyntaxError::new(
                    0,
                    format!("declaration {i}, '{decl}', {why}"),
                ))
            };
            let Some((name, ty)) = decl.split_once(':') else {
                return Err(bad(format!(
                    "has no type: write it as {decl}: f64 (bool, i32, i64, f32 or f64)"
                )));
            };
            let ty = ty.trim();
            let ty = Ty::by_name(ty).ok_or_else(|| {
                bad(format!(
                    "has the unknown type '{ty}': the types are bool, i32, i64, f32 and f64"
                ))
            })?;
            vars.push((name.trim(), ty));
        }
        TypedFormula::parse(src, &vars)
    }

    /// The result's type.
    pub fn ty(&self) -> Ty {
        self.program.ty
    }

    /// The variables' names, in argument order.
    pub fn vars(&self) -> &[String] {
        &self.names
    }

    /// The variables' types, in argument order.
    pub fn var_types(&self) -> &[Ty] {
        &self.program.var_types
    }

    /// How many operators (and function calls) it has.
    pub fn operators(&self) -> usize {
        self.program.operators()
    }

    /// The value at `args` (`args[i]` for variable `i`, of its type), by interpretation: the
    /// oracle every compiled path is checked against.
    ///
    /// # Errors
    /// [`Error::Arguments`] unless there is one argument per variable; [`Error::FormulaType`]
    /// when an argument is not of its variable's type.
    pub fn eval(&self, args: &[Value]) -> Result<Value, Error> {
        if args.len() != self.names.len() {
            return Err(Error::Arguments {
                expected: self.names.len(),
                got: args.len(),
            });
        }
        if args.iter().zip(self.var_types()).any(|(a, &t)| a.ty() != t) {
            return Err(Error::FormulaType {
                expected: signature(self.var_types(), self.ty()),
                asked: signature(&args.iter().map(|a| a.ty()).collect::<Vec<_>>(), self.ty()),
            });
        }
        Ok(eval::eval_typed(&self.program, args))
    }

    pub(crate) fn program(&self) -> &Program {
        &self.program
    }

    /// The formula as text (every operation parenthesized, long ones cut).
    pub(crate) fn describe(&self) -> String {
        show::show(&self.program, &self.names)
    }
}

/// `fn(f64, i32) -> f64`: how messages write a signature.
pub(crate) fn signature(params: &[Ty], result: Ty) -> String {
    let params: Vec<&str> = params.iter().map(|t| t.name()).collect();
    format!("fn({}) -> {result}", params.join(", "))
}

impl<T: Number> Formula<T> {
    /// The same program as a typed formula whose variables are all `T`: a `Formula<T>` is the
    /// all-`T` case of the typed language, and compiles and evaluates on its paths too.
    pub fn typed(&self) -> TypedFormula {
        TypedFormula {
            program: self.program.clone(),
            names: self.names.clone(),
        }
    }
}
