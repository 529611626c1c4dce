"""``GroupLassoRegressorCV`` on School: ``n_jobs=1`` against ``n_jobs=2`` (issue 26, item 9).

The search: raw School (``mtlreg.datasets.load_school``, ``task_column=0``), the
estimator's defaults (5 task-stratified folds, 30 alphas, the refit on all the data).
Every repeat runs in a fresh Python process with numba's cache already written (a
warm-up process fills it first), and times, in this order or its reverse
(alternating between repeats, so that a drift of the machine's load does not
favour one setting):

* ``n_jobs=1``: the folds one after the other, in the process;
* ``n_jobs=2``, first call: joblib's default backend (loky) starts two worker
  processes, each imports mtlreg and loads the compiled kernels from the cache;
* ``n_jobs=2``, second call: the same workers, reused (loky keeps them);
* ``n_jobs=2`` inside ``joblib.parallel_backend("threading")``: two threads of this
  process (numba's kernels hold the GIL, so they do not run at the same time).

and, to see where the first call's time goes: a trivial task on two fresh loky
workers (their start-up alone), and in a fresh process ``import mtlreg`` plus one
small fit (what each worker pays before its first fold). Wall and CPU times (CPU of
this process only: the workers' CPU is not in it) are the medians over the repeats;
the 1-minute load average (``os.getloadavg``) is recorded before and after every
repeat: other jobs share this machine.

    python benchmarks/bench_cv_jobs.py              # 3 repeats; writes results/cv_jobs.md
    python benchmarks/bench_cv_jobs.py --repeat 5
"""

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import git_commit  # noqa: E402

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent

CHILD = r"""
import json, os, resource, sys, time
import warnings

def cpu():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime

def timed(f):
    t0, c0 = time.perf_counter(), cpu()
    out = f()
    return dict(wall=time.perf_counter() - t0, cpu=cpu() - c0), out

reverse = sys.argv[1] == "1"
res = {"load_before": os.getloadavg()[0]}
t, _ = timed(lambda: __import__("mtlreg"))
res["import"] = t
import joblib
from joblib import Parallel, delayed
from mtlreg import GroupLassoRegressorCV
from mtlreg.datasets import load_school

school = load_school()
X, y = school.data, school.target

def fit(n_jobs):
    return GroupLassoRegressorCV(task_column=0, n_jobs=n_jobs).fit(X, y).alpha_

def serial():
    res["n_jobs=1"], res["alpha n_jobs=1"] = timed(lambda: fit(1))

def loky():
    res["n_jobs=2, first call"], res["alpha n_jobs=2"] = timed(lambda: fit(2))
    res["n_jobs=2, workers reused"], _ = timed(lambda: fit(2))

def threads():
    with joblib.parallel_backend("threading"):
        res["n_jobs=2, threads"], res["alpha threads"] = timed(lambda: fit(2))

for step in ([threads, loky, serial] if reverse else [serial, loky, threads]):
    step()

# the CPU of the loky workers of both n_jobs=2 calls (counted once they have exited)
from joblib.externals.loky import get_reusable_executor
get_reusable_executor().shutdown(wait=True)
r = resource.getrusage(resource.RUSAGE_CHILDREN)
res["loky workers' CPU, both n_jobs=2 calls"] = r.ru_utime + r.ru_stime
# the start-up of two fresh loky workers alone (a trivial task)
res["two fresh loky workers, trivial task"], _ = timed(
    lambda: Parallel(n_jobs=2)(delayed(abs)(-i) for i in range(2)))
res["load_after"] = os.getloadavg()[0]
print(json.dumps(res))
"""

WORKER = r"""
import json, time
t0 = time.perf_counter()
import numpy as np
import mtlreg
rng = np.random.default_rng(0)
X = np.column_stack([rng.integers(0, 4, 80), rng.standard_normal((80, 3))])
y = X[:, 1:] @ rng.standard_normal(3)
mtlreg.GroupLassoRegressor(task_column=0, alpha=0.01).fit(X, y)
print(json.dumps({"wall": time.perf_counter() - t0}))
"""


WORKER_CPU = "loky workers' CPU, both n_jobs=2 calls"


def _run(code, *args):
    out = subprocess.run([sys.executable, "-c", code, *args], cwd=ROOT, capture_output=True,
                         text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def _median(values):
    v = sorted(values)
    n = len(v)
    return v[n // 2] if n % 2 else 0.5 * (v[n // 2 - 1] + v[n // 2])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--out", default=str(HERE / "results" / "cv_jobs.md"))
    args = parser.parse_args(argv)
    start = time.perf_counter()
    _run(CHILD, "0")  # warm-up: numba's cache written, files in the page cache
    runs, workers = [], []
    for r in range(args.repeat):
        runs.append(_run(CHILD, str(r % 2)))
        workers.append(_run(WORKER)["wall"])
        print(json.dumps(runs[-1]), flush=True)
    keys = ["n_jobs=1", "n_jobs=2, first call", "n_jobs=2, workers reused",
            "n_jobs=2, threads", "two fresh loky workers, trivial task", "import"]
    serial = _median(r["n_jobs=1"]["wall"] for r in runs)
    alphas = {k: sorted({r[f"alpha {k}"] for r in runs})
              for k in ("n_jobs=1", "n_jobs=2", "threads")}
    import joblib
    import numpy
    lines = [
        "# `GroupLassoRegressorCV` on School: n_jobs=1 against n_jobs=2", "",
        f"Command: `python benchmarks/bench_cv_jobs.py --repeat {args.repeat}`; git "
        f"{git_commit()}; {platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}, numpy {numpy.__version__}, joblib "
        f"{joblib.__version__}; whole run {time.perf_counter() - start:.0f} s.", "",
        "Search: raw School, `task_column=0`, the defaults (5 task-stratified folds x 30 "
        "alphas, the refit included); each repeat in a fresh process, numba's cache "
        "written. Medians over the repeats, (min-max) beside them. CPU: this process "
        "only (the loky workers' CPU is not in it).", "",
        "1-minute load average before / after each repeat: "
        + ", ".join(f"{r['load_before']:.1f} / {r['load_after']:.1f}" for r in runs)
        + f" on {os.cpu_count()} cores: other jobs were running on this machine, so a "
        "second worker finds no idle core to run on.", "",
        "| setting | wall s | CPU s (this process) | wall / n_jobs=1 |",
        "|---|---|---|---|",
    ]
    for key in keys:
        walls = [r[key]["wall"] for r in runs]
        cpus = [r[key]["cpu"] for r in runs]
        ratio = f"{_median(walls) / serial:.2f}" if key.startswith("n_jobs") else ""
        lines.append(f"| {key} | {_median(walls):.2f} ({min(walls):.2f}-{max(walls):.2f}) | "
                     f"{_median(cpus):.2f} | {ratio} |")
    lines += [
        f"| a fresh process: `import mtlreg` + one small fit (what each worker pays "
        f"first) | {_median(workers):.2f} ({min(workers):.2f}-{max(workers):.2f}) | | |",
        "", "CPU of the two loky workers over both `n_jobs=2` calls (counted when they "
        "exit): median "
        f"{_median(r[WORKER_CPU] for r in runs):.2f} s "
        f"({min(r[WORKER_CPU] for r in runs):.2f}-{max(r[WORKER_CPU] for r in runs):.2f}).",
        "", f"Chosen `alpha_` (every repeat): {alphas}.",
    ]
    Path(args.out).write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
