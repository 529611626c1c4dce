r"""The logistic mixed model: the Laplace approximation to its marginal likelihood.

Task ``t`` has rows ``i`` with fixed-effects design ``x_i`` (``[1, features]``, ``p``
columns), random-effects design ``z_i`` (``q`` of those columns), labels ``y_i`` in
``{0, 1}`` and frequency weights ``w_i > 0``; its linear predictor is
``eta_i = x_i . gamma + z_i . b_t`` with ``b_t = Lambda v_t``, ``v_t ~ N(0, I_m)``, so
``b_t ~ N(0, Sigma)``, ``Sigma = Lambda Lambda^T`` (``Lambda``, ``q x m``, from the
covariance parameters ``theta`` of :mod:`._covariance`; the spherical form keeps a
singular ``Sigma``, a zero variance, inside the domain, as lme4 does). With

.. math::

    f_t(v) = \sum_{i \in t} w_i \left(y_i \eta_i - \log(1 + e^{\eta_i})\right)
             - \tfrac{1}{2} \|v\|^2,
    \qquad H_t(v) = I_m + \Lambda^\top Z_t^\top \operatorname{diag}(w_i \mu_i (1 - \mu_i))
             Z_t \Lambda,

(``mu_i = 1 / (1 + e^{-eta_i})``), the Laplace approximation of the log marginal
likelihood is, at the modes ``v_t = argmax f_t``,

.. math::

    \log L(\gamma, \theta) = \sum_t \left( f_t(\hat v_t) - \tfrac{1}{2}
        \log\det H_t(\hat v_t) \right),

lme4's ``glmer`` criterion at ``nAGQ = 1`` (its deviance is ``-2 log L`` for 0/1
labels; the same as ``log int exp(loglik_t) N(b; 0, Sigma) db`` by Laplace's method
in ``b``: ``f_t`` in ``b = Lambda v`` is ``loglik_t - b^T Sigma^{-1} b / 2``).

The modes are found by Newton's method batched over tasks (``f_t`` is strictly
concave: one ``m x m`` solve per task a step, halved where ``f_t`` would fall). The
gradient in ``(gamma, Lambda)`` is exact by implicit differentiation of the modes:
with ``r_i = w_i (y_i - mu_i)``, ``W_i = w_i mu_i (1 - mu_i)``, ``a_i = Lambda^T z_i``,
``B_i = H_t^{-1} a_i``, ``g_i = (a_i . B_i) W_i (1 - 2 mu_i) / 2`` (half the derivative
of ``log det H_t`` in ``eta_i``), ``c_t = H_t^{-1} sum_{i in t} g_i a_i`` and
``k_i = g_i - W_i a_i . c_t``:

.. math::

    \partial_\gamma \log L = \sum_i (r_i - k_i) x_i, \qquad
    \partial_\Lambda \log L = \sum_i z_i \left((r_i - k_i) \hat v_t - W_i B_i
        - r_i c_t\right)^\top.

Everything is per row or per task with NumPy (``O(N m^2 + T m^3)`` an evaluation).
"""

from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize
from scipy.special import expit

from ..utils._threads import single_threaded_blas
from ._fit import NEWTON_MAX_PARAMS, _newton_polish, projected_gradient

# rows per slice of the per-row m x m temporaries
_SLICE_ELEMENTS = 1 << 22
# Newton on the modes: stop when every task's decrement grad^T H^{-1} grad is below
# this (the modes then have ~1e-10 relative accuracy: quadratic convergence)
MODE_DECREMENT = 1e-20
MODE_MAX_STEPS = 100


@dataclass
class LaplaceData:
    """Rows grouped by task: ``X (N, p)`` the fixed design (intercept column first),
    ``Z (N, q)`` the random design, ``y (N,)`` in {0, 1}, ``w (N,)`` positive weights,
    ``starts (T,)`` the first row of each task (every task has a row), ``codes (N,)``
    the task of each row."""

    X: np.ndarray
    Z: np.ndarray
    y: np.ndarray
    w: np.ndarray
    starts: np.ndarray
    codes: np.ndarray

    @property
    def n_tasks(self):
        return len(self.starts)

    @classmethod
    def from_rows(cls, X, Z, y, w, codes, n_tasks):
        """From rows in any order, ``codes`` in ``0 .. n_tasks - 1``, each present."""
        order = np.argsort(codes, kind="stable")
        codes = np.asarray(codes, dtype=np.intp)[order]
        starts = np.searchsorted(codes, np.arange(n_tasks))
        if len(np.unique(codes)) != n_tasks:
            raise ValueError("Every task needs at least one row with a positive weight.")

        def f64(a):
            return np.ascontiguousarray(np.asarray(a, dtype=np.float64)[order])

        return cls(f64(X), f64(Z), f64(y), f64(w), starts, codes)


@dataclass
class LaplaceEvaluation:
    log_likelihood: float
    modes: np.ndarray  # (T, m): v_t
    gradient_gamma: np.ndarray = None  # (p,)
    gradient_lam: np.ndarray = None  # (q, m)
    mode_converged: bool = True


def _segment_sum(values, codes, T):
    """Per-task sums of ``values`` (``(N,)`` or ``(N, k)``) by ``np.bincount`` (3 to 4
    times faster than ``np.add.reduceat`` over the rows of a 2-D array, no copies)."""
    if values.ndim == 1:
        return np.bincount(codes, weights=values, minlength=T)
    out = np.empty((T, values.shape[1]))
    for j in range(values.shape[1]):
        out[:, j] = np.bincount(codes, weights=values[:, j], minlength=T)
    return out


def _task_hessians(A, W, codes, T):
    """``(T, m, m)``: ``I + sum_{i in t} W_i a_i a_i^T``, one ``bincount`` an entry of the
    upper triangle (memory linear in the rows)."""
    m = A.shape[1]
    out = np.empty((T, m, m))
    Aw = A * W[:, None]
    for j in range(m):
        for k in range(j + 1):
            out[:, j, k] = out[:, k, j] = np.bincount(codes, weights=Aw[:, j] * A[:, k],
                                                      minlength=T)
    out += np.eye(m)
    return out


def _row_solves(Hinv, A, codes):
    """``B_i = H_t^{-1} a_i`` for every row, in slices."""
    N, m = A.shape
    B = np.empty_like(A)
    step = max(1, _SLICE_ELEMENTS // max(m * m, 1))
    for r0 in range(0, N, step):
        r1 = min(N, r0 + step)
        B[r0:r1] = np.einsum("nij,nj->ni", Hinv[codes[r0:r1]], A[r0:r1])
    return B


def _task_objective(data, eta, v):
    """``f_t(v)`` for every task."""
    ll = data.w * (data.y * eta - np.logaddexp(0.0, eta))
    return _segment_sum(ll, data.codes, len(v)) - 0.5 * np.sum(v * v, axis=1)


def find_modes(data, offset, A, v0):
    """The modes ``v_t`` of every ``f_t`` by batched Newton (step halving per task);
    ``offset = X gamma``, ``A = Z Lambda``. Returns ``(v, eta, converged)``."""
    T, m = data.n_tasks, A.shape[1]
    v = np.zeros((T, m)) if v0 is None else np.array(v0, dtype=float)
    if m == 0:
        return v, offset.copy(), True
    eta = offset + np.einsum("nj,nj->n", A, v[data.codes])
    f = _task_objective(data, eta, v)
    for _ in range(MODE_MAX_STEPS):
        mu = expit(eta)
        grad = _segment_sum(A * (data.w * (data.y - mu))[:, None], data.codes, T) - v
        H = _task_hessians(A, data.w * mu * (1.0 - mu), data.codes, T)
        step = np.linalg.solve(H, grad[:, :, None])[:, :, 0]
        decrement = np.sum(grad * step, axis=1)
        if np.max(decrement) <= MODE_DECREMENT:
            return v, eta, True
        t_step = np.ones(T)
        active = decrement > MODE_DECREMENT
        # the rounding of f_t: its terms, not f_t itself, set it (a one-class task with
        # a large variance has f_t near 0 from terms of size |eta| ~ 20)
        slack = 1e-12 * (_segment_sum(data.w * (1.0 + np.abs(eta)), data.codes, T)
                         + np.sum(v * v, axis=1))
        for _ in range(60):  # halve where f_t would fall (never needed near the mode)
            v_new = v + t_step[:, None] * step * active[:, None]
            eta_new = offset + np.einsum("nj,nj->n", A, v_new[data.codes])
            f_new = _task_objective(data, eta_new, v_new)
            bad = active & (f_new < f - slack)
            if not bad.any():
                break
            t_step[bad] *= 0.5
        v, eta, f = v_new, eta_new, f_new
    return v, eta, False


def laplace(data, gamma, lam, v0=None, gradient=False):
    """The Laplace log-likelihood (module docstring) at ``gamma (p,)``, ``Lambda (q, m)``,
    its gradient in both if asked, the modes (warm started from ``v0``)."""
    offset = data.X @ gamma
    A = data.Z @ lam
    v, eta, ok = find_modes(data, offset, A, v0)
    mu = expit(eta)
    W = data.w * mu * (1.0 - mu)
    H = _task_hessians(A, W, data.codes, data.n_tasks)
    sign, logdet = np.linalg.slogdet(H)
    f = _task_objective(data, eta, v)
    value = float(np.sum(f) - 0.5 * np.sum(logdet))
    ev = LaplaceEvaluation(value, v, mode_converged=ok)
    if not gradient:
        return ev
    r = data.w * (data.y - mu)
    if A.shape[1] == 0:
        ev.gradient_gamma = data.X.T @ r
        ev.gradient_lam = np.zeros(lam.shape)
        return ev
    Hinv = np.linalg.inv(H)
    B = _row_solves(Hinv, A, data.codes)
    g = 0.5 * np.einsum("nj,nj->n", A, B) * W * (1.0 - 2.0 * mu)
    c = np.einsum("tij,tj->ti", Hinv, _segment_sum(A * g[:, None], data.codes, data.n_tasks))
    k = g - W * np.einsum("nj,nj->n", A, c[data.codes])
    ev.gradient_gamma = data.X.T @ (r - k)
    rows = (r - k)[:, None] * v[data.codes] - W[:, None] * B - r[:, None] * c[data.codes]
    ev.gradient_lam = data.Z.T @ rows
    return ev


def pooled_logistic(data, max_steps=50):
    """``gamma`` maximising the pooled log-likelihood (``Sigma = 0``) by Newton's method
    with step halving; ``(gamma, converged)`` (not converged: separable classes, or
    collinear columns). The start of :func:`fit_laplace` and the single-task fit."""
    X, y, w = data.X, data.y, data.w
    gamma = np.zeros(X.shape[1])

    def loglik(g):
        eta = X @ g
        return float(np.sum(w * (y * eta - np.logaddexp(0.0, eta))))

    f = loglik(gamma)
    for _ in range(max_steps):
        mu = expit(X @ gamma)
        grad = X.T @ (w * (y - mu))
        H = (X * (w * mu * (1.0 - mu))[:, None]).T @ X
        try:
            step = np.linalg.solve(H, grad)
        except np.linalg.LinAlgError:
            return gamma, False
        if grad @ step <= MODE_DECREMENT * max(1.0, abs(f)):
            return gamma, True
        t = 1.0
        for _ in range(60):
            f_new = loglik(gamma + t * step)
            if f_new >= f - 1e-13 * abs(f):
                break
            t *= 0.5
        gamma, f = gamma + t * step, f_new
    return gamma, False


@dataclass
class LaplaceFit:
    gamma: np.ndarray
    theta: np.ndarray
    evaluation: LaplaceEvaluation  # at the solution, with the gradient
    n_iter: int
    converged: bool
    projected_gradient: float  # of -log L / sum(w), max over (gamma, theta)
    message: str


def fit_laplace(data, structure, *, tol=1e-6, max_iter=1000, theta0=None):
    """Maximise the Laplace log-likelihood over ``(gamma, theta)`` jointly: L-BFGS-B on
    ``-log L / sum(w)`` with the exact gradient (module docstring), the modes warm
    started from the previous evaluation, the variances bounded below by 0; Newton
    steps on a finite-difference Hessian if the line search fails above ``tol``.
    Start: the pooled logistic fit and ``Sigma = I`` (:func:`initial_theta`).
    Converged when the projected gradient of ``-log L / sum(w)`` is below ``tol`` in
    every coordinate and every mode converged."""
    with single_threaded_blas():
        return _fit_laplace(data, structure, tol, max_iter, theta0)


def initial_theta(structure):
    """``theta`` of ``Sigma = I`` (lme4's start); for the low-rank structure, whose
    factor ``B = 0`` is a stationary point, ``B`` gets ``1/2`` on its diagonal (and
    ``diag(d)`` what is left of 1)."""
    if structure.name != "low_rank":
        return structure.from_psi(np.eye(structure.q))
    q, k = structure.q, structure.k
    B = 0.5 * np.eye(q, k)
    return np.concatenate([B.ravel(), np.sqrt(1.0 - np.sum(B * B, axis=1))])


def _fit_laplace(data, structure, tol, max_iter, theta0):
    p = data.X.shape[1]
    Nw = float(np.sum(data.w))
    gamma0, _ = pooled_logistic(data)
    theta = initial_theta(structure) if theta0 is None else np.array(theta0)
    bounds = [(None, None)] * p + list(structure.bounds())
    cache = {"v": None}

    def evaluate(x):
        ev = laplace(data, x[:p], structure.lam(x[p:]), v0=cache["v"], gradient=True)
        cache["v"] = ev.modes
        grad = np.concatenate([ev.gradient_gamma,
                               structure.gradient(x[p:], ev.gradient_lam)])
        return ev, grad

    def fun(x):
        ev, grad = evaluate(x)
        if not np.isfinite(ev.log_likelihood):
            return np.inf, np.zeros_like(x)
        return -ev.log_likelihood / Nw, -grad / Nw

    x0 = np.concatenate([gamma0, theta])
    options = {"maxiter": max_iter, "gtol": tol, "ftol": 1e-15, "maxcor": 20, "maxls": 50}
    res = minimize(fun, x0, jac=True, method="L-BFGS-B", bounds=bounds, options=options)
    x, nit = res.x, int(res.nit)
    if (res.status == 2 and projected_gradient(x, res.jac, bounds) > tol
            and len(x) <= NEWTON_MAX_PARAMS):
        x, steps = _newton_polish(fun, x, bounds, tol)
        nit += steps
    cache["v"] = None  # the final modes from scratch: independent of the path
    ev, grad = evaluate(x)
    pg = projected_gradient(x, -grad / Nw, bounds)
    converged = bool(pg <= tol and ev.mode_converged)
    message = str(res.message) if ev.mode_converged else "a task's mode did not converge"
    return LaplaceFit(x[:p].copy(), x[p:].copy(), ev, max(nit, 1), converged, pg, message)


__all__ = ["LaplaceData", "LaplaceEvaluation", "LaplaceFit", "find_modes", "fit_laplace", "initial_theta",
           "laplace", "pooled_logistic"]
