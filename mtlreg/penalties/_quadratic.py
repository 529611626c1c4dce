"""Quadratic (smooth) penalties with closed-form proxes."""

import numpy as np

from ._row import _spec


class Zero:
    """No penalty (with a ridge term: independent ridge per task); ``positive``
    adds the constraint ``W >= 0`` (prox: clipping at 0)."""

    def __init__(self, positive=False):
        self.positive = bool(positive)

    def row_spec(self, n_rows):
        return _spec(n_rows, 5, 0.0, 0.0, self.positive)

    def value(self, W):
        return 0.0

    def prox(self, W, step):
        return np.maximum(W, 0.0) if self.positive else W

    def subdiff_distance(self, W, G):
        if self.positive:  # at W = 0 the normal cone absorbs a positive gradient
            G = np.where(W > 0, G, np.minimum(G, 0.0))
        return float(np.abs(G).max(initial=0.0))

    def alpha_max(self, G0):
        return np.inf


class MeanRegularization:
    r"""Mean-regularisation (Evgeniou & Pontil 2004): ``alpha/2 sum_t ||w_t - w_bar||_2^2``.

    ``w_t`` is column ``t`` of ``W`` and ``w_bar`` the mean of the columns; the
    penalty is ``alpha/2 ||W P||_F^2`` with ``P = I - 11^T/T`` the centring over tasks.

    Notes
    -----
    Prox: the task mean is kept, the deviations from it shrink,
    ``U = w_bar 1^T + (W - w_bar 1^T) / (1 + step alpha)``. The penalty is smooth,
    so the optimality measure is the largest entry of ``G + alpha W P``; no finite
    ``alpha`` zeroes ``W`` (``alpha_max`` is ``inf``).
    """

    def __init__(self, alpha):
        self.alpha = float(alpha)

    def row_spec(self, n_rows):
        return _spec(n_rows, 4, self.alpha, 0.0, False)

    @staticmethod
    def _deviation(W):
        return W - W.mean(axis=1, keepdims=True)

    def value(self, W):
        return 0.5 * self.alpha * float((self._deviation(W) ** 2).sum())

    def prox(self, W, step):
        mean = W.mean(axis=1, keepdims=True)
        return mean + (W - mean) / (1.0 + step * self.alpha)

    def subdiff_distance(self, W, G):
        return float(np.abs(G + self.alpha * self._deviation(W)).max(initial=0.0))

    def alpha_max(self, G0):
        return np.inf
