"""Clustered multi-task learning, convex relaxation (Zhou, Chen & Ye 2011; MALSAR CMTL).

The penalty is ``c * min_M tr(W (eta I + M)^{-1} W^T)`` over the convex set
``{M symmetric : tr M = k, 0 <= M <= I}`` (``c = alpha eta (1 + eta)``). The inner
minimum has a closed form: ``M`` shares the right singular vectors of ``W`` and its
eigenvalues solve a water-filling problem over the capped simplex (Jacob, Bach &
Vert 2008), so the penalty is a smooth spectral function of ``W`` alone.
"""

import numpy as np


def _water_fill(s, eta, k):
    """``argmin_m sum_i s_i^2 / (eta + m_i)`` over ``{sum m = k, 0 <= m <= 1}``.

    KKT: ``m_i = clip(tau s_i - eta, 0, 1)`` with ``tau`` such that ``sum m = k``.
    ``f(tau) = sum_i clip(tau s_i - eta, 0, 1)`` is non-decreasing and piecewise linear,
    with breakpoints ``eta / s_i`` (entry ``i`` leaves 0) and ``(1 + eta) / s_i`` (it
    reaches 1): a binary search over the sorted breakpoints finds the segment where
    ``f`` crosses ``k`` (``O(T log T)``), where ``tau`` solves a linear equation; the
    sum is then matched exactly by spreading the round-off over the free entries.
    With fewer than ``k`` non-zero ``s_i`` the non-zero ones get 1 and the rest of the
    mass is spread evenly over the others (any split is optimal there)."""
    s = np.asarray(s, dtype=float)
    nz = s > 0
    if nz.sum() <= k:
        m = np.where(nz, 1.0, 0.0)
        rest = k - nz.sum()
        if rest > 0:
            m[~nz] = rest / (~nz).sum()
        return m
    sp = s[nz]
    bps = np.unique(np.concatenate([eta / sp, (1.0 + eta) / sp]))

    def mass(tau):
        return float(np.clip(tau * s - eta, 0.0, 1.0).sum())

    lo, hi = 0, len(bps) - 1  # mass(bps[hi]) = number of non-zero entries > k
    if mass(bps[0]) >= k:  # (k > 0 and mass(eta / max s) = 0: never, kept for safety)
        hi = 0
    while hi - lo > 1:  # invariant: mass(bps[lo]) < k <= mass(bps[hi])
        mid = (lo + hi) // 2
        if mass(bps[mid]) < k:
            lo = mid
        else:
            hi = mid
    a, b = (bps[lo], bps[hi]) if hi > 0 else (0.0, bps[0])
    t = 0.5 * (a + b)  # inside the segment: which entries are free, which capped
    z = t * s - eta
    free = (z > 0) & (z < 1)
    capped = float(np.sum(z >= 1))
    tau = (k - capped + eta * free.sum()) / s[free].sum() if free.any() else b
    m = np.clip(tau * s - eta, 0.0, 1.0)
    free = (m > 0) & (m < 1)
    if free.any():  # exact trace
        m[free] += (k - m.sum()) / free.sum()
        m = np.clip(m, 0.0, 1.0)
    return m


class ClusteredMTL:
    r"""``alpha eta (1 + eta) min_M tr(W (eta I + M)^{-1} W^T)``, ``tr M = k``, ``0 <= M <= I``.

    Notes
    -----
    With ``W = U diag(s) V^T`` (``V`` of shape ``(T, T)``, ``s`` padded with zeros),
    the optimal ``M = V diag(m) V^T`` with ``m`` from water-filling, and the penalty
    is ``c sum_i s_i^2 / (eta + m_i)``. It is convex and differentiable with gradient
    ``2 c W (eta I + M)^{-1}`` (envelope theorem), ``2c / eta``-Lipschitz (a convex
    function below a family of ``2c/eta``-smooth quadratics that touch it).

    Prox (exact): for a singular value ``sigma`` and a given ``m``, the minimiser
    of ``(x - sigma)^2 / (2 step) + c x^2 / (eta + m)`` is
    ``sigma (eta + m) / (eta + m + 2 step c)`` with value
    ``c sigma^2 / (eta + 2 step c + m)``: the same water-filling with ``eta``
    replaced by ``eta + 2 step c``, then the singular values shrink.

    Optimality measure (smooth penalty): the largest entry of ``G + grad``.
    ``alpha_max`` is ``inf``.
    """

    def __init__(self, alpha, eta=1.0, n_clusters=2):
        self.alpha = float(alpha)
        self.eta = float(eta)
        self.n_clusters = n_clusters

    @property
    def _c(self):
        return self.alpha * self.eta * (1.0 + self.eta)

    def _k(self, T):
        return float(min(self.n_clusters, T))

    def _svd(self, W):
        U, s, Vt = np.linalg.svd(W, full_matrices=True)
        T = W.shape[1]
        s_full = np.zeros(T)
        s_full[:len(s)] = s
        return U, s, s_full, Vt

    def task_similarity(self, W):
        """The optimal ``M`` at ``W`` (symmetric, eigenvalues in [0, 1], trace ``k``)."""
        _, _, s_full, Vt = self._svd(W)
        m = _water_fill(s_full, self.eta, self._k(W.shape[1]))
        M = (Vt.T * m) @ Vt
        return 0.5 * (M + M.T)

    def value(self, W):
        if self.alpha == 0 or W.size == 0:
            return 0.0
        _, _, s_full, _ = self._svd(W)
        m = _water_fill(s_full, self.eta, self._k(W.shape[1]))
        return self._c * float(np.sum(s_full**2 / (self.eta + m)))

    def gradient(self, W):
        if self.alpha == 0 or W.size == 0:
            return np.zeros_like(W)
        T = W.shape[1]
        M = self.task_similarity(W)
        return 2.0 * self._c * np.linalg.solve(self.eta * np.eye(T) + M, W.T).T

    def prox(self, W, step):
        if self.alpha == 0 or W.size == 0:
            return W
        U, s, s_full, Vt = self._svd(W)
        shifted = self.eta + 2.0 * step * self._c
        m = _water_fill(s_full, shifted, self._k(W.shape[1]))
        r = len(s)
        x = s * (self.eta + m[:r]) / (shifted + m[:r])
        return (U[:, :r] * x) @ Vt[:r]

    def subdiff_distance(self, W, G):
        return float(np.abs(G + self.gradient(W)).max(initial=0.0))

    def alpha_max(self, G0):
        return np.inf
