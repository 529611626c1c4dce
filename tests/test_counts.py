"""``loss="poisson"``: counts with the log link and an offset, on every formulation.

* every formulation (13) x both layouts against cvxpy (``cp.exp``; objective within
  1e-6 relative), the solver's optimality measure below ``tol`` and an independent
  one (the gradient of the data term written here);
* the independent ridge model = one scikit-learn ``PoissonRegressor`` per task
  (``l2_reg`` = sklearn's ``alpha``: its objective is ``1/(2n) deviance + alpha/2
  ||w||^2``, and ``deviance / 2`` is our loss up to a constant);
* the offset against statsmodels' ``GLM(Poisson, offset=...)`` (unpenalised);
* all-zero tasks (refused, or fitted with ``intercept_reg > 0``), bad counts and
  offsets, ``predict`` / ``score`` / the ``*CV`` twins' deviance.
"""

import warnings

import numpy as np
import pytest
from _cvx_family import _solve, cp, cvx_data_term, data_gradient, data_term, make_blocks
from conftest import fit_tol
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import PoissonRegressor
from sklearn.metrics import d2_tweedie_score, mean_poisson_deviance
from sklearn.utils.estimator_checks import parametrize_with_checks
from test_relations import ADJ, EDGES, laplacian_ref

import mtlreg

TIGHT = dict(tol=1e-10, max_iter=2000)


# --------------------------------------------------------------------------- data
def count_data(layout, *, n=60, d=4, T=3, seed=0, nan=False):
    """Counts from a log-linear model with shared and task-specific coefficients.
    Returns ``(X, y, est_kw, blocks, sample_weight)`` (``blocks``: the references' view)."""
    rng = np.random.default_rng(seed)
    W = 0.4 * rng.standard_normal((d, 1)) + 0.2 * rng.standard_normal((d, T))
    W[-1] = 0.0  # a feature of no use
    b = 0.5 + 0.3 * rng.standard_normal(T)
    F = rng.standard_normal((n, d))
    if layout == "shared":
        Y = rng.poisson(np.exp(F @ W + b)).astype(float)
        if nan:
            Y[rng.uniform(size=Y.shape) < 0.15] = np.nan
        blocks = make_blocks(F, Y)
        return F, Y, {}, blocks, None
    task = rng.integers(0, T, n)
    y = rng.poisson(np.exp(np.einsum("ij,ji->i", F, W[:, task]) + b[task])).astype(float)
    sw = rng.uniform(0.3, 2.0, n)
    blocks = make_blocks(F, y, task_ids=task, sample_weight=sw)
    return np.column_stack([task, F]), y, {"task_column": 0}, blocks, sw


def fit_tight(est, X, y, sw=None, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        return est.fit(X, y, sample_weight=sw, **kw)


def null_scale(blocks):
    """max |grad_W| of the Poisson data term at W = 0, intercepts log(mean count)."""
    b0 = np.array([np.log(np.sum(blk.c * blk.y) / blk.c.sum()) for blk in blocks])
    G0, _ = data_gradient(blocks, np.zeros((blocks[0].X.shape[1], len(blocks))), b0, "poisson")
    return float(np.abs(G0).max())


# ----------------------------------------------------------- the 13 formulations
def _rows(U):
    return cp.sum(cp.norm(U, 2, axis=1))


def _cols(U):
    return cp.sum(cp.norm(U, 2, axis=0))


def _chain(T):
    return laplacian_ref(np.diag(np.ones(T - 1), 1) + np.diag(np.ones(T - 1), -1))


def _sqrt_psd(L):
    lam, Q = np.linalg.eigh(L)
    return Q * np.sqrt(np.maximum(lam, 0.0))


def _graph_pen(L, rho, alpha, sparse):
    R = _sqrt_psd(L)
    return lambda p: 0.5 * rho * cp.sum_squares(p["W"] @ R) + alpha * sparse(p["W"])


def _one(est):
    return {"W": est.coef_.T}


# name: (class, fixed parameters, alpha / alpha_max (None: alpha fixed), parts of a fit,
#        cvxpy penalty of the parts (given alpha), the parts' names when W is a sum)
FORMULATIONS = {
    "group_lasso": (mtlreg.GroupLassoRegressor, {}, 0.3, _one,
                    lambda a, kw: lambda p: a * _rows(p["W"]), None),
    "sparse_group_lasso": (mtlreg.SparseGroupLassoRegressor, {"l1_ratio": 0.5}, 0.2, _one,
                           lambda a, kw: lambda p: a * (0.5 * cp.sum(cp.abs(p["W"]))
                                                        + 0.5 * _rows(p["W"])), None),
    "trace": (mtlreg.TraceNormRegressor, {}, 0.6, _one,
              lambda a, kw: lambda p: a * cp.normNuc(p["W"]), None),
    "mean": (mtlreg.MeanRegularizedRegressor, {"l2_reg": 0.01}, None, _one,
             lambda a, kw: lambda p: 0.5 * a * cp.sum_squares(
                 p["W"] - cp.sum(p["W"], axis=1, keepdims=True) / p["W"].shape[1])
             + 0.005 * cp.sum_squares(p["W"]), None),
    "independent_l1": (mtlreg.IndependentRegressor, {"penalty": "l1"}, 0.2, _one,
                       lambda a, kw: lambda p: a * cp.sum(cp.abs(p["W"])), None),
    "independent_l2": (mtlreg.IndependentRegressor, {"penalty": "l2"}, None, _one,
                       lambda a, kw: lambda p: 0.5 * a * cp.sum_squares(p["W"]), None),
    "dirty": (mtlreg.DirtyRegressor, {"block_norm": "l1inf"}, 0.25,
              lambda est: {"B": est.coef_shared_.T, "S": est.coef_specific_.T},
              lambda a, kw: lambda p: a * cp.sum(cp.max(cp.abs(p["B"]), axis=1))
              + 0.5 * a * cp.sum(cp.abs(p["S"])), ("B", "S")),
    "fused": (mtlreg.FusedGroupLassoRegressor, {"l1_ratio": 0.4}, 0.15, _one,
              lambda a, kw: lambda p: a * (0.4 * cp.sum(cp.abs(p["W"])) + 0.6 * _rows(p["W"]))
              + kw["beta"] * cp.sum(cp.abs(p["W"][:, 1:] - p["W"][:, :-1])), None),
    "graph": (mtlreg.GraphRegularizedRegressor, {"rho": 0.5, "sparsity": "l1", "l2_reg": 0.0}, 0.2, _one,
              lambda a, kw: _graph_pen(laplacian_ref(ADJ), 0.5, a,
                                       lambda U: cp.sum(cp.abs(U))), None),
    "temporal": (mtlreg.TemporalGroupLassoRegressor, {"rho": 1.0, "l2_reg": 0.0}, 0.2, _one,
                 lambda a, kw: _graph_pen(_chain(3), 1.0, a, _rows), None),
    "clustered": (mtlreg.ClusteredRegressor, {"eta": 0.5, "n_clusters": 2}, None, _one,
                  None, None),
    "robust_multitask": (mtlreg.RobustMultiTaskRegressor, {}, 0.2,
                         lambda est: {"P": est.coef_lowrank_.T, "Q": est.coef_outlier_.T},
                         lambda a, kw: lambda p: a * cp.normNuc(p["P"]) + 0.9 * a * _cols(p["Q"]),
                         ("P", "Q")),
    "robust_feature_learning": (mtlreg.RobustFeatureLearningRegressor, {}, 0.2,
                                lambda est: {"P": est.coef_shared_.T, "Q": est.coef_outlier_.T},
                                lambda a, kw: lambda p: a * _rows(p["P"]) + 1.5 * a * _cols(p["Q"]),
                                ("P", "Q")),
    "sparse_trace": (mtlreg.SparseTraceNormRegressor, {"l1_ratio": 0.2}, 0.5, _one,
                     lambda a, kw: lambda p: a * (0.2 * cp.sum(cp.abs(p["W"]))
                                                  + 0.8 * cp.normNuc(p["W"])), None),
}
FIXED_ALPHA = {"mean": 0.5, "independent_l2": 0.05, "clustered": 0.05}


def make_case(name, X, y, est_kw, sw, loss="poisson"):
    cls, fixed, frac, parts_of, pen, names = FORMULATIONS[name]
    kw = dict(fixed, loss=loss, **est_kw)
    if name == "graph":
        per_task = "task_column" in est_kw
        kw.update(graph=EDGES if per_task else ADJ,
                  graph_format="edges" if per_task else "adjacency")
    if frac is None:
        alpha = FIXED_ALPHA[name]
    else:
        alpha = frac * cls(**kw).compute_alpha_max(X, y, sample_weight=sw)
    if name == "dirty":
        kw["beta"] = 0.5 * alpha
    if name == "fused":
        kw["beta"] = 0.1 * alpha / 0.15
    if name.startswith("robust"):
        kw["beta"] = (0.9 if name == "robust_multitask" else 1.5) * alpha
    return cls(alpha=alpha, **kw, **TIGHT), alpha, kw


def cvx_reference(name, blocks, alpha, kw, fit_intercept, loss="poisson"):
    """``(objective at cvxpy's solution, the objective as a function of the parts)``,
    both evaluated the same way: numpy data term + cvxpy penalty value."""
    d, T = blocks[0].X.shape[1], len(blocks)
    _, _, _, _, pen, names = FORMULATIONS[name]
    b = cp.Variable(T) if fit_intercept else np.zeros(T)
    if name == "clustered":
        eta, k = kw["eta"], kw["n_clusters"]
        c = alpha * eta * (1 + eta)
        Wv, M = cp.Variable((d, T)), cp.Variable((T, T), symmetric=True)
        _solve(cp.Problem(cp.Minimize(cvx_data_term(blocks, Wv, b, loss)
                                      + c * cp.matrix_frac(Wv.T, eta * np.eye(T) + M)),
                          [M >> 0, np.eye(T) - M >> 0, cp.trace(M) == k]))

        def value(p, b_):
            Mv = cp.Variable((T, T), symmetric=True)
            inner = cp.Problem(cp.Minimize(cp.matrix_frac(p["W"].T, eta * np.eye(T) + Mv)),
                               [Mv >> 0, np.eye(T) - Mv >> 0, cp.trace(Mv) == k])
            inner.solve(solver=cp.CLARABEL)
            return data_term(blocks, p["W"], b_, loss) + c * inner.value

        ref = value({"W": np.asarray(Wv.value)}, np.asarray(b.value) if fit_intercept else b)
        return ref, value
    penalty = pen(alpha, kw)
    if names is None:
        parts = {"W": cp.Variable((d, T))}
        W = parts["W"]
    else:
        parts = {n: cp.Variable((d, T)) for n in names}
        W = parts[names[0]] + parts[names[1]]
    _solve(cp.Problem(cp.Minimize(cvx_data_term(blocks, W, b, loss) + penalty(parts))))

    def value(p, b_):
        Wn = p["W"] if names is None else p[names[0]] + p[names[1]]
        return data_term(blocks, Wn, b_, loss) + float(penalty(p).value)

    ref = value({n: np.asarray(v.value) for n, v in parts.items()},
                np.asarray(b.value) if fit_intercept else b)
    return ref, value


@pytest.mark.parametrize("layout", ["shared", "per_task"])
@pytest.mark.parametrize("name", list(FORMULATIONS))
def test_every_formulation_matches_cvxpy(name, layout):
    X, y, est_kw, blocks, sw = count_data(layout)
    est, alpha, kw = make_case(name, X, y, est_kw, sw)
    fit_tight(est, X, y, sw)
    assert est.loss == "poisson"
    ref, value = cvx_reference(name, blocks, alpha, kw, fit_intercept=True)
    parts = FORMULATIONS[name][3](est)
    ours = value(parts, est.intercept_)
    assert est.objective_ == pytest.approx(ours, rel=1e-7)
    assert ours <= ref + 1e-7 * abs(ref)  # at least as good as cvxpy, to its accuracy
    assert abs(ours - ref) <= 1e-6 * abs(ref)
    W = est.coef_.T
    assert np.abs(W).max() > 1e-3  # not the null model
    # optimality: the solver's measure below tol, and the intercept gradient (written
    # here) at zero
    scale = null_scale(blocks)
    assert est.stop_crit_ <= fit_tol(1e-10) * scale * (1 + 1e-6)
    _, gb = data_gradient(blocks, W, est.intercept_, "poisson")
    assert np.abs(gb).max() <= 1e-9 * scale


@pytest.mark.parametrize("name", ["group_lasso", "independent_l1", "mean"])
def test_missing_labels_without_intercept_match_cvxpy(name):
    X, y, est_kw, blocks, sw = count_data("shared", nan=True, seed=1)
    est, alpha, kw = make_case(name, X, y, dict(est_kw, fit_intercept=False), sw)
    fit_tight(est, X, y, sw)
    ref, value = cvx_reference(name, blocks, alpha, kw, fit_intercept=False)
    ours = value(FORMULATIONS[name][3](est), np.zeros(y.shape[1]))
    assert abs(ours - ref) <= 1e-6 * abs(ref)
    np.testing.assert_array_equal(est.intercept_, 0.0)


# ------------------------------------------------------- scikit-learn, statsmodels
@pytest.mark.parametrize("layout", ["shared", "per_task"])
def test_independent_ridge_is_one_sklearn_poisson_regressor_per_task(layout):
    """sklearn: ``1 / (2 sum s) sum_i s_i d(y_i, mu_i) + alpha / 2 ||w||^2`` per task, i.e.
    our task term (``lambda_t = 1``, weights ``s_i / n_t``) + ``l2_reg / 2 ||w_t||^2``
    with ``l2_reg = alpha``; the tasks do not interact."""
    X, y, est_kw, blocks, sw = count_data(layout, seed=2)
    est = fit_tight(mtlreg.IndependentRegressor(alpha=0.0, l2_reg=0.1, loss="poisson",
                                                **est_kw, **TIGHT), X, y, sw)
    for t, blk in enumerate(blocks):
        ref = PoissonRegressor(alpha=0.1, tol=1e-12, max_iter=10_000)
        ref.fit(blk.X, blk.y, sample_weight=blk.c / blk.c.sum())
        np.testing.assert_allclose(est.coef_[t], ref.coef_, rtol=0, atol=1e-6)
        assert est.intercept_[t] == pytest.approx(ref.intercept_, abs=1e-6)


def test_offset_matches_statsmodels_glm():
    """Unpenalised Poisson GLM with an offset (one task, fit_intercept): statsmodels'
    IRLS to 1e-12 against ours."""
    sm = pytest.importorskip("statsmodels.api")
    rng = np.random.default_rng(3)
    X = rng.standard_normal((80, 3))
    exposure = rng.uniform(0.5, 5.0, 80)
    y = rng.poisson(exposure * np.exp(X @ [0.3, -0.2, 0.1] + 0.4)).astype(float)
    ref = sm.GLM(y, sm.add_constant(X), family=sm.families.Poisson(),
                 offset=np.log(exposure)).fit(tol=1e-13)
    est = fit_tight(mtlreg.IndependentRegressor(alpha=0.0, loss="poisson", **TIGHT), X, y,
                    offset=np.log(exposure))
    np.testing.assert_allclose(est.coef_[0], ref.params[1:], rtol=0, atol=1e-7)
    assert est.intercept_[0] == pytest.approx(ref.params[0], abs=1e-7)
    np.testing.assert_allclose(est.predict(X, offset=np.log(exposure)),
                               ref.predict(sm.add_constant(X), offset=np.log(exposure)),
                               rtol=1e-7)
    # without the offset the fit differs: the offset is not ignored
    plain = mtlreg.IndependentRegressor(alpha=0.0, loss="poisson", **TIGHT).fit(X, y)
    assert abs(plain.intercept_[0] - est.intercept_[0]) > 0.1


def test_offset_per_task_layout_and_2d_offset():
    """A shared design with a per-task offset (n, T) equals the per-task layout with
    the matching (n T,) offset; an (n,) offset broadcasts over the tasks."""
    X, Y, _, _, _ = count_data("shared", seed=4)
    n, T = Y.shape
    off = np.random.default_rng(0).uniform(-0.5, 0.5, (n, T))
    shared = fit_tight(mtlreg.GroupLassoRegressor(alpha=0.02, loss="poisson", **TIGHT), X, Y,
                       offset=off)
    task = np.repeat(np.arange(T)[None], n, 0).ravel()
    Xb = np.column_stack([task, np.repeat(X, T, axis=0)])
    blocks = fit_tight(mtlreg.GroupLassoRegressor(alpha=0.02, loss="poisson", task_column=0,
                                                  **TIGHT), Xb, Y.ravel(), offset=off.ravel())
    np.testing.assert_allclose(shared.coef_, blocks.coef_, atol=1e-7)
    np.testing.assert_allclose(shared.predict(X, offset=off).ravel(),
                               blocks.predict(Xb, offset=off.ravel()), rtol=1e-7)
    one = fit_tight(mtlreg.GroupLassoRegressor(alpha=0.02, loss="poisson", **TIGHT), X, Y,
                    offset=off[:, 0])
    two = fit_tight(mtlreg.GroupLassoRegressor(alpha=0.02, loss="poisson", **TIGHT), X, Y,
                    offset=np.repeat(off[:, :1], T, 1))
    np.testing.assert_allclose(one.coef_, two.coef_, atol=1e-9)


# ---------------------------------------------------------- predict, score, CV
def test_predict_score_and_cv_deviance():
    X, y, est_kw, _, _ = count_data("per_task", seed=5, n=120)
    est = mtlreg.GroupLassoRegressor(alpha=0.01, loss="poisson", **est_kw).fit(X, y)
    mu = est.predict(X)
    z = np.einsum("ij,ij->i", X[:, 1:], est.coef_[X[:, 0].astype(int)]) \
        + est.intercept_[X[:, 0].astype(int)]
    np.testing.assert_allclose(mu, np.exp(z), rtol=1e-12)
    assert est.score(X, y) == pytest.approx(d2_tweedie_score(y, mu, power=1), rel=1e-12)
    assert 0.05 < est.score(X, y) < 1
    cv = mtlreg.GroupLassoRegressorCV(loss="poisson", n_alphas=5, cv=3, **est_kw).fit(X, y)
    assert cv.estimator_.loss == "poisson"
    assert cv.deviance_path_.shape == (5, 3)  # named after the loss (test_cv_outcomes)
    # the path holds mean Poisson deviances: recompute the chosen one on a fold
    assert np.all(cv.deviance_path_ > 0)
    ref = mean_poisson_deviance(y, cv.predict(X))
    assert cv.estimator_._test_loss(X, y) == pytest.approx(ref, rel=1e-12)


def test_shared_layout_score_averages_tasks_and_skips_missing():
    X, Y, _, _, _ = count_data("shared", seed=6, nan=True)
    est = mtlreg.TraceNormRegressor(alpha=0.01, loss="poisson").fit(X, Y)
    P = est.predict(X)
    expected = np.mean([d2_tweedie_score(Y[~np.isnan(Y[:, t]), t], P[~np.isnan(Y[:, t]), t],
                                         power=1) for t in range(Y.shape[1])])
    assert est.score(X, Y) == pytest.approx(expected, rel=1e-12)


# -------------------------------------------------------------- zero tasks, errors
def test_all_zero_task_is_refused_then_fitted_with_intercept_reg():
    X, y, est_kw, _, _ = count_data("per_task", seed=7)
    y = y.copy()
    y[X[:, 0] == 1] = 0.0
    with pytest.raises(ValueError, match=r"Task\(s\) \[1\.0\] have only zero counts.*intercept_reg"):
        mtlreg.GroupLassoRegressor(alpha=0.01, loss="poisson", **est_kw).fit(X, y)
    est = fit_tight(mtlreg.GroupLassoRegressor(alpha=0.01, loss="poisson", intercept_reg=1.0,
                                               **est_kw, **TIGHT), X, y)
    assert np.all(np.isfinite(est.intercept_))
    assert est.intercept_[1] < est.intercept_[[0, 2]].min()  # pulled down, finite
    # optimality of the intercepts with the term: grad_b F + s lambda_t (b_t - b_bar) = 0
    # (in the original coordinates, b_bar the mean of the intercepts)
    blocks = make_blocks(X[:, 1:], y, task_ids=X[:, 0])
    _, gb = data_gradient(blocks, est.coef_.T, est.intercept_, "poisson")
    gb = gb + 1.0 * (est.intercept_ - est.intercept_.mean())
    assert np.abs(gb).max() <= 1e-8


@pytest.mark.parametrize("bad, match", [
    (-1.0, "non-negative targets y"),
    (np.inf, "infinity"),
])
def test_bad_counts_are_errors_naming_y(bad, match):
    X, y, est_kw, _, _ = count_data("per_task", seed=8)
    est = mtlreg.GroupLassoRegressor(alpha=0.01, loss="poisson", **est_kw).fit(X, y)
    coef = est.coef_.copy()
    y = y.copy()
    y[3] = bad
    with pytest.raises(ValueError, match=match):
        est.fit(X, y)
    np.testing.assert_array_equal(est.coef_, coef)  # the previous fit stays


def test_bad_offsets_are_errors():
    X, y, est_kw, _, _ = count_data("per_task", seed=9)
    est = mtlreg.GroupLassoRegressor(alpha=0.01, loss="poisson", **est_kw)
    with pytest.raises(ValueError, match=r"offset has shape \(5,\)"):
        est.fit(X, y, offset=np.zeros(5))
    with pytest.raises(ValueError, match="offset contains NaN"):
        est.fit(X, y, offset=np.full(len(y), np.nan))
    with pytest.raises(ValueError, match="offset is an argument of loss='poisson' only"):
        mtlreg.GroupLassoRegressor(**est_kw).fit(X, y, offset=np.zeros(len(y)))
    with pytest.raises(ValueError, match="offset is an argument of loss='poisson' only"):
        mtlreg.GroupLassoClassifier(**est_kw).fit(X, (y > 1).astype(float),
                                                 offset=np.zeros(len(y)))
    with pytest.raises(ValueError, match="solver='admm'.*'auto', 'newton' or 'fista'"):
        mtlreg.GroupLassoRegressor(loss="poisson", solver="admm", **est_kw).fit(X, y)
    with pytest.raises(ValueError, match="loss"):
        mtlreg.GroupLassoRegressor(loss="gamma").fit(X, y)


def test_fista_with_backtracking_reaches_newton_solution():
    """The Poisson gradient has no global Lipschitz constant: FISTA starts from the
    curvature at the null model and its backtracking doubles it where needed."""
    X, y, est_kw, blocks, sw = count_data("shared", seed=10)
    kw = dict(alpha=0.02, loss="poisson", tol=1e-9, max_iter=20000)
    newton = fit_tight(mtlreg.GroupLassoRegressor(solver="newton", **kw), X, y)
    fista = fit_tight(mtlreg.GroupLassoRegressor(solver="fista", **kw), X, y)
    assert fista.objective_ == pytest.approx(newton.objective_, rel=1e-9)
    np.testing.assert_allclose(fista.coef_, newton.coef_, atol=1e-5)



# ------------------------------------------------------------------ scikit-learn
# check_regressor_multioutput draws its targets with make_regression, negative ones
# included, whatever the positive_only tag (scikit-learn's PoissonRegressor is
# single-output: it never meets that check); multi-output counts are tested above
NEGATIVE_TARGETS = {"check_regressor_multioutput": "negative targets despite positive_only"}


@parametrize_with_checks([mtlreg.GroupLassoRegressor(loss="poisson"),
                          mtlreg.MeanRegularizedRegressor(loss="poisson")],
                         expected_failed_checks=lambda est: NEGATIVE_TARGETS)
def test_poisson_sklearn_compatible(estimator, check):
    """The Poisson configurations pass scikit-learn's checks (``positive_only`` target
    tag: the checks then draw non-negative targets, as for ``PoissonRegressor``)."""
    check(estimator)
