//! The JIT function, the stub and Rust agree: on the edges, on random inputs, on every input,
//! and from many threads at once.

use crate::common;
use fnjit::check::inc_reference;
use fnjit::check::{EDGES, Inputs, check};
use fnjit::{HandStub, compile_inc};
use proptest::prelude::*;
use std::sync::OnceLock;

fn pair() -> &'static (fnjit::JitFunction, HandStub) {
    static PAIR: OnceLock<(fnjit::JitFunction, HandStub)> = OnceLock::new();
    PAIR.get_or_init(|| {
        (
            compile_inc().expect("compile"),
            HandStub::gist().expect("stub"),
        )
    })
}

#[test]
fn edges_agree() {
    let (jit, stub) = pair();
    for x in EDGES {
        assert_eq!(jit.call(x), x.wrapping_add(1), "jit at {x}");
        assert_eq!(stub.call(x), x.wrapping_add(1), "stub at {x}");
    }
    assert_eq!(jit.call(41), 42);
    assert_eq!(jit.call(i32::MAX), i32::MIN);
}

proptest! {
    #![proptest_config(common::proptest_config(10_000))]
    #[test]
    fn random_inputs_agree(x in any::<i32>()) {
        let (jit, stub) = pair();
        prop_assert_eq!(jit.call(x), inc_reference(x));
        prop_assert_eq!(stub.call(x), inc_reference(x));
    }
}

#[test]
fn all_inputs_agree() {
    let (jit, stub) = pair();
    let inputs = common::every_i32("all_inputs_agree");
    let report = check(
        ["rust", "cranelift", "stub"],
        |x| [inc_reference(x), jit.call(x), stub.call(x)],
        inputs,
        &|_| {},
    );
    assert_eq!(report.checked, inputs.count());
    assert!(report.agree(), "{report}");
}

#[test]
fn quick_check_catches_a_wrong_function() {
    let (jit, _) = pair();
    let report = check(
        ["rust", "cranelift"],
        |x| [x.wrapping_add(2), jit.call(x)],
        Inputs::Quick { samples: 100 },
        &|_| {},
    );
    assert_eq!(report.mismatches, 106);
}

#[test]
fn many_threads_call_one_function_at_once() {
    let (jit, stub) = (
        compile_inc().expect("compile"),
        HandStub::gist().expect("stub"),
    );
    let barrier = std::sync::Barrier::new(8);
    std::thread::scope(|s| {
        for t in 0..8i32 {
            let (jit, stub, barrier) = (&jit, &stub, &barrier);
            s.spawn(move || {
                barrier.wait();
                for i in 0..1_000_000i32 {
                    let x = i
                        .wrapping_mul(8)
                        .wrapping_add(t)
                        .wrapping_mul(0x9E37_79B1u32 as i32);
                    assert_eq!(jit.call(x), x.wrapping_add(1));
                    assert_eq!(stub.call(x), x.wrapping_add(1));
                }
            });
        }
    });
}
