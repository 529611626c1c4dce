"""Where the first fit's compile time goes: every numba compilation, with its signature.

Runs one fit per estimator in a fresh Python process with a new, empty numba cache
(``NUMBA_CACHE_DIR``) and records numba's ``numba:compile`` events: for each compiled
(function, signature) its inclusive time (callees typed inside it included) and its
exclusive time (the callees' own compilations subtracted), plus CPU time of the fit.
Kernels compiled twice (two signatures: dtype, layout, contiguity, read-only) show up
as two rows of one function.

    python benchmarks/studies/profile_compile.py               # every case of bench_first_use
    python benchmarks/studies/profile_compile.py TraceNormRegressor  # one estimator

Event times are CPU time (``time.process_time``) of the compiling thread; each case's
table is also written to ``benchmarks/results/compile_profile.md`` (with the commit).
"""

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # benchmarks/
from bench_first_use import CASES, _commit  # noqa: E402

CHILD = r"""
import json, resource, sys, time
def cpu():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime
from numba.core import event
stack, rows = [], []
class L(event.Listener):
    def on_start(self, ev):
        stack.append([time.process_time(), 0.0])
    def on_end(self, ev):
        t0, child = stack.pop()
        dt = time.process_time() - t0
        if stack:
            stack[-1][1] += dt
        d = ev.data["dispatcher"]
        sig = ev.data.get("args")
        rows.append(dict(name=f"{d.py_func.__module__}.{d.py_func.__qualname__}",
                         sig=str(sig), incl=dt, excl=dt - child, depth=len(stack)))
t0, c0 = time.perf_counter(), cpu()
import numpy as np
import mtlreg
from mtlreg.datasets import load_school
imp = (time.perf_counter() - t0, cpu() - c0)
event.register("numba:compile", L())
name, kw = sys.argv[1], json.loads(sys.argv[2])
X, y = load_school(return_X_y=True)
if name.endswith("Classifier"):
    y = (y > np.median(y)).astype(int)
est = getattr(mtlreg, name)(task_column=0, **kw)
t0, c0 = time.perf_counter(), cpu()
est.fit(X, y)
fit = (time.perf_counter() - t0, cpu() - c0)
print(json.dumps(dict(import_wall=imp[0], import_cpu=imp[1], wall=fit[0], cpu=fit[1], rows=rows)))
"""


def profile(name, kw, src):
    with tempfile.TemporaryDirectory(prefix="mtlreg-compile-") as cache:
        env = dict(os.environ, NUMBA_CACHE_DIR=cache, PYTHONPATH=src)
        out = subprocess.run([sys.executable, "-c", CHILD, name, json.dumps(kw)], env=env,
                             cwd=cache, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if {"-h", "--help"} & set(argv):
        print(__doc__)
        return
    unknown = sorted(set(argv) - {c[0] for c in CASES})
    if unknown:  # never write an empty profile over the last one
        raise SystemExit(f"unknown case(s) {unknown}; cases: {', '.join(c[0] for c in CASES)}")
    src = str(Path(__file__).resolve().parents[2])
    cases = [c for c in CASES if not argv or c[0] in argv]
    lines = [f"# Compile profile of the first fit (commit {_commit(src)})", "",
             f"Command: `python {' '.join(['benchmarks/studies/profile_compile.py', *argv])}`; "
             f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; load average "
             f"{os.getloadavg()[0]:.1f}. CPU seconds of each numba compilation (exclusive: "
             "its callees' own compilations subtracted; inclusive in brackets), the ones "
             "over 0.2 s; empty numba cache, School per-task raw.", ""]
    for name, kw in cases:
        res = profile(name, kw, src)
        rows = sorted(res["rows"], key=lambda r: -r["excl"])
        total = sum(r["excl"] for r in rows)
        head = (f"{name} {kw}: first fit {res['wall']:.2f} s wall, {res['cpu']:.2f} s CPU; "
                f"numba compilation {total:.2f} s CPU in {len(rows)} compilations")
        print(f"\n== {head}; import {res['import_wall']:.2f} s")
        lines += [f"## {head}", ""]
        for r in rows:
            if r["excl"] >= 0.05:
                print(f"  {r['excl']:6.2f} excl {r['incl']:6.2f} incl  {r['name']}{r['sig']}")
            if r["excl"] >= 0.2:
                lines.append(f"- {r['excl']:.2f} ({r['incl']:.2f}) `{r['name']}`")
        lines.append("")
    out = Path(__file__).resolve().parents[1] / "results" / "compile_profile.md"
    out.write_text("\n".join(lines))
    print(f"written to {out}")


if __name__ == "__main__":
    main()
