//! Criterion benches: call cost, time to a callable function, the side-by-side check, formulas,
//! kernels, and thousands of functions.
//! `fnjit bench` measures the same things interleaved in one process, in seconds; these give
//! Criterion's statistics and history. Run with `cargo bench`.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use fnjit::check::{Inputs, check, inc_reference};
use fnjit::{Evaluator, Formula, HandStub, Jit, compile_inc};
use fnjit_cli::bench::{
    BATCH, CALLS, Contender, EXPR_20, FORMULAS, Fixtures, TIER_FORMULA, TO_CALLABLE, both_tiers,
    f64_engines, formula_20, i64_engines, inc_ir, inputs, int_inputs, native_inc, to_callable_once,
};
use std::hint::black_box;

const CALLS_PER_ITER: u64 = 10_000;

type Call<'a> = Box<dyn Fn(i32) -> i32 + 'a>;

/// The same call contenders as `fnjit bench`, each through one `dyn Fn` (the same overhead for
/// all of them).
fn calls(c: &mut Criterion) {
    let fixtures = Fixtures::new().expect("fixtures");
    let native: extern "C" fn(i32) -> i32 = native_inc;
    let contenders: Vec<(Contender, Call<'_>)> = CALLS
        .iter()
        .map(|&contender| {
            let f: Call<'_> = match (fixtures.target(contender), contender) {
                (Some(f), Contender::Call { pointer: true, .. }) => {
                    Box::new(move |x| black_box(f.as_fn()).call(x))
                }
                (Some(f), _) => Box::new(move |x| black_box(f).call(x)),
                (None, _) => Box::new(move |x| black_box(native)(x)),
            };
            (contender, f)
        })
        .collect();
    let mut g = c.benchmark_group("call_throughput");
    g.throughput(Throughput::Elements(CALLS_PER_ITER));
    for (name, f) in &contenders {
        g.bench_function(name.to_string(), |b| {
            b.iter(|| {
                for i in 0..CALLS_PER_ITER as i32 {
                    assert_eq!(f(i), i.wrapping_add(1));
                }
            })
        });
    }
    g.finish();
    let mut g = c.benchmark_group("call_latency");
    g.throughput(Throughput::Elements(CALLS_PER_ITER));
    for (name, f) in &contenders {
        g.bench_function(name.to_string(), |b| {
            b.iter(|| {
                let mut x = black_box(0);
                for i in 1..=CALLS_PER_ITER as i32 {
                    x = f(x);
                    assert_eq!(x, i);
                }
            })
        });
    }
    g.finish();
}

fn time_to_callable(c: &mut Criterion) {
    let mut g = c.benchmark_group("time_to_callable");
    let mut jit = Jit::new().expect("jit");
    for contender in TO_CALLABLE {
        g.bench_function(contender.to_string(), |b| {
            b.iter(|| assert_eq!(to_callable_once(contender, &mut jit).expect("callable"), 42))
        });
    }
    g.finish();
}

fn check_throughput(c: &mut Criterion) {
    let (jit, stub) = (
        compile_inc().expect("compile"),
        HandStub::gist().expect("stub"),
    );
    let inputs = Inputs::Slice {
        start: 0,
        len: 1 << 24,
    };
    let mut g = c.benchmark_group("check");
    g.throughput(Throughput::Elements(inputs.count()));
    g.sample_size(10);
    g.bench_function("2^24 inputs, rust vs cranelift vs stub, all cores", |b| {
        b.iter(|| {
            let r = check(
                ["rust", "cranelift", "stub"],
                |x| [inc_reference(x), jit.call(x), stub.call(x)],
                inputs,
                &|_| {},
            );
            assert!(r.agree(), "{r}");
        })
    });
    g.finish();
}

fn expressions(c: &mut Criterion) {
    let expr = fnjit::Expr::parse(EXPR_20).expect("parse");
    assert_eq!(expr.operators(), 20);
    let f = fnjit::compile_expr(EXPR_20).expect("compile");
    let mut g = c.benchmark_group("expr_call_20_operators");
    g.throughput(Throughput::Elements(CALLS_PER_ITER));
    g.bench_function("jit", |b| {
        b.iter(|| (0..CALLS_PER_ITER as i32).fold(0i32, |acc, x| acc ^ black_box(&f).call(x)))
    });
    g.bench_function("interpreter", |b| {
        b.iter(|| (0..CALLS_PER_ITER as i32).fold(0i32, |acc, x| acc ^ black_box(&expr).eval(x)))
    });
    g.finish();

    let mut g = c.benchmark_group("expr_compile_by_size");
    let mut jit = Jit::new().expect("jit");
    for terms in [10usize, 100, 1_000, 10_000, 100_000] {
        let src = vec!["x"; terms].join(" + ");
        g.throughput(Throughput::Elements(terms as u64));
        if terms >= 10_000 {
            g.sample_size(10);
        }
        g.bench_function(format!("{terms}-term sum"), |b| {
            b.iter(|| {
                assert_eq!(
                    jit.compile_expr(&src).expect("compile").call(1),
                    terms as i32
                )
            })
        });
    }
    g.finish();
}

/// The same formulas and engines as `fnjit bench`: each evaluator over 256 inputs per iteration.
fn formulas(c: &mut Criterion) {
    for (k, formula) in FORMULAS.iter().enumerate() {
        let mut g = c.benchmark_group(format!("formula_{k}"));
        g.throughput(Throughput::Elements(256));
        match formula.native_i64 {
            None => {
                let f = both_tiers::<f64>(formula.src).expect("compile");
                let inputs = inputs();
                for (engine, eval) in
                    f64_engines(formula.src, &f, formula.native_f64).expect("engines")
                {
                    g.bench_function(format!("{engine:?}"), |b| {
                        b.iter(|| {
                            inputs
                                .iter()
                                .map(|&a| eval(a).unwrap_or(f64::NAN))
                                .sum::<f64>()
                        })
                    });
                }
            }
            Some(native) => {
                let f = both_tiers::<i64>(formula.src).expect("compile");
                let inputs = int_inputs();
                for (engine, eval) in i64_engines(formula.src, &f, native).expect("engines") {
                    g.bench_function(format!("{engine:?}"), |b| {
                        b.iter(|| {
                            inputs
                                .iter()
                                .fold(0i64, |s, &a| s.wrapping_add(eval(a).unwrap_or(0)))
                        })
                    });
                }
            }
        }
        g.finish();
    }
}

/// The same kernels as `fnjit bench`: the native loop, `eval`, `eval_par` and the scalar
/// function per row, over 100,000 rows per iteration.
fn kernels(c: &mut Criterion) {
    const ROWS: usize = 100_000;
    let cols = fnjit_cli::bench::columns(ROWS);
    let cols: [&[f64]; 3] = [&cols[0], &cols[1], &cols[2]];
    let mut out = vec![0.0; ROWS];
    for (k, formula) in fnjit_cli::bench::KERNELS.iter().enumerate() {
        let kernel = fnjit::compile_kernel::<f64>(formula.src, &["x", "y", "z"]).expect("kernel");
        let scalar = fnjit::compile_formula::<(f64, f64, f64), f64>(formula.src, &["x", "y", "z"])
            .expect("scalar");
        let mut g = c.benchmark_group(format!("kernel_{k}"));
        g.throughput(Throughput::Elements(ROWS as u64));
        g.bench_function("native loop", |b| {
            b.iter(|| fnjit_cli::bench::native(k, cols, &mut out))
        });
        g.bench_function("Kernel::eval", |b| {
            b.iter(|| kernel.eval(&cols, &mut out).expect("eval"))
        });
        g.bench_function("Kernel::eval_par", |b| {
            b.iter(|| kernel.eval_par(&cols, &mut out).expect("eval_par"))
        });
        let baseline = Jit::with_strategy(fnjit::Strategy::Baseline)
            .and_then(|mut jit| {
                jit.compile_kernel(&fnjit::Formula::parse(formula.src, &["x", "y", "z"])?)
            })
            .expect("baseline kernel");
        g.bench_function("baseline Kernel::eval", |b| {
            b.iter(|| baseline.eval(&cols, &mut out).expect("eval"))
        });
        g.bench_function("Function per row", |b| {
            b.iter(|| {
                for (i, o) in out.iter_mut().enumerate() {
                    *o = scalar.call((cols[0][i], cols[1][i], cols[2][i]));
                }
            })
        });
        g.finish();
    }
}

/// Thousands of functions: 1,000 functions one at a time against one batch (per function:
/// divide by 1,000), a cache hit, and an `Evaluator` against interpreting and compiling first
/// at 10^4 evaluations, the middle of the tiering curve.
fn scale(c: &mut Criterion) {
    let mut g = c.benchmark_group("scale");
    g.sample_size(10);
    let mut jit = Jit::new().expect("jit");
    let inc: Vec<_> = (0..BATCH).map(|_| inc_ir(&jit)).collect();
    g.bench_function("x + 1 the gist's way, 1,000 times", |b| {
        b.iter(|| {
            for _ in 0..BATCH {
                let stub = HandStub::gist_placed(fnjit::jit::Placement::Fresh).expect("stub");
                assert_eq!(stub.call(41), 42);
            }
        })
    });
    g.bench_function("x + 1, compile_many of 1,000", |b| {
        b.iter(|| {
            let fs = jit.compile_many::<i32, i32>(&inc).expect("batch");
            assert_eq!(fs[BATCH - 1].call(41), 42);
        })
    });
    let vars = ["x", "y", "z"];
    let srcs: Vec<String> = (0..BATCH).map(formula_20).collect();
    let srcs: Vec<&str> = srcs.iter().map(String::as_str).collect();
    g.bench_function("20-operator formulas, compile_formula 1,000 times", |b| {
        b.iter(|| {
            for src in &srcs {
                let formula = Formula::<f64>::parse(src, &vars).expect("parse");
                let f = jit
                    .compile_formula::<(f64, f64, f64), f64>(&formula)
                    .expect("compile");
                black_box(f.call((1.0, 2.0, 3.0)));
            }
        })
    });
    g.bench_function("20-operator formulas, compile_formulas of 1,000", |b| {
        b.iter(|| {
            let fs = jit
                .compile_formulas::<(f64, f64, f64), f64>(&srcs, &vars)
                .expect("batch");
            black_box(fs[BATCH - 1].call((1.0, 2.0, 3.0)));
        })
    });
    g.finish();

    let mut g = c.benchmark_group("cache");
    let formula = Formula::<f64>::parse(&formula_20(7), &vars).expect("parse");
    g.bench_function("compile_formula_cached, a hit", |b| {
        b.iter(|| {
            jit.compile_formula_cached::<(f64, f64, f64), f64>(black_box(&formula))
                .expect("hit")
        })
    });
    g.finish();

    let mut g = c.benchmark_group("tiers_10^4_calls");
    g.sample_size(20);
    let arg = |c: u64| [(c % 1024) as f64 * 0.001 + 0.1, 2.0, 3.0];
    g.bench_function("interpret", |b| {
        b.iter(|| {
            let f = Formula::<f64>::parse(TIER_FORMULA, &vars).expect("parse");
            (0..10_000)
                .map(|c| f.eval(&arg(c)).expect("eval"))
                .sum::<f64>()
        })
    });
    g.bench_function("compile first", |b| {
        b.iter(|| {
            let f = Formula::<f64>::parse(TIER_FORMULA, &vars).expect("parse");
            let f = jit
                .compile_formula::<(f64, f64, f64), f64>(&f)
                .expect("compile");
            (0..10_000)
                .map(|c| {
                    let [x, y, z] = arg(c);
                    f.call((x, y, z))
                })
                .sum::<f64>()
        })
    });
    g.bench_function("Evaluator", |b| {
        b.iter(|| {
            let e = Evaluator::<f64>::new(TIER_FORMULA, &vars).expect("parse");
            (0..10_000)
                .map(|c| e.eval(&arg(c)).expect("eval"))
                .sum::<f64>()
        })
    });
    g.finish();
}

criterion_group!(
    benches,
    scale,
    kernels,
    formulas,
    calls,
    time_to_callable,
    check_throughput,
    expressions
);
criterion_main!(benches);
