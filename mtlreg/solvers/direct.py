"""Direct solve of quadratic problems: squared loss plus quadratic penalties.

For the squared datafit, task ``t``'s data term is ``v_t^T H_t v_t / 2 - r_t^T v_t``
(``v_t = [w_t; b_t]``, see ``layout.task_gram``). With the penalty
``(alpha/2) sum_t ||w_t - w_bar||^2 + (l2/2) ||W||_F^2`` the optimality conditions

    H_t v_t - r_t + (alpha + l2) E v_t - (alpha / T) E u = 0,   u = sum_s v_s,

(``E`` selects the penalised coordinates, i.e. not the intercept) give
``v_t = M_t^{-1} (r_t + (alpha/T) E u)`` with ``M_t = H_t + (alpha + l2) E``, and
summing over tasks, one ``k x k`` system for ``u``:

    (I - (alpha/T) sum_t M_t^{-1} E) u = sum_t M_t^{-1} r_t.

Cost: ``T`` inversions of size ``d + 1`` (compiled, by Cholesky) plus one dense solve.
"""

import numpy as np
from numpy.linalg import LinAlgError

from ._admm_kernels import shifted_inverse


def solve_mean_regularized(layout, alpha, l2_reg):
    """Exact minimiser ``(W (d, T), b (T,))`` in the layout's centred coordinates.

    Raises ``LinAlgError`` when a task system is not positive definite (e.g.
    ``alpha = l2_reg = 0`` with rank-deficient features); callers fall back to FISTA.
    """
    H, r = layout.task_gram()
    T, k, _ = H.shape
    d = layout.n_features
    E = np.zeros(k)
    E[:d] = 1.0
    Minv = np.empty_like(H)
    if not shifted_inverse(np.ascontiguousarray(H), (alpha + l2_reg) * E, Minv):
        raise LinAlgError("a per-task system is singular to working precision")
    MinvR = np.matmul(Minv, r[:, :, None])[:, :, 0]
    MinvE = np.zeros((k, k))  # sum_t M_t^{-1} E
    MinvE[:, :d] = Minv[:, :, :d].sum(axis=0)
    u = np.linalg.solve(np.eye(k) - (alpha / T) * MinvE, MinvR.sum(axis=0))
    V = MinvR + (alpha / T) * np.matmul(Minv, E * u)
    W = np.ascontiguousarray(V[:, :d].T)
    b = V[:, d] if k > d else np.zeros(T)
    return W, b


__all__ = ["LinAlgError", "solve_mean_regularized"]
