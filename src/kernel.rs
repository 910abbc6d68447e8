//! Kernels: a formula compiled into a loop over columns, `out[i] = formula(columns[0][i], …)`,
//! on vectors where Cranelift has them (see `expr/vector.rs`), on every core with `eval_par`.

use crate::baseline::Shape;
use crate::error::Error;
use crate::expr::{
    Formula, Number, Program, Semantics, Ty, TypedFormula, build_kernel, kernel_lanes,
};
use crate::func::{Ir, Params};
use crate::isa::OptLevel;
use crate::jit::{Jit, baseline_one, formula_name};
use crate::memory::CodeRef;
use crate::parallel;
use std::fmt;
use std::marker::PhantomData;
use std::sync::{Arc, Mutex};

/// Below this many rows `eval_par` runs on the calling thread. At 10^4 rows the pool's warm
/// threads already pay (docs/performance.md, "Every core"); below, it is not measured.
const PAR_MIN_ROWS: usize = 10_000;

/// A formula compiled into a loop over columns of `T`. Like a [`crate::Function`], it is
/// `Send + Sync`, lives in W^X memory and frees it on drop.
///
/// ```
/// let k = fnjit::compile_kernel::<f64>("x*y + 1", &["x", "y"])?;
/// let (x, y) = ([1.0, 2.0, 3.0], [10.0, 20.0, 30.0]);
/// let mut out = [0.0; 3];
/// k.eval(&[&x, &y], &mut out)?;
/// assert_eq!(out, [11.0, 41.0, 91.0]);
/// # Ok::<(), fnjit::Error>(())
/// ```
pub struct Kernel<T> {
    code: CodeRef,
    /// `None` for the baseline tier, which builds no IR.
    ir: Option<Arc<Ir>>,
    vars: usize,
    lanes: u32,
    ty: PhantomData<fn() -> T>,
}

/// Compiles the formula `src` over the variables `vars` (see [`crate::compile_formula`]; any
/// number of variables) into a [`Kernel`].
///
/// # Errors
/// As [`crate::compile_formula`].
pub fn compile_kernel<T: Number>(src: &str, vars: &[&str]) -> Result<Kernel<T>, Error> {
    Jit::new()?.compile_kernel(&Formula::<T>::parse(src, vars)?)
}

/// How many vectors a kernel's loop computes per iteration.
const KERNEL_UNROLL: u32 = 2;

impl Jit {
    /// Compiles a parsed formula into a kernel over columns (see [`compile_kernel`]).
    ///
    /// # Errors
    /// As [`crate::compile_inc`].
    pub fn compile_kernel<T: Number>(&mut self, formula: &Formula<T>) -> Result<Kernel<T>, Error> {
        let program = formula.program();
        if self.baseline_tier() {
            let name = |_| formula_name("fnjit_kernel", &formula.describe());
            let code = baseline_one(program, Shape::Kernel, self.debug_tools(), &name)?;
            // SAFETY: the baseline emitter (`baseline/`) wrote the loop of `expr/vector.rs`'s
            // signature for this formula, one row at a time: it loads one column pointer per
            // variable from its first argument, reads row `i` of each for `i` in [0, len), writes
            // row `i` of its second argument, and otherwise computes as formulas do (guarded
            // division; calls only to fnjit's math functions, which touch no memory and never
            // unwind) in its own frame. It returns after `len` rows.
            return Ok(unsafe { Kernel::new(code, None, formula.vars().len(), 1) });
        }
        let (code, ir, lanes) = self.compile_loop(program, &formula.describe())?;
        // SAFETY: `build_kernel` built the loop of `expr/vector.rs` for this formula: it loads
        // one column pointer per variable from its first argument, reads rows [0, len) of each
        // column, writes rows [0, len) of its second argument, and otherwise computes as
        // formulas do (guarded division; calls only to fnjit's math functions, which touch no
        // memory and never unwind). It returns after `len` rows.
        Ok(unsafe { Kernel::new(code, Some(ir), formula.vars().len(), lanes) })
    }
}

impl Jit {
    /// `program`'s loop over columns (`build_kernel`), named `text` for profilers, compiled with
    /// Cranelift: on vectors first, and should Cranelift lack a vector lowering on this CPU, the
    /// scalar loop. Returns the code, its IR and how many rows a vector holds. Not callable by
    /// itself: the caller wraps it in its kernel type.
    fn compile_loop(
        &mut self,
        program: &Program,
        text: &str,
    ) -> Result<(CodeRef, Arc<Ir>, u32), Error> {
        let mut attempt = |unroll| {
            let name = |_| formula_name("fnjit_kernel", text);
            self.compile_built(OptLevel::Speed, &name, |func, fctx, target| {
                build_kernel(func, fctx, target, program, unroll)
            })
        };
        let (result, lanes) = match attempt(KERNEL_UNROLL) {
            Err(Error::Cranelift(_)) => (attempt(0), 1),
            other => (other, kernel_lanes(program)),
        };
        let (code, ir) = result?;
        Ok((code, ir, lanes))
    }
}

impl<T: Number> Kernel<T> {
    /// Wraps `code`, the loop compiled from `ir`.
    ///
    /// # Safety
    /// The first byte of `code` must be the entry of `extern "C" fn(columns: i64, out: i64,
    /// len: i64) -> i64` under the host's C ABI that reads `vars` pointers from `columns`, reads
    /// rows `[0, len)` of `T` from each, writes rows `[0, len)` of `T` to `out`, touches no
    /// other memory but its frame, returns, and does not unwind.
    unsafe fn new(code: CodeRef, ir: Option<Arc<Ir>>, vars: usize, lanes: u32) -> Kernel<T> {
        Kernel {
            code,
            ir,
            vars,
            lanes,
            ty: PhantomData,
        }
    }

    /// Computes `out[i] = formula(columns[0][i], …, columns[n-1][i])` for every row `i`.
    ///
    /// # Errors
    /// [`Error::Shape`] unless there is one column per variable, each as long as `out`.
    pub fn eval(&self, columns: &[&[T]], out: &mut [T]) -> Result<(), Error> {
        self.check(columns, out.len())?;
        // SAFETY: checked just above; `out` is `out.len()` values, writable.
        unsafe { self.run(columns, out.as_mut_ptr(), out.len()) };
        Ok(())
    }

    /// As [`Kernel::eval`], into a new vector of `rows` values (each column must have `rows`
    /// rows). Nothing writes its memory before the loop does, so it costs no extra pass.
    #[cfg(feature = "arrow")]
    pub(crate) fn eval_new(&self, columns: &[&[T]], rows: usize) -> Result<Vec<T>, Error> {
        self.check(columns, rows)?;
        let mut out = Vec::with_capacity(rows);
        // SAFETY: checked just above; `out` has room for `rows` values. The loop writes every
        // row in [0, rows) (what `new` vouched for) before `set_len` makes them the vector's.
        unsafe {
            self.run(columns, out.as_mut_ptr(), rows);
            out.set_len(rows);
        }
        Ok(out)
    }

    /// As [`Kernel::eval`], with the rows split over every core: the same result.
    ///
    /// # Errors
    /// As [`Kernel::eval`].
    pub fn eval_par(&self, columns: &[&[T]], out: &mut [T]) -> Result<(), Error> {
        self.check(columns, out.len())?;
        let rows = out.len();
        // The row count first: the first call across the threshold builds the pool, which starts
        // its threads.
        let threads = match rows {
            0..PAR_MIN_ROWS => 1,
            _ => parallel::cores(),
        };
        if threads < 2 {
            // SAFETY: checked above; `out` is `out.len()` values, writable.
            unsafe { self.run(columns, out.as_mut_ptr(), out.len()) };
            return Ok(());
        }
        let chunk = rows.div_ceil(threads).next_multiple_of(64);
        // One job a chunk: its first row and its rows of `out`, taken by whoever runs it.
        type Job<'o, T> = Mutex<Option<(usize, &'o mut [T])>>;
        let jobs: Vec<Job<'_, T>> = out
            .chunks_mut(chunk)
            .enumerate()
            .map(|(c, out)| Mutex::new(Some((c * chunk, out))))
            .collect();
        let run = |job: &Job<'_, T>| {
            let taken = job.lock().ok().and_then(|mut job| job.take());
            if let Some((start, out)) = taken {
                let columns: Vec<&[T]> = columns
                    .iter()
                    .map(|col| &col[start..start + out.len()])
                    .collect();
                // SAFETY: every column had `rows` rows (checked above), so each sub-slice has
                // exactly `out.len()` rows, and there is one per variable.
                unsafe { self.run(&columns, out.as_mut_ptr(), out.len()) };
            }
        };
        parallel::map(jobs.len(), threads, || (), |(), c| run(&jobs[c]));
        Ok(())
    }

    /// The loop's Cranelift IR (CLIF text); empty for a baseline kernel, which has none.
    pub fn ir(&self) -> &str {
        self.ir.as_ref().map_or("", |ir| ir.text())
    }

    /// The machine code as it lies in executable memory.
    pub fn code(&self) -> &[u8] {
        self.code.bytes()
    }

    /// How many rows one vector holds (1: the loop is scalar on this CPU).
    pub fn lanes(&self) -> u32 {
        self.lanes
    }

    fn check(&self, columns: &[&[T]], rows: usize) -> Result<(), Error> {
        if columns.len() != self.vars {
            return Err(Error::Shape(format!(
                "the kernel has {} variable{}, but {} column{} were given: pass one per variable, \
                 in order",
                self.vars,
                if self.vars == 1 { "" } else { "s" },
                columns.len(),
                if columns.len() == 1 { "" } else { "s" },
            )));
        }
        match columns.iter().position(|c| c.len() != rows) {
            None => Ok(()),
            Some(k) => Err(Error::Shape(format!(
                "column {k} has {} rows, but out has {rows}: every column must be as long as out",
                columns[k].len()
            ))),
        }
    }

    /// Runs the loop over `rows` rows, writing each to `out`.
    ///
    /// # Safety
    /// There is one column per variable, each has `rows` rows, and `out` is valid for writes
    /// of `rows` values of `T` that nothing else reads or writes meanwhile.
    unsafe fn run(&self, columns: &[&[T]], out: *mut T, rows: usize) {
        const ON_STACK: usize = 8;
        let mut stack = [std::ptr::null::<T>(); ON_STACK];
        let heap: Vec<*const T>;
        let pointers: &[*const T] = if columns.len() <= ON_STACK {
            for (p, c) in stack.iter_mut().zip(columns) {
                *p = c.as_ptr();
            }
            &stack[..columns.len()]
        } else {
            heap = columns.iter().map(|c| c.as_ptr()).collect();
            &heap
        };
        let args = (pointers.as_ptr() as i64, out as i64, rows as i64);
        // SAFETY: the code is the kernel `new` vouched for: it reads one pointer per variable
        // from `pointers` (there is one per column, and one column per variable), `rows` rows
        // from each column (each has that many, the caller guarantees) and writes `rows` rows
        // to `out`, which the caller gives it alone. `self` keeps the code mapped.
        unsafe { <(i64, i64, i64)>::invoke::<i64>(self.code.entry(), args) };
    }
}

impl<T> fmt::Debug for Kernel<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Kernel")
            .field("type", &std::any::type_name::<T>())
            .field("vars", &self.vars)
            .field("lanes", &self.lanes)
            .field("code_len", &self.code.bytes().len())
            .finish_non_exhaustive()
    }
}

/// A column of a [`TypedKernel`]: a slice of one of the five types.
#[derive(Clone, Copy, Debug)]
pub enum Column<'a> {
    /// `bool` values.
    Bool(&'a [bool]),
    /// `i32` values.
    I32(&'a [i32]),
    /// `i64` values.
    I64(&'a [i64]),
    /// `f32` values.
    F32(&'a [f32]),
    /// `f64` values.
    F64(&'a [f64]),
}

/// The result column of a [`TypedKernel`], of the formula's type.
#[derive(Debug)]
pub enum ColumnMut<'a> {
    /// `bool` values.
    Bool(&'a mut [bool]),
    /// `i32` values.
    I32(&'a mut [i32]),
    /// `i64` values.
    I64(&'a mut [i64]),
    /// `f32` values.
    F32(&'a mut [f32]),
    /// `f64` values.
    F64(&'a mut [f64]),
}

/// `$body` with `$s` bound to the slice of `$column`, whichever its type.
macro_rules! each_column {
    ($kind:ident, $column:expr, |$s:ident| $body:expr) => {
        match $column {
            $kind::Bool($s) => $body,
            $kind::I32($s) => $body,
            $kind::I64($s) => $body,
            $kind::F32($s) => $body,
            $kind::F64($s) => $body,
        }
    };
}

/// The type of a slice's values.
fn element_type<T: Semantics>(_: &[T]) -> Ty {
    T::TY
}

impl Column<'_> {
    /// The type of its values.
    pub fn ty(&self) -> Ty {
        each_column!(Column, self, |s| element_type(s))
    }

    /// How many rows it has.
    pub fn len(&self) -> usize {
        each_column!(Column, self, |s| s.len())
    }

    /// Whether it has no rows.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn as_ptr(&self) -> *const u8 {
        each_column!(Column, self, |s| s.as_ptr().cast())
    }

    /// Rows `start..start + len` (in bounds: the caller checked).
    fn rows(&self, start: usize, len: usize) -> Self {
        match *self {
            Column::Bool(s) => Column::Bool(&s[start..start + len]),
            Column::I32(s) => Column::I32(&s[start..start + len]),
            Column::I64(s) => Column::I64(&s[start..start + len]),
            Column::F32(s) => Column::F32(&s[start..start + len]),
            Column::F64(s) => Column::F64(&s[start..start + len]),
        }
    }
}

impl<'a> ColumnMut<'a> {
    /// The type of its values.
    pub fn ty(&self) -> Ty {
        each_column!(ColumnMut, self, |s| element_type(s))
    }

    /// How many rows it has.
    pub fn len(&self) -> usize {
        each_column!(ColumnMut, self, |s| s.len())
    }

    /// Whether it has no rows.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn as_mut_ptr(&mut self) -> *mut u8 {
        each_column!(ColumnMut, self, |s| s.as_mut_ptr().cast())
    }

    /// The column cut into pieces of `chunk` rows, in order.
    fn chunks(self, chunk: usize) -> Vec<ColumnMut<'a>> {
        match self {
            ColumnMut::Bool(s) => s.chunks_mut(chunk).map(ColumnMut::Bool).collect(),
            ColumnMut::I32(s) => s.chunks_mut(chunk).map(ColumnMut::I32).collect(),
            ColumnMut::I64(s) => s.chunks_mut(chunk).map(ColumnMut::I64).collect(),
            ColumnMut::F32(s) => s.chunks_mut(chunk).map(ColumnMut::F32).collect(),
            ColumnMut::F64(s) => s.chunks_mut(chunk).map(ColumnMut::F64).collect(),
        }
    }
}

/// A typed formula compiled into a loop over typed columns: column `k` holds variable `k`'s
/// type, and the result column the formula's. The loop runs on vectors, as a [`Kernel`]'s,
/// with `bool`s as lane masks (`expr/vector.rs`). `Send + Sync`, in W^X memory, freed on drop.
///
/// ```
/// use fnjit::{Column, ColumnMut, Ty, TypedFormula};
/// let f = TypedFormula::parse("where(a > 0.5, a * b, c) + i", &[
///     ("a", Ty::F64), ("b", Ty::F64), ("c", Ty::F64), ("i", Ty::I32),
/// ])?;
/// let k = fnjit::Jit::new()?.compile_typed_kernel(&f)?;
/// let (a, b, c, i) = ([1.0, 0.0], [2.0, 2.0], [7.0, 7.0], [1, 2]);
/// let mut out = [0.0; 2];
/// let columns = [Column::F64(&a), Column::F64(&b), Column::F64(&c), Column::I32(&i)];
/// k.eval(&columns, ColumnMut::F64(&mut out))?;
/// assert_eq!(out, [3.0, 9.0]);
/// # Ok::<(), fnjit::Error>(())
/// ```
pub struct TypedKernel {
    code: CodeRef,
    ir: Option<Arc<Ir>>,
    var_types: Vec<Ty>,
    ty: Ty,
    lanes: u32,
}

impl Jit {
    /// Compiles a typed formula into a loop over typed columns ([`TypedKernel`]): with
    /// Cranelift, or on the baseline tier (one row at a time) when the `Jit` was made for it.
    ///
    /// # Errors
    /// As [`crate::compile_inc`].
    pub fn compile_typed_kernel(&mut self, formula: &TypedFormula) -> Result<TypedKernel, Error> {
        let program = formula.program();
        if self.baseline_tier() {
            let name = |_| formula_name("fnjit_kernel", &formula.describe());
            let code = baseline_one(program, Shape::Kernel, self.debug_tools(), &name)?;
            // The contract of `TypedKernel::run`, as in `compile_kernel`'s baseline branch: the
            // emitter's loop reads row `i` of column `k` as variable `k`'s type and writes row
            // `i` of the program's type (a `bool` as 0 or 1) for `i` in [0, len).
            return Ok(TypedKernel {
                code,
                ir: None,
                var_types: formula.var_types().to_vec(),
                ty: formula.ty(),
                lanes: 1,
            });
        }
        let (code, ir, lanes) = self.compile_loop(program, &formula.describe())?;
        // The contract of `TypedKernel::run`: `build_kernel` built the loop of `expr/vector.rs`
        // for this program, which reads rows [0, len) of column `k` as variable `k`'s type and
        // writes rows [0, len) of the program's type to `out`, computing as `Jit::compile_typed`'s
        // functions do (no trap, calls only to fnjit's math functions; `bool`s are 0 or 1).
        Ok(TypedKernel {
            code,
            ir: Some(ir),
            var_types: formula.var_types().to_vec(),
            ty: formula.ty(),
            lanes,
        })
    }
}

impl TypedKernel {
    /// Computes `out[i] = formula(columns[0][i], …)` for every row `i`.
    ///
    /// # Errors
    /// [`Error::Shape`] unless there is one column per variable, of its type, each as long as
    /// `out`, and `out` is of the formula's type.
    pub fn eval(&self, columns: &[Column<'_>], mut out: ColumnMut<'_>) -> Result<(), Error> {
        self.check(columns, &out)?;
        // SAFETY: checked just above; `out` is `out.len()` values of the formula's type, ours.
        unsafe { self.run(columns, out.as_mut_ptr(), out.len()) };
        Ok(())
    }

    /// As [`TypedKernel::eval`], with the rows split over every core: the same result.
    ///
    /// # Errors
    /// As [`TypedKernel::eval`].
    pub fn eval_par(&self, columns: &[Column<'_>], out: ColumnMut<'_>) -> Result<(), Error> {
        self.check(columns, &out)?;
        let rows = out.len();
        let threads = match rows {
            0..PAR_MIN_ROWS => 1,
            _ => parallel::cores(),
        };
        let chunk = rows.div_ceil(threads.max(1)).next_multiple_of(64).max(64);
        let jobs: Vec<Mutex<Option<(usize, ColumnMut<'_>)>>> = out
            .chunks(chunk)
            .into_iter()
            .enumerate()
            .map(|(c, out)| Mutex::new(Some((c * chunk, out))))
            .collect();
        let run = |c: usize| {
            let taken = jobs[c].lock().ok().and_then(|mut job| job.take());
            if let Some((start, mut out)) = taken {
                let len = out.len();
                let columns: Vec<Column<'_>> = columns.iter().map(|c| c.rows(start, len)).collect();
                // SAFETY: every column has `rows` rows (checked above), so each piece has `len`
                // rows, of its variable's type; `out` is this job's `len` rows, its alone.
                unsafe { self.run(&columns, out.as_mut_ptr(), len) };
            }
        };
        parallel::map(jobs.len(), threads, || (), |(), c| run(c));
        Ok(())
    }

    /// The result's type.
    pub fn ty(&self) -> Ty {
        self.ty
    }

    /// The variables' types: the columns', in order.
    pub fn var_types(&self) -> &[Ty] {
        &self.var_types
    }

    /// The loop's Cranelift IR (CLIF text); empty for a baseline kernel, which has none.
    pub fn ir(&self) -> &str {
        self.ir.as_ref().map_or("", |ir| ir.text())
    }

    /// The machine code as it lies in executable memory.
    pub fn code(&self) -> &[u8] {
        self.code.bytes()
    }

    /// How many rows one vector holds: 2 when a value of the formula is 64 bits wide, else 4;
    /// 1 when the loop is scalar on this CPU, and for a baseline kernel.
    pub fn lanes(&self) -> u32 {
        self.lanes
    }

    fn check(&self, columns: &[Column<'_>], out: &ColumnMut<'_>) -> Result<(), Error> {
        let types: Vec<Ty> = columns.iter().map(Column::ty).collect();
        if types != self.var_types || out.ty() != self.ty {
            return Err(Error::Shape(format!(
                "the kernel takes columns of {} and gives {}, but columns of {} and a result of \
                 {} were given: pass one column per variable, of its type, in order",
                names(&self.var_types),
                self.ty,
                names(&types),
                out.ty()
            )));
        }
        let rows = out.len();
        match columns.iter().position(|c| c.len() != rows) {
            None => Ok(()),
            Some(k) => Err(Error::Shape(format!(
                "column {k} has {} rows, but out has {rows}: every column must be as long as out",
                columns[k].len()
            ))),
        }
    }

    /// Runs the loop over `rows` rows, writing each to `out`.
    ///
    /// # Safety
    /// There is one column per variable, of its type, each with `rows` rows, and `out` is valid
    /// for writes of `rows` values of the formula's type that nothing else reads or writes
    /// meanwhile.
    unsafe fn run(&self, columns: &[Column<'_>], out: *mut u8, rows: usize) {
        let pointers: Vec<*const u8> = columns.iter().map(Column::as_ptr).collect();
        let args = (pointers.as_ptr() as i64, out as i64, rows as i64);
        // SAFETY: the code is the loop `compile_typed_kernel` built: it reads one pointer per
        // variable from `pointers`, `rows` rows of its variable's type from each column (the
        // caller guarantees them) and writes `rows` rows of the formula's type to `out`, which
        // the caller gives it alone; the `bool`s it writes are 0 or 1. `self` keeps the code
        // mapped.
        unsafe { <(i64, i64, i64)>::invoke::<i64>(self.code.entry(), args) };
    }
}

/// `f64, i32`: types as messages list them.
fn names(types: &[Ty]) -> String {
    let names: Vec<&str> = types.iter().map(|t| t.name()).collect();
    format!("({})", names.join(", "))
}

impl fmt::Debug for TypedKernel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TypedKernel")
            .field("var_types", &self.var_types)
            .field("ty", &self.ty)
            .field("lanes", &self.lanes)
            .field("code_len", &self.code.bytes().len())
            .finish_non_exhaustive()
    }
}
