//! Random formulas for the differential tests: every operator and function, nested, with edge
//! literals; and the edge inputs.

use proptest::prelude::*;

pub const VARS: [&str; 3] = ["x", "y", "z"];

pub const F64_FUNCS: [(&str, usize); 26] = [
    ("abs", 1),
    ("sqrt", 1),
    ("cbrt", 1),
    ("exp", 1),
    ("exp2", 1),
    ("ln", 1),
    ("log2", 1),
    ("log10", 1),
    ("pow", 2),
    ("sin", 1),
    ("cos", 1),
    ("tan", 1),
    ("asin", 1),
    ("acos", 1),
    ("atan", 1),
    ("atan2", 2),
    ("sinh", 1),
    ("cosh", 1),
    ("tanh", 1),
    ("floor", 1),
    ("ceil", 1),
    ("round", 1),
    ("trunc", 1),
    ("min", 2),
    ("max", 2),
    ("hypot", 2),
];
pub const F64_OPS: [&str; 12] = [
    "+", "-", "*", "/", "%", "**", "<", "<=", ">", ">=", "==", "!=",
];
pub const INT_OPS: [&str; 11] = ["*", "/", "%", "+", "-", "<<", ">>", ">>>", "&", "^", "|"];

pub fn f64_literal() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            "0",
            "0.5",
            "1",
            "2",
            "3",
            ".25",
            "1e308",
            "1e-308",
            "5e-324",
            "2.5",
            "9007199254740993",
            "9007199254740991",
            "1e16",
            "inf",
            "nan",
            "pi",
            "e",
        ])
        .prop_map(str::to_owned),
        any::<f64>()
            .prop_filter("finite", |v| v.is_finite())
            .prop_map(|v| format!("{:e}", v.abs())),
    ]
}

pub fn f64_formula() -> impl Strategy<Value = String> {
    let leaf = prop_oneof![3 => prop::sample::select(VARS.to_vec()).prop_map(str::to_owned), 2 => f64_literal()];
    leaf.prop_recursive(8, 64, 3, |inner| {
        prop_oneof![
            inner.clone().prop_map(|e| format!("-({e})")),
            (
                inner.clone(),
                prop::sample::select(F64_OPS.to_vec()),
                inner.clone()
            )
                .prop_map(|(a, op, b)| format!("({a}) {op} ({b})")),
            (inner.clone(), inner.clone(), inner.clone())
                .prop_map(|(c, a, b)| format!("({c}) ? ({a}) : ({b})")),
            (
                prop::sample::select(F64_FUNCS.to_vec()),
                inner.clone(),
                inner.clone()
            )
                .prop_map(|((name, arity), a, b)| if arity == 1 {
                    format!("{name}({a})")
                } else {
                    format!("{name}({a}, {b})")
                }),
        ]
    })
}

pub fn int_formula(max: u64) -> impl Strategy<Value = String> {
    let literal = prop_oneof![
        prop::sample::select(vec![
            0u64,
            1,
            2,
            31,
            32,
            33,
            63,
            64,
            65,
            0x7FFF_FFFF,
            0x8000_0000,
            0xFFFF_FFFF
        ])
        .prop_map(move |v| v.min(max)),
        (0..=max),
    ]
    .prop_flat_map(|v| prop_oneof![Just(v.to_string()), Just(format!("0x{v:X}"))]);
    let leaf =
        prop_oneof![3 => prop::sample::select(VARS.to_vec()).prop_map(str::to_owned), 2 => literal];
    leaf.prop_recursive(8, 64, 2, |inner| {
        prop_oneof![
            (prop::sample::select(vec!["-", "~"]), inner.clone())
                .prop_map(|(u, e)| format!("{u}({e})")),
            (
                inner.clone(),
                prop::sample::select(INT_OPS.to_vec()),
                inner.clone()
            )
                .prop_map(|(a, op, b)| format!("({a}) {op} ({b})")),
        ]
    })
}
