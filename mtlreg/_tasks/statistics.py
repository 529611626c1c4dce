"""Per-task sufficient statistics of the squared loss, and the Gram-form layout they give.

For the squared loss a fit needs, per task ``t`` (rows ``i`` of the task, weights
``w_i`` = sample weight, 0 for a missing label), only

    n_t = sum w_i,   mean_x, mean_y  (weighted means),
    Cxx = sum w_i (x_i - mean_x)(x_i - mean_x)^T,   Cxy = sum w_i (x_i - mean_x)(y_i - mean_y),
    Cyy = sum w_i (y_i - mean_y)^2,

kept as *centred* co-moments so that merging two sets of rows is the exact,
cancellation-free pairwise update (Chan, Golub & LeVeque 1979):

    n = n_a + n_b,  delta = mean_b - mean_a,  C = C_a + C_b + delta delta^T n_a n_b / n.

:func:`block_statistics` computes them on one block of rows (a partition),
:func:`merge_statistics` combines any number of them (tasks matched by label), and
:class:`TaskStatistics` turns the merged statistics into the per-task normal
equations ``H_t, r_t`` of :meth:`mtlreg._tasks.layout._CentredOperator.task_gram`, with
the same centring, so that the same solvers run on them. Pure NumPy (and the
compiled kernels): the Dask plumbing lives in :mod:`mtlreg._dask.fit`.
"""

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from .._kernels import dense as _kernels
from ..utils.validation import resolve_task_weights
from .layout import task_sample_counts

# rows per slice when a block is processed (bounds the float64 copies of a partition)
_SLICE_ROWS = 1 << 16


@dataclass
class Statistics:
    """Per-group statistics; ``labels`` name the groups (task labels), sorted and unique."""

    labels: np.ndarray  # (G,)
    n: np.ndarray  # (G,) weighted counts
    mx: np.ndarray  # (G, d) weighted means of x
    my: np.ndarray  # (G,) weighted means of y
    cxx: np.ndarray  # (G, d, d)
    cxy: np.ndarray  # (G, d)
    cyy: np.ndarray  # (G,)
    n_rows: int = 0  # rows seen (all of them, labelled or not)
    sx_all: np.ndarray = None  # (d,) s-weighted sum of x over all rows (shared layout)
    s_all: float = 0.0  # sum of s over all rows (shared layout)


def _empty(labels_dtype, d):
    return Statistics(np.empty(0, dtype=labels_dtype), np.zeros(0), np.zeros((0, d)),
                      np.zeros(0), np.zeros((0, d, d)), np.zeros((0, d)), np.zeros(0),
                      0, np.zeros(d), 0.0)


def _dense_slices(X):
    """``X`` in float64 C-ordered slices of rows (sparse blocks densified slice by slice)."""
    n = X.shape[0]
    for start in range(0, max(n, 1), _SLICE_ROWS):
        part = X[start:start + _SLICE_ROWS]
        part = part.toarray() if sp.issparse(part) else part
        yield start, np.ascontiguousarray(part, dtype=np.float64)


def _check_finite(X, y):
    data = X.data if sp.issparse(X) else X
    if not np.all(np.isfinite(data)):
        raise ValueError("Input X contains NaN or infinity.")
    if np.isinf(y).any():
        raise ValueError("Input y contains infinity (NaN, meaning a missing label, is allowed).")


def per_task_block_statistics(X, task_ids, y, s):
    """Statistics of one block of rows in the per-task layout.

    ``X (m, d)`` dense or sparse, ``task_ids (m,)`` labels, ``y (m,)`` (NaN = missing:
    weight 0), ``s (m,)`` sample weights or None. Work linear in rows and tasks.
    """
    y = np.asarray(y, dtype=np.float64).ravel()
    m, d = X.shape
    s = np.ones(m) if s is None else np.asarray(s, dtype=np.float64).ravel()
    if y.shape != (m,) or s.shape != (m,):
        raise ValueError(f"A partition has {m} rows in X but {y.shape[0]} targets and "
                         f"{s.shape[0]} sample weights: X, y and sample_weight must be "
                         "partitioned alike.")
    if np.any(s < 0) or not np.all(np.isfinite(s)):
        raise ValueError("Negative or non-finite values are not allowed in sample_weight.")
    _check_finite(X, y)
    missing = np.isnan(y)
    w = np.where(missing, 0.0, s)
    y = np.where(missing, 0.0, y)
    labels, codes = np.unique(np.asarray(task_ids), return_inverse=True)
    codes = codes.astype(np.intp).ravel()
    # rows grouped by task, then taken in slices: a slice holds a range of tasks, so the
    # work and the temporaries stay linear in rows + tasks however the rows are ordered
    order = np.argsort(codes, kind="stable")
    parts, ranges = [], []
    for start in range(0, max(m, 1), _SLICE_ROWS):
        rows = order[start:start + _SLICE_ROWS]
        Xs = X[rows]
        Xs = np.ascontiguousarray(Xs.toarray() if sp.issparse(Xs) else Xs, dtype=np.float64)
        first = codes[rows[0]] if len(rows) else 0
        local = codes[rows] - first
        G = int(local[-1]) + 1 if len(rows) else 0
        parts.append(_grouped(Xs, local, y[rows], w[rows], G))
        ranges.append(np.arange(first, first + G))
    if len(parts) == 1 and len(ranges[0]) == len(labels):
        arrays = parts[0]
    else:
        arrays = _merge_arrays(parts, ranges, len(labels))
    return Statistics(labels, *arrays, m)


def _grouped(X, codes, y, w, G):
    """Statistics of the rows of ``X`` grouped by ``codes`` in ``0..G-1`` (dense float64)."""
    d = X.shape[1]
    Z = np.empty((X.shape[0], d + 1))
    Z[:, :d] = X
    Z[:, d] = y
    sums, n = np.empty((G, d + 1)), np.empty(G)
    _kernels.rowwise_rmatvec_dense(Z, codes, w, sums, n)
    mean = sums / np.where(n > 0, n, 1.0)[:, None]
    order = np.argsort(codes, kind="stable")
    starts = np.searchsorted(codes[order], np.arange(G + 1))
    C, _ = np.empty((G, d + 1, d + 1)), np.empty((G, d + 1))
    _kernels.task_gram_dense(Z, order, starts, mean, w, np.zeros(len(w)), False, C, _,
                            np.empty(d + 1), np.empty((d + 1, d + 1)))
    return n, mean[:, :d], mean[:, d], C[:, :d, :d], C[:, :d, d], C[:, d, d]


def shared_block_statistics(X, Y, s):
    """Statistics of one block of rows in the shared layout (one group per column of Y).

    A NaN in ``Y`` is a missing label (weight 0 for that task only). Tasks whose
    labelled rows coincide in the block share the ``x`` part (one ``d x d`` product
    per distinct pattern of missing labels, usually one).
    """
    m, d = X.shape
    Y = np.asarray(Y, dtype=np.float64)
    Y = Y if Y.ndim == 2 else Y.reshape(m, -1)  # (0, T) kept: a block without rows
    T = Y.shape[1]
    s = np.ones(m) if s is None else np.asarray(s, dtype=np.float64).ravel()
    if s.shape != (m,):
        raise ValueError("X and sample_weight must be chunked alike along the rows.")
    if np.any(s < 0) or not np.all(np.isfinite(s)):
        raise ValueError("Negative or non-finite values are not allowed in sample_weight.")
    _check_finite(X, Y)
    mask = ~np.isnan(Y)
    Y0 = np.where(mask, Y, 0.0)
    patterns, which = _mask_patterns(mask)
    n, mx, my = np.zeros(T), np.zeros((T, d)), np.zeros(T)
    cxx, cxy, cyy = np.zeros((T, d, d)), np.zeros((T, d)), np.zeros(T)
    sx_all = np.zeros(d)
    for g, pattern in enumerate(patterns):
        tasks = np.flatnonzero(which == g)
        w = s * pattern
        ng = w.sum()
        sums = np.zeros(d)
        for start, Xs in _dense_slices(X):  # pass 1: the means
            sl = slice(start, start + Xs.shape[0])
            sums += w[sl] @ Xs
            if g == 0:
                sx_all += s[sl] @ Xs
        mean_x = sums / ng if ng > 0 else sums
        mean_y = (w @ Y0[:, tasks]) / ng if ng > 0 else np.zeros(len(tasks))
        Cg, Cy, Cyy = np.zeros((d, d)), np.zeros((d, len(tasks))), np.zeros(len(tasks))
        for start, Xs in _dense_slices(X):  # pass 2: the centred co-moments
            sl = slice(start, start + Xs.shape[0])
            Xc = Xs - mean_x
            Wc = Xc * w[sl, None]
            Cg += Xc.T @ Wc
            Yc = Y0[sl][:, tasks] - mean_y
            Cy += Wc.T @ Yc
            Cyy += w[sl] @ (Yc * Yc)
        n[tasks], mx[tasks], my[tasks] = ng, mean_x, mean_y
        cxx[tasks] = 0.5 * (Cg + Cg.T)
        cxy[tasks], cyy[tasks] = Cy.T, Cyy
    return Statistics(np.arange(T), n, mx, my, cxx, cxy, cyy, m, sx_all, float(s.sum()))


def _mask_patterns(mask):
    """Distinct columns of ``mask`` and, per column, the index of its pattern (without
    ``np.unique(axis=0)``, whose temporaries are many times the size of ``mask``)."""
    if mask.all():
        return [mask[:, 0]] if mask.shape[1] else [], np.zeros(mask.shape[1], dtype=np.intp)
    patterns, which = [], np.empty(mask.shape[1], dtype=np.intp)
    for t in range(mask.shape[1]):
        for g, pattern in enumerate(patterns):
            if np.array_equal(pattern, mask[:, t]):
                which[t] = g
                break
        else:
            which[t] = len(patterns)
            patterns.append(mask[:, t])
    return patterns, which


def _merge_arrays(parts, codes=None, G=None):
    """Merge tuples ``(n, mx, my, cxx, cxy, cyy)``; group ``j`` of part ``p`` goes to
    ``codes[p][j]`` (default: groups aligned, ``0..G-1`` in every part)."""
    if codes is None:
        codes = [np.arange(len(p[0])) for p in parts]
        G = len(parts[0][0])
    code = np.concatenate(codes)
    n_i = np.concatenate([p[0] for p in parts])
    mx_i = np.concatenate([p[1] for p in parts])
    my_i = np.concatenate([p[2] for p in parts])
    n = np.bincount(code, weights=n_i, minlength=G)
    safe = np.where(n > 0, n, 1.0)
    mx = np.zeros((G, mx_i.shape[1]))
    np.add.at(mx, code, n_i[:, None] * mx_i)
    mx /= safe[:, None]
    my = np.bincount(code, weights=n_i * my_i, minlength=G) / safe
    dx = mx_i - mx[code]
    dy = my_i - my[code]
    cxx = np.zeros((G,) + parts[0][3].shape[1:])
    np.add.at(cxx, code, np.concatenate([p[3] for p in parts])
              + n_i[:, None, None] * dx[:, :, None] * dx[:, None, :])
    cxy = np.zeros((G, mx_i.shape[1]))
    np.add.at(cxy, code, np.concatenate([p[4] for p in parts]) + (n_i * dy)[:, None] * dx)
    cyy = np.bincount(code, weights=np.concatenate([p[5] for p in parts]) + n_i * dy * dy,
                      minlength=G)
    return n, mx, my, cxx, cxy, cyy


def merge_statistics(stats):
    """One :class:`Statistics` from several (tasks matched by label; exact update)."""
    stats = [st for st in stats if st is not None]
    rows = sum(st.n_rows for st in stats)
    kept = [st for st in stats if len(st.labels)]  # an empty partition: no labels (and
    if not kept:  # possibly another dtype, e.g. float for an empty integer column)
        return stats[0]
    if len(kept) < len(stats) and stats[0].sx_all is None:
        stats = kept
    if len(stats) == 1:
        return stats[0]
    labels = [st.labels for st in stats]
    merged, codes = np.unique(np.concatenate(labels), return_inverse=True)
    codes = np.split(np.asarray(codes).ravel(), np.cumsum([len(lab) for lab in labels])[:-1])
    parts = [(st.n, st.mx, st.my, st.cxx, st.cxy, st.cyy) for st in stats]
    arrays = _merge_arrays(parts, codes, len(merged))
    sx = [st.sx_all for st in stats if st.sx_all is not None]
    return Statistics(merged, *arrays, rows,
                      np.sum(sx, axis=0) if sx else None, sum(st.s_all for st in stats))


class TaskStatistics:
    """The task layout of a fit from sufficient statistics (no data): just what the
    Gram-form datafit and the solvers use -- ``task_gram``, the centring ``mu`` and
    the intercept conversions, the targets' weighted means -- computed exactly as
    :class:`mtlreg._tasks.layout.SharedDesign` / :class:`~mtlreg._tasks.layout.TaskBlocks` do
    from the rows (same ``c_it = lambda_t s_i / n_t``, same centring)."""

    X = None  # no data here: callers that look at the design see none

    def __init__(self, stats, layout, task_weights, fit_intercept):
        self.layout = layout
        self.labels = stats.labels
        self.fit_intercept = fit_intercept
        self.n_tasks = len(stats.labels)
        self.n_features = stats.mx.shape[1]
        n_t = task_sample_counts(None, stats.n, np.arange(self.n_tasks), stats.labels)
        self.lambdas = resolve_task_weights(task_weights, stats.labels, n_t)
        d = self.n_features
        if not fit_intercept:
            mu = np.zeros((self.n_tasks, d))
        elif layout == "shared":  # the s-weighted mean of all rows, for every task
            mu = np.broadcast_to(stats.sx_all / stats.s_all, (self.n_tasks, d))
        else:
            mu = stats.mx
        self.mu = mu
        scale = self.lambdas / n_t
        delta = stats.mx - mu  # (T, d): mean of the task's rows in the centred frame
        k = d + int(fit_intercept)
        H = np.empty((self.n_tasks, k, k))
        H[:, :d, :d] = stats.cxx + n_t[:, None, None] * delta[:, :, None] * delta[:, None, :]
        r = np.empty((self.n_tasks, k))
        r[:, :d] = stats.cxy + (n_t * stats.my)[:, None] * delta
        if fit_intercept:
            H[:, :d, d] = H[:, d, :d] = n_t[:, None] * delta
            H[:, d, d] = n_t
            r[:, d] = n_t * stats.my
        H *= scale[:, None, None]
        r *= scale[:, None]
        self._gram = (H, r)
        self.const = 0.5 * float(np.sum(scale * (stats.cyy + n_t * stats.my**2)))
        self._y_means = stats.my.copy()
        self._n_t = n_t

    def task_gram(self):
        return self._gram

    def weighted_counts(self):
        """``n_t``: the sum of the sample weights over each task's labelled rows."""
        return self._n_t

    def gram_constant(self):
        return self.const

    def target_means(self):
        return self._y_means

    def uncentre_intercept(self, W, b):
        return b - np.einsum("tj,jt->t", self.mu, W)

    def centre_intercept(self, W, b):
        return b + np.einsum("tj,jt->t", self.mu, W)


__all__ = ["Statistics", "TaskStatistics", "merge_statistics", "per_task_block_statistics",
           "shared_block_statistics"]
