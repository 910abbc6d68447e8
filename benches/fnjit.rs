//! Criterion benches: call cost, time to a callable function, and the side-by-side check.
//! `fnjit bench` measures the same things interleaved in one process, in seconds; these give
//! Criterion's statistics and history. Run with `cargo bench`.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use fnjit::bench::{EXPR_20, native_inc};
use fnjit::check::{Inputs, check};
use fnjit::{HandStub, Jit, Placement, compile_inc, inc_reference};
use std::hint::black_box;

const CALLS: u64 = 10_000;

fn calls(c: &mut Criterion) {
    let jit = compile_inc().expect("compile");
    let jit_far = Jit::with_placement(Placement::Anywhere)
        .and_then(|mut j| j.compile_inc())
        .expect("compile far");
    let stub = HandStub::gist().expect("stub");
    let stub_far = HandStub::gist_placed(Placement::Fresh).expect("stub the gist's way");
    let native: extern "C" fn(i32) -> i32 = native_inc;
    let contenders: [(&str, &dyn Fn(i32) -> i32); 7] = [
        ("native fn pointer", &|x| black_box(native)(x)),
        ("HandStub::call", &|x| black_box(&stub).call(x)),
        ("JitFunction::call", &|x| black_box(&jit).call(x)),
        ("HandStub fn pointer", &|x| black_box(stub.as_fn()).call(x)),
        ("JitFunction fn pointer", &|x| {
            black_box(jit.as_fn()).call(x)
        }),
        ("gist's way (far) HandStub::call", &|x| {
            black_box(&stub_far).call(x)
        }),
        ("far JitFunction::call", &|x| black_box(&jit_far).call(x)),
    ];
    let mut g = c.benchmark_group("call_throughput");
    g.throughput(Throughput::Elements(CALLS));
    for (name, f) in contenders {
        g.bench_function(name, |b| {
            b.iter(|| {
                for i in 0..CALLS as i32 {
                    assert_eq!(f(i), i.wrapping_add(1));
                }
            })
        });
    }
    g.finish();
    let mut g = c.benchmark_group("call_latency");
    g.throughput(Throughput::Elements(CALLS));
    for (name, f) in contenders {
        g.bench_function(name, |b| {
            b.iter(|| {
                let mut x = black_box(0);
                for i in 1..=CALLS as i32 {
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
    g.bench_function("gist's way: mmap, copy, mprotect, munmap", |b| {
        b.iter(|| {
            assert_eq!(
                HandStub::gist_placed(Placement::Fresh)
                    .expect("stub")
                    .call(41),
                42
            )
        })
    });
    g.bench_function("HandStub::gist", |b| {
        b.iter(|| assert_eq!(HandStub::gist().expect("stub").call(41), 42))
    });
    g.bench_function("compile_inc", |b| {
        b.iter(|| assert_eq!(compile_inc().expect("compile").call(41), 42))
    });
    let mut jit = Jit::new().expect("jit");
    g.bench_function("Jit::compile_inc (reused)", |b| {
        b.iter(|| assert_eq!(jit.compile_inc().expect("compile").call(41), 42))
    });
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
    g.throughput(Throughput::Elements(CALLS));
    g.bench_function("jit", |b| {
        b.iter(|| (0..CALLS as i32).fold(0i32, |acc, x| acc ^ black_box(&f).call(x)))
    });
    g.bench_function("interpreter", |b| {
        b.iter(|| (0..CALLS as i32).fold(0i32, |acc, x| acc ^ black_box(&expr).eval(x)))
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

criterion_group!(
    benches,
    calls,
    time_to_callable,
    check_throughput,
    expressions
);
criterion_main!(benches);
