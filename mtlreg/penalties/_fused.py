"""Fused sparse group lasso along a chain of tasks (MALSAR cFSGL / CFGLasso).

Tasks are time points in the order of the columns of ``W``; every row ``W_j`` (one
feature over time) gets ``a1 ||W_j||_1 + beta sum_t |W_{j,t+1} - W_{j,t}| + a21 ||W_j||_2``.
"""

import numpy as np
from scipy.optimize import lsq_linear

from .._kernels import tv as _tv_kernels
from ._row import SparseGroupL1L21, _c


class FusedSparseGroup:
    r"""``alpha (l1_ratio ||W||_1 + (1 - l1_ratio) sum_j ||W_j||_2) + beta sum_j TV(W_j)``.

    ``TV(w) = sum_{t=1}^{T-1} |w_{t+1} - w_t|`` along the columns (tasks in time order).

    Notes
    -----
    Prox, row by row: the 1-D total-variation prox (Condat's direct algorithm,
    :func:`mtlreg._kernels.tv.tv1d_prox`) at ``step beta``, then soft-thresholding at
    ``step alpha l1_ratio``, then block soft-thresholding at
    ``step alpha (1 - l1_ratio)``. The composition is exact in this order: each
    later prox only scales or zeroes entries, keeping the signs of the entries and
    of their successive differences, on which the earlier terms' subdifferentials
    depend (Friedman et al. 2007 for l1 after TV; Zhou et al. 2012, cFSGL, for the
    group term).

    Optimality measure: per row, the exact distance from ``-g`` to the
    subdifferential ``a1 d||w||_1 + a21 d||w||_2 + beta D^T d||D w||_1``: the
    subgradients of the terms where they are unique are fixed; the free ones
    (entries at 0, equal neighbours: within ``1e-13 max |w|``) act within the runs of
    fused neighbours (segments) and make there the set ``C`` of subgradients of a sum
    of support functions, so that the distance from the residual ``v`` is
    ``||prox_{sigma_C}(v)||`` (Moreau), in closed form: the 1-D TV prox on a segment
    of equal non-zero values, followed by soft-thresholding on a segment of zeros
    (Friedman et al. 2007); ``O(T)`` per row. (A segment equal up to round-off of
    which only some entries are exactly 0 is solved by BVLS.) The group term at
    ``w = 0`` subtracts ``a21`` from the residual norm. The largest row distance is
    returned.

    ``alpha_max``: that of the sparse group lasso part alone, ``W = 0`` is then a
    solution whatever ``beta`` (the fused term only enlarges the subdifferential at
    0); the smallest such ``alpha`` can be lower when ``beta > 0``.
    """

    def __init__(self, alpha, beta, l1_ratio=0.5):
        self.alpha = float(alpha)
        self.beta = float(beta)
        self.l1_ratio = float(l1_ratio)

    @property
    def _alphas(self):
        return self.alpha * self.l1_ratio, self.alpha * (1.0 - self.l1_ratio)

    def value(self, W):
        a1, a21 = self._alphas
        return (a1 * float(np.abs(W).sum()) + a21 * float(np.sqrt((W**2).sum(axis=1)).sum())
                + self.beta * float(np.abs(np.diff(W, axis=1)).sum()))

    def prox(self, W, step):
        a1, a21 = self._alphas
        return _tv_kernels.fused_sparse_group_prox_rows(_c(W), step * self.beta, step * a1,
                                                      step * a21)

    def subdiff_distance(self, W, G):
        return max((self._row_distance(w, g) for w, g in zip(W, G)), default=0.0)

    def _row_distance(self, w, g):
        a1, a21 = self._alphas
        T = len(w)
        dw = np.diff(w)
        # neighbours equal up to round-off count as fused (the TV prox may leave a
        # 1e-17 step between two segments whose exact values are equal)
        dw = np.where(np.abs(dw) <= 1e-13 * np.abs(w).max(initial=0.0), 0.0, dw)
        norm = float(np.linalg.norm(w))
        # D^T z for (D w)_k = w_{k+1} - w_k: column k of D^T is -e_k + e_{k+1}
        fixed_z = np.sign(dw)
        c = g + a1 * np.sign(w) + self.beta * _dt(fixed_z, T)
        if norm > 0:
            c = c + a21 * w / norm
        # The free subgradients (l1 at zero entries, TV at fused neighbours) only act
        # inside the runs of fused neighbours (segments), so the distance splits over
        # the segments; on each, the set of free subgradients ``C`` is that of a sum of
        # support functions, and dist(v, C) = ||prox_{sigma_C}(v)|| (Moreau): the TV
        # prox (Condat) on a segment of equal non-zero values, soft-thresholding after
        # it on a segment of zeros (Friedman et al. 2007).
        v = np.ascontiguousarray(-c)
        beta = self.beta
        ends = np.flatnonzero(dw != 0) + 1 if beta > 0 else np.arange(1, T)
        starts = np.concatenate([[0], ends, [T]])
        zero = w == 0
        mixed = np.zeros(len(starts) - 1, dtype=np.bool_)
        dist2 = _tv_kernels.fused_segments_distance2(v, zero, starts, beta, a1, mixed)
        for k in np.flatnonzero(mixed):  # equal up to round-off, only some exactly 0
            seg = slice(starts[k], starts[k + 1])
            dist2 += _segment_distance2(v[seg], zero[seg], a1, beta)
        dist = float(np.sqrt(dist2))
        return max(0.0, dist - a21) if norm == 0 else dist

    def alpha_max(self, G0):
        return SparseGroupL1L21(1.0, self.l1_ratio).alpha_max(G0)


def _segment_distance2(v, zero, a1, beta):
    """Squared distance from ``v`` to ``a1 B_inf`` (on the entries ``zero``) plus
    ``beta D^T B_inf`` over one segment (a box-constrained least-squares problem,
    solved exactly by BVLS): for a segment of neighbours equal up to round-off of which
    only some are exactly 0, where neither closed form applies."""
    L = len(v)
    columns = [a1 * np.eye(L)[:, t] for t in np.flatnonzero(zero)]
    for k in range(L - 1):
        col = np.zeros(L)
        col[k], col[k + 1] = -beta, beta
        columns.append(col)
    A = np.column_stack(columns)
    res = lsq_linear(A, v, bounds=(-1.0, 1.0), method="bvls", tol=1e-15)
    r = v - A @ res.x
    return float(r @ r)


def _dt(z, T):
    """``D^T z`` for the forward differences ``D`` of length-``T`` vectors."""
    out = np.zeros(T)
    out[:-1] -= z
    out[1:] += z
    return out
