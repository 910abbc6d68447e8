//! fnjit in [Apache DataFusion](https://datafusion.apache.org) 55: expressions compiled by
//! Cranelift into one fused loop over the rows, where DataFusion makes one pass per operator.
//!
//! - [`JitExpressions`], a physical optimizer rule, replaces each maximal expression tree of a
//!   projection or a filter that fnjit computes bit for bit as DataFusion does with one fused
//!   kernel (`fnjit::Kernel::eval_arrow`), compiled once per distinct formula and cached.
//! - [`formula_udf`] is the SQL function `fnjit('a * b + sin(a)', a, b)`.
//! - [`context`] is a `SessionContext` with both installed.
//!
//! What fuses, over `Boolean`, `Int32`, `Int64`, `Float32` and `Float64` and their mixes (each
//! tree becomes one typed fnjit formula, `fnjit::TypedKernel`):
//! - columns, literals and `NULL`; `+ - *` and negation (integer arithmetic wraps, as
//!   DataFusion's does unless it fails on overflow), and for floats `/` and `%`;
//! - comparisons: floats by IEEE totalOrder, as Arrow orders them, after -0 is made +0, as
//!   DataFusion does (so `-0 = 0`, and NaN is above every number);
//! - `AND`, `OR`, `NOT`, `IS NULL`, `IS NOT NULL`, `CASE WHEN … THEN … ELSE … END` and `CASE x
//!   WHEN v THEN …` (`x` matched by its bits, as Arrow's `eq` does), by SQL's
//!   three-valued logic: `NULL AND false` is false; a `CASE` takes its first `WHEN` that is true;
//! - the casts that cannot fail: integers to floats, `Int32` to `Int64`, `Float32` to and from
//!   `Float64`;
//! - the float functions DataFusion computes with the same Rust method fnjit calls: `abs acos
//!   asin atan atan2 cbrt cos cosh exp ln log2 log10 sin sinh tan tanh`, and `sqrt`, with
//!   DataFusion's error where its argument is negative and not null (checked only for a batch
//!   whose result has a NaN, which a negative argument always leaves).
//!
//! So a filter such as `WHERE a * b > c AND n < 10` runs fused, its predicate included. What
//! stays DataFusion's, because its meaning differs: integer `/` and `%` (DataFusion errors on a
//! zero divisor), casts that can fail (floats to integers, `Int64` to `Int32`), and every other
//! function. Such a node inside a fused tree becomes one of the kernel's
//! inputs, computed by DataFusion as before (`EXPLAIN` shows `fnjit(c * in0; in0 =
//! signum(a))`), except where DataFusion computes it on some rows only (a `THEN`, an `ELSE`, a
//! later `WHEN`, the right side of `AND`/`OR`): there the node above it stays DataFusion's too.
//! A row is null where any input is null, as DataFusion's arithmetic makes it; a tree with
//! `AND`, `OR`, `CASE` or `IS NULL` computes where it is valid with a second formula over each
//! input's validity (`valid0`, `valid1`, … in `EXPLAIN`), for batches that have nulls.
//!
//! Results are DataFusion's bit for bit, with one exception: which NaN a NaN is. When both
//! operands of an operation are NaN, which one the result carries is the machine code's choice
//! (Rust leaves it unspecified), and DataFusion's own choice varies with its code paths: on
//! x86-64, over a column `c` of `+NaN`, it computes `c + -c` as `-NaN` (the right operand), but
//! folds the same sum of constants into `+NaN` (the left), as fnjit's kernel computes it. Arrow
//! compares floats by totalOrder, which reads a NaN's sign, so a comparison with such a NaN
//! (`WHERE x > 0.5`, `CASE WHEN`) may go the other way; `isnan(x)` is the same in both.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> datafusion::error::Result<()> {
//! use fnjit_datafusion::datafusion;
//! use datafusion::arrow::array::{Array, Float64Array};
//! use datafusion::arrow::datatypes::{DataType, Field, Schema};
//! use datafusion::arrow::record_batch::RecordBatch;
//! use std::sync::Arc;
//!
//! let ctx = fnjit_datafusion::context();
//! let schema = Arc::new(Schema::new(vec![
//!     Field::new("a", DataType::Float64, true),
//!     Field::new("b", DataType::Float64, true),
//! ]));
//! let a = Float64Array::from(vec![Some(1.0), Some(2.0), None]);
//! let b = Float64Array::from(vec![10.0, 20.0, 30.0]);
//! let batch = RecordBatch::try_new(schema, vec![Arc::new(a), Arc::new(b)])?;
//! ctx.register_batch("t", batch)?;
//!
//! let df = ctx.sql("SELECT a * b + sin(a) AS r, fnjit('a * b + sin(a)', a, b) AS u FROM t").await?;
//! let plan = format!("{}", datafusion::physical_plan::displayable(
//!     df.clone().create_physical_plan().await?.as_ref()).indent(true));
//! assert!(plan.contains("fnjit((a * b) + sin(a)) as r"), "{plan}");
//! let batches = df.collect().await?;
//! let r = batches[0].column(0).as_any().downcast_ref::<Float64Array>().unwrap();
//! assert_eq!(r.value(1), 2.0 * 20.0 + 2f64.sin());
//! assert!(r.is_null(2));
//! # Ok(())
//! # }
//! ```

mod fused;
mod kernels;
mod rule;
mod translate;
mod udf;

pub use rule::JitExpressions;
pub use udf::formula_udf;

/// The DataFusion this crate was built against.
pub use datafusion;

use datafusion::execution::SessionStateBuilder;
use datafusion::prelude::SessionContext;
use std::sync::Arc;

/// A `SessionContext` with DataFusion's defaults, [`JitExpressions`] as its last physical
/// optimizer rule, and [`formula_udf`] registered as `fnjit`.
pub fn context() -> SessionContext {
    let state = SessionStateBuilder::new()
        .with_default_features()
        .with_physical_optimizer_rule(Arc::new(JitExpressions::default()))
        .build();
    let ctx = SessionContext::new_with_state(state);
    ctx.register_udf(formula_udf());
    ctx
}
