//! The float functions of formulas as `extern "C"` Rust functions, in f64 ([`double`], also
//! reexported here) and f32 ([`single`]): Cranelift's code calls those it
//! has no instruction for, the baseline tier's code those it does not inline, and the interpreter
//! all of them, so every tier agrees bit for bit. None of them can panic or unwind: each is one
//! method of `f64` (or [`min`], [`max`]), total on every input.
//!
//! Each but `abs` (which moves bits, as `-` does) quiets its arguments first ([`quiet`]): the formula language treats a signaling NaN as
//! its quiet NaN everywhere (docs/language.md, NaN policy), while glibc tells them apart
//! (`pow(sNaN, 0)` is NaN, `pow(qNaN, 0)` is 1; `hypot(sNaN, inf)` is NaN, `hypot(qNaN, inf)` is
//! inf).

macro_rules! unary {
    ($t:ident: $($name:ident => $method:ident),* $(,)?) => {$(
        #[doc = concat!("`", stringify!($t), "::", stringify!($method), "` of the quieted argument.")]
        pub(crate) extern "C" fn $name(x: $t) -> $t {
            quiet(x).$method()
        }
    )*};
}

/// The functions in one float type `$t`, whose bits are `$bits` with `$mantissa` bits of
/// mantissa.
macro_rules! functions {
    ($t:ident, $bits:ty, $mantissa:expr, $asinh:ident, $acosh:ident, $atanh:ident) => {
        /// The quiet NaN of a signaling NaN (the quiet bit set, sign and payload kept), as IEEE 754's
        /// operations quiet one; every other value as it is.
        #[inline]
        pub(crate) fn quiet(x: $t) -> $t {
            const QUIET_BIT: $bits = 1 << ($mantissa - 1);
            if x.is_nan() {
                $t::from_bits(x.to_bits() | QUIET_BIT)
            } else {
                x
            }
        }

        unary!(
            $t: cbrt => cbrt, exp => exp, exp2 => exp2, ln => ln, log2 => log2, log10 => log10,
            sin => sin, cos => cos, tan => tan, asin => asin, acos => acos, atan => atan,
            sinh => sinh, cosh => cosh, tanh => tanh, round => round, sqrt => sqrt, floor => floor,
            ceil => ceil, trunc => trunc, log1p => ln_1p, expm1 => exp_m1, rint => round_ties_even,
        );

        /// `asinh`, `acosh` and `atanh` of the quieted argument, from the `libm` crate (musl's):
        /// Rust's own compose them from `ln_1p` and `hypot`, a few ulps from C's.
        pub(crate) extern "C" fn asinh(x: $t) -> $t {
            libm::$asinh(quiet(x))
        }

        /// See [`asinh`].
        pub(crate) extern "C" fn acosh(x: $t) -> $t {
            libm::$acosh(quiet(x))
        }

        /// See [`asinh`].
        pub(crate) extern "C" fn atanh(x: $t) -> $t {
            libm::$atanh(quiet(x))
        }

        /// NumPy's `sign`: 1 above 0, -1 below, +0 for either zero, NaN for NaN.
        pub(crate) extern "C" fn sign(x: $t) -> $t {
            if x > 0.0 {
                1.0
            } else if x < 0.0 {
                -1.0
            } else if x == 0.0 {
                0.0
            } else {
                quiet(x)
            }
        }

        /// The quieted `x` with the sign of `y`.
        pub(crate) extern "C" fn copysign(x: $t, y: $t) -> $t {
            quiet(x).copysign(y)
        }

        /// C's `nextafter`: the next value after `x` toward `y`; `y` when they are equal, NaN
        /// when either is.
        pub(crate) extern "C" fn nextafter(x: $t, y: $t) -> $t {
            let (x, y) = (quiet(x), quiet(y));
            if x.is_nan() || y.is_nan() {
                x + y
            } else if x == y {
                y
            } else if x < y {
                x.next_up()
            } else {
                x.next_down()
            }
        }

        /// `abs`, which moves bits (a signaling NaN stays one).
        pub(crate) extern "C" fn abs(x: $t) -> $t {
            x.abs()
        }

        /// `powf`: what `**` and `pow` mean; `x * x` when `y` is 2, as NumPy computes `x ** 2`
        /// (the correctly rounded square, which `powf` gives too, without its cost).
        pub(crate) extern "C" fn pow(x: $t, y: $t) -> $t {
            if y == 2.0 {
                return x * x;
            }
            quiet(x).powf(quiet(y))
        }

        /// `y.atan2(x)`, called as `atan2(y, x)`.
        pub(crate) extern "C" fn atan2(y: $t, x: $t) -> $t {
            quiet(y).atan2(quiet(x))
        }

        /// `hypot`.
        pub(crate) extern "C" fn hypot(x: $t, y: $t) -> $t {
            quiet(x).hypot(quiet(y))
        }

        /// Rust's `%` (C's `fmod`): the remainder with the sign of `x`.
        pub(crate) extern "C" fn rem(x: $t, y: $t) -> $t {
            quiet(x) % quiet(y)
        }

        /// The smaller of `x` and `y` as IEEE 754-2019 `minimum` and Cranelift's `fmin` define it: NaN if
        /// either is NaN, and -0 below +0. (Rust's `min` ignores a NaN instead.)
        pub(crate) extern "C" fn min(x: $t, y: $t) -> $t {
            if x.is_nan() || y.is_nan() {
                $t::NAN
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
        pub(crate) extern "C" fn max(x: $t, y: $t) -> $t {
            if x.is_nan() || y.is_nan() {
                $t::NAN
            } else if x == y {
                if x.is_sign_positive() { x } else { y }
            } else if x > y {
                x
            } else {
                y
            }
        }
        /// NumPy's `floor_divide` (`npy_divmod`): `floor((x - x mod y) / y)`, rounded to the
        /// nearer whole number, with its signed zeros; `x / y` when `y` is 0.
        pub(crate) extern "C" fn floordiv(x: $t, y: $t) -> $t {
            let (x, y) = (quiet(x), quiet(y));
            if y == 0.0 {
                return x / y;
            }
            let m = x % y;
            let mut div = (x - m) / y;
            if m != 0.0 && ((y < 0.0) != (m < 0.0)) {
                div -= 1.0;
            }
            if div == 0.0 {
                return (0.0 as $t).copysign(x / y);
            }
            let floor = div.floor();
            if div - floor > 0.5 { floor + 1.0 } else { floor }
        }

        /// NumPy's `remainder` (`npy_divmod`): the remainder with the sign of `y`, `+0` or `-0`
        /// as `y`'s sign when it is 0; C's `fmod` (NaN) when `y` is 0.
        pub(crate) extern "C" fn modulo(x: $t, y: $t) -> $t {
            let (x, y) = (quiet(x), quiet(y));
            let m = x % y;
            if y == 0.0 {
                m
            } else if m == 0.0 {
                (0.0 as $t).copysign(y)
            } else if (y < 0.0) != (m < 0.0) {
                m + y
            } else {
                m
            }
        }
    };
}

/// The f64 functions.
pub(crate) mod double {
    functions!(f64, u64, 52, asinh, acosh, atanh);
}

/// The f32 functions, for typed formulas.
pub(crate) mod single {
    functions!(f32, u32, 23, asinhf, acoshf, atanhf);
}

pub(crate) use double::*;
