//! Arbitrary bytes as a formula over x, y, z: the first byte picks the type (i32, i64, f64), the
//! rest is the source. `compile_formula` and the interpreter must accept or refuse the same
//! inputs with the same error; wherever they accept, the differential harness of the tests
//! (`tests/common/harness.rs`) holds every path to the interpreter on 24 rows drawn from the
//! bytes. Nothing may crash.
#![no_main]

#[allow(dead_code)]
#[path = "../../tests/common/harness.rs"]
mod harness;
#[allow(dead_code)]
#[path = "../../tests/common/random.rs"]
mod random;

use fnjit::{Formula, compile_formula};
use harness::{Harness, Path, Value, random_rows};
use libfuzzer_sys::fuzz_target;
use random::{Rng, VARS};
use std::cell::RefCell;

thread_local! {
    static HARNESS: RefCell<Harness> = RefCell::new({
        let mut harness = Harness::new();
        harness.par_rows = false; // the long rows cost more than every other path together
        harness
    });
}

fn run<T: Value>(src: &str, seed: u64) {
    match Formula::<T>::parse(src, &VARS) {
        // The harness compiles it on every path; a compile error is a failure there.
        Ok(_) => {
            let rows = random_rows::<T>(&mut Rng::new(seed), 24);
            let src = [src.to_owned()];
            if let Err(d) = HARNESS.with(|h| h.borrow_mut().check(&Path::ALL, &src, &rows)) {
                panic!("{src:?}: {d}");
            }
        }
        Err(parse) => match compile_formula::<(T, T, T), T>(src, &VARS) {
            Err(compile) => assert_eq!(compile.to_string(), parse.to_string(), "{src:?}"),
            Ok(_) => panic!("{src:?}: compiled, but the interpreter refuses it: {parse}"),
        },
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&pick, rest)) = data.split_first() else {
        return;
    };
    let Ok(src) = std::str::from_utf8(rest) else {
        return;
    };
    let seed = data.iter().fold(0x9E37_79B9_7F4A_7C15u64, |h, &b| {
        h.rotate_left(7) ^ u64::from(b)
    });
    match pick % 3 {
        0 => run::<i32>(src, seed),
        1 => run::<i64>(src, seed),
        _ => run::<f64>(src, seed),
    }
});
