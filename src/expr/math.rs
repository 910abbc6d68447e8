//! The f64 functions of formulas as `extern "C"` Rust functions: Cranelift's code calls those it
//! has no instruction for, the baseline tier's code those it does not inline, and the interpreter
//! all of them, so every tier agrees bit for bit. None of them can panic or unwind: each is one
//! method of `f64` (or [`min`], [`max`]), total on every input.
//!
//! Each but `abs` (which moves bits, as `-` does) quiets its arguments first ([`quiet`]): the formula language treats a signaling NaN as
//! its quiet NaN everywhere (docs/language.md, NaN policy), while glibc tells them apart
//! (`pow(sNaN, 0)` is NaN, `pow(qNaN, 0)` is 1; `hypot(sNaN, inf)` is NaN, `hypot(qNaN, inf)` is
//! inf).

/// The quiet NaN of a signaling NaN (the quiet bit set, sign and payload kept), as IEEE 754's
/// operations quiet one; every other value as it is.
#[inline]
pub(crate) fn quiet(x: f64) -> f64 {
    const QUIET_BIT: u64 = 1 << 51;
    if x.is_nan() {
        f64::from_bits(x.to_bits() | QUIET_BIT)
    } else {
        x
    }
}

macro_rules! unary {
    ($($name:ident => $method:ident),* $(,)?) => {$(
        #[doc = concat!("`f64::", stringify!($method), "` of the quieted argument.")]
        pub(crate) extern "C" fn $name(x: f64) -> f64 {
            quiet(x).$method()
        }
    )*};
}

unary!(
    cbrt => cbrt, exp => exp, exp2 => exp2, ln => ln, log2 => log2, log10 => log10,
    sin => sin, cos => cos, tan => tan, asin => asin, acos => acos, atan => atan,
    sinh => sinh, cosh => cosh, tanh => tanh, round => round, sqrt => sqrt, floor => floor,
    ceil => ceil, trunc => trunc,
);

/// `f64::abs`, which moves bits (a signaling NaN stays one).
pub(crate) extern "C" fn abs(x: f64) -> f64 {
    x.abs()
}

/// `f64::powf`: what `**` and `pow` mean.
pub(crate) extern "C" fn pow(x: f64, y: f64) -> f64 {
    quiet(x).powf(quiet(y))
}

/// `y.atan2(x)`, called as `atan2(y, x)`.
pub(crate) extern "C" fn atan2(y: f64, x: f64) -> f64 {
    quiet(y).atan2(quiet(x))
}

/// `f64::hypot`.
pub(crate) extern "C" fn hypot(x: f64, y: f64) -> f64 {
    quiet(x).hypot(quiet(y))
}

/// Rust's `%` on f64 (C's `fmod`): the remainder with the sign of `x`.
pub(crate) extern "C" fn rem(x: f64, y: f64) -> f64 {
    quiet(x) % quiet(y)
}

/// The smaller of `x` and `y` as IEEE 754-2019 `minimum` and Cranelift's `fmin` define it: NaN if
/// either is NaN, and -0 below +0. (Rust's `f64::min` ignores a NaN instead.)
pub(crate) extern "C" fn min(x: f64, y: f64) -> f64 {
    if x.is_nan() || y.is_nan() {
        f64::NAN
    } else if x == y {
        if x.is_sign_negative() { x } else { y }
    } else if x < y {
        x
    } else {
        y
    }
}

/// The larger of `x` and `y`, as [`min`] with the order reversed: NaN if either is NaN, and +0
/// above -0.
pub(crate) extern "C" fn max(x: f64, y: f64) -> f64 {
    if x.is_nan() || y.is_nan() {
        f64::NAN
    } else if x == y {
        if x.is_sign_positive() { x } else { y }
    } else if x > y {
        x
    } else {
        y
    }
}
