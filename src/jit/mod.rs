//! Compiling with Cranelift into executable memory: [`Jit`], the reusable compiler, and the
//! one-shot [`compile_inc`], [`compile_expr`] and [`compile_formula`]; how a `Jit` places code
//! ([`Placement`]) and how its compile cache has done ([`CacheStats`]).

// Every path goes through `Jit::compile_code` (`link.rs`: a single function is a batch of one),
// which hands Cranelift's output to the code memory, and ends in one of the two places that
// vouch for what the code does: `Function::new` for a signature, or `Kernel::new` for a loop over
// columns (from `compile_kernel`, IR that fnjit built). What `Function::new` is given:
// - from `Jit::compile`: user IR whose signature was checked and whose every instruction is on
//   the allow-list of `validate.rs` (nothing that touches memory, calls or traps);
// - from `Jit::compile_unchecked`: user IR whose signature was checked, and whose behaviour the
//   caller vouches for;
// - from `compile_inc`, `compile_expr` and `compile_formula`: IR that fnjit built itself
//   (divisions guarded; the only calls go to fnjit's own math functions, which touch no memory
//   and never unwind).

mod cache;
mod callees;
mod link;
mod provider;
mod unwind;
mod validate;

pub use crate::memory::Placement;
pub use cache::CacheStats;

use crate::baseline::{self, Shape};
use crate::debug;
use crate::debug::DebugTools;
use crate::expr::{Args, Expr, Formula, Import, Number, Program, build_formula};
use crate::func::{self, Function, Ir, Params};
use crate::isa::{OptLevel, host_isa};
use crate::limits::CACHE_ENTRIES;
use crate::memory::{CodeRef, end_section, new_section, push_fde};
use crate::value::{self, Results};
use crate::{Error, ir};
use cache::Cache;
use cranelift_codegen::Context;
use cranelift_codegen::ir::{Function as IrFunction, Signature};
use cranelift_codegen::isa::{CallConv, OwnedTargetIsa, TargetFrontendConfig, TargetIsa};
use cranelift_frontend::FunctionBuilderContext;
use link::Name;
use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;
use validate::Batch;

/// `fn(i32) -> i32` compiled by Cranelift: what [`compile_inc`] and [`compile_expr`] return.
pub type JitFunction = Function<i32, i32>;

/// How a [`Jit`] compiles formulas and kernels, and which Cranelift settings it gives your IR.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Strategy {
    /// Machine code straight from the parsed formula, in one pass (2.5 µs for a 20-operator
    /// formula, 50 times faster than Cranelift, on this project's machine): formulas, batches,
    /// cached formulas and kernels. Its calls take 1.2 to 1.3 times as long as the optimizing
    /// tier's, its arithmetic kernels 2 to 3.5 times (docs/performance.md, "The baseline tier").
    /// Your IR ([`Jit::compile`], [`Jit::compile_many`]) compiles with `opt_level = none`.
    ///
    /// Not on Windows yet: there the baseline tier's emitters (System V and AAPCS64 code) do not
    /// run, and formulas and kernels compile as [`Strategy::Optimizing`] compiles them.
    Baseline,
    /// Cranelift with `opt_level = speed` for everything: the fastest code.
    Optimizing,
}

/// A reusable compiler for the host: keeps the ISAs and Cranelift's contexts between functions.
pub struct Jit {
    /// `opt_level = none`, for `x + 1`.
    fast_isa: OwnedTargetIsa,
    /// `opt_level = speed`, for expressions and user IR; built on first use.
    speed_isa: Option<OwnedTargetIsa>,
    ctx: Context,
    fctx: FunctionBuilderContext,
    placement: Placement,
    /// The debuggers and profilers told about its code, besides the unwinder.
    tools: DebugTools,
    cache: Cache,
    strategy: Strategy,
    /// The host's CPU features Cranelift may not use ([`Jit::without_cpu_features`]).
    cpu_off: Vec<String>,
}

impl fmt::Debug for Jit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Jit")
            .field("isa", &self.fast_isa.triple().to_string())
            .field("strategy", &self.strategy)
            .field("placement", &self.placement)
            .field("tools", &self.tools)
            .finish_non_exhaustive()
    }
}

/// Compiles `fn(i32) -> i32 { x + 1 }` for the host (x86-64 or AArch64) with Cranelift.
///
/// # Errors
/// [`Error::UnsupportedHost`] on any other host; [`Error::ExecRefused`] when the OS forbids
/// executable memory; [`Error::MapFailed`] or [`Error::Cranelift`] otherwise.
pub fn compile_inc() -> Result<JitFunction, Error> {
    Jit::new()?.compile_inc()
}

/// Compiles the expression `src` (see [`crate::Expr`]) for the host into `fn(i32) -> i32`.
///
/// # Errors
/// [`Error::Syntax`] when `src` is not an expression; otherwise as [`compile_inc`].
pub fn compile_expr(src: &str) -> Result<JitFunction, Error> {
    Jit::new()?.compile_expr(src)
}

/// Compiles the formula `src` over the variables `vars` (`vars[i]` is argument `i`) into a
/// `Function<P, R>`: every element of `P`, and `R`, is the formula's type (`i32`, `i64` or
/// `f64`). The README's grammar table says what a formula means.
///
/// ```
/// let f = fnjit::compile_formula::<(f64, f64), f64>("x*y + sin(x)", &["x", "y"])?;
/// assert_eq!(f.call((2.0, 3.0)), 6.0 + 2f64.sin());
/// let g = fnjit::compile_formula::<(i64,), i64>("n * (n + 1) / 2", &["n"])?;
/// assert_eq!(g.call((100,)), 5050);
/// # Ok::<(), fnjit::Error>(())
/// ```
///
/// # Errors
/// [`Error::Syntax`] or [`Error::Variables`] from parsing (see [`Formula::parse`]);
/// [`Error::FormulaType`] when `P` is not one `R` per variable; otherwise as [`compile_inc`].
pub fn compile_formula<P: Params, R: Number>(
    src: &str,
    vars: &[&str],
) -> Result<Function<P, R>, Error> {
    Jit::new()?.compile_formula(&Formula::<R>::parse(src, vars)?)
}

impl Jit {
    /// A compiler for the host, placing code near the program's own code.
    ///
    /// # Errors
    /// [`Error::UnsupportedHost`] unless fnjit runs code on the host (x86-64 or AArch64, under
    /// Linux or macOS).
    pub fn new() -> Result<Jit, Error> {
        Self::with_placement(Placement::Near)
    }

    /// A compiler for the host that places code as `placement` says.
    ///
    /// # Errors
    /// As [`Jit::new`].
    pub fn with_placement(placement: Placement) -> Result<Jit, Error> {
        Self::build(placement, Vec::new())
    }

    /// A compiler for the host that places code as `placement` says and leaves the CPU features
    /// `cpu_off` unused.
    fn build(placement: Placement, cpu_off: Vec<String>) -> Result<Jit, Error> {
        Ok(Jit {
            fast_isa: host_isa(OptLevel::None, &cpu_off)?,
            speed_isa: None,
            ctx: Context::new(),
            fctx: FunctionBuilderContext::new(),
            placement,
            tools: DebugTools::from_env(),
            cache: Cache::new(CACHE_ENTRIES),
            strategy: Strategy::Optimizing,
            cpu_off,
        })
    }

    /// A compiler for the host whose code uses none of the CPU features `features` names
    /// (Cranelift's settings, such as `has_sse41`, `has_fma` or `has_avx`): code for a lesser CPU of
    /// the host's architecture. Turning a feature off is always safe; where an instruction needs
    /// it (`ceil` without SSE4.1, `fma` without FMA), Cranelift calls a Rust function of fnjit's
    /// instead.
    ///
    /// ```
    /// // The settings are the host architecture's: x86-64's `has_…` or AArch64's.
    /// let off: &[&str] = if cfg!(target_arch = "x86_64") { &["has_sse41", "has_fma"] } else { &["has_lse"] };
    /// let mut jit = fnjit::Jit::without_cpu_features(off)?;
    /// assert_eq!(jit.compile_expr("x * 2")?.call(21), 42);
    /// # Ok::<(), fnjit::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::Isa`] for a name that is not one of the host architecture's `has_…` settings
    /// (`has_sse41` on AArch64 is an error); otherwise as
    /// [`Jit::new`].
    pub fn without_cpu_features(features: &[&str]) -> Result<Jit, Error> {
        let cpu_off = features.iter().map(|&f| f.to_owned()).collect();
        Self::build(Placement::Near, cpu_off)
    }

    /// A compiler for the host that compiles as `strategy` says ([`Jit::new`] is
    /// [`Strategy::Optimizing`]).
    ///
    /// ```
    /// use fnjit::{Formula, Jit, Strategy};
    /// let mut jit = Jit::with_strategy(Strategy::Baseline)?;
    /// let f = jit.compile_formula::<(f64, f64), f64>(&Formula::parse("x*y + sin(x)", &["x", "y"])?)?;
    /// assert_eq!(f.call((2.0, 3.0)), 6.0 + 2f64.sin());
    /// assert_eq!(jit.strategy(), Strategy::Baseline);
    /// # Ok::<(), fnjit::Error>(())
    /// ```
    ///
    /// # Errors
    /// As [`Jit::new`].
    pub fn with_strategy(strategy: Strategy) -> Result<Jit, Error> {
        let mut jit = Self::new()?;
        jit.strategy = strategy;
        Ok(jit)
    }

    /// How this `Jit` compiles.
    pub fn strategy(&self) -> Strategy {
        self.strategy
    }

    /// Whether each function compiled from now on gets a line in `/tmp/perf-<pid>.map`, so that
    /// `perf report` can name it (see [`crate::perf_map`]): [`DebugTools::PERF_MAP`], on or off.
    /// Starts as `FNJIT_PERF_MAP=1` (or `FNJIT_DEBUG=perfmap`) says.
    pub fn set_perf_map(&mut self, on: bool) -> &mut Self {
        let kept = self.tools.without(DebugTools::PERF_MAP);
        self.tools = if on {
            kept | DebugTools::PERF_MAP
        } else {
            kept
        };
        self
    }

    /// Which debuggers and profilers are told about each function compiled from now on, besides
    /// the unwinder, which always is (see [`DebugTools`]). Starts as `FNJIT_DEBUG` says.
    ///
    /// # Errors
    /// [`Error::DebugTools`] when the host lacks one of them (GDB's interface and jitdump are
    /// Linux's); the tools are then left as they were.
    pub fn set_debug_tools(&mut self, tools: DebugTools) -> Result<&mut Self, Error> {
        self.tools = tools.check_host()?;
        Ok(self)
    }

    /// Which debuggers and profilers are told about compiled functions.
    pub fn debug_tools(&self) -> DebugTools {
        self.tools
    }

    /// The host's C calling convention, which IR given to [`Jit::compile`] must use.
    pub fn call_conv(&self) -> CallConv {
        self.fast_isa.default_call_conv()
    }

    /// What cranelift-frontend's `FunctionBuilder::finalize` needs to know about the host.
    pub fn frontend_config(&self) -> TargetFrontendConfig {
        self.fast_isa.frontend_config()
    }

    /// The signature that IR for a `Function<P, R>` must have: `P`'s types in order, returning
    /// `R`, in the host's calling convention.
    ///
    /// ```
    /// let jit = fnjit::Jit::new()?;
    /// let sig = jit.signature::<(i64, f64), f64>();
    /// let host = if cfg!(windows) { "windows_fastcall" } else { "system_v" }; // x86-64
    /// # let host = jit.call_conv().to_string(); // AArch64 too
    /// assert_eq!(sig.to_string(), format!("(i64, f64) -> f64 {host}"));
    /// # Ok::<(), fnjit::Error>(())
    /// ```
    pub fn signature<P: Params, R: Results>(&self) -> Signature {
        func::signature::<P, R>(self.call_conv())
    }

    /// Declares fnjit's math function `name` in `func`, for `call`s that [`Jit::compile`] accepts:
    /// one of the formula language's functions (`sin`, `pow`, `hypot`, …; docs/language.md),
    /// the very Rust function formulas call, taking one or two `f64` and returning one. In CLIF
    /// text it is `u1:k`, `k` being its place in that list (`u1:9` is `sin`).
    ///
    /// ```
    /// use cranelift_codegen::ir::{Function, InstBuilder, UserFuncName};
    /// use cranelift_frontend::{FunctionBuilder, FunctionBuilderContext};
    ///
    /// let mut jit = fnjit::Jit::new()?;
    /// let mut func = Function::with_name_signature(UserFuncName::default(), jit.signature::<f64, f64>());
    /// let sin = jit.import_math(&mut func, "sin")?;
    /// let mut fctx = FunctionBuilderContext::new();
    /// let mut b = FunctionBuilder::new(&mut func, &mut fctx);
    /// let block = b.create_block();
    /// b.append_block_params_for_function_params(block);
    /// b.switch_to_block(block);
    /// let x = b.block_params(block)[0];
    /// let call = b.ins().call(sin, &[x]);
    /// let y = b.inst_results(call)[0];
    /// b.ins().return_(&[y]);
    /// b.seal_all_blocks();
    /// b.finalize(jit.frontend_config());
    ///
    /// let f = jit.compile::<f64, f64>(&func)?;
    /// assert_eq!(f.call(1.0), 1f64.sin());
    /// # Ok::<(), fnjit::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::Link`] when fnjit has no math function of that name.
    pub fn import_math(
        &self,
        func: &mut IrFunction,
        name: &str,
    ) -> Result<cranelift_codegen::ir::FuncRef, Error> {
        use cranelift_codegen::ir::{ExtFuncData, ExternalName, UserExternalName};
        let unknown = || Error::Link {
            callee: format!("math function {name:?}"),
        };
        let k = callees::math_index(name).ok_or_else(unknown)?;
        let (_, callee) = callees::math(k).ok_or_else(unknown)?;
        let signature = func.import_signature(callee.signature(self.call_conv()));
        let user =
            func.declare_imported_user_function(UserExternalName::new(callees::MATH_NAMESPACE, k));
        Ok(func.import_function(ExtFuncData {
            name: ExternalName::user(user),
            signature,
            colocated: false,
            patchable: false,
        }))
    }

    /// Compiles IR that you built (with cranelift-frontend, or parsed from CLIF text) into a
    /// [`Function<P, R>`] for the host. It optimizes as `opt_level = speed` does.
    ///
    /// A safe function, so it refuses any IR whose call could be unsound or could crash:
    /// - The signature must be [`Jit::signature::<P, R>`](Jit::signature), else
    ///   [`Error::Signature`] shows both.
    /// - Every instruction must touch no memory, make no call and be unable to trap: integer
    ///   and float arithmetic, bit operations, comparisons, `select`, conversions that saturate,
    ///   constants, branches, block parameters, `return` and vector lane operations. Also
    ///   accepted where the operands prove them safe: division by a constant that cannot trap,
    ///   loads and stores inside the function's own stack slots, calls within a batch that do
    ///   not recurse, and calls of fnjit's math functions ([`Jit::import_math`]). Everything else
    ///   (division by a variable, `fcvt_to_sint`, other loads, stores and calls, traps, globals)
    ///   is refused with [`Error::UnsafeIr`], naming the instruction, its block and why
    ///   (docs/api.md lists the rules).
    /// - The host's C ABI must pass the signature as Cranelift does, else [`Error::Abi`].
    /// - Cranelift's verifier must pass, else [`Error::Verifier`] carries its message.
    ///
    /// Loops are allowed. A loop that never ends hangs the caller, as it would in Rust.
    ///
    /// ```
    /// use cranelift_codegen::ir::{Function, InstBuilder, UserFuncName};
    /// use cranelift_frontend::{FunctionBuilder, FunctionBuilderContext};
    ///
    /// let mut jit = fnjit::Jit::new()?;
    /// let mut func = Function::with_name_signature(UserFuncName::default(), jit.signature::<(i64, i64), i64>());
    /// let mut fctx = FunctionBuilderContext::new();
    /// let mut b = FunctionBuilder::new(&mut func, &mut fctx);
    /// let block = b.create_block();
    /// b.append_block_params_for_function_params(block);
    /// b.switch_to_block(block);
    /// let (x, y) = (b.block_params(block)[0], b.block_params(block)[1]);
    /// let product = b.ins().imul(x, y);
    /// let sum = b.ins().iadd(product, x);
    /// b.ins().return_(&[sum]);
    /// b.seal_all_blocks();
    /// b.finalize(jit.frontend_config());
    ///
    /// let f = jit.compile::<(i64, i64), i64>(&func)?;
    /// assert_eq!(f.call((6, 7)), 48);
    /// # Ok::<(), fnjit::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::Signature`], [`Error::UnsafeIr`] or [`Error::Verifier`] as above; otherwise as
    /// [`compile_inc`].
    pub fn compile<P: Params, R: Results>(
        &mut self,
        func: &cranelift_codegen::ir::Function,
    ) -> Result<Function<P, R>, Error> {
        self.check_signature::<P, R>(func)?;
        let batch = Batch {
            size: 1,
            signature: &func.signature,
        };
        validate::check_safe(func, batch)?;
        validate::check_no_recursion(&[func]).map_err(|(_, error)| error)?;
        self.verify(func)?;
        // SAFETY: the signature is `P -> R` in the host's C ABI (checked above), and every
        // instruction is one that touches no memory, makes no call and cannot trap (checked
        // above), so the code only computes a value from its arguments in registers and its own
        // frame, and does not unwind.
        unsafe { self.install(self.user_opt(), &|_| ir_name(func), user_ir(func)) }
    }

    /// Compiles IR as [`Jit::compile`] does, but checks only its signature (and runs the
    /// verifier): for IR that loads, stores, calls or traps.
    ///
    /// # Safety
    /// Every call of the returned function must be sound: each load and store must touch only
    /// memory that is valid for it while the call runs (addresses passed as `i64` arguments must
    /// point to live memory of the right size, and nothing else may access it in a conflicting
    /// way), each call must reach a function of the declared signature that does not unwind,
    /// and no instruction may trap (a trap kills the process with `SIGILL` or `SIGFPE`).
    ///
    /// # Errors
    /// [`Error::Signature`] or [`Error::Verifier`]; otherwise as [`compile_inc`].
    pub unsafe fn compile_unchecked<P: Params, R: Results>(
        &mut self,
        func: &cranelift_codegen::ir::Function,
    ) -> Result<Function<P, R>, Error> {
        self.check_signature::<P, R>(func)?;
        self.verify(func)?;
        // SAFETY: the signature is `P -> R` in the host's C ABI (checked above); the caller
        // vouches for everything else (this function's contract).
        unsafe { self.install(self.user_opt(), &|_| ir_name(func), user_ir(func)) }
    }

    /// Compiles many functions from your IR at once, each checked as [`Jit::compile`] checks
    /// it: on every core (one Cranelift context per thread), linked into one code mapping made
    /// executable with one `mprotect`, their code packed into shared pages as Cranelift aligns
    /// it. Each [`Function`] keeps the mapping alive; it is freed when the last of them drops,
    /// and is never writable again once executable. The functions keep no IR (`ir()` is empty).
    ///
    /// ```
    /// use cranelift_codegen::ir::{Function, InstBuilder, UserFuncName};
    /// use cranelift_frontend::{FunctionBuilder, FunctionBuilderContext};
    ///
    /// let mut jit = fnjit::Jit::new()?;
    /// let times = |k: i64| {
    ///     let mut func = Function::with_name_signature(UserFuncName::default(), jit.signature::<i64, i64>());
    ///     let mut fctx = FunctionBuilderContext::new();
    ///     let mut b = FunctionBuilder::new(&mut func, &mut fctx);
    ///     let block = b.create_block();
    ///     b.append_block_params_for_function_params(block);
    ///     b.switch_to_block(block);
    ///     let x = b.block_params(block)[0];
    ///     let y = b.ins().imul_imm_s(x, k);
    ///     b.ins().return_(&[y]);
    ///     b.seal_all_blocks();
    ///     b.finalize(jit.frontend_config());
    ///     func
    /// };
    /// let funcs: Vec<Function> = (0..100).map(times).collect();
    /// let fs = jit.compile_many::<i64, i64>(&funcs)?;
    /// assert_eq!(fs[7].call(6), 42);
    /// assert_eq!(fs[7].sharers(), 100); // one mapping for all of them
    /// # Ok::<(), fnjit::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::Batch`], naming the first item that [`Jit::compile`] would refuse and why;
    /// nothing of the batch is kept then. Otherwise as [`compile_inc`].
    pub fn compile_many<P: Params, R: Results>(
        &mut self,
        funcs: &[cranelift_codegen::ir::Function],
    ) -> Result<Vec<Function<P, R>>, Error> {
        let isa = self.isa(self.user_opt())?;
        let expected = self.signature::<P, R>();
        check_abi::<P, R>(&expected)?;
        let batch = Batch {
            size: funcs.len(),
            signature: &expected,
        };
        validate::check_no_recursion(&funcs.iter().collect::<Vec<_>>()).map_err(
            |(index, error)| Error::Batch {
                index,
                error: Box::new(error),
            },
        )?;
        let compiled = link::compile_all(&*isa, funcs.len(), &|i, func, _| {
            let src = &funcs[i];
            same_signature(&src.signature, &expected)?;
            validate::check_safe(src, batch)?;
            verify(src, &*isa)?;
            copy_user_ir(func, src);
            Ok(Vec::new())
        })?;
        // SAFETY: as in `compile`: each signature is `P -> R` in the host's C ABI and each
        // instruction is on the allow-list (both checked above, per function).
        unsafe { self.install_batch(&compiled, isa, &|i| ir_name(&funcs[i])) }
    }

    /// Compiles many formulas over the same variables at once, as [`Jit::compile_many`] compiles
    /// IR: parsed and compiled on every core, linked into one shared mapping. Each is what
    /// [`compile_formula`] would give for it.
    ///
    /// ```
    /// let mut jit = fnjit::Jit::new()?;
    /// let srcs: Vec<String> = (1..=1000).map(|k| format!("x * {k} + y")).collect();
    /// let srcs: Vec<&str> = srcs.iter().map(String::as_str).collect();
    /// let fs = jit.compile_formulas::<(f64, f64), f64>(&srcs, &["x", "y"])?;
    /// assert_eq!(fs[999].call((2.0, 1.0)), 2001.0);
    ///
    /// let err = jit.compile_formulas::<(f64,), f64>(&["x + 1", "x +", "x"], &["x"]).unwrap_err();
    /// assert!(err.to_string().starts_with("item 1 of the batch"), "{err}");
    /// # Ok::<(), fnjit::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::FormulaType`] when `P` is not one `R` per variable; [`Error::Batch`] naming the
    /// first formula that does not parse; otherwise as [`compile_inc`].
    pub fn compile_formulas<P: Params, R: Number>(
        &mut self,
        srcs: &[&str],
        vars: &[&str],
    ) -> Result<Vec<Function<P, R>>, Error> {
        self.check_formula_type::<P, R>(vars.len())?;
        if self.baseline_tier() {
            let parse = |index: usize| {
                Formula::<R>::parse(srcs[index], vars)
                    .map(|f| Cow::Owned(f.into_program()))
                    .map_err(|error| Error::Batch {
                        index,
                        error: Box::new(error),
                    })
            };
            let codes = baseline_code(
                srcs.len(),
                parse,
                Shape::Formula(Args::Registers),
                self.tools,
                &|i| formula_name("fnjit_formula", srcs[i].trim()),
            )?;
            return Ok(codes
                .into_iter()
                // SAFETY: as in `compile_formula`'s baseline branch, for each formula.
                .map(|code| unsafe { Function::new(code, None) })
                .collect());
        }
        let isa = self.isa(OptLevel::Speed)?;
        let target = isa.frontend_config();
        let compiled = link::compile_all(&*isa, srcs.len(), &|i, func, fctx| {
            let formula = Formula::<R>::parse(srcs[i], vars)?;
            Ok(build_formula(
                func,
                fctx,
                target,
                formula.program(),
                Args::Registers,
            ))
        })?;
        // SAFETY: as in `compile_formula`: `build_formula` built `fn(T, …) -> T` with one
        // parameter per variable, which is `P -> R` (checked above), from arithmetic, guarded
        // divisions and calls to fnjit's math functions only.
        unsafe {
            self.install_batch(&compiled, isa, &|i| {
                formula_name("fnjit_formula", srcs[i].trim())
            })
        }
    }

    /// Compiles many typed formulas over the same typed variables at once, as
    /// [`Jit::compile_formulas`] compiles formulas: parsed and compiled on every core, linked
    /// into one shared mapping (on a baseline `Jit`, emitted one after another into shared code
    /// memory). Each must be `P -> R`, as [`Jit::compile_typed`] would give it.
    ///
    /// ```
    /// use fnjit::Ty;
    /// let mut jit = fnjit::Jit::new()?;
    /// let vars = [("x", Ty::F64), ("n", Ty::I32)];
    /// let fs = jit.compile_typed_formulas::<(f64, i32), bool>(&["x > n", "x * n == 4", "n > 0"], &vars)?;
    /// assert_eq!(fs.iter().map(|f| f.call((2.0, 2))).collect::<Vec<_>>(), [false, true, true]);
    ///
    /// let err = jit.compile_typed_formulas::<(f64, i32), bool>(&["x > n", "x + n"], &vars).unwrap_err();
    /// assert!(err.to_string().starts_with("item 1 of the batch"), "{err}");
    /// # Ok::<(), fnjit::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::Batch`] naming the first formula that does not parse or is not `P -> R`;
    /// otherwise as [`compile_inc`].
    pub fn compile_typed_formulas<P: Params, R: value::Scalar>(
        &mut self,
        srcs: &[&str],
        vars: &[(&str, crate::Ty)],
    ) -> Result<Vec<Function<P, R>>, Error> {
        let parse = |index: usize| {
            crate::TypedFormula::parse(srcs[index], vars)
                .and_then(|f| self.check_typed_signature::<P, R>(&f).map(|()| f))
                .map_err(|error| Error::Batch {
                    index,
                    error: Box::new(error),
                })
        };
        // Every formula parses and has the signature before any compiles.
        let formulas = (0..srcs.len()).map(parse).collect::<Result<Vec<_>, _>>()?;
        let name = |i: usize| formula_name("fnjit_formula", srcs[i].trim());
        if self.baseline_tier() {
            let program = |i: usize| Ok(Cow::Borrowed(formulas[i].program()));
            let shape = Shape::Formula(Args::Registers);
            let codes = baseline_code(formulas.len(), program, shape, self.tools, &name)?;
            return Ok(codes
                .into_iter()
                // SAFETY: as in `compile_program`'s baseline branch, for each formula, whose
                // signature is `P -> R` (checked above).
                .map(|code| unsafe { Function::new(code, None) })
                .collect());
        }
        let isa = self.isa(OptLevel::Speed)?;
        let target = isa.frontend_config();
        let compiled = link::compile_all(&*isa, formulas.len(), &|i, func, fctx| {
            Ok(build_formula(
                func,
                fctx,
                target,
                formulas[i].program(),
                Args::Registers,
            ))
        })?;
        // SAFETY: as in `compile_program`: `build_formula` built each program's `fn(…) -> …`,
        // which is `P -> R` (checked above, per formula), from arithmetic, conversions, guarded
        // divisions and calls to fnjit's math functions only.
        unsafe { self.install_batch(&compiled, isa, &name) }
    }

    /// Compiles `x + 1` (see [`compile_inc`]).
    ///
    /// # Errors
    /// As [`compile_inc`].
    pub fn compile_inc(&mut self) -> Result<JitFunction, Error> {
        // SAFETY: `build_inc` builds `fn(i32) -> i32` in the host's calling convention from one
        // `iadd`: no memory, no call, no trap.
        unsafe {
            self.install(
                OptLevel::None,
                &|_| "fnjit_inc".to_owned(),
                |func, fctx, target| {
                    ir::build_inc(func, fctx, target);
                    Vec::new()
                },
            )
        }
    }

    /// Compiles the expression `src` (see [`compile_expr`]).
    ///
    /// # Errors
    /// As [`compile_expr`].
    pub fn compile_expr(&mut self, src: &str) -> Result<JitFunction, Error> {
        let expr = Expr::parse(src)?;
        self.compile_formula(expr.formula())
    }

    /// Compiles a parsed formula (see [`compile_formula`]); parse once, compile as often as you
    /// like.
    ///
    /// # Errors
    /// [`Error::FormulaType`] when `P` is not one `R` per variable; otherwise as
    /// [`compile_inc`].
    pub fn compile_formula<P: Params, R: Number>(
        &mut self,
        formula: &Formula<R>,
    ) -> Result<Function<P, R>, Error> {
        self.check_formula_type::<P, R>(formula.vars().len())?;
        // SAFETY: `P -> R` is the program's signature (checked just above).
        unsafe { self.compile_program(formula.program(), &|| formula.describe()) }
    }

    /// Compiles a typed formula into a function of its variables, `P -> R`: one parameter of
    /// each variable's type, in order, returning the formula's type (`bool` for a comparison).
    /// A typed formula whose variables and operations are all of one formula type compiles as
    /// the same `Formula<T>` would, on the baseline tier too; one that mixes types compiles
    /// with Cranelift.
    ///
    /// ```
    /// use fnjit::{Ty, TypedFormula};
    /// let f = TypedFormula::parse("where(x > 0, log(x), 0) + n", &[("x", Ty::F64), ("n", Ty::I32)])?;
    /// let g = fnjit::Jit::new()?.compile_typed::<(f64, i32), f64>(&f)?;
    /// assert_eq!(g.call((1.0, 2)), 2.0);
    /// assert_eq!(g.call((-1.0, 2)), 2.0);
    /// # Ok::<(), fnjit::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::FormulaType`] when `P -> R` is not the formula's signature; otherwise as
    /// [`compile_inc`].
    pub fn compile_typed<P: Params, R: value::Scalar>(
        &mut self,
        formula: &crate::TypedFormula,
    ) -> Result<Function<P, R>, Error> {
        self.check_typed_signature::<P, R>(formula)?;
        // SAFETY: `P -> R` is the program's signature (checked just above).
        unsafe { self.compile_program(formula.program(), &|| formula.describe()) }
    }

    /// Compiles a typed formula as [`Jit::compile_typed`] does, or returns the code already
    /// compiled for the same program, from the cache [`Jit::compile_formula_cached`] keeps: the
    /// key is the parsed program, its variables' and nodes' types included, so a typed formula
    /// and the `Formula<T>` it came from ([`Formula::typed`]) share their code.
    ///
    /// ```
    /// use fnjit::{Formula, Ty, TypedFormula};
    /// let mut jit = fnjit::Jit::new()?;
    /// let f = Formula::<f64>::parse("x * (y + 1)", &["x", "y"])?;
    /// let a = jit.compile_formula_cached::<(f64, f64), f64>(&f)?;
    /// let b = jit.compile_typed_cached::<(f64, f64), f64>(&f.typed())?;
    /// let c = jit.compile_typed_cached::<(f64, f64), f64>(
    ///     &TypedFormula::parse("x * (y + 1)", &[("x", Ty::F64), ("y", Ty::F64)])?,
    /// )?;
    /// // The typed parse is the same program: its `1` met an f64 and became one.
    /// assert_eq!(a.code().as_ptr(), b.code().as_ptr());
    /// assert_eq!(a.code().as_ptr(), c.code().as_ptr());
    /// assert_eq!(jit.cache_stats().hits, 2);
    /// # Ok::<(), fnjit::Error>(())
    /// ```
    ///
    /// # Errors
    /// As [`Jit::compile_typed`].
    pub fn compile_typed_cached<P: Params, R: value::Scalar>(
        &mut self,
        formula: &crate::TypedFormula,
    ) -> Result<Function<P, R>, Error> {
        if let Some((code, ir)) = self.cache.get(formula.program()) {
            self.check_typed_signature::<P, R>(formula)?;
            // SAFETY: the cache holds code compiled by `compile_program` for this very program
            // (types included), whose signature is `P -> R` (checked just above).
            return Ok(unsafe { Function::new(code, ir) });
        }
        let f = self.compile_typed::<P, R>(formula)?;
        let (code, ir) = f.parts();
        self.cache.insert(formula.program().clone(), code, ir);
        Ok(f)
    }

    /// [`Error::FormulaType`] unless `P -> R` is the typed formula's signature.
    fn check_typed_signature<P: Params, R: value::Scalar>(
        &self,
        formula: &crate::TypedFormula,
    ) -> Result<(), Error> {
        let params: Vec<_> = formula
            .var_types()
            .iter()
            .map(|&t| crate::expr::clif_type(t))
            .collect();
        if P::TYPES == params.as_slice() && R::TYPE == crate::expr::clif_type(formula.ty()) {
            return Ok(());
        }
        Err(Error::FormulaType {
            expected: crate::expr::signature(formula.var_types(), formula.ty()),
            asked: self.signature::<P, R>().to_string(),
        })
    }

    /// Compiles `program` into `fn(…) -> …` with one parameter per variable, named `text()` for
    /// debuggers and profilers (asked only when one is told); on the baseline tier when that is
    /// asked for.
    ///
    /// # Safety
    /// `P -> R` must be the program's signature: one parameter of each variable's type, in
    /// order, returning the program's type.
    unsafe fn compile_program<P: Params, R: Results>(
        &mut self,
        program: &Program,
        text: &(dyn Fn() -> String + Sync),
    ) -> Result<Function<P, R>, Error> {
        if self.baseline_tier() {
            let code = baseline_one(
                program,
                Shape::Formula(Args::Registers),
                self.tools,
                &|_| formula_name("fnjit_formula", &text()),
            )?;
            // SAFETY: the baseline emitter (`baseline/`) wrote `fn(…) -> …` with one parameter
            // of each variable's type and the program's result, which is `P -> R` (the caller's
            // promise), in the host's C ABI: it computes as `build_formula`'s IR does (guarded
            // division, saturating conversions; calls only to fnjit's math functions, which
            // touch no memory and cannot unwind) in a frame sized for the program's deepest
            // stack, and touches no other memory. Its `bool`s are 0 or 1 (`setcc`, `cset`).
            return Ok(unsafe { Function::new(code, None) });
        }
        // SAFETY: `build_formula` built `fn(…) -> …` with one parameter of each variable's type
        // and the program's result, which is `P -> R` (the caller's promise), in the host's
        // calling convention, from arithmetic, bit operations, comparisons, conversions
        // (saturating, so none traps) and selects; its divisions are guarded so that no divisor
        // is zero and no quotient overflows; its only calls go to fnjit's math functions
        // (`expr/math.rs`), which take and return floats in registers, touch no memory and
        // cannot panic or unwind. No memory, no trap. Its `bool` values are 0 or 1 (comparisons,
        // and bit operations of those), as a returned Rust `bool` must be.
        unsafe {
            let name = |_| formula_name("fnjit_formula", &text());
            self.install(OptLevel::Speed, &name, |func, fctx, target| {
                build_formula(func, fctx, target, program, Args::Registers)
            })
        }
    }

    /// Compiles a parsed formula as [`Jit::compile_formula`] does, or returns the code already
    /// compiled for the same formula: same type, same number of variables, same structure.
    /// Spelling does not count (whitespace, redundant parentheses, the variables' names), since
    /// the key is the parsed program. The cache keeps up to [`crate::limits::CACHE_ENTRIES`] formulas (see
    /// [`Jit::set_cache_capacity`]), dropping the one used longest ago; a returned `Function`
    /// shares the code, which is freed when the cache and the last function have let go of it.
    ///
    /// ```
    /// use fnjit::Formula;
    /// let mut jit = fnjit::Jit::new()?;
    /// let a = jit.compile_formula_cached::<(f64, f64), f64>(&Formula::parse("x*(y+1)", &["x", "y"])?)?;
    /// let b = jit.compile_formula_cached::<(f64, f64), f64>(&Formula::parse(" a * ( (b) + 1 ) ", &["a", "b"])?)?;
    /// assert_eq!(a.code().as_ptr(), b.code().as_ptr()); // the same code
    /// assert_eq!((jit.cache_stats().hits, jit.cache_stats().misses), (1, 1));
    /// # Ok::<(), fnjit::Error>(())
    /// ```
    ///
    /// # Errors
    /// As [`Jit::compile_formula`].
    pub fn compile_formula_cached<P: Params, R: Number>(
        &mut self,
        formula: &Formula<R>,
    ) -> Result<Function<P, R>, Error> {
        self.check_formula_type::<P, R>(formula.vars().len())?;
        if let Some((code, ir)) = self.cache.get(formula.program()) {
            // SAFETY: the cache holds code compiled by `compile_formula` for a program of this
            // type and number of variables (both part of the key), which is `P -> R` (checked
            // above): the contract `compile_formula` met for that code holds for this one.
            return Ok(unsafe { Function::new(code, ir) });
        }
        let f = self.compile_formula::<P, R>(formula)?;
        let (code, ir) = f.parts();
        self.cache.insert(formula.program().clone(), code, ir);
        Ok(f)
    }

    /// How the compile cache has done: hits, misses, entries held and capacity.
    pub fn cache_stats(&self) -> CacheStats {
        self.cache.stats()
    }

    /// Bounds the compile cache to `entries` formulas (0 turns it off), dropping those used
    /// longest ago that no longer fit.
    pub fn set_cache_capacity(&mut self, entries: usize) -> &mut Self {
        self.cache.set_capacity(entries);
        self
    }

    /// Compiles `program` with Cranelift to read its arguments from memory ([`Args::Memory`]): an
    /// [`crate::Evaluator`]'s optimized code (its baseline code comes from [`baseline_one`]). Not
    /// callable by itself; the caller vouches for its calls.
    ///
    /// # Errors
    /// As [`compile_inc`].
    pub(crate) fn compile_row(&mut self, program: &Program, text: &str) -> Result<CodeRef, Error> {
        let imports = self.build_ir(|func, fctx, target| {
            build_formula(func, fctx, target, program, Args::Memory)
        });
        let name = |_| formula_name("fnjit_evaluator", text);
        self.compile_code(OptLevel::Speed, &name, &imports)
    }

    /// Fills `self.ctx.func` with `build`, which returns what the IR's user functions `u0:k` are.
    fn build_ir(&mut self, build: impl BuildIr) -> Vec<Import> {
        let target = self.frontend_config();
        build(&mut self.ctx.func, &mut self.fctx, target)
    }

    /// Whether formulas and kernels go to the baseline tier: asked for, and on a host where it
    /// runs ([`baseline::ON_HOST`]).
    pub(crate) fn baseline_tier(&self) -> bool {
        self.strategy == Strategy::Baseline && baseline::ON_HOST
    }

    /// The Cranelift settings for your IR: the fastest reliable ones for a baseline `Jit`.
    fn user_opt(&self) -> OptLevel {
        match self.strategy {
            Strategy::Baseline => OptLevel::None,
            Strategy::Optimizing => OptLevel::Speed,
        }
    }

    /// [`Error::FormulaType`] unless `P` is one `R` per variable.
    fn check_formula_type<P: Params, R: Number>(&self, vars: usize) -> Result<(), Error> {
        if P::TYPES.len() == vars && P::TYPES.iter().all(|&t| t == R::TYPE) {
            return Ok(());
        }
        let mut expected = Signature::new(self.call_conv());
        expected
            .params
            .extend((0..vars).map(|_| cranelift_codegen::ir::AbiParam::new(R::TYPE)));
        expected
            .returns
            .push(cranelift_codegen::ir::AbiParam::new(R::TYPE));
        Err(Error::FormulaType {
            expected: expected.to_string(),
            asked: self.signature::<P, R>().to_string(),
        })
    }

    fn check_signature<P: Params, R: Results>(
        &self,
        func: &cranelift_codegen::ir::Function,
    ) -> Result<(), Error> {
        let expected = self.signature::<P, R>();
        check_abi::<P, R>(&expected)?;
        same_signature(&func.signature, &expected)
    }

    fn verify(&self, func: &cranelift_codegen::ir::Function) -> Result<(), Error> {
        verify(func, &*self.fast_isa)
    }

    fn isa(&mut self, opt: OptLevel) -> Result<OwnedTargetIsa, Error> {
        Ok(match opt {
            OptLevel::None => self.fast_isa.clone(),
            OptLevel::Speed => match &self.speed_isa {
                Some(isa) => isa.clone(),
                None => self
                    .speed_isa
                    .insert(host_isa(OptLevel::Speed, &self.cpu_off)?)
                    .clone(),
            },
        })
    }

    /// Builds IR with `build` (see [`Jit::build_ir`]), compiles it into executable memory and
    /// wraps it as a `Function<P, R>` that keeps the IR; `name` is for profilers.
    ///
    /// # Safety
    /// The IR must meet the contract of [`Function::new`] for `P -> R`: its signature is `P -> R`
    /// in the host's C ABI, and its code touches no memory but its frame (or only memory the
    /// caller vouches for), returns or loops, and does not unwind.
    unsafe fn install<P: Params, R: Results>(
        &mut self,
        opt: OptLevel,
        name: Name<'_>,
        build: impl BuildIr,
    ) -> Result<Function<P, R>, Error> {
        let (code, ir) = self.compile_built(opt, name, build)?;
        // SAFETY: Cranelift compiled `ir` for the host into `code`, whose first byte is the
        // function's entry; the caller guarantees the rest of `Function::new`'s contract.
        Ok(unsafe { Function::new(code, Some(ir)) })
    }

    /// Builds IR with `build` (see [`Jit::build_ir`]) and compiles it into executable memory, not
    /// yet callable; returns the code and the IR it came from. `name` is for profilers.
    ///
    /// # Errors
    /// As [`compile_inc`].
    pub(crate) fn compile_built(
        &mut self,
        opt: OptLevel,
        name: Name<'_>,
        build: impl BuildIr,
    ) -> Result<(CodeRef, Arc<Ir>), Error> {
        let imports = self.build_ir(build);
        // Cranelift rewrites the IR as it optimizes: keep it as it was built.
        let ir = Ir::new(self.ctx.func.clone());
        Ok((self.compile_code(opt, name, &imports)?, ir))
    }

    /// Links a compiled batch into one mapping and wraps each function; `name` is for profilers.
    ///
    /// # Safety
    /// Every function of `compiled` must meet the contract of [`Function::new`] for `P -> R`.
    unsafe fn install_batch<P: Params, R: Results>(
        &self,
        compiled: &[link::Compiled],
        isa: OwnedTargetIsa,
        name: Name<'_>,
    ) -> Result<Vec<Function<P, R>>, Error> {
        let codes = link::link(compiled, isa, self.placement, self.tools, name)?;
        Ok(codes
            .into_iter()
            // SAFETY: `link` placed each function's code at its entry; the caller vouches for
            // the rest of `Function::new`'s contract.
            .map(|code| unsafe { Function::new(code, None) })
            .collect())
    }

    /// Compiles `self.ctx.func` with the ISA for `opt` into executable memory as a batch of one
    /// (`link.rs`: the one path to code memory), and leaves the context empty. The IR's user
    /// function `u0:k` is `imports[k]`; `name` is for profilers.
    fn compile_code(
        &mut self,
        opt: OptLevel,
        name: Name<'_>,
        imports: &[Import],
    ) -> Result<CodeRef, Error> {
        let isa = self.isa(opt)?;
        let compiled = link::compile_one(&*isa, &mut self.ctx, imports, 1);
        self.ctx.clear();
        one(link::link(
            &[compiled?],
            isa,
            self.placement,
            self.tools,
            name,
        )?)
    }
}

/// The one function of a batch of one.
pub(crate) fn one(mut codes: Vec<CodeRef>) -> Result<CodeRef, Error> {
    match (codes.pop(), codes.is_empty()) {
        (Some(code), true) => Ok(code),
        _ => Err(Error::Internal("a batch of one did not give one function")),
    }
}

/// The baseline tier's code for one program (see [`baseline_code`]).
///
/// # Errors
/// As [`compile_inc`].
pub(crate) fn baseline_one(
    program: &Program,
    shape: Shape,
    tools: DebugTools,
    name: Name<'_>,
) -> Result<CodeRef, Error> {
    one(baseline_code(
        1,
        |_| Ok(Cow::Borrowed(program)),
        shape,
        tools,
        name,
    )?)
}

/// The baseline tier's code for `count` programs (`program(i)` gives the `i`-th, or its error),
/// as `shape`, in one block of shared code memory, with their unwind info; `tools` are told
/// about it, function `i` called `name(i)`. The machine code is emitted into one buffer as the
/// programs come, so a batch never holds them all. Not callable by itself: the caller vouches
/// for its calls.
///
/// # Errors
/// The first error of `program`; otherwise as [`compile_inc`].
pub(crate) fn baseline_code<'p>(
    count: usize,
    mut program: impl FnMut(usize) -> Result<Cow<'p, Program>, Error>,
    shape: Shape,
    tools: DebugTools,
    name: Name<'_>,
) -> Result<Vec<CodeRef>, Error> {
    // The buffers of the last compile on this thread, emptied: most compiles allocate nothing.
    thread_local! {
        static BUFFERS: std::cell::Cell<baseline::Emitted> = std::cell::Cell::default();
    }
    let mut out = BUFFERS.take();
    out.code.clear();
    out.cfi.clear();
    let mut spans = Vec::with_capacity(count);
    for i in 0..count {
        let (start, cfi_start) = (out.code.len(), out.cfi.len());
        let p = program(i)?;
        out = baseline::emit(&p, shape, out);
        spans.push((start..out.code.len(), cfi_start..out.cfi.len()));
    }
    let functions: Vec<(&[u8], &[u8])> = spans
        .iter()
        .map(|(code, cfi)| (&out.code[code.clone()], &out.cfi[cfi.clone()]))
        .collect();
    // SAFETY: the emitter recorded each function's CFA program as it wrote the function's
    // prologue and epilogue (`baseline/cfi.rs`).
    let codes = unsafe { CodeRef::install(&functions)? };
    debug::announce(&codes, tools, name, || {
        let mut section = new_section(32 * codes.len());
        for (code, (_, cfi)) in codes.iter().zip(&functions) {
            push_fde(
                &mut section,
                code.entry().as_ptr() as usize,
                code.bytes().len(),
                cfi,
            );
        }
        end_section(&mut section);
        section
    });
    drop(functions);
    // A big batch's buffers are not kept.
    if out.code.capacity() <= 1 << 20 {
        BUFFERS.set(out);
    }
    Ok(codes)
}

/// Fills a function's IR, given the context to build it with and the host's frontend settings,
/// and returns what the IR's user functions `u0:k` are.
pub(crate) trait BuildIr:
    FnOnce(&mut IrFunction, &mut FunctionBuilderContext, TargetFrontendConfig) -> Vec<Import>
{
}

impl<F> BuildIr for F where
    F: FnOnce(&mut IrFunction, &mut FunctionBuilderContext, TargetFrontendConfig) -> Vec<Import>
{
}

/// What `Jit::install` builds for user IR: a copy of it, with no imports.
fn user_ir(src: &IrFunction) -> impl BuildIr + '_ {
    |func, _, _| {
        copy_user_ir(func, src);
        Vec::new()
    }
}

/// Copies user IR for Cranelift, every call out of the batch made absolute: fnjit's math and
/// libcall functions live in its own code, which a `colocated` (PC-relative) call may not reach
/// from code memory. Calls within the batch stay as the IR says: they land in the same mapping.
fn copy_user_ir(func: &mut IrFunction, src: &IrFunction) {
    func.clone_from(src);
    let names = src.params.user_named_funcs();
    for ext in func.dfg.ext_funcs.values_mut() {
        let in_batch = matches!(ext.name, cranelift_codegen::ir::ExternalName::User(r)
            if names[r].namespace == callees::BATCH);
        if !in_batch {
            ext.colocated = false;
        }
    }
}

/// What debuggers and profilers call a function of your IR: `fnjit_ir(<its name>)`.
fn ir_name(func: &IrFunction) -> String {
    format!("fnjit_ir({})", func.name)
}

/// What debuggers and profilers call a formula's code: `<kind>(<the formula>)`.
pub(crate) fn formula_name(kind: &str, formula: &str) -> String {
    format!("{kind}({formula})")
}

/// [`Error::Signature`] unless `found` is `expected`.
fn same_signature(found: &Signature, expected: &Signature) -> Result<(), Error> {
    if found == expected {
        Ok(())
    } else {
        Err(Error::Signature {
            expected: expected.to_string(),
            found: found.to_string(),
        })
    }
}

/// [`Error::Abi`] when the host's C ABI cannot pass `P -> R` (whose signature is `signature`) as
/// Cranelift does.
fn check_abi<P: Params, R: Results>(signature: &Signature) -> Result<(), Error> {
    match value::abi_refusal(P::TYPES, R::TYPES) {
        None => Ok(()),
        Some(reason) => Err(Error::Abi {
            signature: signature.to_string(),
            reason,
        }),
    }
}

/// Runs Cranelift's verifier, which the release build's settings leave off, so that invalid IR is
/// an error and never a panic deep in the compiler.
fn verify(func: &cranelift_codegen::ir::Function, isa: &dyn TargetIsa) -> Result<(), Error> {
    cranelift_codegen::verify_function(func, isa).map_err(|errors| Error::Verifier {
        errors: errors.to_string(),
    })
}
