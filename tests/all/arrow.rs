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

/// `TypedKernel::eval_arrow` over a Boolean, Int32, Int64, Float32 and Float64 column, each
/// with nulls and sliced at its own offset: each non-null row is the interpreter's, each row
/// null where any input is, for a result of each type; and a column of the wrong type is
/// refused by name.
#[test]
fn typed_kernels_over_mixed_arrow_arrays() {
    use arrow_array::{BooleanArray, Float32Array};
    use fnjit::{Ty, TypedFormula, Value};
    let mut rng = Rng::new(0xA770_7E57);
    let n = 200;
    let null = |rng: &mut Rng| rng.below(7) == 0;
    let b: BooleanArray = (0..n + 1)
        .map(|_| (!null(&mut rng)).then(|| rng.below(2) == 0))
        .collect();
    let i: Int32Array = (0..n + 2)
        .map(|_| (!null(&mut rng)).then(|| rng.pick(&I32_EDGES)))
        .collect();
    let l: Int64Array = (0..n + 3)
        .map(|_| (!null(&mut rng)).then(|| rng.pick(&I64_EDGES)))
        .collect();
    let f: Float32Array = (0..n + 4)
        .map(|_| (!null(&mut rng)).then(|| f32::from_bits(rng.next_u64() as u32)))
        .collect();
    let edges = f64_edges();
    let d: Float64Array = (0..n + 5)
        .map(|_| (!null(&mut rng)).then(|| rng.pick(&edges)))
        .collect();
    let (b, i, l, f, d) = (
        b.slice(1, n),
        i.slice(2, n),
        l.slice(3, n),
        f.slice(4, n),
        d.slice(5, n),
    );
    let columns: [&dyn Array; 5] = [&b, &i, &l, &f, &d];
    let vars = [
        ("b", Ty::Bool),
        ("i", Ty::I32),
        ("l", Ty::I64),
        ("f", Ty::F32),
        ("d", Ty::F64),
    ];
    let mut jit = Jit::new().expect("jit");
    for src in [
        "d * i > 100 & l == 3 | b",
        "i // 3 + l % 7",
        "where(b, i, 2)",
        "f * 2 + i32(d)",
        "where(d > 0.5, d * f, l) + i",
    ] {
        let formula = TypedFormula::parse(src, &vars).expect("parse");
        let kernel = jit.compile_typed_kernel(&formula).expect("kernel");
        let out = kernel.eval_arrow(&columns).expect("eval_arrow");
        assert_eq!(out.len(), n, "{src}");
        for r in 0..n {
            let is_null = columns.iter().any(|c| c.is_null(r));
            assert_eq!(out.is_null(r), is_null, "{src}, row {r}");
            if is_null {
                continue;
            }
            let row = [
                Value::Bool(b.value(r)),
                Value::I32(i.value(r)),
                Value::I64(l.value(r)),
                Value::F32(f.value(r)),
                Value::F64(d.value(r)),
            ];
            let want = formula.eval(&row).expect("eval");
            let any = out.as_any();
            let got = match formula.ty() {
                Ty::Bool => Value::Bool(any.downcast_ref::<BooleanArray>().expect("bool").value(r)),
                Ty::I32 => Value::I32(any.downcast_ref::<Int32Array>().expect("i32").value(r)),
                Ty::I64 => Value::I64(any.downcast_ref::<Int64Array>().expect("i64").value(r)),
                Ty::F32 => Value::F32(any.downcast_ref::<Float32Array>().expect("f32").value(r)),
                Ty::F64 => Value::F64(any.downcast_ref::<Float64Array>().expect("f64").value(r)),
            };
            assert!(got.same(want), "{src}, row {r}: {got} against {want}");
        }
    }
    let formula = TypedFormula::parse("b | b", &[("b", Ty::Bool)]).expect("parse");
    let kernel = jit.compile_typed_kernel(&formula).expect("kernel");
    let err = kernel.eval_arrow(&[&i]).expect_err("Int32 for a bool");
    assert_eq!(
        err.to_string(),
        "column 0 is Int32, but its variable is bool: pass Boolean arrays"
    );
}
