r"""ADMM for the l1 + trace norm penalty (:class:`mtlreg.penalties.SparseTraceNorm`):
a consensus split, so that each part of the penalty keeps its closed-form prox.

With ``g1 = a1 ||.||_1`` and ``g2 = a* ||.||_*`` (``a1 = alpha r``,
``a* = alpha (1 - r)``), ADMM solves ``min f(W) + g1(Z1) + g2(Z2)`` subject to
``W = Z1`` and ``W = Z2`` (task-major arrays ``(T, d)``, the ridge ``l2/2 ||W||^2``
inside ``f``: its reduced Gram matrices are ``H~_t + l2 I``):

    W_t <- (H~_t + l2 I + 2 rho I)^{-1} (r~_t + rho (Z1_t - U1_t + Z2_t - U2_t))
    Z1  <- S_{a1 / rho}(W + U1)                  (soft-thresholding)
    Z2  <- SVT_{a* / rho}(W + U2)                (singular value thresholding)
    U_i <- U_i + W - Z_i

one scalar ``rho`` (the nuclear norm is not separable). At a fixed point
``W = Z1 = Z2``, ``rho U1`` is in ``d g1(W)``, ``rho U2`` in ``d g2(W)`` and
``grad f(W) + rho (U1 + U2) = 0``: the optimality condition. Away from it, with
``V = W + (U1 + U2) / 2``, the point that is measured is

    W^ = prox_{P / (2 rho)}(V),       P = g1 + g2,

which is ``W`` at a fixed point (the prox's optimality condition is
``2 rho (V - W) = rho (U1 + U2)`` in ``dP(W)``) and, unlike ``Z1`` or ``Z2``, exactly
sparse *and* low-rank. It is computed by the penalty's own prox (FISTA on its dual)
warm-started at ``U2 / 2``, the dual at a fixed point, so only a few inner steps
are needed near convergence -- and only when the cheap estimate
:func:`residual_estimate` says the solution is near. The split can stall where the
two parts of the penalty interact (standardised School, alpha 10, l1_ratio 0.2:
the estimate decreased by 6 % per 1 000 iterations); :func:`mtlreg.solvers.admm`
then goes on with ADMM on ``W = Z`` and the exact prox of the sum, from the
measured point, with ``U = (U1 + U2) / 2`` and ``rho`` doubled (the same per-task
matrices ``(H~_t + 2 rho I)^{-1}``).
"""

import numpy as np
from numba import njit

from ._admm_kernels import _solve_tasks


@njit(cache=True, error_model="numpy")
def _soft_step(W, U1, Z1, thr):
    """``Z1 = S_thr(W + U1)``, ``U1 += W - Z1``; returns ``(||W - Z1||^2, ||dZ1||^2)``."""
    T, d = W.shape
    primal = 0.0
    change = 0.0
    for t in range(T):
        for j in range(d):
            v = W[t, j] + U1[t, j]
            z = v - thr if v > thr else (v + thr if v < -thr else 0.0)
            change += (z - Z1[t, j]) ** 2
            Z1[t, j] = z
            r = W[t, j] - z
            U1[t, j] += r
            primal += r * r
    return primal, change


def admm_sparse_trace(M, rt, Z1, Z2, U1, U2, W, rho, n_steps, a1, second):
    """``n_steps`` consensus-ADMM iterations (see the module docstring), ``M`` the
    inverses ``(H~_t + l2 I + 2 rho I)^{-1}``, ``rho`` a vector of equal entries (the
    per-task solve takes one per feature). Returns the primal and dual residual norms
    ``sqrt(||W - Z1||^2 + ||W - Z2||^2)`` and ``rho ||dZ1 + dZ2||`` of the last one."""
    r = float(rho[0])
    Zs = np.empty_like(W)
    Us = np.empty_like(W)
    Z2_old = np.empty_like(W)
    Z1_old = np.empty_like(W)
    x = np.empty(W.shape[1])
    primal = dual = 0.0
    for _ in range(n_steps):
        np.add(Z1, Z2, out=Zs)
        np.add(U1, U2, out=Us)
        _solve_tasks(M, rt, Zs, Us, rho, W, x)
        Z1_old[...] = Z1
        Z2_old[...] = Z2
        p1, _ = _soft_step(W, U1, Z1, a1 / r)
        Z2[...] = second(W + U2, 1.0 / r)
        E = W - Z2
        U2 += E
        primal = np.sqrt(p1 + float((E * E).sum()))
        D = (Z1 - Z1_old) + (Z2 - Z2_old)
        dual = r * float(np.sqrt((D * D).sum()))
    return primal, dual


def initial_duals(W, G, rho, a1):
    """``(U1, U2)`` with ``rho (U1 + U2) = -G`` and ``rho U1`` an l1 subgradient at
    ``W`` (the signs on the non-zero entries, ``-G`` clipped to ``[-a1, a1]`` on the
    zero ones): a solution is then a fixed point up to the split of ``-G`` between
    the two parts, which the iterations settle."""
    S1 = np.where(W != 0, a1 * np.sign(W), np.clip(-G, -a1, a1))
    return S1 / rho, (-G - S1) / rho


def measured_point(exact, W, U1, U2, rho):
    """``W^ = prox_{P / (2 rho)}(W + (U1 + U2) / 2)`` (task-major), by the penalty's
    exact prox (``exact(V, step, dual)`` of its ``consensus_split``, on ``(d, T)``
    arrays) warm-started at the dual ``U2 / 2``."""
    V = (W + 0.5 * (U1 + U2)).T
    return np.ascontiguousarray(exact(V, 0.5 / rho, 0.5 * U2.T).T)


def residual_estimate(G, U1, U2, W, Z1, Z2, rho, curvature):
    """A cheap estimate of the optimality measure at :func:`measured_point`, to decide
    when to compute it: the stationarity residual ``||grad f(W) + rho (U1 + U2)||``
    (0 at a fixed point) plus the consensus residuals ``||W - Z_i||`` times the
    curvature ``2 rho + L`` (``L`` the largest curvature of the data term), the size
    of the change of the gradient and of the prox's subgradient they can cause."""
    E = G + rho * (U1 + U2)
    gap = np.sqrt(((W - Z1) ** 2).sum() + ((W - Z2) ** 2).sum())
    return float(np.sqrt((E * E).sum())) + (2.0 * rho + curvature) * float(gap)
