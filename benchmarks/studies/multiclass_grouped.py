"""Grouped multiclass data (issue 27 item 1): multi-task softmax models against one
scikit-learn ``LogisticRegression`` per task, on held-out log-loss, and fit times
(ours, one scikit-learn model per task, cvxpy) side by side in one run.

Simulation (seeded): ``T`` tasks, ``K`` classes, ``d`` features of which ``s`` matter in
every task and class (a shared support); the coefficients of task ``t`` and class ``k``
are a shared ``w_k`` plus a task deviation of relative size ``dev``; intercepts 0;
``x ~ N(0, I)``, ``y ~ softmax(x . w_tk)``. ``n_train`` rows per task (every class at
least twice: a task's training rows are redrawn until so), ``n_test`` per task held out.
The rows of each task are sorted by class, so that the round-robin folds of
``TaskStratifiedKFold`` put every class in every training fold (the multiclass models
refuse a task that lacks a class).

Methods, each tuned by 3-fold cross-validation on the training rows:

* per task: ``LogisticRegressionCV(Cs=10, cv=3, scoring="neg_log_loss")`` (multinomial,
  lbfgs) fitted on the task's rows alone;
* ``GroupLassoClassifierCV`` (l2,1 over tasks and classes: the shared support) and
  ``MeanRegularizedClassifierCV`` (each class's coefficients pulled toward their mean
  over tasks), grid of ``n_alphas=8`` (``cv=TaskStratifiedKFold(3)``).

Held-out log-loss: the mean over the test rows of all tasks of ``-log p(y)``.
Fit times at one fixed strength ``alpha``: the group lasso, ours (solver="auto": proximal
Newton) to ``tol=1e-8`` against cvxpy (Clarabel) on the same problem, with the objective
gap; and ridge per task, ``IndependentClassifier`` against one scikit-learn
``LogisticRegression`` per task on the same problem (``C = 1 / (n_t alpha)``), with the
largest coefficient difference. Single-threaded, after an untimed compiling fit.

    python benchmarks/studies/multiclass_grouped.py [--seeds 0 1 2]

Writes ``benchmarks/results/multiclass_grouped.md``.
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

OUT = os.path.join(HERE, "results", "multiclass_grouped.md")
T, K, D, S, DEV = 20, 4, 30, 5, 0.3
N_TRAIN, N_TEST = 40, 300
ALPHA = 0.02


def simulate(seed):
    rng = np.random.default_rng(seed)
    shared = np.zeros((K, D))
    shared[:, :S] = rng.standard_normal((K, S)) * 1.5
    W = shared[None] + DEV * rng.standard_normal((T, K, D)) * (np.abs(shared[None]) > 0)

    def draw(t, n):
        X = rng.standard_normal((n, D))
        Z = X @ W[t].T
        P = np.exp(Z - Z.max(axis=1, keepdims=True))
        P /= P.sum(axis=1, keepdims=True)
        y = (P.cumsum(axis=1) > rng.random((n, 1))).argmax(axis=1)
        return X, y

    tr, te = [], []
    for t in range(T):
        while True:
            X, y = draw(t, N_TRAIN)
            if np.bincount(y, minlength=K).min() >= 2:
                break
        order = np.argsort(y, kind="stable")
        tr.append((X[order], y[order]))
        te.append(draw(t, N_TEST))
    return tr, te


def stack(parts):
    X = np.vstack([np.column_stack([np.full(len(y), t), X]) for t, (X, y) in enumerate(parts)])
    return X, np.concatenate([y for _, y in parts])


def logloss(P, y):
    return float(-np.mean(np.log(np.clip(P[np.arange(len(y)), y], 1e-300, None))))


def per_task_sklearn(tr, te):
    from sklearn.linear_model import LogisticRegressionCV

    t0 = time.perf_counter()
    models = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for X, y in tr:
            models.append(LogisticRegressionCV(Cs=10, cv=3, scoring="neg_log_loss", max_iter=5000).fit(X, y))
    fit = time.perf_counter() - t0
    P = np.vstack([m.predict_proba(X) for m, (X, _) in zip(models, te)])
    return logloss(P, np.concatenate([y for _, y in te])), fit


def ours_cv(Est, tr, te):
    from mtlreg.model_selection import TaskStratifiedKFold

    Xtr, ytr = stack(tr)
    Xte, yte = stack(te)
    t0 = time.perf_counter()
    est = Est(n_alphas=8, cv=TaskStratifiedKFold(3, task_column=0), task_column=0).fit(Xtr, ytr)
    fit = time.perf_counter() - t0
    return logloss(est.predict_proba(Xte), yte), fit, float(est.alpha_)


def fit_times(tr):
    import _cvx_multiclass as ref
    from sklearn.linear_model import LogisticRegression

    from mtlreg import GroupLassoClassifier, IndependentClassifier

    Xtr, ytr = stack(tr)
    t0 = time.perf_counter()
    est = GroupLassoClassifier(alpha=ALPHA, task_column=0, tol=1e-8).fit(Xtr, ytr)
    ours = time.perf_counter() - t0
    # the same problem on both sides: ridge per task, IndependentClassifier's
    # alpha/2 ||w_tk||^2 against scikit-learn's C = 1 / (n_t alpha) (tests/test_multiclass.py)
    t0 = time.perf_counter()
    ridge = IndependentClassifier(alpha=ALPHA, task_column=0, tol=1e-8).fit(Xtr, ytr)
    ours_ridge = time.perf_counter() - t0
    t0 = time.perf_counter()
    sk_models = [LogisticRegression(C=1.0 / (len(y) * ALPHA), tol=1e-8, max_iter=5000).fit(X, y)
                 for X, y in tr]
    sk = time.perf_counter() - t0
    sk_coef = np.stack([m.coef_ for m in sk_models])
    ridge_gap = float(np.max(np.abs(ridge.coef_ - sk_coef)) / np.max(np.abs(sk_coef)))
    bl = ref.blocks(Xtr[:, 1:], ytr, Xtr[:, 0].astype(int))
    t0 = time.perf_counter()
    _, _, value = ref.cvx_solve("gl", bl, alpha=ALPHA)
    cvx = time.perf_counter() - t0
    mine = ref.objective("gl", bl, est.coef_, est.intercept_, alpha=ALPHA)
    return ours, sk, cvx, (mine - value) / abs(value), est.n_iter_, ours_ridge, ridge_gap


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--out", default=OUT)
    args = parser.parse_args()
    # threadpoolctl limits only the libraries loaded when it is called: scikit-learn's
    # compiled losses (OpenMP) and mtlreg first (an unlimited LogisticRegression ran its
    # OpenMP loops on both cores of this loaded machine, as PoissonRegressor did: 0.3-0.4 s
    # for a fit of 3-7 ms)
    import sklearn.linear_model  # noqa: F401
    from sklearn._loss import _loss  # noqa: F401
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1):
        run(args)


def run(args):
    from mtlreg import GroupLassoClassifierCV, MeanRegularizedClassifierCV

    fit_times(simulate(99)[0])  # compile, untimed
    load0 = os.getloadavg()
    commit = git_commit()
    start = datetime.now(timezone.utc).isoformat(timespec="seconds")
    rows, times = [], []
    for seed in args.seeds:
        tr, te = simulate(seed)
        sk = per_task_sklearn(tr, te)
        gl = ours_cv(GroupLassoClassifierCV, tr, te)
        mr = ours_cv(MeanRegularizedClassifierCV, tr, te)
        rows.append((seed, sk, gl, mr))
        times.append((seed, *fit_times(tr)))
        print(rows[-1], times[-1], flush=True)
    load1 = os.getloadavg()
    write(args.out, rows, times, " ".join(["python", *sys.argv]), commit, start, load0, load1)


def write(path, rows, times, command, commit, start, load0, load1):
    info = machine_info()
    v = info["versions"]
    lines = [
        "# Grouped multiclass: multi-task softmax vs one LogisticRegression per task",
        "",
        f"- Command: `{command}`",
        f"- Commit: {commit}; run at {start} (UTC)",
        f"- Machine: {info.get('cpu', '?')}, {info.get('cores_available', '?')} cores, shared; "
        f"load average (1, 5, 15 min) at start {tuple(round(x, 2) for x in load0)}, at end "
        f"{tuple(round(x, 2) for x in load1)}",
        f"- Versions: Python {info['python']}, numpy {v['numpy']}, scipy {v['scipy']}, "
        f"scikit-learn {v['sklearn']}, cvxpy {v['cvxpy']}",
        f"- Data: T={T} tasks, K={K} classes, d={D} features ({S} relevant in every task and "
        f"class), task deviation {DEV}, {N_TRAIN} training and {N_TEST} test rows per task "
        "(see the script's docstring).",
        "",
        "## Held-out log-loss (lower is better) and tuning + fit time",
        "",
        "| seed | per-task LogisticRegressionCV | GroupLassoClassifierCV | "
        "MeanRegularizedClassifierCV |",
        "|---|---|---|---|",
    ]
    for seed, sk, gl, mr in rows:
        lines.append(f"| {seed} | {sk[0]:.4f} ({sk[1]:.2f} s) | {gl[0]:.4f} ({gl[1]:.2f} s, "
                     f"alpha {gl[2]:.3g}) | {mr[0]:.4f} ({mr[1]:.2f} s, alpha {mr[2]:.3g}) |")
    mean = np.mean([[r[1][0], r[2][0], r[3][0]] for r in rows], axis=0)
    lines.append(f"| mean | {mean[0]:.4f} | {mean[1]:.4f} | {mean[2]:.4f} |")
    lines += [
        "",
        f"## Fit time at one strength (alpha={ALPHA}, tol=1e-8)",
        "",
        "| seed | GroupLassoClassifier (Newton iterations) | cvxpy, same group lasso (Clarabel) "
        "| objective ours vs cvxpy (rel.) | IndependentClassifier (ridge) | one LogisticRegression "
        "per task, same ridge (C = 1/(n_t alpha), tol=1e-8) | max coef difference (rel.) |",
        "|---|---|---|---|---|---|---|",
    ]
    for seed, ours, sk, cvx, gap, n_iter, ours_ridge, ridge_gap in times:
        lines.append(f"| {seed} | {ours:.3f} s ({n_iter}) | {cvx:.3f} s | {gap:+.1e} | "
                     f"{ours_ridge:.3f} s | {sk:.3f} s | {ridge_gap:.1e} |")
    lines += ["", "Every fit runs single-threaded (threadpool_limits(1), set after scikit-learn's "
              "compiled losses and mtlreg are loaded: it limits only the libraries already "
              "loaded), after one untimed fit of each kind that compiles the kernels. Single "
              "wall-clock runs on a shared machine (the load above)."]
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
