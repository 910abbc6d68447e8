//! A formula as text again, from its program: what debuggers and profilers call its compiled
//! code, so that a user can tell one formula from another. Every operation is parenthesized;
//! long formulas are cut.

use super::{Node, Program, UnOp, Value};

/// At most this many characters of a formula go into a name.
const MAX_CHARS: usize = 160;

/// `program` in infix, with `names` for its variables, cut at [`MAX_CHARS`] with `…`. Written
/// into one string, without recursion, and only as far as the cut.
pub(crate) fn show(program: &Program, names: &[String]) -> String {
    use std::fmt::Write as _;
    let nodes = &program.nodes;
    // Where each node's subexpression starts in the postfix program.
    let mut start = vec![0usize; nodes.len()];
    let mut open: Vec<usize> = Vec::with_capacity(program.max_stack);
    for (k, node) in nodes.iter().enumerate() {
        let first = open.len().saturating_sub(node.pops());
        start[k] = open.get(first).map_or(k, |&operand| start[operand]);
        open.truncate(first);
        open.push(k);
    }
    // The operands of node `k`, first to last (at most three).
    let operands = |k: usize| {
        let mut found = [0usize; 3];
        let count = nodes[k].pops().min(3);
        let mut end = k;
        for slot in found[..count].iter_mut().rev() {
            *slot = end - 1;
            end = start[end - 1];
        }
        (found, count)
    };
    enum Task {
        Node(usize, bool),
        Text(&'static str),
    }
    let mut out = String::with_capacity(64);
    let mut tasks = vec![Task::Node(nodes.len().wrapping_sub(1), true)];
    while let Some(task) = tasks.pop() {
        if out.len() > 4 * MAX_CHARS {
            break;
        }
        let (k, root) = match task {
            Task::Text(text) => {
                out.push_str(text);
                continue;
            }
            Task::Node(k, root) => (k, root),
        };
        let Some(&node) = nodes.get(k) else {
            continue;
        };
        let (open, close) = if root { ("", "") } else { ("(", ")") };
        let (found, count) = operands(k);
        let args = &found[..count];
        match node {
            Node::Var(i) => match names.get(usize::from(i)) {
                Some(name) => out.push_str(name),
                None => {
                    let _ = write!(out, "arg{i}");
                }
            },
            Node::Lit(bits) => {
                let _ = write!(out, "{}", Value::from_bits(program.types[k], bits));
            }
            Node::Cast | Node::Test(_) | Node::Order => {
                out.push_str(match node {
                    Node::Test(t) => t.name(),
                    Node::Order => "total_order",
                    _ => program.types[k].name(),
                });
                out.push('(');
                tasks.push(Task::Text(")"));
                tasks.extend(args.iter().map(|&a| Task::Node(a, false)));
            }
            Node::Un(op) => {
                out.push(if op == UnOp::Neg { '-' } else { '~' });
                tasks.extend(args.iter().map(|&a| Task::Node(a, false)));
            }
            Node::Bin(op) => {
                out.push_str(open);
                tasks.push(Task::Text(close));
                tasks.push(Task::Node(args[1], false));
                tasks.push(Task::Text(" "));
                tasks.push(Task::Text(op.symbol()));
                tasks.push(Task::Text(" "));
                tasks.push(Task::Node(args[0], false));
            }
            Node::Select => {
                out.push_str(open);
                tasks.push(Task::Text(close));
                tasks.push(Task::Node(args[2], false));
                tasks.push(Task::Text(" : "));
                tasks.push(Task::Node(args[1], false));
                tasks.push(Task::Text(" ? "));
                tasks.push(Task::Node(args[0], false));
            }
            Node::Call(f) => {
                out.push_str(f.name());
                out.push('(');
                tasks.push(Task::Text(")"));
                for (i, &a) in args.iter().enumerate().rev() {
                    tasks.push(Task::Node(a, false));
                    if i > 0 {
                        tasks.push(Task::Text(", "));
                    }
                }
            }
        }
    }
    match out.char_indices().nth(MAX_CHARS) {
        Some((cut, _)) => {
            out.truncate(cut);
            out.push('…');
            out
        }
        None => out,
    }
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
        assert_eq!(shown("-(x * 2)", &["x"]), "-(x * 2.0)");
        assert_eq!(shown("atan2(x, -x) + 1", &["x"]), "atan2(x, -x) + 1.0");
        let long = shown(&vec!["x"; 100].join(" + "), &["x"]);
        assert_eq!(long.chars().count(), 161);
        assert!(long.ends_with('…'));
    }
}
