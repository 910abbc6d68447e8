//! The values that cross into and out of JIT code: [`Scalar`] (integers of 8 to 128 bits, `bool`,
//! `f32`, `f64` and the 128-bit vectors [`I8x16`] … [`F64x2`]), [`Results`] (one scalar or a tuple
//! of up to four), and which signatures the host's C ABI passes the way Cranelift does
//! ([`abi_refusal`]).
//!
//! How a value travels is decided here, once per type:
//! - Parameters go as themselves: Rust's `extern "C"` passes `i8` … `u64`, `bool`, `f32` and `f64`
//!   as C does, `i128` as `__int128`, and the vectors as the host's vector type in a vector
//!   register, which is where Cranelift's System V and AAPCS64 code expects each of them.
//! - A result narrower than 32 bits (`i8`, `u8`, `i16`, `u16`, `bool`) is read as a 32-bit
//!   register and cut to its width: Cranelift leaves the bits above an `i8` result undefined, and
//!   Rust may assume a C `uint8_t` result has them zeroed. A `bool` result is true when its low 8
//!   bits are not all zero (`icmp` gives 1 or 0).
//! - A tuple of results is read as a `#[repr(C)]` struct of one 64-bit word per value (an
//!   integer's `u64`, a float's `f64`), each value cut out of its word: a struct that the host's C
//!   ABI returns in the very registers Cranelift returns the values in. [`abi_refusal`] refuses
//!   the tuples for which no such struct exists.

use cranelift_codegen::ir::{Type, types};
use std::fmt;

mod sealed {
    pub trait Sealed {}
}

/// A value that crosses into or out of JIT code: `i8`, `i16`, `i32`, `i64`, `i128`, their
/// unsigned twins, `bool`, `f32`, `f64`, or a 128-bit vector ([`I8x16`], [`I16x8`], [`I32x4`],
/// [`I64x2`], [`F32x4`], [`F64x2`]). An unsigned type is Cranelift's integer type of its width
/// (`u8` is `i8`), and `bool` is `i8`: 0 or 1 going in; a result is true when its low 8 bits are
/// not zero. Sealed.
pub trait Scalar: sealed::Sealed + Copy + Send + Sync + fmt::Debug + 'static {
    /// Its Cranelift type.
    const TYPE: Type;
    /// How the host's C ABI returns it alone: itself, or a 32-bit register for narrower types.
    #[doc(hidden)]
    type Ret: Copy;
    /// The value in its returned form.
    #[doc(hidden)]
    fn from_ret(ret: Self::Ret) -> Self;
    /// Its 64-bit word in a returned tuple (`u64` or `f64`), or `()` for a type no tuple holds.
    #[doc(hidden)]
    type Word: Copy;
    /// The value cut out of its word.
    #[doc(hidden)]
    fn from_word(word: Self::Word) -> Self;
}

macro_rules! scalars {
    ($($t:ty => $clif:expr, ret $ret:ty, word $word:ty, |$r:ident| $from:expr;)*) => {$(
        impl sealed::Sealed for $t {}
        impl Scalar for $t {
            const TYPE: Type = $clif;
            type Ret = $ret;
            type Word = $word;

            #[inline]
            #[allow(clippy::cast_possible_truncation, clippy::unnecessary_cast, reason = "a value cut to its width")]
            fn from_ret(ret: $ret) -> $t {
                let $r = ret;
                $from
            }

            #[inline]
            #[allow(clippy::cast_possible_truncation, clippy::unnecessary_cast, reason = "a value cut to its width")]
            fn from_word(word: $word) -> $t {
                let $r = word;
                $from
            }
        }
    )*};
}

// A word holds the value in its low bits; `as` cuts it out (and for `ret`, a 32-bit register).
scalars! {
    i8 => types::I8, ret u32, word u64, |r| r as i8;
    u8 => types::I8, ret u32, word u64, |r| r as u8;
    i16 => types::I16, ret u32, word u64, |r| r as i16;
    u16 => types::I16, ret u32, word u64, |r| r as u16;
    i32 => types::I32, ret i32, word u64, |r| r as i32;
    u32 => types::I32, ret u32, word u64, |r| r as u32;
    i64 => types::I64, ret i64, word u64, |r| r as i64;
    u64 => types::I64, ret u64, word u64, |r| r as u64;
    bool => types::I8, ret u32, word u64, |r| r as u8 != 0;
    f64 => types::F64, ret f64, word f64, |r| r;
}

impl sealed::Sealed for f32 {}
impl Scalar for f32 {
    const TYPE: Type = types::F32;
    type Ret = f32;
    type Word = f64;

    #[inline]
    fn from_ret(ret: f32) -> f32 {
        ret
    }

    /// An `f32` result lies in the low 32 bits of its register.
    #[inline]
    #[allow(
        clippy::cast_possible_truncation,
        reason = "the low 32 bits are the value"
    )]
    fn from_word(word: f64) -> f32 {
        f32::from_bits(word.to_bits() as u32)
    }
}

/// Types that travel as themselves and never inside a tuple of results.
macro_rules! alone {
    ($($t:ty => $clif:expr),*) => {$(
        impl sealed::Sealed for $t {}
        impl Scalar for $t {
            const TYPE: Type = $clif;
            type Ret = $t;
            type Word = ();

            #[inline]
            fn from_ret(ret: $t) -> $t {
                ret
            }

            /// Never called: [`abi_refusal`] refuses a tuple that holds this type.
            #[inline]
            fn from_word((): ()) -> $t {
                <$t>::default()
            }
        }
    )*};
}
alone!(i128 => types::I128, u128 => types::I128);
alone!(I8x16 => types::I8X16, I16x8 => types::I16X8, I32x4 => types::I32X4);
alone!(I64x2 => types::I64X2, F32x4 => types::F32X4, F64x2 => types::F64X2);

/// What a JIT function returns: one [`Scalar`], or a tuple of two to four of them
/// (`Function<P, (i64, i8)>`), as wasmtime's `TypedFunc` allows. Not every tuple can be returned
/// on every host: [`crate::Jit::compile`] refuses those the host's C ABI returns elsewhere than
/// Cranelift does, with [`crate::Error::Abi`] (docs/api.md, "Types"). Sealed.
pub trait Results: sealed::Sealed + Copy + Send + Sync + fmt::Debug + 'static {
    /// The Cranelift types of the results, in order.
    const TYPES: &'static [Type];
    /// How the host's C ABI returns them.
    #[doc(hidden)]
    type Ret: Copy;
    /// The results in their returned form.
    #[doc(hidden)]
    fn from_ret(ret: Self::Ret) -> Self;
}

impl<T: Scalar> Results for T {
    const TYPES: &'static [Type] = &[T::TYPE];
    type Ret = T::Ret;

    #[inline]
    fn from_ret(ret: T::Ret) -> T {
        T::from_ret(ret)
    }
}

macro_rules! tuples {
    ($($words:ident ($($a:ident $i:tt),*);)*) => {$(
        /// A tuple's results as the C struct that returns them: one word per value.
        #[doc(hidden)]
        #[derive(Clone, Copy, Debug)]
        #[repr(C)]
        pub struct $words<$($a),*>($($a),*);

        impl<$($a: Scalar),*> sealed::Sealed for ($($a,)*) {}
        impl<$($a: Scalar),*> Results for ($($a,)*) {
            const TYPES: &'static [Type] = &[$($a::TYPE),*];
            type Ret = $words<$($a::Word),*>;

            #[inline]
            fn from_ret(ret: Self::Ret) -> Self {
                ($($a::from_word(ret.$i),)*)
            }
        }
    )*};
}
tuples! {
    Words2(A 0, B 1);
    Words3(A 0, B 1, C 2);
    Words4(A 0, B 1, C 2, D 3);
}

/// [`abi_refusal`] for Windows x64, where rustc's `extern "C"` and Cranelift's
/// `windows_fastcall` part ways on:
/// - `i128`, which rustc passes by reference and returns in `xmm0`, and Cranelift (with LLVM's
///   old extension) in two integer registers;
/// - 128-bit vectors as parameters, which rustc passes by reference, Cranelift in `xmm` registers;
/// - tuples: Windows x64 returns a struct of more than 8 bytes through a pointer the caller
///   passes first (and a smaller one packed into `rax`), Cranelift each value in a register.
fn windows_refusal(params: &[Type], returns: &[Type]) -> Option<String> {
    if params.iter().chain(returns).any(|&t| t == types::I128) {
        return Some(
            "Windows x64 passes an i128 by reference and returns it in xmm0, where Cranelift uses \
             two integer registers: pass and return 64-bit integers"
                .into(),
        );
    }
    if params.iter().any(|t| t.is_vector()) {
        return Some(
            "Windows x64 passes a 128-bit vector by reference, where Cranelift passes it in an \
             xmm register: pass the lanes, or a pointer to them"
                .into(),
        );
    }
    if returns.len() > 1 {
        return Some(
            "Windows x64 returns a struct through memory the caller passes (or packed into rax), \
             where Cranelift returns each value in its own register: return one value"
                .into(),
        );
    }
    None
}

/// Why the host's C ABI cannot carry `params -> returns` the way Cranelift's code for the host
/// does, or `None` when it can. Cranelift and C agree on every single value of [`Scalar`] in
/// registers; what is refused:
/// - an `i128` parameter that would not lie whole in integer registers (there Cranelift and
///   LLVM place the parameters after it differently);
/// - a tuple holding an `i128` or a vector;
/// - on x86-64, tuples of three or four (C returns a struct of more than 16 bytes in memory,
///   Cranelift in registers);
/// - on AArch64, a tuple mixing integers and floats (C returns that struct in integer registers,
///   Cranelift the floats in vector registers), and tuples of three or four integers (C: in
///   memory). Tuples of two to four floats are returned as C returns a struct of doubles: in
///   `d0` to `d3`.
pub(crate) fn abi_refusal(params: &[Type], returns: &[Type]) -> Option<String> {
    if cfg!(windows) {
        return windows_refusal(params, returns);
    }
    let int_regs = if cfg!(target_arch = "aarch64") { 8 } else { 6 };
    let mut next = 0;
    for &ty in params {
        if ty == types::I128 {
            // AAPCS64 (but not Apple's variant) starts a 16-byte integer at an even register.
            if cfg!(all(target_arch = "aarch64", not(target_vendor = "apple"))) {
                next += next % 2;
            }
            if next + 2 > int_regs {
                return Some(format!(
                    "an i128 parameter must lie whole in the first {int_regs} integer registers, \
                     where the host's C ABI and Cranelift agree on every parameter after it; \
                     move it forward"
                ));
            }
            next += 2;
        } else if ty.is_int() {
            next += 1;
        }
    }
    if returns.len() < 2 {
        return None;
    }
    if returns.iter().any(|t| t.bits() > 64 || t.is_vector()) {
        return Some("a tuple of results holds integers of up to 64 bits and floats only".into());
    }
    let floats = returns.iter().filter(|t| t.is_float()).count();
    if cfg!(target_arch = "aarch64") {
        if floats == returns.len() || returns.len() == 2 && floats == 0 {
            return None;
        }
        return Some(if floats == 0 {
            "AAPCS64 returns three or four integers in memory, where Cranelift returns them in \
             registers: return at most two integers"
                .into()
        } else {
            "AAPCS64 returns a struct that mixes integers and floats in integer registers, where \
             Cranelift returns the floats in vector registers: return integers or floats, not both"
                .into()
        });
    }
    if returns.len() == 2 {
        return None;
    }
    Some(
        "the x86-64 System V ABI returns more than two values (a struct of more than 16 bytes) in \
         memory, where Cranelift returns them in registers: return at most two values"
            .into(),
    )
}

/// The host's 128-bit vector types, which travel in vector registers.
#[cfg(target_arch = "x86_64")]
mod host {
    pub(super) use std::arch::x86_64::{
        __m128 as F32, __m128d as F64, __m128i as I16, __m128i as I32, __m128i as I64,
        __m128i as I8,
    };
}
#[cfg(target_arch = "aarch64")]
mod host {
    pub(super) use std::arch::aarch64::{
        float32x4_t as F32, float64x2_t as F64, int8x16_t as I8, int16x8_t as I16,
        int32x4_t as I32, int64x2_t as I64,
    };
}
/// Elsewhere (fnjit runs no code there) a 16-byte array stands in, so that the crate builds.
#[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
mod host {
    pub(super) type I8 = [u64; 2];
    pub(super) type I16 = [u64; 2];
    pub(super) type I32 = [u64; 2];
    pub(super) type I64 = [u64; 2];
    pub(super) type F32 = [u64; 2];
    pub(super) type F64 = [u64; 2];
}

macro_rules! vectors {
    ($($name:ident($host:ident) = [$lane:ty; $n:literal], $clif:literal;)*) => {$(
        #[doc = concat!("A 128-bit vector of ", stringify!($n), " `", stringify!($lane),
            "` lanes, Cranelift's `", $clif, "`: the host's vector type, so that it travels in a \
            vector register. Lane 0 is the array's element 0.")]
        #[derive(Clone, Copy)]
        #[repr(transparent)]
        pub struct $name(host::$host);

        impl $name {
            /// The lanes, lane 0 first.
            pub fn to_array(self) -> [$lane; $n] {
                // SAFETY: the vector type and the array are 16 bytes each, and every bit pattern
                // is a valid value of both (plain integers and floats, no padding).
                unsafe { std::mem::transmute::<host::$host, [$lane; $n]>(self.0) }
            }
        }

        impl From<[$lane; $n]> for $name {
            fn from(lanes: [$lane; $n]) -> $name {
                // SAFETY: as in `to_array`, the other way round.
                $name(unsafe { std::mem::transmute::<[$lane; $n], host::$host>(lanes) })
            }
        }

        impl From<$name> for [$lane; $n] {
            fn from(v: $name) -> [$lane; $n] {
                v.to_array()
            }
        }

        impl Default for $name {
            fn default() -> $name {
                $name::from([<$lane>::default(); $n])
            }
        }

        /// Lane by lane; for floats as `==` compares them (NaN differs from itself).
        impl PartialEq for $name {
            fn eq(&self, other: &$name) -> bool {
                self.to_array() == other.to_array()
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}{:?}", stringify!($name), self.to_array())
            }
        }

        // SAFETY: a vector is a plain value, as its array is.
        unsafe impl Send for $name {}
        // SAFETY: as above.
        unsafe impl Sync for $name {}
    )*};
}
vectors! {
    I8x16(I8) = [i8; 16], "i8x16";
    I16x8(I16) = [i16; 8], "i16x8";
    I32x4(I32) = [i32; 4], "i32x4";
    I64x2(I64) = [i64; 2], "i64x2";
    F32x4(F32) = [f32; 4], "f32x4";
    F64x2(F64) = [f64; 2], "f64x2";
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vectors_keep_their_lanes_in_order() {
        let v = I16x8::from([1, -2, 3, -4, 5, -6, 7, i16::MIN]);
        assert_eq!(<[i16; 8]>::from(v), [1, -2, 3, -4, 5, -6, 7, i16::MIN]);
        assert_eq!(format!("{v:?}"), "I16x8[1, -2, 3, -4, 5, -6, 7, -32768]");
        assert_eq!(
            F64x2::from([0.5, -0.0]).to_array()[1].to_bits(),
            (-0.0f64).to_bits()
        );
    }

    #[test]
    fn narrow_results_are_cut_from_their_register() {
        assert_eq!(<i8 as Scalar>::from_ret(0xffff_ff80), -128);
        assert_eq!(<u16 as Scalar>::from_ret(0x1234_ffff), 0xffff);
        assert!(<bool as Scalar>::from_ret(0x0000_0102));
        assert!(!<bool as Scalar>::from_ret(0xffff_ff00));
        assert_eq!(
            <f32 as Scalar>::from_word(f64::from_bits(0xdead_beef_3f80_0000)),
            1.0
        );
    }

    #[test]
    fn the_abi_refuses_what_c_and_cranelift_pass_differently() {
        use types::{F32, F64, I8, I32X4, I64, I128};
        if cfg!(windows) {
            assert!(abi_refusal(&[I128], &[I64]).is_some());
            assert!(abi_refusal(&[I64], &[I128]).is_some());
            assert!(abi_refusal(&[I32X4], &[I64]).is_some());
            assert!(abi_refusal(&[], &[I64, I8]).is_some());
            assert!(abi_refusal(&[], &[F64, F32]).is_some());
            assert_eq!(abi_refusal(&[I64, F64, I8, F32, I64, F64], &[F64]), None);
            assert_eq!(abi_refusal(&[F64], &[I32X4]), None);
            return;
        }
        assert_eq!(abi_refusal(&[I128, I128, I64], &[I128]), None);
        // Six integer registers on x86-64; eight on AArch64, where a pair starts even.
        let five_then_i128 = abi_refusal(&[I64, I64, I64, I64, I64, I128], &[I64]);
        let odd_then_i128 = abi_refusal(&[I128, I128, I128, I64, I128], &[I64]);
        if cfg!(target_arch = "aarch64") {
            assert_eq!(five_then_i128, None);
        } else {
            assert!(five_then_i128.is_some());
        }
        assert!(odd_then_i128.is_some());
        assert_eq!(abi_refusal(&[], &[I64, I8]), None);
        assert_eq!(abi_refusal(&[], &[F64, F32]), None);
        assert!(abi_refusal(&[], &[I128, I64]).is_some());
        assert!(abi_refusal(&[], &[I64, I64, I64]).is_some());
        let mixed = abi_refusal(&[], &[I64, F64]);
        let floats4 = abi_refusal(&[], &[F64, F64, F32, F64]);
        if cfg!(target_arch = "aarch64") {
            assert!(mixed.is_some());
            assert_eq!(floats4, None);
        } else {
            assert_eq!(mixed, None);
            assert!(floats4.is_some());
        }
    }
}
