"""What the first fit after installing compiles: no kernel a fit never calls, and none of
numba's costly error-message machinery.

Compilation is what a new user waits for (``benchmarks/bench_first_use.py``,
``benchmarks/studies/profile_compile.py``); these tests keep out the two ways it grew before:
an array assigned to a slice inside a kernel (numba then compiles its shape-mismatch
message, f-strings and the unicode machinery: 3.3 s of CPU on the first fused fit),
and a kernel that dispatches at run time on the kind of penalty (it compiles every
kind's prox: the mean-regularised and independent classifiers compiled the l1,inf
prox they never use).
"""

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

from _compile_events import LISTENER, REGISTER

import mtlreg

PACKAGE = Path(mtlreg.__file__).parent


def _is_njit(decorator):
    node = decorator.func if isinstance(decorator, ast.Call) else decorator
    return (isinstance(node, ast.Name) and node.id == "njit") or (
        isinstance(node, ast.Attribute) and node.attr == "njit")


def _slice_assignments_of_arrays(tree):
    """``a[...:...] = b`` (or ``+=``) with ``b`` not a number, inside numba kernels."""
    found = []
    for func in ast.walk(tree):
        if not isinstance(func, ast.FunctionDef) or not any(map(_is_njit, func.decorator_list)):
            continue
        for node in ast.walk(func):
            if isinstance(node, ast.Assign):
                targets, value = node.targets, node.value
            elif isinstance(node, ast.AugAssign):
                targets, value = [node.target], node.value
            else:
                continue
            sliced = any(isinstance(t, ast.Subscript) and any(
                isinstance(s, ast.Slice) for s in ast.walk(t.slice)) for t in targets)
            number = isinstance(value, ast.Constant) or (
                isinstance(value, ast.UnaryOp) and isinstance(value.operand, ast.Constant))
            if sliced and not number:
                found.append(f"{func.name}, line {node.lineno}")
    return found


def test_the_scan_finds_a_slice_assignment():
    tree = ast.parse("@njit(cache=True)\ndef f(a, b):\n    a[:] = b\n    a[1:] += b\n"
                     "    a[:] = 0.0\n\ndef g(a, b):\n    a[:] = b\n")
    assert _slice_assignments_of_arrays(tree) == ["f, line 3", "f, line 4"]


def test_no_kernel_assigns_an_array_to_a_slice():
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        if "torch" in path.parts:
            continue
        hits = _slice_assignments_of_arrays(ast.parse(path.read_text()))
        if hits:
            found[str(path.relative_to(PACKAGE))] = hits
    assert not found, f"copy by a loop instead (mtlreg._kernels.dense.copy_1d): {found}"


CHILD = LISTENER + r"""
import numpy as np
import mtlreg

""" + REGISTER + r"""rng = np.random.default_rng(0)
n, d, T = 240, 5, 6
X = np.column_stack([rng.integers(0, T, n), rng.standard_normal((n, d))])
y = X[:, 1:] @ rng.standard_normal(d) + 0.5 * rng.standard_normal(n)
out = {}
for name in sys.argv[1:]:
    compiled.clear()
    target = (y > np.median(y)).astype(int) if name.endswith("Classifier") else y
    getattr(mtlreg, name)(task_column=0).fit(X, target)
    out[name] = list(compiled)
print(json.dumps(out))
"""


def test_first_fits_compile_only_what_they_use(tmp_path):
    """In a fresh process with an empty numba cache: the quadratic classifiers (their
    Newton steps solved directly) compile no ADMM kernel and no prox; the fused model
    compiles no string formatting."""
    names = ["IndependentClassifier", "MeanRegularizedClassifier", "FusedGroupLassoRegressor"]
    env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path))
    res = subprocess.run([sys.executable, "-c", CHILD, *names], env=env, cwd=tmp_path,
                         capture_output=True, text=True, check=True)
    compiled = json.loads(res.stdout.strip().splitlines()[-1])
    for name in names[:2]:
        assert not [f for f in compiled[name] if "admm" in f or "prox" in f], compiled[name]
    assert "shifted_inverse" in compiled["IndependentClassifier"]  # the check can see
    assert "tv1d_prox" in compiled["FusedGroupLassoRegressor"]
    unwanted = ("shape_context", "unicode", "str", "repr", "format")
    assert not [f for f in compiled["FusedGroupLassoRegressor"]
                if any(u in f for u in unwanted)], compiled["FusedGroupLassoRegressor"]


CACHE_CHILD = LISTENER + r"""
import numpy as np
import mtlreg

""" + REGISTER + r"""rng = np.random.default_rng(0)
X = np.column_stack([rng.integers(0, 4, 80), rng.standard_normal((80, 3))])
y = X[:, 1:] @ rng.standard_normal(3) + 0.1 * rng.standard_normal(80)
mtlreg.GroupLassoRegressor(task_column=0, alpha=0.01).fit(X, y).predict(X)
print(json.dumps({"file": mtlreg.__file__, "compiled": compiled}))
"""


def _copy_package(dest):
    import shutil

    shutil.copytree(PACKAGE, dest / "mtlreg", ignore=shutil.ignore_patterns("__pycache__"))
    return dest


def _fit_in_copy(root, cache, cwd):
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_CACHE_DIR"}
    env.update(MTLREG_CACHE_DIR=str(cache), PYTHONPATH=str(root))
    res = subprocess.run([sys.executable, "-c", CACHE_CHILD], env=env, cwd=cwd,
                         capture_output=True, text=True, check=True)
    out = json.loads(res.stdout.strip().splitlines()[-1])
    assert out["file"].startswith(str(root)), out["file"]  # the copy, not the checkout
    return out["compiled"]


def test_the_cache_is_keyed_by_source_not_path(tmp_path):
    """The same source in two places (``pip install .`` then the editable install, two
    virtual environments) compiles once: a fit from the second copy compiles nothing.
    A copy whose kernels differ (one byte in a kernel module) shares no entry."""
    cache = tmp_path / "cache"
    first = _copy_package(tmp_path / "a")
    second = _copy_package(tmp_path / "b")
    assert _fit_in_copy(first, cache, tmp_path)  # an empty cache: it compiles
    assert _fit_in_copy(second, cache, tmp_path) == []
    changed = _copy_package(tmp_path / "c")
    dense = changed / "mtlreg" / "_kernels" / "dense.py"
    dense.write_text(dense.read_text() + "\n# another release\n")
    assert _fit_in_copy(changed, cache, tmp_path)  # compiled anew, not served stale code
