"""The binary logistic loss."""

import numpy as np
from scipy.special import expit

from ._base import _LinearDatafit
from ._squared import second_order_model


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

    exact_quadratic = False

    def initial_intercept(self):
        p = self.layout.task_means(self.layout.y)
        p = np.clip(p, 1e-12, 1 - 1e-12)
        return np.log(p / (1 - p))

    def quadratic_model(self, W, b):
        """Second-order model at ``(W, b)``: a weighted least-squares datafit in Gram form.

        With ``p = expit(z)`` the Hessian of task t is ``H_t = sum_i c_i p_i (1 - p_i)
        a_i a_i^T`` (one product per task, ``layout.weighted_gram``); ``r_t = H_t v_t -
        g_t`` so that the model's gradient at ``v_t = [w_t; b_t]`` is the logistic
        gradient ``g_t`` (IRLS: the working response ``z + (y - p) / (p (1 - p))``
        with sample weights ``c p (1 - p)``, without dividing by ``p (1 - p)``)."""
        layout = self.layout
        Z = self.linear_predictor(W, b)
        p = expit(Z)
        H = layout.weighted_gram(layout.c * p * (1.0 - p))
        return second_order_model(self, W, b, Z, H)

    def intercept_gradient_bound(self):
        """``|grad_{b_t} F| = |sum_i c_i (p_i - y_i)| <= sum_i c_i`` (= lambda_t)."""
        return float(np.max(self.layout._task_sums(self.layout.c), initial=0.0))
