"""fnjit.evaluate against NumPy evaluating the same expression itself: random mixed-type
expressions from fixed seeds, over bool, int32, int64, float32 and float64 arrays with their
edges (zeros of both signs, infinities, NaNs, extremes). The result's dtype must be NumPy's, and
its values NumPy's bit for bit (any NaN equals any NaN), except in the functions where NumPy's
math library is not the one fnjit calls: there, within the ulps ``ULPS`` gives, per function
and float type. docs/python.md says which case each function is.

``FNJIT_DIFFERENTIAL_EXPRESSIONS`` sets how many expressions each seed draws (the long run).
"""

import os
import random

import numpy as np
import pytest

import fnjit

ROWS = 67  # not a multiple of any vector width: the loop's tail runs too

# The functions NumPy computes as fnjit does (the same C function, or an exact operation): bit
# for bit, in random expressions.
EXACT_UNARY = ["sqrt", "floor", "ceil", "trunc", "round", "sign", "abs"]
EXACT_BINARY = ["fmod", "hypot", "copysign", "nextafter", "maximum", "minimum"]
# The transcendental ones, which NumPy computes with its own SIMD code (SVML's and Highway's on
# x86-64 with AVX-512, as here) and fnjit with glibc's (through Rust's std; musl's from the libm
# crate for arcsinh, arccosh and arctanh): within ULPS[dtype] of NumPy's, each alone. Measured
# on the 2-core AMD EPYC VM: at most 3 ulps in float32 and 2 in float64 (docs/python.md).
INEXACT_UNARY = ["sin", "cos", "tan", "arcsin", "arccos", "arctan", "sinh", "cosh", "tanh",
                 "arcsinh", "arccosh", "arctanh", "log", "log1p", "log10", "log2", "exp",
                 "expm1"]
INEXACT_BINARY = ["arctan2"]
ULPS = {"float32": 4, "float64": 2}
UNARY = EXACT_UNARY + INEXACT_UNARY
BINARY = EXACT_BINARY + INEXACT_BINARY

DTYPES = ["bool", "int32", "int64", "float32", "float64"]


def column(dtype, rng):
    """ROWS values of ``dtype``: its edges first, then random ones."""
    if dtype == "bool":
        return np.array([rng.random() < 0.5 for _ in range(ROWS)])
    if dtype.startswith("int"):
        info = np.iinfo(dtype)
        edges = [0, 1, -1, 2, -2, 7, info.min, info.max, info.min + 1]
        values = edges + [rng.randint(-1000, 1000) for _ in range(ROWS - len(edges))]
        return np.array(values, dtype=dtype)
    info = np.finfo(dtype)
    edges = [0.0, -0.0, 1.0, -1.0, 0.5, np.inf, -np.inf, np.nan, float(info.max),
             float(info.tiny), float(info.smallest_subnormal), -2.5, 3.0]
    values = edges + [rng.uniform(-4, 4) for _ in range(ROWS - len(edges))]
    return np.array(values, dtype=dtype)


class Generator:
    """Random expressions over variables of known dtypes, typed by whether each part is a
    bool (the only thing the generator must know to stay within what NumPy accepts)."""

    def __init__(self, rng, variables):
        self.rng = rng
        self.variables = variables  # name -> dtype

    def numeric(self, depth):
        rng = self.rng
        if depth <= 0 or rng.random() < 0.25:
            numeric = [n for n, d in self.variables.items() if d != "bool"]
            if rng.random() < 0.2:
                return rng.choice(["2", "3", "-1", "0.5", "2.5", "1e30"])
            return rng.choice(numeric)
        kind = rng.random()
        if kind < 0.45:
            op = rng.choice(["+", "-", "*", "/", "//", "%"])
            return f"({self.numeric(depth - 1)} {op} {self.variable_in(self.numeric(depth - 1))})"
        if kind < 0.7:
            f = rng.choice(EXACT_UNARY)
            return f"{f}({self.numeric(depth - 1)})"
        if kind < 0.85:
            f = rng.choice(EXACT_BINARY)
            return f"{f}({self.numeric(depth - 1)}, {self.numeric(depth - 1)})"
        return f"where({self.boolean(depth - 1)}, {self.numeric(depth - 1)}, {self.numeric(depth - 1)})"

    def variable_in(self, expr):
        """``expr`` if it names a variable, else one: Python, not NumPy, computes an operator
        on two constants (``2.5 % 0`` raises, ``~(3 != 2)`` is -2)."""
        if any(name in expr for name in self.variables):
            return expr
        return self.rng.choice([n for n, d in self.variables.items() if d != "bool"])

    def boolean(self, depth):
        rng = self.rng
        bools = [n for n, d in self.variables.items() if d == "bool"]
        if depth <= 0 or rng.random() < 0.2:
            return rng.choice(bools)
        kind = rng.random()
        if kind < 0.5:
            op = rng.choice(["<", "<=", ">", ">=", "==", "!="])
            return f"({self.numeric(depth - 1)} {op} {self.variable_in(self.numeric(depth - 1))})"
        if kind < 0.8:
            op = rng.choice(["&", "|", "^"])
            return f"({self.boolean(depth - 1)} {op} {self.boolean(depth - 1)})"
        if kind < 0.9:
            return f"~{self.boolean(depth - 1)}"
        return f"isnan({self.numeric(depth - 1)})"


NUMPY = {name: getattr(np, name) for name in UNARY + BINARY}
NUMPY.update(abs=np.abs, where=np.where, isnan=np.isnan)


def ordered(a):
    """Floats as integers in their order, so that adjacent floats are adjacent integers."""
    bits = a.view(np.int32 if a.dtype == np.float32 else np.int64).astype(np.int64)
    return np.where(bits < 0, np.iinfo(np.int64).min - bits, bits)


def agree(got, want, ulps=0):
    """Why fnjit's result disagrees with NumPy's, or ``None``: the same dtype and shape, and
    the same bits (any NaN equals any NaN), or within ``ulps`` of NumPy's."""
    if got.dtype != want.dtype:
        return f"dtype {got.dtype}, NumPy's {want.dtype}"
    if got.shape != want.shape:
        return f"shape {got.shape}, NumPy's {want.shape}"
    if want.dtype.kind != "f":
        bad = got != want
    else:
        both_nan = np.isnan(got) & np.isnan(want)
        if ulps == 0:
            unsigned = f"u{got.itemsize}"
            bad = ~both_nan & (got.view(unsigned) != want.view(unsigned))
        else:
            bad = ~both_nan & (np.abs(ordered(got) - ordered(want)) > ulps)
    if np.any(bad):
        i = int(np.argmax(bad))
        return f"row {i}: fnjit {got.reshape(-1)[i]!r}, NumPy {want.reshape(-1)[i]!r}"
    return None


def run_seed(seed, count):
    rng = random.Random(seed)
    dtypes = {f"v{k}": DTYPES[k % len(DTYPES)] for k in range(6)}
    dtypes["v5"] = rng.choice(["int32", "float32", "float64"])
    arrays = {n: column(d, rng) for n, d in dtypes.items()}
    gen = Generator(rng, dtypes)
    checked = refused = 0
    for _ in range(count):
        expr = gen.numeric(4) if rng.random() < 0.7 else gen.boolean(4)
        if not any(name in expr for name in dtypes):
            continue  # a constant: numexpr's int32 for a small integer, where NumPy's is int64
        with np.errstate(all="ignore"):
            try:
                want = np.asarray(eval(expr, {"__builtins__": {}}, {**NUMPY, **arrays}))
            except (TypeError, ValueError, OverflowError):
                refused += 1
                continue
            got = fnjit.evaluate(expr, local_dict=arrays)
        why = agree(got, want)
        assert why is None, f"seed {seed:#x}: {expr}: {why}"
        checked += 1
    return checked, refused


@pytest.mark.parametrize("seed", [0x600000 + k for k in range(4)])
def test_random_expressions_agree_with_numpy(seed):
    count = int(os.environ.get("FNJIT_DIFFERENTIAL_EXPRESSIONS", "150"))
    checked, refused = run_seed(seed, count)
    assert checked >= count * 0.9, f"NumPy refused {refused} of {count}"


def inputs(dtype):
    """Each function's inputs: -10 to 10 finely, the edges, and a second argument."""
    x = np.concatenate([
        np.linspace(-10, 10, 20001, dtype=dtype),
        np.array([0.0, -0.0, np.inf, -np.inf, np.nan, 1e-30, -1e-30, 0.999, -0.999, 1.0, -1.0],
                 dtype=dtype),
    ])
    return x, np.linspace(-3, 7, x.size, dtype=dtype)[::-1].copy()


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name", UNARY + BINARY)
def test_each_function_is_numpys(name, dtype):
    """Every function alone: NumPy's bits where it is exact, within ULPS where not."""
    x, y = inputs(dtype)
    src = f"{name}(x)" if name in UNARY else f"{name}(x, y)"
    with np.errstate(all="ignore"):
        want = NUMPY[name](x) if name in UNARY else NUMPY[name](x, y)
    got = fnjit.evaluate(src, local_dict={"x": x, "y": y})
    ulps = 0 if name in EXACT_UNARY + EXACT_BINARY else ULPS[dtype]
    why = agree(got, want, ulps)
    assert why is None, f"{src} in {dtype}: {why}"
