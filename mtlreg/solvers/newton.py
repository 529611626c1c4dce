"""Proximal Newton (IRLS) for smooth non-quadratic datafits: the logistic loss.

At the iterate ``x = (W, b)`` the datafit gives its second-order model
(``datafit.quadratic_model(W, b)``, :mod:`mtlreg.datafits`): per task a weighted
least-squares problem in Gram form, ``H_t = sum_i c_i p_i (1 - p_i) a_i a_i^T``, with
the exact gradient at ``x``. The penalised model ``q(x') + P(x')`` is what the
squared-loss solvers already minimise with every penalty, so the subproblem goes to
one of them, warm-started at ``x`` (ADMM also at the scale of its penalty parameter
where the previous step's solve ended):

* the direct solve (:mod:`.direct`) for a quadratic penalty (mean regularisation,
  ridge): the subproblem is a linear system, solved exactly (also the softmax loss's
  coupled model, ``K k`` unknowns per task, with the penalty per class),
* ADMM (exact per-task solves, hardly sensitive to feature scaling) where it applies,
* else BCD where it applies (row-separable penalties),
* else FISTA on the Gram-form model (cheap iterations, ``O(T k^2)``; the only choice
  for a penalty that gives FISTA a smooth part, ``forward_backward_split``: task graph
  plus l1).

Its tolerance decreases with the outer optimality measure (inexact Newton, forcing
term ``min(0.1, sqrt(r)) r`` with ``r`` the relative measure, never above ``tol / 5``
at the end). The step ``d = x' - x`` is then damped by a backtracking (Armijo) line
search on the true objective with the decrease predicted by the model,
``Delta = <grad F(x), d> + P(x + d) - P(x)`` (Lee, Sun & Saunders 2014); the full step is
also taken when it halves the optimality measure (near the solution the objective
changes drop below its rounding error before the measure reaches a tight ``tol``).

Stopping rule: the optimality measure of :mod:`mtlreg.solvers.fista` with the same
``tol`` and scale for ``W``; the intercept part is compared with ``tol`` times the
smaller of that scale and the datafit's bound on the intercept gradient
(``intercept_gradient_bound``, ``lambda_t`` for the logistic loss), so that features
scaled by 1e8 (which scale the ``W`` gradient, not the intercept's) do not let it
stop at wrong intercepts; but never below ``100 eps`` times that bound, the rounding
level of the intercept gradient (a sum of terms of size up to ``lambda_t``): features
scaled by 1e-8 make ``tol`` times the ``W`` scale unreachable there. ``max_iter``
counts Newton iterations (and bounds the FISTA run that finishes a fit whose line
search failed, see below); the reported ``n_iter`` is the Newton iterations plus those
FISTA iterations.

References: Lee, Sun & Saunders (2014), *Proximal Newton-type methods*; glmnet
(Friedman, Hastie & Tibshirani 2010: quadratic approximation + coordinate descent);
skglm's ``ProxNewton`` / ``GroupProxNewton``.
"""

import functools

import numpy as np

from ..datafits import _GRAM_MAX_ENTRIES, _GRAM_MAX_K
from ..utils._threads import single_threaded_blas
from .admm import admm, supports_admm
from .bcd import bcd, supports_bcd
from .direct import direct, supports_direct
from .fista import SolverResult, _split, fista, gradient_scale_at_zero, kkt_violation

ARMIJO = 1e-4
MAX_HALVINGS = 40
ROUNDING = 100 * np.finfo(float).eps  # relative rounding level of an intercept gradient
INNER_MAX_ITER = {"direct": 5000, "admm": 5000, "bcd": 5000, "fista": 20000}


def _base(datafit):
    return getattr(datafit, "datafit", datafit)


def supports_newton(datafit, penalty):
    """A datafit that has a quadratic model (every in-memory datafit)."""
    return hasattr(_base(datafit), "quadratic_model")


def prefers_newton(datafit, penalty):
    """Whether ``solver="auto"`` takes Newton: a non-quadratic datafit with a quadratic
    model whose Gram form stays small -- ``k = n_features + 1 <= 256`` and
    ``T k^2 <= 4e6`` entries, the limits of the squared loss's Gram form
    (``datafits.make_datafit``). Above them (per-task data with many features, large
    sparse designs) a Hessian costs more than hundreds of first-order iterations and
    FISTA stays the choice."""
    base = _base(datafit)
    if not supports_newton(datafit, penalty) or getattr(base, "exact_quadratic", True):
        return False
    if getattr(base, "prefer_first_order", False):  # the Huber loss: see datafits._huber
        return False
    layout = base.layout
    k = layout.n_features + int(layout.fit_intercept)
    return k <= _GRAM_MAX_K and layout.n_tasks * k * k <= _GRAM_MAX_ENTRIES


def inner_solver(model, penalty):
    """``(name, function)`` of the solver of the penalised quadratic model."""
    if supports_direct(model, penalty):  # ADMM (FISTA for the coupled model) if rounding defeats it
        return "direct", functools.partial(direct, fallback=admm if supports_admm(model, penalty) else fista)
    if _split(penalty)[0] is not None:
        return "fista", fista
    if supports_admm(model, penalty):
        return "admm", admm
    if supports_bcd(model, penalty):
        return "bcd", bcd
    return "fista", fista


def newton(datafit, penalty, W0, b0, *, fit_intercept=True, tol=1e-4, max_iter=100,
           gradient_scale=None, check_every=1, verbose=0):
    """Proximal Newton; see the module docstring. Same signature as :func:`fista`."""
    if not supports_newton(datafit, penalty):
        raise ValueError("solver='newton' needs a datafit with a quadratic model "
                         "(in-memory data); use solver='fista'.")
    W = np.array(W0, dtype=float, copy=True)
    b = np.array(b0, dtype=float, copy=True)
    if not fit_intercept:
        b0 = b.copy()
    if gradient_scale is None:
        gradient_scale = gradient_scale_at_zero(datafit, W, b)
    scale = max(gradient_scale, np.finfo(float).tiny)
    tol_abs = tol * scale
    bound = getattr(datafit, "intercept_gradient_bound", lambda: np.inf)()
    tol_b = tol * max(min(scale, bound), np.finfo(float).tiny)
    if np.isfinite(bound):  # never below the rounding level of the intercept gradient
        tol_b = max(tol_b, ROUNDING * bound)

    def measure(Z, W_):
        """(optimality measure, whether it is below the thresholds)."""
        G, gb = datafit.gradient(Z)
        crit_w = penalty.subdiff_distance(W_, G)
        crit_b = float(np.max(np.abs(gb), initial=0.0)) if fit_intercept else 0.0
        ok = crit_w <= tol_abs and crit_b <= tol_b
        # in the units of the W gradient, as the other solvers report it
        return max(crit_w, crit_b * scale / max(min(scale, bound), np.finfo(float).tiny)), ok

    Z = datafit.linear_predictor(W, b)
    obj = datafit.value(Z) + penalty.value(W)
    crit, converged = measure(Z, W)
    history = []
    n_iter = 0
    inner_total = 0
    fallback = False
    rho_scale = None
    while not converged and n_iter < max_iter:
        n_iter += 1
        model = datafit.quadratic_model(W, b)
        name, solve = inner_solver(model, penalty)
        rel = crit / scale
        inner_tol = max(min(0.1, np.sqrt(rel)) * rel, 0.2 * tol)
        warm = {"rho_scale": rho_scale} if name == "admm" and rho_scale else {}
        with single_threaded_blas():  # many tiny products: threads only synchronise
            res = solve(model, penalty, W, b, fit_intercept=fit_intercept, tol=inner_tol,
                        max_iter=INNER_MAX_ITER[name], gradient_scale=gradient_scale, **warm)
        rho_scale = res.rho_scale
        inner_total += res.n_iter
        dW = res.W - W
        db = (res.b - b) if fit_intercept else np.zeros_like(b)
        G, gb = datafit.gradient(Z)
        pen_old = penalty.value(W)
        delta = float((G * dW).sum() + (gb @ db if fit_intercept else 0.0))
        delta += penalty.value(W + dW) - pen_old
        AD = datafit.linear_predictor(dW, db)  # Z is linear in (W, b)
        step, accepted = 1.0, False
        for _ in range(MAX_HALVINGS):
            W_new, b_new, Z_new = W + step * dW, b + step * db, Z + step * AD
            obj_new = datafit.value(Z_new) + penalty.value(W_new)
            if obj_new <= obj + ARMIJO * step * min(delta, 0.0):
                accepted = True
            elif step == 1.0:  # a full step that halves the measure is taken too
                crit_new, _ = measure(Z_new, W_new)
                accepted = crit_new <= 0.5 * crit
            if accepted:
                break
            step *= 0.5
        if not accepted:
            # No decrease along the direction: the rounding level, or a direction that
            # is not one of descent (an inexact inner solve on a nearly singular
            # Hessian, e.g. separable classes). FISTA finishes from this point.
            if verbose:
                print(f"[Newton] iter {n_iter:4d}  line search failed; FISTA finishes")
            fallback = True
            break
        W, b, Z, obj = W_new, b_new, Z_new, obj_new
        Z = datafit.linear_predictor(W, b)  # from scratch: no drift over iterations
        crit, converged = measure(Z, W)
        if verbose:
            history.append((n_iter, obj, crit))
            print(f"[Newton] iter {n_iter:4d}  objective {obj:.12e}  optimality {crit:.3e}  "
                  f"step {step:.3g}  inner {name} {res.n_iter} it (tol {inner_tol:.1e})")
    if fallback and not converged:
        res = fista(datafit, penalty, W, b, fit_intercept=fit_intercept, tol=tol,
                    max_iter=max_iter, gradient_scale=gradient_scale, verbose=verbose)
        if res.objective <= obj or res.converged:
            W, b = res.W, res.b
            n_iter += res.n_iter  # n_iter_ counts the FISTA iterations that finished it
            inner_total += res.n_iter
            Z = datafit.linear_predictor(W, b)
            crit, converged = measure(Z, W)
    if not fit_intercept:
        b = b0
    objective = datafit.exact_value(W, b) + penalty.value(W)
    result = SolverResult(W, b, n_iter, crit, tol_abs, converged, objective, history)
    result.inner_iterations = inner_total
    return result


__all__ = ["newton", "prefers_newton", "supports_newton", "inner_solver", "kkt_violation"]
