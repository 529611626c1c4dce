"""The ``*CV`` twins with ``loss="poisson"`` (and its ``offset``) and ``loss="huber"``.

* ``fit(..., offset=)``: every entry of ``deviance_path_`` equals a hand-written loop
  (the same folds; the plain estimator fitted on the training rows with their offset;
  :func:`sklearn.metrics.mean_poisson_deviance` of ``exp(z + offset)`` on the test rows,
  ``z`` computed here from ``coef_`` / ``intercept_``), the chosen ``alpha`` is the
  loop's argmin, the grid starts at the ``alpha_max`` of the data *with* the offset
  (checked by the fits just above / below it), the default second grids use it too;
* a log-exposure offset recovers the rates where the same data without it do not;
* the path of test losses is named after the loss (``mse_path_``, ``deviance_path_``,
  ``huber_path_``); an offset with another loss, a badly shaped offset and Dask input
  with a loss that has no sufficient statistics are refused clearly.
"""

import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import mean_poisson_deviance
from sklearn.model_selection import KFold
from sklearn.utils.estimator_checks import parametrize_with_checks

import mtlreg
from mtlreg.model_selection import TaskStratifiedKFold

TIGHT = dict(tol=1e-12, max_iter=5000)


def count_data(seed=0, n=240, d=4, T=4, exposure_slope=0.8):
    """Per-task counts ``y ~ Poisson(e exp(x . w_t + b_t))``, the log-exposure ``log e``
    tied to the first feature. Returns ``X`` (task column first), ``y``, ``log e``,
    the sample weights and the true ``(W, b)`` and linear predictor ``z``."""
    rng = np.random.default_rng(seed)
    task = rng.integers(0, T, n)
    F = rng.standard_normal((n, d))
    W = 0.4 * rng.standard_normal((d, 1)) + 0.1 * rng.standard_normal((d, T))
    W[-1] = 0.0
    b = 0.2 * rng.standard_normal(T)
    z = np.einsum("ij,ji->i", F, W[:, task]) + b[task]
    log_e = exposure_slope * F[:, 0] + rng.uniform(-1.5, 1.5, n)
    y = rng.poisson(np.exp(z + log_e)).astype(float)
    sw = rng.uniform(0.5, 2.0, n)
    return np.column_stack([task, F]), y, log_e, sw, (W, b), z


def linear_predictor(est, X):
    """``x . w_t + b_t`` from the fitted attributes (per-task layout, task column 0)."""
    t = X[:, 0].astype(int)
    return np.einsum("ij,ij->i", X[:, 1:], est.coef_[t]) + est.intercept_[t]


def quiet_fit(est, *args, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        return est.fit(*args, **kw)


# ------------------------------------------------------------ the offset, fold by fold
def test_cv_with_offset_equals_a_hand_written_loop():
    X, y, off, sw, _, _ = count_data(seed=0)
    folds = list(TaskStratifiedKFold(3).split(X, y))
    kw = dict(loss="poisson", task_column=0, **TIGHT)
    cv = quiet_fit(mtlreg.GroupLassoRegressorCV(n_alphas=6, cv=folds, **kw), X, y, sw,
                   offset=off)
    assert cv.deviance_path_.shape == (6, 3)
    loop = np.empty((6, 3))
    for k, (train, test) in enumerate(folds):
        for a, alpha in enumerate(cv.alphas_):
            est = quiet_fit(mtlreg.GroupLassoRegressor(alpha=alpha, **kw), X[train], y[train],
                            sw[train], offset=off[train])
            mu = np.exp(linear_predictor(est, X[test]) + off[test])
            loop[a, k] = mean_poisson_deviance(y[test], mu, sample_weight=sw[test])
    # warm-started path vs cold fits, both at tol 1e-12: observed 1.1e-13 relative
    np.testing.assert_allclose(cv.deviance_path_, loop, rtol=1e-10)
    assert cv.alpha_ == cv.alphas_[np.argmin(loop.mean(axis=1))]
    # the refit: the plain estimator at the chosen alpha on all rows, with the offset
    ref = quiet_fit(mtlreg.GroupLassoRegressor(alpha=cv.alpha_, **kw), X, y, sw, offset=off)
    np.testing.assert_allclose(cv.coef_, ref.coef_, rtol=1e-9, atol=1e-12)
    mu = np.exp(linear_predictor(ref, X) + off)
    np.testing.assert_allclose(cv.predict(X, offset=off), mu, rtol=1e-9)
    np.testing.assert_allclose(cv.predict(X), mu / np.exp(off), rtol=1e-9)
    assert cv.score(X, y, sw, offset=off) == pytest.approx(ref.score(X, y, sw, offset=off),
                                                           rel=1e-9)
    # the offset changes the losses (a test that could not fail otherwise)
    plain = quiet_fit(mtlreg.GroupLassoRegressorCV(alphas=cv.alphas_, cv=folds, **kw), X, y, sw)
    assert np.all(np.abs(plain.deviance_path_ / cv.deviance_path_ - 1) > 0.1)


def test_grid_starts_at_alpha_max_of_the_data_with_the_offset():
    X, y, off, _, _, _ = count_data(seed=1)
    kw = dict(loss="poisson", task_column=0, **TIGHT)
    cv = quiet_fit(mtlreg.GroupLassoRegressorCV(n_alphas=3, cv=3, **kw), X, y, offset=off)
    top = cv.alphas_[0]
    assert top == pytest.approx(mtlreg.alpha_grid(mtlreg.GroupLassoRegressor(**kw), X, y,
                                                  offset=off, n_alphas=3)[0], rel=1e-14)
    above = quiet_fit(mtlreg.GroupLassoRegressor(alpha=1.001 * top, **kw), X, y, offset=off)
    below = quiet_fit(mtlreg.GroupLassoRegressor(alpha=0.99 * top, **kw), X, y, offset=off)
    assert np.all(above.coef_ == 0) and np.any(below.coef_ != 0)
    # the estimator's own compute_alpha_max takes the offset too: the same number
    assert mtlreg.GroupLassoRegressor(**kw).compute_alpha_max(X, y, offset=off) == pytest.approx(
        top, rel=1e-14)
    # without the offset alpha_max is another number (the exposure is tied to a feature)
    no_offset = mtlreg.GroupLassoRegressor(**kw).compute_alpha_max(X, y)
    assert abs(no_offset / top - 1) > 0.1


def test_default_betas_use_the_offset():
    """``DirtyRegressorCV``'s default betas are 0.5, 0.1, 0.02 times beta_max of the data
    with the offset: with ``B = 0`` (alpha huge), ``S = 0`` just above it, not below."""
    X, y, off, _, _, _ = count_data(seed=2, n=150)
    kw = dict(loss="poisson", task_column=0, **TIGHT)
    cv = quiet_fit(mtlreg.DirtyRegressorCV(n_alphas=2, cv=2, **kw), X, y, offset=off)
    beta_max = cv.betas_[0] / 0.5
    np.testing.assert_allclose(cv.betas_, beta_max * np.array([0.5, 0.1, 0.02]), rtol=1e-15)
    assert mtlreg.DirtyRegressor(**kw).compute_beta_max(X, y, offset=off) == pytest.approx(
        beta_max, rel=1e-14)
    big = 1e3 * beta_max
    above = quiet_fit(mtlreg.DirtyRegressor(alpha=big, beta=1.001 * beta_max, **kw), X, y,
                      offset=off)
    below = quiet_fit(mtlreg.DirtyRegressor(alpha=big, beta=0.99 * beta_max, **kw), X, y,
                      offset=off)
    assert np.all(above.coef_ == 0) and np.any(below.coef_specific_ != 0)
    assert np.all(below.coef_shared_ == 0)


def test_log_exposure_offset_recovers_the_rates():
    """Held-out rates ``exp(x . w_t + b_t)`` (unit exposure) from 400 training rows,
    exposure tied to the first feature (slope 0.8): RMS relative error of the rates 0.154
    with the offset, 2.52 without; the mean over tasks of the first coefficient's error is
    0.006 with the offset, 0.809 without (it absorbs the exposure's slope)."""
    X, y, off, _, (W, _), z = count_data(seed=3, n=800)
    train, test = slice(0, 400), slice(400, None)
    kw = dict(loss="poisson", task_column=0, n_alphas=8, cv=3)
    with_offset = mtlreg.GroupLassoRegressorCV(**kw).fit(X[train], y[train], offset=off[train])
    without = mtlreg.GroupLassoRegressorCV(**kw).fit(X[train], y[train])
    rate = np.exp(z[test])
    errors = [np.sqrt(np.mean((m.predict(X[test]) / rate - 1) ** 2)) for m in (with_offset, without)]
    assert errors[0] * 5 < errors[1]  # observed 16x
    drift = [np.mean(m.coef_[:, 0] - W[0]) for m in (with_offset, without)]
    assert abs(drift[0]) < 0.1 and abs(drift[1] - 0.8) < 0.1  # observed 0.006, 0.009


@pytest.mark.parametrize("name, second", [
    ("GroupLassoRegressorCV", None), ("DirtyRegressorCV", "betas_"),
    ("FusedGroupLassoRegressorCV", "betas_"), ("GraphRegularizedRegressorCV", "rhos_"),
    ("MeanRegularizedRegressorCV", "l2_regs_"), ("RobustMultiTaskRegressorCV", "betas_"),
])
def test_constant_offset_only_shifts_the_intercepts(name, second):
    """Log link: an offset ``c`` on every row is the intercept ``b - c``, so the grids
    (``alpha_max``; the default second grids: beta_max, rho from the curvature), the
    test deviances and ``coef_`` are those without offset and ``intercept_`` moves by
    ``-c``. Observed (tol 1e-10): grids equal to 6e-16, paths to 8.6e-8 relative
    (dirty; others <= 3.3e-10), coef to 1.5e-11, intercepts to 4.7e-11."""
    X, y, _, _, _, _ = count_data(seed=11, n=120)
    kw = dict(loss="poisson", task_column=0, n_alphas=3, cv=2, tol=1e-10, max_iter=5000)
    cls = getattr(mtlreg, name)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        plain = cls(**kw).fit(X, y)
        shifted = cls(**kw).fit(X, y, offset=np.full(len(y), 0.7))
    np.testing.assert_allclose(shifted.alphas_, plain.alphas_, rtol=1e-12)
    if second is not None:
        np.testing.assert_allclose(getattr(shifted, second), getattr(plain, second), rtol=1e-12)
    np.testing.assert_allclose(shifted.deviance_path_, plain.deviance_path_, rtol=1e-6)
    np.testing.assert_allclose(shifted.coef_, plain.coef_, rtol=0, atol=1e-9)
    np.testing.assert_allclose(shifted.intercept_, plain.intercept_ - 0.7, rtol=0, atol=1e-9)


# ------------------------------------------------------------------- refusals
@pytest.mark.parametrize("loss", ["squared_error", "huber"])
def test_offset_with_another_loss_is_refused_and_keeps_the_previous_fit(loss):
    X, y, off, _, _, _ = count_data(seed=4, n=90)
    cv = mtlreg.GroupLassoRegressorCV(loss=loss, task_column=0, n_alphas=2, cv=2).fit(X, y)
    coef = cv.coef_.copy()
    with pytest.raises(ValueError, match=rf"offset is an argument of loss='poisson' only; "
                                         rf"GroupLassoRegressorCV has loss='{loss}'"):
        cv.fit(X, y, offset=off)
    np.testing.assert_array_equal(cv.coef_, coef)
    with pytest.raises(ValueError, match="offset is an argument of loss='poisson' only"):
        cv.predict(X, offset=off)


def test_offset_of_a_classifier_cv_is_refused():
    rng = np.random.default_rng(5)
    X = np.column_stack([rng.integers(0, 2, 60), rng.standard_normal((60, 3))])
    y = (X[:, 1] + rng.standard_normal(60) > 0).astype(int)
    with pytest.raises(ValueError, match="offset is an argument of loss='poisson' only; "
                                         "GroupLassoClassifierCV has the logistic loss"):
        mtlreg.GroupLassoClassifierCV(task_column=0, n_alphas=2, cv=2).fit(X, y,
                                                                        offset=np.zeros(60))


@pytest.mark.parametrize("bad, match", [(np.zeros(10), r"offset has shape \(10,\): expected \(90,\)"),
                                        (np.zeros((90, 2)), r"offset has shape \(90, 2\)"),
                                        (np.full(90, np.nan), "offset contains NaN")])
def test_bad_offset_is_refused_before_any_fold(bad, match):
    X, y, _, _, _, _ = count_data(seed=4, n=90)
    cv = mtlreg.GroupLassoRegressorCV(loss="poisson", task_column=0, alphas=[0.1, 0.01], cv=2)
    with pytest.raises(ValueError, match=match):
        cv.fit(X, y, offset=bad)
    assert not hasattr(cv, "coef_")


def test_shared_layout_offset_per_task_column():
    """Shared design: an ``(n, T)`` offset, sliced by rows; equal to the per-task loop."""
    rng = np.random.default_rng(6)
    n, d, T = 120, 3, 2
    F = rng.standard_normal((n, d))
    off = rng.uniform(-1, 1, (n, T))
    Y = rng.poisson(np.exp(0.3 * F @ rng.standard_normal((d, T)) + off)).astype(float)
    folds = list(KFold(3).split(F))
    cv = quiet_fit(mtlreg.TraceNormRegressorCV(loss="poisson", n_alphas=3, cv=folds, **TIGHT),
                   F, Y, offset=off)
    for k, (train, test) in enumerate(folds):
        for a, alpha in enumerate(cv.alphas_):
            est = quiet_fit(mtlreg.TraceNormRegressor(alpha=alpha, loss="poisson", **TIGHT),
                            F[train], Y[train], offset=off[train])
            mu = np.exp(F[test] @ est.coef_.T + est.intercept_ + off[test])
            # the mean over the entries of all tasks (as the *CV's test loss)
            ref = mean_poisson_deviance(Y[test].ravel(), mu.ravel())
            assert cv.deviance_path_[a, k] == pytest.approx(ref, rel=1e-9)


# --------------------------------------------------------- the path's name
def test_path_of_test_losses_is_named_after_the_loss():
    X, y, _, _, _, _ = count_data(seed=7, n=120)
    kw = dict(task_column=0, n_alphas=3, cv=3)
    squared = mtlreg.GroupLassoRegressorCV(**kw).fit(X, np.log1p(y))
    assert squared.mse_path_.shape == (3, 3) and not hasattr(squared, "deviance_path_")
    huber = mtlreg.GroupLassoRegressorCV(loss="huber", epsilon=0.5, **kw).fit(X, np.log1p(y))
    assert huber.huber_path_.shape == (3, 3)
    with pytest.raises(AttributeError, match=r"no mse_path_: its test losses \(loss='huber'\) "
                                             "are in huber_path_"):
        huber.mse_path_
    # a refit with another loss leaves no stale path behind
    squared.set_params(loss="poisson").fit(X, y)
    assert squared.deviance_path_.shape == (3, 3)
    assert not hasattr(squared, "mse_path_") and not hasattr(squared, "huber_path_")


def test_huber_path_is_the_mean_huber_loss_of_each_fold():
    X, y, _, sw, _, _ = count_data(seed=8, n=120)
    y = np.log1p(y)
    folds = list(TaskStratifiedKFold(2).split(X, y))
    kw = dict(loss="huber", epsilon=0.5, task_column=0, **TIGHT)
    cv = quiet_fit(mtlreg.GroupLassoRegressorCV(n_alphas=3, cv=folds, **kw), X, y, sw)
    for k, (train, test) in enumerate(folds):
        for a, alpha in enumerate(cv.alphas_):
            est = quiet_fit(mtlreg.GroupLassoRegressor(alpha=alpha, **kw), X[train], y[train],
                            sw[train])
            r = np.abs(y[test] - linear_predictor(est, X[test]))
            huber = np.where(r <= 0.5, 0.5 * r * r, 0.5 * r - 0.125)
            assert cv.huber_path_[a, k] == pytest.approx(np.average(huber, weights=sw[test]),
                                                         rel=1e-9)


# ------------------------------------------------------------------- Dask
@pytest.mark.parametrize("loss", ["poisson", "huber"])
def test_dask_cv_refusal_names_the_loss(loss):
    da = pytest.importorskip("dask.array")
    X, y, _, _, _, _ = count_data(seed=9, n=60)
    cv = mtlreg.GroupLassoRegressorCV(loss=loss, task_column=0, n_alphas=2, cv=2)
    with pytest.raises(NotImplementedError, match=f"loss='{loss}' has no sufficient statistics"):
        cv.fit(da.from_array(X, chunks=30), da.from_array(y, chunks=30))


# ------------------------------------------------------- scikit-learn's checks
# as test_path_cv's regressors (eps=0.3: the checks' data are small; tol 1e-10 for the
# sample-weight equivalence checks, weighted vs repeated rows from different starts).
# The Poisson twin has the positive_only tag of its estimator (was the default loss's);
# check_regressor_multioutput draws negative targets whatever the tag (test_counts).
def _negative_targets(est):
    return ({"check_regressor_multioutput": "negative targets despite positive_only"}
            if est.loss == "poisson" else {})


@parametrize_with_checks([
    mtlreg.GroupLassoRegressorCV(loss="poisson", n_alphas=3, cv=3, eps=0.3, tol=1e-10),
    mtlreg.GroupLassoRegressorCV(loss="huber", n_alphas=3, cv=3, eps=0.3, tol=1e-10),
], expected_failed_checks=_negative_targets)
def test_sklearn_compatible_cv_with_other_losses(estimator, check):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        check(estimator)


def test_intercept_regs_search_with_offset():
    """``intercept_regs`` adds a leading axis; its entry for ``intercept_reg=0`` is the
    search without ``intercept_regs`` (same folds, same offset), exactly."""
    X, y, off, _, _, _ = count_data(seed=10, n=150)
    kw = dict(loss="poisson", task_column=0, n_alphas=3, cv=2)
    both = mtlreg.GroupLassoRegressorCV(intercept_regs=[0.0, 1.0], **kw).fit(X, y, offset=off)
    free = mtlreg.GroupLassoRegressorCV(**kw).fit(X, y, offset=off)
    assert both.deviance_path_.shape == (2, 3, 2)
    np.testing.assert_array_equal(both.deviance_path_[0], free.deviance_path_)
    assert not np.allclose(both.deviance_path_[1], free.deviance_path_, rtol=1e-3)
