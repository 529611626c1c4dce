r"""The Poisson loss with the log link, and an offset.

For counts ``y >= 0`` and the linear predictor ``z`` (``x . w_t + b_t``) plus a known
offset ``o`` (``log`` of an exposure: a time at risk, a population),

    loss(y, z) = exp(z + o) - y (z + o),

so that with the layout's weights (:mod:`mtlreg._tasks.layout`) the data term is

    F(W, b) = sum_t lambda_t / n_t * sum_{i in t} s_i [exp(eta_it) - y_it eta_it],
    eta_it = x_i . w_t + b_t + o_i,

the negative Poisson log-likelihood per task (mean over the task's rows) without the
``log(y!)`` term. It differs from half the Poisson deviance,
``d(y, mu) / 2 = y log(y / mu) - y + mu`` with ``mu = exp(eta)``, by the constant
``y log y - y`` (0 for ``y = 0``): the same minimiser. scikit-learn's
``PoissonRegressor`` minimises ``1 / (2 n) sum_i s_i d(y_i, mu_i) / mean(s) + alpha / 2
||w||^2``, i.e. our ``F`` (one task, ``lambda = 1``) plus ``alpha / 2 ||w||^2``
(``l2_reg = alpha``) up to that constant.

Curvature ``exp(z + o)`` has no global bound: :meth:`Poisson.lipschitz` is the
curvature bound at the null model (the intercept-only fit), a starting step for
FISTA, whose backtracking doubles it where it is too small; proximal Newton (the
default) needs no such constant: its quadratic model is the weighted least-squares
problem with weights ``c_o exp(z_o + o_o)`` (IRLS).
"""

import numpy as np

from ._base import _LinearDatafit
from ._intercepts import broadcast_intercepts, task_roots
from ._squared import second_order_model


class Poisson(_LinearDatafit):
    """Poisson loss, log link: ``loss(y, z) = exp(z + o) - y (z + o)`` (module docstring).

    ``offset``: ``o``, shaped like the layout's predictions (``(n,)`` per-task
    layout, ``(n, T)`` shared; an ``(n,)`` offset on a shared design is broadcast
    to every task), default zero."""

    curvature = np.inf  # exp(z + o): no global bound
    exact_quadratic = False

    def __init__(self, layout, offset=None):
        super().__init__(layout)
        shape = layout.y.shape
        if offset is None:
            self.offset = np.zeros(shape)
        else:
            offset = np.asarray(offset, dtype=np.float64)
            if offset.ndim == 1 and len(shape) == 2:
                offset = offset[:, None]
            self.offset = np.ascontiguousarray(np.broadcast_to(offset, shape))
        self._labelled = layout.c > 0

    def _mean(self, Z):
        """``exp(Z + o)`` on the labelled entries, 0 elsewhere (no inf * 0 there)."""
        with np.errstate(over="ignore"):
            return np.where(self._labelled, np.exp(Z + self.offset), 0.0)

    def value(self, Z):
        c, y = self.layout.c, self.layout.y
        with np.errstate(over="ignore", invalid="ignore"):
            return float(np.sum(c * self._mean(Z)) - np.sum(c * y * (Z + self.offset)))

    def gradient(self, Z):
        """``A^T (c * (exp(z + o) - y))``."""
        with np.errstate(over="ignore", invalid="ignore"):
            return self.layout.rmatvec(self.layout.c * (self._mean(Z) - self.layout.y))

    def _task_totals(self):
        """Per task ``Y_t = sum c y`` and ``E_t = sum c exp(o)``: the data term of an
        intercept-only model is ``E_t exp(b_t) - Y_t b_t`` (+ a constant)."""
        layout = self.layout
        Y = layout._task_sums(layout.c * layout.y)
        E = layout._task_sums(np.where(self._labelled, layout.c * np.exp(self.offset), 0.0))
        return Y, E

    def initial_intercept(self):
        """``log(Y_t / E_t)``: ``log`` of the task's weighted mean count (divided by its
        mean exposure); ``-inf`` for a task whose counts are all zero (the estimators
        refuse those unless the intercepts are shrunk, ``shrunk_null_intercepts``)."""
        Y, E = self._task_totals()
        with np.errstate(divide="ignore"):
            return np.log(Y) - np.log(E)

    def shrunk_null_intercepts(self, s, m):
        """Per task the minimiser of ``E_t e^b - Y_t b + s lambda_t / 2 (b - m)^2``: the
        root of ``E_t e^b - Y_t + s lambda_t (b - m)``, which lies in ``[m + min(0,
        (Y_t - E_t e^m) / (s lambda_t)), m + Y_t / (s lambda_t)]``; finite for
        all-zero tasks."""
        Y, E = self._task_totals()
        k = s * np.asarray(self.layout.lambdas, dtype=np.float64)
        lo = m + np.minimum(0.0, (Y - E * np.exp(m)) / k)
        hi = m + np.maximum(0.0, Y / k)

        def g(b):
            mu = E * np.exp(b)
            return mu - Y + k * (b - m), mu + k

        return task_roots(g, lo, hi, np.full(len(Y), m))

    def shrunk_null_start(self):
        """A starting shared intercept: ``log`` of the pooled mean count."""
        Y, E = self._task_totals()
        return float(np.log(max(np.sum(Y), np.finfo(float).tiny) / np.sum(E)))

    def lipschitz(self):
        """The Lipschitz constant of the gradient at the null model, ``max_o exp(b0 + o)``
        times the layout's bound on ``||A||^2``: a starting step, not a global bound."""
        if self._lipschitz is None:
            b0 = self.initial_intercept()
            b0 = np.where(np.isfinite(b0), b0, 0.0)
            top = float(np.max(self._mean(broadcast_intercepts(self.layout, b0)), initial=0.0))
            self._lipschitz = max(top, np.finfo(float).tiny) * self.layout.sq_norm_bound()
        return self._lipschitz

    def quadratic_model(self, W, b):
        """Second-order model at ``(W, b)`` in Gram form: ``H_t = sum_i c_i mu_i a_i
        a_i^T`` with ``mu = exp(z + o)``, ``r_t = H_t v_t - g_t`` (the model's gradient at
        ``v_t`` is the Poisson gradient ``g_t``): IRLS with the working weights ``c mu``."""
        layout = self.layout
        Z = self.linear_predictor(W, b)
        H = layout.weighted_gram(layout.c * self._mean(Z))
        return second_order_model(self, W, b, Z, H)

    def intercept_gradient_bound(self):
        return np.inf  # sum c (mu - y): unbounded in y, judged on the W scale alone
