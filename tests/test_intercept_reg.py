"""Shrunk intercepts (``intercept_reg``, issue 25 item 1).

* every formulation x loss x layout against cvxpy: the objective of the docstrings
  plus ``intercept_reg / 2 sum_t lambda_t (b_t - b_bar)^2`` (``b_bar`` a variable),
  written here from the documented form, within 1e-7 relative (10x inside 1e-6);
* ``intercept_reg=0`` is today's fit exactly; a large one ties the intercepts;
* one-class tasks in classifiers; unseen tasks; Dask == in memory; the ``*CV`` twin
  tunes it; invalid values; the null model (``compute_alpha_max``).
"""

import warnings

import numpy as np
import pytest
from _cvx_family import _solve, cp, cvx_data_term, make_blocks
from sklearn.exceptions import ConvergenceWarning
from test_family import per_task_data, shared_data

import mtlreg

TIGHT = dict(tol=1e-10, max_iter=20000)
TW = [1.0, 2.0, 0.5]  # task weights lambda_t: the term is weighted by them too
ADJ = np.array([[0.0, 0.5, 0.0], [0.5, 0.0, 2.0], [0.0, 2.0, 0.0]])
EDGES = [(0, 1, 0.5), (1, 2, 2.0)]
CHAIN = np.diag([1.0, 1.0], 1) + np.diag([1.0, 1.0], -1)


def _laplacian(A):
    return np.diag(A.sum(axis=1)) - A


def _sq_root(L):
    lam, Q = np.linalg.eigh(L)
    return Q * np.sqrt(np.maximum(lam, 0.0))


def _l21_rows(U):
    return cp.sum(cp.norm(U, 2, axis=1))


# name: (class stem, estimator parameters (alpha as a fraction of alpha_max under "frac"),
#        number of parts, cvxpy penalty of the parts (from the docstrings))
def _pen_group_lasso(p, W):
    return p["alpha"] * _l21_rows(W)


def _pen_sgl(p, W):
    return p["alpha"] * (p["l1_ratio"] * cp.sum(cp.abs(W)) + (1 - p["l1_ratio"]) * _l21_rows(W))


def _pen_trace(p, W):
    return p["alpha"] * cp.normNuc(W)


def _pen_sparse_trace(p, W):
    return p["alpha"] * (p["l1_ratio"] * cp.sum(cp.abs(W))
                         + (1 - p["l1_ratio"]) * cp.normNuc(W))


def _pen_mean(p, W):
    T = W.shape[1]
    P = np.eye(T) - np.ones((T, T)) / T
    return 0.5 * p["alpha"] * cp.sum_squares(W @ P) + 0.5 * p["l2_reg"] * cp.sum_squares(W)


def _pen_ind_l1(p, W):
    return p["alpha"] * cp.sum(cp.abs(W))


def _pen_ind_l2(p, W):
    return 0.5 * p["alpha"] * cp.sum_squares(W)


def _pen_dirty(p, B, S):
    return p["alpha"] * cp.sum(cp.max(cp.abs(B), axis=1)) + p["beta"] * cp.sum(cp.abs(S))


def _pen_graph(p, W):
    R = _sq_root(_laplacian(ADJ))
    return (0.5 * p["rho"] * cp.sum_squares(W @ R) + p["alpha"] * _l21_rows(W)
            + 0.5 * p["l2_reg"] * cp.sum_squares(W))


def _pen_temporal(p, W):
    R = _sq_root(_laplacian(CHAIN))
    return 0.5 * p["rho"] * cp.sum_squares(W @ R) + p["alpha"] * _l21_rows(W)


def _pen_fused(p, W):
    a, r = p["alpha"], p["l1_ratio"]
    return (a * r * cp.sum(cp.abs(W)) + a * (1 - r) * _l21_rows(W)
            + p["beta"] * cp.sum(cp.abs(W[:, 1:] - W[:, :-1])))


def _pen_robust(p, P, Q):
    return p["alpha"] * cp.normNuc(P) + p["beta"] * cp.sum(cp.norm(Q, 2, axis=0))


def _pen_rmtfl(p, P, Q):
    return p["alpha"] * _l21_rows(P) + p["beta"] * cp.sum(cp.norm(Q, 2, axis=0))


FORMULATIONS = {
    "group_lasso": ("GroupLasso", dict(frac=0.2), _pen_group_lasso),
    "sparse_group": ("SparseGroupLasso", dict(frac=0.2, l1_ratio=0.4), _pen_sgl),
    "trace": ("TraceNorm", dict(frac=0.3), _pen_trace),
    "sparse_trace": ("SparseTraceNorm", dict(frac=0.2, l1_ratio=0.3), _pen_sparse_trace),
    "mean": ("MeanRegularized", dict(alpha=0.5, l2_reg=0.01), _pen_mean),
    "ind_l1": ("Independent", dict(frac=0.2, penalty="l1"), _pen_ind_l1),
    "ind_l2": ("Independent", dict(alpha=0.1, penalty="l2"), _pen_ind_l2),
    "dirty": ("Dirty", dict(frac=0.3, beta_frac=0.5), _pen_dirty),
    "graph": ("GraphRegularized", dict(frac=0.2, rho=0.5, l2_reg=0.01, sparsity="l21"),
              _pen_graph),
    "temporal": ("TemporalGroupLasso", dict(frac=0.2, rho=1.0), _pen_temporal),
    "fused": ("FusedGroupLasso", dict(frac=0.15, beta_frac=0.1, l1_ratio=0.4), _pen_fused),
    "robust": ("RobustMultiTask", dict(frac=0.3, beta_frac=0.8), _pen_robust),
    "rmtfl": ("RobustFeatureLearning", dict(frac=0.2, beta_frac=1.5), _pen_rmtfl),
    "clustered": ("Clustered", dict(alpha=0.05, eta=0.5, n_clusters=2), None),
}


def data(layout, loss, seed=0):
    """``X, y, sample_weight, estimator keywords, blocks`` with task weights ``TW``."""
    if layout == "shared":
        X, y = shared_data(loss, seed=seed)
        sw, F, task_ids, kw = None, X, None, {}
    else:
        X, y, F, task_ids = per_task_data(loss, seed=seed)
        sw = np.random.default_rng(seed + 100).uniform(0.3, 2.0, len(y))
        kw = {"task_column": 0}
    kw["task_weights"] = TW
    return X, y, sw, kw, make_blocks(F, y, task_ids=task_ids, sample_weight=sw,
                                     task_weights=TW)


def estimator(name, loss, kw, X, y, sw, s, **extra):
    stem, params, _ = FORMULATIONS[name]
    cls = getattr(mtlreg, stem + ("Regressor" if loss == "squared" else "Classifier"))
    p = {k: v for k, v in params.items() if k not in ("frac", "beta_frac")}
    if name == "graph":
        per_task = "task_column" in kw
        p.update(graph=EDGES if per_task else ADJ,
                 graph_format="edges" if per_task else "adjacency")
    if name == "clustered" and loss == "logistic":
        p["alpha"] = 0.02
    est = cls(**p, **kw, intercept_reg=s, **extra)
    if "frac" in params:
        amax = est.compute_alpha_max(X, y, sample_weight=sw)
        est.set_params(alpha=params["frac"] * amax)
        if "beta_frac" in params:
            est.set_params(beta=params["beta_frac"] * (
                amax if name == "fused" else est.alpha))
    return est


def cvx_reference(name, est, blocks, loss, s):
    """Solve the documented objective with cvxpy; returns ``(value at the cvxpy point,
    value at our solution)``, both evaluated from the same cvxpy expression."""
    d, T = blocks[0].X.shape[1], len(blocks)
    b, b_bar = cp.Variable(T), cp.Variable()
    lam = np.asarray(TW)
    term = 0.5 * s * cp.sum(cp.multiply(lam, cp.square(b - b_bar)))
    p = est.get_params()
    if name == "clustered":
        W, M = cp.Variable((d, T)), cp.Variable((T, T), symmetric=True)
        c = p["alpha"] * p["eta"] * (1 + p["eta"])
        pen = c * cp.matrix_frac(W.T, p["eta"] * np.eye(T) + M)
        cons = [M >> 0, np.eye(T) - M >> 0, cp.trace(M) == p["n_clusters"]]
        parts, ours = [W], [est.coef_.T]
    elif name in ("dirty", "robust", "rmtfl"):
        P, Q = cp.Variable((d, T)), cp.Variable((d, T))
        W, pen, cons = P + Q, FORMULATIONS[name][2](p, P, Q), []
        first = {"dirty": "coef_shared_", "robust": "coef_lowrank_",
                 "rmtfl": "coef_shared_"}[name]
        second = "coef_specific_" if name == "dirty" else "coef_outlier_"
        parts, ours = [P, Q], [getattr(est, first).T, getattr(est, second).T]
    else:
        W = cp.Variable((d, T))
        pen, cons = FORMULATIONS[name][2](p, W), []
        parts, ours = [W], [est.coef_.T]
    expr = cvx_data_term(blocks, W, b, loss) + pen + term
    _solve(cp.Problem(cp.Minimize(expr), cons))
    if name == "clustered":  # the inner minimum over M, exactly, at each point
        ref = _at_best_m(expr, M, cons)
    else:
        ref = float(expr.value)
    for var, value in zip(parts, ours):
        var.value = value
    b.value = est.intercept_
    b_bar.value = est.shared_intercept_
    ours_value = _at_best_m(expr, M, cons) if name == "clustered" else float(expr.value)
    return ref, ours_value


def _at_best_m(expr, M, cons):
    """``expr`` minimised over ``M`` alone (the other variables at their values)."""
    fixed = {v: v.value for v in expr.variables() if v is not M}
    sub = cp.Problem(cp.Minimize(expr), cons + [v == val for v, val in fixed.items()])
    _solve(sub)
    return float(expr.value)


@pytest.mark.parametrize("layout", ["shared", "per_task"])
@pytest.mark.parametrize("loss", ["squared", "logistic"])
@pytest.mark.parametrize("name", list(FORMULATIONS))
def test_matches_cvxpy(name, loss, layout):
    X, y, sw, kw, blocks = data(layout, loss)
    s = 0.7
    est = estimator(name, loss, kw, X, y, sw, s, **TIGHT)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        est.fit(X, y, sample_weight=sw)
    ref, ours = cvx_reference(name, est, blocks, loss, s)
    assert abs(ours - ref) <= 1e-7 * abs(ref)
    assert est.objective_ == pytest.approx(ours, rel=1e-7)
    # b_bar is the lambda-weighted mean of the intercepts (its minimiser), and the
    # intercepts are pulled toward it: not all equal, not free
    np.testing.assert_allclose(est.shared_intercept_,
                               np.sum(np.asarray(TW) * est.intercept_) / np.sum(TW))
    assert np.ptp(est.intercept_) > 1e-3
    assert np.abs(est.coef_).max() > 1e-3
