//! Mixed types with and without `JitExpressions`: random projections and filters over a table
//! of Boolean, Int32, Int64, Float32 and Float64 columns with nulls, edge values and random bits,
//! of comparisons, `AND`/`OR`/`NOT` and `IS [NOT] NULL` by three-valued logic, `CASE`, casts and
//! Int/Float arithmetic; every result bit for bit and null for null, or the same error.

use super::{Rng, runtime, try_run};
use datafusion::arrow::array::{
    Array, ArrayRef, BooleanArray, Float32Array, Float64Array, Int32Array, Int64Array,
};
use datafusion::arrow::datatypes::{DataType, Field, Schema};
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::prelude::SessionContext;
use fnjit::check::F64_EDGES;
use fnjit_datafusion::datafusion;
use std::sync::Arc;

const ROWS: usize = 2000;

/// Columns `p` (Boolean), `i` (Int32), `l` (Int64), `f` (Float32), `d` and `e` (Float64): about
/// half edge values, the rest random bits or small numbers, one row in six null in each.
fn table(rng: &mut Rng) -> RecordBatch {
    fn values<T>(rng: &mut Rng, mut value: impl FnMut(&mut Rng) -> T) -> Vec<Option<T>> {
        (0..ROWS)
            .map(|_| {
                let v = value(rng);
                (rng.below(6) != 0).then_some(v)
            })
            .collect()
    }
    let i32_edges = [0, 1, -1, 3, 10, -7, i32::MIN, i32::MAX];
    let i64_edges = [0, 1, -1, 3, 10, 100, i64::MIN, i64::MAX, 1 << 40];
    let f32_edges = [
        0.0,
        -0.0,
        0.5,
        1.0,
        -1.5,
        10.0,
        f32::NAN,
        -f32::NAN,
        f32::INFINITY,
    ];
    let p = values(rng, |r| r.below(2) == 0);
    let i = values(rng, |r| match r.below(3) {
        0 => i32_edges[r.below(i32_edges.len())],
        1 => r.below(21) as i32 - 10,
        _ => r.next() as i32,
    });
    let l = values(rng, |r| match r.below(3) {
        0 => i64_edges[r.below(i64_edges.len())],
        1 => r.below(201) as i64 - 100,
        _ => r.next() as i64,
    });
    let f = values(rng, |r| match r.below(3) {
        0 => f32_edges[r.below(f32_edges.len())],
        1 => (r.below(41) as f32 - 20.0) / 4.0,
        _ => f32::from_bits(r.next() as u32),
    });
    let float = |rng: &mut Rng| {
        values(rng, |r| match r.below(3) {
            0 => F64_EDGES[r.below(F64_EDGES.len())],
            1 => (r.below(201) as f64 - 100.0) / 8.0,
            _ => f64::from_bits(r.next()),
        })
    };
    let (d, e) = (float(rng), float(rng));
    let schema = Schema::new(vec![
        Field::new("p", DataType::Boolean, true),
        Field::new("i", DataType::Int32, true),
        Field::new("l", DataType::Int64, true),
        Field::new("f", DataType::Float32, true),
        Field::new("d", DataType::Float64, true),
        Field::new("e", DataType::Float64, true),
    ]);
    let columns: Vec<ArrayRef> = vec![
        Arc::new(BooleanArray::from(p)),
        Arc::new(Int32Array::from(i)),
        Arc::new(Int64Array::from(l)),
        Arc::new(Float32Array::from(f)),
        Arc::new(Float64Array::from(d)),
        Arc::new(Float64Array::from(e)),
    ];
    RecordBatch::try_new(Arc::new(schema), columns).expect("batch")
}

fn pick<'a>(rng: &mut Rng, items: &[&'a str]) -> &'a str {
    items[rng.below(items.len())]
}

/// A simple number: a column, a literal, or one of them with a literal. A comparison reads a
/// NaN's sign (Arrow orders floats by totalOrder), and which of two NaN operands an operation
/// returns is the machine code's choice, so comparisons take these only, which hold at most
/// one NaN.
fn simple(rng: &mut Rng) -> String {
    let leaf = pick(rng, &["i", "l", "f", "d", "e", "d", "i", "l"]);
    match rng.below(4) {
        0 => pick(rng, &["0", "3", "-2", "0.5", "-0.0", "1e300", "2147483647"]).to_owned(),
        1 => format!(
            "{leaf} {} {}",
            pick(rng, &["+", "-", "*"]),
            pick(rng, &["2", "0.5", "-3", "1.5"])
        ),
        2 => format!("-{leaf}"),
        _ => leaf.to_owned(),
    }
}

/// A random number expression.
fn number(rng: &mut Rng, depth: u32) -> String {
    if depth == 0 || rng.below(5) == 0 {
        return simple(rng);
    }
    let sub = |rng: &mut Rng| number(rng, depth - 1);
    match rng.below(9) {
        0 => format!("-({})", sub(rng)),
        1..=3 => {
            // Integer `/` and `%` stay DataFusion's (it errors on a zero divisor).
            let op = pick(rng, &["+", "-", "*", "+", "*", "/", "%"]);
            format!("({}) {op} ({})", sub(rng), sub(rng))
        }
        4 => format!(
            "CAST(({}) AS {})",
            sub(rng),
            pick(rng, &["DOUBLE", "REAL", "BIGINT", "INT", "DOUBLE"])
        ),
        5 | 6 => {
            let otherwise = if rng.below(3) == 0 {
                String::new()
            } else {
                format!(" ELSE ({})", sub(rng))
            };
            if rng.below(3) == 0 {
                // `CASE x WHEN v`: matched by bits (so `-0.0` is not `0`), a null matching none.
                return format!(
                    "CASE {} WHEN {} THEN ({}) WHEN {} THEN ({}){otherwise} END",
                    simple(rng),
                    simple(rng),
                    sub(rng),
                    simple(rng),
                    sub(rng)
                );
            }
            format!(
                "CASE WHEN {} THEN ({}) WHEN {} THEN ({}){otherwise} END",
                predicate(rng, depth - 1),
                sub(rng),
                predicate(rng, depth - 1),
                sub(rng)
            )
        }
        7 => format!(
            "{}(CAST(({}) AS DOUBLE))",
            pick(rng, &["abs", "sin", "exp", "atan", "cbrt"]),
            sub(rng)
        ),
        // A guarded integer division: DataFusion divides only where the divisor is positive, so
        // the division may not become an input that fnjit's kernel computes on every row.
        _ => format!("CASE WHEN i > 0 THEN l / i ELSE ({}) END", sub(rng)),
    }
}

/// A random predicate.
fn predicate(rng: &mut Rng, depth: u32) -> String {
    let compare = |rng: &mut Rng| {
        format!(
            "({}) {} ({})",
            simple(rng),
            pick(rng, &["<", "<=", ">", ">=", "=", "<>"]),
            simple(rng)
        )
    };
    if depth == 0 || rng.below(4) == 0 {
        return match rng.below(5) {
            0 => "p".to_owned(),
            1 => format!("{} IS NULL", pick(rng, &["p", "i", "l", "f", "d"])),
            _ => compare(rng),
        };
    }
    let sub = |rng: &mut Rng| predicate(rng, depth - 1);
    match rng.below(7) {
        0 | 1 => format!("({}) AND ({})", sub(rng), sub(rng)),
        2 | 3 => format!("({}) OR ({})", sub(rng), sub(rng)),
        4 => format!("NOT ({})", sub(rng)),
        5 => format!("({}) IS NOT NULL", number(rng, depth - 1)),
        _ => compare(rng),
    }
}

/// Two results of one query: the same type, nulls and bits (a NaN as any NaN).
fn assert_same(want: &ArrayRef, got: &ArrayRef, what: &str) {
    assert_eq!(want.data_type(), got.data_type(), "{what}");
    assert_eq!(want.len(), got.len(), "{what}");
    macro_rules! bits {
        ($t:ty, |$v:ident| $bits:expr, $nan:expr) => {{
            let (w, g) = (
                want.as_any().downcast_ref::<$t>().expect("type"),
                got.as_any().downcast_ref::<$t>().expect("type"),
            );
            for r in 0..w.len() {
                assert_eq!(w.is_null(r), g.is_null(r), "{what}: null at row {r}");
                if w.is_valid(r) {
                    let (wv, gv) = (w.value(r), g.value(r));
                    let same = {
                        let $v = wv;
                        $bits
                    } == {
                        let $v = gv;
                        $bits
                    };
                    let nan: fn(_) -> bool = $nan;
                    assert!(
                        same || nan(wv) && nan(gv),
                        "{what}: row {r}: DataFusion {wv:?}, fnjit {gv:?}"
                    );
                }
            }
        }};
    }
    match want.data_type() {
        DataType::Boolean => bits!(BooleanArray, |v| v, |_| false),
        DataType::Int32 => bits!(Int32Array, |v| v, |_| false),
        DataType::Int64 => bits!(Int64Array, |v| v, |_| false),
        DataType::Float32 => bits!(Float32Array, |v| v.to_bits(), |v: f32| v.is_nan()),
        DataType::Float64 => bits!(Float64Array, |v| v.to_bits(), |v: f64| v.is_nan()),
        other => panic!("{what}: a result of type {other}"),
    }
}

/// The query with and without the rule: the same result or the same error. Returns its plan
/// with the rule, or `None` for an error.
async fn compare(plain: &SessionContext, jit: &SessionContext, sql: &str) -> Option<String> {
    match (try_run(plain, sql).await, try_run(jit, sql).await) {
        (Ok((want, _)), Ok((got, plan))) => {
            assert_same(&want, &got, sql);
            Some(plan)
        }
        (Err(want), Err(got)) => {
            assert_eq!(want, got, "{sql}");
            None
        }
        (want, got) => panic!(
            "{sql}: DataFusion {:?}, fnjit {:?}",
            want.map(|_| "a result"),
            got.map(|_| "a result")
        ),
    }
}

#[test]
fn mixed_projections_and_filters_are_datafusions_bit_for_bit_and_null_for_null() {
    runtime().block_on(async {
        let mut rng = Rng(0xDF55_0010);
        let batch = table(&mut rng);
        let (plain, jit) = (SessionContext::new(), fnjit_datafusion::context());
        for ctx in [&plain, &jit] {
            ctx.register_batch("t", batch.clone()).expect("register");
        }
        let total = 150;
        let (mut fused, mut errors) = (0, 0);
        // What the fused plans showed: a comparison, a CASE, AND, OR, NOT, IS NULL, a cast.
        let mut seen = [false; 7];
        let marks = ["total_order", "where(", " & ", " | ", "~", "valid", "f64("];
        for k in 0..total {
            let sql = match k % 3 {
                0 => format!("SELECT {} AS r FROM t", number(&mut rng, 3)),
                1 => format!("SELECT {} AS r FROM t", predicate(&mut rng, 3)),
                _ => format!("SELECT d FROM t WHERE {}", predicate(&mut rng, 3)),
            };
            match compare(&plain, &jit, &sql).await {
                Some(plan) if plan.contains("fnjit(") => {
                    fused += 1;
                    for (seen, mark) in seen.iter_mut().zip(marks) {
                        *seen |= plan.contains(mark);
                    }
                }
                Some(_) => {}
                None => errors += 1,
            }
        }
        assert!(fused * 10 > total * 6, "only {fused} of {total} fused");
        assert!(errors * 10 < total, "{errors} of {total} failed");
        let missing: Vec<_> = marks.iter().zip(seen).filter(|(_, s)| !s).collect();
        assert!(missing.is_empty(), "never fused: {missing:?}");
    });
}

/// SQL's three-valued logic and `CASE` over nulls, fused, against DataFusion and against the
/// truth tables written here.
#[test]
fn three_valued_logic_holds_with_nulls() {
    runtime().block_on(async {
        // Every pair of true, false and null.
        let x = [Some(true), Some(true), Some(true), Some(false), Some(false)]
            .into_iter()
            .chain([Some(false), None, None, None]);
        let y = [Some(true), Some(false), None].into_iter().cycle().take(9);
        let (x, y): (Vec<_>, Vec<_>) = (x.collect(), y.collect());
        let n: Vec<Option<f64>> = (0..9)
            .map(|k| (k % 4 != 3).then_some(k as f64 - 4.0))
            .collect();
        let schema = Schema::new(vec![
            Field::new("x", DataType::Boolean, true),
            Field::new("y", DataType::Boolean, true),
            Field::new("n", DataType::Float64, true),
        ]);
        let columns: Vec<ArrayRef> = vec![
            Arc::new(BooleanArray::from(x.clone())),
            Arc::new(BooleanArray::from(y.clone())),
            Arc::new(Float64Array::from(n.clone())),
        ];
        let batch = RecordBatch::try_new(Arc::new(schema), columns).expect("batch");
        let (plain, jit) = (SessionContext::new(), fnjit_datafusion::context());
        for ctx in [&plain, &jit] {
            ctx.register_batch("t", batch.clone()).expect("register");
        }
        let and = |a: Option<bool>, b: Option<bool>| match (a, b) {
            (Some(false), _) | (_, Some(false)) => Some(false),
            (Some(true), Some(true)) => Some(true),
            _ => None,
        };
        let or = |a: Option<bool>, b: Option<bool>| match (a, b) {
            (Some(true), _) | (_, Some(true)) => Some(true),
            (Some(false), Some(false)) => Some(false),
            _ => None,
        };
        let rows = 0..9;
        let tables: [(&str, Vec<Option<bool>>); 5] = [
            (
                "(n > 0.0) AND x",
                rows.clone()
                    .map(|r| and(n[r].map(|v| v > 0.0), x[r]))
                    .collect(),
            ),
            (
                "(n < 0.0) OR y",
                rows.clone()
                    .map(|r| or(n[r].map(|v| v < 0.0), y[r]))
                    .collect(),
            ),
            (
                "NOT (x AND (n >= -2.0))",
                rows.clone()
                    .map(|r| and(x[r], n[r].map(|v| v >= -2.0)).map(|v| !v))
                    .collect(),
            ),
            (
                "(x OR y) AND n IS NOT NULL",
                rows.clone()
                    .map(|r| and(or(x[r], y[r]), Some(n[r].is_some())))
                    .collect(),
            ),
            (
                "(n = 0.0) IS NULL OR (x AND y)",
                rows.clone()
                    .map(|r| or(Some(n[r].is_none()), and(x[r], y[r])))
                    .collect(),
            ),
        ];
        for (expr, truth) in tables {
            let sql = format!("SELECT {expr} AS r FROM t");
            let plan = compare(&plain, &jit, &sql).await.expect("runs");
            assert!(plan.contains("fnjit("), "{sql}: {plan}");
            let (got, _) = try_run(&jit, &sql).await.expect("runs");
            let got = got
                .as_any()
                .downcast_ref::<BooleanArray>()
                .expect("Boolean");
            let got: Vec<Option<bool>> = got.iter().collect();
            assert_eq!(got, truth, "{sql}");
        }
        // `CASE`: the first WHEN that is true (not null) wins; no ELSE is NULL.
        let sql = "SELECT CASE WHEN x THEN n * 2.0 WHEN y THEN -n END AS r FROM t";
        let plan = compare(&plain, &jit, sql).await.expect("runs");
        assert!(plan.contains("fnjit("), "{sql}: {plan}");
        let (got, _) = try_run(&jit, sql).await.expect("runs");
        let got = got
            .as_any()
            .downcast_ref::<Float64Array>()
            .expect("Float64");
        let want: Vec<Option<f64>> = (0..9)
            .map(|r| match (x[r], y[r]) {
                (Some(true), _) => n[r].map(|v| v * 2.0),
                (_, Some(true)) => n[r].map(|v| -v),
                _ => None,
            })
            .collect();
        assert_eq!(got.iter().collect::<Vec<_>>(), want, "{sql}");
    });
}

/// `CASE x WHEN v …` matches by bits, as Arrow's `eq` and DataFusion's table of literals do:
/// `-0.0` is not `0.0`, a NaN matches its own bits, and a null `x` or `v` matches nothing (the
/// `ELSE`). Fused, against DataFusion and against the values written here.
#[test]
fn case_with_a_base_matches_by_bits() {
    runtime().block_on(async {
        let d = vec![
            Some(0.0),
            Some(-0.0),
            Some(f64::NAN),
            Some(1.5),
            None,
            Some(7.0),
        ];
        let v = vec![
            Some(-0.0),
            Some(-0.0),
            Some(f64::NAN),
            None,
            Some(1.0),
            Some(7.0),
        ];
        let i = vec![Some(1), Some(2), None, Some(1), Some(3), Some(2)];
        let schema = Schema::new(vec![
            Field::new("d", DataType::Float64, true),
            Field::new("v", DataType::Float64, true),
            Field::new("i", DataType::Int32, true),
        ]);
        let columns: Vec<ArrayRef> = vec![
            Arc::new(Float64Array::from(d)),
            Arc::new(Float64Array::from(v)),
            Arc::new(Int32Array::from(i)),
        ];
        let batch = RecordBatch::try_new(Arc::new(schema), columns).expect("batch");
        let (plain, jit) = (SessionContext::new(), fnjit_datafusion::context());
        for ctx in [&plain, &jit] {
            ctx.register_batch("t", batch.clone()).expect("register");
        }
        for (sql, want) in [
            (
                "SELECT CASE d WHEN 0.0 THEN 1.0 WHEN 1.5 THEN 2.0 ELSE 3.0 END AS r FROM t",
                [1.0, 3.0, 3.0, 2.0, 3.0, 3.0],
            ),
            (
                "SELECT CASE d WHEN v THEN 1.0 ELSE 0.0 END AS r FROM t",
                [0.0, 1.0, 1.0, 0.0, 0.0, 1.0],
            ),
            (
                "SELECT CASE i WHEN 1 THEN d + 1.0 WHEN 2 THEN 5.0 ELSE -1.0 END AS r FROM t",
                [1.0, 5.0, -1.0, 2.5, -1.0, 5.0],
            ),
        ] {
            let plan = compare(&plain, &jit, sql).await.expect("runs");
            assert!(plan.contains("fnjit("), "{sql}: {plan}");
            let (got, _) = try_run(&jit, sql).await.expect("runs");
            let got = got
                .as_any()
                .downcast_ref::<Float64Array>()
                .expect("Float64");
            let got: Vec<u64> = got.values().iter().map(|x| x.to_bits()).collect();
            assert_eq!(got, want.map(f64::to_bits), "{sql}");
        }
    });
}
