"""Defined behaviours at the edges: unseen tasks (``unseen_tasks``), single-sample tasks,
NaN targets in the per-task layout, and numerics (float32 input, features scaled by
1e-8 and 1e8, constant and duplicated columns, a target constant within a task,
perfectly separable classes)."""

import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from conftest import make_data
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV, KFold

from mtlreg import (
    DirtyClassifier,
    DirtyRegressor,
    GroupLassoClassifier,
    GroupLassoRegressor,
    IndependentClassifier,
    IndependentRegressor,
    MeanRegularizedClassifier,
    MeanRegularizedRegressor,
    MeanRegularizedRegressorCV,
    SparseGroupLassoClassifier,
    SparseGroupLassoRegressor,
    TraceNormClassifier,
    TraceNormRegressor,
)

REGRESSORS = [GroupLassoRegressor, SparseGroupLassoRegressor, TraceNormRegressor,
              DirtyRegressor, IndependentRegressor, MeanRegularizedRegressor]
CLASSIFIERS = [GroupLassoClassifier, SparseGroupLassoClassifier, TraceNormClassifier,
               DirtyClassifier, IndependentClassifier, MeanRegularizedClassifier]
# positively homogeneous penalties (degree 1) and quadratic ones (degree 2) in alpha
HOMOGENEOUS = [GroupLassoRegressor, SparseGroupLassoRegressor, TraceNormRegressor,
               DirtyRegressor]


def _ids(classes):
    return [c.__name__ for c in classes]


# ================================================================= unseen tasks
@pytest.mark.parametrize("Est", [MeanRegularizedRegressor, DirtyRegressor])
def test_unseen_tasks_shared_predicts_with_the_shared_model(Est):
    data = make_data("per_task", "squared", seed=3)
    est = Est(task_column=0, unseen_tasks="shared").fit(data.X, data.y)
    ref = Est(task_column=0).fit(data.X, data.y)
    assert_array_equal(est.coef_, ref.coef_)  # the option changes predictions only
    shared = est.coef_shared_ if Est is DirtyRegressor else est.coef_
    w, b = shared.mean(axis=0), est.intercept_.mean()
    X = data.X.copy()
    X[:5, 0] = 99.0  # a new task for the first five rows
    pred = est.predict(X)
    assert_allclose(pred[:5], data.features[:5] @ w + b, rtol=1e-12)
    assert_allclose(pred[5:], ref.predict(data.X[5:]), rtol=1e-12)
    with pytest.raises(ValueError, match="TaskStratifiedKFold"):
        ref.predict(X)
    # the mean model of the mean-regularized formulation is not a trivial one
    assert np.abs(w).max() > 0.05


def test_unseen_tasks_shared_classifier_probabilities():
    data = make_data("per_task", "logistic", seed=4)
    clf = MeanRegularizedClassifier(task_column=0, unseen_tasks="shared").fit(data.X, data.y)
    X = data.X.copy()
    X[:, 0] = -1.0  # every row from a new task
    z = data.features @ clf.coef_.mean(axis=0) + clf.intercept_.mean()
    assert_allclose(clf.decision_function(X), z, rtol=1e-12)
    assert_allclose(clf.predict_proba(X)[:, 1], 1 / (1 + np.exp(-z)), rtol=1e-12)
    assert 0.0 <= clf.score(X, data.y) <= 1.0


def test_unseen_tasks_shared_in_cross_validation():
    """Unshuffled K-fold on rows sorted by task: every test fold holds a task unseen
    in training; with unseen_tasks="shared" the folds score it with w_bar."""
    data = make_data("per_task", "squared", seed=5, T=4, n=60)
    order = np.argsort(data.task_ids, kind="stable")
    X, y = data.X[order], data.y[order]
    grid = GridSearchCV(MeanRegularizedRegressor(task_column=0, unseen_tasks="shared"),
                        {"alpha": [0.1, 10.0]}, cv=KFold(3), error_score="raise").fit(X, y)
    assert np.all(np.isfinite(grid.cv_results_["mean_test_score"]))
    cv = MeanRegularizedRegressorCV(task_column=0, unseen_tasks="shared", cv=KFold(3),
                                    n_alphas=4, l2_regs=[0.01]).fit(X, y)
    assert np.all(np.isfinite(cv.mse_path_))
    with pytest.raises(ValueError, match="TaskStratifiedKFold"):
        MeanRegularizedRegressorCV(task_column=0, cv=KFold(3), n_alphas=4,
                                   l2_regs=[0.01]).fit(X, y)


# ============================================================ per-task edge cases
def test_nan_target_in_per_task_layout_is_a_missing_label():
    data = make_data("per_task", "squared", seed=6)
    y = data.y.copy()
    y[[0, 5, 9]] = np.nan
    keep = ~np.isnan(y)
    a = GroupLassoRegressor(alpha=0.05, task_column=0, tol=1e-10).fit(data.X, y)
    b = GroupLassoRegressor(alpha=0.05, task_column=0, tol=1e-10).fit(data.X[keep], y[keep])
    assert_allclose(a.coef_, b.coef_, rtol=1e-8, atol=1e-12)
    assert_allclose(a.intercept_, b.intercept_, rtol=1e-8)


@pytest.mark.parametrize("Est", [GroupLassoRegressor, MeanRegularizedRegressor])
def test_single_sample_task(Est):
    data = make_data("per_task", "squared", seed=7)
    X = np.vstack([data.X, np.r_[9.0, data.features[0]]])
    y = np.r_[data.y, 2.5]
    with pytest.warns(UserWarning, match=r"Task\(s\) \[9(\.0)?\] have a single labelled"):
        est = Est(task_column=0).fit(X, y)
    # the intercept fits the sample exactly
    assert_allclose(est.predict(X[-1:]), [2.5], rtol=1e-8)
    if Est is GroupLassoRegressor:
        assert_array_equal(est.coef_[-1], 0.0)
    # without an intercept the sample informs the coefficients: no warning
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        Est(task_column=0, fit_intercept=False).fit(X, y)


@pytest.mark.parametrize("layout_", ["shared", "per_task"])
def test_huge_sample_weights_are_rescaled_exactly(layout_):
    """Only s_i / n_t enters the loss: weights near the float64 maximum (whose per-task
    sums would overflow) give the same fit as the same weights divided by 2^1020."""
    data = make_data(layout_, "squared", seed=15)
    sw = np.linspace(0.5, 2.0, len(data.y))
    kw = {"task_column": data.task_column, "alpha": 0.05}
    a = GroupLassoRegressor(**kw).fit(data.X, data.y, sample_weight=sw)
    b = GroupLassoRegressor(**kw).fit(data.X, data.y, sample_weight=sw * 2.0**1020)
    c = GroupLassoRegressor(**kw, task_weights="samples").fit(
        data.X, data.y, sample_weight=sw * 2.0**1020)
    assert_array_equal(b.coef_, a.coef_)
    assert np.all(np.isfinite(c.coef_))


# ==================================================================== numerics
def _params(Est, **extra):
    params = {"tol": 1e-10, "max_iter": 20000}
    if Est is DirtyRegressor or Est is DirtyClassifier:
        params.update(alpha=0.05, beta=0.03)
    elif Est in (MeanRegularizedRegressor, MeanRegularizedClassifier):
        params.update(alpha=1.0, l2_reg=0.01)
    elif Est in CLASSIFIERS:
        params.update(alpha=0.01)
    else:
        params.update(alpha=0.05)
    params.update(extra)
    return params


@pytest.mark.parametrize("layout_", ["shared", "per_task"])
@pytest.mark.parametrize("Est", REGRESSORS + CLASSIFIERS, ids=_ids(REGRESSORS + CLASSIFIERS))
def test_float32_input(Est, layout_):
    """float32 X, y and weights are accepted: the fit equals the float64 fit of the same
    (rounded) numbers: to 1e-8 for the squared loss with few features (X kept in
    float32, its statistics summed in float64 slice by slice), to the solver's
    tolerance for the logistic loss (X kept in float32, the products with it summed in
    float64 by slices, in another order than one float64 product; see
    test_float32.py), and predict takes float32 too."""
    loss = "logistic" if Est in CLASSIFIERS else "squared"
    data = make_data(layout_, loss, seed=8)
    X32, y32 = data.X.astype(np.float32), data.y.astype(np.float32)
    sw32 = np.linspace(0.5, 1.5, len(data.y), dtype=np.float32)
    kw = {"task_column": data.task_column}
    a = Est(**_params(Est), **kw).fit(X32, y32, sample_weight=sw32)
    b = Est(**_params(Est), **kw).fit(X32.astype(np.float64), y32.astype(np.float64),
                                     sample_weight=sw32.astype(np.float64))
    assert a.coef_.dtype == np.float64
    if loss == "squared":
        assert_allclose(a.coef_, b.coef_, rtol=1e-8, atol=1e-10)
        assert_allclose(a.predict(X32), b.predict(X32.astype(np.float64)), rtol=1e-8,
                        atol=1e-10)
    else:
        assert_allclose(a.coef_, b.coef_, rtol=1e-6, atol=1e-8)
        assert_allclose(a.decision_function(X32), b.decision_function(X32.astype(float)),
                        rtol=1e-6, atol=1e-7)
    if layout_ == "shared":  # sparse float32 too
        c = Est(**_params(Est)).fit(sp.csr_matrix(X32), y32, sample_weight=sw32)
        assert_allclose(c.coef_, b.coef_, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("scale", [1e-8, 1e8])
@pytest.mark.parametrize("layout_", ["shared", "per_task"])
@pytest.mark.parametrize("Est", REGRESSORS, ids=_ids(REGRESSORS))
def test_features_scaled_by_1e8_and_1e_minus_8(Est, layout_, scale):
    """X -> s X with alpha -> s alpha (homogeneous penalties) or s^2 alpha (quadratic
    ones, and l2_reg -> s^2 l2_reg) leaves the objective unchanged with W -> W / s:
    the fit on the scaled features gives coef_ / s and the same predictions."""
    data = make_data(layout_, "squared", seed=9)
    # tol 1e-7: at 1e-8 the intercept gradient's round-off (~1e-16, in the units of y)
    # sits above tighter tol times the gradient scale (~1e-8, in the units of X y)
    p = _params(Est, tol=1e-7)
    power = 1 if Est in HOMOGENEOUS else 2
    q = dict(p, alpha=p["alpha"] * scale**power)
    if "beta" in p:
        q["beta"] = p["beta"] * scale
    if Est is MeanRegularizedRegressor:
        q["l2_reg"] = p["l2_reg"] * scale**2
    Xs = data.X.copy()
    cols = slice(0, None) if layout_ == "shared" else slice(1, None)
    Xs[:, cols] *= scale
    kw = {"task_column": data.task_column}
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        ref = Est(**p, **kw).fit(data.X, data.y)
        est = Est(**q, **kw).fit(Xs, data.y)
    top = np.abs(ref.coef_).max()
    assert_allclose(est.coef_ * scale, ref.coef_, rtol=1e-4, atol=1e-5 * top)
    assert_allclose(est.predict(Xs), ref.predict(data.X), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("Est", REGRESSORS, ids=_ids(REGRESSORS))
def test_features_of_very_different_scales(Est):
    """One feature times 1e8, another times 1e-8: the solver still converges (no
    ConvergenceWarning at the default max_iter) to a finite solution."""
    data = make_data("per_task", "squared", seed=10)
    X = data.X.copy()
    X[:, 1] *= 1e8
    X[:, 2] *= 1e-8
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        est = Est(**dict(_params(Est), tol=1e-6, max_iter=1000), task_column=0).fit(X, data.y)
    assert np.all(np.isfinite(est.coef_)) and np.all(np.isfinite(est.intercept_))
    assert est.stop_crit_ <= 1e-6 * 1e8 * np.abs(data.y).max() * 10


@pytest.mark.parametrize("layout_", ["shared", "per_task"])
@pytest.mark.parametrize("Est", REGRESSORS + CLASSIFIERS, ids=_ids(REGRESSORS + CLASSIFIERS))
def test_constant_column(Est, layout_):
    """A constant feature (centred away by the intercept) gets a zero coefficient and
    leaves the others as without it."""
    loss = "logistic" if Est in CLASSIFIERS else "squared"
    data = make_data(layout_, loss, seed=11)
    X = np.column_stack([data.X, np.full(len(data.X), 3.7)])
    kw = {"task_column": data.task_column}
    a = Est(**_params(Est), **kw).fit(X, data.y)
    b = Est(**_params(Est), **kw).fit(data.X, data.y)
    assert_allclose(a.coef_[:, -1], 0.0, atol=1e-10)
    assert_allclose(a.coef_[:, :-1], b.coef_, rtol=1e-5, atol=1e-8)
    assert_allclose(a.intercept_ + 3.7 * a.coef_[:, -1], b.intercept_, rtol=1e-5, atol=1e-8)


NORM_PENALTIES = [GroupLassoRegressor, SparseGroupLassoRegressor, DirtyRegressor]


@pytest.mark.parametrize("Est", REGRESSORS, ids=_ids(REGRESSORS))
def test_duplicated_column(Est):
    """A feature given twice. Row- or entry-separable norms (group lasso, sparse group
    lasso, dirty, l1) cannot tell the copies apart: the same predictions, the copies
    summing to the original coefficient. Quadratic penalties split it equally."""
    data = make_data("shared", "squared", seed=12)
    j = int(np.argmax(np.abs(GroupLassoRegressor(alpha=0.05).fit(data.X, data.y).coef_).sum(0)))
    X = np.column_stack([data.X, data.X[:, j]])
    a = Est(**_params(Est)).fit(X, data.y)
    assert np.all(np.isfinite(a.coef_))
    if Est in NORM_PENALTIES:
        b = Est(**_params(Est)).fit(data.X, data.y)
        assert_allclose(a.predict(X), b.predict(data.X), rtol=1e-5, atol=1e-6)
        assert_allclose(a.coef_[:, j] + a.coef_[:, -1], b.coef_[:, j], rtol=1e-4, atol=1e-6)
    elif Est in (MeanRegularizedRegressor, IndependentRegressor):
        assert_allclose(a.coef_[:, j], a.coef_[:, -1], rtol=1e-6, atol=1e-9)
        assert np.abs(a.coef_[:, j]).max() > 1e-3


@pytest.mark.parametrize("Est", REGRESSORS, ids=_ids(REGRESSORS))
def test_target_constant_within_a_task(Est):
    """A task whose target is constant: its data term is minimal at w_t = 0 with the
    intercept at the constant, which is optimal for every penalty but the
    mean-regularized one (which pulls w_t towards the task mean)."""
    data = make_data("per_task", "squared", seed=13)
    y = data.y.copy()
    y[data.task_ids == 1] = 4.25
    est = Est(**_params(Est), task_column=0).fit(data.X, y)
    assert np.all(np.isfinite(est.coef_))
    if Est is MeanRegularizedRegressor:
        assert np.abs(est.coef_[1]).max() > 0
        return
    assert_allclose(est.coef_[1], 0.0, atol=1e-8)
    assert_allclose(est.intercept_[1], 4.25, rtol=1e-8)
    rows = data.task_ids == 1
    assert_allclose(est.predict(data.X[rows]), 4.25, rtol=1e-8)


def _unbounded(Est):
    if Est is MeanRegularizedClassifier:
        return {"alpha": 1.0, "l2_reg": 0.0}
    if Est is DirtyClassifier:
        return {"alpha": 0.01, "beta": 0.0}
    return {"alpha": 0.0}


@pytest.mark.parametrize("Est", CLASSIFIERS, ids=_ids(CLASSIFIERS))
def test_perfectly_separable_classes(Est):
    """Separable classes with a penalty that leaves a direction free (alpha=0; for
    the mean-regularized model l2_reg=0; for the dirty model beta=0): finite
    coefficients and a warning. With a coercive penalty: no warning."""
    rng = np.random.default_rng(14)
    X = rng.standard_normal((60, 3))
    # one direction separates both tasks (the mean-regularized model leaves w_bar free)
    Y = np.column_stack([X[:, 0] > 0, X[:, 0] > 0.3]).astype(int)
    with pytest.warns(ConvergenceWarning, match=r"task\(s\) \[0, 1\] are perfectly separated"):
        est = Est(**_unbounded(Est)).fit(X, Y)
    assert np.all(np.isfinite(est.coef_)) and np.all(np.isfinite(est.intercept_))
    assert np.all(est.predict(X) == Y)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        Est(**_params(Est, tol=1e-4, max_iter=1000, l2_reg=0.1)).fit(X, Y)


# Fixed by the Newton solver (solver="auto" for the classifiers): its subproblems go to
# ADMM, which eliminates the intercepts exactly and preconditions per feature, and its
# stopping rule judges the intercept gradient on its own scale (lambda_t), not on the W
# gradient's (times 1e8 here). FISTA still fails this (see tests/test_newton.py).
@pytest.mark.parametrize("scale", [1e-8, 1e8])
def test_classifier_features_scaled_by_1e8_and_1e_minus_8(scale):
    data = make_data("shared", "logistic", seed=9)
    ref = GroupLassoClassifier(alpha=0.01, tol=1e-6).fit(data.X, data.y)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        est = GroupLassoClassifier(alpha=0.01 * scale, tol=1e-6).fit(data.X * scale, data.y)
    assert_allclose(est.coef_ * scale, ref.coef_, rtol=1e-3, atol=1e-4)
    assert_allclose(est.intercept_, ref.intercept_, rtol=1e-3, atol=1e-4)


def test_non_finite_solution_is_an_error_and_loses_nothing(monkeypatch):
    """The compiled kernels give inf / NaN on a division by zero (error_model="numpy")
    instead of raising; a solver result that is not finite is refused with a clear
    error, and a previous fit is kept as it was."""
    from mtlreg.linear_model import _base
    from mtlreg.solvers import select_solver

    data = make_data("per_task", "squared", seed=8)
    est = GroupLassoRegressor(task_column=0, alpha=0.1).fit(data.X, data.y)
    coef = est.coef_.copy()

    def poisoned(name, datafit, penalty):
        solve = select_solver(name, datafit, penalty)

        def run(*args, **kwargs):
            result = solve(*args, **kwargs)
            result.W[0, 0] = np.nan
            return result
        return run

    monkeypatch.setattr(_base, "select_solver", poisoned)
    with pytest.raises(FloatingPointError, match="non-finite coefficients"):
        est.set_params(alpha=0.2).fit(data.X, data.y)
    np.testing.assert_array_equal(est.coef_, coef)
