"""Datafits: the smooth part of the objective.

A datafit sees one task layout (:mod:`mtlreg._layout`), i.e. a linear operator
``A : (W, b) -> Z`` and observation weights ``c``, and implements

    F(W, b) = sum_{observations o} c_o * loss(y_o, z_o),       Z = A(W, b)

through ``linear_predictor``, ``value(Z)``, ``gradient(Z)`` (w.r.t. ``W`` and
``b``), ``lipschitz()`` (a valid upper bound on the Lipschitz constant of the
gradient w.r.t. the pair ``(W, b)``) and ``initial_intercept()`` (the optimal
intercept when ``W = 0``). Working on ``Z`` lets a solver reuse predictions:
``Z`` is linear in the coefficients.
"""

import numpy as np
from scipy.special import expit


class _LinearDatafit:
    curvature = 1.0  # bound on loss''(z)

    def __init__(self, layout):
        self.layout = layout
        self._lipschitz = None

    def linear_predictor(self, W, b):
        return self.layout.matvec(W, b)

    def value(self, Z):
        return float(np.sum(self.layout.c * self._loss(self.layout.y, Z)))

    def gradient(self, Z):
        """Gradient w.r.t. ``(W, b)``: ``A^T (c * loss'(y, Z))``."""
        return self.layout.rmatvec(self.layout.c * self._dloss(self.layout.y, Z))

    def lipschitz(self):
        if self._lipschitz is None:
            self._lipschitz = self.curvature * self.layout.sq_norm_bound()
        return self._lipschitz


class Quadratic(_LinearDatafit):
    r"""Squared loss, ``loss(y, z) = (y - z)^2 / 2``.

    With the layout's weights this is
    ``sum_t lambda_t / (2 n_t) * sum_{i in t} s_i (y_it - x_i . w_t - b_t)^2``.
    """

    curvature = 1.0

    @staticmethod
    def _loss(y, z):
        return 0.5 * (y - z) ** 2

    @staticmethod
    def _dloss(y, z):
        return z - y

    def initial_intercept(self):
        return self.layout.task_means(self.layout.y)


class Logistic(_LinearDatafit):
    r"""Logistic loss for labels ``y in {0, 1}``: ``loss(y, z) = log(1 + e^z) - y z``.

    Equivalently ``log(1 + exp(-y' z))`` with ``y' = 2y - 1 in {-1, +1}``.
    """

    curvature = 0.25

    @staticmethod
    def _loss(y, z):
        return np.logaddexp(0.0, z) - y * z

    @staticmethod
    def _dloss(y, z):
        return expit(z) - y

    def initial_intercept(self):
        p = self.layout.task_means(self.layout.y)
        p = np.clip(p, 1e-12, 1 - 1e-12)
        return np.log(p / (1 - p))


DATAFITS = {"squared": Quadratic, "logistic": Logistic}


class SumOfParts:
    """Datafit of ``W = B + S`` seen on the stacked variable ``V = [B; S]`` (dirty model).

    ``A'(B, S, b) = A(B + S, b)``: the gradient is the base gradient twice and the
    Lipschitz bound doubles (``||[I I]||_2^2 = 2``).
    """

    def __init__(self, datafit):
        self.datafit = datafit
        self.layout = datafit.layout

    @staticmethod
    def combine(V):
        d = V.shape[0] // 2
        return V[:d] + V[d:]

    def linear_predictor(self, V, b):
        return self.datafit.linear_predictor(self.combine(V), b)

    def value(self, Z):
        return self.datafit.value(Z)

    def gradient(self, Z):
        G, gb = self.datafit.gradient(Z)
        return np.vstack([G, G]), gb

    def lipschitz(self):
        return 2.0 * self.datafit.lipschitz()

    def initial_intercept(self):
        return self.datafit.initial_intercept()
