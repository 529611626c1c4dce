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


# ------------------------------------------------------------- limits and defaults
@pytest.mark.parametrize("loss", ["squared", "logistic"])
@pytest.mark.parametrize("name", ["group_lasso", "mean", "dirty"])
def test_zero_is_the_free_intercept_fit(name, loss, monkeypatch):
    """``intercept_reg=0`` (the default) never enters the shrinkage code: the fit is
    today's, bit for bit (the outer iteration and the shrunk null model are never
    called), and ``shared_intercept_`` is the lambda-weighted mean of the intercepts."""
    from mtlreg.linear_model import _base

    X, y, sw, kw, _ = data("per_task", loss)
    ref = estimator(name, loss, kw, X, y, sw, 0.0).fit(X, y, sample_weight=sw)

    def forbidden(*args, **kwargs):
        raise AssertionError("the shrinkage code ran with intercept_reg=0")

    monkeypatch.setattr(_base, "solve_shrunk", forbidden)
    monkeypatch.setattr(_base, "null_intercepts", forbidden)
    est = estimator(name, loss, kw, X, y, sw, 0.0).fit(X, y, sample_weight=sw)
    for attr in ("coef_", "intercept_", "n_iter_", "objective_", "stop_crit_"):
        np.testing.assert_array_equal(getattr(est, attr), getattr(ref, attr))
    assert est.shared_intercept_ == pytest.approx(
        np.sum(np.asarray(TW) * est.intercept_) / np.sum(TW), rel=1e-12)
    with pytest.raises(AssertionError, match="shrinkage code ran"):
        estimator(name, loss, kw, X, y, sw, 0.5).fit(X, y, sample_weight=sw)


@pytest.mark.parametrize("loss", ["squared", "logistic"])
def test_large_intercept_reg_ties_the_intercepts(loss):
    """As ``intercept_reg`` grows the intercepts approach one value, ``b_bar``; the gap
    shrinks like 1 / intercept_reg."""
    X, y, sw, kw, _ = data("per_task", loss)
    spread = []
    for s in (0.0, 1.0, 1e3, 1e6):
        est = estimator("group_lasso", loss, kw, X, y, sw, s).set_params(alpha=0.01)
        est.set_params(tol=1e-8, max_iter=5000).fit(X, y, sample_weight=sw)
        spread.append(np.ptp(est.intercept_))
        if s == 1e6:
            np.testing.assert_allclose(est.intercept_, est.shared_intercept_, atol=1e-4)
    assert spread[0] > 0.3 and spread[0] > spread[1] > spread[2] > spread[3]
    assert spread[3] < 1e-4


def test_null_model_uses_the_shrunk_intercepts():
    """``compute_alpha_max`` is the gradient at ``W = 0`` with the optimal shrunk
    intercepts: at ``alpha`` just above it every coefficient is zero, just below not;
    the intercepts at ``W = 0`` are in closed form for the squared loss."""
    X, y, sw, kw, blocks = data("per_task", "squared")
    s = 2.0
    est = mtlreg.GroupLassoRegressor(**kw, intercept_reg=s, tol=1e-10)
    amax = est.compute_alpha_max(X, y, sample_weight=sw)
    assert amax != pytest.approx(mtlreg.GroupLassoRegressor(**kw).compute_alpha_max(
        X, y, sample_weight=sw), rel=1e-3)
    top = est.set_params(alpha=amax * (1 + 1e-6)).fit(X, y, sample_weight=sw)
    assert np.all(top.coef_ == 0)
    ybar = np.array([np.sum(blk.c * blk.y) / np.sum(blk.c) for blk in blocks])
    lam = np.asarray(TW)
    m = np.sum(lam * ybar) / lam.sum()
    np.testing.assert_allclose(top.intercept_, (ybar + s * m) / (1 + s), rtol=1e-10)
    below = est.set_params(alpha=amax * 0.999).fit(X, y, sample_weight=sw)
    assert np.any(below.coef_ != 0)


# ------------------------------------------------------------------ classifiers
def _one_class_data():
    X, y, F, task = per_task_data("logistic", seed=3)
    y = y.copy()
    y[task == 1] = 1.0  # task 1: positive samples only
    return X, y, task


@pytest.mark.parametrize("name", ["group_lasso", "mean", "trace"])
def test_classifier_fits_one_class_tasks(name):
    X, y, task = _one_class_data()
    cls = getattr(mtlreg, FORMULATIONS[name][0] + "Classifier")
    with pytest.raises(ValueError, match="intercept_reg > 0"):
        cls(task_column=0).fit(X, y)  # the clear error names the cure
    est = cls(task_column=0, intercept_reg=1.0, tol=1e-8, max_iter=5000)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        est.fit(X, y)
    b = est.intercept_
    assert np.all(np.isfinite(b)) and np.all(np.isfinite(est.coef_))
    # the one-class task's intercept is on its class's side of b_bar, pulled toward it
    assert est.shared_intercept_ < b[1] < 20.0
    assert np.all(est.predict(X[task == 1]) == 1)
    # a stronger pull brings it closer to b_bar
    tight = cls(task_column=0, intercept_reg=10.0, tol=1e-8, max_iter=5000).fit(X, y)
    assert 0 < tight.intercept_[1] - tight.shared_intercept_ < b[1] - est.shared_intercept_


def test_one_class_classifier_matches_cvxpy():
    X, y, task = _one_class_data()
    blocks = make_blocks(X[:, 1:], y, task_ids=task, task_weights=TW)
    est = estimator("group_lasso", "logistic", {"task_column": 0, "task_weights": TW}, X, y,
                    None, 0.5, **TIGHT).fit(X, y)
    ref, ours = cvx_reference("group_lasso", est, blocks, "logistic", 0.5)
    assert abs(ours - ref) <= 1e-7 * abs(ref)


# ------------------------------------------------------------------ unseen tasks
@pytest.mark.parametrize("name", ["mean", "dirty"])
def test_unseen_tasks_use_the_shared_intercept(name):
    X, y, sw, kw, _ = data("per_task", "squared")
    est = estimator(name, "squared", kw, X, y, sw, 3.0, unseen_tasks="shared")
    est.fit(X, y, sample_weight=sw)
    new = X[:5].copy()
    new[:, 0] = 99.0
    w = est.coef_.mean(axis=0) if name == "mean" else est.coef_shared_.mean(axis=0)
    np.testing.assert_allclose(est.predict(new), new[:, 1:] @ w + est.shared_intercept_,
                               rtol=1e-12)
    # b_bar is the lambda-weighted mean, not the plain mean of the intercepts
    assert abs(est.shared_intercept_ - est.intercept_.mean()) > 1e-3


# --------------------------------------------------------- warm start, solvers
@pytest.mark.parametrize("solver", ["fista", "admm", "bcd"])
def test_every_solver_reaches_the_same_optimum(solver):
    X, y, sw, kw, _ = data("shared", "squared")
    ref = estimator("group_lasso", "squared", kw, X, y, sw, 0.7, **TIGHT).fit(X, y)
    est = estimator("group_lasso", "squared", kw, X, y, sw, 0.7, solver=solver, **TIGHT)
    est.fit(X, y)
    assert est.objective_ == pytest.approx(ref.objective_, rel=1e-9)
    np.testing.assert_allclose(est.intercept_, ref.intercept_, atol=1e-6)


def test_warm_start_refit_is_immediate():
    X, y, sw, kw, _ = data("per_task", "logistic")
    est = estimator("group_lasso", "logistic", kw, X, y, sw, 0.7, tol=1e-8, warm_start=True)
    first = est.fit(X, y, sample_weight=sw).objective_
    n_cold = est.n_iter_
    est.fit(X, y, sample_weight=sw)
    assert est.objective_ == pytest.approx(first, rel=1e-10)
    assert est.n_iter_ < n_cold


# ------------------------------------------------------------------------ Dask
@pytest.mark.parametrize("loss", ["squared", "logistic"])
def test_dask_fit_equals_in_memory(loss, monkeypatch):
    """From a Dask DataFrame: the squared loss from per-task statistics (Gram form),
    solved to the same optimum; the logistic loss by FISTA with one distributed pass per
    evaluation, the same iterates as FISTA in memory (a few outer and inner steps
    only, each pass costs tens of milliseconds)."""
    dd = pytest.importorskip("dask.dataframe")
    pd = pytest.importorskip("pandas")
    X, y, sw, kw, _ = data("per_task", loss)
    frame = pd.DataFrame(X, columns=["task"] + [f"x{j}" for j in range(X.shape[1] - 1)])
    est = estimator("group_lasso", loss, {"task_column": "task", "task_weights": TW},
                    frame, y, sw, 0.7, tol=1e-9, max_iter=20000)
    if loss == "logistic":
        from mtlreg.linear_model import _intercept_reg

        monkeypatch.setattr(_intercept_reg, "MAX_OUTER", 3)
        est.set_params(solver="fista", max_iter=8)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ref = est.fit(frame, y, sample_weight=sw)
        ref_coef, ref_b, ref_m = ref.coef_.copy(), ref.intercept_.copy(), ref.shared_intercept_
        got = est.fit(dd.from_pandas(frame, npartitions=3),
                      dd.from_pandas(pd.Series(y), npartitions=3),
                      sample_weight=dd.from_pandas(pd.Series(sw), npartitions=3))
    assert np.abs(ref_coef).max() > 1e-2 and np.ptp(ref_b) > 1e-2
    np.testing.assert_allclose(got.coef_, ref_coef, atol=1e-8)
    np.testing.assert_allclose(got.intercept_, ref_b, atol=1e-8)
    assert got.shared_intercept_ == pytest.approx(ref_m, abs=1e-8)


# ---------------------------------------------------------------------- *CV twins
def test_cv_twin_tunes_intercept_reg():
    """On tasks with a few rows each and intercepts spread around a common one, the CV
    twin picks a positive ``intercept_reg``; the path gains an axis per value; its
    choice is the best mean test loss over all values."""
    rng = np.random.default_rng(0)
    T, d = 30, 3
    task = np.repeat(np.arange(T), rng.integers(3, 8, T))
    F = rng.standard_normal((len(task), d))
    y = F @ np.array([1.0, -0.5, 0.2]) + (1.0 + 0.3 * rng.standard_normal(T))[task]
    y = y + rng.standard_normal(len(task))
    X = np.column_stack([task, F])
    regs = [0.0, 0.1, 1.0, 10.0]
    cv = mtlreg.MeanRegularizedRegressorCV(task_column=0, intercept_regs=regs, n_alphas=5,
                                           l2_regs=[0.01]).fit(X, y)
    assert cv.mse_path_.shape == (4, 1, 5, 5) and cv.alphas_.shape == (4, 1, 5)
    np.testing.assert_array_equal(cv.intercept_regs_, regs)
    best = np.argmin(cv.mse_path_.mean(axis=-1).min(axis=(1, 2)))
    assert cv.intercept_reg_ == regs[best] > 0
    assert cv.estimator_.intercept_reg == cv.intercept_reg_
    assert hasattr(cv, "shared_intercept_")
    plain = mtlreg.MeanRegularizedRegressorCV(task_column=0, n_alphas=5, l2_regs=[0.01])
    plain.fit(X, y)
    assert plain.mse_path_.shape == (1, 5, 5) and not hasattr(plain, "intercept_reg_")
    # the same folds: the intercept_reg=0 search is the untuned one
    np.testing.assert_allclose(cv.mse_path_[0], plain.mse_path_, rtol=1e-12)


# ------------------------------------------------------------------ bad inputs
@pytest.mark.parametrize("value", [-1.0, np.nan, np.inf, "strong", None])
def test_invalid_intercept_reg_is_a_clear_error(value):
    X, y, sw, kw, _ = data("per_task", "squared")
    est = mtlreg.GroupLassoRegressor(**kw, alpha=0.01).fit(X, y)
    coef = est.coef_.copy()
    with pytest.raises(ValueError, match="intercept_reg"):
        est.set_params(intercept_reg=value).fit(X, y + 1.0)
    np.testing.assert_array_equal(est.coef_, coef)  # the previous fit stays
    with pytest.raises(ValueError, match="intercept_reg"):
        mtlreg.GroupLassoRegressorCV(**kw, intercept_regs=[0.1, value]).fit(X, y)


def test_callable_solver_is_refused_with_intercept_reg():
    X, y, sw, kw, _ = data("per_task", "squared")
    est = mtlreg.GroupLassoRegressor(**kw, intercept_reg=1.0, solver=mtlreg.solvers.fista)
    with pytest.raises(ValueError, match="intercept_reg > 0 needs one of the built-in"):
        est.fit(X, y)


def test_bcd_on_the_design_is_refused_with_intercept_reg():
    """Many features on a shared design: BCD runs on ``X`` itself, whose sweeps do not
    see the intercept term; a clear error instead of the generic one (FISTA fits)."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((100, 20))
    Y = X[:, :2] + rng.standard_normal((100, 2)) + 3.0
    with pytest.raises(ValueError, match="solver='bcd' with intercept_reg > 0"):
        mtlreg.GroupLassoRegressor(alpha=0.01, solver="bcd", intercept_reg=1.0).fit(X, Y)
    mtlreg.GroupLassoRegressor(alpha=0.01, solver="bcd").fit(X, Y)  # as before
    mtlreg.GroupLassoRegressor(alpha=0.01, solver="fista", intercept_reg=1.0).fit(X, Y)
