"""Compiled ADMM iterations for the squared loss in Gram form (see :mod:`.admm`).

Arrays are task-major: ``Z, U, W (T, d)``; the reduced per-task Gram matrices
``Ht (T, d, d)`` are factorised as ``L_t L_t^T = Ht_t + rho I`` (Cholesky, redone
when ``rho`` changes). One ADMM iteration is

    W_t <- (Ht_t + rho I)^{-1} (rt_t + rho (Z_t - U_t))      (every task)
    Z   <- prox_{P / rho}(W + U)                             (rows, dirty or trace)
    U   <- U + W - Z

and each ``admm_*`` kernel runs ``n_steps`` of them, returning the primal and dual
residual norms ``||W - Z||`` and ``rho ||Z - Z_old||`` of the last one.
"""

import numpy as np
from numba import njit

from ._bcd_kernels import _row_prox


@njit(cache=True, fastmath=True)
def shifted_inverse(Ht, rho, M):
    """``M[t] = (Ht[t] + rho I)^{-1}`` (rho > 0, Ht PSD), through the Cholesky factor
    ``L`` and its inverse (``M = L^{-T} L^{-1}``); about ``d^3 / 2`` flops per task."""
    T, d, _ = Ht.shape
    L = np.zeros((d, d))
    Li_T = np.zeros((d, d))  # (L^{-1})^T, so that every inner loop reads a row
    for t in range(T):
        for j in range(d):
            s = Ht[t, j, j] + rho
            for k in range(j):
                s -= L[j, k] * L[j, k]
            Ljj = np.sqrt(max(s, 1e-300))
            L[j, j] = Ljj
            for i in range(j + 1, d):
                s = Ht[t, i, j]
                for k in range(j):
                    s -= L[i, k] * L[j, k]
                L[i, j] = s / Ljj
        for j in range(d):  # column j of L^{-1} = row j of Li_T
            Li_T[j, j] = 1.0 / L[j, j]
            for i in range(j + 1, d):
                s = 0.0
                for k in range(j, i):
                    s += L[i, k] * Li_T[j, k]
                Li_T[j, i] = -s / L[i, i]
        for i in range(d):
            for j in range(i, d):
                s = 0.0
                for k in range(j, d):
                    s += Li_T[i, k] * Li_T[j, k]
                M[t, i, j] = s
                M[t, j, i] = s


@njit(cache=True, fastmath=True)
def _solve_tasks(M, rt, Z, U, rho, W):
    """W_t = M_t (rt_t + rho (Z_t - U_t)), with ``M_t = (H~_t + rho I)^{-1}``."""
    T, d = rt.shape
    x = np.empty(d)
    for t in range(T):
        for i in range(d):
            x[i] = rt[t, i] + rho * (Z[t, i] - U[t, i])
        for i in range(d):
            s = 0.0
            for k in range(d):
                s += M[t, i, k] * x[k]
            W[t, i] = s


@njit(cache=True, fastmath=True)
def batched_gradient(Ht, rt, Z, G):
    """G_t = Ht_t Z_t - rt_t (gradient of the reduced data term)."""
    T, d = rt.shape
    for t in range(T):
        for i in range(d):
            s = -rt[t, i]
            for k in range(d):
                s += Ht[t, i, k] * Z[t, k]
            G[t, i] = s


@njit(cache=True)
def _dual_update(W, Z, Z_old, U, rho):
    primal = 0.0
    dual = 0.0
    T, d = W.shape
    for t in range(T):
        for j in range(d):
            r = W[t, j] - Z[t, j]
            U[t, j] += r
            primal += r * r
            e = Z[t, j] - Z_old[t, j]
            dual += e * e
    return np.sqrt(primal), rho * np.sqrt(dual)


@njit(cache=True)
def admm_rows(M, rt, Z, U, W, rho, n_steps, kind, a1, a2, l2, positive):
    """ADMM steps for a row-separable penalty (row ``j`` = feature ``j`` across tasks)."""
    T, d = rt.shape
    z = np.empty(T)
    out = np.empty(T)
    Z_old = np.empty_like(Z)
    step = 1.0 / rho
    shrink = 1.0 + step * l2
    primal = dual = 0.0
    for _ in range(n_steps):
        _solve_tasks(M, rt, Z, U, rho, W)
        Z_old[:] = Z
        for j in range(d):
            for t in range(T):
                z[t] = (W[t, j] + U[t, j]) / shrink
            _row_prox(kind[j], z, step / shrink, a1[j], a2[j], positive, out)
            for t in range(T):
                Z[t, j] = out[t]
        primal, dual = _dual_update(W, Z, Z_old, U, rho)
    return primal, dual


@njit(cache=True)
def dirty_l21_row(v, rho, alpha, beta, b, s):
    """Split ``x = prox_{h/rho}(v)`` of ``h = inf_{b+s=x} alpha||b||_2 + beta||s||_1`` into
    its minimising ``(b, s)``.

    With ``u = rho |v|`` the dual ``y = rho (v - x)`` is the projection of ``rho v`` on
    ``{||y||_2 <= alpha} & {||y||_inf <= beta}``: ``y_i = sign(v_i) min(kappa u_i, beta)``
    with ``kappa = 1`` if that has norm <= alpha, else the ``kappa`` in (0, 1) giving
    norm alpha. Then ``b = (1 - kappa) v`` and ``s = 0`` where ``y`` is not clipped,
    ``b = sign(v) (1 - kappa) beta / (rho kappa)``, ``s = sign(v) (|v| - beta / (rho kappa))``
    where it is (``kappa = 1``: ``b = 0``, ``s`` = soft-thresholding).
    """
    T = v.shape[0]
    u = np.abs(v) * rho
    f1 = 0.0
    for i in range(T):
        m = min(u[i], beta)
        f1 += m * m
    kappa = 1.0
    if f1 > alpha * alpha:
        us = -np.sort(-u)  # descending
        tail = np.empty(T + 1)  # tail[m] = sum_{i >= m} us_i^2
        tail[T] = 0.0
        for i in range(T - 1, -1, -1):
            tail[i] = tail[i + 1] + us[i] * us[i]
        found = False
        for m in range(T + 1):  # the m largest are clipped
            rem = alpha * alpha - m * beta * beta
            if rem <= 0.0 or tail[m] <= 0.0:
                break
            k = np.sqrt(rem / tail[m])
            if (m == T or k * us[m] <= beta) and (m == 0 or k * us[m - 1] >= beta):
                kappa = min(k, 1.0)
                found = True
                break
        if not found:  # round-off at a boundary: bisection on kappa
            lo, hi = 0.0, 1.0
            for _ in range(200):
                mid = 0.5 * (lo + hi)
                f = 0.0
                for i in range(T):
                    m2 = min(mid * u[i], beta)
                    f += m2 * m2
                if f > alpha * alpha:
                    hi = mid
                else:
                    lo = mid
            kappa = max(lo, 1e-300)
    cut = beta / (rho * kappa)
    for i in range(T):
        a = abs(v[i])
        sg = 1.0 if v[i] >= 0 else -1.0
        if a <= cut:
            b[i] = (1.0 - kappa) * v[i]
            s[i] = 0.0
        else:
            b[i] = sg * (1.0 - kappa) * cut
            s[i] = sg * (a - cut)


@njit(cache=True)
def _capped_sum(a, theta, cap):
    out = 0.0
    for i in range(a.shape[0]):
        out += min(max(a[i] - theta, 0.0), cap)
    return out


@njit(cache=True)
def dirty_l1inf_row(v, rho, alpha, beta, b, s):
    """As :func:`dirty_l21_row` for ``alpha ||b||_inf``: with ``a = |v|`` and ``cap = beta/rho``,
    ``theta >= 0`` solves ``sum_i min(max(a_i - theta, 0), cap) = alpha / rho``
    (``theta = 0`` if the left side is already <= alpha / rho); then
    ``b = sign(v) min(a, theta)`` and ``s = sign(v) max(a - theta - cap, 0)``.
    """
    T = v.shape[0]
    a = np.abs(v)
    cap = beta / rho
    level = alpha / rho
    theta = 0.0
    if _capped_sum(a, 0.0, cap) > level:
        # the sum is piecewise linear and non-increasing in theta, with kinks at a_i
        # and a_i - cap: find the kinks around the solution, then interpolate
        p = np.empty(2 * T + 1)
        for i in range(T):
            p[2 * i] = a[i]
            p[2 * i + 1] = max(a[i] - cap, 0.0)
        p[2 * T] = 0.0
        p = np.sort(p)
        lo, hi = 0, 2 * T  # sum(p[lo]) > level >= sum(p[hi]) (sum(max a) = 0)
        while hi - lo > 1:
            mid = (lo + hi) // 2
            if _capped_sum(a, p[mid], cap) > level:
                lo = mid
            else:
                hi = mid
        f_lo, f_hi = _capped_sum(a, p[lo], cap), _capped_sum(a, p[hi], cap)
        theta = p[lo] + (f_lo - level) * (p[hi] - p[lo]) / (f_lo - f_hi)
    for i in range(T):
        sg = 1.0 if v[i] >= 0 else -1.0
        b[i] = sg * min(a[i], theta)
        s[i] = sg * max(a[i] - theta - cap, 0.0)


@njit(cache=True)
def admm_dirty(M, rt, Z, U, W, rho, n_steps, block_is_l21, alpha, beta, B, S):
    """ADMM steps for the dirty model on ``W = B + S``: the z-step is the prox of the
    infimal convolution of the two penalties, split exactly into ``B`` and ``S``
    (both ``(T, d)``, updated in place)."""
    T, d = rt.shape
    v = np.empty(T)
    b = np.empty(T)
    s = np.empty(T)
    Z_old = np.empty_like(Z)
    primal = dual = 0.0
    for _ in range(n_steps):
        _solve_tasks(M, rt, Z, U, rho, W)
        Z_old[:] = Z
        for j in range(d):
            for t in range(T):
                v[t] = W[t, j] + U[t, j]
            if block_is_l21:
                dirty_l21_row(v, rho, alpha, beta, b, s)
            else:
                dirty_l1inf_row(v, rho, alpha, beta, b, s)
            for t in range(T):
                B[t, j] = b[t]
                S[t, j] = s[t]
                Z[t, j] = b[t] + s[t]
        primal, dual = _dual_update(W, Z, Z_old, U, rho)
    return primal, dual


@njit(cache=True)
def admm_trace(M, rt, Z, U, W, rho, n_steps, alpha, l2):
    """ADMM steps for ``alpha ||W||_* + l2/2 ||W||^2`` (singular value thresholding)."""
    Z_old = np.empty_like(Z)
    step = 1.0 / rho
    shrink = 1.0 + step * l2
    thr = step / shrink * alpha
    primal = dual = 0.0
    for _ in range(n_steps):
        _solve_tasks(M, rt, Z, U, rho, W)
        Z_old[:] = Z
        Uo, sv, Vt = np.linalg.svd((W + U) / shrink, full_matrices=False)
        Z[:] = 0.0
        for k in range(sv.shape[0]):
            sk = sv[k] - thr
            if sk <= 0.0:
                break
            Z += sk * np.outer(Uo[:, k], Vt[k])
        primal, dual = _dual_update(W, Z, Z_old, U, rho)
    return primal, dual
