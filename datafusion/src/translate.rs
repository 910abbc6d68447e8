//! DataFusion's physical expressions as typed fnjit formulas: the nodes whose results are
//! DataFusion's bit for bit, null for null, and nothing else. A subtree below a translated node
//! that does not translate itself becomes an input of the formula, evaluated by DataFusion as
//! before (`in0`, `in1`, …), so a `signum` in the middle of a long expression splits nothing.
//!
//! Translated, over `Boolean`, `Int32`, `Int64`, `Float32` and `Float64`:
//! - columns and literals (`NULL` included);
//! - `+ - *` and negation (integers wrap, as DataFusion's do unless it fails on overflow), and
//!   for floats `/` and `%` (C's `fmod`, fnjit's `fmod`);
//! - comparisons, floats by IEEE totalOrder as Arrow compares them (`total_order`), with -0
//!   made +0 first, as DataFusion's `apply_cmp` does (so `-0 = 0`, but `NaN > 1`);
//! - `AND`, `OR`, `NOT`, `IS NULL`, `IS NOT NULL`, `CASE WHEN … THEN … ELSE … END` and
//!   `CASE x WHEN v THEN … END` (`x` matched by its bits, as Arrow's `eq` does), by SQL's
//!   three-valued logic (below);
//! - the casts that Arrow computes as Rust's `as` does, which never fail: integers to floats,
//!   `Int32` to `Int64`, and between `Float32` and `Float64`;
//! - the float functions that DataFusion computes with the same Rust method fnjit calls
//!   ([`FLOAT_FUNCTIONS`]), and `sqrt`, whose argument becomes a [`Check`]: DataFusion errors
//!   where it is negative (and not null), fnjit's `sqrt` gives NaN there.
//!
//! Left to DataFusion: integer `/` and `%` (it errors on a zero divisor, fnjit's are total),
//! integer arithmetic that fails on overflow, casts that can fail (floats to integers, `Int64` to
//! `Int32`), and every other function.
//!
//! **Nulls.** A tree of arithmetic, comparisons, casts and functions is null where any input is
//! ([`Translation::sensitive`] is false), as `TypedKernel::eval_arrow` computes it. A tree with
//! a node that reads nulls (`AND`, `OR`, `IS [NOT] NULL`, `CASE`, `NULL`) is translated twice:
//! with every input valid, and with a `bool` variable per input that says where it is valid
//! ([`Validity::Read`]); each node then gives a value and a validity formula. `a AND b` is valid
//! where both are, or where either is a valid `false`; a `CASE` takes the first `WHEN` that is
//! valid and true.
//!
//! **Every row.** DataFusion computes a `THEN`, an `ELSE`, a `WHEN` after the first and the
//! right side of `AND`/`OR` only on some rows, and an input left to DataFusion could fail on
//! the others (an integer division by zero): there, a subtree that does not translate is not
//! made an input, and its parent stays DataFusion's.

use datafusion::arrow::datatypes::{DataType, Schema};
use datafusion::common::ScalarValue;
use datafusion::logical_expr::Operator;
use datafusion::physical_expr::ScalarFunctionExpr;
use datafusion::physical_expr::expressions::{
    BinaryExpr, CaseExpr, CastExpr, Column, IsNotNullExpr, IsNullExpr, Literal, NegativeExpr,
    NotExpr,
};
use datafusion::physical_plan::PhysicalExpr;
use fnjit::Ty;
use std::sync::Arc;

/// DataFusion's float functions computed by the `f64` (or `f32`) method of the same name, as
/// fnjit's functions are (`datafusion-functions`' `make_math_unary_udf!`/`make_math_binary_udf!`,
/// and `abs`).
pub(crate) const FLOAT_FUNCTIONS: [&str; 16] = [
    "abs", "acos", "asin", "atan", "atan2", "cbrt", "cos", "cosh", "exp", "ln", "log2", "log10",
    "sin", "sinh", "tan", "tanh",
];

/// The fnjit type of an Arrow type that kernels read and give.
pub(crate) fn ty_of(data_type: &DataType) -> Option<Ty> {
    match data_type {
        DataType::Boolean => Some(Ty::Bool),
        DataType::Int32 => Some(Ty::I32),
        DataType::Int64 => Some(Ty::I64),
        DataType::Float32 => Some(Ty::F32),
        DataType::Float64 => Some(Ty::F64),
        _ => None,
    }
}

/// A literal as fnjit's text of its own type (`i32(5)`, not the integer literal `5`, which would
/// take its context's type), if fnjit reads it back as the same bits; `Some(None)` for a `NULL`
/// of one of the types.
fn literal(value: &ScalarValue) -> Option<Option<String>> {
    Some(match value {
        ScalarValue::Boolean(v) => v.map(|v| v.to_string()),
        ScalarValue::Int32(v) => v.map(|v| format!("i32({})", integer(i64::from(v)))),
        ScalarValue::Int64(v) => v.map(|v| format!("i64({})", integer(v))),
        ScalarValue::Float32(Some(v)) if v.is_nan() && v.to_bits() != f32::NAN.to_bits() => {
            return None;
        }
        // An f32 is an f64 exactly, and back.
        ScalarValue::Float32(v) => match v {
            Some(v) => Some(format!("f32({})", f64_literal(f64::from(*v))?)),
            None => None,
        },
        ScalarValue::Float64(Some(v)) => Some(f64_literal(*v)?),
        ScalarValue::Float64(None) => None,
        _ => return None,
    })
}

/// `v` as an integer literal: `-` of its magnitude in parentheses when negative (`i64::MIN`'s
/// magnitude reads as its own bit pattern, which negates to itself).
fn integer(v: i64) -> String {
    if v < 0 {
        format!("(-{})", v.unsigned_abs())
    } else {
        v.to_string()
    }
}

/// The zero of `ty`, what a `NULL` computes as.
fn zero(ty: Ty) -> &'static str {
    match ty {
        Ty::Bool => "false",
        Ty::I32 => "i32(0)",
        Ty::I64 => "i64(0)",
        Ty::F32 => "f32(0.0)",
        Ty::F64 => "0.0",
    }
}

/// `v` as fnjit's text: the shortest decimal that reads back as `v`, as a float literal (`1.0`),
/// negated in parentheses (so `-0` stays `-0`); NaN only as the one NaN fnjit's `nan` is.
fn f64_literal(v: f64) -> Option<String> {
    if v.is_nan() {
        return (v.to_bits() == f64::NAN.to_bits()).then(|| "nan".to_owned());
    }
    let magnitude = if v.is_infinite() {
        "inf".to_owned()
    } else {
        // Both are the shortest digits that read back as `v`: `1.5`, not `1.5e0`; `1e300`.
        let (plain, exp) = (format!("{}", v.abs()), format!("{:e}", v.abs()));
        let shortest = if plain.len() <= exp.len() { plain } else { exp };
        // `1` would be an integer literal, which takes its context's type: `1.0` is an f64.
        if shortest.contains(['.', 'e']) {
            shortest
        } else {
            format!("{shortest}.0")
        }
    };
    Some(if v.is_sign_negative() {
        format!("(-{magnitude})")
    } else {
        magnitude
    })
}

/// How a translation treats its inputs' nulls.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Validity {
    /// Every input valid: the formula for rows where none is null (or, for a tree that reads no
    /// nulls, for every row, its nulls the union of its inputs').
    Assumed,
    /// Input `k` is valid where the `bool` variable `valid{k}` is true.
    Read,
}

/// An expression tree as a formula over its inputs.
#[derive(Debug)]
pub(crate) struct Translation {
    /// The formula, its variables named as in `vars`.
    pub(crate) text: String,
    /// Where the result is valid, a `bool` formula, if not wherever its inputs are valid.
    pub(crate) valid: Option<String>,
    /// The variables' names and types, one per input, in order; with [`Validity::Read`],
    /// followed by one `bool` per input, `valid0`, `valid1`, ….
    pub(crate) vars: Vec<(String, Ty)>,
    /// The inputs, in the order of `vars`: columns, and the subtrees left to DataFusion.
    pub(crate) inputs: Vec<Arc<dyn PhysicalExpr>>,
    pub(crate) ty: Ty,
    /// Operators and function calls in the tree.
    pub(crate) operators: usize,
    /// Whether it has a node whose nulls are not its operands' union (`AND`, `CASE`, …).
    pub(crate) sensitive: bool,
    /// The arguments of its `sqrt` calls.
    pub(crate) checks: Vec<Check>,
}

/// The argument of a `sqrt`, which DataFusion computes in full and refuses where it is negative
/// and not null: a formula `arg < 0` over the inputs it reads, and so null where one of them is.
///
/// Every node on the way from a translated `sqrt` to the root returns NaN when an operand is NaN
/// (`+ - * / %`, negation, casts between floats, `sqrt` and each of [`FLOAT_FUNCTIONS`]; none of
/// `min`, `max`, `pow` or `hypot`, which can drop a NaN, nor a comparison), and `sqrt` of a
/// negative number is NaN. So in a row whose result is not NaN no `sqrt` argument was negative,
/// whatever the other inputs were, and a fused kernel computes its checks only when its result
/// has a NaN.
#[derive(Debug)]
pub(crate) struct Check {
    pub(crate) text: String,
    /// The variables it reads, as indices into the translation's `vars` and `inputs`.
    pub(crate) reads: Vec<usize>,
}

/// `expr` as a formula, if its root translates. Columns are named by their names (`by_name`)
/// or by their index in the input (`c0`, `c1`, …).
pub(crate) fn translate(
    expr: &Arc<dyn PhysicalExpr>,
    schema: &Schema,
    by_name: bool,
    validity: Validity,
) -> Option<Translation> {
    let ty = ty_of(&expr.data_type(schema).ok()?)?;
    let mut t = Translator {
        schema,
        by_name,
        validity,
        inputs: Vec::new(),
        vars: Vec::new(),
        opaque: 0,
        operators: 0,
        sensitive: 0,
        reads: Vec::new(),
        checks: Vec::new(),
        every_row: true,
        nan_reaches: true,
    };
    let part = t.expr(expr)?;
    let mut vars = t.vars;
    if validity == Validity::Read {
        let valid = (0..vars.len()).map(|k| (format!("valid{k}"), Ty::Bool));
        vars.extend(valid.collect::<Vec<_>>());
    }
    Some(Translation {
        text: part.text,
        valid: part.valid,
        vars,
        inputs: t.inputs,
        ty,
        operators: t.operators,
        sensitive: t.sensitive > 0,
        checks: t.checks,
    })
}

/// A translated node: its value, and where it is valid (`None`: wherever its inputs are).
struct Part {
    text: String,
    valid: Option<String>,
}

impl Part {
    fn new(text: String, valid: Option<String>) -> Part {
        Part { text, valid }
    }
}

/// Where both are valid.
fn both(a: Option<&str>, b: Option<&str>) -> Option<String> {
    match (a, b) {
        (None, None) => None,
        (Some(v), None) | (None, Some(v)) => Some(v.to_owned()),
        (Some(a), Some(b)) => Some(format!("({a}) & ({b})")),
    }
}

/// Where either holds (`None` is true).
fn either(a: Option<String>, b: Option<String>) -> Option<String> {
    Some(format!("({}) | ({})", a?, b?))
}

/// `valid & fact`: where `valid` holds and `fact` is true.
fn and_valid(valid: Option<&str>, fact: &str) -> String {
    match valid {
        None => fact.to_owned(),
        Some(v) => format!("({v}) & ({fact})"),
    }
}

struct Translator<'a> {
    schema: &'a Schema,
    by_name: bool,
    validity: Validity,
    inputs: Vec<Arc<dyn PhysicalExpr>>,
    vars: Vec<(String, Ty)>,
    /// Subtrees left to DataFusion so far.
    opaque: usize,
    operators: usize,
    /// Nodes whose nulls are not their operands' union.
    sensitive: usize,
    /// Every use of a variable, in order, as an index into `vars`.
    reads: Vec<usize>,
    checks: Vec<Check>,
    /// Whether DataFusion computes the node at hand on every row (see the module's head).
    every_row: bool,
    /// Whether a NaN of the node at hand makes the root NaN (see [`Check`]).
    nan_reaches: bool,
}

impl Translator<'_> {
    /// The formula of `expr`, its operands in parentheses unless they are a column, a literal or
    /// a call.
    fn expr(&mut self, expr: &Arc<dyn PhysicalExpr>) -> Option<Part> {
        let ty = ty_of(&expr.data_type(self.schema).ok()?)?;
        let any: &dyn PhysicalExpr = expr.as_ref();
        if let Some(column) = any.downcast_ref::<Column>() {
            let name = if self.by_name {
                column.name().to_owned()
            } else {
                format!("c{}", column.index())
            };
            return Some(self.input(expr, name, ty));
        }
        if let Some(literal) = any.downcast_ref::<Literal>() {
            return Some(match self::literal(literal.value())? {
                Some(text) => Part::new(text, None),
                None => {
                    self.sensitive += 1;
                    Part::new(zero(ty).to_owned(), Some("false".to_owned()))
                }
            });
        }
        if let Some(negative) = any.downcast_ref::<NegativeExpr>() {
            if ty == Ty::Bool {
                return None;
            }
            let arg = self.operand(negative.arg(), ty)?;
            self.operators += 1;
            return Some(Part::new(format!("-{}", arg.text), arg.valid));
        }
        if let Some(not) = any.downcast_ref::<NotExpr>() {
            let arg = self.within(true, false, |t| t.operand(not.arg(), Ty::Bool))?;
            self.operators += 1;
            return Some(Part::new(format!("~{}", arg.text), arg.valid));
        }
        if let Some(is_null) = any.downcast_ref::<IsNullExpr>() {
            return self.null_test(is_null.arg(), false);
        }
        if let Some(is_not_null) = any.downcast_ref::<IsNotNullExpr>() {
            return self.null_test(is_not_null.arg(), true);
        }
        if let Some(binary) = any.downcast_ref::<BinaryExpr>() {
            return self.binary(binary, ty);
        }
        if let Some(cast) = any.downcast_ref::<CastExpr>() {
            let from = ty_of(&cast.expr().data_type(self.schema).ok()?)?;
            let exact = match (from, ty) {
                (Ty::I32 | Ty::I64, Ty::F32 | Ty::F64) | (Ty::I32, Ty::I64) => false,
                (Ty::F32, Ty::F64) | (Ty::F64, Ty::F32) => true,
                _ => return None,
            };
            // A NaN goes through a cast between floats (ints have none).
            let arg = self.within(true, exact, |t| t.child(cast.expr(), from))?;
            self.operators += 1;
            return Some(Part::new(format!("{}({})", ty.name(), arg.text), arg.valid));
        }
        if let Some(case) = any.downcast_ref::<CaseExpr>() {
            return self.case(case, ty);
        }
        if let Some(call) = any.downcast_ref::<ScalarFunctionExpr>() {
            return self.call(call, ty);
        }
        None
    }

    /// `x IS NULL` (or `IS NOT NULL`, with `not_null`): always valid.
    fn null_test(&mut self, arg: &Arc<dyn PhysicalExpr>, not_null: bool) -> Option<Part> {
        let from = ty_of(&arg.data_type(self.schema).ok()?)?;
        let arg = self.within(true, false, |t| t.child(arg, from))?;
        self.operators += 1;
        self.sensitive += 1;
        let text = match (arg.valid, not_null) {
            (None, not_null) => not_null.to_string(),
            (Some(v), true) => v,
            (Some(v), false) => format!("~({v})"),
        };
        Some(Part::new(text, None))
    }

    fn binary(&mut self, binary: &BinaryExpr, ty: Ty) -> Option<Part> {
        let op = *binary.op();
        let operands = ty_of(&binary.left().data_type(self.schema).ok()?)?;
        if ty_of(&binary.right().data_type(self.schema).ok()?)? != operands {
            return None;
        }
        if matches!(op, Operator::And | Operator::Or) {
            return self.logic(binary, op == Operator::And);
        }
        let comparison = match op {
            Operator::Eq => "==",
            Operator::NotEq => "!=",
            Operator::Lt => "<",
            Operator::LtEq => "<=",
            Operator::Gt => ">",
            Operator::GtEq => ">=",
            _ => "",
        };
        if !comparison.is_empty() {
            let (left, right) = self.within(true, false, |t| {
                Some((
                    t.operand(binary.left(), operands)?,
                    t.operand(binary.right(), operands)?,
                ))
            })?;
            self.operators += 1;
            let text = if operands.is_float() {
                let key = |side: &Arc<dyn PhysicalExpr>| literal_key(side.as_ref());
                let keys = (key(binary.left()), key(binary.right()));
                float_comparison(comparison, &left.text, &right.text, keys)
            } else {
                format!("{} {comparison} {}", left.text, right.text)
            };
            let valid = both(left.valid.as_deref(), right.valid.as_deref());
            return Some(Part::new(text, valid));
        }
        if operands != ty || ty == Ty::Bool {
            return None;
        }
        let op = match op {
            Operator::Plus => "+",
            Operator::Minus => "-",
            Operator::Multiply => "*",
            Operator::Divide if ty.is_float() => "/",
            Operator::Modulo if ty.is_float() => "fmod",
            _ => return None,
        };
        if !ty.is_float() && !wraps(binary) {
            return None;
        }
        let left = self.operand(binary.left(), ty)?;
        let right = self.operand(binary.right(), ty)?;
        self.operators += 1;
        let valid = both(left.valid.as_deref(), right.valid.as_deref());
        let text = if op == "fmod" {
            format!("fmod({}, {})", left.text, right.text)
        } else {
            format!("{} {op} {}", left.text, right.text)
        };
        Some(Part::new(text, valid))
    }

    /// `AND` (`and`) or `OR`, by Kleene's logic: `false AND NULL` is false, `true OR NULL` true.
    fn logic(&mut self, binary: &BinaryExpr, and: bool) -> Option<Part> {
        let left = self.within(true, false, |t| t.operand(binary.left(), Ty::Bool))?;
        // DataFusion skips the right side when the left decides every row.
        let right = self.within(false, false, |t| t.operand(binary.right(), Ty::Bool))?;
        self.operators += 1;
        self.sensitive += 1;
        let (l, r) = (&left.text, &right.text);
        let (vl, vr) = (left.valid.as_deref(), right.valid.as_deref());
        // Valid where both are, or where one is valid and decides: false for AND, true for OR.
        let (fl, fr) = if and {
            (format!("~{l}"), format!("~{r}"))
        } else {
            (l.clone(), r.clone())
        };
        let valid = either(
            both(vl, vr),
            either(Some(and_valid(vl, &fl)), Some(and_valid(vr, &fr))),
        );
        // Where it is valid: an invalid side counts as the value that does not decide.
        let side = |text: &str, valid: Option<&str>| match valid {
            None => text.to_owned(),
            Some(v) if and => format!("({text} | ~({v}))"),
            Some(v) => format!("({text} & ({v}))"),
        };
        let op = if and { "&" } else { "|" };
        let text = format!("{} {op} {}", side(l, vl), side(r, vr));
        Some(Part::new(text, valid))
    }

    /// `CASE WHEN w THEN t … ELSE e END`: the first `WHEN` that is valid and true gives its
    /// `THEN`; else the `ELSE`, or `NULL` without one.
    fn case(&mut self, case: &CaseExpr, ty: Ty) -> Option<Part> {
        // `CASE x WHEN v …`: DataFusion computes `x` on every row and matches it by Arrow's
        // `eq` (or a table of the literals' bits), which compares floats by their bits as
        // totalOrder does, so -0 is not 0 here; a null `x` or `v` matches nothing.
        let base = match case.expr() {
            Some(x) => {
                let base_ty = ty_of(&x.data_type(self.schema).ok()?)?;
                let part = self.within(true, false, |t| t.child(x, base_ty))?;
                Some((part, base_ty))
            }
            None => None,
        };
        let mut arms = Vec::new();
        for (k, (when, then)) in case.when_then_expr().iter().enumerate() {
            let every_row = k == 0;
            let when = match &base {
                None => self.within(every_row, false, |t| t.child(when, Ty::Bool))?,
                Some((x, base_ty)) => {
                    let v = self.within(every_row, false, |t| t.child(when, *base_ty))?;
                    let text = if base_ty.is_float() {
                        format!("total_order({}) == total_order({})", x.text, v.text)
                    } else {
                        format!("({}) == ({})", x.text, v.text)
                    };
                    Part::new(text, both(x.valid.as_deref(), v.valid.as_deref()))
                }
            };
            let then = self.within(false, false, |t| t.child(then, ty))?;
            arms.push((and_valid(when.valid.as_deref(), &when.text), then));
        }
        let otherwise = match case.else_expr() {
            Some(e) => self.within(false, false, |t| t.child(e, ty))?,
            None => Part::new(zero(ty).to_owned(), Some("false".to_owned())),
        };
        self.operators += 1;
        self.sensitive += 1;
        let mut text = otherwise.text.clone();
        let mut valid = otherwise.valid.clone();
        let any_valid = arms.iter().any(|(_, then)| then.valid.is_some()) || valid.is_some();
        for (taken, then) in arms.iter().rev() {
            text = format!("where({taken}, {}, {text})", then.text);
            if any_valid {
                let v = then.valid.as_deref().unwrap_or("true");
                let rest = valid.as_deref().unwrap_or("true");
                valid = Some(format!("where({taken}, {v}, {rest})"));
            }
        }
        Some(Part::new(text, valid))
    }

    fn call(&mut self, call: &ScalarFunctionExpr, ty: Ty) -> Option<Part> {
        if !ty.is_float() {
            return None;
        }
        if call.name() == "sqrt" && call.args().len() == 1 {
            if !self.nan_reaches {
                return None;
            }
            let (first_read, sensitive) = (self.reads.len(), self.sensitive);
            let arg = self.child(&call.args()[0], ty)?;
            let mut reads = self.reads[first_read..].to_vec();
            reads.sort_unstable();
            reads.dedup();
            if reads.is_empty() || self.sensitive != sensitive {
                // A constant's `sqrt`, if DataFusion has not folded it, or one of an argument
                // whose nulls are not its inputs': DataFusion's.
                return None;
            }
            self.checks.push(Check {
                text: format!("({}) < 0", arg.text),
                reads,
            });
            self.operators += 1;
            return Some(Part::new(format!("sqrt({})", arg.text), arg.valid));
        }
        if !FLOAT_FUNCTIONS.contains(&call.name()) {
            return None;
        }
        let mut args = Vec::new();
        let mut valid = None;
        for a in call.args() {
            let part = self.child(a, ty)?;
            valid = both(valid.as_deref(), part.valid.as_deref());
            args.push(part.text);
        }
        self.operators += 1;
        Some(Part::new(
            format!("{}({})", call.name(), args.join(", ")),
            valid,
        ))
    }

    /// `f` with the context of the node at hand set to `every_row` and `nan_reaches` (each only
    /// narrowed from the parent's), then restored.
    fn within<R>(
        &mut self,
        every_row: bool,
        nan_reaches: bool,
        f: impl FnOnce(&mut Self) -> Option<R>,
    ) -> Option<R> {
        let saved = (self.every_row, self.nan_reaches);
        self.every_row &= every_row;
        self.nan_reaches &= nan_reaches;
        let result = f(self);
        (self.every_row, self.nan_reaches) = saved;
        result
    }

    /// `expr` as an operand: in parentheses unless it is one token (a name, a literal, a
    /// negated name or a call of one argument: nothing with a space in it).
    fn operand(&mut self, expr: &Arc<dyn PhysicalExpr>, ty: Ty) -> Option<Part> {
        let part = self.child(expr, ty)?;
        Some(if part.text.contains(' ') {
            Part::new(format!("({})", part.text), part.valid)
        } else {
            part
        })
    }

    /// `expr`, of type `ty`, below a translated node: its formula, or else an input that
    /// DataFusion computes, where it computes the node on every row.
    fn child(&mut self, expr: &Arc<dyn PhysicalExpr>, ty: Ty) -> Option<Part> {
        if ty_of(&expr.data_type(self.schema).ok()?)? != ty {
            return None;
        }
        let (inputs, operators, sensitive) = (self.inputs.len(), self.operators, self.sensitive);
        let (reads, checks) = (self.reads.len(), self.checks.len());
        if let Some(part) = self.expr(expr) {
            return Some(part);
        }
        // Undo what the failed attempt declared, then take the subtree whole.
        self.inputs.truncate(inputs);
        self.vars.truncate(inputs);
        self.operators = operators;
        self.sensitive = sensitive;
        self.reads.truncate(reads);
        self.checks.truncate(checks);
        if !self.every_row {
            return None;
        }
        let before = self.inputs.len();
        let part = self.input(expr, format!("in{}", self.opaque), ty);
        self.opaque += self.inputs.len() - before;
        Some(part)
    }

    /// The variable of an input, declared on first use, and its validity.
    fn input(&mut self, expr: &Arc<dyn PhysicalExpr>, name: String, ty: Ty) -> Part {
        let k = match self.inputs.iter().position(|c| c.as_ref() == expr.as_ref()) {
            Some(k) => k,
            None => {
                self.inputs.push(Arc::clone(expr));
                self.vars.push((name, ty));
                self.inputs.len() - 1
            }
        };
        self.reads.push(k);
        let valid = (self.validity == Validity::Read).then(|| format!("valid{k}"));
        Part::new(self.vars[k].0.clone(), valid)
    }
}

/// DataFusion's float comparison `x cmp y` (operands' texts), with `keys` the totalOrder keys
/// of whichever operand is a literal neither zero nor NaN. DataFusion compares floats by Arrow's
/// order, IEEE totalOrder, after -0 is made +0 (`apply_cmp` normalizes zeros, so that `-0 = 0`
/// but `NaN > 1`). With `k` the key (`total_order`), that order is `k` except that -0 and +0,
/// neighbours in it, are one: so `x < y` is `k(x) < k(y)` unless `x == y` by IEEE (equal, or
/// both zeros), `x <= y` is `k(x) <= k(y)` or `x == y`, and the others alike. Against a literal
/// that is neither zero nor NaN the keys alone decide: no zero lies between it and a zero.
fn float_comparison(cmp: &str, x: &str, y: &str, keys: (Option<i64>, Option<i64>)) -> String {
    let key = |text: &str, literal: Option<i64>| match literal {
        Some(k) => k.to_string(),
        None => format!("total_order({text})"),
    };
    let by_keys = format!("{} {cmp} {}", key(x, keys.0), key(y, keys.1));
    if keys.0.is_some() || keys.1.is_some() {
        return by_keys;
    }
    match cmp {
        "<" | ">" | "!=" => format!("({by_keys}) & (({x}) != ({y}))"),
        _ => format!("({by_keys}) | (({x}) == ({y}))"),
    }
}

/// The totalOrder key of a float literal that is neither zero nor NaN (what `total_order` gives
/// for it: an `i64` for a `Float64`, an `i32` for a `Float32`).
fn literal_key(expr: &dyn PhysicalExpr) -> Option<i64> {
    let literal = expr.downcast_ref::<Literal>()?;
    let bits = match literal.value() {
        ScalarValue::Float64(Some(v)) if *v != 0.0 && !v.is_nan() => v.to_bits().cast_signed(),
        ScalarValue::Float32(Some(v)) if *v != 0.0 && !v.is_nan() => {
            let bits = i64::from(v.to_bits().cast_signed());
            return Some(bits ^ i64::from((bits as i32 >> 31).cast_unsigned() >> 1));
        }
        _ => return None,
    };
    Some(bits ^ ((bits >> 63).cast_unsigned() >> 1).cast_signed())
}

/// Whether integer `+ - *` wraps on overflow (DataFusion's default) rather than failing: the
/// same expression built without `fail_on_overflow` is equal to it.
fn wraps(binary: &BinaryExpr) -> bool {
    let plain = BinaryExpr::new(
        Arc::clone(binary.left()),
        *binary.op(),
        Arc::clone(binary.right()),
    );
    plain == *binary
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A literal's key is what fnjit's `total_order` gives for it, for `Float64` and `Float32`;
    /// zeros and NaN have none (they compare by the general rule).
    #[test]
    fn literal_keys_are_fnjits_total_order() {
        use fnjit::{TypedFormula, Value};
        let order = |x: Value| {
            let f = TypedFormula::parse("total_order(x)", &[("x", x.ty())]).expect("parse");
            match f.eval(&[x]).expect("eval") {
                Value::I64(k) => k,
                Value::I32(k) => i64::from(k),
                other => panic!("{other:?}"),
            }
        };
        let key = |v: ScalarValue| literal_key(&Literal::new(v));
        for v in [
            1.5,
            -2.0,
            1e300,
            -1e-300,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::MIN_POSITIVE,
        ] {
            assert_eq!(
                key(ScalarValue::Float64(Some(v))),
                Some(order(Value::F64(v))),
                "{v}"
            );
            // -1e-300 is -0 in f32: a zero, tested below.
            let single = v as f32;
            if single != 0.0 {
                let want = Some(order(Value::F32(single)));
                assert_eq!(key(ScalarValue::Float32(Some(single))), want, "{single}");
            }
        }
        for v in [0.0, -0.0, f64::NAN] {
            assert_eq!(key(ScalarValue::Float64(Some(v))), None);
            assert_eq!(key(ScalarValue::Float32(Some(v as f32))), None);
        }
        assert_eq!(key(ScalarValue::Float64(None)), None);
        assert_eq!(key(ScalarValue::Int32(Some(3))), None);
    }

    #[test]
    fn f64_literals_read_back_as_the_same_bits() {
        for v in [
            0.0,
            -0.0,
            1.5,
            -2.25,
            0.1,
            1.0,
            123456.0,
            5e-324,
            -1e-320,
            f64::MAX,
            f64::MIN_POSITIVE,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::NAN,
        ] {
            let text = f64_literal(v).expect("translatable");
            let f = fnjit::Formula::<f64>::parse(&text, &[]).expect("parse");
            let back = f.eval(&[]).expect("eval");
            assert_eq!(back.to_bits(), v.to_bits(), "{v:e} as {text}");
        }
        assert_eq!(f64_literal(f64::from_bits(0x7FF8_0000_0000_0001)), None);
    }

    /// Every literal of the five types reads back as itself, with its own type.
    #[test]
    fn literals_of_every_type_read_back_as_themselves() {
        use fnjit::{TypedFormula, Value};
        let cases = [
            (ScalarValue::Boolean(Some(true)), Value::Bool(true)),
            (ScalarValue::Int32(Some(i32::MIN)), Value::I32(i32::MIN)),
            (ScalarValue::Int32(Some(7)), Value::I32(7)),
            (ScalarValue::Int64(Some(i64::MIN)), Value::I64(i64::MIN)),
            (ScalarValue::Int64(Some(-3)), Value::I64(-3)),
            (ScalarValue::Float32(Some(-0.0)), Value::F32(-0.0)),
            (ScalarValue::Float32(Some(0.1)), Value::F32(0.1)),
            (ScalarValue::Float32(Some(f32::NAN)), Value::F32(f32::NAN)),
            (ScalarValue::Float64(Some(-1e-320)), Value::F64(-1e-320)),
        ];
        for (scalar, want) in cases {
            let text = literal(&scalar).expect("translatable").expect("not null");
            let got = TypedFormula::parse(&text, &[])
                .and_then(|f| f.eval(&[]))
                .expect("eval");
            assert_eq!(got.ty(), want.ty(), "{text}");
            assert!(
                got.same(want) && format!("{got}") == format!("{want}"),
                "{text}: {got}"
            );
        }
        assert_eq!(literal(&ScalarValue::Int32(None)), Some(None));
        assert_eq!(
            literal(&ScalarValue::Float32(Some(f32::from_bits(0x7FC0_0001)))),
            None
        );
        assert_eq!(literal(&ScalarValue::Utf8(Some("x".into()))), None);
    }

    /// What `Check` rests on: a NaN operand makes every node on a `sqrt`'s way to the root NaN,
    /// so a negative `sqrt` argument (NaN out of `sqrt`) reaches the result.
    #[test]
    fn a_nan_operand_makes_every_node_that_carries_a_sqrt_nan() {
        let others = [
            0.0,
            -0.0,
            1.0,
            -1.0,
            0.5,
            1e300,
            f64::INFINITY,
            f64::NEG_INFINITY,
        ];
        let mut formulas: Vec<String> = ["-x", "x + y", "y + x", "x - y", "y - x", "x * y"]
            .into_iter()
            .chain([
                "y * x",
                "x / y",
                "y / x",
                "fmod(x, y)",
                "fmod(y, x)",
                "sqrt(x)",
            ])
            .chain(["f64(f32(x))"])
            .map(str::to_owned)
            .collect();
        for name in FLOAT_FUNCTIONS {
            formulas.push(format!("{name}(x)"));
            formulas.push(format!("{name}(x, y)"));
            formulas.push(format!("{name}(y, x)"));
        }
        let vars = [("x", Ty::F64), ("y", Ty::F64)];
        let mut checked = 0;
        for text in &formulas {
            // One of `f(x)` and `f(x, y)` is not f's arity.
            let Ok(f) = fnjit::TypedFormula::parse(text, &vars) else {
                continue;
            };
            for y in others {
                let r = f
                    .eval(&[fnjit::Value::F64(f64::NAN), fnjit::Value::F64(y)])
                    .expect("eval");
                assert!(
                    matches!(r, fnjit::Value::F64(r) if r.is_nan()),
                    "{text} with x = NaN, y = {y:e}: {r}"
                );
            }
            checked += 1;
        }
        assert_eq!(checked, 13 + FLOAT_FUNCTIONS.len() + 1, "atan2 both ways");
    }
}
