"""Safeguarded Anderson acceleration of ADMM's fixed-point iteration.

ADMM (:mod:`.admm`) is a fixed-point iteration ``x <- g(x)`` on its state
``x = (Z, U)``: the W-step reads ``Z`` and ``U`` only, so ``n`` steps map one state
to the next. Once the sparsity pattern (or the rank) of ``Z`` has settled, ``g`` is
affine near the solution and its linear rate can be close to 1: School without
intercept, MALSAR's dirty setting, about 2 400 iterations at ``tol=1e-6``.
Anderson acceleration (type II, Walker & Ni 2011; as in SCS 3, O'Donoghue 2021, and
the safeguarded form of Zhang, O'Donoghue & Boyd 2020) extrapolates from the last
``memory`` states: with ``f_i = g(x_i) - x_i`` and the differences ``dF``, ``dG`` of
the ``f_i`` and ``g(x_i)``,

    gamma = argmin ||f_k - dF gamma||,    x_{k+1} = g(x_k) - dG gamma

(on an affine ``g``: GMRES on ``(I - g) x = 0``). The safeguard: the extrapolated
state is kept only if the next residual ``||g(x) - x||`` is below the last plain
one; otherwise ADMM goes back to the plain iterate it would have had and the memory
is cleared. Residuals are measured in ADMM's own metric, ``rho`` per feature on
both ``Z`` and ``U`` (scaled dual), in which the iteration is non-expansive.
An extrapolation is also kept only while its residual is at most
``D ||f_0|| (n + 1)^-(1 + eps)`` (``n`` extrapolations kept so far, ``f_0`` the
first residual): Zhang, O'Donoghue & Boyd's condition, under which the safeguarded
iteration converges wherever the plain one does (then the residuals of the kept
extrapolations tend to 0, and every other step is a plain one).

An extrapolated state is an ordinary starting point for the next steps: the stopping
rule is always checked on a state the steps produced (``Z`` a prox output, ``rho U``
a subgradient of the penalty at ``Z``), never on an extrapolation.
"""

import numpy as np

MEMORY = 5  # states kept (Anderson's m + 1)
REGULARISATION = 1e-10  # Tikhonov term of the least squares, relative to ||dF||^2
SAFEGUARD_D, SAFEGUARD_EPS = 1e6, 1e-6  # Zhang, O'Donoghue & Boyd (2020), section 3


class Anderson:
    """Anderson acceleration of ``x <- g(x)`` for ADMM's state ``(Z, U)``.

    Call :meth:`propose` after each block of steps with the state before the block
    and after it; it leaves in ``(Z, U)`` the state to continue from (an
    extrapolation, the plain iterate after a rejected one, or the block's output).
    :meth:`reset_history` when the map changes (a new ``rho``).

    The combination is computed relative to the newest pair, which spans the same
    space as Walker & Ni's successive differences: ``x = sum_i a_i g_i`` with
    ``sum_i a_i = 1`` minimising ``||sum_i a_i f_i||``."""

    def __init__(self, memory=MEMORY):
        self.memory = memory
        self.xs = self.gs = None  # (memory, size) buffers of weighted states, images
        self.n_accepted = self.n_rejected = 0
        self.first = None  # ||f_0||
        self.reset_history()

    def reset_history(self):
        self.count = 0  # pairs held
        self.newest = -1  # their slot
        self.fallback = None  # the plain iterate behind a pending extrapolation
        self.last_plain = np.inf  # the residual norm that an extrapolation must beat

    def propose(self, Z0, U0, Z, U, weight):
        """``Z0, U0``: the state a block of steps started from; ``Z, U``: where it ended
        (overwritten with the state to go on from); ``weight``: ``sqrt(rho)`` per
        column of ``Z``."""
        half = Z.size
        if self.xs is None:
            self.xs = np.empty((self.memory, 2 * half))
            self.gs = np.empty((self.memory, 2 * half))
        slot = (self.newest + 1) % self.memory
        x, g = self.xs[slot], self.gs[slot]
        np.multiply(Z0, weight, out=x[:half].reshape(Z.shape))
        np.multiply(U0, weight, out=x[half:].reshape(U.shape))
        np.multiply(Z, weight, out=g[:half].reshape(Z.shape))
        np.multiply(U, weight, out=g[half:].reshape(U.shape))
        f = g - x
        res = float(np.sqrt(f @ f))
        if self.first is None:
            self.first = res
        if self.fallback is not None:  # the block started from an extrapolation
            bound = SAFEGUARD_D * self.first * (self.n_accepted + 1) ** -(1 + SAFEGUARD_EPS)
            if not (res < self.last_plain and res <= bound):
                Z[...], U[...] = self.fallback
                self.reset_history()
                self.n_rejected += 1
                return
            self.n_accepted += 1
            self.fallback = None
        self.last_plain = res
        self.newest = slot
        self.count = min(self.count + 1, self.memory)
        if self.count < 2:
            return
        others = [(slot - i) % self.memory for i in range(1, self.count)]
        DG = self.gs[others] - g
        DF = DG - (self.xs[others] - x)  # f_i - f_newest
        A = DF @ DF.T
        A[np.diag_indices_from(A)] += REGULARISATION * max(float(np.trace(A)), 1e-300)
        try:
            beta = np.linalg.solve(A, -(DF @ f))
        except np.linalg.LinAlgError:
            self.reset_history()
            return
        new = g + beta @ DG
        if not np.all(np.isfinite(new)):
            self.reset_history()
            return
        self.fallback = (Z.copy(), U.copy())
        np.divide(new[:half].reshape(Z.shape), weight, out=Z)
        np.divide(new[half:].reshape(U.shape), weight, out=U)
