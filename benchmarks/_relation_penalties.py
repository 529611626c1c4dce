"""The task-relation penalties of the solver benchmark, written from the estimators'
docstrings: a numpy value (used by ``_common.objective``) and a cvxpy form (used by
``_peers.cvxpy_build``). Nothing here imports mtlreg.

``W`` is ``(d, T)`` (rows = features, columns = tasks, the docstrings' orientation);
the task order of the temporal models is the column order (the problems use the
task index order). Penalties (``pen`` keys in brackets)::

    graph         (rho/2) ||W R||_F^2 + alpha ||W||_1 + (l2_reg/2) ||W||_F^2,
                  the complete graph (weight 1/T on every pair):
                  ||W R||_F^2 = sum_t ||w_t - w_bar||^2
    tgl           alpha sum_j ||W_j||_2 + (rho/2) sum_t ||w_{t+1} - w_t||^2
                  + (l2_reg/2) ||W||_F^2
    fused         alpha (l1_ratio ||W||_1 + (1 - l1_ratio) sum_j ||W_j||_2)
                  + beta sum_j sum_t |W_{j,t+1} - W_{j,t}| + (l2_reg/2) ||W||_F^2
    sparse_trace  alpha (l1_ratio ||W||_1 + (1 - l1_ratio) ||W||_*) + (l2_reg/2) ||W||_F^2
    robust        W = L + S: alpha ||L||_* + beta sum_t ||s_t||_2 + (l2_reg/2) ||[L; S]||_F^2
    rmtfl         W = P + Q: alpha sum_j ||P_j||_2 + beta sum_t ||q_t||_2
                  + (l2_reg/2) ||[P; Q]||_F^2
    clustered     alpha eta (1 + eta) min_M tr(W (eta I + M)^{-1} W^T) + (l2_reg/2) ||W||_F^2
                  over M symmetric, tr(M) = k (n_clusters), 0 <= M <= I
"""

from __future__ import annotations

import numpy as np

RELATION_PENALTIES = ("graph", "tgl", "fused", "sparse_trace", "robust", "rmtfl",
                      "clustered")
TWO_PARTS = ("robust", "rmtfl")  # W = first part + column-group-sparse outlier part
SDP = ("sparse_trace", "robust", "clustered")  # cvxpy: a PSD cone of size about d + T


# ------------------------------------------------------------------------ numpy
def _rows_l2(A):
    return float(np.sum(np.sqrt(np.sum(A**2, axis=1))))


def _cols_l2(A):
    return float(np.sum(np.sqrt(np.sum(A**2, axis=0))))


def _nuclear(A):
    return float(np.sum(np.linalg.svd(A, compute_uv=False)))


def clustered_inner(W, eta, k):
    """``min_M tr(W (eta I + M)^{-1} W^T)`` over ``{M sym, tr M = k, 0 <= M <= I}``.

    ``M`` shares the right singular vectors of ``W``; with ``s`` the T singular values
    (zero-padded) the eigenvalues solve ``min sum s_i^2 / (eta + m_i)``, ``sum m = k``,
    ``0 <= m <= 1``: ``m_i = clip(tau s_i - eta, 0, 1)`` (KKT), ``tau`` by bisection."""
    T = W.shape[1]
    k = min(int(k), T)
    s = np.zeros(T)
    sv = np.linalg.svd(W, compute_uv=False)
    s[:len(sv)] = sv
    if np.count_nonzero(s) <= k:  # every non-zero s_i gets m_i = 1
        return float(np.sum(s**2) / (eta + 1.0))

    def mass(tau):
        return np.clip(tau * s - eta, 0.0, 1.0)

    lo, hi = 0.0, (eta + 1.0) / s[s > 0].min()  # mass(hi) = number of non-zero s >= k
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        if mass(mid).sum() < k:
            lo = mid
        else:
            hi = mid
    return float(np.sum(s**2 / (eta + mass(hi))))


def relation_penalty_value(W, penalty, *, parts=None, alpha=0.0, beta=0.0, rho=0.0,
                           l1_ratio=0.5, l2_reg=0.0, eta=1.0, n_clusters=2):
    """The penalty of ``W (T, d)`` (``coef_`` orientation; ``parts = (first, outlier)``,
    each ``(T, d)``, for the two-part models)."""
    if penalty in TWO_PARTS:
        P, Q = (np.asarray(p, dtype=np.float64).T for p in parts)
        first = _nuclear(P) if penalty == "robust" else _rows_l2(P)
        return float(alpha * first + beta * _cols_l2(Q)
                     + 0.5 * l2_reg * (np.sum(P**2) + np.sum(Q**2)))
    W = np.asarray(W, dtype=np.float64).T  # (d, T)
    if penalty == "graph":
        dev = W - W.mean(axis=1, keepdims=True)
        val = 0.5 * rho * np.sum(dev**2) + alpha * np.sum(np.abs(W))
    elif penalty == "tgl":
        val = alpha * _rows_l2(W) + 0.5 * rho * np.sum(np.diff(W, axis=1) ** 2)
    elif penalty == "fused":
        val = (alpha * (l1_ratio * np.sum(np.abs(W)) + (1 - l1_ratio) * _rows_l2(W))
               + beta * np.sum(np.abs(np.diff(W, axis=1))))
    elif penalty == "sparse_trace":
        val = alpha * (l1_ratio * np.sum(np.abs(W)) + (1 - l1_ratio) * _nuclear(W))
    elif penalty == "clustered":
        val = alpha * eta * (1 + eta) * clustered_inner(W, eta, n_clusters)
    else:
        raise ValueError(penalty)
    return float(val + 0.5 * l2_reg * np.sum(W**2))


# ------------------------------------------------------------------------ cvxpy
def relation_cvx_penalty(penalty, W, parts, pen, T):
    """``(expression, constraints)`` of the penalty in cvxpy; ``W`` the ``(d, T)``
    variable (``parts``: the two ``(d, T)`` variables of the two-part models)."""
    import cvxpy as cp

    alpha, beta = pen.get("alpha", 0.0), pen.get("beta", 0.0)
    rho, r, l2 = pen.get("rho", 0.0), pen.get("l1_ratio", 0.5), pen.get("l2_reg", 0.0)
    cons = []
    if penalty in TWO_PARTS:
        P, Q = parts
        first = cp.normNuc(P) if penalty == "robust" else cp.sum(cp.norm(P, 2, axis=1))
        reg = alpha * first + beta * cp.sum(cp.norm(Q, 2, axis=0))
        if l2:
            reg = reg + 0.5 * l2 * (cp.sum_squares(P) + cp.sum_squares(Q))
        return reg, cons
    if penalty == "graph":
        C = np.eye(T) - np.ones((T, T)) / T
        reg = 0.5 * rho * cp.sum_squares(W @ C) + alpha * cp.sum(cp.abs(W))
    elif penalty == "tgl":
        reg = (alpha * cp.sum(cp.norm(W, 2, axis=1))
               + 0.5 * rho * cp.sum_squares(W[:, 1:] - W[:, :-1]))
    elif penalty == "fused":
        reg = (alpha * (r * cp.sum(cp.abs(W)) + (1 - r) * cp.sum(cp.norm(W, 2, axis=1)))
               + beta * cp.sum(cp.abs(W[:, 1:] - W[:, :-1])))
    elif penalty == "sparse_trace":
        reg = alpha * (r * cp.sum(cp.abs(W)) + (1 - r) * cp.normNuc(W))
    elif penalty == "clustered":
        eta, k = pen["eta"], min(int(pen["n_clusters"]), T)
        M = cp.Variable((T, T), symmetric=True)
        reg = alpha * eta * (1 + eta) * cp.matrix_frac(W.T, eta * np.eye(T) + M)
        cons = [M >> 0, np.eye(T) - M >> 0, cp.trace(M) == k]
    else:
        raise ValueError(penalty)
    if l2:
        reg = reg + 0.5 * l2 * cp.sum_squares(W)
    return reg, cons
