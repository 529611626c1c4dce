"""Independent reference implementations of the group-lasso objective (numpy + cvxpy).

Nothing here imports :mod:`mtlreg`: the data are expanded into per-task blocks
``(X_t, y_t, s_t)`` directly from the documented objective

    sum_t lambda_t / n_t * sum_{i in t} s_i * loss(y_it, x_i . w_t + b_t)
        + alpha * sum_j ||W_j||_2 + (l2_reg / 2) ||W||_F^2

with ``W`` of shape ``(n_features, n_tasks)``, ``n_t`` the sum of the sample weights
over the labelled rows of task ``t`` and ``lambda_t`` the task weights.
"""

import warnings
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

try:  # cvxpy is a test dependency, but keep the numpy part importable without it
    import cvxpy as cp
except ImportError:  # pragma: no cover
    cp = None

from _cvx_family import cvx_data_term  # noqa: E402


@dataclass
class TaskBlock:
    X: np.ndarray  # (n_t_rows, d) dense features of the labelled rows of the task
    y: np.ndarray  # (n_t_rows,) targets (0/1 for the logistic loss)
    c: np.ndarray  # (n_t_rows,) observation weights lambda_t * s_i / n_t


@dataclass
class Problem:
    blocks: list
    tasks: np.ndarray
    n_features: int

    @property
    def n_tasks(self):
        return len(self.blocks)


def _dense(X):
    return X.toarray() if sp.issparse(X) else np.asarray(X, dtype=np.float64)


def _resolve_task_weights(task_weights, tasks, n_t):
    T = len(tasks)
    if task_weights is None:
        return np.ones(T)
    if isinstance(task_weights, str):
        assert task_weights == "samples"
        return T * n_t / n_t.sum()
    if isinstance(task_weights, dict):
        lam = np.ones(T)
        labels = list(tasks)
        for key, value in task_weights.items():
            lam[labels.index(key)] = value
        return lam
    lam = np.asarray(task_weights, dtype=np.float64)
    assert lam.shape == (T,)
    return lam


def build_problem(X, y, *, task_ids=None, sample_weight=None, task_weights=None,
                  positive_label=None):
    """Expand the data into per-task blocks.

    Shared layout: ``task_ids=None``, ``X (n, d)``, ``y (n,)`` or ``(n, T)`` with NaN =
    missing label. Per-task layout: ``task_ids (n,)`` and ``y (n,)``; ``X`` holds the
    features only (the task column already removed).
    ``positive_label``: for the logistic loss, ``y == positive_label`` is encoded 1
    (else 0); ``None`` means ``y`` already is 0/1.
    """
    X = _dense(X)
    n = X.shape[0]
    s = np.ones(n) if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
    y = np.asarray(y)
    if task_ids is None:
        Y = y.reshape(n, -1)
        tasks = np.arange(Y.shape[1])
        rows_y = []
        for t in range(Y.shape[1]):
            col = Y[:, t]
            labelled = ~_isnan(col)
            rows_y.append((np.flatnonzero(labelled), col[labelled]))
    else:
        task_ids = np.asarray(task_ids)
        tasks = np.unique(task_ids)
        rows_y = []
        for t in tasks:
            rows = np.flatnonzero(task_ids == t)
            labelled = ~_isnan(y[rows])
            rows_y.append((rows[labelled], y[rows][labelled]))
    n_t = np.array([s[rows].sum() for rows, _ in rows_y])
    lam = _resolve_task_weights(task_weights, tasks, n_t)
    blocks = []
    for (rows, yt), lam_t, nt in zip(rows_y, lam, n_t):
        if positive_label is not None:
            yt = (yt == positive_label).astype(np.float64)
        blocks.append(TaskBlock(X[rows], np.asarray(yt, dtype=np.float64),
                                lam_t * s[rows] / nt))
    return Problem(blocks, tasks, X.shape[1])


def _isnan(a):
    a = np.asarray(a)
    if a.dtype.kind == "f":
        return np.isnan(a)
    if a.dtype.kind == "O":
        return np.array([v is None or (isinstance(v, float) and np.isnan(v)) for v in a],
                        dtype=bool)
    return np.zeros(a.shape, dtype=bool)


# --------------------------------------------------------------------------- numpy
def _loss(loss, y, z):
    if loss == "squared":
        return 0.5 * (y - z) ** 2
    return np.logaddexp(0.0, z) - y * z


def _dloss(loss, y, z):
    if loss == "squared":
        return z - y
    return 1.0 / (1.0 + np.exp(-z)) - y


def numpy_objective(problem, W, b, *, alpha, loss, l2_reg=0.0):
    """The objective at ``W (n_features, n_tasks)`` and intercepts ``b (n_tasks,)``."""
    W = np.asarray(W, dtype=np.float64)
    data = 0.0
    for t, blk in enumerate(problem.blocks):
        z = blk.X @ W[:, t] + b[t]
        data += float(np.sum(blk.c * _loss(loss, blk.y, z)))
    pen = alpha * float(np.sqrt((W**2).sum(axis=1)).sum()) + 0.5 * l2_reg * float((W**2).sum())
    return data + pen


def numpy_gradient(problem, W, b, *, loss, l2_reg=0.0):
    """Gradient of the smooth part (data term + ridge) w.r.t. ``W`` and ``b``."""
    G = np.zeros_like(np.asarray(W, dtype=np.float64))
    gb = np.zeros(problem.n_tasks)
    for t, blk in enumerate(problem.blocks):
        z = blk.X @ W[:, t] + b[t]
        r = blk.c * _dloss(loss, blk.y, z)
        G[:, t] = blk.X.T @ r
        gb[t] = r.sum()
    return G + l2_reg * W, gb


def l21_kkt_violations(W, G, alpha, positive=False):
    """Per-row distance of ``-G_j`` to ``alpha * d||W_j||_2`` (+ normal cone if positive).

    Written independently of the package: for a non-zero row, with ``positive`` the
    entries with ``w_jt = 0`` may have any ``g_jt + alpha w_jt/||w_j|| >= 0``.
    """
    out = np.empty(W.shape[0])
    for j in range(W.shape[0]):
        w, g = W[j], G[j]
        norm = np.linalg.norm(w)
        if norm > 0:
            v = g + alpha * w / norm
            if positive:
                v = np.where((w == 0) & (v > 0), 0.0, v)
            out[j] = np.linalg.norm(v)
        else:
            gg = np.minimum(g, 0.0) if positive else g
            out[j] = max(0.0, np.linalg.norm(gg) - alpha)
    return out


# --------------------------------------------------------------------------- cvxpy
def cvx_solve(problem, *, alpha, loss, fit_intercept=True, l2_reg=0.0, positive=False):
    """Solve the problem with cvxpy; return ``(W (d, T), b (T,), optimal value)``."""
    d, T = problem.n_features, problem.n_tasks
    W = cp.Variable((d, T))
    b = cp.Variable(T) if fit_intercept else np.zeros(T)
    obj = cvx_data_term(problem.blocks, W, b, loss) + alpha * cp.sum(cp.norm(W, 2, axis=1))
    if l2_reg:
        obj = obj + 0.5 * l2_reg * cp.sum_squares(W)
    constraints = [W >= 0] if positive else []
    prob = cp.Problem(cp.Minimize(obj), constraints)
    ok = False
    try:
        with warnings.catch_warnings():
            # "Solution may be inaccurate": accepted only within the tight reduced
            # tolerances below (the comparisons in the tests then double check)
            warnings.simplefilter("ignore", UserWarning)
            prob.solve(solver=cp.CLARABEL, tol_gap_abs=1e-12, tol_gap_rel=1e-12,
                       tol_feas=1e-12, tol_ktratio=1e-10, reduced_tol_gap_abs=1e-9,
                       reduced_tol_gap_rel=1e-9, reduced_tol_feas=1e-9,
                       reduced_tol_ktratio=1e-7, max_iter=500)
        ok = prob.status in (cp.OPTIMAL, cp.OPTIMAL_INACCURATE)
    except cp.error.SolverError:
        pass
    if not ok:  # pragma: no cover - fallback
        prob.solve(solver=cp.SCS, eps_abs=1e-10, eps_rel=1e-10, max_iters=200_000)
        assert prob.status in (cp.OPTIMAL, cp.OPTIMAL_INACCURATE), prob.status
    b_val = np.asarray(b.value, dtype=np.float64) if fit_intercept else np.zeros(T)
    W_val = np.asarray(W.value, dtype=np.float64)
    # report the objective of the returned point, evaluated in numpy (no solver slack)
    value = numpy_objective(problem, W_val, b_val, alpha=alpha, loss=loss, l2_reg=l2_reg)
    if positive:
        W_val = np.maximum(W_val, 0.0)
        value = numpy_objective(problem, W_val, b_val, alpha=alpha, loss=loss, l2_reg=l2_reg)
    return W_val, b_val, value
