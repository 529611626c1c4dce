"""ADMM rho schedule (issue 15): the former schedule against the current one, side by side.

    python benchmarks/studies/bench_admm_schedule.py    # writes results/admm_schedule.md

"before" is ``mtlreg/solvers/admm.py`` as of commit ``BEFORE`` (residual balancing at
every check for the whole run), loaded from git into ``mtlreg.solvers._admm_before``
and put in place of ``solver="admm"`` (the kernels it calls are unchanged); "after" is
the checkout's (spectral selection, at most ``MAX_RHO_CHANGES`` changes).

1. MALSAR's ``Least_Dirty`` setting on raw School (summed squared loss: task weights
   ``2 n_t``; no intercept; ``block_norm="l1inf"``), alpha/beta = 100/10 and 10/10, at
   tol 1e-6 / 1e-8 / 1e-10: iterations, wall and CPU time of ``fit``, and the relative
   suboptimality ``(f - D) / |D|`` with ``D`` a certified lower bound of the optimum
   (dual objective at scaled residuals, from an "after" fit at tol 1e-12; its own gap
   is in the table header).
2. The group lasso on School (default task weights, alpha = alpha_max / 10) with and
   without intercept, raw and standardised features, tol 1e-4 (default) and 1e-8.
3. Every formulation ADMM serves, on all of School, raw and standardised, with and
   without intercept, at tol 1e-10 (alpha = alpha_max / 10, beta = beta_max / 10;
   mean-regularized alpha=1, l2_reg=0.01; graph: complete graph, l1, alpha_max / 10;
   clustered: alpha=1, eta=1, 2 clusters): iterations, CPU time of one fit after an
   untimed one, and the objective difference after - before.

Times: median of 3 fits for fits under 1 s, after one untimed fit of the same
configuration (numba compilation and cache loading are not in the timed fits; the
first fit's time is in its own column).
"""

import argparse
import importlib.util
import os
import platform
import subprocess
import sys
import tempfile
import time
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.preprocessing import StandardScaler

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # benchmarks/
ROOT = os.path.dirname(HERE)
sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.join(ROOT, "tests"))

from test_admm_convergence import _blocks, dual_bound  # noqa: E402

import mtlreg  # noqa: E402
from mtlreg import solvers  # noqa: E402
from mtlreg.datasets import load_school  # noqa: E402

BEFORE = "8ae3a86"
AFTER_ADMM = solvers.SOLVERS["admm"]


def _load_before():
    src = subprocess.run(["git", "show", f"{BEFORE}:mtlreg/solvers/admm.py"], cwd=ROOT,
                         check=True, capture_output=True, text=True).stdout
    path = os.path.join(tempfile.mkdtemp(), "_admm_before.py")
    with open(path, "w") as fh:
        fh.write(src)
    spec = importlib.util.spec_from_file_location("mtlreg.solvers._admm_before", path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod
    spec.loader.exec_module(mod)
    return mod.admm


BEFORE_ADMM = _load_before()


def use(version):
    solvers.SOLVERS["admm"] = BEFORE_ADMM if version == "before" else AFTER_ADMM


def timed_fit(est, X, y):
    """(first-fit seconds, wall, cpu, warned) of ``est.fit``; median of 3 under 1 s."""
    t0 = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        est.fit(X, y)
    first = time.perf_counter() - t0
    warned = any(issubclass(w.category, ConvergenceWarning) for w in caught)
    runs = []
    for _ in range(3 if first < 1.0 else 1):
        w0, c0 = time.perf_counter(), time.process_time()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            est.fit(X, y)
        runs.append((time.perf_counter() - w0, time.process_time() - c0))
    wall, cpu = sorted(runs)[len(runs) // 2]
    return first, wall, cpu, warned


def malsar(out):
    X, y = load_school(return_X_y=True)
    tasks, counts = np.unique(X[:, 0], return_counts=True)
    tw = {t: 2.0 * n for t, n in zip(tasks, counts)}
    for alpha, beta in [(100.0, 10.0), (10.0, 10.0)]:
        def make(tol):
            return mtlreg.DirtyRegressor(alpha=alpha, beta=beta, block_norm="l1inf",
                                         fit_intercept=False, task_column=0, task_weights=tw,
                                         solver="admm", tol=tol, max_iter=200_000)
        use("after")
        ref = make(1e-12).fit(X, y)
        D = dual_bound(ref, _blocks(ref, X, y))
        out.append(f"\n### MALSAR Least_Dirty, alpha={alpha:g}, beta={beta:g}\n")
        out.append(f"Certified lower bound D = {D:.10f} (after, tol 1e-12: "
                   f"{ref.n_iter_} iterations, f - D = {ref.objective_ - D:.2e}, "
                   f"relative {(ref.objective_ - D) / abs(D):.1e}).\n")
        out.append("| tol | version | iterations | wall (s) | CPU (s) | first fit (s) | "
                   "(f - D)/|D| | ConvergenceWarning |")
        out.append("|---|---|---|---|---|---|---|---|")
        for tol in (1e-6, 1e-8, 1e-10):
            for version in ("before", "after"):
                use(version)
                est = make(tol)
                first, wall, cpu, warned = timed_fit(est, X, y)
                out.append(f"| {tol:.0e} | {version} | {est.n_iter_} | {wall:.3f} | "
                           f"{cpu:.3f} | {first:.3f} | {(est.objective_ - D) / abs(D):.1e} | "
                           f"{'yes' if warned else 'no'} |")
                print(out[-1], flush=True)


def group_lasso(out):
    X, y = load_school(return_X_y=True)
    Xs = X.copy()
    Xs[:, 1:] = StandardScaler().fit_transform(X[:, 1:])
    out.append("\n### Group lasso on School, alpha = alpha_max / 10 (default task weights)\n")
    out.append("| features | intercept | tol | version | iterations | wall (s) | CPU (s) | "
               "first fit (s) | objective |")
    out.append("|---|---|---|---|---|---|---|---|---|")
    for name, data in (("raw", X), ("standardised", Xs)):
        for fi in (True, False):
            for tol in (1e-4, 1e-8):
                for version in ("before", "after"):
                    use(version)
                    est = mtlreg.GroupLassoRegressor(task_column=0, fit_intercept=fi,
                                                     solver="admm", tol=tol)
                    est.set_params(alpha=est.compute_alpha_max(data, y) / 10)
                    first, wall, cpu, warned = timed_fit(est, data, y)
                    out.append(f"| {name} | {fi} | {tol:.0e} | {version} | {est.n_iter_} | "
                               f"{wall:.4f} | {cpu:.4f} | {first:.3f} | "
                               f"{est.objective_:.12e} |")
                    print(out[-1], flush=True)


FAMILY = {
    "group lasso": (mtlreg.GroupLassoRegressor, {}),
    "sparse group lasso": (mtlreg.SparseGroupLassoRegressor, {}),
    "trace norm": (mtlreg.TraceNormRegressor, {}),
    "dirty l1inf": (mtlreg.DirtyRegressor, {"block_norm": "l1inf"}),
    "dirty l21": (mtlreg.DirtyRegressor, {"block_norm": "l21"}),
    "independent l1": (mtlreg.IndependentRegressor, {"penalty": "l1"}),
    "mean-regularized": (mtlreg.MeanRegularizedRegressor, {"alpha": 1.0, "l2_reg": 0.01}),
    "graph (complete, l1)": (mtlreg.GraphRegularizedRegressor, {}),
    "temporal group lasso": (mtlreg.TemporalGroupLassoRegressor, {}),
    "fused group lasso": (mtlreg.FusedGroupLassoRegressor, {}),
    "clustered": (mtlreg.ClusteredRegressor, {"alpha": 1.0}),
}


def family(out):
    X, y = load_school(return_X_y=True)
    Xs = X.copy()
    Xs[:, 1:] = StandardScaler().fit_transform(X[:, 1:])
    out.append("\n### Every ADMM formulation on School, tol 1e-10\n")
    out.append("| formulation | features | intercept | iterations before | iterations after | "
               "CPU before (s) | CPU after (s) | f_after - f_before (relative) | "
               "warning before / after |")
    out.append("|---|---|---|---|---|---|---|---|---|")
    for name, (cls, kw) in FAMILY.items():
        for fname, data in (("raw", X), ("standardised", Xs)):
            for fi in (True, False):
                est = cls(task_column=0, fit_intercept=fi, solver="admm", tol=1e-10,
                          max_iter=100_000, **kw)
                if "alpha" not in kw:
                    est.set_params(alpha=est.compute_alpha_max(data, y) / 10)
                if hasattr(est, "beta"):
                    est.set_params(beta=est.compute_beta_max(data, y) / 10
                                   if hasattr(est, "compute_beta_max") else est.alpha)
                row = {}
                for version in ("before", "after"):
                    use(version)
                    with warnings.catch_warnings(record=True) as caught:
                        warnings.simplefilter("always", ConvergenceWarning)
                        est.fit(data, y)
                        c0 = time.process_time()
                        est.fit(data, y)
                        cpu = time.process_time() - c0
                    warned = any(issubclass(w.category, ConvergenceWarning) for w in caught)
                    row[version] = (est.n_iter_, cpu, est.objective_, warned)
                b, a = row["before"], row["after"]
                out.append(f"| {name} | {fname} | {fi} | {b[0]} | {a[0]} | {b[1]:.3f} | "
                           f"{a[1]:.3f} | {(a[2] - b[2]) / abs(b[2]):.1e} | "
                           f"{'yes' if b[3] else 'no'} / {'yes' if a[3] else 'no'} |")
                print(out[-1], flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", default=os.path.join(HERE, "results", "admm_schedule.md"))
    args = parser.parse_args()
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT,
                            capture_output=True, text=True).stdout.strip()
    dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                           cwd=ROOT, capture_output=True, text=True).stdout.strip()
    out = ["# ADMM rho schedule: before and after", "",
           f"Command: `python benchmarks/studies/bench_admm_schedule.py`; commit {commit}"
           f"{' (with uncommitted changes)' if dirty else ''}; before = {BEFORE}; "
           f"{platform.machine()} {os.cpu_count()} cores, Python "
           f"{platform.python_version()}, numpy {np.__version__}.", "",
           "Times: `fit` (validation included), median of 3 when under 1 s, after an "
           "untimed first fit (its time in 'first fit').", ""]
    malsar(out)
    group_lasso(out)
    family(out)
    with open(args.out, "w") as fh:
        fh.write("\n".join(out) + "\n")
    print("wrote", args.out)


if __name__ == "__main__":
    main()
