//! The command line: the demo and its subcommands.
//!
//! Output goes through [`Out`], which turns a write error into a value instead of `println!`'s
//! panic: a closed pipe (`fnjit | head -1`) ends the program quietly with status 141, as a Unix
//! tool killed by SIGPIPE reports in the shell; any other write error (a full disk,
//! `> /dev/full`) is a one-line error with status 2.

use clap::{Args, Parser, Subcommand};
use fnjit::bench::{self, Failure as BenchFailure};
use fnjit::check::{Inputs, Report, check};
use fnjit::disasm::{Line, Verdict, compare, disassemble_x86_64, instructions, listing};
use fnjit::{Error, HandStub, JitFunction, compile_inc, inc_reference};
use indicatif::{ProgressBar, ProgressStyle};
use std::io::{self, Read as _, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use target_lexicon::Architecture;

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
    /// Disassemble Cranelift's code and the gist's stub side by side.
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
    /// JIT-compile an integer expression of x: print its CLIF, its machine code and a value.
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
    /// The expression, e.g. "x * 3 + 1" or "-x" (a leading minus is part of it); `-` reads it from standard input.
    #[arg(
        allow_hyphen_values = true,
        required_unless_present = "file",
        conflicts_with = "file"
    )]
    source: Option<String>,
    /// Read the expression from this file (`-`: standard input), for expressions longer than the 128 KiB one argument may hold.
    #[arg(long, value_name = "PATH")]
    file: Option<PathBuf>,
    /// Evaluate at this x.
    #[arg(long, default_value_t = 41, allow_negative_numbers = true)]
    at: i32,
    /// Run the JIT side by side with the interpreter: on all 2^32 inputs, or on --samples.
    #[arg(long)]
    check: bool,
    /// With --check: the edge values and this many pseudo-random inputs instead of all (0 to 2^40).
    #[arg(long, requires = "check", allow_negative_numbers = true, value_parser = samples)]
    samples: Option<u64>,
}

/// What `fnjit expr --help` prints after the options.
const GRAMMAR: &str = "\
Grammar, tightest binding first; binary operators are left-associative:
  operand   x, 41, 0x2A, ( e )   literals 0 to 0xFFFFFFFF, read as i32 bit patterns
  unary     -e  ~e               wrapping negation, bitwise not
  5         *  /  %              wrapping product; quotient and remainder truncate toward
                                 zero and are total: a / 0 == -1, a % 0 == a,
                                 i32::MIN / -1 == i32::MIN, i32::MIN % -1 == 0
  4         +  -                 wrapping
  3         <<  >>  >>>          shift left, arithmetic right, logical right, by the low
                                 5 bits of the amount
  2         &                    and
  1         ^                    xor
  0         |                    or
Spaces, tabs and newlines may stand between tokens. At most 1 MiB and 1000 levels of nesting.";

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
        Some(Command::Targets) => Ok(write!(out, "{}", targets_table(&fnjit::target_rows()?))?),
        Some(Command::Spin { seconds }) => spin(out, seconds),
        Some(Command::Bench { json, rounds }) => {
            let results = bench::run(usize::from(rounds))?;
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
    writeln!(
        out,
        "fnjit: x + 1, JIT-compiled by Cranelift, next to the gist's hand-written bytes\n"
    )?;
    writeln!(out, "1. Cranelift IR (CLIF)\n\n{}", jit.ir())?;
    writeln!(
        out,
        "2. Machine code (= shared by both, + Cranelift's frame)\n\n{}",
        asm(&jit, &stub)
    )?;
    writeln!(
        out,
        "3. Calls\n\n   f(41) = {} from Cranelift, {} from the gist's stub, {} from Rust\n",
        jit.call(41),
        stub.call(41),
        inc_reference(41)
    )?;
    writeln!(out, "4. Every input, side by side on all cores\n")?;
    out.flush()?; // the check takes seconds: show what is done so far
    side_by_side(out, &jit, &stub, Inputs::All)
}

/// Both listings and the verdict.
fn asm(jit: &JitFunction, stub: &HandStub) -> String {
    let (j, s) = (
        disassemble_x86_64(jit.code()),
        disassemble_x86_64(stub.code()),
    );
    let x86 = |code| instructions(Architecture::X86_64, code);
    let verdict = compare(&x86(jit.code()), &x86(stub.code()));
    let stub_mark = if matches!(verdict, Verdict::Different { .. }) {
        '+'
    } else {
        '='
    };
    format!(
        "   Cranelift, {} bytes at {:p} ({}):\n{}\n   gist stub, {} bytes at {:p} ({}):\n{}\n   verdict: {verdict}; the shared body is {}\n",
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

fn targets_table(rows: &[fnjit::TargetRow]) -> String {
    use fnjit::disasm::hex;
    use std::fmt::Write as _;
    let mut out = format!(
        "{:<28} {:<17} {:<36} {:<24} {}\n",
        "target", "calling conv", "Cranelift", "by hand", "verdict"
    );
    for r in rows {
        let _ = writeln!(
            out,
            "{:<28} {:<17} {:<36} {:<24} {}",
            r.triple,
            r.call_conv,
            hex(&r.cranelift),
            hex(r.hand.bytes),
            r.verdict
        );
    }
    out
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
    let svg = fnjit::plot::svg(&results).map_err(|e| io("cannot draw", json, &e))?;
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

/// `fnjit expr`: the CLIF, the machine code, the value at `at`, and optionally the check of
/// the JIT against the interpreter (all inputs, or the edges and `--samples`).
fn expr(out: &mut Out, args: &ExprArgs) -> Result<(), Failure> {
    let source = expr_source(args)?;
    let parsed = fnjit::Expr::parse(&source).map_err(Error::from)?;
    let f = fnjit::compile_expr(&source)?;
    writeln!(out, "{}", f.ir())?;
    writeln!(
        out,
        "machine code, {} bytes at {:p}:",
        f.code().len(),
        f.code().as_ptr()
    )?;
    write!(out, "{}", listing(&disassemble_x86_64(f.code()), |_| ' '))?;
    let at = args.at;
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
