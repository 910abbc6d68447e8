//! Every way fnjit makes code for a formula (`tests/common/harness.rs`: single compiles, the
//! cache's miss and hit, batches, both Evaluator tiers, kernels with every tail and offset,
//! eval_par across threads) against the interpreter, bit for bit, on random formulas of each
//! type drawn from fixed seeds; and the NaN policy (docs/language.md) on every path.
//!
//! `FNJIT_SEED=0x… cargo test --test all differential::` replays one seed. The long run with fresh
//! seeds: `cargo test --release --test all -- --ignored long_run` (`docs/differential.md`).

use crate::common;
use common::harness::{Harness, Path, SEED_VAR, Value, seeds};
use common::random::{QUIET_NANS, SIGNALING_NANS, VARS};
use std::time::Instant;

/// The seeds `cargo test` runs: the same on every run, so CI is deterministic. Seed 0x6E drew
/// `x ** trunc(y)` at a signaling NaN `y`, which split the paths before the NaN policy.
const SEEDS: [u64; 8] = [1, 2, 3, 4, 5, 6, 0x6E, 0x5EED_F00D];

/// Formulas per group (one batch), groups per seed, and rows per group: 8 seeds × 5 × 40 = 1,600
/// formulas a type, on 24 rows. Under emulation (qemu), a quarter of the groups.
fn shape() -> (usize, usize, usize) {
    let groups = if common::runner().is_some() { 1 } else { 5 };
    (groups, 40, 24)
}

fn agree<T: Value>() {
    let (groups, per_group, rows) = shape();
    let mut harness = Harness::new();
    for seed in seeds(&SEEDS) {
        if let Err(report) = harness.seed::<T>(seed, groups, per_group, rows) {
            panic!("{report}");
        }
    }
}

#[test]
fn f64_every_path_agrees_with_the_interpreter() {
    agree::<f64>();
}

#[test]
fn i64_every_path_agrees_with_the_interpreter() {
    agree::<i64>();
}

#[test]
fn i32_every_path_agrees_with_the_interpreter() {
    agree::<i32>();
}

/// The formulas that split the paths before the NaN policy (issue: a kernel test failing once
/// in tens of runs), on a row with each signaling and quiet NaN in every variable, at every row
/// of the kernels' vectors and tails.
#[test]
fn regression_floor_of_a_signaling_nan_to_the_power_zero() {
    let srcs = [
        "abs(pow(floor(y), pow(x, 2)))",
        "(floor((x) ? (y) : (x))) ** ((x) - (x))",
        "(floor(y)) ** ((1e-308) / (x))",
        "((floor(x)) ** (z)) + (pow((x) + (x), -(z)))",
        "floor(y) ** 0",
    ]
    .map(str::to_owned);
    let mut harness = Harness::new();
    for nan in SIGNALING_NANS.iter().chain(&QUIET_NANS) {
        let nan = f64::from_bits(*nan);
        let rows: Vec<[f64; 3]> = (0..11)
            .map(|r| match r % 3 {
                0 => [9.90286834003832e-178, nan, 5e-324],
                1 => [nan, nan, 0.0],
                _ => [1e300, nan, nan],
            })
            .collect();
        if let Err(d) = harness.check(&Path::ALL, &srcs, &rows) {
            panic!("{}: {d}", srcs[d.formula]);
        }
    }
    let f = fnjit::Formula::<f64>::parse("floor(y) ** 0", &VARS).expect("parse");
    let snan = f64::from_bits(SIGNALING_NANS[0]);
    assert_eq!(
        f.eval(&[0.0, snan, 0.0]).expect("eval"),
        1.0,
        "pow(NaN, 0) is 1"
    );
}

/// The policy, operator by operator: a signaling NaN gives what the quiet NaN of the same sign
/// and payload gives (any NaN equals any NaN), on every path; and no operator but `-`, `abs`
/// and `?:` (which move bits) returns a signaling NaN.
#[test]
fn every_operator_treats_a_signaling_nan_as_its_quiet_nan() {
    let mut srcs: Vec<String> = [
        "-y",
        "abs(y)",
        "sqrt(y)",
        "cbrt(y)",
        "exp(y)",
        "exp2(y)",
        "ln(y)",
        "log2(y)",
        "log10(y)",
        "sin(y)",
        "cos(y)",
        "tan(y)",
        "asin(y)",
        "acos(y)",
        "atan(y)",
        "sinh(y)",
        "cosh(y)",
        "tanh(y)",
        "floor(y)",
        "ceil(y)",
        "round(y)",
        "trunc(y)",
        "asinh(y)",
        "acosh(y)",
        "atanh(y)",
        "log1p(y)",
        "expm1(y)",
        "rint(y)",
        "sign(y)",
        "y ? 1 : 2",
        "x ? y : z",
    ]
    .map(str::to_owned)
    .to_vec();
    for f in [
        "pow",
        "atan2",
        "min",
        "max",
        "hypot",
        "copysign",
        "nextafter",
    ] {
        srcs.push(format!("{f}(y, x)"));
        srcs.push(format!("{f}(x, y)"));
    }
    for op in [
        "+", "-", "*", "/", "%", "**", "<", "<=", ">", ">=", "==", "!=",
    ] {
        srcs.push(format!("y {op} x"));
        srcs.push(format!("x {op} y"));
    }
    let others = [
        0.0,
        -0.0,
        1.0,
        -1.0,
        2.0,
        f64::INFINITY,
        f64::NEG_INFINITY,
        5e-324,
    ];
    let mut harness = Harness::new();
    for &bits in &SIGNALING_NANS {
        let (snan, qnan) = (f64::from_bits(bits), f64::from_bits(bits | 1 << 51));
        let rows: Vec<[f64; 3]> = others.iter().map(|&x| [x, snan, x]).collect();
        if let Err(d) = harness.check(&Path::ALL, &srcs, &rows) {
            panic!("{}: {d}", srcs[d.formula]);
        }
        for src in &srcs {
            let f = fnjit::Formula::<f64>::parse(src, &VARS).expect("parse");
            for &x in &others {
                let (s, q) = (
                    f.eval(&[x, snan, x]).expect("eval"),
                    f.eval(&[x, qnan, x]).expect("eval"),
                );
                assert!(
                    f64::same(s, q),
                    "{src} at x = {x:e}: {s:e} with y = sNaN 0x{bits:016X}, {q:e} with its quiet NaN"
                );
                let moves_bits = ["-y", "abs(y)", "x ? y : z"].contains(&src.as_str());
                let signaling = s.is_nan() && s.to_bits() & (1 << 51) == 0;
                assert!(
                    moves_bits || !signaling,
                    "{src} at x = {x:e} returned the signaling NaN 0x{:016X}",
                    s.to_bits()
                );
            }
        }
    }
}

/// The replay variable is honoured, and the seeds are fixed without it.
#[test]
fn seeds_are_fixed_unless_one_is_given() {
    if std::env::var_os(SEED_VAR).is_none() {
        assert_eq!(seeds(&SEEDS), SEEDS.to_vec());
    }
}

/// `FNJIT_FORMULAS` formulas of each type (default 10^6) from fresh seeds, on every path; the
/// seeds are printed first, so a failure replays. Two threads, each its own `Jit`s.
#[test]
#[ignore = "long: cargo test --release --test all -- --ignored long_run"]
fn long_run_fresh_seeds() {
    let total: usize = std::env::var("FNJIT_FORMULAS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let (_, per_group, rows) = shape();
    let threads = 2;
    let clock = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    let start = Instant::now();
    let failed = std::sync::atomic::AtomicBool::new(false);
    std::thread::scope(|s| {
        for t in 0..threads {
            let seed = clock ^ (t as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
            println!("thread {t}: seeds from 0x{seed:X}, one a group");
            let failed = &failed;
            s.spawn(move || {
                let groups = total.div_ceil(per_group * threads);
                let mut harness = Harness::new();
                for (g, seed) in (0..groups).map(|g| (g, seed.wrapping_add(g as u64))) {
                    if failed.load(std::sync::atomic::Ordering::Relaxed) {
                        return;
                    }
                    // eval_par across threads on every 16th group only: its split is the same
                    // code for every formula, and the long rows cost more than the other paths.
                    harness.par_rows = g % 16 == 0;
                    for result in [
                        harness.seed::<f64>(seed, 1, per_group, rows),
                        harness.seed::<i64>(seed, 1, per_group, rows),
                        harness.seed::<i32>(seed, 1, per_group, rows),
                    ] {
                        if let Err(report) = result {
                            failed.store(true, std::sync::atomic::Ordering::Relaxed);
                            panic!("{report}");
                        }
                    }
                    if (g + 1) % 1000 == 0 {
                        println!(
                            "thread {t}: {} formulas of each type, {:.0} s",
                            (g + 1) * per_group,
                            start.elapsed().as_secs_f64()
                        );
                    }
                }
            });
        }
    });
    println!(
        "{total} formulas of each of f64, i64 and i32 agree on every path ({:.0} s)",
        start.elapsed().as_secs_f64()
    );
}
