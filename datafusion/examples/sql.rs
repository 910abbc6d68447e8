//! SQL over a CSV file with `JitExpressions` on: the plan shows the fused expression, then the
//! first rows. `cargo run -p fnjit-datafusion --example sql`
//! (`--release` for speed; the file goes to the temp directory).

use datafusion::error::Result;
use datafusion::prelude::CsvReadOptions;
use fnjit_datafusion::datafusion;
use std::fmt::Write as _;

#[tokio::main]
async fn main() -> Result<()> {
    let path = std::env::temp_dir().join("fnjit-datafusion-example.csv");
    let mut csv = String::from("a,b,c\n");
    for i in 0..10_000 {
        let x = f64::from(i) / 1000.0;
        let _ = writeln!(csv, "{x},{},{}", 1.0 + x * 0.5, 3.0 - x * 0.25);
    }
    std::fs::write(&path, csv)?;

    let ctx = fnjit_datafusion::context();
    let path = path.to_string_lossy();
    ctx.register_csv("t", path.as_ref(), CsvReadOptions::new())
        .await?;
    let sql = "SELECT a * b - c / (a + 1.5) + sin(a) * cos(b) AS r, \
               fnjit('a * b + sin(a)', a, b) AS u \
               FROM t WHERE a * c > 1.0";
    println!("{sql}\n");
    ctx.sql(&format!("EXPLAIN {sql}")).await?.show().await?;
    ctx.sql(&format!("{sql} LIMIT 5")).await?.show().await?;
    Ok(())
}
