//! Batches: `Jit::compile_formulas` and `Jit::compile_many` compile on every core into one shared
//! mapping. Each function of a batch equals its single compile and the interpreter, the batch
//! shares one mapping that the last function frees, and an error names its item and keeps
//! nothing. (W^X on the shared mapping as the kernel sees it, and that a failed batch leaves no
//! mapping behind, are in `tests/alone/wx_maps.rs`, whose one test has the process to itself.)

use crate::common;
use common::random::{Kind, Rng, Tree, VARS};
use cranelift_codegen::ir::{Function, InstBuilder, UserFuncName};
use cranelift_frontend::{FunctionBuilder, FunctionBuilderContext};
use fnjit::check::same_f64;
use fnjit::{Error, Jit};

#[test]
fn a_batch_shares_one_mapping_and_keeps_no_ir() {
    // (Each function's values against the interpreter: the batch path of tests/all/differential.rs.)
    let mut rng = Rng::new(1);
    let srcs: Vec<String> = (0..300)
        .map(|_| Tree::random(&mut rng, Kind::F64, 5).text())
        .collect();
    let srcs: Vec<&str> = srcs.iter().map(String::as_str).collect();
    let mut jit = Jit::new().expect("jit");
    let fs = jit
        .compile_formulas::<(f64, f64, f64), f64>(&srcs, &VARS)
        .expect("a batch of valid formulas");
    assert_eq!(fs.len(), srcs.len());
    for f in &fs {
        assert_eq!(f.sharers(), fs.len(), "one mapping for the whole batch");
        assert_eq!(f.ir(), "", "batch functions keep no IR");
    }
}

#[test]
fn a_batch_function_equals_its_single_compile() {
    let srcs = [
        "x * y + z",
        "sin(x) ** 2 + cos(x) ** 2",
        "x % y",
        "max(x, y) ? z : -z",
    ];
    let mut jit = Jit::new().expect("jit");
    let batch = jit
        .compile_formulas::<(f64, f64, f64), f64>(&srcs, &VARS)
        .expect("batch");
    for (src, f) in srcs.iter().zip(&batch) {
        let single = fnjit::compile_formula::<(f64, f64, f64), f64>(src, &VARS).expect(src);
        for args in [
            (1.0, 2.0, 3.0),
            (-0.5, 7.25, f64::NAN),
            (1e300, -1e-300, 0.0),
        ] {
            assert!(
                same_f64(f.call(args), single.call(args)),
                "{src} at {args:?}"
            );
        }
        assert_eq!(f.code(), single.code(), "{src}: the same machine code");
    }
}

#[test]
fn the_mapping_lives_while_any_function_of_the_batch_does() {
    let srcs: Vec<String> = (0..1000).map(|k| format!("x + {k}")).collect();
    let srcs: Vec<&str> = srcs.iter().map(String::as_str).collect();
    let mut fs = Jit::new()
        .and_then(|mut jit| jit.compile_formulas::<i32, i32>(&srcs, &["x"]))
        .expect("batch");
    let last = fs.pop().expect("1000 functions");
    let kept = fs.swap_remove(500);
    let copy = kept.clone();
    drop(fs);
    assert_eq!(last.sharers(), 3, "the two kept and a clone");
    assert_eq!((kept.call(1), copy.call(1), last.call(1)), (501, 501, 1000));
    drop((kept, copy));
    assert_eq!(last.sharers(), 1);
    assert_eq!(last.call(-999), 0);
}

#[test]
fn an_error_in_the_middle_names_its_item() {
    let mut srcs: Vec<String> = (0..1000).map(|k| format!("x * {k} + 1")).collect();
    srcs[500] = "x * (1 +".into();
    let srcs: Vec<&str> = srcs.iter().map(String::as_str).collect();
    let mut jit = Jit::new().expect("jit");
    let err = jit
        .compile_formulas::<i64, i64>(&srcs, &["x"])
        .expect_err("item 500 does not parse");
    assert!(
        matches!(&err, Error::Batch { index: 500, error } if matches!(**error, Error::Syntax(_))),
        "{err:?}"
    );
    assert!(
        err.to_string()
            .starts_with("item 500 of the batch (counting from 0): expected"),
        "{err}"
    );
    // A variable the batch does not have, and a wrong signature, are errors too.
    let err = jit
        .compile_formulas::<i64, i64>(&["x", "y"], &["x"])
        .expect_err("no y");
    assert!(matches!(err, Error::Batch { index: 1, .. }), "{err:?}");
    let err = jit
        .compile_formulas::<(i64, i64), i64>(&["x"], &["x"])
        .expect_err("two parameters for one variable");
    assert!(matches!(err, Error::FormulaType { .. }), "{err:?}");
}

/// `fn(i64) -> i64 { x * k }`, or with `sdiv` (refused by the allow-list) when `k` is 0.
fn times(jit: &Jit, k: i64) -> Function {
    let mut func =
        Function::with_name_signature(UserFuncName::default(), jit.signature::<i64, i64>());
    let mut fctx = FunctionBuilderContext::new();
    let mut b = FunctionBuilder::new(&mut func, &mut fctx);
    let block = b.create_block();
    b.append_block_params_for_function_params(block);
    b.switch_to_block(block);
    let x = b.block_params(block)[0];
    let y = if k == 0 {
        b.ins().sdiv(x, x)
    } else {
        b.ins().imul_imm_s(x, k)
    };
    b.ins().return_(&[y]);
    b.seal_all_blocks();
    b.finalize(jit.frontend_config());
    func
}

#[test]
fn compile_many_checks_each_function_as_compile_does() {
    let mut jit = Jit::new().expect("jit");
    let funcs: Vec<Function> = (1..=200).map(|k| times(&jit, k)).collect();
    let fs = jit.compile_many::<i64, i64>(&funcs).expect("batch");
    for (k, f) in (1..=200).zip(&fs) {
        assert_eq!(f.call(-3), -3 * k);
    }
    let mut bad = funcs.clone();
    bad[7] = times(&jit, 0);
    let err = jit.compile_many::<i64, i64>(&bad).expect_err("sdiv");
    assert!(
        matches!(&err, Error::Batch { index: 7, error } if matches!(**error, Error::UnsafeIr { .. })),
        "{err:?}"
    );
    let err = jit.compile_many::<i32, i64>(&funcs).expect_err("signature");
    assert!(
        matches!(&err, Error::Batch { index: 0, error } if matches!(**error, Error::Signature { .. })),
        "{err:?}"
    );
    assert!(jit.compile_many::<i64, i64>(&[]).expect("empty").is_empty());
}

#[test]
fn functions_of_a_batch_pack_into_shared_pages() {
    let srcs: Vec<String> = (0..1000).map(|k| format!("x * {k} + y")).collect();
    let srcs: Vec<&str> = srcs.iter().map(String::as_str).collect();
    let fs = Jit::new()
        .and_then(|mut jit| jit.compile_formulas::<(f64, f64), f64>(&srcs, &["x", "y"]))
        .expect("batch");
    let starts: Vec<usize> = fs.iter().map(|f| f.code().as_ptr() as usize).collect();
    let (lo, hi) = (
        starts.iter().min().copied().unwrap_or(0),
        fs.iter()
            .map(|f| f.code().as_ptr() as usize + f.code().len())
            .max()
            .unwrap_or(0),
    );
    let code: usize = fs.iter().map(|f| f.code().len()).sum();
    // Every function in one range, padded only for alignment (at most 64 bytes each).
    assert!(
        hi - lo < code + 64 * fs.len(),
        "{} bytes for {code} of code",
        hi - lo
    );
    assert!(
        (hi - lo) / 4096 < fs.len() / 10,
        "functions do not share pages"
    );
}
