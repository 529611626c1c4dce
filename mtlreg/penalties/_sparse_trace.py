"""Sparse plus low-rank ``W``: the l1 norm and the trace norm on one matrix.

``alpha (l1_ratio ||W||_1 + (1 - l1_ratio) ||W||_*)`` (Richard, Savalle & Vayatis
2012, "Estimation of simultaneously sparse and low rank matrices"). The prox of
the sum has no closed form; it is computed by a projected gradient on its dual
(Anderson-accelerated), to a relative accuracy of about ``1e-13``. ADMM on the
squared loss avoids it in most iterations (a consensus split with the two closed-form proxes,
:mod:`mtlreg.solvers._admm_sparse_trace`) and calls it to measure its iterates.
"""

import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning

from ..utils._anderson import Anderson
from ._spectral import numerical_rank, svd


def _soft(V, a):
    return np.sign(V) * np.maximum(np.abs(V) - a, 0.0)


def _spectral_projection(E, radius):
    """Projection of ``E`` onto the spectral-norm ball of ``radius`` (singular values
    clipped at ``radius``)."""
    if E.size == 0:
        return E.copy()
    # (an SVD: the eigendecomposition of the smaller Gram matrix, several times
    # cheaper, squares E and lost the accuracy the 1e-13 duality gap of the prox
    # needs: FISTA fits in sklearn's multi-output check warned)
    U, s, Vt = svd(E, full_matrices=False)
    return (U * np.minimum(s, radius)) @ Vt


DECIDE_MAX_ITER = 2000  # inner steps of one test of the bisection of alpha_max
# Anderson memory of the prox's projected gradient. Measured on the slow fits of the
# school_family grid (warm-started calls after ADMM's switch to the exact prox): FISTA
# with adaptive restart 2 680 / 2 830 / 2 915 steps; Anderson with memory 3 / 5 / 10 /
# 15 / 20 on the third: 4 736 / 1 712 / 464 / - / 391, memory 10 / 15 on the first two:
# 555 / 451 and 507 / 413 (the same prox to 2e-12)
PROX_MEMORY = 10
# Near the rounding floor (fixed-point residual below FLOOR_RESIDUAL relative to V)
# the gap is checked every FLOOR_EVERY steps, and the iterations stop (not converged:
# the caller decides) when FLOOR_CHECKS checks in a row gained less than 10 % on the
# one before them: on School's slow fits the relative gap settled at 1.05e-13 against
# the tolerance 1e-13 (the residual at 3e-13), where the iterations went on to
# prox_max_iter (20 000 steps)
FLOOR_RESIDUAL, FLOOR_EVERY, FLOOR_CHECKS = 1e-11, 50, 5
NORM_RTOL = 1e-2  # relative accuracy of the optimality measure (an upper bound)


class SparseTraceNorm:
    r"""``alpha * (l1_ratio ||W||_1 + (1 - l1_ratio) ||W||_*)`` (sparse and low-rank ``W``).

    Notes
    -----
    **Prox.** With ``a = step alpha l1_ratio`` and ``c = step alpha (1 - l1_ratio)``
    the prox of ``a ||.||_1 + c ||.||_*`` at ``V`` has the dual
    ``min_{||Z||_2 <= c} 1/2 ||S_a(V - Z)||_F^2`` (``S_a`` soft-thresholding: the l1
    part of the dual is eliminated in closed form), a smooth problem with a
    1-Lipschitz gradient ``-S_a(V - Z)`` over the spectral-norm ball, solved by
    projected gradient with safeguarded Anderson acceleration
    (:mod:`mtlreg.utils._anderson`, memory ``PROX_MEMORY``; one SVD per iteration;
    3-5 times fewer iterations than FISTA with adaptive restart on School's slow
    fits) from the previous call's ``Z`` (a warm start: consecutive calls in a solver
    are close) or from a given one (the ADMM's dual). The prox is
    ``U = S_a(V - Z)``, exactly sparse (entries below ``1e-14 max |V|``, round-off
    of entries at the threshold, set to 0). Stopping rule: the duality gap
    ``c ||U||_* - <Z, U>`` (the primal minus dual value, with ``V - U - Z`` an
    exact l1 subgradient at ``U``) at most ``prox_tol`` times ``c ||U||_*``, and
    the fixed-point residual below ``prox_tol ||V||_F``; where rounding keeps the gap
    above that (its floor is near ``1e-13``), the iterations stop, not converged, once
    it stalls (``FLOOR_*``). With ``l1_ratio`` 0 or 1 the prox
    is singular value thresholding or soft-thresholding, exactly.

    **Optimality measure.** The Frobenius distance from ``-G`` to
    ``alpha (l1_ratio d||W||_1 + (1 - l1_ratio) d||W||_*)``, the Minkowski sum of
    the two subdifferentials: the subgradients that are fixed (the signs of the
    non-zero entries; ``U1 V1^T`` of the singular vectors of the non-zero singular
    values, those above ``rank_tol`` times the largest) are subtracted, the free
    ones (a box on the zero entries, a spectral ball on the part orthogonal to both
    singular subspaces) are found by minimising the squared distance over them
    (FISTA with restart on the l1 part, the trace part projected in closed form,
    until less than ``1e-8`` relative progress in 50 steps). Every step gives a
    feasible pair of subgradients, so the value
    returned is never below the true distance: a solver that stops on it stops
    late, not early. Those iterations, and at ``W = 0`` the prox's that give
    ``||prox(-G)||`` (Moreau), stop when the upper bound and a lower bound (from the
    support function of the free set) agree to ``NORM_RTOL`` (the upper one is
    returned).

    **alpha_max.** ``W = 0`` is a solution when ``-G0`` lies in
    ``alpha (l1_ratio B_inf + (1 - l1_ratio) B_2)`` (``B_inf``: entries in
    ``[-1, 1]``, ``B_2``: spectral norm at most 1), that is when the prox of
    ``alpha`` times the unit penalty at ``G0`` is 0 (Moreau). The smallest such
    ``alpha`` lies between ``max |G0|`` and ``min(||G0||_2, max |G0| / l1_ratio)``
    and is found by bisection on that test (relative accuracy ``1e-10``, the upper
    end returned), each test stopped by a certificate either way: a dual point
    showing ``-G0`` in the set (the prox is 0), or a primal point whose prox
    objective is below its value at 0 (the prox is not). ``hi`` moves only on the
    first certificate, so the value returned is always an upper bound at which
    ``W = 0``; a test that finds neither within ``DECIDE_MAX_ITER`` inner steps (the
    last ones of the bisection, within about ``1e-6`` relative of the boundary on
    School) ends the bisection there.
    """

    def __init__(self, alpha, l1_ratio=0.5, rank_tol=1e-10, prox_tol=1e-13,
                 prox_max_iter=20000):
        self.alpha = float(alpha)
        self.l1_ratio = float(l1_ratio)
        self.rank_tol = rank_tol
        self.prox_tol = prox_tol
        self.prox_max_iter = prox_max_iter
        self._dual = None  # (Z, c) of the last prox: its warm start

    @property
    def _alphas(self):
        return self.alpha * self.l1_ratio, self.alpha * (1.0 - self.l1_ratio)

    # ------------------------------------------------------------------ value
    def value(self, W):
        a1, a_star = self._alphas
        value = a1 * float(np.abs(W).sum())
        if a_star > 0 and W.size:
            value += a_star * float(svd(W, compute_uv=False).sum())
        return value

    def rank(self, W):
        return numerical_rank(svd(W, compute_uv=False), self.rank_tol)

    # ------------------------------------------------------------------- prox
    def prox(self, V, step):
        a1, a_star = self._alphas
        V = np.asarray(V, dtype=np.float64)
        U, ok = self._prox(V, step * a1, step * a_star, warm=True)
        if not ok:
            warnings.warn(
                "The prox of the l1 + trace norm penalty did not reach its tolerance "
                f"prox_tol={self.prox_tol:g} in {self._last_inner_iter} inner iterations "
                f"(prox_max_iter={self.prox_max_iter}; it also stops earlier where rounding "
                "keeps its duality gap just above the tolerance).", ConvergenceWarning)
        return U

    def consensus_split(self):
        """``(a1, None, exact)`` for the consensus ADMM (``W = Z1 = Z2``, see
        :mod:`mtlreg.solvers._admm_sparse_trace`): the l1 strength, ``None`` for the
        other part's prox (the solver's singular value thresholding at ``alpha (1 -
        l1_ratio)``) and the exact prox of the sum warm-started at a dual point
        (``exact(V, step, dual)``)."""
        a1, a_star = self._alphas

        def exact(V, step, dual):
            return self._prox(V, step * a1, step * a_star, warm=True, dual=dual)[0]

        return a1, None, exact

    def _prox(self, V, a, c, warm=False, dual=None, decide=False, norm_only=False):
        """``(prox of a ||.||_1 + c ||.||_* at V, converged)``; ``dual``: a starting
        point of the dual iterations (projected onto the spectral ball of radius
        ``c``), else the previous call's (``warm``) or ``V - clip(V, -a, a)``.
        ``decide``: only whether the prox is 0 matters; the iterations also stop on a
        certificate that it is not, a primal point ``U`` whose prox objective is below
        its value ``||V||^2 / 2`` at 0 (checked every 10 steps).
        ``norm_only``: only ``||prox(V)||`` matters, the distance from ``V`` to
        ``C = a B_inf + c B_2`` (Moreau); every ``U = S_a(V - Z)`` bounds it from
        above (``V - U`` is in ``C``) and from below by
        ``(<U, V> - a ||U||_1 - c ||U||_*) / ||U||`` (``a ||.||_1 + c ||.||_*`` is
        the support function of ``C``), so the iterations stop when the two agree
        to ``NORM_RTOL`` (checked every 10 steps); the returned ``U`` gives the
        upper bound."""
        if c == 0 or V.size == 0:
            return _soft(V, a), True
        if a == 0:  # singular value thresholding
            U, s, Vt = svd(V, full_matrices=False)
            s = np.maximum(s - c, 0.0)
            return (U[:, s > 0] * s[s > 0]) @ Vt[s > 0], True
        scale = max(float(np.sqrt((V**2).sum())), np.finfo(float).tiny)
        # entries of S_a(V - Z) that are round-off (|V - Z| = a up to 1e-14 |V|) are 0
        junk = 1e-14 * float(np.abs(V).max())

        def primal(Z):
            U = _soft(V - Z, a)
            U[np.abs(U) <= junk] = 0.0
            return U

        Z = None
        if dual is not None:
            Z = _spectral_projection(np.asarray(dual, dtype=np.float64), c)
        elif warm and self._dual is not None and self._dual[0].shape == V.shape:
            Z = _spectral_projection(self._dual[0] * (c / self._dual[1]), c)
        if Z is None:
            Z = _spectral_projection(V - np.clip(V, -a, a), c)
        Y = Z
        ok = False
        n_max = min(self.prox_max_iter, DECIDE_MAX_ITER) if decide else self.prox_max_iter
        accelerate = Anderson(PROX_MEMORY)
        floor_gaps = []  # relative gaps checked near the rounding floor
        for it in range(1, n_max + 1):
            Z_new = _spectral_projection(V - np.clip(V - Y, -a, a), c)
            if np.abs(V - Z_new).max() <= a:  # a certificate: the prox is exactly 0
                Z, ok = Z_new, True
                break
            if (decide or norm_only) and it % 10 == 0:
                U = primal(Z_new)
                nuc = float(svd(U, compute_uv=False).sum()) if U.any() else 0.0
                support = a * float(np.abs(U).sum()) + c * nuc
                if decide:
                    obj = 0.5 * float(((U - V) ** 2).sum()) + support
                    done = obj < 0.5 * (1.0 - 1e-12) * scale * scale
                else:
                    upper = float(np.sqrt((U * U).sum()))
                    done = upper == 0.0 or (
                        upper - (float((U * V).sum()) - support) / upper <= NORM_RTOL * upper)
                if done:
                    Z, ok = Z_new, True
                    break
            step_size = float(np.sqrt(((Z_new - Y) ** 2).sum()))  # fixed-point residual
            Z = Z_new  # in the ball: a dual point, whatever Y was
            near = step_size <= self.prox_tol * scale
            if (near and (it % 5 == 0 or step_size == 0)) or (
                    step_size <= max(FLOOR_RESIDUAL, self.prox_tol) * scale
                    and it % FLOOR_EVERY == 0):
                U = primal(Z)
                nuc = float(svd(U, compute_uv=False).sum()) if U.any() else 0.0
                gap = c * nuc - float((Z * U).sum())
                relative = gap / max(c * nuc, np.finfo(float).tiny)
                if relative <= self.prox_tol:
                    ok = True
                    break
                if not near:  # the rounding floor: stop when the gap stalls there
                    floor_gaps.append(relative)
                    if len(floor_gaps) > FLOOR_CHECKS and (
                            min(floor_gaps[-FLOOR_CHECKS:]) > 0.9 * floor_gaps[-FLOOR_CHECKS - 1]):
                        break
            Y = accelerate.next_point(Y.ravel(), Z_new.ravel()).reshape(V.shape)
        if warm:
            self._dual = (Z, c)
        self._last_inner_iter = it  # diagnostics
        return primal(Z), ok

    # ----------------------------------------------------- optimality measure
    def subdiff_distance(self, W, G):
        a1, a_star = self._alphas
        W = np.asarray(W, dtype=np.float64)
        A = -np.asarray(G, dtype=np.float64)
        if W.size == 0:
            return 0.0
        if not W.any():  # dist(-G, C) = ||prox(-G)|| (Moreau), C the dual unit ball
            return float(np.sqrt((self._prox(A, a1, a_star, norm_only=True)[0] ** 2).sum()))
        zero = W == 0
        U, s, Vt = svd(W, full_matrices=True)
        r = int(np.sum(s > self.rank_tol * s.max()))
        U2, V2 = U[:, r:], Vt[r:].T  # the orthogonal complements
        R = A - a1 * np.sign(W) - a_star * (U[:, :r] @ Vt[:r])

        def trace_free(E):  # projection of E onto {a_star P_U2 M P_V2 : ||M||_2 <= 1}
            if a_star == 0 or U2.shape[1] == 0 or V2.shape[1] == 0:
                return np.zeros_like(E)
            return U2 @ _spectral_projection(U2.T @ E @ V2, a_star) @ V2.T

        N = trace_free(R)
        dist2 = float(((R - N) ** 2).sum())
        if a1 > 0 and zero.any() and dist2 > 0:
            # FISTA with restart on the l1 subgradient z1 (a box on the zero entries):
            # f(z1) = 1/2 dist(R - z1, trace part)^2 has a 1-Lipschitz gradient; every
            # step gives a feasible pair (z1, N), whose distance bounds the minimum
            # (every 10 steps, the residual u of the pair also bounds it from below,
            # by (<u, R> - sigma_S(u)) / ||u|| with the support function sigma_S of the
            # free set: a1 ||u||_1 on the zero entries + a* ||U2^T u V2||_*; stop when
            # the bounds agree to NORM_RTOL)
            z1 = np.zeros_like(W)
            y, t, checked = z1, 1.0, dist2
            for it in range(1, 5001):
                N = trace_free(R - y)
                z1_new = np.where(zero, np.clip(R - N, -a1, a1), 0.0)
                u = R - z1_new - N
                dist2 = min(dist2, float((u * u).sum()))
                if it % 10 == 0 and dist2 > 0:
                    sigma = a1 * float(np.abs(u[zero]).sum())
                    if a_star > 0 and U2.shape[1] and V2.shape[1]:
                        sigma += a_star * float(svd(U2.T @ u @ V2, compute_uv=False).sum())
                    lower = (float((u * R).sum()) - sigma) / float(np.sqrt((u * u).sum()))
                    if np.sqrt(dist2) - lower <= NORM_RTOL * np.sqrt(dist2):
                        break
                if float(((y - z1_new) * (z1_new - z1)).sum()) > 0:
                    t = 1.0
                t_next = 0.5 * (1.0 + np.sqrt(1.0 + 4.0 * t * t))
                y = z1_new + ((t - 1.0) / t_next) * (z1_new - z1)
                z1, t = z1_new, t_next
                if it % 50 == 0:  # stalled: less than 1e-8 relative progress in 50 steps
                    if dist2 >= (1.0 - 1e-8) * checked or dist2 == 0.0:
                        break
                    checked = dist2
        return float(np.sqrt(dist2))

    def alpha_max(self, G0):
        G0 = np.asarray(G0, dtype=np.float64)
        if G0.size == 0 or not G0.any():
            return 0.0
        r = self.l1_ratio
        inf, spec = float(np.abs(G0).max()), float(np.linalg.norm(G0, 2))
        if r >= 1.0:
            return inf
        if r <= 0.0:
            return spec
        lo, hi = inf, min(spec, inf / r)
        size = float(np.sqrt((G0**2).sum()))
        for _ in range(200):
            if hi - lo <= 1e-10 * hi:
                break
            mid = 0.5 * (lo + hi)
            U, decided = self._prox(G0, mid * r, mid * (1.0 - r), decide=True)
            if not decided:  # too close to the boundary to tell cheaply: hi is certified
                break
            if float(np.sqrt((U**2).sum())) <= 1e-13 * size:
                hi = mid
            else:
                lo = mid
        return hi
