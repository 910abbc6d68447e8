"""numexpr's expressions in fnjit's typed language (docs/language.md, "Typed formulas").

Python's grammar is parsed by ``ast``; each part is written out fully parenthesized (Python's
precedence is not fnjit's: ``a & b == c`` is ``(a & b) == c`` in Python), and typed by fnjit
itself (``_fnjit.type_of``), so that the one typing is fnjit's, with NumPy's promotion. What
this module adds is what Python's and NumPy's meanings need beyond the language:

- a Python float beside a float32 operand is a float32 (NumPy's weak scalars, NEP 50);
- ``x ** 0.5`` is ``sqrt(x)`` and ``x ** -1`` is ``1 / x``, as NumPy computes them (and
  fnjit's ``x ** 2`` is ``x * x``, as NumPy's is); integer powers of integers are products (NumPy raises ``ValueError`` for a
  negative one);
- numexpr's names: ``arcsin`` is ``asin``, ``round`` is ``rint``, ``maximum`` is ``max``, and
  ``sum``, ``prod``, ``min`` and ``max`` are reductions, the outermost operation.
"""

import ast
import re

from . import _fnjit

# numexpr's function names under fnjit's, where they differ or fnjit has them.
FUNCTIONS = {
    "sqrt": "sqrt",
    "sin": "sin",
    "cos": "cos",
    "tan": "tan",
    "arcsin": "asin",
    "arccos": "acos",
    "arctan": "atan",
    "arctan2": "atan2",
    "sinh": "sinh",
    "cosh": "cosh",
    "tanh": "tanh",
    "arcsinh": "asinh",
    "arccosh": "acosh",
    "arctanh": "atanh",
    "log": "log",
    "log1p": "log1p",
    "log10": "log10",
    "log2": "log2",
    "exp": "exp",
    "expm1": "expm1",
    "abs": "abs",
    "absolute": "abs",
    "sign": "sign",
    "ceil": "ceil",
    "floor": "floor",
    "round": "rint",
    "trunc": "trunc",
    "fmod": "fmod",
    "hypot": "hypot",
    "nextafter": "nextafter",
    "copysign": "copysign",
    "maximum": "max",
    "minimum": "min",
    "isnan": "isnan",
    "isinf": "isinf",
    "isfinite": "isfinite",
}

# numexpr's reductions, each the outermost operation (NumPy reduces fnjit's result).
REDUCTIONS = ("sum", "prod", "min", "max")

_OPERATORS = {
    ast.Add: "+",
    ast.Sub: "-",
    ast.Mult: "*",
    ast.Div: "/",
    ast.FloorDiv: "//",
    ast.Mod: "%",
    ast.Pow: "**",
    ast.BitAnd: "&",
    ast.BitOr: "|",
    ast.BitXor: "^",
    ast.LShift: "<<",
    ast.RShift: ">>",
    ast.Lt: "<",
    ast.LtE: "<=",
    ast.Gt: ">",
    ast.GtE: ">=",
    ast.Eq: "==",
    ast.NotEq: "!=",
}

# NumPy's names of fnjit's casts: what ``ConstantNode`` writes a float32 constant with.
_CASTS = {"bool_": "bool", "int32": "i32", "int64": "i64", "float32": "f32", "float64": "f64"}

_INTEGERS = ("i32", "i64")
_FLOATS = ("f32", "f64")

# numexpr's sanitizer (``sanitize=True``), its patterns: no `;`, `:` or `[`, no dunder name,
# and no attribute but `.real` and `.imag` (a `.` in a number is a number's).
_FORBIDDEN = re.compile(
    r"[\;\[\:]"
    r"|(^|[^\w])__[\w]+__($|[^\w])"
    r"|\.\b(?!(real|imag|(\d*[eE]?[+-]?\d+)|(\d*[eE]?[+-]?\d+j)|(\d*j))\b)"
)


def check_sanitized(ex):
    """``ValueError`` for what numexpr's sanitizer forbids."""
    text = re.sub(r"('[^']*')", "", re.sub(r"\s+", "", ex))
    if _FORBIDDEN.search(text) is not None:
        raise ValueError(f"Expression {ex} has forbidden control characters.")


class Part:
    """A translated part: its text and its type (fnjit's name, or ``"int"`` and ``"float"``
    for a Python literal that takes its context's type)."""

    __slots__ = ("text", "ty")

    def __init__(self, text, ty):
        self.text = text
        self.ty = ty

    @property
    def weak(self):
        return self.ty in ("int", "float")


def parse(ex):
    """The expression's ``ast`` body: a ``SyntaxError`` for what Python cannot parse."""
    try:
        return ast.parse(ex.strip(), mode="eval").body
    except SyntaxError as e:
        raise SyntaxError(f"invalid expression {ex!r}: {e.msg}") from None


def names(tree):
    """The variables an expression names, sorted, as numexpr orders them without a signature
    (a name that is called is a function, not a variable)."""
    called = {id(n.func) for n in ast.walk(tree) if isinstance(n, ast.Call)}
    return sorted(
        {
            n.id
            for n in ast.walk(tree)
            if isinstance(n, ast.Name)
            and id(n) not in called
            and n.id not in ("True", "False", "None")
        }
    )


def reduction(tree):
    """``(name, inner, axis)`` when the expression is a reduction, else ``None``; a
    ``ValueError`` for a reduction that is not the outermost operation."""
    top = None
    if (
        isinstance(tree, ast.Call)
        and isinstance(tree.func, ast.Name)
        and tree.func.id in REDUCTIONS
    ):
        args = list(tree.args)
        axis = None
        for kw in tree.keywords:
            if kw.arg != "axis":
                raise TypeError(f"{tree.func.id}() got an unexpected keyword argument {kw.arg!r}")
            args.append(kw.value)
        if not args or len(args) > 2:
            raise TypeError(f"{tree.func.id}() takes an expression and an axis")
        if len(args) == 2:
            axis = ast.literal_eval(args[1])
            if axis is not None and (not isinstance(axis, int) or axis < 0):
                raise ValueError(f"axis must be None or a non-negative integer, not {axis!r}")
        top = (tree.func.id, args[0], axis)
        inner = args[0]
    else:
        inner = tree
    for node in ast.walk(inner):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id in REDUCTIONS
        ):
            raise ValueError("a reduction must be the outermost operation of an expression")
    return top


class Translator:
    """Translates one expression over a signature (names and fnjit type names)."""

    def __init__(self, signature):
        # Variables are renamed v0, v1, … in the signature's order: a Python name may be one
        # that fnjit's language reserves (`e`, `pi`, `sin`, `where`).
        self.aliases = {name: f"v{k}" for k, (name, _) in enumerate(signature)}
        self.types = dict(signature)
        self.signature = [(self.aliases[n], ty) for n, ty in signature]

    def type_of(self, text):
        return _fnjit.type_of(text, self.signature)

    def typed(self, text):
        return Part(text, self.type_of(text))

    def __call__(self, node):
        part = self.part(node)
        value = _literal(part) if part.ty == "int" else None
        if value is not None and -(2**31) <= value < 2**31:
            # numexpr's: an integer constant that fits in 32 bits is an int32.
            return self.typed(f"i32({part.text})")
        return self.settle(part)

    def settle(self, part):
        """A constant expression typed as fnjit types it alone (an integer is an i64)."""
        if not part.weak:
            return part
        ty = self.type_of(part.text)
        return Part(f"{ty}({part.text})", ty)

    def part(self, node):
        if isinstance(node, ast.Constant):
            return self.constant(node.value)
        if isinstance(node, ast.Name):
            if node.id == "True":
                return Part("true", "bool")
            if node.id == "False":
                return Part("false", "bool")
            if node.id not in self.types:
                raise KeyError(node.id)
            return Part(self.aliases[node.id], self.types[node.id])
        if isinstance(node, ast.BinOp) and type(node.op) in _OPERATORS:
            return self.binary(_OPERATORS[type(node.op)], self.part(node.left), self.part(node.right))
        if isinstance(node, ast.UnaryOp):
            x = self.part(node.operand)
            if isinstance(node.op, ast.USub):
                return Part(f"-({x.text})", x.ty) if x.weak else self.typed(f"-({x.text})")
            if isinstance(node.op, ast.UAdd):
                return x
            if isinstance(node.op, ast.Not):
                raise TypeError("'not' is not an array operator: write ~")
            return self.typed(f"~({x.text})")
        if isinstance(node, ast.Compare):
            parts = [self.part(node.left)] + [self.part(c) for c in node.comparators]
            terms = []
            for op, (l, r) in zip(node.ops, zip(parts, parts[1:])):
                if type(op) not in _OPERATORS:
                    raise SyntaxError(f"the comparison {type(op).__name__} is not supported")
                terms.append(self.binary(_OPERATORS[type(op)], l, r))
            return self.join(" & ", terms)
        if isinstance(node, ast.BoolOp):
            raise TypeError("'and' and 'or' are not array operators: write & and |")
        if isinstance(node, ast.Attribute):
            if node.attr == "real":
                return self.part(node.value)
            if node.attr == "imag":
                raise NotImplementedError("complex numbers (.imag) are not supported by fnjit")
            raise ValueError(f"the attribute .{node.attr} is not supported")
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            if node.keywords:
                raise TypeError(f"{node.func.id}() takes no keyword arguments here")
            return self.call(node.func.id, [self.part(a) for a in node.args])
        raise SyntaxError(f"{ast.dump(node)} is not supported in an expression")

    def constant(self, value):
        if isinstance(value, bool):
            return Part("true" if value else "false", "bool")
        if isinstance(value, int):
            if not -(2**63) <= value < 2**63:
                raise OverflowError(f"the integer {value} does not fit in 64 bits")
            return Part(str(value), "int")
        if isinstance(value, float):
            if value != value:
                return Part("nan", "float")
            if value in (float("inf"), float("-inf")):
                return Part("inf" if value > 0 else "(-inf)", "float")
            return Part(repr(value), "float")
        if isinstance(value, complex):
            raise NotImplementedError("complex numbers are not supported by fnjit")
        if isinstance(value, (str, bytes)):
            raise NotImplementedError("strings are not supported by fnjit")
        raise TypeError(f"the constant {value!r} is not supported")

    def weaken(self, a, b):
        """``a`` and ``b`` with a Python float beside a float32 made a float32 (NEP 50)."""
        if a.ty == "float" and b.ty == "f32":
            a = Part(f"f32({a.text})", "f32")
        if b.ty == "float" and a.ty == "f32":
            b = Part(f"f32({b.text})", "f32")
        return a, b

    def binary(self, op, a, b):
        a, b = self.weaken(a, b)
        if op == "**":
            return self.power(a, b)
        if a.ty == "bool" and b.ty == "bool" and op in ("+", "*"):
            # NumPy's: the sum of two bools is their or, the product their and.
            op = "|" if op == "+" else "&"
        if op in ("<<", ">>") and not b.weak:
            return self.shift(op, a, b)
        text = f"({a.text}) {op} ({b.text})"
        if a.weak and b.weak and op not in ("<", "<=", ">", ">=", "==", "!="):
            floats = "float" in (a.ty, b.ty) or op == "/"
            return Part(text, "float" if floats else "int")
        return self.typed(text)

    def shift(self, op, a, b):
        """``a << b`` and ``a >> b`` as NumPy shifts: a count below 0 or from the width on
        shifts every bit out (0, or the sign for ``>>``), where fnjit takes it modulo the
        width."""
        plain = self.typed(f"({a.text}) {op} ({b.text})")
        if plain.ty not in _INTEGERS:
            return plain
        width = 32 if plain.ty == "i32" else 64
        out_of_range = f"(({b.text}) < 0) | (({b.text}) >= {width})"
        full = "0" if op == "<<" else f"where(({a.text}) < 0, -1, 0)"
        return self.typed(f"{plain.ty}(where({out_of_range}, {full}, {plain.text}))")

    def power(self, a, b):
        """``a ** b`` as NumPy computes it."""
        exponent = _literal(b)
        integers = a.ty in _INTEGERS + ("int", "bool") and b.ty in _INTEGERS + ("int", "bool")
        if integers:
            if exponent is None:
                raise NotImplementedError("powers of integers to integer arrays are not supported by fnjit: cast one to float")
            if exponent < 0:
                raise ValueError("Integers to negative integer powers are not allowed.")
            if exponent > 64:
                raise NotImplementedError("integer powers above 64 are not supported by fnjit")
            if exponent == 0:
                return self.typed(f"({a.text}) * 0 + 1") if not a.weak else Part("1", "int")
            text = " * ".join([f"({a.text})"] * exponent)
            return Part(text, a.ty) if a.weak else self.typed(text)
        if a.ty in _INTEGERS + ("bool",) and b.weak:
            # An integer to a Python float's power: NumPy's float64 (fnjit's `**` takes floats).
            a = Part(f"f64({a.text})", "f64")
        if exponent == 2:
            # fnjit's `x ** 2` is `x * x` (src/expr/math.rs), as NumPy's square is.
            text = f"({a.text}) ** 2"
        elif exponent == 0.5:
            text = f"sqrt({a.text})"
        elif exponent == -1:
            text = f"1 / ({a.text})"
        elif exponent == 1:
            text = f"({a.text}) * 1"
        else:
            text = f"({a.text}) ** ({b.text})"
        if a.weak and b.weak:
            return Part(text, "float")
        return self.typed(text)

    def join(self, op, parts):
        if len(parts) == 1:
            return parts[0]
        return self.typed(op.join(f"({p.text})" for p in parts))

    def call(self, name, args):
        part = self.function(name, args)
        values = args[1:] if name == "where" else args
        if values and all(a.weak for a in values) and not part.weak:
            # NumPy's: a function of Python numbers alone gives an array of a type of its own
            # (`where(c, 3, 3)` is an int64 array), not a number that takes its context's.
            return Part(f"{part.ty}({part.text})", part.ty)
        return part

    def function(self, name, args):
        def arity(n):
            if len(args) != n:
                raise TypeError(f"{name}() takes {n} argument{'s' if n > 1 else ''}, {len(args)} given")

        if name == "where":
            arity(3)
            c, a, b = args
            if c.ty != "bool":
                c = self.typed(f"({c.text}) != 0")
            a, b = self.weaken(a, b)
            return self.typed(f"where({c.text}, {a.text}, {b.text})")
        if name in _CASTS:
            arity(1)
            return self.typed(f"{_CASTS[name]}({args[0].text})")
        if name in ("copy", "conj", "real"):
            arity(1)
            return args[0]
        if name == "imag" or name == "complex":
            raise NotImplementedError("complex numbers are not supported by fnjit")
        if name == "contains":
            raise NotImplementedError("strings (contains) are not supported by fnjit")
        if name in REDUCTIONS:
            raise ValueError("a reduction must be the outermost operation of an expression")
        x = [self.settle(a) for a in args]
        if name == "ones_like":
            arity(1)
            return self.typed(f"{x[0].ty}(1)")
        if name == "sign" and x and x[0].ty in _INTEGERS + ("bool",):
            arity(1)
            v = x[0].text
            ty = x[0].ty if x[0].ty != "bool" else "i32"
            return self.typed(f"{ty}(where(({v}) > 0, 1, where(({v}) < 0, -1, 0)))")
        if name == "signbit":
            arity(1)
            v = x[0]
            if v.ty in _FLOATS:
                return self.typed(f"total_order({v.text}) < 0")
            return self.typed(f"({v.text}) < 0")
        if name in ("floor", "ceil", "trunc", "round", "abs") and x and x[0].ty in _INTEGERS + ("bool",):
            # NumPy's: these keep an integer (and a bool) as it is.
            arity(1)
            if name == "abs" and x[0].ty != "bool":
                return self.typed(f"abs({x[0].text})")
            return x[0]
        if name in ("maximum", "minimum") and len(x) == 2 and x[0].ty == x[1].ty == "bool":
            op = "|" if name == "maximum" else "&"
            return self.typed(f"({x[0].text}) {op} ({x[1].text})")
        if name in ("maximum", "minimum") and len(args) == 2:
            a, b = self.weaken(args[0], args[1])
            plain = self.typed(f"{FUNCTIONS[name]}({a.text}, {b.text})")
            if plain.ty in _FLOATS:
                # NumPy's: NaN if either is, else `a > b ? a : b` (`<` for minimum), so of two
                # equal values (zeros of both signs) `b`. fnjit's max and min are IEEE's
                # maximum and minimum, which put +0 above -0.
                op = ">" if name == "maximum" else "<"
                a, b = self.typed(f"{plain.ty}({a.text})"), self.typed(f"{plain.ty}({b.text})")
                return self.typed(
                    f"where((({a.text}) {op} ({b.text})) | isnan({a.text}), {a.text}, {b.text})"
                )
            return plain
        if name == "fmod" and len(args) == 2:
            a, b = self.weaken(args[0], args[1])
            plain = self.typed(f"fmod({a.text}, {b.text})")
            if plain.ty in _INTEGERS:
                # NumPy's fmod of integers is 0 for a zero divisor, where fnjit's is `a`.
                return self.typed(f"{plain.ty}(where(({b.text}) == 0, 0, {plain.text}))")
            return plain
        if name not in FUNCTIONS:
            raise TypeError(f"{name!r} is not a function numexpr has")
        if len(args) == 2:
            a, b = self.weaken(args[0], args[1])
            return self.typed(f"{FUNCTIONS[name]}({a.text}, {b.text})")
        return self.typed(f"{FUNCTIONS[name]}({', '.join(p.text for p in args)})")


def _literal(part):
    """The value of a literal part (``2``, ``-1``, ``0.5``), else ``None``."""
    if not part.weak:
        return None
    try:
        return ast.literal_eval(part.text.replace("(", "").replace(")", ""))
    except (ValueError, SyntaxError):
        return None
