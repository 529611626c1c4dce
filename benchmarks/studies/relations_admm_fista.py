"""ADMM against FISTA on the two-part relation models (docs/task_relations.rst).

    python benchmarks/studies/relations_admm_fista.py [--repeat 3]

``RobustMultiTaskRegressor`` and ``RobustFeatureLearningRegressor`` on School's raw
features (intercept), ``alpha=10, beta=30`` (the solver benchmark's relations setting),
``tol=1e-8``, ``solver="admm"`` and ``solver="fista"``. Per fit: wall and CPU time
(median of ``--repeat`` fits after one untimed fit, so numba's compilation is not in
them), iterations, and the objective's relative gap between the two solvers. Writes
``benchmarks/results/relations_admm_fista.md`` (command, commit, load).
"""

import argparse
import os
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))  # this checkout's mtlreg

from mtlreg import RobustFeatureLearningRegressor, RobustMultiTaskRegressor  # noqa: E402
from mtlreg.datasets import load_school  # noqa: E402


def _fit(cls, solver, X, y):
    est = cls(task_column=0, alpha=10.0, beta=30.0, tol=1e-8, solver=solver, max_iter=100_000)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        c0, t0 = time.process_time(), time.perf_counter()
        est.fit(X, y)
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    warned = any("converge" in str(w.message).lower() for w in caught)
    return wall, cpu, est, warned


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "relations_admm_fista.md"))
    args = parser.parse_args(argv)
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                            text=True).stdout.strip() or "unknown"
    load0 = os.getloadavg()
    data = load_school()
    X, y = data.data, data.target
    rows = []
    for cls in (RobustMultiTaskRegressor, RobustFeatureLearningRegressor):
        res = {}
        for solver in ("admm", "fista"):
            _fit(cls, solver, X, y)  # compile or load the kernels
            runs = [_fit(cls, solver, X, y) for _ in range(args.repeat)]
            est = runs[-1][2]
            res[solver] = dict(wall=float(np.median([r[0] for r in runs])),
                               cpu=float(np.median([r[1] for r in runs])),
                               n_iter=int(np.max(est.n_iter_)), warned=runs[-1][3],
                               obj=float(est.objective_) if hasattr(est, "objective_") else None)
            print(cls.__name__, solver, res[solver], flush=True)
        a, f = res["admm"], res["fista"]
        gap = "" if a["obj"] is None or f["obj"] is None else (
            f"{(f['obj'] - a['obj']) / abs(a['obj']):.1e}")
        rows.append(f"| {cls.__name__} | {a['wall']:.3g} | {a['cpu']:.3g} | {a['n_iter']} | "
                    f"{f['wall']:.3g} | {f['cpu']:.3g} | {f['n_iter']} | {f['wall'] / a['wall']:.3g} | "
                    f"{gap} | {'admm ' if a['warned'] else ''}{'fista' if f['warned'] else ''} |")
    load1 = os.getloadavg()
    text = "\n".join([
        "# ADMM against FISTA on the two-part relation models (School raw)", "",
        "Command: `" + " ".join(["python benchmarks/studies/relations_admm_fista.py", *sys.argv[1:]])
        + f"`; commit {commit}; {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; "
        f"{os.cpu_count()} cores, shared; load average (1 / 5 / 15 min) at start "
        f"{' / '.join(f'{x:.2f}' for x in load0)}, at end {' / '.join(f'{x:.2f}' for x in load1)} "
        "(wall times on a loaded machine are inflated; CPU times less so).", "",
        f"School raw features, intercept, alpha=10, beta=30, tol=1e-8; median of {args.repeat} "
        "fits after one untimed fit. Objective gap: (FISTA - ADMM) / |ADMM| of `objective_` "
        "where the estimator reports it.", "",
        "| model | ADMM wall s | ADMM CPU s | ADMM iterations | FISTA wall s | FISTA CPU s | "
        "FISTA iterations | FISTA / ADMM wall | objective gap | ConvergenceWarning |",
        "|---|---|---|---|---|---|---|---|---|---|", *rows, ""])
    Path(args.out).write_text(text)
    print(text)


if __name__ == "__main__":
    main()
