//! One fused kernel in place of an expression tree: the tree's inputs in, one pass over the
//! rows, one array out (`Kernel::eval_arrow`); and DataFusion's error where a `sqrt` argument is
//! negative.

use crate::kernels::AnyKernel;
use datafusion::arrow::array::{Array, Float64Array};
use datafusion::arrow::datatypes::{DataType, Schema};
use datafusion::arrow::error::ArrowError;
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::common::{DataFusionError, Result, exec_datafusion_err};
use datafusion::logical_expr::ColumnarValue;
use datafusion::physical_expr::expressions::Column;
use datafusion::physical_plan::PhysicalExpr;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

/// A fused expression: `formula` over `inputs`, computed by `kernel`.
#[derive(Clone, Debug)]
pub(crate) struct FusedExpr {
    /// The formula as fnjit reads it, over the names in `vars`.
    pub(crate) formula: String,
    pub(crate) vars: Vec<String>,
    /// One input per variable: the columns the tree reads, and its subtrees DataFusion computes.
    pub(crate) inputs: Vec<Arc<dyn PhysicalExpr>>,
    pub(crate) kernel: Arc<AnyKernel>,
    /// The tree's `sqrt` arguments.
    pub(crate) checks: Vec<SqrtCheck>,
    /// The replaced tree's type and nullability, kept so that the plan's schema is unchanged.
    pub(crate) data_type: DataType,
    pub(crate) nullable: bool,
}

/// A `sqrt` argument as a kernel of its own (`translate::Check`), computed only for a batch
/// whose result has a NaN: DataFusion errors where it is negative and not null.
#[derive(Clone, Debug)]
pub(crate) struct SqrtCheck {
    pub(crate) kernel: Arc<AnyKernel>,
    /// The inputs it reads, as indices into the fused expression's.
    pub(crate) reads: Vec<usize>,
}

impl FusedExpr {
    /// DataFusion's error if a `sqrt` argument is negative in a row where it is not null.
    fn check_sqrt(&self, columns: &[&dyn Array]) -> Result<()> {
        for check in &self.checks {
            let reads: Vec<&dyn Array> = check.reads.iter().map(|&k| columns[k]).collect();
            let arg = check.kernel.eval_arrow(&reads).map_err(external)?;
            let negative = arg
                .as_any()
                .downcast_ref::<Float64Array>()
                .is_some_and(|arg| arg.iter().any(|v| v.is_some_and(|v| v < 0.0)));
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
fn has_nan(values: &[f64]) -> bool {
    values
        .chunks(256)
        .any(|chunk| chunk.iter().fold(false, |nan, v| nan | v.is_nan()))
}

fn external(e: fnjit::Error) -> DataFusionError {
    DataFusionError::External(Box::new(e))
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
        let out = self.kernel.eval_arrow(&columns).map_err(external)?;
        if !self.checks.is_empty() {
            let values = out
                .as_any()
                .downcast_ref::<Float64Array>()
                .map(|a| a.values());
            if values.is_some_and(|v| has_nan(v)) {
                self.check_sqrt(&columns)?;
            }
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
