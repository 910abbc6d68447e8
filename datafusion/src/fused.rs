//! One fused kernel in place of an expression tree: the tree's inputs in, one pass over the
//! rows, one array out (`Kernel::eval_arrow`).

use crate::kernels::AnyKernel;
use datafusion::arrow::array::Array;
use datafusion::arrow::datatypes::{DataType, Schema};
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::common::{DataFusionError, Result};
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
    formula: String,
    vars: Vec<String>,
    /// One input per variable: the columns the tree reads, and its subtrees DataFusion computes.
    inputs: Vec<Arc<dyn PhysicalExpr>>,
    kernel: Arc<AnyKernel>,
    /// The replaced tree's type and nullability, kept so that the plan's schema is unchanged.
    data_type: DataType,
    nullable: bool,
}

impl FusedExpr {
    pub(crate) fn new(
        formula: String,
        vars: Vec<String>,
        inputs: Vec<Arc<dyn PhysicalExpr>>,
        kernel: Arc<AnyKernel>,
        data_type: DataType,
        nullable: bool,
    ) -> FusedExpr {
        FusedExpr {
            formula,
            vars,
            inputs,
            kernel,
            data_type,
            nullable,
        }
    }
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
        let out = self
            .kernel
            .eval_arrow(&columns)
            .map_err(|e| DataFusionError::External(Box::new(e)))?;
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
