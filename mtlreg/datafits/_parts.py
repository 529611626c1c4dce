"""Datafits of a sum of coefficient parts (the dirty model's ``W = B + S``)."""

import numpy as np


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

    def exact_value(self, V, b):
        return self.datafit.exact_value(self.combine(V), b)

    def gradient(self, Z):
        G, gb = self.datafit.gradient(Z)
        return np.vstack([G, G]), gb

    def lipschitz(self):
        return 2.0 * self.datafit.lipschitz()

    def initial_intercept(self):
        return self.datafit.initial_intercept()

    @property
    def exact_quadratic(self):
        return self.datafit.exact_quadratic

    def quadratic_model(self, V, b):
        return SumOfParts(self.datafit.quadratic_model(self.combine(V), b))

    def intercept_gradient_bound(self):
        return self.datafit.intercept_gradient_bound()
