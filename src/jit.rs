//! Compiling with Cranelift into executable memory: [`Jit`], [`JitFunction`], [`compile_inc`],
//! [`compile_expr`].

use crate::Error;
use crate::code_memory::{FnRef, I32Function, Placement};
use crate::expr::{Expr, build_expr};
use crate::isa::{Opt, check_host, isa_for};
use crate::jit_memory::CodeSlot;
use crate::{ir, perf_map};
use cranelift_codegen::Context;
use cranelift_codegen::ir::Function;
use cranelift_codegen::isa::OwnedTargetIsa;
use cranelift_frontend::FunctionBuilderContext;
use cranelift_jit::{JITBuilder, JITModule};
use cranelift_module::{Linkage, Module, ModuleError, default_libcall_names};
use std::io;
use std::sync::OnceLock;
use target_lexicon::Triple;

/// A reusable compiler for the host: keeps the ISA and Cranelift's contexts between functions.
pub struct Jit {
    isa: OwnedTargetIsa,
    /// The optimizing backend for expressions, built on first use.
    expr_isa: Option<OwnedTargetIsa>,
    ctx: Context,
    fctx: FunctionBuilderContext,
    placement: Placement,
    perf_map: bool,
}

/// A function JIT-compiled by Cranelift, in executable memory that it frees when dropped.
///
/// Everything that reaches the code borrows the `JitFunction`, so nothing callable outlives it:
///
/// ```
/// let f = fnjit::compile_inc()?;
/// let inc = |x| f.call(x);
/// let code = f.code();
/// assert_eq!((inc(41), code.last()), (42, Some(&0xC3)));
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
#[derive(Debug)]
pub struct JitFunction {
    func: I32Function,
    ir: Ir,
}

/// The IR a function was compiled from, printed as CLIF text only when someone asks: printing
/// costs as much as a tenth of compiling.
#[derive(Debug)]
struct Ir {
    func: Function,
    text: OnceLock<String>,
}

impl Ir {
    fn new(func: &Function) -> Self {
        Ir {
            func: func.clone(),
            text: OnceLock::new(),
        }
    }

    fn text(&self) -> &str {
        self.text.get_or_init(|| self.func.display().to_string())
    }
}

/// Compiles `fn(i32) -> i32 { x + 1 }` for the host (x86-64 System V) with Cranelift.
///
/// # Errors
/// [`Error::UnsupportedHost`] on any other host; [`Error::ExecRefused`] when the OS forbids
/// executable memory; [`Error::MapFailed`] or [`Error::Cranelift`] otherwise.
pub fn compile_inc() -> Result<JitFunction, Error> {
    Jit::new()?.compile_inc()
}

/// Compiles the expression `src` (see [`crate::expr`]) for the host into `fn(i32) -> i32`.
///
/// # Errors
/// [`Error::Syntax`] when `src` is not an expression; otherwise as [`compile_inc`].
pub fn compile_expr(src: &str) -> Result<JitFunction, Error> {
    Jit::new()?.compile_expr(src)
}

impl Jit {
    /// A compiler for the host, placing code near the program's own code.
    ///
    /// # Errors
    /// [`Error::UnsupportedHost`] unless the host is x86-64 with the System V ABI.
    pub fn new() -> Result<Jit, Error> {
        Self::with_placement(Placement::Near)
    }

    /// A compiler for the host that places code as `placement` says.
    ///
    /// # Errors
    /// As [`Jit::new`].
    pub fn with_placement(placement: Placement) -> Result<Jit, Error> {
        let host = Triple::host();
        check_host(&host)?;
        Ok(Jit {
            isa: isa_for(host, Opt::Fast)?,
            expr_isa: None,
            ctx: Context::new(),
            fctx: FunctionBuilderContext::new(),
            placement,
            perf_map: perf_map::enabled_by_env(),
        })
    }

    /// Whether each function compiled from now on gets a line in `/tmp/perf-<pid>.map`, so that
    /// `perf report` can name it (see [`crate::perf_map`]). Starts as `FNJIT_PERF_MAP=1` says.
    pub fn set_perf_map(&mut self, on: bool) -> &mut Self {
        self.perf_map = on;
        self
    }

    /// Compiles `x + 1` (see [`compile_inc`]).
    ///
    /// # Errors
    /// As [`compile_inc`].
    pub fn compile_inc(&mut self) -> Result<JitFunction, Error> {
        ir::build_inc(
            &mut self.ctx.func,
            &mut self.fctx,
            self.isa.frontend_config(),
        );
        self.compile_built(self.isa.clone(), "fnjit_inc")
    }

    /// Compiles the expression `src` (see [`compile_expr`]).
    ///
    /// # Errors
    /// As [`compile_expr`].
    pub fn compile_expr(&mut self, src: &str) -> Result<JitFunction, Error> {
        let expr = Expr::parse(src)?;
        let isa = match &self.expr_isa {
            Some(isa) => isa.clone(),
            None => self
                .expr_isa
                .insert(isa_for(Triple::host(), Opt::Speed)?)
                .clone(),
        };
        build_expr(
            &mut self.ctx.func,
            &mut self.fctx,
            isa.frontend_config(),
            &expr,
        );
        self.compile_built(isa, "fnjit_expr")
    }

    /// Compiles the function in `self.ctx.func`, which must have the signature
    /// [`ir::i32_to_i32`] in the System V calling convention, with `isa` (one of this `Jit`'s);
    /// `name` is for profilers.
    fn compile_built(&mut self, isa: OwnedTargetIsa, name: &str) -> Result<JitFunction, Error> {
        let ir = Ir::new(&self.ctx.func);
        let slot = CodeSlot::default();
        let mut builder = JITBuilder::with_isa(isa, default_libcall_names());
        builder.memory_provider(slot.provider(self.placement));
        let mut module = JITModule::new(builder);
        let compiled = define_and_finalize(&mut module, &mut self.ctx, name);
        module.clear_context(&mut self.ctx);
        // Whatever the module did, the slot holds the code or the error that says why not.
        let code = match (slot.take(), compiled) {
            (Some(result), _) => result?,
            (None, Err(e)) => return Err(e),
            (None, Ok(())) => {
                return Err(ModuleError::Allocation {
                    err: io::Error::other("cranelift-jit finalized a module without its code"),
                }
                .into());
            }
        };
        // SAFETY: the code was compiled by Cranelift for x86-64 from IR whose signature is
        // `i32_to_i32(SystemV)`, i.e. `extern "C" fn(i32) -> i32` on this host (checked by
        // `check_host`); the IR has no loads, stores, calls or traps, so it returns for every
        // input and touches nothing but its frame.
        let func = unsafe { I32Function::new(code) };
        if self.perf_map {
            perf_map::record(func.code().bytes(), name);
        }
        Ok(JitFunction { func, ir })
    }
}

/// Compiles `ctx.func` into `module` as `name` and makes it executable. (cranelift-jit writes
/// its own perf-map line under that name when running under `perf record`, which sets
/// PERF_BUILDID_DIR: an anonymous function would show up there as `.Lfn0`.)
fn define_and_finalize(module: &mut JITModule, ctx: &mut Context, name: &str) -> Result<(), Error> {
    let id = module.declare_function(name, Linkage::Local, &ctx.func.signature)?;
    module.define_function(id, ctx)?;
    module.finalize_definitions()?;
    Ok(())
}

impl JitFunction {
    /// Calls the compiled function.
    #[inline]
    pub fn call(&self, x: i32) -> i32 {
        self.func.call(x)
    }

    /// A copyable function pointer to the compiled function that cannot outlive it.
    pub fn as_fn(&self) -> FnRef<'_> {
        self.func.as_fn()
    }

    /// The machine code as it lies in executable memory: `code().as_ptr()` is the entry point.
    pub fn code(&self) -> &[u8] {
        self.func.code().bytes()
    }

    /// The Cranelift IR (CLIF text) the function was compiled from.
    pub fn ir(&self) -> &str {
        self.ir.text()
    }

    /// Whether the code lies within 2 GiB of the program's own code.
    pub fn is_near(&self) -> bool {
        self.func.code().is_near()
    }
}
