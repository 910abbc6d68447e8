//! Expressions: the JIT agrees with the interpreter on random expressions and inputs, on every
//! input for the expressions that stress the edges, and no input of any size crashes.

use crate::common;
use fnjit::check::{EDGES, Inputs, check};
use fnjit::{Expr, Jit, compile_expr, eval_expr};
use proptest::prelude::*;

const OPS: [&str; 11] = ["*", "/", "%", "+", "-", "<<", ">>", ">>>", "&", "^", "|"];

fn literal() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            0u32,
            1,
            2,
            31,
            32,
            33,
            0x7FFF_FFFF,
            0x8000_0000,
            0xFFFF_FFFF
        ]),
        any::<u32>(),
    ]
    .prop_flat_map(|v| prop_oneof![Just(v.to_string()), Just(format!("0x{v:X}"))])
}

fn expression() -> impl Strategy<Value = String> {
    let leaf = prop_oneof![3 => Just("x".to_owned()), 2 => literal()];
    leaf.prop_recursive(10, 96, 2, |inner| {
        prop_oneof![
            (prop::sample::select(vec!["-", "~"]), inner.clone())
                .prop_map(|(u, e)| format!("{u}({e})")),
            (
                inner.clone(),
                prop::sample::select(OPS.to_vec()),
                inner.clone(),
                any::<bool>()
            )
                .prop_map(|(a, op, b, paren)| if paren {
                    format!("({a} {op} {b})")
                } else {
                    format!("{a} {op} {b}")
                }),
        ]
    })
}

fn inputs() -> Vec<i32> {
    let mut v = EDGES.to_vec();
    v.extend([
        2,
        -2,
        31,
        32,
        33,
        -31,
        -32,
        0x4000_0000,
        i32::MIN + 1,
        i32::MAX - 1,
    ]);
    v
}

proptest! {
    #![proptest_config(common::proptest_config(20_000))]
    #[test]
    fn random_expressions_agree_with_the_interpreter(src in expression(), seeds in prop::collection::vec(any::<i32>(), 8)) {
        let expr = Expr::parse(&src).expect("generated expressions parse");
        let f = compile_expr(&src).expect("compile");
        for x in inputs().into_iter().chain(seeds) {
            prop_assert_eq!(f.call(x), expr.eval(x), "{} at x = {}", src, x);
        }
    }

    #[test]
    fn any_text_is_an_expression_or_an_error_and_both_sides_agree_which(src in "[ x0-9a-fA-FX()+*/%<>&^|~\\-]{0,40}") {
        match (compile_expr(&src), eval_expr(&src, 7)) {
            (Ok(f), Ok(v)) => prop_assert_eq!(f.call(7), v),
            (Err(a), Err(b)) => prop_assert_eq!(a.to_string(), b.to_string()),
            (a, b) => prop_assert!(false, "{src:?}: compile {:?} vs eval {:?}", a.map(|_| ()), b),
        }
    }
}

/// Checks each expression against the interpreter on `inputs`.
fn agree_on(srcs: &[&str], inputs: impl Fn(&str) -> Inputs) {
    let mut jit = Jit::new().expect("jit");
    for src in srcs {
        let (expr, f) = (
            Expr::parse(src).expect(src),
            jit.compile_expr(src).expect(src),
        );
        let report = check(
            ["interpreter", "jit"],
            |x| [expr.eval(x), f.call(x)],
            inputs(src),
            &|_| {},
        );
        assert!(report.agree(), "{src}: {report}");
    }
}

/// `1 / x` on the edges (0, -1, `i32::MIN` among them: the guard's cases) and 2^22 fixed
/// pseudo-random inputs. All 2^32 of them took 56 s on 2 cores (the AMD EPYC VM), the slowest
/// test of `cargo test`: that run is in the long proof below.
#[test]
fn a_guarded_division_agrees_on_the_edges_and_a_sample() {
    agree_on(&["1 / x"], |_| Inputs::Quick { samples: 1 << 22 });
}

/// About 60 to 90 s each on 2 cores: `cargo test --test all -- --ignored long_proof` runs them
/// (docs/language.md), by hand when the code generators change.
#[test]
#[ignore = "long proof: cargo test --test all -- --ignored long_proof"]
fn long_proof_the_edge_expressions_agree_on_every_input() {
    agree_on(
        &[
            "1 / x",
            "x % (x >> 31)",
            "(x * x) >>> x",
            "(x ^ 0x80000000) / (x | 1) - x % -1",
        ],
        common::every_i32,
    );
}

#[test]
fn division_never_traps() {
    let mut jit = Jit::new().expect("jit");
    for (src, x, want) in [
        ("x / 0", 5, -1),
        ("x % 0", 5, 5),
        ("x / -1", i32::MIN, i32::MIN),
        ("x % -1", i32::MIN, 0),
        ("0x80000000 / x", -1, i32::MIN),
        ("x / x", 0, -1),
        ("x % x", 0, 0),
    ] {
        assert_eq!(
            jit.compile_expr(src).expect(src).call(x),
            want,
            "{src} at {x}"
        );
    }
}

#[test]
fn a_100_000_term_sum_compiles_and_runs() {
    let src = (0..100_000)
        .map(|i| {
            if i % 2 == 0 {
                "x".to_owned()
            } else {
                i.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join(" + ");
    let f = compile_expr(&src).expect("compile");
    assert_eq!(f.call(1), eval_expr(&src, 1).expect("eval"));
    assert_eq!(f.call(-3), eval_expr(&src, -3).expect("eval"));
}

#[test]
fn huge_and_deep_inputs_are_errors_not_crashes() {
    for src in [
        "(".repeat(1_000_000),
        "-".repeat(1_000_000) + "x",
        "~(".repeat(600) + "x" + &")".repeat(600),
        "x".repeat(2 << 20),
        "x+".repeat(300_000),
    ] {
        let err = compile_expr(&src).expect_err("must be refused");
        assert_eq!(
            err.to_string(),
            eval_expr(&src, 0).expect_err("refused").to_string()
        );
    }
}

#[test]
fn ir_shows_the_expression() {
    let f = compile_expr("x * 3 + 1").expect("compile");
    assert!(f.ir().contains("imul"), "{}", f.ir());
    assert!(f.ir().contains("iadd"), "{}", f.ir());
    assert_eq!(f.call(41), 124);
}
