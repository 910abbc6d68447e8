//! A Rust callback called from JIT code takes a backtrace, which walks through the JIT frame to
//! `main`: `cargo run --release --example backtrace`. Under gdb, with `FNJIT_DEBUG=gdb`, `bt`
//! names the JIT frame (README, "Profiling and debugging").

use cranelift_codegen::ir::{AbiParam, InstBuilder, Signature, UserFuncName, types};
use cranelift_frontend::{FunctionBuilder, FunctionBuilderContext};
use std::backtrace::Backtrace;

/// Called by the JIT code: prints the stack it was called on.
#[unsafe(no_mangle)]
pub extern "C" fn on_callback(x: i64) -> i64 {
    let trace = Backtrace::force_capture().to_string();
    let frames: Vec<&str> = trace
        .lines()
        .filter(|l| !l.trim_start().starts_with("at "))
        .take(8)
        .collect();
    println!("backtrace from the callback:\n{}", frames.join("\n"));
    x * 2
}

fn main() -> Result<(), fnjit::Error> {
    let mut jit = fnjit::Jit::new()?;
    // fn calls_back(callback, x) -> i64 { callback(x) + 1 }
    let mut func = empty_function(&jit);
    let f = {
        let mut fctx = FunctionBuilderContext::new();
        let mut b = FunctionBuilder::new(&mut func, &mut fctx);
        let mut sig = Signature::new(jit.call_conv());
        sig.params.push(AbiParam::new(types::I64));
        sig.returns.push(AbiParam::new(types::I64));
        let sig = b.import_signature(sig);
        let block = b.create_block();
        b.append_block_params_for_function_params(block);
        b.switch_to_block(block);
        let (callback, x) = (b.block_params(block)[0], b.block_params(block)[1]);
        let call = b.ins().call_indirect(sig, callback, &[x]);
        let y = b.inst_results(call)[0];
        let y = b.ins().iadd_imm_s(y, 1);
        b.ins().return_(&[y]);
        b.seal_all_blocks();
        b.finalize(jit.frontend_config());
        // SAFETY: every call below passes `on_callback`, an `extern "C" fn(i64) -> i64`; the IR
        // touches no memory.
        unsafe { jit.compile_unchecked::<(i64, i64), i64>(&func)? }
    };
    let callback = on_callback as extern "C" fn(i64) -> i64;
    println!(
        "calls_back(on_callback, 20) = {}",
        f.call((callback as usize as i64, 20))
    );
    Ok(())
}

/// An empty function named `calls_back`, of the signature `(i64, i64) -> i64`.
fn empty_function(jit: &fnjit::Jit) -> cranelift_codegen::ir::Function {
    cranelift_codegen::ir::Function::with_name_signature(
        UserFuncName::testcase("calls_back"),
        jit.signature::<(i64, i64), i64>(),
    )
}
