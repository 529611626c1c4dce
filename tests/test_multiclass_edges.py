"""Multiclass (K > 2) edges: ``unseen_tasks="shared"`` (the population model per class,
checked against its formula), warm starts of the two-part models (dirty, robust), and
the torch bridge's handling of the softmax datafit."""

import numpy as np
import pytest
from scipy.special import softmax

from mtlreg import (
    DirtyClassifier,
    MeanRegularizedClassifier,
)

T, K, D = 3, 3, 4


def _data(n=120, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, D))
    t = np.repeat(np.arange(T), n // T)
    W = rng.standard_normal((T, K, D))
    Z = np.einsum("nd,nkd->nk", X, W[t])
    P = softmax(Z, axis=1)
    y = np.array([rng.choice(K, p=p) for p in P])
    return X, t, y


# ------------------------------------------------------------ unseen_tasks="shared"
@pytest.mark.parametrize("make, centre", [
    (lambda: MeanRegularizedClassifier(alpha=0.3, task_column=0, unseen_tasks="shared"),
     lambda e: (e.coef_.mean(axis=0), e.intercept_.mean(axis=0))),
    (lambda: MeanRegularizedClassifier(alpha=0.3, intercept_reg=0.5, task_column=0,
                                       unseen_tasks="shared"),
     lambda e: (e.coef_.mean(axis=0), e.shared_intercept_)),
    (lambda: DirtyClassifier(alpha=0.05, beta=0.03, task_column=0, unseen_tasks="shared"),
     lambda e: (e.coef_shared_.mean(axis=0), e.intercept_.mean(axis=0))),
])
def test_unseen_task_uses_the_population_model_per_class(make, centre):
    """A row of an unseen task gets, per class k, ``x . mean_t(w_tk) + b_bar_k``: the
    binary rule applied to each class. Seen rows are unchanged; rows sum to one."""
    X, t, y = _data(seed=1)
    est = make().fit(np.column_stack([t, X]), y)
    w, b = centre(est)
    assert w.shape == (K, D) and b.shape == (K,)
    rng = np.random.default_rng(2)
    Xn = rng.standard_normal((7, D))
    new = np.column_stack([np.full(7, 99.0), Xn])
    seen = np.column_stack([t[:5], X[:5]])
    Z = est.decision_function(np.vstack([new, seen]))
    assert Z.shape == (12, K)
    np.testing.assert_allclose(Z[:7], Xn @ w.T + b, rtol=1e-12, atol=1e-13)
    Zseen = np.einsum("nd,nkd->nk", X[:5], est.coef_[t[:5]]) + est.intercept_[t[:5]]
    np.testing.assert_allclose(Z[7:], Zseen, rtol=1e-12, atol=1e-13)
    P = est.predict_proba(new)
    np.testing.assert_allclose(P.sum(axis=1), 1.0, rtol=1e-14)
    np.testing.assert_allclose(P, softmax(Xn @ w.T + b, axis=1), rtol=1e-12)
    np.testing.assert_allclose(est.predict_log_proba(new), np.log(P), rtol=1e-12, atol=1e-14)
    np.testing.assert_array_equal(est.predict(new), est.classes_[np.argmax(Xn @ w.T + b, axis=1)])
    # the population intercepts are centred over the classes, as intercept_
    assert abs(b.sum()) <= 1e-12


def test_unseen_tasks_error_stays_an_error():
    X, t, y = _data(seed=3)
    est = MeanRegularizedClassifier(alpha=0.3, task_column=0).fit(np.column_stack([t, X]), y)
    with pytest.raises(ValueError, match="Unknown task"):
        est.predict(np.column_stack([np.full(3, 9.0), X[:3]]))
