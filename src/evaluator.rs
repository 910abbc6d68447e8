//! [`Evaluator<T>`]: a formula that is interpreted until compiling it pays, then compiled on a
//! background thread and run as machine code; interpreted for good where the OS forbids JIT code.

use crate::expr::Formula;
use crate::limits::EVALUATOR_THRESHOLD;
use crate::memory::CodeRef;
use crate::{Error, Jit, Number, Params};
use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{self, Sender};
use std::sync::{Arc, OnceLock};

/// Which tier an [`Evaluator`] runs in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Tier {
    /// Interpreting; machine code is not asked for yet, or is being compiled.
    Interpreting,
    /// Running machine code.
    Compiled,
    /// Interpreting for good: compiling failed (the OS forbids executable memory, for one), and
    /// this says why.
    Refused(String),
}

/// A formula evaluated by the interpreter until it has been evaluated
/// [`EVALUATOR_THRESHOLD`] times, then compiled on a background thread (no call waits for
/// Cranelift) and run as machine code from then on. Both tiers give identical results, bit for
/// bit. Where the OS refuses executable memory it keeps interpreting, says why once on stderr,
/// and [`Evaluator::tier`] tells it too. `Send + Sync`: evaluate from many threads at once.
///
/// ```
/// let f = fnjit::Evaluator::<f64>::new("x * sin(y) + 1", &["x", "y"])?;
/// let mut sum = 0.0;
/// for i in 0..5000 {
///     sum += f.eval(&[i as f64, 0.5])?;
/// }
/// assert!(sum > 0.0);
/// # Ok::<(), fnjit::Error>(())
/// ```
pub struct Evaluator<T: Number> {
    shared: Arc<Shared<T>>,
}

struct Shared<T: Number> {
    formula: Formula<T>,
    threshold: u64,
    calls: AtomicU64,
    asked: AtomicBool,
    /// Set once by the compiler thread: the code, or why there is none.
    code: OnceLock<Result<CodeRef, String>>,
}

impl<T: Number> Evaluator<T> {
    /// Parses `src` over `vars` (`vars[i]` is argument `i`), with the default threshold.
    ///
    /// # Errors
    /// As [`Formula::parse`].
    pub fn new(src: &str, vars: &[&str]) -> Result<Evaluator<T>, Error> {
        Self::with_threshold(src, vars, EVALUATOR_THRESHOLD)
    }

    /// As [`Evaluator::new`], compiling after `threshold` evaluations (0: on the first).
    ///
    /// # Errors
    /// As [`Formula::parse`].
    pub fn with_threshold(src: &str, vars: &[&str], threshold: u64) -> Result<Evaluator<T>, Error> {
        Ok(Evaluator {
            shared: Arc::new(Shared {
                formula: Formula::parse(src, vars)?,
                threshold,
                calls: AtomicU64::new(0),
                asked: AtomicBool::new(false),
                code: OnceLock::new(),
            }),
        })
    }

    /// The formula at `args` (`args[i]` is variable `i`), as [`Formula::eval`] and
    /// [`crate::Kernel::eval`] check their input.
    ///
    /// # Errors
    /// [`Error::Arguments`] if `args` does not hold one value per variable.
    #[inline]
    pub fn eval(&self, args: &[T]) -> Result<T, Error> {
        let shared = &*self.shared;
        match shared.code.get() {
            Some(Ok(code)) if args.len() == shared.formula.vars().len() => {
                // SAFETY: `code` is `compile_row`'s code for this formula: it reads one `T` per
                // variable from its pointer argument (`args`, of exactly that length, checked
                // here; aligned, as any `[T]`), touches no other memory, and computes as
                // `compile_formula`'s code does (guarded division; calls only to fnjit's math
                // functions, which do not unwind). A pointer crosses the C ABI as an i64 does.
                return Ok(unsafe { <(i64,)>::invoke::<T>(code.entry(), (args.as_ptr() as i64,)) });
            }
            Some(_) => {}
            None => {
                let calls = shared.calls.fetch_add(1, Ordering::Relaxed);
                if calls >= shared.threshold && !shared.asked.swap(true, Ordering::Relaxed) {
                    compile_in_background(Arc::clone(&self.shared));
                }
            }
        }
        shared.formula.eval(args)
    }

    /// Which tier runs now.
    pub fn tier(&self) -> Tier {
        match self.shared.code.get() {
            None => Tier::Interpreting,
            Some(Ok(_)) => Tier::Compiled,
            Some(Err(why)) => Tier::Refused(why.clone()),
        }
    }

    /// The formula.
    pub fn formula(&self) -> &Formula<T> {
        &self.shared.formula
    }
}

impl<T: Number> fmt::Debug for Evaluator<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Evaluator")
            .field("vars", &self.shared.formula.vars())
            .field("threshold", &self.shared.threshold)
            .field("tier", &self.tier())
            .finish_non_exhaustive()
    }
}

/// One compile job for the background thread, which owns one [`Jit`] for all of them.
type Job = Box<dyn FnOnce(&mut Option<Result<Jit, Error>>) + Send>;

/// Hands the formula to the process's compiler thread (started on first use). Its result lands
/// in `shared.code`; until then, and for good if compiling fails, calls interpret.
fn compile_in_background<T: Number>(shared: Arc<Shared<T>>) {
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
                Ok(jit) => jit.compile_row(&shared.formula).map_err(|e| e.to_string()),
                Err(e) => Err(e.to_string()),
            };
            settle(&shared, result);
        })
    };
    match sender {
        Some(sender) => {
            if let Err(mpsc::SendError(job)) = sender.send(job) {
                drop(job);
                settle(&shared, Err("fnjit's compiler thread has stopped".into()));
            }
        }
        None => settle(
            &shared,
            Err("the OS refused fnjit a compiler thread".into()),
        ),
    }
}

/// Records the compiler's result; a refusal is said once per process on stderr.
fn settle<T: Number>(shared: &Shared<T>, result: Result<CodeRef, String>) {
    static SAID: AtomicBool = AtomicBool::new(false);
    if let Err(why) = &result
        && !SAID.swap(true, Ordering::Relaxed)
    {
        eprintln!("fnjit: an Evaluator keeps interpreting: {why}");
    }
    let _ = shared.code.set(result);
}
