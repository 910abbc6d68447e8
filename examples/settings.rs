//! What each Cranelift setting costs or buys for `x + 1`: compile time (median of interleaved
//! rounds) and the bytes emitted. The README's "what each choice bought" table comes from here:
//! `cargo run --release --example settings`.

use cranelift_codegen::control::ControlPlane;
use cranelift_codegen::settings::{self, Configurable};
use cranelift_codegen::{Context, isa};
use cranelift_frontend::FunctionBuilderContext;
use std::time::Instant;

const VARIANTS: [(&str, &str, &str, &str); 5] = [
    ("speed", "backtracking", "true", "true"),
    ("speed", "backtracking", "false", "true"),
    ("speed", "backtracking", "false", "false"),
    ("none", "backtracking", "false", "false"),
    ("none", "single_pass", "false", "false"),
];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut isas = Vec::new();
    for (opt, regalloc, verifier, unwind) in VARIANTS {
        let mut flags = settings::builder();
        flags.set("opt_level", opt)?;
        flags.set("regalloc_algorithm", regalloc)?;
        flags.set("enable_verifier", verifier)?;
        flags.set("unwind_info", unwind)?;
        isas.push(
            isa::lookup(target_lexicon::Triple::host())?.finish(settings::Flags::new(flags))?,
        );
    }
    let (mut ctx, mut fctx) = (Context::new(), FunctionBuilderContext::new());
    let mut samples = vec![Vec::new(); isas.len()];
    let mut bytes = vec![Vec::new(); isas.len()];
    for _round in 0..31 {
        for (i, isa) in isas.iter().enumerate() {
            let start = Instant::now();
            for _ in 0..200 {
                fnjit::ir::build_inc(&mut ctx.func, &mut fctx, isa.frontend_config());
                let code = ctx
                    .compile(&**isa, &mut ControlPlane::default())
                    .map_err(|e| format!("{:?}", e.inner))?;
                bytes[i] = code.code_buffer().to_vec();
                ctx.clear();
            }
            samples[i].push(start.elapsed().as_nanos() as f64 / 200.0);
        }
    }
    println!(
        "{:<58} {:>12}  bytes",
        "opt_level / regalloc / verifier / unwind_info", "build+compile"
    );
    for (i, (opt, regalloc, verifier, unwind)) in VARIANTS.iter().enumerate() {
        samples[i].sort_by(f64::total_cmp);
        let median = samples[i][samples[i].len() / 2];
        println!(
            "{:<58} {:>9.2} µs  {} ({})",
            format!("{opt} / {regalloc} / verifier={verifier} / unwind_info={unwind}"),
            median / 1000.0,
            bytes[i].len(),
            bytes[i]
                .iter()
                .map(|b| format!("{b:02X}"))
                .collect::<Vec<_>>()
                .join(" ")
        );
    }
    Ok(())
}
