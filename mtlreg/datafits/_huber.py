r"""The Huber loss with a fixed threshold.

With the residual ``r = y - z`` and the threshold ``epsilon > 0`` (in the units of
``y``),

    loss(y, z) = r^2 / 2                          if |r| <= epsilon,
                 epsilon |r| - epsilon^2 / 2      otherwise,

so that with the layout's weights (:mod:`mtlreg._tasks.layout`) the data term is
``sum_t lambda_t / n_t sum_{i in t} s_i loss(y_it, x_i . w_t + b_t)``: the squared loss
of :class:`~mtlreg.datafits.Quadratic` for small residuals, linear beyond ``epsilon``.
This is skglm's ``Huber(delta)`` and scikit-learn's ``SGDRegressor(loss="huber")``
(there ``epsilon`` is the threshold too); scikit-learn's ``HuberRegressor`` instead
estimates a scale ``sigma`` jointly (``epsilon`` is then relative to ``sigma``), a
non-convex-in-appearance concomitant problem that the datafit/penalty contract (a
fixed smooth term of ``Z``) does not carry. A fixed threshold is not scale
equivariant by itself: ``y -> k y`` gives ``k W`` only with ``epsilon -> k epsilon``
(and the penalty strengths rescaled with it).

The gradient is ``-c psi(r)`` with ``psi(r) = clip(r, -epsilon, epsilon)``: Lipschitz
with curvature 1 (FISTA's bound is the squared loss's). Its second derivative is
``1{|r| <= epsilon}`` except at the kinks: proximal Newton's quadratic model is the
weighted least-squares problem with those weights (a generalised Hessian: semismooth
Newton, locally exact once the set of small residuals settles). A task with fewer
residuals inside the band than coefficients (``d + 1``; e.g. targets in units much
larger than ``epsilon`` at the start) would get a singular model, unbounded along
some direction; there the weights are ``min(1, epsilon / |r|)`` instead, the
half-quadratic majoriser of the Huber loss (IRLS; Huber 1981): the model then lies
above the loss and has its gradient, so its minimiser decreases the objective.

``solver="auto"`` takes FISTA for this loss (``prefer_first_order``), ``"newton"`` is
available: where most residuals lie beyond ``epsilon`` (an l1-like regression) the
majoriser's steps converge slowly. Measured (tests/test_huber.py's per-task data,
targets x 10, ``epsilon=1``, 10% of residuals inside): Newton had not reached
``tol=1e-10`` after 5000 iterations where FISTA stopped after 100; with 45% inside,
Newton 7 iterations, FISTA 90.
"""

import numpy as np

from ._base import _LinearDatafit
from ._intercepts import broadcast_intercepts, task_roots
from ._squared import second_order_model


class Huber(_LinearDatafit):
    """Huber loss with threshold ``epsilon`` (module docstring)."""

    curvature = 1.0
    exact_quadratic = False
    prefer_first_order = True  # solver="auto": FISTA (module docstring)

    def __init__(self, layout, epsilon=1.35):
        super().__init__(layout)
        self.epsilon = float(epsilon)

    def _loss(self, y, z):
        a = np.abs(y - z)
        e = self.epsilon
        return np.where(a <= e, 0.5 * a * a, e * a - 0.5 * e * e)

    def _dloss(self, y, z):
        return -np.clip(y - z, -self.epsilon, self.epsilon)

    def _intercept_problem(self, b):
        """Per task ``(g, g')`` of the intercept-only data term at ``b``."""
        layout = self.layout
        Zb = broadcast_intercepts(layout, b)
        g = layout._task_sums(layout.c * self._dloss(layout.y, Zb))
        return g, layout._task_sums(layout.c * (np.abs(layout.y - Zb) <= self.epsilon))

    def _target_range(self):
        layout = self.layout
        labelled = layout.c > 0
        big = np.finfo(float).max
        if layout.layout == "shared":
            lo = np.min(np.where(labelled, layout.y, big), axis=0)
            hi = np.max(np.where(labelled, layout.y, -big), axis=0)
        else:
            lo = np.full(layout.n_tasks, big)
            hi = np.full(layout.n_tasks, -big)
            np.minimum.at(lo, layout.codes[labelled], layout.y[labelled])
            np.maximum.at(hi, layout.codes[labelled], layout.y[labelled])
        return lo, hi

    def initial_intercept(self):
        """Per task the Huber location of its targets: the root of ``sum_i c_i psi(y_i -
        b)`` (between the task's smallest and largest target)."""
        lo, hi = self._target_range()
        return task_roots(self._intercept_problem, lo, hi, self.layout.target_means())

    def shrunk_null_intercepts(self, s, m):
        """Per task the minimiser of the intercept-only data term plus ``s lambda_t / 2
        (b - m)^2``; it lies between ``m`` and the range of the task's targets."""
        lo, hi = self._target_range()
        k = s * np.asarray(self.layout.lambdas, dtype=np.float64)

        def g(b):
            value, slope = self._intercept_problem(b)
            return value + k * (b - m), slope + k

        return task_roots(g, np.minimum(lo, m), np.maximum(hi, m), np.full(len(k), m))

    def shrunk_null_start(self):
        lam = np.asarray(self.layout.lambdas, dtype=np.float64)
        return float(np.sum(lam * self.initial_intercept()) / np.sum(lam))

    def _few_inside(self, inside):
        """Per task: fewer labelled residuals inside the band than coefficients ``k``
        (a hook: a fit from Dask counts them over every partition)."""
        layout = self.layout
        k = layout.n_features + int(layout.fit_intercept)
        return layout._task_sums((inside & (layout.c > 0)).astype(float)) < k

    def quadratic_model(self, W, b):
        """Model at ``(W, b)`` in Gram form: ``H_t = sum_i c_i 1{|r_i| <= epsilon} a_i
        a_i^T`` (the generalised Hessian; the majoriser's weights ``min(1, epsilon /
        |r_i|)`` on a task with fewer than ``k`` residuals inside the band), ``r_t = H_t
        v_t - g_t`` (the model's gradient at ``v_t`` is the Huber gradient ``g_t``)."""
        layout = self.layout
        Z = self.linear_predictor(W, b)
        r = np.abs(layout.y - Z)
        inside = r <= self.epsilon
        few = self._few_inside(inside)
        weights = inside.astype(float)
        if few.any():  # the majoriser's weights on those tasks (module docstring)
            with np.errstate(divide="ignore"):
                mm = np.minimum(1.0, self.epsilon / r)
            weights = np.where(broadcast_intercepts(layout, few.astype(float)) > 0, mm, weights)
        H = layout.weighted_gram(layout.c * weights)
        return second_order_model(self, W, b, Z, H)

    def intercept_gradient_bound(self):
        """``|grad_{b_t} F| = |sum_i c_i psi(r_i)| <= epsilon lambda_t``."""
        return self.epsilon * float(np.max(self.layout._task_sums(self.layout.c), initial=0.0))
