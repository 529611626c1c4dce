"""cvxpy reference for SparseTraceNormRegressor on School (raw features, intercept).

    python benchmarks/school_sparse_trace_cvxpy.py [alpha] [l1_ratio] [solver]

Solves the l1 + nuclear norm problem with cvxpy (Clarabel by default, or SCS) using
the test suite's data term (``tests/_cvx_family.py``), and compares its objective
with the estimator's (``tol=1e-8``). CPU times are ``time.process_time()``.
"""

import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent.parent / "tests"))
import cvxpy as cp
from _cvx_family import cvx_data_term, data_term, make_blocks

import mtlreg
from mtlreg.datasets import load_school


def main():
    alpha = float(sys.argv[1]) if len(sys.argv) > 1 else 10.0
    r = float(sys.argv[2]) if len(sys.argv) > 2 else 0.2
    solver = sys.argv[3] if len(sys.argv) > 3 else "CLARABEL"
    X, y = load_school(return_X_y=True)
    F, tasks = X[:, 1:], X[:, 0].astype(int)
    t0 = time.process_time()
    est = mtlreg.SparseTraceNormRegressor(alpha=alpha, l1_ratio=r, task_column=0,
                                          tol=1e-8, max_iter=100000).fit(X, y)
    t_ours = time.process_time() - t0
    blocks = make_blocks(F, y, task_ids=tasks)
    d, T = F.shape[1], len(blocks)
    W, b = cp.Variable((d, T)), cp.Variable(T)
    pen = alpha * (r * cp.sum(cp.abs(W)) + (1 - r) * cp.normNuc(W))
    prob = cp.Problem(cp.Minimize(cvx_data_term(blocks, W, b, "squared") + pen))
    t0 = time.process_time()
    prob.solve(solver=getattr(cp, solver))
    t_cvx = time.process_time() - t0

    def objective(W_, b_):
        s = np.linalg.svd(W_, compute_uv=False).sum()
        return data_term(blocks, W_, b_, "squared") + alpha * (
            r * np.abs(W_).sum() + (1 - r) * s)

    ref = objective(np.asarray(W.value), np.asarray(b.value))
    ours = objective(est.coef_.T, est.intercept_)
    print(f"alpha={alpha} l1_ratio={r}: ours {ours:.12e} ({t_ours:.2f} CPU s, "
          f"{est.n_iter_} it, estimator objective_ {est.objective_:.12e}); "
          f"cvxpy/{solver} {ref:.12e} ({t_cvx:.1f} CPU s, status {prob.status}); "
          f"relative difference (ours - ref) / ref = {(ours - ref) / ref:.2e}")


if __name__ == "__main__":
    main()
