//! Your own signature and your own IR: two functions built with cranelift-frontend and compiled
//! through `Jit::compile`, each checked against Rust. `cargo run --release --example typed`.
//!
//! - `sum(n) = 1 + 2 + … + n` as an `i64` loop: `Function<i64, i64>`.
//! - `p(x, a, b, c, d) = ((a·x + b)·x + c)·x + d`, Horner's rule in `f64`:
//!   `Function<(f64, f64, f64, f64, f64), f64>`.

use cranelift_codegen::ir::condcodes::IntCC;
use cranelift_codegen::ir::{Function, InstBuilder, UserFuncName, types};
use cranelift_frontend::{FunctionBuilder, FunctionBuilderContext};
use fnjit::Jit;

fn main() -> Result<(), fnjit::Error> {
    let mut jit = Jit::new()?;
    let sum = jit.compile::<i64, i64>(&sum_ir(&jit))?;
    let horner = jit.compile::<(f64, f64, f64, f64, f64), f64>(&horner_ir(&jit))?;

    println!(
        "sum(n) = 1 + … + n, a loop in Cranelift IR:\n\n{}",
        sum.ir()
    );
    for n in [0, 1, 10, 1_000_000] {
        let want: i64 = (1..=n).sum();
        println!("sum({n}) = {} (Rust: {want})", sum.call(n));
        assert_eq!(sum.call(n), want);
    }

    println!(
        "\nHorner's rule, ((a·x + b)·x + c)·x + d:\n\n{}",
        horner.ir()
    );
    let rust = |x: f64, a: f64, b: f64, c: f64, d: f64| ((a * x + b) * x + c) * x + d;
    for x in [-2.0, 0.5, 3.0] {
        let args = (x, 1.0, -3.0, 0.25, 7.0);
        let (got, want) = (horner.call(args), rust(x, 1.0, -3.0, 0.25, 7.0));
        println!("p({x}) = {got} (Rust: {want})");
        assert_eq!(got.to_bits(), want.to_bits());
    }
    println!(
        "\n{} bytes and {} bytes of machine code, freed when `sum` and `horner` drop.",
        sum.code().len(),
        horner.code().len()
    );
    Ok(())
}

/// `fn(n: i64) -> i64`: `total = 0; i = 1; while i <= n { total += i; i += 1 } total`.
fn sum_ir(jit: &Jit) -> Function {
    let mut func =
        Function::with_name_signature(UserFuncName::default(), jit.signature::<i64, i64>());
    let mut fctx = FunctionBuilderContext::new();
    let mut b = FunctionBuilder::new(&mut func, &mut fctx);
    let (entry, head, body, exit) = (
        b.create_block(),
        b.create_block(),
        b.create_block(),
        b.create_block(),
    );
    let (i, total) = (b.declare_var(types::I64), b.declare_var(types::I64));
    b.append_block_params_for_function_params(entry);
    b.switch_to_block(entry);
    let n = b.block_params(entry)[0];
    let (zero, one) = (b.ins().iconst(types::I64, 0), b.ins().iconst(types::I64, 1));
    b.def_var(total, zero);
    b.def_var(i, one);
    b.ins().jump(head, &[]);

    b.switch_to_block(head);
    let iv = b.use_var(i);
    let more = b.ins().icmp(IntCC::SignedLessThanOrEqual, iv, n);
    b.ins().brif(more, body, &[], exit, &[]);

    b.switch_to_block(body);
    let (iv, tv) = (b.use_var(i), b.use_var(total));
    let t2 = b.ins().iadd(tv, iv);
    let i2 = b.ins().iadd_imm_s(iv, 1);
    b.def_var(total, t2);
    b.def_var(i, i2);
    b.ins().jump(head, &[]);

    b.switch_to_block(exit);
    let result = b.use_var(total);
    b.ins().return_(&[result]);
    b.seal_all_blocks();
    b.finalize(jit.frontend_config());
    func
}

/// `fn(x, a, b, c, d: f64) -> f64`: `((a·x + b)·x + c)·x + d`, no fused multiply-add.
fn horner_ir(jit: &Jit) -> Function {
    let sig = jit.signature::<(f64, f64, f64, f64, f64), f64>();
    let mut func = Function::with_name_signature(UserFuncName::default(), sig);
    let mut fctx = FunctionBuilderContext::new();
    let mut b = FunctionBuilder::new(&mut func, &mut fctx);
    let entry = b.create_block();
    b.append_block_params_for_function_params(entry);
    b.switch_to_block(entry);
    let p = b.block_params(entry).to_vec();
    let x = p[0];
    let mut acc = p[1];
    for &coefficient in &p[2..] {
        let product = b.ins().fmul(acc, x);
        acc = b.ins().fadd(product, coefficient);
    }
    b.ins().return_(&[acc]);
    b.seal_all_blocks();
    b.finalize(jit.frontend_config());
    func
}
