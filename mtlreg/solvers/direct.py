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

The coupled quadratic model of the softmax loss (``CoupledQuadratic``,
:mod:`mtlreg.datafits._multinomial`: per task ``u_t = [v_t1; ...; v_tK]``, ``K k``
numbers, ``H_t`` of shape ``(K k, K k)``) is solved the same way: the mean
regularisation applied per class (:class:`mtlreg.penalties.PerClass`) pulls each
``v_tk`` toward the mean over tasks of class ``k``, i.e. ``u_t`` toward the mean of the
``u_s``: the equations above with ``u_t`` for ``v_t`` and ``E`` selecting the ``K d``
coefficients (``T`` inversions of size ``K k`` plus one of size ``K k``). A ridge alone
(``alpha = 0``) needs no ``PerClass``. The softmax Hessian ``H_t`` is singular along
``n`` = one intercept shift for all the classes of a task (the loss does not change),
which ``E`` leaves unpenalised: ``n n^T`` (scaled) is added to ``M_t``, which selects
the solution with ``n^T u_t = 0`` (``r_t`` is orthogonal to ``n``: the model's
gradient sums to zero over the classes), and the intercepts' class mean of the start
point is then restored (the solvers keep it where it starts).
"""

import numpy as np
from numpy.linalg import LinAlgError
from scipy.linalg.lapack import dpotrf, dpotri, dpotrs

from ..penalties import MeanRegularization, PerClass, WithRidge, Zero
from ._admm_kernels import shifted_inverse
from .fista import gradient_scale_at_zero, result_at

LAPACK_MIN_K = 48  # from this size LAPACK's Cholesky per task beats the compiled inverse


def _lapack_solves(H, r, shift, inverse):
    """Per task the Cholesky factor of ``H_t + diag(shift)`` (LAPACK ``potrf``), then
    ``M_t^{-1} r_t`` (``potrs``) and, if ``inverse``, ``M_t^{-1}`` (``potri``). Measured
    single-threaded (20 tasks of ``k = 124``, the softmax model of 4 classes and 30
    features): 2.3 ms for the solves and 6.1 ms for the inverses, against 9.2 ms for
    :func:`shifted_inverse` (which stays the choice for small ``k``: 0.4 ms against
    1.6 ms for 200 tasks of ``k = 16``)."""
    T, k, _ = H.shape
    MinvR = np.empty((T, k))
    Minv = np.empty((T, k, k)) if inverse else None
    for t in range(T):
        c, info = dpotrf(H[t] + np.diag(shift), lower=0, clean=1)
        if info != 0:
            raise LinAlgError("a per-task system is singular to working precision")
        MinvR[t] = dpotrs(c, r[t])[0]
        if inverse:
            upper = np.triu(dpotri(c)[0])
            Minv[t] = upper + np.triu(upper, 1).T
    return Minv, MinvR


def solve_tasks(H, r, E, alpha, l2_reg, null=None):
    """The rows ``v_t`` (shape ``(T, k)``) minimising ``sum_t v_t^T H_t v_t / 2 - r_t^T v_t``
    plus ``(alpha/2) sum_t ||E (v_t - mean_s v_s)||^2 + (l2_reg/2) sum_t ||E v_t||^2``,
    ``E`` the 0/1 mask of the penalised coordinates (module docstring). ``null``: a
    direction along which every ``H_t`` is zero, ``E`` too and ``r_t`` orthogonal
    (the softmax intercept shift): the solution with ``null^T v_t = 0``.

    Raises ``LinAlgError`` when a task system is not positive definite."""
    T, k, _ = H.shape
    H = np.ascontiguousarray(H)
    if null is not None:
        # scaled like the diagonal, so that the added direction does not spoil the pivots
        scale = np.einsum("tii->t", H) / k + alpha + l2_reg
        H = H + (scale[:, None, None] / (null @ null)) * np.outer(null, null)[None]
    if k >= LAPACK_MIN_K:
        Minv, MinvR = _lapack_solves(H, r, (alpha + l2_reg) * E, inverse=alpha != 0)
        if alpha == 0:
            return MinvR
    else:
        Minv = np.empty_like(H)
        if not shifted_inverse(H, (alpha + l2_reg) * E, Minv):
            raise LinAlgError("a per-task system is singular to working precision")
        MinvR = np.matmul(Minv, r[:, :, None])[:, :, 0]
        if alpha == 0:
            return MinvR
    MinvE = Minv.sum(axis=0) * E  # sum_t M_t^{-1} E
    u = np.linalg.solve(np.eye(k) - (alpha / T) * MinvE, MinvR.sum(axis=0))
    return MinvR + (alpha / T) * np.matmul(Minv, E * u)


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
    V = solve_tasks(H, r, E, alpha, l2_reg)
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


def coupled_strengths(penalty, n_classes):
    """``(alpha, l2_reg)`` of a quadratic penalty on the coupled (softmax) model's
    ``(n_features, K T)`` matrix: a :class:`PerClass` quadratic penalty, or a ridge alone
    (the same per class or on the whole matrix); None otherwise (e.g. the mean
    regularisation over all ``K T`` columns, which is not per class)."""
    if isinstance(penalty, PerClass):
        return quadratic_strengths(penalty.penalty) if penalty.n_classes == n_classes else None
    strengths = quadratic_strengths(penalty)
    return strengths if strengths is not None and strengths[0] == 0 else None


def _strengths(datafit, penalty):
    if hasattr(datafit, "H"):
        return quadratic_strengths(penalty)
    if hasattr(datafit, "blocks"):
        return coupled_strengths(penalty, datafit.layout.n_classes)
    return None


def supports_direct(datafit, penalty):
    """A quadratic datafit in Gram form (per-task ``H``, ``r``: the squared loss's, or the
    quadratic model of the logistic loss) with a quadratic penalty
    (:func:`quadratic_strengths`), or the coupled quadratic model of the softmax loss
    (per-task ``blocks``, ``r``) with a quadratic penalty per class
    (:func:`coupled_strengths`)."""
    return getattr(datafit, "exact_quadratic", False) and _strengths(datafit, penalty) is not None


def solve_coupled(model, alpha, l2_reg, b0):
    """Exact minimiser ``(W (d, K T), b (K T,))`` of a ``CoupledQuadratic`` plus the
    per-class mean regularisation ``alpha`` and the ridge ``l2_reg`` (module docstring);
    the intercepts' mean over the classes of each task is that of ``b0``."""
    layout = model.layout
    K, T, d = layout.n_classes, layout.n_base_tasks, layout.n_features
    kk = d + int(model.fit_intercept)
    E = np.zeros((K, kk))
    E[:, :d] = 1.0
    E = E.ravel()
    null = None if not model.fit_intercept else 1.0 - E
    V = solve_tasks(model.blocks, model.r, E, alpha, l2_reg, null=null)
    rows = V.reshape(T, K, kk).transpose(1, 0, 2).reshape(K * T, kk)  # virtual task order
    W = np.ascontiguousarray(rows[:, :d].T)
    if not model.fit_intercept:
        return W, np.zeros(K * T)
    b0 = np.asarray(b0, dtype=float).reshape(K, T)
    return W, (rows[:, d].reshape(K, T) + b0.mean(axis=0)).ravel()


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
    try:
        if gram is None and hasattr(datafit, "blocks"):
            W, b = solve_coupled(datafit, *coupled_strengths(penalty, datafit.layout.n_classes), b0)
        else:
            H, r = (datafit.H, datafit.r) if gram is None else gram
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


__all__ = ["LinAlgError", "coupled_strengths", "direct", "quadratic_strengths", "solve_coupled",
           "solve_gram", "solve_mean_regularized", "solve_tasks", "supports_direct"]
