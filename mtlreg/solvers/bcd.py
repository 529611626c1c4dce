"""Block coordinate descent (BCD) for the squared loss and row-separable penalties.

Each block is one row of ``W`` (a feature across all tasks; for the dirty model,
a row of ``B`` or of ``S``). A block update is a proximal step with the block's
own curvature ``max_t h_jt`` -- or, for penalties separable over tasks (l1,
ridge), an exact coordinate minimisation with each task's curvature ``h_jt``.
Unlike FISTA's single global step, this adapts to the scale of every feature.
The intercepts are updated exactly after every sweep.

Two forms, chosen from the datafit:

* Gram form (:class:`mtlreg.datafits.GramQuadratic`, per-task ``H_t``): sweeps over
  all rows, an update costs ``O(T k)``.
* Dense shared design (:class:`mtlreg.datafits.Quadratic` on a shared layout):
  the weighted residual is kept up to date (an update costs ``O(n T)``), and the
  sweeps run on a *working set* of rows, the support plus the rows that violate
  optimality most, doubled until the whole problem is optimal (as in celer and
  skglm); the gradient over all features is computed once per outer iteration.
* Dense per-task design (:class:`mtlreg.datafits.Quadratic` on a per-task layout):
  the same working-set scheme with exact block minimisation and Anderson
  extrapolation, in :mod:`mtlreg.solvers._bcd_blocks`.

Stopping rule: the optimality measure of :mod:`mtlreg.solvers.fista`, recomputed
from scratch by the datafit and penalty objects on the returned point.
"""

import numpy as np
import scipy.sparse as sp

from ..datafits import Quadratic
from ._bcd_blocks import bcd_blocks, supports_blocks
from ._bcd_kernels import L1INF_KIND, bcd_design, bcd_gram, row_scores
from .fista import result_at


def _base(datafit):
    """The datafit on W (the dirty model wraps it to act on [B; S])."""
    return getattr(datafit, "datafit", datafit)


def supports_bcd(datafit, penalty):
    if not hasattr(penalty, "row_spec"):
        return False
    base = _base(datafit)
    if hasattr(base, "H"):
        return True
    if not isinstance(base, Quadratic) or sp.issparse(base.layout.X):
        return False
    return base.layout.layout == "shared" or supports_blocks(base)


def prefers_bcd(datafit, penalty):
    """Whether ``solver="auto"`` should take BCD where it applies. On the per-task
    layout (without Gram form) only for sparse rows (l1, l2,1, l1 + l2,1, l1,inf):
    its working sets need a sparse solution, and on ridge-like problems (no penalty
    or the mean penalty) coordinate descent is many times slower than FISTA."""
    base = _base(datafit)
    if hasattr(base, "H") or base.layout.layout != "blocks":
        return True
    n_rows = base.layout.n_features * (1 if base is datafit else 2)
    return bool(np.all(np.asarray(penalty.row_spec(n_rows)[0]) <= L1INF_KIND))


def bcd(datafit, penalty, W0, b0, *, fit_intercept=True, tol=1e-4, max_iter=1000,
        gradient_scale=None, check_every=1, verbose=0):
    """Solve with compiled block coordinate descent; ``max_iter`` counts sweeps."""
    if not supports_bcd(datafit, penalty):
        raise ValueError(
            "solver='bcd' needs the squared loss (in Gram form, or on a dense design) "
            "and a row-separable penalty (not the trace norm); use solver='fista'."
        )
    V = np.array(W0, dtype=np.float64, order="C", copy=True)
    b = np.array(b0, dtype=np.float64, copy=True)
    layout = datafit.layout
    d = layout.n_features
    spec = penalty.row_spec(V.shape[0])
    feat = np.arange(V.shape[0]) % d
    if gradient_scale is None:
        Z0 = datafit.linear_predictor(np.zeros_like(V), b)
        gradient_scale = float(np.max(np.abs(datafit.gradient(Z0)[0]), initial=0.0))
    tol_abs = tol * max(gradient_scale, np.finfo(float).tiny)
    kind, a1, a2, l2, positive = (np.asarray(spec[0], dtype=np.int64),
                                  np.asarray(spec[1], dtype=np.float64),
                                  np.asarray(spec[2], dtype=np.float64),
                                  float(spec[3]), bool(spec[4]))
    if hasattr(_base(datafit), "H"):
        n_sweeps, kkt, _ = bcd_gram(
            _base(datafit).H, _base(datafit).r, V, feat, b, kind, a1, a2, l2, positive,
            int(fit_intercept), tol_abs, int(max_iter), int(check_every),
        )
    elif layout.layout == "blocks":
        result = bcd_blocks(datafit, penalty, V, b, feat, kind, a1, a2, l2, positive,
                            fit_intercept, tol_abs, max_iter)
        if verbose:
            print(f"[BCD] {result.n_iter} sweeps, optimality {result.stop_crit:.3e} "
                  f"(tol {tol_abs:.3e})")
        return result
    else:
        n_sweeps, kkt = _bcd_working_sets(datafit, V, b, feat, kind, a1, a2, l2, positive,
                                          fit_intercept, tol_abs, max_iter)
    if verbose:
        print(f"[BCD] {n_sweeps} sweeps, optimality {kkt:.3e} (tol {tol_abs:.3e})")
    return result_at(datafit, penalty, V, b, n_iter=n_sweeps, tol_abs=tol_abs,
                     fit_intercept=fit_intercept)


def _bcd_working_sets(datafit, V, b, feat, kind, a1, a2, l2, positive, fit_intercept,
                      tol_abs, max_sweeps, inner_sweeps=5):
    """Working-set BCD on a dense shared design (V, b updated in place)."""
    layout = datafit.layout
    X = np.asfortranarray(layout.X, dtype=np.float64)
    mu = np.ascontiguousarray(layout.mu[0])
    C, Y = layout.c, layout.y
    D = np.ascontiguousarray(((X - mu) ** 2).T @ C)  # curvature of feature j in task t
    n_rows = V.shape[0]
    ws_size = min(n_rows, 16)
    n_sweeps = 0
    kkt = np.inf
    while n_sweeps < max_sweeps:
        R = C * (datafit.linear_predictor(V, b) - Y)  # exact, once per outer iteration
        G = X.T @ R - np.outer(mu, R.sum(axis=0))
        scores = row_scores(V, G, feat, kind, a1, a2, l2, positive)
        kkt = max(scores.max(initial=0.0),
                  float(np.abs(R.sum(axis=0)).max()) if fit_intercept else 0.0)
        if kkt <= tol_abs:
            break
        support = np.flatnonzero(np.any(V != 0, axis=1))
        ws_size = min(n_rows, max(ws_size, 2 * len(support)))
        ranked = np.argsort(-scores, kind="stable")[:ws_size]
        rows = np.unique(np.concatenate([support, ranked])).astype(np.int64)
        R = np.ascontiguousarray(R)
        target = max(0.3 * kkt, tol_abs)
        while n_sweeps < max_sweeps:
            bcd_design(X, mu, C, R, V, feat, rows, b, D, kind, a1, a2, l2, positive,
                       int(fit_intercept), inner_sweeps)
            n_sweeps += inner_sweeps
            feats = feat[rows]
            G_ws = X[:, feats].T @ R - np.outer(mu[feats], R.sum(axis=0))
            inner = row_scores(V[rows], G_ws, np.arange(len(rows)), kind[rows], a1[rows],
                               a2[rows], l2, positive).max(initial=0.0)
            if fit_intercept:
                inner = max(inner, float(np.abs(R.sum(axis=0)).max()))
            if inner <= target:
                break
        ws_size = min(n_rows, 2 * ws_size)
    return n_sweeps, kkt
