"""The float32 policy: a float32 ``X`` is kept float32 (never copied to float64 as a
whole) for the squared loss; its per-task statistics are accumulated in float64 and
the solvers run in float64 on them."""

import tracemalloc

import numpy as np
import pytest

from mtlreg import DirtyRegressor, GroupLassoClassifier, GroupLassoRegressor, \
    MeanRegularizedRegressor
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


def test_float32_logistic_is_upcast_as_before():
    X, y = make_multitask_regression(120, 4, 2, noise=0.5, random_state=3)
    labels = (y > np.median(y, axis=0)).astype(int)
    a = GroupLassoClassifier(alpha=0.01).fit(X.astype(np.float32), labels)
    b = GroupLassoClassifier(alpha=0.01).fit(X.astype(np.float32).astype(float), labels)
    np.testing.assert_array_equal(a.coef_, b.coef_)
