//! Typed formulas: the mixed-type kernel `where(a > 0.5, a * b, c) + i` (three f64 columns and
//! an i32 one) against a Rust loop over the same slices, at 10^6 rows on one core, interleaved;
//! and the time to compile a 20-operator mixed formula with Cranelift and with the baseline tier,
//! hot (the same formula in a tight loop) and cold (another formula compiled between any two).
//!
//! `cargo bench -p fnjit-cli --bench typed` (`-- --rounds N`, default 21)

use fnjit::{Column, ColumnMut, Jit, Strategy, Ty, TypedFormula, Value};
use std::hint::black_box;
use std::time::Instant;

const ROWS: usize = 1_000_000;
const KERNEL: &str = "where(a > 0.5, a * b, c) + i";
/// 20 operators over f64, i32, i64 and bool.
const MIXED_20: &str = "where(a * b > c - 1.5 & n < 100, a * 2.5 + b / (c + 1), f64(n) * 0.5 \
                        - m // 3) + abs(a - b) * c + i32(b)";

#[inline(never)]
fn native(a: &[f64], b: &[f64], c: &[f64], i: &[i32], out: &mut [f64]) {
    for ((((o, &a), &b), &c), &i) in out.iter_mut().zip(a).zip(b).zip(c).zip(i) {
        *o = (if a > 0.5 { a * b } else { c }) + f64::from(i);
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() -> Result<(), fnjit::Error> {
    let rounds: usize = std::env::args()
        .skip_while(|a| a != "--rounds")
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or(21);
    println!(
        "typed formulas, medians of {rounds} interleaved rounds; {}\n",
        fnjit_cli::bench::machine()
    );
    let t = |k: usize, i: usize| ((i * (2 * k + 7)) % 4096) as f64 / 4096.0;
    let a: Vec<f64> = (0..ROWS).map(|i| t(0, i)).collect();
    let b: Vec<f64> = (0..ROWS).map(|i| 1.0 + t(1, i)).collect();
    let c: Vec<f64> = (0..ROWS).map(|i| t(2, i) - 0.5).collect();
    let i: Vec<i32> = (0..ROWS).map(|r| (r % 1000) as i32 - 500).collect();
    let vars = [
        ("a", Ty::F64),
        ("b", Ty::F64),
        ("c", Ty::F64),
        ("i", Ty::I32),
    ];
    let mut jit = Jit::new()?;
    let kernel = jit.compile_typed_kernel(&TypedFormula::parse(KERNEL, &vars)?)?;
    let (mut want, mut got) = (vec![0.0; ROWS], vec![0.0; ROWS]);
    let columns = [
        Column::F64(&a),
        Column::F64(&b),
        Column::F64(&c),
        Column::I32(&i),
    ];
    native(&a, &b, &c, &i, &mut want);
    kernel.eval(&columns, ColumnMut::F64(&mut got))?;
    assert!(
        want.iter()
            .zip(&got)
            .all(|(w, g)| w.to_bits() == g.to_bits())
    );
    let (mut rust_ns, mut jit_ns) = (Vec::new(), Vec::new());
    for _ in 0..rounds {
        let start = Instant::now();
        native(&a, &b, &c, &i, black_box(&mut want));
        rust_ns.push(start.elapsed().as_secs_f64() * 1e9 / ROWS as f64);
        let start = Instant::now();
        kernel.eval(&columns, ColumnMut::F64(black_box(&mut got)))?;
        jit_ns.push(start.elapsed().as_secs_f64() * 1e9 / ROWS as f64);
    }
    let (r, j) = (median(rust_ns), median(jit_ns));
    println!(
        "{KERNEL}, {ROWS} rows, one core (lanes {}):",
        kernel.lanes()
    );
    println!("  Rust loop      {r:.3} ns/row");
    println!(
        "  TypedKernel    {j:.3} ns/row   ({:.2}x the Rust loop)\n",
        j / r
    );

    let vars20 = [
        ("a", Ty::F64),
        ("b", Ty::F64),
        ("c", Ty::F64),
        ("n", Ty::I32),
        ("m", Ty::I64),
    ];
    let mixed = TypedFormula::parse(MIXED_20, &vars20)?;
    let other = TypedFormula::parse("a * b + f64(n) - c", &vars20)?;
    assert_eq!(mixed.operators(), 20, "{MIXED_20}");
    type P = (f64, f64, f64, i32, i64);
    let (mut hot, mut cold) = (Vec::new(), Vec::new());
    for _ in 0..rounds {
        let start = Instant::now();
        black_box(jit.compile_typed::<P, f64>(&mixed)?);
        hot.push(start.elapsed().as_secs_f64() * 1e6);
        black_box(jit.compile_typed::<P, f64>(&other)?);
        let start = Instant::now();
        black_box(jit.compile_typed::<P, f64>(&mixed)?);
        cold.push(start.elapsed().as_secs_f64() * 1e6);
        black_box(jit.compile_typed::<P, f64>(&other)?);
    }
    println!("compile_typed of a 20-operator mixed formula (Cranelift):");
    println!("  hot (back to back)        {:.1} µs", median(hot));
    println!("  cold (another in between) {:.1} µs", median(cold));

    // The baseline tier: a compile takes microseconds, so each round times 50 of each.
    let mut baseline = Jit::with_strategy(Strategy::Baseline)?;
    let at = (1.5, -2.0, 0.25, 7, -40);
    let row = [
        Value::F64(at.0),
        Value::F64(at.1),
        Value::F64(at.2),
        Value::I32(at.3),
        Value::I64(at.4),
    ];
    let g = baseline.compile_typed::<P, f64>(&mixed)?;
    assert!(Value::F64(g.call(at)).same(mixed.eval(&row)?));
    let (mut hot, mut cold) = (Vec::new(), Vec::new());
    for _ in 0..rounds * 50 {
        black_box(baseline.compile_typed::<P, f64>(&mixed)?);
        let start = Instant::now();
        black_box(baseline.compile_typed::<P, f64>(&mixed)?);
        hot.push(start.elapsed().as_secs_f64() * 1e6);
        black_box(baseline.compile_typed::<P, f64>(&other)?);
        let start = Instant::now();
        black_box(baseline.compile_typed::<P, f64>(&mixed)?);
        cold.push(start.elapsed().as_secs_f64() * 1e6);
    }
    println!("compile_typed of the same formula (baseline tier):");
    println!("  hot (back to back)        {:.2} µs", median(hot));
    println!("  cold (another in between) {:.2} µs", median(cold));
    Ok(())
}
