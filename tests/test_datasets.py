"""The bundled School data and the simulated multi-task problems."""

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from mtlreg import GroupLassoRegressor
from mtlreg.datasets import (
    load_school,
    make_multitask_classification,
    make_multitask_coef,
    make_multitask_regression,
)


# ------------------------------------------------------------------ School
def test_load_school_bunch():
    b = load_school()
    assert b.data.shape == (15362, 29)
    assert b.target.shape == (15362,)
    assert b.task.shape == (15362,)
    assert isinstance(b.data, np.ndarray) and b.data.dtype == np.float64
    assert len(b.feature_names) == 29 and b.feature_names[0] == "school"
    assert len(set(b.feature_names)) == 29
    assert b.task_column == "school"
    assert b.frame is None
    assert isinstance(b.DESCR, str) and len(b.DESCR) > 100
    assert_array_equal(b.data[:, 0], b.task)
    tasks, counts = np.unique(b.task, return_counts=True)
    assert_array_equal(tasks, np.arange(139))
    assert counts.min() == 22 and counts.max() == 251
    assert np.all(np.isfinite(b.data)) and np.all(np.isfinite(b.target))
    # the "bias" feature is the constant 1
    assert_array_equal(b.data[:, b.feature_names.index("bias")], 1.0)


def test_load_school_return_X_y():
    X, y = load_school(return_X_y=True)
    b = load_school()
    assert_array_equal(X, b.data)
    assert_array_equal(y, b.target)


def test_load_school_as_frame():
    b = load_school(as_frame=True)
    assert isinstance(b.data, pd.DataFrame)
    assert b.data.shape == (15362, 29)
    assert list(b.data.columns) == b.feature_names
    assert isinstance(b.target, pd.Series)
    assert isinstance(b.frame, pd.DataFrame) and b.frame.shape == (15362, 30)
    assert_array_equal(b.data["school"].to_numpy(), b.task)
    assert_allclose(b.data.to_numpy(dtype=float), load_school().data)
    X, y = load_school(return_X_y=True, as_frame=True)
    assert isinstance(X, pd.DataFrame) and isinstance(y, pd.Series)
    assert_allclose(y.to_numpy(dtype=float), b.target.to_numpy(dtype=float))


def test_school_fits_by_name_and_by_position():
    X, y = load_school(return_X_y=True, as_frame=True)
    keep = X["school"].isin([0, 1, 2, 3]).to_numpy()
    Xs, ys = X[keep], y[keep].to_numpy(dtype=float)
    # (unscaled features: slow convergence, hence max_iter)
    a = GroupLassoRegressor(alpha=0.5, task_column="school", max_iter=5000).fit(Xs, ys)
    b = GroupLassoRegressor(alpha=0.5, task_column=0, max_iter=5000).fit(
        Xs.to_numpy(dtype=float), ys)
    assert_array_equal(a.tasks_, [0, 1, 2, 3])
    assert_allclose(a.coef_, b.coef_, atol=1e-12)


# ------------------------------------------------------------------ coefficient structures
def test_make_multitask_coef_row_sparse():
    W = make_multitask_coef(12, 4, structure="row_sparse", n_informative=3, random_state=0)
    assert W.shape == (12, 4)
    assert np.count_nonzero(np.linalg.norm(W, axis=1)) == 3
    # every informative row is non-zero in every task
    rows = np.flatnonzero(np.linalg.norm(W, axis=1))
    assert np.all(W[rows] != 0)
    # n_informative larger than n_features is clipped
    W = make_multitask_coef(4, 2, structure="row_sparse", n_informative=10, random_state=0)
    assert np.count_nonzero(np.linalg.norm(W, axis=1)) == 4


@pytest.mark.parametrize("rank", [1, 2, 3])
def test_make_multitask_coef_low_rank(rank):
    W = make_multitask_coef(10, 6, structure="low_rank", rank=rank, random_state=1)
    assert W.shape == (10, 6)
    assert np.linalg.matrix_rank(W) == rank


def test_make_multitask_coef_other_structures():
    W = make_multitask_coef(15, 5, structure="shared_specific", n_informative=4,
                            random_state=2)
    assert W.shape == (15, 5)
    assert np.count_nonzero(W) > 0
    W = make_multitask_coef(8, 30, structure="mean", random_state=3)
    # tasks are small deviations from a common vector: the mean column dominates
    dev = W - W.mean(axis=1, keepdims=True)
    assert np.linalg.norm(dev) < np.linalg.norm(W)
    with pytest.raises(ValueError, match="structure must be one of"):
        make_multitask_coef(5, 2, structure="banana")


# ------------------------------------------------------------------ generators
def test_make_multitask_regression_shared():
    X, Y, W = make_multitask_regression(50, 8, 3, n_informative=2, noise=0.0, coef=True,
                                        random_state=0)
    assert X.shape == (50, 8) and Y.shape == (50, 3) and W.shape == (3, 8)
    assert_allclose(Y, X @ W.T, atol=1e-12)  # noiseless
    assert np.count_nonzero(np.linalg.norm(W, axis=0)) == 2


def test_make_multitask_regression_per_task():
    X, y, W = make_multitask_regression([5, 9, 7], 4, 3, layout="per_task", noise=0.0,
                                        coef=True, random_state=1)
    assert X.shape == (21, 5) and y.shape == (21,) and W.shape == (3, 4)
    task = X[:, 0].astype(int)
    assert_array_equal(np.bincount(task), [5, 9, 7])
    assert_allclose(y, np.einsum("ij,ij->i", X[:, 1:], W[task]), atol=1e-12)
    X, y = make_multitask_regression(6, 4, 3, layout="per_task", random_state=1)
    assert X.shape == (18, 5)
    assert_array_equal(np.bincount(X[:, 0].astype(int)), [6, 6, 6])
    with pytest.raises(ValueError, match="n_samples"):
        make_multitask_regression([5, 9], 4, 3, layout="per_task")
    with pytest.raises(ValueError, match="layout must be"):
        make_multitask_regression(layout="stacked")


def test_generators_reproducible():
    for make in (make_multitask_regression, make_multitask_classification):
        for layout in ("shared", "per_task"):
            a = make(20, 5, 3, layout=layout, random_state=42)
            b = make(20, 5, 3, layout=layout, random_state=42)
            c = make(20, 5, 3, layout=layout, random_state=43)
            for u, v in zip(a, b):
                assert_array_equal(u, v)
            assert not np.array_equal(a[0], c[0])
        rng = np.random.RandomState(0)
        make(10, 3, 2, random_state=rng)  # a RandomState is accepted


def test_noise_and_correlation():
    X, Y, W = make_multitask_regression(4000, 3, 1, noise=0.5, coef=True, random_state=0,
                                        n_informative=3)
    assert abs(np.std(Y - X @ W.T) - 0.5) < 0.03
    X, _ = make_multitask_regression(4000, 3, 1, correlation=0.8, random_state=0)
    C = np.corrcoef(X.T)
    assert abs(C[0, 1] - 0.8) < 0.05 and abs(C[0, 2] - 0.64) < 0.05


@pytest.mark.parametrize("layout", ["shared", "per_task"])
def test_make_multitask_classification(layout):
    X, y, W = make_multitask_classification(30, 6, 4, layout=layout, coef=True,
                                            random_state=0)
    assert set(np.unique(y)) == {0, 1}
    assert y.dtype.kind in "iu"
    assert W.shape == (4, 6)
    if layout == "shared":
        assert X.shape == (30, 6) and y.shape == (30, 4)
        for t in range(4):
            assert set(np.unique(y[:, t])) == {0, 1}
    else:
        assert X.shape == (120, 7) and y.shape == (120,)
        task = X[:, 0]
        assert_array_equal(np.unique(task), np.arange(4))
        for t in range(4):
            assert set(np.unique(y[task == t])) == {0, 1}


def test_classification_both_classes_even_when_unbalanced():
    # a strong signal and tiny tasks: the generator must still give both classes
    for seed in range(10):
        X, y = make_multitask_classification([2, 2, 3], 3, 3, layout="per_task", signal=50.0,
                                             random_state=seed)
        for t in range(3):
            assert set(np.unique(y[X[:, 0] == t])) == {0, 1}
        X, Y = make_multitask_classification(2, 3, 5, signal=50.0, random_state=seed)
        for t in range(5):
            assert set(np.unique(Y[:, t])) == {0, 1}


def test_classification_signal():
    """Labels follow the logistic model: a larger signal gives cleaner classes."""
    accs = []
    for signal in (0.5, 8.0):
        X, Y, W = make_multitask_classification(2000, 5, 2, signal=signal, coef=True,
                                                random_state=0)
        accs.append(np.mean((X @ W.T > 0) == (Y == 1)))
    assert accs[0] < accs[1]
    assert accs[1] > 0.85
