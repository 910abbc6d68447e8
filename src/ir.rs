//! Cranelift IR for the functions fnjit compiles.

use cranelift_codegen::ir::{Function, InstBuilder, UserFuncName, Value};
use cranelift_codegen::isa::TargetFrontendConfig;
use cranelift_frontend::{FunctionBuilder, FunctionBuilderContext};

/// Builds `x + 1` into `func`: one block, one `i32` parameter, `iadd_imm_s`, `return`, in the
/// target's default calling convention. (In Cranelift 0.135 `iadd_imm_s` is a builder helper: it
/// emits `iconst` and `iadd`, which the backend folds back into one `lea`.)
pub fn build_inc(
    func: &mut Function,
    fctx: &mut FunctionBuilderContext,
    target: TargetFrontendConfig,
) {
    build_i32_fn(func, fctx, target, 0, |b, x| b.ins().iadd_imm_s(x, 1));
}

/// Builds `fn(i32) -> i32` into `func` (named `u0:index`) as one block: `body` gets the builder
/// and the parameter `x` and returns the value to return.
pub fn build_i32_fn(
    func: &mut Function,
    fctx: &mut FunctionBuilderContext,
    target: TargetFrontendConfig,
    index: u32,
    body: impl FnOnce(&mut FunctionBuilder<'_>, Value) -> Value,
) {
    func.clear();
    func.name = UserFuncName::user(0, index);
    func.signature = crate::func::signature::<i32, i32>(target.default_call_conv);
    let mut b = FunctionBuilder::new(func, fctx);
    let block = b.create_block();
    b.append_block_params_for_function_params(block);
    b.switch_to_block(block);
    b.seal_block(block);
    let x = b.block_params(block)[0];
    let y = body(&mut b, x);
    b.ins().return_(&[y]);
    b.finalize(target);
}

#[cfg(test)]
mod tests {
    use super::*;
    use cranelift_codegen::isa::CallConv;

    #[test]
    fn inc_is_one_block_with_one_add() {
        let mut func = Function::new();
        let target = TargetFrontendConfig {
            default_call_conv: CallConv::SystemV,
            pointer_width: target_lexicon::PointerWidth::U64,
            page_size_align_log2: 12,
        };
        build_inc(&mut func, &mut FunctionBuilderContext::new(), target);
        let text = func.display().to_string();
        assert_eq!(
            text,
            "function u0:0(i32) -> i32 system_v {\n\
             block0(v0: i32):\n    v1 = iconst.i32 1\n    v2 = iadd v0, v1  ; v1 = 1\n    return v2\n}\n"
        );
    }
}
