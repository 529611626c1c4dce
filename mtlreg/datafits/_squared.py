"""The squared loss, on the data (:class:`Quadratic`) or in Gram form (:class:`GramQuadratic`),
and the per-task quadratic models that second-order solvers minimise (:class:`QuadraticModel`)."""

import numpy as np

from ._base import _LinearDatafit, _stack


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

    exact_quadratic = True

    def initial_intercept(self):
        return self.layout.task_means(self.layout.y)

    def quadratic_model(self, W, b):
        """The squared loss is its own quadratic model (in Gram form)."""
        return GramQuadratic(self.layout)

    def intercept_gradient_bound(self):
        return np.inf  # unbounded in y: the intercept is judged on the W scale alone


class GramQuadratic:
    r"""The squared datafit of :class:`Quadratic`, evaluated from per-task Gram matrices.

    With ``v_t = [w_t; b_t]`` (``b_t`` in the centred coordinates of the layout)
    the data term of task ``t`` is ``v_t^T H_t v_t / 2 - r_t^T v_t + c_t`` (see
    ``layout.task_gram``). The "prediction" this datafit works on is ``V`` itself,
    shape ``(n_tasks, k)``: an iteration costs ``O(T k^2)`` instead of
    ``O(nnz(X))``, a large saving when tasks have many more samples than features
    (School: 139 tasks of 22-251 rows, ``k = 29``). Same value and gradient as
    :class:`Quadratic` (up to rounding), and an exact Lipschitz constant.
    """

    curvature = 1.0
    exact_quadratic = True

    def __init__(self, layout):
        self.layout = layout
        self.H, self.r = layout.task_gram()
        self.const = layout.gram_constant()
        self.fit_intercept = layout.fit_intercept
        self._lipschitz = None

    def linear_predictor(self, W, b):
        return _stack(W, b, self.fit_intercept)

    def quadratic_model(self, W, b):
        return self

    def intercept_gradient_bound(self):
        return np.inf

    def value(self, V):
        HV = np.matmul(self.H, V[:, :, None])[:, :, 0]
        return float(0.5 * np.sum(V * HV) - np.sum(self.r * V) + self.const)

    def exact_value(self, W, b):
        """From the residuals, not the Gram form: ``v^T H v / 2 - r^T v + const`` loses
        about ``eps * const`` to cancellation when the fit is nearly exact. A layout of
        sufficient statistics only (a fit from Dask, ``layout.X is None``) has no
        residuals: there it is the Gram form."""
        if self.layout.X is None:
            return self.value(self.linear_predictor(W, b))
        return Quadratic(self.layout).value(self.layout.matvec(W, b, once=True))

    def gradient(self, V):
        grad = np.matmul(self.H, V[:, :, None])[:, :, 0] - self.r
        d = self.layout.n_features
        gb = grad[:, d].copy() if self.fit_intercept else np.zeros(len(grad))
        return np.ascontiguousarray(grad[:, :d].T), gb

    def lipschitz(self):
        if self._lipschitz is None:
            top = np.linalg.eigvalsh(self.H)[:, -1] if self.H.size else np.zeros(1)
            self._lipschitz = float(max(top.max(initial=0.0), 0.0)) * (1 + 1e-10)
        return self._lipschitz

    def initial_intercept(self):
        return self.layout.target_means()


class QuadraticModel(GramQuadratic):
    """A quadratic ``v^T H_t v / 2 - r_t^T v + const`` per task, given by its arrays
    (the second-order model of another datafit, see ``Logistic.quadratic_model``);
    the variables and centring are those of ``layout``."""

    def __init__(self, layout, H, r, const):
        self.layout = layout
        self.H, self.r, self.const = H, r, const
        self.fit_intercept = layout.fit_intercept
        self._lipschitz = None

    def exact_value(self, W, b):
        return self.value(self.linear_predictor(W, b))


def second_order_model(datafit, W, b, Z, H):
    """The second-order model of ``datafit`` at ``(W, b)`` (``Z`` its prediction there),
    given its per-task Hessians ``H`` in Gram form: ``r_t = H_t v_t - g_t`` and the
    constant that make the model's value and gradient at ``v = [w_t; b_t]`` those of the
    datafit (IRLS: the working response without the division by the curvature)."""
    layout = datafit.layout
    G, gb = datafit.gradient(Z)
    V = _stack(W, b, layout.fit_intercept)
    g = _stack(G, gb, layout.fit_intercept)
    HV = np.matmul(H, V[:, :, None])[:, :, 0]
    const = datafit.value(Z) - float(np.sum(g * V)) + 0.5 * float(np.sum(V * HV))
    return QuadraticModel(layout, H, HV - g, const)
