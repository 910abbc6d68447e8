"""fnjit for Python: numexpr's ``evaluate`` over NumPy arrays, each expression and signature
compiled once by fnjit into one fused loop (the baseline tier first, Cranelift's vector loop once
the expression has run 2^16 rows), run with the GIL released, split over fnjit's threads.

The API is numexpr's (2.14): ``evaluate``, ``re_evaluate``, ``validate``, ``NumExpr``, ``E``,
``set_num_threads``, ``get_num_threads`` and ``detect_number_of_cores``; dtypes bool, int32,
int64, float32 and float64 (smaller integers as int32, uint32 as int64, float16 as float32, as
numexpr takes them), with NumPy's promotion. Complex numbers and strings raise
``NotImplementedError``. docs/python.md says what differs from numexpr.
"""

import collections
import os
import sys
import threading
import weakref

import numpy as np

from . import _fnjit
from . import translate
from .expressions import E, ExpressionNode

__all__ = [
    "E",
    "NumExpr",
    "detect_number_of_cores",
    "evaluate",
    "get_num_threads",
    "re_evaluate",
    "set_num_threads",
    "validate",
]

# fnjit's types by NumPy dtype, and the dtype of each.
_TYPES = {
    np.dtype(np.bool_): "bool",
    np.dtype(np.int32): "i32",
    np.dtype(np.int64): "i64",
    np.dtype(np.float32): "f32",
    np.dtype(np.float64): "f64",
}
_DTYPES = {t: d for d, t in _TYPES.items()}

# numexpr's signature types (``NumExpr(ex, [("a", double)])``): Python's ``float`` is numexpr's
# float32 kind, and ``int`` its int64 (``long``).
_SIGNATURE_TYPES = {
    bool: "bool",
    np.bool_: "bool",
    np.int32: "i32",
    int: "i64",
    np.int64: "i64",
    float: "f32",
    np.float32: "f32",
    np.float64: "f64",
}

_CONTEXT = {
    "optimization": ("none", "moderate", "aggressive"),
    "truediv": (False, True, "auto"),
}


def _check_context(kwargs):
    for name, value in kwargs.items():
        if name not in _CONTEXT:
            raise ValueError(f"Unknown keyword argument '{name}'")
        if value not in _CONTEXT[name]:
            raise ValueError(f"'{name}' must be one of {_CONTEXT[name]}")


def _dtype_of(name, a):
    """The dtype fnjit computes ``a`` in: its own, or the one numexpr converts it to."""
    d = a.dtype
    if d in _TYPES:
        return d
    if d.kind == "c":
        raise NotImplementedError(f"{name} is complex: complex numbers are not supported by fnjit")
    if d.kind in "SUO":
        raise NotImplementedError(f"{name} is {d}: strings and objects are not supported by fnjit")
    if d.kind == "b":
        return np.dtype(np.bool_)
    if d.kind in "iu" and d.itemsize < 4 or d.kind == "i" and d.itemsize == 4:
        return np.dtype(np.int32)
    if d.kind == "u" and d.itemsize == 4 or d.kind == "i" and d.itemsize == 8:
        return np.dtype(np.int64)
    if d.kind == "f" and d.itemsize <= 4:
        return np.dtype(np.float32)
    if d.kind == "f" and d.itemsize == 8:
        return np.dtype(np.float64)
    raise TypeError(f"{name} has the dtype {d}, which fnjit does not support")


class _Cache:
    """At most 256 compiled expressions, the least recently used dropped first (numexpr's
    ``CacheDict(256)``)."""

    def __init__(self, size=256):
        self.size = size
        self.items = collections.OrderedDict()
        self.lock = threading.Lock()

    def get(self, key, make):
        with self.lock:
            if key in self.items:
                self.items.move_to_end(key)
                return self.items[key]
        value = make()
        with self.lock:
            self.items[key] = value
            while len(self.items) > self.size:
                self.items.popitem(last=False)
        return value


_compiled = _Cache()


class NumExpr:
    """A compiled expression over a signature: numexpr's ``NumExpr``. Call it with one array per
    variable, in the signature's order."""

    def __init__(self, ex, signature=(), sanitize=True, **kwargs):
        _check_context(kwargs)
        if isinstance(ex, ExpressionNode):
            text = ex.text
            sanitize = False
        elif isinstance(ex, str):
            text = ex
        else:
            raise TypeError(f"unsupported expression type: {type(ex)}")
        if sanitize:
            translate.check_sanitized(text)
        tree = translate.parse(text)
        named = translate.names(tree)
        types = {}
        for name, ty in signature:
            if isinstance(ty, str) and ty in _DTYPES:
                types[name] = ty
            elif ty not in _SIGNATURE_TYPES:
                if ty is complex or np.dtype(ty).kind == "c":
                    raise NotImplementedError("complex numbers are not supported by fnjit")
                ty = _TYPES.get(np.dtype(ty))
                if ty is None:
                    raise TypeError(f"the type of {name} is not supported by fnjit")
                types[name] = ty
            else:
                types[name] = _SIGNATURE_TYPES[ty]
        order = [name for name, _ in signature]
        for name in named:
            if name not in types:
                if signature:
                    raise ValueError(f"the signature does not name {name}")
                types[name] = "f64"
                order.append(name)
        self.input_names = tuple(order)
        self.signature = tuple((n, types[n]) for n in order)
        self.reduction = translate.reduction(tree)
        body = self.reduction[1] if self.reduction else tree
        translator = translate.Translator(self.signature)
        self.source = translator(body).text
        self.kernel = _compiled.get(
            (self.source, tuple(translator.signature)),
            lambda: _fnjit.compile(self.source, translator.signature),
        )
        self.dtype = _DTYPES[self.kernel.ty]

    def __call__(self, *args, out=None, order="K", casting="safe", ex_uses_vml=False):
        if len(args) != len(self.signature):
            raise ValueError(f"{len(args)} arguments for {len(self.signature)} variables")
        arrays = []
        for (name, ty), value in zip(self.signature, args):
            a = np.asarray(value)
            want = _DTYPES[ty]
            if a.dtype != want:
                _dtype_of(name, a)
                if not np.can_cast(a.dtype, want, "safe"):
                    raise TypeError(f"{name} of {a.dtype} cannot be cast safely to {want}")
                a = a.astype(want)
            arrays.append(a)
        return self._run(arrays, out, order, casting)

    def run(self, *args, **kwargs):
        return self(*args, **kwargs)

    def _run(self, arrays, out, order, casting):
        if order not in ("K", "C", "F", "A"):
            raise ValueError(f"order must be one of 'C', 'F', 'A' or 'K', not {order!r}")
        if casting not in ("no", "equiv", "safe", "same_kind", "unsafe"):
            raise ValueError(f"casting must be one of 'no', 'equiv', 'safe', 'same_kind' or 'unsafe', not {casting!r}")
        shape = np.broadcast_shapes(*(a.shape for a in arrays)) if arrays else ()
        rows = int(np.prod(shape, dtype=np.int64))
        columns = [
            np.require(np.broadcast_to(a, shape), requirements=["C", "A"]).reshape(-1)
            for a in arrays
        ]
        threads = _threads if rows >= 4096 else 1
        if self.reduction is not None:
            result = self._into(columns, np.empty(shape, self.dtype), threads)
            return _reduce(self.reduction[0], result, self.reduction[2], out, casting)
        if out is None:
            return self._into(columns, np.empty(shape, self.dtype), threads)
        if not isinstance(out, np.ndarray):
            raise TypeError("out must be a NumPy array")
        if np.broadcast_shapes(shape, out.shape) != out.shape:
            raise ValueError(f"out has the shape {out.shape}, the result {shape}")
        if not np.can_cast(self.dtype, out.dtype, casting):
            raise TypeError(
                f"Cannot cast the result of {self.dtype} to out's {out.dtype} under the rule "
                f"{casting!r}"
            )
        direct = (
            out.shape == shape
            and out.dtype == self.dtype
            and out.flags.c_contiguous
            and out.flags.aligned
            and out.flags.writeable
            and not any(np.may_share_memory(out, a) for a in arrays)
        )
        if direct:
            return self._into(columns, out, threads)
        np.copyto(out, self._into(columns, np.empty(shape, self.dtype), threads), casting=casting)
        return out

    def _into(self, columns, out, threads):
        """``out`` (C-contiguous, of the result's type) filled by the kernel."""
        self.kernel.run(columns, out.reshape(-1), threads)
        return out


def _reduce(name, result, axis, out, casting):
    """numexpr's reduction ``name`` over ``axis`` of the element-wise result (NumPy's)."""
    if axis is not None and axis >= max(result.ndim, 1):
        raise ValueError(f"axis {axis} is out of bounds for an array of {result.ndim} dimensions")
    f = {"sum": np.sum, "prod": np.prod, "min": np.min, "max": np.max}[name]
    value = np.asarray(f(result, axis=axis))
    if out is not None:
        np.copyto(out, value, casting=casting)
        return out
    return value


def _arguments(names, local_dict, global_dict, frame):
    local_dict = frame.f_locals if local_dict is None else local_dict
    global_dict = frame.f_globals if global_dict is None else global_dict
    arrays = []
    for name in names:
        if name in local_dict:
            value = local_dict[name]
        elif name in global_dict:
            value = global_dict[name]
        else:
            raise KeyError(name)
        a = np.asarray(value)
        d = _dtype_of(name, a)
        arrays.append(a if a.dtype == d else a.astype(d))
    return arrays


_last = threading.local()
_names = _Cache()


def validate(ex, local_dict=None, global_dict=None, out=None, order="K", casting="safe",
             _frame_depth=2, sanitize=None, **kwargs):
    """Compiles ``ex`` for the variables it names and keeps it for ``re_evaluate``; returns
    ``None``, or the exception that evaluating it would raise."""
    try:
        if not isinstance(ex, str):
            raise ValueError("must specify expression as a string")
        if sanitize is None:
            sanitize = bool(int(os.environ.get("NUMEXPR_SANITIZE", "1")))
        _check_context(kwargs)
        if sanitize:
            translate.check_sanitized(ex)
        names = _names.get(ex, lambda: translate.names(translate.parse(ex)))
        frame = sys._getframe(_frame_depth - 1)
        arrays = _arguments(names, local_dict, global_dict, frame)
        signature = tuple((n, _TYPES[a.dtype]) for n, a in zip(names, arrays))
        compiled = _compiled.get(
            ("NumExpr", ex, signature), lambda: NumExpr(ex, signature, sanitize=False)
        )
        # A weak reference to `out`, as numexpr keeps: the last call must not keep it alive.
        _last.value = (compiled, names, None if out is None else weakref.ref(out), order, casting)
    except Exception as e:
        return e
    return None


def evaluate(ex, local_dict=None, global_dict=None, out=None, order="K", casting="same_kind",
             sanitize=None, _frame_depth=3, disable_cache=False, **kwargs):
    """numexpr's ``evaluate``: ``ex`` over the variables it names, found in ``local_dict`` and
    ``global_dict`` (by default the caller's frame's)."""
    e = validate(ex, local_dict, global_dict, out, order, casting, _frame_depth, sanitize,
                 **kwargs)
    if e is not None:
        raise e
    return re_evaluate(local_dict, global_dict, _frame_depth=_frame_depth)


def re_evaluate(local_dict=None, global_dict=None, _frame_depth=2):
    """The last expression this thread validated or evaluated, over new values of its
    variables."""
    last = getattr(_last, "value", None)
    if last is None:
        raise RuntimeError(
            "A previous evaluate() execution was not found, please call `validate` or "
            "`evaluate` once before `re_evaluate`"
        )
    compiled, names, out, order, casting = last
    out = None if out is None else out()
    arrays = _arguments(names, local_dict, global_dict, sys._getframe(_frame_depth - 1))
    return compiled._run(arrays, out, order, casting)


def detect_number_of_cores():
    """The machine's cores, as numexpr counts them."""
    return os.cpu_count() or 1


_threads = detect_number_of_cores()


def set_num_threads(n):
    """Sets how many threads an evaluation may use and returns the previous number: 1 runs on the
    calling thread, more split big arrays over fnjit's pool (one thread a core)."""
    global _threads
    previous, _threads = _threads, max(int(n), 1)
    return previous


def get_num_threads():
    """How many threads an evaluation may use (``set_num_threads``)."""
    return _threads
