"""Demo: fit the multi-task models on the bundled School data and print a table.

Run with ``python -m mtlreg.demo`` (``--seeds 3`` to average over splits).

Protocol: a 75% / 25% split inside every school (stratified by task), features
standardised on the training part (the task column passed through), alpha chosen
by ``GridSearchCV`` (3 folds stratified by school) on the training part, scores on
the held-out part: explained variance and RMSE, pooled over all test students.

After the table, two small fits compile (once; numba caches them on disk) the kernels
that the README's next examples use and the School fits above do not: a shared design
with missing labels (block coordinate descent) and a task column in a pandas DataFrame
(whose features are copied in C order: another signature of the per-task kernels).
A user's next fits then start without compiling (``tests/test_demo_warm.py``).
"""

import argparse
import time

import numpy as np
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import Ridge
from sklearn.metrics import explained_variance_score, mean_squared_error
from sklearn.model_selection import GridSearchCV, StratifiedKFold, train_test_split
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from . import (
    DirtyRegressor,
    GroupLassoRegressor,
    IndependentRegressor,
    MeanRegularizedRegressor,
    SparseGroupLassoRegressor,
    TraceNormRegressor,
)
from .datasets import load_school, make_multitask_regression


def _scaled(model):
    """Standardise the features, pass the task column (0) through unchanged."""
    return Pipeline([
        ("scale", ColumnTransformer([("task", "passthrough", [0])],
                                    remainder=StandardScaler())),
        ("model", model),
    ])


def _drop_task_column():
    return ColumnTransformer([("drop_task", "drop", [0])], remainder=StandardScaler())


def models():
    """name -> (pipeline, grid over its parameters), on standardised features."""
    grid = np.logspace(-1.5, 1.5, 7)
    common = dict(task_column=0, tol=1e-4, max_iter=5000)
    return {
        "pooled ridge (sklearn Ridge, tasks ignored)": (
            Pipeline([("scale", _drop_task_column()), ("model", Ridge())]),
            {"model__alpha": np.logspace(-2, 3, 6)},
        ),
        "independent ridge per task": (
            _scaled(IndependentRegressor(penalty="l2", **common)),
            {"model__alpha": np.logspace(-3, 1, 9)},
        ),
        "mean-regularized": (
            _scaled(MeanRegularizedRegressor(**common)),
            {"model__alpha": np.logspace(-2, 2, 5), "model__l2_reg": [1e-3, 1e-2, 1e-1]},
        ),
        "group lasso l2,1": (_scaled(GroupLassoRegressor(**common)), {"model__alpha": grid}),
        "sparse group lasso": (
            _scaled(SparseGroupLassoRegressor(**common)),
            {"model__alpha": np.logspace(-2, 1.5, 5), "model__l1_ratio": [0.2, 0.8]},
        ),
        "trace norm": (_scaled(TraceNormRegressor(**common)), {"model__alpha": grid}),
        "dirty l1,inf + l1": (
            _scaled(DirtyRegressor(**common)),
            {"model__alpha": np.logspace(1, 2.5, 3), "model__beta": np.logspace(-0.5, 0.5, 3)},
        ),
    }


def warm_up():
    """Fit two small models whose kernels the School fits of :func:`run` do not compile:
    what the README's next examples (a shared design with missing labels, School as a
    DataFrame) would otherwise compile on their first fit."""
    X, Y = make_multitask_regression(n_samples=60, n_features=30, n_tasks=5, random_state=0)
    Y[:4, 0] = np.nan
    GroupLassoRegressor(alpha=0.1).fit(X, Y)  # BCD: n_features + 1 > 4 n_tasks
    try:  # a DataFrame's features are copied in C order: another signature of the kernels
        import pandas as pd
    except ImportError:  # without pandas a user cannot fit one either
        return
    frame = pd.DataFrame(X[:40, :5], columns=[f"x{j}" for j in range(5)])
    frame.insert(0, "task", np.repeat(np.arange(4), 10))
    GroupLassoRegressor(alpha=0.1, task_column="task").fit(frame, Y[:40, 1])


def run(seeds=(0,), n_jobs=1, verbose=True, warm=True):
    """Fit every model of :func:`models` on School and print the table; ``warm``: then
    :func:`warm_up` (two small fits; on a first run, it compiles their kernels)."""
    data = load_school()
    X, y, task = data.data, data.target, data.task
    rows = []
    for name, (pipe, grid) in models().items():
        ev, rmse, fit_s, chosen = [], [], [], []
        for seed in seeds:
            X_tr, X_te, y_tr, y_te, t_tr, _ = train_test_split(
                X, y, task, test_size=0.25, stratify=task, random_state=seed
            )
            folds = list(StratifiedKFold(3, shuffle=True, random_state=seed).split(X_tr, t_tr))
            search = GridSearchCV(pipe, grid, cv=folds, scoring="neg_mean_squared_error",
                                  n_jobs=n_jobs)
            start = time.perf_counter()
            search.fit(X_tr, y_tr)
            fit_s.append(time.perf_counter() - start)
            pred = search.predict(X_te)
            ev.append(explained_variance_score(y_te, pred))
            rmse.append(np.sqrt(mean_squared_error(y_te, pred)))
            chosen.append(search.best_params_)
        rows.append((name, np.mean(ev), np.std(ev), np.mean(rmse), np.std(rmse),
                     chosen, np.mean(fit_s), len(y_tr), len(y_te)))
    if verbose:
        print(format_table(rows, len(seeds)), flush=True)
    if warm:
        warm_up()
    return rows


def format_table(rows, n_seeds):
    head = ("| model | test explained variance | test RMSE | chosen parameters | "
            "search + refit time (s) | rows kept (train / test) |")
    lines = [f"School data: 15362 students, 139 schools; {n_seeds} split(s), mean"
             + (" +- std" if n_seeds > 1 else ""), "", head, "|" + "---|" * 6]
    for name, ev, ev_sd, rmse, rmse_sd, chosen, fit_s, n_tr, n_te in rows:
        sd = (lambda v: f" +- {v:.3f}") if n_seeds > 1 else (lambda v: "")
        alpha = _most_chosen(chosen)
        lines.append(f"| {name} | {ev:.3f}{sd(ev_sd)} | {rmse:.3f}{sd(rmse_sd)} | {alpha} | "
                     f"{fit_s:.2f} | {n_tr} / {n_te} |")
    return "\n".join(lines)


def _most_chosen(chosen):
    """The most frequent choice over the splits, with its count when there are several."""
    labels = [", ".join(f"{k.split('__')[1]}={v:.3g}" for k, v in c.items()) for c in chosen]
    best = max(set(labels), key=labels.count)
    return best if len(labels) == 1 else f"{best} ({labels.count(best)}/{len(labels)})"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=1, help="number of random splits")
    parser.add_argument("--n-jobs", type=int, default=1, help="parallel jobs of GridSearchCV")
    args = parser.parse_args(argv)
    run(seeds=tuple(range(args.seeds)), n_jobs=args.n_jobs)


if __name__ == "__main__":
    main()
