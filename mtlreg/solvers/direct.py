"""Direct solve of quadratic problems: a quadratic datafit in Gram form plus quadratic
penalties.

For the squared datafit (and for the quadratic model of another datafit, see
:mod:`.newton`), task ``t``'s data term is ``v_t^T H_t v_t / 2 - r_t^T v_t``
(``v_t = [w_t; b_t]``, see ``layout.task_gram``). With the penalty
``(alpha/2) sum_t ||w_t - w_bar||^2 + (l2/2) ||W||_F^2`` the optimality conditions

    H_t v_t - r_t + (alpha + l2) E v_t - (alpha / T) E u = 0,   u = sum_s v_s,

(``E`` selects the penalised coordinates, i.e. not the intercept) give
``v_t = M_t^{-1} (r_t + (alpha/T) E u)`` with ``M_t = H_t + (alpha + l2) E``, and
summing over tasks, one ``k x k`` system for ``u``:

    (I - (alpha/T) sum_t M_t^{-1} E) u = sum_t M_t^{-1} r_t.

Cost: ``T`` inversions of size ``d + 1`` (compiled, by Cholesky) plus one dense solve.
``alpha = 0`` is independent ridge per task.
"""

import numpy as np
from numpy.linalg import LinAlgError

from ..penalties import MeanRegularization, WithRidge, Zero
from ._admm_kernels import shifted_inverse
from .fista import gradient_scale_at_zero, result_at


def solve_gram(H, r, n_features, alpha, l2_reg):
    """Exact minimiser ``(W (d, T), b (T,))`` of ``sum_t v_t^T H_t v_t / 2 - r_t^T v_t``
    plus the mean-regularisation ``alpha`` and the ridge ``l2_reg`` (see the module
    docstring); ``b`` is zero when ``H`` has no intercept coordinate.

    Raises ``LinAlgError`` when a task system is not positive definite (e.g.
    ``alpha = l2_reg = 0`` with rank-deficient features).
    """
    T, k, _ = H.shape
    d = n_features
    E = np.zeros(k)
    E[:d] = 1.0
    Minv = np.empty_like(H)
    if not shifted_inverse(np.ascontiguousarray(H), (alpha + l2_reg) * E, Minv):
        raise LinAlgError("a per-task system is singular to working precision")
    MinvR = np.matmul(Minv, r[:, :, None])[:, :, 0]
    MinvE = np.zeros((k, k))  # sum_t M_t^{-1} E
    MinvE[:, :d] = Minv[:, :, :d].sum(axis=0)
    u = np.linalg.solve(np.eye(k) - (alpha / T) * MinvE, MinvR.sum(axis=0))
    V = MinvR + (alpha / T) * np.matmul(Minv, E * u)
    W = np.ascontiguousarray(V[:, :d].T)
    b = V[:, d] if k > d else np.zeros(T)
    return W, b


def solve_mean_regularized(layout, alpha, l2_reg):
    """:func:`solve_gram` on the layout's per-task Gram matrices (``layout.task_gram``),
    in its centred coordinates. Raises ``LinAlgError`` as it does; callers fall back
    to an iterative solver."""
    H, r = layout.task_gram()
    return solve_gram(H, r, layout.n_features, alpha, l2_reg)


def quadratic_strengths(penalty):
    """``(alpha, l2_reg)`` of a penalty that is the mean-regularisation (plus a ridge), or
    a ridge alone (``alpha = 0``), with ``alpha + l2_reg > 0``; None for any other
    penalty (a constraint, a non-smooth term). Whether the systems are then positive
    definite depends on the data too (the mean regularisation alone leaves the mean
    direction to it): :func:`solve_gram` says so by a ``LinAlgError``."""
    base, l2 = (penalty.penalty, penalty.l2_reg) if isinstance(penalty, WithRidge) else (
        penalty, 0.0)
    if isinstance(base, Zero) and not base.positive:
        strengths = (0.0, l2)
    elif isinstance(base, MeanRegularization):
        strengths = (base.alpha, l2)
    else:
        return None
    return strengths if sum(strengths) > 0 else None


def supports_direct(datafit, penalty):
    """A quadratic datafit in Gram form (per-task ``H``, ``r``: the squared loss's, or the
    quadratic model of the logistic loss) with a quadratic penalty
    (:func:`quadratic_strengths`)."""
    return (getattr(datafit, "exact_quadratic", False) and hasattr(datafit, "H")
            and quadratic_strengths(penalty) is not None)


def direct(datafit, penalty, W0, b0, *, fit_intercept=True, tol=1e-4, max_iter=1000,
           gradient_scale=None, fallback=None, gram=None, **kwargs):
    """Solver with the signature of :func:`.fista` for the problems of
    :func:`supports_direct`: the exact solve, checked by the optimality measure (not
    trusted). ``fallback`` (a solver, e.g. ADMM) takes over from the start point when
    a task system is singular, and from the direct solution when rounding leaves its
    measure above ``tol`` (ill-conditioning). ``gram``: the per-task ``(H, r)`` of the
    quadratic data term when ``datafit`` is not in Gram form itself (the squared loss
    on the design, ``layout.task_gram()``)."""
    if gradient_scale is None:
        gradient_scale = gradient_scale_at_zero(datafit, W0, b0)
    scale = max(gradient_scale, np.finfo(float).tiny)
    H, r = (datafit.H, datafit.r) if gram is None else gram
    try:
        W, b = solve_gram(H, r, datafit.layout.n_features, *quadratic_strengths(penalty))
    except LinAlgError:
        if fallback is None:
            raise
        return fallback(datafit, penalty, W0, b0, fit_intercept=fit_intercept, tol=tol,
                        max_iter=max_iter, gradient_scale=gradient_scale, **kwargs)
    if not fit_intercept:
        b = np.array(b0, dtype=float, copy=True)
    result = result_at(datafit, penalty, W, b, n_iter=1, tol_abs=tol * scale,
                       fit_intercept=fit_intercept)
    if result.converged or fallback is None:
        return result
    return fallback(datafit, penalty, W, b, fit_intercept=fit_intercept, tol=tol,
                    max_iter=max_iter, gradient_scale=gradient_scale, **kwargs)


__all__ = ["LinAlgError", "direct", "quadratic_strengths", "solve_gram",
           "solve_mean_regularized", "supports_direct"]
