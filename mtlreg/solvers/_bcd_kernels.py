"""Compiled block coordinate descent on the Gram form of the squared loss.

Rows of the solver variable ``V`` are blocks (one feature across all tasks, or
one row of ``B`` / ``S`` for the dirty model: ``feat[rho]`` is the feature of
row ``rho``). A row penalty is given by an integer kind and two strengths:

====  ===========================  =============================
kind  row penalty                  strengths
====  ===========================  =============================
0     ``a1 ||w||_2``               a1
1     ``a1 ||w||_1``               a1
2     ``a1 ||w||_1 + a2 ||w||_2``  a1, a2
3     ``a1 ||w||_inf``             a1
4     ``a1/2 ||w - mean(w)||^2``   a1
5     none                         -
====  ===========================  =============================

plus a ridge ``l2/2 ||w||^2`` on every row and optionally ``w >= 0``.
"""

import numpy as np
from numba import njit

from .._kernels import (
    l1_row_dist,
    l1_row_prox,
    l1inf_row_dist,
    l21_row_dist,
    l21_row_prox,
    linf_row_prox,
    sparse_group_row_dist,
)

L21_KIND, L1_KIND, SGL_KIND, L1INF_KIND, MEAN_KIND, ZERO_KIND = 0, 1, 2, 3, 4, 5


@njit(cache=True)
def _row_prox(kind, z, step, a1, a2, positive, out):
    if kind == L21_KIND:
        l21_row_prox(z, step * a1, positive, out)
    elif kind == L1_KIND:
        l1_row_prox(z, step * a1, positive, out)
    elif kind == SGL_KIND:
        tmp = np.empty_like(z)
        l1_row_prox(z, step * a1, positive, tmp)
        l21_row_prox(tmp, step * a2, False, out)
    elif kind == L1INF_KIND:
        linf_row_prox(z, step * a1, positive, out)
    elif kind == MEAN_KIND:
        mean = z.mean()
        for t in range(z.shape[0]):
            out[t] = mean + (z[t] - mean) / (1.0 + step * a1)
    else:
        for t in range(z.shape[0]):
            out[t] = max(z[t], 0.0) if positive else z[t]


@njit(cache=True)
def _row_dist(kind, w, g, a1, a2, positive):
    if kind == L21_KIND:
        return l21_row_dist(w, g, a1, positive)
    if kind == L1_KIND:
        return l1_row_dist(w, g, a1, positive)
    if kind == SGL_KIND:
        return sparse_group_row_dist(w, g, a1, a2, positive)
    if kind == L1INF_KIND:
        return l1inf_row_dist(w, g, a1, positive)
    worst = 0.0
    if kind == MEAN_KIND:
        mean = w.mean()
        for t in range(w.shape[0]):
            worst = max(worst, abs(g[t] + a1 * (w[t] - mean)))
        return worst
    for t in range(w.shape[0]):
        v = g[t]
        if positive and w[t] == 0.0 and v > 0.0:
            v = 0.0
        worst = max(worst, abs(v))
    return worst


@njit(cache=True)
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


@njit(cache=True)
def row_scores(V, G, feat, kind, a1, a2, l2, positive):
    """Optimality measure of every row (the working-set priority); G is per feature."""
    out = np.empty(V.shape[0])
    g = np.empty(V.shape[1])
    for rho in range(V.shape[0]):
        for t in range(V.shape[1]):
            g[t] = G[feat[rho], t] + l2 * V[rho, t]
        out[rho] = _row_dist(kind[rho], V[rho], g, a1[rho], a2[rho], positive)
    return out


@njit(cache=True)
def bcd_design(X, mu, C, R, V, feat, rows, b, D, kind, a1, a2, l2, positive,
               fit_intercept, n_epochs):
    """Sweeps of block coordinate descent on a dense shared design, over ``rows`` only.

    ``R = C * (Z - Y)`` (n, T) is the weighted residual, kept up to date;
    ``D[j, t] = sum_i C_it (x_ij - mu_j)^2`` the curvature of feature j in task t.
    """
    n, T = R.shape
    z = np.empty(T)
    new = np.empty(T)
    g = np.empty(T)
    h = np.empty(T)
    for _ in range(n_epochs):
        for rho in rows:
            j = feat[rho]
            Lj = 0.0
            for t in range(T):
                h[t] = D[j, t]
                Lj = max(Lj, h[t])
                g[t] = 0.0
            for i in range(n):
                xij = X[i, j] - mu[j]
                for t in range(T):
                    g[t] += xij * R[i, t]
            _new_row(kind[rho], V[rho], g, h, Lj, a1[rho], a2[rho], l2, positive, z, new)
            changed = False
            for t in range(T):
                new[t] -= V[rho, t]  # now the change
                if new[t] != 0.0:
                    changed = True
                    V[rho, t] += new[t]
            if changed:
                for i in range(n):
                    xij = X[i, j] - mu[j]
                    for t in range(T):
                        R[i, t] += C[i, t] * xij * new[t]
        if fit_intercept:
            for t in range(T):
                gb = 0.0
                cb = 0.0
                for i in range(n):
                    gb += R[i, t]
                    cb += C[i, t]
                if cb > 0.0:
                    delta = -gb / cb
                    b[t] += delta
                    for i in range(n):
                        R[i, t] += C[i, t] * delta


@njit(cache=True)
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


@njit(cache=True)
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


@njit(cache=True)
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
