"""Compiled proximal operators and optimality measures of the row penalties (numba,
``cache=True``), below both :mod:`mtlreg.penalties` and :mod:`mtlreg.solvers` (both use
them; this module imports neither).

Row functions act on one row ``w`` of ``W`` (a vector over tasks); the matrix versions
loop over the rows of ``W`` (shape ``(n_rows, n_tasks)``); ``_row_prox`` and
``_row_dist`` dispatch on an integer kind (used by the BCD and ADMM kernels).

A row penalty is given by an integer kind and two strengths:

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

The small row operators are ``inline="always"``: numba inlines them into each
calling kernel, instead of compiling each as a kernel of its own (a fixed cost of
0.1-0.3 s of CPU per kernel on the first fit after installing). The larger ones
(l1,inf, the simplex threshold) stay separate: inlined twice in one caller they
cost more than they save.
"""

import numpy as np
from numba import njit


# --------------------------------------------------------------------------- #
# Row operators: prox and optimality measure of each row penalty on one row w
# (a vector over tasks). The matrix kernels below loop over rows; the block
# coordinate descent solver calls the row functions directly.
# --------------------------------------------------------------------------- #
@njit(cache=True, inline="always", error_model="numpy")
def l21_row_prox(z, threshold, positive, out):
    """out = prox of ``threshold * ||.||_2`` (+ indicator of >= 0) at z."""
    norm2 = 0.0
    for t in range(z.shape[0]):
        v = z[t]
        if positive and v < 0.0:
            v = 0.0
        out[t] = v
        norm2 += v * v
    norm = np.sqrt(norm2)
    scale = 1.0 - threshold / norm if norm > threshold else 0.0
    for t in range(z.shape[0]):
        out[t] *= scale


@njit(cache=True, inline="always", error_model="numpy")
def l21_row_dist(w, g, alpha, positive):
    """dist(-g, alpha * d||w||_2 (+ normal cone of w >= 0))."""
    norm2 = 0.0
    for t in range(w.shape[0]):
        norm2 += w[t] * w[t]
    if norm2 > 0.0:
        norm = np.sqrt(norm2)
        dist2 = 0.0
        for t in range(w.shape[0]):
            v = g[t] + alpha * w[t] / norm
            if positive and w[t] == 0.0 and v > 0.0:
                v = 0.0  # the normal cone of {w >= 0} at 0 absorbs a positive part
            dist2 += v * v
        return np.sqrt(dist2)
    g2 = 0.0
    for t in range(w.shape[0]):
        v = g[t]
        if positive and v > 0.0:
            v = 0.0
        g2 += v * v
    return max(0.0, np.sqrt(g2) - alpha)


@njit(cache=True, inline="always", error_model="numpy")
def l1_row_prox(z, threshold, positive, out):
    for t in range(z.shape[0]):
        v = z[t]
        if v > threshold:
            out[t] = v - threshold
        elif v < -threshold and not positive:
            out[t] = v + threshold
        else:
            out[t] = 0.0


@njit(cache=True, inline="always", error_model="numpy")
def l1_row_dist(w, g, alpha, positive):
    worst = 0.0
    for t in range(w.shape[0]):
        if w[t] > 0.0:
            d = abs(g[t] + alpha)
        elif w[t] < 0.0:
            d = abs(g[t] - alpha)
        elif positive:
            d = max(0.0, -g[t] - alpha)
        else:
            d = max(0.0, abs(g[t]) - alpha)
        worst = max(worst, d)
    return worst


@njit(cache=True, inline="always", error_model="numpy")
def sparse_group_row_dist(w, g, alpha_l1, alpha_l21, positive):
    """dist(-g, d(alpha_l1 ||.||_1 + alpha_l21 ||.||_2)(w) (+ normal cone of w >= 0))."""
    norm2 = 0.0
    for t in range(w.shape[0]):
        norm2 += w[t] * w[t]
    if norm2 > 0.0:
        norm = np.sqrt(norm2)
        dist2 = 0.0
        for t in range(w.shape[0]):
            v = g[t] + alpha_l21 * w[t] / norm
            if w[t] > 0.0:
                v = v + alpha_l1
            elif w[t] < 0.0:
                v = v - alpha_l1
            elif positive:
                v = min(0.0, v + alpha_l1)
            else:
                v = max(0.0, abs(v) - alpha_l1)
            dist2 += v * v
        return np.sqrt(dist2)
    st2 = 0.0
    for t in range(w.shape[0]):
        if positive:
            v = max(0.0, -g[t] - alpha_l1)
        else:
            v = max(0.0, abs(g[t]) - alpha_l1)
        st2 += v * v
    return max(0.0, np.sqrt(st2) - alpha_l21)


@njit(cache=True, inline="always", error_model="numpy")
def _simplex_threshold(u, n, radius):
    """``tau`` with ``sum_{i < n} max(u_i - tau, 0) = radius`` (``radius > 0``; the first
    ``n`` entries of ``u``: no slice, whose layout would compile a second version), by
    Michelot's active-set iteration: exact, at most ``len(u)`` passes, a few in
    practice, and no sort (numba's sort takes seconds to compile). ``tau`` never
    decreases, so the active set is ``{u_i > tau}`` and needs no mask (kept
    monotone against round-off: the set only shrinks, and the loop ends)."""
    total = 0.0
    for i in range(n):
        total += u[i]
    count = n
    tau = (total - radius) / count
    while True:
        total = 0.0
        active = 0
        for i in range(n):
            if u[i] > tau:
                total += u[i]
                active += 1
        if active == count or active == 0:
            return tau
        count = active
        tau = max(tau, (total - radius) / count)


@njit(cache=True, error_model="numpy")
def project_l1_ball(v, radius):
    """Euclidean projection of the vector v onto {u : ||u||_1 <= radius}."""
    a = np.abs(v)
    if a.sum() <= radius:
        return v.copy()
    if radius <= 0.0:
        return np.zeros_like(v)
    theta = _simplex_threshold(a, a.shape[0], radius)
    out = np.empty_like(v)
    for i in range(v.shape[0]):
        m = max(a[i] - theta, 0.0)
        out[i] = m if v[i] >= 0.0 else -m
    return out


@njit(cache=True, error_model="numpy")
def project_simplex(v, radius=1.0):
    """Euclidean projection onto {theta >= 0, sum theta = radius}."""
    n = v.shape[0]
    tau = _simplex_threshold(v, n, radius)
    out = np.empty(n)
    for i in range(n):
        out[i] = max(v[i] - tau, 0.0)
    return out


@njit(cache=True, error_model="numpy")
def linf_row_prox(z, threshold, positive, out):
    """prox of ``threshold * ||.||_inf``: z - proj_{l1 ball(threshold)}(z) (Moreau);
    loops only, ``out`` holds ``|z|`` while the ball's threshold is found."""
    n = z.shape[0]
    total = 0.0
    for t in range(n):
        v = max(z[t], 0.0) if positive else z[t]
        out[t] = abs(v)
        total += out[t]
    if total <= threshold:  # inside the ball: the projection is z itself
        for t in range(n):
            out[t] = 0.0
        return
    theta = _simplex_threshold(out, n, threshold) if threshold > 0.0 else 0.0
    for t in range(n):
        v = max(z[t], 0.0) if positive else z[t]
        m = max(abs(v) - theta, 0.0) if threshold > 0.0 else 0.0
        out[t] = v - (m if v >= 0.0 else -m)


@njit(cache=True, inline="always", error_model="numpy")
def l1inf_row_dist(w, g, alpha, positive, b):
    """dist(-g, alpha * d||w||_inf (+ normal cone of w >= 0)); ``b (len(w),)``: scratch.

    With ``a = -g``: at ``w = 0`` the subdifferential is the l1 ball of radius
    ``alpha``, and the distance is ``||a - proj(a)||_2 = ||min(|a|, theta)||_2`` when
    ``a`` lies outside it (``theta`` the ball's threshold: that of the simplex of
    radius ``alpha`` for ``|a|``). Elsewhere it is ``alpha * sign(w_t) * theta_t`` on
    the active set ``{|w_t| = max|w|}`` with ``theta`` in the unit simplex, 0 off it:
    the distance adds ``a_t^2`` off the set and ``min(b_t, tau)^2`` on it, with
    ``b_t = sign(w_t) a_t`` and ``tau`` the threshold of the simplex of radius
    ``alpha``. Both cases project the points gathered in ``b`` on a simplex: one
    threshold computation, in one compiled function."""
    n = w.shape[0]
    wmax = 0.0
    for t in range(n):
        wmax = max(wmax, abs(w[t]))
    dist2 = 0.0
    m = 0  # the points gathered in b[:m]
    total = 0.0
    for t in range(n):
        a = -g[t]
        if positive and w[t] == 0.0 and a < 0.0:
            a = 0.0  # the normal cone of {w >= 0} absorbs the negative part
        if wmax == 0.0:
            b[m] = abs(a)
        elif abs(w[t]) >= wmax * (1.0 - 1e-12):
            b[m] = a if w[t] > 0 else -a
        else:
            dist2 += a * a
            continue
        total += b[m]
        m += 1
    if wmax == 0.0 and total <= alpha:
        return 0.0  # -g lies in the ball
    if alpha > 0.0:  # the scaled simplex directly: b / alpha overflows for tiny alpha
        tau = _simplex_threshold(b, m, alpha)
        for k in range(m):
            diff = min(b[k], tau)  # b_k - max(b_k - tau, 0)
            dist2 += diff * diff
    else:  # the subdifferential of 0 * ||.||_inf is {0}
        for k in range(m):
            dist2 += b[k] * b[k]
    return np.sqrt(dist2)


# --------------------------------------------------------------------------- #
# Matrix versions on W of shape (n_rows, n_tasks), one row at a time
# --------------------------------------------------------------------------- #
@njit(cache=True, error_model="numpy")
def group_soft_threshold_rows(W, threshold, positive):
    """prox of ``threshold * sum_j ||W_j||_2`` (rows), optionally with W >= 0."""
    out = np.empty_like(W)
    for j in range(W.shape[0]):
        l21_row_prox(W[j], threshold, positive, out[j])
    return out


@njit(cache=True, error_model="numpy")
def l21_subdiff_distance(W, G, alpha, positive):
    """max_j dist(-G_j, alpha * d||W_j||_2 (+ normal cone of W_j >= 0 if positive))."""
    worst = 0.0
    for j in range(W.shape[0]):
        worst = max(worst, l21_row_dist(W[j], G[j], alpha, positive))
    return worst


@njit(cache=True, error_model="numpy")
def soft_threshold(W, threshold, positive):
    out = np.empty_like(W)
    for j in range(W.shape[0]):
        l1_row_prox(W[j], threshold, positive, out[j])
    return out


@njit(cache=True, error_model="numpy")
def linf_prox_rows(W, threshold, positive):
    """prox of ``threshold * sum_j ||W_j||_inf``: W_j - proj_{l1 ball(threshold)}(W_j)."""
    out = np.empty_like(W)
    for j in range(W.shape[0]):
        linf_row_prox(W[j], threshold, positive, out[j])
    return out


@njit(cache=True, error_model="numpy")
def l1inf_subdiff_distance(W, G, alpha, positive, b):
    """max_j dist(-G_j, alpha * d||W_j||_inf (+ normal cone of W_j >= 0));
    ``b (n_tasks,)``: scratch."""
    worst = 0.0
    for j in range(W.shape[0]):
        worst = max(worst, l1inf_row_dist(W[j], G[j], alpha, positive, b))
    return worst


# --------------------------------------------------------------------------- #
# Task-graph penalties: proxes of rho/2 tr(W L W^T) + a sparse part, row by row
# --------------------------------------------------------------------------- #
@njit(cache=True, error_model="numpy")
def graph_l21_prox_rows(VQ, steps, lam, rho, l2, alpha):
    """Rows of ``argmin_u 1/2 ||u - v||^2 + s_j (rho/2 u^T L u + l2/2 ||u||^2 + alpha ||u||_2)``
    in the eigenbasis ``Q`` of the graph term ``L = Q diag(lam) Q^T`` (``VQ = V Q``),
    row ``j`` at its own step ``s_j = steps[j]``, ``c_k = 1 + s_j (l2 + rho lam_k)``.

    Stationarity: ``(c_k + mu) u~_k = v~_k`` with ``mu = s_j alpha / ||u||``; ``u = 0``
    iff ``||v|| <= s_j alpha``, else ``mu`` is the root of the increasing function
    ``f(mu) = sum_k v~_k^2 mu^2 / (c_k + mu)^2 - (s_j alpha)^2`` (safeguarded Newton)."""
    n, T = VQ.shape
    out = np.zeros_like(VQ)
    c = np.empty(T)
    for j in range(n):
        cmax = 1.0
        for k in range(T):
            c[k] = 1.0 + steps[j] * (l2 + rho * lam[k])
            cmax = max(cmax, c[k])
        threshold = steps[j] * alpha
        nv2 = 0.0
        for k in range(T):
            nv2 += VQ[j, k] * VQ[j, k]
        nv = np.sqrt(nv2)
        if nv <= threshold:
            continue
        if threshold <= 0.0:
            for k in range(T):
                out[j, k] = VQ[j, k] / c[k]
            continue
        lo = 0.0
        hi = threshold * cmax / (nv - threshold)  # f(hi) >= 0
        mu = hi
        for _ in range(200):
            f = -threshold * threshold
            df = 0.0
            for k in range(T):
                q = mu / (c[k] + mu)
                v2 = VQ[j, k] * VQ[j, k]
                f += v2 * q * q
                df += v2 * 2.0 * q * c[k] / ((c[k] + mu) * (c[k] + mu))
            if f > 0.0:
                hi = mu
            else:
                lo = mu
            if abs(f) <= 1e-15 * threshold * threshold:
                break
            step = mu - f / df if df > 0.0 else -1.0
            mu = step if lo < step < hi else 0.5 * (lo + hi)
            if hi - lo <= 1e-16 * hi:
                break
        for k in range(T):
            out[j, k] = VQ[j, k] / (c[k] + mu)
    return out


@njit(cache=True, error_model="numpy")
def graph_l1_prox_rows(V, A, threshold, tol, max_sweeps):
    """Rows of ``argmin_u 1/2 u^T A u - v^T u + threshold ||u||_1`` (``A = I + s rho L``
    positive definite) by cyclic coordinate descent from the quadratic's minimiser,
    stopped when the optimality measure (distance of ``-(A u - v)`` to
    ``threshold * d||u||_1``, max over entries) is below ``tol`` times ``max |v|``.
    Returns ``(U, converged)``."""
    n, T = V.shape
    U = np.zeros_like(V)
    g = np.empty(T)  # A u
    ok = True
    for j in range(n):
        scale = 0.0
        for k in range(T):
            scale = max(scale, abs(V[j, k]))
        if scale == 0.0:
            continue
        g[:] = 0.0
        done = False
        for sweep in range(max_sweeps):
            for t in range(T):
                old = U[j, t]
                r = V[j, t] - (g[t] - A[t, t] * old)
                new = 0.0
                if r > threshold:
                    new = (r - threshold) / A[t, t]
                elif r < -threshold:
                    new = (r + threshold) / A[t, t]
                if new != old:
                    delta = new - old
                    for k in range(T):
                        g[k] += A[k, t] * delta
                    U[j, t] = new
            worst = 0.0
            for t in range(T):
                e = g[t] - V[j, t]
                if U[j, t] > 0.0:
                    dist = abs(e + threshold)
                elif U[j, t] < 0.0:
                    dist = abs(e - threshold)
                else:
                    dist = max(0.0, abs(e) - threshold)
                worst = max(worst, dist)
            if worst <= tol * scale:
                done = True
                break
            # recompute A u from scratch now and then (no drift)
            if sweep % 50 == 49:
                for k in range(T):
                    acc = 0.0
                    for t in range(T):
                        acc += A[k, t] * U[j, t]
                    g[k] = acc
        ok = ok and done
    return U, ok


L21_KIND, L1_KIND, SGL_KIND, L1INF_KIND, MEAN_KIND, ZERO_KIND = 0, 1, 2, 3, 4, 5


@njit(cache=True, error_model="numpy")
def _row_prox(kind, z, step, a1, a2, positive, out):
    if kind == L21_KIND:
        l21_row_prox(z, step * a1, positive, out)
    elif kind == L1_KIND:
        l1_row_prox(z, step * a1, positive, out)
    elif kind == SGL_KIND:  # in place in out (after the l1 step, positive changes nothing)
        l1_row_prox(z, step * a1, positive, out)
        l21_row_prox(out, step * a2, positive, out)
    elif kind == L1INF_KIND:
        linf_row_prox(z, step * a1, positive, out)
    elif kind == MEAN_KIND:
        mean = 0.0
        for t in range(z.shape[0]):
            mean += z[t]
        mean /= z.shape[0]
        for t in range(z.shape[0]):
            out[t] = mean + (z[t] - mean) / (1.0 + step * a1)
    else:
        for t in range(z.shape[0]):
            out[t] = max(z[t], 0.0) if positive else z[t]


@njit(cache=True, error_model="numpy")
def _row_dist(kind, w, g, a1, a2, positive):
    if kind == L21_KIND:
        return l21_row_dist(w, g, a1, positive)
    if kind == L1_KIND:
        return l1_row_dist(w, g, a1, positive)
    if kind == SGL_KIND:
        return sparse_group_row_dist(w, g, a1, a2, positive)
    if kind == L1INF_KIND:
        return l1inf_row_dist(w, g, a1, positive, np.empty(w.shape[0]))
    worst = 0.0
    if kind == MEAN_KIND:
        mean = 0.0
        for t in range(w.shape[0]):
            mean += w[t]
        mean /= w.shape[0]
        for t in range(w.shape[0]):
            worst = max(worst, abs(g[t] + a1 * (w[t] - mean)))
        return worst
    for t in range(w.shape[0]):
        v = g[t]
        if positive and w[t] == 0.0 and v > 0.0:
            v = 0.0
        worst = max(worst, abs(v))
    return worst
