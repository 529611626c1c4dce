"""Fits from Dask arrays and DataFrames equal the in-memory fits.

The squared-loss estimators fit from per-task sufficient statistics computed
partition by partition (:mod:`mtlreg._dask.fit`); the solvers then see the same Gram
form as in memory, so the coefficients must agree to 1e-8 (both solved to
``tol=1e-10``). Most tests run Dask's synchronous scheduler; one runs on a
``distributed.LocalCluster``.
"""

import subprocess
import sys

import numpy as np
import pytest
import scipy.sparse as sp

da = pytest.importorskip("dask.array")
dd = pytest.importorskip("dask.dataframe")
dask = pytest.importorskip("dask")
pd = pytest.importorskip("pandas")

from mtlreg import (  # noqa: E402
    ClusteredClassifier,
    ClusteredRegressor,
    DirtyRegressor,
    FusedGroupLassoClassifier,
    FusedGroupLassoRegressor,
    GraphRegularizedClassifier,
    GraphRegularizedRegressor,
    GroupLassoClassifier,
    GroupLassoRegressor,
    GroupLassoRegressorCV,
    IndependentRegressor,
    MeanRegularizedRegressor,
    RobustFeatureLearningClassifier,
    RobustFeatureLearningRegressor,
    RobustMultiTaskClassifier,
    RobustMultiTaskRegressor,
    SparseGroupLassoRegressor,
    SparseTraceNormClassifier,
    SparseTraceNormRegressor,
    TemporalGroupLassoClassifier,
    TemporalGroupLassoRegressor,
    TraceNormClassifier,
    TraceNormRegressor,
    regularization_path,
)
from mtlreg._tasks.statistics import merge_statistics, per_task_block_statistics  # noqa: E402
from mtlreg.datasets import (  # noqa: E402
    make_multitask_classification,
    make_multitask_regression,
)

ESTIMATORS = [
    (GroupLassoRegressor, dict(alpha=0.05)),
    (SparseGroupLassoRegressor, dict(alpha=0.05, l1_ratio=0.5)),
    (TraceNormRegressor, dict(alpha=0.05)),
    (DirtyRegressor, dict(alpha=0.05, beta=0.03)),
    (MeanRegularizedRegressor, dict(alpha=0.5)),
    (IndependentRegressor, dict(alpha=0.02, penalty="l1")),
    (IndependentRegressor, dict(alpha=0.1, penalty="l2")),
    # the seven task-relation models (issue 26 item 14)
    (GraphRegularizedRegressor, dict(alpha=0.02, rho=0.5)),
    (TemporalGroupLassoRegressor, dict(alpha=0.05, rho=0.5)),
    (FusedGroupLassoRegressor, dict(alpha=0.05, beta=0.02)),
    (SparseTraceNormRegressor, dict(alpha=0.05, l1_ratio=0.5)),
    (RobustMultiTaskRegressor, dict(alpha=0.05, beta=0.1)),
    (RobustFeatureLearningRegressor, dict(alpha=0.05, beta=0.1)),
    (ClusteredRegressor, dict(alpha=0.5, eta=1.0, n_clusters=2)),
]
IDS = [f"{cls.__name__}-{kw.get('penalty', '')}" for cls, kw in ESTIMATORS]
TIGHT = dict(tol=1e-10, max_iter=200_000)


@pytest.fixture(autouse=True)
def synchronous():
    with dask.config.set(scheduler="synchronous"):
        yield


def _frame(seed=0, sizes=(40, 25, 60, 33), d=5):
    X, y = make_multitask_regression(list(sizes), d, len(sizes), layout="per_task",
                                     noise=0.5, random_state=seed)
    df = pd.DataFrame(X[:, 1:], columns=[f"f{j}" for j in range(d)])
    df.insert(2, "task", X[:, 0].astype(int))  # the task column in the middle
    df["y"] = y
    df["w"] = np.random.default_rng(seed).uniform(0.2, 2.0, len(df))
    # rows shuffled: every task is split across the partitions
    return df.sample(frac=1.0, random_state=seed).reset_index(drop=True)


def _assert_same_fit(a, b, atol=1e-8):
    np.testing.assert_allclose(b.coef_, a.coef_, rtol=0, atol=atol)
    np.testing.assert_allclose(b.intercept_, a.intercept_, rtol=0, atol=atol)
    np.testing.assert_array_equal(b.tasks_, a.tasks_)
    assert b.n_features_in_ == a.n_features_in_


@pytest.mark.parametrize("Est, params", ESTIMATORS, ids=IDS)
def test_per_task_dataframe_equals_in_memory(Est, params):
    df = _frame()
    X, y, w = df.drop(columns=["y", "w"]), df["y"], df["w"]
    ddf = dd.from_pandas(df, npartitions=4)
    kw = dict(task_column="task", **TIGHT, **params)
    ref = Est(**kw).fit(X, y, sample_weight=w)
    got = Est(**kw).fit(ddf.drop(columns=["y", "w"]), ddf["y"], sample_weight=ddf["w"])
    _assert_same_fit(ref, got)
    np.testing.assert_array_equal(got.feature_names_in_, ref.feature_names_in_)
    pred = got.predict(ddf.drop(columns=["y", "w"]))
    assert hasattr(pred, "__dask_graph__")  # lazy
    np.testing.assert_allclose(pred.compute().to_numpy(), ref.predict(X), atol=1e-8)


@pytest.mark.parametrize("Est, params", ESTIMATORS[:5], ids=IDS[:5])
def test_shared_array_with_missing_labels_equals_in_memory(Est, params):
    rng = np.random.default_rng(1)
    X, Y = make_multitask_regression(180, 6, 4, noise=0.5, random_state=1)
    Y[rng.random(Y.shape) < 0.15] = np.nan  # missing labels, different per task
    Y[:70, 2] = np.nan  # task 2 absent from the first chunks
    X = X * rng.uniform(0.5, 3.0, X.shape[1]) + 2.0  # uncentred features
    sw = rng.uniform(0.1, 2.0, len(X))
    kw = dict(**TIGHT, **params)
    ref = Est(**kw).fit(X, Y, sample_weight=sw)
    got = Est(**kw).fit(da.from_array(X, chunks=(31, 4)), da.from_array(Y, chunks=(50, 2)),
                        sample_weight=sw)  # a NumPy sample_weight is chunked like X
    _assert_same_fit(ref, got)
    pred = got.predict(da.from_array(X, chunks=(64, 6)))
    assert isinstance(pred, da.Array) and pred.shape == Y.shape
    np.testing.assert_allclose(pred.compute(), ref.predict(X), atol=1e-8)


def test_shared_one_dimensional_y_and_no_intercept():
    X, Y = make_multitask_regression(150, 5, 1, noise=0.3, random_state=2)
    y = Y[:, 0]
    for fit_intercept in (True, False):
        kw = dict(alpha=0.02, fit_intercept=fit_intercept, **TIGHT)
        ref = GroupLassoRegressor(**kw).fit(X, y)
        got = GroupLassoRegressor(**kw).fit(da.from_array(X, chunks=40),
                                            da.from_array(y, chunks=40))
        _assert_same_fit(ref, got)
        pred = got.predict(da.from_array(X, chunks=40))
        assert pred.ndim == 1
        np.testing.assert_allclose(pred.compute(), ref.predict(X), atol=1e-8)


def test_sparse_chunks_shared_layout():
    rng = np.random.default_rng(3)
    X = sp.random(200, 8, density=0.3, random_state=3, format="csr")
    Y = X @ rng.standard_normal((8, 3)) + 0.1 * rng.standard_normal((200, 3))
    kw = dict(alpha=0.01, **TIGHT)
    ref = GroupLassoRegressor(**kw).fit(X, Y)
    Xd = da.from_array(X.toarray(), chunks=(45, 8)).map_blocks(sp.csr_matrix)
    got = GroupLassoRegressor(**kw).fit(Xd, da.from_array(Y, chunks=(45, 3)))
    _assert_same_fit(ref, got)


def test_empty_partition_and_task_in_one_partition_only():
    df = _frame(seed=4).sort_values("task", kind="stable").reset_index(drop=True)
    cut = np.searchsorted(df["task"].to_numpy(), [1, 3])  # task 0 alone first, ...
    parts = [df.iloc[:cut[0]], df.iloc[:0], df.iloc[cut[0]:cut[1]], df.iloc[cut[1]:]]
    ddf = dd.from_map(lambda p: p, parts, meta=df.iloc[:0])
    assert ddf.npartitions == 4 and len(ddf.partitions[1].compute()) == 0
    kw = dict(task_column="task", alpha=0.05, **TIGHT)
    ref = GroupLassoRegressor(**kw).fit(df.drop(columns=["y", "w"]), df["y"])
    got = GroupLassoRegressor(**kw).fit(ddf.drop(columns=["y", "w"]), ddf["y"])
    _assert_same_fit(ref, got)


@pytest.mark.parametrize("task_weights", ["samples", {0: 2.0, 3: 0.5}])
def test_task_weights_and_string_labels(task_weights):
    df = _frame(seed=5)
    if isinstance(task_weights, dict):
        df["task"] = df["task"].map({0: "a", 1: "b", 2: "c", 3: "d"})
        task_weights = {"a": 2.0, "d": 0.5}
    ddf = dd.from_pandas(df, npartitions=3)
    kw = dict(task_column="task", alpha=0.05, task_weights=task_weights, **TIGHT)
    ref = GroupLassoRegressor(**kw).fit(df.drop(columns=["y", "w"]), df["y"],
                                        sample_weight=df["w"])
    got = GroupLassoRegressor(**kw).fit(ddf.drop(columns=["y", "w"]), ddf["y"],
                                        sample_weight=ddf["w"])
    _assert_same_fit(ref, got)


def test_float32_partitions_equal_float32_in_memory_fit():
    df = _frame(seed=10)
    features = [f"f{j}" for j in range(5)]
    df[features] = df[features].astype(np.float32)
    ddf = dd.from_pandas(df, npartitions=3)
    kw = dict(task_column="task", alpha=0.05, **TIGHT)
    ref = GroupLassoRegressor(**kw).fit(df.drop(columns=["y", "w"]), df["y"])
    got = GroupLassoRegressor(**kw).fit(ddf.drop(columns=["y", "w"]), ddf["y"])
    _assert_same_fit(ref, got)


def test_per_task_dask_array_with_integer_task_column_and_nan_labels():
    X, y = make_multitask_regression([30, 45, 20], 4, 3, layout="per_task", noise=0.5,
                                     random_state=6)
    y = y.copy()
    y[::7] = np.nan  # missing labels: left out of the loss
    kw = dict(task_column=0, alpha=0.03, **TIGHT)
    ref = SparseGroupLassoRegressor(**kw).fit(X, y)
    Xd = da.from_array(X, chunks=(26, 5))
    got = SparseGroupLassoRegressor(**kw).fit(Xd, da.from_array(y, chunks=26))
    _assert_same_fit(ref, got)
    np.testing.assert_allclose(got.predict(Xd).compute(), ref.predict(X), atol=1e-8)


def test_on_local_cluster_warm_start_and_path():
    distributed = pytest.importorskip("distributed")
    df = _frame(seed=7)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                                  dashboard_address=None) as cluster, \
            distributed.Client(cluster), dask.config.set(scheduler=None):
        ddf = dd.from_pandas(df, npartitions=5)
        Xd, yd = ddf.drop(columns=["y", "w"]), ddf["y"]
        est = DirtyRegressor(task_column="task", alpha=0.05, beta=0.03, warm_start=True,
                             **TIGHT)
        got = est.fit(Xd, yd)
        alpha_max = est.compute_alpha_max(Xd, yd)
        path = regularization_path(GroupLassoRegressor(task_column="task", **TIGHT), Xd, yd,
                                   n_alphas=4)
    X, y = df.drop(columns=["y", "w"]), df["y"]
    ref = DirtyRegressor(task_column="task", alpha=0.05, beta=0.03, **TIGHT).fit(X, y)
    _assert_same_fit(ref, got)
    assert alpha_max == pytest.approx(ref.compute_alpha_max(X, y), rel=1e-12)
    ref_path = regularization_path(GroupLassoRegressor(task_column="task", **TIGHT), X, y,
                                   n_alphas=4)
    np.testing.assert_allclose(path.alphas, ref_path.alphas, rtol=1e-12)
    np.testing.assert_allclose(path.coefs, ref_path.coefs, atol=1e-8)


def test_statistics_merge_is_exact():
    """Statistics of a split equal those of the whole (the pairwise update is exact)."""
    rng = np.random.default_rng(8)
    X = rng.standard_normal((300, 4)) * 50 + 1e4  # large means: centred moments matter
    y = X @ rng.standard_normal(4) + rng.standard_normal(300)
    tasks = rng.integers(0, 5, 300)
    s = rng.uniform(0, 2, 300)
    whole = per_task_block_statistics(X, tasks, y, s)
    cuts = [0, 17, 17, 150, 299, 300]  # an empty piece, a one-row piece
    parts = [per_task_block_statistics(X[a:b], tasks[a:b], y[a:b], s[a:b])
             for a, b in zip(cuts[:-1], cuts[1:])]
    merged = merge_statistics([merge_statistics(parts[:2]), merge_statistics(parts[2:])])
    np.testing.assert_array_equal(merged.labels, whole.labels)
    for name in ("n", "mx", "my", "cxx", "cxy", "cyy"):
        np.testing.assert_allclose(getattr(merged, name), getattr(whole, name),
                                   rtol=1e-9, err_msg=name)
    # against the definition
    t = tasks == 2
    w = s[t]
    xc = X[t] - np.average(X[t], axis=0, weights=w)
    np.testing.assert_allclose(whole.cxx[2], (xc * w[:, None]).T @ xc, rtol=1e-9)


def test_logistic_per_task_dataframe_and_shared_array():
    """Logistic loss from Dask against the in-memory fit (both to tol=1e-8)."""
    X, y = make_multitask_classification([60, 45, 80], 5, 3, layout="per_task",
                                         random_state=0)
    df = pd.DataFrame(X[:, 1:], columns=[f"f{j}" for j in range(5)])
    df.insert(0, "task", X[:, 0].astype(int))
    df["y"] = np.where(y == 1, "yes", "no")  # string labels
    df["w"] = np.random.default_rng(0).uniform(0.5, 2, len(df))
    df = df.sample(frac=1.0, random_state=0).reset_index(drop=True)
    ddf = dd.from_pandas(df, npartitions=3)
    kw = dict(task_column="task", alpha=0.02, tol=1e-8, max_iter=20_000)
    ref = GroupLassoClassifier(**kw).fit(df.drop(columns=["y", "w"]), df["y"],
                                         sample_weight=df["w"])
    got = GroupLassoClassifier(**kw).fit(ddf.drop(columns=["y", "w"]), ddf["y"],
                                         sample_weight=ddf["w"])
    _assert_same_fit(ref, got, atol=1e-6)
    np.testing.assert_array_equal(got.classes_, ref.classes_)
    proba = got.predict_proba(ddf.drop(columns=["y", "w"]))
    assert hasattr(proba, "__dask_graph__")
    np.testing.assert_allclose(proba.compute().to_numpy(),
                               ref.predict_proba(df.drop(columns=["y", "w"])), atol=1e-6)
    labels = got.predict(ddf.drop(columns=["y", "w"])).compute().to_numpy()
    np.testing.assert_array_equal(labels, ref.predict(df.drop(columns=["y", "w"])))

    Xs, Ys = make_multitask_classification(150, 4, 2, random_state=1)
    Ys = Ys.astype(float)
    Ys[::9, 1] = np.nan
    ref = GroupLassoClassifier(alpha=0.02, tol=1e-8, max_iter=20_000).fit(Xs, Ys)
    got = GroupLassoClassifier(alpha=0.02, tol=1e-8, max_iter=20_000).fit(
        da.from_array(Xs, chunks=60), da.from_array(Ys, chunks=(60, 2)))
    _assert_same_fit(ref, got, atol=1e-6)


def test_unsupported_inputs_raise_clear_errors():
    df = _frame(seed=9)
    ddf = dd.from_pandas(df, npartitions=2)
    Xd = ddf.drop(columns=["y", "w"])
    labels = (ddf["y"] > 1e6).astype(int)  # one class only
    with pytest.raises(ValueError, match="two classes"):
        GroupLassoClassifier(task_column="task").fit(Xd, labels)
    from sklearn.model_selection import KFold

    from mtlreg import GroupLassoClassifierCV

    with pytest.raises(NotImplementedError, match="custom cv.*joblib.parallel_backend"):
        GroupLassoRegressorCV(task_column="task", cv=KFold(2)).fit(Xd, ddf["y"])
    with pytest.raises(NotImplementedError, match="logistic.*joblib.parallel_backend"):
        GroupLassoClassifierCV(task_column="task", cv=2).fit(
            Xd, (ddf["y"] > 0).astype(int))
    with pytest.raises(TypeError, match="same partitions"):
        GroupLassoRegressor(task_column="task").fit(Xd, df["y"].to_numpy())
    with pytest.raises(ValueError, match="partitioned alike|partitions"):
        GroupLassoRegressor(task_column="task").fit(Xd, dd.from_pandas(df["y"],
                                                                       npartitions=3))
    est = GroupLassoRegressor(task_column="task")
    with pytest.raises(ValueError, match="no labelled sample"):
        est.fit(Xd, ddf["y"], sample_weight=ddf["w"] * (ddf["task"] != 1))
    assert not hasattr(est, "coef_")  # a failed fit leaves the estimator unfitted


def test_import_mtlreg_does_not_import_dask():
    code = ("import sys, mtlreg, mtlreg.linear_model; "
            "bad = [m for m in sys.modules if m.split('.')[0] in ('dask', 'distributed')]; "
            "assert not bad, bad")
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.mark.parametrize("Est, params", [(MeanRegularizedRegressor, dict(alpha=0.5)),
                                         (DirtyRegressor, dict(alpha=0.05, beta=0.03))])
def test_dask_predict_unseen_tasks_shared(Est, params):
    """unseen_tasks="shared": a lazy Dask predict gives the rows of unseen tasks the
    shared model, as in memory (DataFrame and array); with "error", computing raises."""
    df = _frame(seed=5)
    X, y = df.drop(columns=["y", "w"]), df["y"]
    est = Est(task_column="task", unseen_tasks="shared", **params).fit(X, y)
    new = X.copy()
    new.loc[new.index[::3], "task"] = 99  # a task the fit never saw
    ref = est.predict(new)
    got = est.predict(dd.from_pandas(new, npartitions=3))
    assert hasattr(got, "__dask_graph__")
    np.testing.assert_allclose(got.compute().to_numpy(), ref, rtol=0, atol=1e-12)
    arr = new.to_numpy(dtype=float)
    est_arr = Est(task_column=2, unseen_tasks="shared", **params).fit(X.to_numpy(float), y)
    got_arr = est_arr.predict(da.from_array(arr, chunks=(50, arr.shape[1])))
    np.testing.assert_allclose(got_arr.compute(), est_arr.predict(arr), rtol=0, atol=1e-12)
    strict = Est(task_column="task", **params).fit(X, y)
    with pytest.raises(ValueError, match="Unknown task"):
        strict.predict(dd.from_pandas(new, npartitions=3)).compute()


# ------------------------------------------------ *CV from Dask: per-fold statistics
@pytest.mark.parametrize("name, params", [
    ("GroupLassoRegressorCV", dict(n_alphas=6)),
    ("DirtyRegressorCV", dict(n_alphas=4, betas=[0.05, 0.2])),
    ("MeanRegularizedRegressorCV", dict(n_alphas=4)),
])
def test_cv_per_task_dataframe_equals_in_memory(name, params):
    """Same folds (TaskStratifiedKFold), same grids, same path losses, same choice and
    refit as the in-memory *CV; tasks split across partitions, an empty partition, a
    task of one row (never in a test fold), sample weights."""
    import mtlreg

    Est = getattr(mtlreg, name)
    df = _frame(seed=12, sizes=(40, 25, 60, 33, 1))
    X, y, w = df.drop(columns=["y", "w"]), df["y"], df["w"]
    ddf = dd.from_pandas(df, npartitions=4)
    ddf = dd.concat([ddf, ddf.head(0, compute=False)])  # an empty partition at the end
    kw = dict(task_column="task", cv=3, tol=1e-10, max_iter=100_000, **params)
    ref = Est(**kw).fit(X, y, sample_weight=w)
    got = Est(**kw).fit(ddf.drop(columns=["y", "w"]), ddf["y"], sample_weight=ddf["w"])
    np.testing.assert_allclose(got.alphas_, ref.alphas_, rtol=1e-9)
    np.testing.assert_allclose(got.mse_path_, ref.mse_path_, rtol=1e-7)
    assert got.alpha_ == pytest.approx(ref.alpha_, rel=1e-9)  # the same grid point
    _assert_same_fit(ref, got, atol=1e-7)


def test_cv_shared_array_equals_in_memory():
    rng = np.random.default_rng(13)
    X, Y = make_multitask_regression(130, 6, 3, noise=0.5, random_state=13)
    Y[rng.random(Y.shape) < 0.1] = np.nan
    kw = dict(cv=4, n_alphas=5, tol=1e-10, max_iter=100_000)
    ref = GroupLassoRegressorCV(**kw).fit(X, Y)
    got = GroupLassoRegressorCV(**kw).fit(da.from_array(X, chunks=(45, 6)),
                                          da.from_array(Y, chunks=(45, 3)))
    np.testing.assert_allclose(got.mse_path_, ref.mse_path_, rtol=1e-7)
    assert got.alpha_ == pytest.approx(ref.alpha_, rel=1e-9)  # the same grid point
    _assert_same_fit(ref, got, atol=1e-7)


def test_cv_on_local_cluster():
    distributed = pytest.importorskip("distributed")
    df = _frame(seed=14)
    X, y = df.drop(columns=["y", "w"]), df["y"]
    kw = dict(task_column="task", n_alphas=5, tol=1e-10, max_iter=100_000)
    ref = GroupLassoRegressorCV(**kw).fit(X, y)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                                  dashboard_address=None) as cluster, \
            distributed.Client(cluster), dask.config.set(scheduler=None):
        ddf = dd.from_pandas(df, npartitions=3)
        got = GroupLassoRegressorCV(**kw).fit(ddf.drop(columns=["y", "w"]), ddf["y"])
        pred = got.predict(ddf.drop(columns=["y", "w"])).compute()
    np.testing.assert_allclose(got.mse_path_, ref.mse_path_, rtol=1e-7)
    assert got.alpha_ == pytest.approx(ref.alpha_, rel=1e-9)
    _assert_same_fit(ref, got, atol=1e-7)
    np.testing.assert_allclose(pred.to_numpy(), ref.predict(X), atol=1e-7)


CLASSIFIERS = [
    (GroupLassoClassifier, dict(alpha=0.02)),
    (TraceNormClassifier, dict(alpha=0.02)),
    (GraphRegularizedClassifier, dict(alpha=0.005, rho=0.5)),
    (TemporalGroupLassoClassifier, dict(alpha=0.01, rho=0.5)),
    (FusedGroupLassoClassifier, dict(alpha=0.01, beta=0.005)),
    (SparseTraceNormClassifier, dict(alpha=0.01, l1_ratio=0.5)),
    (RobustMultiTaskClassifier, dict(alpha=0.01, beta=0.02)),
    (RobustFeatureLearningClassifier, dict(alpha=0.01, beta=0.02)),
    (ClusteredClassifier, dict(alpha=0.1, eta=1.0, n_clusters=2)),
]


@pytest.mark.parametrize("fit_intercept", [True, False])
@pytest.mark.parametrize("Est, params", CLASSIFIERS, ids=[c.__name__ for c, _ in CLASSIFIERS])
def test_logistic_newton_from_dask_equals_in_memory(Est, params, fit_intercept):
    """The classifiers run proximal Newton on Dask data as in memory (the Hessian
    blocks summed partition by partition): the same Newton steps, the same solution to
    rounding (measured <= 3e-15), where FISTA with one pass per iteration differed by
    its tolerance and took hundreds of passes."""
    X, y = make_multitask_classification([60, 45, 80, 50], 5, 4, layout="per_task",
                                         random_state=3)
    df = pd.DataFrame(X[:, 1:], columns=[f"f{j}" for j in range(5)])
    df.insert(0, "task", X[:, 0].astype(int))
    df["y"] = y
    df["w"] = np.random.default_rng(3).uniform(0.5, 2, len(df))
    df = df.sample(frac=1.0, random_state=3).reset_index(drop=True)
    ddf = dd.from_pandas(df, npartitions=3)
    kw = dict(task_column="task", tol=1e-10, fit_intercept=fit_intercept, **params)
    ref = Est(**kw).fit(df.drop(columns=["y", "w"]), df["y"], sample_weight=df["w"])
    got = Est(**kw).fit(ddf.drop(columns=["y", "w"]), ddf["y"], sample_weight=ddf["w"])
    _assert_same_fit(ref, got, atol=1e-10)
    assert got.n_iter_ == ref.n_iter_


def test_logistic_newton_from_dask_shared_design():
    Xs, Ys = make_multitask_classification(150, 4, 2, random_state=1)
    Ys = Ys.astype(float)
    Ys[::9, 1] = np.nan
    ref = GroupLassoClassifier(alpha=0.02, tol=1e-10).fit(Xs, Ys)
    got = GroupLassoClassifier(alpha=0.02, tol=1e-10).fit(
        da.from_array(Xs, chunks=60), da.from_array(Ys, chunks=(60, 2)))
    _assert_same_fit(ref, got, atol=1e-10)
    assert got.n_iter_ == ref.n_iter_
