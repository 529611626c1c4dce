"""Compiled ADMM iterations for the squared loss in Gram form (see :mod:`.admm`).

Arrays are task-major: ``Z, U, W (T, d)``; ``Ht (T, d, d)`` are the reduced per-task
Gram matrices. One ADMM iteration is

    W_t <- (Ht_t + diag(rho))^{-1} (rt_t + rho * (Z_t - U_t)) (every task)
    Z   <- prox_{P / rho}(W + U)                             (rows, dirty or trace)
    U   <- U + W - Z

with ``rho`` one penalty parameter per row of ``W^T`` (feature), and each ``admm_*``
kernel runs ``n_steps`` of them (the row-separable penalties' kernels, one per kind
of row penalty: :mod:`._admm_rows`), returning the primal and dual residual norms
``||W - Z||`` and ``||rho * (Z - Z_old)||`` of the last one.
"""

import numpy as np
from numba import njit

from .._kernels.dense import copy_2d


@njit(cache=True, fastmath=True, error_model="numpy")
def shifted_inverse(Ht, shift, M):
    """``M[t] = (Ht[t] + diag(shift))^{-1}`` for symmetric positive definite systems:
    upper Cholesky factor ``R^T R``, then ``R^T Y = I`` and ``R M = Y``, all by row
    updates (contiguous and vectorised; dot-product forms are latency-bound at
    School's ``d = 28``). Returns False if a pivot is not positive (relative to
    ``1e-13`` of its diagonal entry): the system is singular to working precision.

    It compiles in about 1.2 s of CPU on the first fit after installing. Measured
    alternatives: Gauss-Jordan in place compiled in half that and ran in half the
    time, but its rounding kept ADMM on the MALSAR dirty setting (raw School, no
    intercept) from reaching ``tol=1e-12``; NumPy's batched ``np.linalg.inv`` (no
    compilation) took 2.3 ms against 1.1 ms at School's ``139 x 28 x 28`` and 5 times
    longer for 1e5 tasks of ``d = 3``."""
    T, d, _ = Ht.shape
    ok = True
    R = np.empty((d, d))
    Y = np.empty((d, d))
    X = np.empty((d, d))
    for t in range(T):
        # A = Ht + rho I, upper Cholesky A = R^T R by row axpys (A's upper part in R)
        for i in range(d):
            for j in range(d):
                R[i, j] = Ht[t, i, j]
            R[i, i] += shift[i]
        for j in range(d):
            if not R[j, j] > 1e-13 * abs(Ht[t, j, j] + shift[j]):
                ok = False
            piv = np.sqrt(max(R[j, j], 1e-300))
            inv = 1.0 / piv
            for c in range(j + 1, d):
                R[j, c] *= inv
            R[j, j] = piv
            for i in range(j + 1, d):
                f = R[j, i]
                for c in range(i, d):
                    R[i, c] -= f * R[j, c]
        # R^T Y = I (forward, rows)
        for i in range(d):
            for c in range(d):
                Y[i, c] = 0.0
            Y[i, i] = 1.0
            for k in range(i):
                f = R[k, i]
                for c in range(k + 1):
                    Y[i, c] -= f * Y[k, c]
            inv = 1.0 / R[i, i]
            for c in range(i + 1):
                Y[i, c] *= inv
        # R X = Y (backward, rows)
        for i in range(d - 1, -1, -1):
            for c in range(d):
                X[i, c] = Y[i, c]
            for k in range(i + 1, d):
                f = R[i, k]
                for c in range(d):
                    X[i, c] -= f * X[k, c]
            inv = 1.0 / R[i, i]
            for c in range(d):
                X[i, c] *= inv
        for i in range(d):
            for c in range(d):
                M[t, i, c] = X[i, c]
    return ok


@njit(cache=True, fastmath=True, error_model="numpy")
def _solve_tasks(M, rt, Z, U, rho, W, x):
    """W_t = M_t (rt_t + rho * (Z_t - U_t)), with ``M_t = (H~_t + diag(rho))^{-1}``
    (``x (d,)``: scratch)."""
    T, d = rt.shape
    for t in range(T):
        for i in range(d):
            x[i] = rt[t, i] + rho[i] * (Z[t, i] - U[t, i])
        for i in range(d):
            s = 0.0
            for k in range(d):
                s += M[t, i, k] * x[k]
            W[t, i] = s


def batched_gradient(Ht, rt, Z, G):
    """G_t = Ht_t Z_t - rt_t (gradient of the reduced data term). The products by
    :func:`_solve_tasks` (``x_t = Z_t + 0 (Z_t - Z_t) = Z_t``), which every ADMM fit
    compiles anyway: a kernel of its own cost 0.15-0.25 s of CPU to compile on the
    first fit after installing, for 3 us a call less (22 against 25 us on School)."""
    _solve_tasks(Ht, Z, Z, Z, np.zeros(rt.shape[1]), G, np.empty(rt.shape[1]))
    np.subtract(G, rt, out=G)


@njit(cache=True, inline="always", error_model="numpy")
def _dual_update(W, Z, Z_old, U, rho):
    primal = 0.0
    dual = 0.0
    T, d = W.shape
    for t in range(T):
        for j in range(d):
            r = W[t, j] - Z[t, j]
            U[t, j] += r
            primal += r * r
            e = rho[j] * (Z[t, j] - Z_old[t, j])
            dual += e * e
    return np.sqrt(primal), np.sqrt(dual)


@njit(cache=True, error_model="numpy")
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


@njit(cache=True, inline="always", error_model="numpy")
def dirty_l1inf_row(v, rho, alpha, beta, b, s, theta0=0.0):
    """As :func:`dirty_l21_row` for ``alpha ||b||_inf``: with ``a = |v|`` and ``cap = beta/rho``,
    ``theta >= 0`` solves ``h(theta) = sum_i min(max(a_i - theta, 0), cap) = alpha / rho``
    (``theta = 0`` if ``h(0) <= alpha / rho``); then ``b = sign(v) min(a, theta)`` and
    ``s = sign(v) max(a - theta - cap, 0)``. Returns ``theta``.

    ``h`` is piecewise linear and non-increasing: Newton steps from ``theta0`` (the
    previous iteration's value: a few O(T) passes once ADMM settles), safeguarded
    by bisection inside a bracket that always holds the root.

    Inlined into :func:`_admm_dirty_l1inf`, its one caller: the two compiled together
    took 1.93 s of CPU against 2.19 s apart (medians of 3, the helpers they call
    already compiled), and 100 ADMM steps on School ran in the same time (11.37
    against 11.47 ms) to the same iterates. (The l2,1 split, with its sort, showed no
    such gain and stays a kernel of its own.)
    """
    T = v.shape[0]
    a = s  # |v| (in s until s is written, entry by entry, at the end), by loops:
    amax = 0.0  # np.abs and a.max() cost ~1 s of CPU to compile
    cap = beta / rho
    level = alpha / rho
    h0 = 0.0  # h(0), summed here: a helper kernel is a compilation of its own
    for i in range(T):
        a[i] = abs(v[i])
        amax = max(amax, a[i])
        h0 += min(a[i], cap)
    theta = 0.0
    if h0 > level:
        lo, hi = 0.0, amax  # h(lo) > level >= h(hi) = 0
        th = min(max(theta0, lo), hi)
        if th <= lo or th >= hi:
            th = 0.5 * (lo + hi)
        for _ in range(200):
            h = 0.0
            count = 0
            for i in range(T):
                x = a[i] - th
                if x >= cap:
                    h += cap
                elif x > 0.0:
                    h += x
                    count += 1
            if h > level:
                lo = th
            else:
                hi = th
            if h == level or hi - lo <= 4e-16 * hi:
                break
            nxt = th + (h - level) / count if count > 0 else 0.5 * (lo + hi)
            if not lo < nxt < hi:
                nxt = 0.5 * (lo + hi)
            th = nxt
        theta = th
    for i in range(T):
        sg = 1.0 if v[i] >= 0 else -1.0
        ai = a[i]
        b[i] = sg * min(ai, theta)
        s[i] = sg * max(ai - theta - cap, 0.0)
    return theta


def admm_dirty(M, rt, Z, U, W, rho, n_steps, block_is_l21, alpha, beta, B, S, theta):
    """ADMM steps for the dirty model on ``W = B + S``: the z-step is the prox of the
    infimal convolution of the two penalties, split exactly into ``B`` and ``S``
    (both ``(T, d)``, updated in place; ``theta (d,)``: the l1/linf row thresholds,
    kept as the next iteration's starting points).

    One compiled kernel per block penalty: a kernel holding both row splits compiled
    both (the l21 split's sort alone took ~2 s of CPU) on every first fit."""
    vecs, Z_old, x = admm_buffers(*rt.shape, 3)
    if block_is_l21:
        return _admm_dirty_l21(M, rt, Z, U, W, rho, n_steps, alpha, beta, B, S, vecs,
                               Z_old, x)
    return _admm_dirty_l1inf(M, rt, Z, U, W, rho, n_steps, alpha, beta, B, S, theta, vecs,
                             Z_old, x)


def admm_buffers(T, d, n_vecs):
    """Scratch arrays of the ADMM kernels, allocated here and passed in: ``n_vecs`` rows
    of length ``T``, ``Z_old (T, d)`` and ``x (d,)`` for :func:`_solve_tasks`. An array
    allocated inside a kernel (``np.empty``) makes numba compile its allocation
    routines, 0.2-0.3 s of CPU on the first fit after installing, in every fit whose
    kernels allocate. (:func:`shifted_inverse` keeps its own: with the scratch passed
    in it ran 5-9 % slower, LLVM no longer knowing that they do not overlap ``Ht``.)"""
    return np.empty((n_vecs, T)), np.empty((T, d)), np.empty(d)


@njit(cache=True, error_model="numpy")
def _admm_dirty_l21(M, rt, Z, U, W, rho, n_steps, alpha, beta, B, S, vecs, Z_old, x):
    T, d = rt.shape
    v, b, s = vecs[0], vecs[1], vecs[2]
    primal = dual = 0.0
    for _ in range(n_steps):
        _solve_tasks(M, rt, Z, U, rho, W, x)
        copy_2d(Z_old, Z)
        for j in range(d):
            for t in range(T):
                v[t] = W[t, j] + U[t, j]
            dirty_l21_row(v, rho[j], alpha, beta, b, s)
            for t in range(T):  # written out: a helper kernel compiles on its own
                B[t, j] = b[t]
                S[t, j] = s[t]
                Z[t, j] = b[t] + s[t]
        primal, dual = _dual_update(W, Z, Z_old, U, rho)
    return primal, dual


@njit(cache=True, error_model="numpy")
def _admm_dirty_l1inf(M, rt, Z, U, W, rho, n_steps, alpha, beta, B, S, theta, vecs, Z_old,
                      x):
    T, d = rt.shape
    v, b, s = vecs[0], vecs[1], vecs[2]
    primal = dual = 0.0
    for _ in range(n_steps):
        _solve_tasks(M, rt, Z, U, rho, W, x)
        copy_2d(Z_old, Z)
        for j in range(d):
            for t in range(T):
                v[t] = W[t, j] + U[t, j]
            theta[j] = dirty_l1inf_row(v, rho[j], alpha, beta, b, s, theta[j])
            for t in range(T):  # written out: a helper kernel compiles on its own
                B[t, j] = b[t]
                S[t, j] = s[t]
                Z[t, j] = b[t] + s[t]
        primal, dual = _dual_update(W, Z, Z_old, U, rho)
    return primal, dual


# The trace norm's ADMM runs in NumPy, not compiled: its z-step is an eigendecomposition
# (or an SVD), which numba compiles through its LAPACK wrappers in about 15 s of CPU time
# on the first fit after installing, while NumPy calls LAPACK directly. (Python's
# overhead, some microseconds a step, is small beside the eigendecomposition.)
def singular_value_threshold(Y, thr, Z):
    """``Z = prox_{thr ||.||_*}(Y)``: ``Y = U diag(s) V^T -> U diag(max(s - thr, 0)) V^T``.

    Through the eigendecomposition of the small Gram matrix (``Y^T Y`` or ``Y Y^T``):
    ``Z = Y V diag(phi) V^T`` with ``phi = max(1 - thr / s, 0)``, 2-4 times cheaper than
    an SVD of School's ``139 x 28``. Squaring loses the singular values below about
    ``1e-8 s_max``; they are thresholded to zero anyway unless ``thr`` is that small,
    and then a full SVD is used.
    """
    T, d = Y.shape
    tall = T >= d
    G = Y.T @ Y if tall else Y @ Y.T
    lam, V = np.linalg.eigh(G)
    top = max(lam[-1], 0.0)
    if thr * thr < 1e-12 * top:
        Uo, sv, Vt = np.linalg.svd(Y, full_matrices=False)
        keep = sv > thr
        Z[...] = (Uo[:, keep] * (sv[keep] - thr)) @ Vt[keep]
        return
    keep = lam > thr * thr
    Vk = V[:, keep]
    P = (Vk * (1.0 - thr / np.sqrt(lam[keep]))) @ Vk.T
    Z[...] = Y @ P if tall else P @ Y


def admm_trace(M, rt, Z, U, W, rho, n_steps, alpha, l2):
    """ADMM steps for ``alpha ||W||_* + l2/2 ||W||^2`` (singular value thresholding
    in NumPy, see above, as is the dual update; the per-task solves compiled, as for
    :func:`._admm_rows.admm_rows`, whose return value it shares)."""
    step = 1.0 / rho[0]  # one rho for every row: the prox is not separable
    shrink = 1.0 + step * l2
    thr = step / shrink * alpha
    Z_old = np.empty_like(Z)
    primal = dual = 0.0
    x = np.empty(rt.shape[1])
    for _ in range(n_steps):
        _solve_tasks(M, rt, Z, U, rho, W, x)
        Z_old[...] = Z
        singular_value_threshold((W + U) / shrink, thr, Z)
        R = W - Z  # the dual update in NumPy: no kernel compiled for it (0.2-0.3 s)
        U += R
        E = rho * (Z - Z_old)
        primal, dual = float(np.sqrt(np.vdot(R, R))), float(np.sqrt(np.vdot(E, E)))
    return primal, dual
