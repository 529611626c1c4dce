"""Compiled kernels of the 1-D total variation along a chain of tasks: the TV prox
(Condat), the prox of the fused sparse group lasso built on it, and the segment sums
of its optimality measure (:class:`mtlreg.penalties.FusedSparseGroup`)."""

import numpy as np
from numba import njit

from .prox import l1_row_prox, l21_row_prox


@njit(cache=True, error_model="numpy")
def tv1d_prox(y, lam, out):
    """``argmin_x 1/2 ||x - y||^2 + lam sum_k |x_{k+1} - x_k|`` (1-D total variation /
    fused lasso signal approximator), by Condat's direct algorithm (IEEE SPL 2013):
    one pass that extends the current segment while a value stays feasible for both
    the lower and the upper bound of the dual (``umin``, ``umax``), and fixes a
    segment at ``vmin`` or ``vmax`` when one of them goes out of ``[-lam, lam]``.
    Segments get exactly equal values."""
    n = y.shape[0]
    if n == 0:
        return out
    if lam <= 0.0 or n == 1:
        for i in range(n):  # not ``out[:] = y``: numba compiled its shape-mismatch
            out[i] = y[i]   # message for it, 3.3 s of CPU on the first fused fit
        return out
    k = k0 = kminus = kplus = 0
    vmin = y[0] - lam
    vmax = y[0] + lam
    umin = lam
    umax = -lam
    while True:
        while k == n - 1:
            if umin < 0.0:
                while k0 <= kminus:
                    out[k0] = vmin
                    k0 += 1
                k = k0
                kminus = k
                vmin = y[k]
                umin = lam
                umax = vmin + umin - vmax
            elif umax > 0.0:
                while k0 <= kplus:
                    out[k0] = vmax
                    k0 += 1
                k = k0
                kplus = k
                vmax = y[k]
                umax = -lam
                umin = vmax + umax - vmin
            else:
                vmin += umin / (k - k0 + 1)
                while k0 <= k:
                    out[k0] = vmin
                    k0 += 1
                return out
        umin += y[k + 1] - vmin
        if umin < -lam:
            while k0 <= kminus:
                out[k0] = vmin
                k0 += 1
            k = kminus = kplus = k0
            vmin = y[k]
            vmax = vmin + 2.0 * lam
            umin = lam
            umax = -lam
            continue
        umax += y[k + 1] - vmax
        if umax > lam:
            while k0 <= kplus:
                out[k0] = vmax
                k0 += 1
            k = kminus = kplus = k0
            vmax = y[k]
            vmin = vmax - 2.0 * lam
            umin = lam
            umax = -lam
            continue
        k += 1
        if umin >= lam:
            kminus = k
            vmin += (umin - lam) / (kminus - k0 + 1)
            umin = lam
        if umax <= -lam:
            kplus = k
            vmax += (umax + lam) / (kplus - k0 + 1)
            umax = -lam


@njit(cache=True, error_model="numpy")
def fused_sparse_group_prox_rows(V, t_fused, t_l1, t_l21):
    """Prox of ``t_l1 ||w||_1 + t_fused sum_k |w_{k+1} - w_k| + t_l21 ||w||_2`` on every
    row: total-variation prox, then soft-thresholding, then block soft-thresholding
    (exact in this order: each later operator scales or zeroes entries without
    changing the signs of the entries nor of their differences, on which the
    earlier terms' subdifferentials depend; Friedman et al. 2007, Zhou et al. 2012)."""
    U = np.empty_like(V)
    for j in range(V.shape[0]):
        tv1d_prox(V[j], t_fused, U[j])
        l1_row_prox(U[j], t_l1, False, U[j])
        l21_row_prox(U[j], t_l21, False, U[j])
    return U


@njit(cache=True, error_model="numpy")
def fused_segments_distance2(v, zero, starts, beta, a1, mixed):
    """``sum_k ||prox_{sigma_C_k}(v_k)||^2`` over the segments ``k`` (rows
    ``starts[k]:starts[k + 1]`` of ``v``: runs of fused neighbours) of the fused
    sparse group lasso's measure: the TV prox at ``beta`` on every segment, then
    soft-thresholding at ``a1`` where all its entries are zero (``zero``). A segment
    where only some are zero (equal up to round-off) is left out and flagged in
    ``mixed`` for the caller's exact (BVLS) distance."""
    total = 0.0
    buf = np.empty(v.shape[0])
    for k in range(starts.shape[0] - 1):
        s, e = starts[k], starts[k + 1]
        n_zero = 0
        for t in range(s, e):
            if zero[t]:
                n_zero += 1
        if a1 > 0.0 and 0 < n_zero < e - s:
            mixed[k] = True
            continue
        tv1d_prox(v[s:e], beta, buf[s:e])
        if a1 > 0.0 and n_zero == e - s:
            l1_row_prox(buf[s:e], a1, False, buf[s:e])
        for t in range(s, e):
            total += buf[t] * buf[t]
    return total
