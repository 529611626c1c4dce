"""Independent references (numpy + cvxpy) for the whole family of formulations.

Nothing here imports :mod:`mtlreg`. Every objective is written from its
documented form:

    sum_t lambda_t / n_t * sum_{i in t} s_i loss(y_it, x_i . w_t + b_t) + penalty(W)

with ``loss(y, z) = (y - z)^2 / 2`` (squared) or ``log(1 + e^z) - y z`` (logistic,
``y in {0, 1}``), ``exp(z) - y z`` (poisson, counts ``y >= 0``) or the Huber loss at
``HUBER_EPSILON`` (huber), ``n_t`` the sum of the sample weights over the labelled rows of
task ``t`` and ``lambda_t`` the task weights (1 by default). ``W`` has shape
``(n_features, n_tasks)``. The penalties (``Spec.kind``):

``"group_lasso"``   alpha sum_j ||W_j||_2
``"sgl"``           alpha (l1_ratio ||W||_1 + (1 - l1_ratio) sum_j ||W_j||_2)
``"trace"``         alpha ||W||_*
``"mean"``          alpha / 2 sum_t ||w_t - w_bar||^2
``"dirty_l1inf"``   W = B + S, alpha sum_j ||B_j||_inf + beta ||S||_1
``"dirty_l21"``     W = B + S, alpha sum_j ||B_j||_2 + beta ||S||_1
``"ind_l1"``        alpha ||W||_1
``"ind_l2"``        alpha / 2 ||W||_F^2

each plus ``l2_reg / 2 ||W||_F^2`` (``||B||_F^2 + ||S||_F^2`` for the dirty model) and,
with ``positive``, the constraint ``W >= 0`` (``B, S >= 0``).
"""

import warnings
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

try:  # cvxpy is a test dependency; keep the numpy part importable without it
    import cvxpy as cp
except ImportError:  # pragma: no cover
    cp = None


KINDS = ("group_lasso", "sgl", "trace", "mean", "dirty_l1inf", "dirty_l21", "ind_l1",
         "ind_l2")


@dataclass
class Spec:
    kind: str
    alpha: float
    beta: float = 0.0
    l1_ratio: float = 0.5
    l2_reg: float = 0.0
    positive: bool = False

    @property
    def dirty(self):
        return self.kind.startswith("dirty")


# --------------------------------------------------------------------------- data
@dataclass
class Block:
    X: np.ndarray  # labelled rows of the task (dense)
    y: np.ndarray  # their targets (0/1 for the logistic loss)
    c: np.ndarray  # observation weights lambda_t s_i / n_t


def make_blocks(X, y, *, task_ids=None, sample_weight=None, task_weights=None):
    """Per-task blocks. Shared layout: ``task_ids=None``, ``y (n, T)`` with NaN = missing.
    Per-task layout: ``task_ids (n,)``, ``y (n,)``; ``X`` holds the features only."""
    X = X.toarray() if sp.issparse(X) else np.asarray(X, dtype=float)
    n = X.shape[0]
    s = np.ones(n) if sample_weight is None else np.asarray(sample_weight, dtype=float)
    y = np.asarray(y, dtype=float)
    parts = []
    if task_ids is None:
        Y = y.reshape(n, -1)
        for t in range(Y.shape[1]):
            rows = np.flatnonzero(~np.isnan(Y[:, t]))
            parts.append((rows, Y[rows, t]))
    else:
        task_ids = np.asarray(task_ids)
        for t in np.unique(task_ids):
            rows = np.flatnonzero((task_ids == t) & ~np.isnan(y))
            parts.append((rows, y[rows]))
    n_t = np.array([s[rows].sum() for rows, _ in parts])
    lam = np.ones(len(parts)) if task_weights is None else np.asarray(task_weights, float)
    return [Block(X[rows], yt, lam[k] * s[rows] / n_t[k])
            for k, (rows, yt) in enumerate(parts)]


# --------------------------------------------------------------------------- numpy
HUBER_EPSILON = 1.0  # the threshold of the "huber" loss in these references


def _loss(loss, y, z):
    if loss == "squared":
        return 0.5 * (y - z) ** 2
    if loss == "poisson":  # exp(z) - y z (no offset here)
        return np.exp(z) - y * z
    if loss == "huber":
        a, e = np.abs(y - z), HUBER_EPSILON
        return np.where(a <= e, 0.5 * a * a, e * a - 0.5 * e * e)
    return np.logaddexp(0.0, z) - y * z


def _dloss(loss, y, z):
    if loss == "squared":
        return z - y
    if loss == "poisson":
        return np.exp(z) - y
    if loss == "huber":
        return np.clip(z - y, -HUBER_EPSILON, HUBER_EPSILON)
    return 0.5 * (1.0 + np.tanh(0.5 * z)) - y


def data_term(blocks, W, b, loss):
    return float(sum(np.sum(blk.c * _loss(loss, blk.y, blk.X @ W[:, t] + b[t]))
                     for t, blk in enumerate(blocks)))


def data_gradient(blocks, W, b, loss):
    """Gradient of the data term w.r.t. ``W (d, T)`` and ``b (T,)``."""
    G = np.zeros(W.shape)
    gb = np.zeros(W.shape[1])
    for t, blk in enumerate(blocks):
        r = blk.c * _dloss(loss, blk.y, blk.X @ W[:, t] + b[t])
        G[:, t] = blk.X.T @ r
        gb[t] = r.sum()
    return G, gb


def l1(W):
    return float(np.abs(W).sum())


def l21(W):
    return float(np.sqrt((W**2).sum(axis=1)).sum())


def l1inf(W):
    return float(np.abs(W).max(axis=1).sum())


def nuclear(W):
    return float(np.linalg.svd(W, compute_uv=False).sum())


def mean_dev(W):
    return 0.5 * float(((W - W.mean(axis=1, keepdims=True)) ** 2).sum())


def penalty_value(spec, W, B=None, S=None):
    """Penalty (with ridge) at ``W``; the dirty model needs its parts ``B`` and ``S``."""
    a, r2 = spec.alpha, 0.5 * spec.l2_reg
    if spec.dirty:
        block = l1inf if spec.kind == "dirty_l1inf" else l21
        return a * block(B) + spec.beta * l1(S) + r2 * float((B**2).sum() + (S**2).sum())
    base = {
        "group_lasso": lambda: a * l21(W),
        "sgl": lambda: a * (spec.l1_ratio * l1(W) + (1 - spec.l1_ratio) * l21(W)),
        "trace": lambda: a * nuclear(W),
        "mean": lambda: a * mean_dev(W),
        "ind_l1": lambda: a * l1(W),
        "ind_l2": lambda: 0.5 * a * float((W**2).sum()),
    }[spec.kind]()
    return base + r2 * float((W**2).sum())


def objective(spec, blocks, W, b, loss, B=None, S=None):
    return data_term(blocks, W, b, loss) + penalty_value(spec, W, B, S)


# ---- optimality measures, written independently of the package
def l1_violation(W, G, alpha, positive=False):
    """max over entries of dist(-G_jt, alpha d|W_jt| (+ normal cone of W >= 0))."""
    dist = np.where(W > 0, np.abs(G + alpha),
                    np.where(W < 0, np.abs(G - alpha),
                             np.maximum(0.0, (-G if positive else np.abs(G)) - alpha)))
    return float(dist.max(initial=0.0))


def l21_violation(W, G, alpha, positive=False):
    """max over rows of dist(-G_j, alpha d||W_j||_2 (+ normal cone of W >= 0))."""
    worst = 0.0
    for w, g in zip(W, G):
        norm = np.linalg.norm(w)
        if norm > 0:
            v = g + alpha * w / norm
            if positive:
                v = np.where((w == 0) & (v > 0), 0.0, v)
            dist = np.linalg.norm(v)
        else:
            dist = max(0.0, np.linalg.norm(np.minimum(g, 0.0) if positive else g) - alpha)
        worst = max(worst, dist)
    return worst


def trace_violation(W, G, alpha, rank_tol=1e-9):
    """Frobenius distance of -G to alpha d||W||_* (by projecting onto the subdifferential).

    Subdifferential: ``U1 V1^T + M`` with ``U1^T M = 0``, ``M V1 = 0``, ``||M||_2 <= 1``.
    The projection of ``-G/alpha`` keeps ``U1 V1^T``, projects the part of ``-G/alpha``
    orthogonal to both singular subspaces onto the spectral unit ball (clipping its
    singular values at 1) and drops the rest.
    """
    U, s, Vt = np.linalg.svd(W, full_matrices=True)
    r = int(np.sum(s > rank_tol * max(s.max(initial=0.0), 1e-300)))
    U1, V1 = U[:, :r], Vt[:r].T
    Pu = np.eye(W.shape[0]) - U1 @ U1.T
    Pv = np.eye(W.shape[1]) - V1 @ V1.T
    A = -G / alpha
    R = Pu @ A @ Pv
    Ur, sr, Vrt = np.linalg.svd(R, full_matrices=False)
    proj = U1 @ V1.T + (Ur * np.minimum(sr, 1.0)) @ Vrt
    return float(alpha * np.linalg.norm(A - proj))


# --------------------------------------------------------------------------- cvxpy
def cvx_data_term(blocks, W, b, loss):
    """The data term in cvxpy: ``sum_t sum_{i in t} c_i loss(y_i, x_i . w_t + b_t)`` for a
    cvxpy (or numpy) ``W (d, T)`` and ``b (T,)``."""
    terms = []
    for t, blk in enumerate(blocks):
        z = blk.X @ W[:, t] + b[t]
        if loss == "squared":
            terms.append(0.5 * cp.sum_squares(cp.multiply(np.sqrt(blk.c), blk.y - z)))
        elif loss == "poisson":
            terms.append(cp.sum(cp.multiply(blk.c, cp.exp(z)))
                         - cp.sum(cp.multiply(blk.c * blk.y, z)))
        elif loss == "huber":  # cp.huber(r, M) is twice our loss
            terms.append(0.5 * cp.sum(cp.multiply(blk.c, cp.huber(blk.y - z, HUBER_EPSILON))))
        else:
            terms.append(cp.sum(cp.multiply(blk.c, cp.logistic(z)))
                         - cp.sum(cp.multiply(blk.c * blk.y, z)))
    return cp.sum(terms)


def _solve(prob):
    """Clarabel at tight tolerances; SCS (eps 1e-10) when Clarabel stops short of them."""
    try:
        with warnings.catch_warnings():  # "solution may be inaccurate": handled below
            warnings.simplefilter("ignore", UserWarning)
            prob.solve(solver=cp.CLARABEL, tol_gap_abs=1e-11, tol_gap_rel=1e-11,
                       tol_feas=1e-11, tol_ktratio=1e-9, max_iter=400)
        ok = prob.status == cp.OPTIMAL
    except cp.error.SolverError:
        ok = False
    if not ok:
        prob.solve(solver=cp.SCS, eps_abs=1e-10, eps_rel=1e-10, max_iters=200_000)
        assert prob.status in (cp.OPTIMAL, cp.OPTIMAL_INACCURATE), prob.status


def cvx_solve(spec, blocks, loss, fit_intercept=True):
    """Solve with cvxpy. Returns ``dict(W, b, B, S, value)``; ``value`` is the objective
    at the returned point evaluated in numpy (no solver slack)."""
    d, T = blocks[0].X.shape[1], len(blocks)
    b = cp.Variable(T) if fit_intercept else np.zeros(T)
    constraints = []
    if spec.dirty:
        B, S = cp.Variable((d, T)), cp.Variable((d, T))
        W = B + S
        if spec.kind == "dirty_l1inf":
            block = cp.sum(cp.max(cp.abs(B), axis=1))
        else:
            block = cp.sum(cp.norm(B, 2, axis=1))
        pen = spec.alpha * block + spec.beta * cp.sum(cp.abs(S))
        pen = pen + 0.5 * spec.l2_reg * (cp.sum_squares(B) + cp.sum_squares(S))
        if spec.positive:
            constraints += [B >= 0, S >= 0]
    else:
        W = cp.Variable((d, T))
        a = spec.alpha
        if spec.kind == "group_lasso":
            pen = a * cp.sum(cp.norm(W, 2, axis=1))
        elif spec.kind == "sgl":
            pen = a * (spec.l1_ratio * cp.sum(cp.abs(W))
                       + (1 - spec.l1_ratio) * cp.sum(cp.norm(W, 2, axis=1)))
        elif spec.kind == "trace":
            pen = a * cp.normNuc(W)
        elif spec.kind == "mean":
            P = np.eye(T) - np.ones((T, T)) / T
            pen = 0.5 * a * cp.sum_squares(W @ P)
        elif spec.kind == "ind_l1":
            pen = a * cp.sum(cp.abs(W))
        elif spec.kind == "ind_l2":
            pen = 0.5 * a * cp.sum_squares(W)
        else:  # pragma: no cover
            raise ValueError(spec.kind)
        if spec.l2_reg:
            pen = pen + 0.5 * spec.l2_reg * cp.sum_squares(W)
        if spec.positive:
            constraints.append(W >= 0)
    prob = cp.Problem(cp.Minimize(cvx_data_term(blocks, W, b, loss) + pen), constraints)
    _solve(prob)
    b_val = np.asarray(b.value, dtype=float) if fit_intercept else np.zeros(T)
    if spec.dirty:
        B_val, S_val = np.asarray(B.value, float), np.asarray(S.value, float)
        if spec.positive:
            B_val, S_val = np.maximum(B_val, 0.0), np.maximum(S_val, 0.0)
        W_val = B_val + S_val
    else:
        B_val = S_val = None
        W_val = np.asarray(W.value, float)
        if spec.positive:
            W_val = np.maximum(W_val, 0.0)
    value = objective(spec, blocks, W_val, b_val, loss, B_val, S_val)
    return dict(W=W_val, b=b_val, B=B_val, S=S_val, value=value)


def cvx_prox(kind, Z, step, *, alpha, beta=0.0, l1_ratio=0.5, l2_reg=0.0, positive=False):
    """``argmin_U ||U - Z||^2 / (2 step) + penalty(U)`` with cvxpy (penalty as in ``Spec``;
    for the dirty kinds ``Z`` is the stacked ``[B; S]``)."""
    spec = Spec(kind, alpha, beta, l1_ratio, l2_reg, positive)
    U = cp.Variable(Z.shape)
    constraints = [U >= 0] if positive else []
    if spec.dirty:
        d = Z.shape[0] // 2
        B, S = U[:d], U[d:]
        block = (cp.sum(cp.max(cp.abs(B), axis=1)) if kind == "dirty_l1inf"
                 else cp.sum(cp.norm(B, 2, axis=1)))
        pen = alpha * block + beta * cp.sum(cp.abs(S))
    else:
        pen = {
            "group_lasso": lambda: alpha * cp.sum(cp.norm(U, 2, axis=1)),
            "sgl": lambda: alpha * (l1_ratio * cp.sum(cp.abs(U))
                                    + (1 - l1_ratio) * cp.sum(cp.norm(U, 2, axis=1))),
            "trace": lambda: alpha * cp.normNuc(U),
            "mean": lambda: 0.5 * alpha * cp.sum_squares(
                U @ (np.eye(Z.shape[1]) - np.ones((Z.shape[1],) * 2) / Z.shape[1])),
            "ind_l1": lambda: alpha * cp.sum(cp.abs(U)),
            "l1inf": lambda: alpha * cp.sum(cp.max(cp.abs(U), axis=1)),
            "zero": lambda: 0.0,
        }[kind]()
    pen = pen + 0.5 * l2_reg * cp.sum_squares(U)
    prob = cp.Problem(cp.Minimize(cp.sum_squares(U - Z) / (2 * step) + pen), constraints)
    _solve(prob)
    return np.asarray(U.value, float)
