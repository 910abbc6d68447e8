"""fnjit.evaluate beside numexpr.evaluate and NumPy in one process, interleaved: the
expressions of numexpr's own benchmarks (bench/timing.py, bench/poly.py and
bench/vml_timing.py in its source) at 10^6 and 10^7 float64 elements, on one thread and on
every core, and the first call of a new expression. Prints a Markdown table of medians for
docs/python.md.

    python3 python/bench/vs_numexpr.py [--quick]
"""

import os
import platform
import statistics
import sys
import time

import numexpr
import numpy as np

import fnjit

EXPRESSIONS = {
    "2*a + 3*b": lambda a, b, c, x: 2 * a + 3 * b,
    "a*b + c": lambda a, b, c, x: a * b + c,
    "sin(a)**2 + cos(b)**2": lambda a, b, c, x: np.sin(a) ** 2 + np.cos(b) ** 2,
    "where(a > 0, sqrt(a), 0)": lambda a, b, c, x: np.where(a > 0, np.sqrt(a), 0),
    # 20 operators: Horner's rule for a polynomial of degree 10 (bench/poly.py's, longer).
    "poly20": lambda a, b, c, x: (
        ((((((((((0.1 * x + 0.2) * x - 0.3) * x + 0.4) * x - 0.5) * x + 0.6) * x - 0.7) * x
             + 0.8) * x - 0.9) * x + 1.1) * x - 1.2)
    ),
}
SOURCES = {
    "poly20": "((((((((((0.1*x + 0.2)*x - 0.3)*x + 0.4)*x - 0.5)*x + 0.6)*x - 0.7)*x + 0.8)*x"
              " - 0.9)*x + 1.1)*x - 1.2)",
}


def cpu():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def timed(f):
    t = time.perf_counter()
    f()
    return time.perf_counter() - t


def measure(size, threads, rounds):
    rng = np.random.default_rng(7)
    a = rng.uniform(-1, 1, size)
    b = rng.uniform(-1, 1, size)
    c = rng.uniform(-1, 1, size)
    x = np.linspace(-1, 1, size)
    env = {"a": a, "b": b, "c": c, "x": x}
    fnjit.set_num_threads(threads)
    numexpr.set_num_threads(threads)
    rows = []
    for name, numpy_f in EXPRESSIONS.items():
        src = SOURCES.get(name, name)
        want = numpy_f(a, b, c, x)
        # Warm: compiled, cached, and on Cranelift's tier (a call of 10^6 rows earns it).
        np.testing.assert_allclose(fnjit.evaluate(src, env), want, rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(numexpr.evaluate(src, env), want, rtol=1e-12, atol=1e-15)
        out = np.empty(size)
        contenders = {
            "fnjit": lambda: fnjit.evaluate(src, env),
            "numexpr": lambda: numexpr.evaluate(src, env),
            "numpy": lambda: numpy_f(a, b, c, x),
            # Into an array that exists: no allocation, no page faults.
            "fnjit out": lambda: fnjit.evaluate(src, env, out=out),
            "numexpr out": lambda: numexpr.evaluate(src, env, out=out),
        }
        times = {k: [] for k in contenders}
        names = list(contenders)
        for r in range(rounds):
            k0 = r % len(names)
            for k in names[k0:] + names[:k0]:  # each first in turn
                times[k].append(timed(contenders[k]))
        med = {k: statistics.median(v) for k, v in times.items()}
        rows.append((name, med))
    return rows


def first_calls(count):
    """Medians of the first call of a new expression (its compile included) at 10^6 elements,
    interleaved: each contender sees expressions it has not seen."""
    a = np.linspace(-1, 1, 10**6)
    b = a[::-1].copy()
    env = {"a": a, "b": b}
    got = {"fnjit": [], "numexpr": []}
    for k in range(count):
        for who, f in (("fnjit", fnjit.evaluate), ("numexpr", numexpr.evaluate)):
            offset = 0.5 if who == "fnjit" else 0.75  # a text neither has compiled
            src = f"sin(a)*{k + 1}.25 + b - {k + offset}"
            got[who].append(timed(lambda: f(src, env)))
    return {k: statistics.median(v) for k, v in got.items()}


def main():
    quick = "--quick" in sys.argv
    cores = os.cpu_count() or 1
    print(f"CPU: {cpu()}, {cores} cores; numexpr {numexpr.__version__}, NumPy {np.__version__}")
    print()
    print("| elements | threads | expression | fnjit ms | numexpr ms | NumPy ms | fnjit vs numexpr "
          "| fnjit vs NumPy | into `out=`: fnjit ms | numexpr ms | fnjit vs numexpr |")
    print("| ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for size, rounds in ((10**6, 9 if quick else 31), (10**7, 3 if quick else 9)):
        for threads in sorted({1, cores}):
            for name, med in measure(size, threads, rounds):
                f, n, p = med["fnjit"], med["numexpr"], med["numpy"]
                fo, no = med["fnjit out"], med["numexpr out"]
                shown = "poly20 (20 ops)" if name == "poly20" else name
                print(f"| 10^{len(str(size)) - 1} | {threads} | `{shown}` | {f * 1e3:.2f} "
                      f"| {n * 1e3:.2f} | {p * 1e3:.2f} | {n / f:.2f}x | {p / f:.2f}x "
                      f"| {fo * 1e3:.2f} | {no * 1e3:.2f} | {no / fo:.2f}x |")
    fnjit.set_num_threads(cores)
    numexpr.set_num_threads(cores)
    first = first_calls(5 if quick else 21)
    print()
    print(f"First call of a new expression (10^6 elements, {cores} threads): fnjit "
          f"{first['fnjit'] * 1e3:.2f} ms, numexpr {first['numexpr'] * 1e3:.2f} ms "
          f"({first['numexpr'] / first['fnjit']:.2f}x)")


if __name__ == "__main__":
    main()
