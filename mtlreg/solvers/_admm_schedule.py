"""The penalty parameter schedules of the ADMM of :mod:`.admm`: spectral selection
(:class:`RhoSchedule`) and residual balancing (:class:`Balancing`), each changing
``rho`` at most ``MAX_RHO_CHANGES`` times, so that ADMM converges (it does for any
fixed ``rho``)."""

import numpy as np

MAX_RHO_CHANGES = 30  # a schedule changes rho at most this often


class RhoSchedule:
    """Spectral penalty parameter selection with safeguards (adaptive ADMM, Xu,
    Figueiredo & Goldstein, AISTATS 2017), in the per-feature metric of the initial
    ``rho``: ``rho = s * profile`` and only the scalar ``s`` adapts.

    Every ``every`` iterations the local curvatures of the two parts of the objective
    are estimated from the change of the iterates since the last estimate: ``a`` of
    the data term from ``(W, grad f(W))``, ``b`` of the penalty from ``(Z, rho U)``
    (``rho U`` is a subgradient of the penalty at ``Z``), each a hybrid
    Barzilai-Borwein step with a correlation that says whether it can be trusted
    (> ``EPS_COR``). Then ``s = sqrt(a b)`` (the optimal ``rho`` of ADMM for two
    quadratics), or the one estimate that can be trusted, clipped to a factor 100 per
    change; changes by less than a factor ``MIN_FACTOR`` are skipped (each change
    costs a refactorisation, about 30 iterations at School's size).

    Convergence: the schedule changes ``rho`` at most ``max_changes`` times, after
    which ADMM runs with a fixed ``rho`` from the point it has reached, so the
    classical convergence proof applies (He, Yang & Wang 2000: any schedule whose
    relative changes are summable converges; finitely many changes are). The former
    rule -- residual balancing (Boyd et al. 2011, 3.4.1) at every check for the whole
    run -- has no such guarantee: on the MALSAR dirty setting on School it kept
    ``rho`` about 1000 times above its best value and needed 43 595 iterations for
    ``tol=1e-10`` (this rule: 4 165). Measured on all of School at ``tol=1e-10``
    (benchmarks/results/admm_schedule.md): fewer or as many iterations for most
    formulations (mean-regularized without intercept 3 265 -> 230, sparse group lasso
    530 -> 210), but more for two on standardised features without intercept (trace
    norm 485 -> 2 965, dirty l1/linf 605 -> 5 160), where the first spectral change,
    from estimates of moderate correlation (0.3), moves ``rho`` away from a good
    initial value; a higher ``EPS_COR`` (0.5-0.6) avoids that but costs more
    elsewhere (MALSAR dirty 7 590, dirty on raw School 290 -> 1 240).
    """

    EPS_COR = 0.2  # Xu et al.'s correlation threshold
    MIN_FACTOR = 1.5
    MAX_FACTOR = 100.0

    def __init__(self, rho, every=10, max_changes=None):
        self.current = float(rho.mean())  # s
        self.profile = rho / self.current
        self.every = every
        self.max_changes = MAX_RHO_CHANGES if max_changes is None else max_changes
        self.n_changes = 0
        self.anchor = None  # (iteration, W, grad f(W), Z, rho U) at the last estimate

    def due(self, n_iter):
        """Whether :meth:`factor` wants the iterates now."""
        return self.n_changes < self.max_changes and (
            self.anchor is None or n_iter - self.anchor[0] >= self.every)

    def factor(self, n_iter, W, GW, Z, lam):
        """The factor to multiply ``rho`` by now (1: no change)."""
        if not self.due(n_iter):
            return 1.0
        if self.anchor is None:
            self.anchor = (n_iter, W.copy(), GW.copy(), Z.copy(), lam)
            return 1.0
        _, W0, G0, Z0, L0 = self.anchor
        self.anchor = (n_iter, W.copy(), GW.copy(), Z.copy(), lam)
        a, ca = self._curvature(W - W0, GW - G0)
        b, cb = self._curvature(Z - Z0, lam - L0)
        if ca > self.EPS_COR and cb > self.EPS_COR:
            s = np.sqrt(a * b)
        elif ca > self.EPS_COR:
            s = a
        elif cb > self.EPS_COR:
            s = b
        else:
            return 1.0
        f = s / self.current if np.isfinite(s) and s > 0 else 1.0
        f = min(max(f, 1.0 / self.MAX_FACTOR), self.MAX_FACTOR)
        if 1.0 / self.MIN_FACTOR < f < self.MIN_FACTOR:
            return 1.0
        self.n_changes += 1
        self.current *= f
        self.anchor = None  # the next pair is taken at the new rho
        return f

    def _curvature(self, dx, dg):
        """Hybrid BB curvature of ``dg ~ C dx`` in the metric ``diag(profile)``
        (steepest-descent and minimum-gradient estimates, Xu et al. 2017, eq. 14)
        and the correlation of ``dx`` and ``dg``."""
        p = self.profile
        xg = float((dx * dg).sum())
        xx = float((dx * dx * p).sum())
        gg = float((dg * dg / p).sum())
        if not (xg > 0 and xx > 0 and gg > 0):
            return 0.0, 0.0
        sd, mg = gg / xg, xg / xx
        return (mg if 2.0 * mg > sd else sd - 0.5 * mg), xg / np.sqrt(xx * gg)


class Balancing:
    """Residual balancing (Boyd et al. 2011, 3.4.1), at most ``max_changes`` times
    (hence convergent, as :class:`RhoSchedule`): for penalties proxed through their
    ``prox`` method (the task-relation models), where the spectral estimates were
    measured to wander (graph penalty on School: 2 890 iterations to ``tol=1e-10``
    against 545). The primal residual has the units of W, the dual one those of the
    gradient (curvature times W), so compared raw the rule depends on the scale of X;
    both are brought to the units of sqrt(curvature) W with the initial mean
    curvature m, rounded to a power of 10: the plain rule (tuned on School) for sqrt(m)
    within a factor 3 of 1, and exactly equivariant under power-of-10 rescalings of X.
    """

    def __init__(self, root_m, max_changes=None):
        self.root_m, self.n_changes = root_m, 0
        self.max_changes = MAX_RHO_CHANGES if max_changes is None else max_changes

    def factor(self, primal, dual):
        if self.n_changes >= self.max_changes:
            return 1.0
        primal, dual = primal * self.root_m, dual / self.root_m
        if primal > 10.0 * dual or dual > 10.0 * primal:
            self.n_changes += 1
            return 2.0 if primal > dual else 0.5
        return 1.0


def mean_curvature(Ht):
    """Mean diagonal entry of the reduced Gram matrices (1 if there is none)."""
    curv = np.einsum("tjj->j", Ht) / max(Ht.shape[0], 1)
    mean = float(curv.mean()) if curv.size else 1.0
    return mean if mean > 0 else 1.0
