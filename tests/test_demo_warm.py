"""After ``mtlreg-demo``, the README's next examples compile nothing (issue 26, item 8).

The demo's School fits compile the per-task kernels; the README's "Two data layouts"
example then fitted a shared design (block coordinate descent: 48 s of compilation on a
loaded machine) and School as a DataFrame (another signature of the per-task Gram
kernel). ``mtlreg.demo.run`` ends with :func:`mtlreg.demo.warm_up`, two small fits that
compile those kernels into the cache. Here: one process runs the demo (its grid cut to
the pooled ridge, so that only ``warm_up`` compiles mtlreg's kernels), a fresh process
with the cache it wrote runs the README's example as written, and numba's compile events
in the second process must be none.
"""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from _compile_events import LISTENER, REGISTER

README = Path(__file__).resolve().parents[1] / "README.md"

DEMO = LISTENER + REGISTER + r"""
import mtlreg.demo as demo
full = demo.models
demo.models = lambda: dict(list(full().items())[:1])   # the pooled ridge: no mtlreg kernel
demo.run(verbose=False)
print(json.dumps(compiled))
"""

LISTEN = LISTENER + REGISTER + r"""
exec(compile(sys.stdin.read(), "README.md", "exec"))
example = list(compiled)

from numba import njit  # the listener sees a compilation: a function no cache holds
njit(lambda v: v + 1)(1)
print(json.dumps({"example": example, "probe": compiled[len(example):]}))
"""


def _readme_example():
    """The python block of the README's section "Two data layouts"."""
    section = README.read_text().split("## Two data layouts", 1)[1]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


def _run(code, cache, stdin=None):
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_CACHE_DIR"}
    env["MTLREG_CACHE_DIR"] = str(cache)
    res = subprocess.run([sys.executable, "-c", code], env=env, cwd=cache, input=stdin,
                         capture_output=True, text=True, check=True)
    return res.stdout


def test_readme_example_after_the_demo_compiles_nothing(tmp_path):
    pytest.importorskip("pandas")  # the example reads School as a DataFrame
    example = _readme_example()
    assert "GroupLassoRegressor(alpha=0.1).fit(X, Y)" in example  # the shared design
    assert "as_frame=True" in example
    warmed = json.loads(_run(DEMO, tmp_path).strip().splitlines()[-1])
    assert "bcd_design_ws" in warmed and "task_gram_dense" in warmed, warmed
    # and cheaply: none of numba's string machinery (an array assigned to an indexed
    # sub-array compiles its shape-mismatch message: 3 s of CPU in bcd_design_ws)
    unwanted = ("shape_context", "unicode", "str", "repr", "format")
    assert not [f for f in warmed if any(u in f for u in unwanted)], warmed
    out = json.loads(_run(LISTEN, tmp_path, stdin=example).strip().splitlines()[-1])
    assert out["probe"], out  # the listener works
    assert out["example"] == [], out["example"]
