"""School: ``*CV`` estimators (warm-started paths) against a naive GridSearchCV of cold fits.

For every member of the family (group lasso, sparse group lasso with one
``l1_ratio``, trace norm, dirty with one ``beta``, mean-regularized with one
``l2_reg``, independent ridge) the same search -- 5 task-stratified folds x the
same 30 values of ``alpha`` -- is timed two ways in one run:

(a) the ``<Estimator>CV`` class: per fold, one warm-started regularization path
    over the grid, data validated and laid out once;
(b) ``GridSearchCV(<Estimator>(), {"alpha": grid}, cv=TaskStratifiedKFold(5))``:
    one cold ``fit`` per (alpha, fold).

Both refit the chosen model on all the data (included in the times), both run
serially (``n_jobs=1``). The chosen alphas should agree up to solver tolerance
(a disagreement is reported with the cross-validated MSE of both choices, so a
near tie is visible as such). Features are standardised first (the task id in
column 0 is left as it is). A tiny warm-up fit of every model runs first, so that
numba compilation (or loading its on-disk cache) is not in the timings; its
time is reported separately.

    python benchmarks/bench_cv_school.py            # 30 alphas; writes results/cv_school.md
    python benchmarks/bench_cv_school.py --quick    # 5 alphas, smoke run
                                                    # (writes results/cv_school_quick.md)
"""

import argparse
import os
import platform
import sys
import time
import warnings
from pathlib import Path

# One BLAS thread (unless set by the caller): the problems are small (28 features),
# threads only add noise, and CPU times (reported next to wall times, robust to
# other load on the machine) then measure the work itself.
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numpy as np  # noqa: E402
from sklearn.exceptions import ConvergenceWarning  # noqa: E402
from sklearn.model_selection import GridSearchCV  # noqa: E402

import mtlreg  # noqa: E402
from mtlreg import (  # noqa: E402
    DirtyRegressor,
    DirtyRegressorCV,
    GroupLassoRegressor,
    GroupLassoRegressorCV,
    IndependentRegressor,
    IndependentRegressorCV,
    MeanRegularizedRegressor,
    MeanRegularizedRegressorCV,
    SparseGroupLassoRegressor,
    SparseGroupLassoRegressorCV,
    TraceNormRegressor,
    TraceNormRegressorCV,
)
from mtlreg.datasets import load_school, make_multitask_regression  # noqa: E402
from mtlreg.model_selection import TaskStratifiedKFold  # noqa: E402

N_FOLDS = 5


def school():
    """School, per-task layout (task id in column 0), the 28 features standardised."""
    data = load_school()
    X = np.array(data.data, dtype=np.float64)
    F = X[:, 1:]
    std = F.std(axis=0)
    X[:, 1:] = (F - F.mean(axis=0)) / np.where(std > 0, std, 1.0)  # "bias" is constant
    return X, np.asarray(data.target, dtype=np.float64)


def models(X, y, common):
    """name -> (CV estimator, plain estimator, its fixed second parameter or None)."""
    beta = 0.1 * DirtyRegressor(**common).compute_beta_max(X, y)
    return {
        "group lasso (l2,1)": (GroupLassoRegressorCV(**common), GroupLassoRegressor(**common)),
        "sparse group lasso, l1_ratio=0.5": (
            SparseGroupLassoRegressorCV(l1_ratios=[0.5], **common),
            SparseGroupLassoRegressor(l1_ratio=0.5, **common)),
        "trace norm": (TraceNormRegressorCV(**common), TraceNormRegressor(**common)),
        f"dirty l1,inf + l1, beta={beta:.3g} (0.1 beta_max)": (
            DirtyRegressorCV(betas=[beta], **common), DirtyRegressor(beta=beta, **common)),
        "mean-regularized, l2_reg=0.01": (
            MeanRegularizedRegressorCV(l2_regs=[0.01], **common),
            MeanRegularizedRegressor(l2_reg=0.01, **common)),
        "independent ridge (l2)": (
            IndependentRegressorCV(penalty="l2", **common),
            IndependentRegressor(penalty="l2", **common)),
    }


def timed(fn):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        start, cpu = time.perf_counter(), time.process_time()
        result = fn()
        elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
    n_warn = sum(issubclass(w.category, ConvergenceWarning) for w in caught)
    return result, (elapsed, cpu), n_warn


def warm_up(common):
    """First fits on a tiny problem: numba compilation / cache loading, timed apart."""
    X, y = make_multitask_regression([12, 10, 14], 4, 3, layout="per_task", random_state=0)
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for cv_est, est in models(X, y, common).values():
            est.fit(X, y)
            cv_est.set_params(n_alphas=2, cv=2).fit(X, y)
    return time.perf_counter() - start


def run(n_alphas, common, verbose=True):
    X, y = school()
    warm = warm_up(common)
    if verbose:
        print(f"warm-up (numba compilation / cache load): {warm:.2f} s", flush=True)
    cv = TaskStratifiedKFold(N_FOLDS, task_column=0)
    rows = []
    for name, (cv_est, est) in models(X, y, common).items():
        cv_est.set_params(n_alphas=n_alphas, cv=cv, n_jobs=1)
        fitted, t_a, warn_a = timed(lambda: cv_est.fit(X, y))
        grid = np.asarray(fitted.alphas_).ravel()  # one value of the second parameter
        search = GridSearchCV(est, {"alpha": grid}, cv=cv, scoring="neg_mean_squared_error",
                              n_jobs=1)
        search, t_b, warn_b = timed(lambda: search.fit(X, y))
        alpha_a, alpha_b = fitted.alpha_, search.best_params_["alpha"]
        mse_a = np.asarray(fitted.mse_path_).reshape(len(grid), -1).mean(axis=1)
        mse_b = -search.cv_results_["mean_test_score"]
        ia, ib = int(np.argmin(mse_a)), int(np.argmin(mse_b))
        (t_a, cpu_a), (t_b, cpu_b) = t_a, t_b
        rows.append(dict(
            name=name, t_a=t_a, t_b=t_b, cpu_a=cpu_a, cpu_b=cpu_b,
            alpha_a=alpha_a, alpha_b=alpha_b,
            agree=bool(np.isclose(alpha_a, alpha_b, rtol=1e-12)),
            idx_a=ia, idx_b=ib, mse_a=mse_a[ia], mse_b=mse_b[ib],
            # the two solvers' CV scores at the same alphas
            mse_gap=float(np.max(np.abs(mse_a - mse_b) / mse_b)),
            warn_a=warn_a, warn_b=warn_b, grid=(grid[0], grid[-1]),
        ))
        if verbose:
            r = rows[-1]
            print(f"{name}: (a) {t_a:.2f} s, (b) {t_b:.2f} s, b/a {t_b / t_a:.1f}; alpha "
                  f"{alpha_a:.4g} vs {alpha_b:.4g} (max rel. CV-MSE gap {r['mse_gap']:.1e}); "
                  f"CPU (a) {r['cpu_a']:.2f} s, (b) {r['cpu_b']:.2f} s",
                  flush=True)
    return rows, warm, X.shape, len(np.unique(X[:, 0]))


def format_table(rows, n_alphas):
    head = ("| model | (a) *CV, warm paths: wall (CPU) s | (b) GridSearchCV, cold fits: "
            "wall (CPU) s | b / a, wall (CPU) | alpha_ (a) | best alpha (b) | agree | "
            "CV MSE at (a) / (b) | max rel. gap of CV MSE, same alpha | "
            "ConvergenceWarnings (a) / (b) |")
    lines = [head, "|" + "---|" * 10]
    for r in rows:
        agree = "yes" if r["agree"] else f"no (grid index {r['idx_a']} vs {r['idx_b']})"
        if r["idx_a"] in (0, n_alphas - 1):
            agree += " (at the grid's edge)"
        lines.append(
            f"| {r['name']} | {r['t_a']:.2f} ({r['cpu_a']:.2f}) | {r['t_b']:.2f} "
            f"({r['cpu_b']:.2f}) | {r['t_b'] / r['t_a']:.1f} ({r['cpu_b'] / r['cpu_a']:.1f}) | "
            f"{r['alpha_a']:.4g} | {r['alpha_b']:.4g} | {agree} | "
            f"{r['mse_a']:.4f} / {r['mse_b']:.4f} | {r['mse_gap']:.1e} | "
            f"{r['warn_a']} / {r['warn_b']} |")
    ta, tb = sum(r["t_a"] for r in rows), sum(r["t_b"] for r in rows)
    ca, cb = sum(r["cpu_a"] for r in rows), sum(r["cpu_b"] for r in rows)
    lines.append(f"| **all** | {ta:.2f} ({ca:.2f}) | {tb:.2f} ({cb:.2f}) | {tb / ta:.1f} "
                 f"({cb / ca:.1f}) | | | | | | |")
    return "\n".join(lines)


def _git_state():
    import subprocess

    root = Path(__file__).resolve().parent.parent
    try:
        rev = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=root, text=True,
                             capture_output=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "mtlreg"], cwd=root,
                               text=True, capture_output=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return rev + (" + uncommitted changes under mtlreg/" if dirty else "")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="smoke run: 5 alphas instead of 30 (writes cv_school_quick.md)")
    parser.add_argument("--n-alphas", type=int, default=None, help="override the grid size")
    parser.add_argument("--tol", type=float, default=1e-4, help="solver tol of every fit")
    parser.add_argument("--max-iter", type=int, default=5000)
    args = parser.parse_args(argv)
    n_alphas = args.n_alphas or (5 if args.quick else 30)
    common = dict(task_column=0, tol=args.tol, max_iter=args.max_iter)
    start = time.perf_counter()
    rows, warm, shape, n_tasks = run(n_alphas, common)
    elapsed = time.perf_counter() - start
    table = format_table(rows, n_alphas)
    command = "python benchmarks/bench_cv_school.py" + (" " + " ".join(argv or sys.argv[1:])
                                                        if (argv or sys.argv[1:]) else "")
    threads = {k: os.environ[k] for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS",
                                          "MKL_NUM_THREADS") if k in os.environ}
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    text = (
        "# School: *CV estimators (warm-started paths) vs GridSearchCV (cold fits)\n\n"
        f"Command: `{command}`\n\n"
        f"Data: School, {shape[0]} students, {n_tasks} schools (tasks), {shape[1] - 1} "
        "features standardised; per-task layout (`task_column=0`).\n"
        f"Search: {N_FOLDS} folds (`TaskStratifiedKFold`) x {n_alphas} alphas (the *CV "
        "estimator's own grid, from alpha_max -- 100 x the data-term curvature for the "
        "ridge-like models -- down to 1e-3 of it; GridSearchCV gets the same values); "
        f"every fit with tol={args.tol:g}, max_iter={args.max_iter}; n_jobs=1 for both; "
        "times include the refit on all the data.\n"
        f"Warm-up fits (numba compilation or cache load), excluded from the times: "
        f"{warm:.2f} s. Whole run: {elapsed:.0f} s.\n"
        f"Machine: {platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}, numpy {np.__version__}, mtlreg {mtlreg.__version__} "
        f"(git {_git_state()})"
        f"{', ' + str(threads) if threads else ''}; 1-min load average at the end "
        f"{load:.1f} (CPU times are those of this process, robust to other load).\n\n"
        "'max rel. gap of CV MSE, same alpha' compares (a)'s and (b)'s cross-validated MSE "
        "at each alpha of the grid (path solutions vs cold solutions, both to tol). "
        "'at the grid's edge': the choice is the first or last alpha of the default grid, "
        "so the best alpha may lie outside it (timings are still like for like).\n\n"
        + table + "\n"
    )
    out = Path(__file__).parent / "results" / ("cv_school_quick.md" if args.quick
                                               else "cv_school.md")
    out.parent.mkdir(exist_ok=True)
    out.write_text(text)
    print()
    print(table)
    print(f"\nwritten to {out} ({elapsed:.0f} s)")


if __name__ == "__main__":
    main()
