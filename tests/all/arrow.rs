//! `Kernel::eval_arrow` against `Kernel::eval` on the same values, for every type: random
//! formulas over columns with edge values and nulls, each column sliced at its own offset (so
//! the validity bitmaps start at different bits), empty arrays, and every refused input.

use crate::common::random::{I32_EDGES, I64_EDGES, Kind, Rng, Tree, VARS, f64_edges, rows};
use arrow_array::{
    Array, ArrayRef, ArrowPrimitiveType, Float64Array, Int32Array, Int64Array, PrimitiveArray,
};
use arrow_buffer::{ArrowNativeType, NullBuffer, ScalarBuffer};
use fnjit::{Error, Formula, Jit, Kernel, Number};

/// Rows of each column as given, before slicing.
const ROWS: usize = 300;
const SEED: u64 = 0xA770_0001;

/// For `T`: its kind, its edge values as bits, its values from bits, and the bits of a value.
trait Case: Number + Copy + ArrowNativeType {
    type Arrow: ArrowPrimitiveType<Native = Self>;
    const KIND: Kind;
    fn edges() -> Vec<u64>;
    fn from_bits(bits: u64) -> Self;
    fn bits(self) -> u64;
    fn eval_arrow(kernel: &Kernel<Self>, columns: &[&dyn Array]) -> Result<ArrayRef, Error>;
}

impl Case for f64 {
    type Arrow = arrow_array::types::Float64Type;
    const KIND: Kind = Kind::F64;
    fn edges() -> Vec<u64> {
        f64_edges().into_iter().map(f64::to_bits).collect()
    }
    fn from_bits(bits: u64) -> f64 {
        f64::from_bits(bits)
    }
    fn bits(self) -> u64 {
        self.to_bits()
    }
    fn eval_arrow(kernel: &Kernel<f64>, columns: &[&dyn Array]) -> Result<ArrayRef, Error> {
        kernel.eval_arrow(columns)
    }
}

impl Case for i64 {
    type Arrow = arrow_array::types::Int64Type;
    const KIND: Kind = Kind::I64;
    fn edges() -> Vec<u64> {
        I64_EDGES.iter().map(|&v| v as u64).collect()
    }
    fn from_bits(bits: u64) -> i64 {
        bits as i64
    }
    fn bits(self) -> u64 {
        self as u64
    }
    fn eval_arrow(kernel: &Kernel<i64>, columns: &[&dyn Array]) -> Result<ArrayRef, Error> {
        kernel.eval_arrow(columns)
    }
}

impl Case for i32 {
    type Arrow = arrow_array::types::Int32Type;
    const KIND: Kind = Kind::I32;
    fn edges() -> Vec<u64> {
        I32_EDGES.iter().map(|&v| u64::from(v as u32)).collect()
    }
    fn from_bits(bits: u64) -> i32 {
        bits as u32 as i32
    }
    fn bits(self) -> u64 {
        u64::from(self as u32)
    }
    fn eval_arrow(kernel: &Kernel<i32>, columns: &[&dyn Array]) -> Result<ArrayRef, Error> {
        kernel.eval_arrow(columns)
    }
}

/// Random formulas of `T`, each over three columns sliced at their own offsets with nulls of
/// their own (one column without any), plus the empty slice: values bit for bit those of
/// `eval` on plain slices of the same values, a row null exactly where a column is.
fn agrees_with_eval<T: Case>(formulas: usize) {
    let mut rng = Rng::new(SEED ^ T::KIND as u64);
    let mut jit = Jit::new().expect("jit");
    for f in 0..formulas {
        let tree = Tree::random(&mut rng, T::KIND, 4);
        let formula = Formula::<T>::parse(&tree.text(), &VARS).expect("parse");
        let kernel = jit.compile_kernel(&formula).expect("compile");
        let values: Vec<Vec<T>> = {
            let rows = rows(&mut rng, ROWS, &T::edges());
            (0..3)
                .map(|c| rows.iter().map(|r| T::from_bits(r[c])).collect())
                .collect()
        };
        // Column c is valid where `valid[c]`; the column `f % 3` has no nulls at all.
        let valid: Vec<Vec<bool>> = (0..3)
            .map(|c| (0..ROWS).map(|_| c == f % 3 || rng.below(5) != 0).collect())
            .collect();
        // The values stay under the nulls too: a null row is computed over them all the same.
        let arrays: Vec<PrimitiveArray<T::Arrow>> = (0..3)
            .map(|c| {
                let nulls = (c != f % 3).then(|| NullBuffer::from(valid[c].clone()));
                PrimitiveArray::new(ScalarBuffer::from(values[c].clone()), nulls)
            })
            .collect();
        // Each column starts at its own offset and all have `len` rows; the last case is empty.
        for (start, len) in [(0, ROWS), (rng.below(9), ROWS - 20), (ROWS / 2, 0)] {
            let offsets = [start, start + 3, start + 11];
            let sliced: Vec<ArrayRef> = (0..3)
                .map(|c| arrays[c].slice(offsets[c].min(ROWS - len), len))
                .map(|a| std::sync::Arc::new(a) as ArrayRef)
                .collect();
            let starts: Vec<usize> = (0..3).map(|c| offsets[c].min(ROWS - len)).collect();
            let columns: Vec<&dyn Array> = sliced.iter().map(|a| a.as_ref()).collect();
            let got = T::eval_arrow(&kernel, &columns).expect("eval_arrow");
            let got = got
                .as_any()
                .downcast_ref::<PrimitiveArray<T::Arrow>>()
                .expect("the kernel's type");
            let plain: Vec<&[T]> = (0..3)
                .map(|c| &values[c][starts[c]..starts[c] + len])
                .collect();
            let mut want = vec![T::from_bits(0); len];
            kernel.eval(&plain, &mut want).expect("eval");
            assert_eq!(got.len(), len);
            for i in 0..len {
                let null = (0..3).any(|c| !valid[c][starts[c] + i]);
                let at = || format!("{} at row {i} of {len} (from {starts:?})", tree.text());
                assert_eq!(got.is_null(i), null, "{}", at());
                assert_eq!(got.value(i).bits(), want[i].bits(), "{}", at());
            }
        }
    }
}

#[test]
fn f64_eval_arrow_is_eval_with_nulls_slices_and_empty_arrays() {
    agrees_with_eval::<f64>(40);
}

#[test]
fn i64_eval_arrow_is_eval_with_nulls_slices_and_empty_arrays() {
    agrees_with_eval::<i64>(25);
}

#[test]
fn i32_eval_arrow_is_eval_with_nulls_slices_and_empty_arrays() {
    agrees_with_eval::<i32>(25);
}

#[test]
fn columns_without_nulls_give_a_result_without_a_null_buffer() {
    let k = fnjit::compile_kernel::<f64>("x * y + 1", &["x", "y"]).expect("compile");
    let (x, y) = (
        Float64Array::from(vec![1.0, 2.0, 3.0]),
        Float64Array::from(vec![10.0, 20.0, 30.0]),
    );
    let out = k.eval_arrow(&[&x, &y]).expect("eval_arrow");
    assert!(out.nulls().is_none(), "{out:?}");
    let out = out
        .as_any()
        .downcast_ref::<Float64Array>()
        .expect("Float64");
    assert_eq!(out.values().to_vec(), [11.0, 41.0, 91.0]);
}

#[test]
fn a_wrong_type_count_or_length_is_an_error_naming_the_column() {
    let k = fnjit::compile_kernel::<f64>("x - y", &["x", "y"]).expect("compile");
    let f = Float64Array::from(vec![1.0, 2.0]);
    let i = Int64Array::from(vec![1, 2]);
    let short = Float64Array::from(vec![1.0]);
    let message = |columns: &[&dyn Array]| match k.eval_arrow(columns) {
        Err(e @ Error::Shape(_)) => e.to_string(),
        other => panic!("not a shape error: {other:?}"),
    };
    assert!(
        message(&[&f, &i]).contains("column 1 is Int64, but the kernel computes Float64"),
        "{}",
        message(&[&f, &i])
    );
    assert!(
        message(&[&f, &short]).contains("column 1 has 1 rows, but column 0 has 2"),
        "{}",
        message(&[&f, &short])
    );
    assert!(
        message(&[&f]).contains("2 variables, but 1 column"),
        "{}",
        message(&[&f])
    );
    let k32 = fnjit::compile_kernel::<i32>("x", &["x"]).expect("compile");
    let e = k32.eval_arrow(&[&i]).expect_err("Int64 into an i32 kernel");
    assert!(e.to_string().contains("column 0 is Int64"), "{e}");
    let e = k32
        .eval_arrow(&[&Int32Array::from(vec![1]), &Int32Array::from(vec![2])])
        .expect_err("two columns for one variable");
    assert!(e.to_string().contains("1 variable, but 2 columns"), "{e}");
}
