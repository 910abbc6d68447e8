//! DataFusion with `JitExpressions` against DataFusion without it, and `fnjit(…)` against fnjit's
//! interpreter: random expressions over random columns with nulls, NaN, ±0, ±inf and subnormals,
//! every result bit for bit (NaN equal to NaN) and every null in the same place. Fixed seeds.

use datafusion::arrow::array::{Array, ArrayRef, Float64Array, Int64Array, new_empty_array};
use datafusion::arrow::compute::concat;
use datafusion::arrow::datatypes::{DataType, Field, Schema};
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::physical_plan::displayable;
use datafusion::prelude::SessionContext;
use fnjit::check::F64_EDGES;
use fnjit_datafusion::datafusion;
use std::sync::Arc;

#[path = "differential/mixed.rs"]
mod mixed;

const ROWS: usize = 3000;

/// SplitMix64.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// A table `t` of columns a, b, c: about a third edge values, the rest random bits, one row in
/// eight null in each column.
fn f64_table(rng: &mut Rng) -> RecordBatch {
    let column = |rng: &mut Rng| -> ArrayRef {
        Arc::new(Float64Array::from_iter((0..ROWS).map(|_| {
            let v = match rng.below(3) {
                0 => F64_EDGES[rng.below(F64_EDGES.len())],
                1 => (rng.below(2001) as f64 - 1000.0) / 64.0,
                _ => f64::from_bits(rng.next()),
            };
            (rng.below(8) != 0).then_some(v)
        })))
    };
    let schema = Schema::new(
        ["a", "b", "c"]
            .map(|n| Field::new(n, DataType::Float64, true))
            .to_vec(),
    );
    let columns = vec![column(rng), column(rng), column(rng)];
    RecordBatch::try_new(Arc::new(schema), columns).expect("batch")
}

const F64_FUNCTIONS: [(&str, usize); 18] = [
    ("abs", 1),
    ("acos", 1),
    ("asin", 1),
    ("atan", 1),
    ("atan2", 2),
    ("cbrt", 1),
    ("cos", 1),
    ("cosh", 1),
    ("exp", 1),
    ("ln", 1),
    ("log2", 1),
    ("log10", 1),
    ("sin", 1),
    ("sinh", 1),
    ("tan", 1),
    ("tanh", 1),
    // DataFusion's errors on a negative argument: see `f64_expr`.
    ("sqrt", 1),
    // Not fused (its meaning differs): it stays DataFusion's, inside fused neighbours.
    ("signum", 1),
];

/// A random Float64 expression in the syntax SQL and fnjit share: `+ - * / %`, unary minus,
/// calls, columns and decimal literals; with `sql`, also `CASE WHEN` on a comparison (not fused).
fn f64_expr(rng: &mut Rng, depth: u32, sql: bool) -> String {
    if depth == 0 || rng.below(5) == 0 {
        return match rng.below(4) {
            0 => ["0.5", "2.0", "1e300", "0.1", "3.0"][rng.below(5)].to_owned(),
            _ => ["a", "b", "c"][rng.below(3)].to_owned(),
        };
    }
    let sub = |rng: &mut Rng| f64_expr(rng, depth - 1, sql);
    match rng.below(if sql { 5 } else { 4 }) {
        0 => format!("-({})", sub(rng)),
        1 | 2 => {
            let op = ["+", "-", "*", "/", "%"][rng.below(5)];
            format!("({}) {op} ({})", sub(rng), sub(rng))
        }
        3 => {
            let functions = if sql {
                F64_FUNCTIONS.len()
            } else {
                F64_FUNCTIONS.len() - 1
            };
            let (name, arity) = F64_FUNCTIONS[rng.below(functions)];
            let mut args: Vec<String> = (0..arity).map(|_| sub(rng)).collect();
            // A negative argument makes the whole query an error in SQL, so most are `abs`'d.
            if sql && name == "sqrt" && rng.below(4) != 0 {
                args[0] = format!("abs({})", args[0]);
            }
            format!("{name}({})", args.join(", "))
        }
        _ => {
            // Arrow compares by totalOrder, which reads a NaN's sign: see the filter below.
            let (x, y) = (sub(rng), sub(rng));
            format!(
                "CASE WHEN NOT isnan({x}) AND NOT isnan({y}) AND ({x}) > ({y}) \
                 THEN ({}) ELSE ({}) END",
                sub(rng),
                sub(rng)
            )
        }
    }
}

async fn run(ctx: &SessionContext, sql: &str) -> (ArrayRef, String) {
    try_run(ctx, sql)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
}

/// The query's first column and its physical plan, or its error's text.
async fn try_run(ctx: &SessionContext, sql: &str) -> Result<(ArrayRef, String), String> {
    let df = ctx.sql(sql).await.map_err(|e| e.to_string())?;
    let plan = df
        .clone()
        .create_physical_plan()
        .await
        .map_err(|e| e.to_string())?;
    let ty = plan.schema().field(0).data_type().clone();
    let plan = displayable(plan.as_ref()).indent(true).to_string();
    let batches = df.collect().await.map_err(|e| e.to_string())?;
    let arrays: Vec<&dyn Array> = batches.iter().map(|b| b.column(0).as_ref()).collect();
    // A filter may pass no row at all, and so give no batch.
    let column = if arrays.is_empty() {
        new_empty_array(&ty)
    } else {
        concat(&arrays).expect("concat")
    };
    Ok((column, plan))
}

/// The same query with and without `JitExpressions`: the same bits and nulls, or the same
/// error. Whether it errored, and whether it fused.
async fn compare(plain: &SessionContext, jit: &SessionContext, sql: &str) -> (bool, bool) {
    match (try_run(plain, sql).await, try_run(jit, sql).await) {
        (Ok((want, _)), Ok((got, plan))) => {
            assert_same_f64(&want, &got, sql);
            (false, plan.contains("fnjit("))
        }
        (Err(want), Err(got)) => {
            assert_eq!(want, got, "{sql}");
            (true, false)
        }
        (want, got) => panic!(
            "{sql}: DataFusion {:?}, fnjit {:?}",
            want.map(|_| "a result"),
            got.map(|_| "a result")
        ),
    }
}

/// Bits and nulls of two Float64 results, row by row.
fn assert_same_f64(want: &ArrayRef, got: &ArrayRef, what: &str) {
    let (want, got) = (
        want.as_any()
            .downcast_ref::<Float64Array>()
            .expect("Float64"),
        got.as_any()
            .downcast_ref::<Float64Array>()
            .expect("Float64"),
    );
    assert_eq!(want.len(), got.len(), "{what}");
    for i in 0..want.len() {
        assert_eq!(want.is_null(i), got.is_null(i), "{what}: null at row {i}");
        if want.is_valid(i) {
            let (w, g) = (want.value(i), got.value(i));
            assert!(
                w.to_bits() == g.to_bits() || (w.is_nan() && g.is_nan()),
                "{what}: row {i}: DataFusion {w:e} ({:#x}), fnjit {g:e} ({:#x})",
                w.to_bits(),
                g.to_bits()
            );
        }
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .expect("tokio")
}

#[test]
fn f64_projections_and_filters_are_datafusions_bit_for_bit() {
    runtime().block_on(async {
        let mut rng = Rng(0xDF55_0001);
        let batch = f64_table(&mut rng);
        let (plain, jit) = (SessionContext::new(), fnjit_datafusion::context());
        for ctx in [&plain, &jit] {
            ctx.register_batch("t", batch.clone()).expect("register");
        }
        let (mut fused, mut errors, total) = (0, 0, 200);
        for _ in 0..total {
            let expr = f64_expr(&mut rng, 4, true);
            let sql = format!("SELECT {expr} AS r FROM t");
            let (error, fuses) = compare(&plain, &jit, &sql).await;
            fused += usize::from(fuses);
            errors += usize::from(error);
            // The same tree in a filter, under a comparison. Rows where it is NaN are left out: arrow compares by totalOrder, which reads a NaN's sign, and
            // which of two NaN operands an operation returns is the machine code's choice (Rust
            // leaves it unspecified), in DataFusion's kernels as in fnjit's (the crate's docs).
            let sql = format!("SELECT a FROM t WHERE ({expr}) > 0.5 AND NOT isnan({expr})");
            compare(&plain, &jit, &sql).await;
        }
        // Leaves and CASE-only trees do not fuse; the rest do. Some `sqrt`s meet a negative
        // argument, which is an error in both.
        assert!(fused * 2 > total, "only {fused} of {total} fused");
        assert!(
            errors > 0 && errors * 10 < total,
            "{errors} of {total} failed"
        );
    });
}

#[test]
fn sqrt_fails_where_datafusions_does() {
    runtime().block_on(async {
        // Row 1: `a` is -1 where `b` is null; row 2: -4 in a null `c` (the value under the null).
        let a = Float64Array::from(vec![4.0, -1.0, 9.0, f64::NAN, -0.0]);
        let b = Float64Array::from(vec![Some(1.0), None, Some(2.0), Some(3.0), Some(4.0)]);
        let c = Float64Array::new(
            vec![1.0, 2.0, -4.0, 16.0, 25.0].into(),
            Some(vec![true, true, false, true, true].into()),
        );
        let schema = Schema::new(
            ["a", "b", "c"]
                .map(|n| Field::new(n, DataType::Float64, true))
                .to_vec(),
        );
        let columns: Vec<ArrayRef> = vec![Arc::new(a), Arc::new(b), Arc::new(c)];
        let batch = RecordBatch::try_new(Arc::new(schema), columns).expect("batch");
        let (plain, jit) = (SessionContext::new(), fnjit_datafusion::context());
        for ctx in [&plain, &jit] {
            ctx.register_batch("t", batch.clone()).expect("register");
        }
        for (expr, fails) in [
            // DataFusion computes `sqrt(a)` on every row: a null `b` does not hide the -1.
            ("sqrt(a) * b + 1.0", true),
            ("b - sqrt(a * 2.0)", true),
            // A null row is not checked, whatever value lies under the null.
            ("sqrt(c) + b * 2.0", false),
            ("sqrt(b * c) - 1.0", false),
            // NaN and -0 are not negative.
            ("sqrt(abs(a) * 2.0) + sqrt(-0.0 * c)", false),
            // Under a CASE, the branch runs on its rows only, fused or not.
            ("CASE WHEN a >= 0 THEN sqrt(a) * b ELSE 0.5 END", false),
            ("CASE WHEN a < 0 THEN sqrt(a) * b ELSE 0.5 END", true),
        ] {
            let sql = format!("SELECT {expr} AS r FROM t");
            let df = jit.sql(&sql).await.expect("plans");
            let plan = df.create_physical_plan().await.expect("plans");
            let plan = displayable(plan.as_ref()).indent(true).to_string();
            assert!(
                plan.contains("fnjit(") && plan.contains("sqrt("),
                "{sql}: {plan}"
            );
            assert_eq!(compare(&plain, &jit, &sql).await.0, fails, "{sql}");
            let sql = format!("SELECT a FROM t WHERE {expr} > 1.0");
            assert_eq!(compare(&plain, &jit, &sql).await.0, fails, "{sql}");
        }
    });
}

#[test]
fn i64_arithmetic_wraps_as_datafusions_does() {
    runtime().block_on(async {
        let mut rng = Rng(0xDF55_0002);
        let edges = [
            0,
            1,
            -1,
            2,
            i64::MIN,
            i64::MAX,
            i64::MIN + 1,
            1 << 32,
            12345,
        ];
        let column = |rng: &mut Rng| -> ArrayRef {
            Arc::new(Int64Array::from_iter((0..ROWS).map(|_| {
                let v = if rng.below(2) == 0 {
                    edges[rng.below(edges.len())]
                } else {
                    rng.next() as i64
                };
                (rng.below(8) != 0).then_some(v)
            })))
        };
        let schema = Schema::new(
            ["a", "b"]
                .map(|n| Field::new(n, DataType::Int64, true))
                .to_vec(),
        );
        let batch =
            RecordBatch::try_new(Arc::new(schema), vec![column(&mut rng), column(&mut rng)])
                .expect("batch");
        let (plain, jit) = (SessionContext::new(), fnjit_datafusion::context());
        for ctx in [&plain, &jit] {
            ctx.register_batch("t", batch.clone()).expect("register");
        }
        for expr in [
            "a + b",
            "a * b - a",
            "-(a * 3) + b * b * b",
            "(a - b) * (a + b) - 9223372036854775807",
            "-a - -b",
        ] {
            let sql = format!("SELECT {expr} AS r FROM t");
            let (want, _) = run(&plain, &sql).await;
            let (got, plan) = run(&jit, &sql).await;
            assert!(plan.contains("fnjit("), "{sql}: {plan}");
            let (want, got) = (
                want.as_any().downcast_ref::<Int64Array>().expect("Int64"),
                got.as_any().downcast_ref::<Int64Array>().expect("Int64"),
            );
            assert_eq!(want, got, "{sql}");
        }
    });
}

#[test]
fn the_udf_is_fnjits_interpreter_bit_for_bit() {
    runtime().block_on(async {
        let mut rng = Rng(0xDF55_0003);
        let batch = f64_table(&mut rng);
        let ctx = fnjit_datafusion::context();
        ctx.register_batch("t", batch.clone()).expect("register");
        let columns: Vec<&Float64Array> = (0..3)
            .map(|c| batch.column(c).as_any().downcast_ref().expect("Float64"))
            .collect();
        for _ in 0..100 {
            let formula = f64_expr(&mut rng, 4, false);
            let sql = format!("SELECT fnjit('{formula}', a, b, c) AS r FROM t");
            let (got, _) = run(&ctx, &sql).await;
            let parsed = fnjit::Formula::<f64>::parse(&formula, &["a", "b", "c"]).expect("parse");
            let want: Float64Array = (0..ROWS)
                .map(|i| {
                    let row = [0, 1, 2].map(|c| columns[c].value(i));
                    let null = (0..3).any(|c| columns[c].is_null(i));
                    (!null).then(|| parsed.eval(&row).expect("eval"))
                })
                .collect();
            assert_same_f64(&(Arc::new(want) as ArrayRef), &got, &sql);
        }
    });
}

#[test]
fn bad_input_is_an_error_in_sql_not_a_panic() {
    runtime().block_on(async {
        let ctx = fnjit_datafusion::context();
        ctx.register_batch("t", f64_table(&mut Rng(1)))
            .expect("register");
        for (sql, says) in [
            ("SELECT fnjit('a +', a) FROM t", "expected an operand"),
            (
                "SELECT fnjit('frob(a)', a) FROM t",
                "unknown function 'frob'",
            ),
            ("SELECT fnjit('a * q', a) FROM t", "unknown name 'q'"),
            ("SELECT fnjit(a, a) FROM t", "string"),
            ("SELECT fnjit('a + a', a, a) FROM t", "fnjit:"),
            ("SELECT fnjit() FROM t", "fnjit"),
            ("SELECT fnjit('a', 'text') FROM t", "pass numbers"),
        ] {
            let result = match ctx.sql(sql).await {
                Ok(df) => df.collect().await.map(|_| ()),
                Err(e) => Err(e),
            };
            let e = result.expect_err(sql).to_string();
            assert!(e.contains(says), "{sql}: {e}");
        }
    });
}
