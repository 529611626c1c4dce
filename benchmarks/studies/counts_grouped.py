"""Grouped counts (issue 27 item 2): multi-task Poisson models against one scikit-learn
``PoissonRegressor`` per task, on held-out mean Poisson deviance, and fit times (ours,
one scikit-learn model per task, cvxpy) side by side in one run.

Simulation (seeded): ``T`` tasks, ``d`` features of which ``s`` matter in every task (a
shared support); the coefficients of task ``t`` are a shared ``w`` plus a task deviation
of relative size ``dev`` on the support; intercepts ``b_t ~ 0.5 + 0.3 N(0, 1)``;
``x ~ N(0, I)``, ``y ~ Poisson(exp(x . w_t + b_t))``. ``n_train`` rows per task,
``n_test`` per task held out. A task whose training counts are all zero is redrawn.

Methods, each tuned by 3-fold cross-validation on the training rows:

* per task: ``GridSearchCV(PoissonRegressor(), alpha in 10 values from 1e-3 to 1,
  cv=3, scoring="neg_mean_poisson_deviance")`` on the task's rows alone;
* ``GroupLassoRegressorCV(loss="poisson")`` (the shared support) and
  ``MeanRegularizedRegressorCV(loss="poisson")`` (task vectors pulled toward their
  mean), ``n_alphas=8``, ``cv=TaskStratifiedKFold(3)``; their test loss is the mean
  Poisson deviance too.

Held-out: the mean Poisson deviance over the test rows of all tasks
(``sklearn.metrics.mean_poisson_deviance``).

Fit times at fixed strengths, ``tol=1e-8`` for ours: (1) the same problem three ways,
independent ridge per task (``IndependentRegressor(alpha=a, loss="poisson")``, objective
``sum_t mean_i [exp(z) - y z] + a/2 ||W||^2``) = one ``PoissonRegressor(alpha=a)`` per
task (lbfgs, ``tol=1e-8``) = cvxpy (Clarabel); (2) the group lasso (``alpha`` = 0.3
times its ``alpha_max``) against cvxpy. The relative objective gap to cvxpy is reported.

Every fit runs single-threaded (``threadpool_limits(1)``: BLAS and OpenMP): on the
shared 2-core machine, with OpenMP threads, one 27 x 30 ``PoissonRegressor`` fit (an earlier d=30 setting) took
1.0 s instead of 0.012 s (load ~6), which would time the contention, not the methods.

    python benchmarks/studies/counts_grouped.py [--seeds 0 1 2]

Writes ``benchmarks/results/counts_grouped.md``.
"""

import argparse
import os
import sys
import time
import warnings
from datetime import datetime, timezone

import numpy as np

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # benchmarks/
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "tests"))

from _common import git_commit, machine_info  # noqa: E402

OUT = os.path.join(HERE, "results", "counts_grouped.md")
T, D, S, DEV = 20, 10, 3, 0.3
N_TRAIN, N_TEST = 40, 300
RIDGE, GL_FRACTION = 0.05, 0.3


def simulate(seed):
    rng = np.random.default_rng(seed)
    w = np.zeros(D)
    w[:S] = 0.4 * rng.standard_normal(S)
    W = w[None] + DEV * np.abs(w[None]) * rng.standard_normal((T, D))
    b = 0.5 + 0.3 * rng.standard_normal(T)

    def draw(t, n):
        X = rng.standard_normal((n, D))
        return X, rng.poisson(np.exp(X @ W[t] + b[t])).astype(float)

    tr, te = [], []
    for t in range(T):
        while True:
            X, y = draw(t, N_TRAIN)
            if y.sum() > 0:
                break
        tr.append((X, y))
        te.append(draw(t, N_TEST))
    return tr, te


def stack(parts):
    X = np.vstack([np.column_stack([np.full(len(y), t), X]) for t, (X, y) in enumerate(parts)])
    return X, np.concatenate([y for _, y in parts])


def deviance(y, mu):
    from sklearn.metrics import mean_poisson_deviance

    return float(mean_poisson_deviance(y, mu))


def per_task_sklearn(tr, te):
    from sklearn.linear_model import PoissonRegressor
    from sklearn.model_selection import GridSearchCV

    t0 = time.perf_counter()
    models = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for X, y in tr:
            search = GridSearchCV(PoissonRegressor(max_iter=1000),
                                  {"alpha": np.geomspace(1e-3, 1.0, 10)}, cv=3,
                                  scoring="neg_mean_poisson_deviance")
            models.append(search.fit(X, y))
    fit = time.perf_counter() - t0
    mu = np.concatenate([m.predict(X) for m, (X, _) in zip(models, te)])
    return deviance(np.concatenate([y for _, y in te]), mu), fit


def ours_cv(Est, tr, te):
    from mtlreg.model_selection import TaskStratifiedKFold

    Xtr, ytr = stack(tr)
    Xte, yte = stack(te)
    t0 = time.perf_counter()
    est = Est(loss="poisson", n_alphas=8, cv=TaskStratifiedKFold(3, task_column=0),
              task_column=0).fit(Xtr, ytr)
    fit = time.perf_counter() - t0
    return deviance(yte, est.predict(Xte)), fit, float(est.alpha_)


def fit_times(tr):
    from _cvx_family import Spec, cvx_solve, make_blocks, objective
    from sklearn.linear_model import PoissonRegressor

    from mtlreg import GroupLassoRegressor, IndependentRegressor

    Xtr, ytr = stack(tr)
    blocks = make_blocks(Xtr[:, 1:], ytr, task_ids=Xtr[:, 0])
    out = {}
    # (1) independent ridge: ours, one PoissonRegressor per task, cvxpy
    t0 = time.perf_counter()
    est = IndependentRegressor(alpha=RIDGE, loss="poisson", task_column=0, tol=1e-8).fit(Xtr, ytr)
    ours = time.perf_counter() - t0
    t0 = time.perf_counter()
    sk = [PoissonRegressor(alpha=RIDGE, tol=1e-8, max_iter=10_000).fit(X, y) for X, y in tr]
    sk_time = time.perf_counter() - t0
    spec = Spec("ind_l2", RIDGE)
    t0 = time.perf_counter()
    ref = cvx_solve(spec, blocks, "poisson")
    cvx = time.perf_counter() - t0
    mine = objective(spec, blocks, est.coef_.T, est.intercept_, "poisson")
    theirs = objective(spec, blocks, np.column_stack([m.coef_ for m in sk]),
                       np.array([m.intercept_ for m in sk]), "poisson")
    out["ridge"] = (ours, est.n_iter_, sk_time, cvx, (mine - ref["value"]) / abs(ref["value"]),
                    (theirs - ref["value"]) / abs(ref["value"]))
    # (2) the group lasso: ours and cvxpy
    est = GroupLassoRegressor(loss="poisson", task_column=0, tol=1e-8)
    alpha = GL_FRACTION * est.compute_alpha_max(Xtr, ytr)
    t0 = time.perf_counter()
    est.set_params(alpha=alpha).fit(Xtr, ytr)
    ours = time.perf_counter() - t0
    spec = Spec("group_lasso", alpha)
    t0 = time.perf_counter()
    ref = cvx_solve(spec, blocks, "poisson")
    cvx = time.perf_counter() - t0
    mine = objective(spec, blocks, est.coef_.T, est.intercept_, "poisson")
    out["gl"] = (ours, est.n_iter_, cvx, (mine - ref["value"]) / abs(ref["value"]),
                 int(np.sum(np.any(est.coef_ != 0, axis=0))), alpha)
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--out", default=OUT)
    args = parser.parse_args()
    # threadpoolctl limits only the libraries loaded when it is called: import scikit-learn's
    # compiled losses (its OpenMP runtime) and mtlreg first, or PoissonRegressor runs its
    # OpenMP loops on every core (one 40 x 10 fit: 0.28-0.42 s instead of 3-7 ms on this
    # loaded 2-core machine)
    import sklearn.linear_model  # noqa: F401
    from sklearn._loss import _loss  # noqa: F401
    from threadpoolctl import threadpool_limits

    import mtlreg  # noqa: F401

    with threadpool_limits(1):
        run(args)


def run(args):
    from mtlreg import GroupLassoRegressorCV, MeanRegularizedRegressorCV

    # compile the kernels once, untimed
    GroupLassoRegressorCV(loss="poisson", n_alphas=2, cv=2, task_column=0).fit(
        *stack(simulate(99)[0]))
    load0 = os.getloadavg()
    commit = git_commit()
    start = datetime.now(timezone.utc).isoformat(timespec="seconds")
    rows, times = [], []
    for seed in args.seeds:
        tr, te = simulate(seed)
        sk = per_task_sklearn(tr, te)
        gl = ours_cv(GroupLassoRegressorCV, tr, te)
        mr = ours_cv(MeanRegularizedRegressorCV, tr, te)
        rows.append((seed, sk, gl, mr))
        times.append((seed, fit_times(tr)))
        print(rows[-1], times[-1], flush=True)
    load1 = os.getloadavg()
    write(args.out, rows, times, " ".join(["python", *sys.argv]), commit, start, load0, load1)


def write(path, rows, times, command, commit, start, load0, load1):
    info = machine_info()
    v = info["versions"]
    lines = [
        "# Grouped counts: multi-task Poisson vs one PoissonRegressor per task",
        "",
        f"- Command: `{command}`",
        f"- Commit: {commit}; run at {start} (UTC)",
        f"- Machine: {info.get('cpu', '?')}, {info.get('cores_available', '?')} cores, shared; "
        f"load average (1, 5, 15 min) at start {tuple(round(x, 2) for x in load0)}, at end "
        f"{tuple(round(x, 2) for x in load1)}",
        f"- Versions: Python {info['python']}, numpy {v['numpy']}, scipy {v['scipy']}, "
        f"scikit-learn {v['sklearn']}, cvxpy {v['cvxpy']}",
        f"- Data: T={T} tasks, d={D} features ({S} relevant in every task), task deviation "
        f"{DEV}, {N_TRAIN} training and {N_TEST} test rows per task (see the script's "
        "docstring).",
        "",
        "## Held-out mean Poisson deviance (lower is better) and tuning + fit time",
        "",
        "| seed | per-task PoissonRegressor (GridSearchCV) | GroupLassoRegressorCV | "
        "MeanRegularizedRegressorCV |",
        "|---|---|---|---|",
    ]
    for seed, sk, gl, mr in rows:
        lines.append(f"| {seed} | {sk[0]:.4f} ({sk[1]:.2f} s) | {gl[0]:.4f} ({gl[1]:.2f} s, "
                     f"alpha {gl[2]:.3g}) | {mr[0]:.4f} ({mr[1]:.2f} s, alpha {mr[2]:.3g}) |")
    mean = np.mean([[r[1][0], r[2][0], r[3][0]] for r in rows], axis=0)
    lines.append(f"| mean | {mean[0]:.4f} | {mean[1]:.4f} | {mean[2]:.4f} |")
    lines += [
        "",
        f"## Fit time, the same problem: independent ridge per task (alpha={RIDGE})",
        "",
        "| seed | IndependentRegressor(loss='poisson') (Newton iterations) | one "
        "PoissonRegressor per task (lbfgs, tol=1e-8) | cvxpy (Clarabel) | ours vs cvxpy "
        "(rel. objective) | scikit-learn vs cvxpy |",
        "|---|---|---|---|---|---|",
    ]
    for seed, t in times:
        ours, n_iter, sk, cvx, gap, sk_gap = t["ridge"]
        lines.append(f"| {seed} | {ours:.3f} s ({n_iter}) | {sk:.3f} s | {cvx:.3f} s | "
                     f"{gap:+.1e} | {sk_gap:+.1e} |")
    lines += [
        "",
        f"## Fit time: group lasso (alpha = {GL_FRACTION} alpha_max), ours vs cvxpy",
        "",
        "| seed | alpha | GroupLassoRegressor(loss='poisson') (Newton iterations) | cvxpy "
        "(Clarabel) | ours vs cvxpy (rel. objective) | features kept |",
        "|---|---|---|---|---|---|",
    ]
    for seed, t in times:
        ours, n_iter, cvx, gap, kept, alpha = t["gl"]
        lines.append(f"| {seed} | {alpha:.3g} | {ours:.3f} s ({n_iter}) | {cvx:.3f} s | "
                     f"{gap:+.1e} | {kept} of {D} |")
    lines += ["", "Times are single wall-clock runs on a shared machine (the load above), "
              "single-threaded (threadpool_limits(1)), after one untimed fit that compiles "
              "the kernels."]
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
