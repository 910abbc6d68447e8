//! Side by side: run several implementations of one `fn(i32) -> i32` over the same inputs, on
//! every core, and report where they disagree.

use crate::parallel;
use std::fmt;
use std::time::{Duration, Instant};

/// Which inputs to check.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Inputs {
    /// Every `i32`, all 2^32 of them, from `i32::MIN` up.
    All,
    /// `len` consecutive inputs from `start` up (wrapping).
    Slice {
        /// The first input.
        start: i32,
        /// How many.
        len: u64,
    },
    /// The [`EDGES`] and then `samples` pseudo-random inputs (a fixed seed: runs repeat).
    Quick {
        /// How many pseudo-random inputs follow the edges.
        samples: u64,
    },
}

/// What `compile_inc` computes, in plain Rust: the reference every check compares against.
pub fn inc_reference(x: i32) -> i32 {
    x.wrapping_add(1)
}

/// The inputs where integer code most often goes wrong.
pub const EDGES: [i32; 6] = [i32::MIN, -1, 0, 1, 41, i32::MAX];

/// The i64 inputs where integer code most often goes wrong.
pub const I64_EDGES: [i64; 8] = [i64::MIN, i64::MIN + 1, -2, -1, 0, 1, 2, i64::MAX];

/// The f64 inputs where floating-point code most often goes wrong: ±0, ±1, ±inf, quiet and
/// signaling NaNs of both signs, the smallest normal, subnormals of both signs, ±MAX, the
/// integers around 2^53, and a value whose square underflows.
pub const F64_EDGES: [f64; 22] = [
    0.0,
    -0.0,
    1.0,
    -1.0,
    0.5,
    f64::INFINITY,
    f64::NEG_INFINITY,
    f64::NAN,
    f64::from_bits(0xFFF8_0000_DEAD_BEEF), // a quiet NaN, negative, with a payload
    f64::from_bits(0x7FF0_0000_0000_0001), // signaling NaNs
    f64::from_bits(0xFFF4_0000_0000_0000),
    f64::MIN_POSITIVE,
    5e-324,
    -5e-324,
    f64::from_bits(0x000F_FFFF_FFFF_FFFF), // the largest subnormal
    1e-300,
    f64::MAX,
    f64::MIN,
    9007199254740992.0,
    9007199254740993.0,
    9007199254740991.0,
    -2.5,
];

/// Whether two f64 results agree: bit for bit, except that any NaN equals any NaN.
pub fn same_f64(a: f64, b: f64) -> bool {
    a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan())
}

/// How many mismatches a report lists (it counts them all).
pub const SHOWN_MISMATCHES: usize = 8;

/// Inputs are handed to threads in chunks of this many.
const CHUNK: u64 = 1 << 20;

impl Inputs {
    /// How many inputs this is.
    pub fn count(self) -> u64 {
        match self {
            Inputs::All => 1 << 32,
            Inputs::Slice { len, .. } => len,
            Inputs::Quick { samples } => samples.saturating_add(EDGES.len() as u64),
        }
    }

    /// The `i`-th input, for `i < self.count()`.
    pub fn get(self, i: u64) -> i32 {
        match self {
            Inputs::All => (i as u32 as i32).wrapping_add(i32::MIN),
            Inputs::Slice { start, .. } => start.wrapping_add(i as u32 as i32),
            Inputs::Quick { .. } => match EDGES.get(i as usize) {
                Some(&edge) => edge,
                None => splitmix64(i) as i32,
            },
        }
    }
}

/// A well-mixed 64-bit function of `i` (Steele, Lea and Flood's SplitMix64 finalizer).
fn splitmix64(i: u64) -> u64 {
    let mut z = i.wrapping_mul(0x9E37_79B9_7F4A_7C15).wrapping_add(0x5EED);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// One input on which the implementations disagree.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mismatch {
    /// The input.
    pub input: i32,
    /// Each implementation's output, in the order of [`Report::names`].
    pub outputs: Vec<i32>,
}

/// What a check found.
#[derive(Clone, Debug)]
pub struct Report {
    /// The implementations, the reference first.
    pub names: Vec<&'static str>,
    /// How many inputs were checked.
    pub checked: u64,
    /// On how many of them some implementation disagreed with the reference.
    pub mismatches: u64,
    /// The first few mismatches, in input order.
    pub first_mismatches: Vec<Mismatch>,
    /// Wall-clock time of the check.
    pub elapsed: Duration,
    /// How many threads ran it.
    pub threads: usize,
}

impl Report {
    /// Whether every implementation agreed with the reference on every input.
    pub fn agree(&self) -> bool {
        self.mismatches == 0
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let all = if self.checked == 1 << 32 { "all " } else { "" };
        let verb = if self.agree() { "agree" } else { "DISAGREE" };
        write!(
            f,
            "{verb} on {all}{} inputs ({} mismatches) in {:.1} s on {} threads",
            self.checked,
            self.mismatches,
            self.elapsed.as_secs_f64(),
            self.threads
        )?;
        for m in &self.first_mismatches {
            write!(f, "\n  x = {}:", m.input)?;
            for (name, out) in self.names.iter().zip(&m.outputs) {
                write!(f, " {name} {out}")?;
            }
        }
        Ok(())
    }
}

/// Runs `f` on every input, in chunks spread over all cores. `f` returns the `N`
/// implementations' outputs, the reference's first; `names` names them in the same order.
/// `progress` is called with the number of inputs each finished chunk held.
pub fn check<const N: usize>(
    names: [&'static str; N],
    f: impl Fn(i32) -> [i32; N] + Sync,
    inputs: Inputs,
    progress: &(dyn Fn(u64) + Sync),
) -> Report {
    let count = inputs.count();
    let start = Instant::now();
    // Chunks of CHUNK inputs; each reports its mismatches, and the first few of them.
    let chunks = usize::try_from(count.div_ceil(CHUNK)).unwrap_or(usize::MAX);
    let (found, threads) = parallel::map(
        chunks,
        parallel::cores(),
        || (),
        |(), c| {
            let lo = c as u64 * CHUNK;
            let hi = lo.saturating_add(CHUNK).min(count);
            let (mut mismatches, mut first) = (0u64, Vec::new());
            for i in lo..hi {
                let outputs = f(inputs.get(i));
                if outputs.iter().any(|&o| o != outputs[0]) {
                    mismatches += 1;
                    if first.len() < SHOWN_MISMATCHES {
                        first.push((i, outputs));
                    }
                }
            }
            progress(hi - lo);
            (mismatches, first)
        },
    );
    let elapsed = start.elapsed();
    let mismatches = found.iter().map(|(m, _)| m).sum();
    // Chunks come in order of their inputs: the first mismatches are the first found.
    let first: Vec<_> = found
        .into_iter()
        .flat_map(|(_, first)| first)
        .take(SHOWN_MISMATCHES)
        .collect();
    Report {
        names: names.to_vec(),
        checked: count,
        mismatches,
        first_mismatches: first
            .into_iter()
            .map(|(i, outputs)| Mismatch {
                input: inputs.get(i),
                outputs: outputs.to_vec(),
            })
            .collect(),
        elapsed,
        threads,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU64, Ordering};

    #[test]
    fn all_inputs_cover_i32_in_order() {
        assert_eq!(Inputs::All.get(0), i32::MIN);
        assert_eq!(Inputs::All.get(1 << 31), 0);
        assert_eq!(Inputs::All.get((1 << 32) - 1), i32::MAX);
    }

    #[test]
    fn quick_inputs_start_with_the_edges() {
        let q = Inputs::Quick { samples: 10 };
        assert_eq!(q.count(), 16);
        let got: Vec<_> = (0..6).map(|i| q.get(i)).collect();
        assert_eq!(got, EDGES);
    }

    #[test]
    fn a_wrong_implementation_is_caught_and_listed_first_inputs_first() {
        let wrong = |x: i32| if x % 1000 == 7 { x } else { x.wrapping_add(1) };
        let inputs = Inputs::Slice {
            start: 0,
            len: 5_000_000,
        };
        let r = check(
            ["reference", "wrong"],
            |x| [x.wrapping_add(1), wrong(x)],
            inputs,
            &|_| {},
        );
        assert_eq!(r.mismatches, 5000);
        assert!(!r.agree());
        assert_eq!(r.first_mismatches.len(), SHOWN_MISMATCHES);
        assert_eq!(
            r.first_mismatches[0],
            Mismatch {
                input: 7,
                outputs: vec![8, 7]
            }
        );
        assert_eq!(r.first_mismatches[1].input, 1007);
        assert!(
            r.to_string()
                .starts_with("DISAGREE on 5000000 inputs (5000 mismatches)")
        );
    }

    #[test]
    fn progress_adds_up_to_the_count() {
        let seen = AtomicU64::new(0);
        let inputs = Inputs::Slice {
            start: -5,
            len: 3 * CHUNK + 17,
        };
        let r = check(["a", "b"], |x| [x, x], inputs, &|n| {
            seen.fetch_add(n, Ordering::Relaxed);
        });
        assert!(r.agree());
        assert_eq!(seen.load(Ordering::Relaxed), inputs.count());
    }
}
