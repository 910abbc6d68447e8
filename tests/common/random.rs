//! Random formulas as trees, and rows of inputs, drawn from a seed: one seed gives the same
//! formulas and rows on every run and every machine, so a failure replays from its seed. Trees
//! (not text) so that a failing formula can be shrunk ([`Tree::simpler`]).
//!
//! The fuzz targets include this file too (`fuzz/fuzz_targets/formula.rs`): it needs nothing
//! but std.

/// SplitMix64: small, fast, and the same everywhere.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (`n > 0`).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }

    pub fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len())]
    }
}

/// The variables every generated formula is over.
pub const VARS: [&str; 3] = ["x", "y", "z"];

/// The types formulas come in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    I32,
    I64,
    F64,
}

const F64_FUNCS: [(&str, usize); 35] = [
    ("abs", 1),
    ("sqrt", 1),
    ("cbrt", 1),
    ("exp", 1),
    ("exp2", 1),
    ("ln", 1),
    ("log2", 1),
    ("log10", 1),
    ("pow", 2),
    ("sin", 1),
    ("cos", 1),
    ("tan", 1),
    ("asin", 1),
    ("acos", 1),
    ("atan", 1),
    ("atan2", 2),
    ("sinh", 1),
    ("cosh", 1),
    ("tanh", 1),
    ("floor", 1),
    ("ceil", 1),
    ("round", 1),
    ("trunc", 1),
    ("min", 2),
    ("max", 2),
    ("hypot", 2),
    ("asinh", 1),
    ("acosh", 1),
    ("atanh", 1),
    ("log1p", 1),
    ("expm1", 1),
    ("rint", 1),
    ("sign", 1),
    ("copysign", 2),
    ("nextafter", 2),
];
const F64_OPS: [&str; 12] = [
    "+", "-", "*", "/", "%", "**", "<", "<=", ">", ">=", "==", "!=",
];
const INT_OPS: [&str; 11] = ["*", "/", "%", "+", "-", "<<", ">>", ">>>", "&", "^", "|"];

/// f64 literals: the edges, values whose products and powers underflow or overflow, subnormals.
const F64_LITERALS: [&str; 24] = [
    "0",
    "0.5",
    "1",
    "2",
    "3",
    ".25",
    "2.5",
    "1e308",
    "1e-308",
    "5e-324",
    "1e-320",
    "2.2250738585072014e-308",
    "1.7976931348623157e308",
    "1e-200",
    "1e-160",
    "746",
    "9007199254740993",
    "9007199254740991",
    "1e16",
    "inf",
    "nan",
    "pi",
    "e",
    "0.1",
];

/// Integer literals as bit patterns; each is capped to the type's range when drawn.
const INT_LITERALS: [u64; 14] = [
    0,
    1,
    2,
    3,
    31,
    32,
    33,
    63,
    64,
    65,
    0x7FFF_FFFF,
    0x8000_0000,
    0xFFFF_FFFF,
    0x8000_0000_0000_0000,
];

/// A formula as a tree. Its text parenthesizes every operand, so the tree is the parse.
#[derive(Clone, Debug, PartialEq)]
pub enum Tree {
    Var(usize),
    Lit(String),
    Un(&'static str, Box<Tree>),
    Bin(&'static str, Box<Tree>, Box<Tree>),
    Select(Box<Tree>, Box<Tree>, Box<Tree>),
    Call(&'static str, Vec<Tree>),
}

impl Tree {
    /// A random formula of `kind` over [`VARS`], at most `depth` deep.
    pub fn random(rng: &mut Rng, kind: Kind, depth: u32) -> Tree {
        if depth == 0 || rng.below(4) == 0 {
            return if rng.below(5) < 3 {
                Tree::Var(rng.below(VARS.len()))
            } else {
                Tree::Lit(literal(rng, kind))
            };
        }
        let sub = |rng: &mut Rng| Box::new(Tree::random(rng, kind, depth - 1));
        match kind {
            Kind::F64 => match rng.below(4) {
                0 => Tree::Un("-", sub(rng)),
                1 => {
                    let op = rng.pick(&F64_OPS);
                    Tree::Bin(op, sub(rng), sub(rng))
                }
                2 => Tree::Select(sub(rng), sub(rng), sub(rng)),
                _ => {
                    let (name, arity) = rng.pick(&F64_FUNCS);
                    let args = (0..arity)
                        .map(|_| Tree::random(rng, kind, depth - 1))
                        .collect();
                    Tree::Call(name, args)
                }
            },
            Kind::I32 | Kind::I64 => match rng.below(3) {
                0 => {
                    let op = rng.pick(&["-", "~"]);
                    Tree::Un(op, sub(rng))
                }
                _ => {
                    let op = rng.pick(&INT_OPS);
                    Tree::Bin(op, sub(rng), sub(rng))
                }
            },
        }
    }

    /// Its source text.
    pub fn text(&self) -> String {
        match self {
            Tree::Var(i) => VARS[*i].to_owned(),
            Tree::Lit(s) => s.clone(),
            Tree::Un(op, a) => format!("{op}({})", a.text()),
            Tree::Bin(op, a, b) => format!("({}) {op} ({})", a.text(), b.text()),
            Tree::Select(c, a, b) => format!("({}) ? ({}) : ({})", c.text(), a.text(), b.text()),
            Tree::Call(name, args) => {
                let args: Vec<String> = args.iter().map(Tree::text).collect();
                format!("{name}({})", args.join(", "))
            }
        }
    }

    fn children(&self) -> Vec<&Tree> {
        match self {
            Tree::Var(_) | Tree::Lit(_) => vec![],
            Tree::Un(_, a) => vec![a],
            Tree::Bin(_, a, b) => vec![a, b],
            Tree::Select(c, a, b) => vec![c, a, b],
            Tree::Call(_, args) => args.iter().collect(),
        }
    }

    /// Trees one step simpler, simplest first: each child in place of the whole, a leaf in its
    /// place, then each child simplified in place.
    pub fn simpler(&self) -> Vec<Tree> {
        let mut out: Vec<Tree> = self.children().into_iter().cloned().collect();
        if !matches!(self, Tree::Var(_) | Tree::Lit(_)) {
            out.extend((0..VARS.len()).map(Tree::Var));
            out.extend(["0", "1"].map(|s| Tree::Lit(s.into())));
        }
        for (k, child) in self.children().into_iter().enumerate() {
            for smaller in child.simpler() {
                let mut whole = self.clone();
                *whole.child_mut(k) = smaller;
                out.push(whole);
            }
        }
        out
    }

    fn child_mut(&mut self, k: usize) -> &mut Tree {
        match self {
            Tree::Un(_, a) => a,
            Tree::Bin(_, a, b) => [a, b].into_iter().nth(k).expect("child"),
            Tree::Select(c, a, b) => [c, a, b].into_iter().nth(k).expect("child"),
            Tree::Call(_, args) => &mut args[k],
            Tree::Var(_) | Tree::Lit(_) => unreachable!("a leaf has no children"),
        }
    }
}

fn literal(rng: &mut Rng, kind: Kind) -> String {
    match kind {
        Kind::F64 if rng.below(4) == 0 => {
            let v = f64::from_bits(rng.next_u64());
            if v.is_finite() {
                format!("{:e}", v.abs())
            } else {
                "1".to_owned()
            }
        }
        Kind::F64 => rng.pick(&F64_LITERALS).to_owned(),
        Kind::I32 | Kind::I64 => {
            let max = if kind == Kind::I32 {
                u64::from(u32::MAX)
            } else {
                u64::MAX
            };
            let v = if rng.below(3) == 0 {
                rng.next_u64() & max
            } else {
                rng.pick(&INT_LITERALS).min(max)
            };
            if rng.below(2) == 0 {
                v.to_string()
            } else {
                format!("0x{v:X}")
            }
        }
    }
}

/// Quiet NaNs of both signs and several payloads.
pub const QUIET_NANS: [u64; 5] = [
    0x7FF8_0000_0000_0000,
    0x7FF8_0000_0000_0001,
    0x7FFF_FFFF_FFFF_FFFF,
    0xFFF8_0000_0000_0000,
    0xFFF8_0000_DEAD_BEEF,
];

/// Signaling NaNs (quiet bit clear, payload not zero) of both signs and several payloads.
pub const SIGNALING_NANS: [u64; 5] = [
    0x7FF0_0000_0000_0001,
    0x7FF4_0000_0000_0000,
    0x7FF7_FFFF_FFFF_FFFF,
    0xFFF0_0000_0000_0001,
    0xFFF0_0000_00BE_EF00,
];

/// The f64 inputs where code goes wrong: ±0, ±1, ±inf, every NaN above, subnormals (the
/// smallest, the largest, negative), `MIN_POSITIVE`, ±`MAX`, the integers around 2^53,
/// `i64::MIN` as f64, and arguments whose products and powers underflow or overflow.
pub fn f64_edges() -> Vec<f64> {
    let mut edges = vec![
        0.0,
        -0.0,
        1.0,
        -1.0,
        0.5,
        -2.5,
        f64::INFINITY,
        f64::NEG_INFINITY,
        5e-324,
        -5e-324,
        f64::from_bits(0x000F_FFFF_FFFF_FFFF),
        f64::from_bits(0x0008_0000_0000_0000),
        f64::MIN_POSITIVE,
        -f64::MIN_POSITIVE,
        f64::MAX,
        f64::MIN,
        9007199254740991.0,
        9007199254740992.0,
        9007199254740994.0,
        -9007199254740992.0,
        i64::MIN as f64,
        1e-300,
        -1e-160,
        1e300,
        746.0,
        -746.0,
    ];
    edges.extend(
        QUIET_NANS
            .iter()
            .chain(&SIGNALING_NANS)
            .map(|&b| f64::from_bits(b)),
    );
    edges
}

/// The i64 inputs where integer code goes wrong.
pub const I64_EDGES: [i64; 14] = [
    i64::MIN,
    i64::MIN + 1,
    -2,
    -1,
    0,
    1,
    2,
    63,
    64,
    65,
    i64::MAX,
    i32::MIN as i64,
    1 << 53,
    (1 << 53) + 1,
];

/// The i32 inputs where integer code goes wrong.
pub const I32_EDGES: [i32; 11] = [
    i32::MIN,
    i32::MIN + 1,
    -2,
    -1,
    0,
    1,
    2,
    31,
    32,
    33,
    i32::MAX,
];

/// `n` rows of three inputs' bits: an edge value in about half of the places, random bits in
/// the rest. `edges` are the type's edge values as bits.
pub fn rows(rng: &mut Rng, n: usize, edges: &[u64]) -> Vec<[u64; 3]> {
    (0..n)
        .map(|_| {
            [(); 3].map(|()| {
                if rng.below(2) == 0 {
                    rng.pick(edges)
                } else {
                    rng.next_u64()
                }
            })
        })
        .collect()
}
