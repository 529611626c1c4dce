"""ADMM with exact per-task solves, for the squared loss in Gram form.

The squared data term of task ``t`` is ``v^T H_t v / 2 - r_t^T v`` with
``v = [w_t; b_t]`` (:class:`mtlreg.datafits.GramQuadratic`). The intercept is
unpenalised, so it is eliminated exactly (Schur complement):

    H~_t = H_ww - h h^T / h_bb,   r~_t = r_w - h r_b / h_bb,   b_t = (r_b - h^T w_t) / h_bb.

ADMM then splits ``min_W sum_t f_t(w_t) + P(W)`` as ``W = Z``:

    W  <- argmin f(W) + rho/2 ||W - Z + U||^2     (per task: (H~_t + rho I)^{-1}, formed
                                                   again when rho changes)
    Z  <- prox_{P / rho}(W + U)
    U  <- U + W - Z

with ``rho`` one penalty parameter per feature for row-separable penalties (the
metric of ``||W - Z + U||`` is then diagonal: a preconditioning that makes badly
scaled features cheap, see ``_initial_rho``), scaled as a whole by spectral
penalty selection (adaptive ADMM, Xu, Figueiredo & Goldstein 2017) at most
``MAX_RHO_CHANGES`` times, so that ADMM provably converges (a fixed ``rho`` from
the last change on; He, Yang & Wang 2000), see :mod:`._admm_schedule`.
(Over-relaxation, tried with a = 1.5, was 3-10 times slower on School.)
Without an intercept the per-task Gram matrices are not centred: the direction of
the mean of the features carries a large eigenvalue, and School's school-level
features (constant within a task) leave many zero ones, so the problem is worse
conditioned (median over tasks of the largest / smallest positive eigenvalue in the
metric of ``rho``: about 1 100 against 66 with the intercept eliminated). That is the
problem, not the schedule: on the standardised group lasso no fixed ``rho`` (initial
value times 0.1 ... 30) needs fewer than 790 iterations to ``tol=1e-8`` without
intercept, against 100 with one.
The iterates are extrapolated by safeguarded Anderson acceleration
(:mod:`mtlreg.utils._anderson`, on the state ``(Z, U)`` in the metric of ``rho``,
every ``check_every`` steps from iteration ``ANDERSON_START`` on, its memory cleared at
every change of ``rho``; not in the consensus split). On School, iterations without
and with it: group lasso without intercept at ``tol=1e-8`` 185 -> 145, sparse group
lasso 415 -> 250, fused 490 -> 380, robust multi-task learning at ``tol=1e-6``
1 295 -> 425, MALSAR's dirty setting at ``tol=1e-5`` / ``1e-6`` 955 / 2 375 -> 670 /
1 655 (at the default ``tol=1e-4``: 200 -> 305, the one case measured worse).
Each iteration solves every task exactly, so, unlike a gradient method with one
global step, its speed hardly depends on how badly the features are scaled
(School's raw features: standard deviations from 0.07 to 15).

The iterations run compiled (:mod:`._admm_kernels`) for row-separable penalties
(the fused sparse group lasso too, its rows along the chain of tasks:
:func:`._admm_rows.admm_fused`), the trace norm, and the dirty model ``W = B + S`` -- there ``P(W)`` is the infimal
convolution ``min_{B+S=W} block(B) + beta ||S||_1``, whose prox is computed row by
row *together with* its exact split into ``B`` and ``S``, so the coupling of the two
parts costs nothing (block coordinate descent on ``[B; S]`` needs thousands of
sweeps on badly scaled features). The l1 + trace norm (:class:`SparseTraceNorm`),
whose prox has no closed form, starts with a consensus split ``W = Z1 = Z2``
(soft-thresholding and singular value thresholding as z-steps, one shift ``2 rho``
in the per-task solves, :mod:`._admm_sparse_trace`), measured at the exact prox of
``W + (U1 + U2) / 2``; when that split stalls (its residual estimate not halved in
``STALL`` iterations, a failed exact check, or ``SWITCH_AFTER`` iterations) it goes
on as below with the exact prox of the sum (same matrices, ``rho`` doubled). The
graph penalty with l1 runs the same split (the graph's prox in its eigenbasis as
second z-step); its sum has no cheap exact prox, so when its exact measure does not
halve in ``HANDOVER_WINDOW`` iterations FISTA, whose gradient step takes the smooth
graph term whole, goes on from its point. The
other two-part models (robust multi-task learning, rMTFL: ``W = P + Q`` with a
penalty separable in ``P`` and ``Q`` but no row-wise infimal convolution) run on the
stacked ``X = [P, Q]`` ("parts" mode): with ``A = Z - U`` the X-step
``min f(p + q) + rho/2 (||p - a||^2 + ||q - c||^2)`` splits exactly in ``s = p + q``,
a per-task solve with ``rho / 2``, and ``p - q = a - c``; then each part is proxed on
its own. Any other penalty works too, through its ``prox`` method. Stopping rule: the optimality measure of
:mod:`mtlreg.solvers.fista` at ``Z`` (the iterate the prox made exactly sparse /
low-rank), checked every ``check_every`` iterations (first through a cheap upper
bound, see ``kkt_bound``).
"""

import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning

from ..penalties import (
    L21,
    Dirty,
    FusedSparseGroup,
    GraphSmoothness,
    L1Inf,
    SparseTraceNorm,
    TraceNorm,
    TwoParts,
)
from ..penalties._composite import ColumnL21, WithRidge
from ..utils._anderson import Anderson
from . import _admm_kernels as K
from . import _admm_sparse_trace as ST
from ._admm_rows import admm_fused, admm_parts_l21, rows_stepper
from ._admm_schedule import Balancing, RhoSchedule, mean_curvature
from .fista import fista, result_at


def _unwrap(penalty):
    """(penalty without its ridge, l2_reg)."""
    if isinstance(penalty, WithRidge):
        return penalty.penalty, penalty.l2_reg
    return penalty, 0.0


def _mode(penalty):
    base, l2 = _unwrap(penalty)
    if isinstance(base, Dirty):
        if l2 > 0 or base.specific.positive or _block_kind(base) is None:
            return None
        return "dirty"
    if isinstance(base, TraceNorm):
        return "trace"
    if isinstance(base, SparseTraceNorm) or (
            isinstance(base, GraphSmoothness) and base.forward_backward_split() is not None):
        return "consensus"
    if isinstance(base, GraphSmoothness):  # with l2,1 or no sparse part: row proxes
        return "graph_rows"
    if isinstance(base, TwoParts):
        return "parts"
    if isinstance(base, FusedSparseGroup):
        return "fused"
    if hasattr(penalty, "row_spec"):
        return "rows"
    return "python"


def _block_kind(dirty):
    if isinstance(dirty.block, L21) and not dirty.block.positive:
        return "l21"
    if isinstance(dirty.block, L1Inf) and not dirty.block.positive:
        return "l1inf"
    return None


def supports_admm(datafit, penalty):
    gram = getattr(datafit, "datafit", datafit)
    if not hasattr(gram, "H"):
        return False
    if hasattr(datafit, "datafit") != isinstance(_unwrap(penalty)[0], (Dirty, TwoParts)):
        return False  # the stacked variable goes with the two-part penalties only
    return _mode(penalty) is not None


def _reduced_gram(datafit):
    H, r = datafit.H, datafit.r
    d = datafit.layout.n_features
    if not datafit.fit_intercept:
        return np.ascontiguousarray(H), np.ascontiguousarray(r), None
    h, hbb = H[:, :d, d], H[:, d, d]
    hbb = np.where(hbb > 0, hbb, 1.0)  # a task of weight 0 has H_t = 0: any b_t will do
    Ht = H[:, :d, :d] - h[:, :, None] * h[:, None, :] / hbb[:, None, None]
    rt = r[:, :d] - h * (r[:, d] / hbb)[:, None]
    return np.ascontiguousarray(Ht), np.ascontiguousarray(rt), (h, hbb, r[:, d])


def _inverter(Ht, M):
    """``invert(rho)`` fills ``M[t] = (Ht[t] + diag(rho))^{-1}``; when every task has the
    same system (a shared design without missing labels and equal task weights) one
    factorisation serves all tasks (``k^3`` work instead of ``T k^3``)."""
    same = Ht.shape[0] > 1 and np.array_equal(Ht, np.broadcast_to(Ht[0], Ht.shape))

    def invert(rho):
        if same:
            K.shifted_inverse(Ht[:1], rho, M[:1])
            M[1:] = M[0]
        else:
            K.shifted_inverse(Ht, rho, M)

    return invert


class _QuietProx:
    """The penalty with its ``prox`` silent about its inner tolerance: after the
    consensus split, ADMM goes on with the exact prox of the sum, computed by an
    inner iteration warm-started from the previous call; an inner run that stops
    short of its ``1e-13`` tolerance only slows the outer iterations, whose own
    exact optimality measure decides convergence (and warns if it is not reached)."""

    def __init__(self, penalty):
        self.penalty = penalty

    def prox(self, V, step):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            return self.penalty.prox(V, step)


def _svt(V, thr):
    if thr <= 0:
        return V
    Z = np.empty_like(V)
    K.singular_value_threshold(V, thr, Z)
    return Z


class _Steps:
    """``n`` ADMM steps for one kind of penalty; ``variable()`` is the solver variable
    (``Z.T``, or ``[B; S]`` for the dirty model) and ``gradient(G)`` its gradient."""

    def __init__(self, penalty, mode, W0, d):
        self.penalty, self.mode = penalty, mode
        W0 = np.asarray(W0, dtype=np.float64)
        if mode == "dirty":
            base = _unwrap(penalty)[0]
            self.B = np.ascontiguousarray(W0[:d].T)
            self.S = np.ascontiguousarray(W0[d:].T)
            self.Z = self.B + self.S
            self.l21 = _block_kind(base) == "l21"
            self.alpha, self.beta = base.block.alpha, base.specific.alpha
            self.theta = np.zeros(d)
        else:
            self.Z = np.ascontiguousarray(W0.T)
        if mode == "rows":
            kind, a1, a2, l2, positive = penalty.row_spec(d)
            self.rows = rows_stepper(np.asarray(kind, dtype=np.int64),
                                     np.asarray(a1, dtype=np.float64),
                                     np.asarray(a2, dtype=np.float64), float(l2), bool(positive),
                                     self.Z.shape)
        elif mode == "trace":
            base, self.l2 = _unwrap(penalty)
            self.alpha = base.alpha
        elif mode == "fused":
            base, l2 = _unwrap(penalty)
            self.spec = (base.beta, *base._alphas, l2)
        elif mode == "graph_rows":
            self.base, self.l2 = _unwrap(penalty)
        elif mode == "parts":  # compiled for rMTFL's two l2,1 parts
            base, l2 = _unwrap(penalty)
            rows, cols = base.first, base.second
            self.l21_parts = ((rows.alpha, cols.alpha, l2) if type(rows) is L21
                              and not rows.positive and type(cols) is ColumnL21 else None)
            # robust MTL: singular value thresholding through the small Gram matrix
            self.trace_parts = ((rows.alpha, cols, l2) if type(rows) is TraceNorm
                                and type(cols) is ColumnL21 else None)
        elif mode == "consensus":  # l1 + trace norm, graph + l1; the ridge is in the data term
            self.base = _unwrap(penalty)[0]
            a1, second, exact = self.base.consensus_split()
            self.a1, self.exact = a1, exact
            if second is None:  # the l1 + trace norm: singular value thresholding
                a_star = self.base._alphas[1]
                self.second = lambda V, step: _svt(V, step * a_star)
            else:
                self.second = lambda V, step: second(V.T, step).T  # task-major
            self.Z1, self.Z2 = self.Z.copy(), self.Z.copy()
            self.fresh = True  # whether Z is the measured point of the current iterates

    def run(self, M, rt, U, W, rho, n):
        Z = self.Z
        if self.mode == "consensus":
            self.fresh = False
            return ST.admm_sparse_trace(M, rt, self.Z1, self.Z2, U[0], U[1], W, rho, n,
                                        self.a1, self.second)
        if self.mode == "rows":
            return self.rows(M, rt, Z, U, W, rho, n)
        if self.mode == "fused":
            return admm_fused(M, rt, Z, U, W, rho, n, *self.spec)
        if self.mode == "graph_rows":
            return self._run_graph_rows(M, rt, U, W, rho, n)
        if self.mode == "parts":
            return self._run_parts(M, rt, U, W, rho, n)
        if self.mode == "dirty":
            return K.admm_dirty(M, rt, Z, U, W, rho, n, self.l21, self.alpha, self.beta,
                                self.B, self.S, self.theta)
        if self.mode == "trace":
            return K.admm_trace(M, rt, Z, U, W, rho, n, self.alpha, self.l2)
        for _ in range(n):  # any other penalty, through its prox (one rho for all rows)
            K._solve_tasks(M, rt, Z, U, rho, W, np.empty(rt.shape[1]))
            Z_old = Z.copy()
            Z[:] = self.penalty.prox((W + U).T, 1.0 / rho[0]).T
            U += W - Z
        return np.linalg.norm(W - Z), rho[0] * np.linalg.norm(Z - Z_old)

    def _run_parts(self, M, rt, U, W, rho, n):
        """Steps on the stacked ``X = [P, Q]`` (rows: tasks), ``W = P + Q``. With
        ``A = Z - U`` the X-step ``min f(p + q) + rho/2 (||p - a||^2 + ||q - c||^2)``
        splits in ``s = p + q`` and ``e = p - q``: ``(H~ + rho/2 I) s = r~ + rho/2
        (a + c)`` (the inverses ``M`` are built with ``rho / 2``) and ``e = a - c``."""
        if self.l21_parts is not None:
            return admm_parts_l21(M, rt, self.Z, U, W, rho, n, *self.l21_parts)
        Z, d = self.Z, rt.shape[1]
        s, zero = np.empty_like(rt), np.zeros_like(rt)
        r = rho[:d]
        for _ in range(n):
            A = Z - U
            a, c = A[:, :d], A[:, d:]
            K._solve_tasks(M, rt, np.ascontiguousarray(a + c), zero, 0.5 * r, s,
                           np.empty(d))
            W[:, :d] = 0.5 * (s + (a - c))
            W[:, d:] = 0.5 * (s - (a - c))
            Z_old = Z.copy()
            if self.trace_parts is None:
                Z[:] = self.penalty.prox((W + U).T, 1.0 / r[0]).T
            else:
                self._prox_trace_parts(W + U, r[0], Z)
            U += W - Z
        return np.linalg.norm(W - Z), r[0] * np.linalg.norm(Z - Z_old)

    def _prox_trace_parts(self, V, rho, Z):
        """``Z = prox_{(P + l2/2 ||.||^2) / rho}(V)`` for the trace norm on ``P`` and the
        column l2,1 on ``Q`` (task-major: a task is a row of ``Q``), the ridge's
        shrinkage ``1 / s`` first (``s = 1 + l2 / rho``), then each at ``1 / (rho s)``."""
        a_trace, cols, l2 = self.trace_parts
        shrink = 1.0 + l2 / rho
        step = 1.0 / (rho * shrink)
        d = V.shape[1] // 2
        V = V / shrink
        Z[:, :d] = _svt(np.ascontiguousarray(V[:, :d]), step * a_trace)
        Z[:, d:] = cols.prox(V[:, d:].T, step).T

    def _run_graph_rows(self, M, rt, U, W, rho, n):
        """Steps for the graph penalty with its l2,1 or no sparse part: the per-row
        prox in the graph's eigenbasis, row ``j`` at its own step ``1 / rho_j`` (with
        an outer ridge: ``prox_{(p + l2/2 ||.||^2) / rho}(v) = prox_{p / (rho s)}(v / s)``,
        ``s = 1 + l2 / rho``)."""
        Z = self.Z
        shrink = 1.0 + self.l2 / rho
        steps = 1.0 / (rho * shrink)
        x = np.empty(rt.shape[1])
        for _ in range(n):
            K._solve_tasks(M, rt, Z, U, rho, W, x)
            Z_old = Z.copy()
            Z[:] = self.base.prox_rows(((W + U) / shrink).T, steps).T
            U += W - Z
        E = Z - Z_old
        return np.linalg.norm(W - Z), float(np.sqrt(((rho * E) ** 2).sum()))

    def combined(self):
        """The coefficients ``W`` (rows: tasks) of the current ``Z``."""
        if self.mode == "parts":
            d = self.Z.shape[1] // 2
            return np.ascontiguousarray(self.Z[:, :d] + self.Z[:, d:])
        return self.Z

    def refresh(self, W, U, rho):
        """For the consensus split, ``Z`` <- the measured point of the iterates."""
        if self.mode == "consensus" and not self.fresh:
            self.Z = (self.Z1.copy() if self.exact is None else
                      ST.measured_point(self.exact, W, U[0], U[1], rho[0]))
            self.fresh = True

    def variable(self):
        if self.mode == "dirty":
            return np.ascontiguousarray(np.vstack([self.B.T, self.S.T]))
        return np.ascontiguousarray(self.Z.T)

    def gradient(self, G):
        GT = np.ascontiguousarray(G.T)
        return np.vstack([GT, GT]) if self.mode in ("dirty", "parts") else GT


def _initial_rho(Ht, mode):
    """One penalty parameter per feature for the row-separable modes,
    ``rho_j = m (c_j / m)^p`` with ``c_j`` the mean curvature of feature ``j`` over the
    tasks (diagonal of ``H~_t``), ``m`` the mean of the ``c_j`` (mean eigenvalue) and
    ``p = RHO_EXPONENT``; one ``rho = m`` where the prox needs a single one.

    ``p = 1`` amounts to ADMM on standardised features, ``p = 0`` to one global rho.
    Measured on School (raw and standardised features, group lasso, sparse group
    lasso and both dirty models, ADMM iterations to tol 1e-8): ``p = 1/2`` was best
    or close to it everywhere (raw: 80 / 265 / 80 / 285 iterations, against 125 /
    930 / 125 / 495 with one rho and 215 / 305 / 215 / 285 with ``p = 1``)."""
    curv = np.einsum("tjj->j", Ht) / max(Ht.shape[0], 1)
    mean = mean_curvature(Ht)
    if mode in ("rows", "dirty", "fused", "graph_rows"):
        return mean * (np.where(curv > 1e-12 * mean, curv, mean) / mean) ** RHO_EXPONENT
    return np.full(Ht.shape[1], mean)


RHO_EXPONENT = 0.5
SWITCH_AFTER = 2000  # consensus iterations before the l1 + trace norm takes its exact prox
STALL = 100  # ... or earlier if its estimate did not halve in this many iterations
HANDOVER_WINDOW = 200  # graph + l1: FISTA takes over if the measure did not halve in this
# ``rho_scale`` (the scale of ``rho`` a previous solve ended at: proximal Newton's
# subproblems, whose Hessians change little from one step to the next) starts these
# modes' spectral schedule there. Inner ADMM iterations of the School classifiers
# (raw, defaults, tol 1e-4 / 1e-6): dirty 530 / 5 110 -> 415 / 1 215, group lasso
# 145 / 310 -> 115 / 230, sparse group 140 / 225 -> 125 / 170, trace norm
# 325 / 395 -> 290 / 355, fused 50 / 75 -> 45 / 75; the graph modes (temporal,
# graph-regularised) took more (55 / 80 -> 55 / 95, 55 / 70 -> 70 / 85) and start
# from their own rho.
WARM_RHO_MODES = ("rows", "dirty", "trace", "fused")
# Anderson acceleration of the iterates (:func:`_extrapolate`) in the modes whose state is
# (Z, U); not the consensus split (state (Z1, Z2, U1, U2), a hand-over and a switch of
# mode). Tried there, on School: graph + l1 at tol 1e-6 610 -> 400 iterations, but at
# the benchmark's setting (alpha 0.1, l2_reg 0.01) 200 -> 250, and the slow sparse +
# trace fits 9.4 / 9.1 -> 8.6 / 11.6 s: left out
ANDERSON = True
ANDERSON_MEMORY = 5
# ... from this iteration on: an extrapolation costs 0.1-0.3 ms at School's size (a few
# passes over the memory), and the fits that stop earlier gained no iteration from it
# (group lasso, standardised, alpha_max/10, tol 1e-5: 65 -> 60 iterations, 16.4 ->
# 21.0 ms when it started at once)
ANDERSON_START = 50
ANDERSON_MODES = ("rows", "dirty", "trace", "fused", "graph_rows", "parts", "python")


def admm(datafit, penalty, W0, b0, *, fit_intercept=True, tol=1e-4, max_iter=1000,
         gradient_scale=None, check_every=5, verbose=0, rho_scale=None):
    """Solve with ADMM; see the module docstring. ``max_iter`` counts ADMM iterations.
    ``rho_scale``: where the spectral schedule starts (the ``rho_scale`` of an earlier
    result on a nearby problem, see ``WARM_RHO_MODES``); the result carries its own."""
    if not supports_admm(datafit, penalty):
        raise ValueError(
            "solver='admm' needs the squared loss in Gram form (moderate n_features) and "
            "a penalty on W (the dirty model: without l2_reg or positive=True); use "
            "solver='bcd' or solver='fista'."
        )
    gram = getattr(datafit, "datafit", datafit)
    Ht, rt, elim = _reduced_gram(gram)
    T, d = rt.shape
    if gradient_scale is None:
        gradient_scale = float(np.max(np.abs(rt), initial=0.0))
    tol_abs = tol * max(gradient_scale, np.finfo(float).tiny)
    mode = _mode(penalty)
    steps = _Steps(penalty, mode, W0, d)
    measure, shift = penalty, 1.0
    if mode == "consensus":  # consensus split (W = Z1 = Z2), ridge in the data term
        measure, l2 = _unwrap(penalty)
        shift = 2.0
        if l2 > 0:
            Ht = Ht + l2 * np.eye(d)
        top = float(np.linalg.eigvalsh(Ht).max(initial=0.0)) if T and d else 0.0
    parts = mode == "parts"
    if parts:  # the X-step on [P, Q] solves with rho / 2 (see Steps._run_parts)
        shift = 0.5

    G = np.empty((T, d))

    def kkt():
        steps.refresh(W, U, rho)
        K.batched_gradient(Ht, rt, steps.combined(), G)
        return measure.subdiff_distance(steps.variable(), steps.gradient(G)), G

    def kkt_bound():
        """An upper bound of the optimality measure, at the cost of one gradient:
        ``rho * U`` is a subgradient of the penalty at ``Z`` (the prox's optimality
        condition), so the distance from ``-G`` to the subdifferential is at most
        ``||G + rho U||`` -- per row for row penalties and the dirty model (their
        measures are maxima of row distances), Frobenius for the trace norm and for
        any other penalty (through its prox, one scalar ``rho``: every measure of
        the family is at most the Frobenius distance). For the consensus split an
        estimate, not a bound (:func:`._admm_sparse_trace.residual_estimate`)."""
        if mode == "consensus":
            K.batched_gradient(Ht, rt, W, G)
            return ST.residual_estimate(G, U[0], U[1], W, steps.Z1, steps.Z2, rho[0], top)
        K.batched_gradient(Ht, rt, steps.combined(), G)
        E = (np.hstack([G, G]) + np.concatenate([rho, rho]) * U if parts else G + rho * U)
        if mode in ("trace", "python", "parts"):
            return float(np.sqrt((E * E).sum()))
        return float(np.sqrt((E * E).sum(axis=0).max(initial=0.0)))

    rho = _initial_rho(Ht, mode)
    if mode == "consensus" and steps.exact is None:
        # a smooth second part (the graph term): its curvature adds to the data term's.
        # Measured on School (graph + l1, alpha 0.01, raw / standardised x rho 3 / 30,
        # iterations to tol 1e-4): x10 gives 320 / 555 / 215 / 385, x1 340 / 1075 /
        # 355 / 1130 (x3: 290 / 610 / 195 / 545; x0.1: 890 / 425 / 630 / 815)
        rho = 10.0 * rho
    if rho_scale is not None and mode in WARM_RHO_MODES:
        rho = rho * (rho_scale / rho.mean())  # this problem's profile, a previous scale
    M = np.empty_like(Ht)
    invert = _inverter(Ht, M)
    invert(shift * rho)
    W = np.ascontiguousarray(steps.Z.copy())
    U = None
    crit, G = kkt()
    if mode == "consensus":
        U = np.stack(ST.initial_duals(steps.Z, G, rho[0], steps.a1))
    else:  # the dual at a solution, so that a warm start is a fixed point
        U = -(np.hstack([G, G]) / np.concatenate([rho, rho]) if parts else G / rho)
    n_iter = 0
    converged = crit <= tol_abs
    # the exact measure (SVDs for the trace norm, copies of the stacked variable for
    # the dirty model, a prox for the consensus split: more than the iterations
    # themselves) only near convergence
    exact_below = 10.0 * tol_abs
    stall_at, last = STALL, np.inf
    if mode in ("python", "parts"):
        schedule = Balancing(10.0 ** round(0.5 * np.log10(mean_curvature(Ht))))
    else:
        schedule = RhoSchedule(rho)
    GW = np.empty((T, d))
    exact_seen = []  # graph + l1: (iteration, exact measure), for the hand-over to FISTA
    hand_over = False
    accelerate = Anderson(ANDERSON_MEMORY) if ANDERSON and mode in ANDERSON_MODES else None
    while not converged and n_iter < max_iter:
        n = min(check_every, max_iter - n_iter)
        if accelerate is not None and n_iter + n >= ANDERSON_START:
            Z0, U0 = steps.Z.copy(), U.copy()  # the state this block starts from
        primal, dual = steps.run(M, rt, U, W, rho, n)
        n_iter += n
        crit = kkt_bound()
        if mode == "consensus" and steps.exact is None and (
                crit <= exact_below or n_iter % (5 * check_every) == 0):
            # the graph + l1: its estimate could be 200 times above the measure at the
            # exactly sparse Z1 (School raw, rho 10, alpha 0.01: 0.7 against 0.003 after
            # 1 000 iterations, run to max_iter), which is cheap enough (a product by
            # the T x T graph matrix) to take every 5th check
            crit = kkt()[0]
            hand_over = _stalled(exact_seen, n_iter, crit) and crit > tol_abs
            if hand_over:
                break
        if mode == "consensus":
            # the estimate is no bound: the exact measure decides; if it fails, or
            # after SWITCH_AFTER iterations, ADMM goes on with the exact prox of P
            if crit <= exact_below and steps.exact is not None:
                crit = kkt()[0]
            stalled = False
            if n_iter >= stall_at:  # less than halved over the last STALL iterations
                stalled, stall_at, last = crit > 0.5 * last, n_iter + STALL, crit
            if steps.exact is not None and crit > tol_abs and (
                    crit <= exact_below or stalled or n_iter >= SWITCH_AFTER):
                steps.refresh(W, U, rho)
                steps.mode, steps.penalty, mode = "python", _QuietProx(measure), "python"
                U, rho, shift = 0.5 * (U[0] + U[1]), 2.0 * rho, 1.0  # the same M
                schedule = Balancing(10.0 ** round(0.5 * np.log10(mean_curvature(Ht))))
                if verbose:
                    print(f"[ADMM] iter {n_iter:5d}  switch to the prox of the sum")
                continue
        elif tol_abs < crit <= exact_below:
            crit = kkt()[0]
        converged = crit <= tol_abs
        if verbose:
            print(f"[ADMM] iter {n_iter:5d}  optimality <= {crit:.3e}  mean rho {rho.mean():.3e}")
        if converged:
            break
        if isinstance(schedule, Balancing):
            factor = schedule.factor(primal, dual)
        elif schedule.due(n_iter):
            K.batched_gradient(Ht, rt, W, GW)
            if mode == "consensus":
                Zm, lam = 0.5 * (steps.Z1 + steps.Z2), rho * (U[0] + U[1])
            else:
                Zm, lam = steps.Z, rho * U
            factor = schedule.factor(n_iter, W, GW, Zm, lam)
        else:
            factor = 1.0
        if factor != 1.0:
            rho *= factor
            U /= factor  # the same dual rho U
            invert(shift * rho)
            if accelerate is not None:
                accelerate.reset_history()  # another map
        elif accelerate is not None and ANDERSON_START <= n_iter < max_iter:
            _extrapolate(accelerate, Z0, U0, steps.Z, U, rho)
    steps.refresh(W, U, rho)
    V = steps.variable()
    if elim is not None:
        h, hbb, rb = elim
        b = (rb - np.einsum("tj,tj->t", h, steps.combined())) / hbb
    else:
        b = np.zeros(T)
    if hand_over:
        if verbose:
            print(f"[ADMM] iter {n_iter:5d}  stalled: FISTA goes on from here")
        res = fista(datafit, penalty, V, b, fit_intercept=fit_intercept, tol=tol,
                    max_iter=max_iter - n_iter, gradient_scale=gradient_scale,
                    verbose=verbose)
        res.n_iter += n_iter
        return res
    res = result_at(datafit, penalty, V, b, n_iter=n_iter, tol_abs=tol_abs,
                    fit_intercept=fit_intercept)
    res.rho_scale = float(rho.mean())
    if accelerate is not None and verbose:
        print(f"[ADMM] Anderson: {accelerate.n_accepted} accepted, "
              f"{accelerate.n_rejected} rejected")
    return res


def _extrapolate(accelerate, Z0, U0, Z, U, rho):
    """ADMM as the fixed-point iteration ``(Z0, U0) -> (Z, U)`` of a block of steps (the
    W-step reads ``Z`` and ``U`` only), in the metric where it is non-expansive:
    ``sqrt(rho)`` per feature on ``Z`` and on the scaled dual ``U``. ``Z, U`` get the
    state to go on from (:class:`mtlreg.utils._anderson.Anderson`); the stopping rule
    is only ever checked on a state the steps produced."""
    w = np.sqrt(rho)
    w = np.tile(w, Z.shape[1] // len(w))  # "parts": [P, Q] share rho
    x = np.concatenate(((Z0 * w).ravel(), (U0 * w).ravel()))
    g = np.concatenate(((Z * w).ravel(), (U * w).ravel()))
    new = accelerate.next_point(x, g)
    if new is not g:
        half = Z.size
        np.divide(new[:half].reshape(Z.shape), w, out=Z)
        np.divide(new[half:].reshape(U.shape), w, out=U)


def _stalled(seen, n_iter, crit):
    """Record the exact measure of the graph + l1 consensus split and say whether it
    did not halve over the last ``HANDOVER_WINDOW`` iterations. There the spectral
    schedule can settle on a ``rho`` about 100 times too small, and the split then
    crawls (School raw, alpha 0.01, graph rho 10, tol 1e-6: measure 3.4e-4 against
    4.4e-5 after 3 000 iterations, 1e-6 of it gained per 100); FISTA, whose gradient
    step takes the graph term whole, finishes from the split's point in 40-100
    iterations (from scratch: 2 810)."""
    seen.append((n_iter, crit))
    old = [c for k, c in seen if k <= n_iter - HANDOVER_WINDOW]
    return bool(old) and crit > 0.5 * old[-1]
