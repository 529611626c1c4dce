"""The examples in mtlreg's docstrings run and print what they show (``doctest`` over
every module of the package; the torch bridge only where torch is installed)."""

import doctest
import importlib
import pkgutil

import pytest

import mtlreg

MODULES = sorted(m.name for m in pkgutil.walk_packages(mtlreg.__path__, "mtlreg."))


def test_the_package_has_examples():
    found = [t for name in MODULES if not name.startswith("mtlreg.torch")
             for t in doctest.DocTestFinder().find(importlib.import_module(name))
             if t.examples]
    assert found  # a rename of the finder's target would otherwise pass silently


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    if name.startswith("mtlreg.torch"):
        pytest.importorskip("torch")
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE,
                             report=True)
    assert result.failed == 0, f"{result.failed} failing example(s) in {name} (output above)"
