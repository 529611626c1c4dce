"""The ``*CV`` estimators and grid searches on a Dask cluster give the serial results.

One local cluster (two worker processes) serves the whole module; the folds run
through joblib's ``"dask"`` backend. Every fold is deterministic, so the chosen
parameters and the fold losses must be identical to a serial run, not just close.
"""

import numpy as np
import pytest

distributed = pytest.importorskip("distributed")
joblib = pytest.importorskip("joblib")

from conftest import TOL_FACTOR  # noqa: E402
from sklearn.model_selection import GridSearchCV  # noqa: E402

from mtlreg import (  # noqa: E402
    GroupLassoRegressor,
    GroupLassoRegressorCV,
    SparseGroupLassoRegressorCV,
)
from mtlreg.datasets import make_multitask_regression  # noqa: E402
from mtlreg.model_selection import TaskStratifiedKFold  # noqa: E402


def _has_mtlreg():
    import sys

    return "mtlreg" in sys.modules


@pytest.fixture(scope="module")
def client():
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                       dashboard_address=None)
    client = distributed.Client(cluster)
    try:
        yield client
    finally:
        client.close()
        cluster.close()


@pytest.fixture(scope="module")
def data():
    X, y = make_multitask_regression([25, 18, 30, 21], 6, 4, layout="per_task", noise=0.5,
                                     random_state=0)
    return X, y


def test_cv_estimator_on_dask_equals_serial(client, data):
    X, y = data
    params = dict(task_column=0, n_alphas=8, cv=3, tol=1e-8)
    serial = GroupLassoRegressorCV(n_jobs=None, **params).fit(X, y)
    with joblib.parallel_backend("dask"):
        on_dask = GroupLassoRegressorCV(n_jobs=-1, **params).fit(X, y)
    # the folds really ran on the workers (which had to import mtlreg for them)
    assert all(client.run(_has_mtlreg).values())
    assert on_dask.alpha_ == serial.alpha_
    np.testing.assert_array_equal(on_dask.alphas_, serial.alphas_)
    np.testing.assert_array_equal(on_dask.mse_path_, serial.mse_path_)
    np.testing.assert_allclose(on_dask.coef_, serial.coef_, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(on_dask.intercept_, serial.intercept_, rtol=1e-12, atol=1e-14)


def test_two_parameter_cv_on_dask_equals_serial(client, data):
    X, y = data
    params = dict(task_column=0, n_alphas=4, cv=3, l1_ratios=[0.2, 0.8], tol=1e-8)
    serial = SparseGroupLassoRegressorCV(**params).fit(X, y)
    with joblib.parallel_backend("dask"):
        on_dask = SparseGroupLassoRegressorCV(n_jobs=-1, **params).fit(X, y)
    assert (on_dask.alpha_, on_dask.l1_ratio_) == (serial.alpha_, serial.l1_ratio_)
    np.testing.assert_array_equal(on_dask.mse_path_, serial.mse_path_)


@pytest.mark.skipif(TOL_FACTOR != 1, reason="MTLREG_TEST_TOL_FACTOR scales the fits of the "
                    "test process only: GridSearchCV fits its clones on the workers at the set tol")
def test_grid_search_on_dask_equals_serial(client, data):
    X, y = data
    grid = {"alpha": np.geomspace(1.0, 0.01, 5)}
    cv = TaskStratifiedKFold(3, task_column=0)
    est = GroupLassoRegressor(task_column=0, tol=1e-8)
    serial = GridSearchCV(est, grid, cv=cv, scoring="neg_mean_squared_error").fit(X, y)
    with joblib.parallel_backend("dask"):
        on_dask = GridSearchCV(est, grid, cv=cv, scoring="neg_mean_squared_error",
                               n_jobs=-1).fit(X, y)
    assert on_dask.best_params_ == serial.best_params_
    np.testing.assert_array_equal(on_dask.cv_results_["mean_test_score"],
                                  serial.cv_results_["mean_test_score"])
    np.testing.assert_allclose(on_dask.best_estimator_.coef_, serial.best_estimator_.coef_,
                               rtol=1e-12, atol=1e-14)
