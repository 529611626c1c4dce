"""The trace (nuclear) norm."""

import numpy as np
from scipy.linalg import svd as _scipy_svd


def svd(A, full_matrices=False, compute_uv=True):
    """``np.linalg.svd`` that does not give up where LAPACK's divide-and-conquer
    driver (``gesdd``) fails to converge on a finite matrix, which it rarely does
    where the QR-iteration driver (``gesvd``) succeeds: it retries with ``gesvd``.
    A matrix with NaN or infinite entries raises ``FloatingPointError``, naming
    the cause (a solver's iterates that are no longer finite)."""
    try:
        return np.linalg.svd(A, full_matrices=full_matrices, compute_uv=compute_uv)
    except np.linalg.LinAlgError:
        if not np.isfinite(A).all():
            raise FloatingPointError(
                "non-finite values in a matrix whose singular values are needed: the "
                "iterates of the solver overflowed; scale the features and the target, "
                "or use a larger alpha.") from None
        return _scipy_svd(A, full_matrices=full_matrices, compute_uv=compute_uv,
                          lapack_driver="gesvd", check_finite=False)


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
        return self.alpha * float(svd(W, compute_uv=False).sum())

    def prox(self, W, step):
        U, s, Vt = svd(W, full_matrices=False)
        s = np.maximum(s - step * self.alpha, 0.0)
        keep = s > 0
        return (U[:, keep] * s[keep]) @ Vt[keep]

    def rank(self, W):
        return numerical_rank(svd(W, compute_uv=False), self.rank_tol)

    def subdiff_distance(self, W, G):
        U, s, Vt = svd(W, full_matrices=False)
        r = int(np.sum(s > self.rank_tol * max(s.max(initial=0.0), 1e-300)))
        U1, V1 = U[:, :r], Vt[:r].T
        A = -G
        UA, AV = U1.T @ A, A @ V1
        core = UA @ V1  # U1^T A V1
        top2 = float(((core - self.alpha * np.eye(r)) ** 2).sum())
        # the parts of A in exactly one of the two singular subspaces (computed as
        # matrices, not as differences of norms, which would cancel near a solution)
        cross2 = float(((UA - core @ V1.T) ** 2).sum() + ((AV - U1 @ core) ** 2).sum())
        rest = A - U1 @ UA - AV @ V1.T + U1 @ core @ V1.T  # (I - U1U1^T) A (I - V1V1^T)
        sv = svd(rest, compute_uv=False) if rest.size else np.zeros(0)
        rest2 = float(np.sum(np.maximum(sv - self.alpha, 0.0) ** 2))
        return float(np.sqrt(top2 + cross2 + rest2))

    def alpha_max(self, G0):
        return float(np.linalg.norm(G0, 2)) if G0.size else 0.0


def numerical_rank(s, rank_tol):
    """The number of singular values ``s`` above ``rank_tol`` times the largest."""
    return int(np.sum(s > rank_tol * max(s.max(initial=0.0), 1e-300)))
