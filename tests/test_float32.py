"""The float32 policy: a dense float32 ``X`` is kept float32 (never copied to float64
as a whole). With ``n_features + 1 <= 256`` (squared loss) its per-task statistics are
accumulated in float64 and the solvers run in float64 on them; otherwise (and for the
logistic loss) the layout keeps ``X`` float32 and the design-based solvers read it as
it is, every product accumulated in float64."""

import tracemalloc
import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning

from mtlreg import (
    DirtyRegressor,
    GroupLassoClassifier,
    GroupLassoRegressor,
    MeanRegularizedRegressor,
    SparseGroupLassoRegressor,
    TraceNormRegressor,
)
from mtlreg.datasets import make_multitask_regression

TIGHT = dict(tol=1e-10, max_iter=100_000)


@pytest.mark.parametrize("Est, params", [(GroupLassoRegressor, dict(alpha=0.05)),
                                         (DirtyRegressor, dict(alpha=0.05, beta=0.03)),
                                         (MeanRegularizedRegressor, dict(alpha=0.5))])
def test_float32_per_task_agrees_with_float64(Est, params):
    X, y = make_multitask_regression([60, 45, 80], 6, 3, layout="per_task", noise=0.5,
                                     random_state=0)
    X = X + [0, 3.0, 0, 0, -2.0, 0, 0]  # uncentred features
    X32 = X.astype(np.float32)
    est32 = Est(task_column=0, **TIGHT, **params).fit(X32, y)
    # the same numbers in float64: the same problem, to the solvers' precision
    same = Est(task_column=0, **TIGHT, **params).fit(X32.astype(np.float64), y)
    np.testing.assert_allclose(est32.coef_, same.coef_, rtol=0, atol=1e-8)
    np.testing.assert_allclose(est32.intercept_, same.intercept_, rtol=0, atol=1e-8)
    # the original float64 data: they differ by float32 rounding only
    ref = Est(task_column=0, **TIGHT, **params).fit(X, y)
    scale = np.abs(ref.coef_).max()
    assert np.abs(est32.coef_ - ref.coef_).max() <= 1e-5 * scale
    assert est32.coef_.dtype == np.float64
    np.testing.assert_allclose(est32.predict(X32), ref.predict(X), rtol=0, atol=1e-4)


def test_float32_shared_with_missing_labels():
    rng = np.random.default_rng(1)
    X, Y = make_multitask_regression(300, 8, 4, noise=0.5, random_state=1)
    Y[rng.random(Y.shape) < 0.2] = np.nan
    sw = rng.uniform(0.5, 2, len(X))
    X32 = X.astype(np.float32)
    est32 = GroupLassoRegressor(alpha=0.02, **TIGHT).fit(X32, Y, sample_weight=sw)
    same = GroupLassoRegressor(alpha=0.02, **TIGHT).fit(X32.astype(float), Y, sample_weight=sw)
    np.testing.assert_allclose(est32.coef_, same.coef_, rtol=0, atol=1e-8)
    np.testing.assert_allclose(est32.intercept_, same.intercept_, rtol=0, atol=1e-8)


def test_float32_fit_does_not_copy_X_to_float64():
    rng = np.random.default_rng(2)
    n, d = 600_000, 20
    X32 = rng.standard_normal((n, d), dtype=np.float32)
    y = X32[:, :3].sum(axis=1) + rng.standard_normal(n)
    tracemalloc.start()
    GroupLassoRegressor(alpha=0.01).fit(X32, y)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 0.75 * n * d * 8  # below one float64 copy of X (96 MB)


def test_float32_logistic_small_d_equals_same_numbers_in_float64():
    X, y = make_multitask_regression(120, 4, 2, noise=0.5, random_state=3)
    labels = (y > np.median(y, axis=0)).astype(int)
    a = GroupLassoClassifier(alpha=0.01, **TIGHT).fit(X.astype(np.float32), labels)
    b = GroupLassoClassifier(alpha=0.01, **TIGHT).fit(X.astype(np.float32).astype(float),
                                                       labels)
    np.testing.assert_allclose(a.coef_, b.coef_, rtol=1e-8, atol=1e-10)


# ------------------------------------------------------------ n_features + 1 > 256:
# no Gram form; X stays float32 in the layout and the design-based solvers (BCD on the
# design, FISTA; squared and logistic loss) read it as it is, accumulating in float64.
WIDE = 300


def _wide_shared(n=150, T=3, seed=4):
    X, Y = make_multitask_regression(n, WIDE, T, n_informative=10, noise=0.5,
                                     random_state=seed)
    return X + 1.5, Y  # uncentred: the implicit centring is exercised


@pytest.mark.parametrize("Est, params, solver", [
    (GroupLassoRegressor, dict(alpha=0.05), "auto"),  # working-set BCD on the design
    (GroupLassoRegressor, dict(alpha=0.05), "fista"),
    (SparseGroupLassoRegressor, dict(alpha=0.05, l1_ratio=0.5), "auto"),
    (TraceNormRegressor, dict(alpha=0.05), "auto"),
])
def test_float32_wide_shared_agrees_with_float64(Est, params, solver):
    X, Y = _wide_shared()
    X32 = X.astype(np.float32)
    est32 = Est(solver=solver, **TIGHT, **params).fit(X32, Y)
    same = Est(solver=solver, **TIGHT, **params).fit(X32.astype(np.float64), Y)
    # same numbers: the same problem, solved to the same tol (the stopping rule is
    # not loosened by float32: every accumulation is float64)
    scale = np.abs(same.coef_).max()
    assert scale > 0
    np.testing.assert_allclose(est32.coef_, same.coef_, rtol=0, atol=1e-7 * scale)
    np.testing.assert_allclose(est32.intercept_, same.intercept_, rtol=0, atol=1e-7)
    # the original float64 data: they differ by the float32 rounding of X only
    ref = Est(solver=solver, **TIGHT, **params).fit(X, Y)
    assert np.abs(est32.coef_ - ref.coef_).max() <= 1e-4 * scale
    np.testing.assert_allclose(est32.predict(X32), ref.predict(X), rtol=0, atol=1e-3)


@pytest.mark.parametrize("Est, params", [(GroupLassoRegressor, dict(alpha=0.02)),
                                         (MeanRegularizedRegressor, dict(alpha=0.5)),
                                         (DirtyRegressor, dict(alpha=0.05, beta=0.03))])
def test_float32_wide_per_task_agrees_with_float64(Est, params):
    X, y = make_multitask_regression([70, 50, 90], WIDE, 3, n_informative=10, layout="per_task",
                                     noise=0.5, random_state=5)
    X32 = X.astype(np.float32)
    est32 = Est(task_column=0, **TIGHT, **params).fit(X32, y)
    same = Est(task_column=0, **TIGHT, **params).fit(X32.astype(np.float64), y)
    scale = np.abs(same.coef_).max()
    np.testing.assert_allclose(est32.coef_, same.coef_, rtol=0, atol=1e-7 * scale)
    np.testing.assert_allclose(est32.intercept_, same.intercept_, rtol=0, atol=1e-7)
    np.testing.assert_allclose(est32.predict(X32), same.predict(X32.astype(np.float64)),
                               rtol=0, atol=1e-6)


def test_float32_wide_logistic_agrees_with_float64():
    X, Y = _wide_shared(n=200, T=2, seed=6)
    labels = (Y > np.median(Y, axis=0)).astype(int)
    X32 = X.astype(np.float32)
    params = dict(alpha=0.02, tol=1e-8, max_iter=50_000)
    est32 = GroupLassoClassifier(**params).fit(X32, labels)
    same = GroupLassoClassifier(**params).fit(X32.astype(np.float64), labels)
    scale = np.abs(same.coef_).max()
    assert scale > 0
    np.testing.assert_allclose(est32.coef_, same.coef_, rtol=0, atol=1e-6 * scale)
    np.testing.assert_array_equal(est32.predict(X32), same.predict(X32.astype(float)))


def test_float32_tol_far_below_float32_precision_converges():
    """tol = 1e-13 is far below float32's 6e-8: the fit still converges (no
    ConvergenceWarning, no run to max_iter), in as many sweeps as on the same numbers
    in float64, because the solvers accumulate in float64."""
    X, Y = _wide_shared(seed=7)
    X32 = X.astype(np.float32)
    params = dict(alpha=0.05, tol=1e-13, max_iter=20_000)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        est32 = GroupLassoRegressor(**params).fit(X32, Y)
    same = GroupLassoRegressor(**params).fit(X32.astype(np.float64), Y)
    assert est32.n_iter_ < params["max_iter"]
    assert abs(est32.n_iter_ - same.n_iter_) <= max(2, same.n_iter_ // 10)


def test_float32_wide_fit_does_not_copy_X_to_float64():
    rng = np.random.default_rng(8)
    n, d, T = 1500, 1500, 4
    X32 = rng.standard_normal((n, d), dtype=np.float32)
    Y = X32[:, :5] @ rng.standard_normal((5, T)) + rng.standard_normal((n, T))
    est = GroupLassoRegressor(alpha=0.1)
    est.fit(X32[:40], Y[:40])  # compile outside the measure
    tracemalloc.start()
    est.fit(X32, Y)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    # one float32 copy of X in Fortran order for the sweeps (9 MB) and small arrays;
    # a float64 copy of X alone would be 18 MB
    assert peak < 0.75 * n * d * 8
    assert est.coef_.dtype == np.float64
