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


def fit_mixed(stats, structure, *, reml, tol=1e-7, max_iter=1000, em_iter=50, em_tol=1e-4,
              theta0=None):
    """Maximum (restricted) likelihood fit: EM warm start, then L-BFGS-B."""
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

    res = minimize(fun, theta, jac=True, method="L-BFGS-B", bounds=bounds,
                   options={"maxiter": max_iter, "gtol": tol, "ftol": 1e-15,
                            "maxcor": 20, "maxls": 50})
    theta_best = res.x if res.fun <= ev.deviance / N else theta
    e = evaluate(stats, structure, theta_best, reml=reml, gradient=True, blup=True)
    pg = projected_gradient(theta_best, e.gradient / N, bounds)
    converged = pg <= tol
    return MixedFit(theta_best, e, n_em + int(res.nit), n_em, bool(converged), pg,
                    str(res.message))


__all__ = ["MixedFit", "fit_mixed", "initial_psi"]
