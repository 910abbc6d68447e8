//! The functions JIT code may call, and how IR names them. fnjit links nothing else: no symbol of
//! the process, no C library function found by name.
//!
//! - `u0:k` in your IR is function `k` of the batch being compiled ([`crate::Jit::compile_many`];
//!   a single compile is a batch of one).
//! - `u1:k` is fnjit's math function `k` ([`math`], declared by [`crate::Jit::import_math`]): the
//!   same Rust functions formulas call.
//! - `u2:k` is import `k` of IR that fnjit built itself (formulas, kernels).
//! - Cranelift's libcalls (`ceil`, `floor`, `trunc`, `nearest` and `fma` on a host without the
//!   instruction, `memcpy` and its kin) go to Rust functions linked into fnjit ([`libcall`]), so
//!   they resolve in every process, whatever it exports.

use crate::expr::{Callee, Func};
use cranelift_codegen::ir::{AbiParam, LibCall, Signature, types};
use cranelift_codegen::isa::CallConv;

/// The namespace of `u0:k`: the batch's functions.
pub(crate) const BATCH: u32 = 0;
/// The namespace of `u1:k`: [`math`].
pub(crate) const MATH_NAMESPACE: u32 = 1;
/// The namespace of `u2:k`: the imports of IR that fnjit built.
pub(crate) const IMPORTS: u32 = 2;

/// Math function `k` (`u1:k`): the formula language's function `k` (docs/language.md lists
/// them, `u1:0` being `abs`), its symbol and Rust function. Each takes and returns `f64` (one or
/// two arguments).
pub(crate) fn math(k: u32) -> Option<(&'static str, Callee)> {
    let f = Func::nth(usize::try_from(k).ok()?)?;
    Some((f.symbol(), f.rust()))
}

/// The `k` of the math function called `name`.
pub(crate) fn math_index(name: &str) -> Option<u32> {
    u32::try_from(Func::by_name(name)?.index()).ok()
}

/// A Rust function that stands for one of Cranelift's libcalls: its symbol, address and
/// signature in `call_conv`; `None` for the libcalls fnjit does not provide (stack probes, which
/// fnjit emits inline, thread-local storage, and what the host's backend never asks for).
pub(crate) fn libcall(
    call: LibCall,
    call_conv: CallConv,
) -> Option<(&'static str, *const u8, Signature)> {
    use types::{F32, F64, I32, I64};
    let sig = |params: &[cranelift_codegen::ir::Type], ret: Option<cranelift_codegen::ir::Type>| {
        let mut sig = Signature::new(call_conv);
        sig.params.extend(params.iter().map(|&t| AbiParam::new(t)));
        sig.returns.extend(ret.map(AbiParam::new));
        sig
    };
    let (symbol, address, signature) = match call {
        LibCall::CeilF32 => (
            "fnjit_ceilf",
            rust::ceil_f32 as *const u8,
            sig(&[F32], Some(F32)),
        ),
        LibCall::CeilF64 => (
            "fnjit_ceil64",
            rust::ceil_f64 as *const u8,
            sig(&[F64], Some(F64)),
        ),
        LibCall::FloorF32 => (
            "fnjit_floorf",
            rust::floor_f32 as *const u8,
            sig(&[F32], Some(F32)),
        ),
        LibCall::FloorF64 => (
            "fnjit_floor64",
            rust::floor_f64 as *const u8,
            sig(&[F64], Some(F64)),
        ),
        LibCall::TruncF32 => (
            "fnjit_truncf",
            rust::trunc_f32 as *const u8,
            sig(&[F32], Some(F32)),
        ),
        LibCall::TruncF64 => (
            "fnjit_trunc64",
            rust::trunc_f64 as *const u8,
            sig(&[F64], Some(F64)),
        ),
        LibCall::NearestF32 => (
            "fnjit_nearestf",
            rust::nearest_f32 as *const u8,
            sig(&[F32], Some(F32)),
        ),
        LibCall::NearestF64 => (
            "fnjit_nearest",
            rust::nearest_f64 as *const u8,
            sig(&[F64], Some(F64)),
        ),
        LibCall::FmaF32 => (
            "fnjit_fmaf",
            rust::fma_f32 as *const u8,
            sig(&[F32, F32, F32], Some(F32)),
        ),
        LibCall::FmaF64 => (
            "fnjit_fma",
            rust::fma_f64 as *const u8,
            sig(&[F64, F64, F64], Some(F64)),
        ),
        // Only unchecked IR reaches memory; these are the C library's, through Rust's own link.
        LibCall::Memcpy => (
            "memcpy",
            libc::memcpy as *const u8,
            sig(&[I64, I64, I64], Some(I64)),
        ),
        LibCall::Memmove => (
            "memmove",
            libc::memmove as *const u8,
            sig(&[I64, I64, I64], Some(I64)),
        ),
        LibCall::Memset => (
            "memset",
            libc::memset as *const u8,
            sig(&[I64, I32, I64], Some(I64)),
        ),
        LibCall::Memcmp => (
            "memcmp",
            libc::memcmp as *const u8,
            sig(&[I64, I64, I64], Some(I32)),
        ),
        #[cfg(target_arch = "x86_64")]
        LibCall::X86Pshufb => (
            "fnjit_pshufb",
            rust::pshufb as *const u8,
            sig(&[types::I8X16, types::I8X16], Some(types::I8X16)),
        ),
        _ => return None,
    };
    Some((symbol, address, signature))
}

/// The libcalls as Rust functions: each one method of `f32` or `f64`, total, never unwinding.
mod rust {
    macro_rules! unary {
        ($($name:ident: $t:ty => $method:ident),* $(,)?) => {$(
            pub(super) extern "C" fn $name(x: $t) -> $t {
                x.$method()
            }
        )*};
    }
    unary!(
        ceil_f32: f32 => ceil, ceil_f64: f64 => ceil, floor_f32: f32 => floor,
        floor_f64: f64 => floor, trunc_f32: f32 => trunc, trunc_f64: f64 => trunc,
        nearest_f32: f32 => round_ties_even, nearest_f64: f64 => round_ties_even,
    );

    pub(super) extern "C" fn fma_f32(a: f32, b: f32, c: f32) -> f32 {
        a.mul_add(b, c)
    }

    pub(super) extern "C" fn fma_f64(a: f64, b: f64, c: f64) -> f64 {
        a.mul_add(b, c)
    }

    /// SSSE3's `pshufb`, for a host without it: byte `i` is `a[b[i] & 15]`, or 0 when `b[i]`'s
    /// top bit is set.
    #[cfg(target_arch = "x86_64")]
    #[allow(
        improper_ctypes_definitions,
        reason = "I8x16 is __m128i, which the C ABI passes in an xmm register, as Cranelift does"
    )]
    pub(super) extern "C" fn pshufb(a: crate::I8x16, b: crate::I8x16) -> crate::I8x16 {
        let (a, b) = (a.to_array(), b.to_array());
        crate::I8x16::from(b.map(|i| if i < 0 { 0 } else { a[(i & 15) as usize] }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_math_function_of_the_language_is_callable_under_its_own_symbol() {
        let mut symbols = std::collections::HashSet::new();
        for k in 0..35 {
            let (symbol, _) = math(k).expect("35 functions");
            assert!(symbols.insert(symbol), "{symbol} twice");
            assert_eq!(math_index(&symbol["fnjit_".len()..]), Some(k), "{symbol}");
        }
        assert_eq!(math(9).map(|(s, _)| s), Some("fnjit_sin"));
        assert!(math(35).is_none() && math_index("gamma").is_none());
    }

    #[test]
    fn u1_k_is_function_k_of_the_documented_list() {
        let doc = include_str!("../../docs/language.md");
        let list = doc
            .split("of the same name: `")
            .nth(1)
            .and_then(|rest| rest.split('`').next())
            .expect("docs/language.md lists the functions");
        let names: Vec<&str> = list.split_whitespace().collect();
        assert_eq!(names.len(), 35, "{list}");
        for (k, name) in names.iter().enumerate() {
            assert_eq!(math_index(name), u32::try_from(k).ok(), "{name}");
        }
    }

    #[test]
    fn the_libcalls_cranelift_emits_for_missing_instructions_resolve() {
        for call in [
            LibCall::CeilF32,
            LibCall::FloorF64,
            LibCall::NearestF32,
            LibCall::FmaF64,
        ] {
            assert!(libcall(call, CallConv::SystemV).is_some(), "{call}");
        }
        assert!(libcall(LibCall::ElfTlsGetAddr, CallConv::SystemV).is_none());
        assert_eq!(rust::nearest_f64(2.5), 2.0);
        assert_eq!(rust::fma_f32(2.0, 3.0, 1.0), 7.0);
    }
}
