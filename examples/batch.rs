//! A batch: 1,000 formulas compiled at once on every core into one shared mapping, then checked
//! against the interpreter. `cargo run --release --example batch` (add `inc` for 1,000 `x + 1`
//! functions instead). Under `valgrind --tool=callgrind` it shows where a batch's time goes.

use fnjit::{Formula, Jit};
use std::time::Instant;

fn main() -> Result<(), fnjit::Error> {
    let inc = std::env::args().nth(1).is_some_and(|a| a == "inc");
    let mut jit = Jit::new()?;
    let start = Instant::now();
    if inc {
        let srcs = vec!["x + 1"; 1000];
        let fs = jit.compile_formulas::<i32, i32>(&srcs, &["x"])?;
        let per = start.elapsed() / 1000;
        assert!(fs.iter().all(|f| f.call(41) == 42));
        println!("1,000 x + 1 functions in one batch: {per:?} per function");
        return Ok(());
    }
    let vars = ["x", "y", "z"];
    // The arithmetic kernel's 20 operators, a different constant in each.
    let srcs: Vec<String> = (0..1000)
        .map(|k| format!("x*y-z/(x+{k}.5)+y*y*0.5-x/3.0+z*z*z-(x-y)*(y-z)+2.5*x-y/4.0+z"))
        .collect();
    let srcs: Vec<&str> = srcs.iter().map(String::as_str).collect();
    let fs = jit.compile_formulas::<(f64, f64, f64), f64>(&srcs, &vars)?;
    let per = start.elapsed() / 1000;
    for (src, f) in srcs.iter().zip(&fs) {
        let want = Formula::<f64>::parse(src, &vars)?.eval(&[0.5, 2.0, 3.0])?;
        assert_eq!(f.call((0.5, 2.0, 3.0)).to_bits(), want.to_bits(), "{src}");
    }
    println!(
        "1,000 20-operator formulas in one batch: {per:?} per function, {} bytes of code each \
         on average, all equal to the interpreter",
        fs.iter().map(|f| f.code().len()).sum::<usize>() / fs.len()
    );
    Ok(())
}
