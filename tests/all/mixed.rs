//! Typed formulas, which mix `bool`, `i32`, `i64`, `f32` and `f64`: the promotion table cell by
//! cell, against a table written here by hand and against the interpreter; NumPy's `//` and `%`
//! on every type; weak integer literals; the type errors; and a differential run of random
//! mixed formulas over typed rows (edge values and signaling NaNs included) through the
//! interpreter, compiled functions and typed kernels (serial and on every core), on both tiers,
//! and the evaluator's, bit for bit.
//! A `Formula<T>` is the all-`T` case: its programs agree on the typed paths too.

use crate::common::random::{I32_EDGES, I64_EDGES, Kind, Rng, Tree, VARS, f64_edges};
use fnjit::{
    Column, ColumnMut, Error, Formula, Jit, Strategy, Tier, Ty, TypedEvaluator, TypedFormula, Value,
};

use Ty::{Bool, F32, F64, I32, I64};

/// NumPy's `np.result_type` of two arrays, as NumPy's documentation tabulates it, for the five
/// types: rows and columns in the order bool, i32, i64, f32, f64.
const RESULT_TYPE: [[Ty; 5]; 5] = [
    [Bool, I32, I64, F32, F64],
    [I32, I32, I64, F64, F64],
    [I64, I64, I64, F64, F64],
    [F32, F64, F64, F32, F64],
    [F64, F64, F64, F64, F64],
];

fn index(t: Ty) -> usize {
    Ty::ALL.iter().position(|&u| u == t).expect("a type")
}

fn typed(src: &str, vars: &[(&str, Ty)]) -> TypedFormula {
    TypedFormula::parse(src, vars).unwrap_or_else(|e| panic!("{src}: {e}"))
}

/// A sample value of each type, nonzero, so that every operator has something to compute.
fn sample(t: Ty) -> Value {
    match t {
        Bool => Value::Bool(true),
        I32 => Value::I32(-7),
        I64 => Value::I64(5_000_000_000),
        F32 => Value::F32(2.5),
        F64 => Value::F64(-0.75),
    }
}

/// `a op b` computed in Rust on values already of type `t`: the table's meaning of each
/// operator, written apart from the crate's interpreter.
fn rust_op(op: &str, a: Value, b: Value) -> Value {
    use Value as V;
    match (op, a, b) {
        ("+", V::I32(x), V::I32(y)) => V::I32(x.wrapping_add(y)),
        ("+", V::I64(x), V::I64(y)) => V::I64(x.wrapping_add(y)),
        ("+", V::F32(x), V::F32(y)) => V::F32(x + y),
        ("+", V::F64(x), V::F64(y)) => V::F64(x + y),
        ("/", V::F32(x), V::F32(y)) => V::F32(x / y),
        ("/", V::F64(x), V::F64(y)) => V::F64(x / y),
        ("<", V::Bool(x), V::Bool(y)) => V::Bool(!x & y),
        ("<", V::I32(x), V::I32(y)) => V::Bool(x < y),
        ("<", V::I64(x), V::I64(y)) => V::Bool(x < y),
        ("<", V::F32(x), V::F32(y)) => V::Bool(x < y),
        ("<", V::F64(x), V::F64(y)) => V::Bool(x < y),
        other => panic!("no Rust for {other:?}"),
    }
}

#[test]
fn every_cell_of_the_promotion_table_holds_for_the_rule_and_the_interpreter() {
    for a in Ty::ALL {
        for b in Ty::ALL {
            let met = RESULT_TYPE[index(a)][index(b)];
            assert_eq!(
                met,
                RESULT_TYPE[index(b)][index(a)],
                "the table is symmetric"
            );
            // `+` counts bools in i32 (numexpr's rule), `/` divides integers as f64, `<` gives
            // a bool of the met type.
            let add = if met == Bool { I32 } else { met };
            let div = if matches!(met, F32 | F64) { met } else { F64 };
            for (op, want, computes_in) in [("+", add, add), ("/", div, div), ("<", Bool, met)] {
                let src = format!("x {op} y");
                let f = typed(&src, &[("x", a), ("y", b)]);
                assert_eq!(f.ty(), want, "{a} {op} {b}");
                let (x, y) = (sample(a), sample(b));
                let got = f.eval(&[x, y]).expect("eval");
                assert_eq!(got.ty(), want, "{a} {op} {b}: the interpreter's value");
                let rust = rust_op(op, x.to(computes_in), y.to(computes_in));
                assert!(got.same(rust), "{a} {op} {b}: {got} against Rust's {rust}");
            }
        }
    }
}

#[test]
fn integer_literals_take_the_type_of_their_context() {
    let ty = |src: &str, vars: &[(&str, Ty)]| typed(src, vars).ty();
    assert_eq!(ty("x + 1", &[("x", I32)]), I32);
    assert_eq!(ty("x * 3", &[("x", F32)]), F32);
    assert_eq!(ty("x * (2 + 3)", &[("x", F32)]), F32);
    assert_eq!(ty("x * 3.0", &[("x", F32)]), F64, "3.0 is an f64");
    assert_eq!(
        ty("b + 1", &[("b", Bool)]),
        I64,
        "as NumPy's Python ints with bools"
    );
    assert_eq!(ty("1 + 2", &[]), I64);
    assert_eq!(ty("x > 0", &[("x", I32)]), Bool);
    assert_eq!(ty("where(x > 0, x, 0)", &[("x", I32)]), I32);
    assert_eq!(ty("sin(x)", &[("x", I32)]), F64);
    assert_eq!(ty("sin(x)", &[("x", F32)]), F32);
    assert_eq!(ty("abs(x)", &[("x", I64)]), I64);
    assert_eq!(ty("isnan(x)", &[("x", F32)]), Bool);
    assert_eq!(ty("f32(x) + i32(y)", &[("x", I64), ("y", F64)]), F64);
    // A weak literal meets an i32 in i32: it must fit.
    let err = TypedFormula::parse("x + 3000000000", &[("x", I32)]).expect_err("too big");
    assert!(matches!(err, Error::Type(_)), "{err:?}");
    assert_eq!(
        err.to_string(),
        "the literal 3000000000 does not fit i32 at 2"
    );
    // A weak `where` takes its context's type; its condition keeps its own (the long run's
    // first find: the condition's nodes were retyped with it).
    let f = typed("where(l > 0, 0, -2) | i", &[("l", I64), ("i", I32)]);
    assert_eq!(f.ty(), I32);
    let at = [Value::I64(1 << 40), Value::I32(4)];
    assert_eq!(f.eval(&at).expect("eval"), Value::I32(4));
    let g = Jit::new()
        .expect("jit")
        .compile_typed::<(i64, i32), i32>(&f)
        .expect("compile");
    assert_eq!(g.call((1 << 40, 4)), 4);
    assert_eq!(g.call((-1, 4)), -2);
    // The value of a literal beside an f32 is the f32 nearest it.
    let f = typed("x * 16777217", &[("x", F32)]);
    assert_eq!(
        f.eval(&[Value::F32(1.0)]).expect("eval"),
        Value::F32(16777216.0)
    );
}

#[test]
fn type_errors_name_the_place_and_both_types() {
    let err = |src: &str, vars: &[(&str, Ty)]| match TypedFormula::parse(src, vars) {
        Err(Error::Type(e)) => e.to_string(),
        other => panic!("{src}: {other:?}"),
    };
    let abc = [("a", F64), ("b", F64), ("x", F64)];
    assert_eq!(
        err("where(1.5, a, b)", &abc),
        "a condition is bool, not f64: compare it, as in x != 0 at 0"
    );
    assert_eq!(
        err("x & 2.0", &abc),
        "'&' takes bool or integer operands, not f64 and f64 at 2"
    );
    assert_eq!(
        err("n << x", &[("n", I32), ("x", F32)]),
        "'<<' takes integer operands, not i32 and f32 at 2"
    );
    assert_eq!(
        err("-b", &[("b", Bool)]),
        "'-' takes a number, not bool: write ~ for not at 0"
    );
    assert_eq!(
        err("~x", &[("x", F32)]),
        "'~' takes bool or an integer, not f32 at 0"
    );
    assert_eq!(
        err("n ** 2", &[("n", I64)]),
        "'**' takes float operands (write f64(x) ** n for a power of an integer), not i64 and \
         i64 at 2"
    );
    let declared = TypedFormula::parse_declared("a + b", "a: f64, b: f128").expect_err("f128");
    assert_eq!(
        declared.to_string(),
        "declaration 1, 'b: f128', has the unknown type 'f128': the types are bool, i32, i64, \
         f32 and f64 at 0"
    );
    let undeclared = TypedFormula::parse_declared("a + b", "a: f64, b").expect_err("no type");
    assert!(matches!(undeclared, Error::Type(_)), "{undeclared:?}");
    // Syntax stays syntax; a reserved name is refused as a variable.
    assert!(matches!(
        TypedFormula::parse("a +", &[("a", F64)]),
        Err(Error::Syntax(_))
    ));
    assert!(matches!(
        TypedFormula::parse("where", &[("where", F64)]),
        Err(Error::Variables(_))
    ));
    // A `Formula<T>` keeps its own language: no `//`, no `where`.
    assert!(Formula::<i64>::parse("x // 2", &["x"]).is_err());
    assert!(Formula::<f64>::parse("where(x > 0, x, 0)", &["x"]).is_err());
}

#[test]
fn floor_division_and_remainder_are_numpys_on_every_type() {
    let ev = |src: &str, x: Value, y: Value| {
        typed(src, &[("x", x.ty()), ("y", y.ty())])
            .eval(&[x, y])
            .expect("eval")
    };
    // Integers: rounded down, the remainder with the divisor's sign, 0 for a zero divisor.
    for (x, y, q, r) in [
        (7, 2, 3, 1),
        (-7, 2, -4, 1),
        (7, -2, -4, -1),
        (-7, -2, 3, -1),
        (6, -3, -2, 0),
        (5, 0, 0, 0),
        (i64::MIN, -1, i64::MIN, 0),
    ] {
        assert_eq!(
            ev("x // y", Value::I64(x), Value::I64(y)),
            Value::I64(q),
            "{x} // {y}"
        );
        assert_eq!(
            ev("x % y", Value::I64(x), Value::I64(y)),
            Value::I64(r),
            "{x} % {y}"
        );
    }
    assert_eq!(
        ev("x // y", Value::I32(i32::MIN), Value::I32(-1)),
        Value::I32(i32::MIN)
    );
    // Floats, as `np.floor_divide` and `np.remainder` give them.
    for (x, y, q, r) in [
        (7.0, 2.0, 3.0, 1.0),
        (7.0, -2.0, -4.0, -1.0),
        (-7.5, 2.0, -4.0, 0.5),
        (-0.0, 2.0, -0.0, 0.0),
        (6.0, -3.0, -2.0, -0.0),
    ] {
        let (gq, gr) = (
            ev("x // y", Value::F64(x), Value::F64(y)),
            ev("x % y", Value::F64(x), Value::F64(y)),
        );
        assert!(gq.same(Value::F64(q)), "{x} // {y}: {gq}");
        assert!(gr.same(Value::F64(r)), "{x} % {y}: {gr}");
        let gq32 = ev("x // y", Value::F32(x as f32), Value::F32(y as f32));
        assert!(gq32.same(Value::F32(q as f32)), "f32 {x} // {y}: {gq32}");
    }
    assert_eq!(
        ev("x // y", Value::F64(1.0), Value::F64(0.0)),
        Value::F64(f64::INFINITY)
    );
    let nan = ev("x % y", Value::F64(1.0), Value::F64(0.0));
    assert!(matches!(nan, Value::F64(v) if v.is_nan()));
    // True division of integers is an f64.
    assert_eq!(ev("x / y", Value::I32(7), Value::I32(2)), Value::F64(3.5));
}

#[test]
fn casts_tests_and_logic() {
    let ev =
        |src: &str, vars: &[(&str, Ty)], args: &[Value]| typed(src, vars).eval(args).expect("eval");
    let x = [("x", F64)];
    assert_eq!(ev("i32(x)", &x, &[Value::F64(-2.9)]), Value::I32(-2));
    assert_eq!(ev("i32(x)", &x, &[Value::F64(f64::NAN)]), Value::I32(0));
    assert_eq!(ev("i64(x)", &x, &[Value::F64(1e300)]), Value::I64(i64::MAX));
    assert_eq!(
        ev("bool(x)", &x, &[Value::F64(f64::NAN)]),
        Value::Bool(true)
    );
    assert_eq!(ev("bool(x)", &x, &[Value::F64(-0.0)]), Value::Bool(false));
    assert_eq!(
        ev("i32(n)", &[("n", I64)], &[Value::I64(1 << 32 | 5)]),
        Value::I32(5)
    );
    let tests = "isnan(x) | isinf(x) & ~isfinite(x)";
    assert_eq!(
        ev(tests, &x, &[Value::F64(f64::INFINITY)]),
        Value::Bool(true)
    );
    assert_eq!(ev(tests, &x, &[Value::F64(1.0)]), Value::Bool(false));
    let filter = [("price", F64), ("qty", I32), ("region", I64)];
    let args = [Value::F64(20.0), Value::I32(6), Value::I64(3)];
    assert_eq!(
        ev("price * qty > 100 & region == 3", &filter, &args),
        Value::Bool(true)
    );
    assert_eq!(
        ev("where(x > 0, log(x), 0)", &x, &[Value::F64(-1.0)]),
        Value::F64(0.0)
    );
    assert_eq!(
        ev(
            "min(n, 3) + max(n, -3) + abs(n)",
            &[("n", I32)],
            &[Value::I32(-9)]
        ),
        Value::I32(-9 - 3 + 9)
    );
    assert_eq!(
        ev(
            "b ^ c",
            &[("b", Bool), ("c", Bool)],
            &[Value::Bool(true), Value::Bool(true)]
        ),
        Value::Bool(false)
    );
    assert_eq!(
        ev(
            "b + c",
            &[("b", Bool), ("c", Bool)],
            &[Value::Bool(true), Value::Bool(true)]
        ),
        Value::I32(2)
    );
}

/// `total_order` orders floats as Rust's `total_cmp` does (and Arrow, which calls it), on the
/// interpreter and in compiled code: every pair of edge values, NaNs of both signs included;
/// `fmod` is Rust's `%` (C's `fmod`), where `%` is NumPy's.
#[test]
fn total_order_is_total_cmp_and_fmod_is_c_s() {
    use std::cmp::Ordering;
    let mut jit = Jit::new().expect("jit");
    let d = [("x", F64), ("y", F64)];
    let lt = typed("total_order(x) < total_order(y)", &d);
    let eq = typed("total_order(x) == total_order(y)", &d);
    let lt_code = jit.compile_typed::<(f64, f64), bool>(&lt).expect("compile");
    let eq_code = jit.compile_typed::<(f64, f64), bool>(&eq).expect("compile");
    let mut edges = f64_edges();
    edges.extend([-f64::NAN, f64::from_bits(0xFFF0_0000_0000_0001), -0.0, 0.0]);
    for &x in &edges {
        for &y in &edges {
            let want_lt = x.total_cmp(&y) == Ordering::Less;
            let want_eq = x.total_cmp(&y) == Ordering::Equal;
            let args = [Value::F64(x), Value::F64(y)];
            assert_eq!(
                lt.eval(&args).expect("eval"),
                Value::Bool(want_lt),
                "{x:e} < {y:e}"
            );
            assert_eq!(
                eq.eval(&args).expect("eval"),
                Value::Bool(want_eq),
                "{x:e} == {y:e}"
            );
            assert_eq!(lt_code.call((x, y)), want_lt, "compiled {x:e} < {y:e}");
            assert_eq!(eq_code.call((x, y)), want_eq, "compiled {x:e} == {y:e}");
        }
    }
    let s = [("x", F32), ("y", F32)];
    let lt32 = typed("total_order(x) < total_order(y)", &s);
    assert_eq!(lt32.ty(), Bool);
    let lt32_code = jit
        .compile_typed::<(f32, f32), bool>(&lt32)
        .expect("compile");
    let edges32 = [
        -f32::NAN,
        -f32::INFINITY,
        -1.0,
        -0.0,
        0.0,
        f32::from_bits(1),
        f32::NAN,
    ];
    for (k, &x) in edges32.iter().enumerate() {
        for (j, &y) in edges32.iter().enumerate() {
            assert_eq!(lt32_code.call((x, y)), k < j, "{x:e} < {y:e}");
        }
    }
    assert_eq!(typed("total_order(x)", &s).ty(), I32);
    assert!(matches!(
        TypedFormula::parse("total_order(n)", &[("n", I64)]),
        Err(Error::Type(_))
    ));
    let fmod = typed("fmod(x, y)", &d);
    let fmod_code = jit
        .compile_typed::<(f64, f64), f64>(&fmod)
        .expect("compile");
    for (x, y) in [(-7.5, 2.0), (7.5, -2.0), (1.0, 0.0), (-0.0, 3.0)] {
        let want = x % y;
        let got = fmod.eval(&[Value::F64(x), Value::F64(y)]).expect("eval");
        assert!(got.same(Value::F64(want)), "fmod({x}, {y}) = {got}");
        assert!(Value::F64(fmod_code.call((x, y))).same(Value::F64(want)));
    }
    let numpy = typed("x % y", &d).eval(&[Value::F64(-7.5), Value::F64(2.0)]);
    assert_eq!(numpy.expect("eval"), Value::F64(0.5), "`%` is NumPy's");
    let ints = typed("fmod(n, m)", &[("n", I32), ("m", I32)]);
    assert_eq!(
        ints.eval(&[Value::I32(-7), Value::I32(2)]).expect("eval"),
        Value::I32(-1)
    );
}

// ---- The differential run ----

/// The variables of every random typed formula: one of each type.
const TYPED_VARS: [(&str, Ty); 5] = [("b", Bool), ("i", I32), ("l", I64), ("f", F32), ("d", F64)];

const BINARY: [&str; 18] = [
    "+", "-", "*", "/", "//", "%", "<", "<=", ">", ">=", "==", "!=", "&", "|", "^", "<<", ">>",
    "**",
];
const FUNCS: [(&str, usize); 20] = [
    ("total_order", 1),
    ("fmod", 2),
    ("abs", 1),
    ("min", 2),
    ("max", 2),
    ("sqrt", 1),
    ("sin", 1),
    ("exp", 1),
    ("floor", 1),
    ("log", 1),
    ("atan2", 2),
    ("asinh", 1),
    ("rint", 1),
    ("sign", 1),
    ("nextafter", 2),
    ("isnan", 1),
    ("isinf", 1),
    ("isfinite", 1),
    ("where", 3),
    ("cast", 1),
];
const LITERALS: [&str; 10] = [
    "0",
    "1",
    "3",
    "-2",
    "2147483647",
    "0.5",
    "1.5e300",
    "true",
    "false",
    "nan",
];

/// A random formula over [`TYPED_VARS`], as text; many are type errors, which the run skips.
fn random_formula(rng: &mut Rng, depth: u32) -> String {
    if depth == 0 || rng.below(4) == 0 {
        return if rng.below(3) == 0 {
            rng.pick(&LITERALS).to_owned()
        } else {
            TYPED_VARS[rng.below(5)].0.to_owned()
        };
    }
    match rng.below(6) {
        0 => format!(
            "{}({})",
            rng.pick(&["-", "~"]),
            random_formula(rng, depth - 1)
        ),
        1 | 2 => {
            let (name, arity) = rng.pick(&FUNCS);
            let name = if name == "cast" {
                rng.pick(&["bool", "i32", "i64", "f32", "f64"])
            } else {
                name
            };
            if name == "total_order" {
                // Of a float whose bits the language defines: a computed NaN's sign and payload
                // are unspecified, and `total_order` reads them.
                return format!("total_order({})", rng.pick(&["d", "f", "1.5", "-0.0"]));
            }
            let args: Vec<String> = (0..arity)
                .map(|k| {
                    if name == "where" && k == 0 {
                        format!("{} > 0", random_formula(rng, depth - 1))
                    } else {
                        random_formula(rng, depth - 1)
                    }
                })
                .collect();
            format!("{name}({})", args.join(", "))
        }
        _ => format!(
            "({}) {} ({})",
            random_formula(rng, depth - 1),
            rng.pick(&BINARY),
            random_formula(rng, depth - 1)
        ),
    }
}

/// A value of type `t`: an edge value about half the time, random bits otherwise.
fn random_value(rng: &mut Rng, t: Ty) -> Value {
    let edge = rng.below(2) == 0;
    let bits = rng.next_u64();
    match t {
        Bool => Value::Bool(bits & 1 == 1),
        I32 if edge => Value::I32(rng.pick(&I32_EDGES)),
        I32 => Value::I32(bits as i32),
        I64 if edge => Value::I64(rng.pick(&I64_EDGES)),
        I64 => Value::I64(bits as i64),
        F32 if edge => Value::F32(rng.pick(&[
            0.0f32,
            -0.0,
            1.0,
            -1.5,
            f32::INFINITY,
            f32::NEG_INFINITY,
            f32::NAN,
            f32::from_bits(0x7F80_0001), // signaling
            f32::from_bits(0xFFA0_0000), // signaling, negative
            f32::MAX,
            f32::MIN_POSITIVE,
            f32::from_bits(1),
            16_777_217.0,
        ])),
        F32 => Value::F32(f32::from_bits(bits as u32)),
        F64 if edge => Value::F64(rng.pick(&f64_edges())),
        F64 => Value::F64(f64::from_bits(bits)),
    }
}

/// The typed rows of one run, as columns.
struct Rows {
    b: Vec<bool>,
    i: Vec<i32>,
    l: Vec<i64>,
    f: Vec<f32>,
    d: Vec<f64>,
}

impl Rows {
    fn random(rng: &mut Rng, n: usize) -> Rows {
        let mut rows = Rows {
            b: vec![],
            i: vec![],
            l: vec![],
            f: vec![],
            d: vec![],
        };
        for _ in 0..n {
            let value = |rng: &mut Rng, t| random_value(rng, t);
            match (
                value(rng, Bool),
                value(rng, I32),
                value(rng, I64),
                value(rng, F32),
                value(rng, F64),
            ) {
                (Value::Bool(b), Value::I32(i), Value::I64(l), Value::F32(f), Value::F64(d)) => {
                    rows.b.push(b);
                    rows.i.push(i);
                    rows.l.push(l);
                    rows.f.push(f);
                    rows.d.push(d);
                }
                other => panic!("{other:?}"),
            }
        }
        rows
    }

    fn row(&self, r: usize) -> [Value; 5] {
        [
            Value::Bool(self.b[r]),
            Value::I32(self.i[r]),
            Value::I64(self.l[r]),
            Value::F32(self.f[r]),
            Value::F64(self.d[r]),
        ]
    }

    fn columns(&self) -> [Column<'_>; 5] {
        [
            Column::Bool(&self.b),
            Column::I32(&self.i),
            Column::I64(&self.l),
            Column::F32(&self.f),
            Column::F64(&self.d),
        ]
    }
}

type Signature = (bool, i32, i64, f32, f64);

/// The compiled function of `f` at `row`, whatever its result type.
fn call(jit: &mut Jit, src: &str, f: &TypedFormula, rows: &Rows) -> Vec<Value> {
    macro_rules! run {
        ($r:ty, $v:ident) => {{
            let g = jit
                .compile_typed::<Signature, $r>(f)
                .unwrap_or_else(|e| panic!("{src}: {e}"));
            (0..rows.b.len())
                .map(|r| Value::$v(g.call((rows.b[r], rows.i[r], rows.l[r], rows.f[r], rows.d[r]))))
                .collect()
        }};
    }
    match f.ty() {
        Bool => run!(bool, Bool),
        I32 => run!(i32, I32),
        I64 => run!(i64, I64),
        F32 => run!(f32, F32),
        F64 => run!(f64, F64),
    }
}

/// The typed kernel of `f` over the rows, serial or on every core.
fn kernel(jit: &mut Jit, src: &str, f: &TypedFormula, rows: &Rows, par: bool) -> Vec<Value> {
    let k = jit
        .compile_typed_kernel(f)
        .unwrap_or_else(|e| panic!("{src}: {e}"));
    let n = rows.b.len();
    let columns = rows.columns();
    macro_rules! run {
        ($t:ty, $v:ident) => {{
            let mut out: Vec<$t> = vec![<$t>::default(); n];
            let result = if par {
                k.eval_par(&columns, ColumnMut::$v(&mut out))
            } else {
                k.eval(&columns, ColumnMut::$v(&mut out))
            };
            result.expect("eval");
            out.into_iter().map(Value::$v).collect()
        }};
    }
    match f.ty() {
        Bool => run!(bool, Bool),
        I32 => run!(i32, I32),
        I64 => run!(i64, I64),
        F32 => run!(f32, F32),
        F64 => run!(f64, F64),
    }
}

/// A `TypedEvaluator` of `f` over the rows, once its compiled tier runs (waiting up to a minute
/// for the background compile).
fn evaluated(src: &str, f: &TypedFormula, rows: &Rows) -> Vec<Value> {
    let e = TypedEvaluator::with_thresholds(f.clone(), 0, 0);
    let start = std::time::Instant::now();
    while matches!(e.tier(), Tier::Interpreting | Tier::Baseline)
        && start.elapsed() < std::time::Duration::from_secs(60)
    {
        e.eval(&rows.row(0)).expect("eval");
        std::thread::yield_now();
    }
    assert_eq!(e.tier(), Tier::Optimized, "{src}");
    (0..rows.b.len())
        .map(|r| e.eval(&rows.row(r)).expect("eval"))
        .collect()
}

/// A `TypedEvaluator` of `f` over the rows on its baseline tier, which never optimizes.
fn baselined(src: &str, f: &TypedFormula, rows: &Rows) -> Vec<Value> {
    let e = TypedEvaluator::with_thresholds(f.clone(), 0, u64::MAX);
    let values: Vec<Value> = (0..rows.b.len())
        .map(|r| e.eval(&rows.row(r)).expect("eval"))
        .collect();
    // Windows has no baseline tier yet: there the evaluator interprets.
    let tier = if cfg!(windows) {
        Tier::Interpreting
    } else {
        Tier::Baseline
    };
    assert_eq!(e.tier(), tier, "{src}");
    values
}

/// Runs `formulas` random typed formulas from `seed` over `n` rows through every path, each
/// cast to `result` if given; returns how many were well typed. Panics at the first
/// disagreement, with what replays it.
fn differential(seed: u64, formulas: usize, n: usize, result: Option<Ty>) -> usize {
    let mut rng = Rng::new(seed);
    let rows = Rows::random(&mut rng, n);
    let mut jit = Jit::new().expect("jit");
    let mut baseline = Jit::with_strategy(Strategy::Baseline).expect("jit");
    let mut typed_ok = 0;
    for _ in 0..formulas {
        let mut src = random_formula(&mut rng, 4);
        if let Some(t) = result {
            src = format!("{t}({src})");
        }
        let f = match TypedFormula::parse(&src, &TYPED_VARS) {
            Ok(f) => f,
            Err(Error::Type(_)) => continue,
            Err(e) => panic!("{src}: {e}"),
        };
        typed_ok += 1;
        let want: Vec<Value> = (0..n)
            .map(|r| f.eval(&rows.row(r)).expect("eval"))
            .collect();
        let paths = [
            ("function", call(&mut jit, &src, &f, &rows)),
            ("kernel", kernel(&mut jit, &src, &f, &rows, false)),
            ("evaluator", evaluated(&src, &f, &rows)),
            ("baseline function", call(&mut baseline, &src, &f, &rows)),
            (
                "baseline kernel",
                kernel(&mut baseline, &src, &f, &rows, false),
            ),
            ("baseline evaluator", baselined(&src, &f, &rows)),
        ];
        for (path, got) in paths {
            for r in 0..n {
                assert!(
                    got[r].same(want[r]),
                    "seed {seed:#x}, {src} ({} -> {}), {path}, row {:?}: {} against the \
                     interpreter's {}",
                    TYPED_VARS.map(|(_, t)| t.name()).join(", "),
                    f.ty(),
                    rows.row(r),
                    got[r],
                    want[r]
                );
            }
        }
    }
    typed_ok
}

#[test]
fn random_typed_formulas_agree_on_every_path_bit_for_bit() {
    for seed in [0x7E57_0001, 0x7E57_0002, 0x7E57_0003] {
        let ok = differential(seed, 300, 64, None);
        assert!(
            ok >= 60,
            "seed {seed:#x}: only {ok} of 300 formulas were well typed"
        );
    }
}

#[test]
fn a_batch_of_typed_formulas_agrees_with_the_interpreter() {
    let mut rng = Rng::new(0xBA7C_0001);
    let rows = Rows::random(&mut rng, 16);
    let srcs: Vec<String> = (0..400)
        .map(|_| random_formula(&mut rng, 4))
        .filter(|src| TypedFormula::parse(src, &TYPED_VARS).is_ok_and(|f| f.ty() == F64))
        .collect();
    assert!(srcs.len() >= 40, "only {} f64 formulas", srcs.len());
    let refs: Vec<&str> = srcs.iter().map(String::as_str).collect();
    for strategy in [Strategy::Optimizing, Strategy::Baseline] {
        let batch = Jit::with_strategy(strategy)
            .expect("jit")
            .compile_typed_formulas::<Signature, f64>(&refs, &TYPED_VARS)
            .expect("batch");
        for (src, g) in srcs.iter().zip(&batch) {
            let f = typed(src, &TYPED_VARS);
            for r in 0..rows.b.len() {
                let got = g.call((rows.b[r], rows.i[r], rows.l[r], rows.f[r], rows.d[r]));
                let want = f.eval(&rows.row(r)).expect("eval");
                assert!(
                    Value::F64(got).same(want),
                    "{strategy:?}: {src}, row {r}: {got} against {want}"
                );
            }
        }
    }
}

#[test]
fn typed_kernels_on_every_core_agree_with_one_core() {
    let mut rng = Rng::new(0x09A7_0001);
    let rows = Rows::random(&mut rng, 50_000);
    let mut jit = Jit::new().expect("jit");
    for src in [
        "where(d > 0.5, d * f, l) + i",
        "d * i > 100 & l == 3 | b",
        "f32(d) // f + i % 7",
    ] {
        let f = typed(src, &TYPED_VARS);
        let one = kernel(&mut jit, src, &f, &rows, false);
        let every = kernel(&mut jit, src, &f, &rows, true);
        assert!(one.iter().zip(&every).all(|(a, b)| a.same(*b)), "{src}");
        for r in (0..rows.b.len()).step_by(997) {
            assert!(
                one[r].same(f.eval(&rows.row(r)).expect("eval")),
                "{src}, row {r}"
            );
        }
    }
}

/// A kernel that mixes types runs on vectors: comparisons give lane masks that `where` and `&`
/// take, 2 rows a vector when a value is 64 bits wide and 4 otherwise; every row (37: vectors
/// and a tail) agrees with the interpreter.
#[test]
fn typed_kernels_vectorize_comparisons_and_where_as_masks() {
    let mut rng = Rng::new(0x09A7_0002);
    let rows = Rows::random(&mut rng, 37);
    let mut jit = Jit::new().expect("jit");
    let narrow = [("b", Bool), ("i", I32), ("f", F32)];
    for (src, wide, mask) in [
        // `where` picks by a bit select; a `bool` result gathers its masks' bytes by a shuffle.
        ("where(d > 0.5, d * f, l) + i", true, "bitselect"),
        ("(d * i > 100) & (l == 3) | b", true, "shuffle"),
        (
            "where((f > f32(i)) ^ b, f * f32(i), -f)",
            false,
            "bitselect",
        ),
        ("(i < 3) & isfinite(f) | ~b", false, "shuffle"),
    ] {
        let (f, lanes) = if wide {
            (typed(src, &TYPED_VARS), 2)
        } else {
            (typed(src, &narrow), 4)
        };
        let k = jit.compile_typed_kernel(&f).expect("kernel");
        assert_eq!(k.lanes(), lanes, "{src}");
        assert!(k.ir().contains(mask), "{src}: {}", k.ir());
        let got = if wide {
            kernel(&mut jit, src, &f, &rows, false)
        } else {
            let columns = [
                Column::Bool(&rows.b),
                Column::I32(&rows.i),
                Column::F32(&rows.f),
            ];
            let n = rows.b.len();
            if f.ty() == Bool {
                let mut out = vec![false; n];
                k.eval(&columns, ColumnMut::Bool(&mut out)).expect("eval");
                out.into_iter().map(Value::Bool).collect()
            } else {
                let mut out = vec![0f32; n];
                k.eval(&columns, ColumnMut::F32(&mut out)).expect("eval");
                out.into_iter().map(Value::F32).collect::<Vec<_>>()
            }
        };
        for (r, got) in got.iter().enumerate() {
            let row = rows.row(r);
            let args: Vec<Value> = if wide {
                row.to_vec()
            } else {
                vec![row[0], row[1], row[3]]
            };
            let want = f.eval(&args).expect("eval");
            assert!(got.same(want), "{src}, row {r}: {got:?} against {want:?}");
        }
    }
}

#[test]
fn a_typed_kernel_refuses_columns_of_the_wrong_type() {
    let f = typed("a + i", &[("a", F64), ("i", I32)]);
    let k = Jit::new()
        .expect("jit")
        .compile_typed_kernel(&f)
        .expect("kernel");
    let (a, i) = ([1.0], [2.0]);
    let mut out = [0.0];
    let err = k
        .eval(
            &[Column::F64(&a), Column::F64(&i)],
            ColumnMut::F64(&mut out),
        )
        .expect_err("i is i32");
    assert_eq!(
        err.to_string(),
        "the kernel takes columns of (f64, i32) and gives f64, but columns of (f64, f64) and a \
         result of f64 were given: pass one column per variable, of its type, in order"
    );
    let err = Jit::new()
        .expect("jit")
        .compile_typed::<(f64, f64), f64>(&f)
        .expect_err("signature");
    assert!(matches!(err, Error::FormulaType { .. }), "{err}");
}

#[test]
fn the_cache_serves_typed_formulas_and_checks_their_signature() {
    let mut jit = Jit::new().expect("jit");
    let vars = [("x", F64), ("n", I32)];
    let f = typed("where(x > 0, x, 0) + n", &vars);
    let a = jit
        .compile_typed_cached::<(f64, i32), f64>(&f)
        .expect("compile");
    let b = jit
        .compile_typed_cached::<(f64, i32), f64>(&typed(" where( x>0 ,x,(0))+n ", &vars))
        .expect("compile");
    assert_eq!(a.code().as_ptr(), b.code().as_ptr());
    assert_eq!((a.call((-1.0, 4)), b.call((2.5, 4))), (4.0, 6.5));
    let err = jit
        .compile_typed_cached::<(f64, f64), f64>(&f)
        .expect_err("a hit with another signature");
    assert!(matches!(err, Error::FormulaType { .. }), "{err}");
    // Another type is another program.
    let c = jit
        .compile_typed_cached::<(f64, i64), f64>(&typed(
            "where(x > 0, x, 0) + n",
            &[("x", F64), ("n", I64)],
        ))
        .expect("compile");
    assert_ne!(a.code().as_ptr(), c.code().as_ptr());
    let stats = jit.cache_stats();
    assert_eq!((stats.hits, stats.misses), (2, 2));
}

/// A `Formula<T>` is the all-`T` case: its random formulas give the same values on the typed
/// interpreter and the typed function as on its own paths.
#[test]
fn single_type_formulas_agree_on_the_typed_paths() {
    let mut rng = Rng::new(0x51A6_1E00);
    let mut jit = Jit::new().expect("jit");
    let edges = f64_edges();
    for _ in 0..100 {
        let tree = Tree::random(&mut rng, Kind::F64, 4);
        let src = tree.text();
        let Ok(formula) = Formula::<f64>::parse(&src, &VARS) else {
            continue;
        };
        let t = formula.typed();
        let g = jit
            .compile_typed::<(f64, f64, f64), f64>(&t)
            .expect("compile");
        for _ in 0..8 {
            let row = [(); 3].map(|()| rng.pick(&edges));
            let want = formula.eval(&row).expect("eval");
            let typed_value = t.eval(&row.map(Value::F64)).expect("eval");
            assert!(typed_value.same(Value::F64(want)), "{src} at {row:?}");
            assert!(Value::F64(g.call((row[0], row[1], row[2]))).same(Value::F64(want)));
        }
    }
    for kind in [Kind::I32, Kind::I64] {
        for _ in 0..100 {
            let src = Tree::random(&mut rng, kind, 4).text();
            let row = [
                rng.pick(&I64_EDGES),
                rng.pick(&I64_EDGES),
                rng.next_u64() as i64,
            ];
            let (want, typed_value) = match kind {
                Kind::I32 => {
                    let f = Formula::<i32>::parse(&src, &VARS).expect("parse");
                    let row = row.map(|v| v as i32);
                    (
                        Value::I32(f.eval(&row).expect("eval")),
                        f.typed().eval(&row.map(Value::I32)).expect("eval"),
                    )
                }
                _ => {
                    let f = Formula::<i64>::parse(&src, &VARS).expect("parse");
                    (
                        Value::I64(f.eval(&row).expect("eval")),
                        f.typed().eval(&row.map(Value::I64)).expect("eval"),
                    )
                }
            };
            assert_eq!(typed_value, want, "{src} at {row:?}");
        }
    }
}

/// The long run: for each result type, random typed formulas cast to it, from fresh seeds,
/// until 10^5 of them were well typed, over 32 rows each.
/// `cargo test --release --test all -- --ignored long_proof_typed --nocapture`.
#[test]
#[ignore = "the long run: minutes"]
fn long_proof_typed_formulas_agree_on_every_path() {
    let start = std::time::Instant::now();
    for (k, t) in Ty::ALL.into_iter().enumerate() {
        let first = 0x10_0000 * (k as u64 + 1);
        let (mut total, mut seed) = (0, first);
        while total < 100_000 {
            total += differential(seed, 1_000, 32, Some(t));
            seed += 1;
        }
        println!(
            "{t}: {total} well-typed formulas from seeds {first:#x}..{seed:#x} agreed on every \
             path ({:.0} s so far)",
            start.elapsed().as_secs_f64()
        );
    }
}
