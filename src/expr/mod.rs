//! Integer expressions of one variable `x`: parsed into a postfix program, interpreted (the
//! oracle), and lowered to Cranelift IR (the JIT). Neither walks a tree recursively, so no input
//! of any size overflows the stack.
//!
//! Grammar, tightest binding first, binary operators left-associative:
//! `x`, literals (decimal or `0x` hex, 0 to 0xFFFFFFFF, read as i32 bit patterns), `( … )`;
//! unary `-` (wrapping negation) and `~` (bitwise not); `* / %`; `+ -`; `<< >> >>>`; `&`; `^`;
//! `|`. Arithmetic wraps; shifts use the low 5 bits of their amount (`>>` arithmetic, `>>>`
//! logical); `/` and `%` truncate toward zero and are total, as RISC-V defines them:
//! `a / 0 == -1`, `a % 0 == a`, `i32::MIN / -1 == i32::MIN`, `i32::MIN % -1 == 0`.

mod lower;
mod parse;

use crate::error::SyntaxError;
pub(crate) use lower::build_expr;

/// Inputs longer than this are refused.
pub const MAX_INPUT: usize = 1 << 20;
/// Parentheses and unary operators nest at most this deep.
pub const MAX_NESTING: usize = 1000;

/// A binary operator.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BinOp {
    /// `*`, wrapping.
    Mul,
    /// `/`, signed, truncating, total.
    Div,
    /// `%`, signed, total.
    Rem,
    /// `+`, wrapping.
    Add,
    /// `-`, wrapping.
    Sub,
    /// `<<`.
    Shl,
    /// `>>`, arithmetic.
    Sar,
    /// `>>>`, logical.
    Shr,
    /// `&`.
    And,
    /// `^`.
    Xor,
    /// `|`.
    Or,
}

impl BinOp {
    /// Higher binds tighter.
    fn precedence(self) -> u8 {
        match self {
            BinOp::Mul | BinOp::Div | BinOp::Rem => 5,
            BinOp::Add | BinOp::Sub => 4,
            BinOp::Shl | BinOp::Sar | BinOp::Shr => 3,
            BinOp::And => 2,
            BinOp::Xor => 1,
            BinOp::Or => 0,
        }
    }

    /// The operator's meaning: what the interpreter computes and the JIT must match.
    pub fn apply(self, a: i32, b: i32) -> i32 {
        match self {
            BinOp::Mul => a.wrapping_mul(b),
            BinOp::Div if b == 0 => -1,
            BinOp::Div => a.wrapping_div(b), // i32::MIN / -1 wraps to i32::MIN
            BinOp::Rem if b == 0 => a,
            BinOp::Rem => a.wrapping_rem(b), // i32::MIN % -1 is 0
            BinOp::Add => a.wrapping_add(b),
            BinOp::Sub => a.wrapping_sub(b),
            BinOp::Shl => a.wrapping_shl(b as u32),
            BinOp::Sar => a.wrapping_shr(b as u32),
            BinOp::Shr => (a as u32).wrapping_shr(b as u32) as i32,
            BinOp::And => a & b,
            BinOp::Xor => a ^ b,
            BinOp::Or => a | b,
        }
    }
}

/// One step of a postfix program.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Node {
    X,
    Lit(i32),
    Neg,
    Not,
    Bin(BinOp),
}

/// A parsed expression: a postfix program over a value stack.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Expr {
    program: Vec<Node>,
    max_stack: usize,
}

impl Expr {
    /// Parses `src`.
    ///
    /// # Errors
    /// A [`SyntaxError`] with the byte offset and what was expected there.
    pub fn parse(src: &str) -> Result<Expr, SyntaxError> {
        parse::parse(src)
    }

    fn from_postfix(program: Vec<Node>) -> Expr {
        let (mut depth, mut max_stack) = (0usize, 0usize);
        for node in &program {
            match node {
                Node::X | Node::Lit(_) => depth += 1,
                Node::Neg | Node::Not => {}
                Node::Bin(_) => depth -= 1,
            }
            max_stack = max_stack.max(depth);
        }
        Expr { program, max_stack }
    }

    /// The value at `x`, by interpretation.
    pub fn eval(&self, x: i32) -> i32 {
        // A stack on the stack for the usual small expressions: the exhaustive checks evaluate
        // 2^32 times, and neither allocating nor zeroing a big array may dominate that.
        match self.max_stack {
            0..=4 => self.run(x, &mut [0; 4]),
            5..=32 => self.run(x, &mut [0; 32]),
            n => self.run(x, &mut vec![0; n]),
        }
    }

    /// Runs the program with `stack`, which must hold `max_stack` values.
    fn run(&self, x: i32, stack: &mut [i32]) -> i32 {
        let mut top = 0; // number of values on the stack
        for &node in &self.program {
            match node {
                Node::X => {
                    stack[top] = x;
                    top += 1;
                }
                Node::Lit(v) => {
                    stack[top] = v;
                    top += 1;
                }
                Node::Neg => stack[top - 1] = stack[top - 1].wrapping_neg(),
                Node::Not => stack[top - 1] = !stack[top - 1],
                Node::Bin(op) => {
                    top -= 1;
                    stack[top - 1] = op.apply(stack[top - 1], stack[top]);
                }
            }
        }
        stack[0]
    }

    /// How many operators the expression has.
    pub fn operators(&self) -> usize {
        self.program
            .iter()
            .filter(|n| !matches!(n, Node::X | Node::Lit(_)))
            .count()
    }
}

/// Parses `src` and evaluates it at `x` with the interpreter: the oracle the JIT is checked
/// against.
///
/// # Errors
/// [`crate::Error::Syntax`] when `src` is not an expression.
pub fn eval_expr(src: &str, x: i32) -> Result<i32, crate::Error> {
    Ok(Expr::parse(src)?.eval(x))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(src: &str, x: i32) -> i32 {
        eval_expr(src, x).unwrap_or_else(|e| panic!("{src}: {e}"))
    }

    fn err(src: &str) -> String {
        Expr::parse(src).expect_err(src).to_string()
    }

    #[test]
    fn precedence_and_associativity() {
        assert_eq!(ev("x * 3 + 1", 41), 124);
        assert_eq!(ev("1 + 2 * 3", 0), 7);
        assert_eq!(ev("10 - 3 - 2", 0), 5);
        assert_eq!(ev("100 / 10 / 5", 0), 2);
        assert_eq!(ev("1 | 2 ^ 3 & 6", 0), 1); // 1 | (2 ^ (3 & 6)); left to right would give 0
        assert_eq!(ev("1 << 2 + 1", 0), 8);
        assert_eq!(ev("-x * 2", 5), -10);
        assert_eq!(ev("~x & 0xFF", 0), 255);
        assert_eq!(ev("-(x + 1)", 41), -42);
        assert_eq!(ev("--x", 7), 7);
        assert_eq!(ev("- ~ - x", 3), -(!(-3)));
    }

    #[test]
    fn literals_are_bit_patterns() {
        assert_eq!(ev("0xFFFFFFFF", 0), -1);
        assert_eq!(ev("4294967295", 0), -1);
        assert_eq!(ev("0x2A", 0), 42);
        assert_eq!(ev("0X80000000", 0), i32::MIN);
        assert_eq!(ev("2147483648", 0), i32::MIN);
    }

    #[test]
    fn division_and_remainder_are_total() {
        assert_eq!(ev("x / 0", 5), -1);
        assert_eq!(ev("x % 0", 5), 5);
        assert_eq!(ev("x / -1", i32::MIN), i32::MIN);
        assert_eq!(ev("x % -1", i32::MIN), 0);
        assert_eq!(ev("-7 / 2", 0), -3);
        assert_eq!(ev("-7 % 2", 0), -1);
    }

    #[test]
    fn shifts_use_the_low_five_bits() {
        assert_eq!(ev("x << 33", 1), 2);
        assert_eq!(ev("x >> 1", -8), -4);
        assert_eq!(ev("x >>> 1", -8), ((-8i32 as u32) >> 1) as i32);
        assert_eq!(ev("x >>> 32", -8), -8);
        assert_eq!(ev("1 << -1", 0), i32::MIN);
    }

    #[test]
    fn whitespace_may_stand_between_tokens() {
        assert_eq!(ev(" \tx\n*\r\n3 ", 2), 6);
        assert_eq!(ev("x>>>1", -2), i32::MAX);
    }

    #[test]
    fn errors_give_the_offset_and_what_was_expected() {
        assert_eq!(err("x +"), "expected an operand after '+' at 3");
        assert_eq!(err(""), "empty expression: expected an operand at 0");
        assert_eq!(err("   "), "empty expression: expected an operand at 3");
        assert_eq!(err("x $ 1"), "unexpected character '$' at 2");
        assert_eq!(
            err("y + 1"),
            "unknown name 'y' (the only variable is x) at 0"
        );
        assert_eq!(err("(x + 1"), "unbalanced '(': never closed at 0");
        assert_eq!(err("x + 1)"), "unbalanced ')': no '(' to close at 5");
        assert_eq!(
            err("x * * 2"),
            "expected an operand after '*', found '*' at 4"
        );
        assert_eq!(
            err("x 2"),
            "expected an operator or ')' after 'x', found '2' at 2"
        );
        assert_eq!(
            err("4294967296"),
            "literal 4294967296 is out of range (0 to 0xFFFFFFFF) at 0"
        );
        assert_eq!(
            err("0x100000000"),
            "literal 0x100000000 is out of range (0 to 0xFFFFFFFF) at 0"
        );
        assert_eq!(
            err("99999999999999999999999"),
            "literal 99999999999999999999999 is out of range (0 to 0xFFFFFFFF) at 0"
        );
        assert_eq!(err("0x"), "malformed number '0x' at 0");
        assert_eq!(err("12ab"), "malformed number '12ab' at 0");
        assert_eq!(err("()"), "expected an operand after '(', found ')' at 1");
        assert_eq!(
            err("x ~ 1"),
            "expected an operator or ')' after 'x', found '~' at 2"
        );
        assert_eq!(err("é"), "unexpected character '\\u{e9}' at 0");
    }

    #[test]
    fn size_and_nesting_limits() {
        let deep_ok = format!("{}x{}", "(".repeat(MAX_NESTING), ")".repeat(MAX_NESTING));
        assert_eq!(ev(&deep_ok, 3), 3);
        let too_deep = format!(
            "{}x{}",
            "(".repeat(MAX_NESTING + 1),
            ")".repeat(MAX_NESTING + 1)
        );
        assert_eq!(
            err(&too_deep),
            format!("nesting deeper than 1000 levels at {MAX_NESTING}")
        );
        let negs = format!("{}x", "-".repeat(MAX_NESTING + 1));
        assert!(err(&negs).starts_with("nesting deeper than 1000 levels"));
        let huge = "x".repeat(MAX_INPUT + 1);
        assert_eq!(
            err(&huge),
            "input is 1048577 bytes; the limit is 1048576 (1 MiB) at 0"
        );
    }

    #[test]
    fn long_flat_expressions_need_no_deep_stack() {
        let sum = vec!["x"; 100_000].join(" + ");
        let e = Expr::parse(&sum).expect("parse");
        assert_eq!(e.eval(3), 300_000);
        assert_eq!(e.max_stack, 2);
        let right_deep = format!("{}x{}", "(x + ".repeat(999), ")".repeat(999));
        assert_eq!(ev(&right_deep, 1), 1000);
    }
}
