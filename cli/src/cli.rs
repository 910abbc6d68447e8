//! The command line: the demo and its subcommands.
//!
//! Output goes through [`Out`], which turns a write error into a value instead of `println!`'s
//! panic: a closed pipe (`fnjit | head -1`) ends the program quietly with status 141, as a Unix
//! tool killed by SIGPIPE reports in the shell; any other write error (a full disk,
//! `> /dev/full`) is a one-line error with status 2.

use crate::bench::{self, Failure as BenchFailure, Group};
use clap::{Args, Parser, Subcommand};
use fnjit::check::{Inputs, Report, check, inc_reference};
use fnjit::disasm::{self, Line, Verdict, compare, disassemble, instructions, listing};
use fnjit::targets::{GIST_BYTES, HAND_ENCODINGS, compile_inc_for};
use fnjit::{Error, Formula, HandStub, Jit, JitFunction, Number, Scalar, compile_inc};
use indicatif::{ProgressBar, ProgressStyle};
use std::io::{self, Read as _, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use target_lexicon::{Architecture, Triple};

/// x + 1, JIT-compiled by Cranelift and proven equal to the gist's hand-written bytes. With no subcommand: the whole demo (IR, both disassemblies, f(41), the check on all 2^32 inputs).
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

/// The longest `fnjit spin` runs, in seconds.
const MAX_SECONDS: f64 = 3600.0;
/// The most pseudo-random inputs `--samples` takes: 2^40, about an hour of checking.
const MAX_SAMPLES: i64 = 1 << 40;

#[derive(Subcommand)]
enum Command {
    /// Print the Cranelift IR (CLIF) of x + 1.
    Ir,
    /// Disassemble Cranelift's code and the hand stub side by side.
    Asm,
    /// Run Cranelift's code, the stub and Rust's x.wrapping_add(1) side by side.
    Check {
        /// Check all 2^32 inputs (the default is the edge values and --samples random inputs).
        #[arg(long, conflicts_with = "samples")]
        exhaustive: bool,
        /// How many pseudo-random inputs follow the edge values (0 to 2^40).
        #[arg(long, default_value_t = 1_000_000, allow_negative_numbers = true, value_parser = samples)]
        samples: u64,
    },
    /// JIT-compile a formula (an i32 expression of x by default): print its CLIF, its machine code and a value.
    #[command(after_help = GRAMMAR)]
    Expr(ExprArgs),
    /// Compile x + 1 for every Cranelift target and set it beside the hand encoding.
    Targets,
    /// Call the JIT'd x + 1 in a loop for a while, to point a profiler at (with FNJIT_PERF_MAP=1, `perf report` names the JIT code).
    Spin {
        /// How long to spin, in seconds (0 to 3600).
        #[arg(long, default_value_t = 2.0, allow_negative_numbers = true, value_parser = seconds)]
        seconds: f64,
    },
    /// Measure call cost, time to a callable function and check throughput, interleaved.
    Bench {
        /// Print the figures as JSON instead of a table.
        #[arg(long)]
        json: bool,
        /// Interleaved rounds per figure (1 to 10000).
        #[arg(long, default_value_t = 41, value_parser = clap::value_parser!(u16).range(1..=10_000))]
        rounds: u16,
        /// Also the long groups: the tiering curve to 10^7 calls, and a 10^7-row kernel on every core.
        #[arg(long)]
        long: bool,
    },
    /// Draw `fnjit bench --json` output as an SVG chart.
    Plot {
        /// The JSON file written by `fnjit bench --json`.
        json: PathBuf,
        /// Where to write the SVG.
        #[arg(short, long)]
        output: PathBuf,
    },
}

#[derive(Args)]
struct ExprArgs {
    /// The formula, e.g. "x * 3 + 1" or "-x" (a leading minus is part of it); `-` reads it from standard input.
    #[arg(
        allow_hyphen_values = true,
        required_unless_present = "file",
        conflicts_with = "file"
    )]
    source: Option<String>,
    /// Read the expression from this file (`-`: standard input), for expressions longer than the 128 KiB one argument may hold.
    #[arg(long, value_name = "PATH")]
    file: Option<PathBuf>,
    /// The formula's type: i32 (the default), i64 or f64.
    #[arg(long = "type", value_enum, default_value = "i32")]
    ty: FormulaType,
    /// The variables, comma-separated, in argument order (at most 6).
    #[arg(long, default_value = "x", value_delimiter = ',')]
    vars: Vec<String>,
    /// Evaluate at these values, comma-separated, one per variable (default: 41 for each).
    #[arg(long, allow_hyphen_values = true)]
    at: Option<String>,
    /// Run the JIT side by side with the interpreter: on all 2^32 inputs for i32 formulas of one variable, or on --samples.
    #[arg(long)]
    check: bool,
    /// Compile a kernel (a loop over columns) instead, run it over --rows generated rows and print ns per row.
    #[arg(long, conflicts_with_all = ["check", "at"])]
    kernel: bool,
    /// With --kernel: how many rows (1 to 100000000).
    #[arg(long, requires = "kernel", default_value_t = 1_000_000, value_parser = clap::value_parser!(u32).range(1..=100_000_000))]
    rows: u32,
    /// With --check: the edge values and this many pseudo-random inputs instead of all (0 to 2^40).
    #[arg(long, requires = "check", allow_negative_numbers = true, value_parser = samples)]
    samples: Option<u64>,
}

/// The type of `fnjit expr --type`.
#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum FormulaType {
    I32,
    I64,
    F64,
}

/// What `fnjit expr --help` prints after the options.
const GRAMMAR: &str = "\
Grammar of i32 and i64 formulas, tightest binding first; binary operators are left-associative:
  operand   x, 41, 0x2A, ( e )   literals are bit patterns of the type (0 to 0xFFFFFFFF for i32)
  unary     -e  ~e               wrapping negation, bitwise not
  5         *  /  %              wrapping product; quotient and remainder truncate toward
                                 zero and are total: a / 0 == -1, a % 0 == a,
                                 MIN / -1 == MIN, MIN % -1 == 0
  4         +  -                 wrapping
  3         <<  >>  >>>          shift left, arithmetic right, logical right, by the low
                                 5 (i32) or 6 (i64) bits of the amount
  2         &                    and
  1         ^                    xor
  0         |                    or
Grammar of f64 formulas (IEEE-754), tightest binding first:
  operand   x, 1.5, .5, 1e-3, pi, e, inf, nan, ( e ), f(a, ...)
  power     a ** b               f64::powf, right-associative: 2**3**2 == 512, -2**2 == -4
  unary     -e
  product   *  /  %              % is Rust's % (fmod)
  sum       +  -
  compare   <  <=  >  >=  ==  != 1.0 or 0.0
  choice    c ? a : b            a when c != 0 (a NaN c picks a); right-associative
  functions abs sqrt cbrt exp exp2 ln log2 log10 pow sin cos tan asin acos atan atan2
            sinh cosh tanh floor ceil round trunc min max hypot log1p expm1 copysign:
            Rust's f64 methods (log1p is ln_1p, expm1 exp_m1); asinh acosh atanh: C's
            (the libm crate); rint rounds half to even; sign is NumPy's; nextafter is C's;
            min and max give NaN if either argument is NaN
Spaces, tabs and newlines may stand between tokens. At most 1 MiB, 1000 levels of nesting
and 100000 operators.";

fn seconds(text: &str) -> Result<f64, String> {
    let value: f64 = text
        .parse()
        .map_err(|_| format!("'{text}' is not a number of seconds (give 0 to 3600)"))?;
    if (0.0..=MAX_SECONDS).contains(&value) {
        Ok(value)
    } else {
        Err(format!("{text} is out of range: give 0 to 3600 seconds"))
    }
}

fn samples(text: &str) -> Result<u64, String> {
    match text.parse::<i64>() {
        Ok(n) if (0..=MAX_SAMPLES).contains(&n) => Ok(n as u64),
        _ => Err(format!(
            "{text} is out of range: give a whole number from 0 to 2^40 ({MAX_SAMPLES})"
        )),
    }
}

/// Why a command failed.
enum Failure {
    Error(Error),
    Mismatch(Report),
    /// Writing to standard output failed.
    Output(io::Error),
    /// Anything else, said in one line.
    Reason(String),
}

impl From<Error> for Failure {
    fn from(e: Error) -> Self {
        Failure::Error(e)
    }
}

impl From<io::Error> for Failure {
    fn from(e: io::Error) -> Self {
        Failure::Output(e)
    }
}

impl From<BenchFailure> for Failure {
    fn from(e: BenchFailure) -> Self {
        match e {
            BenchFailure::Error(e) => Failure::Error(e),
            other => Failure::Reason(other.to_string()),
        }
    }
}

/// Standard output, written with `?` instead of a panic.
type Out = io::StdoutLock<'static>;

/// Runs the `fnjit` command line on the process's arguments.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let mut out = io::stdout().lock();
    let result = run(cli.command, &mut out).and_then(|()| out.flush().map_err(Failure::from));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Output(e)) if e.kind() == io::ErrorKind::BrokenPipe => ExitCode::from(141),
        Err(Failure::Output(e)) => fail(&format!("cannot write to standard output: {e}")),
        Err(Failure::Error(e)) => fail(&chain(&e)),
        Err(Failure::Reason(reason)) => fail(&reason),
        Err(Failure::Mismatch(report)) => {
            let first = report.first_mismatches.first().map(|m| {
                let outs: Vec<_> = report
                    .names
                    .iter()
                    .zip(&m.outputs)
                    .map(|(n, o)| format!("{n} {o}"))
                    .collect();
                format!("; first at x = {}: {}", m.input, outs.join(", "))
            });
            eprintln!(
                "fnjit: mismatch: {} of {} inputs disagree{}",
                report.mismatches,
                report.checked,
                first.unwrap_or_default()
            );
            ExitCode::FAILURE
        }
    }
}

/// One line on stderr, status 2.
fn fail(message: &str) -> ExitCode {
    eprintln!("fnjit: error: {message}");
    ExitCode::from(2)
}

/// An error and its sources, each message once, joined as anyhow's `{:#}` joins them.
fn chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text = format!("{text}: {s}");
        source = s.source();
    }
    text
}

fn run(command: Option<Command>, out: &mut Out) -> Result<(), Failure> {
    match command {
        None => demo(out),
        Some(Command::Ir) => Ok(write!(out, "{}", compile_inc()?.ir())?),
        Some(Command::Asm) => {
            let (jit, stub) = both()?;
            Ok(write!(out, "{}", asm(&jit, &stub))?)
        }
        Some(Command::Check {
            exhaustive,
            samples,
        }) => {
            let inputs = if exhaustive {
                Inputs::All
            } else {
                Inputs::Quick { samples }
            };
            let (jit, stub) = both()?;
            side_by_side(out, &jit, &stub, inputs)
        }
        Some(Command::Expr(args)) => expr(out, &args),
        Some(Command::Targets) => Ok(write!(out, "{}", targets_table()?)?),
        Some(Command::Spin { seconds }) => spin(out, seconds),
        Some(Command::Bench { json, rounds, long }) => {
            let bar = ProgressBar::new(Group::steps(long).len() as u64).with_style(
                ProgressStyle::with_template("{bar:30} {pos}/{len} {msg} ({elapsed})")
                    .unwrap_or_else(|_| ProgressStyle::default_bar()),
            );
            let results = bench::run(usize::from(rounds), long, &|group: Group| {
                if bar.message().is_empty() {
                    bar.set_message(group.title());
                } else {
                    bar.inc(1);
                    bar.set_message(group.title());
                }
            });
            bar.finish_and_clear();
            let results = results?;
            if json {
                let text = serde_json::to_string_pretty(&results)
                    .map_err(|e| Failure::Reason(e.to_string()))?;
                Ok(writeln!(out, "{text}")?)
            } else {
                Ok(write!(out, "{}", bench::table(&results))?)
            }
        }
        Some(Command::Plot { json, output }) => plot(&json, &output),
    }
}

fn both() -> Result<(JitFunction, HandStub), Error> {
    Ok((compile_inc()?, HandStub::gist()?))
}

fn demo(out: &mut Out) -> Result<(), Failure> {
    let (jit, stub) = both()?;
    let hand = HandStub::encoding()?;
    if hand.bytes == GIST_BYTES {
        writeln!(
            out,
            "fnjit: x + 1, JIT-compiled by Cranelift, next to the gist's hand-written bytes\n"
        )?;
    } else {
        // AArch64 cannot run x86-64 bytes; Windows x64 passes the argument in ecx, not edi.
        let why = if cfg!(target_arch = "x86_64") {
            "read the System V argument register, edi: Windows x64 passes it in ecx"
        } else {
            "are x86-64 code and cannot run here"
        };
        writeln!(
            out,
            "fnjit: x + 1, JIT-compiled by Cranelift, next to the gist's function hand-encoded \
             for {} ({});\nthe gist's own bytes, {} ({}), {why}\n",
            if cfg!(windows) {
                "Windows x64".to_owned()
            } else {
                host_arch().to_string()
            },
            hand.asm,
            disasm::hex(&GIST_BYTES),
            HAND_ENCODINGS[0].asm
        )?;
    }
    writeln!(out, "1. Cranelift IR (CLIF)\n\n{}", jit.ir())?;
    writeln!(
        out,
        "2. Machine code (= shared by both, + Cranelift's frame)\n\n{}",
        asm(&jit, &stub)
    )?;
    writeln!(
        out,
        "3. Calls\n\n   f(41) = {} from Cranelift, {} from the hand stub, {} from Rust\n",
        jit.call(41),
        stub.call(41),
        inc_reference(41)
    )?;
    writeln!(out, "4. Every input, side by side on all cores\n")?;
    out.flush()?; // the check takes seconds: show what is done so far
    side_by_side(out, &jit, &stub, Inputs::All)
}

/// The architecture fnjit runs on.
fn host_arch() -> Architecture {
    Triple::host().architecture
}

/// Both listings and the verdict.
fn asm(jit: &JitFunction, stub: &HandStub) -> String {
    let arch = host_arch();
    let (j, s) = (
        disassemble(arch, jit.code()),
        disassemble(arch, stub.code()),
    );
    let split = |code| instructions(arch, code);
    let verdict = compare(&split(jit.code()), &split(stub.code()));
    let stub_mark = if matches!(verdict, Verdict::Different { .. }) {
        '+'
    } else {
        '='
    };
    format!(
        "   Cranelift, {} bytes at {:p} ({}):\n{}\n   hand stub, {} bytes at {:p} ({}):\n{}\n   verdict: {verdict}; the shared body is {}\n",
        jit.code().len(),
        jit.code().as_ptr(),
        placement(jit.is_near()),
        listing(&j, |i| if verdict.is_shared(i) { '=' } else { '+' }),
        stub.code().len(),
        stub.code().as_ptr(),
        placement(stub.is_near()),
        listing(&s, |_| stub_mark),
        shared_body(&s)
    )
}

/// The hand-written body (all but its `ret`) as text, e.g. `lea eax,[rdi+1]`.
fn shared_body(stub: &[Line]) -> String {
    let body = stub.split_last().map_or(&[][..], |(_, body)| body);
    body.iter()
        .map(|l| l.text.as_str())
        .collect::<Vec<_>>()
        .join("; ")
}

fn placement(near: bool) -> &'static str {
    if near {
        "near the program's code"
    } else {
        "far from the program's code: no room near it"
    }
}

/// `x + 1` for every target whose backend this build has, beside its hand encoding; the others
/// are listed as left out.
fn targets_table() -> Result<String, Error> {
    use fnjit::disasm::hex;
    use std::fmt::Write as _;
    let mut out = format!(
        "{:<28} {:<17} {:<36} {:<24} {}\n",
        "target", "calling conv", "Cranelift", "by hand", "verdict"
    );
    let mut left_out = 0;
    for hand in &HAND_ENCODINGS {
        let (call_conv, code, verdict) = match compile_inc_for(hand.triple) {
            Ok(c) => (
                c.call_conv().to_owned(),
                hex(c.code()),
                c.verdict(hand).to_string(),
            ),
            Err(Error::BackendNotBuilt { .. }) => {
                left_out += 1;
                (
                    "-".to_owned(),
                    "(backend not built)".to_owned(),
                    "-".to_owned(),
                )
            }
            Err(e) => return Err(e),
        };
        let _ = writeln!(
            out,
            "{:<28} {call_conv:<17} {code:<36} {:<24} {verdict}",
            hand.triple,
            hex(hand.bytes),
        );
    }
    if left_out > 0 {
        let _ = writeln!(
            out,
            "\n{left_out} backends left out of this build: `cargo install --path cli --features \
             all-targets` builds them all"
        );
    }
    Ok(out)
}

fn side_by_side(
    out: &mut Out,
    jit: &JitFunction,
    stub: &HandStub,
    inputs: Inputs,
) -> Result<(), Failure> {
    run_check(
        out,
        ["rust", "cranelift", "stub"],
        |x| [inc_reference(x), jit.call(x), stub.call(x)],
        inputs,
    )
}

/// Runs `check` with a progress bar and prints the report; a disagreement is a failure.
fn run_check<const N: usize>(
    out: &mut Out,
    names: [&'static str; N],
    f: impl Fn(i32) -> [i32; N] + Sync,
    inputs: Inputs,
) -> Result<(), Failure> {
    let bar = ProgressBar::new(inputs.count()).with_style(
        ProgressStyle::with_template(
            "   {bar:40} {percent:>3}%  {human_pos}/{human_len} inputs, {eta} left",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let report = check(names, f, inputs, &|n| bar.inc(n));
    bar.finish_and_clear();
    writeln!(out, "   {report}")?;
    if report.agree() {
        Ok(())
    } else {
        Err(Failure::Mismatch(report))
    }
}

fn plot(json: &Path, output: &Path) -> Result<(), Failure> {
    let io = |what: &str, path: &Path, e: &dyn std::fmt::Display| {
        Failure::Reason(format!("{what} {}: {e}", path.display()))
    };
    let text = std::fs::read_to_string(json).map_err(|e| io("cannot read", json, &e))?;
    let results: bench::Results = serde_json::from_str(&text)
        .map_err(|e| io("not the JSON of `fnjit bench --json`:", json, &e))?;
    let svg = crate::plot::svg(&results).map_err(|e| io("cannot draw", json, &e))?;
    std::fs::write(output, svg).map_err(|e| io("cannot write", output, &e))
}

fn spin(out: &mut Out, seconds: f64) -> Result<(), Failure> {
    let f = compile_inc()?;
    let span = std::time::Duration::from_secs_f64(seconds);
    let until = std::time::Instant::now() + span;
    let (mut x, mut calls) = (0i32, 0u64);
    while std::time::Instant::now() < until {
        for _ in 0..1_000_000 {
            x = f.call(x);
        }
        calls += 1_000_000;
    }
    Ok(writeln!(
        out,
        "{calls} calls of the JIT'd x + 1 at {:p}; x = {x}",
        f.code().as_ptr()
    )?)
}

/// The expression's text: the argument, or a file, or standard input for `-`.
fn expr_source(args: &ExprArgs) -> Result<String, Failure> {
    let path = match (&args.source, &args.file) {
        (Some(src), None) if src != "-" => return Ok(src.clone()),
        (Some(_), None) => Path::new("-"),
        (_, Some(path)) => path.as_path(),
        (None, None) => return Err(Failure::Reason("give an expression, or --file PATH".into())),
    };
    let mut bytes = Vec::new();
    let read = if path == Path::new("-") {
        io::stdin().lock().read_to_end(&mut bytes)
    } else {
        std::fs::File::open(path).and_then(|mut f| f.read_to_end(&mut bytes))
    };
    let name = if path == Path::new("-") {
        "standard input".to_owned()
    } else {
        path.display().to_string()
    };
    read.map_err(|e| Failure::Reason(format!("cannot read {name}: {e}")))?;
    String::from_utf8(bytes).map_err(|e| {
        Failure::Reason(format!(
            "{name} is not UTF-8 text (invalid byte at {})",
            e.utf8_error().valid_up_to()
        ))
    })
}

/// `fnjit expr`: the CLIF, the machine code, the value at `--at`, and optionally the check of the
/// JIT against the interpreter (all inputs for i32 of one variable, else the edges and
/// `--samples`).
fn expr(out: &mut Out, args: &ExprArgs) -> Result<(), Failure> {
    let source = expr_source(args)?;
    let vars: Vec<&str> = args.vars.iter().map(String::as_str).collect();
    match args.ty {
        FormulaType::I32 => typed_expr::<i32>(out, &source, &vars, args),
        FormulaType::I64 => typed_expr::<i64>(out, &source, &vars, args),
        FormulaType::F64 => typed_expr::<f64>(out, &source, &vars, args),
    }
}

/// What the command line needs of a formula type beyond [`Number`].
trait CliNumber: Number + std::str::FromStr + std::fmt::Display {
    /// The inputs where code of this type most often goes wrong.
    const EDGES: &'static [Self];
    /// Where `--at` evaluates by default.
    const FORTY_ONE: Self;
    /// A pseudo-random value from 64 random bits.
    fn from_random(bits: u64) -> Self;
    /// A column value from 64 random bits: for f64 in [-4, 4), not any bit pattern.
    fn from_column(bits: u64) -> Self {
        Self::from_random(bits)
    }
    /// Equal for the check: bit for bit, and any NaN equals any NaN.
    fn same(a: Self, b: Self) -> bool;
}

impl CliNumber for i32 {
    const EDGES: &'static [i32] = &fnjit::check::EDGES;
    const FORTY_ONE: i32 = 41;
    fn from_random(bits: u64) -> i32 {
        bits as i32
    }
    fn same(a: i32, b: i32) -> bool {
        a == b
    }
}

impl CliNumber for i64 {
    const EDGES: &'static [i64] = &fnjit::check::I64_EDGES;
    const FORTY_ONE: i64 = 41;
    fn from_random(bits: u64) -> i64 {
        bits as i64
    }
    fn same(a: i64, b: i64) -> bool {
        a == b
    }
}

impl CliNumber for f64 {
    const EDGES: &'static [f64] = &fnjit::check::F64_EDGES;
    const FORTY_ONE: f64 = 41.0;
    fn from_random(bits: u64) -> f64 {
        f64::from_bits(bits)
    }
    fn from_column(bits: u64) -> f64 {
        (bits >> 11) as f64 / (1u64 << 53) as f64 * 8.0 - 4.0
    }
    fn same(a: f64, b: f64) -> bool {
        fnjit::check::same_f64(a, b)
    }
}

macro_rules! same_type {
    ($t:ty, $i:tt) => {
        $t
    };
}

fn typed_expr<T: CliNumber>(
    out: &mut Out,
    source: &str,
    vars: &[&str],
    args: &ExprArgs,
) -> Result<(), Failure> {
    if args.kernel {
        return kernel_cmd::<T>(out, &Formula::<T>::parse(source, vars)?, args.rows as usize);
    }
    if T::TYPE == i32::TYPE && vars == ["x"] {
        return expr_i32(out, source, args);
    }
    let formula = Formula::<T>::parse(source, vars)?;
    let at: Vec<T> = match &args.at {
        None => vec![T::FORTY_ONE; vars.len()],
        Some(text) => text
            .split(',')
            .map(|v| {
                v.trim().parse::<T>().map_err(|_| {
                    Failure::Reason(format!("--at: '{v}' is not a value of the formula's type"))
                })
            })
            .collect::<Result<_, _>>()?,
    };
    if at.len() != vars.len() {
        return Err(Failure::Reason(format!(
            "--at gives {} values for {} variables: give one per variable",
            at.len(),
            vars.len()
        )));
    }
    let mut jit = Jit::new()?;
    macro_rules! arities {
        ($($n:literal => ($($i:tt)*)),*) => {
            match vars.len() {
                $($n => {
                    let f = jit.compile_formula::<($(same_type!(T, $i),)*), T>(&formula)?;
                    show_formula(out, &formula, f.ir(), f.code(), |_a: &[T]| f.call(($(_a[$i],)*)), &at, args)
                })*
                n => Err(Failure::Reason(format!(
                    "{n} variables: a scalar function takes at most 6"
                ))),
            }
        };
    }
    arities!(0 => (), 1 => (0), 2 => (0 1), 3 => (0 1 2), 4 => (0 1 2 3), 5 => (0 1 2 3 4), 6 => (0 1 2 3 4 5))
}

fn show_formula<T: CliNumber>(
    out: &mut Out,
    formula: &Formula<T>,
    ir: &str,
    code: &[u8],
    call: impl Fn(&[T]) -> T,
    at: &[T],
    args: &ExprArgs,
) -> Result<(), Failure> {
    writeln!(out, "{ir}")?;
    writeln!(
        out,
        "machine code, {} bytes at {:p}:",
        code.len(),
        code.as_ptr()
    )?;
    write!(out, "{}", listing(&disassemble(host_arch(), code), |_| ' '))?;
    let shown: Vec<String> = at.iter().map(T::to_string).collect();
    writeln!(
        out,
        "\nf({}) = {} (the interpreter says {})",
        shown.join(", "),
        call(at),
        formula.eval(at)?
    )?;
    if !args.check {
        return Ok(());
    }
    let samples = args.samples.unwrap_or(1_000_000);
    let n = at.len();
    let mut values = vec![T::FORTY_ONE; n];
    let (mut checked, mut first_mismatch) = (0u64, None);
    let start = std::time::Instant::now();
    let edges = T::EDGES.len() as u64;
    for i in 0..edges.pow(n.min(2) as u32) + samples {
        for (k, v) in values.iter_mut().enumerate() {
            *v = if i < edges.pow(n.min(2) as u32) {
                // every pair of edges for the first two variables, the rest follow the first
                let e = if k == 1 { i / edges } else { i % edges };
                T::EDGES[e as usize]
            } else {
                T::from_random(splitmix64(i.wrapping_mul(7).wrapping_add(k as u64)))
            };
        }
        let (jit, oracle) = (call(&values), formula.eval(&values)?);
        checked += 1;
        if !T::same(jit, oracle) && first_mismatch.is_none() {
            first_mismatch = Some((values.clone(), jit, oracle));
        }
    }
    writeln!(out)?;
    match first_mismatch {
        None => Ok(writeln!(
            out,
            "   agree on {checked} inputs (the edges, then random) in {:.1} s",
            start.elapsed().as_secs_f64()
        )?),
        Some((values, jit, oracle)) => {
            let shown: Vec<String> = values.iter().map(T::to_string).collect();
            Err(Failure::Reason(format!(
                "mismatch: at ({}) the JIT gives {jit}, the interpreter {oracle}",
                shown.join(", ")
            )))
        }
    }
}

/// `fnjit expr --kernel`: the loop's CLIF, then ns per row for `eval` and `eval_par` over
/// generated columns, and every row checked against the interpreter.
fn kernel_cmd<T: CliNumber>(
    out: &mut Out,
    formula: &Formula<T>,
    rows: usize,
) -> Result<(), Failure> {
    let kernel = Jit::new()?.compile_kernel(formula)?;
    writeln!(out, "{}", kernel.ir())?;
    writeln!(
        out,
        "{} bytes of machine code; {} rows a vector",
        kernel.code().len(),
        kernel.lanes()
    )?;
    let columns: Vec<Vec<T>> = (0..formula.vars().len())
        .map(|c| {
            (0..rows)
                .map(|r| T::from_column(splitmix64((c as u64) << 40 ^ r as u64)))
                .collect()
        })
        .collect();
    let slices: Vec<&[T]> = columns.iter().map(Vec::as_slice).collect();
    let mut result = vec![T::FORTY_ONE; rows];
    let mut time = |par: bool| -> Result<f64, Failure> {
        let mut samples = Vec::new();
        for _ in 0..7 {
            let start = std::time::Instant::now();
            if par {
                kernel.eval_par(&slices, &mut result)?;
            } else {
                kernel.eval(&slices, &mut result)?;
            }
            samples.push(start.elapsed().as_secs_f64() * 1e9 / rows as f64);
        }
        samples.sort_by(f64::total_cmp);
        Ok(samples[samples.len() / 2])
    };
    let (one, all) = (time(false)?, time(true)?);
    let threads = std::thread::available_parallelism().map_or(1, usize::from);
    writeln!(
        out,
        "\n{rows} rows: {one:.2} ns/row with eval, {all:.2} ns/row with eval_par on {threads} threads (medians of 7)"
    )?;
    let mut args = vec![T::FORTY_ONE; slices.len()];
    for r in 0..rows {
        for (a, c) in args.iter_mut().zip(&slices) {
            *a = c[r];
        }
        let want = formula.eval(&args)?;
        if !T::same(result[r], want) {
            return Err(Failure::Reason(format!(
                "mismatch at row {r}: the kernel gives {}, the interpreter {want}",
                result[r]
            )));
        }
    }
    Ok(writeln!(out, "every row agrees with the interpreter")?)
}

/// A well-mixed 64-bit function of `i` (SplitMix64's finalizer).
fn splitmix64(i: u64) -> u64 {
    let mut z = i.wrapping_mul(0x9E37_79B9_7F4A_7C15).wrapping_add(0x5EED);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The i32 expression of `x`: as before formulas, with the exhaustive check.
fn expr_i32(out: &mut Out, source: &str, args: &ExprArgs) -> Result<(), Failure> {
    let at: i32 = match &args.at {
        None => 41,
        Some(text) => text
            .trim()
            .parse()
            .map_err(|_| Failure::Reason(format!("--at: '{text}' is not an i32")))?,
    };
    let parsed = fnjit::Expr::parse(source).map_err(Error::from)?;
    let f = Jit::new()?.compile_formula::<i32, i32>(parsed.formula())?;
    writeln!(out, "{}", f.ir())?;
    writeln!(
        out,
        "machine code, {} bytes at {:p}:",
        f.code().len(),
        f.code().as_ptr()
    )?;
    write!(
        out,
        "{}",
        listing(&disassemble(host_arch(), f.code()), |_| ' ')
    )?;
    writeln!(
        out,
        "\nf({at}) = {} (the interpreter says {})",
        f.call(at),
        parsed.eval(at)
    )?;
    if !args.check {
        return Ok(());
    }
    let inputs = args
        .samples
        .map_or(Inputs::All, |samples| Inputs::Quick { samples });
    writeln!(out)?;
    run_check(
        out,
        ["interpreter", "jit"],
        |x| [parsed.eval(x), f.call(x)],
        inputs,
    )
}
