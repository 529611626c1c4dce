"""Input handling of a fit, before and after one commit, side by side (issue 15 item 3).

For each problem: the whole ``fit`` from the user's arrays and ``_prepare`` alone (the
validation, the task-column split, the finiteness and magnitude checks, the layout
and the datafit: what a fit does before its solver), CPU time (``process_time``) and
wall time (best of ``--repeat``, after a warm-up fit that compiles), and the
``tracemalloc`` peak of each. Each revision runs in its own process from a
``git archive`` of it (``PYTHONPATH``), one after the other.

Problems: the per-task problem of the issue (500 tasks x 200 rows, d = 1000, task
column first, float64, 800 MB), ``GroupLassoRegressor(alpha=alpha_max/10)``; School
(per-task, 139 tasks, d = 28) as shipped (its array is Fortran-ordered, so its
features are copied either way) and as a C-ordered array.

    python benchmarks/studies/bench_input.py [--before 8ae3a86] [--after HEAD] [--repeat 3]

Writes ``benchmarks/results/input.md``.
"""

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
import tracemalloc

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # benchmarks/
ROOT = os.path.dirname(HERE)


def problems():
    import numpy as np

    from mtlreg.datasets import load_school, make_multitask_regression

    X, y = make_multitask_regression(200, 1000, 500, n_informative=20, layout="per_task",
                                     noise=0.5, random_state=0)
    yield "per-task 500 x 200, d=1000 (C, task column first)", np.ascontiguousarray(X), y
    Xs, ys = load_school(return_X_y=True)
    yield "School as shipped (Fortran-ordered)", Xs, ys
    yield "School, C-ordered", np.ascontiguousarray(Xs), ys


def measure(fn, repeat):
    best = None
    for _ in range(repeat):
        tracemalloc.start()
        t0, c0 = time.perf_counter(), time.process_time()
        fn()
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        if best is None or cpu < best[1]:
            best = (wall, cpu, peak)
    return best


def child(repeat):
    """Runs inside one revision's tree: prints one JSON line per problem."""
    import warnings

    from sklearn.base import clone

    import mtlreg
    from mtlreg import GroupLassoRegressor

    warnings.simplefilter("ignore")
    for name, X, y in problems():
        alpha = GroupLassoRegressor(task_column=0).compute_alpha_max(X, y) / 10
        est = GroupLassoRegressor(alpha=alpha, task_column=0)
        est.fit(X, y)  # compile, warm caches
        fit = measure(lambda: clone(est).fit(X, y), repeat)
        prep = measure(lambda: clone(est)._prepare(X, y, None), repeat)
        print(json.dumps(dict(problem=name, fit=fit, prepare=prep, X_mib=X.nbytes / 2**20,
                              n_iter=int(est.n_iter_), file=mtlreg.__file__)), flush=True)


def run_revision(rev, repeat):
    sha = subprocess.check_output(["git", "rev-parse", "--short", rev], cwd=ROOT,
                                  text=True).strip()
    tmp = tempfile.mkdtemp(prefix=f"mtlreg-{sha}-")
    archive = subprocess.run(["git", "archive", sha, "mtlreg"], cwd=ROOT, check=True,
                             capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", tmp], input=archive, check=True)
    env = dict(os.environ, PYTHONPATH=tmp)
    out = subprocess.run([sys.executable, __file__, "--child", "--repeat", str(repeat)],
                         env=env, check=True, capture_output=True, text=True, cwd=tmp).stdout
    rows = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    assert all(r["file"].startswith(tmp) for r in rows), "ran the wrong mtlreg"
    return sha, rows


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--before", default="8ae3a86")
    parser.add_argument("--after", default="HEAD")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--child", action="store_true")
    args = parser.parse_args()
    if args.child:
        return child(args.repeat)
    results = {rev: run_revision(rev, args.repeat) for rev in (args.before, args.after)}
    (sha_b, before), (sha_a, after) = results[args.before], results[args.after]
    head = subprocess.check_output(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT,
                                   text=True).strip()
    load = os.getloadavg()
    mib = lambda b: f"{b / 2**20:,.0f}"  # noqa: E731
    lines = ["# Input handling: one pass over the input (issue 15 item 3)", "",
             f"Script commit {head}; `python benchmarks/studies/bench_input.py --before {args.before} "
             f"--after {args.after} --repeat {args.repeat}`; before = {sha_b}, after = "
             f"{sha_a}. {platform.processor() or platform.machine()}, "
             f"{os.cpu_count()} cores, load average at the end {load[0]:.1f} (the machine "
             "was shared: CPU times are the steadier numbers). Best of the repeats (by "
             "CPU) after a warm-up fit; peak: tracemalloc (NumPy allocations included, "
             "the input arrays not counted). `GroupLassoRegressor(alpha=alpha_max/10, "
             "task_column=0)`. `_prepare` = everything a fit does before its solver.", "",
             "| problem | X (MiB) | rev | fit CPU (s) | fit wall (s) | fit peak (MiB) | "
             "_prepare CPU (s) | _prepare wall (s) | _prepare peak (MiB) | iterations |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for b, a in zip(before, after):
        for sha, r in ((sha_b, b), (sha_a, a)):
            lines.append(f"| {r['problem']} | {r['X_mib']:,.0f} | {sha} | {r['fit'][1]:.3f} | "
                         f"{r['fit'][0]:.3f} | {mib(r['fit'][2])} | {r['prepare'][1]:.3f} | "
                         f"{r['prepare'][0]:.3f} | {mib(r['prepare'][2])} | {r['n_iter']} |")
    text = "\n".join(lines) + "\n"
    print(text)
    with open(os.path.join(HERE, "results", "input.md"), "w") as fh:
        fh.write(text)


if __name__ == "__main__":
    main()
