//! Kernels: vectors and more than six variables; `eval_par` equals `eval` on many rows; every
//! shape error is refused; freed on drop, shared across threads. (Random formulas row by row
//! against the interpreter, on every tail and offset: `tests/all/differential.rs`.)

use fnjit::{Error, compile_kernel};

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

/// `x ** 2` is a multiply in Cranelift's code, scalar and vector, not a call of `pow`; and
/// bit for bit what the interpreter computes (`math::pow` squares too), NaNs, infinities,
/// overflow and signed zeros included. `x ** 3` stays a call (`call fn…` in CLIF: the calling
/// convention's name, `windows_fastcall`, holds "call" too).
#[test]
fn squares_are_multiplies_without_a_call() {
    let xs = [
        0.0,
        -0.0,
        1.5,
        -3.25,
        1e200,
        -1e-200,
        5e-324,
        f64::INFINITY,
        f64::NEG_INFINITY,
        f64::NAN,
        std::f64::consts::PI,
    ];
    let k = compile_kernel::<f64>("x ** 2", &["x"]).expect("compile");
    assert!(
        k.ir().contains("fmul") && !k.ir().contains("call fn"),
        "{}",
        k.ir()
    );
    let mut out = [0.0; 11];
    k.eval(&[&xs], &mut out).expect("eval");
    let f = fnjit::Formula::<f64>::parse("x ** 2", &["x"]).expect("parse");
    for (&x, &got) in xs.iter().zip(&out) {
        let want = f.eval(&[x]).expect("eval");
        assert!(
            got.to_bits() == want.to_bits() || got.is_nan() && want.is_nan(),
            "{x}: {got} {want}"
        );
        assert!(got.to_bits() == (x * x).to_bits() || x.is_nan(), "{x}");
    }
    let cube = compile_kernel::<f64>("x ** 3", &["x"]).expect("compile");
    assert!(cube.ir().contains("call fn"), "{}", cube.ir());
}
