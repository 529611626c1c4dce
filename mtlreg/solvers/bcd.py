"""Block coordinate descent for the squared loss in Gram form and row-separable penalties.

Each block is one row of ``W`` (a feature across all tasks; for the dirty model,
a row of ``B`` or of ``S``), updated by a proximal step with the block's own
curvature ``max_t (H_t)_jj`` -- or, for penalties separable over tasks (l1,
ridge), by exact coordinate minimisation with each task's curvature. Unlike
FISTA's single global step, this is insensitive to the scaling of the features,
which is what makes it fast on raw, badly scaled data such as School. The
intercepts are updated exactly after every sweep. Needs a datafit with per-task
Gram matrices (:class:`mtlreg.datafits.GramQuadratic`) and a penalty with a
``row_spec`` (all but the trace norm).

Stopping rule: the same optimality measure as :func:`mtlreg.solvers.fista`,
checked every ``check_every`` sweeps, recomputed from scratch at the end by the
datafit and penalty objects.
"""

import numpy as np

from ._bcd_kernels import bcd_gram
from .fista import result_at


def supports_bcd(datafit, penalty):
    return hasattr(datafit, "H") and hasattr(penalty, "row_spec")


def bcd(datafit, penalty, W0, b0, *, fit_intercept=True, tol=1e-4, max_iter=1000,
        gradient_scale=None, check_every=1, verbose=0):
    """Solve with compiled block coordinate descent; ``max_iter`` counts sweeps."""
    if not supports_bcd(datafit, penalty):
        raise ValueError(
            "solver='bcd' needs the squared loss in Gram form (moderate n_features) and a "
            "row-separable penalty; use solver='fista'."
        )
    V = np.array(W0, dtype=np.float64, order="C", copy=True)
    b = np.array(b0, dtype=np.float64, copy=True)
    d = datafit.layout.n_features
    kind, a1, a2, l2, positive = penalty.row_spec(V.shape[0])
    feat = np.arange(V.shape[0]) % d
    if gradient_scale is None:
        Z0 = datafit.linear_predictor(np.zeros((d, V.shape[1])), b)
        gradient_scale = float(np.max(np.abs(datafit.gradient(Z0)[0]), initial=0.0))
    tol_abs = tol * max(gradient_scale, np.finfo(float).tiny)
    n_epochs, kkt, _ = bcd_gram(
        datafit.H, datafit.r, V, feat, b, np.asarray(kind, dtype=np.int64),
        np.asarray(a1, dtype=np.float64), np.asarray(a2, dtype=np.float64), float(l2),
        bool(positive), int(fit_intercept), tol_abs, int(max_iter), int(check_every),
    )
    if verbose:
        print(f"[BCD] {n_epochs} sweeps, optimality {kkt:.3e} (tol {tol_abs:.3e})")
    return result_at(datafit, penalty, V, b, n_iter=n_epochs, tol_abs=tol_abs,
                     fit_intercept=fit_intercept)
