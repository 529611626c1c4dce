"""GroupLassoRegressor / GroupLassoClassifier: correctness against independent references."""

import warnings

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from _cvx_reference import build_problem, cvx_solve, l21_kkt_violations, numpy_gradient, numpy_objective
from conftest import make_data
from numpy.testing import assert_allclose, assert_array_equal
from scipy.special import expit
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import Lasso, MultiTaskLasso

from mtlreg import GroupLassoClassifier, GroupLassoRegressor

TIGHT = dict(tol=1e-10, max_iter=20_000)
# for equivalence tests between two fits (not about the accuracy of one fit)
EQUIV = dict(tol=1e-8, max_iter=5_000)
ESTIMATORS = {"squared": GroupLassoRegressor, "logistic": GroupLassoClassifier}


def _problem(data, **kw):
    return build_problem(data.features, data.y, task_ids=data.task_ids, **kw)


def _our_objective(est, problem, loss, alpha, l2_reg=0.0):
    return numpy_objective(problem, est.coef_.T, est.intercept_, alpha=alpha, loss=loss,
                           l2_reg=l2_reg)


def _fit_and_compare(data, loss, *, frac=0.3, fit_intercept=True, sample_weight=None,
                     task_weights=None, l2_reg=0.0, positive=False, X=None,
                     coef_atol=1e-4, solver="auto"):
    """Fit ours tightly at ``alpha = frac * alpha_max`` and compare with cvxpy."""
    Est = ESTIMATORS[loss]
    est = Est(task_column=data.task_column, fit_intercept=fit_intercept,
              task_weights=task_weights, l2_reg=l2_reg, positive=positive, solver=solver,
              **TIGHT)
    X = data.X if X is None else X
    alpha = frac * est.compute_alpha_max(X, data.y, sample_weight=sample_weight)
    est.set_params(alpha=alpha)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        est.fit(X, data.y, sample_weight=sample_weight)

    problem = _problem(data, sample_weight=sample_weight, task_weights=task_weights)
    W_ref, b_ref, ref = cvx_solve(problem, alpha=alpha, loss=loss,
                                  fit_intercept=fit_intercept, l2_reg=l2_reg,
                                  positive=positive)
    ours = _our_objective(est, problem, loss, alpha, l2_reg)
    # never meaningfully better than the optimum, never meaningfully worse
    assert abs(ours - ref) / abs(ref) <= 1e-6, (ours, ref)
    assert_allclose(est.coef_, W_ref.T, atol=coef_atol)
    if fit_intercept:
        assert_allclose(est.intercept_, b_ref, atol=10 * coef_atol)
    else:
        assert_array_equal(est.intercept_, np.zeros(data.n_tasks))
    # the reported objective is the objective at the returned point
    assert_allclose(est.objective_, ours, rtol=1e-8)
    if positive:
        assert np.all(est.coef_ >= 0)
    return est, problem, alpha


# ---------------------------------------------------------------- cvxpy reference
@pytest.mark.parametrize("fit_intercept", [True, False])
@pytest.mark.parametrize("loss", ["squared", "logistic"])
def test_matches_cvxpy(layout, loss, fit_intercept):
    data = make_data(layout, loss, seed=1)
    est, _, _ = _fit_and_compare(data, loss, fit_intercept=fit_intercept)
    # the problem is non-trivial: some rows are zero, some are not
    row_norms = np.linalg.norm(est.coef_, axis=0)
    assert np.any(row_norms > 1e-3)


@pytest.mark.parametrize("solver", ["fista", "admm", "bcd"])
@pytest.mark.parametrize("fit_intercept", [True, False])
def test_regressor_every_solver_matches_cvxpy(layout, fit_intercept, solver):
    """The squared loss can go to FISTA, ADMM or BCD: all reach the same optimum,
    also with sample weights, task weights, a ridge term and the positivity constraint."""
    data = make_data(layout, "squared", seed=40, d=8)
    sw = np.random.default_rng(5).uniform(0.5, 2.0, size=data.X.shape[0])
    _fit_and_compare(data, "squared", fit_intercept=fit_intercept, solver=solver)
    _fit_and_compare(data, "squared", fit_intercept=fit_intercept, solver=solver,
                     sample_weight=sw, task_weights=[2.0, 1.0, 0.5], l2_reg=0.1,
                     positive=True, frac=0.1)


@pytest.mark.parametrize("solver", ["admm", "bcd"])
def test_classifier_rejects_gram_solvers(solver):
    data = make_data("shared", "logistic", seed=41)
    with pytest.raises(ValueError, match=f"does not support solver='{solver}'.*need the "
                                         "squared loss"):
        GroupLassoClassifier(solver=solver).fit(data.X, data.y)


@pytest.mark.parametrize("loss", ["squared", "logistic"])
def test_matches_cvxpy_sample_weight(layout, loss):
    data = make_data(layout, loss, seed=2)
    sw = np.random.default_rng(0).uniform(0.2, 3.0, size=data.X.shape[0])
    sw[_rows_safe_to_drop(data, 3)] = 0.0  # zero weights are allowed
    _fit_and_compare(data, loss, sample_weight=sw)


def _rows_safe_to_drop(data, k):
    """``k`` rows whose removal leaves every task with >= 2 samples of each label."""
    y = data.y if data.task_ids is None else data.y[:, None]
    groups = np.zeros(len(y), dtype=int) if data.task_ids is None else data.task_ids
    keep = np.ones(len(y), dtype=bool)
    chosen = []
    for i in range(len(y)):
        keep[i] = False
        ok = all(
            np.sum(keep & (groups == g) & (y[:, t] == v)) >= 2
            for g in np.unique(groups) for t in range(y.shape[1])
            for v in (np.unique(y[:, t]) if np.isin(y, [0, 1]).all() else [None])
        ) if np.isin(y, [0, 1]).all() else all(np.sum(keep & (groups == g)) >= 2
                                                for g in np.unique(groups))
        if ok:
            chosen.append(i)
            if len(chosen) == k:
                return np.array(chosen)
        else:
            keep[i] = True
    raise AssertionError("no such rows")


@pytest.mark.parametrize("loss", ["squared", "logistic"])
def test_matches_cvxpy_task_weights_array(layout, loss):
    data = make_data(layout, loss, seed=3)
    _fit_and_compare(data, loss, task_weights=np.array([0.5, 2.0, 1.0]))


def test_matches_cvxpy_task_weights_dict(layout):
    data = make_data(layout, "squared", seed=4)
    # task 1 is unnamed -> weight 1
    _fit_and_compare(data, "squared", task_weights={0: 3.0, 2: 0.25})


@pytest.mark.parametrize("loss", ["squared", "logistic"])
def test_matches_cvxpy_task_weights_samples(loss):
    data = make_data("per_task", loss, seed=5, sizes=[8, 20, 14])
    sw = np.random.default_rng(1).uniform(0.5, 2.0, size=data.X.shape[0])
    _fit_and_compare(data, loss, task_weights="samples", sample_weight=sw)


@pytest.mark.parametrize("loss", ["squared", "logistic"])
def test_matches_cvxpy_nan_in_shared_y(loss):
    data = make_data("shared", loss, seed=6, n=45)
    rng = np.random.default_rng(2)
    y = data.y.copy()
    y[rng.uniform(size=y.shape) < 0.25] = np.nan
    data.y = y
    sw = rng.uniform(0.5, 2.0, size=y.shape[0])
    for fit_intercept in (True, False):
        _fit_and_compare(data, loss, sample_weight=sw, fit_intercept=fit_intercept)
    # sparse X with missing labels (the implicit centring must use the right means)
    X = data.X.copy()
    X[np.abs(X - 1.5) < 0.6] = 0.0
    data.X = data.features = X
    _fit_and_compare(data, loss, sample_weight=sw, X=sp.csr_matrix(X))


@pytest.mark.parametrize("loss", ["squared", "logistic"])
def test_matches_cvxpy_l2_reg(layout, loss):
    data = make_data(layout, loss, seed=7)
    _fit_and_compare(data, loss, l2_reg=0.3)


@pytest.mark.parametrize("loss", ["squared", "logistic"])
def test_matches_cvxpy_positive(layout, loss):
    data = make_data(layout, loss, seed=8)
    est, _, _ = _fit_and_compare(data, loss, positive=True, frac=0.1)
    assert np.any(est.coef_ > 1e-3)


@pytest.mark.parametrize("loss", ["squared", "logistic"])
def test_matches_cvxpy_sparse_csr(layout, loss):
    data = make_data(layout, loss, seed=9)
    X = data.X.copy()
    X[np.abs(X - 1.5) < 0.7] = 0.0  # make it actually sparse (task column kept)
    if data.task_column is not None:
        X[:, 0] = data.task_ids
    data.X = X
    data.features = X if data.task_column is None else X[:, 1:]
    dense, _, _ = _fit_and_compare(data, loss)
    sparse_est, _, _ = _fit_and_compare(data, loss, X=sp.csr_matrix(X))
    assert_allclose(sparse_est.coef_, dense.coef_, atol=1e-7)
    assert_allclose(sparse_est.intercept_, dense.intercept_, atol=1e-6)
    assert_allclose(sparse_est.predict(sp.csr_matrix(X)), dense.predict(X))
    if loss == "logistic":
        assert_allclose(sparse_est.decision_function(sp.csr_matrix(X)),
                        dense.decision_function(X), atol=1e-6)


# ---------------------------------------------------------------- optimality (KKT)
@pytest.mark.parametrize("positive", [False, True])
@pytest.mark.parametrize("loss", ["squared", "logistic"])
def test_kkt_conditions_hold(layout, loss, positive):
    data = make_data(layout, loss, seed=11, d=8)
    l2_reg = 0.05
    est = ESTIMATORS[loss](task_column=data.task_column, tol=1e-9, max_iter=100_000,
                           l2_reg=l2_reg, positive=positive)
    alpha = 0.2 * est.compute_alpha_max(data.X, data.y)
    est.set_params(alpha=alpha).fit(data.X, data.y)
    problem = _problem(data)
    W, b = est.coef_.T, est.intercept_
    G, gb = numpy_gradient(problem, W, b, loss=loss, l2_reg=l2_reg)
    scale = np.abs(numpy_gradient(problem, np.zeros_like(W), b, loss=loss)[0]).max()
    eps = 1e-6 * scale
    zero = np.linalg.norm(W, axis=1) == 0
    assert zero.any() and (~zero).any()  # both kinds of rows are exercised
    viol = l21_kkt_violations(W, G, alpha, positive=positive)
    assert np.all(viol <= eps), viol
    # explicit forms of the two conditions (without positive)
    if not positive:
        nz = ~zero
        Wn = W[nz] / np.linalg.norm(W[nz], axis=1, keepdims=True)
        assert np.all(np.linalg.norm(G[nz] + alpha * Wn, axis=1) <= eps)
        assert np.all(np.linalg.norm(G[zero], axis=1) <= alpha + eps)
    else:
        assert np.all(W >= 0)
    assert_allclose(gb, 0.0, atol=eps)
    assert est.stop_crit_ <= eps  # the reported optimality measure agrees


# ---------------------------------------------------------------- scikit-learn parity
@pytest.mark.parametrize("fit_intercept", [True, False])
def test_parity_multitask_lasso(fit_intercept):
    data = make_data("shared", "squared", seed=12, n=50, d=7, T=4)
    ref = MultiTaskLasso(alpha=0.05, fit_intercept=fit_intercept, tol=1e-14,
                         max_iter=100_000).fit(data.X, data.y)
    ours = GroupLassoRegressor(alpha=0.05, fit_intercept=fit_intercept,
                               **TIGHT).fit(data.X, data.y)
    assert ours.coef_.shape == ref.coef_.shape == (4, 7)
    assert_allclose(ours.coef_, ref.coef_, rtol=1e-5, atol=1e-6)
    assert_allclose(ours.intercept_, ref.intercept_, rtol=1e-5, atol=1e-6)
    assert_allclose(ours.predict(data.X), ref.predict(data.X), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("fit_intercept", [True, False])
def test_parity_lasso_single_task(fit_intercept):
    data = make_data("shared", "squared", seed=13, n=50, d=7, T=1)
    y = data.y[:, 0]
    ref = Lasso(alpha=0.05, fit_intercept=fit_intercept, tol=1e-14,
                max_iter=100_000).fit(data.X, y)
    ours = GroupLassoRegressor(alpha=0.05, fit_intercept=fit_intercept, **TIGHT).fit(data.X, y)
    assert ours.coef_.shape == (1, 7)
    assert_allclose(ours.coef_[0], ref.coef_, rtol=1e-5, atol=1e-6)
    assert_allclose(ours.intercept_[0], ref.intercept_, rtol=1e-5, atol=1e-6)
    pred = ours.predict(data.X)
    assert pred.shape == (50,)
    assert_allclose(pred, ref.predict(data.X), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("fit_intercept", [True, False])
@pytest.mark.parametrize("positive", [False, True])
@pytest.mark.parametrize("loss", ["squared", "logistic"])
def test_alpha_max(layout, loss, fit_intercept, positive):
    data = make_data(layout, loss, seed=14)
    Est = ESTIMATORS[loss]
    est = Est(task_column=data.task_column, fit_intercept=fit_intercept, positive=positive,
              tol=1e-8, max_iter=20_000)
    alpha_max = est.compute_alpha_max(data.X, data.y)
    assert alpha_max > 0
    assert not hasattr(est, "coef_")  # compute_alpha_max does not fit
    est.set_params(alpha=alpha_max).fit(data.X, data.y)
    assert_array_equal(est.coef_, 0.0)
    est.set_params(alpha=1.5 * alpha_max).fit(data.X, data.y)
    assert_array_equal(est.coef_, 0.0)
    est.set_params(alpha=0.99 * alpha_max).fit(data.X, data.y)
    assert np.any(est.coef_ != 0.0)

    # independent value: max_j ||grad_j|| at W = 0 with the optimal null intercept
    problem = _problem(data)
    if fit_intercept:
        b0 = _null_intercepts(problem, loss)
    else:
        b0 = np.zeros(problem.n_tasks)
    G0, _ = numpy_gradient(problem, np.zeros((problem.n_features, problem.n_tasks)), b0,
                           loss=loss)
    if positive:
        G0 = np.minimum(G0, 0.0)
    assert_allclose(alpha_max, np.linalg.norm(G0, axis=1).max(), rtol=1e-8)


def _null_intercepts(problem, loss):
    out = []
    for blk in problem.blocks:
        m = np.sum(blk.c * blk.y) / blk.c.sum()
        out.append(m if loss == "squared" else np.log(m / (1 - m)))
    return np.array(out)


def _stack(X, Y):
    """Shared layout -> per-task layout: T copies of X with a task column."""
    n, T = Y.shape
    task = np.repeat(np.arange(T), n)
    return np.column_stack([task, np.tile(X, (T, 1))]), Y.T.ravel()


@pytest.mark.parametrize("loss", ["squared", "logistic"])
def test_shared_equals_stacked_per_task(loss):
    data = make_data("shared", loss, seed=15)
    Xs, ys = _stack(data.X, data.y)
    Est = ESTIMATORS[loss]
    shared = Est(alpha=0.05 if loss == "squared" else 0.02, tol=1e-10, max_iter=100_000)
    shared.fit(data.X, data.y)
    stacked = Est(alpha=shared.alpha, task_column=0, tol=1e-10, max_iter=100_000)
    stacked.fit(Xs, ys)
    assert_array_equal(stacked.tasks_, np.arange(3))
    assert_allclose(stacked.coef_, shared.coef_, atol=1e-7)
    assert_allclose(stacked.intercept_, shared.intercept_, atol=1e-7)
    assert_allclose(stacked.objective_, shared.objective_, rtol=1e-9)
    # same scaling: the alpha at which everything vanishes is the same
    assert_allclose(Est(task_column=0).compute_alpha_max(Xs, ys),
                    Est().compute_alpha_max(data.X, data.y), rtol=1e-10)


@pytest.mark.parametrize("loss", ["squared", "logistic"])
def test_integer_sample_weight_equals_repeated_rows(layout, loss):
    data = make_data(layout, loss, seed=16)
    sw = np.random.default_rng(3).integers(0, 4, size=data.X.shape[0])
    sw[:2] = 1  # at least some rows kept in every task (by construction below)
    if data.task_ids is not None:
        for t in range(data.n_tasks):
            sw[np.flatnonzero(data.task_ids == t)[:2]] = 1
    else:
        sw[:4] = 1
    Est = ESTIMATORS[loss]
    alpha = 0.03 if loss == "squared" else 0.01
    a = Est(alpha=alpha, task_column=data.task_column, **EQUIV).fit(data.X, data.y,
                                                                    sample_weight=sw)
    rows = np.repeat(np.arange(len(sw)), sw)
    b = Est(alpha=alpha, task_column=data.task_column, **EQUIV).fit(data.X[rows],
                                                                    data.y[rows])
    assert_allclose(a.coef_, b.coef_, atol=1e-7)
    assert_allclose(a.intercept_, b.intercept_, atol=1e-6)
    assert_allclose(a.objective_, b.objective_, rtol=1e-8)


def test_dataframe_task_column_by_name_equals_array():
    data = make_data("per_task", "squared", seed=17)
    cols = ["feat_a", "task"] + [f"f{k}" for k in range(data.features.shape[1] - 1)]
    # the task column in the middle of the frame, by name
    df = pd.DataFrame(np.column_stack([data.features[:, 0], data.task_ids,
                                       data.features[:, 1:]]), columns=cols)
    df["task"] = data.task_ids  # integer labels
    by_name = GroupLassoRegressor(alpha=0.05, task_column="task", **TIGHT).fit(df, data.y)
    by_pos = GroupLassoRegressor(alpha=0.05, task_column=1, **TIGHT).fit(df, data.y)
    arr = GroupLassoRegressor(alpha=0.05, task_column=0, **TIGHT).fit(data.X, data.y)
    for est in (by_name, by_pos):
        assert_allclose(est.coef_, arr.coef_, atol=1e-8)
        assert_allclose(est.intercept_, arr.intercept_, atol=1e-8)
        assert_allclose(est.predict(df), arr.predict(data.X), atol=1e-8)
    assert list(by_name.feature_names_in_) == cols
    assert by_name.n_features_in_ == len(cols)


def test_string_task_labels():
    data = make_data("per_task", "squared", seed=18)
    names = np.array(["zurich", "alpha", "milan"])
    labels = names[data.task_ids]
    df = pd.DataFrame(data.features, columns=[f"f{k}" for k in range(data.features.shape[1])])
    df.insert(0, "city", labels)
    est = GroupLassoRegressor(alpha=0.05, task_column="city", **TIGHT).fit(df, data.y)
    assert_array_equal(est.tasks_, np.sort(names))
    ref = GroupLassoRegressor(alpha=0.05, task_column=0, **TIGHT).fit(data.X, data.y)
    order = np.argsort(names)  # sorted labels -> original integer codes
    assert_allclose(est.coef_, ref.coef_[order], atol=1e-8)
    assert_allclose(est.intercept_, ref.intercept_[order], atol=1e-8)
    assert_allclose(est.predict(df), ref.predict(data.X), atol=1e-8)

    # an object array with the labels in a column works too
    X_obj = np.empty((len(labels), data.features.shape[1] + 1), dtype=object)
    X_obj[:, 0] = labels
    X_obj[:, 1:] = data.features
    est_obj = GroupLassoRegressor(alpha=0.05, task_column=0, **TIGHT).fit(X_obj, data.y)
    assert_array_equal(est_obj.tasks_, np.sort(names))
    assert_allclose(est_obj.coef_, est.coef_, atol=1e-8)

    # dict task weights keyed by the string labels
    w = GroupLassoRegressor(alpha=0.05, task_column="city", task_weights={"milan": 2.0},
                            **TIGHT).fit(df, data.y)
    problem = build_problem(data.features, data.y, task_ids=labels,
                            task_weights={"milan": 2.0})
    assert_allclose(w.objective_, numpy_objective(problem, w.coef_.T, w.intercept_,
                                                  alpha=0.05, loss="squared"), rtol=1e-8)


@pytest.mark.parametrize("sparse", [False, True])
def test_predict_per_task_layout(sparse):
    data = make_data("per_task", "squared", seed=19, T=4)
    X = sp.csr_matrix(data.X) if sparse else data.X
    est = GroupLassoRegressor(alpha=0.02, task_column=0).fit(X, data.y)
    pred = est.predict(X)
    expected = np.array([data.features[i] @ est.coef_[t] + est.intercept_[t]
                         for i, t in enumerate(data.task_ids)])
    assert pred.shape == (data.X.shape[0],)
    assert_allclose(pred, expected, rtol=1e-12, atol=1e-12)
    # predicting on a subset containing only some tasks
    sub = data.task_ids == 2
    assert_allclose(est.predict(data.X[sub]), expected[sub], rtol=1e-12, atol=1e-12)
    assert 0.0 < est.score(data.X, data.y) <= 1.0


def test_predict_shared_layout_shapes():
    data = make_data("shared", "squared", seed=20, T=3)
    est = GroupLassoRegressor(alpha=0.02).fit(data.X, data.y)
    assert est.predict(data.X).shape == (data.X.shape[0], 3)
    assert_allclose(est.predict(data.X), data.X @ est.coef_.T + est.intercept_)
    assert est.coef_.shape == (3, data.X.shape[1])
    assert est.intercept_.shape == (3,)
    assert_array_equal(est.tasks_, np.arange(3))
    assert est.n_tasks_ == 3


def test_score_with_nan_targets_uses_labelled_entries():
    data = make_data("shared", "squared", seed=21)
    est = GroupLassoRegressor(alpha=0.02).fit(data.X, data.y)
    y = data.y.copy()
    y[:5, 1] = np.nan
    from sklearn.metrics import r2_score
    pred = est.predict(data.X)
    expected = np.mean([r2_score(y[~np.isnan(y[:, t]), t], pred[~np.isnan(y[:, t]), t])
                        for t in range(3)])
    assert_allclose(est.score(data.X, y), expected)


# ---------------------------------------------------------------- classifier
def test_classifier_shapes_shared_layout():
    data = make_data("shared", "logistic", seed=22, T=3)
    clf = GroupLassoClassifier(alpha=0.01).fit(data.X, data.y)
    n = data.X.shape[0]
    assert_array_equal(clf.classes_, [0.0, 1.0])
    dec = clf.decision_function(data.X)
    proba = clf.predict_proba(data.X)
    pred = clf.predict(data.X)
    assert dec.shape == proba.shape == pred.shape == (n, 3)
    assert_allclose(dec, data.X @ clf.coef_.T + clf.intercept_)
    assert_allclose(proba, expit(dec))
    assert_array_equal(pred, np.where(dec > 0, 1.0, 0.0))
    assert_allclose(np.exp(clf.predict_log_proba(data.X)), proba)
    assert 0.5 < clf.score(data.X, data.y) <= 1.0


def test_classifier_shapes_single_task_and_per_task():
    data = make_data("shared", "logistic", seed=23, T=1)
    y = data.y[:, 0]
    clf = GroupLassoClassifier(alpha=0.01).fit(data.X, y)
    n = data.X.shape[0]
    dec, proba = clf.decision_function(data.X), clf.predict_proba(data.X)
    assert dec.shape == (n,) and proba.shape == (n, 2)
    assert_allclose(proba.sum(axis=1), 1.0)
    assert_allclose(proba[:, 1], expit(dec))
    assert_allclose(clf.predict_log_proba(data.X), np.log(proba))
    assert_array_equal(clf.predict(data.X), clf.classes_[(dec > 0).astype(int)])

    data = make_data("per_task", "logistic", seed=24, T=3)
    clf = GroupLassoClassifier(alpha=0.01, task_column=0).fit(data.X, data.y)
    n = data.X.shape[0]
    dec, proba = clf.decision_function(data.X), clf.predict_proba(data.X)
    assert dec.shape == (n,) and proba.shape == (n, 2)
    expected = np.einsum("ij,ij->i", data.features, clf.coef_[data.task_ids]) \
        + clf.intercept_[data.task_ids]
    assert_allclose(dec, expected, rtol=1e-12, atol=1e-12)
    assert_allclose(proba[:, 1], expit(dec))
    assert_array_equal(clf.predict(data.X), clf.classes_[(dec > 0).astype(int)])


@pytest.mark.parametrize("layout_", ["shared", "per_task"])
def test_classifier_string_labels(layout_):
    data = make_data(layout_, "logistic", seed=25)
    y_str = np.where(data.y == 1, "spam", "ham")
    clf_str = GroupLassoClassifier(alpha=0.01, task_column=data.task_column,
                                   **EQUIV).fit(data.X, y_str)
    clf_num = GroupLassoClassifier(alpha=0.01, task_column=data.task_column,
                                   **EQUIV).fit(data.X, data.y)
    assert_array_equal(clf_str.classes_, ["ham", "spam"])
    assert_allclose(clf_str.coef_, clf_num.coef_, atol=1e-10)
    pred = clf_str.predict(data.X)
    assert pred.dtype.kind == "U" and set(np.unique(pred)) <= {"ham", "spam"}
    assert_array_equal(pred == "spam", clf_num.predict(data.X) == 1)
    assert clf_str.score(data.X, y_str) == clf_num.score(data.X, data.y)


def test_classifier_positive_class_is_classes_1():
    """Flipping the label meaning flips the sign of the model."""
    data = make_data("shared", "logistic", seed=26, T=2)
    a = GroupLassoClassifier(alpha=0.01, **EQUIV).fit(data.X, data.y)
    b = GroupLassoClassifier(alpha=0.01, **EQUIV).fit(data.X, np.where(data.y == 1, -5, 7))
    assert_array_equal(b.classes_, [-5, 7])  # classes_[1] = 7 = old label 0
    assert_allclose(b.coef_, -a.coef_, atol=1e-8)
    assert_allclose(b.intercept_, -a.intercept_, atol=1e-7)


def test_classifier_nan_labels_shared_layout():
    data = make_data("shared", "logistic", seed=27, n=50)
    y = data.y.copy()
    y[::4, 0] = np.nan
    clf = GroupLassoClassifier(alpha=0.01, **EQUIV).fit(data.X, y)
    problem = build_problem(data.X, y)
    assert_allclose(clf.objective_, numpy_objective(problem, clf.coef_.T, clf.intercept_,
                                                    alpha=0.01, loss="logistic"), rtol=1e-8)
    # NaN entries are ignored by score
    seen = ~np.isnan(y)
    pred = clf.predict(data.X)
    assert_allclose(clf.score(data.X, y), np.mean(pred[seen] == y[seen]))


# ---------------------------------------------------------------- warm start
@pytest.mark.parametrize("loss", ["squared", "logistic"])
def test_warm_start_restarts_at_solution(layout, loss):
    data = make_data(layout, loss, seed=28)
    Est = ESTIMATORS[loss]
    est = Est(alpha=0.02 if loss == "squared" else 0.01, task_column=data.task_column,
              tol=1e-8, max_iter=50_000)
    est.fit(data.X, data.y)
    coef, intercept, n_cold = est.coef_.copy(), est.intercept_.copy(), est.n_iter_
    est.set_params(warm_start=True).fit(data.X, data.y)
    assert est.n_iter_ <= 10 and est.n_iter_ < n_cold  # logistic: Newton, few cold steps
    assert_allclose(est.coef_, coef, atol=1e-7)
    assert_allclose(est.intercept_, intercept, atol=1e-6)
    # without warm_start the solver starts again from scratch
    est.set_params(warm_start=False).fit(data.X, data.y)
    assert est.n_iter_ == n_cold


def test_warm_start_along_path_is_consistent():
    data = make_data("shared", "squared", seed=29)
    warm = GroupLassoRegressor(warm_start=True, tol=1e-10, max_iter=100_000)
    for alpha in (0.5, 0.1, 0.03):
        warm.set_params(alpha=alpha).fit(data.X, data.y)
        cold = GroupLassoRegressor(alpha=alpha, tol=1e-10, max_iter=100_000).fit(data.X,
                                                                                 data.y)
        assert_allclose(warm.coef_, cold.coef_, atol=1e-7)


def test_warm_start_ignored_when_tasks_change():
    data = make_data("per_task", "squared", seed=30, T=3)
    est = GroupLassoRegressor(alpha=0.02, task_column=0, warm_start=True, tol=1e-9,
                              max_iter=50_000).fit(data.X, data.y)
    keep = data.task_ids != 1
    est.fit(data.X[keep], data.y[keep])
    ref = GroupLassoRegressor(alpha=0.02, task_column=0, tol=1e-9,
                              max_iter=50_000).fit(data.X[keep], data.y[keep])
    assert_array_equal(est.tasks_, [0, 2])
    assert_allclose(est.coef_, ref.coef_, atol=1e-7)


# ---------------------------------------------------------------- dtypes and memory
@pytest.mark.parametrize("loss", ["squared", "logistic"])
def test_float32_input(layout, loss):
    data = make_data(layout, loss, seed=31)
    Est = ESTIMATORS[loss]
    ref = Est(alpha=0.02, task_column=data.task_column, tol=1e-8,
              max_iter=50_000).fit(data.X.astype(np.float32).astype(np.float64), data.y)
    est = Est(alpha=0.02, task_column=data.task_column, tol=1e-8,
              max_iter=50_000).fit(data.X.astype(np.float32), data.y.astype(np.float32))
    assert_allclose(est.coef_, ref.coef_, atol=1e-5)
    assert est.coef_.dtype == np.float64
    X32 = data.X.astype(np.float32)
    if loss == "squared":
        assert_allclose(est.predict(X32), ref.predict(X32.astype(np.float64)), atol=1e-4)
    else:
        assert_allclose(est.decision_function(X32),
                        ref.decision_function(X32.astype(np.float64)), atol=1e-4)


@pytest.mark.parametrize("sparse", [False, True])
@pytest.mark.parametrize("loss", ["squared", "logistic"])
def test_readonly_input(layout, loss, sparse):
    data = make_data(layout, loss, seed=32)
    X, y = data.X.copy(), data.y.copy()
    sw = np.ones(X.shape[0])
    if sparse:
        X = sp.csr_matrix(X)
        for a in (X.data, X.indices, X.indptr):
            a.setflags(write=False)
    else:
        X.setflags(write=False)
    y.setflags(write=False)
    sw.setflags(write=False)
    Est = ESTIMATORS[loss]
    est = Est(alpha=0.02, task_column=data.task_column).fit(X, y, sample_weight=sw)
    ref = Est(alpha=0.02, task_column=data.task_column).fit(data.X, data.y)
    assert_allclose(est.coef_, ref.coef_, atol=1e-10)
    est.predict(X)


def test_does_not_modify_inputs(layout):
    data = make_data(layout, "squared", seed=33)
    X, y = data.X.copy(), data.y.copy()
    if layout == "shared":
        y[0, 0] = np.nan
    sw = np.linspace(0.5, 1.5, X.shape[0])
    X0, y0, sw0 = X.copy(), y.copy(), sw.copy()
    est = GroupLassoRegressor(alpha=0.02, task_column=data.task_column)
    est.fit(X, y, sample_weight=sw)
    est.predict(X)
    assert_array_equal(X, X0)
    assert_array_equal(y, y0)
    assert_array_equal(sw, sw0)


def test_convergence_warning_and_attributes():
    data = make_data("shared", "squared", seed=34)
    est = GroupLassoRegressor(alpha=0.01, max_iter=1, tol=1e-12)
    with pytest.warns(ConvergenceWarning, match="did not converge"):
        est.fit(data.X, data.y)
    assert est.n_iter_ == 1
    assert est.stop_crit_ > 0
    assert np.isfinite(est.objective_)


# ---------------------------------------------------------------- invariances
@pytest.mark.parametrize("solver", ["auto", "fista"])
def test_target_scaling_invariance(layout, solver):
    """tol is relative: y -> c y with alpha -> c alpha gives coef -> c coef."""
    data = make_data(layout, "squared", seed=35)
    kw = dict(task_column=data.task_column, tol=1e-9, max_iter=20_000, solver=solver)
    a = GroupLassoRegressor(alpha=0.03, **kw).fit(data.X, data.y)
    for c in (1e-3, 1e4):
        b = GroupLassoRegressor(alpha=0.03 * c, **kw).fit(data.X, c * data.y)
        assert_allclose(b.coef_, c * a.coef_, rtol=1e-6, atol=1e-7 * c)
        assert_allclose(b.intercept_, c * a.intercept_, rtol=1e-6, atol=1e-7 * c)
        assert_allclose(b.objective_, c**2 * a.objective_, rtol=1e-6)


@pytest.mark.parametrize("loss", ["squared", "logistic"])
def test_row_order_and_task_relabelling(loss):
    data = make_data("per_task", loss, seed=36, T=3)
    Est = ESTIMATORS[loss]
    kw = dict(alpha=0.02 if loss == "squared" else 0.01, task_column=0, tol=1e-9,
              max_iter=20_000)
    ref = Est(**kw).fit(data.X, data.y)
    perm = np.random.default_rng(7).permutation(len(data.y))
    est = Est(**kw).fit(data.X[perm], data.y[perm])
    assert_allclose(est.coef_, ref.coef_, atol=1e-7)
    assert_allclose(est.intercept_, ref.intercept_, atol=1e-7)
    # relabel tasks 0, 1, 2 -> 20, 10, 30: tasks_ sorted, coefficients follow their task
    X = data.X.copy()
    X[:, 0] = np.array([20, 10, 30])[data.task_ids]
    est = Est(**kw).fit(X, data.y)
    assert_array_equal(est.tasks_, [10, 20, 30])
    assert_allclose(est.coef_, ref.coef_[[1, 0, 2]], atol=1e-7)
    assert_allclose(est.decision_function(X) if loss == "logistic" else est.predict(X),
                    ref.decision_function(data.X) if loss == "logistic"
                    else ref.predict(data.X), atol=1e-6)
