//! From text to a program in postfix order, without recursion: a lexer and Dijkstra's
//! shunting-yard, extended with right-associative `**`, `?:` and function calls. No input,
//! however long or deeply nested, can overflow the stack.

use super::{BinOp, Func, Node, Program, Ty, UNARY, UnOp};
use crate::error::SyntaxError;
use crate::limits::{MAX_INPUT, MAX_NESTING, MAX_OPERATORS};
use std::num::IntErrorKind;

/// The named constants of f64 formulas.
pub(super) const CONSTANTS: [(&str, f64); 4] = [
    ("pi", std::f64::consts::PI),
    ("e", std::f64::consts::E),
    ("inf", f64::INFINITY),
    ("nan", f64::NAN),
];

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Token<'a> {
    Num(u64),
    Name(&'a str),
    /// A function's name and its opening parenthesis.
    Call(&'a str),
    Op(&'static str),
    LParen,
    RParen,
    Comma,
    Question,
    Colon,
}

/// Every operator's spelling, longest first so that `>>>` is not read as `>>` then `>`.
const OPERATORS: [&str; 19] = [
    ">>>", "**", "<<", ">>", "<=", ">=", "==", "!=", "*", "/", "%", "+", "-", "&", "^", "|", "~",
    "<", ">",
];

/// One token, where it starts and where it ends.
type Lexed<'a> = (Token<'a>, usize, usize);

/// The tokens of `src` for a formula of type `ty`.
fn lex(src: &str, ty: Ty) -> impl Iterator<Item = Result<Lexed<'_>, SyntaxError>> + '_ {
    let bytes = src.as_bytes();
    let is_word = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    // Where the word (letters, digits, `_`) starting at `from` ends.
    let word_end =
        move |from: usize| from + bytes[from..].iter().take_while(|b| is_word(**b)).count();
    let digits_end = move |from: usize| {
        from + bytes[from..]
            .iter()
            .take_while(|b| b.is_ascii_digit())
            .count()
    };
    // Where a decimal float (`1`, `1.5`, `.5`, `1e-3`, `2.5E+10`) starting at `from` ends.
    let float_end = move |from: usize| {
        let mut end = digits_end(from);
        if bytes.get(end) == Some(&b'.') {
            end = digits_end(end + 1);
        }
        if matches!(bytes.get(end), Some(b'e' | b'E')) {
            let sign = usize::from(matches!(bytes.get(end + 1), Some(b'+' | b'-')));
            let exp_end = digits_end(end + 1 + sign);
            if exp_end > end + 1 + sign {
                end = exp_end;
            }
        }
        end
    };
    let skip_space = move |mut at: usize| {
        while at < bytes.len() && matches!(bytes[at], b' ' | b'\t' | b'\n' | b'\r') {
            at += 1;
        }
        at
    };
    let mut at = 0;
    std::iter::from_fn(move || {
        at = skip_space(at);
        let start = at;
        let c = *bytes.get(at)?;
        let single = match c {
            b'(' => Some(Token::LParen),
            b')' => Some(Token::RParen),
            b',' => Some(Token::Comma),
            b'?' => Some(Token::Question),
            b':' => Some(Token::Colon),
            _ => None,
        };
        if let Some(token) = single {
            at += 1;
            return Some(Ok((token, start, at)));
        }
        let number = c.is_ascii_digit()
            || (c == b'.' && ty == Ty::F64 && bytes.get(at + 1).is_some_and(u8::is_ascii_digit));
        if number {
            let result = number_at(src, start, ty, word_end, float_end);
            at = match &result {
                Ok((_, _, end)) => *end,
                Err(_) => bytes.len(), // stop after the first error
            };
            return Some(result);
        }
        if c.is_ascii_alphabetic() || c == b'_' {
            let end = word_end(at);
            let name = &src[start..end];
            let after = skip_space(end);
            if bytes.get(after) == Some(&b'(') {
                at = after + 1;
                return Some(Ok((Token::Call(name), start, end)));
            }
            at = end;
            return Some(Ok((Token::Name(name), start, end)));
        }
        match OPERATORS.iter().find(|op| src[at..].starts_with(**op)) {
            Some(&op) => {
                at += op.len();
                Some(Ok((Token::Op(op), start, at)))
            }
            None => {
                let ch = src[at..].chars().next().unwrap_or('?');
                at = bytes.len(); // stop after the first error
                Some(Err(SyntaxError::new(
                    start,
                    format!("unexpected character '{}'", ch.escape_default()),
                )))
            }
        }
    })
}

/// The number starting at `start`, as the bits of type `ty`.
fn number_at<'a>(
    src: &'a str,
    start: usize,
    ty: Ty,
    word_end: impl Fn(usize) -> usize,
    float_end: impl Fn(usize) -> usize,
) -> Result<Lexed<'a>, SyntaxError> {
    let bytes = src.as_bytes();
    let hex = bytes[start] == b'0' && matches!(bytes.get(start + 1), Some(b'x' | b'X'));
    let float = float_end(start);
    if ty == Ty::F64 {
        let end = if hex { word_end(start) } else { float };
        let text = &src[start..end.max(word_end(end))];
        if hex {
            return Err(SyntaxError::new(
                start,
                format!("hex literal '{text}' in an f64 formula: write f64 literals in decimal"),
            ));
        }
        if word_end(end) > end {
            return Err(SyntaxError::new(
                start,
                format!("malformed number '{text}'"),
            ));
        }
        let value: f64 = src[start..end]
            .parse()
            .map_err(|_| SyntaxError::new(start, format!("malformed number '{text}'")))?;
        return Ok((Token::Num(value.to_bits()), start, end));
    }
    let digits_from = if hex { start + 2 } else { start };
    let end = word_end(digits_from);
    if !hex && float > end && word_end(float) == float {
        let t = ty.name();
        return Err(SyntaxError::new(
            start,
            format!(
                "'{}' is not an {t} literal: {t} formulas take whole numbers",
                &src[start..float]
            ),
        ));
    }
    let digits = &src[digits_from..end];
    let text = &src[start..end];
    let value = if hex {
        u64::from_str_radix(digits, 16)
    } else {
        digits.parse::<u64>()
    };
    let (max, max_hex) = match ty {
        Ty::I32 => (u64::from(u32::MAX), "0xFFFFFFFF"),
        _ => (u64::MAX, "0xFFFFFFFFFFFFFFFF"),
    };
    match value {
        // An i32 literal is a 32-bit pattern; keep it sign-extended to 64 bits.
        Ok(v) if v <= max && ty == Ty::I32 => {
            Ok((Token::Num(v as u32 as i32 as i64 as u64), start, end))
        }
        Ok(v) if v <= max => Ok((Token::Num(v), start, end)),
        Err(e) if *e.kind() != IntErrorKind::PosOverflow => Err(SyntaxError::new(
            start,
            format!("malformed number '{text}'"),
        )),
        _ => Err(SyntaxError::new(
            start,
            format!("literal {text} is out of range (0 to {max_hex})"),
        )),
    }
}

fn binary(op: &str) -> Option<BinOp> {
    BinOp::ALL.iter().find(|(s, _)| *s == op).map(|&(_, b)| b)
}

/// Whether `op` belongs to formulas of type `ty`; if not, why not.
fn check_operator(op: BinOp, spelled: &str, ty: Ty) -> Result<(), String> {
    let int_only = matches!(
        op,
        BinOp::Shl | BinOp::Sar | BinOp::Shr | BinOp::And | BinOp::Xor | BinOp::Or
    );
    match (ty, op) {
        (Ty::F64, BinOp::Xor) => {
            Err("'^' is xor, which f64 formulas do not have: write '**' for a power".into())
        }
        (Ty::F64, _) if int_only => Err(format!(
            "'{spelled}' is a bit operator: bit operators belong to integer formulas"
        )),
        (_, BinOp::Pow) if ty.is_int() => Err(format!(
            "'**' (power) belongs to f64 formulas, not {}",
            ty.name()
        )),
        (_, BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge | BinOp::Eq | BinOp::Ne)
            if ty.is_int() =>
        {
            Err(format!(
                "comparisons such as '{spelled}' belong to f64 formulas, not {}",
                ty.name()
            ))
        }
        _ => Ok(()),
    }
}

/// What waits on the operator stack.
#[derive(Clone, Copy, Debug)]
enum Pending {
    Unary(UnOp),
    Bin(BinOp),
    /// `(`, at this offset.
    Open(usize),
    /// A function's `(`: the function, its arguments so far, where its name starts.
    Call(Func, usize, usize),
    /// `?` awaiting its `:`.
    Question(usize),
    /// `:`, awaiting the end of its operand.
    Colon,
}

/// Everything the parser tracks.
struct Parser<'a> {
    src: &'a str,
    ty: Ty,
    vars: &'a [&'a str],
    out: Vec<Node>,
    pending: Vec<Pending>,
    nesting: usize,
    operators: usize,
}

impl Parser<'_> {
    fn emit(&mut self, node: Node, at: usize) -> Result<(), SyntaxError> {
        if !matches!(node, Node::Var(_) | Node::Lit(_)) {
            self.operators += 1;
            if self.operators > MAX_OPERATORS {
                return Err(SyntaxError::new(
                    at,
                    format!("more than {MAX_OPERATORS} operators: split the formula"),
                ));
            }
        }
        self.out.push(node);
        Ok(())
    }

    fn open(&mut self, p: Pending, at: usize) -> Result<(), SyntaxError> {
        self.nesting += 1;
        if self.nesting > MAX_NESTING {
            return Err(SyntaxError::new(
                at,
                format!("nesting deeper than {MAX_NESTING} levels"),
            ));
        }
        self.pending.push(p);
        Ok(())
    }

    /// Pops operators that bind at least as tightly as `prec` (strictly tighter when
    /// `right_assoc`), up to the first bracket or `?`/`:`.
    fn pop_tighter(&mut self, prec: u8, right_assoc: bool, at: usize) -> Result<(), SyntaxError> {
        while let Some(&top) = self.pending.last() {
            let (node, top_prec) = match top {
                Pending::Unary(op) => (Node::Un(op), UNARY),
                Pending::Bin(op) => (Node::Bin(op), op.precedence()),
                _ => break,
            };
            let pops = top_prec > prec || (top_prec == prec && !right_assoc);
            if !pops {
                break;
            }
            if matches!(top, Pending::Unary(_)) {
                self.nesting -= 1;
            }
            self.pending.pop();
            self.emit(node, at)?;
        }
        Ok(())
    }

    /// Pops everything up to the innermost bracket (left on the stack), closing `?:` on the way.
    fn pop_to_bracket(&mut self, at: usize) -> Result<(), SyntaxError> {
        self.pop_tighter(0, false, at)?;
        while let Some(&Pending::Colon) = self.pending.last() {
            self.pending.pop();
            self.nesting -= 1;
            self.emit(Node::Select, at)?;
            self.pop_tighter(0, false, at)?;
        }
        if let Some(&Pending::Question(q)) = self.pending.last() {
            return Err(SyntaxError::new(q, "'?' without its ':'".into()));
        }
        Ok(())
    }

    fn unknown_name(&self, name: &str, at: usize) -> SyntaxError {
        let known = match self.vars {
            [] => "there are no variables".to_owned(),
            [only] => format!("the only variable is {only}"),
            vars => format!("the variables are {}", vars.join(", ")),
        };
        let hint = if Func::by_name(name).is_some() {
            format!("; '{name}' is a function: call it as {name}(…)")
        } else {
            String::new()
        };
        SyntaxError::new(at, format!("unknown name '{name}' ({known}){hint}"))
    }

    fn call(&self, name: &str, at: usize) -> Result<Func, SyntaxError> {
        if self.vars.contains(&name) {
            return Err(SyntaxError::new(
                at,
                format!("'{name}' is a variable, not a function: write {name} * (…) to multiply"),
            ));
        }
        match Func::by_name(name) {
            Some(_) if self.ty.is_int() => Err(SyntaxError::new(
                at,
                format!(
                    "'{name}' is an f64 function: {} formulas have no functions",
                    self.ty.name()
                ),
            )),
            Some(f) => Ok(f),
            None => {
                let nearest = Func::ALL
                    .iter()
                    .map(|(n, _)| (edit_distance(name, n), *n))
                    .min()
                    .filter(|(d, _)| *d <= 2);
                let hint = nearest.map_or(String::new(), |(_, n)| format!("; did you mean '{n}'?"));
                Err(SyntaxError::new(
                    at,
                    format!("unknown function '{name}'{hint}"),
                ))
            }
        }
    }

    fn operand(&self, name: &str, at: usize) -> Result<Node, SyntaxError> {
        if let Some(i) = self.vars.iter().position(|&v| v == name) {
            return Ok(Node::Var(i as u16));
        }
        if self.ty == Ty::F64
            && let Some(&(_, value)) = CONSTANTS.iter().find(|(c, _)| *c == name)
        {
            return Ok(Node::Lit(value.to_bits()));
        }
        Err(self.unknown_name(name, at))
    }
}

/// Levenshtein distance, for "did you mean".
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, &cb) in b.iter().enumerate() {
            let next = (row[j + 1] + 1)
                .min(row[j] + 1)
                .min(prev + usize::from(ca != cb));
            prev = row[j + 1];
            row[j + 1] = next;
        }
    }
    row[b.len()]
}

pub(super) fn parse(src: &str, vars: &[&str], ty: Ty) -> Result<Program, SyntaxError> {
    if src.len() > MAX_INPUT {
        return Err(SyntaxError::new(
            0,
            format!(
                "input is {} bytes; the limit is {MAX_INPUT} (1 MiB)",
                src.len()
            ),
        ));
    }
    let mut p = Parser {
        src,
        ty,
        vars,
        // A node per two or three bytes of a typical formula: one allocation each, mostly.
        out: Vec::with_capacity(src.len() / 2 + 4),
        pending: Vec::with_capacity(16),
        nesting: 0,
        operators: 0,
    };
    let mut expect_operand = true;
    let mut prev: Option<&str> = None;
    let after = |prev: Option<&str>| prev.map_or(String::new(), |p| format!(" after '{p}'"));
    for item in lex(src, ty) {
        let (token, at, end) = item?;
        let spelled = &p.src[at..end];
        if expect_operand {
            match token {
                Token::Num(bits) => {
                    p.emit(Node::Lit(bits), at)?;
                    expect_operand = false;
                }
                Token::Name(name) => {
                    let node = p.operand(name, at)?;
                    p.emit(node, at)?;
                    expect_operand = false;
                }
                Token::Call(name) => {
                    let f = p.call(name, at)?;
                    p.open(Pending::Call(f, 0, at), at)?;
                }
                Token::Op("-") => p.open(Pending::Unary(UnOp::Neg), at)?,
                Token::Op("~") if ty.is_int() => p.open(Pending::Unary(UnOp::Not), at)?,
                Token::LParen => p.open(Pending::Open(at), at)?,
                _ => {
                    return Err(SyntaxError::new(
                        at,
                        format!("expected an operand{}, found '{spelled}'", after(prev)),
                    ));
                }
            }
        } else {
            match token {
                Token::Op(op) if let Some(bin) = binary(op) => {
                    check_operator(bin, op, ty).map_err(|m| SyntaxError::new(at, m))?;
                    let right = bin == BinOp::Pow;
                    p.pop_tighter(bin.precedence(), right, at)?;
                    p.pending.push(Pending::Bin(bin));
                    expect_operand = true;
                }
                Token::Question if ty == Ty::F64 => {
                    p.pop_tighter(0, false, at)?;
                    p.open(Pending::Question(at), at)?;
                    expect_operand = true;
                }
                Token::Colon if ty == Ty::F64 => {
                    // Close the conditionals nested in the middle operand, then take the `?`.
                    loop {
                        p.pop_tighter(0, false, at)?;
                        match p.pending.last() {
                            Some(Pending::Colon) => {
                                p.pending.pop();
                                p.nesting -= 1;
                                p.emit(Node::Select, at)?;
                            }
                            Some(Pending::Question(_)) => {
                                p.pending.pop();
                                p.pending.push(Pending::Colon);
                                break;
                            }
                            _ => {
                                return Err(SyntaxError::new(
                                    at,
                                    "':' without a '?' before it".into(),
                                ));
                            }
                        }
                    }
                    expect_operand = true;
                }
                Token::Comma => {
                    p.pop_to_bracket(at)?;
                    match p.pending.last_mut() {
                        Some(Pending::Call(f, args, _)) if *args + 1 < f.arity() => *args += 1,
                        Some(Pending::Call(f, _, name_at)) => {
                            return Err(SyntaxError::new(
                                *name_at,
                                format!(
                                    "{} takes {} argument{}, given more",
                                    f.name(),
                                    f.arity(),
                                    if f.arity() == 1 { "" } else { "s" }
                                ),
                            ));
                        }
                        _ => {
                            return Err(SyntaxError::new(
                                at,
                                "',' outside a function's arguments".into(),
                            ));
                        }
                    }
                    expect_operand = true;
                }
                Token::RParen => {
                    p.pop_to_bracket(at)?;
                    match p.pending.pop() {
                        Some(Pending::Open(_)) => p.nesting -= 1,
                        Some(Pending::Call(f, args, name_at)) => {
                            p.nesting -= 1;
                            if args + 1 != f.arity() {
                                return Err(SyntaxError::new(
                                    name_at,
                                    format!(
                                        "{} takes {} arguments, given {}",
                                        f.name(),
                                        f.arity(),
                                        args + 1
                                    ),
                                ));
                            }
                            p.emit(Node::Call(f), at)?;
                        }
                        _ => {
                            return Err(SyntaxError::new(
                                at,
                                "unbalanced ')': no '(' to close".into(),
                            ));
                        }
                    }
                }
                _ => {
                    return Err(SyntaxError::new(
                        at,
                        format!(
                            "expected an operator or ')'{}, found '{spelled}'",
                            after(prev)
                        ),
                    ));
                }
            }
        }
        prev = Some(match token {
            Token::Call(name) => name,
            _ => spelled,
        });
    }
    if expect_operand {
        let message = match prev {
            None => "empty expression: expected an operand".to_owned(),
            Some(p) => format!("expected an operand after '{p}'"),
        };
        return Err(SyntaxError::new(src.len(), message));
    }
    let end = src.len();
    p.pop_to_bracket(end)?;
    match p.pending.pop() {
        None => {}
        Some(Pending::Open(at)) => {
            return Err(SyntaxError::new(at, "unbalanced '(': never closed".into()));
        }
        Some(Pending::Call(f, _, at)) => {
            return Err(SyntaxError::new(
                at,
                format!("unbalanced '(' of {}(: never closed", f.name()),
            ));
        }
        Some(other) => {
            return Err(SyntaxError::new(
                end,
                format!("internal: {other:?} left over"),
            ));
        }
    }
    Ok(Program::from_postfix(ty, vars.len(), p.out))
}
