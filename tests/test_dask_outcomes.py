"""Fits from Dask collections for the per-row losses: Poisson (with an offset), Huber and
the multinomial (softmax) loss of multiclass classifiers (:mod:`mtlreg._dask.rows`).

Each partition evaluates the in-memory datafit on its rows with the fit's weights and
centring, and the sums over partitions feed the same solvers: every Dask fit must equal
the in-memory one (coefficients and intercepts within 1e-9 of their scale; observed
<= 6.4e-12 at ``tol=1e-11``, mostly 1e-16..1e-12). Dask's synchronous scheduler, and
one test on worker processes.
"""

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning

da = pytest.importorskip("dask.array")
dd = pytest.importorskip("dask.dataframe")
dask = pytest.importorskip("dask")
pd = pytest.importorskip("pandas")

from mtlreg import (  # noqa: E402
    GroupLassoClassifier,
    GroupLassoRegressor,
    MeanRegularizedClassifier,
    MeanRegularizedRegressor,
    TraceNormClassifier,
    TraceNormRegressor,
)

RTOL = 1e-9
TIGHT = dict(tol=1e-11, max_iter=20_000)
N, D, T, PARTS = 240, 4, 3, 3


@pytest.fixture(autouse=True)
def synchronous():
    with dask.config.set(scheduler="synchronous"):
        yield


def _assert_same(ref, got):
    scale = max(np.abs(ref.coef_).max(), 1.0)
    assert np.abs(got.coef_ - ref.coef_).max() <= RTOL * scale
    b_scale = max(np.abs(ref.intercept_).max(), 1.0)
    assert np.abs(got.intercept_ - ref.intercept_).max() <= RTOL * b_scale
    np.testing.assert_array_equal(got.tasks_, ref.tasks_)


def _per_task(seed=0):
    """A per-task frame: task, features, Poisson counts (with an offset), heavy-tailed
    targets, three classes; sample weights."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((N, D))
    task = rng.integers(0, T, N)
    W = 0.4 * rng.standard_normal((T, D))
    z = np.einsum("ij,ij->i", X, W[task]) + 0.3
    frame = pd.DataFrame(X, columns=[f"x{j}" for j in range(D)])
    frame.insert(0, "task", task)
    offset = rng.normal(0.0, 0.3, N)
    frame["count"] = rng.poisson(np.exp(z + offset)).astype(float)
    frame["target"] = z + rng.standard_t(2, N)
    frame["label"] = np.argmax(rng.standard_normal((N, 3)) + np.column_stack([z, -z, 0 * z]),
                               axis=1)
    frame["w"] = rng.uniform(0.5, 2.0, N)
    frame["offset"] = offset
    return frame


def _shared(seed=1):
    """A shared design: X (N, D), Y (N, T) with 10% missing labels (NaN)."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((N, D))
    Z = X @ (0.4 * rng.standard_normal((D, T))) + 0.2
    offset = rng.normal(0.0, 0.3, N)
    missing = rng.random((N, T)) < 0.1
    counts = rng.poisson(np.exp(Z + offset[:, None])).astype(float)
    target = Z + rng.standard_t(2, (N, T))
    labels = np.argmax(rng.standard_normal((N, T, 3)) + np.stack([Z, -Z, 0 * Z], -1),
                       axis=-1).astype(float)
    for Y in (counts, target, labels):
        Y[missing] = np.nan
    return X, dict(poisson=counts, huber=target, multinomial=labels), rng.uniform(0.5, 2, N), \
        offset


def _dd(obj):
    return dd.from_pandas(obj, npartitions=PARTS)


def _chunks(a):
    return da.from_array(a, chunks=(N // PARTS,) + a.shape[1:])


REGRESSORS = [(GroupLassoRegressor, dict(alpha=0.01)),
              (MeanRegularizedRegressor, dict(alpha=0.1)),
              (TraceNormRegressor, dict(alpha=0.01))]
CLASSIFIERS = [(GroupLassoClassifier, dict(alpha=0.01)),
               (MeanRegularizedClassifier, dict(alpha=0.1, l2_reg=0.01)),
               (TraceNormClassifier, dict(alpha=0.01))]
LOSSES = [("poisson", {}), ("huber", dict(epsilon=0.7))]


@pytest.mark.parametrize("loss, extra", LOSSES, ids=[name for name, _ in LOSSES])
@pytest.mark.parametrize("Est, params", REGRESSORS, ids=[c.__name__ for c, _ in REGRESSORS])
def test_per_task_frame_equals_in_memory(Est, params, loss, extra):
    """Per-task layout, Dask DataFrame with 3 partitions, sample weights; Poisson with an
    offset (a Dask Series partitioned like X)."""
    frame = _per_task()
    X = frame[["task"] + [f"x{j}" for j in range(D)]]
    y = frame["count" if loss == "poisson" else "target"]
    kw = dict(task_column="task", loss=loss, **TIGHT, **params, **extra)
    fit_kw = dict(offset=frame["offset"]) if loss == "poisson" else {}
    ref = Est(**kw).fit(X, y, sample_weight=frame["w"], **fit_kw)
    fit_kw = {k: _dd(v) for k, v in fit_kw.items()}
    got = Est(**kw).fit(_dd(X), _dd(y), sample_weight=_dd(frame["w"]), **fit_kw)
    _assert_same(ref, got)
    # the lazy prediction (Poisson: the mean exp(z + offset), the offset partitioned like
    # X) equals the in-memory one (observed 1e-13 relative)
    pred_kw = dict(offset=frame["offset"]) if loss == "poisson" else {}
    lazy = got.predict(_dd(X), **{k: _dd(v) for k, v in pred_kw.items()})
    np.testing.assert_allclose(np.asarray(lazy.compute()), ref.predict(X, **pred_kw), rtol=1e-8)


@pytest.mark.parametrize("loss, extra", LOSSES, ids=[name for name, _ in LOSSES])
@pytest.mark.parametrize("Est, params", REGRESSORS, ids=[c.__name__ for c, _ in REGRESSORS])
def test_shared_array_with_missing_labels_equals_in_memory(Est, params, loss, extra):
    X, Ys, w, offset = _shared()
    kw = dict(loss=loss, **TIGHT, **params, **extra)
    fit_kw = dict(offset=offset) if loss == "poisson" else {}
    ref = Est(**kw).fit(X, Ys[loss], sample_weight=w, **fit_kw)
    fit_kw = {k: _chunks(v) for k, v in fit_kw.items()}
    got = Est(**kw).fit(_chunks(X), _chunks(Ys[loss]), sample_weight=_chunks(w), **fit_kw)
    _assert_same(ref, got)
    lazy = got.predict(_chunks(X), **fit_kw).compute()  # (n, T); Poisson: offset (n,)
    np.testing.assert_allclose(lazy, ref.predict(X, **({"offset": offset} if fit_kw else {})),
                               rtol=1e-8)


@pytest.mark.parametrize("Est, params", CLASSIFIERS, ids=[c.__name__ for c, _ in CLASSIFIERS])
def test_multiclass_both_layouts_equal_in_memory(Est, params):
    frame = _per_task()
    X = frame[["task"] + [f"x{j}" for j in range(D)]]
    kw = dict(**TIGHT, **params)
    ref = Est(task_column="task", **kw).fit(X, frame["label"], sample_weight=frame["w"])
    got = Est(task_column="task", **kw).fit(_dd(X), _dd(frame["label"]),
                                            sample_weight=_dd(frame["w"]))
    assert got.coef_.shape == (T, 3, D)
    np.testing.assert_array_equal(got.classes_, ref.classes_)
    _assert_same(ref, got)
    Xs, Ys, w, _ = _shared()
    ref = Est(**kw).fit(Xs, Ys["multinomial"], sample_weight=w)
    got = Est(**kw).fit(_chunks(Xs), _chunks(Ys["multinomial"]), sample_weight=_chunks(w))
    _assert_same(ref, got)


def test_shared_offset_per_task_column():
    """A shared design's offset may be (n_samples, n_tasks): one exposure per task."""
    X, Ys, w, offset = _shared(seed=2)
    offsets = offset[:, None] + np.linspace(-0.2, 0.2, T)[None, :]
    kw = dict(alpha=0.01, loss="poisson", **TIGHT)
    ref = GroupLassoRegressor(**kw).fit(X, Ys["poisson"], offset=offsets)
    got = GroupLassoRegressor(**kw).fit(_chunks(X), _chunks(Ys["poisson"]), offset=_chunks(offsets))
    _assert_same(ref, got)
    np.testing.assert_allclose(got.predict(_chunks(X), offset=_chunks(offsets)).compute(),
                               ref.predict(X, offset=offsets), rtol=1e-8)
    with pytest.raises(TypeError, match="offset must be a Dask collection partitioned like X"):
        got.predict(_chunks(X), offset=offsets)


def test_multiclass_task_lacking_a_class():
    """intercept_reg > 0 fits a task that never sees a class, as in memory; with free
    intercepts the fit from Dask refuses it with the in-memory message."""
    frame = _per_task(seed=3)
    frame.loc[(frame["task"] == 1) & (frame["label"] == 2), "label"] = 0
    X = frame[["task"] + [f"x{j}" for j in range(D)]]
    kw = dict(task_column="task", alpha=0.01, intercept_reg=0.5, **TIGHT)
    ref = GroupLassoClassifier(**kw).fit(X, frame["label"], sample_weight=frame["w"])
    got = GroupLassoClassifier(**kw).fit(_dd(X), _dd(frame["label"]),
                                         sample_weight=_dd(frame["w"]))
    _assert_same(ref, got)
    np.testing.assert_allclose(got.shared_intercept_, ref.shared_intercept_, rtol=0, atol=1e-9)
    with pytest.raises(ValueError, match=r"Task\(s\) \[1\] have no sample .*\(missing: \[\[2\]\]\)"):
        GroupLassoClassifier(task_column="task").fit(_dd(X), _dd(frame["label"]))


@pytest.mark.parametrize("loss, solver, shrink", [("poisson", "fista", 0.0), ("poisson", "auto", 0.3),
                                                  ("huber", "newton", 0.3)])
def test_other_solver_and_shrunk_intercepts(loss, solver, shrink):
    """The solver 'auto' does not take (Poisson: FISTA from its null-model step; Huber:
    Newton, whose band count is summed over the partitions), and intercept_reg > 0 (the
    intercept-only problems from per-task totals)."""
    frame = _per_task(seed=4)
    X = frame[["task"] + [f"x{j}" for j in range(D)]]
    y = frame["count" if loss == "poisson" else "target"]
    kw = dict(task_column="task", loss=loss, solver=solver, alpha=0.01, intercept_reg=shrink,
              epsilon=0.7, **TIGHT)
    fit_kw = dict(offset=frame["offset"]) if loss == "poisson" else {}
    ref = TraceNormRegressor(**kw).fit(X, y, sample_weight=frame["w"], **fit_kw)
    fit_kw = {k: _dd(v) for k, v in fit_kw.items()}
    got = TraceNormRegressor(**kw).fit(_dd(X), _dd(y), sample_weight=_dd(frame["w"]), **fit_kw)
    _assert_same(ref, got)
    assert abs(got.shared_intercept_ - ref.shared_intercept_) <= 1e-9


def test_penalty_not_bounding_coefficients_warns_as_in_memory():
    """MeanRegularizedClassifier(l2_reg=0): the minimiser is not unique (multiclass) or the
    classes are separated (binary): the warnings of the in-memory fit, from one pass."""
    frame = _per_task(seed=5)
    X = frame[["task"] + [f"x{j}" for j in range(D)]]
    kw = dict(task_column="task", alpha=0.1, l2_reg=0.0, tol=1e-8)
    with pytest.warns(UserWarning, match="minimiser is not unique"):
        MeanRegularizedClassifier(**kw).fit(_dd(X), _dd(frame["label"]))
    separable = (frame["x0"] > 0).astype(int)
    for Xf, yf in ((X, separable), (_dd(X), _dd(separable))):  # in memory, from Dask
        with pytest.warns(ConvergenceWarning, match=r"task\(s\) \[0, 1, 2\] are perfectly separated"):
            MeanRegularizedClassifier(**dict(kw, max_iter=20)).fit(Xf, yf)


def test_refusals_name_what_is_refused():
    frame = _per_task(seed=6)
    X = frame[["task"] + [f"x{j}" for j in range(D)]]
    Xd, wd = _dd(X), _dd(frame["w"])
    est = GroupLassoRegressor(task_column="task", loss="poisson")
    with pytest.raises(TypeError, match="offset must be a Dask Series .* same partitions"):
        est.fit(Xd, _dd(frame["count"]), offset=frame["offset"])
    with pytest.raises(ValueError, match="offset has 2 partitions but X has 3"):
        est.fit(Xd, _dd(frame["count"]), offset=dd.from_pandas(frame["offset"], npartitions=2))
    with pytest.raises(ValueError, match="offset is an argument of loss='poisson' only"):
        GroupLassoRegressor(task_column="task", loss="huber").fit(
            Xd, _dd(frame["target"]), offset=_dd(frame["offset"]))
    with pytest.raises(ValueError, match="loss='poisson' needs non-negative targets"):
        est.fit(Xd, _dd(frame["count"] - 5.0))
    zero = frame["count"].where(frame["task"] != 2, 0.0)
    with pytest.raises(ValueError, match=r"Task\(s\) \[2\] have only zero counts"):
        est.fit(Xd, _dd(zero), sample_weight=wd)
    assert not hasattr(est, "coef_")  # failed fits leave the estimator unfitted
    with pytest.raises(TypeError, match="offset must be a Dask collection partitioned like X"):
        GroupLassoRegressor(task_column="task", loss="poisson").fit(
            Xd, _dd(frame["count"])).predict(Xd, offset=frame["offset"])


def test_empty_partitions():
    """Partitions without rows (e.g. after a filter) add nothing: the softmax layout of an
    empty partition could not be built (ValueError from a (0, -1) reshape) before."""
    frame = _per_task(seed=10)
    X = frame[["task"] + [f"x{j}" for j in range(D)]]
    ddf = _dd(frame).map_partitions(lambda part: part[part.index < 80])  # 80, 0, 0 rows
    ddf = dd.concat([ddf, dd.from_pandas(frame.iloc[80:], npartitions=2)])
    Xd = ddf[["task"] + [f"x{j}" for j in range(D)]]
    kw = dict(task_column="task", alpha=0.01, **TIGHT)
    ref = GroupLassoClassifier(**kw).fit(X, frame["label"])
    _assert_same(ref, GroupLassoClassifier(**kw).fit(Xd, ddf["label"]))
    kw = dict(kw, loss="poisson")
    ref = GroupLassoRegressor(**kw).fit(X, frame["count"], offset=frame["offset"])
    _assert_same(ref, GroupLassoRegressor(**kw).fit(Xd, ddf["count"], offset=ddf["offset"]))


def test_on_local_cluster_with_worker_processes():
    """On worker processes (what travels is pickled): the multiclass fit and the Poisson
    fit with an offset equal the in-memory ones."""
    distributed = pytest.importorskip("distributed")
    frame = _per_task(seed=11)
    X = frame[["task"] + [f"x{j}" for j in range(D)]]
    kw = dict(task_column="task", alpha=0.01, **TIGHT)
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster, \
            distributed.Client(cluster), dask.config.set(scheduler=None):
        Xd = _dd(X).persist()
        clf = GroupLassoClassifier(**kw).fit(Xd, _dd(frame["label"]))
        reg = GroupLassoRegressor(loss="poisson", **kw).fit(Xd, _dd(frame["count"]),
                                                            offset=_dd(frame["offset"]))
    _assert_same(GroupLassoClassifier(**kw).fit(X, frame["label"]), clf)
    _assert_same(GroupLassoRegressor(loss="poisson", **kw).fit(X, frame["count"],
                                                               offset=frame["offset"]), reg)


def test_multiclass_predictions_from_dask_are_lazy_and_equal():
    """decision_function, predict_proba, predict_log_proba, predict of a K = 3 fit on Dask
    input: a Dask DataFrame (one column per class; predict: a Series) for a DataFrame,
    Dask arrays otherwise, (n, T, K) in the shared layout; unseen tasks with
    unseen_tasks="shared". Equal to the in-memory predictions (observed <= 9e-16)."""
    frame = _per_task(seed=12)
    X = frame[["task"] + [f"x{j}" for j in range(D)]]
    clf = MeanRegularizedClassifier(task_column="task", unseen_tasks="shared").fit(
        X, frame["label"])
    X_new = X.assign(task=X["task"] + 1)  # task 3 unseen
    for method in ("decision_function", "predict_proba", "predict_log_proba"):
        lazy = getattr(clf, method)(_dd(X_new))
        assert isinstance(lazy, dd.DataFrame)
        np.testing.assert_allclose(lazy.compute().to_numpy(), getattr(clf, method)(X_new),
                                   rtol=1e-12, atol=1e-14)
    np.testing.assert_array_equal(clf.predict(_dd(X_new)).compute().to_numpy(), clf.predict(X_new))
    Xa = X.to_numpy(dtype=float)
    clf = GroupLassoClassifier(task_column=0).fit(Xa, frame["label"])
    np.testing.assert_allclose(clf.predict_proba(_chunks(Xa)).compute(), clf.predict_proba(Xa),
                               rtol=1e-12, atol=1e-15)
    Xs, Ys, _, _ = _shared()
    clf = GroupLassoClassifier().fit(Xs, Ys["multinomial"])
    lazy = clf.predict_proba(_chunks(Xs))
    assert lazy.shape == (N, T, 3)
    np.testing.assert_allclose(lazy.compute(), clf.predict_proba(Xs), rtol=1e-12, atol=1e-15)
    np.testing.assert_array_equal(clf.predict(_chunks(Xs)).compute(), clf.predict(Xs))
