//! Queries over 10^7 in-memory rows of Float64 columns `a b c d` and an Int32 column `n`, with
//! and without `JitExpressions`, interleaved: projections of 5-, 10- and 20-operator expressions
//! (one with `sin`, one with `sqrt`, one with `CASE`), and filters (one mixing Int32 and
//! Float64). Each run
//! plans the query in a new context, so the fused side pays for its compiles every time; the
//! compile share is the planning time the rule adds, over the whole query's time.
//!
//! `cargo bench -p fnjit-datafusion --bench sql` (`-- --rounds N`, default 11; `-- --only
//! filter` runs the queries whose name has `filter`)

use datafusion::arrow::array::{ArrayRef, Float64Array, Int32Array};
use datafusion::arrow::datatypes::{DataType, Field, Schema};
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::datasource::MemTable;
use datafusion::error::Result;
use datafusion::physical_plan::{collect, displayable};
use datafusion::prelude::SessionContext;
use fnjit_datafusion::datafusion;
use std::sync::Arc;
use std::time::{Duration, Instant};

const ROWS: usize = 10_000_000;
const BATCH: usize = 8192;

const QUERIES: [(&str, &str); 6] = [
    ("5 operators", "SELECT a * b + c / d - a * 0.5 AS r FROM t"),
    (
        "10 operators, sin",
        "SELECT sin(a) * b + c / (d + 1.5) - a * b * 0.25 + c * d AS r FROM t",
    ),
    (
        "20 operators, sqrt",
        "SELECT sqrt(a * a + b * b) * c - d / (a + 2.0) + b * c * 0.5 - a / 3.0 + d * d * d \
         - (a - b) * (c - d) + 2.5 * a AS r FROM t",
    ),
    (
        "20 operators, CASE",
        "SELECT CASE WHEN a > b THEN a * b + c * 0.5 - d / 3.0 \
         WHEN c < d THEN (a - c) * (b + d) + a * 2.0 ELSE a + b + c + d * 1.5 END \
         + a * c - b AS r FROM t",
    ),
    ("filter", "SELECT a FROM t WHERE a * b > c AND d < 10"),
    (
        "filter, Int32 mix",
        "SELECT a FROM t WHERE a * n > c AND n < 10",
    ),
];

/// Columns a, b, c, d in [0.5, 2.5) and n in 0..20, in two partitions (the cores) of 8,192-row
/// batches.
fn table() -> Result<Arc<MemTable>> {
    let mut fields = ["a", "b", "c", "d"]
        .map(|n| Field::new(n, DataType::Float64, false))
        .to_vec();
    fields.push(Field::new("n", DataType::Int32, false));
    let schema = Arc::new(Schema::new(fields));
    let value = |i: usize, k: usize| 0.5 + ((i * (2 * k + 7)) % 4096) as f64 / 2048.0;
    let mut partitions = vec![Vec::new(), Vec::new()];
    for (n, start) in (0..ROWS).step_by(BATCH).enumerate() {
        let rows = start..(start + BATCH).min(ROWS);
        let mut columns: Vec<ArrayRef> = (0..4)
            .map(|k| {
                Arc::new(Float64Array::from_iter_values(
                    rows.clone().map(|i| value(i, k)),
                )) as ArrayRef
            })
            .collect();
        let small = rows.clone().map(|i| ((i * 13) % 20) as i32);
        columns.push(Arc::new(Int32Array::from_iter_values(small)));
        partitions[n % 2].push(RecordBatch::try_new(Arc::clone(&schema), columns)?);
    }
    Ok(Arc::new(MemTable::try_new(schema, partitions)?))
}

/// Plans and runs `sql` in `ctx`: (planning time, whole time, rows). With `fused`, the plan
/// must have fused the whole expression.
async fn run(ctx: &SessionContext, sql: &str, fused: bool) -> Result<(Duration, Duration, usize)> {
    let start = Instant::now();
    let plan = ctx.sql(sql).await?.create_physical_plan().await?;
    let planned = start.elapsed();
    let shown = displayable(plan.as_ref()).indent(true).to_string();
    assert_eq!(shown.contains("fnjit("), fused, "{sql}: {shown}");
    let batches = collect(plan, ctx.task_ctx()).await?;
    let rows = batches.iter().map(RecordBatch::num_rows).sum();
    Ok((planned, start.elapsed(), rows))
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn cpu() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".to_owned())
}

#[tokio::main]
async fn main() -> Result<()> {
    let rounds: usize = std::env::args()
        .skip_while(|a| a != "--rounds")
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or(11);
    // `--only <text>`: the queries whose name contains it (to profile one).
    let only: String = std::env::args()
        .skip_while(|a| a != "--only")
        .nth(1)
        .unwrap_or_default();
    let table = table()?;
    println!(
        "{ROWS} rows in memory, 2 partitions, medians of {rounds} interleaved rounds; {} ({} \
         threads)\n",
        cpu(),
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );
    println!(
        "{:<20} {:>14} {:>14} {:>9} {:>15}",
        "expression", "DataFusion ms", "+ fnjit ms", "speed-up", "compile share"
    );
    for (name, sql) in QUERIES
        .into_iter()
        .filter(|(name, _)| name.contains(&*only))
    {
        let (mut plain, mut jit, mut compile_share) = (Vec::new(), Vec::new(), Vec::new());
        for _ in 0..rounds {
            let (p, j) = (SessionContext::new(), fnjit_datafusion::context());
            p.register_table("t", Arc::clone(&table) as _)?;
            j.register_table("t", Arc::clone(&table) as _)?;
            let (plan_p, whole_p, rows_p) = run(&p, sql, false).await?;
            let (plan_j, whole_j, rows_j) = run(&j, sql, true).await?;
            assert_eq!(rows_p, rows_j, "{sql}");
            assert!(sql.contains("WHERE") || rows_p == ROWS, "{sql}");
            plain.push(whole_p.as_secs_f64() * 1e3);
            jit.push(whole_j.as_secs_f64() * 1e3);
            let added = plan_j.saturating_sub(plan_p).as_secs_f64();
            compile_share.push(added / whole_j.as_secs_f64() * 100.0);
        }
        let (p, j) = (median(plain), median(jit));
        println!(
            "{name:<20} {p:>14.1} {j:>14.1} {:>8.2}x {:>14.2}%",
            p / j,
            median(compile_share)
        );
    }
    Ok(())
}
