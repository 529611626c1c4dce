"""School, per-task layout: every formulation next to the independent baselines.

Protocol (issues 3 and 11): 75% / 25% split inside every school; on the training
part, ``GridSearchCV`` (3 folds stratified by school) chooses the parameters of
every model AND its preprocessing -- raw features or features standardised on the
training folds -- so that no model, the baselines included, is handicapped by
one choice of scaling (independent ridge does better on raw School features);
test explained variance and RMSE pooled over the test students. The gain of every
model over the strongest baseline (the better of pooled and independent ridge by
mean explained variance) is reported per split (paired), mean +- std.

    python benchmarks/school_family.py --seeds 10          # the full run (long)
    python benchmarks/school_family.py --seeds 1 --quick   # a few minutes
    python benchmarks/school_family.py --models "trace norm" "sparse + trace norm"

``--quick`` keeps the middle of every parameter grid (the preprocessing choice is
always searched). Writes benchmarks/results/school_family.md (or ``--out``) with the
git commit, the command, and wall and CPU time per model.
"""

import argparse
import os
import platform
import resource
import shlex
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import Ridge
from sklearn.metrics import explained_variance_score, mean_squared_error
from sklearn.model_selection import GridSearchCV, StratifiedKFold, train_test_split
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

import mtlreg
from mtlreg.datasets import load_school

BASELINES = ("pooled ridge (sklearn Ridge, tasks ignored)", "independent ridge per task")


def _keep_task(scale):
    """Task column (0) passed through; the features standardised or raw."""
    return ColumnTransformer([("task", "passthrough", [0])],
                             remainder=StandardScaler() if scale else "passthrough")


def _drop_task(scale):
    return ColumnTransformer([("drop_task", "drop", [0])],
                             remainder=StandardScaler() if scale else "passthrough")


def models():
    """name -> (model, its parameter grid, whether it sees the task column)."""
    c = dict(task_column=0, tol=1e-4, max_iter=5000)
    grid = np.logspace(-1.5, 1.5, 7)
    return {
        BASELINES[0]: (Ridge(), {"alpha": np.logspace(-2, 3, 6)}, False),
        BASELINES[1]: (mtlreg.IndependentRegressor(penalty="l2", **c),
                       {"alpha": np.logspace(-3, 1, 9)}, True),
        "mean-regularized": (mtlreg.MeanRegularizedRegressor(**c),
                             {"alpha": np.logspace(-2, 2, 5), "l2_reg": [1e-3, 1e-2, 1e-1]},
                             True),
        "group lasso l2,1": (mtlreg.GroupLassoRegressor(**c), {"alpha": grid}, True),
        "sparse group lasso": (mtlreg.SparseGroupLassoRegressor(**c),
                               {"alpha": np.logspace(-2, 1.5, 5), "l1_ratio": [0.2, 0.8]},
                               True),
        "trace norm": (mtlreg.TraceNormRegressor(**c), {"alpha": grid}, True),
        "dirty l1,inf + l1": (mtlreg.DirtyRegressor(**c),
                              {"alpha": np.logspace(1, 2.5, 3),
                               "beta": np.logspace(-0.5, 0.5, 3)}, True),
        # task relations (issue 11). School has no time order: the temporal models
        # (TGL, fused) do not apply; the graph model gets the complete graph plus l1.
        "graph (complete) + l1": (mtlreg.GraphRegularizedRegressor(graph="complete", **c),
                                  {"rho": [3.0, 10.0, 30.0], "alpha": [0.01, 0.1]}, True),
        "robust MTL (trace + outlier tasks)": (
            mtlreg.RobustMultiTaskRegressor(**c),
            {"alpha": [3.0, 10.0, 30.0], "beta": [10.0, 30.0]}, True),
        "robust feature learning (rMTFL)": (
            mtlreg.RobustFeatureLearningRegressor(**c),
            {"alpha": [3.0, 10.0, 30.0], "beta": [10.0, 30.0]}, True),
        "clustered (CMTL, k=3)": (mtlreg.ClusteredRegressor(n_clusters=3, **c),
                                  {"alpha": [0.1, 0.3, 1.0], "eta": [0.1, 1.0]}, True),
        "sparse + trace norm": (mtlreg.SparseTraceNormRegressor(**c),
                                {"alpha": [3.0, 10.0, 30.0], "l1_ratio": [0.1, 0.3]}, True),
    }


def _middle(values):
    values = list(values)
    return [values[len(values) // 2]]


def _search(model, grid, sees_task, quick):
    prep = _keep_task if sees_task else _drop_task
    pipe = Pipeline([("prep", prep(True)), ("model", model)])
    full = {f"model__{k}": (_middle(v) if quick else list(v)) for k, v in grid.items()}
    full["prep"] = [prep(False), prep(True)]
    return pipe, full


def _cpu():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def run(seeds, names=None, quick=False, n_jobs=1):
    data = load_school()
    X, y, task = data.data, data.target, data.task
    rows = {}
    for name, (model, grid, sees_task) in models().items():
        if names and name not in names and name not in BASELINES:
            continue
        ev, rmse, wall, cpu, chosen = [], [], [], [], []
        for seed in seeds:
            X_tr, X_te, y_tr, y_te, t_tr, _ = train_test_split(
                X, y, task, test_size=0.25, stratify=task, random_state=seed)
            folds = list(StratifiedKFold(3, shuffle=True, random_state=seed).split(X_tr, t_tr))
            pipe, full = _search(model, grid, sees_task, quick)
            search = GridSearchCV(pipe, full, cv=folds, scoring="neg_mean_squared_error",
                                  n_jobs=n_jobs)
            t0, c0 = time.perf_counter(), _cpu()
            search.fit(X_tr, y_tr)
            wall.append(time.perf_counter() - t0)
            cpu.append(_cpu() - c0)
            pred = search.predict(X_te)
            ev.append(explained_variance_score(y_te, pred))
            rmse.append(np.sqrt(mean_squared_error(y_te, pred)))
            chosen.append(_label(search.best_params_))
        rows[name] = dict(ev=np.array(ev), rmse=np.array(rmse), wall=np.mean(wall),
                          cpu=np.mean(cpu), chosen=chosen, n=(len(y_tr), len(y_te)))
        print(f"{name}: EV {np.mean(ev):.4f}  ({np.mean(wall):.1f} s wall, "
              f"{np.mean(cpu):.1f} s CPU per split)", flush=True)
    return rows


def _label(params):
    out = []
    for k, v in params.items():
        if k == "prep":
            out.append("standardised" if "StandardScaler" in repr(v) else "raw")
        else:
            out.append(f"{k.split('__')[1]}={v:.3g}")
    return ", ".join(out)


def format_table(rows, n_seeds):
    strongest = max(BASELINES, key=lambda b: rows[b]["ev"].mean())
    base = rows[strongest]["ev"]
    sd = (lambda v: f" +- {v:.3f}") if n_seeds > 1 else (lambda v: "")
    lines = [f"School data: 15362 students, 139 schools; {n_seeds} split(s), mean"
             + (" +- std" if n_seeds > 1 else "") + f". Strongest baseline: {strongest}.",
             "", "| model | test explained variance | gain over strongest baseline "
             "(EV points, paired) | test RMSE | chosen (preprocessing, parameters) | "
             "search + refit wall / CPU (s) | rows (train / test) |", "|" + "---|" * 7]
    for name, r in rows.items():
        gain = r["ev"] - base
        labels = r["chosen"]
        best = max(set(labels), key=labels.count)
        chosen = best if len(labels) == 1 else f"{best} ({labels.count(best)}/{len(labels)})"
        lines.append(
            f"| {name} | {r['ev'].mean():.3f}{sd(r['ev'].std())} | "
            f"{100 * gain.mean():+.2f}{sd(100 * gain.std()) if n_seeds > 1 else ''} | "
            f"{r['rmse'].mean():.3f}{sd(r['rmse'].std())} | {chosen} | "
            f"{r['wall']:.1f} / {r['cpu']:.1f} | {r['n'][0]} / {r['n'][1]} |")
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--quick", action="store_true",
                        help="middle value of every parameter grid (preprocessing searched)")
    parser.add_argument("--models", nargs="*", default=None,
                        help="model names to run (the two baselines always run)")
    parser.add_argument("--n-jobs", type=int, default=1)
    parser.add_argument("--out", default=None)
    args = parser.parse_args()
    start, c0, load0 = time.perf_counter(), _cpu(), os.getloadavg()
    rows = run(tuple(range(args.seeds)), args.models, args.quick, args.n_jobs)
    table = format_table(rows, args.seeds)
    elapsed, cpu = time.perf_counter() - start, _cpu() - c0
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                                text=True, cwd=Path(__file__).parent).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True,
                               cwd=Path(__file__).parent).stdout.strip()
        commit += " (with uncommitted changes)" if dirty else ""
    except OSError:
        commit = "unknown"
    out = Path(args.out) if args.out else Path(__file__).parent / "results" / "school_family.md"
    out.parent.mkdir(exist_ok=True)
    out.write_text(
        "# School: the MTL family against independent baselines\n\n"
        f"Commit {commit}. Command: `python {shlex.join(sys.argv)}` "
        f"({platform.processor() or platform.machine()}; {elapsed:.0f} s wall, "
        f"{cpu:.0f} s CPU in all; load average (1 / 5 / 15 min) at start "
        f"{' / '.join(f'{x:.2f}' for x in load0)}, at end "
        f"{' / '.join(f'{x:.2f}' for x in os.getloadavg())}: the machine is shared).\n\n"
        "Every model chooses raw or standardised features, with its parameters, by "
        "3-fold CV on the training part (column 'chosen'). Times are per split.\n\n"
        + table + "\n")
    print(table)
    print(f"\nwritten to {out} ({elapsed:.0f} s)")


if __name__ == "__main__":
    main()
