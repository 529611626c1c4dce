"""Fit time of MultiTaskMLPRegressor on School by torch's intra-op thread count;
writes ``benchmarks/results/torch_threads.md`` (issue 26 item 9).

School (15362 rows, 139 tasks, 28 standardised features, per-task layout), the
estimator at its defaults (hard sharing, one hidden layer of 64, batch 256) but for a
fixed number of epochs (``tol=0``, ``max_iter=--epochs``) so that every run does the
same work. Each setting of ``n_threads`` (1, the estimator's default; 2; ``None``,
torch's own thread count, one per core) is timed ``--repeat`` times, the settings
interleaved (so that a change of the machine's load hits them alike), and the median
wall and process CPU time are reported. The machine's load (``os.getloadavg``, ``uptime``) is recorded before and
after: on a shared machine, other processes take cores, and threads that spin-wait
for a busy core are what this measures.

    python benchmarks/bench_torch_threads.py [--epochs 10] [--repeat 3]
"""

import argparse
import os
import platform
import statistics
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import torch
from sklearn.exceptions import ConvergenceWarning
from sklearn.preprocessing import StandardScaler

from mtlreg.datasets import load_school
from mtlreg.torch import MultiTaskMLPRegressor

OUT = Path(__file__).parent / "results" / "torch_threads.md"


def _git(*args):
    return subprocess.run(["git", *args], capture_output=True, text=True,
                          cwd=Path(__file__).parent).stdout.strip()


def _uptime():
    try:
        return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    except OSError:
        return "load average " + ", ".join(f"{x:.2f}" for x in os.getloadavg())


def school():
    X, y = load_school(return_X_y=True)
    return np.column_stack([X[:, 0], StandardScaler().fit_transform(X[:, 1:])]), y


def fit_seconds(X, y, n_threads, epochs, architecture):
    model = MultiTaskMLPRegressor(architecture, task_column=0, max_iter=epochs, tol=0.0,
                                  random_state=0, device="cpu", n_threads=n_threads)
    wall, cpu = time.perf_counter(), time.process_time()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X, y)
    return time.perf_counter() - wall, time.process_time() - cpu, model.loss_


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--architectures", nargs="+", default=["hard", "mmoe"])
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    cli = sys.argv[1:] if argv is None else list(argv)

    default = torch.get_num_threads()
    counts = [1, *([2] if default not in (1, 2) else []), None]  # None: torch's default
    X, y = school()
    started = time.perf_counter()
    load_before, uptime_before = os.getloadavg(), _uptime()
    fit_seconds(X[:2000], y[:2000], 1, 1, "hard")  # warm-up (imports, allocator)
    results = {}
    for arch in args.architectures:
        for r in range(args.repeat):
            order = counts if r % 2 == 0 else counts[::-1]
            for n in order:
                results.setdefault((arch, n), []).append(fit_seconds(X, y, n, args.epochs, arch))
                print(arch, f"n_threads={n}:", ", ".join(f"{v:.3g}" for v in results[(arch, n)][-1]),
                      flush=True)
    load_after, uptime_after = os.getloadavg(), _uptime()

    commit = _git("rev-parse", "--short", "HEAD")
    dirty = _git("status", "--porcelain", "--untracked-files=no", "--", "mtlreg", "benchmarks")
    lines = [
        "# MultiTaskMLPRegressor on School: fit time by torch thread count",
        "",
        f"Command: `{' '.join(['python benchmarks/bench_torch_threads.py', *cli])}`",
        "",
        f"Commit {commit}{' (+ uncommitted changes in mtlreg/ or benchmarks/)' if dirty else ''}; "
        f"{platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__} "
        f"(default intra-op threads here: {default}), Python {platform.python_version()}.",
        "",
        f"Load before: `{uptime_before}`  ",
        f"Load after: `{uptime_after}`  ",
        f"(1-min load average {load_before[0]:.1f} -> {load_after[0]:.1f} on {os.cpu_count()} cores: "
        "other processes were running; the CPU time column is this process's own.)",
        "",
        f"Protocol: School, 15362 rows, 139 tasks, 28 standardised features, `task_column=0`; "
        f"`MultiTaskMLPRegressor(architecture, max_iter={args.epochs}, tol=0, random_state=0, "
        "device='cpu')`, otherwise defaults (hidden (64,), batch 256); "
        f"median of {args.repeat} fits per cell, thread counts interleaved. Whole run "
        f"{time.perf_counter() - started:.0f} s.",
        "",
        "| architecture | n_threads | median wall s | median CPU s | wall / 1 thread | final loss |",
        "|---|---|---|---|---|---|",
    ]
    for arch in args.architectures:
        base = statistics.median(v[0] for v in results[(arch, 1)])
        for n in counts:
            runs = results[(arch, n)]
            wall = statistics.median(v[0] for v in runs)
            cpu = statistics.median(v[1] for v in runs)
            label = "1 (the default)" if n == 1 else (
                f"None (torch's: {default})" if n is None else str(n))
            lines.append(f"| {arch} | {label} | {wall:.2f} | {cpu:.2f} | {wall / base:.2f} | "
                         f"{runs[0][2]:.6g} |")
    lines += ["", "All runs (wall s, CPU s):", ""]
    for (arch, n), runs in results.items():
        lines.append(f"- {arch}, n_threads={n}: " + "; ".join(f"{w:.2f}, {c:.2f}" for w, c, _ in runs))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(lines) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
