//! From text to a program in postfix order, without recursion: a lexer and Dijkstra's
//! shunting-yard, extended with right-associative `**`, `?:` and function calls. No input,
//! however long or deeply nested, can overflow the stack.

use super::{BinOp, Func, Node, Program, Test, Ty, UNARY, UnOp, promote};
use crate::error::{Refused, SyntaxError};
use crate::limits::{MAX_INPUT, MAX_NESTING, MAX_OPERATORS};
use std::num::IntErrorKind;

/// The named constants of f64 formulas.
pub(super) const CONSTANTS: [(&str, f64); 4] = [
    ("pi", std::f64::consts::PI),
    ("e", std::f64::consts::E),
    ("inf", f64::INFINITY),
    ("nan", f64::NAN),
];

/// Which language the text is in: a `Formula<T>`'s, where everything is `T`, or a typed
/// formula's, where each variable has its type and NumPy's rules combine them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Dialect {
    Single(Ty),
    Typed,
}

impl Dialect {
    /// Whether f64 syntax (`1.5`, `pi`, functions, `?:`) is in the language.
    fn floats(self) -> bool {
        matches!(self, Dialect::Single(Ty::F64) | Dialect::Typed)
    }

    /// Whether integer syntax (`~`, hex literals, bit operators) is in the language.
    fn ints(self) -> bool {
        self != Dialect::Single(Ty::F64)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Token<'a> {
    /// A literal's bits: of the formula's type, or in a typed formula an integer's (as i64).
    Num(u64),
    /// A typed formula's float literal (`1.5`, `1e3`): an f64's bits.
    Float(u64),
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
const OPERATORS: [&str; 20] = [
    ">>>", "**", "<<", ">>", "<=", ">=", "==", "!=", "//", "*", "/", "%", "+", "-", "&", "^", "|",
    "~", "<", ">",
];

/// One token, where it starts and where it ends.
type Lexed<'a> = (Token<'a>, usize, usize);

/// The tokens of `src` in `dialect`.
fn lex(src: &str, dialect: Dialect) -> impl Iterator<Item = Result<Lexed<'_>, SyntaxError>> + '_ {
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
            || (c == b'.' && dialect.floats() && bytes.get(at + 1).is_some_and(u8::is_ascii_digit));
        if number {
            let result = match dialect {
                Dialect::Single(ty) => number_at(src, start, ty, word_end, float_end),
                // A typed formula's literal is an integer unless it has a point or an exponent.
                Dialect::Typed if float_end(start) > digits_end(start) => {
                    number_at(src, start, Ty::F64, word_end, float_end).map(|(t, s, e)| match t {
                        Token::Num(bits) => (Token::Float(bits), s, e),
                        other => (other, s, e),
                    })
                }
                Dialect::Typed => number_at(src, start, Ty::I64, word_end, float_end),
            };
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
    if op == BinOp::FloorDiv {
        return Err(format!(
            "'//' (floor division) belongs to typed formulas, not {} formulas: write '/'",
            ty.name()
        ));
    }
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
    /// An operator, and where it stands.
    Unary(UnOp, usize),
    Bin(BinOp, usize),
    /// `(`, at this offset.
    Open(usize),
    /// A function's `(`: the function, its arguments so far, where its name starts.
    Call(Callable, usize, usize),
    /// `?` awaiting its `:`.
    Question(usize),
    /// `:`, awaiting the end of its operand.
    Colon,
}

/// What a call's name calls.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Callable {
    Func(Func),
    Test(Test),
    /// `i32(x)` and the other casts.
    Cast(Ty),
    /// `where(c, a, b)`.
    Where,
    /// `total_order(x)`.
    Order,
    /// `fmod(x, y)`: `Formula<T>`'s `%`.
    Fmod,
}

impl Callable {
    fn arity(self) -> usize {
        match self {
            Callable::Func(f) => f.arity(),
            Callable::Test(_) | Callable::Cast(_) | Callable::Order => 1,
            Callable::Fmod => 2,
            Callable::Where => 3,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Callable::Func(f) => f.name(),
            Callable::Test(t) => t.name(),
            Callable::Cast(t) => t.name(),
            Callable::Where => "where",
            Callable::Order => "total_order",
            Callable::Fmod => "fmod",
        }
    }

    /// The node it emits, and the type it computes in (a cast's only).
    fn node(self) -> (Node, Option<Ty>) {
        match self {
            Callable::Func(f) => (Node::Call(f), None),
            Callable::Test(t) => (Node::Test(t), None),
            Callable::Cast(t) => (Node::Cast, Some(t)),
            Callable::Where => (Node::Select, None),
            Callable::Order => (Node::Order, None),
            Callable::Fmod => (Node::Bin(BinOp::Rem), None),
        }
    }
}

/// The names a typed formula calls besides [`Func`]'s: `where`, the tests, the casts, `log`
/// (NumPy's name for `ln`), `fmod` (C's, NumPy's `fmod`) and `total_order`.
fn typed_callable(name: &str) -> Option<Callable> {
    match name {
        "where" => return Some(Callable::Where),
        "total_order" => return Some(Callable::Order),
        "fmod" => return Some(Callable::Fmod),
        _ => {}
    }
    if name == "log" {
        return Some(Callable::Func(Func::Ln));
    }
    if let Some(&(_, t)) = Test::ALL.iter().find(|(n, _)| *n == name) {
        return Some(Callable::Test(t));
    }
    Ty::by_name(name).map(Callable::Cast)
}

/// The names a typed formula reserves besides functions and constants.
pub(super) fn reserved_in_typed(name: &str) -> bool {
    matches!(name, "true" | "false") || typed_callable(name).is_some()
}

/// Everything the parser tracks.
struct Parser<'a> {
    src: &'a str,
    dialect: Dialect,
    vars: &'a [&'a str],
    var_types: &'a [Ty],
    out: Vec<Node>,
    /// The type each node of `out` computes in.
    types: Vec<Ty>,
    /// A typed formula's typing.
    typer: promote::Typer,
    pending: Vec<Pending>,
    nesting: usize,
    operators: usize,
}

impl Parser<'_> {
    /// The formula's type, in a `Formula<T>`.
    fn single(&self) -> Option<Ty> {
        match self.dialect {
            Dialect::Single(t) => Some(t),
            Dialect::Typed => None,
        }
    }

    fn emit(&mut self, node: Node, at: usize) -> Result<(), Refused> {
        self.emit_typed(node, None, at)
    }

    /// Emits `node`, whose type is `cast` for a cast; in a typed formula, types it first.
    fn emit_typed(&mut self, node: Node, cast: Option<Ty>, at: usize) -> Result<(), Refused> {
        if !matches!(node, Node::Var(_) | Node::Lit(_)) {
            self.operators += 1;
            if self.operators > MAX_OPERATORS {
                return Err(SyntaxError::new(
                    at,
                    format!("more than {MAX_OPERATORS} operators: split the formula"),
                )
                .into());
            }
        }
        let ty = match self.dialect {
            Dialect::Single(t) => t,
            Dialect::Typed => self.typer.node(
                node,
                cast,
                self.var_types,
                &mut self.out,
                &mut self.types,
                at,
            )?,
        };
        self.out.push(node);
        self.types.push(ty);
        Ok(())
    }

    /// Emits a literal: in a typed formula, an integer one takes its context's type.
    fn literal(&mut self, bits: u64, ty: Ty, weak: bool) {
        if self.dialect == Dialect::Typed {
            self.typer.literal(ty, weak, self.out.len());
        }
        self.out.push(Node::Lit(bits));
        self.types.push(self.single().unwrap_or(ty));
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
    fn pop_tighter(&mut self, prec: u8, right_assoc: bool) -> Result<(), Refused> {
        while let Some(&top) = self.pending.last() {
            let (node, top_prec, at) = match top {
                Pending::Unary(op, at) => (Node::Un(op), UNARY, at),
                Pending::Bin(op, at) => (Node::Bin(op), op.precedence(), at),
                _ => break,
            };
            let pops = top_prec > prec || (top_prec == prec && !right_assoc);
            if !pops {
                break;
            }
            if matches!(top, Pending::Unary(..)) {
                self.nesting -= 1;
            }
            self.pending.pop();
            self.emit(node, at)?;
        }
        Ok(())
    }

    /// Pops everything up to the innermost bracket (left on the stack), closing `?:` on the way.
    fn pop_to_bracket(&mut self, at: usize) -> Result<(), Refused> {
        self.pop_tighter(0, false)?;
        while let Some(&Pending::Colon) = self.pending.last() {
            self.pending.pop();
            self.nesting -= 1;
            self.emit(Node::Select, at)?;
            self.pop_tighter(0, false)?;
        }
        if let Some(&Pending::Question(q)) = self.pending.last() {
            return Err(SyntaxError::new(q, "'?' without its ':'".into()).into());
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

    fn call(&self, name: &str, at: usize) -> Result<Callable, SyntaxError> {
        if self.vars.contains(&name) {
            return Err(SyntaxError::new(
                at,
                format!("'{name}' is a variable, not a function: write {name} * (…) to multiply"),
            ));
        }
        if self.dialect == Dialect::Typed
            && let Some(c) = typed_callable(name)
        {
            return Ok(c);
        }
        match Func::by_name(name) {
            Some(_) if self.single().is_some_and(Ty::is_int) => Err(SyntaxError::new(
                at,
                format!(
                    "'{name}' is an f64 function: {} formulas have no functions",
                    self.dialect_name()
                ),
            )),
            Some(f) => Ok(Callable::Func(f)),
            None if typed_callable(name).is_some() => Err(SyntaxError::new(
                at,
                format!(
                    "'{name}' belongs to typed formulas (fnjit::TypedFormula), not {} formulas",
                    self.dialect_name()
                ),
            )),
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

    fn dialect_name(&self) -> &'static str {
        self.single().map_or("typed", Ty::name)
    }

    /// A variable, a constant or (in a typed formula) `true` or `false`.
    fn operand(&mut self, name: &str, at: usize) -> Result<(), Refused> {
        if let Some(i) = self.vars.iter().position(|&v| v == name) {
            return self.emit(Node::Var(i as u16), at);
        }
        if self.dialect.floats()
            && let Some(&(_, value)) = CONSTANTS.iter().find(|(c, _)| *c == name)
        {
            self.literal(value.to_bits(), Ty::F64, false);
            return Ok(());
        }
        if self.dialect == Dialect::Typed && matches!(name, "true" | "false") {
            self.literal(u64::from(name == "true"), Ty::Bool, false);
            return Ok(());
        }
        Err(self.unknown_name(name, at).into())
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

/// Parses `src` in `dialect`, over variables `vars` of types `var_types`.
pub(super) fn parse(
    src: &str,
    vars: &[&str],
    var_types: &[Ty],
    dialect: Dialect,
) -> Result<Program, Refused> {
    if src.len() > MAX_INPUT {
        return Err(SyntaxError::new(
            0,
            format!(
                "input is {} bytes; the limit is {MAX_INPUT} (1 MiB)",
                src.len()
            ),
        )
        .into());
    }
    let mut p = Parser {
        src,
        dialect,
        vars,
        var_types,
        // A node per two or three bytes of a typical formula: one allocation each, mostly.
        out: Vec::with_capacity(src.len() / 2 + 4),
        types: Vec::with_capacity(src.len() / 2 + 4),
        typer: promote::Typer::default(),
        pending: Vec::with_capacity(16),
        nesting: 0,
        operators: 0,
    };
    let mut expect_operand = true;
    let mut prev: Option<&str> = None;
    let after = |prev: Option<&str>| prev.map_or(String::new(), |p| format!(" after '{p}'"));
    for item in lex(src, dialect) {
        let (token, at, end) = item?;
        let spelled = &p.src[at..end];
        if expect_operand {
            match token {
                Token::Num(bits) => {
                    p.literal(bits, Ty::I64, true);
                    expect_operand = false;
                }
                Token::Float(bits) => {
                    p.literal(bits, Ty::F64, false);
                    expect_operand = false;
                }
                Token::Name(name) => {
                    p.operand(name, at)?;
                    expect_operand = false;
                }
                Token::Call(name) => {
                    let f = p.call(name, at)?;
                    p.open(Pending::Call(f, 0, at), at)?;
                }
                Token::Op("-") => p.open(Pending::Unary(UnOp::Neg, at), at)?,
                Token::Op("~") if dialect.ints() => p.open(Pending::Unary(UnOp::Not, at), at)?,
                Token::LParen => p.open(Pending::Open(at), at)?,
                _ => {
                    return Err(SyntaxError::new(
                        at,
                        format!("expected an operand{}, found '{spelled}'", after(prev)),
                    )
                    .into());
                }
            }
        } else {
            match token {
                Token::Op(op) if let Some(bin) = binary(op) => {
                    let bin = match p.single() {
                        Some(ty) => {
                            check_operator(bin, op, ty).map_err(|m| SyntaxError::new(at, m))?;
                            bin
                        }
                        // `%` of a typed formula is NumPy's.
                        None if bin == BinOp::Rem => BinOp::Mod,
                        None => bin,
                    };
                    let right = bin == BinOp::Pow;
                    p.pop_tighter(bin.precedence(), right)?;
                    p.pending.push(Pending::Bin(bin, at));
                    expect_operand = true;
                }
                Token::Question if dialect.floats() => {
                    p.pop_tighter(0, false)?;
                    p.open(Pending::Question(at), at)?;
                    expect_operand = true;
                }
                Token::Colon if dialect.floats() => {
                    // Close the conditionals nested in the middle operand, then take the `?`.
                    loop {
                        p.pop_tighter(0, false)?;
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
                                )
                                .into());
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
                            )
                            .into());
                        }
                        _ => {
                            return Err(SyntaxError::new(
                                at,
                                "',' outside a function's arguments".into(),
                            )
                            .into());
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
                                )
                                .into());
                            }
                            let (node, cast) = f.node();
                            p.emit_typed(node, cast, name_at)?;
                        }
                        _ => {
                            return Err(SyntaxError::new(
                                at,
                                "unbalanced ')': no '(' to close".into(),
                            )
                            .into());
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
                    )
                    .into());
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
        return Err(SyntaxError::new(src.len(), message).into());
    }
    let end = src.len();
    p.pop_to_bracket(end)?;
    match p.pending.pop() {
        None => {}
        Some(Pending::Open(at)) => {
            return Err(SyntaxError::new(at, "unbalanced '(': never closed".into()).into());
        }
        Some(Pending::Call(f, _, at)) => {
            return Err(SyntaxError::new(
                at,
                format!("unbalanced '(' of {}(: never closed", f.name()),
            )
            .into());
        }
        Some(other) => {
            return Err(SyntaxError::new(end, format!("internal: {other:?} left over")).into());
        }
    }
    let ty = match dialect {
        Dialect::Single(t) => t,
        Dialect::Typed => p.typer.result(),
    };
    Ok(Program::from_postfix(
        ty,
        var_types.to_vec(),
        p.out,
        p.types,
    ))
}
