"""Compiled ADMM steps for row-separable penalties, a kernel per kind of row penalty.

The iteration is that of :mod:`._admm_kernels` (squared loss in Gram form, arrays
task-major: ``Z, U, W (T, d)``, ``M (T, d, d)`` the per-task inverses):

    W_t <- M_t (rt_t + rho * (Z_t - U_t))                   (every task)
    Z_j <- prox_{(p_j + l2/2 ||.||^2) / rho_j}(W_j + U_j)    (every row j: feature j
                                                              across the tasks)
    U   <- U + W - Z

With the ridge, ``prox_{(p + l2/2 ||.||^2) / rho}(v) = prox_{p / (rho s)}(v / s)``,
``s = 1 + l2 / rho``. The row penalties ``p_j`` and their kinds are those of
:mod:`mtlreg._kernels.prox` (``a1``, ``a2``: per-row strengths).

Why one kernel per kind: a kernel that dispatches on the kind at run time
(:func:`admm_rows`, kept for penalties whose rows mix kinds) compiles the prox of
every kind -- about 2 s of CPU on the first fit after installing, of which a fit uses
one. :func:`rows_stepper` picks the kernel of the kinds the rows have (every row
penalty of the package has one kind), so that a fit compiles only the prox it uses
(the l1, l2,1, sparse-group and unpenalised kinds share one kernel: their proxes are
the two halves of the sparse group's). Same operations in the same order as
:func:`admm_rows`: same iterates.
(The loops over a row are written out in each kernel: a helper kernel per loop costs
a compilation of its own, 0.1-0.2 s of CPU each.)
"""

import numpy as np
from numba import njit

from .._kernels.dense import copy_2d
from .._kernels.prox import (
    L1_KIND,
    L1INF_KIND,
    L21_KIND,
    SGL_KIND,
    ZERO_KIND,
    _row_prox,
    l1_row_prox,
    l21_row_prox,
    linf_row_prox,
)
from .._kernels.tv import tv1d_prox
from ._admm_kernels import _dual_update, _solve_tasks, admm_buffers


def admm_rows(M, rt, Z, U, W, rho, n_steps, kind, a1, a2, l2, positive):
    """ADMM steps for a row-separable penalty, any kind on any row (``kind (d,)``),
    dispatched at run time by :func:`mtlreg._kernels.prox._row_prox`."""
    return _admm_mixed(M, rt, Z, U, W, rho, n_steps, kind, a1, a2, l2, positive,
                       *admm_buffers(*rt.shape, 2))


@njit(cache=True, error_model="numpy")
def _admm_mixed(M, rt, Z, U, W, rho, n_steps, kind, a1, a2, l2, positive, vecs, Z_old, x):
    T, d = rt.shape
    z, out = vecs[0], vecs[1]
    primal = dual = 0.0
    for _ in range(n_steps):
        _solve_tasks(M, rt, Z, U, rho, W, x)
        copy_2d(Z_old, Z)
        for j in range(d):
            step = 1.0 / rho[j]
            shrink = 1.0 + step * l2
            for t in range(T):
                z[t] = (W[t, j] + U[t, j]) / shrink
            step /= shrink
            _row_prox(kind[j], z, step, a1[j], a2[j], positive, out)
            for t in range(T):
                Z[t, j] = out[t]
        primal, dual = _dual_update(W, Z, Z_old, U, rho)
    return primal, dual


@njit(cache=True, error_model="numpy")
def _admm_l1_l21(M, rt, Z, U, W, rho, n_steps, a1, a2, l2, positive, vecs, Z_old, x):
    """:func:`admm_rows` for ``a1_j ||w||_1 + a2_j ||w||_2`` on every row: the l2,1
    (``a1 = 0``), the l1 (``a2 = 0``) and the sparse group lasso. Soft-thresholding
    (skipped where ``a1_j = 0``), then block soft-thresholding of its output (exact for
    this pair; the identity, bar the clipping at 0 with ``positive``, where
    ``a2_j = 0``). One kernel for the three: a fit of each after the other compiles it
    once (1-1.3 s of CPU on the first fit after installing), at the cost of the block
    step's pass over the row for the l1."""
    T, d = rt.shape
    z, out = vecs[0], vecs[1]
    primal = dual = 0.0
    for _ in range(n_steps):
        _solve_tasks(M, rt, Z, U, rho, W, x)
        copy_2d(Z_old, Z)
        for j in range(d):
            step = 1.0 / rho[j]
            shrink = 1.0 + step * l2
            for t in range(T):
                z[t] = (W[t, j] + U[t, j]) / shrink
            step /= shrink
            if a1[j] > 0.0:
                l1_row_prox(z, step * a1[j], positive, z)
            l21_row_prox(z, step * a2[j], positive, out)
            for t in range(T):
                Z[t, j] = out[t]
        primal, dual = _dual_update(W, Z, Z_old, U, rho)
    return primal, dual


@njit(cache=True, error_model="numpy")
def _admm_linf(M, rt, Z, U, W, rho, n_steps, a1, l2, positive, vecs, Z_old, x):
    """:func:`admm_rows` for ``a1_j ||w||_inf`` (Moreau: ``z`` minus its projection on
    the l1 ball of radius ``step a1_j``)."""
    T, d = rt.shape
    z, out = vecs[0], vecs[1]
    primal = dual = 0.0
    for _ in range(n_steps):
        _solve_tasks(M, rt, Z, U, rho, W, x)
        copy_2d(Z_old, Z)
        for j in range(d):
            step = 1.0 / rho[j]
            shrink = 1.0 + step * l2
            for t in range(T):
                z[t] = (W[t, j] + U[t, j]) / shrink
            step /= shrink
            linf_row_prox(z, step * a1[j], positive, out)
            for t in range(T):
                Z[t, j] = out[t]
        primal, dual = _dual_update(W, Z, Z_old, U, rho)
    return primal, dual


def admm_fused(M, rt, Z, U, W, rho, n_steps, beta, a1, a21, l2):
    """:func:`_admm_fused` with its scratch arrays (:func:`admm_buffers`)."""
    return _admm_fused(M, rt, Z, U, W, rho, n_steps, beta, a1, a21, l2,
                       *admm_buffers(*rt.shape, 2))


@njit(cache=True, error_model="numpy")
def _admm_fused(M, rt, Z, U, W, rho, n_steps, beta, a1, a21, l2, vecs, Z_old, x):
    """ADMM steps for the fused sparse group lasso (:class:`mtlreg.penalties.FusedSparseGroup`,
    ``a1 ||w||_1 + beta TV(w) + a21 ||w||_2`` on every row, tasks in chain order):
    per row, the 1-D total-variation prox, then soft-thresholding, then block
    soft-thresholding (exact in this order, see the penalty), at the row's own step."""
    T, d = rt.shape
    z, out = vecs[0], vecs[1]
    primal = dual = 0.0
    for _ in range(n_steps):
        _solve_tasks(M, rt, Z, U, rho, W, x)
        copy_2d(Z_old, Z)
        for j in range(d):
            step = 1.0 / rho[j]
            shrink = 1.0 + step * l2
            for t in range(T):
                z[t] = (W[t, j] + U[t, j]) / shrink
            step /= shrink
            tv1d_prox(z, step * beta, out)
            l1_row_prox(out, step * a1, False, out)
            l21_row_prox(out, step * a21, False, out)
            for t in range(T):
                Z[t, j] = out[t]
        primal, dual = _dual_update(W, Z, Z_old, U, rho)
    return primal, dual


def admm_parts_l21(M, rt, Z, U, W, rho, n_steps, a_rows, a_cols, l2):
    """:func:`_admm_parts_l21` with its scratch arrays (:func:`admm_buffers`: ``A``,
    ``s`` and the zeros of the X-step, ``rho / 2``)."""
    T, d = rt.shape
    return _admm_parts_l21(M, rt, Z, U, W, rho, n_steps, a_rows, a_cols, l2,
                           np.empty((T, d)), np.empty((T, d)), np.zeros((T, d)),
                           0.5 * rho, np.concatenate((rho, rho)), np.empty_like(Z),
                           np.empty(d))


@njit(cache=True, error_model="numpy")
def _admm_parts_l21(M, rt, Z, U, W, rho, n_steps, a_rows, a_cols, l2, A, s, zero, half,
                    rho2, Z_old, x):
    """The "parts" steps of :mod:`.admm` (``Z, U, W (T, 2d)``: ``[P, Q]`` task-major,
    ``W = P + Q``) compiled for robust multi-task feature learning: the row l2,1 on
    ``P`` (a feature over the tasks: a column of ``Z[:, :d]``) and the column l2,1 on
    ``Q`` (a task over the features: a row of ``Z[:, d:]``), with a ridge ``l2`` on
    both; one ``rho`` (``rho``: ``d`` equal entries). With ``A = Z - U`` the X-step solves
    ``s = p + q`` per task with ``rho / 2`` and sets ``p - q = a - c``; then each
    group is block soft-thresholded at ``(alpha / rho) / (1 + l2 / rho)`` after the
    ridge's shrinkage ``1 / (1 + l2 / rho)``."""
    T, d = rt.shape
    shrink = 1.0 + l2 / rho[0]
    step = 1.0 / (rho[0] * shrink)
    primal = dual = 0.0
    for _ in range(n_steps):
        for t in range(T):
            for j in range(d):
                A[t, j] = (Z[t, j] - U[t, j]) + (Z[t, d + j] - U[t, d + j])
        _solve_tasks(M, rt, A, zero, half, s, x)
        for t in range(T):
            for j in range(d):
                e = (Z[t, j] - U[t, j]) - (Z[t, d + j] - U[t, d + j])
                W[t, j] = 0.5 * (s[t, j] + e)
                W[t, d + j] = 0.5 * (s[t, j] - e)
        copy_2d(Z_old, Z)
        for j in range(d):  # P: feature j over the tasks
            sq = 0.0
            for t in range(T):
                v = (W[t, j] + U[t, j]) / shrink
                Z[t, j] = v
                sq += v * v
            norm = np.sqrt(sq)
            scale = 1.0 - step * a_rows / norm if norm > step * a_rows else 0.0
            for t in range(T):
                Z[t, j] *= scale
        for t in range(T):  # Q: task t over the features
            sq = 0.0
            for j in range(d, 2 * d):
                v = (W[t, j] + U[t, j]) / shrink
                Z[t, j] = v
                sq += v * v
            norm = np.sqrt(sq)
            scale = 1.0 - step * a_cols / norm if norm > step * a_cols else 0.0
            for j in range(d, 2 * d):
                Z[t, j] *= scale
        primal, dual = _dual_update(W, Z, Z_old, U, rho2)  # rho2: rho for P and for Q
    return primal, dual


def rows_stepper(kind, a1, a2, l2, positive, shape):
    """``step(M, rt, Z, U, W, rho, n_steps)``: ADMM steps by a kernel that compiles only
    the proxes the rows use. The l2,1, l1, sparse-group and unpenalised rows
    (``ZERO_KIND``: the identity, bar the clipping with ``positive``) share
    :func:`_admm_l1_l21` (``a1 = a2 = 0`` for the last); rows all l1,inf take
    :func:`_admm_linf`; others -- the mean regularisation, mixtures with it or with
    l1,inf -- :func:`_admm_mixed`, the kernel of :func:`admm_rows`. Chosen once per
    solve, with its scratch arrays for iterates of ``shape`` (``(T, d)``)."""
    kinds = set(np.unique(kind).tolist())
    if kinds and kinds <= {L21_KIND, L1_KIND, SGL_KIND, ZERO_KIND}:
        l1 = np.where((kind == L1_KIND) | (kind == SGL_KIND), a1, 0.0)
        l21 = np.where(kind == L21_KIND, a1, np.where(kind == SGL_KIND, a2, 0.0))
        kernel, args = _admm_l1_l21, (l1, l21, l2, positive)
    elif kinds == {L1INF_KIND}:
        kernel, args = _admm_linf, (a1, l2, positive)
    else:
        kernel, args = _admm_mixed, (kind, a1, a2, l2, positive)
    buffers = admm_buffers(*shape, 2)

    def step(M, rt, Z, U, W, rho, n_steps):
        return kernel(M, rt, Z, U, W, rho, n_steps, *args, *buffers)

    return step
