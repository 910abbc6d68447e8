//! Formulas against the evaluators Rust users pick instead (fasteval, exmex, meval, evalexpr 11),
//! with a native Rust closure called through a function pointer as the floor: per evaluation,
//! and parse (plus compile) time. exmex's published benchmark set, `^` written `**`, plus a
//! 20-operator arithmetic formula in f64 and in i64.

use super::{Contender, Failure, Group, Row, Runner, interleaved};
use evalexpr::{ContextWithMutableVariables, HashMapContext, Value};
use fasteval::{Compiler, Evaler};
use fnjit::{Formula, Function, Jit, Strategy};
use std::hint::black_box;

/// An engine that evaluates formulas.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Engine {
    /// The same formula written as a Rust closure, called through a black-boxed `fn` pointer.
    Native,
    /// `compile_formula`, optimizing (Cranelift).
    Fnjit,
    /// `compile_formula` on a baseline `Jit` (`Strategy::Baseline`).
    FnjitBaseline,
    /// fasteval 0.2, compiled, with a callback namespace.
    Fasteval,
    /// exmex 0.21, `FlatEx::eval`.
    Exmex,
    /// meval 0.2, `bind3`.
    Meval,
    /// evalexpr 11, a prebuilt operator tree and a context set per evaluation.
    Evalexpr,
}

/// Engines in table order: the yardstick first.
pub const ENGINES: [Engine; 7] = [
    Engine::Native,
    Engine::Fnjit,
    Engine::FnjitBaseline,
    Engine::Fasteval,
    Engine::Exmex,
    Engine::Meval,
    Engine::Evalexpr,
];

/// A formula of the peer benchmark, in fnjit's syntax, and the same in Rust.
#[derive(Clone, Copy, Debug)]
pub struct PeerFormula {
    /// fnjit's spelling (`**` for power).
    pub src: &'static str,
    /// `Some` for an i64 formula (only evalexpr, of the peers, has integers).
    pub native_i64: Option<fn(i64, i64, i64) -> i64>,
    /// The f64 closure.
    pub native_f64: fn(f64, f64, f64) -> f64,
}

/// The formulas: exmex's benchmark set, then 20 operators in f64 and in i64.
pub const FORMULAS: [PeerFormula; 6] = [
    PeerFormula {
        src: "sin(x)+sin(y)+sin(z)",
        native_i64: None,
        native_f64: |x, y, z| x.sin() + y.sin() + z.sin(),
    },
    PeerFormula {
        src: "x**2.0+y*y+z**z",
        native_i64: None,
        native_f64: |x, y, z| x.powf(2.0) + y * y + z.powf(z),
    },
    PeerFormula {
        src: "x*0.02*sin(-(3.0*(2.0*sin(x-1.0/(sin(y*5.0)+(5.0-1.0/z))))))",
        native_i64: None,
        native_f64: |x, y, z| {
            x * 0.02
                * (-(3.0 * (2.0 * (x - 1.0 / ((y * 5.0).sin() + (5.0 - 1.0 / z))).sin()))).sin()
        },
    },
    PeerFormula {
        src: "x*0.2*5.0/4.0+x*2.0*4.0*1.0*1.0*1.0*1.0*1.0*1.0*1.0+7.0*sin(y)-z/sin(3.0/2.0/(1.0-x*4.0*1.0*1.0*1.0*1.0))",
        native_i64: None,
        native_f64: |x, y, z| {
            x * 0.2 * 5.0 / 4.0
                + x * 2.0 * 4.0 * 1.0 * 1.0 * 1.0 * 1.0 * 1.0 * 1.0 * 1.0
                + 7.0 * y.sin()
                - z / (3.0 / 2.0 / (1.0 - x * 4.0 * 1.0 * 1.0 * 1.0 * 1.0)).sin()
        },
    },
    PeerFormula {
        src: "x*y-z/(x+1.5)+y*y*0.5-x/3.0+z*z*z-(x-y)*(y-z)+2.5*x-y/4.0+z",
        native_i64: None,
        native_f64: |x, y, z| {
            x * y - z / (x + 1.5) + y * y * 0.5 - x / 3.0 + z * z * z - (x - y) * (y - z) + 2.5 * x
                - y / 4.0
                + z
        },
    },
    PeerFormula {
        src: "x*y-z/(x+3)+y*y*5-x%7+z*z*z-(x-y)*(y-z)+25*x-y/4+z",
        native_i64: Some(|x, y, z| {
            x * y - z / (x + 3) + y * y * 5 - x % 7 + z * z * z - (x - y) * (y - z) + 25 * x - y / 4
                + z
        }),
        native_f64: |_, _, _| 0.0,
    },
];

/// The formula in the peers' syntax: `^` for power, evalexpr's `math::` prefix where asked.
fn peer_syntax(src: &str, math_prefix: bool) -> String {
    let s = src.replace("**", "^");
    if math_prefix {
        s.replace("sin(", "math::sin(")
    } else {
        s
    }
}

/// The inputs every engine evaluates, in turn: x in [0.1, 0.9], y and z in [1, 3].
pub fn inputs() -> Vec<[f64; 3]> {
    (0..256)
        .map(|i| {
            let t = f64::from(i) / 256.0;
            [0.1 + 0.8 * t, 1.0 + 2.0 * t, 3.0 - 2.0 * t]
        })
        .collect()
}

/// The inputs of the i64 formula: small positive values, so no evaluator overflows.
pub fn int_inputs() -> Vec<[i64; 3]> {
    (0..256)
        .map(|i| [1 + i % 50, 2 + i % 37, 3 + i % 23])
        .collect()
}

/// A boxed evaluator of one formula at `[x, y, z]`.
pub type Eval<'a, T> = Box<dyn Fn([T; 3]) -> Result<T, String> + 'a>;

/// fnjit's two tiers' functions of one formula: optimizing, then baseline.
pub type Tiers<T> = [Function<(T, T, T), T>; 2];

/// The floor and fnjit: the native closure through a black-boxed `fn` pointer, and the compiled
/// functions of both tiers.
fn native_and_fnjit<'a, T: fnjit::Number>(
    jit: &'a Tiers<T>,
    native: fn(T, T, T) -> T,
) -> Vec<(Engine, Eval<'a, T>)> {
    let native: fn(T, T, T) -> T = black_box(native);
    vec![
        (
            Engine::Native,
            Box::new(move |[x, y, z]| Ok(native(x, y, z))),
        ),
        (
            Engine::Fnjit,
            Box::new(move |a| Ok(jit[0].call((a[0], a[1], a[2])))),
        ),
        (
            Engine::FnjitBaseline,
            Box::new(move |a| Ok(jit[1].call((a[0], a[1], a[2])))),
        ),
    ]
}

/// fnjit's functions of `src` in both tiers.
///
/// # Errors
/// As `Jit::compile_formula`.
pub fn both_tiers<T: fnjit::Number>(src: &str) -> Result<Tiers<T>, fnjit::Error> {
    let parsed = Formula::<T>::parse(src, &["x", "y", "z"])?;
    Ok([
        Jit::new()?.compile_formula(&parsed)?,
        Jit::with_strategy(Strategy::Baseline)?.compile_formula(&parsed)?,
    ])
}

/// Each engine's evaluator of the f64 formula `src` (`jit` is fnjit's compiled one, `native`
/// the closure), or why an engine could not parse it.
///
/// # Errors
/// The engine that refused `src`, and its message.
pub fn f64_engines<'a>(
    src: &str,
    jit: &'a Tiers<f64>,
    native: fn(f64, f64, f64) -> f64,
) -> Result<Vec<(Engine, Eval<'a, f64>)>, String> {
    let plain = peer_syntax(src, false);
    let fasteval_slab = {
        let mut slab = fasteval::Slab::new();
        let compiled = fasteval::Parser::new()
            .parse(&plain, &mut slab.ps)
            .map_err(|e| format!("fasteval: {e}"))?
            .from(&slab.ps)
            .compile(&slab.ps, &mut slab.cs);
        (slab, compiled)
    };
    let exmex = exmex::parse::<f64>(&plain).map_err(|e| format!("exmex: {e}"))?;
    let meval = plain
        .parse::<meval::Expr>()
        .and_then(|e| e.bind3("x", "y", "z"))
        .map_err(|e| format!("meval: {e}"))?;
    let evalexpr = evalexpr::build_operator_tree(&peer_syntax(src, true))
        .map_err(|e| format!("evalexpr: {e}"))?;
    let mut engines = native_and_fnjit(jit, native);
    engines.extend::<[(Engine, Eval<'a, f64>); 4]>([
        (
            Engine::Fasteval,
            Box::new(move |[x, y, z]| {
                let (slab, compiled) = &fasteval_slab;
                let mut ns = |name: &str, _: Vec<f64>| match name {
                    "x" => Some(x),
                    "y" => Some(y),
                    "z" => Some(z),
                    _ => None,
                };
                compiled.eval(slab, &mut ns).map_err(|e| e.to_string())
            }),
        ),
        (
            Engine::Exmex,
            Box::new(move |a| {
                use exmex::Express;
                // exmex orders variables alphabetically: x, y, z here.
                exmex
                    .eval(&a[..exmex.var_names().len()])
                    .map_err(|e| e.to_string())
            }),
        ),
        (Engine::Meval, Box::new(move |[x, y, z]| Ok(meval(x, y, z)))),
        (
            Engine::Evalexpr,
            Box::new(move |[x, y, z]| {
                let mut ctx = HashMapContext::new();
                for (name, v) in [("x", x), ("y", y), ("z", z)] {
                    ctx.set_value(name.into(), Value::Float(v))
                        .map_err(|e| e.to_string())?;
                }
                evalexpr
                    .eval_float_with_context(&ctx)
                    .map_err(|e| e.to_string())
            }),
        ),
    ]);
    Ok(engines)
}

/// Each engine's evaluator of the i64 formula `src`: native, fnjit and evalexpr (the other
/// peers have no integers).
///
/// # Errors
/// evalexpr's message when it cannot parse `src`.
pub fn i64_engines<'a>(
    src: &str,
    jit: &'a Tiers<i64>,
    native: fn(i64, i64, i64) -> i64,
) -> Result<Vec<(Engine, Eval<'a, i64>)>, String> {
    let tree = evalexpr::build_operator_tree(src).map_err(|e| format!("evalexpr: {e}"))?;
    let mut engines = native_and_fnjit(jit, native);
    engines.push((
        Engine::Evalexpr,
        Box::new(move |[x, y, z]| {
            let mut ctx = HashMapContext::new();
            for (name, v) in [("x", x), ("y", y), ("z", z)] {
                ctx.set_value(name.into(), Value::Int(v))
                    .map_err(|e| e.to_string())?;
            }
            tree.eval_int_with_context(&ctx).map_err(|e| e.to_string())
        }),
    ));
    Ok(engines)
}

/// Per evaluation and per parse-and-compile, each formula with each engine.
pub(super) fn run(rounds: usize) -> Result<Vec<Row>, Failure> {
    let mut rows = Vec::new();
    for (k, formula) in FORMULAS.iter().enumerate() {
        let k = k as u8;
        let mismatch = |what: String| Failure::Mismatch(format!("{}: {what}", formula.src));
        let (eval_rows, compile_rows) = match formula.native_i64 {
            None => {
                let f = both_tiers::<f64>(formula.src)?;
                let engines = f64_engines(formula.src, &f, formula.native_f64).map_err(mismatch)?;
                let inputs = inputs();
                for (engine, eval) in &engines {
                    for &a in &inputs[..8] {
                        let (got, want) = (
                            eval(a).map_err(mismatch)?,
                            (formula.native_f64)(a[0], a[1], a[2]),
                        );
                        let exact = matches!(engine, Engine::Fnjit | Engine::FnjitBaseline);
                        let close = (got - want).abs() <= 1e-9 * want.abs().max(1.0);
                        if (exact && got.to_bits() != want.to_bits()) || !close {
                            return Err(mismatch(format!(
                                "{engine:?} gives {got} at {a:?}, Rust {want}"
                            )));
                        }
                    }
                }
                let runners: Vec<Runner<'_>> = engines
                    .iter()
                    .map(|(engine, eval)| {
                        let inputs = &inputs;
                        let run: Box<dyn FnMut(u64) -> bool> = Box::new(move |n| {
                            let mut sum = 0.0f64;
                            for i in 0..n as usize {
                                sum += eval(inputs[i % inputs.len()]).unwrap_or(f64::NAN);
                            }
                            black_box(sum);
                            true // each engine was checked against Rust before timing
                        });
                        (
                            Contender::Engine {
                                engine: *engine,
                                formula: k,
                            },
                            run,
                        )
                    })
                    .collect();
                let evals = interleaved(Group::PeerEval, runners, 2_000, rounds)?;
                (evals, compile_times(formula.src, false, k, rounds)?)
            }
            Some(native) => {
                let f = both_tiers::<i64>(formula.src)?;
                let engines = i64_engines(formula.src, &f, native).map_err(mismatch)?;
                let inputs = int_inputs();
                for (engine, eval) in &engines {
                    for &a in &inputs[..8] {
                        let (got, want) = (eval(a).map_err(mismatch)?, native(a[0], a[1], a[2]));
                        if got != want {
                            return Err(mismatch(format!(
                                "{engine:?} gives {got} at {a:?}, Rust {want}"
                            )));
                        }
                    }
                }
                let runners: Vec<Runner<'_>> = engines
                    .iter()
                    .map(|(engine, eval)| {
                        let inputs = &inputs;
                        let run: Box<dyn FnMut(u64) -> bool> = Box::new(move |n| {
                            let mut sum = 0i64;
                            for i in 0..n as usize {
                                sum = sum.wrapping_add(eval(inputs[i % inputs.len()]).unwrap_or(0));
                            }
                            black_box(sum);
                            true
                        });
                        (
                            Contender::Engine {
                                engine: *engine,
                                formula: k,
                            },
                            run,
                        )
                    })
                    .collect();
                let evals = interleaved(Group::PeerEval, runners, 2_000, rounds)?;
                (evals, compile_times(formula.src, true, k, rounds)?)
            }
        };
        rows.extend(eval_rows);
        rows.extend(compile_rows);
    }
    Ok(rows)
}

/// Parse (and compile, where the engine compiles) `src`, interleaved, fnjit first.
fn compile_times(src: &'static str, int: bool, k: u8, rounds: usize) -> Result<Vec<Row>, Failure> {
    let plain = peer_syntax(src, false);
    let with_math = peer_syntax(src, true);
    let vars = ["x", "y", "z"];
    let tier = |strategy| -> Result<Box<dyn FnMut(u64) -> bool>, Failure> {
        let mut jit = Jit::with_strategy(strategy)?;
        Ok(if int {
            Box::new(move |n| {
                (0..n).all(|_| {
                    Formula::<i64>::parse(src, &vars)
                        .and_then(|f| jit.compile_formula::<(i64, i64, i64), i64>(&f))
                        .is_ok()
                })
            })
        } else {
            Box::new(move |n| {
                (0..n).all(|_| {
                    Formula::<f64>::parse(src, &vars)
                        .and_then(|f| jit.compile_formula::<(f64, f64, f64), f64>(&f))
                        .is_ok()
                })
            })
        })
    };
    let (fnjit, baseline) = (tier(Strategy::Optimizing)?, tier(Strategy::Baseline)?);
    let engine = |engine| Contender::Engine { engine, formula: k };
    let mut runners: Vec<Runner<'_>> = vec![
        (engine(Engine::Fnjit), fnjit),
        (engine(Engine::FnjitBaseline), baseline),
    ];
    if !int {
        let p = plain.clone();
        runners.push((
            engine(Engine::Fasteval),
            Box::new(move |n| {
                (0..n).all(|_| {
                    let mut slab = fasteval::Slab::new();
                    fasteval::Parser::new()
                        .parse(&p, &mut slab.ps)
                        .map(|e| black_box(e.from(&slab.ps).compile(&slab.ps, &mut slab.cs)))
                        .is_ok()
                })
            }),
        ));
        let p = plain.clone();
        runners.push((
            engine(Engine::Exmex),
            Box::new(move |n| (0..n).all(|_| black_box(exmex::parse::<f64>(&p)).is_ok())),
        ));
        let p = plain;
        runners.push((
            engine(Engine::Meval),
            Box::new(move |n| {
                (0..n).all(|_| {
                    black_box(
                        p.parse::<meval::Expr>()
                            .and_then(|e| e.bind3("x", "y", "z").map(|_| ())),
                    )
                    .is_ok()
                })
            }),
        ));
    }
    let e = if int { src.to_owned() } else { with_math };
    runners.push((
        engine(Engine::Evalexpr),
        Box::new(move |n| (0..n).all(|_| black_box(evalexpr::build_operator_tree(&e)).is_ok())),
    ));
    interleaved(Group::PeerCompile, runners, 20, rounds)
}
