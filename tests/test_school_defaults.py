"""Default solver settings converge on School over the demo's parameter grids, raw and
standardised features (issue 13: a trace-norm grid search on raw School used to warn)."""

import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning

from mtlreg import (
    ClusteredRegressor,
    DirtyRegressor,
    FusedGroupLassoRegressor,
    GraphRegularizedRegressor,
    GroupLassoRegressor,
    IndependentRegressor,
    MeanRegularizedRegressor,
    RobustFeatureLearningRegressor,
    RobustMultiTaskRegressor,
    SparseGroupLassoRegressor,
    TemporalGroupLassoRegressor,
    TraceNormRegressor,
)
from mtlreg.datasets import load_school

GRID = np.logspace(-1.5, 1.5, 4)
CASES = {
    "independent": (IndependentRegressor, [dict(alpha=a) for a in np.logspace(-3, 1, 4)]),
    "mean": (MeanRegularizedRegressor, [dict(alpha=a, l2_reg=l2) for a in (0.01, 1.0, 100.0)
                                        for l2 in (1e-3, 1e-1)]),
    "group_lasso": (GroupLassoRegressor, [dict(alpha=a) for a in GRID]),
    "sparse_group": (SparseGroupLassoRegressor, [dict(alpha=a, l1_ratio=r)
                                                  for a in (0.01, 1.0, 30.0) for r in (0.2, 0.8)]),
    "trace": (TraceNormRegressor, [dict(alpha=a) for a in GRID]),
    "dirty": (DirtyRegressor, [dict(alpha=a, beta=b) for a in (10.0, 56.2, 316.0)
                               for b in (0.3, 3.16)]),
    # task relations (benchmarks/school_family.py's grids; the temporal models in the
    # order of the task labels)
    "graph": (GraphRegularizedRegressor, [dict(graph="complete", rho=r, alpha=a)
                                          for r in (3.0, 30.0) for a in (0.01, 0.1)]),
    "robust": (RobustMultiTaskRegressor, [dict(alpha=a, beta=b) for a in (3.0, 30.0)
                                          for b in (10.0, 30.0)]),
    "robust_features": (RobustFeatureLearningRegressor,
                        [dict(alpha=a, beta=b) for a in (3.0, 30.0) for b in (10.0, 30.0)]),
    "temporal": (TemporalGroupLassoRegressor, [dict(alpha=a, rho=r) for a in (0.1, 10.0)
                                               for r in (1.0, 10.0)]),
    "fused": (FusedGroupLassoRegressor, [dict(alpha=a, beta=b) for a in (0.1, 10.0)
                                         for b in (0.1, 1.0)]),
    "clustered": (ClusteredRegressor, [dict(alpha=a, eta=e, n_clusters=3)
                                       for a in (0.1, 1.0) for e in (0.1, 1.0)]),
}


@pytest.fixture(scope="module")
def school():
    X, y = load_school(return_X_y=True)
    Xs = X.copy()
    Xs[:, 1:] = (X[:, 1:] - X[:, 1:].mean(0)) / np.where(X[:, 1:].std(0) > 0, X[:, 1:].std(0), 1)
    return {"raw": (X, y), "standardised": (Xs, y)}


@pytest.mark.parametrize("features", ["raw", "standardised"])
@pytest.mark.parametrize("case", list(CASES))
def test_defaults_converge_on_school(school, case, features):
    Est, grid = CASES[case]
    X, y = school[features]
    for params in grid:
        with warnings.catch_warnings():
            warnings.simplefilter("error", ConvergenceWarning)
            est = Est(task_column=0, **params).fit(X, y)  # default tol and max_iter
        assert est.stop_crit_ <= est.tol * 10 or est.n_iter_ < est.max_iter, params


CLASSIFIERS = {
    "GroupLasso": [dict(alpha=a) for a in (0.001, 0.1)],
    "SparseGroupLasso": [dict(alpha=a) for a in (0.001, 0.1)],
    "TraceNorm": [dict(alpha=a) for a in (0.001, 0.1)],
    "Dirty": [dict(alpha=a, beta=0.005) for a in (0.001, 0.1)],
    "MeanRegularized": [dict(alpha=a) for a in (0.01, 1.0)],
    "Independent": [dict(alpha=a) for a in (0.001, 0.1)],
    "RobustMultiTask": [dict(alpha=a, beta=b) for a in (0.01, 0.1) for b in (0.01, 0.1)],
    "RobustFeatureLearning": [dict(alpha=a, beta=b) for a in (0.01, 0.1)
                              for b in (0.01, 0.1)],
}


@pytest.mark.parametrize("features", ["raw", "standardised"])
@pytest.mark.parametrize("stem", list(CLASSIFIERS))
def test_classifier_defaults_converge_on_school(school, stem, features):
    """Labels ``score > median`` (MALSAR's logistic setting); ``solver="auto"`` is
    proximal Newton here."""
    import mtlreg

    X, y = school[features]
    labels = (y > np.median(y)).astype(int)
    for params in CLASSIFIERS[stem]:
        with warnings.catch_warnings():
            warnings.simplefilter("error", ConvergenceWarning)
            est = getattr(mtlreg, stem + "Classifier")(task_column=0, **params).fit(X, labels)
        assert est.stop_crit_ <= est.tol * 10 or est.n_iter_ < est.max_iter, params
