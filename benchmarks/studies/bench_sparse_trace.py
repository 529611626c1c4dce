"""SparseTraceNorm{Regressor,Classifier} on School: CPU time and iterations.

    python benchmarks/studies/bench_sparse_trace.py         # the default grid
    python benchmarks/studies/bench_sparse_trace.py --timeout 120   # each fit cut at 120 s wall

Raw and standardised features (the task column left as is), intercept, alpha in
``--alphas`` with ``l1_ratio`` in ``--ratios``, ``tol`` 1e-4 and 1e-8; the classifier
on ``y > median`` with alpha 0.01. CPU time is ``time.process_time()``.
"""

import argparse
import signal
import time
import warnings

import numpy as np

import mtlreg
from mtlreg.datasets import load_school


class _Timeout(Exception):
    pass


def _alarm(signum, frame):
    raise _Timeout


def school(standardise):
    d = load_school()
    X, y = np.array(d.data, dtype=float), np.asarray(d.target, dtype=float)
    if standardise:
        F = X[:, 1:]
        X[:, 1:] = (F - F.mean(0)) / np.where(F.std(0) > 0, F.std(0), 1.0)
    return X, y


def fit(est, X, y, timeout):
    signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(timeout)
    t0 = time.process_time()
    try:
        with warnings.catch_warnings(record=True) as w:
            warnings.simplefilter("always")
            est.fit(X, y)
        conv = not any("converge" in str(x.message).lower() for x in w)
        return time.process_time() - t0, est, conv
    except _Timeout:
        return time.process_time() - t0, None, False
    finally:
        signal.alarm(0)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--alphas", type=float, nargs="+", default=[3.0, 10.0, 30.0])
    p.add_argument("--ratios", type=float, nargs="+", default=[0.1, 0.3])
    p.add_argument("--tols", type=float, nargs="+", default=[1e-4, 1e-8])
    p.add_argument("--timeout", type=int, default=600)
    p.add_argument("--only", choices=["reg", "clf", "all"], default="all")
    p.add_argument("--raw-only", action="store_true")
    args = p.parse_args()
    print("model, features, alpha, l1_ratio, tol: CPU s, iterations, objective, rank, "
          "zeros, converged")
    for std in ([False] if args.raw_only else [False, True]):
        X, y = school(std)
        if args.only in ("reg", "all"):
            for alpha in args.alphas:
                for r in args.ratios:
                    for tol in args.tols:
                        est = mtlreg.SparseTraceNormRegressor(
                            alpha=alpha, l1_ratio=r, task_column=0, tol=tol, max_iter=100000)
                        _report("reg", std, alpha, r, tol, *fit(est, X, y, args.timeout))
        if args.only in ("clf", "all"):
            yc = (y > np.median(y)).astype(int)
            for tol in args.tols:
                est = mtlreg.SparseTraceNormClassifier(alpha=0.01, l1_ratio=0.2, task_column=0,
                                                       tol=tol, max_iter=1000)
                _report("clf", std, 0.01, 0.2, tol, *fit(est, X, yc, args.timeout))


def _report(kind, std, alpha, r, tol, cpu, est, conv):
    feats = "std" if std else "raw"
    if est is None:
        print(f"{kind} {feats} alpha={alpha:g} r={r:g} tol={tol:g}: timed out "
              f"({cpu:.1f} CPU s)", flush=True)
        return
    W = est.coef_
    print(f"{kind} {feats} alpha={alpha:g} r={r:g} tol={tol:g}: {cpu:.2f} CPU s, "
          f"{est.n_iter_} it, objective {est.objective_:.12e}, rank {est.rank_}, "
          f"zeros {int((W == 0).sum())}/{W.size}, converged {conv}", flush=True)


if __name__ == "__main__":
    main()
