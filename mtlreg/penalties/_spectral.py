"""The trace (nuclear) norm."""

import numpy as np


class TraceNorm:
    r"""Trace norm ``alpha * ||W||_* = alpha * sum_k sigma_k(W)`` (low-rank ``W``).

    Notes
    -----
    Prox: singular value thresholding, ``U diag(max(sigma - step alpha, 0)) V^T``.
    Optimality measure: the Frobenius distance from ``-G`` to
    ``alpha d||W||_* = alpha {U1 V1^T + M : U1^T M = 0, M V1 = 0, ||M||_2 <= 1}``
    (``U1, V1`` the singular vectors of the non-zero singular values), computed in
    the bases of the SVD of ``W``. ``alpha_max = ||G0||_2`` (spectral norm).
    """

    def __init__(self, alpha, rank_tol=1e-10):
        self.alpha = float(alpha)
        self.rank_tol = rank_tol

    def value(self, W):
        return self.alpha * float(np.linalg.svd(W, compute_uv=False).sum())

    def prox(self, W, step):
        U, s, Vt = np.linalg.svd(W, full_matrices=False)
        s = np.maximum(s - step * self.alpha, 0.0)
        keep = s > 0
        return (U[:, keep] * s[keep]) @ Vt[keep]

    def rank(self, W):
        s = np.linalg.svd(W, compute_uv=False)
        return int(np.sum(s > self.rank_tol * max(s.max(initial=0.0), 1e-300)))

    def subdiff_distance(self, W, G):
        U, s, Vt = np.linalg.svd(W, full_matrices=True)
        r = int(np.sum(s > self.rank_tol * max(s.max(initial=0.0), 1e-300))) if s.size else 0
        A = U.T @ (-G) @ Vt.T  # -G in the singular bases of W
        top = A[:r, :r] - self.alpha * np.eye(r)
        cross = np.concatenate([A[:r, r:].ravel(), A[r:, :r].ravel()])
        rest = A[r:, r:]
        sv = np.linalg.svd(rest, compute_uv=False) if rest.size else np.zeros(0)
        rest_dist2 = float(np.sum(np.maximum(sv - self.alpha, 0.0) ** 2))
        return float(np.sqrt((top**2).sum() + (cross**2).sum() + rest_dist2))

    def alpha_max(self, G0):
        return float(np.linalg.norm(G0, 2)) if G0.size else 0.0
