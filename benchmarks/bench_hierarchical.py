"""HierarchicalRegressor against statsmodels MixedLM, side by side in one run (issue 25).

1. mlmRev Chem97 (all 2,410 schools, 31,022 rows): score ~ gcsescore + age + gender,
   school as task, REML, random intercept + random slope on gcsescore (full 2 x 2
   covariance): fit time (ours: median of ``--repeat`` fits, input validation and
   statistics included; MixedLM: one fit, default settings, model construction
   included) and the restricted log-likelihood of each.
2. School (mtlreg.datasets.load_school: 139 schools, 15,362 rows): a full covariance
   over the intercept and all 27 features (a 28 x 28 Sigma, 406 parameters), REML:
   time (median of ``--repeat``), iterations, convergence, llf. MixedLM is not run there.
3. A simulated Dask DataFrame with ``--dask-tasks`` tasks (default 100,000): the whole fit
   from the lazy frame.

Writes benchmarks/results/hierarchical.md (command, commit, machine, ``uptime`` load
before and after).

    python benchmarks/bench_hierarchical.py [--repeat 3]
"""

import argparse
import os
import subprocess
import sys
import time
import warnings

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from _common import git_commit, machine_info  # noqa: E402
from _multilevel_data import load_chem97  # noqa: E402

from mtlreg import HierarchicalRegressor  # noqa: E402
from mtlreg.datasets import load_school  # noqa: E402

RESULTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results", "hierarchical.md")


def _uptime():
    return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()


def _ours(est, X, y, repeat):
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        est.fit(X, y)
        times.append(time.perf_counter() - t)
    return float(np.median(times)), times


def chem97(repeat):
    import statsmodels.api as sm

    data = load_chem97()
    X, y, g = data.X, data.y, data.groups
    main = data.feature_names.index(data.main)
    Xg = np.column_stack([g, X])
    est = HierarchicalRegressor([main], task_column=0, method="reml")
    est.fit(Xg, y)  # warm-up (numba kernels of the statistics, loaded from the cache)
    t_ours, times = _ours(est, Xg, y, repeat)
    Xf = np.column_stack([np.ones(len(y)), X])
    t = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model = sm.MixedLM(y, Xf, groups=g, exog_re=Xf[:, [0, main + 1]])
        res = model.fit(reml=True)
    t_sm = time.perf_counter() - t
    fe_diff = float(np.max(np.abs(np.r_[est.population_intercept_, est.population_coef_]
                                  - np.asarray(res.fe_params))))
    cov_diff = float(np.max(np.abs(est.covariance_ - np.asarray(res.cov_re))))
    return {
        "rows": len(y), "tasks": est.n_tasks_, "features": data.feature_names,
        "t_ours": t_ours, "times": times, "t_sm": t_sm, "llf_ours": est.log_likelihood_,
        "llf_sm": float(res.llf), "sm_converged": bool(res.converged),
        "sm_warnings": sorted({str(w.message).split("\n")[0][:90] for w in caught}),
        "converged": est.converged_, "n_iter": est.n_iter_, "fe_diff": fe_diff,
        "cov_diff": cov_diff, "cov": est.covariance_, "scale": est.noise_variance_,
        "scale_sm": float(res.scale),
    }


def school_full(repeat):
    X, y = load_school(return_X_y=True)
    keep = [j for j in range(X.shape[1]) if j == 0 or np.ptp(X[:, j]) > 0]  # drop `bias`
    X = X[:, keep]
    est = HierarchicalRegressor("all", covariance="full", task_column=0, method="reml")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        t_ours, times = _ours(est, X, y.astype(float), repeat)
    return {"rows": len(y), "tasks": est.n_tasks_, "q": est.covariance_.shape[0],
            "t": t_ours, "times": times, "llf": est.log_likelihood_,
            "converged": est.converged_, "n_iter": est.n_iter_,
            "warnings": sorted({str(w.message)[:120] for w in caught})}


def dask_many_tasks(n_tasks, rows_per_task=8, partitions=8):
    """A simulated Dask DataFrame with ``n_tasks`` tasks (random intercept + slope):
    the whole fit from the lazy frame (statistics on the partitions, then the REML fit),
    timed once; the statistics part and the criterion part reported apart."""
    import dask.dataframe as dd
    import pandas as pd

    rng = np.random.default_rng(0)
    g = np.repeat(np.arange(n_tasks), rows_per_task)
    X = rng.normal(size=(len(g), 3))
    b = rng.multivariate_normal([0, 0], [[1.0, 0.3], [0.3, 0.5]], size=n_tasks)
    y = 1.0 + X @ [0.5, -1.0, 0.2] + b[g, 0] + b[g, 1] * X[:, 0] + rng.normal(size=len(g))
    frame = pd.DataFrame({"task": g, "x0": X[:, 0], "x1": X[:, 1], "x2": X[:, 2]})
    lazy_X = dd.from_pandas(frame, npartitions=partitions)
    lazy_y = dd.from_pandas(pd.Series(y), npartitions=partitions)
    est = HierarchicalRegressor([0], task_column="task")
    t = time.perf_counter()
    est.fit(lazy_X, lazy_y)
    total = time.perf_counter() - t
    return {"tasks": n_tasks, "rows": len(y), "partitions": partitions, "t": total,
            "llf": est.log_likelihood_, "converged": est.converged_, "n_iter": est.n_iter_,
            "cov": est.covariance_, "true_cov": np.array([[1.0, 0.3], [0.3, 0.5]])}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--dask-tasks", type=int, default=100_000)
    args = parser.parse_args()
    load_before = _uptime()
    c = chem97(args.repeat)
    s = school_full(args.repeat)
    k = dask_many_tasks(args.dask_tasks)
    load_after = _uptime()
    info = machine_info()
    lines = [
        "# HierarchicalRegressor vs statsmodels MixedLM",
        "",
        f"Command: `python benchmarks/bench_hierarchical.py --repeat {args.repeat}`  ",
        f"Commit: {git_commit()}  ",
        f"Machine: {info.get('cpu')}, {info.get('cores_available')} cores, "
        f"Python {info.get('python')}  ",
        f"`uptime` before: {load_before}  ",
        f"`uptime` after: {load_after}",
        "",
        "## mlmRev Chem97, REML, random intercept + slope on gcsescore",
        "",
        f"{c['rows']} rows, {c['tasks']} schools; fixed effects: intercept, "
        f"{', '.join(c['features'])}.",
        "",
        "| | fit time (s) | REML log-likelihood | converged |",
        "|---|---|---|---|",
        f"| mtlreg HierarchicalRegressor (median of {args.repeat}: "
        f"{', '.join(f'{t:.3f}' for t in c['times'])}) | {c['t_ours']:.3f} | "
        f"{c['llf_ours']:.6f} | {c['converged']} ({c['n_iter']} iterations) |",
        f"| statsmodels MixedLM (one fit, defaults) | {c['t_sm']:.2f} | {c['llf_sm']:.6f} | "
        f"{c['sm_converged']} |",
        "",
        f"Speed-up: {c['t_sm'] / c['t_ours']:.0f}x; llf ours - MixedLM = "
        f"{c['llf_ours'] - c['llf_sm']:.3e}. Largest difference of the fixed effects "
        f"{c['fe_diff']:.2e}, of the covariance {c['cov_diff']:.2e}; noise variance "
        f"{c['scale']:.6f} (MixedLM {c['scale_sm']:.6f}).",
        f"Covariance (intercept, gcsescore): {np.array2string(c['cov'], precision=6)}.",
        f"MixedLM warnings: {c['sm_warnings'] or 'none'}.",
        "",
        "## School, full covariance over the intercept and all 27 features, REML",
        "",
        f"{s['rows']} rows, {s['tasks']} schools, Sigma {s['q']} x {s['q']} "
        f"({s['q'] * (s['q'] + 1) // 2} parameters).",
        "",
        f"Fit time {s['t']:.2f} s (median of {args.repeat}: "
        f"{', '.join(f'{t:.2f}' for t in s['times'])}), {s['n_iter']} iterations "
        f"(EM + L-BFGS-B), converged {s['converged']}, REML llf {s['llf']:.4f}. "
        f"Warnings: {s['warnings'] or 'none'}. MixedLM not run (a random slope on every "
        "feature is out of its reach in practice: shared notes).",
        "",
        f"## A Dask DataFrame with {k['tasks']:,} tasks",
        "",
        f"{k['rows']:,} rows in {k['partitions']} partitions (simulated: 3 features, random "
        "intercept + slope on x0, true covariance [[1, 0.3], [0.3, 0.5]]), REML: the whole "
        f"fit from the lazy frame (statistics on the partitions, local scheduler) "
        f"{k['t']:.2f} s, {k['n_iter']} iterations, converged {k['converged']}, estimated "
        f"covariance {np.array2string(k['cov'], precision=4)}.",
        "",
    ]
    os.makedirs(os.path.dirname(RESULTS), exist_ok=True)
    with open(RESULTS, "w") as f:
        f.write("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
