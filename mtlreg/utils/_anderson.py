"""Safeguarded Anderson acceleration of a fixed-point iteration ``x <- g(x)``.

Type II (Walker & Ni 2011; as in SCS 3, O'Donoghue 2021): with the residuals
``f_i = g(x_i) - x_i`` of the last ``memory`` points, the next point is
``sum_i a_i g(x_i)`` with ``sum_i a_i = 1`` minimising ``||sum_i a_i f_i||`` (on an
affine ``g``: GMRES on ``(I - g) x = 0``). Safeguards (Zhang, O'Donoghue & Boyd 2020):
an extrapolated point is kept only if the residual found there is below the last
plain one and below ``D ||f_0|| (n + 1)^-(1 + eps)`` (``n`` extrapolations kept so
far); otherwise the iteration goes back to the plain image ``g(x)`` the
extrapolation replaced, and the memory is cleared. Under that rule the iteration
converges wherever the plain one does: the residuals of the kept extrapolations
tend to 0, every other step is a plain one.

Used by ADMM on its state ``(Z, U)`` (:mod:`mtlreg.solvers.admm`) and by the
projected gradient of the l1 + trace norm's prox (:mod:`mtlreg.penalties._sparse_trace`).
The caller measures in its own metric: the points are flat arrays in the coordinates
where ``g`` is non-expansive.
"""

import numpy as np

REGULARISATION = 1e-10  # Tikhonov term of the least squares, relative to ||dF||^2
SAFEGUARD_D, SAFEGUARD_EPS = 1e6, 1e-6  # Zhang, O'Donoghue & Boyd (2020), section 3


class Anderson:
    """Anderson acceleration with ``memory`` points.

    :meth:`next_point` takes a point ``x`` and its image ``g = g(x)`` (flat arrays)
    and returns where to evaluate ``g`` next: an extrapolation, ``g`` itself, or,
    after a rejected extrapolation, the plain image it had replaced.
    :meth:`reset_history` when ``g`` changes (ADMM: a new ``rho``)."""

    def __init__(self, memory):
        self.memory = memory
        self.xs = self.gs = None  # (memory, size) buffers of the points and images
        self.n_accepted = self.n_rejected = 0
        self.first = None  # ||f_0||
        self.reset_history()

    def reset_history(self):
        self.count = 0  # pairs held
        self.newest = -1  # their slot
        self.fallback = None  # the plain image behind a pending extrapolation
        self.last_plain = np.inf  # the residual norm an extrapolation must beat

    def next_point(self, x, g):
        if self.xs is None or self.xs.shape[1] != x.size:
            self.xs = np.empty((self.memory, x.size))
            self.gs = np.empty((self.memory, x.size))
        f = g - x
        res = float(np.sqrt(f @ f))
        if self.first is None:
            self.first = res
        if self.fallback is not None:  # x was an extrapolation
            bound = SAFEGUARD_D * self.first * (self.n_accepted + 1) ** -(1 + SAFEGUARD_EPS)
            if not (res < self.last_plain and res <= bound):
                back = self.fallback
                self.reset_history()
                self.n_rejected += 1
                return back
            self.n_accepted += 1
            self.fallback = None
        self.last_plain = res
        slot = (self.newest + 1) % self.memory
        self.xs[slot], self.gs[slot] = x, g
        self.newest = slot
        self.count = min(self.count + 1, self.memory)
        if self.count < 2:
            return g
        # relative to the newest pair (the span of Walker & Ni's successive differences)
        others = [(slot - i) % self.memory for i in range(1, self.count)]
        DG = self.gs[others] - g
        DF = DG - (self.xs[others] - x)  # f_i - f_newest
        A = DF @ DF.T
        A[np.diag_indices_from(A)] += REGULARISATION * max(float(np.trace(A)), 1e-300)
        try:
            beta = np.linalg.solve(A, -(DF @ f))
        except np.linalg.LinAlgError:
            self.reset_history()
            return g
        if not np.all(np.isfinite(beta)):  # (the points and images are finite)
            self.reset_history()
            return g
        self.fallback = g.copy()
        return g + beta @ DG
