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

    def __add__(self, o):
        return self._op("+", o)

    def __radd__(self, o):
        return self._op("+", o, True)

    def __sub__(self, o):
        return self._op("-", o)

    def __rsub__(self, o):
        return self._op("-", o, True)

    def __mul__(self, o):
        return self._op("*", o)

    def __rmul__(self, o):
        return self._op("*", o, True)

    def __truediv__(self, o):
        return self._op("/", o)

    def __rtruediv__(self, o):
        return self._op("/", o, True)

    def __floordiv__(self, o):
        return self._op("//", o)

    def __rfloordiv__(self, o):
        return self._op("//", o, True)

    def __mod__(self, o):
        return self._op("%", o)

    def __rmod__(self, o):
        return self._op("%", o, True)

    def __pow__(self, o):
        return self._op("**", o)

    def __rpow__(self, o):
        return self._op("**", o, True)

    def __and__(self, o):
        return self._op("&", o)

    def __rand__(self, o):
        return self._op("&", o, True)

    def __or__(self, o):
        return self._op("|", o)

    def __ror__(self, o):
        return self._op("|", o, True)

    def __xor__(self, o):
        return self._op("^", o)

    def __lshift__(self, o):
        return self._op("<<", o)

    def __rshift__(self, o):
        return self._op(">>", o)

    def __lt__(self, o):
        return self._op("<", o)

    def __le__(self, o):
        return self._op("<=", o)

    def __gt__(self, o):
        return self._op(">", o)

    def __ge__(self, o):
        return self._op(">=", o)

    def __eq__(self, o):
        return self._op("==", o)

    def __ne__(self, o):
        return self._op("!=", o)

    def __neg__(self):
        return ExpressionNode(f"-({self.text})")

    def __pos__(self):
        return self

    def __invert__(self):
        return ExpressionNode(f"~({self.text})")

    __hash__ = object.__hash__


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
