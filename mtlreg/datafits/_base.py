"""What every datafit on a task layout shares: the predictor, value, gradient, Lipschitz bound."""

import numpy as np


class _LinearDatafit:
    curvature = 1.0  # bound on loss''(z)

    def __init__(self, layout):
        self.layout = layout
        self._lipschitz = None

    def linear_predictor(self, W, b):
        return self.layout.matvec(W, b)

    def value(self, Z):
        return float(np.sum(self.layout.c * self._loss(self.layout.y, Z)))

    def exact_value(self, W, b):
        return self.value(self.linear_predictor(W, b))

    def gradient(self, Z):
        """Gradient w.r.t. ``(W, b)``: ``A^T (c * loss'(y, Z))``."""
        return self.layout.rmatvec(self.layout.c * self._dloss(self.layout.y, Z))

    def lipschitz(self):
        if self._lipschitz is None:
            self._lipschitz = self.curvature * self.layout.sq_norm_bound()
        return self._lipschitz


def _stack(W, b, fit_intercept):
    """The Gram-form variable ``V = [W^T, b]`` (``W^T`` without intercept)."""
    return np.hstack([W.T, b[:, None]]) if fit_intercept else np.ascontiguousarray(W.T)
