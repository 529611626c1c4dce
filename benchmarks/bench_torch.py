"""Benchmark of the torch bridge; writes ``benchmarks/results/torch.md``.

Two parts (``--part large``, ``--part school`` or ``--part all``, the default):

* **large**: a synthetic per-task problem with 1,000,000 rows, 100 tasks and 20
  features (a nonlinear function shared by the tasks, scaled per task). Time per
  epoch and time to fit of ``MultiTaskMLPRegressor`` (hard sharing) on the CPU,
  setup (validation, copies to tensors, the network) apart; and the linear group
  lasso on the same rows, fitted by the numba solvers and by ``TorchFISTA`` on CPU
  tensors (time to fit, same ``tol``, and the gap between the two solutions).
  A GPU column is measured only where ``torch.cuda.is_available()``.
* **school**: the demo's protocol (``mtlreg/demo.py``: a 75/25 split inside every
  school, features standardised on the training part, parameters chosen by 3-fold
  ``GridSearchCV`` stratified by school on the training part), networks next to
  independent ridge and the mean-regularized model; test explained variance.

Every number in the output was measured by this script in the run that wrote it.
"""

import argparse
import os
import platform
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import torch
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import explained_variance_score, mean_squared_error
from sklearn.model_selection import GridSearchCV, StratifiedKFold, train_test_split

from mtlreg import GroupLassoRegressor, IndependentRegressor, MeanRegularizedRegressor
from mtlreg.datasets import load_school
from mtlreg.demo import _scaled
from mtlreg.torch import MultiTaskMLPRegressor, TorchFISTA

OUT = Path(__file__).parent / "results" / "torch.md"


def machine():
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if "model name" in line)
    except (OSError, StopIteration):
        pass
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True, cwd=Path(__file__).parent).stdout.strip()
    dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                           capture_output=True, text=True, cwd=Path(__file__).parent).stdout
    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "none"
    return (f"commit {commit}{' (+ uncommitted changes)' if dirty.strip() else ''}; "
            f"{cpu}, {os.cpu_count()} cores, torch {torch.__version__} with "
            f"{torch.get_num_threads()} intra-op threads; GPU: {gpu}; Python "
            f"{platform.python_version()}; load average before the run "
            f"{', '.join(f'{x:.1f}' for x in os.getloadavg())}")


def large_problem(n=1_000_000, T=100, d=20, seed=0):
    rng = np.random.default_rng(seed)
    task = rng.integers(0, T, n)
    F = rng.standard_normal((n, d)).astype(np.float64)
    scale = 1 + 0.3 * rng.standard_normal(T)
    y = scale[task] * (np.sin(F[:, 0]) + 0.5 * F[:, 1] * F[:, 2] + 0.3 * F[:, 3]) \
        + 0.5 * rng.standard_normal(n)
    return np.column_stack([task, F]), y


def bench_large(epochs, devices):
    X, y = large_problem()
    # one-time costs of a process (torch.optim's first step imports torch._dynamo, ~8 s
    # here) are paid by a small fit first, so that "setup" is the fit's own
    MultiTaskMLPRegressor(max_iter=1, task_column=0, device="cpu").fit(X[:500], y[:500])
    lines = [f"## Large problem: {X.shape[0]:,} rows, 100 tasks, 20 features (per-task layout)",
             "", "`MultiTaskMLPRegressor('hard', hidden_layer_sizes=(64, 64), batch_size=4096, "
             f"max_iter={epochs})`, no early stopping. Time to fit = the whole `fit` call; "
             "setup = `fit` minus the epochs (input validation, target scaling, copies to "
             "tensors, building the network).", "",
             "| device | epochs | time per epoch (s, median) | time to fit (s) | setup (s) | "
             "final training loss |", "|---|---|---|---|---|---|"]
    for device in devices:
        model = MultiTaskMLPRegressor("hard", hidden_layer_sizes=(64, 64), batch_size=4096,
                                      max_iter=epochs, learning_rate_init=3e-3,
                                      random_state=0, device=device, task_column=0,
                                      n_threads=None)  # --threads, or torch's choice
        start = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            model.fit(X, y)
        total = time.perf_counter() - start
        per_epoch = model._history["epoch_seconds"]
        lines.append(f"| {device} | {len(per_epoch)} | {np.median(per_epoch):.2f} | "
                     f"{total:.2f} | {total - sum(per_epoch):.2f} | {model.loss_:.4f} |")
        print(lines[-1], flush=True)

    lines += ["", "Linear group lasso (`alpha=0.01`, `tol=1e-4`) on the same rows: the "
              "numba path (`solver='auto'`) against `TorchFISTA` on the same problem.", "",
              "| solver | time to fit (s) | iterations | max abs coef difference to numba |",
              "|---|---|---|---|"]
    GroupLassoRegressor(alpha=0.01, task_column=0).fit(X[:2000], y[:2000])  # compile
    start = time.perf_counter()
    ref = GroupLassoRegressor(alpha=0.01, task_column=0, tol=1e-4).fit(X, y)
    lines.append(f"| numba (`auto`) | {time.perf_counter() - start:.2f} | {ref.n_iter_} | 0 |")
    print(lines[-1], flush=True)
    for device in devices:
        start = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            tor = GroupLassoRegressor(alpha=0.01, task_column=0, tol=1e-4, max_iter=3000,
                                      solver=TorchFISTA(device=device)).fit(X, y)
        gap = np.abs(tor.coef_ - ref.coef_).max()
        lines.append(f"| TorchFISTA ({device}, float64) | {time.perf_counter() - start:.2f} | "
                     f"{tor.n_iter_} | {gap:.2e} |")
        print(lines[-1], flush=True)
    return lines


def school_models():
    common = dict(task_column=0, device="cpu", random_state=0, early_stopping=True,
                  max_iter=150, n_iter_no_change=10, batch_size=128,
                  n_threads=None)  # --threads, or torch's choice
    lin = dict(task_column=0, tol=1e-4, max_iter=5000)
    return {
        "independent ridge per task": (
            _scaled(IndependentRegressor(penalty="l2", **lin)),
            {"model__alpha": np.logspace(-3, 1, 9)}),
        "mean-regularized (linear)": (
            _scaled(MeanRegularizedRegressor(**lin)),
            {"model__alpha": np.logspace(-2, 2, 5), "model__l2_reg": [1e-3, 1e-2, 1e-1]}),
        "MLP hard sharing": (
            _scaled(MultiTaskMLPRegressor("hard", hidden_layer_sizes=(32,), **common)),
            {"model__alpha": [1e-3, 1e-1]}),
        "MLP soft sharing": (
            _scaled(MultiTaskMLPRegressor("soft", hidden_layer_sizes=(16,), **common)),
            {"model__architecture_options": [{"reg": 1.0}, {"reg": 100.0}]}),
        "MLP MMoE": (
            _scaled(MultiTaskMLPRegressor("mmoe", hidden_layer_sizes=(32,), **common)),
            {"model__alpha": [1e-3, 1e-1]}),
    }


def bench_school(seed=0):
    data = load_school()
    X, y, task = data.data, data.target, data.task
    X_tr, X_te, y_tr, y_te, t_tr, _ = train_test_split(
        X, y, task, test_size=0.25, stratify=task, random_state=seed)
    folds = list(StratifiedKFold(3, shuffle=True, random_state=seed).split(X_tr, t_tr))
    lines = ["## School, the demo's protocol", "",
             f"One split (seed {seed}): 75/25 inside every school, features standardised on "
             "the training part, parameters by 3-fold `GridSearchCV` (folds stratified by "
             "school, MSE) on the training part; networks with `early_stopping=True` (10% of "
             "the training rows held out inside each fit), `max_iter=150`, `batch_size=128`, "
             "`random_state=0`, CPU.", "",
             "| model | test explained variance | test RMSE | chosen parameters | "
             "search + refit time (s) |", "|---|---|---|---|---|"]
    for name, (pipe, grid) in school_models().items():
        search = GridSearchCV(pipe, grid, cv=folds, scoring="neg_mean_squared_error")
        start = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            search.fit(X_tr, y_tr)
        elapsed = time.perf_counter() - start
        pred = search.predict(X_te)
        chosen = ", ".join(f"{k.split('__', 1)[1]}={v}" for k, v in search.best_params_.items())
        lines.append(f"| {name} | {explained_variance_score(y_te, pred):.3f} | "
                     f"{np.sqrt(mean_squared_error(y_te, pred)):.3f} | {chosen} | {elapsed:.1f} |")
        print(lines[-1], flush=True)
    return lines


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", choices=["large", "school", "all"], default="all")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--threads", type=int, default=None,
                        help="torch intra-op threads (default: torch's choice)")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    header = ["# Torch bridge benchmark", "",
              f"Command: `python benchmarks/bench_torch.py {' '.join(sys.argv[1:])}`".rstrip(),
              "", f"Machine: {machine()}.", ""]
    if not torch.cuda.is_available():
        header += ["No GPU on this machine: no GPU figure is reported.", ""]
    body = []
    if args.part in ("large", "all"):
        body += bench_large(args.epochs, devices) + [""]
    if args.part in ("school", "all"):
        body += bench_school() + [""]
    OUT.write_text("\n".join(header + body))
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
