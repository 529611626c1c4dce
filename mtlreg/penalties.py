"""Penalties: the non-smooth part of the objective, on ``W`` of shape ``(n_features, n_tasks)``.

Every penalty implements the same small contract:

``value(W)``
    the penalty's value;
``prox(W, step)``
    ``argmin_U 1/(2 step) ||U - W||_F^2 + value(U)``;
``subdiff_distance(W, G)``
    an optimality measure: the distance from ``-G`` to the subdifferential of the
    penalty at ``W`` (``G`` the datafit gradient), 0 exactly at a solution;
``alpha_max(G0)``
    the smallest ``alpha`` for which ``W = 0`` is a solution, given the datafit
    gradient ``G0`` at ``W = 0`` (with the intercept at its optimum).
"""

import numpy as np

from . import _kernels


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

    def value(self, W):
        return self.alpha * float(np.sqrt((W**2).sum(axis=1)).sum())

    def prox(self, W, step):
        return _kernels.group_soft_threshold_rows(
            np.ascontiguousarray(W), step * self.alpha, self.positive
        )

    def subdiff_distance(self, W, G):
        return _kernels.l21_subdiff_distance(
            np.ascontiguousarray(W), np.ascontiguousarray(G), self.alpha, self.positive
        )

    def alpha_max(self, G0):
        if self.positive:
            G0 = np.minimum(G0, 0.0)
        return float(np.sqrt((G0**2).sum(axis=1)).max(initial=0.0))


class WithRidge:
    r"""``penalty(W) + (l2_reg / 2) ||W||_F^2``.

    Notes
    -----
    ``prox_{step (P + l2/2 ||.||^2)}(V) = prox_{step' P}(V / (1 + step l2))`` with
    ``step' = step / (1 + step l2)``; the ridge gradient ``l2 W`` moves into ``G``
    for the optimality measure, and ``alpha_max`` is unchanged (the ridge gradient
    vanishes at 0).
    """

    def __init__(self, penalty, l2_reg):
        self.penalty = penalty
        self.l2_reg = float(l2_reg)

    def value(self, W):
        return self.penalty.value(W) + 0.5 * self.l2_reg * float((W**2).sum())

    def prox(self, W, step):
        shrink = 1.0 + step * self.l2_reg
        return self.penalty.prox(W / shrink, step / shrink)

    def subdiff_distance(self, W, G):
        return self.penalty.subdiff_distance(W, G + self.l2_reg * W)

    def alpha_max(self, G0):
        return self.penalty.alpha_max(G0)


def with_ridge(penalty, l2_reg):
    """``penalty`` plus ``(l2_reg / 2) ||W||_F^2`` (``penalty`` itself when ``l2_reg == 0``)."""
    return WithRidge(penalty, l2_reg) if l2_reg > 0 else penalty
