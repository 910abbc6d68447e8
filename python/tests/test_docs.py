"""The Python examples of the README and of docs/ run as doctests: each ```python block is a
session whose printed results must be what the page shows."""

import doctest
import os
import re

import pytest

ROOT = os.path.join(os.path.dirname(__file__), "..", "..")
PAGES = ["README.md"] + sorted(
    os.path.join("docs", p) for p in os.listdir(os.path.join(ROOT, "docs")) if p.endswith(".md")
)


def blocks(page):
    with open(os.path.join(ROOT, page)) as f:
        text = f.read()
    return re.findall(r"^```python\n(.*?)^```", text, flags=re.S | re.M)


def test_docs_python_has_examples():
    assert blocks(os.path.join("docs", "python.md"))


@pytest.mark.parametrize("page", [p for p in PAGES if blocks(p)])
def test_the_pages_python_runs_as_shown(page):
    found = blocks(page)
    parser, runner = doctest.DocTestParser(), doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    for k, block in enumerate(found):
        test = parser.get_doctest(block, {}, f"{page}[{k}]", page, 0)
        runner.run(test)
    failed, tried = runner.summarize(verbose=False)
    assert tried > 0 and failed == 0, f"{page}: {failed} of {tried} examples differ"
