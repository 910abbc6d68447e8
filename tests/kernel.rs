//! Kernels: every row equals the interpreter's value bit for bit (any NaN equals any NaN), on
//! random formulas and random columns of every length around the vector width, starting on and
//! off a vector boundary; `eval_par` equals `eval`; every shape error is refused.

mod common;

use common::formulas::{VARS, f64_formula, int_formula};
use fnjit::check::{F64_EDGES, same_f64};
use fnjit::{Error, Formula, Jit, Kernel, Number, compile_kernel};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};

/// Lengths around the vector width and the unrolled step, and a long one.
const LENGTHS: [usize; 10] = [0, 1, 2, 3, 4, 5, 7, 8, 9, 1000];

/// Columns of `rows` values from `value(column, row)`, one longer than needed so that a slice
/// from element 1 starts off any vector boundary.
fn columns<T: Copy>(rows: usize, value: impl Fn(usize, usize) -> T) -> Vec<Vec<T>> {
    (0..VARS.len())
        .map(|c| (0..=rows).map(|r| value(c, r)).collect())
        .collect()
}

/// Evaluates `kernel` on the columns (from element `skip`), and checks every row against the
/// interpreter and `eval_par` against `eval`.
fn agree<T: Number>(
    formula: &Formula<T>,
    kernel: &Kernel<T>,
    cols: &[Vec<T>],
    rows: usize,
    skip: usize,
    same: fn(T, T) -> bool,
) -> Result<(), TestCaseError> {
    let slices: Vec<&[T]> = cols.iter().map(|c| &c[skip..skip + rows]).collect();
    let fill = cols[0][0];
    let mut out = vec![fill; rows + 1];
    kernel
        .eval(&slices, &mut out[skip..skip + rows])
        .expect("shapes fit");
    for r in 0..rows {
        let args: Vec<T> = slices.iter().map(|c| c[r]).collect();
        let want = formula.eval(&args).expect("eval");
        prop_assert!(
            same(out[skip + r], want),
            "row {} of {}: {:?} vs {:?} at {:?}",
            r,
            rows,
            out[skip + r],
            want,
            args
        );
    }
    let mut par = vec![fill; rows];
    kernel.eval_par(&slices, &mut par).expect("shapes fit");
    for r in 0..rows {
        prop_assert!(same(par[r], out[skip + r]), "eval_par differs at row {}", r);
    }
    Ok(())
}

fn run<S: Strategy<Value = String>>(
    strategy: S,
    cases: u32,
    check: impl Fn(&mut Jit, &str, u64) -> Result<(), TestCaseError>,
) {
    let jit = std::cell::RefCell::new(Jit::new().expect("jit"));
    let mut runner = TestRunner::new(Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    });
    if let Err(e) = runner.run(&(strategy, any::<u64>()), |(src, seed)| {
        check(&mut jit.borrow_mut(), &src, seed)
    }) {
        panic!("{e}");
    }
}

fn mix(seed: u64, c: usize, r: usize) -> u64 {
    let mut z = seed ^ ((c as u64) << 56) ^ r as u64;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

#[test]
fn f64_kernels_agree_with_the_interpreter_row_by_row() {
    run(f64_formula(), 1_000, |jit, src, seed| {
        let formula = Formula::<f64>::parse(src, &VARS).expect("parse");
        let kernel = jit.compile_kernel(&formula).expect("compile");
        for rows in LENGTHS {
            let cols = columns(rows, |c, r| {
                if (r + c) % 3 == 0 {
                    F64_EDGES[(r * 7 + c) % F64_EDGES.len()]
                } else {
                    f64::from_bits(mix(seed, c, r))
                }
            });
            for skip in [0, 1] {
                agree(&formula, &kernel, &cols, rows, skip, same_f64)?;
            }
        }
        Ok(())
    });
}

#[test]
fn i64_kernels_agree_with_the_interpreter_row_by_row() {
    run(int_formula(u64::MAX), 600, |jit, src, seed| {
        let formula = Formula::<i64>::parse(src, &VARS).expect("parse");
        let kernel = jit.compile_kernel(&formula).expect("compile");
        let edges = [i64::MIN, -1, 0, 1, i64::MAX, 63, 64];
        for rows in LENGTHS {
            let cols = columns(rows, |c, r| {
                if (r + c) % 3 == 0 {
                    edges[(r + c) % edges.len()]
                } else {
                    mix(seed, c, r) as i64
                }
            });
            for skip in [0, 1] {
                agree(&formula, &kernel, &cols, rows, skip, |a, b| a == b)?;
            }
        }
        Ok(())
    });
}

#[test]
fn i32_kernels_agree_with_the_interpreter_row_by_row() {
    run(int_formula(u64::from(u32::MAX)), 600, |jit, src, seed| {
        let formula = Formula::<i32>::parse(src, &VARS).expect("parse");
        let kernel = jit.compile_kernel(&formula).expect("compile");
        let edges = [i32::MIN, -1, 0, 1, i32::MAX, 31, 32];
        for rows in LENGTHS {
            let cols = columns(rows, |c, r| {
                if (r + c) % 3 == 0 {
                    edges[(r + c) % edges.len()]
                } else {
                    mix(seed, c, r) as i32
                }
            });
            for skip in [0, 1] {
                agree(&formula, &kernel, &cols, rows, skip, |a, b| a == b)?;
            }
        }
        Ok(())
    });
}

#[test]
fn kernels_use_vectors_and_more_than_six_variables() {
    for (lanes, kernel_ir) in [
        (
            2,
            compile_kernel::<f64>("x * y", &["x", "y"]).map(|k| (k.lanes(), k.ir().to_owned())),
        ),
        (
            2,
            compile_kernel::<i64>("x * y", &["x", "y"]).map(|k| (k.lanes(), k.ir().to_owned())),
        ),
        (
            4,
            compile_kernel::<i32>("x * y", &["x", "y"]).map(|k| (k.lanes(), k.ir().to_owned())),
        ),
    ] {
        let (got, ir) = kernel_ir.expect("compile");
        assert_eq!(got, lanes);
        assert!(ir.contains("x2") || ir.contains("x4"), "{ir}");
    }
    let names = ["a", "b", "c", "d", "f", "g", "h", "i", "j", "k"];
    let k = compile_kernel::<f64>("a+b+c+d+f+g+h+i+j+k", &names).expect("ten variables");
    let cols: Vec<Vec<f64>> = (0..10).map(|c| vec![f64::from(c); 33]).collect();
    let slices: Vec<&[f64]> = cols.iter().map(Vec::as_slice).collect();
    let mut out = vec![0.0; 33];
    k.eval(&slices, &mut out).expect("eval");
    assert!(out.iter().all(|&v| v == 45.0), "{out:?}");
}

#[test]
fn eval_par_equals_eval_on_many_rows() {
    let k = compile_kernel::<f64>("x1*cos(x2-3.2)", &["x1", "x2"]).expect("compile");
    let n = 1 << 20;
    let x1: Vec<f64> = (0..n).map(|i| f64::from(i) * 1e-3).collect();
    let x2: Vec<f64> = (0..n).map(|i| f64::from(i % 1000) * 0.01).collect();
    let (mut a, mut b) = (vec![0.0; n as usize], vec![0.0; n as usize]);
    k.eval(&[&x1, &x2], &mut a).expect("eval");
    k.eval_par(&[&x1, &x2], &mut b).expect("eval_par");
    assert!(a.iter().zip(&b).all(|(p, q)| p.to_bits() == q.to_bits()));
    assert_eq!(
        a[12345].to_bits(),
        (x1[12345] * (x2[12345] - 3.2).cos()).to_bits()
    );
}

#[test]
fn every_shape_error_names_what_is_wrong() {
    let k = compile_kernel::<f64>("x + y", &["x", "y"]).expect("compile");
    let (x, y, short) = ([1.0; 4], [2.0; 4], [3.0; 3]);
    let mut out = [0.0; 4];
    let cases: [(&[&[f64]], usize, &str); 4] = [
        (
            &[&x],
            4,
            "the kernel has 2 variables, but 1 column were given: pass one per variable, in order",
        ),
        (
            &[&x, &short],
            4,
            "column 1 has 3 rows, but out has 4: every column must be as long as out",
        ),
        (
            &[&x, &y],
            3,
            "column 0 has 4 rows, but out has 3: every column must be as long as out",
        ),
        (
            &[&x, &y, &y],
            4,
            "the kernel has 2 variables, but 3 columns were given: pass one per variable, in order",
        ),
    ];
    for (columns, rows, want) in cases {
        for result in [
            k.eval(columns, &mut out[..rows]),
            k.eval_par(columns, &mut out[..rows]),
        ] {
            let err = result.expect_err(want);
            assert!(matches!(err, Error::Shape(_)), "{err:?}");
            assert_eq!(err.to_string(), want);
        }
    }
    assert_eq!(out, [0.0; 4], "a refused eval writes nothing");
}

#[test]
fn kernels_are_freed_on_drop_and_shared_across_threads() {
    let k = compile_kernel::<i64>("x * 3 + 1", &["x"]).expect("compile");
    let x: Vec<i64> = (0..10_000).collect();
    std::thread::scope(|s| {
        for _ in 0..4 {
            let (k, x) = (&k, &x);
            s.spawn(move || {
                let mut out = vec![0; x.len()];
                k.eval(&[x], &mut out).expect("eval");
                assert!(out.iter().zip(x).all(|(o, x)| *o == x * 3 + 1));
            });
        }
    });
    let maps = std::fs::read_to_string("/proc/self/maps").expect("maps");
    assert!(!maps.lines().any(|l| {
        l.split_whitespace()
            .nth(1)
            .is_some_and(|p| p.starts_with("rwx"))
    }));
    let at = k.code().as_ptr() as usize;
    drop(k);
    let after = std::fs::read_to_string("/proc/self/maps").expect("maps");
    for line in after.lines() {
        let (range, rest) = line.split_once(' ').unwrap_or(("", ""));
        let (lo, hi) = range.split_once('-').unwrap_or(("0", "0"));
        let (lo, hi) = (
            usize::from_str_radix(lo, 16).unwrap_or(0),
            usize::from_str_radix(hi, 16).unwrap_or(0),
        );
        if (lo..hi).contains(&at) {
            assert!(
                !rest.starts_with("r-x"),
                "kernel code still executable after drop: {line}"
            );
        }
    }
}
