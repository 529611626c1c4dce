"""Working-set block coordinate descent for the per-task layout on a dense ``X``.

Each row of ``X`` belongs to one task (:class:`mtlreg._tasks.layout.TaskBlocks`), so the
data term restricted to one row of ``W`` (a feature across tasks) is a separable
quadratic: its Hessian is diagonal, ``D[j, t] = sum_{i in t} c_i (x_ij - mu_tj)^2``.
A block update therefore minimises the row's subproblem *exactly*

    min_w  sum_t (h_t / 2) w_t^2 - u_t w_t + pen(w),   h = D_j + l2,  u = D_j * v - g

(``v`` the current row, ``g`` its datafit gradient): closed form for l1 and no
penalty, a one-dimensional secular equation for l2,1 and l1 + l2,1 (the sparse group
lasso soft-thresholds ``u`` first); l1,inf and the mean penalty take a proximal step
of size ``1 / max_t h_t`` (as in :mod:`mtlreg.solvers._bcd_kernels`).

Data movement: ``X`` stays as the layout holds it (C order, rows in any task
order). The gradient over all features -- one streaming pass over ``X`` -- is
computed once per outer iteration; the sweeps run on a *working set* of rows
(support + most violating rows, doubled each outer iteration) whose centred
feature columns are gathered once into a small contiguous cache ``cols (k, n)``.
The weighted residual ``R_i = c_i (z_i - y_i)`` is kept up to date; it is
recomputed from scratch (from ``cols``: the support is always cached) before
every full gradient, so the stopping test never sees accumulated drift. The
intercepts (centred coordinates, exactly decoupled from ``W`` for this loss)
are re-solved exactly after every sweep.
"""

import numpy as np
import scipy.sparse as sp
from numba import njit

from .._kernels.dense import rowwise_rmatvec_dense
from .._kernels.prox import L1_KIND, L1INF_KIND, L21_KIND, MEAN_KIND, SGL_KIND, ZERO_KIND, _row_dist
from ..utils._arrays import row_major
from ._bcd_kernels import _new_row, row_scores
from .fista import SolverResult


# --------------------------------------------------------------------------- kernels
@njit(cache=True, error_model="numpy")
def _group_solve(u, h, a, positive, out):
    """``argmin_w sum_t h_t/2 w_t^2 - u_t w_t + a ||w||_2`` (and ``w >= 0`` if positive).

    ``w_t = u_t / (h_t + s)`` with ``s = a / ||w||`` the root of
    ``phi(s) = sum_t (u_t s / (h_t + s))^2 - a^2`` (increasing), bracketed by the
    values for ``h_t = min h`` and ``h_t = max h``; safeguarded Newton.
    """
    T = u.shape[0]
    nu2 = 0.0
    hmin = np.inf
    hmax = 0.0
    for t in range(T):
        ut = u[t]
        if positive and ut < 0.0:
            ut = 0.0
        out[t] = ut
        if ut != 0.0:
            nu2 += ut * ut
            hmin = min(hmin, h[t])
            hmax = max(hmax, h[t])
    if nu2 <= a * a or nu2 == 0.0:
        for t in range(T):
            out[t] = 0.0
        return
    if a <= 0.0:
        for t in range(T):
            out[t] = out[t] / h[t] if h[t] > 0.0 else 0.0
        return
    nu = np.sqrt(nu2)
    lo = hmin * a / (nu - a)
    hi = hmax * a / (nu - a)
    s = hi
    a2 = a * a
    for _ in range(100):
        if hi - lo <= 1e-15 * hi:
            break
        phi = -a2
        dphi = 0.0
        for t in range(T):
            ut = out[t]
            if ut != 0.0:
                q = s / (h[t] + s)
                phi += ut * ut * q * q
                dphi += 2.0 * ut * ut * q * h[t] / ((h[t] + s) * (h[t] + s))
        if phi == 0.0:
            break
        if phi > 0.0:
            hi = s
        else:
            lo = s
        if abs(phi) <= 1e-15 * a2:
            break
        nxt = s - phi / dphi if dphi > 0.0 else 0.5 * (lo + hi)
        if not (lo < nxt < hi):
            nxt = 0.5 * (lo + hi)
        s = nxt
    for t in range(T):
        out[t] = out[t] / (h[t] + s)


@njit(cache=True, error_model="numpy")
def _exact_row(kd, v, g, d, a1, a2, l2, positive, u, h, new):
    """The exact minimiser of the row subproblem (see the module docstring)."""
    T = v.shape[0]
    L = 0.0
    for t in range(T):
        h[t] = d[t] + l2
        u[t] = d[t] * v[t] - g[t]
        L = max(L, d[t])
    if kd == L21_KIND:
        _group_solve(u, h, a1, positive, new)
    elif kd == SGL_KIND:
        for t in range(T):
            ut = u[t]
            if ut > a1:
                ut -= a1
            elif ut < -a1 and not positive:
                ut += a1
            else:
                ut = 0.0
            u[t] = ut
        _group_solve(u, h, a2, False, new)
    elif kd == L1_KIND or kd == ZERO_KIND:
        thr = a1 if kd == L1_KIND else 0.0
        for t in range(T):
            ut = u[t]
            if ut > thr:
                ut -= thr
            elif ut < -thr and not positive:
                ut += thr
            else:
                ut = 0.0
            new[t] = ut / h[t] if h[t] > 0.0 else 0.0
    else:  # l1,inf and mean: proximal step with the row's largest curvature
        _new_row(kd, v, g, d, L, a1, a2, l2, positive, u, new)


@njit(cache=True, error_model="numpy")
def gather_columns(X, codes, mu, c, feats, cols, D, start):
    """``cols[k, i] = X[i, feats[k]] - mu[t(i), feats[k]]`` and the curvatures
    ``D[k, t] = sum_{i in t} c_i cols[k, i]^2`` for ``k >= start``."""
    n = X.shape[0]
    m = feats.shape[0]
    block = 64  # rows per chunk: independent strided loads, then contiguous writes
    for i0 in range(0, n, block):
        i1 = min(n, i0 + block)
        for k in range(start, m):
            j = feats[k]
            for i in range(i0, i1):
                cols[k, i] = X[i, j]
    for k in range(start, m):
        j = feats[k]
        for t in range(D.shape[1]):
            D[k, t] = 0.0
        for i in range(n):
            t = codes[i]
            x = cols[k, i] - mu[t, j]
            cols[k, i] = x
            D[k, t] += c[i] * x * x


@njit(cache=True, error_model="numpy")
def residual(cols, slot, V, codes, c, y, b, R):
    """``R_i = c_i (z_i - y_i)`` from scratch, ``z_i = b_t + sum_rho cols[slot[rho], i] V[rho, t]``
    over the nonzero rows (all of them have a slot)."""
    n = R.shape[0]
    for i in range(n):
        R[i] = b[codes[i]] - y[i]
    for rho in range(V.shape[0]):
        k = slot[rho]
        nonzero = False
        for t in range(V.shape[1]):
            if V[rho, t] != 0.0:
                nonzero = True
                break
        if not nonzero:
            continue
        if k < 0:
            raise ValueError("a nonzero row has no cached column")
        for i in range(n):
            R[i] += cols[k, i] * V[rho, codes[i]]
    for i in range(n):
        R[i] *= c[i]


@njit(cache=True, error_model="numpy")
def _intercepts(R, codes, c, b, gb, cb):
    """Exact intercept update: ``b_t -= sum_{i in t} R_i / sum_{i in t} c_i``."""
    gb[:] = 0.0
    cb[:] = 0.0
    for i in range(R.shape[0]):
        gb[codes[i]] += R[i]
        cb[codes[i]] += c[i]
    for t in range(gb.shape[0]):
        gb[t] = -gb[t] / cb[t] if cb[t] > 0.0 else 0.0
        b[t] += gb[t]
    for i in range(R.shape[0]):
        R[i] += c[i] * gb[codes[i]]


@njit(cache=True, error_model="numpy")
def _row_gradient(cols, k, codes, R, g):
    g[:] = 0.0
    for i in range(R.shape[0]):
        g[codes[i]] += cols[k, i] * R[i]


@njit(cache=True, error_model="numpy")
def sweeps(cols, slot, D, codes, c, R, V, rows, b, kind, a1, a2, l2, positive,
           fit_intercept, n_epochs):
    """``n_epochs`` sweeps of exact block updates over ``rows`` (R, V, b updated in place)."""
    T = V.shape[1]
    g = np.empty(T)
    u = np.empty(T)
    h = np.empty(T)
    new = np.empty(T)
    cb = np.empty(T)
    for _ in range(n_epochs):
        for rho in rows:
            k = slot[rho]
            _row_gradient(cols, k, codes, R, g)
            _exact_row(kind[rho], V[rho], g, D[k], a1[rho], a2[rho], l2, positive, u, h, new)
            changed = False
            for t in range(T):
                new[t] -= V[rho, t]  # now the change
                if new[t] != 0.0:
                    changed = True
                    V[rho, t] += new[t]
            if changed:
                for i in range(R.shape[0]):
                    R[i] += c[i] * cols[k, i] * new[codes[i]]
        if fit_intercept:
            _intercepts(R, codes, c, b, new, cb)


@njit(cache=True, error_model="numpy")
def working_set_kkt(cols, slot, codes, R, V, rows, kind, a1, a2, l2, positive,
                    fit_intercept):
    """Optimality measure restricted to ``rows`` (and the intercepts)."""
    T = V.shape[1]
    g = np.empty(T)
    worst = 0.0
    for rho in rows:
        _row_gradient(cols, slot[rho], codes, R, g)
        for t in range(T):
            g[t] += l2 * V[rho, t]
        worst = max(worst, _row_dist(kind[rho], V[rho], g, a1[rho], a2[rho], positive))
    if fit_intercept:
        gb = np.zeros(T)
        for i in range(R.shape[0]):
            gb[codes[i]] += R[i]
        for t in range(T):
            worst = max(worst, abs(gb[t]))
    return worst


@njit(cache=True, error_model="numpy")
def ws_objective(R, c, V, rows, kind, a1, a2, l2, positive):
    """Datafit value (from the weighted residual) plus the penalty of ``rows``
    (the other rows are zero); ``inf`` where ``positive`` is violated."""
    value = 0.0
    for i in range(R.shape[0]):
        if c[i] > 0.0:
            value += R[i] * R[i] / c[i]
    value *= 0.5
    T = V.shape[1]
    for rho in rows:
        kd = kind[rho]
        p1 = a1[rho]
        p2 = a2[rho]
        s1 = 0.0
        s2 = 0.0
        smax = 0.0
        for t in range(T):
            w = V[rho, t]
            if positive and w < 0.0:
                return np.inf
            s1 += abs(w)
            s2 += w * w
            smax = max(smax, abs(w))
        value += 0.5 * l2 * s2
        if kd == L21_KIND:
            value += p1 * np.sqrt(s2)
        elif kd == L1_KIND:
            value += p1 * s1
        elif kd == SGL_KIND:
            value += p1 * s1 + p2 * np.sqrt(s2)
        elif kd == L1INF_KIND:
            value += p1 * smax
        elif kd == MEAN_KIND:
            mean = 0.0
            for t in range(T):
                mean += V[rho, t]
            mean /= T
            dev = 0.0
            for t in range(T):
                dev += (V[rho, t] - mean) ** 2
            value += 0.5 * p1 * dev
    return value


# --------------------------------------------------------------------------- driver
def supports_blocks(base):
    """The per-task layout with a dense X and the squared loss (``base``: a Quadratic)."""
    return base.layout.layout == "blocks" and not sp.issparse(base.layout.X)


def bcd_blocks(datafit, penalty, V, b, feat, kind, a1, a2, l2, positive, fit_intercept,
               tol_abs, max_sweeps, *, check_every=2, ws_start=16, inner_fraction=0.3,
               anderson=5):
    """Working-set BCD on the per-task layout (V, b updated in place).

    Outer iterations: exact residual and full gradient, stop if optimal, else a
    working set of rows (support + ``ws_size`` most violating, ``ws_size`` doubling
    from ``ws_start``). Inner iterations: sweeps over the working set, Anderson
    extrapolation of every ``anderson + 1`` consecutive sweeps (kept when it lowers
    the objective), the working set's optimality checked every ``check_every``
    sweeps against ``max(tol_abs, inner_fraction * largest violation outside it)``.
    ``max_sweeps`` counts sweeps. Returns a :class:`SolverResult` whose optimality
    measure and objective come from the exact residual and full gradient at the
    returned point.
    """
    layout = datafit.layout
    X = layout.X  # float64 or float32 (the kernels accumulate in float64)
    if X.dtype not in (np.float64, np.float32):
        X = np.asarray(X, dtype=np.float64)
    X = row_major(X)  # rows contiguous (a view beside the task column is kept)
    codes = np.ascontiguousarray(layout.codes, dtype=np.intp)
    c = np.ascontiguousarray(layout.c, dtype=np.float64)
    y = np.ascontiguousarray(layout.y, dtype=np.float64)
    mu = np.ascontiguousarray(layout.mu, dtype=np.float64)
    n, d = X.shape
    n_rows, T = V.shape
    slot = np.full(n_rows, -1, dtype=np.int64)  # row -> position of its column in cols
    cached = np.empty(0, dtype=np.int64)  # features in cols, in slot order
    f_slot = np.full(d, -1, dtype=np.int64)
    cols = np.empty((0, n))
    D = np.empty((0, T))
    R = np.empty(n)
    GT = np.empty((T, d))
    gb = np.empty(T)
    ws_size = min(n_rows, ws_start)
    n_sweeps = 0

    def cache(rows):
        nonlocal cached, cols, D
        need = np.unique(feat[rows])
        need = need[f_slot[need] < 0]
        if need.size:
            start = cached.size
            cached = np.concatenate([cached, need])
            f_slot[need] = np.arange(start, cached.size)
            cols_new = np.empty((cached.size, n))
            cols_new[:start] = cols
            D_new = np.empty((cached.size, T))
            D_new[:start] = D
            cols, D = cols_new, D_new
            gather_columns(X, codes, mu, c, cached, cols, D, start)
        slot[rows] = f_slot[feat[rows]]

    support = np.flatnonzero(np.any(V != 0, axis=1))
    cache(support)
    while True:
        residual(cols, slot, V, codes, c, y, b, R)
        rowwise_rmatvec_dense(X, codes, R, GT, gb)
        G = GT.T - mu.T * gb  # (d, T): datafit gradient per feature
        if not fit_intercept:
            gb[:] = 0.0
        scores = row_scores(V, G, feat, kind, a1, a2, l2, positive)
        kkt = max(scores.max(initial=0.0), float(np.abs(gb).max(initial=0.0)))
        if kkt <= tol_abs or n_sweeps >= max_sweeps:
            break
        support = np.flatnonzero(np.any(V != 0, axis=1))
        ws_size = min(n_rows, max(ws_size, 2 * len(support)))
        ranked = np.argsort(-scores, kind="stable")[:ws_size]
        ranked = ranked[scores[ranked] > 0.0]  # rows optimal at zero stay out (no columns)
        rows = np.unique(np.concatenate([support, ranked])).astype(np.int64)
        cache(rows)
        # Sweeping below the largest violation left outside the working set is wasted
        # (the next outer iteration sees it anyway); above it, cheap sweeps save passes.
        outside = scores.copy()
        outside[rows] = 0.0
        target = max(inner_fraction * outside.max(initial=0.0), tol_abs)
        history = []
        while n_sweeps < max_sweeps:
            sweeps(cols, slot, D, codes, c, R, V, rows, b, kind, a1, a2, l2, positive,
                   int(fit_intercept), 1)
            n_sweeps += 1
            if anderson:
                history.append(np.concatenate([V[rows].ravel(), b]))
                if len(history) == anderson + 1:
                    _extrapolate(history, V, b, R, rows, cols, slot, codes, c, y, kind, a1,
                                 a2, l2, positive, fit_intercept)
                    history = []
            if n_sweeps % check_every:
                continue
            inner = working_set_kkt(cols, slot, codes, R, V, rows, kind, a1, a2, l2,
                                    positive, int(fit_intercept))
            if inner <= target:
                break
        ws_size = min(n_rows, 2 * ws_size)
    # result at the returned point, from the exact residual and gradient above
    Gv = G[feat]
    kkt = max(penalty.subdiff_distance(V, Gv), float(np.abs(gb).max(initial=0.0)))
    z_minus_y = np.divide(R, c, out=np.zeros(n), where=c > 0)
    value = 0.5 * float(np.sum(c * z_minus_y**2))
    objective = value + penalty.value(V)
    return SolverResult(V, b, n_sweeps, kkt, tol_abs, kkt <= tol_abs, objective)


def _extrapolate(history, V, b, R, rows, cols, slot, codes, c, y, kind, a1, a2, l2,
                 positive, fit_intercept):
    """Anderson extrapolation of the last sweeps' iterates on the working set (as in
    skglm), kept only when it lowers the objective (V, b, R updated in place)."""
    iterates = np.array(history)
    U = np.diff(iterates, axis=0)
    try:
        z = np.linalg.solve(U @ U.T, np.ones(U.shape[0]))
    except np.linalg.LinAlgError:
        return False
    if not np.all(np.isfinite(z)) or z.sum() == 0.0:
        return False
    extra = (z / z.sum()) @ iterates[1:]
    m, T = rows.size, V.shape[1]
    V_new = V.copy()
    V_new[rows] = extra[: m * T].reshape(m, T)
    b_new = extra[m * T:] if fit_intercept else b.copy()
    R_new = np.empty_like(R)
    residual(cols, slot, V_new, codes, c, y, b_new, R_new)
    before = ws_objective(R, c, V, rows, kind, a1, a2, l2, positive)
    after = ws_objective(R_new, c, V_new, rows, kind, a1, a2, l2, positive)
    if not after < before:
        return False
    V[rows] = V_new[rows]
    b[:] = b_new
    R[:] = R_new
    return True
