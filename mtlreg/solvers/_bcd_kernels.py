"""Compiled block coordinate descent on the Gram form of the squared loss.

Rows of the solver variable ``V`` are blocks (one feature across all tasks, or
one row of ``B`` / ``S`` for the dirty model: ``feat[rho]`` is the feature of
row ``rho``). Row penalties are given by an integer kind and two strengths (see
:mod:`mtlreg._kernels.prox`).
"""

import numpy as np
from numba import njit

from .._kernels.dense import copy_2d
from .._kernels.prox import (
    L1_KIND,
    L1INF_KIND,
    L21_KIND,
    MEAN_KIND,
    SGL_KIND,
    ZERO_KIND,
    _row_dist,
    _row_prox,
)


@njit(cache=True, error_model="numpy")
def _new_row(kd, v, g, h, L, a1, a2, l2, positive, z, new):
    """The block update of one row ``v`` given its gradient ``g`` and the curvature of
    each task ``h`` (``L = max h``): exact per-task minimisation for penalties
    separable over tasks (l1, none), a proximal step of size ``1/L`` otherwise."""
    T = v.shape[0]
    if L <= 0.0:  # the feature is constant in every task: only the penalty sees it
        for t in range(T):
            new[t] = 0.0
    elif kd == L1_KIND or kd == ZERO_KIND:
        thr = a1 if kd == L1_KIND else 0.0
        for t in range(T):
            u = h[t] * v[t] - g[t]
            if u > thr:
                u -= thr
            elif u < -thr and not positive:
                u += thr
            else:
                u = 0.0
            new[t] = u / (h[t] + l2) if h[t] + l2 > 0.0 else 0.0
    else:
        step = 1.0 / L
        shrink = 1.0 + step * l2
        for t in range(T):
            z[t] = (v[t] - step * g[t]) / shrink
        _row_prox(kd, z, step / shrink, a1, a2, positive, new)


@njit(cache=True, error_model="numpy")
def row_scores(V, G, feat, kind, a1, a2, l2, positive):
    """Optimality measure of every row (the working-set priority); G is per feature."""
    out = np.empty(V.shape[0])
    g = np.empty(V.shape[1])
    for rho in range(V.shape[0]):
        for t in range(V.shape[1]):
            g[t] = G[feat[rho], t] + l2 * V[rho, t]
        out[rho] = _row_dist(kind[rho], V[rho], g, a1[rho], a2[rho], positive)
    return out


@njit(cache=True, error_model="numpy")
def _exact_products(H, V, feat, b, fit_intercept, Q):
    """Q[t] = H_t [w_t; b_t] with w = sum of the rows of V per feature."""
    T, k, _ = H.shape
    d = k - fit_intercept
    Wm = np.zeros((T, k))
    for rho in range(V.shape[0]):
        for t in range(T):
            Wm[t, feat[rho]] += V[rho, t]
    if fit_intercept:
        for t in range(T):
            Wm[t, d] = b[t]
    for t in range(T):
        for i in range(k):
            acc = 0.0
            for j in range(k):
                acc += H[t, i, j] * Wm[t, j]
            Q[t, i] = acc


@njit(cache=True, error_model="numpy")
def _kkt(H, r, V, feat, b, fit_intercept, Q, kind, a1, a2, l2, positive):
    T, k, _ = H.shape
    d = k - fit_intercept
    worst = 0.0
    g = np.empty(T)
    for rho in range(V.shape[0]):
        j = feat[rho]
        for t in range(T):
            g[t] = Q[t, j] - r[t, j] + l2 * V[rho, t]
        worst = max(worst, _row_dist(kind[rho], V[rho], g, a1[rho], a2[rho], positive))
    if fit_intercept:
        for t in range(T):
            worst = max(worst, abs(Q[t, d] - r[t, d]))
    return worst


@njit(cache=True, error_model="numpy")
def bcd_gram(H, r, V, feat, b, kind, a1, a2, l2, positive, fit_intercept, tol_abs,
             max_epochs, check_every):
    """Minimise sum_t (v_t^T H_t v_t / 2 - r_t^T v_t) + sum_rows penalty (V, b updated in place).

    Returns (n_epochs, kkt, converged).
    """
    T, k, _ = H.shape
    d = k - fit_intercept
    n_rows = V.shape[0]
    L = np.zeros(d)
    for j in range(d):
        for t in range(T):
            L[j] = max(L[j], H[t, j, j])
    Q = np.empty((T, k))
    _exact_products(H, V, feat, b, fit_intercept, Q)
    z = np.empty(T)
    new = np.empty(T)
    g = np.empty(T)
    h = np.empty(T)
    kkt = np.inf
    epoch = 0
    for epoch in range(1, max_epochs + 1):
        for rho in range(n_rows):
            j = feat[rho]
            for t in range(T):
                g[t] = Q[t, j] - r[t, j]
                h[t] = H[t, j, j]
            _new_row(kind[rho], V[rho], g, h, L[j], a1[rho], a2[rho], l2, positive, z, new)
            for t in range(T):
                delta = new[t] - V[rho, t]
                if delta != 0.0:
                    V[rho, t] = new[t]
                    for i in range(k):
                        Q[t, i] += H[t, i, j] * delta
        if fit_intercept:
            for t in range(T):
                hb = H[t, d, d]
                if hb > 0.0:
                    delta = -(Q[t, d] - r[t, d]) / hb
                    b[t] += delta
                    for i in range(k):
                        Q[t, i] += H[t, i, d] * delta
        if epoch % check_every == 0 or epoch == max_epochs:
            _exact_products(H, V, feat, b, fit_intercept, Q)  # no drift in Q
            kkt = _kkt(H, r, V, feat, b, fit_intercept, Q, kind, a1, a2, l2, positive)
            if kkt <= tol_abs:
                return epoch, kkt, True
    return epoch, kkt, False


# --------------------------------------------------------------------------- #
# Working-set BCD on a dense shared design, residual stored task-major.
#
# ``RT (T, n)`` is the weighted residual ``(C * (Z - Y)).T`` (each task's residual
# contiguous: the gradient of a row is T dot products of length n, the update T
# axpys, both vectorised). ``uniform``: every task's weight is the same on every
# sample (no missing label, equal sample weights: the common case), ``C[i, t] =
# cvec[t]``, and the update reads no weight matrix.
# --------------------------------------------------------------------------- #
_FASTMATH = {"reassoc", "contract", "nsz", "arcp"}  # vectorised sums; inf/nan kept


@njit(fastmath=_FASTMATH, cache=True, error_model="numpy")
def _centred_column(X, j, mj, xc):
    for i in range(xc.shape[0]):
        xc[i] = X[i, j] - mj


@njit(fastmath=_FASTMATH, cache=True, error_model="numpy")
def _dots(xc, RT, g):
    n = xc.shape[0]
    for t in range(RT.shape[0]):
        acc = 0.0
        for i in range(n):
            acc += xc[i] * RT[t, i]
        g[t] = acc


@njit(fastmath=_FASTMATH, cache=True, error_model="numpy")
def _axpys(xc, RT, CT, cvec, uniform, delta):
    n = xc.shape[0]
    for t in range(RT.shape[0]):
        dt = delta[t]
        if dt == 0.0:
            continue
        if uniform:
            dt *= cvec[t]
            for i in range(n):
                RT[t, i] += xc[i] * dt
        else:
            for i in range(n):
                RT[t, i] += CT[t, i] * xc[i] * dt


@njit(fastmath=_FASTMATH, cache=True, error_model="numpy")
def centred_sq_norms(X, mu):
    """``sum_i (x_ij - mu_j)^2`` for every column of ``X`` (read in memory order)."""
    n, d = X.shape
    out = np.zeros(d)
    if X.strides[0] >= X.strides[1]:  # rows contiguous (C order): sweep row by row
        for i in range(n):
            for j in range(d):
                v = X[i, j] - mu[j]
                out[j] += v * v
        return out
    for j in range(d):
        acc = 0.0
        for i in range(n):
            v = X[i, j] - mu[j]
            acc += v * v
        out[j] = acc
    return out


@njit(cache=True, error_model="numpy")
def _row_value(kind, w, a1, a2, l2, positive):
    """Penalty of one row (``inf`` outside the positivity constraint)."""
    T = w.shape[0]
    sq = 0.0
    ab = 0.0
    mx = 0.0
    s = 0.0
    for t in range(T):
        if positive and w[t] < 0.0:
            return np.inf
        sq += w[t] * w[t]
        ab += abs(w[t])
        mx = max(mx, abs(w[t]))
        s += w[t]
    val = 0.5 * l2 * sq
    if kind == L21_KIND:
        val += a1 * np.sqrt(sq)
    elif kind == L1_KIND:
        val += a1 * ab
    elif kind == SGL_KIND:
        val += a1 * ab + a2 * np.sqrt(sq)
    elif kind == L1INF_KIND:
        val += a1 * mx
    elif kind == MEAN_KIND:
        mean = s / T
        dev = 0.0
        for t in range(T):
            dev += (w[t] - mean) ** 2
        val += 0.5 * a1 * dev
    return val


@njit(cache=True, error_model="numpy")
def _ws_objective(RT, CT, cvec, uniform, V, rows, kind, a1, a2, l2, positive):
    """Data term (from the weighted residual) + penalty of the rows in ``rows``."""
    T, n = RT.shape
    val = 0.0
    for t in range(T):
        if uniform:
            if cvec[t] > 0.0:
                acc = 0.0
                for i in range(n):
                    acc += RT[t, i] * RT[t, i]
                val += 0.5 * acc / cvec[t]
        else:
            for i in range(n):
                if CT[t, i] > 0.0:
                    val += 0.5 * RT[t, i] * RT[t, i] / CT[t, i]
    for k in range(rows.shape[0]):
        rho = rows[k]
        val += _row_value(kind[rho], V[rho], a1[rho], a2[rho], l2, positive)
    return val


@njit(fastmath=_FASTMATH, cache=True, error_model="numpy")
def _axpys_dots(xc, xn, RT, CT, cvec, uniform, delta, gn):
    """``RT += (C *) xc delta^T`` fused with the next row's gradient ``gn = RT xn``
    (one pass over the residual instead of two)."""
    n = xc.shape[0]
    for t in range(RT.shape[0]):
        dt = delta[t]
        acc = 0.0
        if dt == 0.0:
            for i in range(n):
                acc += xn[i] * RT[t, i]
        elif uniform:
            dt *= cvec[t]
            for i in range(n):
                r = RT[t, i] + xc[i] * dt
                RT[t, i] = r
                acc += xn[i] * r
        else:
            for i in range(n):
                r = RT[t, i] + CT[t, i] * xc[i] * dt
                RT[t, i] = r
                acc += xn[i] * r
        gn[t] = acc


@njit(cache=True, error_model="numpy")
def _sweep_design(X, mu, CT, cvec, uniform, RT, V, feat, rows, b, D, kind, a1, a2, l2,
                  positive, fit_intercept, xc, xn, g, gn, h, z, new, gl):
    """One sweep over ``rows``; returns the largest optimality violation of a row seen
    just before its update (a cheap proxy of the optimality on the working set)."""
    T, n = RT.shape
    p = rows.shape[0]
    worst = 0.0
    if p > 0:
        j = feat[rows[0]]
        _centred_column(X, j, mu[j], xc)
        _dots(xc, RT, g)
    for k in range(p):
        rho = rows[k]
        j = feat[rho]
        Lj = 0.0
        for t in range(T):
            h[t] = D[j, t]
            Lj = max(Lj, h[t])
            gl[t] = g[t] + l2 * V[rho, t]
        worst = max(worst, _row_dist(kind[rho], V[rho], gl, a1[rho], a2[rho], positive))
        _new_row(kind[rho], V[rho], g, h, Lj, a1[rho], a2[rho], l2, positive, z, new)
        changed = False
        for t in range(T):
            new[t] -= V[rho, t]  # now the change
            if new[t] != 0.0:
                changed = True
                V[rho, t] += new[t]
        if k + 1 < p:
            jn = feat[rows[k + 1]]
            _centred_column(X, jn, mu[jn], xn)
            if changed:
                _axpys_dots(xc, xn, RT, CT, cvec, uniform, new, gn)
            else:
                _dots(xn, RT, gn)
            xc, xn = xn, xc
            g, gn = gn, g
        elif changed:
            _axpys(xc, RT, CT, cvec, uniform, new)
    if fit_intercept:
        for t in range(T):
            gb = 0.0
            cb = 0.0
            for i in range(n):
                gb += RT[t, i]
            if uniform:
                cb = n * cvec[t]
            else:
                for i in range(n):
                    cb += CT[t, i]
            if cb > 0.0 and gb != 0.0:
                delta = -gb / cb
                b[t] += delta
                for i in range(n):
                    RT[t, i] += (cvec[t] if uniform else CT[t, i]) * delta
    return worst


@njit(cache=True, error_model="numpy")
def _anderson_weights(U, reg):
    """``c = M^{-1} 1 / (1^T M^{-1} 1)`` with ``M = U U^T`` (Gaussian elimination with
    partial pivoting and a tiny ridge); ``ok`` is False when ``M`` is singular."""
    K, m = U.shape
    M = np.zeros((K, K))
    for k in range(K):
        for q in range(k + 1):
            acc = 0.0
            for i in range(m):
                acc += U[k, i] * U[q, i]
            M[k, q] = acc
            M[q, k] = acc
    trace = 0.0
    for k in range(K):
        trace += M[k, k]
    c = np.ones(K)
    if not trace > 0.0:
        return c, False
    for k in range(K):
        M[k, k] += reg * trace
    for col in range(K):
        piv = col
        for r in range(col + 1, K):
            if abs(M[r, col]) > abs(M[piv, col]):
                piv = r
        if M[piv, col] == 0.0:
            return c, False
        if piv != col:
            for k in range(K):
                M[col, k], M[piv, k] = M[piv, k], M[col, k]
            c[col], c[piv] = c[piv], c[col]
        for r in range(col + 1, K):
            f = M[r, col] / M[col, col]
            for k in range(col, K):
                M[r, k] -= f * M[col, k]
            c[r] -= f * c[col]
    for r in range(K - 1, -1, -1):
        acc = c[r]
        for k in range(r + 1, K):
            acc -= M[r, k] * c[k]
        c[r] = acc / M[r, r]
    s = c.sum()
    if not (abs(s) > 0.0) or not np.all(np.isfinite(c)):
        return c, False
    return c / s, True


@njit(cache=True, error_model="numpy")
def bcd_design_ws(X, mu, CT, cvec, uniform, RT, V, feat, rows, b, D, kind, a1, a2, l2,
                  positive, fit_intercept, max_sweeps, target, anderson):
    """Sweeps over the working set ``rows`` until the violation seen during a sweep is
    at most ``target`` (or ``max_sweeps``), with Anderson extrapolation of the iterates
    every ``anderson + 1`` sweeps (skglm's scheme: kept only if it lowers the objective).

    ``RT = (C * (Z - Y)).T`` (T, n) and ``V``, ``b`` are updated in place; ``D[j, t]``
    is the curvature of feature j in task t. Returns (sweeps done, last violation).
    """
    T, n = RT.shape
    p = rows.shape[0]
    xc = np.empty(n)
    xn = np.empty(n)
    g = np.empty(T)
    gn = np.empty(T)
    h = np.empty(T)
    z = np.empty(T)
    new = np.empty(T)
    gl = np.empty(T)
    K = anderson
    m = p * T + T
    hist = np.empty((K + 1, m)) if K > 0 else np.empty((0, m))
    hist_R = np.empty((K + 1, T, n)) if K > 0 else np.empty((0, T, n))
    n_hist = 0
    worst = np.inf
    sweep = 0
    while sweep < max_sweeps:
        worst = _sweep_design(X, mu, CT, cvec, uniform, RT, V, feat, rows, b, D, kind,
                              a1, a2, l2, positive, fit_intercept, xc, xn, g, gn, h, z, new, gl)
        sweep += 1
        if worst <= target:
            break
        if K == 0:
            continue
        for k in range(p):
            for t in range(T):
                hist[n_hist, k * T + t] = V[rows[k], t]
        for t in range(T):
            hist[n_hist, p * T + t] = b[t]
        for t in range(T):  # a loop: an array assigned to hist_R[n_hist] compiles
            for i in range(RT.shape[1]):  # numba's shape-mismatch message (3 s CPU)
                hist_R[n_hist, t, i] = RT[t, i]
        n_hist += 1
        if n_hist < K + 1:
            continue
        n_hist = 0
        U = np.empty((K, m))
        for k in range(K):
            for q in range(m):
                U[k, q] = hist[k + 1, q] - hist[k, q]
        c, ok = _anderson_weights(U, 1e-12)
        if not ok:
            continue
        extr = np.zeros(m)
        R_e = np.zeros((T, n))
        for k in range(K):
            ck = c[k]
            for q in range(m):
                extr[q] += ck * hist[k + 1, q]
            for t in range(T):
                for i in range(n):
                    R_e[t, i] += ck * hist_R[k + 1, t, i]
        f_now = _ws_objective(RT, CT, cvec, uniform, V, rows, kind, a1, a2, l2, positive)
        V_old = np.empty((p, T))
        for k in range(p):
            for t in range(T):
                V_old[k, t] = V[rows[k], t]
                V[rows[k], t] = extr[k * T + t]
        f_extr = _ws_objective(R_e, CT, cvec, uniform, V, rows, kind, a1, a2, l2, positive)
        if f_extr < f_now:
            copy_2d(RT, R_e)
            for t in range(T):
                b[t] = extr[p * T + t]
        else:
            for k in range(p):
                for t in range(T):
                    V[rows[k], t] = V_old[k, t]
    return sweep, worst
