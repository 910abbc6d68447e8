//! What telling GDB (its JIT interface), perf's jitdump and the perf map adds to a compile: each
//! workload compiled and dropped by a `Jit` with no tool, and by one with each tool, in
//! interleaved rounds (medians). With no debugger attached; under gdb every new block of code
//! also stops the program while gdb reads it. `cargo run --release --example debug_tools`.
//! (Unwind info is always on, in every column: docs/profiling.md counts what it costs.)

use fnjit::{DebugTools, Formula, Jit, Strategy};
use std::hint::black_box;
use std::time::Instant;

const TOOLS: [(&str, DebugTools); 4] = [
    ("none", DebugTools::NONE),
    ("gdb", DebugTools::GDB),
    ("jitdump", DebugTools::JITDUMP),
    ("perf map", DebugTools::PERF_MAP),
];

#[derive(Clone, Copy)]
enum Work {
    Inc,
    Formula,
    Batch,
}

fn main() -> Result<(), fnjit::Error> {
    if !cfg!(target_os = "linux") {
        println!("GDB's JIT interface and perf's jitdump are Linux's: nothing to measure here");
        return Ok(());
    }
    let formula = Formula::<f64>::parse(
        "x*y-z/(x+1.5)+y*y*0.5-x/3.0+z*z*z-(x-y)*(y-z)+2.5*x-y/4.0+z",
        &["x", "y", "z"],
    )?;
    let sources: Vec<String> = (0..1000).map(|k| format!("x * {k} + y")).collect();
    let sources: Vec<&str> = sources.iter().map(String::as_str).collect();
    let workloads = [
        ("x + 1, compile_inc", Strategy::Optimizing, Work::Inc, 200),
        (
            "20-operator formula",
            Strategy::Optimizing,
            Work::Formula,
            20,
        ),
        (
            "batch of 1,000 formulas",
            Strategy::Optimizing,
            Work::Batch,
            1,
        ),
        (
            "20-operator formula, baseline",
            Strategy::Baseline,
            Work::Formula,
            500,
        ),
        (
            "batch of 1,000 formulas, baseline",
            Strategy::Baseline,
            Work::Batch,
            5,
        ),
    ];
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".to_owned());
    println!(
        "{cpu}, {} cores; medians of 31 interleaved rounds, hot",
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );
    println!(
        "{:<36} {:>12} {:>18} {:>18} {:>18}",
        "compile and drop (µs)", "no tool", "+ gdb", "+ jitdump", "+ perf map"
    );
    for (name, strategy, work, repeat) in workloads {
        let mut jits = Vec::new();
        for (_, tools) in TOOLS {
            let mut jit = Jit::with_strategy(strategy)?;
            jit.set_debug_tools(tools)?;
            jits.push(jit);
        }
        let mut samples = vec![Vec::new(); jits.len()];
        for round in 0..31 {
            for k in 0..jits.len() {
                let i = (k + round) % jits.len();
                let jit = &mut jits[i];
                let start = Instant::now();
                for _ in 0..repeat {
                    match work {
                        Work::Inc => {
                            black_box(jit.compile_inc()?);
                        }
                        Work::Formula => {
                            black_box(jit.compile_formula::<(f64, f64, f64), f64>(&formula)?);
                        }
                        Work::Batch => {
                            black_box(
                                jit.compile_formulas::<(f64, f64), f64>(&sources, &["x", "y"])?,
                            );
                        }
                    }
                }
                samples[i].push(start.elapsed().as_nanos() as f64 / 1000.0 / f64::from(repeat));
            }
        }
        let medians: Vec<f64> = samples
            .iter_mut()
            .map(|s| {
                s.sort_by(f64::total_cmp);
                s[s.len() / 2]
            })
            .collect();
        let none = medians[0];
        let with = |i: usize| {
            format!(
                "{:+.2} ({:+.1} %)",
                medians[i] - none,
                100.0 * (medians[i] - none) / none
            )
        };
        println!(
            "{name:<36} {none:>12.2} {:>18} {:>18} {:>18}",
            with(1),
            with(2),
            with(3)
        );
    }
    #[cfg(target_os = "linux")]
    let _ = std::fs::remove_file(fnjit::debug::jitdump_path());
    let _ = std::fs::remove_file(fnjit::perf_map::path());
    Ok(())
}
