"""Maximise the (restricted) likelihood in the covariance parameters ``theta``.

Two stages, both on the per-task statistics only:

1. EM warm start (Laird & Ware 1982, in the relative scale): from the posterior means
   ``b_t`` and relative covariances ``W_t`` of the random effects at the current
   ``theta`` (and the profiled ``beta``, ``sigma^2``), the closed-form M-step
   ``Sigma <- (1/T) sum_t (b_t b_t^T + sigma^2 W_t)``,
   ``sigma^2 <- (1/N) sum_t (||y_t - X_t beta - Z_t b_t||^2 + sigma^2 tr(Z_t^T Z_t W_t))``,
   then ``Psi = Sigma / sigma^2`` projected on the structure. A step is kept only if the
   profiled deviance decreases; EM stops when it gains less than ``em_tol * N``.
   EM moves fast far from the optimum and needs no gradient, whatever the number of
   parameters (a full covariance over many effects).
2. L-BFGS-B on the profiled deviance divided by ``N`` with its analytic gradient
   (:func:`mtlreg.mixed._criterion.evaluate`), variances bounded below by 0. Converged
   when the projected gradient of ``deviance / N`` is below ``tol`` in every coordinate.
"""

from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize

from ..utils._threads import single_threaded_blas
from ._criterion import evaluate


@dataclass
class MixedFit:
    theta: np.ndarray
    evaluation: object  # the criterion at theta, with BLUPs
    n_iter: int  # EM steps + quasi-Newton iterations
    n_em_iter: int
    converged: bool
    projected_gradient: float  # of deviance / N, max over theta's coordinates
    message: str


def initial_psi(stats):
    """A scale-aware start: each random effect alone explains about half the noise
    variance on an average row (``Psi_jj = N / (2 sum_t (Z_t^T Z_t)_jj)``)."""
    diag = np.einsum("tqq->q", stats.G)
    N = float(np.sum(stats.n))
    return np.diag(0.5 * N / np.where(diag > 0, diag, 1.0))


def em_step(stats, structure, ev):
    """One EM update of ``theta`` from the evaluation ``ev`` (with BLUPs)."""
    T = stats.n_tasks
    N = float(np.sum(stats.n))
    b, W, s2 = ev.blup, ev.post_cov, ev.sigma2
    Sigma = (b.T @ b + s2 * W.sum(axis=0)) / T
    xi = np.append(-ev.beta, 1.0)
    rr = np.einsum("a,tab,b->t", xi, stats.Sx, xi)  # ||y_t - X_t beta||^2
    Zr = stats.Zs @ xi  # Z_t^T (y_t - X_t beta)
    G = stats.G
    Gb = np.einsum("tqr,tr->tq", G, b)
    resid = rr - 2.0 * np.sum(b * Zr, axis=1) + np.sum(b * Gb, axis=1)
    trace = np.einsum("tqr,trq->", G, W)
    sigma2 = (float(np.sum(resid)) + s2 * float(trace)) / N
    sigma2 = max(sigma2, np.finfo(float).tiny)
    Psi = structure.project(Sigma / sigma2)
    return structure.from_psi(Psi)


def projected_gradient(theta, grad, bounds):
    """Largest entry of the gradient projected on the box (a coordinate at its lower
    bound with a positive derivative is optimal there)."""
    g = np.array(grad, dtype=float)
    for i, (lo, _) in enumerate(bounds):
        if lo is not None and theta[i] <= lo and g[i] > 0:
            g[i] = 0.0
    return float(np.max(np.abs(g), initial=0.0))


# Newton steps on a finite-difference Hessian finish a fit that L-BFGS-B left above tol
# (its line search failed, or its relative-reduction test stopped it), for at most this
# many covariance parameters (2 gradients each); a step may raise the deviance by
# DEVIANCE_RTOL relative, its rounding level (a step that took the projected gradient
# from 4e-5 to 2e-10 moved it by +1.1e-12 relative on a 150-task problem)
NEWTON_MAX_PARAMS = 64
DEVIANCE_RTOL = 1e-10


def _newton_polish(fun, theta, bounds, tol, max_steps=3):
    """Newton steps from ``theta`` with the Hessian of the analytic gradient by central
    differences: L-BFGS-B's line search fails near the optimum of a badly conditioned
    deviance (Chem97, intercept + slope: Hessian eigenvalues 0.014 to 27) with the
    gradient still above ``tol``, although the deviance is within ~1e-9 of its minimum.
    A step is kept only if the deviance does not grow beyond its rounding
    (``DEVIANCE_RTOL``) and the projected gradient shrinks; returns ``(theta, steps kept)``."""
    lo = np.array([-np.inf if b[0] is None else b[0] for b in bounds])
    f, g = fun(theta)
    pg = projected_gradient(theta, g, bounds)
    kept = 0
    for _ in range(max_steps):
        if pg <= tol:
            break
        n = len(theta)
        H = np.empty((n, n))
        for i in range(n):
            h = 1e-6 * max(1.0, abs(theta[i]))
            up, down = theta.copy(), theta.copy()
            up[i] += h
            down[i] = max(down[i] - h, lo[i]) if np.isfinite(lo[i]) else down[i] - h
            H[:, i] = (fun(up)[1] - fun(down)[1]) / (up[i] - down[i])
        H = 0.5 * (H + H.T)
        try:
            step = np.linalg.solve(H, g)
        except np.linalg.LinAlgError:
            break
        new = np.maximum(theta - step, lo)
        f_new, g_new = fun(new)
        pg_new = projected_gradient(new, g_new, bounds)
        # the deviance sums logs and quadratic forms over every task: its rounding is
        # 1e-13 to 1e-11 relative (Chem97: a Newton step took the gradient from 4.6e-7
        # to 2e-12 and the computed deviance up by 6e-14 relative), far above eps
        if not (f_new <= f + DEVIANCE_RTOL * abs(f) and pg_new < pg):
            break
        theta, f, g, pg = new, f_new, g_new, pg_new
        kept += 1
    return theta, kept


def fit_mixed(stats, structure, *, reml, tol=1e-7, max_iter=1000, em_iter=50, em_tol=1e-4,
              theta0=None):
    """Maximum (restricted) likelihood fit: EM warm start, then L-BFGS-B. BLAS runs on
    one thread: the products are many small per-task ones (School, a 28 x 28
    covariance, on a busy 2-core machine: 23 ms an evaluation instead of 96 ms)."""
    with single_threaded_blas():
        return _fit_mixed(stats, structure, reml, tol, max_iter, em_iter, em_tol, theta0)


def _fit_mixed(stats, structure, reml, tol, max_iter, em_iter, em_tol, theta0):
    N = float(np.sum(stats.n))
    bounds = structure.bounds()
    theta = structure.from_psi(initial_psi(stats)) if theta0 is None else np.array(theta0)
    ev = evaluate(stats, structure, theta, reml=reml, blup=True)
    n_em = 0
    for n_em in range(1, em_iter + 1):
        new = em_step(stats, structure, ev)
        ev_new = evaluate(stats, structure, new, reml=reml, blup=True)
        gain = ev.deviance - ev_new.deviance
        if not gain > 0:
            n_em -= 1
            break
        theta, ev = new, ev_new
        if gain < em_tol * N:
            break

    def fun(th):
        e = evaluate(stats, structure, th, reml=reml, gradient=True)
        return e.deviance / N, e.gradient / N

    options = {"maxiter": max_iter, "gtol": tol, "ftol": 1e-15, "maxcor": 20, "maxls": 50}
    res = minimize(fun, theta, jac=True, method="L-BFGS-B", bounds=bounds, options=options)
    nit = int(res.nit)
    theta_best = res.x if res.fun <= ev.deviance / N else theta
    # status 0 (the relative reduction of the deviance fell below ftol) or 2 (the line
    # search failed) with the gradient still above tol: both are the stall near a badly
    # conditioned optimum that Newton finishes; status 1 (max_iter) is left as it is
    if (res.status in (0, 2) and projected_gradient(res.x, res.jac, bounds) > tol
            and len(theta_best) <= NEWTON_MAX_PARAMS):
        theta_best, steps = _newton_polish(fun, theta_best, bounds, tol)
        nit += steps
    e = evaluate(stats, structure, theta_best, reml=reml, gradient=True, blup=True)
    pg = projected_gradient(theta_best, e.gradient / N, bounds)
    converged = pg <= tol
    return MixedFit(theta_best, e, n_em + nit, n_em, bool(converged), pg, str(res.message))


__all__ = ["MixedFit", "fit_mixed", "initial_psi"]
