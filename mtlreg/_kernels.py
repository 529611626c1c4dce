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
