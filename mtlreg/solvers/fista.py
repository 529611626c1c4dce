"""FISTA with backtracking line search and adaptive restart.

Minimises ``F(W, b) + P(W)`` where ``F`` is a datafit (smooth, in ``W`` and the
unpenalised intercept ``b``) and ``P`` a penalty (non-smooth, on ``W`` only). The
solver sees nothing but the two contracts of :mod:`mtlreg.datafits` and
:mod:`mtlreg.penalties`.

Stopping rule: the optimality measure

    kkt(W, b) = max( P.subdiff_distance(W, grad_W F), max_t |grad_b F| )

is zero exactly at a solution; the solver stops when ``kkt <= tol * scale``,
where ``scale = max |grad_W F(0, b0)|`` is the size of the datafit gradient at
the null model (so ``tol`` is relative and does not depend on the units of
``y``). It is evaluated every ``check_every`` iterations and at the end.

A penalty whose prox is not closed-form but which is the sum of a smooth part and
a simple one (the task-graph term plus l1) may say so with
``forward_backward_split() -> (smooth, simple)``: the gradient step then takes the
smooth part (``value``, ``gradient``, ``lipschitz``) and the prox only the simple
one. The optimality measure and the objective are those of the whole penalty.
"""

from dataclasses import dataclass, field

import numpy as np


@dataclass
class SolverResult:
    W: np.ndarray
    b: np.ndarray
    n_iter: int
    stop_crit: float  # kkt at the returned point, in the units of the gradient
    tol_abs: float  # the threshold it was compared with (tol * scale)
    converged: bool
    objective: float
    history: list = field(default_factory=list)  # (iteration, objective, kkt)
    # ADMM: the mean penalty parameter it ended at, where a solve of a nearby problem can
    # start (proximal Newton's next subproblem); None for the other solvers
    rho_scale: float | None = None
    # proximal Newton: the inner solver's iterations over all its steps; None otherwise
    inner_iterations: int | None = None


def gradient_scale_at_zero(datafit, W, b):
    """The default ``scale`` of the stopping rule: the largest entry of the datafit's
    ``W`` gradient at ``W = 0`` (with the intercepts ``b``)."""
    Z0 = datafit.linear_predictor(np.zeros_like(W), b)
    return float(np.max(np.abs(datafit.gradient(Z0)[0]), initial=0.0))


def fista(datafit, penalty, W0, b0, *, fit_intercept=True, tol=1e-4, max_iter=1000,
          gradient_scale=None, check_every=10, verbose=0):
    """Accelerated proximal gradient (Beck & Teboulle 2009) with restart.

    Parameters
    ----------
    datafit, penalty : objects following the datafit / penalty contracts.
    W0 : ndarray (n_features, n_tasks), b0 : ndarray (n_tasks,)
        Starting point (copied). ``b0`` stays fixed when ``fit_intercept=False``.
    tol : float
        Relative tolerance on the optimality measure.
    gradient_scale : float, optional
        The ``scale`` of the stopping rule; computed at ``W = 0`` when omitted.

    Notes
    -----
    * Backtracking: the step ``1/L`` starts at the datafit's Lipschitz bound and
      ``L`` doubles whenever the sufficient-decrease condition fails (it cannot
      fail with a true bound, but keeps the method safe when the bound is an
      estimate). Between iterations ``L`` shrinks by 10% (step-size growth, never
      below 1e-3 of the bound), which matters on badly scaled data where the
      global bound is pessimistic.
    * Restart (O'Donoghue & Candes 2015, gradient scheme): momentum is reset
      when ``<y_k - x_{k+1}, x_{k+1} - x_k> > 0``.
    """
    W = np.array(W0, dtype=float, copy=True)
    b = np.array(b0, dtype=float, copy=True)
    # a penalty may hand its smooth part to the gradient step (forward_backward_split)
    smooth, proximal = _split(penalty)
    L_bound = datafit.lipschitz() + (smooth.lipschitz() if smooth is not None else 0.0)
    if not np.isfinite(L_bound) or L_bound <= 0:
        L_bound = 1.0
    L = L_bound
    Z = datafit.linear_predictor(W, b)

    if gradient_scale is None:
        gradient_scale = gradient_scale_at_zero(datafit, W, b)
    tol_abs = tol * max(gradient_scale, np.finfo(float).tiny)

    # momentum point y = (Wy, by) and its prediction Zy
    Wy, by, Zy = W, b, Z
    t = 1.0
    history = []
    n_iter = 0
    def f(Z_, W_):
        return datafit.value(Z_) + (smooth.value(W_) if smooth is not None else 0.0)

    f_y = f(Zy, Wy)
    # the starting point may already be a solution (alpha >= alpha_max, warm start)
    kkt = kkt_violation(datafit, penalty, W, Z, fit_intercept)
    converged = kkt <= tol_abs
    for n_iter in range(1, (0 if converged else max_iter) + 1):
        GW, gb = datafit.gradient(Zy)
        if smooth is not None:
            GW = GW + smooth.gradient(Wy)
        if not fit_intercept:
            gb = np.zeros_like(gb)
        while True:
            step = 1.0 / L
            W_new = proximal.prox(Wy - step * GW, step)
            b_new = by - step * gb
            dW, db = W_new - Wy, b_new - by
            Z_new = datafit.linear_predictor(W_new, b_new)
            f_new = f(Z_new, W_new)
            sq = float((dW**2).sum() + (db**2).sum())
            quad = f_y + float((GW * dW).sum() + gb @ db) + 0.5 * L * sq
            # Below the datafit's bound the decrease must be verified exactly; at or
            # above it, it is guaranteed, and a failure can only be round-off.
            if f_new <= quad or (L >= L_bound and f_new <= quad + 1e-12 * max(abs(f_y), 1.0)):
                break
            L *= 2.0

        # adaptive restart: the step went against the momentum direction
        if float(((Wy - W_new) * (W_new - W)).sum() + (by - b_new) @ (b_new - b)) > 0:
            t = 1.0
        t_next = 0.5 * (1.0 + np.sqrt(1.0 + 4.0 * t * t))
        beta = (t - 1.0) / t_next
        Wy = W_new + beta * (W_new - W)
        by = b_new + beta * (b_new - b)
        Zy = Z_new + beta * (Z_new - Z)  # Z is linear in (W, b)
        W, b, Z, t = W_new, b_new, Z_new, t_next
        f_y = f(Zy, Wy) if beta != 0.0 else f_new

        if n_iter % check_every == 0 or sq == 0.0:
            kkt = kkt_violation(datafit, penalty, W, Z, fit_intercept)
            if verbose:
                obj = datafit.value(Z) + penalty.value(W)
                history.append((n_iter, obj, kkt))
                print(f"[FISTA] iter {n_iter:5d}  objective {obj:.10e}  kkt {kkt:.3e}  L {L:.3e}")
            if kkt <= tol_abs:
                converged = True
                break
        # step-size growth: try a slightly longer step next time
        L = max(L * 0.9, 1e-3 * L_bound)

    if not converged:
        kkt = kkt_violation(datafit, penalty, W, Z, fit_intercept)
        converged = kkt <= tol_abs
    objective = datafit.exact_value(W, b) + penalty.value(W)
    return SolverResult(W, b, n_iter, kkt, tol_abs, converged, objective, history)


def _split(penalty):
    """``(smooth part or None, part to prox)`` of ``penalty``."""
    split = getattr(penalty, "forward_backward_split", None)
    parts = split() if split is not None else None
    return parts if parts is not None else (None, penalty)


def kkt_violation(datafit, penalty, W, Z, fit_intercept):
    G, gb = datafit.gradient(Z)
    gb_viol = float(np.max(np.abs(gb), initial=0.0)) if fit_intercept else 0.0
    return max(penalty.subdiff_distance(W, G), gb_viol)


def result_at(datafit, penalty, W, b, *, n_iter, tol_abs, fit_intercept=True):
    """A :class:`SolverResult` for a point found by another method (checked, not trusted)."""
    Z = datafit.linear_predictor(W, b)
    kkt = kkt_violation(datafit, penalty, W, Z, fit_intercept)
    objective = datafit.exact_value(W, b) + penalty.value(W)
    return SolverResult(W, b, n_iter, kkt, tol_abs, kkt <= tol_abs, objective)
