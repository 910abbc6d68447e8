"""The shim that runs numexpr's own test suite (test_numexpr.py, numexpr 2.14.2, unchanged)
against fnjit: numexpr's names, each fnjit's. Only what the suite imports is here; what fnjit
does not have (numexpr's bytecode, VML) is said so."""

import os

import fnjit
from fnjit import (E, NumExpr, detect_number_of_cores, evaluate, get_num_threads,
                   re_evaluate, set_num_threads, validate)

__version__ = "2.14.2 (fnjit's shim)"
use_vml = False
MAX_THREADS = int(os.environ.get("NUMEXPR_MAX_THREADS") or 64)
ncores = detect_number_of_cores()


def disassemble(nex):
    """numexpr's bytecode, which fnjit has not: it compiles to machine code."""
    raise NotImplementedError("fnjit compiles to machine code: it has no numexpr bytecode")


def detect_number_of_threads():
    return get_num_threads()


def _init_num_threads():
    """numexpr's: NUMEXPR_NUM_THREADS, else OMP_NUM_THREADS, else every core (at most
    MAX_THREADS), set and returned."""
    n = os.environ.get("NUMEXPR_NUM_THREADS") or os.environ.get("OMP_NUM_THREADS")
    n = int(n) if n else min(ncores, MAX_THREADS)
    set_num_threads(n)
    return n


nthreads = _init_num_threads()


def get_vml_version():
    return None


def set_vml_num_threads(n):
    return None


def get_vml_num_threads():
    return None


def set_vml_accuracy_mode(mode):
    return None


def print_versions():
    print(f"numexpr's suite over fnjit {fnjit.__file__}, {ncores} cores")
