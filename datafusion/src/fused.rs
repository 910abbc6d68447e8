//! One fused kernel in place of an expression tree: the tree's inputs in, one pass over the
//! rows, one array out (`TypedKernel::eval_arrow`); a second pass for where the result is valid
//! when the tree reads nulls (`AND`, `CASE`, `IS NULL`, …), whose kernels are compiled when the
//! first batch with nulls comes; and DataFusion's error where a `sqrt` argument is negative.

use crate::kernels::{Kernels, Language};
use datafusion::arrow::array::{
    Array, ArrayRef, BooleanArray, Float32Array, Float64Array, Int32Array, Int64Array,
};
use datafusion::arrow::buffer::{BooleanBuffer, NullBuffer};
use datafusion::arrow::datatypes::{DataType, Schema};
use datafusion::arrow::error::ArrowError;
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::common::{DataFusionError, Result, exec_datafusion_err};
use datafusion::logical_expr::ColumnarValue;
use datafusion::physical_expr::expressions::Column;
use datafusion::physical_plan::PhysicalExpr;
use fnjit::{Ty, TypedKernel};
use std::fmt;
use std::hash::{Hash, Hasher};
use std::sync::{Arc, OnceLock};

/// A formula's kernels: its value, and where it is valid when that is not wherever its inputs
/// are (`translate::Translation::valid`).
#[derive(Clone, Debug)]
pub(crate) struct Compiled {
    pub(crate) value: Arc<TypedKernel>,
    pub(crate) valid: Option<Arc<TypedKernel>>,
}

impl Compiled {
    /// The result over `columns`: its nulls the union of theirs, and where `valid` says not.
    fn eval(&self, columns: &[&dyn Array]) -> Result<ArrayRef> {
        let out = self.value.eval_arrow(columns).map_err(external)?;
        let Some(valid) = &self.valid else {
            return Ok(out);
        };
        let valid = valid.eval_arrow(columns).map_err(external)?;
        let valid = valid
            .as_any()
            .downcast_ref::<BooleanArray>()
            .ok_or_else(|| internal("a validity formula that is not bool"))?;
        let nulls = NullBuffer::union(
            NullBuffer::union(out.nulls(), valid.nulls()).as_ref(),
            Some(&NullBuffer::new(valid.values().clone())),
        );
        with_nulls(&out, nulls)
    }
}

/// Kernels compiled on first use: a tree's kernels for batches with nulls, which many queries
/// never see, so that planning pays for one compile, not three. The planner has parsed the
/// formulas and checked their types already.
#[derive(Clone, Debug)]
pub(crate) struct Deferred {
    kernels: Arc<Kernels>,
    value: String,
    valid: Option<String>,
    vars: Vec<(String, Ty)>,
    compiled: OnceLock<Result<Compiled, String>>,
}

impl Deferred {
    pub(crate) fn new(
        kernels: Arc<Kernels>,
        value: String,
        valid: Option<String>,
        vars: Vec<(String, Ty)>,
    ) -> Deferred {
        Deferred {
            kernels,
            value,
            valid,
            vars,
            compiled: OnceLock::new(),
        }
    }

    /// The kernels, compiled on the first call (a concurrent caller waits for that compile).
    fn get(&self) -> Result<&Compiled> {
        let compile = || -> Result<Compiled, fnjit::Error> {
            let get = |text: &str| self.kernels.get(Language::Typed, text, &self.vars);
            let value = get(&self.value)?;
            let valid = self.valid.as_deref().map(get).transpose()?;
            Ok(Compiled { value, valid })
        };
        let compiled = self
            .compiled
            .get_or_init(|| compile().map_err(|e| e.to_string()));
        compiled
            .as_ref()
            .map_err(|e| DataFusionError::External(e.clone().into()))
    }
}

/// A fused expression: `formula` over `inputs`.
#[derive(Clone, Debug)]
pub(crate) struct FusedExpr {
    /// The formula as fnjit reads it, over the names in `vars` (and, for a tree that reads
    /// nulls, `valid0`, `valid1`, …, where each input is valid).
    pub(crate) formula: String,
    pub(crate) vars: Vec<String>,
    /// One input per variable: the columns the tree reads, and its subtrees DataFusion computes.
    pub(crate) inputs: Vec<Arc<dyn PhysicalExpr>>,
    /// The kernels for a batch whose inputs have no nulls, or whose tree reads none.
    pub(crate) plain: Compiled,
    /// For a tree that reads nulls, the kernels for a batch with some: over the inputs' values
    /// and then one `bool` per input, where it is valid.
    pub(crate) with_nulls: Option<Deferred>,
    /// The tree's `sqrt` arguments.
    pub(crate) checks: Vec<SqrtCheck>,
    /// The replaced tree's type and nullability, kept so that the plan's schema is unchanged.
    pub(crate) data_type: DataType,
    pub(crate) nullable: bool,
}

/// A `sqrt` argument as a kernel of its own (`translate::Check`: `arg < 0`), computed only for
/// a batch whose result has a NaN: DataFusion errors where it is true and not null.
#[derive(Clone, Debug)]
pub(crate) struct SqrtCheck {
    pub(crate) kernel: Arc<TypedKernel>,
    /// The inputs it reads, as indices into the fused expression's.
    pub(crate) reads: Vec<usize>,
}

impl FusedExpr {
    /// DataFusion's error if a `sqrt` argument is negative in a row where it is not null.
    fn check_sqrt(&self, columns: &[&dyn Array]) -> Result<()> {
        for check in &self.checks {
            let reads: Vec<&dyn Array> = check.reads.iter().map(|&k| columns[k]).collect();
            let negative = check.kernel.eval_arrow(&reads).map_err(external)?;
            let negative = negative
                .as_any()
                .downcast_ref::<BooleanArray>()
                .is_some_and(|n| n.true_count() > 0);
            if negative {
                // Built as DataFusion's `sqrt` builds it (datafusion-functions' math macros).
                let e = exec_datafusion_err!("cannot take square root of a negative number");
                return Err(ArrowError::ComputeError(e.to_string()).into());
            }
        }
        Ok(())
    }
}

/// Whether any value is NaN, null rows included; without a branch inside each chunk, so that it
/// vectorizes.
fn has_nan(out: &dyn Array) -> bool {
    fn any<T: Copy>(values: &[T], nan: impl Fn(T) -> bool) -> bool {
        values
            .chunks(256)
            .any(|chunk| chunk.iter().fold(false, |found, &v| found | nan(v)))
    }
    let any_ref = out.as_any();
    if let Some(a) = any_ref.downcast_ref::<Float64Array>() {
        any(a.values(), f64::is_nan)
    } else if let Some(a) = any_ref.downcast_ref::<Float32Array>() {
        any(a.values(), f32::is_nan)
    } else {
        false
    }
}

/// `array`'s values without its nulls: what a kernel reads beside each input's validity.
fn values_only(array: &dyn Array) -> Result<ArrayRef> {
    with_nulls(array, None)
}

/// `array` with `nulls` in place of its own.
fn with_nulls(array: &dyn Array, nulls: Option<NullBuffer>) -> Result<ArrayRef> {
    let any = array.as_any();
    macro_rules! rebuild {
        ($($t:ty),*) => {$(
            if let Some(a) = any.downcast_ref::<$t>() {
                return Ok(Arc::new(<$t>::new(a.values().clone(), nulls)));
            }
        )*};
    }
    rebuild!(
        BooleanArray,
        Int32Array,
        Int64Array,
        Float32Array,
        Float64Array
    );
    Err(internal("a kernel's column of a type it does not take"))
}

/// Where `array` is valid, as a `bool` column without nulls.
fn validity(array: &dyn Array) -> ArrayRef {
    let valid = match array.nulls() {
        Some(nulls) => nulls.inner().clone(),
        None => BooleanBuffer::new_set(array.len()),
    };
    Arc::new(BooleanArray::new(valid, None))
}

fn external(e: fnjit::Error) -> DataFusionError {
    DataFusionError::External(Box::new(e))
}

fn internal(what: &str) -> DataFusionError {
    DataFusionError::Internal(format!("fnjit: {what}"))
}

impl PartialEq for FusedExpr {
    fn eq(&self, other: &Self) -> bool {
        self.formula == other.formula
            && self.vars == other.vars
            && self.inputs == other.inputs
            && self.data_type == other.data_type
    }
}

impl Eq for FusedExpr {}

impl Hash for FusedExpr {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.formula.hash(state);
        self.vars.hash(state);
        self.inputs.hash(state);
    }
}

impl fmt::Display for FusedExpr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "fnjit({}", self.formula)?;
        let mut sep = "; ";
        for (var, input) in self.vars.iter().zip(&self.inputs) {
            if !input.is::<Column>() {
                write!(f, "{sep}{var} = {input}")?;
                sep = ", ";
            }
        }
        write!(f, ")")
    }
}

impl PhysicalExpr for FusedExpr {
    fn data_type(&self, _input_schema: &Schema) -> Result<DataType> {
        Ok(self.data_type.clone())
    }

    fn nullable(&self, _input_schema: &Schema) -> Result<bool> {
        Ok(self.nullable)
    }

    fn evaluate(&self, batch: &RecordBatch) -> Result<ColumnarValue> {
        let rows = batch.num_rows();
        let arrays = self
            .inputs
            .iter()
            .map(|c| c.evaluate(batch)?.into_array(rows))
            .collect::<Result<Vec<_>>>()?;
        let columns: Vec<&dyn Array> = arrays.iter().map(|a| a.as_ref()).collect();
        let out = match &self.with_nulls {
            Some(kernels) if columns.iter().any(|c| c.null_count() > 0) => {
                let mut read = columns
                    .iter()
                    .map(|c| values_only(*c))
                    .collect::<Result<Vec<_>>>()?;
                read.extend(columns.iter().map(|c| validity(*c)));
                let read: Vec<&dyn Array> = read.iter().map(|a| a.as_ref()).collect();
                kernels.get()?.eval(&read)?
            }
            _ => self.plain.eval(&columns)?,
        };
        if !self.checks.is_empty() && has_nan(out.as_ref()) {
            self.check_sqrt(&columns)?;
        }
        Ok(ColumnarValue::Array(out))
    }

    fn children(&self) -> Vec<&Arc<dyn PhysicalExpr>> {
        self.inputs.iter().collect()
    }

    fn with_new_children(
        self: Arc<Self>,
        children: Vec<Arc<dyn PhysicalExpr>>,
    ) -> Result<Arc<dyn PhysicalExpr>> {
        if children.len() != self.inputs.len() {
            return Err(DataFusionError::Internal(format!(
                "fnjit({}) has {} inputs, but {} were given",
                self.formula,
                self.inputs.len(),
                children.len()
            )));
        }
        Ok(Arc::new(FusedExpr {
            inputs: children,
            ..(*self).clone()
        }))
    }

    fn fmt_sql(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "fnjit('{}')", self.formula.replace('\'', "''"))
    }
}
