//! Kernels per row, on 1,000,000 rows: against a native Rust loop over the same slices (what
//! rustc's auto-vectorization makes of it for the default target), against calling the scalar
//! `Function` once per row, against `eval_arrow` over Arrow arrays of the same buffers, and
//! against the fastest formula crates row by row; and `eval_par` against `eval` on 10,000,000
//! rows.

use super::peers::{Engine, f64_engines};
use super::{Contender, Failure, Group, Row, Runner, interleaved};
use arrow_array::{Array, Float64Array};
use arrow_buffer::{NullBuffer, ScalarBuffer};
use fnjit::Strategy;
use fnjit::{Formula, Jit, Kernel};
use std::hint::black_box;

/// A kernel formula of the benchmark, and the same as a Rust loop body.
#[derive(Clone, Copy, Debug)]
pub struct KernelFormula {
    /// fnjit's spelling.
    pub src: &'static str,
    /// The native loop's body.
    pub native: fn(f64, f64, f64) -> f64,
}

/// Arithmetic only (20 operators), with math functions, and DynamicExpressions.jl's example.
pub const KERNELS: [KernelFormula; 3] = [
    KernelFormula {
        src: "x*y-z/(x+1.5)+y*y*0.5-x/3.0+z*z*z-(x-y)*(y-z)+2.5*x-y/4.0+z",
        native: |x, y, z| {
            x * y - z / (x + 1.5) + y * y * 0.5 - x / 3.0 + z * z * z - (x - y) * (y - z) + 2.5 * x
                - y / 4.0
                + z
        },
    },
    KernelFormula {
        src: "sin(x)*cos(y)+exp(z*0.1)",
        native: |x, y, z| x.sin() * y.cos() + (z * 0.1).exp(),
    },
    KernelFormula {
        src: "x*cos(y-3.2)",
        native: |x, y, _| x * (y - 3.2).cos(),
    },
];

/// Rows per measured run.
pub const KERNEL_ROWS: usize = 1_000_000;
/// Rows of the `eval_par` against `eval` comparison.
pub const PAR_ROWS: usize = 10_000_000;

/// Columns x in [0.1, 0.9], y and z in [1, 3], as in the formula benchmark.
pub fn columns(rows: usize) -> [Vec<f64>; 3] {
    let t = |i: usize| (i % 4096) as f64 / 4096.0;
    [
        (0..rows).map(|i| 0.1 + 0.8 * t(i)).collect(),
        (0..rows).map(|i| 1.0 + 2.0 * t(i * 7)).collect(),
        (0..rows).map(|i| 3.0 - 2.0 * t(i * 13)).collect(),
    ]
}

/// The native loop: the closure inlined into a loop over the slices, as rustc compiles it.
#[inline(never)]
fn native_loop(f: fn(f64, f64, f64) -> f64, [x, y, z]: [&[f64]; 3], out: &mut [f64]) {
    for (((o, &x), &y), &z) in out.iter_mut().zip(x).zip(y).zip(z) {
        *o = f(x, y, z);
    }
}

macro_rules! native_loops {
    ($($k:literal),*) => {
        /// The native loop of kernel formula `k`: its closure inlined into a loop over the
        /// slices (a function pointer would stop rustc from vectorizing it).
        pub fn native(k: usize, cols: [&[f64]; 3], out: &mut [f64]) {
            match k {
                $($k => {
                    #[inline(never)]
                    fn run([x, y, z]: [&[f64]; 3], out: &mut [f64]) {
                        for (((o, &x), &y), &z) in out.iter_mut().zip(x).zip(y).zip(z) {
                            *o = (KERNELS[$k].native)(x, y, z);
                        }
                    }
                    run(cols, out)
                })*
                _ => native_loop(KERNELS[k % KERNELS.len()].native, cols, out),
            }
        }
    };
}
native_loops!(0, 1, 2);

/// Per row, each kernel formula with each contender; then the cores.
pub(super) fn run(
    rounds: usize,
    long: bool,
    progress: &dyn Fn(Group),
) -> Result<Vec<Row>, Failure> {
    progress(Group::KernelRows);
    let rounds = rounds.div_ceil(4).max(3);
    let mut rows = Vec::new();
    let mut jit = Jit::new()?;
    // The columns live in Arrow buffers; `eval` and the native loop read the same memory as
    // slices, `eval_arrow` as arrays, with and without nulls (1 row in 8, at another row in each
    // column).
    let [x, y, z] = columns(KERNEL_ROWS).map(ScalarBuffer::from);
    let cols: [&[f64]; 3] = [&x, &y, &z];
    let arrays = [&x, &y, &z].map(|c| Float64Array::new(c.clone(), None));
    let with_nulls: [Float64Array; 3] = std::array::from_fn(|c| {
        let valid: Vec<bool> = (0..KERNEL_ROWS).map(|i| (i + 3 * c) % 8 != 0).collect();
        Float64Array::new(arrays[c].values().clone(), Some(NullBuffer::from(valid)))
    });
    for (k, formula) in KERNELS.iter().enumerate() {
        let parsed = Formula::<f64>::parse(formula.src, &["x", "y", "z"])?;
        let kernel: Kernel<f64> = jit.compile_kernel(&parsed)?;
        let baseline: Kernel<f64> =
            Jit::with_strategy(Strategy::Baseline)?.compile_kernel(&parsed)?;
        let scalar = super::peers::both_tiers::<f64>(formula.src)?;
        let engines = f64_engines(formula.src, &scalar, formula.native)
            .map_err(|e| Failure::Mismatch(format!("{}: {e}", formula.src)))?;
        // The kernel must give the native loop's bits on every row.
        let (mut want, mut got) = (vec![0.0; KERNEL_ROWS], vec![0.0; KERNEL_ROWS]);
        native(k, cols, &mut want);
        for (tier, kernel) in [("optimizing", &kernel), ("baseline", &baseline)] {
            kernel.eval(&cols, &mut got)?;
            if let Some(i) = (0..KERNEL_ROWS).find(|&i| want[i].to_bits() != got[i].to_bits()) {
                return Err(Failure::Mismatch(format!(
                    "{}: the {tier} kernel gives {} at row {i}, the native loop {}",
                    formula.src, got[i], want[i]
                )));
            }
        }
        let k8 = k as u8;
        let contender = |c| Contender::KernelRow {
            contender: c,
            formula: k8,
        };
        let mut out = vec![0.0; KERNEL_ROWS];
        let out = std::cell::RefCell::new(&mut out);
        let mut runners: Vec<Runner<'_>> = vec![
            (
                contender(KernelContender::NativeLoop),
                Box::new(|n| {
                    let n = n as usize;
                    native(
                        k,
                        [&cols[0][..n], &cols[1][..n], &cols[2][..n]],
                        &mut out.borrow_mut()[..n],
                    );
                    true
                }),
            ),
            (
                contender(KernelContender::Eval),
                Box::new(|n| {
                    let n = n as usize;
                    let c = [&cols[0][..n], &cols[1][..n], &cols[2][..n]];
                    kernel.eval(&c, &mut out.borrow_mut()[..n]).is_ok()
                }),
            ),
            (
                contender(KernelContender::EvalArrow),
                Box::new(|n| {
                    let n = n as usize;
                    let c = arrays.each_ref().map(|a| a.slice(0, n));
                    let c: [&dyn Array; 3] = [&c[0], &c[1], &c[2]];
                    kernel.eval_arrow(&c).map(black_box).is_ok()
                }),
            ),
            (
                contender(KernelContender::EvalArrowNulls),
                Box::new(|n| {
                    let n = n as usize;
                    let c = with_nulls.each_ref().map(|a| a.slice(0, n));
                    let c: [&dyn Array; 3] = [&c[0], &c[1], &c[2]];
                    kernel.eval_arrow(&c).map(black_box).is_ok()
                }),
            ),
            (
                contender(KernelContender::Baseline),
                Box::new(|n| {
                    let n = n as usize;
                    let c = [&cols[0][..n], &cols[1][..n], &cols[2][..n]];
                    baseline.eval(&c, &mut out.borrow_mut()[..n]).is_ok()
                }),
            ),
            (
                contender(KernelContender::ScalarPerRow),
                Box::new(|n| {
                    let mut out = out.borrow_mut();
                    for i in 0..n as usize {
                        out[i] = scalar[0].call((cols[0][i], cols[1][i], cols[2][i]));
                    }
                    true
                }),
            ),
        ];
        for (engine, eval) in &engines {
            if matches!(engine, Engine::Fasteval | Engine::Exmex) {
                let engine = *engine;
                runners.push((
                    contender(KernelContender::Peer(engine)),
                    Box::new(move |n| {
                        let n = n as usize;
                        let rows = cols[0][..n].iter().zip(&cols[1][..n]).zip(&cols[2][..n]);
                        let sum: f64 = rows
                            .map(|((&x, &y), &z)| eval([x, y, z]).unwrap_or(f64::NAN))
                            .sum();
                        black_box(sum);
                        true
                    }),
                ));
            }
        }
        rows.extend(interleaved(
            Group::KernelRows,
            runners,
            KERNEL_ROWS as u64,
            rounds,
        )?);
    }
    if long {
        progress(Group::KernelCores);
        rows.extend(cores(&mut jit, rounds)?);
    }
    Ok(rows)
}

/// `eval_par` against `eval` on [`PAR_ROWS`] rows of `x*cos(y-3.2)`.
fn cores(jit: &mut Jit, rounds: usize) -> Result<Vec<Row>, Failure> {
    let k = KERNELS.len() as u8 - 1;
    let parsed = Formula::<f64>::parse(KERNELS[usize::from(k)].src, &["x", "y", "z"])?;
    let kernel = jit.compile_kernel(&parsed)?;
    let cols = columns(PAR_ROWS);
    let cols: [&[f64]; 3] = [&cols[0], &cols[1], &cols[2]];
    let out = std::cell::RefCell::new(vec![0.0; PAR_ROWS]);
    let contender = |c| Contender::KernelRow {
        contender: c,
        formula: k,
    };
    let runners: Vec<Runner<'_>> = vec![
        (
            contender(KernelContender::Eval),
            Box::new(|_| kernel.eval(&cols, &mut out.borrow_mut()).is_ok()),
        ),
        (
            contender(KernelContender::EvalPar),
            Box::new(|_| kernel.eval_par(&cols, &mut out.borrow_mut()).is_ok()),
        ),
    ];
    let mut rows = interleaved(Group::KernelCores, runners, PAR_ROWS as u64, rounds)?;
    // Speed-up: how many times faster than `eval`.
    let base = rows[0].median_ns;
    for row in &mut rows {
        row.ratio = base / row.median_ns;
    }
    Ok(rows)
}

/// Who computes the rows in the kernel groups.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum KernelContender {
    /// A Rust loop over the slices, the formula inlined.
    NativeLoop,
    /// `Kernel::eval`.
    Eval,
    /// `Kernel::eval_par`.
    EvalPar,
    /// `Kernel::eval_arrow` over `Float64Array`s of the same buffers as `eval`'s, no nulls.
    EvalArrow,
    /// As `EvalArrow`, every column with nulls (their union is computed too).
    EvalArrowNulls,
    /// `Kernel::eval` of a baseline kernel (`Strategy::Baseline`).
    Baseline,
    /// The scalar `Function` called once per row.
    ScalarPerRow,
    /// A formula crate, row by row.
    Peer(Engine),
}
