//! The differential harness: every way fnjit makes code for a formula, held to the interpreter
//! bit for bit. Two results agree when their bits are equal (so -0 ≠ +0) or both are NaN.
//!
//! A path is one way to get a formula's value ([`Path`]); the compile paths run on every `Jit`
//! of [`JITS`], so a new tier joins the harness with one line there. [`Harness::seed`] draws
//! formulas and rows from a seed, checks every path, and on a disagreement shrinks the formula
//! and the row and says how to replay it. The fuzz targets include this file as well.

use super::random::{I32_EDGES, I64_EDGES, Kind, Rng, Tree, VARS, f64_edges, rows};
use fnjit::{Error, Evaluator, Formula, Function, Jit, Number, Strategy, Tier};
use std::fmt::{self, Debug};
use std::time::{Duration, Instant};

/// Makes a `Jit` of one tier.
type NewJit = fn() -> Result<Jit, Error>;

/// The `Jit`s every compile path runs on, by name. A new tier is one more line.
pub const JITS: &[(&str, NewJit)] = &[
    ("optimizing", Jit::new),
    ("baseline", || Jit::with_strategy(Strategy::Baseline)),
];

/// A kernel's `eval` or `eval_par`.
type Eval<'k, T> = &'k dyn Fn(&[&[T]], &mut [T]) -> Result<(), Error>;

/// The environment variable that replays one seed: `FNJIT_SEED=0x… cargo test --test
/// differential`.
pub const SEED_VAR: &str = "FNJIT_SEED";

/// How many rows `Kernel::eval_par` needs before it splits them over threads (`kernel.rs`'s
/// `PAR_MIN_ROWS`).
const PAR_MIN_ROWS: usize = 10_000;

/// A formula type, as the harness handles it.
pub trait Value: Number + Debug + Send + Sync + 'static {
    const KIND: Kind;
    fn from_bits(bits: u64) -> Self;
    fn to_bits(self) -> u64;
    /// The edge inputs, as bits.
    fn edges() -> Vec<u64>;
    /// Bits equal, or both NaN.
    fn same(a: Self, b: Self) -> bool {
        a.to_bits() == b.to_bits()
    }
    /// The value, exactly.
    fn show(self) -> String {
        format!("{self:?}")
    }
}

impl Value for i32 {
    const KIND: Kind = Kind::I32;
    fn from_bits(bits: u64) -> i32 {
        bits as i32
    }
    fn to_bits(self) -> u64 {
        u64::from(self as u32)
    }
    fn edges() -> Vec<u64> {
        I32_EDGES.iter().map(|&v| Value::to_bits(v)).collect()
    }
}

impl Value for i64 {
    const KIND: Kind = Kind::I64;
    fn from_bits(bits: u64) -> i64 {
        bits as i64
    }
    fn to_bits(self) -> u64 {
        self as u64
    }
    fn edges() -> Vec<u64> {
        I64_EDGES.iter().map(|&v| v as u64).collect()
    }
}

impl Value for f64 {
    const KIND: Kind = Kind::F64;
    fn from_bits(bits: u64) -> f64 {
        f64::from_bits(bits)
    }
    fn to_bits(self) -> u64 {
        f64::to_bits(self)
    }
    fn edges() -> Vec<u64> {
        f64_edges().into_iter().map(f64::to_bits).collect()
    }
    fn same(a: f64, b: f64) -> bool {
        a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan())
    }
    fn show(self) -> String {
        format!("{self:e} (0x{:016X})", self.to_bits())
    }
}

/// One way to get a formula's values.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Path {
    /// `Jit::compile_formula`, called per row.
    Formula,
    /// `Jit::compile_formula_cached` the first time.
    CachedMiss,
    /// `Jit::compile_formula_cached` again, spelled otherwise: a hit, which the stats must show.
    CachedHit,
    /// `Jit::compile_formulas`: the group as one batch.
    Batch,
    /// `Evaluator` before it asks for code.
    Interpreting,
    /// `Evaluator` once it runs the baseline tier's code (compiled on the first evaluation).
    Baseline,
    /// `Evaluator` once it runs Cranelift's optimized code.
    Optimized,
    /// `Kernel::eval` on every length of the rows from every lane offset, so every tail and
    /// every misalignment of a vector load.
    Kernel,
    /// `Kernel::eval_par`, on the same slices, and (when asked) on the rows repeated past the
    /// length at which it splits them over threads.
    KernelPar,
}

impl Path {
    pub const ALL: [Path; 9] = [
        Path::Formula,
        Path::CachedMiss,
        Path::CachedHit,
        Path::Batch,
        Path::Interpreting,
        Path::Baseline,
        Path::Optimized,
        Path::Kernel,
        Path::KernelPar,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Path::Formula => "compile_formula",
            Path::CachedMiss => "compile_formula_cached (miss)",
            Path::CachedHit => "compile_formula_cached (hit)",
            Path::Batch => "compile_formulas (batch)",
            Path::Interpreting => "Evaluator (interpreting)",
            Path::Baseline => "Evaluator (baseline)",
            Path::Optimized => "Evaluator (optimized)",
            Path::Kernel => "Kernel::eval",
            Path::KernelPar => "Kernel::eval_par",
        }
    }

    /// Whether it compiles with a `Jit` of [`JITS`] (the Evaluator has its own).
    fn on_jit(self) -> bool {
        !matches!(self, Path::Interpreting | Path::Baseline | Path::Optimized)
    }
}

/// A path that gave another value than the interpreter, or failed.
#[derive(Clone, Debug)]
pub struct Disagreement {
    /// The path, once known (`None` for a formula that does not parse).
    pub kind: Option<Path>,
    /// The tier and path, as shown.
    pub path: String,
    /// Which formula of the group.
    pub formula: usize,
    /// Which row, if the path ran.
    pub row: Option<usize>,
    /// What the path gave (or its error), and the interpreter's value.
    pub got: String,
    pub want: String,
}

impl Disagreement {
    /// The same, from `path`.
    fn on(self, path: Path) -> Disagreement {
        Disagreement {
            kind: Some(path),
            ..self
        }
    }
}

impl fmt::Display for Disagreement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.row {
            Some(row) => write!(
                f,
                "{} gives {} at row {row}, the interpreter {}",
                self.path, self.got, self.want
            ),
            None => write!(f, "{} failed: {}", self.path, self.got),
        }
    }
}

/// The `Jit`s of [`JITS`], kept across groups (their caches too), and what to run.
pub struct Harness {
    jits: Vec<(&'static str, Jit)>,
    /// Run `eval_par` on rows repeated past [`PAR_MIN_ROWS`] too (threads, chunk seams).
    pub par_rows: bool,
}

impl Harness {
    pub fn new() -> Harness {
        let jits = JITS
            .iter()
            .map(|&(name, new)| match new() {
                Ok(jit) => (name, jit),
                Err(e) => panic!("the {name} Jit: {e}"),
            })
            .collect();
        Harness {
            jits,
            par_rows: true,
        }
    }

    /// Checks `paths` for the formulas `srcs` (over [`VARS`]) at every row: `Ok`, or the first
    /// disagreement.
    pub fn check<T: Value>(
        &mut self,
        paths: &[Path],
        srcs: &[String],
        rows: &[[T; 3]],
    ) -> Result<(), Disagreement> {
        let formulas = srcs
            .iter()
            .enumerate()
            .map(|(i, src)| {
                Formula::<T>::parse(src, &VARS).map_err(|e| Disagreement {
                    kind: None,
                    path: "Formula::parse".into(),
                    formula: i,
                    row: None,
                    got: e.to_string(),
                    want: String::new(),
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let want: Vec<Vec<T>> = formulas
            .iter()
            .map(|f| {
                rows.iter()
                    .map(|r| f.eval(r).expect("three arguments"))
                    .collect()
            })
            .collect();
        let case = Case {
            srcs,
            formulas: &formulas,
            rows,
            want: &want,
        };
        for &path in paths.iter().filter(|p| !p.on_jit()) {
            case.evaluator(path).map_err(|d| d.on(path))?;
        }
        let kernels: Vec<Path> = paths
            .iter()
            .copied()
            .filter(|p| matches!(p, Path::Kernel | Path::KernelPar))
            .collect();
        for (tier, jit) in &mut self.jits {
            let tier = |d: Disagreement| Disagreement {
                path: format!("{tier}: {}", d.path),
                ..d
            };
            for &path in paths.iter().filter(|p| p.on_jit() && !kernels.contains(p)) {
                case.on_jit(jit, path).map_err(|d| tier(d.on(path)))?;
            }
            if !kernels.is_empty() {
                case.kernels(jit, &kernels, self.par_rows).map_err(tier)?;
            }
        }
        Ok(())
    }

    /// Draws `groups` groups of `per_group` formulas of `T` and `rows` rows from `seed`, and
    /// checks every path on each. On a disagreement, the message has the seed, the formula and
    /// row as drawn, the smallest formula and row that still disagree, and the replay command.
    /// Group 0 of a seed is the same whatever `groups` is, so a one-group seed replays in the
    /// test of its type.
    pub fn seed<T: Value>(
        &mut self,
        seed: u64,
        groups: usize,
        per_group: usize,
        rows: usize,
    ) -> Result<(), String> {
        let mut rng = Rng::new(seed);
        for group in 0..groups {
            let trees: Vec<Tree> = (0..per_group)
                .map(|_| Tree::random(&mut rng, T::KIND, 5))
                .collect();
            let srcs: Vec<String> = trees.iter().map(Tree::text).collect();
            let rows = random_rows::<T>(&mut rng, rows);
            if let Err(d) = self.check(&Path::ALL, &srcs, &rows) {
                let drawn = match d.row {
                    Some(r) => format!("at {}", show_row(&rows[r])),
                    None => String::new(),
                };
                let (tree, row, minimal) = self.shrink(&d, trees[d.formula].clone(), &rows);
                let ty = T::KIND.name();
                let lines = [
                    format!(
                        "{ty} formulas disagree with the interpreter (seed 0x{seed:X}, group \
                         {group}, formula {}):",
                        d.formula
                    ),
                    format!("  drawn:   {}  {drawn}", srcs[d.formula]),
                    format!("           {d}"),
                    format!("  minimal: {}  at {}", tree.text(), show_row(&row)),
                    format!("           {minimal}"),
                    format!(
                        "  replay:  {SEED_VAR}=0x{seed:X} cargo test --test all \
                         differential::{ty}_every_path"
                    ),
                ];
                return Err(lines.join("\n"));
            }
        }
        Ok(())
    }

    /// The smallest formula, then the simplest single row, on which the path of `d` still
    /// disagrees: the formula shrunk one step at a time while it fails, then the row alone
    /// (repeated, so kernels still run it in every lane), then each of its values replaced by
    /// 0, 1 or a quiet NaN where that still fails.
    fn shrink<T: Value>(
        &mut self,
        d: &Disagreement,
        mut tree: Tree,
        rows: &[[T; 3]],
    ) -> (Tree, [T; 3], Disagreement) {
        let Some(path) = d.kind else {
            return (tree, rows[0], d.clone());
        };
        let mut rows = rows.to_vec();
        let mut last = d.clone();
        let fails = |h: &mut Harness, tree: &Tree, rows: &[[T; 3]]| {
            h.check(&[path], &[tree.text()], rows).err()
        };
        'shrink: loop {
            for smaller in tree.simpler() {
                if let Some(d) = fails(self, &smaller, &rows) {
                    (tree, last) = (smaller, d);
                    continue 'shrink;
                }
            }
            break;
        }
        let mut row = rows[last.row.unwrap_or(0)];
        let alone = vec![row; rows.len().max(1)];
        if let Some(d) = fails(self, &tree, &alone) {
            (rows, last) = (alone, d);
            let simple = [0u64, Value::to_bits(T::from_bits(1)), 0x7FF8_0000_0000_0000];
            for k in 0..3 {
                for bits in simple {
                    let mut candidate = row;
                    candidate[k] = if T::KIND == Kind::F64 {
                        T::from_bits(bits)
                    } else {
                        T::from_bits(bits & 1)
                    };
                    let alone = vec![candidate; rows.len()];
                    if let Some(d) = fails(self, &tree, &alone) {
                        (row, rows, last) = (candidate, alone, d);
                        break;
                    }
                }
            }
        }
        (tree, rows[last.row.unwrap_or(0)], last)
    }
}

/// `n` rows of `T` from [`rows`]: edge values and random bits.
pub fn random_rows<T: Value>(rng: &mut Rng, n: usize) -> Vec<[T; 3]> {
    rows(rng, n, &T::edges())
        .into_iter()
        .map(|r| r.map(T::from_bits))
        .collect()
}

/// `x = …, y = …, z = …`.
pub fn show_row<T: Value>(row: &[T; 3]) -> String {
    let parts: Vec<String> = VARS
        .iter()
        .zip(row)
        .map(|(v, x)| format!("{v} = {}", x.show()))
        .collect();
    parts.join(", ")
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::I32 => "i32",
            Kind::I64 => "i64",
            Kind::F64 => "f64",
        }
    }
}

/// The seeds a test runs: the one in [`SEED_VAR`] if set (decimal or 0x hex), else `fixed`.
pub fn seeds(fixed: &[u64]) -> Vec<u64> {
    match std::env::var(SEED_VAR) {
        Ok(s) => {
            let s = s.trim();
            let parsed = match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
                Some(hex) => u64::from_str_radix(hex, 16),
                None => s.parse(),
            };
            vec![parsed.unwrap_or_else(|e| panic!("{SEED_VAR}={s}: {e}"))]
        }
        Err(_) => fixed.to_vec(),
    }
}

/// One group's formulas, rows and the interpreter's values.
struct Case<'a, T> {
    srcs: &'a [String],
    formulas: &'a [Formula<T>],
    rows: &'a [[T; 3]],
    want: &'a [Vec<T>],
}

impl<T: Value> Case<'_, T> {
    /// Compares formula `i`'s values `got`, for the rows `first..`, with the interpreter's.
    fn compare(&self, path: &str, i: usize, first: usize, got: &[T]) -> Result<(), Disagreement> {
        for (k, (&g, &w)) in got.iter().zip(&self.want[i][first..]).enumerate() {
            if !T::same(g, w) {
                return Err(Disagreement {
                    kind: None,
                    path: path.to_owned(),
                    formula: i,
                    row: Some(first + k),
                    got: g.show(),
                    want: w.show(),
                });
            }
        }
        Ok(())
    }

    fn failed(path: &str, i: usize, e: impl fmt::Display) -> Disagreement {
        Disagreement {
            kind: None,
            path: path.to_owned(),
            formula: i,
            row: None,
            got: e.to_string(),
            want: String::new(),
        }
    }

    /// Every row through `f`.
    fn calls(&self, path: &str, i: usize, f: &Function<(T, T, T), T>) -> Result<(), Disagreement> {
        let got: Vec<T> = self
            .rows
            .iter()
            .map(|&[x, y, z]| f.call((x, y, z)))
            .collect();
        self.compare(path, i, 0, &got)
    }

    fn on_jit(&self, jit: &mut Jit, path: Path) -> Result<(), Disagreement> {
        let name = path.name();
        match path {
            Path::Formula => {
                for (i, formula) in self.formulas.iter().enumerate() {
                    let f = jit
                        .compile_formula(formula)
                        .map_err(|e| Self::failed(name, i, e))?;
                    self.calls(name, i, &f)?;
                }
            }
            Path::CachedMiss | Path::CachedHit => {
                for (i, formula) in self.formulas.iter().enumerate() {
                    let f = jit
                        .compile_formula_cached(formula)
                        .map_err(|e| Self::failed(name, i, e))?;
                    if path == Path::CachedMiss {
                        self.calls(name, i, &f)?;
                        continue;
                    }
                    // The same program, spelled otherwise.
                    let respelled = Formula::<T>::parse(&format!(" ( {} ) ", self.srcs[i]), &VARS)
                        .map_err(|e| Self::failed(name, i, e))?;
                    let hits = jit.cache_stats().hits;
                    let g = jit
                        .compile_formula_cached(&respelled)
                        .map_err(|e| Self::failed(name, i, e))?;
                    if jit.cache_stats().hits != hits + 1 || g.code().as_ptr() != f.code().as_ptr()
                    {
                        return Err(Self::failed(name, i, "the respelled formula missed"));
                    }
                    self.calls(name, i, &g)?;
                }
            }
            Path::Batch => {
                let srcs: Vec<&str> = self.srcs.iter().map(String::as_str).collect();
                let fs = jit
                    .compile_formulas::<(T, T, T), T>(&srcs, &VARS)
                    .map_err(|e| Self::failed(name, 0, e))?;
                for (i, f) in fs.iter().enumerate() {
                    self.calls(name, i, f)?;
                }
            }
            Path::Interpreting
            | Path::Baseline
            | Path::Optimized
            | Path::Kernel
            | Path::KernelPar => {
                unreachable!("{name} has its own method")
            }
        }
        Ok(())
    }

    /// Each formula's kernel, compiled once, through each of `paths` (`Kernel`, `KernelPar`).
    fn kernels(&self, jit: &mut Jit, paths: &[Path], par_rows: bool) -> Result<(), Disagreement> {
        let short = self.columns(self.rows.len());
        let long = match (
            par_rows && paths.contains(&Path::KernelPar),
            self.rows.len(),
        ) {
            (false, _) | (_, 0) => None,
            (true, n) => Some(self.columns(PAR_MIN_ROWS + 2 * n + 3)),
        };
        for (i, formula) in self.formulas.iter().enumerate() {
            let kernel = jit
                .compile_kernel(formula)
                .map_err(|e| Self::failed("compile_kernel", i, e).on(paths[0]))?;
            for &path in paths {
                let eval = |cols: &[&[T]], out: &mut [T]| match path {
                    Path::KernelPar => kernel.eval_par(cols, out),
                    _ => kernel.eval(cols, out),
                };
                self.kernel(path.name(), i, &short, kernel.lanes() as usize, &eval)
                    .map_err(|d| d.on(path))?;
                if let (Path::KernelPar, Some(long)) = (path, &long) {
                    self.kernel_long(path.name(), i, long, &eval)
                        .map_err(|d| d.on(path))?;
                }
            }
        }
        Ok(())
    }

    /// The rows as three columns of `len` rows, repeated from the first when `len` is longer.
    fn columns(&self, len: usize) -> Vec<Vec<T>> {
        (0..3)
            .map(|k| {
                (0..len)
                    .map(|r| self.rows[r % self.rows.len()][k])
                    .collect()
            })
            .collect()
    }

    /// The kernel on rows `skip..skip + len` of the columns, into `out[skip..skip + len]`, for
    /// every `skip` below `lanes` and every `len` that fits: every tail, and every offset of a
    /// vector load from its alignment.
    fn kernel(
        &self,
        path: &str,
        i: usize,
        cols: &[Vec<T>],
        lanes: usize,
        eval: Eval<'_, T>,
    ) -> Result<(), Disagreement> {
        let mut out = vec![T::default(); self.rows.len()];
        for skip in 0..lanes.min(self.rows.len()) {
            for len in 0..=self.rows.len() - skip {
                let slices: Vec<&[T]> = cols.iter().map(|c| &c[skip..skip + len]).collect();
                eval(&slices, &mut out[skip..skip + len]).map_err(|e| Self::failed(path, i, e))?;
                self.compare(path, i, skip, &out[skip..skip + len])?;
            }
        }
        Ok(())
    }

    /// The kernel on `cols`, the rows repeated past [`PAR_MIN_ROWS`], from row 1.
    fn kernel_long(
        &self,
        path: &str,
        i: usize,
        cols: &[Vec<T>],
        eval: Eval<'_, T>,
    ) -> Result<(), Disagreement> {
        let (n, long) = (self.rows.len(), cols[0].len());
        let slices: Vec<&[T]> = cols.iter().map(|c| &c[1..]).collect();
        let mut out = vec![T::default(); long - 1];
        eval(&slices, &mut out).map_err(|e| Self::failed(path, i, e))?;
        for (r, chunk) in out.chunks(n).enumerate() {
            // Row r * n + k of the slice is row (r * n + k + 1) % n of the group.
            for (k, &g) in chunk.iter().enumerate() {
                let row = (r * n + k + 1) % n;
                let w = self.want[i][row];
                if !T::same(g, w) {
                    return Err(Disagreement {
                        kind: None,
                        path: format!("{path} ({} rows, row {} of them)", long - 1, r * n + k),
                        formula: i,
                        row: Some(row),
                        got: g.show(),
                        want: w.show(),
                    });
                }
            }
        }
        Ok(())
    }

    /// An `Evaluator` per formula: never compiling, compiling the baseline tier at once (and
    /// never optimizing), or both at once (all of the group asked for first, then waited for).
    fn evaluator(&self, path: Path) -> Result<(), Disagreement> {
        let name = path.name();
        if path == Path::Baseline && cfg!(windows) {
            return Ok(()); // no baseline tier on Windows: `Strategy::Baseline`
        }
        let (baseline, optimize, tier) = match path {
            Path::Baseline => (0, u64::MAX, Tier::Baseline),
            Path::Optimized => (0, 0, Tier::Optimized),
            _ => (u64::MAX, u64::MAX, Tier::Interpreting),
        };
        let evaluators = self
            .srcs
            .iter()
            .enumerate()
            .map(|(i, src)| {
                Evaluator::<T>::with_thresholds(src, &VARS, baseline, optimize)
                    .map_err(|e| Self::failed(name, i, e))
            })
            .collect::<Result<Vec<_>, _>>()?;
        // The first evaluation compiles the baseline tier; the second asks for optimized code.
        for _ in 0..2 {
            for e in &evaluators {
                e.eval(&[T::default(); 3])
                    .map_err(|e| Self::failed(name, 0, e))?;
            }
        }
        let start = Instant::now();
        for (i, e) in evaluators.iter().enumerate() {
            // Optimized code comes from a background thread: after the baseline tier's, or on
            // Windows, which has none, while interpreting.
            while e.tier() != tier
                && (e.tier() == Tier::Baseline || cfg!(windows) && e.tier() == Tier::Interpreting)
                && start.elapsed() < Duration::from_secs(120)
            {
                std::thread::sleep(Duration::from_micros(50));
            }
            if e.tier() != tier {
                return Err(Self::failed(name, i, format!("tier {:?}", e.tier())));
            }
        }
        for (i, e) in evaluators.iter().enumerate() {
            let got = self
                .rows
                .iter()
                .map(|r| e.eval(r))
                .collect::<Result<Vec<T>, _>>()
                .map_err(|e| Self::failed(name, i, e))?;
            self.compare(name, i, 0, &got)?;
        }
        Ok(())
    }
}
