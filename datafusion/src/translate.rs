//! DataFusion's physical expressions as fnjit formulas: the nodes whose results are fnjit's bit
//! for bit, and nothing else. A subtree below a translated node that does not translate itself
//! becomes an input of the formula, evaluated by DataFusion as before (`in0`, `in1`, …), so a
//! `sqrt` in the middle of a long expression splits nothing.
//!
//! Translated: columns, literals, `+ - *` (and, for `Float64`, `/ %`), negation, the `Float64`
//! functions that DataFusion computes with the same Rust `f64` method fnjit calls, and `sqrt`,
//! whose argument becomes a [`Check`]: DataFusion errors where it is negative (and not null),
//! fnjit's `sqrt` gives NaN there. Every node must have the root's type (no casts). Left to
//! DataFusion, because their meaning differs:
//! - comparisons, and so `CASE WHEN`: arrow orders floats by IEEE totalOrder (NaN above every
//!   number, -0 below +0), fnjit by IEEE `<`; fnjit's integer formulas have no comparisons;
//! - integer `/` and `%`: DataFusion errors on a zero divisor, fnjit's are total;
//! - integer arithmetic that fails on overflow (`fail_on_overflow`); fnjit's wraps, as
//!   DataFusion's does by default;
//! - every function not listed in [`F64_FUNCTIONS`] or `sqrt`.

use datafusion::arrow::datatypes::{DataType, Schema};
use datafusion::common::ScalarValue;
use datafusion::logical_expr::Operator;
use datafusion::physical_expr::ScalarFunctionExpr;
use datafusion::physical_expr::expressions::{BinaryExpr, Column, Literal, NegativeExpr};
use datafusion::physical_plan::PhysicalExpr;
use std::sync::Arc;

/// DataFusion's `Float64` functions computed by the `f64` method of the same name, as fnjit's
/// functions are (`datafusion-functions`' `make_math_unary_udf!`/`make_math_binary_udf!`, and
/// `abs`).
pub(crate) const F64_FUNCTIONS: [&str; 16] = [
    "abs", "acos", "asin", "atan", "atan2", "cbrt", "cos", "cosh", "exp", "ln", "log2", "log10",
    "sin", "sinh", "tan", "tanh",
];

/// The column types a fused kernel computes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Ty {
    F64,
    I64,
    I32,
}

impl Ty {
    fn of(data_type: &DataType) -> Option<Ty> {
        match data_type {
            DataType::Float64 => Some(Ty::F64),
            DataType::Int64 => Some(Ty::I64),
            DataType::Int32 => Some(Ty::I32),
            _ => None,
        }
    }

    /// The literal as fnjit's text, if it is one fnjit reads back as the same bits.
    fn literal(self, value: &ScalarValue) -> Option<String> {
        match (self, value) {
            (Ty::F64, ScalarValue::Float64(Some(v))) => f64_literal(*v),
            (Ty::I64, ScalarValue::Int64(Some(v))) => Some(format!("0x{:X}", *v as u64)),
            (Ty::I32, ScalarValue::Int32(Some(v))) => Some(format!("0x{:X}", *v as u32)),
            _ => None,
        }
    }
}

/// `v` as fnjit's text: the shortest decimal that reads back as `v`, negated in parentheses
/// (so `-0` stays `-0`); NaN only as the one NaN fnjit's `nan` is.
fn f64_literal(v: f64) -> Option<String> {
    if v.is_nan() {
        return (v.to_bits() == f64::NAN.to_bits()).then(|| "nan".to_owned());
    }
    let magnitude = if v.is_infinite() {
        "inf".to_owned()
    } else {
        // Both are the shortest digits that read back as `v`: `1.5`, not `1.5e0`; `1e300`.
        let (plain, exp) = (format!("{}", v.abs()), format!("{:e}", v.abs()));
        if plain.len() <= exp.len() { plain } else { exp }
    };
    Some(if v.is_sign_negative() {
        format!("(-{magnitude})")
    } else {
        magnitude
    })
}

/// An expression tree as a formula over its inputs.
#[derive(Debug)]
pub(crate) struct Translation {
    /// The formula, its variables named as in `vars`.
    pub(crate) text: String,
    /// The variables' names, one per input, in order.
    pub(crate) vars: Vec<String>,
    /// The inputs, in the order of `vars`: columns, and the subtrees left to DataFusion.
    pub(crate) inputs: Vec<Arc<dyn PhysicalExpr>>,
    pub(crate) ty: Ty,
    /// Operators and function calls in the tree.
    pub(crate) operators: usize,
    /// The arguments of its `sqrt` calls.
    pub(crate) checks: Vec<Check>,
}

/// The argument of a `sqrt`, which DataFusion computes in full and refuses where it is negative
/// and not null: a formula over the inputs it reads, and so null where one of them is.
///
/// Every translated node returns NaN when an operand is NaN (`+ - * / %`, negation, `sqrt` and
/// each of [`F64_FUNCTIONS`]; none of `min`, `max`, `pow` or `hypot`, which can drop a NaN), and
/// `sqrt` of a negative number is NaN. So in a row whose result is not NaN no `sqrt` argument was
/// negative, whatever the other inputs were, and a fused kernel computes its checks only when
/// its result has a NaN.
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
) -> Option<Translation> {
    let ty = Ty::of(&expr.data_type(schema).ok()?)?;
    let mut t = Translator {
        schema,
        ty,
        by_name,
        inputs: Vec::new(),
        vars: Vec::new(),
        opaque: 0,
        operators: 0,
        reads: Vec::new(),
        checks: Vec::new(),
    };
    let text = t.expr(expr)?;
    Some(Translation {
        text,
        vars: t.vars,
        inputs: t.inputs,
        ty,
        operators: t.operators,
        checks: t.checks,
    })
}

struct Translator<'a> {
    schema: &'a Schema,
    ty: Ty,
    by_name: bool,
    inputs: Vec<Arc<dyn PhysicalExpr>>,
    vars: Vec<String>,
    /// Subtrees left to DataFusion so far.
    opaque: usize,
    operators: usize,
    /// Every use of a variable, in order, as an index into `vars`.
    reads: Vec<usize>,
    checks: Vec<Check>,
}

impl Translator<'_> {
    /// The formula of `expr`, its operands in parentheses unless they are a column, a literal or
    /// a call.
    fn expr(&mut self, expr: &Arc<dyn PhysicalExpr>) -> Option<String> {
        if Ty::of(&expr.data_type(self.schema).ok()?)? != self.ty {
            return None;
        }
        let any: &dyn PhysicalExpr = expr.as_ref();
        if let Some(column) = any.downcast_ref::<Column>() {
            let name = if self.by_name {
                column.name().to_owned()
            } else {
                format!("c{}", column.index())
            };
            return Some(self.input(expr, name));
        }
        if let Some(literal) = any.downcast_ref::<Literal>() {
            return self.ty.literal(literal.value());
        }
        if let Some(negative) = any.downcast_ref::<NegativeExpr>() {
            let arg = self.operand(negative.arg())?;
            self.operators += 1;
            return Some(format!("-{arg}"));
        }
        if let Some(binary) = any.downcast_ref::<BinaryExpr>() {
            let op = match (binary.op(), self.ty) {
                (Operator::Plus, _) => "+",
                (Operator::Minus, _) => "-",
                (Operator::Multiply, _) => "*",
                (Operator::Divide, Ty::F64) => "/",
                (Operator::Modulo, Ty::F64) => "%",
                _ => return None,
            };
            if self.ty != Ty::F64 && !wraps(binary) {
                return None;
            }
            let left = self.operand(binary.left())?;
            let right = self.operand(binary.right())?;
            self.operators += 1;
            return Some(format!("{left} {op} {right}"));
        }
        if let Some(call) = any.downcast_ref::<ScalarFunctionExpr>() {
            if self.ty == Ty::F64 && call.name() == "sqrt" && call.args().len() == 1 {
                let first_read = self.reads.len();
                let arg = self.child(&call.args()[0])?;
                let mut reads = self.reads[first_read..].to_vec();
                reads.sort_unstable();
                reads.dedup();
                if reads.is_empty() {
                    // A constant's `sqrt`, if DataFusion has not folded it: DataFusion's.
                    return None;
                }
                self.checks.push(Check {
                    text: arg.clone(),
                    reads,
                });
                self.operators += 1;
                return Some(format!("sqrt({arg})"));
            }
            if self.ty != Ty::F64 || !F64_FUNCTIONS.contains(&call.name()) {
                return None;
            }
            let args = call
                .args()
                .iter()
                .map(|a| self.child(a))
                .collect::<Option<Vec<_>>>()?;
            self.operators += 1;
            return Some(format!("{}({})", call.name(), args.join(", ")));
        }
        None
    }

    /// `expr` as an operand: in parentheses unless it is one token (a name, a literal, a
    /// negated name or a call of one argument: nothing with a space in it).
    fn operand(&mut self, expr: &Arc<dyn PhysicalExpr>) -> Option<String> {
        let text = self.child(expr)?;
        Some(if text.contains(' ') {
            format!("({text})")
        } else {
            text
        })
    }

    /// `expr` below a translated node: its formula, or else an input of its own type that
    /// DataFusion computes.
    fn child(&mut self, expr: &Arc<dyn PhysicalExpr>) -> Option<String> {
        let (inputs, operators) = (self.inputs.len(), self.operators);
        let (reads, checks) = (self.reads.len(), self.checks.len());
        if let Some(text) = self.expr(expr) {
            return Some(text);
        }
        // Undo what the failed attempt declared, then take the subtree whole.
        self.inputs.truncate(inputs);
        self.vars.truncate(inputs);
        self.operators = operators;
        self.reads.truncate(reads);
        self.checks.truncate(checks);
        if Ty::of(&expr.data_type(self.schema).ok()?)? != self.ty {
            return None;
        }
        let before = self.inputs.len();
        let name = self.input(expr, format!("in{}", self.opaque));
        self.opaque += self.inputs.len() - before;
        Some(name)
    }

    /// The variable of an input, declared on first use.
    fn input(&mut self, expr: &Arc<dyn PhysicalExpr>, name: String) -> String {
        if let Some(k) = self.inputs.iter().position(|c| c.as_ref() == expr.as_ref()) {
            self.reads.push(k);
            return self.vars[k].clone();
        }
        self.reads.push(self.inputs.len());
        self.inputs.push(Arc::clone(expr));
        self.vars.push(name.clone());
        name
    }
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

    /// What `Check` rests on: a NaN operand makes every translated node NaN, so a negative `sqrt`
    /// argument (NaN out of `sqrt`) reaches the result.
    #[test]
    fn a_nan_operand_makes_every_translated_node_nan() {
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
            .chain(["y * x", "x / y", "y / x", "x % y", "y % x", "sqrt(x)"])
            .map(str::to_owned)
            .collect();
        for name in F64_FUNCTIONS {
            formulas.push(format!("{name}(x)"));
            formulas.push(format!("{name}(x, y)"));
            formulas.push(format!("{name}(y, x)"));
        }
        let mut checked = 0;
        for text in &formulas {
            // One of `f(x)` and `f(x, y)` is not f's arity.
            let Ok(f) = fnjit::Formula::<f64>::parse(text, &["x", "y"]) else {
                continue;
            };
            for y in others {
                let r = f.eval(&[f64::NAN, y]).expect("eval");
                assert!(r.is_nan(), "{text} with x = NaN, y = {y:e}: {r:e}");
            }
            checked += 1;
        }
        assert_eq!(checked, 12 + F64_FUNCTIONS.len() + 1, "atan2 both ways");
    }
}
