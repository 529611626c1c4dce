"""Working-set BCD on the per-task layout with a dense X (``mtlreg.solvers._bcd_blocks``).

The problems here have few rows per task and more features than the Gram form's
cost rule accepts (``make_datafit`` returns the plain :class:`Quadratic`), so both
``solver="bcd"`` and ``"auto"`` take the new path; checked first. Then: the optimum
against cvxpy (objective within 1e-6, the reported objective against an independent
numpy evaluation) and against FISTA at a tight tolerance, for every row kind, with
and without intercept, sample and task weights, ``positive`` and a ridge term.
"""

import warnings

import _cvx_family
import numpy as np
import pytest
from _cvx_family import Spec, cvx_solve, make_blocks, objective
from sklearn.exceptions import ConvergenceWarning

import mtlreg
from mtlreg.datafits import Quadratic
from mtlreg.solvers import bcd, fista, select_solver
from mtlreg.solvers._bcd_blocks import _group_solve

TIGHT = dict(tol=1e-10, max_iter=20_000)


def per_task(*, d=16, sizes=(12, 18, 15, 14), seed=0, n_informative=4, offset=1.0):
    """Interleaved tasks (rows not grouped by task), features with non-zero means."""
    rng = np.random.default_rng(seed)
    T = len(sizes)
    task = rng.permutation(np.repeat(np.arange(T), sizes))
    F = rng.standard_normal((len(task), d)) + offset * rng.standard_normal(d)
    W = np.zeros((d, T))
    W[rng.choice(d, n_informative, replace=False)] = rng.standard_normal((n_informative, T))
    y = np.einsum("ij,ji->i", F, W[:, task]) + rng.standard_normal(T)[task]
    y += 0.3 * rng.standard_normal(len(task))
    return np.column_stack([task.astype(float), F]), y, F, task


def estimator(kind, alpha, *, l2_reg=0.0, positive=False, beta=None, **kw):
    if kind == "group_lasso":
        return mtlreg.GroupLassoRegressor(alpha=alpha, l2_reg=l2_reg, positive=positive, **kw)
    if kind == "sgl":
        return mtlreg.SparseGroupLassoRegressor(alpha=alpha, l1_ratio=0.5, l2_reg=l2_reg,
                                                positive=positive, **kw)
    if kind.startswith("dirty"):
        return mtlreg.DirtyRegressor(alpha=alpha, beta=beta, block_norm=kind.split("_")[1],
                                     l2_reg=l2_reg, positive=positive, **kw)
    if kind == "mean":
        return mtlreg.MeanRegularizedRegressor(alpha=alpha, l2_reg=l2_reg, **kw)
    return mtlreg.IndependentRegressor(alpha=alpha, penalty=kind.split("_")[1], l2_reg=l2_reg,
                                       positive=positive, **kw)


BETA_RATIO = {"dirty_l21": 1 / 1.5, "dirty_l1inf": 0.4}


def spec_for(kind, X, y, *, frac=0.2, sw=None, l2_reg=0.0, positive=False, **kw):
    if kind in ("ind_l2", "mean"):
        alpha = 0.05
    else:
        probe = estimator(kind, 1.0, l2_reg=l2_reg, positive=positive, beta=1.0,
                          task_column=0, **kw)
        alpha = frac * probe.compute_alpha_max(X, y, sample_weight=sw)
    beta = alpha * BETA_RATIO.get(kind, 0.0)
    return Spec(kind, alpha, beta=beta, l2_reg=l2_reg, positive=positive)


def fit(spec, X, y, sw=None, **kw):
    est = estimator(spec.kind, spec.alpha, l2_reg=spec.l2_reg, positive=spec.positive,
                    beta=spec.beta, task_column=0, **kw)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        return est.fit(X, y, sample_weight=sw)


def solution(est):
    W = est.coef_.T
    if hasattr(est, "coef_shared_"):
        return W, est.intercept_, est.coef_shared_.T, est.coef_specific_.T
    return W, est.intercept_, None, None


# ------------------------------------------------------------------ the path is taken
@pytest.mark.parametrize("kind, expected", [
    ("group_lasso", bcd), ("sgl", bcd), ("ind_l1", bcd), ("dirty_l21", bcd),
    ("dirty_l1inf", bcd), ("ind_l2", fista), ("mean", fista),
])
def test_auto_takes_per_task_bcd_for_sparse_penalties(kind, expected):
    X, y, _, _ = per_task()
    est = estimator(kind, 0.1, beta=0.05, task_column=0)
    layout, datafit, _ = est._prepare(X, y, None)
    assert layout.layout == "blocks"
    assert type(getattr(datafit, "datafit", datafit)) is Quadratic  # not the Gram form
    assert select_solver("auto", datafit, est._make_penalty()) is expected
    assert select_solver("bcd", datafit, est._make_penalty()) is bcd


def test_sparse_X_is_not_taken():
    import scipy.sparse as sp

    X, y, _, _ = per_task()
    est = mtlreg.GroupLassoRegressor(alpha=0.1, task_column=0)
    _, datafit, _ = est._prepare(sp.csr_matrix(X), y, None)
    assert select_solver("auto", datafit, est._make_penalty()) is fista
    with pytest.raises(ValueError, match="solver='bcd' needs"):
        est.set_params(solver="bcd").fit(sp.csr_matrix(X), y)


# ------------------------------------------------------------------------ vs cvxpy
_CVX = {}


def _clarabel(prob):
    """Clarabel alone (the 1e-6 bar on the objective does not need SCS's 1e-10 retry,
    which takes seconds per problem here)."""
    import cvxpy as cp

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        prob.solve(solver=cp.CLARABEL, tol_gap_abs=1e-10, tol_gap_rel=1e-10, tol_feas=1e-10,
                   max_iter=300)
    assert prob.status in (cp.OPTIMAL, cp.OPTIMAL_INACCURATE), prob.status


@pytest.fixture(autouse=True)
def _fast_cvxpy(monkeypatch):
    monkeypatch.setattr(_cvx_family, "_solve", _clarabel)


def check_cvxpy(spec, X, y, F, task, *, sw=None, task_weights=None, fit_intercept=True,
                solver="bcd"):
    est = fit(spec, X, y, sw, fit_intercept=fit_intercept, task_weights=task_weights,
              solver=solver, **TIGHT)
    blocks = make_blocks(F, y, task_ids=task, sample_weight=sw, task_weights=task_weights)
    key = (spec.kind, spec.alpha, spec.l2_reg, spec.positive, fit_intercept,
           sw is not None, task_weights is not None)
    if key not in _CVX:
        _CVX[key] = cvx_solve(spec, blocks, "squared", fit_intercept=fit_intercept)
    ref = _CVX[key]
    W, b, B, S = solution(est)
    ours = objective(spec, blocks, W, b, "squared", B, S)
    assert est.objective_ == pytest.approx(ours, rel=1e-9)
    assert abs(ours - ref["value"]) <= 1e-6 * abs(ref["value"])
    assert ours <= ref["value"] + 1e-9 * abs(ref["value"])  # cvxpy is the less accurate
    if not spec.dirty:  # the dirty split need not be unique; W is
        scale = max(1.0, np.abs(ref["W"]).max())
        np.testing.assert_allclose(W, ref["W"], atol=1e-3 * scale)
    return est


@pytest.mark.parametrize("fit_intercept", [True, False])
@pytest.mark.parametrize("kind", ["group_lasso", "sgl", "ind_l1", "dirty_l21", "dirty_l1inf"])
def test_matches_cvxpy(kind, fit_intercept):
    X, y, F, task = per_task(seed=1)
    spec = spec_for(kind, X, y, fit_intercept=fit_intercept)
    est = check_cvxpy(spec, X, y, F, task, fit_intercept=fit_intercept)
    assert np.count_nonzero(est.coef_) > 0


@pytest.mark.parametrize("kind", ["group_lasso", "sgl", "ind_l1"])
def test_matches_cvxpy_weights(kind):
    X, y, F, task = per_task(seed=2)
    rng = np.random.default_rng(0)
    sw = rng.uniform(0.2, 3.0, size=len(y))
    sw[:3] = 0.0
    tw = np.array([1.0, 2.5, 0.5, 1.5])
    spec = spec_for(kind, X, y, sw=sw, task_weights=tw)
    check_cvxpy(spec, X, y, F, task, sw=sw, task_weights=tw)


@pytest.mark.parametrize("kind", ["group_lasso", "sgl", "ind_l1", "dirty_l21"])
def test_matches_cvxpy_positive(kind):
    X, y, F, task = per_task(seed=3)
    spec = spec_for(kind, X, y, positive=True)
    est = check_cvxpy(spec, X, y, F, task)
    assert est.coef_.min() >= 0.0


@pytest.mark.parametrize("kind", ["group_lasso", "sgl", "ind_l2", "mean"])
def test_matches_cvxpy_ridge_and_non_sparse_rows(kind):
    X, y, F, task = per_task(seed=4)
    spec = spec_for(kind, X, y, l2_reg=0.2 if kind != "mean" else 0.01)
    check_cvxpy(spec, X, y, F, task)


# -------------------------------------------------------------------- vs FISTA
@pytest.mark.parametrize("positive", [False, True])
@pytest.mark.parametrize("kind", ["group_lasso", "sgl", "ind_l1", "dirty_l1inf"])
def test_matches_fista_with_working_sets(kind, positive):
    """More features (the working set grows over several outer iterations)."""
    X, y, _, _ = per_task(d=400, sizes=(25, 30, 20, 28, 22), seed=5, n_informative=8)
    spec = spec_for(kind, X, y, frac=0.05, positive=positive)
    a = fit(spec, X, y, solver="bcd", **TIGHT)
    b = fit(spec, X, y, solver="fista", tol=1e-10, max_iter=100_000)
    assert a.objective_ == pytest.approx(b.objective_, rel=1e-9)
    assert a.objective_ <= b.objective_ * (1 + 1e-12)
    assert a.n_iter_ < 2000
    np.testing.assert_allclose(a.coef_, b.coef_, atol=1e-5 * np.abs(b.coef_).max())
    np.testing.assert_allclose(a.intercept_, b.intercept_, atol=1e-5 * np.abs(b.coef_).max())


def test_warm_start_and_zero_solution():
    X, y, _, _ = per_task(seed=6)
    est = mtlreg.GroupLassoRegressor(task_column=0, solver="bcd", tol=1e-8)
    alpha_max = est.compute_alpha_max(X, y)
    est.set_params(alpha=1.01 * alpha_max).fit(X, y)
    assert not np.any(est.coef_) and est.n_iter_ == 0
    cold = est.set_params(alpha=0.1 * alpha_max).fit(X, y)
    n_cold, obj = cold.n_iter_, cold.objective_
    warm = est.set_params(warm_start=True).fit(X, y)
    assert warm.n_iter_ <= max(2, n_cold // 2)
    assert warm.objective_ == pytest.approx(obj, rel=1e-9)


def test_constant_feature_in_a_task():
    """A feature constant within a task has zero curvature there (D[j, t] = 0)."""
    X, y, F, task = per_task(seed=7)
    X = X.copy()
    X[task == 1, 3] = 2.0
    X[:, 5] = -1.0  # constant everywhere: its coefficients stay 0
    F = X[:, 1:]
    spec = spec_for("group_lasso", X, y, frac=0.05)
    est = check_cvxpy(spec, X, y, F, task)
    assert not np.any(est.coef_[:, 4])


# ------------------------------------------------------------------ row subproblem
@pytest.mark.parametrize("positive", [False, True])
def test_group_solve_is_the_exact_minimiser(positive):
    """argmin_w sum_t h_t/2 w_t^2 - u_t w_t + a ||w||_2: its optimality conditions."""
    rng = np.random.default_rng(0)
    for trial in range(200):
        T = rng.integers(1, 30)
        h = rng.uniform(0.0, 5.0, T) ** 2
        h[rng.uniform(size=T) < 0.1] = 0.0
        u = rng.standard_normal(T) * 3
        u[h == 0] = 0.0  # zero curvature only where the feature is constant: no gradient
        a = rng.uniform(0.0, 4.0)
        w = np.empty(T)
        _group_solve(u, h, a, positive, w)
        up = np.maximum(u, 0.0) if positive else u
        if np.linalg.norm(up) <= a:
            assert not np.any(w)
            continue
        nw = np.linalg.norm(w)
        assert nw > 0
        grad = h * w - u + a * w / nw
        active = w != 0
        np.testing.assert_allclose(grad[active], 0.0, atol=1e-10 * max(1.0, np.abs(u).max()))
        if positive:
            assert w.min() >= 0.0
            assert np.all(grad[~active] >= -1e-10)
