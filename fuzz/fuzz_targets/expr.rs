//! Arbitrary bytes into `compile_expr` and the interpreter: both must accept or refuse the same
//! inputs, with the same error, and agree on every value wherever both accept. Nothing may crash.
#![no_main]

use fnjit::check::EDGES;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(src) = std::str::from_utf8(data) else {
        return;
    };
    match (fnjit::compile_expr(src), fnjit::Expr::parse(src)) {
        (Ok(f), Ok(expr)) => {
            let seed = data
                .iter()
                .fold(0x9E37_79B9u32, |h, &b| h.rotate_left(5) ^ u32::from(b));
            for x in EDGES
                .into_iter()
                .chain([seed as i32, seed.wrapping_mul(0x85EB_CA6B) as i32])
            {
                assert_eq!(f.call(x), expr.eval(x), "{src:?} at x = {x}");
                assert_eq!(fnjit::eval_expr(src, x).ok(), Some(expr.eval(x)));
            }
        }
        (Err(a), Err(b)) => assert_eq!(a.to_string(), b.to_string(), "{src:?}"),
        (a, b) => panic!(
            "{src:?}: compile_expr {:?} but parse {:?}",
            a.map(|_| ()),
            b.map(|_| ())
        ),
    }
});
