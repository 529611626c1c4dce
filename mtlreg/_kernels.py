"""Compiled hot loops (numba, ``cache=True``), each with a plain-NumPy twin in the tests.

Conventions: ``WT`` is the coefficient matrix stored task-major, shape
``(n_tasks, n_features)`` (that is ``W.T``, contiguous), so that the row of one
task is contiguous in memory. ``codes`` gives, for each sample, the index of its
task in ``0 .. n_tasks - 1``.
"""

import numpy as np
from numba import njit


# --------------------------------------------------------------------------- #
# Per-task linear predictor z_i = x_i . w_{t(i)} + offset_{t(i)} and its adjoint
# --------------------------------------------------------------------------- #
@njit(cache=True)
def rowwise_matvec_dense(X, codes, WT, offset, out):
    n_samples, n_features = X.shape
    for i in range(n_samples):
        t = codes[i]
        acc = offset[t]
        for j in range(n_features):
            acc += X[i, j] * WT[t, j]
        out[i] = acc
    return out


@njit(cache=True)
def rowwise_rmatvec_dense(X, codes, r, GT, gb):
    """GT[t] = sum_{i in t} r_i x_i and gb[t] = sum_{i in t} r_i (GT, gb zeroed here)."""
    n_samples, n_features = X.shape
    GT[:] = 0.0
    gb[:] = 0.0
    for i in range(n_samples):
        ri = r[i]
        if ri == 0.0:
            continue
        t = codes[i]
        gb[t] += ri
        for j in range(n_features):
            GT[t, j] += ri * X[i, j]
    return GT, gb


@njit(cache=True)
def rowwise_matvec_csr(data, indices, indptr, codes, WT, offset, out):
    n_samples = indptr.shape[0] - 1
    for i in range(n_samples):
        t = codes[i]
        acc = offset[t]
        for k in range(indptr[i], indptr[i + 1]):
            acc += data[k] * WT[t, indices[k]]
        out[i] = acc
    return out


@njit(cache=True)
def rowwise_rmatvec_csr(data, indices, indptr, codes, r, GT, gb):
    n_samples = indptr.shape[0] - 1
    GT[:] = 0.0
    gb[:] = 0.0
    for i in range(n_samples):
        ri = r[i]
        if ri == 0.0:
            continue
        t = codes[i]
        gb[t] += ri
        for k in range(indptr[i], indptr[i + 1]):
            GT[t, indices[k]] += ri * data[k]
    return GT, gb


# --------------------------------------------------------------------------- #
# Row-group (l2,1) operators on W of shape (n_features, n_tasks)
# --------------------------------------------------------------------------- #
@njit(cache=True)
def group_soft_threshold_rows(W, threshold, positive):
    """prox of ``threshold * sum_j ||W_j||_2`` (rows), optionally with W >= 0."""
    n_features, n_tasks = W.shape
    out = np.zeros_like(W)
    for j in range(n_features):
        norm2 = 0.0
        for t in range(n_tasks):
            v = W[j, t]
            if positive and v < 0.0:
                v = 0.0
            norm2 += v * v
        norm = np.sqrt(norm2)
        if norm > threshold:
            scale = 1.0 - threshold / norm
            for t in range(n_tasks):
                v = W[j, t]
                if positive and v < 0.0:
                    v = 0.0
                out[j, t] = scale * v
    return out


@njit(cache=True)
def l21_subdiff_distance(W, G, alpha, positive):
    """max_j dist(-G_j, alpha * d||W_j||_2 (+ normal cone of W_j >= 0 if positive))."""
    n_features, n_tasks = W.shape
    worst = 0.0
    for j in range(n_features):
        norm2 = 0.0
        for t in range(n_tasks):
            norm2 += W[j, t] * W[j, t]
        if norm2 > 0.0:
            norm = np.sqrt(norm2)
            dist2 = 0.0
            for t in range(n_tasks):
                v = G[j, t] + alpha * W[j, t] / norm
                if positive and W[j, t] == 0.0 and v > 0.0:
                    v = 0.0  # the normal cone of {w >= 0} at 0 absorbs a positive part
                dist2 += v * v
            dist = np.sqrt(dist2)
        else:
            g2 = 0.0
            for t in range(n_tasks):
                g = G[j, t]
                if positive and g > 0.0:
                    g = 0.0
                g2 += g * g
            dist = max(0.0, np.sqrt(g2) - alpha)
        if dist > worst:
            worst = dist
    return worst


# --------------------------------------------------------------------------- #
# Element-wise l1, l1/l2 (sparse group) and l1/linf operators
# --------------------------------------------------------------------------- #
@njit(cache=True)
def soft_threshold(W, threshold, positive):
    out = np.empty_like(W)
    n_rows, n_cols = W.shape
    for j in range(n_rows):
        for t in range(n_cols):
            v = W[j, t]
            if v > threshold:
                out[j, t] = v - threshold
            elif v < -threshold and not positive:
                out[j, t] = v + threshold
            else:
                out[j, t] = 0.0
    return out


@njit(cache=True)
def l1_subdiff_distance(W, G, alpha, positive):
    """max_{j,t} dist(-G_jt, alpha * d|W_jt| (+ normal cone of W >= 0))."""
    worst = 0.0
    n_rows, n_cols = W.shape
    for j in range(n_rows):
        for t in range(n_cols):
            w, g = W[j, t], G[j, t]
            if w > 0.0:
                d = abs(g + alpha)
            elif w < 0.0:
                d = abs(g - alpha)
            elif positive:
                d = max(0.0, -g - alpha)
            else:
                d = max(0.0, abs(g) - alpha)
            if d > worst:
                worst = d
    return worst


@njit(cache=True)
def sparse_group_subdiff_distance(W, G, alpha_l1, alpha_l21, positive):
    """Rows: dist(-G_j, d(alpha_l1 ||.||_1 + alpha_l21 ||.||_2)(W_j)), max over rows."""
    n_rows, n_cols = W.shape
    worst = 0.0
    for j in range(n_rows):
        norm2 = 0.0
        for t in range(n_cols):
            norm2 += W[j, t] * W[j, t]
        if norm2 > 0.0:
            norm = np.sqrt(norm2)
            dist2 = 0.0
            for t in range(n_cols):
                w = W[j, t]
                g = G[j, t] + alpha_l21 * w / norm
                if w > 0.0:
                    v = g + alpha_l1
                elif w < 0.0:
                    v = g - alpha_l1
                elif positive:
                    v = min(0.0, g + alpha_l1)
                else:
                    v = max(0.0, abs(g) - alpha_l1)
                dist2 += v * v
            dist = np.sqrt(dist2)
        else:
            st2 = 0.0
            for t in range(n_cols):
                g = G[j, t]
                if positive:
                    v = max(0.0, -g - alpha_l1)
                else:
                    v = max(0.0, abs(g) - alpha_l1)
                st2 += v * v
            dist = max(0.0, np.sqrt(st2) - alpha_l21)
        if dist > worst:
            worst = dist
    return worst


@njit(cache=True)
def project_l1_ball(v, radius):
    """Euclidean projection of the vector v onto {u : ||u||_1 <= radius} (sort-based)."""
    a = np.abs(v)
    if a.sum() <= radius:
        return v.copy()
    if radius <= 0.0:
        return np.zeros_like(v)
    mu = np.sort(a)[::-1]
    cumsum = 0.0
    theta = 0.0
    for k in range(mu.shape[0]):
        cumsum += mu[k]
        candidate = (cumsum - radius) / (k + 1)
        if mu[k] - candidate > 0.0:
            theta = candidate
    out = np.empty_like(v)
    for i in range(v.shape[0]):
        m = max(a[i] - theta, 0.0)
        out[i] = m if v[i] >= 0.0 else -m
    return out


@njit(cache=True)
def linf_prox_rows(W, threshold, positive):
    """prox of ``threshold * sum_j ||W_j||_inf``: W_j - proj_{l1 ball(threshold)}(W_j)."""
    out = np.empty_like(W)
    for j in range(W.shape[0]):
        row = W[j].copy()
        if positive:
            for t in range(row.shape[0]):
                if row[t] < 0.0:
                    row[t] = 0.0
        out[j] = row - project_l1_ball(row, threshold)
    return out


@njit(cache=True)
def l1inf_subdiff_distance(W, G, alpha, positive):
    """max_j dist(-G_j, alpha * d||W_j||_inf (+ normal cone of W_j >= 0))."""
    n_rows, n_cols = W.shape
    worst = 0.0
    for j in range(n_rows):
        wmax = 0.0
        for t in range(n_cols):
            wmax = max(wmax, abs(W[j, t]))
        a = -G[j].copy()  # the target point
        if wmax == 0.0:
            if positive:
                for t in range(n_cols):
                    a[t] = max(a[t], 0.0)  # the cone absorbs the negative part
            r = a - project_l1_ball(a, alpha)
            dist = np.sqrt(np.sum(r * r))
        else:
            # coordinates off the active set: subgradient 0 (or cone if w=0, positive)
            dist2 = 0.0
            n_active = 0
            for t in range(n_cols):
                if abs(W[j, t]) >= wmax * (1.0 - 1e-12):
                    n_active += 1
                else:
                    v = a[t]
                    if positive and W[j, t] == 0.0 and v < 0.0:
                        v = 0.0
                    dist2 += v * v
            # active set: alpha * sign(w_t) * theta_t with theta in the simplex
            b = np.empty(n_active)
            k = 0
            for t in range(n_cols):
                if abs(W[j, t]) >= wmax * (1.0 - 1e-12):
                    b[k] = a[t] * (1.0 if W[j, t] > 0 else -1.0) / alpha if alpha > 0 else 0.0
                    k += 1
            if alpha > 0.0:
                theta = project_simplex(b)
                for k in range(n_active):
                    diff = alpha * (b[k] - theta[k])
                    dist2 += diff * diff
            else:  # the subdifferential of 0 * ||.||_inf is {0}
                for t in range(n_cols):
                    if abs(W[j, t]) >= wmax * (1.0 - 1e-12):
                        dist2 += a[t] * a[t]
            dist = np.sqrt(dist2)
        if dist > worst:
            worst = dist
    return worst


@njit(cache=True)
def project_simplex(v):
    """Euclidean projection onto {theta >= 0, sum theta = 1}."""
    n = v.shape[0]
    u = np.sort(v)[::-1]
    cumsum = 0.0
    tau = 0.0
    for k in range(n):
        cumsum += u[k]
        candidate = (cumsum - 1.0) / (k + 1)
        if u[k] - candidate > 0.0:
            tau = candidate
    out = np.empty(n)
    for i in range(n):
        out[i] = max(v[i] - tau, 0.0)
    return out
