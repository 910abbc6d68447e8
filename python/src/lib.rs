//! `fnjit._fnjit`: a typed formula compiled into a `TypedKernel` and run over one-dimensional
//! contiguous NumPy arrays with the GIL released, on fnjit's thread pool for big arrays. The
//! Python side (`fnjit/`) translates numexpr's syntax, finds, broadcasts and aligns the arrays,
//! and keeps one `Kernel` per expression and signature.
//!
//! Tiers, as the `Evaluator` has them: a kernel starts on the baseline tier (compiled in about
//! 2 µs, one row at a time) and moves to Cranelift's vector loop once it has run
//! [`PROMOTE_ROWS`] rows in all, in the call that crosses that line (a call that big alone
//! pays for Cranelift's compile, about 100 µs, many times over). A host without the baseline
//! tier starts on Cranelift.
//!
//! No panic reaches Python: every entry point runs under `catch_unwind` and turns one into a
//! `RuntimeError` (fnjit's own code does not panic on any input: this is the last line).

use fnjit::{Column, ColumnMut, Error, Jit, Strategy, Ty, TypedFormula, TypedKernel};
use numpy::{PyArray1, PyArrayMethods, PyReadonlyArray1, PyReadwriteArray1};
use pyo3::exceptions::{PyRuntimeError, PySyntaxError, PyTypeError, PyValueError};
use pyo3::prelude::*;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock, PoisonError};

/// Rows a kernel runs on the baseline tier before Cranelift compiles it (the `Evaluator`'s
/// "earned it"): about where the vector loop's savings repay its compile (docs/python.md).
const PROMOTE_ROWS: u64 = 1 << 16;

/// `f()`, or a `RuntimeError` if it panicked.
fn guarded<R>(f: impl FnOnce() -> PyResult<R>) -> PyResult<R> {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or_else(|_| {
        Err(PyRuntimeError::new_err(
            "fnjit panicked (a bug in fnjit: please report the expression and the dtypes)",
        ))
    })
}

/// fnjit's error as the exception numexpr raises for it.
fn to_py(e: Error) -> PyErr {
    match e {
        Error::Syntax(_) => PySyntaxError::new_err(e.to_string()),
        Error::Type(_) => PyTypeError::new_err(e.to_string()),
        _ => PyValueError::new_err(e.to_string()),
    }
}

/// The process's two compilers, made on first use: the baseline tier's (`None` on a host
/// without it) and Cranelift's.
struct Compilers {
    baseline: Option<Jit>,
    optimizing: Jit,
}

static COMPILERS: Mutex<Option<Compilers>> = Mutex::new(None);

/// `f` with the compilers, made first if need be.
fn with_compilers<R>(f: impl FnOnce(&mut Compilers) -> Result<R, Error>) -> Result<R, Error> {
    let mut slot = COMPILERS.lock().unwrap_or_else(PoisonError::into_inner);
    let compilers = match &mut *slot {
        Some(c) => c,
        empty => empty.insert(Compilers {
            baseline: Jit::with_strategy(Strategy::Baseline).ok(),
            optimizing: Jit::with_strategy(Strategy::Optimizing)?,
        }),
    };
    f(compilers)
}

/// A compiled expression: `run` it over arrays of its variables' types.
#[pyclass(frozen)]
struct Kernel {
    formula: TypedFormula,
    /// The baseline tier's kernel, while Cranelift's is not made (`None` without the tier).
    baseline: Option<TypedKernel>,
    optimized: OnceLock<TypedKernel>,
    /// Rows run so far, on the baseline tier.
    rows: AtomicU64,
}

impl Kernel {
    /// The kernel for a call over `rows` rows: Cranelift's once the kernel has earned it.
    fn tier(&self, rows: usize) -> Result<&TypedKernel, Error> {
        if let Some(k) = self.optimized.get() {
            return Ok(k);
        }
        let so_far = self.rows.fetch_add(rows as u64, Ordering::Relaxed) + rows as u64;
        match &self.baseline {
            Some(k) if so_far < PROMOTE_ROWS => Ok(k),
            _ => {
                let k = with_compilers(|c| c.optimizing.compile_typed_kernel(&self.formula))?;
                Ok(self.optimized.get_or_init(|| k))
            }
        }
    }
}

/// A read-only view of one input array, of its variable's type.
enum Input<'py> {
    Bool(PyReadonlyArray1<'py, bool>),
    I32(PyReadonlyArray1<'py, i32>),
    I64(PyReadonlyArray1<'py, i64>),
    F32(PyReadonlyArray1<'py, f32>),
    F64(PyReadonlyArray1<'py, f64>),
}

/// `array` as a one-dimensional, contiguous, aligned NumPy array of `T`, or a `TypeError` for
/// argument `k`: the kernel reads it as a slice.
fn checked<'py, T: numpy::Element>(
    array: &Bound<'py, PyAny>,
    k: usize,
    ty: &str,
) -> PyResult<Bound<'py, PyArray1<T>>> {
    let array = array.cast::<PyArray1<T>>().map_err(|_| {
        PyTypeError::new_err(format!("argument {k} is not a one-dimensional {ty} array"))
    })?;
    let flags = array.getattr("flags")?;
    let aligned: bool = flags.getattr("aligned")?.extract()?;
    let contiguous: bool = flags.getattr("c_contiguous")?.extract()?;
    if !aligned || !contiguous {
        return Err(PyValueError::new_err(format!(
            "argument {k} is not contiguous and aligned: copy it (fnjit.evaluate does)"
        )));
    }
    Ok(array.clone())
}

impl<'py> Input<'py> {
    fn new(array: &Bound<'py, PyAny>, ty: Ty, k: usize) -> PyResult<Input<'py>> {
        let n = ty.name();
        Ok(match ty {
            Ty::Bool => {
                let bools = checked::<bool>(array, k, n)?;
                // A NumPy bool is a byte that a view can make anything (`u8s.view(bool)`); a
                // Rust `bool` must be 0 or 1, so the bytes are read as bytes first.
                let bytes = bools.call_method1("view", ("uint8",))?;
                let bytes = checked::<u8>(&bytes, k, "uint8")?.readonly();
                let valid = bytes.as_slice().map(|b| b.iter().all(|&b| b <= 1));
                if !matches!(valid, Ok(true)) {
                    return Err(PyValueError::new_err(format!(
                        "argument {k}, a bool array, holds bytes other than 0 and 1 (a view of \
                         another dtype): make it with astype(bool)"
                    )));
                }
                Input::Bool(bools.readonly())
            }
            Ty::I32 => Input::I32(checked(array, k, n)?.readonly()),
            Ty::I64 => Input::I64(checked(array, k, n)?.readonly()),
            Ty::F32 => Input::F32(checked(array, k, n)?.readonly()),
            Ty::F64 => Input::F64(checked(array, k, n)?.readonly()),
        })
    }

    /// Its values as a kernel column (`checked` made them contiguous).
    fn column(&self) -> PyResult<Column<'_>> {
        let not_contiguous = |_| PyValueError::new_err("an argument array is not contiguous");
        Ok(match self {
            Input::Bool(a) => Column::Bool(a.as_slice().map_err(not_contiguous)?),
            Input::I32(a) => Column::I32(a.as_slice().map_err(not_contiguous)?),
            Input::I64(a) => Column::I64(a.as_slice().map_err(not_contiguous)?),
            Input::F32(a) => Column::F32(a.as_slice().map_err(not_contiguous)?),
            Input::F64(a) => Column::F64(a.as_slice().map_err(not_contiguous)?),
        })
    }
}

/// Runs `kernel` over `columns` into `out` with the GIL released: on one thread, or split over
/// fnjit's pool when `threads` is more than 1.
fn compute(
    py: Python<'_>,
    kernel: &Kernel,
    columns: &[Column<'_>],
    out: ColumnMut<'_>,
    threads: usize,
) -> PyResult<()> {
    let rows = out.len();
    py.detach(|| {
        let k = kernel.tier(rows)?;
        if threads > 1 {
            k.eval_par(columns, out)
        } else {
            k.eval(columns, out)
        }
    })
    .map_err(to_py)
}

/// `out`, of `T`, filled in place.
fn into<'py, T: numpy::Element>(
    py: Python<'py>,
    kernel: &Kernel,
    columns: &[Column<'_>],
    out: &Bound<'py, PyAny>,
    threads: usize,
    wrap: fn(&mut [T]) -> ColumnMut<'_>,
) -> PyResult<Bound<'py, PyAny>> {
    let array = checked::<T>(out, 0, kernel.formula.ty().name())?;
    let mut view: PyReadwriteArray1<'py, T> = array
        .try_readwrite()
        .map_err(|_| PyValueError::new_err("out is one of the inputs: pass a copy"))?;
    let slice = view
        .as_slice_mut()
        .map_err(|_| PyValueError::new_err("out is not contiguous"))?;
    compute(py, kernel, columns, wrap(slice), threads)?;
    Ok(out.clone())
}

#[pymethods]
impl Kernel {
    /// Fills `out` (one-dimensional, of the expression's type, contiguous, aligned, and none of
    /// the inputs) with the result over `arrays` (one per variable, of its type,
    /// one-dimensional, contiguous, aligned and as long as `out`), on `threads` threads, and
    /// returns it. The caller allocates `out` (`np.empty`: no pass that zeroes it).
    fn run<'py>(
        &self,
        py: Python<'py>,
        arrays: Vec<Bound<'py, PyAny>>,
        out: Bound<'py, PyAny>,
        threads: usize,
    ) -> PyResult<Bound<'py, PyAny>> {
        guarded(|| {
            let types = self.formula.var_types();
            if arrays.len() != types.len() {
                return Err(PyValueError::new_err(format!(
                    "{} arrays for {} variables",
                    arrays.len(),
                    types.len()
                )));
            }
            let inputs = arrays
                .iter()
                .zip(types)
                .enumerate()
                .map(|(k, (a, &t))| Input::new(a, t, k))
                .collect::<PyResult<Vec<_>>>()?;
            let columns = inputs
                .iter()
                .map(Input::column)
                .collect::<PyResult<Vec<_>>>()?;
            macro_rules! run_as {
                ($t:ty, $variant:ident) => {
                    into::<$t>(py, self, &columns, &out, threads, |o| {
                        ColumnMut::$variant(o)
                    })
                };
            }
            match self.formula.ty() {
                Ty::Bool => run_as!(bool, Bool),
                Ty::I32 => run_as!(i32, I32),
                Ty::I64 => run_as!(i64, I64),
                Ty::F32 => run_as!(f32, F32),
                Ty::F64 => run_as!(f64, F64),
            }
        })
    }

    /// The result's type: `bool`, `i32`, `i64`, `f32` or `f64`.
    #[getter]
    fn ty(&self) -> &'static str {
        self.formula.ty().name()
    }

    /// The tier that runs the next call: `"baseline"` or `"cranelift"`.
    #[getter]
    fn tier_name(&self) -> &'static str {
        if self.baseline.is_some() && self.optimized.get().is_none() {
            "baseline"
        } else {
            "cranelift"
        }
    }
}

/// The typed formula `src` over `vars` (names and type names).
fn parse(src: &str, vars: &[(String, String)]) -> PyResult<TypedFormula> {
    let mut typed = Vec::with_capacity(vars.len());
    for (name, ty) in vars {
        let t = Ty::by_name(ty)
            .ok_or_else(|| PyTypeError::new_err(format!("{name} has the unsupported type {ty}")))?;
        typed.push((name.as_str(), t));
    }
    TypedFormula::parse(src, &typed).map_err(to_py)
}

/// Compiles the typed formula `src` over `vars` (names and type names) into a kernel, on the
/// baseline tier where the host has it. `SyntaxError` for a formula fnjit cannot parse,
/// `TypeError` for one it cannot type.
#[pyfunction]
fn compile(py: Python<'_>, src: &str, vars: Vec<(String, String)>) -> PyResult<Kernel> {
    guarded(|| {
        let formula = parse(src, &vars)?;
        let (baseline, optimized) = py
            .detach(|| {
                with_compilers(|c| {
                    // A formula the baseline tier refuses (none on Linux, every one on Windows,
                    // which lacks the tier) starts on Cranelift.
                    match c
                        .baseline
                        .as_mut()
                        .map(|jit| jit.compile_typed_kernel(&formula))
                    {
                        Some(Ok(k)) => Ok((Some(k), None)),
                        _ => Ok((None, Some(c.optimizing.compile_typed_kernel(&formula)?))),
                    }
                })
            })
            .map_err(to_py)?;
        let cell = OnceLock::new();
        if let Some(k) = optimized {
            let _ = cell.set(k);
        }
        Ok(Kernel {
            formula,
            baseline,
            optimized: cell,
            rows: AtomicU64::new(0),
        })
    })
}

/// The type of the typed formula `src` over `vars`, by parse alone: what the translation asks
/// of each part of an expression.
#[pyfunction]
fn type_of(src: &str, vars: Vec<(String, String)>) -> PyResult<&'static str> {
    guarded(|| Ok(parse(src, &vars)?.ty().name()))
}

#[pymodule]
fn _fnjit(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(compile, m)?)?;
    m.add_function(wrap_pyfunction!(type_of, m)?)?;
    m.add_class::<Kernel>()?;
    m.add("PROMOTE_ROWS", PROMOTE_ROWS)?;
    Ok(())
}
