//! Kernels over Arrow arrays (feature `arrow`): [`Kernel::eval_arrow`] reads the values of
//! `Float64`, `Int64` or `Int32` arrays where they lie (a sliced array is an offset into its
//! buffer, not a copy), runs the kernel's loop once over every row, and gives the result the
//! union of the inputs' nulls, combined a word of the validity bitmaps at a time.
//! [`TypedKernel::eval_arrow`] does the same over `Boolean`, `Int32`, `Int64`, `Float32` and
//! `Float64` arrays mixed, unpacking booleans from their bits.

use crate::error::Error;
use crate::expr::{Number, Ty};
use crate::kernel::{Column, ColumnMut, Kernel, TypedKernel};
use arrow_array::types::{Float64Type, Int32Type, Int64Type};
use arrow_array::{
    Array, ArrayRef, ArrowPrimitiveType, BooleanArray, Float32Array, Float64Array, Int32Array,
    Int64Array, PrimitiveArray,
};
use arrow_buffer::{BooleanBuffer, Buffer, NullBuffer, ScalarBuffer};
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
    let rows = common_rows(columns)?;
    let values: Vec<&[A::Native]> = arrays.iter().map(|a| &a.values()[..]).collect();
    let out = kernel.eval_new(&values, rows)?;
    let nulls = NullBuffer::union_many(arrays.iter().map(|a| a.nulls()));
    Ok(Arc::new(PrimitiveArray::<A>::new(
        ScalarBuffer::from(out),
        nulls,
    )))
}

/// The columns' one length (0 without columns: no column gives a length).
///
/// # Errors
/// [`Error::Shape`] when a column's length differs from the first column's.
fn common_rows(columns: &[&dyn Array]) -> Result<usize, Error> {
    let rows = columns.first().map_or(0, |a| a.len());
    match columns.iter().position(|a| a.len() != rows) {
        None => Ok(rows),
        Some(k) => Err(Error::Shape(format!(
            "column {k} has {} rows, but column 0 has {rows}: every column must be as long as \
             the first",
            columns[k].len()
        ))),
    }
}

/// A typed kernel's column read from an Arrow array: numbers where they lie, booleans unpacked
/// from their bits into bytes (the loop reads one `bool` per row).
enum Read<'a> {
    InPlace(Column<'a>),
    Unpacked(Vec<bool>),
}

impl TypedKernel {
    /// Computes the kernel over Arrow arrays, one per variable in order, each of its variable's
    /// type (`Boolean`, `Int32`, `Int64`, `Float32` or `Float64`), into a new array of the
    /// formula's type. A row is null in the result if it is null in any column, as for
    /// [`Kernel::eval_arrow`]; numbers are read in place, booleans unpacked from their bits.
    ///
    /// ```
    /// use arrow_array::{Array, BooleanArray, Float64Array, Int32Array};
    /// use fnjit::{Ty, TypedFormula};
    /// let f = TypedFormula::parse("where(ok, a * 2, n)", &[("ok", Ty::Bool), ("a", Ty::F64), ("n", Ty::I32)])?;
    /// let k = fnjit::Jit::new()?.compile_typed_kernel(&f)?;
    /// let ok = BooleanArray::from(vec![true, false, true]);
    /// let a = Float64Array::from(vec![Some(1.5), Some(2.0), None]);
    /// let n = Int32Array::from(vec![7, 8, 9]);
    /// let out = k.eval_arrow(&[&ok, &a, &n])?;
    /// let out = out.as_any().downcast_ref::<Float64Array>().unwrap();
    /// assert_eq!((out.value(0), out.value(1), out.is_null(2)), (3.0, 8.0, true));
    /// # Ok::<(), fnjit::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::Shape`], naming the column, when a column is not of its variable's type, when
    /// there is not one column per variable, or when a column's length differs from the first
    /// column's.
    pub fn eval_arrow(&self, columns: &[&dyn Array]) -> Result<ArrayRef, Error> {
        let types = self.var_types();
        if columns.len() != types.len() {
            return Err(Error::Shape(format!(
                "the kernel has {} variables, but {} columns were given: pass one per variable, \
                 in order",
                types.len(),
                columns.len()
            )));
        }
        let reads = columns
            .iter()
            .zip(types)
            .enumerate()
            .map(|(k, (column, &ty))| read(k, *column, ty))
            .collect::<Result<Vec<_>, _>>()?;
        let rows = common_rows(columns)?;
        let cols: Vec<Column<'_>> = reads
            .iter()
            .map(|r| match r {
                Read::InPlace(c) => *c,
                Read::Unpacked(v) => Column::Bool(v),
            })
            .collect();
        let nulls = NullBuffer::union_many(columns.iter().map(|a| a.nulls()));
        macro_rules! out {
            ($t:ty, $variant:ident, |$v:ident| $array:expr) => {{
                let mut $v: Vec<$t> = vec![<$t>::default(); rows];
                self.eval(&cols, ColumnMut::$variant(&mut $v))?;
                Arc::new($array) as ArrayRef
            }};
        }
        Ok(match self.ty() {
            Ty::Bool => out!(bool, Bool, |v| BooleanArray::new(pack(&v), nulls)),
            Ty::I32 => out!(i32, I32, |v| Int32Array::new(ScalarBuffer::from(v), nulls)),
            Ty::I64 => out!(i64, I64, |v| Int64Array::new(ScalarBuffer::from(v), nulls)),
            Ty::F32 => out!(f32, F32, |v| Float32Array::new(
                ScalarBuffer::from(v),
                nulls
            )),
            Ty::F64 => out!(f64, F64, |v| Float64Array::new(
                ScalarBuffer::from(v),
                nulls
            )),
        })
    }
}

/// `values` as Arrow's bits, least significant first: eight at a time, each byte's 0 or 1 moved
/// to its bit by one multiply (where Arrow's `From<&[bool]>` tests and sets bit by bit).
fn pack(values: &[bool]) -> BooleanBuffer {
    let words = values.chunks(64).map(|chunk| {
        let mut word = 0u64;
        for (i, eight) in chunk.chunks(8).enumerate() {
            let mut bytes = [0u8; 8];
            for (byte, &v) in bytes.iter_mut().zip(eight) {
                *byte = u8::from(v);
            }
            // Byte j (0 or 1, at bit 8j) times 2^(56 - 7j) lands at bit 56 + j; the other
            // products fall below bit 56 or above bit 63, each at its own bit, so none carries.
            let bits = u64::from_le_bytes(bytes).wrapping_mul(0x0102_0408_1020_4080) >> 56;
            word |= bits << (8 * i);
        }
        word.to_le()
    });
    BooleanBuffer::new(
        Buffer::from_vec(words.collect::<Vec<u64>>()),
        0,
        values.len(),
    )
}

/// Column `k`, `array`, as variable `k`'s type `ty`.
fn read(k: usize, array: &dyn Array, ty: Ty) -> Result<Read<'_>, Error> {
    let any = array.as_any();
    let read = match ty {
        Ty::Bool => any
            .downcast_ref::<BooleanArray>()
            .map(|a| Read::Unpacked(a.values().iter().collect())),
        Ty::I32 => any
            .downcast_ref::<Int32Array>()
            .map(|a| Read::InPlace(Column::I32(a.values()))),
        Ty::I64 => any
            .downcast_ref::<Int64Array>()
            .map(|a| Read::InPlace(Column::I64(a.values()))),
        Ty::F32 => any
            .downcast_ref::<Float32Array>()
            .map(|a| Read::InPlace(Column::F32(a.values()))),
        Ty::F64 => any
            .downcast_ref::<Float64Array>()
            .map(|a| Read::InPlace(Column::F64(a.values()))),
    };
    read.ok_or_else(|| {
        Error::Shape(format!(
            "column {k} is {}, but its variable is {ty}: pass {} arrays",
            array.data_type(),
            match ty {
                Ty::Bool => "Boolean",
                Ty::I32 => "Int32",
                Ty::I64 => "Int64",
                Ty::F32 => "Float32",
                Ty::F64 => "Float64",
            }
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every length up to three words and a tail, over patterns that set each bit alone and
    /// with its neighbours: the same bits as Arrow's own conversion.
    #[test]
    fn packed_bools_are_arrows_bits() {
        for len in 0..200 {
            for pattern in [0u64, 1, 0x5555, 0xFFFF_FFFF, 0x9E37_79B9_7F4A_7C15] {
                let values: Vec<bool> = (0..len)
                    .map(|i| pattern.rotate_left(i as u32 * 7) & 1 == 1)
                    .collect();
                assert_eq!(
                    pack(&values),
                    BooleanBuffer::from(values.as_slice()),
                    "{len}"
                );
            }
        }
    }
}
