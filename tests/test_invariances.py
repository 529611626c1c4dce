"""Property tests (hypothesis) of invariances that every formulation must satisfy.

Derandomized in CI (the "ci" profile of conftest.py); ``HYPOTHESIS_PROFILE=explore``
draws fresh examples. Each test runs a handful of examples per formulation so that
the file stays well under a minute with numba's cache warm.

The rules, from the objectives (data term: the weighted mean loss of each task):

* permuting the tasks (columns of Y) permutes the rows of ``coef_`` and the intercepts;
* permuting the features permutes the columns of ``coef_``;
* duplicating every row leaves the solution unchanged (a per-task mean does not see it);
* scaling the target of a squared-loss model, ``y -> c y``: every penalty here is a sum
  of positively homogeneous norms (degree 1: ``alpha``, ``beta`` of the group lasso,
  sparse group lasso, trace norm, dirty model, l1) and of squared norms (degree 2:
  ``l2_reg``, the mean-regularized ``alpha``, the independent ridge ``alpha``), all
  symmetric (``P(-W) = P(W)``). With ``W -> c W`` the data term is multiplied by
  ``c^2``, a degree-1 term by ``|c|`` and a degree-2 term by ``c^2``; so
  ``alpha -> |c| alpha`` (degree 1), degree-2 parameters unchanged, gives
  ``coef_ -> c coef_`` and ``intercept_ -> c intercept_``;
* refitting with ``warm_start`` on the same data stays at the solution (within tol);
* the user's arrays are never modified (fit, predict, score);
* pickle and joblib round trips reproduce the predictions exactly.
"""

import io
import pickle

import joblib
import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from conftest import make_data
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose, assert_array_equal

from mtlreg import (
    ClusteredClassifier,
    ClusteredRegressor,
    DirtyClassifier,
    DirtyRegressor,
    FusedGroupLassoClassifier,
    FusedGroupLassoRegressor,
    GraphRegularizedClassifier,
    GraphRegularizedRegressor,
    GroupLassoClassifier,
    GroupLassoRegressor,
    GroupLassoRegressorCV,
    IndependentClassifier,
    IndependentRegressor,
    MeanRegularizedClassifier,
    MeanRegularizedRegressor,
    RobustFeatureLearningClassifier,
    RobustFeatureLearningRegressor,
    RobustMultiTaskClassifier,
    RobustMultiTaskRegressor,
    SparseGroupLassoClassifier,
    SparseGroupLassoRegressor,
    SparseTraceNormClassifier,
    SparseTraceNormRegressor,
    TemporalGroupLassoClassifier,
    TemporalGroupLassoRegressor,
    TraceNormClassifier,
    TraceNormRegressor,
)

# (class, parameters, names of the degree-1 penalty parameters)
REGRESSORS = [
    (GroupLassoRegressor, {"alpha": 0.05}, ("alpha",)),
    (SparseGroupLassoRegressor, {"alpha": 0.05, "l1_ratio": 0.4}, ("alpha",)),
    (TraceNormRegressor, {"alpha": 0.1, "l2_reg": 0.01}, ("alpha",)),
    (DirtyRegressor, {"alpha": 0.06, "beta": 0.04}, ("alpha", "beta")),
    (IndependentRegressor, {"alpha": 0.05, "penalty": "l1"}, ("alpha",)),
    (IndependentRegressor, {"alpha": 0.1, "penalty": "l2"}, ()),
    (MeanRegularizedRegressor, {"alpha": 0.5, "l2_reg": 0.05}, ()),
    # the seven task-relation models: rho of the graph and temporal terms and the
    # clustered alpha weight squared norms (degree 2)
    (GraphRegularizedRegressor, {"alpha": 0.03, "rho": 0.5}, ("alpha",)),
    (TemporalGroupLassoRegressor, {"alpha": 0.05, "rho": 0.5}, ("alpha",)),
    (FusedGroupLassoRegressor, {"alpha": 0.05, "beta": 0.03}, ("alpha", "beta")),
    (SparseTraceNormRegressor, {"alpha": 0.05, "l1_ratio": 0.5}, ("alpha",)),
    (RobustMultiTaskRegressor, {"alpha": 0.05, "beta": 0.1}, ("alpha", "beta")),
    (RobustFeatureLearningRegressor, {"alpha": 0.05, "beta": 0.1}, ("alpha", "beta")),
    (ClusteredRegressor, {"alpha": 0.5, "eta": 1.0, "n_clusters": 2}, ()),
]
CLASSIFIERS = [
    (GroupLassoClassifier, {"alpha": 0.01}),
    (SparseGroupLassoClassifier, {"alpha": 0.01, "l1_ratio": 0.4}),
    (TraceNormClassifier, {"alpha": 0.01}),
    (DirtyClassifier, {"alpha": 0.01, "beta": 0.008}),
    (IndependentClassifier, {"alpha": 0.05}),
    (MeanRegularizedClassifier, {"alpha": 0.5, "l2_reg": 0.05}),
    (GraphRegularizedClassifier, {"alpha": 0.005, "rho": 0.5}),
    (TemporalGroupLassoClassifier, {"alpha": 0.01, "rho": 0.5}),
    (FusedGroupLassoClassifier, {"alpha": 0.01, "beta": 0.005}),
    (SparseTraceNormClassifier, {"alpha": 0.01, "l1_ratio": 0.5}),
    (RobustMultiTaskClassifier, {"alpha": 0.01, "beta": 0.02}),
    (RobustFeatureLearningClassifier, {"alpha": 0.01, "beta": 0.02}),
    (ClusteredClassifier, {"alpha": 0.1, "eta": 1.0, "n_clusters": 2}),
]
TIGHT = {"tol": 1e-10, "max_iter": 50000}
ALL = [(cls, params) for cls, params, _ in REGRESSORS] + CLASSIFIERS
# the temporal and fused penalties follow the order of the tasks: a permutation of the
# tasks changes the objective (the others, the complete graph included, are symmetric)
TASK_SYMMETRIC = [case for case in ALL
                  if not case[0].__name__.startswith(("Temporal", "Fused"))]


def _name(case):
    cls, params = case[0], case[1]
    extra = params.get("penalty", "")
    return cls.__name__ + (f"-{extra}" if extra else "")


def _loss(cls):
    return "logistic" if "Classifier" in cls.__name__ else "squared"


def _close(a, b, rel=1e-6):
    """Equal up to the solver's tolerance, relative to the size of the solution."""
    scale = max(np.abs(a).max(initial=0.0), np.abs(b).max(initial=0.0), 1e-3)
    assert_allclose(a, b, rtol=0, atol=rel * scale)


SETTINGS = settings(max_examples=4, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])
seeds = st.integers(0, 2**16)


@pytest.mark.parametrize("case", TASK_SYMMETRIC, ids=_name)
@SETTINGS
@given(seed=seeds, data=st.data())
def test_permuting_tasks_permutes_coefficients(case, seed, data):
    cls, params = case
    d = make_data("shared", _loss(cls), n=40, d=5, T=4, seed=seed)
    perm = np.asarray(data.draw(st.permutations(range(4))))
    a = cls(**params, **TIGHT).fit(d.X, d.y)
    b = cls(**params, **TIGHT).fit(d.X, d.y[:, perm])
    _close(b.coef_, a.coef_[perm])
    _close(b.intercept_, a.intercept_[perm])


@pytest.mark.parametrize("case", ALL, ids=_name)
@SETTINGS
@given(seed=seeds, layout=st.sampled_from(["shared", "per_task"]), data=st.data())
def test_permuting_features_permutes_coefficients(case, seed, layout, data):
    cls, params = case
    d = make_data(layout, _loss(cls), n=40, d=5, T=3, seed=seed)
    perm = np.asarray(data.draw(st.permutations(range(5))))
    kw = {"task_column": d.task_column}
    Xp = d.features[:, perm] if layout == "shared" else np.column_stack(
        [d.X[:, 0], d.features[:, perm]])
    a = cls(**params, **TIGHT, **kw).fit(d.X, d.y)
    b = cls(**params, **TIGHT, **kw).fit(Xp, d.y)
    _close(b.coef_, a.coef_[:, perm])
    _close(b.intercept_, a.intercept_)


@pytest.mark.parametrize("case", ALL, ids=_name)
@SETTINGS
@given(seed=seeds, layout=st.sampled_from(["shared", "per_task"]),
       copies=st.integers(2, 3))
def test_duplicating_every_row_changes_nothing(case, seed, layout, copies):
    cls, params = case
    d = make_data(layout, _loss(cls), n=40, d=5, T=3, seed=seed)
    kw = {"task_column": d.task_column}
    a = cls(**params, **TIGHT, **kw).fit(d.X, d.y)
    b = cls(**params, **TIGHT, **kw).fit(np.tile(d.X, (copies, 1)),
                                         np.concatenate([d.y] * copies))
    _close(b.coef_, a.coef_)
    _close(b.intercept_, a.intercept_)


@pytest.mark.parametrize("case", REGRESSORS, ids=_name)
@SETTINGS
@given(seed=seeds, layout=st.sampled_from(["shared", "per_task"]),
       c=st.floats(0.01, 100.0), negative=st.booleans())
def test_scaling_the_target(case, seed, layout, c, negative):
    cls, params, degree_one = case
    c = -c if negative else c
    d = make_data(layout, "squared", n=40, d=5, T=3, seed=seed)
    kw = {"task_column": d.task_column}
    scaled = dict(params, **{name: abs(c) * params[name] for name in degree_one})
    a = cls(**params, **TIGHT, **kw).fit(d.X, d.y)
    b = cls(**scaled, **TIGHT, **kw).fit(d.X, c * d.y)
    _close(b.coef_, c * a.coef_)
    _close(b.intercept_, c * a.intercept_)


@pytest.mark.parametrize("case", ALL, ids=_name)
@SETTINGS
@given(seed=seeds, layout=st.sampled_from(["shared", "per_task"]))
def test_warm_start_refit_on_the_same_data(case, seed, layout):
    cls, params = case
    d = make_data(layout, _loss(cls), n=40, d=5, T=3, seed=seed)
    est = cls(**params, tol=1e-8, max_iter=50000, warm_start=True,
              task_column=d.task_column).fit(d.X, d.y)
    coef, intercept, first = est.coef_.copy(), est.intercept_.copy(), est.n_iter_
    est.fit(d.X, d.y)
    _close(est.coef_, coef, rel=1e-5)
    _close(est.intercept_, intercept, rel=1e-5)
    assert est.n_iter_ <= max(first, 1)


def _inputs(layout, loss, seed, kind):
    d = make_data(layout, loss, n=40, d=5, T=3, seed=seed)
    X, y = d.X, d.y
    if kind == "fortran":
        X = np.asfortranarray(X)
    elif kind == "sparse" and layout == "shared":
        X = sp.csr_matrix(X)
    elif kind == "frame":
        X = pd.DataFrame(X, columns=[f"c{k}" for k in range(X.shape[1])])
        y = pd.DataFrame(y) if y.ndim == 2 else pd.Series(y)
    return d, X, y


def _snapshot(a):
    if sp.issparse(a):
        return a.copy()
    if hasattr(a, "copy") and hasattr(a, "iloc"):
        return a.copy(deep=True)
    return np.array(a, copy=True, order="K")


def _unchanged(before, after):
    if sp.issparse(before):
        assert (before != after).nnz == 0
        assert_array_equal(before.indices, after.indices)
    elif hasattr(before, "iloc"):
        pd.testing.assert_frame_equal(pd.DataFrame(before), pd.DataFrame(after))
    else:
        assert_array_equal(before, after)
        assert before.flags["C_CONTIGUOUS"] == after.flags["C_CONTIGUOUS"]


@pytest.mark.parametrize("case", ALL, ids=_name)
@settings(max_examples=3, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=seeds, layout=st.sampled_from(["shared", "per_task"]),
       kind=st.sampled_from(["plain", "fortran", "sparse", "frame"]))
def test_user_arrays_are_never_modified(case, seed, layout, kind):
    cls, params = case
    d, X, y = _inputs(layout, _loss(cls), seed, kind)
    sw = np.linspace(0.5, 2.0, d.X.shape[0])
    if _loss(cls) == "squared" and layout == "shared":  # missing labels too
        y = y.copy()
        if hasattr(y, "iloc"):
            y.iloc[::7, 1] = np.nan
        else:
            y[::7, 1] = np.nan
    copies = [_snapshot(a) for a in (X, y, sw)]
    tw = np.array([1.0, 2.0, 0.5])
    est = cls(**params, task_column=d.task_column, task_weights=tw).fit(X, y, sample_weight=sw)
    est.predict(X)
    est.score(X, y, sample_weight=sw)
    for before, after in zip(copies, (X, y, sw)):
        _unchanged(before, after)
    assert_array_equal(tw, [1.0, 2.0, 0.5])
    assert est.task_weights is tw


@pytest.mark.parametrize("case", ALL + [(GroupLassoRegressorCV, {"n_alphas": 3, "cv": 2})],
                         ids=_name)
@settings(max_examples=2, deadline=None)
@given(seed=seeds, layout=st.sampled_from(["shared", "per_task"]))
def test_pickle_and_joblib_round_trips(case, seed, layout):
    cls, params = case
    d = make_data(layout, _loss(cls), n=40, d=5, T=3, seed=seed)
    est = cls(**params, task_column=d.task_column).fit(d.X, d.y)
    methods = ["predict"] + (["predict_proba", "decision_function"]
                             if hasattr(est, "predict_proba") else [])
    expected = {m: getattr(est, m)(d.X) for m in methods}
    again = pickle.loads(pickle.dumps(est))
    buffer = io.BytesIO()
    joblib.dump(est, buffer)
    buffer.seek(0)
    loaded = joblib.load(buffer)
    for copy in (again, loaded):
        for m in methods:
            assert_array_equal(getattr(copy, m)(d.X), expected[m])
        assert_array_equal(copy.coef_, est.coef_)
        assert copy.get_params().keys() == est.get_params().keys()
