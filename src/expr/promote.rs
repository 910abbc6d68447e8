//! The types of a typed formula, node by node as the parser emits them: NumPy's promotion
//! (`result_type` of arrays, as numexpr applies it), integer literals that take their context's
//! type, and the type errors. The table is docs/language.md's "Typed formulas";
//! `tests/all/mixed.rs` checks every cell of it against a table written there by hand.

use super::{BinOp, Func, Node, Ty, UnOp};
use crate::error::{Refused, SyntaxError};

/// A value the emitted nodes leave on the stack, as the typing sees it.
#[derive(Clone, Copy, Debug)]
struct Operand {
    /// Its type; for a weak operand, the type it computes in so far (`i64`).
    ty: Ty,
    /// An integer literal, or an expression of them only: it takes the type of what it meets.
    weak: bool,
    /// Where its nodes start in the program (they end where the next operand's start). The weak
    /// ones among them are marked in [`Typer`]'s `weak_nodes`.
    start: usize,
}

/// The type two operands meet in: NumPy's `result_type` for arrays of `a` and `b`.
/// `bool` gives way to any type; `i32` and `i64` give `i64`; an integer and `f32` give `f64`
/// (no f32 holds every i32); any with `f64` gives `f64`.
pub(crate) fn promote(a: Ty, b: Ty) -> Ty {
    use Ty::{Bool, F32, F64, I32, I64};
    match (a, b) {
        _ if a == b => a,
        (Bool, t) | (t, Bool) => t,
        (I32, I64) | (I64, I32) => I64,
        (F32, I32 | I64) | (I32 | I64, F32) => F64,
        _ => F64,
    }
}

/// The type `op` computes in over operands of types `a` and `b` (already met: NumPy's rules
/// for its operands), or why it refuses them. A comparison gives a `bool` of that type.
pub(crate) fn binary(op: BinOp, a: Ty, b: Ty) -> Result<Ty, String> {
    let k = promote(a, b);
    let refuse = |what: &str| Err(format!("'{}' takes {what}, not {a} and {b}", op.symbol()));
    match op {
        // Arithmetic on bools counts them, in the smallest integer (numexpr's rule).
        // `Rem` is `fmod`.
        BinOp::Add | BinOp::Sub | BinOp::Mul | BinOp::FloorDiv | BinOp::Mod | BinOp::Rem
            if k == Ty::Bool =>
        {
            Ok(Ty::I32)
        }
        BinOp::Add | BinOp::Sub | BinOp::Mul | BinOp::FloorDiv | BinOp::Mod | BinOp::Rem => Ok(k),
        // True division: integers divide as f64.
        BinOp::Div if k.is_float() => Ok(k),
        BinOp::Div => Ok(Ty::F64),
        BinOp::Pow if k.is_float() => Ok(k),
        BinOp::Pow => refuse("float operands (write f64(x) ** n for a power of an integer)"),
        _ if op.is_comparison() => Ok(k),
        BinOp::And | BinOp::Or | BinOp::Xor if !k.is_float() => Ok(k),
        BinOp::And | BinOp::Or | BinOp::Xor => refuse("bool or integer operands"),
        BinOp::Shl | BinOp::Sar | BinOp::Shr if k.is_int() => Ok(k),
        _ => refuse("integer operands"),
    }
}

/// The type a function computes in over its arguments' met type `k`.
pub(crate) fn call(f: Func, k: Ty) -> Ty {
    match f {
        Func::Abs | Func::Min | Func::Max if k == Ty::Bool => Ty::I32,
        Func::Abs | Func::Min | Func::Max => k,
        // The rest are float functions: integers and bools go as f64, as NumPy's do.
        _ if k.is_float() => k,
        _ => Ty::F64,
    }
}

/// What the typing tracks as the parser emits nodes.
#[derive(Debug, Default)]
pub(crate) struct Typer {
    /// The values the emitted nodes leave.
    values: Vec<Operand>,
    /// Whether each emitted node is weak: an integer literal, or of them only.
    weak_nodes: Vec<bool>,
}

impl Typer {
    /// Records a literal emitted at `start` of type `ty` (weak for an integer literal).
    pub(crate) fn literal(&mut self, ty: Ty, weak: bool, start: usize) {
        self.values.push(Operand { ty, weak, start });
        self.weak_nodes.push(weak);
    }

    /// Types `node` (whose type is `cast` for a cast) over the operands emitted last, retyping
    /// the weak ones among them in `out` and `types`; records its own value and returns the type
    /// it computes in.
    pub(crate) fn node(
        &mut self,
        node: Node,
        cast: Option<Ty>,
        var_types: &[Ty],
        out: &mut [Node],
        types: &mut [Ty],
        at: usize,
    ) -> Result<Ty, Refused> {
        let k = typed_node(
            node,
            cast,
            var_types,
            &mut self.values,
            (out, types, &mut self.weak_nodes),
            at,
        )?;
        self.weak_nodes
            .push(self.values.last().is_some_and(|v| v.weak));
        Ok(k)
    }

    /// The result's type: a weak result is an `i64`.
    pub(crate) fn result(&self) -> Ty {
        self.values.last().map_or(Ty::I64, |v| v.ty)
    }
}

/// The program so far: its nodes, their types, and which are weak.
type Emitted<'a> = (&'a mut [Node], &'a mut [Ty], &'a mut [bool]);

/// [`Typer::node`] over the operands on `values`.
fn typed_node(
    node: Node,
    cast: Option<Ty>,
    var_types: &[Ty],
    values: &mut Vec<Operand>,
    (out, types, weak_nodes): Emitted<'_>,
    at: usize,
) -> Result<Ty, Refused> {
    let start = out.len();
    let n = node.pops();
    if values.len() < n {
        return Err(
            SyntaxError::new(at, "internal: an operator without its operands".into()).into(),
        );
    }
    let first = values.len() - n;
    let ends: Vec<usize> = (first..values.len())
        .map(|i| values.get(i + 1).map_or(start, |v| v.start))
        .collect();
    let args = &mut values[first..];
    let refuse = |message: String| -> Refused { Refused::Type(SyntaxError::new(at, message)) };
    // The operands whose types meet: all but a select's condition.
    let meet_from = usize::from(node == Node::Select);
    meet(
        &mut args[meet_from..],
        &ends[meet_from..],
        out,
        types,
        weak_nodes,
    )
    .map_err(refuse)?;
    let all_weak = args[meet_from..].iter().all(|a| a.weak);
    let met = args[meet_from..]
        .iter()
        .map(|a| a.ty)
        .reduce(promote)
        .unwrap_or(Ty::I64);
    let (k, weak) = match node {
        Node::Var(i) => match var_types.get(usize::from(i)) {
            Some(&t) => (t, false),
            None => return Err(refuse(format!("internal: variable {i} has no type"))),
        },
        Node::Lit(_) => return Err(refuse("internal: a literal typed as a node".into())),
        Node::Un(UnOp::Neg) if met == Ty::Bool => {
            return Err(refuse(
                "'-' takes a number, not bool: write ~ for not".into(),
            ));
        }
        Node::Un(UnOp::Not) if met.is_float() => {
            return Err(refuse(format!("'~' takes bool or an integer, not {met}")));
        }
        Node::Un(_) => (met, all_weak),
        Node::Bin(op) => {
            let k = binary(op, args[0].ty, args[1].ty).map_err(refuse)?;
            let stays_weak = !op.is_comparison() && op != BinOp::Div;
            (k, all_weak && stays_weak)
        }
        Node::Select => {
            let c = args[0];
            if c.ty != Ty::Bool {
                return Err(refuse(format!(
                    "a condition is bool, not {}: compare it, as in x != 0",
                    if c.weak {
                        "an integer literal".into()
                    } else {
                        c.ty.to_string()
                    }
                )));
            }
            (met, all_weak)
        }
        Node::Call(f) => {
            let k = call(f, met);
            (k, all_weak && k == met)
        }
        Node::Cast => (cast.unwrap_or(met), false),
        Node::Test(_) if met.is_float() => (met, false),
        Node::Test(_) => (Ty::F64, false),
        Node::Order if met.is_float() => (met, false),
        Node::Order => {
            return Err(refuse(format!(
                "total_order takes a float, not {met}: integers are ordered already"
            )));
        }
    };
    let yields = match node {
        Node::Bin(op) if op.is_comparison() => Ty::Bool,
        Node::Test(_) => Ty::Bool,
        Node::Order => super::order_key(k),
        _ => k,
    };
    let from = values.get(first).map_or(start, |v| v.start);
    values.truncate(first);
    values.push(Operand {
        ty: yields,
        weak,
        start: from,
    });
    Ok(k)
}

/// Meets the operands' types: where weak operands stand beside typed ones, each weak one takes
/// their type (an integer's, checked to fit), or, beside floats, is converted where it is used
/// (a lone literal becomes a float literal). Beside `bool` it stays `i64`, as NumPy's Python
/// ints do.
fn meet(
    args: &mut [Operand],
    ends: &[usize],
    out: &mut [Node],
    types: &mut [Ty],
    weak_nodes: &mut [bool],
) -> Result<(), String> {
    let Some(strong) = args
        .iter()
        .filter(|a| !a.weak)
        .map(|a| a.ty)
        .reduce(promote)
    else {
        return Ok(());
    };
    for (arg, &end) in args.iter_mut().zip(ends) {
        if !arg.weak {
            continue;
        }
        arg.weak = false;
        // Only its weak nodes: a `where`'s condition inside it keeps its types.
        let weak: Vec<usize> = (arg.start..end).filter(|&k| weak_nodes[k]).collect();
        for &k in &weak {
            weak_nodes[k] = false;
        }
        if strong.is_int() {
            for &k in &weak {
                if let Node::Lit(bits) = out[k]
                    && strong == Ty::I32
                {
                    let v = bits as i64;
                    if i32::try_from(v).is_err() {
                        return Err(format!("the literal {v} does not fit i32"));
                    }
                }
                types[k] = strong;
            }
        } else if strong.is_float()
            && let [k] = weak[..]
            && let Node::Lit(bits) = out[k]
        {
            let v = bits as i64;
            out[k] = Node::Lit(match strong {
                Ty::F32 => u64::from((v as f32).to_bits()),
                _ => (v as f64).to_bits(),
            });
            types[k] = strong;
        }
        // Otherwise (an expression beside a float) it computes in i64, and its user converts it.
        if strong != Ty::Bool {
            arg.ty = strong;
        }
    }
    Ok(())
}
