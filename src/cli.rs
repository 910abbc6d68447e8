//! The command line: the demo and its subcommands.

use clap::{Parser, Subcommand};
use fnjit::check::{Inputs, Report, check};
use fnjit::disasm::{Verdict, compare, disassemble_x86_64, line_bytes, listing, summary};
use fnjit::{Error, HandStub, JitFunction, compile_inc, inc_reference};
use indicatif::{ProgressBar, ProgressStyle};
use std::process::ExitCode;

/// x + 1, JIT-compiled by Cranelift and proven equal to the gist's hand-written bytes.
///
/// With no subcommand: the whole demo (IR, both disassemblies, f(41), the exhaustive check).
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Print the Cranelift IR (CLIF) of x + 1.
    Ir,
    /// Disassemble Cranelift's code and the gist's stub side by side.
    Asm,
    /// Run Cranelift's code, the stub and Rust's x.wrapping_add(1) side by side.
    Check {
        /// All 2^32 inputs (the default is the edge values and --samples random inputs).
        #[arg(long, conflicts_with = "samples")]
        exhaustive: bool,
        /// How many pseudo-random inputs follow the edge values.
        #[arg(long, default_value_t = 1_000_000)]
        samples: u64,
    },
    /// JIT-compile an integer expression of x: print its CLIF, machine code and a value.
    Expr {
        /// The expression, e.g. "x * 3 + 1" (see the README's grammar).
        source: String,
        /// Evaluate at this x.
        #[arg(long, default_value_t = 41, allow_hyphen_values = true)]
        at: i32,
        /// Run the JIT side by side with the interpreter: on all 2^32 inputs, or on --samples.
        #[arg(long)]
        check: bool,
        /// With --check: the edge values and this many pseudo-random inputs instead of all.
        #[arg(long, requires = "check")]
        samples: Option<u64>,
    },
    /// Compile x + 1 for every Cranelift target and set it beside the hand encoding.
    Targets,
    /// Call the JIT'd x + 1 in a loop for a while: something to point a profiler at (with
    /// FNJIT_PERF_MAP=1, `perf report` names the JIT code).
    Spin {
        /// How long to spin.
        #[arg(long, default_value_t = 2.0)]
        seconds: f64,
    },
    /// Measure call cost, time to a callable function and check throughput, interleaved.
    Bench {
        /// Print the figures as JSON instead of a table.
        #[arg(long)]
        json: bool,
        /// Interleaved rounds per figure.
        #[arg(long, default_value_t = 41)]
        rounds: usize,
    },
    /// Draw `fnjit bench --json` output as an SVG chart.
    Plot {
        /// The JSON file written by `fnjit bench --json`.
        json: std::path::PathBuf,
        /// Where to write the SVG.
        #[arg(short, long)]
        output: std::path::PathBuf,
    },
}

/// Why a command failed: a one-line reason for stderr.
enum Failure {
    Error(Error),
    Mismatch(Report),
    /// Anything else, said in one line.
    Reason(String),
}

impl From<Error> for Failure {
    fn from(e: Error) -> Self {
        Failure::Error(e)
    }
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        None => demo(),
        Some(Command::Ir) => compile_inc()
            .map(|f| print!("{}", f.ir()))
            .map_err(Failure::from),
        Some(Command::Asm) => both()
            .map(|(jit, stub)| print!("{}", asm(&jit, &stub)))
            .map_err(Failure::from),
        Some(Command::Check {
            exhaustive,
            samples,
        }) => {
            let inputs = if exhaustive {
                Inputs::All
            } else {
                Inputs::Quick { samples }
            };
            both()
                .map_err(Failure::from)
                .and_then(|(jit, stub)| side_by_side(&jit, &stub, inputs))
        }
        Some(Command::Expr {
            source,
            at,
            check,
            samples,
        }) => expr(&source, at, check.then_some(samples)),
        Some(Command::Targets) => fnjit::targets::target_rows()
            .map(|rows| print!("{}", fnjit::targets::table(&rows)))
            .map_err(Failure::from),
        Some(Command::Spin { seconds }) => spin(seconds),
        Some(Command::Bench { json, rounds }) => bench(json, rounds),
        Some(Command::Plot { json, output }) => plot(&json, &output),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Error(e)) => {
            eprintln!("fnjit: error: {e}");
            ExitCode::from(2)
        }
        Err(Failure::Reason(reason)) => {
            eprintln!("fnjit: error: {reason}");
            ExitCode::from(2)
        }
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

fn both() -> Result<(JitFunction, HandStub), Error> {
    Ok((compile_inc()?, HandStub::gist()?))
}

fn demo() -> Result<(), Failure> {
    let (jit, stub) = both()?;
    println!("fnjit: x + 1, JIT-compiled by Cranelift, next to the gist's hand-written bytes\n");
    println!("1. Cranelift IR (CLIF)\n\n{}", jit.ir());
    println!(
        "2. Machine code (= shared by both, + Cranelift's frame)\n\n{}",
        asm(&jit, &stub)
    );
    println!(
        "3. Calls\n\n   f(41) = {} from Cranelift, {} from the gist's stub, {} from Rust\n",
        jit.call(41),
        stub.call(41),
        inc_reference(41)
    );
    println!("4. Every input, side by side on all cores\n");
    side_by_side(&jit, &stub, Inputs::All)
}

/// Both listings and the one-line verdict.
fn asm(jit: &JitFunction, stub: &HandStub) -> String {
    let (j, s) = (
        disassemble_x86_64(jit.code()),
        disassemble_x86_64(stub.code()),
    );
    let (shared, stub_shared) = match compare(&line_bytes(&j), &line_bytes(&s)) {
        Verdict::SameBodyInFrame { shared } => (shared, true),
        Verdict::Identical => (vec![true; j.len()], true),
        Verdict::Different => (vec![false; j.len()], false),
    };
    format!(
        "   Cranelift, {} bytes at {:p} ({}):\n{}\n   gist stub, {} bytes at {:p} ({}):\n{}\n   {}\n",
        jit.code().len(),
        jit.code().as_ptr(),
        placement(jit.is_near()),
        listing(&j, |i| if shared[i] { '=' } else { '+' }),
        stub.code().len(),
        stub.code().as_ptr(),
        placement(stub.is_near()),
        listing(&s, |_| if stub_shared { '=' } else { '+' }),
        summary(&j, &s)
    )
}

fn placement(near: bool) -> &'static str {
    if near {
        "near the program's code"
    } else {
        "far from the program's code: no room near it"
    }
}

fn side_by_side(jit: &JitFunction, stub: &HandStub, inputs: Inputs) -> Result<(), Failure> {
    run_check(
        ["rust", "cranelift", "stub"],
        |x| [inc_reference(x), jit.call(x), stub.call(x)],
        inputs,
    )
}

/// Runs `check` with a progress bar and prints the report; a disagreement is a failure.
fn run_check<const N: usize>(
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
    println!("   {report}");
    if report.agree() {
        Ok(())
    } else {
        Err(Failure::Mismatch(report))
    }
}

fn bench(json: bool, rounds: usize) -> Result<(), Failure> {
    let results = fnjit::bench::run(rounds)?;
    if json {
        let text =
            serde_json::to_string_pretty(&results).map_err(|e| Failure::Reason(e.to_string()))?;
        println!("{text}");
    } else {
        print!("{}", fnjit::bench::table(&results));
    }
    Ok(())
}

fn plot(json: &std::path::Path, output: &std::path::Path) -> Result<(), Failure> {
    let io = |what: &str, path: &std::path::Path, e: &dyn std::fmt::Display| {
        Failure::Reason(format!("{what} {}: {e}", path.display()))
    };
    let text = std::fs::read_to_string(json).map_err(|e| io("cannot read", json, &e))?;
    let results: fnjit::bench::Results = serde_json::from_str(&text)
        .map_err(|e| io("not the JSON of `fnjit bench --json`:", json, &e))?;
    std::fs::write(output, fnjit::plot::svg(&results)).map_err(|e| io("cannot write", output, &e))
}

fn spin(seconds: f64) -> Result<(), Failure> {
    let f = compile_inc()?;
    let span = std::time::Duration::try_from_secs_f64(seconds.clamp(0.0, 3600.0))
        .map_err(|_| Failure::Reason(format!("--seconds {seconds}: give a number of seconds")))?;
    let until = std::time::Instant::now() + span;
    let (mut x, mut calls) = (0i32, 0u64);
    while std::time::Instant::now() < until {
        for _ in 0..1_000_000 {
            x = f.call(x);
        }
        calls += 1_000_000;
    }
    println!(
        "{calls} calls of the JIT'd x + 1 at {:p}; x = {x}",
        f.code().as_ptr()
    );
    Ok(())
}

/// `fnjit expr`: the CLIF, the machine code, the value at `at`, and optionally the check of
/// the JIT against the interpreter (`check`: `Some(None)` for all inputs, `Some(Some(n))` for
/// the edges and n samples).
fn expr(source: &str, at: i32, check: Option<Option<u64>>) -> Result<(), Failure> {
    let parsed = fnjit::Expr::parse(source).map_err(Error::from)?;
    let f = fnjit::compile_expr(source)?;
    println!("{}", f.ir());
    println!(
        "machine code, {} bytes at {:p}:",
        f.code().len(),
        f.code().as_ptr()
    );
    print!("{}", listing(&disassemble_x86_64(f.code()), |_| ' '));
    println!(
        "\nf({at}) = {} (the interpreter says {})",
        f.call(at),
        parsed.eval(at)
    );
    let Some(samples) = check else {
        return Ok(());
    };
    let inputs = samples.map_or(Inputs::All, |samples| Inputs::Quick { samples });
    println!();
    run_check(
        ["interpreter", "jit"],
        |x| [parsed.eval(x), f.call(x)],
        inputs,
    )
}
