//! [`Evaluator<T>`] and [`TypedEvaluator`]: a formula that is interpreted until compiling it
//! pays, then compiled by the baseline tier on the calling thread (a few microseconds), then, if
//! it keeps being evaluated, by Cranelift on a background thread; interpreted for good where the
//! OS forbids JIT code. Both are one [`Tiers`] machine over what they evaluate ([`Evaluated`]).

use crate::baseline::Shape;
use crate::debug::DebugTools;
use crate::expr::{Args, Formula, Program, Ty, TypedFormula, Value};
use crate::jit::{baseline_one, formula_name};
use crate::limits::{EVALUATOR_OPTIMIZE_THRESHOLD, EVALUATOR_THRESHOLD};
use crate::memory::CodeRef;
use crate::{Error, Jit, Number, Params};
use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{self, Sender};
use std::sync::{Arc, OnceLock};

/// Which tier an [`Evaluator`] runs in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Tier {
    /// Interpreting: machine code is not asked for yet.
    Interpreting,
    /// Running the baseline tier's code (the optimized code may be compiling meanwhile).
    Baseline,
    /// Running Cranelift's optimized code.
    Optimized,
    /// Interpreting for good: compiling failed (the OS forbids executable memory, for one), and
    /// this says why.
    Refused(String),
}

/// A formula that runs in three tiers, each giving the interpreter's results bit for bit:
/// - interpreted for its first [`EVALUATOR_THRESHOLD`] evaluations;
/// - then compiled by the baseline tier, on the calling thread, in a few microseconds;
/// - after [`EVALUATOR_OPTIMIZE_THRESHOLD`] evaluations, compiled by Cranelift on a background
///   thread (no call waits for it), and run as optimized code from then on.
///
/// Where the OS refuses executable memory it keeps interpreting, says why once on stderr, and
/// [`Evaluator::tier`] tells it too. `Send + Sync`: evaluate from many threads at once.
///
/// On Windows there is no baseline tier yet ([`crate::Strategy::Baseline`]): a formula is
/// interpreted until the second threshold, then until its optimized code is there.
///
/// ```
/// use fnjit::{Evaluator, Tier};
/// let f = Evaluator::<f64>::new("x * sin(y) + 1", &["x", "y"])?;
/// let mut sum = 0.0;
/// for i in 0..5000 {
///     sum += f.eval(&[i as f64, 0.5])?;
/// }
/// assert!(sum > 0.0);
/// let expected = if cfg!(windows) { Tier::Interpreting } else { Tier::Baseline };
/// assert_eq!(f.tier(), expected);
/// # Ok::<(), fnjit::Error>(())
/// ```
pub struct Evaluator<T: Number> {
    tiers: Tiers<Formula<T>>,
}

/// What an evaluator evaluates: a formula whose programs read their arguments from memory
/// (`Args::Memory`), with its interpreter as the tier below.
trait Evaluated: Send + Sync + Sized + 'static {
    type Arg: Copy;
    type Out;

    fn program(&self) -> &Program;

    fn describe(&self) -> String;

    /// The interpreter, which checks `args`.
    fn interpret(&self, args: &[Self::Arg]) -> Result<Self::Out, Error>;

    /// Whether code may be called with `args`: one per variable, each of its type.
    fn fits(&self, args: &[Self::Arg]) -> bool;

    /// Calls `code` at `args`.
    ///
    /// # Safety
    /// `code` is compiled for `self.program()` reading its arguments from memory
    /// (`Args::Memory`), under the contract of `Function::new`, and `self.fits(args)`.
    unsafe fn run(&self, code: &CodeRef, args: &[Self::Arg]) -> Self::Out;
}

/// The tiers of one formula, shared with the compiler thread.
struct Tiers<F: Evaluated> {
    shared: Arc<Shared<F>>,
}

struct Shared<F: Evaluated> {
    formula: F,
    /// Evaluations before the baseline compile, and before the optimizing one.
    baseline_at: u64,
    optimize_at: u64,
    calls: AtomicU64,
    baseline_asked: AtomicBool,
    optimize_asked: AtomicBool,
    /// Set once each: the code, or why there is none.
    baseline: OnceLock<Result<CodeRef, String>>,
    optimized: OnceLock<Result<CodeRef, String>>,
}

impl<T: Number> Evaluator<T> {
    /// Parses `src` over `vars` (`vars[i]` is argument `i`), with the default thresholds.
    ///
    /// # Errors
    /// As [`Formula::parse`].
    pub fn new(src: &str, vars: &[&str]) -> Result<Evaluator<T>, Error> {
        Self::with_thresholds(src, vars, EVALUATOR_THRESHOLD, EVALUATOR_OPTIMIZE_THRESHOLD)
    }

    /// As [`Evaluator::new`], compiling the baseline tier after `threshold` evaluations (0: on
    /// the first); the optimizing compile still waits for [`EVALUATOR_OPTIMIZE_THRESHOLD`].
    ///
    /// # Errors
    /// As [`Formula::parse`].
    pub fn with_threshold(src: &str, vars: &[&str], threshold: u64) -> Result<Evaluator<T>, Error> {
        Self::with_thresholds(src, vars, threshold, EVALUATOR_OPTIMIZE_THRESHOLD)
    }

    /// As [`Evaluator::new`], compiling the baseline tier after `baseline` evaluations and
    /// asking for optimized code after `optimize` (counted from the first evaluation; it is asked
    /// no earlier than the evaluation after the baseline compile). `u64::MAX` never compiles.
    ///
    /// ```
    /// use fnjit::{Evaluator, Tier};
    /// let e = Evaluator::<i64>::with_thresholds("a * b + 1", &["a", "b"], 0, u64::MAX)?;
    /// assert_eq!(e.eval(&[6, 7])?, 43);
    /// let expected = if cfg!(windows) { Tier::Interpreting } else { Tier::Baseline };
    /// assert_eq!(e.tier(), expected); // and it stays there
    /// # Ok::<(), fnjit::Error>(())
    /// ```
    ///
    /// # Errors
    /// As [`Formula::parse`].
    pub fn with_thresholds(
        src: &str,
        vars: &[&str],
        baseline: u64,
        optimize: u64,
    ) -> Result<Evaluator<T>, Error> {
        Ok(Evaluator {
            tiers: Tiers::new(Formula::parse(src, vars)?, baseline, optimize),
        })
    }

    /// The formula at `args` (`args[i]` is variable `i`), as [`Formula::eval`] and
    /// [`crate::Kernel::eval`] check their input.
    ///
    /// # Errors
    /// [`Error::Arguments`] if `args` does not hold one value per variable.
    #[inline]
    pub fn eval(&self, args: &[T]) -> Result<T, Error> {
        self.tiers.eval(args)
    }

    /// Which tier runs now.
    pub fn tier(&self) -> Tier {
        self.tiers.tier()
    }

    /// The formula.
    pub fn formula(&self) -> &Formula<T> {
        &self.tiers.shared.formula
    }
}

/// An [`Evaluator`] of a [`TypedFormula`]: the same tiers over arguments of mixed types, each
/// giving the interpreter's results bit for bit: interpreted, then compiled by the baseline tier
/// (on hosts that have it: not Windows yet), then by Cranelift on a background thread, as an
/// `Evaluator` is, whatever types the formula mixes.
///
/// ```
/// use fnjit::{Tier, Ty, TypedEvaluator, TypedFormula, Value};
/// let f = TypedFormula::parse("where(x > 0, log(x), 0) + n", &[("x", Ty::F64), ("n", Ty::I32)])?;
/// let e = TypedEvaluator::with_thresholds(f, 0, 0);
/// assert_eq!(e.eval(&[Value::F64(-1.0), Value::I32(2)])?, Value::F64(2.0));
/// while e.tier() == Tier::Interpreting {
///     e.eval(&[Value::F64(1.0), Value::I32(2)])?; // until the compiler thread is done
/// }
/// assert_eq!(e.eval(&[Value::F64(1.0), Value::I32(2)])?, Value::F64(2.0));
/// # Ok::<(), fnjit::Error>(())
/// ```
pub struct TypedEvaluator {
    tiers: Tiers<TypedFormula>,
}

impl TypedEvaluator {
    /// `formula` with the default thresholds.
    pub fn new(formula: TypedFormula) -> TypedEvaluator {
        Self::with_thresholds(formula, EVALUATOR_THRESHOLD, EVALUATOR_OPTIMIZE_THRESHOLD)
    }

    /// As [`Evaluator::with_thresholds`]: the baseline compile after `baseline` evaluations (for a
    /// formula of one type), the optimizing one asked for after `optimize`.
    pub fn with_thresholds(formula: TypedFormula, baseline: u64, optimize: u64) -> TypedEvaluator {
        TypedEvaluator {
            tiers: Tiers::new(formula, baseline, optimize),
        }
    }

    /// The formula at `args` (`args[i]` for variable `i`, of its type), as
    /// [`TypedFormula::eval`] checks them.
    ///
    /// # Errors
    /// As [`TypedFormula::eval`].
    #[inline]
    pub fn eval(&self, args: &[Value]) -> Result<Value, Error> {
        self.tiers.eval(args)
    }

    /// Which tier runs now.
    pub fn tier(&self) -> Tier {
        self.tiers.tier()
    }

    /// The formula.
    pub fn formula(&self) -> &TypedFormula {
        &self.tiers.shared.formula
    }
}

impl fmt::Debug for TypedEvaluator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TypedEvaluator")
            .field("vars", &self.formula().vars())
            .field("tier", &self.tier())
            .finish_non_exhaustive()
    }
}

impl<F: Evaluated> Tiers<F> {
    fn new(formula: F, baseline: u64, optimize: u64) -> Tiers<F> {
        Tiers {
            shared: Arc::new(Shared {
                formula,
                baseline_at: baseline,
                optimize_at: optimize,
                calls: AtomicU64::new(0),
                baseline_asked: AtomicBool::new(false),
                optimize_asked: AtomicBool::new(false),
                baseline: OnceLock::new(),
                optimized: OnceLock::new(),
            }),
        }
    }

    #[inline]
    fn eval(&self, args: &[F::Arg]) -> Result<F::Out, Error> {
        let shared = &*self.shared;
        if shared.formula.fits(args) {
            if let Some(Ok(code)) = shared.optimized.get() {
                // SAFETY: `code` is `compile_row`'s code for this formula's program: it reads
                // its arguments from memory (`Args::Memory`), which `fits` checked `args` holds,
                // touches no other memory but its frame, and computes as `compile_formula`'s
                // code does (guarded division; calls only to fnjit's math functions, which do
                // not unwind).
                return Ok(unsafe { shared.formula.run(code, args) });
            }
            match shared.baseline.get() {
                Some(Ok(code)) => {
                    if !shared.optimize_asked.load(Ordering::Relaxed) {
                        let calls = count(&shared.calls);
                        if calls >= shared.optimize_at
                            && !shared.optimize_asked.swap(true, Ordering::Relaxed)
                        {
                            compile_in_background(Arc::clone(&self.shared));
                        }
                    }
                    // SAFETY: `code` is the baseline tier's code for this formula with its
                    // arguments in memory (`Args::Memory`), under the same contract as above.
                    return Ok(unsafe { shared.formula.run(code, args) });
                }
                Some(Err(_)) => {}
                None => {
                    let calls = count(&shared.calls);
                    if !crate::baseline::ON_HOST {
                        // No baseline tier here (Windows): interpreted until optimized.
                        if calls >= shared.optimize_at
                            && !shared.optimize_asked.swap(true, Ordering::Relaxed)
                        {
                            compile_in_background(Arc::clone(&self.shared));
                        }
                    } else if calls >= shared.baseline_at
                        && !shared.baseline_asked.swap(true, Ordering::Relaxed)
                    {
                        compile_baseline(shared);
                        if let Some(Ok(code)) = shared.baseline.get() {
                            // SAFETY: as above, for the baseline tier's code.
                            return Ok(unsafe { shared.formula.run(code, args) });
                        }
                    }
                }
            }
        }
        shared.formula.interpret(args)
    }

    fn tier(&self) -> Tier {
        let shared = &*self.shared;
        match (shared.baseline.get(), shared.optimized.get()) {
            (_, Some(Ok(_))) => Tier::Optimized,
            (Some(Ok(_)), _) => Tier::Baseline,
            // No baseline tier (Windows): the optimizing compile's refusal is the one.
            (Some(Err(why)), _) | (None, Some(Err(why))) => Tier::Refused(why.clone()),
            (None, None) => Tier::Interpreting,
        }
    }
}

/// Counts an evaluation and returns the count before it. A load and a store, not an atomic
/// increment (which costs as much as a baseline call of a small formula): evaluations on several
/// threads at once may be counted once, which only delays the next tier a little.
#[inline]
fn count(calls: &AtomicU64) -> u64 {
    let before = calls.load(Ordering::Relaxed);
    calls.store(before + 1, Ordering::Relaxed);
    before
}

impl<T: Number> Evaluated for Formula<T> {
    type Arg = T;
    type Out = T;

    fn program(&self) -> &Program {
        Formula::program(self)
    }

    fn describe(&self) -> String {
        Formula::describe(self)
    }

    fn interpret(&self, args: &[T]) -> Result<T, Error> {
        self.eval(args)
    }

    fn fits(&self, args: &[T]) -> bool {
        args.len() == self.vars().len()
    }

    #[inline]
    unsafe fn run(&self, code: &CodeRef, args: &[T]) -> T {
        // SAFETY: as the caller guarantees: a single-type program reads a `[T]`. A pointer
        // crosses the C ABI as an i64 does.
        unsafe { <(i64,)>::invoke::<T>(code.entry(), (args.as_ptr() as i64,)) }
    }
}

impl Evaluated for TypedFormula {
    type Arg = Value;
    type Out = Value;

    fn program(&self) -> &Program {
        TypedFormula::program(self)
    }

    fn describe(&self) -> String {
        TypedFormula::describe(self)
    }

    fn interpret(&self, args: &[Value]) -> Result<Value, Error> {
        self.eval(args)
    }

    fn fits(&self, args: &[Value]) -> bool {
        args.len() == self.var_types().len()
            && args.iter().zip(self.var_types()).all(|(a, &t)| a.ty() == t)
    }

    unsafe fn run(&self, code: &CodeRef, args: &[Value]) -> Value {
        /// Variables packed on the stack up to this many words.
        const ON_STACK: usize = 16;
        let slot = self.program().arg_slot();
        let words = (args.len() * slot).div_ceil(8);
        let mut stack = [0u64; ON_STACK];
        let mut heap = Vec::new();
        let memory: &mut [u64] = if words <= ON_STACK {
            &mut stack[..words]
        } else {
            heap.resize(words, 0);
            &mut heap
        };
        pack(args, slot, memory);
        let at = (memory.as_ptr() as i64,);
        let entry = code.entry();
        // SAFETY: as the caller guarantees; `memory` holds each variable, of its type, at `i`
        // times `arg_slot` bytes, as `Args::Memory` reads it, and the result is returned as
        // the program's type.
        unsafe {
            match self.ty() {
                Ty::Bool => Value::Bool(<(i64,)>::invoke::<bool>(entry, at)),
                Ty::I32 => Value::I32(<(i64,)>::invoke::<i32>(entry, at)),
                Ty::I64 => Value::I64(<(i64,)>::invoke::<i64>(entry, at)),
                Ty::F32 => Value::F32(<(i64,)>::invoke::<f32>(entry, at)),
                Ty::F64 => Value::F64(<(i64,)>::invoke::<f64>(entry, at)),
            }
        }
    }
}

/// Writes `args` into `memory` as code reads them (`Args::Memory`): value `i` in its type's
/// width, in the host's byte order, at `i * slot` bytes.
fn pack(args: &[Value], slot: usize, memory: &mut [u64]) {
    for (i, &arg) in args.iter().enumerate() {
        let mut bytes = [0u8; 8];
        let width = match arg {
            Value::Bool(b) => {
                bytes[0] = u8::from(b);
                1
            }
            Value::I32(x) => {
                bytes[..4].copy_from_slice(&x.to_ne_bytes());
                4
            }
            Value::F32(x) => {
                bytes[..4].copy_from_slice(&x.to_ne_bytes());
                4
            }
            Value::I64(x) => {
                bytes.copy_from_slice(&x.to_ne_bytes());
                8
            }
            Value::F64(x) => {
                bytes.copy_from_slice(&x.to_ne_bytes());
                8
            }
        };
        let (word, within) = (i * slot / 8, i * slot % 8);
        if let Some(w) = memory.get_mut(word) {
            let mut current = w.to_ne_bytes();
            let end = (within + width).min(8);
            current[within..end].copy_from_slice(&bytes[..end - within]);
            *w = u64::from_ne_bytes(current);
        }
    }
}

impl<T: Number> fmt::Debug for Evaluator<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Evaluator")
            .field("vars", &self.formula().vars())
            .field("baseline_at", &self.tiers.shared.baseline_at)
            .field("optimize_at", &self.tiers.shared.optimize_at)
            .field("tier", &self.tier())
            .finish_non_exhaustive()
    }
}

/// Compiles the baseline tier's code on this thread, into `shared.baseline`.
fn compile_baseline<F: Evaluated>(shared: &Shared<F>) {
    let result = crate::isa::check_host(&target_lexicon::Triple::host())
        .and_then(|()| {
            baseline_one(
                shared.formula.program(),
                Shape::Formula(Args::Memory),
                DebugTools::from_env(),
                &|_| formula_name("fnjit_evaluator", &shared.formula.describe()),
            )
        })
        .map_err(|e| e.to_string());
    settle(&shared.baseline, result);
}

/// One compile job for the background thread, which owns one [`Jit`] for all of them.
type Job = Box<dyn FnOnce(&mut Option<Result<Jit, Error>>) + Send>;

/// Hands the formula to the process's compiler thread (started on first use). Its result lands
/// in `shared.code`; until then, and for good if compiling fails, calls interpret.
fn compile_in_background<F: Evaluated>(shared: Arc<Shared<F>>) {
    static COMPILER: OnceLock<Option<Sender<Job>>> = OnceLock::new();
    let sender = COMPILER.get_or_init(|| {
        let (send, receive) = mpsc::channel::<Job>();
        let spawned = std::thread::Builder::new()
            .name("fnjit-compiler".into())
            .spawn(move || {
                let mut jit = None;
                for job in receive {
                    job(&mut jit);
                }
            });
        spawned.ok().map(|_| send)
    });
    let job: Job = {
        let shared = Arc::clone(&shared);
        Box::new(move |jit| {
            let result = match jit.get_or_insert_with(Jit::new) {
                Ok(jit) => jit
                    .compile_row(shared.formula.program(), &shared.formula.describe())
                    .map_err(|e| e.to_string()),
                Err(e) => Err(e.to_string()),
            };
            settle(&shared.optimized, result);
        })
    };
    match sender {
        Some(sender) => {
            if let Err(mpsc::SendError(job)) = sender.send(job) {
                drop(job);
                settle(
                    &shared.optimized,
                    Err("fnjit's compiler thread has stopped".into()),
                );
            }
        }
        None => settle(
            &shared.optimized,
            Err("the OS refused fnjit a compiler thread".into()),
        ),
    }
}

/// Records a compiler's result; a refusal is said once per process on stderr.
fn settle(slot: &OnceLock<Result<CodeRef, String>>, result: Result<CodeRef, String>) {
    static SAID: AtomicBool = AtomicBool::new(false);
    if let Err(why) = &result
        && !SAID.swap(true, Ordering::Relaxed)
    {
        eprintln!("fnjit: an Evaluator keeps interpreting: {why}");
    }
    let _ = slot.set(result);
}
