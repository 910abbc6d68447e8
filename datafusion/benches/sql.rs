//! `SELECT <expr> FROM t` over 10^7 in-memory Float64 rows, with and without `JitExpressions`,
//! interleaved; 5-, 10- and 20-operator expressions (one with `sin`, one with `sqrt`). Each run
//! plans the query in a new context, so the fused side pays for its compiles every time; the
//! compile share is the planning time the rule adds, over the whole query's time.
//!
//! `cargo bench -p fnjit-datafusion --bench sql` (`-- --rounds N`, default 11)

use datafusion::arrow::array::{ArrayRef, Float64Array};
use datafusion::arrow::datatypes::{DataType, Field, Schema};
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::datasource::MemTable;
use datafusion::error::Result;
use datafusion::physical_plan::collect;
use datafusion::prelude::SessionContext;
use fnjit_datafusion::datafusion;
use std::sync::Arc;
use std::time::{Duration, Instant};

const ROWS: usize = 10_000_000;
const BATCH: usize = 8192;

const QUERIES: [(&str, &str); 3] = [
    ("5 operators", "a * b + c / d - a * 0.5"),
    (
        "10 operators, sin",
        "sin(a) * b + c / (d + 1.5) - a * b * 0.25 + c * d",
    ),
    (
        "20 operators, sqrt",
        "sqrt(a * a + b * b) * c - d / (a + 2.0) + b * c * 0.5 - a / 3.0 + d * d * d \
         - (a - b) * (c - d) + 2.5 * a",
    ),
];

/// Columns a, b, c, d in [0.5, 2.5), in two partitions (the cores) of 8,192-row batches.
fn table() -> Result<Arc<MemTable>> {
    let schema = Arc::new(Schema::new(
        ["a", "b", "c", "d"]
            .map(|n| Field::new(n, DataType::Float64, false))
            .to_vec(),
    ));
    let value = |i: usize, k: usize| 0.5 + ((i * (2 * k + 7)) % 4096) as f64 / 2048.0;
    let mut partitions = vec![Vec::new(), Vec::new()];
    for (n, start) in (0..ROWS).step_by(BATCH).enumerate() {
        let rows = start..(start + BATCH).min(ROWS);
        let columns: Vec<ArrayRef> = (0..4)
            .map(|k| {
                Arc::new(Float64Array::from_iter_values(
                    rows.clone().map(|i| value(i, k)),
                )) as ArrayRef
            })
            .collect();
        partitions[n % 2].push(RecordBatch::try_new(Arc::clone(&schema), columns)?);
    }
    Ok(Arc::new(MemTable::try_new(schema, partitions)?))
}

/// Plans and runs `sql` in `ctx`: (planning time, whole time, rows).
async fn run(ctx: &SessionContext, sql: &str) -> Result<(Duration, Duration, usize)> {
    let start = Instant::now();
    let plan = ctx.sql(sql).await?.create_physical_plan().await?;
    let planned = start.elapsed();
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
    let table = table()?;
    println!(
        "SELECT <expr> FROM t, {ROWS} Float64 rows in memory, 2 partitions, medians of {rounds} \
         interleaved rounds; {} ({} threads)\n",
        cpu(),
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );
    println!(
        "{:<20} {:>14} {:>14} {:>9} {:>15}",
        "expression", "DataFusion ms", "+ fnjit ms", "speed-up", "compile share"
    );
    for (name, expr) in QUERIES {
        let sql = format!("SELECT {expr} AS r FROM t");
        let (mut plain, mut jit, mut compile_share) = (Vec::new(), Vec::new(), Vec::new());
        for _ in 0..rounds {
            let (p, j) = (SessionContext::new(), fnjit_datafusion::context());
            p.register_table("t", Arc::clone(&table) as _)?;
            j.register_table("t", Arc::clone(&table) as _)?;
            let (plan_p, whole_p, rows_p) = run(&p, &sql).await?;
            let (plan_j, whole_j, rows_j) = run(&j, &sql).await?;
            assert_eq!((rows_p, rows_j), (ROWS, ROWS));
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
