//! From text to a program in postfix order, without recursion: a lexer and Dijkstra's
//! shunting-yard. No input, however long or deeply nested, can overflow the stack.

use super::{BinOp, Expr, MAX_INPUT, MAX_NESTING, Node};
use crate::error::SyntaxError;
use std::num::IntErrorKind;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Token {
    X,
    Lit(i32),
    Op(&'static str),
    LParen,
    RParen,
}

/// Every operator's spelling, longest first so that `>>>` is not read as `>>` then `>`.
const OPERATORS: [&str; 12] = [
    ">>>", "<<", ">>", "*", "/", "%", "+", "-", "&", "^", "|", "~",
];

/// One token and the byte offset where it starts.
fn lex(src: &str) -> impl Iterator<Item = Result<(Token, usize), SyntaxError>> + '_ {
    let bytes = src.as_bytes();
    // Where the word (letters, digits, `_`) starting at `from` ends.
    let word_end = move |from: usize| {
        from + bytes[from..]
            .iter()
            .take_while(|b| b.is_ascii_alphanumeric() || **b == b'_')
            .count()
    };
    let mut at = 0;
    std::iter::from_fn(move || {
        while at < bytes.len() && matches!(bytes[at], b' ' | b'\t' | b'\n' | b'\r') {
            at += 1;
        }
        let start = at;
        let c = *bytes.get(at)?;
        let token = match c {
            b'(' => Token::LParen,
            b')' => Token::RParen,
            b'0'..=b'9' => {
                let hex = c == b'0' && matches!(bytes.get(at + 1), Some(b'x' | b'X'));
                let digits_from = if hex { at + 2 } else { at };
                let end = word_end(digits_from);
                at = end;
                let digits = &src[digits_from..end];
                let value = if hex {
                    u64::from_str_radix(digits, 16)
                } else {
                    digits.parse::<u64>()
                };
                let text = &src[start..end];
                return Some(match value {
                    Ok(v) if v <= u64::from(u32::MAX) => Ok((Token::Lit(v as u32 as i32), start)),
                    Err(e) if *e.kind() != IntErrorKind::PosOverflow => Err(SyntaxError::new(
                        start,
                        format!("malformed number '{text}'"),
                    )),
                    _ => Err(SyntaxError::new(
                        start,
                        format!("literal {text} is out of range (0 to 0xFFFFFFFF)"),
                    )),
                });
            }
            c if c.is_ascii_alphabetic() || c == b'_' => {
                let end = word_end(at);
                at = end;
                return Some(match &src[start..end] {
                    "x" => Ok((Token::X, start)),
                    name => Err(SyntaxError::new(
                        start,
                        format!("unknown name '{name}' (the only variable is x)"),
                    )),
                });
            }
            _ => match OPERATORS.iter().find(|op| src[at..].starts_with(**op)) {
                Some(&op) => {
                    at += op.len();
                    return Some(Ok((Token::Op(op), start)));
                }
                _ => {
                    let ch = src[at..].chars().next().unwrap_or('?');
                    at = bytes.len(); // stop after the first error
                    return Some(Err(SyntaxError::new(
                        start,
                        format!("unexpected character '{}'", ch.escape_default()),
                    )));
                }
            },
        };
        at += 1;
        Some(Ok((token, start)))
    })
}

fn binary(op: &str) -> Option<BinOp> {
    Some(match op {
        "*" => BinOp::Mul,
        "/" => BinOp::Div,
        "%" => BinOp::Rem,
        "+" => BinOp::Add,
        "-" => BinOp::Sub,
        "<<" => BinOp::Shl,
        ">>" => BinOp::Sar,
        ">>>" => BinOp::Shr,
        "&" => BinOp::And,
        "^" => BinOp::Xor,
        "|" => BinOp::Or,
        _ => return None,
    })
}

/// What waits on the operator stack.
#[derive(Clone, Copy)]
enum Pending {
    Neg,
    Not,
    Bin(BinOp),
    Open(usize),
}

/// The node a pending operator becomes, or `None` for a parenthesis.
fn node(p: Pending) -> Option<Node> {
    match p {
        Pending::Neg => Some(Node::Neg),
        Pending::Not => Some(Node::Not),
        Pending::Bin(op) => Some(Node::Bin(op)),
        Pending::Open(_) => None,
    }
}

/// How a token is spelled, for messages.
fn spelling(src: &str, token: Token, at: usize) -> String {
    match token {
        Token::X => "x".into(),
        Token::Lit(_) => src[at..]
            .split(|c: char| !c.is_ascii_alphanumeric())
            .next()
            .unwrap_or("")
            .into(),
        Token::Op(op) => op.into(),
        Token::LParen => "(".into(),
        Token::RParen => ")".into(),
    }
}

pub(super) fn parse(src: &str) -> Result<Expr, SyntaxError> {
    if src.len() > MAX_INPUT {
        return Err(SyntaxError::new(
            0,
            format!(
                "input is {} bytes; the limit is {MAX_INPUT} (1 MiB)",
                src.len()
            ),
        ));
    }
    let mut out = Vec::new();
    let mut pending: Vec<Pending> = Vec::new();
    let mut nesting = 0usize;
    let mut expect_operand = true;
    let mut prev: Option<String> = None;
    let after = |prev: &Option<String>| {
        prev.as_ref()
            .map_or(String::new(), |p| format!(" after '{p}'"))
    };
    for item in lex(src) {
        let (token, at) = item?;
        if expect_operand {
            match token {
                Token::X => out.push(Node::X),
                Token::Lit(v) => out.push(Node::Lit(v)),
                Token::Op("-") | Token::Op("~") | Token::LParen => {
                    nesting += 1;
                    if nesting > MAX_NESTING {
                        return Err(SyntaxError::new(
                            at,
                            format!("nesting deeper than {MAX_NESTING} levels"),
                        ));
                    }
                    pending.push(match token {
                        Token::Op("-") => Pending::Neg,
                        Token::Op(_) => Pending::Not,
                        _ => Pending::Open(at),
                    });
                }
                _ => {
                    return Err(SyntaxError::new(
                        at,
                        format!(
                            "expected an operand{}, found '{}'",
                            after(&prev),
                            spelling(src, token, at)
                        ),
                    ));
                }
            }
            if matches!(token, Token::X | Token::Lit(_)) {
                expect_operand = false;
            }
        } else {
            match token {
                Token::Op(op) if let Some(op) = binary(op) => {
                    while let Some(&top) = pending.last() {
                        let pops = match top {
                            Pending::Neg | Pending::Not => true,
                            Pending::Bin(t) => t.precedence() >= op.precedence(),
                            Pending::Open(_) => false,
                        };
                        if !pops {
                            break;
                        }
                        if matches!(top, Pending::Neg | Pending::Not) {
                            nesting -= 1;
                        }
                        out.extend(pending.pop().and_then(node));
                    }
                    pending.push(Pending::Bin(op));
                    expect_operand = true;
                }
                Token::RParen => loop {
                    match pending.pop() {
                        Some(Pending::Open(_)) => {
                            nesting -= 1;
                            break;
                        }
                        Some(p @ (Pending::Neg | Pending::Not)) => {
                            nesting -= 1;
                            out.extend(node(p));
                        }
                        Some(p) => out.extend(node(p)),
                        None => {
                            return Err(SyntaxError::new(
                                at,
                                "unbalanced ')': no '(' to close".into(),
                            ));
                        }
                    }
                },
                _ => {
                    return Err(SyntaxError::new(
                        at,
                        format!(
                            "expected an operator or ')'{}, found '{}'",
                            after(&prev),
                            spelling(src, token, at)
                        ),
                    ));
                }
            }
        }
        prev = Some(spelling(src, token, at));
    }
    if expect_operand {
        let message = match &prev {
            None => "empty expression: expected an operand".to_owned(),
            Some(p) => format!("expected an operand after '{p}'"),
        };
        return Err(SyntaxError::new(src.len(), message));
    }
    while let Some(p) = pending.pop() {
        match p {
            Pending::Open(at) => {
                return Err(SyntaxError::new(at, "unbalanced '(': never closed".into()));
            }
            p => out.extend(node(p)),
        }
    }
    Ok(Expr::from_postfix(out))
}
