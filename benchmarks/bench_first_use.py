"""First use: what a fit costs right after installing, when numba compiles the kernels.

Each case runs in three fresh Python processes that share one new, empty numba cache
folder (``NUMBA_CACHE_DIR``): the first compiles (the first fit after installing),
the second loads the compiled kernels from the cache (a new process, e.g. a joblib
worker), and the third times warm fits (best of three after one fit). With
``--repeat N`` (default 3) all of it runs N times, each with its own empty cache, and
the table gives the median with the range: the first fit's time varied by up to a
second between single runs on the 2-core machine, and the machine's speed by up to
1.6x within an hour; the warm-fit process also times one fixed compilation (numba's
cache off), the reference the first fits are divided by. Wall time and
CPU time (user + system of the process) are reported apart: on a busy machine the
wall time of compilation grows with the load, its CPU time much less. Then the demo
(``mtlreg-demo``'s ``run``) once with an empty cache and once with the cache written.

    python benchmarks/bench_first_use.py                 # this checkout
    python benchmarks/bench_first_use.py --src OTHER     # another checkout (before/after)
    python benchmarks/bench_first_use.py --all           # every public estimator
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CHILD = r"""
import json, resource, sys, time
def cpu():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime
t0, c0 = time.perf_counter(), cpu()
import numpy as np
import mtlreg
from mtlreg.datasets import load_school
imp = (time.perf_counter() - t0, cpu() - c0)
name, kw, mode = sys.argv[1], json.loads(sys.argv[2]), sys.argv[3]
X, y = load_school(return_X_y=True)
if name.endswith("Classifier"):
    y = (y > np.median(y)).astype(int)
est = getattr(mtlreg, name)(task_column=0, **kw)
if mode == "warm":
    est.fit(X, y)
best = None
for _ in range(3 if mode == "warm" else 1):
    t0, c0 = time.perf_counter(), cpu()
    est.fit(X, y)
    t = (time.perf_counter() - t0, cpu() - c0)
    best = t if best is None or t[0] < best[0] else best
ref = 0.0
if mode == "warm":  # the machine's speed now: one fixed compilation, cache off
    from numba import njit
    from mtlreg.solvers._admm_kernels import shifted_inverse
    kernel = njit(fastmath=True, error_model="numpy")(shifted_inverse.py_func)
    c0 = cpu()
    kernel.compile("(float64[:, :, ::1], float64[::1], float64[:, :, ::1])")
    ref = cpu() - c0
print(json.dumps(dict(import_wall=imp[0], import_cpu=imp[1], wall=best[0], cpu=best[1],
                      ref=ref)))
"""

DEMO = r"""
import json, resource, time
def cpu():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime
t0, c0 = time.perf_counter(), cpu()
from mtlreg.demo import run
run(verbose=False)
print(json.dumps(dict(wall=time.perf_counter() - t0, cpu=cpu() - c0)))
"""

CASES = [
    ("IndependentRegressor", {"alpha": 0.01}),
    ("MeanRegularizedRegressor", {"alpha": 1.0}),
    ("GroupLassoRegressor", {"alpha": 1.0}),
    ("SparseGroupLassoRegressor", {"alpha": 1.0}),
    ("TraceNormRegressor", {"alpha": 1.0}),
    ("DirtyRegressor", {"alpha": 10.0, "beta": 1.0}),
    ("GroupLassoClassifier", {"alpha": 0.01, "tol": 1e-3}),
]


def _run(code, args, src, cache):
    env = dict(os.environ, NUMBA_CACHE_DIR=cache, PYTHONPATH=src)
    out = subprocess.run([sys.executable, "-c", code, *args], env=env, cwd=cache,
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def _median(results):
    """Per key, the median over the runs, and ``key_range`` the (min, max)."""
    results = list(results)
    out = {}
    for key in results[0]:
        values = sorted(r[key] for r in results)
        out[key] = values[len(values) // 2] if len(values) % 2 else 0.5 * (
            values[len(values) // 2 - 1] + values[len(values) // 2])
        out[key + "_range"] = (values[0], values[-1])
    return out


def _fmt(r, key, digits=2):
    lo, hi = r[key + "_range"]
    value = f"{r[key]:.{digits}f}"
    return value if lo == hi else f"{value} ({lo:.{digits}f}-{hi:.{digits}f})"


def _other_estimators(src):
    """Every public regressor and classifier of ``src`` (not the ``*CV`` ones) that
    ``CASES`` leaves out, with its default parameters."""
    code = ("import json, mtlreg; print(json.dumps([n for n in mtlreg.__all__ "
            "if n.endswith(('Regressor', 'Classifier'))]))")
    out = subprocess.run([sys.executable, "-c", code], env=dict(os.environ, PYTHONPATH=src),
                         capture_output=True, text=True, check=True)
    done = {name for name, _ in CASES}
    return [(name, {}) for name in sorted(json.loads(out.stdout)) if name not in done]


def _commit(src):
    try:
        return subprocess.run(["git", "-C", src, "rev-parse", "--short", "HEAD"],
                              capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--src", default=str(Path(__file__).resolve().parents[1]))
    parser.add_argument("--no-demo", action="store_true")
    parser.add_argument("--out", default=None, help="Markdown file to write")
    parser.add_argument("--repeat", type=int, default=3, help="runs per case (median)")
    parser.add_argument("--all", action="store_true",
                        help="also every other public estimator (not *CV), at its defaults")
    parser.add_argument("--only", action="append", default=None, metavar="NAME",
                        help="only this estimator (repeatable)")
    args = parser.parse_args(argv)
    src = str(Path(args.src).resolve())
    rows = []
    cases = CASES + (_other_estimators(src) if args.all or args.only else [])
    for name, kw in [c for c in cases if not args.only or c[0] in args.only]:
        runs = []
        for _ in range(args.repeat):
            with tempfile.TemporaryDirectory(prefix="mtlreg-first-use-") as cache:
                runs.append([_run(CHILD, [name, json.dumps(kw), mode], src, cache)
                             for mode in ("first", "first", "warm")])
        first, second, warm = (_median(r[k] for r in runs) for k in range(3))
        rows.append((name, kw, first, second, warm))
        print(f"{name:28s} first fit {first['wall']:6.2f} s (cpu {first['cpu']:6.2f}) | "
              f"new process {second['wall']:.3f} s (cpu {second['cpu']:.3f}) | "
              f"warm {warm['wall']:.3f} s | import {second['import_wall']:.2f} s", flush=True)
    demo = None
    if not args.no_demo:
        runs = []
        for _ in range(args.repeat):
            with tempfile.TemporaryDirectory(prefix="mtlreg-first-use-") as cache:
                runs.append((_run(DEMO, [], src, cache), _run(DEMO, [], src, cache)))
        demo = (_median(r[0] for r in runs), _median(r[1] for r in runs))
        print(f"demo: first run {demo[0]['wall']:.1f} s (cpu {demo[0]['cpu']:.1f}), "
              f"cache written {demo[1]['wall']:.1f} s (cpu {demo[1]['cpu']:.1f})")
    load = os.getloadavg()
    lines = [f"# First use: compile, new-process and warm fit times (commit {_commit(src)})",
             "", f"Command: `python benchmarks/bench_first_use.py "
             f"{' '.join(argv if argv is not None else sys.argv[1:])}` (source: {src}); "
             f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; {os.cpu_count()} cores; "
             f"load average at the end {load[0]:.2f} / {load[1]:.2f} / {load[2]:.2f}. "
             f"School, per-task layout, raw features. Median of {args.repeat} runs, each with "
             "its own empty numba cache (range in parentheses). The machine's speed "
             "varied by up to 1.6x within an hour (the same first fit took 3.4 and 5.3 s): "
             "the reference is one fixed compilation (`shifted_inverse`, numba's cache off, "
             "measured in the warm-fit process), and the last column the first fit's CPU in "
             "units of it, comparable between runs.", "",
             "| estimator | first fit after install, wall (s) | its CPU (s) | first fit in a "
             "new process, cache written (s) | its CPU (s) | warm fit (s) | import mtlreg (s) "
             "| its CPU (s) | reference compile, CPU (s) | first fit CPU / reference |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for name, kw, first, second, warm in rows:
        lines.append(f"| {name} {kw} | {_fmt(first, 'wall')} | {_fmt(first, 'cpu')} | "
                     f"{_fmt(second, 'wall', 3)} | {_fmt(second, 'cpu', 3)} | "
                     f"{_fmt(warm, 'wall', 3)} | {_fmt(second, 'import_wall')} | "
                     f"{_fmt(second, 'import_cpu')} | {_fmt(warm, 'ref')} | "
                     f"{first['cpu'] / warm['ref']:.1f} |")
    over = [f"{name} {first['wall']:.2f} s" for name, _, first, _, _ in rows
             if first["wall"] > 5.0]
    refs = sorted(warm["ref"] for *_, warm in rows)
    lines += ["", "First fits over 5 s (median wall): " + (", ".join(over) or "none") + ". "
              f"Reference compile: median {refs[len(refs) // 2]:.2f} s over the cases "
              f"({refs[0]:.2f}-{refs[-1]:.2f})."]
    if demo:
        lines += ["", f"Demo (`mtlreg.demo.run`, one split): empty cache "
                  f"{_fmt(demo[0], 'wall', 1)} s wall ({_fmt(demo[0], 'cpu', 1)} s CPU); "
                  f"cache written {_fmt(demo[1], 'wall', 1)} s wall "
                  f"({_fmt(demo[1], 'cpu', 1)} s CPU)."]
    text = "\n".join(lines) + "\n"
    out = Path(args.out) if args.out else Path(__file__).parent / "results" / "first_use.md"
    out.write_text(text)
    print(f"written to {out}")


if __name__ == "__main__":
    main()
