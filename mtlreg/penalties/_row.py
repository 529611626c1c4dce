"""Penalties separable over the rows of ``W`` (features): l1, l2,1, l1,inf, l1 + l2,1."""

import numpy as np
from scipy.optimize import brentq

from .._kernels import prox as _prox_kernels
from ..utils._arrays import c64 as _c


def _spec(n_rows, kind, a1, a2, positive, l2=0.0):
    """Row description for block coordinate descent (see ``mtlreg._kernels.prox``)."""
    return (np.full(n_rows, kind), np.full(n_rows, float(a1)), np.full(n_rows, float(a2)),
            l2, positive)


# The l1 and sparse-group optimality measures in NumPy, vectorised over the rows: called
# a few times a fit (25-50 us a call at School's 28 rows of 139 tasks, against 5-10 us
# compiled; the sparse-group fit calls it 4 times, the dirty fit the l1 one 7), they
# save their kernels' compilation (0.3-0.55 s of CPU each) on the first fit after
# installing. The l2,1 and l1,inf measures stay compiled (:mod:`mtlreg._kernels.prox`):
# the group lasso calls the l2,1 one 14-27 times a fit (in NumPy its warm fit took 4 %
# longer), and the l1,inf one took 200-270 us a call in NumPy against 15-30 us. The
# block coordinate descent kernels use the row versions of :mod:`mtlreg._kernels.prox`.
def l1_subdiff_distance(W, G, alpha, positive):
    """max_{j,t} dist(-G_jt, alpha * d|W_jt| (+ normal cone of W >= 0))."""
    at_zero = np.maximum(-G if positive else np.abs(G), alpha) - alpha
    D = np.where(W > 0, np.abs(G + alpha), np.where(W < 0, np.abs(G - alpha), at_zero))
    return float(D.max(initial=0.0))


def sparse_group_subdiff_distance(W, G, alpha_l1, alpha_l21, positive):
    """Rows: dist(-G_j, d(alpha_l1 ||.||_1 + alpha_l21 ||.||_2)(W_j) (+ normal cone of
    W_j >= 0)), max over rows."""
    norm = np.sqrt(np.einsum("jt,jt->j", W, W))
    nonzero = norm > 0.0
    V = G + (alpha_l21 / np.where(nonzero, norm, 1.0) * nonzero)[:, None] * W
    at_zero = (np.minimum(V + alpha_l1, 0.0) if positive
               else np.maximum(np.abs(V) - alpha_l1, 0.0))  # a zero row: V = G
    V = np.where(W > 0, V + alpha_l1, np.where(W < 0, V - alpha_l1, at_zero))
    dist = np.sqrt(np.einsum("jt,jt->j", V, V))
    dist[~nonzero] = np.maximum(dist[~nonzero] - alpha_l21, 0.0)  # a zero row
    return float(dist.max(initial=0.0))


class L1:
    r"""Element-wise lasso ``alpha * sum_{j,t} |W_jt|`` (tasks fitted independently).

    Notes
    -----
    Prox: soft-thresholding ``sign(w) max(0, |w| - step alpha)`` (clipped at 0 with
    ``positive``). ``alpha_max = max |G0|`` (``max(-G0)`` with ``positive``).
    """

    def __init__(self, alpha, positive=False):
        self.alpha = float(alpha)
        self.positive = bool(positive)

    def row_spec(self, n_rows):
        return _spec(n_rows, 1, self.alpha, 0.0, self.positive)

    def value(self, W):
        return self.alpha * float(np.abs(W).sum())

    def prox(self, W, step):
        return _prox_kernels.soft_threshold(_c(W), step * self.alpha, self.positive)

    def subdiff_distance(self, W, G):
        return l1_subdiff_distance(_c(W), _c(G), self.alpha, self.positive)

    def alpha_max(self, G0):
        G0 = np.minimum(G0, 0.0) if self.positive else G0
        return float(np.abs(G0).max(initial=0.0))


class L21:
    r"""Row-group lasso (joint feature selection): ``alpha * sum_j ||W_j||_2``.

    ``W_j`` is row ``j`` of ``W`` (feature ``j`` across all tasks).

    Notes
    -----
    Prox (block soft-thresholding), for each row:
    ``W_j * max(0, 1 - step * alpha / ||W_j||_2)``. With ``positive=True`` the
    penalty adds the indicator of ``W >= 0`` and the prox first clips at 0.
    ``alpha_max = max_j ||G0_j||_2``.
    """

    def __init__(self, alpha, positive=False):
        self.alpha = float(alpha)
        self.positive = bool(positive)

    def row_spec(self, n_rows):
        return _spec(n_rows, 0, self.alpha, 0.0, self.positive)

    def value(self, W):
        return self.alpha * float(np.sqrt((W**2).sum(axis=1)).sum())

    def prox(self, W, step):
        return _prox_kernels.group_soft_threshold_rows(_c(W), step * self.alpha, self.positive)

    def subdiff_distance(self, W, G):
        return _prox_kernels.l21_subdiff_distance(_c(W), _c(G), self.alpha, self.positive)

    def alpha_max(self, G0):
        G0 = np.minimum(G0, 0.0) if self.positive else G0
        return float(np.sqrt((G0**2).sum(axis=1)).max(initial=0.0))


class L1Inf:
    r"""Row-wise l1,inf block norm ``alpha * sum_j max_t |W_jt|`` (Jalali et al., MALSAR).

    Notes
    -----
    Prox by the Moreau identity: ``W_j - proj_{||.||_1 <= step alpha}(W_j)`` per
    row (projection on the l1 ball by sorting, Duchi et al. 2008).
    ``alpha_max = max_j ||G0_j||_1`` (the dual norm of l_inf is l_1).
    """

    def __init__(self, alpha, positive=False):
        self.alpha = float(alpha)
        self.positive = bool(positive)

    def row_spec(self, n_rows):
        return _spec(n_rows, 3, self.alpha, 0.0, self.positive)

    def value(self, W):
        return self.alpha * float(np.abs(W).max(axis=1, initial=0.0).sum())

    def prox(self, W, step):
        return _prox_kernels.linf_prox_rows(_c(W), step * self.alpha, self.positive)

    def subdiff_distance(self, W, G):
        return _prox_kernels.l1inf_subdiff_distance(_c(W), _c(G), self.alpha, self.positive,
                                                     np.empty(W.shape[1]))

    def alpha_max(self, G0):
        G0 = np.minimum(G0, 0.0) if self.positive else G0
        return float(np.abs(G0).sum(axis=1).max(initial=0.0))


class SparseGroupL1L21:
    r"""Sparse group lasso ``alpha * (l1_ratio ||W||_1 + (1 - l1_ratio) sum_j ||W_j||_2)``.

    Notes
    -----
    Prox: soft-threshold every entry at ``step alpha l1_ratio``, then block
    soft-threshold each row at ``step alpha (1 - l1_ratio)`` (the composition is
    exact for this pair; Simon et al. 2013). ``alpha_max``: the smallest ``alpha``
    with ``||S_{alpha r}(G0_j)||_2 <= alpha (1 - r)`` for every row, found by
    root finding on the (monotone) row condition.
    """

    def __init__(self, alpha, l1_ratio=0.5, positive=False):
        self.alpha = float(alpha)
        self.l1_ratio = float(l1_ratio)
        self.positive = bool(positive)

    @property
    def _alphas(self):
        return self.alpha * self.l1_ratio, self.alpha * (1.0 - self.l1_ratio)

    def row_spec(self, n_rows):
        return _spec(n_rows, 2, *self._alphas, self.positive)

    def value(self, W):
        a1, a21 = self._alphas
        return a1 * float(np.abs(W).sum()) + a21 * float(np.sqrt((W**2).sum(axis=1)).sum())

    def prox(self, W, step):
        a1, a21 = self._alphas
        V = _prox_kernels.soft_threshold(_c(W), step * a1, self.positive)
        return _prox_kernels.group_soft_threshold_rows(V, step * a21, False)

    def subdiff_distance(self, W, G):
        a1, a21 = self._alphas
        return sparse_group_subdiff_distance(_c(W), _c(G), a1, a21, self.positive)

    def alpha_max(self, G0):
        G0 = np.minimum(G0, 0.0) if self.positive else G0
        r = self.l1_ratio
        if r >= 1.0:
            return float(np.abs(G0).max(initial=0.0))
        best = 0.0
        for g in np.abs(G0):
            if not g.any():
                continue
            def excess(a, g=g):
                return np.linalg.norm(np.maximum(g - a * r, 0.0)) - a * (1.0 - r)
            hi = float(np.linalg.norm(g)) / (1.0 - r)  # excess(hi) <= 0
            best = max(best, brentq(excess, 0.0, hi, xtol=1e-14 * hi, rtol=1e-15)
                       if excess(0.0) > 0 else 0.0)
        return best
