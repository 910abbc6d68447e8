//! `JitExpressions`: the physical optimizer rule that puts fused kernels in projections and
//! filters.

use crate::fused::{self, Deferred, FusedExpr, SqrtCheck};
use crate::kernels::{Kernels, Language};
use crate::translate::{Translation, Validity, translate};
use datafusion::arrow::datatypes::Schema;
use datafusion::common::Result;
use datafusion::common::config::ConfigOptions;
use datafusion::common::tree_node::{Transformed, TreeNode};
use datafusion::physical_optimizer::PhysicalOptimizerRule;
use datafusion::physical_plan::filter::{FilterExec, FilterExecBuilder};
use datafusion::physical_plan::projection::{ProjectionExec, ProjectionExpr};
use datafusion::physical_plan::{ExecutionPlan, PhysicalExpr};
use fnjit::Ty;
use std::sync::Arc;

/// Replaces each maximal expression tree of a projection or a filter that fnjit computes bit for
/// bit as DataFusion does with one fused kernel, compiled by Cranelift and cached by formula.
///
/// A tree is fused when it has at least one operator or function; what it can fuse is listed in
/// the crate's documentation. Anything else stays as it was: an integer division on top of two
/// fused sides keeps DataFusion's division, and a `signum` inside a fused tree becomes one of
/// its inputs, computed by DataFusion. In `EXPLAIN` a fused tree reads `fnjit(formula)`, with its
/// inputs other than columns after it (`fnjit(a * in0; in0 = signum(b))`).
#[derive(Debug, Default)]
pub struct JitExpressions {
    kernels: Arc<Kernels>,
}

impl PhysicalOptimizerRule for JitExpressions {
    fn optimize(
        &self,
        plan: Arc<dyn ExecutionPlan>,
        _config: &ConfigOptions,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        plan.transform_up(|node| self.rewrite_node(node))
            .map(|t| t.data)
    }

    fn name(&self) -> &str {
        "fnjit_expressions"
    }

    fn schema_check(&self) -> bool {
        true
    }
}

impl JitExpressions {
    fn rewrite_node(
        &self,
        node: Arc<dyn ExecutionPlan>,
    ) -> Result<Transformed<Arc<dyn ExecutionPlan>>> {
        if let Some(projection) = node.downcast_ref::<ProjectionExec>() {
            let schema = projection.input().schema();
            let mut fused = false;
            let exprs = projection
                .expr()
                .iter()
                .map(|p| match self.rewrite(&p.expr, &schema) {
                    Some(expr) => {
                        fused = true;
                        ProjectionExpr {
                            expr,
                            alias: p.alias.clone(),
                        }
                    }
                    None => p.clone(),
                })
                .collect::<Vec<_>>();
            if fused {
                let input = Arc::clone(projection.input());
                return Ok(Transformed::yes(Arc::new(ProjectionExec::try_new(
                    exprs, input,
                )?)));
            }
        } else if let Some(filter) = node.downcast_ref::<FilterExec>()
            && let Some(predicate) = self.rewrite(filter.predicate(), &filter.input().schema())
        {
            let filter = FilterExecBuilder::from(filter)
                .with_predicate(predicate)
                .build()?;
            return Ok(Transformed::yes(Arc::new(filter)));
        }
        Ok(Transformed::no(node))
    }

    /// `expr` with its maximal translatable trees fused, or `None` if none was.
    fn rewrite(
        &self,
        expr: &Arc<dyn PhysicalExpr>,
        schema: &Schema,
    ) -> Option<Arc<dyn PhysicalExpr>> {
        if let Some(fused) = self.fuse(expr, schema) {
            return Some(fused);
        }
        let children = expr.children();
        let rewritten: Vec<Option<Arc<dyn PhysicalExpr>>> =
            children.iter().map(|c| self.rewrite(c, schema)).collect();
        if rewritten.iter().all(Option::is_none) {
            return None;
        }
        let children = children
            .into_iter()
            .zip(rewritten)
            .map(|(old, new)| new.unwrap_or_else(|| Arc::clone(old)))
            .collect();
        // A node that refuses its own children back keeps its tree as it was.
        Arc::clone(expr).with_new_children(children).ok()
    }

    /// `expr` as one kernel, if its root translates, it has an operator, and it has an input.
    /// The subtrees it leaves to DataFusion are rewritten in turn.
    fn fuse(&self, expr: &Arc<dyn PhysicalExpr>, schema: &Schema) -> Option<Arc<dyn PhysicalExpr>> {
        // Columns by name read best in a plan; a name fnjit cannot take as a variable (a
        // function's, a duplicate, not an identifier) falls back to the column's index.
        let first = translate(expr, schema, true, Validity::Assumed)?;
        if first.operators == 0 || first.inputs.is_empty() {
            return None;
        }
        let (by_name, t, plain) = match self.kernels_of(&first) {
            Some(plain) => (true, first, plain),
            None => {
                let t = translate(expr, schema, false, Validity::Assumed)?;
                let plain = self.kernels_of(&t)?;
                (false, t, plain)
            }
        };
        // A tree that reads nulls shows its formula over the inputs' validity (`valid0`, …). Its
        // kernels for batches with nulls are typed now and compiled when one comes.
        let (formula, with_nulls) = if t.sensitive {
            let read = translate(expr, schema, by_name, Validity::Read)?;
            if !typed_as_the_tree(&read) {
                return None;
            }
            let kernels = Arc::clone(&self.kernels);
            let deferred = Deferred::new(kernels, read.text.clone(), read.valid, read.vars);
            (read.text, Some(deferred))
        } else {
            (t.text.clone(), None)
        };
        let checks = t
            .checks
            .iter()
            .map(|check| {
                let vars: Vec<_> = check.reads.iter().map(|&k| t.vars[k].clone()).collect();
                let kernel = self.kernels.get(Language::Typed, &check.text, &vars).ok()?;
                (kernel.ty() == Ty::Bool).then(|| SqrtCheck {
                    kernel,
                    reads: check.reads.clone(),
                })
            })
            .collect::<Option<Vec<_>>>()?;
        let inputs = t
            .inputs
            .iter()
            .map(|input| {
                self.rewrite(input, schema)
                    .unwrap_or_else(|| Arc::clone(input))
            })
            .collect();
        Some(Arc::new(FusedExpr {
            formula,
            vars: t.vars.into_iter().map(|(name, _)| name).collect(),
            inputs,
            plain,
            with_nulls,
            checks,
            data_type: expr.data_type(schema).ok()?,
            nullable: expr.nullable(schema).ok()?,
        }))
    }

    /// The kernels of a translation, if fnjit takes it and computes the tree's type.
    fn kernels_of(&self, t: &Translation) -> Option<fused::Compiled> {
        if !typed_as_the_tree(t) {
            return None;
        }
        let vars = &t.vars;
        let value = self.kernels.get(Language::Typed, &t.text, vars).ok()?;
        let valid = match &t.valid {
            Some(text) => Some(self.kernels.get(Language::Typed, text, vars).ok()?),
            None => None,
        };
        Some(fused::Compiled { value, valid })
    }
}

/// Whether fnjit parses the translation's formulas, its value of the tree's type and its
/// validity a `bool`.
fn typed_as_the_tree(t: &Translation) -> bool {
    Kernels::ty(&t.text, &t.vars) == Some(t.ty)
        && t.valid
            .as_ref()
            .is_none_or(|valid| Kernels::ty(valid, &t.vars) == Some(Ty::Bool))
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::array::{ArrayRef, Float64Array};
    use datafusion::arrow::datatypes::{DataType, Field};
    use datafusion::arrow::record_batch::RecordBatch;
    use datafusion::execution::SessionStateBuilder;
    use datafusion::prelude::SessionContext;

    /// A context with the rule, and a table `t` of Float64 columns `a` and `b`.
    fn context(
        a: Vec<Option<f64>>,
        b: Vec<Option<f64>>,
    ) -> Result<(Arc<JitExpressions>, SessionContext)> {
        let rule = Arc::new(JitExpressions::default());
        let state = SessionStateBuilder::new()
            .with_default_features()
            .with_physical_optimizer_rule(Arc::clone(&rule) as _)
            .build();
        let ctx = SessionContext::new_with_state(state);
        let nullable = a.iter().chain(&b).any(Option::is_none);
        let schema = Arc::new(Schema::new(vec![
            Field::new("a", DataType::Float64, nullable),
            Field::new("b", DataType::Float64, nullable),
        ]));
        let (a, b): (ArrayRef, ArrayRef) = (
            Arc::new(Float64Array::from(a)),
            Arc::new(Float64Array::from(b)),
        );
        ctx.register_batch("t", RecordBatch::try_new(schema, vec![a, b])?)?;
        Ok((rule, ctx))
    }

    /// A column alone, or a tree without an operator, is left as it is without a compile; a
    /// tree is compiled once however often it is planned.
    #[tokio::test]
    async fn only_trees_with_an_operator_are_compiled() -> Result<()> {
        let (rule, ctx) = context(vec![Some(1.0), Some(2.0)], vec![Some(1.0), Some(2.0)])?;
        for _ in 0..2 {
            let sql = "SELECT a, b AS c, a * b AS r FROM t WHERE b > 0.5";
            ctx.sql(sql).await?.create_physical_plan().await?;
        }
        // `a * b` and `b > 0.5`, each once.
        assert_eq!(rule.kernels.len(), 2);
        Ok(())
    }

    /// A tree that reads nulls (`AND`) compiles its kernel for batches without nulls when it is
    /// planned, and those for batches with nulls (its value and its validity) only when one
    /// comes; then it gives DataFusion's rows.
    #[tokio::test]
    async fn the_kernels_for_nulls_compile_when_a_batch_has_some() -> Result<()> {
        let a = vec![Some(1.0), None, Some(3.0)];
        let (rule, ctx) = context(a, vec![Some(0.5), Some(9.0), None])?;
        let sql = "SELECT a FROM t WHERE a > 0.5 AND b < 2";
        let plan = ctx.sql(sql).await?.create_physical_plan().await?;
        assert!(
            datafusion::physical_plan::displayable(plan.as_ref())
                .indent(false)
                .to_string()
                .contains("fnjit("),
            "not fused"
        );
        assert_eq!(rule.kernels.len(), 1);
        let batches = datafusion::physical_plan::collect(plan, ctx.task_ctx()).await?;
        assert_eq!(rule.kernels.len(), 3);
        let rows: Vec<Option<f64>> = batches
            .iter()
            .flat_map(|b| {
                let a = b.column(0).as_any().downcast_ref::<Float64Array>();
                a.map(|a| a.iter().collect::<Vec<_>>()).unwrap_or_default()
            })
            .collect();
        // Row 1: NULL AND true is NULL; row 2: true AND NULL is NULL: only row 0 passes.
        assert_eq!(rows, [Some(1.0)]);
        Ok(())
    }
}
