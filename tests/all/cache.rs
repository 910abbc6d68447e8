//! The compile cache: the same parsed formula gets the same code, whatever its spelling; it is
//! bounded, drops the entry used longest ago, and counts hits and misses. (That cached code is
//! freed when the cache and its last function let go is in `tests/alone/wx_maps.rs`.)

use fnjit::jit::CacheStats;
use fnjit::limits::CACHE_ENTRIES;
use fnjit::{Formula, Jit};

fn f64_formula(src: &str) -> Formula<f64> {
    Formula::parse(src, &["x", "y"]).expect(src)
}

#[test]
fn spellings_of_one_formula_share_code_and_count_as_hits() {
    let mut jit = Jit::new().expect("jit");
    let first = jit
        .compile_formula_cached::<(f64, f64), f64>(&f64_formula("x*(y+1)"))
        .expect("compile");
    for spelling in [" x * ( (y) + 1 ) ", "(x)*((y)+(1))", "x*(y+1.0)"] {
        let again = jit
            .compile_formula_cached::<(f64, f64), f64>(&f64_formula(spelling))
            .expect(spelling);
        assert_eq!(again.code().as_ptr(), first.code().as_ptr(), "{spelling}");
        assert_eq!(again.call((2.0, 3.0)), 8.0);
    }
    // Other names for the variables: the same program.
    let renamed = Formula::parse("a*(b+1)", &["a", "b"]).expect("renamed");
    let renamed = jit
        .compile_formula_cached::<(f64, f64), f64>(&renamed)
        .expect("renamed");
    assert_eq!(renamed.code().as_ptr(), first.code().as_ptr());
    assert_eq!(
        jit.cache_stats(),
        CacheStats {
            hits: 4,
            misses: 1,
            entries: 1,
            capacity: CACHE_ENTRIES
        }
    );
    assert!(!first.ir().is_empty(), "a cached function keeps its IR");
}

#[test]
fn different_formulas_and_types_get_their_own_code() {
    let mut jit = Jit::new().expect("jit");
    let a = jit
        .compile_formula_cached::<(f64, f64), f64>(&f64_formula("x*(y+1)"))
        .expect("a");
    let b = jit
        .compile_formula_cached::<(f64, f64), f64>(&f64_formula("x*(y+2)"))
        .expect("b");
    let c = jit
        .compile_formula_cached::<(f64, f64), f64>(&f64_formula("(x*y)+1"))
        .expect("c");
    let ints = Formula::<i64>::parse("x*(y+1)", &["x", "y"]).expect("i64");
    let d = jit
        .compile_formula_cached::<(i64, i64), i64>(&ints)
        .expect("d");
    let one_var = Formula::<f64>::parse("x*(x+1)", &["x"]).expect("one variable");
    let e = jit.compile_formula_cached::<f64, f64>(&one_var).expect("e");
    let ptrs = [
        a.code().as_ptr(),
        b.code().as_ptr(),
        c.code().as_ptr(),
        d.code().as_ptr(),
        e.code().as_ptr(),
    ];
    for (i, p) in ptrs.iter().enumerate() {
        assert!(!ptrs[..i].contains(p), "entry {i} shares code it must not");
    }
    assert_eq!((d.call((2, 3)), e.call(3.0)), (8, 12.0));
    assert_eq!(jit.cache_stats().misses, 5);
    // The signature is still checked on a hit.
    assert!(
        jit.compile_formula_cached::<(f64, f64, f64), f64>(&f64_formula("x*(y+1)"))
            .is_err()
    );
}

#[test]
fn the_cache_is_bounded_and_drops_the_entry_used_longest_ago() {
    let mut jit = Jit::new().expect("jit");
    jit.set_cache_capacity(2);
    let [a, b, c] = ["x + 1", "x + 2", "x + 3"].map(f64_formula);
    let get = |jit: &mut Jit, f: &Formula<f64>| {
        jit.compile_formula_cached::<(f64, f64), f64>(f)
            .expect("compile");
        jit.cache_stats()
    };
    get(&mut jit, &a);
    get(&mut jit, &b);
    get(&mut jit, &a); // a is now the most recent
    let stats = get(&mut jit, &c); // evicts b
    assert_eq!((stats.hits, stats.misses, stats.entries), (1, 3, 2));
    assert_eq!(get(&mut jit, &a).hits, 2, "a stayed");
    assert_eq!(get(&mut jit, &b).misses, 4, "b was dropped");
    jit.set_cache_capacity(0);
    assert_eq!(jit.cache_stats().entries, 0);
    assert_eq!(get(&mut jit, &a).entries, 0, "capacity 0 caches nothing");
}
