"""Independent references (numpy + cvxpy) for the multiclass (softmax) formulations.

Nothing here imports :mod:`mtlreg`. The coefficients are held as ``W[t, k]`` (task,
class, feature: the shape of a multiclass ``coef_``) and intercepts ``b[t, k]``; the
objective is written from its documented form

    sum_t lambda_t / n_t sum_{i in t} s_i [ log sum_k exp(z_itk) - z_{it y_i} ] + P(W)

with ``z_itk = x_i . w_tk + b_tk``. ``stacked(W)`` is the ``(d, T K)`` matrix of every
``w_tk`` (in any column order: the penalties applied to it do not depend on the order);
``cls(W, k)`` the ``(d, T)`` matrix of class ``k``. The penalties (``kind``):

``"ind_l1"``   alpha ||stacked||_1             ``"ind_l2"``  alpha / 2 ||stacked||_F^2
``"gl"``       alpha sum_j ||stacked_j||_2      ``"sgl"``     alpha (r ||.||_1 + (1 - r) l21)
``"trace"``    alpha ||stacked||_*              ``"strace"``  alpha (r ||.||_1 + (1 - r) ||.||_*)
``"dirty"``    W = B + S, alpha sum_j ||B_j||_inf + beta ||S||_1 (stacked B, S)
``"mean"``     alpha / 2 sum_k sum_t ||w_tk - mean_s w_sk||^2
``"graph"``    sum_k [rho / 4 sum_{s,t} A_st ||w_sk - w_tk||^2 + alpha ||cls(W, k)||_1]
``"fused"``    sum_k [alpha (r ||cls||_1 + (1 - r) l21(cls)) + beta sum_j sum_t |W_k[j, t+1] - W_k[j, t]|]

each plus ``l2_reg / 2 ||W||_F^2``.
"""

import numpy as np
from scipy.special import logsumexp

try:
    import cvxpy as cp
except ImportError:  # pragma: no cover
    cp = None


def blocks(X, y, task_ids, sample_weight=None, task_weights=None):
    """Per-task ``(X_t, onehot_t, c_t)`` with ``c_i = lambda_t s_i / n_t``; ``y`` holds
    class codes ``0..K-1``; ``task_ids`` are ``0..T-1``."""
    K = int(y.max()) + 1
    T = int(task_ids.max()) + 1
    s = np.ones(len(y)) if sample_weight is None else np.asarray(sample_weight, float)
    lam = np.ones(T) if task_weights is None else np.asarray(task_weights, float)
    out = []
    for t in range(T):
        rows = task_ids == t
        Y = np.eye(K)[y[rows]]
        out.append((X[rows], Y, lam[t] * s[rows] / s[rows].sum()))
    return out


def data_term(bl, W, b):
    total = 0.0
    for t, (X, Y, c) in enumerate(bl):
        Z = X @ W[t].T + b[t]
        total += float(c @ (logsumexp(Z, axis=1) - (Y * Z).sum(axis=1)))
    return total


def data_gradient(bl, W, b):
    """Gradients w.r.t. ``W (T, K, d)`` and ``b (T, K)``."""
    G, gb = np.zeros_like(W), np.zeros_like(b)
    for t, (X, Y, c) in enumerate(bl):
        Z = X @ W[t].T + b[t]
        P = np.exp(Z - logsumexp(Z, axis=1, keepdims=True))
        R = c[:, None] * (P - Y)
        G[t] = R.T @ X
        gb[t] = R.sum(axis=0)
    return G, gb


def stacked(W):
    T, K, d = W.shape
    return W.reshape(T * K, d).T


def laplacian(A):
    return np.diag(A.sum(axis=1)) - A


def penalty(kind, W, *, alpha, beta=0.0, l1_ratio=0.5, rho=1.0, A=None, l2_reg=0.0, B=None):
    M = stacked(W)
    r = l1_ratio
    l1 = float(np.abs(M).sum())
    l21 = float(np.linalg.norm(M, axis=1).sum())
    nuc = float(np.linalg.svd(M, compute_uv=False).sum())
    if kind == "ind_l1":
        p = alpha * l1
    elif kind == "ind_l2":
        p = 0.5 * alpha * float((M**2).sum())
    elif kind == "gl":
        p = alpha * l21
    elif kind == "sgl":
        p = alpha * (r * l1 + (1 - r) * l21)
    elif kind == "trace":
        p = alpha * nuc
    elif kind == "strace":
        p = alpha * (r * l1 + (1 - r) * nuc)
    elif kind == "dirty":
        Bm, Sm = stacked(B), stacked(W - B)
        return (alpha * float(np.abs(Bm).max(axis=1).sum()) + beta * float(np.abs(Sm).sum())
                + 0.5 * l2_reg * float((Bm**2).sum() + (Sm**2).sum()))
    else:
        p = 0.0
        for k in range(W.shape[1]):
            Wk = W[:, k, :].T  # (d, T)
            if kind == "mean":
                p += 0.5 * alpha * float(((Wk - Wk.mean(axis=1, keepdims=True)) ** 2).sum())
            elif kind == "graph":
                p += 0.5 * rho * float(np.trace(Wk @ laplacian(A) @ Wk.T))
                p += alpha * float(np.abs(Wk).sum())
            elif kind == "fused":
                p += alpha * (r * float(np.abs(Wk).sum())
                              + (1 - r) * float(np.linalg.norm(Wk, axis=1).sum()))
                p += beta * float(np.abs(np.diff(Wk, axis=1)).sum())
            else:  # pragma: no cover
                raise ValueError(kind)
    return p + 0.5 * l2_reg * float((M**2).sum())


def objective(kind, bl, W, b, **pen):
    return data_term(bl, W, b) + penalty(kind, W, **pen)


def cvx_solve(kind, bl, *, fit_intercept=True, alpha, beta=0.0, l1_ratio=0.5, rho=1.0, A=None,
              l2_reg=0.0):
    """Minimise with cvxpy; returns ``(W (T, K, d), b (T, K), value)``, the value
    evaluated in numpy at the returned point."""
    T, d, K = len(bl), bl[0][0].shape[1], bl[0][1].shape[1]
    Wk = [cp.Variable((d, T)) for _ in range(K)]  # class k: (d, T)
    Bk = [cp.Variable((d, T)) for _ in range(K)] if kind == "dirty" else None
    b = cp.Variable((T, K)) if fit_intercept else np.zeros((T, K))
    terms = []
    for t, (X, Y, c) in enumerate(bl):
        Wt = cp.hstack([Wk[k][:, t:t + 1] for k in range(K)])  # (d, K)
        Z = X @ Wt + np.ones((len(c), 1)) @ cp.reshape(b[t], (1, K), order="C")
        terms.append(c @ cp.log_sum_exp(Z, axis=1) - cp.sum(cp.multiply(c[:, None] * Y, Z)))
    M = cp.hstack(Wk)
    r = l1_ratio
    if kind == "ind_l1":
        pen = alpha * cp.sum(cp.abs(M))
    elif kind == "ind_l2":
        pen = 0.5 * alpha * cp.sum_squares(M)
    elif kind == "gl":
        pen = alpha * cp.sum(cp.norm(M, 2, axis=1))
    elif kind == "sgl":
        pen = alpha * (r * cp.sum(cp.abs(M)) + (1 - r) * cp.sum(cp.norm(M, 2, axis=1)))
    elif kind == "trace":
        pen = alpha * cp.normNuc(M)
    elif kind == "strace":
        pen = alpha * (r * cp.sum(cp.abs(M)) + (1 - r) * cp.normNuc(M))
    elif kind == "dirty":
        Bs = cp.hstack(Bk)
        pen = alpha * cp.sum(cp.max(cp.abs(Bs), axis=1)) + beta * cp.sum(cp.abs(M - Bs))
        pen = pen + 0.5 * l2_reg * (cp.sum_squares(Bs) + cp.sum_squares(M - Bs))
    else:
        pen = 0
        P = np.eye(T) - np.ones((T, T)) / T
        for k in range(K):
            if kind == "mean":
                pen = pen + 0.5 * alpha * cp.sum_squares(Wk[k] @ P)
            elif kind == "graph":
                L = laplacian(A)
                evals, Q = np.linalg.eigh(L)
                R = Q * np.sqrt(np.clip(evals, 0, None))  # L = R R^T
                pen = pen + 0.5 * rho * cp.sum_squares(Wk[k] @ R) + alpha * cp.sum(cp.abs(Wk[k]))
            elif kind == "fused":
                D = Wk[k][:, 1:] - Wk[k][:, :-1]
                pen = pen + alpha * (r * cp.sum(cp.abs(Wk[k]))
                                     + (1 - r) * cp.sum(cp.norm(Wk[k], 2, axis=1)))
                pen = pen + beta * cp.sum(cp.abs(D))
    if kind != "dirty" and l2_reg:
        pen = pen + 0.5 * l2_reg * cp.sum_squares(M)
    prob = cp.Problem(cp.Minimize(cp.sum(terms) + pen))
    try:
        prob.solve(solver=cp.CLARABEL, tol_gap_abs=1e-11, tol_gap_rel=1e-11, tol_feas=1e-11,
                   tol_ktratio=1e-9, max_iter=400)
        ok = prob.status == cp.OPTIMAL
    except cp.error.SolverError:
        ok = False
    if not ok:
        prob.solve(solver=cp.SCS, eps_abs=1e-10, eps_rel=1e-10, max_iters=200_000)
    W = np.stack([np.asarray(Wk[k].value).T for k in range(K)], axis=1)  # (T, K, d)
    b_val = np.asarray(b.value, float) if fit_intercept else b
    extra = {}
    if kind == "dirty":
        extra["B"] = np.stack([np.asarray(Bk[k].value).T for k in range(K)], axis=1)
    value = objective(kind, bl, W, b_val, alpha=alpha, beta=beta, l1_ratio=l1_ratio, rho=rho,
                      A=A, l2_reg=l2_reg, **extra)
    return W, b_val, value
