//! `fnjit('formula', a, b, …)`: a formula of fnjit's language as a SQL function, its variables
//! bound to the arguments by their names.

use crate::kernels::{Kernels, Language};
use datafusion::arrow::array::Array;
use datafusion::arrow::datatypes::{DataType, Field, FieldRef};
use datafusion::common::{DataFusionError, Result, ScalarValue, exec_err, plan_err};
use datafusion::logical_expr::{
    ColumnarValue, ReturnFieldArgs, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature,
    Volatility,
};
use std::hash::{Hash, Hasher};
use std::sync::Arc;

/// The SQL function `fnjit(formula, arg1, …)`, registered under the name `fnjit`.
///
/// `formula` is a string literal in fnjit's language over `f64` (docs/language.md); each further
/// argument is a number column (cast to `DOUBLE`) whose name is a variable of the formula:
/// `SELECT fnjit('a * b + sin(a)', a, b) FROM t` binds `a` to column `a` and `b` to column `b`.
/// An argument's name is its column's, so pass columns (alias an expression in a subquery to
/// give it a name). The result is `DOUBLE`, null where any argument is null. The formula is
/// parsed when the query is planned, so a bad one is a planning error that says where; each
/// distinct formula is compiled once, on first use, and cached.
pub fn formula_udf() -> ScalarUDF {
    ScalarUDF::new_from_impl(FormulaUdf {
        signature: Signature::user_defined(Volatility::Immutable),
        kernels: Arc::default(),
    })
}

#[derive(Debug)]
struct FormulaUdf {
    signature: Signature,
    kernels: Arc<Kernels>,
}

impl PartialEq for FormulaUdf {
    fn eq(&self, other: &Self) -> bool {
        self.signature == other.signature
    }
}

impl Eq for FormulaUdf {}

impl Hash for FormulaUdf {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.signature.hash(state);
    }
}

/// The formula's text from a `fnjit` call's first argument, a string literal.
fn formula(value: Option<&ScalarValue>) -> Result<&str> {
    match value {
        Some(
            ScalarValue::Utf8(Some(text))
            | ScalarValue::LargeUtf8(Some(text))
            | ScalarValue::Utf8View(Some(text)),
        ) => Ok(text),
        _ => plan_err!(
            "fnjit's first argument is the formula, as a string literal: fnjit('a * b', a, b)"
        ),
    }
}

/// The variables: the names of the arguments after the formula.
fn vars(fields: &[FieldRef]) -> Vec<String> {
    fields.iter().skip(1).map(|f| f.name().clone()).collect()
}

fn fnjit_error(e: fnjit::Error) -> DataFusionError {
    DataFusionError::Plan(format!("fnjit: {e}"))
}

impl ScalarUDFImpl for FormulaUdf {
    fn name(&self) -> &str {
        "fnjit"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        arg_types
            .iter()
            .enumerate()
            .map(|(k, ty)| match (k, ty) {
                (0, DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View) => Ok(ty.clone()),
                (0, _) => plan_err!("fnjit's first argument is the formula, a string, not {ty}"),
                (_, ty) if ty.is_numeric() || ty.is_null() => Ok(DataType::Float64),
                (k, ty) => plan_err!("fnjit's argument {} is {ty}: pass numbers", k + 1),
            })
            .collect()
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::Float64)
    }

    fn return_field_from_args(&self, args: ReturnFieldArgs) -> Result<FieldRef> {
        let text = formula(args.scalar_arguments.first().copied().flatten())?;
        let vars = vars(args.arg_fields);
        let names: Vec<&str> = vars.iter().map(String::as_str).collect();
        fnjit::Formula::<f64>::parse(text, &names).map_err(fnjit_error)?;
        let nullable = args.arg_fields.iter().skip(1).any(|f| f.is_nullable());
        Ok(Arc::new(Field::new("fnjit", DataType::Float64, nullable)))
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let Some((first, values)) = args.args.split_first() else {
            return exec_err!("fnjit needs a formula: fnjit('a * b', a, b)");
        };
        let ColumnarValue::Scalar(first) = first else {
            return plan_err!("fnjit's formula must be a string literal, not a column");
        };
        let text = formula(Some(first))?;
        let vars = vars(&args.arg_fields);
        if values.is_empty() {
            // No column gives the rows: the formula is a constant.
            let value = fnjit::Formula::<f64>::parse(text, &[])
                .and_then(|f| f.eval(&[]))
                .map_err(fnjit_error)?;
            return Ok(ColumnarValue::Scalar(ScalarValue::Float64(Some(value))));
        }
        let vars: Vec<(String, fnjit::Ty)> =
            vars.into_iter().map(|v| (v, fnjit::Ty::F64)).collect();
        let kernel = self
            .kernels
            .get(Language::F64, text, &vars)
            .map_err(fnjit_error)?;
        let arrays = values
            .iter()
            .map(|v| v.to_array(args.number_rows))
            .collect::<Result<Vec<_>>>()?;
        let columns: Vec<&dyn Array> = arrays.iter().map(|a| a.as_ref()).collect();
        let out = kernel.eval_arrow(&columns).map_err(fnjit_error)?;
        Ok(ColumnarValue::Array(out))
    }
}
