"""numexpr's expression objects: ``E.a`` is the variable ``a``, and operators on it build an
expression that ``NumExpr`` compiles. Each object is its text in numexpr's syntax; typing and
translation are the strings' (``translate.py``).
"""

import numpy as np

# numexpr's kinds, by NumPy type: what ``ConstantNode.astKind`` reports.
_KINDS = {
    np.dtype(np.bool_): "bool",
    np.dtype(np.int32): "int",
    np.dtype(np.int64): "long",
    np.dtype(np.float32): "float",
    np.dtype(np.float64): "double",
    np.dtype(np.complex128): "complex",
}


def _text(x):
    if isinstance(x, ExpressionNode):
        return x.text
    if isinstance(x, (bool, np.bool_)):
        return "True" if x else "False"
    return ConstantNode(x).text


class ExpressionNode:
    """An expression: ``text`` in numexpr's syntax."""

    def __init__(self, text):
        self.text = text

    def __str__(self):
        return self.text

    def __repr__(self):
        return f"E({self.text!r})"

    def _op(self, op, other, swap=False):
        a, b = (other, self) if swap else (self, other)
        return ExpressionNode(f"({_text(a)}) {op} ({_text(b)})")

    def __neg__(self):
        return ExpressionNode(f"-({self.text})")

    def __pos__(self):
        return self

    def __invert__(self):
        return ExpressionNode(f"~({self.text})")

    __hash__ = object.__hash__


# The binary operators, each with its reflection (`a + 2` and `2 + a`) where Python has one.
for _name, _sym in [("add", "+"), ("sub", "-"), ("mul", "*"), ("truediv", "/"),
                    ("floordiv", "//"), ("mod", "%"), ("pow", "**"), ("and", "&"), ("or", "|"),
                    ("xor", "^"), ("lshift", "<<"), ("rshift", ">>"), ("lt", "<"), ("le", "<="),
                    ("gt", ">"), ("ge", ">="), ("eq", "=="), ("ne", "!=")]:
    setattr(ExpressionNode, f"__{_name}__", lambda self, o, _sym=_sym: self._op(_sym, o))
    if _name in ("add", "sub", "mul", "truediv", "floordiv", "mod", "pow", "and", "or", "xor"):
        setattr(ExpressionNode, f"__r{_name}__",
                lambda self, o, _sym=_sym: self._op(_sym, o, True))
del _name, _sym


class ConstantNode(ExpressionNode):
    """A constant, with numexpr's ``value`` (a NumPy scalar) and ``astKind``."""

    def __init__(self, value=None, kind=None):
        v = np.asarray(value)[()]
        if isinstance(value, float) or isinstance(value, int) and not isinstance(value, bool):
            v = np.float64(value) if isinstance(value, float) else value
        self.value = v
        dtype = np.asarray(value).dtype
        self.astKind = kind or _KINDS.get(dtype, "double")
        if isinstance(value, (bool, np.bool_)):
            text = "True" if value else "False"
        elif dtype == np.float32:
            text = f"float32({_float(float(value))})"
        elif dtype.kind == "f":
            text = _float(float(value))
        elif dtype.kind == "c":
            text = repr(complex(value))
        else:
            text = str(int(value))
        super().__init__(text)


def _float(x):
    """``x`` as Python source: ``1e999`` is infinity, and a NaN is the difference of two."""
    if x != x:
        return "(1e999 - 1e999)"
    if x in (float("inf"), float("-inf")):
        return "1e999" if x > 0 else "(-1e999)"
    return repr(x)


class _Variables:
    """``E``: ``E.a`` is the variable ``a``."""

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        return ExpressionNode(name)


E = _Variables()
