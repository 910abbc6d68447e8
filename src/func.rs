//! Signatures as types: [`Function<P, R>`], called as `f.call(args)`, and the crate's one
//! transmute from code to a function pointer.
//!
//! A signature is `P -> R`: `P` is a tuple of 0 to 6 [`Scalar`]s (or one bare `Scalar`), `R` is
//! one `Scalar` or a tuple of up to four ([`Results`]; `value.rs` says how each travels).
//! [`Params`] is implemented for those tuples by one macro, so a new arity costs one line. The
//! signature is checked against the IR once, when the function is compiled (see
//! [`crate::Jit::compile`]); after that a call is a plain indirect call.

use crate::memory::{CodeRef, ExecutableCode};
use crate::value::{F32x4, F64x2, I8x16, I16x8, I32x4, I64x2, Results, Scalar};
use cranelift_codegen::ir::{self, AbiParam, Signature, Type};
use cranelift_codegen::isa::CallConv;
use std::fmt;
use std::marker::PhantomData;
use std::ptr::NonNull;
use std::sync::{Arc, OnceLock};

mod sealed {
    pub trait Sealed {}
}

/// The parameters of a JIT function: a tuple of 0 to 6 [`Scalar`]s, or one bare `Scalar` (so a
/// `Function<i32, i32>` is called as `f.call(41)`, a `Function<(i32,), i32>` as `f.call((41,))`).
/// Sealed.
pub trait Params: sealed::Sealed + Copy + Send + Sync + 'static {
    /// The Cranelift types of the parameters, in order.
    const TYPES: &'static [Type];

    /// Calls the code at `entry` with `args`.
    ///
    /// # Safety
    /// `entry` must be the first byte of live, executable code that implements
    /// `extern "C" fn(Self…) -> R` under the host's C ABI, returns for these arguments, touches no
    /// memory it does not own, and does not unwind.
    #[doc(hidden)]
    unsafe fn invoke<R: Results>(entry: NonNull<u8>, args: Self) -> R;
}

macro_rules! params {
    ($($a:ident)*) => {
        impl<$($a: Scalar),*> sealed::Sealed for ($($a,)*) {}
        impl<$($a: Scalar),*> Params for ($($a,)*) {
            const TYPES: &'static [Type] = &[$($a::TYPE),*];

            #[inline]
            #[allow(non_snake_case, reason = "the type names double as argument names")]
            unsafe fn invoke<R: Results>(entry: NonNull<u8>, ($($a,)*): Self) -> R {
                // SAFETY: this is fnjit's one transmute from code to a callable, generic over the
                // signature. Function pointers and data pointers have the same size and
                // representation on every host fnjit executes code on, and the caller guarantees
                // that `entry` implements exactly this signature under the host's C ABI, with
                // `R` returned as `R::Ret` (value.rs: the form C returns it in).
                let f = unsafe {
                    std::mem::transmute::<*const u8, extern "C" fn($($a),*) -> R::Ret>(
                        entry.as_ptr(),
                    )
                };
                R::from_ret(f($($a),*))
            }
        }
    };
}
params!();
params!(A);
params!(A B);
params!(A B C);
params!(A B C D);
params!(A B C D E);
params!(A B C D E F);

macro_rules! bare_params {
    ($($t:ty),*) => {$(
        impl sealed::Sealed for $t {}
        impl Params for $t {
            const TYPES: &'static [Type] = &[<$t as Scalar>::TYPE];

            #[inline]
            unsafe fn invoke<R: Results>(entry: NonNull<u8>, args: Self) -> R {
                // SAFETY: one bare parameter is the one-element tuple; the caller's guarantee
                // carries over unchanged.
                unsafe { <($t,)>::invoke(entry, (args,)) }
            }
        }
    )*};
}
bare_params!(
    i8, u8, i16, u16, i32, u32, i64, u64, i128, u128, bool, f32, f64
);
bare_params!(I8x16, I16x8, I32x4, I64x2, F32x4, F64x2);

/// The Cranelift signature of `P -> R` in calling convention `call_conv`.
pub(crate) fn signature<P: Params, R: Results>(call_conv: CallConv) -> Signature {
    let mut sig = Signature::new(call_conv);
    sig.params
        .extend(P::TYPES.iter().map(|&t| AbiParam::new(t)));
    sig.returns
        .extend(R::TYPES.iter().map(|&t| AbiParam::new(t)));
    sig
}

/// JIT code of the signature `P -> R`, in executable memory that it frees when dropped.
///
/// `Send + Sync`: call it from any number of threads at once. Everything that reaches the code
/// borrows the `Function`, so nothing callable outlives it:
///
/// ```
/// let f = fnjit::compile_inc()?; // a Function<i32, i32>
/// let inc = |x| f.call(x);
/// let code = f.code(); // the machine code, where it runs
/// assert_eq!((inc(41), code.is_empty()), (42, false));
/// # Ok::<(), fnjit::Error>(())
/// ```
///
/// Dropping the function while a borrow of it lives does not compile:
///
/// ```compile_fail,E0505
/// let f = fnjit::compile_inc()?;
/// let inc = |x| f.call(x);
/// drop(f); // frees the code...
/// inc(41); // ...so this call cannot be allowed
/// # Ok::<(), fnjit::Error>(())
/// ```
///
/// ```compile_fail,E0505
/// let f = fnjit::compile_inc()?;
/// let ptr = f.as_fn(); // a copyable function pointer, but one that borrows `f`
/// drop(f);
/// ptr.call(41);
/// # Ok::<(), fnjit::Error>(())
/// ```
///
/// ```compile_fail,E0505
/// let f = fnjit::compile_inc()?;
/// let code = f.code();
/// drop(f);
/// println!("{:p}", code.as_ptr());
/// # Ok::<(), fnjit::Error>(())
/// ```
///
/// The same holds for every signature:
///
/// ```compile_fail,E0505
/// # use cranelift_codegen::ir::{AbiParam, Function, InstBuilder, Signature, types};
/// # use cranelift_frontend::{FunctionBuilder, FunctionBuilderContext};
/// let mut jit = fnjit::Jit::new()?;
/// let mut sig = Signature::new(jit.call_conv());
/// sig.params.push(AbiParam::new(types::F64));
/// sig.returns.push(AbiParam::new(types::F64));
/// let mut func = Function::with_name_signature(Default::default(), sig);
/// let mut fctx = FunctionBuilderContext::new();
/// let mut b = FunctionBuilder::new(&mut func, &mut fctx);
/// let block = b.create_block();
/// b.append_block_params_for_function_params(block);
/// b.switch_to_block(block);
/// let x = b.block_params(block)[0];
/// let y = b.ins().fmul(x, x);
/// b.ins().return_(&[y]);
/// b.seal_all_blocks();
/// b.finalize(jit.frontend_config());
/// let square = jit.compile::<(f64,), f64>(&func)?;
/// let handle = square.as_fn();
/// drop(square);
/// handle.call((3.0,));
/// # Ok::<(), fnjit::Error>(())
/// ```
pub struct Function<P, R> {
    code: CodeRef,
    /// Behind a pointer: a Cranelift `Function` is about a kilobyte, and a call should find the
    /// entry pointer near the start of a small value. Shared by clones.
    ir: Option<Arc<Ir>>,
    signature: PhantomData<fn(P) -> R>,
}

/// A clone shares the code (and its IR): the memory is freed when the last clone drops.
impl<P, R> Clone for Function<P, R> {
    fn clone(&self) -> Self {
        Function {
            code: self.code.clone(),
            ir: self.ir.clone(),
            signature: PhantomData,
        }
    }
}

/// The IR a function was compiled from, printed as CLIF text only when someone asks: printing
/// costs as much as a tenth of compiling.
pub(crate) struct Ir {
    func: ir::Function,
    text: OnceLock<String>,
}

impl Ir {
    pub(crate) fn new(func: ir::Function) -> Arc<Ir> {
        Arc::new(Ir {
            func,
            text: OnceLock::new(),
        })
    }

    pub(crate) fn text(&self) -> &str {
        self.text.get_or_init(|| self.func.display().to_string())
    }
}

impl<P: Params, R: Results> Function<P, R> {
    /// Wraps `code`, compiled from `ir` (`None`: written by hand, or one of a batch).
    ///
    /// # Safety
    /// The first byte of `code` must be the entry of a function that implements
    /// `extern "C" fn(P…) -> R` under the host's C ABI, returns for every argument (or loops,
    /// as Rust code may), touches no memory but its own stack frame, and does not unwind. Only
    /// then is [`Self::call`] sound for every input.
    pub(crate) unsafe fn new(code: CodeRef, ir: Option<Arc<Ir>>) -> Self {
        Function {
            code,
            ir,
            signature: PhantomData,
        }
    }

    /// The code and IR, to share with another `Function` of the same signature.
    pub(crate) fn parts(&self) -> (CodeRef, Option<Arc<Ir>>) {
        (self.code.clone(), self.ir.clone())
    }

    /// Calls the function.
    #[inline]
    pub fn call(&self, args: P) -> R {
        // SAFETY: `new`'s caller vouched that the code implements `P -> R` and touches nothing
        // but its frame, and `self` keeps it mapped and executable for the whole call.
        unsafe { P::invoke(self.code.entry(), args) }
    }

    /// A copyable function pointer to the code that cannot outlive it.
    pub fn as_fn(&self) -> FnRef<'_, P, R> {
        FnRef {
            entry: self.code.entry(),
            code: PhantomData,
            signature: PhantomData,
        }
    }
}

impl<P, R> Function<P, R> {
    /// The machine code as it lies in executable memory: `code().as_ptr()` is the entry point.
    pub fn code(&self) -> &[u8] {
        self.code.bytes()
    }

    /// The Cranelift IR (CLIF text) the function was compiled from; empty for code written by
    /// hand ([`crate::HandStub`]) and for the functions of a batch, which keep no IR so that
    /// each costs only its code (see [`crate::Jit::compile_many`]).
    pub fn ir(&self) -> &str {
        self.ir.as_ref().map_or("", |ir| ir.text())
    }

    /// Whether the code lies within direct-branch reach of the program's own code (2 GiB on
    /// x86-64, 128 MiB on AArch64).
    pub fn is_near(&self) -> bool {
        self.code.is_near()
    }

    /// How many functions share this one's code mapping, itself included: the functions of one
    /// batch still alive, and clones. The mapping is freed when the last of them drops.
    pub fn sharers(&self) -> usize {
        self.code.sharers()
    }
}

impl<P, R> fmt::Debug for Function<P, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Function")
            .field("signature", &std::any::type_name::<fn(P) -> R>())
            .field("entry", &self.code.entry())
            .field("code_len", &self.code.bytes().len())
            .finish_non_exhaustive()
    }
}

/// A function pointer into code that stays mapped as long as the borrow `'a` lasts: what a bare
/// `extern "C" fn` would be, minus the chance to outlive its memory.
pub struct FnRef<'a, P = i32, R = i32> {
    entry: NonNull<u8>,
    code: PhantomData<&'a ExecutableCode>,
    signature: PhantomData<fn(P) -> R>,
}

impl<P, R> Clone for FnRef<'_, P, R> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<P, R> Copy for FnRef<'_, P, R> {}

// SAFETY: an `FnRef` is a shared borrow of a `Function`, which is `Sync`: it only reads
// read-execute memory that no one writes while the borrow lasts.
unsafe impl<P, R> Send for FnRef<'_, P, R> {}
// SAFETY: as above.
unsafe impl<P, R> Sync for FnRef<'_, P, R> {}

impl<P: Params, R: Results> FnRef<'_, P, R> {
    /// Calls the code.
    #[inline]
    pub fn call(self, args: P) -> R {
        // SAFETY: this handle was made from a `Function<P, R>` that it borrows, so the code is
        // live and implements `P -> R` (that function's invariant).
        unsafe { P::invoke(self.entry, args) }
    }
}

impl<P, R> fmt::Debug for FnRef<'_, P, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("FnRef").field(&self.entry).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_are_the_tuples_types_in_order() {
        let sig = signature::<(i32, f64, i64, f32), f64>(CallConv::SystemV);
        assert_eq!(sig.to_string(), "(i32, f64, i64, f32) -> f64 system_v");
        assert_eq!(
            signature::<(), i32>(CallConv::SystemV).to_string(),
            "() -> i32 system_v"
        );
        assert_eq!(
            signature::<i64, i64>(CallConv::SystemV),
            signature::<(i64,), i64>(CallConv::SystemV)
        );
    }
}
