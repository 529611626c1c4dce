"""Regularization paths, the ``*CV`` estimators and ``TaskStratifiedKFold``.

What is checked, on small problems (the whole file runs in well under a minute):

* every solution of a warm-started path equals a cold ``fit`` at the same
  parameters (one- and two-parameter paths, both layouts, regression and
  classification) and meets the solver's optimality threshold;
* the path starts at ``alpha_max`` with every coefficient zero, and warm starts
  cost fewer iterations than cold fits;
* the ``*CV`` estimators choose what a hand-written ``GridSearchCV`` of cold fits
  chooses (same folds, same scores), and agree with scikit-learn's
  ``MultiTaskLassoCV`` where the models coincide;
* ``n_jobs`` does not change the result;
* ``TaskStratifiedKFold`` keeps every task in every training fold;
* scikit-learn's estimator checks on the twelve ``*CV`` estimators.
"""

import warnings

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import MultiTaskLassoCV
from sklearn.model_selection import GridSearchCV, KFold, cross_val_score
from sklearn.utils.estimator_checks import parametrize_with_checks

import mtlreg
from mtlreg import (
    DirtyClassifierCV,
    DirtyRegressor,
    DirtyRegressorCV,
    GroupLassoClassifier,
    GroupLassoClassifierCV,
    GroupLassoRegressor,
    GroupLassoRegressorCV,
    IndependentClassifierCV,
    IndependentRegressor,
    IndependentRegressorCV,
    MeanRegularizedClassifierCV,
    MeanRegularizedRegressor,
    MeanRegularizedRegressorCV,
    SparseGroupLassoClassifier,
    SparseGroupLassoClassifierCV,
    SparseGroupLassoRegressor,
    SparseGroupLassoRegressorCV,
    TraceNormClassifier,
    TraceNormClassifierCV,
    TraceNormRegressor,
    TraceNormRegressorCV,
    alpha_grid,
    regularization_path,
)
from mtlreg.model_selection import TaskStratifiedKFold

TIGHT = dict(tol=1e-8, max_iter=100_000)


# --------------------------------------------------------------------------- data
def shared_problem(n=40, d=6, T=3, seed=0, loss="squared", correlation=0.0, offset=1.0):
    """Shared design ``X (n, d)`` (non-centred features), targets ``Y (n, T)``."""
    rng = np.random.default_rng(seed)
    F = rng.standard_normal((n, d))
    if correlation:
        F = F * np.sqrt(1 - correlation) + np.sqrt(correlation) * rng.standard_normal((n, 1))
    F = F + offset
    W = np.zeros((d, T))
    support = rng.choice(d, max(1, d // 2), replace=False)
    W[support] = rng.standard_normal((len(support), T))
    Z = F @ W + rng.standard_normal(T)
    if loss == "squared":
        return F, Z + 0.3 * rng.standard_normal(Z.shape)
    Zc = Z - Z.mean(axis=0)
    Y = (rng.uniform(size=Z.shape) < 1 / (1 + np.exp(-2 * Zc))).astype(np.float64)
    Y[:2] = [[0.0] * T, [1.0] * T]  # both classes in every task
    return F, Y


def per_task_problem(sizes=(14, 9, 17, 12), d=5, seed=0, loss="squared", sort=False):
    """Per-task layout: task id in column 0 of ``X``, rows of the tasks interleaved
    (or sorted by task with ``sort=True``)."""
    rng = np.random.default_rng(seed)
    T = len(sizes)
    task = np.repeat(np.arange(T), sizes)
    if not sort:
        rng.shuffle(task)
    F = rng.standard_normal((len(task), d)) + 0.5
    W = np.zeros((d, T))
    W[: max(1, d // 2)] = rng.standard_normal((max(1, d // 2), T))
    z = np.einsum("ij,ji->i", F, W[:, task]) + rng.standard_normal(T)[task]
    X = np.column_stack([task.astype(np.float64), F])
    if loss == "squared":
        return X, z + 0.3 * rng.standard_normal(len(z))
    zc = z - np.mean(z)
    y = (rng.uniform(size=len(z)) < 1 / (1 + np.exp(-2 * zc))).astype(np.int64)
    for t in range(T):
        rows = np.flatnonzero(task == t)
        y[rows[:2]] = [0, 1]
    return X, y


def _fit_quietly(est, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        return est.fit(*args, **kwargs)


# ---------------------------------------------------------- path against cold fits
# (id, estimator, loss, second parameter of a two-parameter path)
FAMILY = [
    ("group_lasso", GroupLassoRegressor(**TIGHT), "squared", None),
    ("sparse_group_lasso", SparseGroupLassoRegressor(l1_ratio=0.5, **TIGHT), "squared", None),
    ("trace_norm", TraceNormRegressor(**TIGHT), "squared", None),
    ("dirty", DirtyRegressor(beta=0.1, **TIGHT), "squared", None),
    ("mean_regularized", MeanRegularizedRegressor(l2_reg=0.01, **TIGHT), "squared", None),
    ("independent_l2", IndependentRegressor(penalty="l2", **TIGHT), "squared", None),
    ("independent_l1", IndependentRegressor(penalty="l1", **TIGHT), "squared", None),
    ("group_lasso_clf", GroupLassoClassifier(**TIGHT), "logistic", None),
    ("trace_norm_clf", TraceNormClassifier(**TIGHT), "logistic", None),
    ("dirty_beta", DirtyRegressor(**TIGHT), "squared", ("beta", [0.05, 0.2])),
    ("sgl_l1_ratio", SparseGroupLassoRegressor(**TIGHT), "squared", ("l1_ratio", [0.3, 0.7])),
    ("mean_reg_l2_reg", MeanRegularizedRegressor(**TIGHT), "squared", ("l2_reg", [0.01, 0.1])),
]


def _problem(loss, layout):
    if layout == "shared":
        return shared_problem(loss=loss)
    return per_task_problem(loss=loss)


def _assert_path_matches_cold_fits(est, X, y, second, n_alphas=6):
    path = regularization_path(est, X, y, n_alphas=n_alphas, second=second)
    G = 1 if second is None else len(second[1])
    T = path.coefs.shape[2]
    assert path.alphas.shape == (G, n_alphas)
    assert path.coefs.shape[:2] == (G, n_alphas)
    assert path.intercepts.shape == (G, n_alphas, T)
    assert path.stop_crits.shape == path.n_iters.shape == (G, n_alphas)
    assert np.all(np.diff(path.alphas, axis=1) < 0), "alphas must decrease"
    assert np.all(path.stop_crits <= path.tol_abs)
    scale = max(np.abs(path.coefs).max(), 1.0)
    for g in range(G):
        for a, alpha in enumerate(path.alphas[g]):
            cold = clone(est).set_params(alpha=alpha)
            if second is not None:
                cold.set_params(**{second[0]: second[1][g]})
            _fit_quietly(cold, X, y)
            where = f"{second[0] + '=' + str(second[1][g]) if second else ''} alpha={alpha:.4g}"
            np.testing.assert_allclose(path.coefs[g, a], cold.coef_, rtol=0,
                                       atol=1e-5 * scale, err_msg=where)
            np.testing.assert_allclose(path.intercepts[g, a], cold.intercept_, rtol=0,
                                       atol=1e-5 * scale, err_msg=where)
    return path


@pytest.mark.parametrize("name, est, loss, second", FAMILY, ids=[f[0] for f in FAMILY])
def test_path_matches_cold_fits_shared(name, est, loss, second):
    X, y = _problem(loss, "shared")
    _assert_path_matches_cold_fits(est, X, y, second)


PER_TASK = [f for f in FAMILY if f[0] in ("group_lasso", "dirty_beta", "mean_reg_l2_reg",
                                          "trace_norm_clf", "independent_l1")]


@pytest.mark.parametrize("name, est, loss, second", PER_TASK, ids=[f[0] for f in PER_TASK])
def test_path_matches_cold_fits_per_task(name, est, loss, second):
    X, y = _problem(loss, "per_task")
    path = _assert_path_matches_cold_fits(clone(est).set_params(task_column=0), X, y, second)
    np.testing.assert_array_equal(path.tasks, np.arange(4))


@pytest.mark.parametrize("name, est, second", [
    ("sparse_group_lasso", SparseGroupLassoRegressor(**TIGHT), ("l1_ratio", [0.3, 0.7])),
    ("dirty", DirtyRegressor(**TIGHT), ("beta", [0.05, 0.2])),
    ("mean_regularized", MeanRegularizedRegressor(**TIGHT), ("l2_reg", [0.01, 0.1])),
])
def test_two_parameter_grid_is_per_second_value(name, est, second):
    """Each value of the second parameter has its own grid, from its own alpha_max."""
    X, y = shared_problem()
    path = regularization_path(est, X, y, n_alphas=4, eps=1e-2, second=second)
    assert path.second_name == second[0]
    np.testing.assert_array_equal(path.second_values, second[1])
    for g, value in enumerate(second[1]):
        expected = alpha_grid(est, X, y, n_alphas=4, eps=1e-2, **{second[0]: value})
        np.testing.assert_allclose(path.alphas[g], expected, rtol=1e-12)
        # quadratic penalties (no alpha_max) span eps**2 (see alpha_grid)
        ratio = 1e-4 if name == "mean_regularized" else 1e-2
        np.testing.assert_allclose(path.alphas[g, -1] / path.alphas[g, 0], ratio)
        if name != "mean_regularized":
            alpha_max = clone(est).set_params(**{second[0]: value}).compute_alpha_max(X, y)
            np.testing.assert_allclose(path.alphas[g, 0], alpha_max, rtol=1e-12)


def test_explicit_alphas_are_sorted_and_shared():
    X, y = shared_problem()
    alphas = [0.01, 0.3, 0.1]
    path = regularization_path(SparseGroupLassoRegressor(**TIGHT), X, y, alphas=alphas,
                               second=("l1_ratio", [0.2, 0.9]))
    np.testing.assert_array_equal(path.alphas, [[0.3, 0.1, 0.01]] * 2)


# ------------------------------------------------------------ alpha_max and zeros
ZERO_AT_ALPHA_MAX = [
    ("group_lasso", GroupLassoRegressor, {}, "squared"),
    ("sparse_group_lasso", SparseGroupLassoRegressor, {"l1_ratio": 0.5}, "squared"),
    ("trace_norm", TraceNormRegressor, {}, "squared"),
    ("independent_l1", IndependentRegressor, {"penalty": "l1"}, "squared"),
    ("group_lasso_clf", GroupLassoClassifier, {}, "logistic"),
    ("trace_norm_clf", TraceNormClassifier, {}, "logistic"),
    ("sparse_group_lasso_clf", SparseGroupLassoClassifier, {"l1_ratio": 0.5}, "logistic"),
]


@pytest.mark.parametrize("name, cls, params, loss", ZERO_AT_ALPHA_MAX,
                         ids=[z[0] for z in ZERO_AT_ALPHA_MAX])
def test_path_starts_at_alpha_max_with_zero_coefficients(name, cls, params, loss):
    """``alphas[0] == compute_alpha_max`` and every coefficient there is exactly 0
    ("the smallest alpha for which every coefficient is zero"), on a few problems
    of both layouts; and below it the model is no longer zero."""
    failures = []
    for seed in range(4):
        for layout in ("shared", "per_task"):
            if layout == "shared":
                X, y = shared_problem(n=30, d=5, seed=seed, loss=loss)
                est = cls(tol=1e-8, **params)
            else:
                X, y = per_task_problem(sizes=(8, 11, 9), d=5, seed=seed, loss=loss)
                est = cls(tol=1e-8, task_column=0, **params)
            path = regularization_path(est, X, y, n_alphas=3, eps=0.5)
            np.testing.assert_allclose(path.alphas[0, 0], est.compute_alpha_max(X, y),
                                       rtol=1e-12)
            assert np.any(path.coefs[0, -1] != 0)
            n_nonzero = np.count_nonzero(path.coefs[0, 0])
            if n_nonzero:
                failures.append(f"{layout} seed={seed}: {n_nonzero} non-zero coefficients, "
                                f"largest {np.abs(path.coefs[0, 0]).max():.1e}")
    assert not failures, "at alpha = alpha_max: " + "; ".join(failures)


def test_dirty_path_starts_with_zero_shared_part():
    """Dirty: alpha_max refers to the shared part B (zero at alphas[0]); with
    beta >= beta_max the whole model is zero there."""
    X, y = shared_problem()
    beta_max = DirtyRegressor().compute_beta_max(X, y)
    d = X.shape[1]
    path = regularization_path(DirtyRegressor(**TIGHT), X, y, n_alphas=3, eps=0.1,
                               second=("beta", [0.2 * beta_max, beta_max]))
    parts = path.extra["variables"]  # (G, A, 2 d, T): [B; S]
    assert parts.shape == (2, 3, 2 * d, y.shape[1])
    assert not np.any(parts[:, 0, :d]), "B must be 0 at alpha_max"
    assert np.any(parts[0, 0, d:]), "S is active for beta < beta_max"
    assert not np.any(path.coefs[1, 0]), "everything is 0 for alpha_max, beta_max"
    np.testing.assert_allclose(path.coefs, parts[:, :, :d].transpose(0, 1, 3, 2)
                               + parts[:, :, d:].transpose(0, 1, 3, 2), atol=1e-14)


@pytest.mark.parametrize("name, est, loss, second", [
    ("group_lasso", GroupLassoRegressor(tol=1e-6, max_iter=100_000), "squared", None),
    ("sparse_group_lasso", SparseGroupLassoRegressor(tol=1e-6, max_iter=100_000), "squared",
     ("l1_ratio", [0.5])),
    ("trace_norm", TraceNormRegressor(tol=1e-6, max_iter=100_000), "squared", None),
    ("dirty", DirtyRegressor(tol=1e-6, max_iter=100_000), "squared", ("beta", [0.1])),
    ("independent_l1", IndependentRegressor(penalty="l1", tol=1e-6, max_iter=100_000),
     "squared", None),
    ("group_lasso_clf", GroupLassoClassifier(tol=1e-6, max_iter=100_000), "logistic", None),
], ids=["group_lasso", "sparse_group_lasso", "trace_norm", "dirty", "independent_l1",
        "group_lasso_clf"])
def test_warm_started_path_needs_fewer_iterations_than_cold_fits(name, est, loss, second):
    """An iteration count (not a timing): the sum of the path's iterations is below
    the sum of the cold fits' ``n_iter_`` on a 30-alpha grid."""
    X, y = shared_problem(n=50, d=20, T=4, loss=loss, correlation=0.8, seed=1)
    path = regularization_path(est, X, y, n_alphas=30, second=second)
    cold = 0
    for g in range(path.alphas.shape[0]):
        for alpha in path.alphas[g]:
            e = clone(est).set_params(alpha=alpha)
            if second is not None:
                e.set_params(**{second[0]: second[1][g]})
            cold += _fit_quietly(e, X, y).n_iter_
    assert path.n_iters.sum() < cold, (path.n_iters.sum(), cold)


def test_path_verbose_prints_one_line_per_solution(capsys):
    X, y = shared_problem()
    regularization_path(SparseGroupLassoRegressor(), X, y, n_alphas=3,
                        second=("l1_ratio", [0.2, 0.8]), verbose=1)
    lines = [line for line in capsys.readouterr().out.splitlines() if line.startswith("[path]")]
    assert len(lines) == 6
    assert all("alpha=" in line and "l1_ratio=" in line for line in lines)
    regularization_path(SparseGroupLassoRegressor(), X, y, n_alphas=3)
    assert capsys.readouterr().out == ""


# --------------------------------------------------------- CV against a hand loop
def _grid_search_mse(est, grid, X, y, cv):
    search = GridSearchCV(est, grid, cv=cv, scoring="neg_mean_squared_error")
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        search.fit(X, y)
    return search


def test_group_lasso_cv_matches_grid_search_and_multitask_lasso_cv():
    X, Y = shared_problem(n=50, d=8, T=3, seed=3)
    alpha_max = GroupLassoRegressor().compute_alpha_max(X, Y)
    alphas = alpha_max * np.geomspace(0.5, 0.005, 6)
    cv = KFold(5)
    est = GroupLassoRegressorCV(alphas=alphas, cv=cv, **TIGHT)
    _fit_quietly(est, X, Y)
    assert est.mse_path_.shape == (6, 5)
    np.testing.assert_array_equal(est.alphas_, alphas)  # already decreasing

    search = _grid_search_mse(GroupLassoRegressor(**TIGHT), {"alpha": alphas}, X, Y, cv)
    np.testing.assert_allclose(est.mse_path_.mean(axis=1),
                               -search.cv_results_["mean_test_score"], rtol=1e-5)
    for k in range(5):
        np.testing.assert_allclose(est.mse_path_[:, k],
                                   -search.cv_results_[f"split{k}_test_score"], rtol=1e-5)
    assert est.alpha_ == search.best_params_["alpha"]

    # the same model as scikit-learn's MultiTaskLasso (shared design, unit weights)
    sk = MultiTaskLassoCV(alphas=alphas, cv=cv, tol=1e-12, max_iter=100_000).fit(X, Y)
    np.testing.assert_allclose(sk.alphas_, est.alphas_)
    np.testing.assert_allclose(est.mse_path_, sk.mse_path_, rtol=1e-5)
    assert est.alpha_ == pytest.approx(sk.alpha_, rel=1e-12)
    np.testing.assert_allclose(est.coef_, sk.coef_, atol=1e-6)
    np.testing.assert_allclose(est.intercept_, sk.intercept_, atol=1e-6)

    # refit on all the data at the chosen alpha
    assert isinstance(est.estimator_, GroupLassoRegressor)
    assert est.estimator_.alpha == est.alpha_
    np.testing.assert_array_equal(est.coef_, est.estimator_.coef_)
    np.testing.assert_allclose(est.predict(X), search.best_estimator_.predict(X), atol=1e-6)


def test_default_grid_matches_alpha_grid_and_multitask_lasso_cv():
    X, Y = shared_problem(n=50, d=8, T=3, seed=4)
    est = _fit_quietly(GroupLassoRegressorCV(n_alphas=5, eps=1e-2, cv=KFold(3), **TIGHT), X, Y)
    np.testing.assert_allclose(est.alphas_, alpha_grid(GroupLassoRegressor(), X, Y, n_alphas=5,
                                                       eps=1e-2), rtol=1e-12)
    sk = MultiTaskLassoCV(alphas=est.alphas_, cv=KFold(3), tol=1e-12, max_iter=100_000).fit(X, Y)
    np.testing.assert_allclose(est.mse_path_, sk.mse_path_, rtol=1e-5)
    assert est.alpha_ == pytest.approx(sk.alpha_)


def test_dirty_cv_matches_grid_search_over_alpha_and_beta():
    # a grid where the best (alpha, beta) has both parts active and is unique (for
    # alpha <= beta, S = 0 whatever beta: such cells tie)
    X, Y = shared_problem(n=40, d=5, T=3, seed=6)
    beta_max = DirtyRegressor().compute_beta_max(X, Y)
    alpha_max = DirtyRegressor().compute_alpha_max(X, Y)
    alphas = alpha_max * np.array([0.3, 0.1, 0.03])
    betas = beta_max * np.array([0.1, 0.03])
    cv = KFold(5)
    est = _fit_quietly(DirtyRegressorCV(alphas=alphas, betas=betas, cv=cv, **TIGHT), X, Y)
    assert est.mse_path_.shape == (2, 3, 5)
    assert est.alphas_.shape == (2, 3)
    np.testing.assert_array_equal(est.betas_, betas)
    search = _grid_search_mse(DirtyRegressor(**TIGHT), {"alpha": alphas, "beta": betas},
                              X, Y, cv)
    res = search.cv_results_
    for g, beta in enumerate(betas):
        for a, alpha in enumerate(alphas):
            i = np.flatnonzero((res["param_alpha"] == alpha) & (res["param_beta"] == beta))
            assert len(i) == 1
            np.testing.assert_allclose(est.mse_path_[g, a].mean(), -res["mean_test_score"][i[0]],
                                       rtol=1e-5)
    assert np.any(est.coef_shared_) and np.any(est.coef_specific_)
    assert est.alpha_ == search.best_params_["alpha"]
    assert est.beta_ == search.best_params_["beta"]
    assert est.estimator_.get_params()["beta"] == est.beta_
    np.testing.assert_allclose(est.coef_shared_ + est.coef_specific_, est.coef_)


def test_dirty_cv_default_betas_are_relative_to_beta_max():
    X, Y = shared_problem(n=30, d=4, T=3, seed=6)
    est = DirtyRegressorCV(n_alphas=2, cv=KFold(2)).fit(X, Y)
    beta_max = DirtyRegressor().compute_beta_max(X, Y)
    np.testing.assert_allclose(est.betas_, beta_max * np.array([0.5, 0.1, 0.02]))
    assert est.mse_path_.shape == (3, 2, 2)
    assert est.beta_ in est.betas_


@pytest.mark.parametrize("cls, second, values", [
    (SparseGroupLassoRegressorCV, "l1_ratio", [0.3, 0.7]),
    (MeanRegularizedRegressorCV, "l2_reg", [0.01, 0.1]),
])
def test_two_parameter_cv_per_task_matches_grid_search(cls, second, values):
    X, y = per_task_problem(seed=7)
    base = cls._estimator_class(task_column=0, **TIGHT)
    alphas = [1.0, 0.1, 0.01] if second == "l2_reg" else (
        base.compute_alpha_max(X, y) * np.array([0.5, 0.1, 0.01]))
    cv = TaskStratifiedKFold(3, task_column=0)
    est = _fit_quietly(cls(alphas=alphas, cv=cv, task_column=0, **{second + "s": values},
                           **TIGHT), X, y)
    assert est.mse_path_.shape == (2, 3, 3)
    search = _grid_search_mse(base, {"alpha": alphas, second: values}, X, y, cv)
    res = search.cv_results_
    for g, value in enumerate(values):
        for a, alpha in enumerate(np.sort(alphas)[::-1]):
            i = np.flatnonzero((res["param_alpha"] == alpha) & (res[f"param_{second}"] == value))
            np.testing.assert_allclose(est.mse_path_[g, a].mean(), -res["mean_test_score"][i[0]],
                                       rtol=1e-5)
    assert est.alpha_ == search.best_params_["alpha"]
    assert getattr(est, second + "_") == search.best_params_[second]


def test_per_task_cv_matches_grid_search_with_task_stratified_folds():
    X, y = per_task_problem(sizes=(15, 10, 21, 12, 9), seed=8)
    alphas = GroupLassoRegressor(task_column=0).compute_alpha_max(X, y) * np.geomspace(0.8, 0.01, 5)
    cv = TaskStratifiedKFold(3, task_column=0)
    est = _fit_quietly(GroupLassoRegressorCV(alphas=alphas, cv=cv, task_column=0, **TIGHT), X, y)
    search = _grid_search_mse(GroupLassoRegressor(task_column=0, **TIGHT), {"alpha": alphas},
                              X, y, cv)
    np.testing.assert_allclose(est.mse_path_.mean(axis=1), -search.cv_results_["mean_test_score"],
                               rtol=1e-5)
    assert est.alpha_ == search.best_params_["alpha"]
    np.testing.assert_array_equal(est.tasks_, np.arange(5))
    np.testing.assert_allclose(est.predict(X), search.predict(X), atol=1e-6)


def test_per_task_classifier_cv_matches_grid_search_log_loss():
    X, y = per_task_problem(sizes=(30, 24, 36), seed=9, loss="logistic")
    alpha_max = GroupLassoClassifier(task_column=0).compute_alpha_max(X, y)
    alphas = alpha_max * np.array([0.5, 0.1, 0.02])
    cv = TaskStratifiedKFold(3, task_column=0)
    est = _fit_quietly(GroupLassoClassifierCV(alphas=alphas, cv=cv, task_column=0, **TIGHT), X, y)
    assert est.log_loss_path_.shape == (3, 3)
    assert not hasattr(est, "mse_path_")
    search = GridSearchCV(GroupLassoClassifier(task_column=0, **TIGHT), {"alpha": alphas}, cv=cv,
                          scoring="neg_log_loss").fit(X, y)
    np.testing.assert_allclose(est.log_loss_path_.mean(axis=1),
                               -search.cv_results_["mean_test_score"], rtol=1e-6)
    assert est.alpha_ == search.best_params_["alpha"]
    np.testing.assert_array_equal(est.classes_, [0, 1])
    np.testing.assert_allclose(est.predict_proba(X), search.predict_proba(X), atol=1e-6)


def test_mse_is_mean_over_labelled_entries():
    """Shared layout with missing labels (NaN): the fold loss averages the squared
    errors over the labelled test entries only."""
    X, Y = shared_problem(n=45, d=5, T=3, seed=10)
    Y[np.random.default_rng(0).uniform(size=Y.shape) < 0.2] = np.nan
    alphas = GroupLassoRegressor().compute_alpha_max(X, Y) * np.array([0.3, 0.03])
    cv = KFold(3)
    est = _fit_quietly(GroupLassoRegressorCV(alphas=alphas, cv=cv, **TIGHT), X, Y)
    for k, (train, test) in enumerate(cv.split(X)):
        for a, alpha in enumerate(alphas):
            model = _fit_quietly(GroupLassoRegressor(alpha=alpha, **TIGHT), X[train], Y[train])
            err = (Y[test] - model.predict(X[test])) ** 2
            np.testing.assert_allclose(est.mse_path_[a, k], np.nanmean(err), rtol=1e-5)


def test_cv_with_default_settings_converges_on_a_small_per_task_problem():
    """Default solver and max_iter: every solution of every fold's path (down to
    1e-3 alpha_max) reaches tol on a tiny per-task problem (training folds with 6
    to 10 rows per task, 5 features), as FISTA does in under 200 iterations."""
    X, y = per_task_problem(sizes=(12, 9, 15), seed=16)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        GroupLassoRegressorCV(task_column=0, n_alphas=3, cv=3).fit(X, y)
        GroupLassoRegressorCV(task_column=0, n_alphas=3, cv=3, solver="fista").fit(X, y)


def test_n_jobs_does_not_change_the_result():
    X, y = per_task_problem(sizes=(20, 14, 17), seed=11)
    kw = dict(task_column=0, n_alphas=5, cv=3, tol=1e-6)
    serial = GroupLassoRegressorCV(n_jobs=1, **kw).fit(X, y)
    parallel = GroupLassoRegressorCV(n_jobs=2, **kw).fit(X, y)
    assert serial.alpha_ == parallel.alpha_
    np.testing.assert_array_equal(serial.mse_path_, parallel.mse_path_)
    np.testing.assert_array_equal(serial.coef_, parallel.coef_)

    Xc, yc = per_task_problem(sizes=(30, 24, 36), seed=12, loss="logistic")
    kw = dict(task_column=0, n_alphas=3, cv=3, l1_ratios=[0.3, 0.8], tol=1e-6)
    serial = SparseGroupLassoClassifierCV(n_jobs=1, **kw).fit(Xc, yc)
    parallel = SparseGroupLassoClassifierCV(n_jobs=2, **kw).fit(Xc, yc)
    assert (serial.alpha_, serial.l1_ratio_) == (parallel.alpha_, parallel.l1_ratio_)
    np.testing.assert_array_equal(serial.log_loss_path_, parallel.log_loss_path_)


def test_cv_verbose_prints_progress(capsys):
    X, y = per_task_problem(seed=13)
    GroupLassoRegressorCV(task_column=0, n_alphas=3, cv=3).fit(X, y)
    quiet = capsys.readouterr()
    assert quiet.out == "" and quiet.err == ""
    GroupLassoRegressorCV(task_column=0, n_alphas=3, cv=3, verbose=1).fit(X, y)
    loud = capsys.readouterr()
    assert (loud.out + loud.err).strip()


# -------------------------------------------------------------- TaskStratifiedKFold
SIZES = {"a": 1, "b": 2, "c": 3, "d": 7, "e": 12, "f": 5}


def _task_column(seed=0):
    rng = np.random.default_rng(seed)
    tasks = np.concatenate([[t] * n for t, n in SIZES.items()])
    return tasks[rng.permutation(len(tasks))]


@pytest.mark.parametrize("shuffle", [False, True])
def test_task_stratified_kfold_properties(shuffle):
    tasks = _task_column()
    codes = np.unique(tasks, return_inverse=True)[1]
    X = np.column_stack([codes.astype(float), np.arange(len(tasks), dtype=float)])
    cv = TaskStratifiedKFold(5, task_column=0, shuffle=shuffle,
                             random_state=0 if shuffle else None)
    assert cv.get_n_splits(X) == 5
    folds = list(cv.split(X))
    assert len(folds) == 5
    tested = np.concatenate([test for _, test in folds])
    # test folds are disjoint; every row is in some test fold except single-row tasks
    assert len(tested) == len(np.unique(tested))
    single = np.flatnonzero(tasks == "a")
    np.testing.assert_array_equal(np.sort(tested), np.setdiff1d(np.arange(len(tasks)), single))
    for train, test in folds:
        np.testing.assert_array_equal(np.sort(np.concatenate([train, test])),
                                      np.arange(len(tasks)))
        assert set(tasks[train]) == set(SIZES), "every task in every training fold"
        assert not np.isin(single, test).any(), "a 1-row task is never tested"
    for task, n in SIZES.items():
        rows = np.flatnonzero(tasks == task)
        per_fold = [np.isin(rows, test).sum() for _, test in folds]
        if n < 5:  # each row in a distinct test fold
            assert max(per_fold) <= 1
        assert max(per_fold) - min(per_fold) <= 1, "rows spread evenly over the folds"
    if shuffle:
        again = list(TaskStratifiedKFold(5, task_column=0, shuffle=True,
                                         random_state=0).split(X))
        for (_, t1), (_, t2) in zip(folds, again):
            np.testing.assert_array_equal(t1, t2)


def test_task_stratified_kfold_dataframe_and_names():
    pd = pytest.importorskip("pandas")
    tasks = _task_column(seed=1)
    df = pd.DataFrame({"x": np.arange(len(tasks), dtype=float), "school": tasks})
    codes = np.unique(tasks, return_inverse=True)[1]
    arr = np.column_stack([np.arange(len(tasks), dtype=float), codes])
    by_name = list(TaskStratifiedKFold(4, task_column="school").split(df))
    by_index = list(TaskStratifiedKFold(4, task_column=1).split(df))
    on_array = list(TaskStratifiedKFold(4, task_column=1).split(arr))
    for (tr1, te1), (tr2, te2), (tr3, te3) in zip(by_name, by_index, on_array):
        np.testing.assert_array_equal(te1, te2)
        np.testing.assert_array_equal(te1, te3)
        np.testing.assert_array_equal(tr1, tr3)
    with pytest.raises(ValueError, match="DataFrame"):
        list(TaskStratifiedKFold(4, task_column="school").split(arr))
    with pytest.raises(ValueError):
        TaskStratifiedKFold(1)


def test_task_stratified_kfold_in_grid_search_and_cross_val_score():
    X, y = per_task_problem(sizes=(12, 9, 15, 10), seed=14, sort=True)
    est = GroupLassoRegressor(task_column=0, alpha=0.05)
    # plain KFold on rows sorted by task tests tasks the model has never seen
    with pytest.raises(ValueError, match="[Uu]nknown task"):
        cross_val_score(est, X, y, cv=KFold(4), error_score="raise")
    cv = TaskStratifiedKFold(4, task_column=0)
    scores = cross_val_score(est, X, y, cv=cv, error_score="raise")
    assert scores.shape == (4,) and np.all(np.isfinite(scores))
    search = GridSearchCV(est, {"alpha": [0.01, 0.1]}, cv=cv, error_score="raise").fit(X, y)
    assert search.best_params_["alpha"] in (0.01, 0.1)
    assert np.all(np.isfinite(search.cv_results_["mean_test_score"]))


def test_int_cv_of_per_task_cv_estimator_is_task_stratified():
    X, y = per_task_problem(sizes=(12, 9, 15, 10), seed=15, sort=True)
    by_int = GroupLassoRegressorCV(task_column=0, n_alphas=4, cv=3).fit(X, y)
    explicit = GroupLassoRegressorCV(task_column=0, n_alphas=4,
                                     cv=TaskStratifiedKFold(3, task_column=0)).fit(X, y)
    np.testing.assert_array_equal(by_int.mse_path_, explicit.mse_path_)
    assert by_int.alpha_ == explicit.alpha_
    default = GroupLassoRegressorCV(task_column=0, n_alphas=4).fit(X, y)
    assert default.mse_path_.shape == (4, 5)


def test_per_task_cv_with_dataframe_and_string_tasks():
    """task_column by name on a DataFrame with text task labels: same folds, same
    losses as the numeric array (labels sorted like the codes)."""
    pd = pytest.importorskip("pandas")
    X, y = per_task_problem(sizes=(12, 9, 15), seed=16)
    names = np.array(["school_a", "school_b", "school_c"])[X[:, 0].astype(int)]
    df = pd.DataFrame(X[:, 1:], columns=[f"f{j}" for j in range(X.shape[1] - 1)])
    df.insert(2, "school", names)
    on_array = GroupLassoRegressorCV(task_column=0, n_alphas=3, cv=3).fit(X, y)
    on_frame = GroupLassoRegressorCV(task_column="school", n_alphas=3, cv=3).fit(df, y)
    np.testing.assert_allclose(on_frame.alphas_, on_array.alphas_, rtol=1e-12)
    np.testing.assert_allclose(on_frame.mse_path_, on_array.mse_path_, rtol=1e-9)
    assert on_frame.alpha_ == pytest.approx(on_array.alpha_, rel=1e-12)
    assert list(on_frame.tasks_) == ["school_a", "school_b", "school_c"]
    np.testing.assert_allclose(on_frame.predict(df), on_array.predict(X), atol=1e-8)


# ----------------------------------------------------------- scikit-learn checks
# Small settings (3 alphas, 3 folds, tol=1e-8). The grids are kept short of the
# ill-conditioned end: the checks' data often have more features than samples,
# where solutions far down the path need thousands of iterations (a slow test)
# and, from two different starts, agree only to ~1e-7, which is exactly what
# check_sample_weight_equivalence_* compares (weighted vs repeated rows, rtol
# 1e-7). Hence eps=0.3 (regressors, trace-norm classifier) or 0.5 (the other
# sparse classifiers) and, for the mean-regularized classifier, l2_regs >= 0.1.
# The ridge-like grids (independent l2, mean-regularized) start at 100 x the
# curvature of the data term and span eps**2, so that their smallest alpha still
# fits the data (check_regressors_train asks for a good score); for the
# independent classifier eps=0.03 keeps that span near 1e-3, short of the nearly
# unregularized logistic fits that the sample-weight checks cannot compare.
_SMALL = dict(n_alphas=3, cv=3, tol=1e-8)
_REG = dict(_SMALL, eps=0.3)
_CLF = dict(_SMALL, eps=0.5)
# A 10x margin on the sample-weight checks' rtol (1e-7): the weighted and repeated-row
# fits start from different points, so their predictions differ by about the solvers'
# tolerance. Measured (scikit-learn 1.9.1, fraction of the rtol used, dense / sparse):
# at tol 1e-8 the group lasso regressor 6e-7 / 0.21, the classifiers of group lasso
# 0.68 / 0.69, trace norm 2.9 / 0.18 (a failure), sparse group 0.57 / 0.10, temporal
# 0.59 / 0.45, fused 0.40 / 0.43, the dirty regressor 8e-7 / 0.16; at 1e-10
# (regressors: ADMM) or 1e-11 (classifiers: Newton, quadratic near the optimum) all of
# them <= 0.007. Hence _REG_TIGHT and _CLF_TIGHT below.
_REG_TIGHT = dict(_REG, tol=1e-10)
_CLF_TIGHT = dict(_CLF, tol=1e-11)
CV_ESTIMATORS = [
    GroupLassoRegressorCV(**_REG_TIGHT),
    GroupLassoClassifierCV(**_CLF_TIGHT),
    TraceNormRegressorCV(**_REG),
    TraceNormClassifierCV(**dict(_REG, tol=1e-11)),
    IndependentRegressorCV(**_SMALL),
    # tols below (independent, mean-regularized, graph 1e-10; dirty 1e-12; robust 1e-11):
    # with three classes in the sample-weight checks (the multiclass tag) the fractions
    # of their rtol used were 0.10 / 0.28-0.31 / 0.35-0.38 / 0.19 / 0.12 (dense / sparse
    # max), short of the 10x margin; now <= 7e-5 / 0.0021 / 0.033 / 0.032 / 0.038
    IndependentClassifierCV(**dict(_SMALL, eps=0.03, tol=1e-10)),
    # (at tol 1e-9 the sparse check used 0.11 of its rtol)
    SparseGroupLassoRegressorCV(l1_ratios=[0.3, 0.7], **_REG_TIGHT),
    SparseGroupLassoClassifierCV(l1_ratios=[0.3, 0.7], **_CLF_TIGHT),
    DirtyRegressorCV(betas=[0.5, 5.0], **_REG_TIGHT),
    # with Newton at 1e-8 the weighted and repeated-row fits differ by 6e-7 relative in
    # one probability, at 1e-10 the sparse check used 0.13 of its rtol
    DirtyClassifierCV(betas=[0.01, 0.1], **dict(_CLF, tol=1e-12)),
    MeanRegularizedRegressorCV(l2_regs=[0.01, 0.1], **_SMALL),
    MeanRegularizedClassifierCV(l2_regs=[0.1, 1.0], **dict(_SMALL, tol=1e-10)),
    mtlreg.GraphRegularizedRegressorCV(rhos=[0.1, 1.0], **_REG),
    # cv=2 (as SparseTraceNormClassifierCV below): 12 path solves per fit instead of 18
    mtlreg.GraphRegularizedClassifierCV(rhos=[0.1, 1.0], **dict(_CLF, cv=2, tol=1e-10)),
    mtlreg.TemporalGroupLassoRegressorCV(rhos=[0.1, 1.0], **_REG),
    mtlreg.TemporalGroupLassoClassifierCV(rhos=[0.1, 1.0], **_CLF_TIGHT),
    mtlreg.FusedGroupLassoRegressorCV(betas=[0.01, 0.1], **_REG),
    mtlreg.FusedGroupLassoClassifierCV(betas=[0.001, 0.01], **_CLF_TIGHT),
    mtlreg.RobustMultiTaskRegressorCV(betas=[0.5, 5.0], **_REG),
    # tol 1e-10, as the dirty classifier: Newton with ADMM on the stacked [P; Q] at 1e-8
    # left the weighted and repeated-row fits just over the check's rtol
    mtlreg.RobustMultiTaskClassifierCV(betas=[0.01, 0.1], **dict(_CLF, tol=1e-11)),
    mtlreg.RobustFeatureLearningRegressorCV(betas=[0.5, 5.0], **_REG),
    mtlreg.RobustFeatureLearningClassifierCV(betas=[0.01, 0.1], **dict(_CLF, tol=1e-10)),
    mtlreg.ClusteredRegressorCV(etas=[0.1, 1.0], **_SMALL),
    # one l1_ratio and two alphas: its prox is iterative (FISTA on the dual, an SVD per
    # step), and with the full grid these two took a fifth of the suite's time
    mtlreg.SparseTraceNormRegressorCV(l1_ratios=[0.5], **dict(_REG, n_alphas=2)),
    # tol 1e-11: the sample-weight checks now fit three classes (the multiclass tag);
    # measured fraction of their rtol used: 2.1 / 2.4 at tol 1e-8, 0.04 / 6e-4 at 1e-11.
    # cv=2: each fit is 3 Newton solves with an iterative prox (was 4 with cv=3); the
    # sample-weight checks set their own folds (same fractions), the others test the API.
    # Its 64 checks: 36 s -> 30 s (load ~4-5)
    mtlreg.SparseTraceNormClassifierCV(l1_ratios=[0.5], **dict(_CLF, n_alphas=2, cv=2, tol=1e-11)),
    mtlreg.ClusteredClassifierCV(etas=[0.1, 1.0], **_SMALL),
]


@parametrize_with_checks(CV_ESTIMATORS)
def test_sklearn_compatible_cv_estimator(estimator, check):
    """No expected failures: none of the checks is at odds with what a CV estimator
    is (the sample-weight checks use fixed LeaveOneGroupOut folds for estimators
    with a ``cv`` parameter, and scikit-learn's own ``MultiTaskLassoCV`` passes)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        check(estimator)


def test_all_cv_estimators_are_exported():
    names = sorted(type(e).__name__ for e in CV_ESTIMATORS)
    assert names == sorted(mtlreg._CV)
    for est in CV_ESTIMATORS:
        base = type(est)._estimator_class
        params = set(est.get_params())
        second = type(est)._second
        tuned = {"alpha"} | ({second[0]} if second else set())
        assert {"alphas", "n_alphas", "eps", "cv", "n_jobs", "verbose"} <= params
        assert set(base().get_params()) - tuned <= params
        assert not (tuned & params)
