"""fnjit's numexpr API: what each call promises, against NumPy evaluating the same expression."""

import threading

import numpy as np
import pytest

import fnjit
from fnjit import E, NumExpr, _fnjit


def test_arithmetic_on_float64_equals_numpy_bit_for_bit():
    a = np.linspace(-3, 3, 100_001)
    b = np.cos(a)
    got = fnjit.evaluate("2*a + 3*b")
    np.testing.assert_array_equal(got, 2 * a + 3 * b)
    assert got.dtype == np.float64


def test_mixed_types_promote_as_numpy_does():
    a = np.arange(10, dtype=np.int32)
    x = np.linspace(0, 1, 10, dtype=np.float64)
    f = np.linspace(0, 1, 10, dtype=np.float32)
    for ex, want in [
        ("where(a > 3, x * a, 0.5)", np.where(a > 3, x * a, 0.5)),
        ("f * 2.5", f * 2.5),  # a Python float beside float32 stays float32 (NEP 50)
        ("f * a", f * a),  # float32 with int32 is float64
        ("a / 2", a / 2),  # true division
        ("a // 3 + a % 3", a // 3 + a % 3),
    ]:
        got = fnjit.evaluate(ex)
        assert got.dtype == want.dtype, ex
        np.testing.assert_array_equal(got, want)


def test_pythons_precedence_holds():
    a = np.array([True, False, True])
    b = np.array([1, 2, 3])
    np.testing.assert_array_equal(fnjit.evaluate("a & (b > 1)"), a & (b > 1))
    np.testing.assert_array_equal(fnjit.evaluate("b * 2 == 4"), b * 2 == 4)
    np.testing.assert_array_equal(fnjit.evaluate("-b ** 2"), -b**2)


def test_broadcasting_scalars_and_zero_dimensions():
    a = np.arange(6.0).reshape(2, 3)
    c = np.array([10.0, 20.0, 30.0])
    np.testing.assert_array_equal(fnjit.evaluate("a + c * 2"), a + c * 2)
    r = fnjit.evaluate("a * 2", {"a": np.float64(2.5)})
    assert r.shape == () and r == 5.0
    r = fnjit.evaluate("a + s", {"a": a, "s": 3})
    np.testing.assert_array_equal(r, a + 3)


def test_strided_fortran_and_unaligned_arrays():
    base = np.arange(40.0)
    strided = base[::3]
    np.testing.assert_array_equal(fnjit.evaluate("x * 2", {"x": strided}), strided * 2)
    fortran = np.asfortranarray(np.arange(12.0).reshape(3, 4))
    np.testing.assert_array_equal(fnjit.evaluate("x + 1", {"x": fortran}), fortran + 1)
    raw = np.zeros(8 * 10 + 1, dtype=np.uint8)
    unaligned = raw[1:].view(np.float64)
    unaligned[:] = np.arange(10.0)
    assert not unaligned.flags.aligned
    np.testing.assert_array_equal(fnjit.evaluate("x * x", {"x": unaligned}), unaligned**2)


def test_out_is_filled_in_place_and_casting_is_checked():
    a = np.arange(10.0)
    out = np.empty(10)
    r = fnjit.evaluate("a + 1", out=out)
    assert r is out
    np.testing.assert_array_equal(out, a + 1)
    # out may be an input: the result is still element by element.
    fnjit.evaluate("a * 2", out=a)
    np.testing.assert_array_equal(a, np.arange(10.0) * 2)
    # float64 into int32 is not a safe cast, nor a same_kind one.
    with pytest.raises(TypeError):
        fnjit.evaluate("a + 1", out=np.empty(10, dtype=np.int32), casting="safe")
    # int32 into float64 is safe.
    i = np.arange(10, dtype=np.int32)
    out = np.empty(10)
    fnjit.evaluate("i * 2", out=out, casting="safe")
    np.testing.assert_array_equal(out, i * 2)
    with pytest.raises(ValueError):
        fnjit.evaluate("a + 1", out=np.empty(3))
    with pytest.raises(ValueError):
        fnjit.evaluate("a + 1", casting="sometimes")


@pytest.mark.parametrize("name", ["sum", "prod", "min", "max"])
def test_reductions_over_an_axis(name):
    y = np.arange(12.0).reshape(3, 4) / 7
    numpy = {"sum": np.sum, "prod": np.prod, "min": np.min, "max": np.max}[name]
    for axis in (None, 0, 1):
        got = fnjit.evaluate(f"{name}(y * 2 + 1, axis={axis})")
        np.testing.assert_array_equal(got, numpy(y * 2 + 1, axis=axis))
    with pytest.raises(ValueError):
        fnjit.evaluate(f"{name}(y, axis=2)")
    with pytest.raises(ValueError):
        fnjit.evaluate(f"{name}(y, axis=-1)")
    with pytest.raises(ValueError):
        fnjit.evaluate(f"1 + {name}(y)")


def test_numexpr_objects_with_signatures_and_expressions():
    f = NumExpr("2*a + 3*b", [("a", np.float64), ("b", np.int32)])
    a, b = np.arange(5.0), np.arange(5, dtype=np.int32)
    np.testing.assert_array_equal(f(a, b), 2 * a + 3 * b)
    np.testing.assert_array_equal(f.run(a, b), 2 * a + 3 * b)
    g = NumExpr((E.a + 2.0 * E.b) / (1 + E.a))
    np.testing.assert_array_equal(g(a, a), (a + 2.0 * a) / (1 + a))
    # One compile per expression and signature.
    assert NumExpr("2*a + 3*b", [("a", np.float64), ("b", np.int32)]).kernel is f.kernel


def test_validate_and_re_evaluate():
    a = np.ones(4)
    assert fnjit.validate("a * 3") is None
    np.testing.assert_array_equal(fnjit.re_evaluate(), np.full(4, 3.0))
    a = np.full(4, 2.0)
    np.testing.assert_array_equal(fnjit.re_evaluate(), np.full(4, 6.0))
    assert isinstance(fnjit.validate("nope * 3"), KeyError)
    assert isinstance(fnjit.validate("a +"), SyntaxError)


def test_errors_are_numexprs_types():
    with pytest.raises(KeyError):
        fnjit.evaluate("nope + 1")
    with pytest.raises(SyntaxError):
        fnjit.evaluate("a +", {"a": np.ones(3)})
    with pytest.raises(NotImplementedError, match="complex"):
        fnjit.evaluate("a * 1j", {"a": np.ones(3)})
    with pytest.raises(NotImplementedError, match="complex"):
        fnjit.evaluate("a", {"a": np.ones(3, dtype=complex)})
    with pytest.raises(NotImplementedError, match="strings"):
        fnjit.evaluate("a", {"a": np.array([b"x"])})
    with pytest.raises(TypeError):
        fnjit.evaluate("a & 2.0", {"a": np.ones(3)})
    with pytest.raises(TypeError):
        fnjit.evaluate("(a > 1) and (a < 9)", {"a": np.ones(3)})
    with pytest.raises(ValueError):
        fnjit.evaluate("a + 1", {"a": np.ones(3)}, nonsense=1)
    with pytest.raises(ValueError, match="forbidden"):
        fnjit.evaluate("a.__class__", {"a": np.ones(3)})
    with pytest.raises(ValueError, match="negative integer powers"):
        fnjit.evaluate("a ** -1", {"a": np.arange(3)})


def test_one_thread_and_every_core_agree():
    a = np.linspace(0, 10, 1_000_003)
    previous = fnjit.set_num_threads(1)
    try:
        assert fnjit.get_num_threads() == 1
        one = fnjit.evaluate("sin(a) * a + 1")
        fnjit.set_num_threads(fnjit.detect_number_of_cores())
        every = fnjit.evaluate("sin(a) * a + 1")
    finally:
        fnjit.set_num_threads(previous)
    np.testing.assert_array_equal(one, every)


def test_the_baseline_tier_runs_first_and_cranelift_once_earned():
    f = NumExpr("where(x > 0.5, x * 3 - 1, x / 7)", [("x", np.float64)])
    kernel = f.kernel
    small = np.linspace(0, 1, 1000)
    want = np.where(small > 0.5, small * 3 - 1, small / 7)
    first = kernel.tier_name
    np.testing.assert_array_equal(f(small), want)
    big = np.linspace(0, 1, _fnjit.PROMOTE_ROWS + 1)
    np.testing.assert_array_equal(f(big), np.where(big > 0.5, big * 3 - 1, big / 7))
    assert kernel.tier_name == "cranelift"
    np.testing.assert_array_equal(f(small), want)
    assert first in ("baseline", "cranelift")  # "cranelift" on a host without the baseline tier


def test_threads_evaluate_at_once():
    a = np.linspace(0, 1, 200_000)
    results = [None] * 8

    def work(k):
        results[k] = fnjit.evaluate("a * k + sqrt(a)", {"a": a, "k": float(k)})

    threads = [threading.Thread(target=work, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for k, r in enumerate(results):
        np.testing.assert_array_equal(r, a * float(k) + np.sqrt(a))


def test_powers_are_numpys():
    a = np.arange(6)
    f = np.linspace(-2, 2, 6, dtype=np.float32)
    x = np.array([-0.0, 0.0, -np.inf, 4.0, np.nan, 2.5])
    with np.errstate(all="ignore"):
        for ex in ["(a + 1) ** 2", "a ** 3", "a ** 0", "(a + 1) ** 2.0", "a ** 0.5",
                   "(a + 1) ** -1.0", "f ** 2", "f ** 0.5", "x ** 0.5", "x ** -1", "x ** 2",
                   "x ** 1", "x ** 3"]:
            got, want = fnjit.evaluate(ex), eval(ex)
            assert got.dtype == want.dtype, ex
            np.testing.assert_array_equal(got, want, err_msg=ex)
    # numexpr's constants: an integer alone is an int32 when it fits, else an int64.
    assert fnjit.evaluate("0").dtype == np.int32
    assert fnjit.evaluate("2**40").dtype == np.int64


def test_a_bool_view_of_other_bytes_is_refused_not_read():
    # A Rust bool must be 0 or 1: a bool view of the byte 2 is an error, not undefined behaviour.
    b = np.array([0, 1, 2], dtype=np.uint8).view(np.bool_)
    with pytest.raises(ValueError, match="bytes other than 0 and 1"):
        fnjit.evaluate("b & b", {"b": b})
    good = np.array([0, 1, 1], dtype=np.uint8).view(np.bool_)
    np.testing.assert_array_equal(fnjit.evaluate("~b", {"b": good}), [True, False, False])
