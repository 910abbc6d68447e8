//! Cranelift's own run tests (`tests/corpus/runtests/`, a pinned copy of wasmtime 48's
//! `cranelift/filetests/filetests/runtests`, with its licence) as an oracle: every function with
//! `; run:` lines in a file Cranelift runs natively on the host (`test run` and a `target` line
//! for its architecture), its signature set to the host's calling convention, goes through
//! `Jit::compile` and, where that refuses it, `Jit::compile_unchecked`; each run line is then
//! called through `Function<P, R>` and its results compared bit for bit with the expected ones.
//!
//! The test counts the functions whose signature fits fnjit's types, those the safe `compile`
//! accepts and those it refuses (by reason), prints the table (the README has it), and fails on
//! any wrong value, any panic, or the targets missed: ≥ 85 % of those functions fit a signature,
//! ≥ 85 % of those are accepted by `compile`. `FNJIT_CORPUS_VERBOSE=1` prints each refusal whole.

use cranelift_codegen::data_value::DataValue;
use cranelift_codegen::ir::immediates::{Ieee32, Ieee64};
use cranelift_codegen::ir::{Function, Type};
use cranelift_reader::{ParseOptions, RunCommand, parse_run_command, parse_test};
use fnjit::{Error, F32x4, F64x2, I8x16, I16x8, I32x4, I64x2, Jit, Params, Results, Scalar};
use std::collections::BTreeMap;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;

/// A value of the corpus as a Rust value of fnjit's types, and back.
trait Data: Scalar {
    fn from_data(v: &DataValue) -> Option<Self>;
    fn to_data(self) -> DataValue;
}

macro_rules! ints {
    ($($t:ty => $variant:ident),*) => {$(
        impl Data for $t {
            fn from_data(v: &DataValue) -> Option<$t> {
                match v {
                    DataValue::$variant(x) => Some(*x),
                    _ => None,
                }
            }
            fn to_data(self) -> DataValue {
                DataValue::$variant(self)
            }
        }
    )*};
}
ints!(i8 => I8, i16 => I16, i32 => I32, i64 => I64, i128 => I128);

impl Data for f32 {
    fn from_data(v: &DataValue) -> Option<f32> {
        match v {
            DataValue::F32(x) => Some(f32::from_bits(x.bits())),
            _ => None,
        }
    }
    fn to_data(self) -> DataValue {
        DataValue::F32(Ieee32::with_bits(self.to_bits()))
    }
}

impl Data for f64 {
    fn from_data(v: &DataValue) -> Option<f64> {
        match v {
            DataValue::F64(x) => Some(f64::from_bits(x.bits())),
            _ => None,
        }
    }
    fn to_data(self) -> DataValue {
        DataValue::F64(Ieee64::with_bits(self.to_bits()))
    }
}

macro_rules! vectors {
    ($($t:ty => [$lane:ty; $n:literal]),*) => {$(
        impl Data for $t {
            fn from_data(v: &DataValue) -> Option<$t> {
                let DataValue::V128(bytes) = v else { return None };
                const W: usize = 16 / $n;
                let lanes: [$lane; $n] = std::array::from_fn(|i| {
                    let mut b = [0u8; W];
                    b.copy_from_slice(&bytes[i * W..(i + 1) * W]);
                    <$lane>::from_le_bytes(b)
                });
                Some(lanes.into())
            }
            fn to_data(self) -> DataValue {
                let mut bytes = [0u8; 16];
                const W: usize = 16 / $n;
                for (i, lane) in self.to_array().iter().enumerate() {
                    bytes[i * W..(i + 1) * W].copy_from_slice(&lane.to_le_bytes());
                }
                DataValue::V128(bytes)
            }
        }
    )*};
}
vectors!(I8x16 => [i8; 16], I16x8 => [i16; 8], I32x4 => [i32; 4], I64x2 => [i64; 2],
    F32x4 => [f32; 4], F64x2 => [f64; 2]);

/// Arguments from a run line.
trait Args: Params {
    fn from_data(args: &[DataValue]) -> Option<Self>;
}

/// Results for a run line's comparison.
trait Rets: Results {
    fn to_data(self) -> Vec<DataValue>;
}

macro_rules! tuples {
    ($($n:literal: $($a:ident $i:tt),*;)*) => {$(
        impl<$($a: Data),*> Args for ($($a,)*) {
            #[allow(unused_variables, reason = "the empty tuple")]
            fn from_data(args: &[DataValue]) -> Option<Self> {
                (args.len() == $n).then_some(())?;
                Some(($($a::from_data(&args[$i])?,)*))
            }
        }
    )*};
}
tuples! {
    0: ;
    1: A 0;
    2: A 0, B 1;
    3: A 0, B 1, C 2;
    4: A 0, B 1, C 2, D 3;
    5: A 0, B 1, C 2, D 3, E 4;
    6: A 0, B 1, C 2, D 3, E 4, F 5;
}

impl<T: Data> Rets for T {
    fn to_data(self) -> Vec<DataValue> {
        vec![Data::to_data(self)]
    }
}

macro_rules! rets {
    ($($a:ident $i:tt),*) => {
        impl<$($a: Data),*> Rets for ($($a,)*) {
            fn to_data(self) -> Vec<DataValue> {
                vec![$(Data::to_data(self.$i)),*]
            }
        }
    };
}
rets!(A 0, B 1);
rets!(A 0, B 1, C 2);
rets!(A 0, B 1, C 2, D 3);

/// What became of one function.
enum Outcome {
    /// `Jit::compile` accepted it; its run lines were run.
    Accepted,
    /// `Jit::compile` refused it (the reason), `compile_unchecked` compiled it and its run lines
    /// were run.
    Unchecked(String),
    /// Both refused it: the reason `compile` gave, and `compile_unchecked`'s.
    Refused(String, String),
    /// The host's C ABI cannot carry its signature as Cranelift does.
    Abi,
}

/// The run lines that gave a wrong value, as messages.
type Wrong = Vec<String>;

type Runner = fn(&mut Jit, &Function, &[RunCommand]) -> (Outcome, Wrong);

fn run<P: Args, R: Rets>(
    jit: &mut Jit,
    func: &Function,
    commands: &[RunCommand],
) -> (Outcome, Wrong) {
    let (f, outcome) = match jit.compile::<P, R>(func) {
        Ok(f) => (f, Outcome::Accepted),
        Err(Error::Abi { .. }) => return (Outcome::Abi, Vec::new()),
        Err(safe) => {
            if std::env::var_os("FNJIT_CORPUS_VERBOSE").is_some() {
                println!("refused {}: {safe}", func.name);
            }
            let reason = reason(&safe);
            // SAFETY: the corpus is Cranelift's own run tests, whose run lines are calls that
            // Cranelift's test runner makes: none traps, and each function touches only its own
            // stack slots or the memory its arguments name.
            match unsafe { jit.compile_unchecked::<P, R>(func) } {
                Ok(f) => (f, Outcome::Unchecked(reason)),
                Err(unchecked) => {
                    return (
                        Outcome::Refused(reason, self::reason(&unchecked)),
                        Vec::new(),
                    );
                }
            }
        }
    };
    let mut wrong = Vec::new();
    for command in commands {
        let result = command.run(|_, args| {
            let args = P::from_data(args).ok_or("the run line's arguments do not fit")?;
            Ok(f.call(args).to_data())
        });
        if let Err(message) = result {
            wrong.push(message);
        }
    }
    (outcome, wrong)
}

macro_rules! signatures {
    ($($key:literal => ($($p:ty),*) -> ($($r:ty),+);)*) => {
        /// The runner for a signature key (`"i64 i8 -> i8"`).
        #[allow(unused_parens, reason = "one result is a parenthesized type")]
        fn runner(key: &str) -> Option<Runner> {
            Some(match key {
                $($key => run::<($($p,)*), ($($r),+)>,)*
                _ => return None,
            })
        }
    };
}
include!("signatures.rs");

/// A refusal's category: the refused opcode, or the kind of error.
fn reason(error: &Error) -> String {
    match error {
        Error::UnsafeIr { inst, reason, .. } => {
            let inst = inst.split("  ;").next().unwrap_or(inst);
            let opcode = inst.split(" = ").last().unwrap_or(inst);
            let opcode = opcode.split([' ', '.']).next().unwrap_or(opcode);
            if reason.contains("recurse") {
                "a recursive call".into()
            } else if reason.contains("stack address") {
                "a stack address computed at run time".into()
            } else {
                format!("`{opcode}`")
            }
        }
        Error::Link { .. } => "a call of a function outside the batch".into(),
        Error::Verifier { .. } => "Cranelift's verifier".into(),
        Error::Cranelift(_) => "Cranelift cannot compile it for this host".into(),
        Error::Panicked { .. } => "Cranelift panicked (caught)".into(),
        other => format!("{other}"),
    }
}

/// A key of fnjit's types for `ty`, or `None` for a type fnjit does not pass.
fn type_name(ty: Type) -> Option<String> {
    let name = ty.to_string();
    let scalar = ["i8", "i16", "i32", "i64", "i128", "f32", "f64"].contains(&name.as_str());
    let vector = ["i8x16", "i16x8", "i32x4", "i64x2", "f32x4", "f64x2"].contains(&name.as_str());
    (scalar || vector).then_some(name)
}

/// Why a signature does not fit `Function<P, R>`, or its key.
fn key(func: &Function) -> Result<String, String> {
    let sig = &func.signature;
    let names = |params: &[cranelift_codegen::ir::AbiParam]| -> Result<Vec<String>, String> {
        params
            .iter()
            .map(|p| {
                if p.purpose != cranelift_codegen::ir::ArgumentPurpose::Normal {
                    return Err(format!("a {} parameter", p.purpose));
                }
                type_name(p.value_type).ok_or_else(|| format!("type {}", p.value_type))
            })
            .collect()
    };
    let (params, returns) = (names(&sig.params)?, names(&sig.returns)?);
    if params.len() > 6 {
        return Err("more than 6 parameters".into());
    }
    if returns.is_empty() || returns.len() > 4 {
        return Err(format!("{} results", returns.len()));
    }
    Ok(format!("{} -> {}", params.join(" "), returns.join(" ")))
}

#[derive(Default)]
struct Tally {
    with_run_lines: usize,
    /// In files that Cranelift's own test runner runs natively on this host.
    for_host: usize,
    fit: usize,
    accepted: usize,
    not_fit: BTreeMap<String, usize>,
    refused: BTreeMap<String, usize>,
    unchecked_ran: usize,
    neither: BTreeMap<String, usize>,
    run_lines: usize,
    wrong: Vec<String>,
    panics: Vec<String>,
    missing_lines: Vec<String>,
}

/// The functions of one corpus file with their run lines, in the host's calling convention.
fn functions(jit: &Jit, text: &str) -> Result<Vec<(Function, Vec<RunCommand>)>, String> {
    // Only the functions and their comments matter: `target`, `set` and `test` lines would ask
    // for backends and settings that are not fnjit's.
    let text: String = text
        .lines()
        .filter(|l| {
            !["target ", "set ", "test ", "feature "]
                .iter()
                .any(|p| l.starts_with(p))
        })
        .flat_map(|l| [l, "\n"])
        .collect();
    let options = ParseOptions {
        default_calling_convention: jit.call_conv(),
        ..ParseOptions::default()
    };
    let file = parse_test(&text, options).map_err(|e| e.to_string())?;
    let mut out = Vec::new();
    for (mut func, details) in file.functions {
        let mut commands = Vec::new();
        for comment in &details.comments {
            if let Some(command) =
                parse_run_command(comment.text, &func.signature).map_err(|e| e.to_string())?
            {
                commands.push(command);
            }
        }
        if !commands.is_empty() {
            func.signature.call_conv = jit.call_conv();
            out.push((func, commands));
        }
    }
    Ok(out)
}

fn run_corpus(dir: &Path) -> Tally {
    let mut tally = Tally::default();
    let mut paths: Vec<_> = std::fs::read_dir(dir)
        .expect("the corpus")
        .map(|e| e.expect("a corpus entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "clif"))
        .collect();
    paths.sort();
    let mut jit = Jit::new().expect("jit");
    for path in paths {
        let text = std::fs::read_to_string(&path).expect("a corpus file");
        let file = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        // Cranelift runs a file natively on the hosts its `target` lines name, when it has a
        // `test run` line; the rest are for other hosts or its interpreter only.
        let arch = if cfg!(target_arch = "aarch64") {
            "target aarch64"
        } else {
            "target x86_64"
        };
        let for_host = text.lines().any(|l| l.trim() == "test run")
            && text
                .lines()
                .any(|l| l == arch || l.starts_with(&format!("{arch} ")));
        let funcs = match functions(&jit, &text) {
            Ok(funcs) => funcs,
            Err(e) => {
                tally.panics.push(format!("{file}: does not parse: {e}"));
                continue;
            }
        };
        for (func, commands) in funcs {
            tally.with_run_lines += 1;
            if !for_host {
                continue;
            }
            tally.for_host += 1;
            let key = match key(&func) {
                Ok(key) => key,
                Err(why) => {
                    *tally.not_fit.entry(why).or_default() += 1;
                    continue;
                }
            };
            let Some(runner) = runner(&key) else {
                tally.missing_lines.push(key);
                continue;
            };
            let name = format!("{file}: {}", func.name);
            let result = catch_unwind(AssertUnwindSafe(|| runner(&mut jit, &func, &commands)));
            let Ok((outcome, wrong)) = result else {
                tally.panics.push(format!("{name}: panicked"));
                jit = Jit::new().expect("jit");
                continue;
            };
            match outcome {
                Outcome::Abi => {
                    *tally
                        .not_fit
                        .entry("a tuple or i128 the host's C ABI returns elsewhere".into())
                        .or_default() += 1;
                    continue;
                }
                Outcome::Accepted => tally.accepted += 1,
                Outcome::Unchecked(reason) => {
                    *tally.refused.entry(reason).or_default() += 1;
                    tally.unchecked_ran += 1;
                }
                Outcome::Refused(reason, unchecked) => {
                    *tally.refused.entry(reason).or_default() += 1;
                    *tally.neither.entry(unchecked).or_default() += 1;
                }
            }
            tally.fit += 1;
            tally.run_lines += commands.len();
            tally
                .wrong
                .extend(wrong.into_iter().map(|w| format!("{name}: {w}")));
        }
    }
    tally
}

fn percent(part: usize, whole: usize) -> f64 {
    100.0 * part as f64 / whole.max(1) as f64
}

fn table(t: &Tally) -> String {
    let mut out = String::new();
    let mut row = |what: &str, n: usize, of: usize| {
        out.push_str(&format!("| {what} | {n} | {:.1} % |\n", percent(n, of)));
    };
    row(
        "functions with run lines",
        t.with_run_lines,
        t.with_run_lines,
    );
    row(
        "run natively on this host by Cranelift's tests",
        t.for_host,
        t.with_run_lines,
    );
    row("signature fits `Function<P, R>`", t.fit, t.for_host);
    row("accepted by `Jit::compile`", t.accepted, t.fit);
    row(
        "refused by `compile`, run by `compile_unchecked`",
        t.unchecked_ran,
        t.fit,
    );
    row(
        "refused by both",
        t.fit - t.accepted - t.unchecked_ran,
        t.fit,
    );
    out.push_str(&format!(
        "\nrun lines run: {}; wrong: {}; panics: {}\n",
        t.run_lines,
        t.wrong.len(),
        t.panics.len()
    ));
    let mut list = |title: &str, map: &BTreeMap<String, usize>| {
        let mut items: Vec<_> = map.iter().collect();
        items.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
        out.push_str(&format!("\n{title}:\n"));
        for (why, n) in items {
            out.push_str(&format!("  {n:5}  {why}\n"));
        }
    };
    list("signatures that do not fit", &t.not_fit);
    list("refused by `compile`, by reason", &t.refused);
    list("refused by `compile_unchecked` as well", &t.neither);
    out
}

#[test]
fn every_run_test_of_cranelifts_corpus_agrees_and_most_are_accepted() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus/runtests");
    let t = run_corpus(&dir);
    let table = table(&t);
    println!("{table}");
    assert!(
        t.missing_lines.is_empty(),
        "add to tests/all/corpus/signatures.rs: {:?}",
        t.missing_lines
    );
    assert!(t.panics.is_empty(), "{:#?}", t.panics);
    assert!(
        t.wrong.is_empty(),
        "{} wrong:\n{}",
        t.wrong.len(),
        t.wrong.join("\n")
    );
    assert!(t.with_run_lines > 2_500, "{table}");
    // Windows x64 returns tuples through memory, where Cranelift uses registers: fnjit refuses
    // them there, and a third of the corpus returns more than one value.
    let fit_floor = if cfg!(windows) { 50.0 } else { 85.0 };
    assert!(percent(t.fit, t.for_host) >= fit_floor, "{table}");
    assert!(percent(t.accepted, t.fit) >= 85.0, "{table}");
}
