//! Arbitrary bytes as a formula: the first byte picks the type (i32, i64, f64) and how many of
//! the variables x, y, z it has; the rest is the source. `compile_formula` and the interpreter
//! must accept or refuse the same inputs with the same error, and give equal values (any NaN
//! equals any NaN) wherever both accept. Nothing may crash.
#![no_main]

use fnjit::{Formula, Number, compile_formula};
use libfuzzer_sys::fuzz_target;

const VARS: [&str; 3] = ["x", "y", "z"];

fn run<T: Number>(src: &str, vars: &[&str], args: [T; 3], same: fn(T, T) -> bool) {
    let [a, b, c] = args;
    let jit = match vars.len() {
        0 => compile_formula::<(), T>(src, vars).map(|f| f.call(())),
        1 => compile_formula::<(T,), T>(src, vars).map(|f| f.call((a,))),
        2 => compile_formula::<(T, T), T>(src, vars).map(|f| f.call((a, b))),
        _ => compile_formula::<(T, T, T), T>(src, vars).map(|f| f.call((a, b, c))),
    };
    let oracle = Formula::<T>::parse(src, vars).and_then(|f| f.eval(&args[..vars.len()]));
    match (jit, oracle) {
        (Ok(jit), Ok(oracle)) => {
            assert!(
                same(jit, oracle),
                "{src:?}: jit {jit:?}, interpreter {oracle:?}"
            );
        }
        (Err(a), Err(b)) => assert_eq!(a.to_string(), b.to_string(), "{src:?}"),
        (a, b) => panic!("{src:?}: compile {a:?}, interpret {b:?}"),
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&pick, rest)) = data.split_first() else {
        return;
    };
    let Ok(src) = std::str::from_utf8(rest) else {
        return;
    };
    let vars = &VARS[..usize::from(pick >> 2) % 4];
    let seed = data.iter().fold(0x9E37_79B9_7F4A_7C15u64, |h, &b| {
        h.rotate_left(7) ^ u64::from(b)
    });
    let bits = [seed, seed.wrapping_mul(0x85EB_CA6B), !seed];
    match pick % 3 {
        0 => run::<i32>(src, vars, bits.map(|b| b as i32), |a, b| a == b),
        1 => run::<i64>(src, vars, bits.map(|b| b as i64), |a, b| a == b),
        _ => run::<f64>(src, vars, bits.map(f64::from_bits), |a, b| {
            a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan())
        }),
    }
});
