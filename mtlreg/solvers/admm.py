"""ADMM with exact per-task solves, for the squared loss in Gram form.

The squared data term of task ``t`` is ``v^T H_t v / 2 - r_t^T v`` with
``v = [w_t; b_t]`` (:class:`mtlreg.datafits.GramQuadratic`). The intercept is
unpenalised, so it is eliminated exactly (Schur complement):

    H~_t = H_ww - h h^T / h_bb,   r~_t = r_w - h r_b / h_bb,   b_t = (r_b - h^T w_t) / h_bb.

ADMM then splits ``min_W sum_t f_t(w_t) + P(W)`` as ``W = Z``:

    W  <- argmin f(W) + rho/2 ||W - Z + U||^2     (per task: (H~_t + rho I)^{-1}, from one
                                                   eigendecomposition, so rho can change freely)
    Z  <- prox_{P / rho}(a W + (1 - a) Z + U)      (relaxation a, 1 by default: over-
                                                   relaxation, a = 1.5, was 3-10 times
                                                   slower on School)
    U  <- U + a W + (1 - a) Z_old - Z

with ``rho`` adapted by residual balancing (Boyd et al. 2011, section 3.4.1).
Each iteration solves every task exactly, so, unlike a gradient method with one
global step, its speed hardly depends on how badly the features are scaled
(School's raw features: standard deviations from 0.07 to 15). Stopping rule:
the optimality measure of :mod:`mtlreg.solvers.fista` at ``Z`` (the iterate the
penalty's prox made exactly sparse / low-rank), checked every ``check_every``
iterations. Works with every penalty on ``W`` (not the dirty model's stacked
variable).
"""

import numpy as np

from .fista import result_at


def supports_admm(datafit, penalty):
    return hasattr(datafit, "H") and not hasattr(penalty, "split")


def _reduced_gram(datafit):
    H, r = datafit.H, datafit.r
    d = datafit.layout.n_features
    if not datafit.fit_intercept:
        return H, r, None
    h, hbb = H[:, :d, d], H[:, d, d]
    hbb = np.where(hbb > 0, hbb, 1.0)  # a task of weight 0 has H_t = 0: any b_t will do
    Ht = H[:, :d, :d] - h[:, :, None] * h[:, None, :] / hbb[:, None, None]
    rt = r[:, :d] - h * (r[:, d] / hbb)[:, None]
    return Ht, rt, (h, hbb, r[:, d])


def _batched(M, V):
    """Per-task matrix-vector products: M (T, p, q), V (T, q) -> (T, p)."""
    return np.matmul(M, V[:, :, None])[:, :, 0]


def admm(datafit, penalty, W0, b0, *, fit_intercept=True, tol=1e-4, max_iter=1000,
         gradient_scale=None, check_every=5, relaxation=1.0, verbose=0):
    """Solve with ADMM; see the module docstring. ``max_iter`` counts ADMM iterations."""
    if not supports_admm(datafit, penalty):
        raise ValueError("solver='admm' needs the squared loss in Gram form (moderate "
                         "n_features) and a penalty on W; use solver='fista'.")
    Ht, rt, elim = _reduced_gram(datafit)
    lam, Q = np.linalg.eigh(Ht)
    lam = np.maximum(lam, 0.0)
    QT = np.ascontiguousarray(np.transpose(Q, (0, 2, 1)))
    T, d = rt.shape
    if gradient_scale is None:
        gradient_scale = float(np.max(np.abs(rt), initial=0.0))
    tol_abs = tol * max(gradient_scale, np.finfo(float).tiny)

    def gradient(Z):  # (T, d): gradient of the reduced data term
        return _batched(Ht, Z) - rt

    def kkt(Z, G):
        return penalty.subdiff_distance(np.ascontiguousarray(Z.T), np.ascontiguousarray(G.T))

    # rho: the mean curvature of the tasks, then adapted
    rho = float(np.mean(lam.sum(axis=1))) / max(d, 1) or 1.0
    Z = np.ascontiguousarray(np.asarray(W0, dtype=np.float64).T)
    G = gradient(Z)
    U = -G / rho  # the dual at a solution, so that a warm start is a fixed point
    crit = kkt(Z, G)
    n_iter = 0
    converged = crit <= tol_abs
    while not converged and n_iter < max_iter:
        n_iter += 1
        W = _batched(Q, _batched(QT, rt + rho * (Z - U)) / (lam + rho))
        W_hat = relaxation * W + (1.0 - relaxation) * Z
        Z_old = Z
        Z = np.ascontiguousarray(penalty.prox((W_hat + U).T, 1.0 / rho).T)
        U = U + W_hat - Z
        if n_iter % check_every == 0:
            crit = kkt(Z, gradient(Z))
            converged = crit <= tol_abs
            if verbose:
                print(f"[ADMM] iter {n_iter:5d}  optimality {crit:.3e}  rho {rho:.3e}")
            primal = np.linalg.norm(W - Z)
            dual = rho * np.linalg.norm(Z - Z_old)
            if primal > 10.0 * dual:
                rho *= 2.0
                U /= 2.0
            elif dual > 10.0 * primal:
                rho /= 2.0
                U *= 2.0
    W = np.ascontiguousarray(Z.T)
    if elim is not None:
        h, hbb, rb = elim
        b = (rb - np.einsum("tj,tj->t", h, Z)) / hbb
    else:
        b = np.zeros(T)
    return result_at(datafit, penalty, W, b, n_iter=n_iter, tol_abs=tol_abs,
                     fit_intercept=fit_intercept)
