"""Shrunk intercepts (``intercept_reg``): the intercepts pulled toward a shared one.

With ``s = intercept_reg > 0`` every formulation's objective gains

    s / 2 * sum_t lambda_t (b_t - b_bar)^2,        b_bar free (minimised over too),

where ``lambda_t`` are the task weights of the data term and ``b_t`` the intercept of
task ``t`` in the original (uncentred) feature space. The solvers see the centred
intercepts ``b'_t = b_t + mu_t . w_t`` (:mod:`mtlreg._tasks.layout`), so for a fixed
``b_bar`` the term is a per-task quadratic in ``v_t = [w_t; b'_t]``:
``(s lambda_t / 2) (a_t . v_t - b_bar)^2`` with ``a_t = [-mu_t; 1]``, a rank-one
addition to each task's Gram block ``H_t`` and to ``r_t``. One mechanism then serves
every solver: a datafit wrapper that adds the term to the value, the gradient and the
Gram / quadratic-model blocks (:func:`shrunk_datafit`), so ADMM and BCD on the Gram
form, FISTA on the design, Newton's quadratic models, the direct solve and the fits
from Dask statistics all solve the problem at a fixed ``b_bar`` unchanged.

``b_bar`` is found by an outer iteration (:func:`solve_shrunk`): at the optimum
``b_bar = sum_t lambda_t b_t / sum_t lambda_t``, so it is the root of the decreasing
scalar function ``f(m) = weighted mean of b_t(m) - m`` (``b_t(m)``: the intercepts of
the inner solution at ``b_bar = m``; ``-s Lambda f(m)`` is the derivative of the
minimised objective in ``m``). A first step with the slope of the intercept-only
problem, then secant steps kept inside the bracket of the root, each inner solve warm
started from the previous: affine ``f`` (squared loss, smooth penalty) takes three
solves; the stopping rule is ``s Lambda |f| <= tol * scale`` (the gradient in ``b_bar``,
on the scale of the other gradients).
"""

import numpy as np
from scipy.special import expit

from ..datafits import QuadraticModel, SumOfParts
from ..solvers import SolverResult

MAX_OUTER = 50


def _direction(layout):
    """``a_t = [-mu_t; 1]`` (T, d + 1): ``b_t = a_t . v_t`` in the centred coordinates."""
    mu = np.asarray(layout.mu, dtype=np.float64)
    return np.hstack([-mu, np.ones((mu.shape[0], 1))])


def _term(layout, s, m, u):
    return 0.5 * s * float(np.sum(layout.lambdas * (u - m) ** 2))


def _shift(layout, s, m, H, r, const):
    """The Gram blocks ``(H, r, const)`` with the term at ``b_bar = m`` added."""
    a = _direction(layout)
    w = s * np.asarray(layout.lambdas, dtype=np.float64)
    H = H + w[:, None, None] * a[:, :, None] * a[:, None, :]
    r = r + (w * m)[:, None] * a
    return H, r, const + 0.5 * m * m * float(np.sum(w))


class ShrunkGram(QuadraticModel):
    """A Gram-form datafit (``H``, ``r``) with the term at ``b_bar = m`` folded in."""

    def __init__(self, inner, s, m):
        layout = inner.layout
        super().__init__(layout, *_shift(layout, s, m, inner.H, inner.r, inner.const))
        self.inner, self.s, self.m = inner, s, m

    def exact_value(self, W, b):
        u = self.layout.uncentre_intercept(W, b)
        return self.inner.exact_value(W, b) + _term(self.layout, self.s, self.m, u)

    def gram(self):
        return self.H, self.r


class _Prediction:
    """A prediction ``(Z, u)``: the base datafit's ``Z`` and the uncentred intercepts
    ``u``; closed under ``+``, ``-`` and scalar ``*`` as the solvers use predictions."""

    def __init__(self, z, u):
        self.z, self.u = z, u

    def __add__(self, other):
        return _Prediction(self.z + other.z, self.u + other.u)

    def __sub__(self, other):
        return _Prediction(self.z - other.z, self.u - other.u)

    def __mul__(self, scalar):
        return _Prediction(scalar * self.z, scalar * self.u)

    __rmul__ = __mul__


class ShrunkDesign:
    """A datafit on the design (squared, logistic, the distributed logistic) with the
    term at ``b_bar = m`` added to its value and gradient; its quadratic model is the
    base's with the term folded in (:class:`ShrunkGram`). (The attribute is ``inner``,
    not ``datafit``: the solvers read ``datafit.datafit`` as the dirty model's parts.)"""

    def __init__(self, inner, s, m):
        self.inner, self.s, self.m = inner, s, m
        self.layout = inner.layout
        self.curvature = getattr(inner, "curvature", 1.0)
        self._w = s * np.asarray(self.layout.lambdas, dtype=np.float64)
        self._mu = np.asarray(self.layout.mu, dtype=np.float64)

    @property
    def exact_quadratic(self):
        return getattr(self.inner, "exact_quadratic", False)

    @property
    def prefer_first_order(self):
        return getattr(self.inner, "prefer_first_order", False)

    def linear_predictor(self, W, b):
        return _Prediction(self.inner.linear_predictor(W, b),
                           self.layout.uncentre_intercept(W, b))

    def value(self, Z):
        return self.inner.value(Z.z) + _term(self.layout, self.s, self.m, Z.u)

    def exact_value(self, W, b):
        u = self.layout.uncentre_intercept(W, b)
        return self.inner.exact_value(W, b) + _term(self.layout, self.s, self.m, u)

    def gradient(self, Z):
        G, gb = self.inner.gradient(Z.z)
        g = self._w * (Z.u - self.m)
        return G - self._mu.T * g, gb + g

    def lipschitz(self):
        a2 = 1.0 + np.sum(self._mu**2, axis=1)
        return self.inner.lipschitz() + float(np.max(self._w * a2, initial=0.0))

    def intercept_gradient_bound(self):
        return getattr(self.inner, "intercept_gradient_bound", lambda: np.inf)()

    def gram(self):
        """The per-task ``(H, r)`` of the squared loss with the term (the direct solve)."""
        H, r = self.layout.task_gram()
        return _shift(self.layout, self.s, self.m, H, r, 0.0)[:2]


class ShrunkDesignModel(ShrunkDesign):
    """:class:`ShrunkDesign` of a datafit with a quadratic model (in memory; Newton)."""

    def quadratic_model(self, W, b):
        return ShrunkGram(self.inner.quadratic_model(W, b), self.s, self.m)


def shrunk_datafit(datafit, s, m):
    """``datafit`` plus ``s / 2 sum_t lambda_t (b_t - m)^2`` (see the module doc); the
    dirty models' ``SumOfParts`` is kept outside, the term acting on ``W = B + S``."""
    if isinstance(datafit, SumOfParts):
        return SumOfParts(shrunk_datafit(datafit.datafit, s, m))
    if hasattr(datafit, "H"):
        return ShrunkGram(datafit, s, m)
    if hasattr(datafit, "quadratic_model"):
        return ShrunkDesignModel(datafit, s, m)
    return ShrunkDesign(datafit, s, m)


def weighted_mean(layout, u):
    lam = np.asarray(layout.lambdas, dtype=np.float64)
    return float(np.sum(lam * u) / np.sum(lam))


def null_intercepts(layout, loss, s, datafit=None):
    """The intercepts ``b`` and ``b_bar`` minimising the objective at ``W = 0``:
    ``sum_t lambda_t [phi(b_t) - ybar_t b_t] + s / 2 sum_t lambda_t (b_t - b_bar)^2``
    (``phi(b) = b^2 / 2`` for the squared loss, ``log(1 + e^b)`` for the logistic:
    every row of a task then has the prediction ``b_t``, so the data term only sees the
    task's weighted target mean ``ybar_t``). One-class tasks of a classifier get a
    finite intercept, between ``b_bar`` and their class's side. Other losses (Poisson
    with an offset, Huber): the ``datafit`` gives each task's minimiser at a given
    ``b_bar`` (``shrunk_null_intercepts``)."""
    if loss not in ("squared", "logistic"):
        base = getattr(datafit, "datafit", datafit)  # the dirty model's SumOfParts

        def f_other(m):
            return float(np.sum(lam * base.shrunk_null_intercepts(s, m)) / np.sum(lam)) - m

        lam = np.asarray(layout.lambdas, dtype=np.float64)
        m = _root(f_other, base.shrunk_null_start(), slope=-1.0 / (1.0 + s), tol=1e-14)[0]
        return base.shrunk_null_intercepts(s, m), m
    ybar = np.asarray(layout.target_means(), dtype=np.float64)
    lam = np.asarray(layout.lambdas, dtype=np.float64)
    if loss == "squared":
        m = float(np.sum(lam * ybar) / np.sum(lam))
        return (ybar + s * m) / (1.0 + s), m

    def tasks_at(m):
        """Per task the root of ``expit(b) - ybar + s (b - m)`` (increasing in ``b``),
        by Newton steps kept inside its bracket ``[m + (ybar - 1) / s, m + ybar / s]``."""
        lo, hi = m + (ybar - 1.0) / s, m + ybar / s
        b = np.clip(m + 0.0 * ybar, lo, hi)
        for _ in range(200):
            p = expit(b)
            g = p - ybar + s * (b - m)
            lo, hi = np.where(g < 0, b, lo), np.where(g > 0, b, hi)
            step = b - g / (p * (1.0 - p) + s)
            inside = (step > lo) & (step < hi)
            b_new = np.where(inside, step, 0.5 * (lo + hi))
            if np.all(np.abs(b_new - b) <= 1e-15 * (1.0 + np.abs(b))):
                return b_new
            b = b_new
        return b

    def f(m):  # weighted mean of b_t(m) - m: decreasing in m
        return float(np.sum(lam * tasks_at(m)) / np.sum(lam)) - m

    p = np.clip(float(np.sum(lam * ybar) / np.sum(lam)), 1e-12, 1 - 1e-12)
    m = float(np.log(p / (1 - p)))
    m = _root(f, m, slope=-0.25 / (0.25 + s), tol=1e-14)[0]
    return tasks_at(m), m


def _root(f, m, slope, tol, f_m=None, evaluate=None):
    """Root of the decreasing scalar ``f`` from ``m``: a first step with ``slope``, then
    secant steps kept inside the bracket (bisection otherwise). ``evaluate(m)`` may
    return extra state with the value: ``(f(m), state)``; returns ``(m, state)``."""
    evaluate = evaluate or (lambda x: (f(x), None))
    value, state = evaluate(m) if f_m is None else f_m
    lo, hi = -np.inf, np.inf
    prev = None
    for _ in range(MAX_OUTER):
        if abs(value) <= tol:
            return m, state
        if value > 0:
            lo = max(lo, m)
        else:
            hi = min(hi, m)
        if prev is not None and prev[1] != value:
            step = -value * (m - prev[0]) / (value - prev[1])
        else:
            step = -value / slope
        new = m + step
        if not lo < new < hi:
            new = 0.5 * (lo + hi) if np.isfinite(lo) and np.isfinite(hi) else m + 2.0 * step
        if new == m:
            return m, state
        prev = (m, value)
        m = new
        value, state = evaluate(m)
    return m, state


def solve_shrunk(solve_fixed, datafit, layout, s, W0, b0, coef_of, tol_abs, curvature=1.0):
    """Minimise over ``(W, b, b_bar)`` with the term: ``solve_fixed(datafit_m, W, b)``
    solves at a fixed ``b_bar`` (the estimator's solver, warm started); ``coef_of``
    maps the solver variable to ``W``. Returns a :class:`SolverResult` whose objective
    is at the optimal ``b_bar`` for the returned intercepts, ``stop_crit`` the largest
    of the inner measure and ``s Lambda |f|``, ``n_iter`` the inner iterations summed."""
    lam_sum = float(np.sum(layout.lambdas))
    state = {"W": W0, "b": b0, "n_iter": 0, "n_outer": 0}

    def evaluate(m):
        res = solve_fixed(shrunk_datafit(datafit, s, m), state["W"], state["b"])
        state.update(W=res.W, b=res.b, n_iter=state["n_iter"] + res.n_iter,
                     n_outer=state["n_outer"] + 1)
        u = layout.uncentre_intercept(coef_of(res.W), res.b)
        return weighted_mean(layout, u) - m, res

    m0 = weighted_mean(layout, layout.uncentre_intercept(coef_of(W0), b0))
    # the intercept-only slope of f: -h / (h + s), h the curvature of the loss
    m, res = _root(None, m0, slope=-curvature / (curvature + s), tol=tol_abs / (s * lam_sum),
                   evaluate=evaluate)
    u = layout.uncentre_intercept(coef_of(res.W), res.b)
    gap = weighted_mean(layout, u) - m
    crit_m = s * lam_sum * abs(gap)
    # the minimum over b_bar of the term is at the weighted mean of u: the objective
    # there is the inner one less s Lambda gap^2 / 2
    objective = res.objective - 0.5 * s * lam_sum * gap * gap
    return SolverResult(
        res.W, res.b, state["n_iter"], max(res.stop_crit, crit_m), res.tol_abs,
        bool(res.converged and crit_m <= res.tol_abs), objective, res.history,
        rho_scale=res.rho_scale, inner_iterations=res.inner_iterations)


__all__ = ["null_intercepts", "shrunk_datafit", "solve_shrunk", "weighted_mean"]
