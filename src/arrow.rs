//! Kernels over Arrow arrays (feature `arrow`): [`Kernel::eval_arrow`] reads the values of
//! `Float64`, `Int64` or `Int32` arrays where they lie (a sliced array is an offset into its
//! buffer, not a copy), runs the kernel's loop once over every row, and gives the result the
//! union of the inputs' nulls, combined a word of the validity bitmaps at a time.

use crate::error::Error;
use crate::expr::Number;
use crate::kernel::Kernel;
use arrow_array::types::{Float64Type, Int32Type, Int64Type};
use arrow_array::{Array, ArrayRef, ArrowPrimitiveType, PrimitiveArray};
use arrow_buffer::{NullBuffer, ScalarBuffer};
use std::sync::Arc;

macro_rules! eval_arrow {
    ($t:ty, $arrow:ty, $name:literal $(, #[$example:meta])*) => {
        impl Kernel<$t> {
            #[doc = concat!("Computes the kernel over `", $name, "` arrays, one per variable \
                in order, into a new `", $name, "` array.")]
            ///
            /// A row is null in the result if it is null in any column. The loop still computes
            /// null rows over whatever values lie under them (every operation of the language
            /// is total), so it has no branch per row; the nulls are the bitwise AND of the
            /// columns' validity bitmaps. Sliced arrays are read in place. With no columns (a
            /// formula without variables) the result has no rows: no column gives a length.
            ///
            /// # Errors
            /// [`Error::Shape`], naming the column, when a column is not
            #[doc = concat!("`", $name, "`,")]
            /// when there is not one column per variable, or when a column's length differs
            /// from the first column's.
            $(#[$example])*
            pub fn eval_arrow(&self, columns: &[&dyn Array]) -> Result<ArrayRef, Error> {
                eval::<$arrow>(self, columns)
            }
        }
    };
}

eval_arrow!(
    f64,
    Float64Type,
    "Float64",
    #[doc = ""],
    #[doc = "```"],
    #[doc = "use arrow_array::{Array, Float64Array};"],
    #[doc = "let k = fnjit::compile_kernel::<f64>(\"x * y + 1\", &[\"x\", \"y\"])?;"],
    #[doc = "let x = Float64Array::from(vec![Some(1.0), None, Some(3.0), Some(4.0)]);"],
    #[doc = "let y = Float64Array::from(vec![10.0, 20.0, 30.0]);"],
    #[doc = "let out = k.eval_arrow(&[&x.slice(1, 3), &y])?; // rows 1..4 of x, no copy"],
    #[doc = "let out = out.as_any().downcast_ref::<Float64Array>().unwrap();"],
    #[doc = "assert!(out.is_null(0));"],
    #[doc = "assert_eq!((out.value(1), out.value(2)), (61.0, 121.0));"],
    #[doc = "# Ok::<(), fnjit::Error>(())"],
    #[doc = "```"]
);
eval_arrow!(i64, Int64Type, "Int64");
eval_arrow!(i32, Int32Type, "Int32");

fn eval<A: ArrowPrimitiveType>(
    kernel: &Kernel<A::Native>,
    columns: &[&dyn Array],
) -> Result<ArrayRef, Error>
where
    A::Native: Number,
{
    let arrays = columns
        .iter()
        .enumerate()
        .map(|(k, column)| {
            column
                .as_any()
                .downcast_ref::<PrimitiveArray<A>>()
                .ok_or_else(|| {
                    Error::Shape(format!(
                        "column {k} is {}, but the kernel computes {}: pass {} arrays",
                        column.data_type(),
                        A::DATA_TYPE,
                        A::DATA_TYPE
                    ))
                })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let rows = arrays.first().map_or(0, |a| a.len());
    if let Some(k) = arrays.iter().position(|a| a.len() != rows) {
        return Err(Error::Shape(format!(
            "column {k} has {} rows, but column 0 has {rows}: every column must be as long as \
             the first",
            arrays[k].len()
        )));
    }
    let values: Vec<&[A::Native]> = arrays.iter().map(|a| &a.values()[..]).collect();
    let out = kernel.eval_new(&values, rows)?;
    let nulls = NullBuffer::union_many(arrays.iter().map(|a| a.nulls()));
    Ok(Arc::new(PrimitiveArray::<A>::new(
        ScalarBuffer::from(out),
        nulls,
    )))
}
