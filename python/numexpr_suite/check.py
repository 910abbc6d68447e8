"""Runs numexpr's own test suite (test_numexpr.py from numexpr 2.14.2, unchanged) against fnjit
through the shim beside it (numexpr/), and prints the count: passed, failed and skipped, each
failure and skip by its class. Fails if a test fails that known_failures.txt does not list, or
if fewer pass than PASSED_AT_LEAST (the count docs/python.md records).

    python3 python/numexpr_suite/check.py
"""

import collections
import os
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
PASSED_AT_LEAST = 5567


def known_failures():
    """Test id -> its class, from known_failures.txt."""
    known, cls = {}, None
    with open(os.path.join(HERE, "known_failures.txt")) as f:
        for line in f:
            line = line.strip()
            if line.startswith("["):
                cls = line[1 : line.index("]")]
            elif line and not line.startswith("#"):
                known[line] = cls
    return known


class Outcomes:
    """Each test's outcome, and each skip's reason."""

    def __init__(self):
        self.outcome = {}
        self.skips = collections.Counter()

    def pytest_runtest_logreport(self, report):
        # The id from the test file on, whatever directory pytest took for its root.
        report.nodeid = report.nodeid[report.nodeid.find("test_numexpr.py"):]
        if report.when == "call" or report.outcome != "passed":
            if report.skipped:
                reason = str(report.longrepr[-1]) if isinstance(report.longrepr, tuple) else ""
                self.skips["complex" if "complex" in reason else reason] += 1
            self.outcome.setdefault(report.nodeid, report.outcome)
            if report.outcome == "failed":
                self.outcome[report.nodeid] = "failed"


def main():
    os.chdir(HERE)
    outcomes = Outcomes()
    pytest.main(
        ["-q", "-p", "no:cacheprovider", "--tb=no", "-rN", "test_numexpr.py"], plugins=[outcomes]
    )
    known = known_failures()
    counts = collections.Counter(outcomes.outcome.values())
    total = len(outcomes.outcome)
    failed = [t for t, o in outcomes.outcome.items() if o == "failed"]
    unexpected = [t for t in failed if t not in known]
    now_pass = [t for t in known if outcomes.outcome.get(t) == "passed"]
    by_class = collections.Counter(known[t] for t in failed if t in known)
    print(f"numexpr's suite on fnjit: {total} tests, {counts['passed']} passed "
          f"({100 * counts['passed'] / max(total, 1):.1f} %), {counts['failed']} failed, "
          f"{counts['skipped']} skipped")
    for cls, n in sorted(by_class.items()):
        print(f"  failed, {cls}: {n}")
    for reason, n in sorted(outcomes.skips.items()):
        print(f"  skipped, {reason}: {n}")
    for t in now_pass:
        print(f"  now passes (take it out of known_failures.txt): {t}")
    ok = True
    for t in unexpected:
        print(f"FAILED, not a known failure: {t}")
        ok = False
    if counts["passed"] < PASSED_AT_LEAST:
        print(f"FAILED: {counts['passed']} passed, below the recorded {PASSED_AT_LEAST}")
        ok = False
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
