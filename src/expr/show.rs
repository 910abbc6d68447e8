//! A formula as text again, from its program: what debuggers and profilers call its compiled
//! code, so that a user can tell one formula from another. Every operation is parenthesized;
//! long formulas are cut.

use super::{Node, Program, Ty, UnOp};

/// At most this many characters of a formula go into a name.
const MAX_CHARS: usize = 160;

/// `program` in infix, with `names` for its variables, cut at [`MAX_CHARS`] with `…`.
pub(crate) fn show(program: &Program, names: &[String]) -> String {
    let mut stack: Vec<String> = Vec::with_capacity(program.max_stack);
    for &node in &program.nodes {
        let text = match node {
            Node::Var(i) => names
                .get(usize::from(i))
                .cloned()
                .unwrap_or_else(|| format!("arg{i}")),
            Node::Lit(bits) => match program.ty {
                Ty::F64 => format!("{:?}", f64::from_bits(bits)),
                Ty::I32 | Ty::I64 => format!("{}", bits as i64),
            },
            Node::Un(op) => {
                let a = stack.pop().unwrap_or_default();
                let sign = if op == UnOp::Neg { '-' } else { '~' };
                format!("{sign}{a}")
            }
            Node::Bin(op) => {
                let b = stack.pop().unwrap_or_default();
                let a = stack.pop().unwrap_or_default();
                format!("({a} {} {b})", op.symbol())
            }
            Node::Select => {
                let b = stack.pop().unwrap_or_default();
                let a = stack.pop().unwrap_or_default();
                let c = stack.pop().unwrap_or_default();
                format!("({c} ? {a} : {b})")
            }
            Node::Call(f) => {
                let args = stack.split_off(stack.len().saturating_sub(f.arity()));
                format!("{}({})", f.name(), args.join(", "))
            }
        };
        stack.push(text);
    }
    let text = stack.pop().unwrap_or_default();
    let text = text
        .strip_prefix('(')
        .and_then(|t| t.strip_suffix(')'))
        .filter(|t| balanced(t))
        .unwrap_or(&text);
    match text.char_indices().nth(MAX_CHARS) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_owned(),
    }
}

/// Whether every parenthesis of `text` closes one opened before it.
fn balanced(text: &str) -> bool {
    let mut depth = 0i32;
    text.chars().all(|c| {
        depth += match c {
            '(' => 1,
            ')' => -1,
            _ => 0,
        };
        depth >= 0
    })
}

#[cfg(test)]
mod tests {
    use crate::expr::Formula;

    fn shown(src: &str, vars: &[&str]) -> String {
        let f = Formula::<f64>::parse(src, vars).expect("parse");
        super::show(f.program(), f.vars())
    }

    #[test]
    fn formulas_read_back_as_they_were_written_with_every_parenthesis() {
        assert_eq!(shown("x*y + sin(x)", &["x", "y"]), "(x * y) + sin(x)");
        assert_eq!(
            shown("x < 1 ? -x : hypot(x, 2)", &["x"]),
            "(x < 1.0) ? -x : hypot(x, 2.0)"
        );
        assert_eq!(shown("(x + 1) * (x - 1)", &["x"]), "(x + 1.0) * (x - 1.0)");
        let long = shown(&vec!["x"; 100].join(" + "), &["x"]);
        assert_eq!(long.chars().count(), 161);
        assert!(long.ends_with('…'));
    }
}
