"""Multiclass (K > 2) edges: ``unseen_tasks="shared"`` (the population model per class,
checked against its formula), warm starts of the two-part models (dirty, robust), and
the torch bridge's handling of the softmax datafit."""

import numpy as np
import pytest
from scipy.special import softmax

from mtlreg import (
    DirtyClassifier,
    GroupLassoClassifier,
    MeanRegularizedClassifier,
    RobustFeatureLearningClassifier,
    RobustMultiTaskClassifier,
    TraceNormClassifier,
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


def test_docstrings_state_the_unseen_task_rule_where_it_applies():
    rule = "applies its rule per\n    class"
    assert rule in MeanRegularizedClassifier.__doc__ and rule in DirtyClassifier.__doc__
    assert rule not in GroupLassoClassifier.__doc__


def test_unseen_tasks_error_stays_an_error():
    X, t, y = _data(seed=3)
    est = MeanRegularizedClassifier(alpha=0.3, task_column=0).fit(np.column_stack([t, X]), y)
    with pytest.raises(ValueError, match="Unknown task"):
        est.predict(np.column_stack([np.full(3, 9.0), X[:3]]))


# ------------------------------------------------------------ warm starts
@pytest.mark.parametrize("make", [
    lambda: DirtyClassifier(alpha=0.1, beta=0.03, task_column=0),  # B and S both non-zero
    lambda: RobustMultiTaskClassifier(alpha=0.05, beta=0.05, task_column=0),
    lambda: RobustFeatureLearningClassifier(alpha=0.05, beta=0.05, task_column=0),
    lambda: GroupLassoClassifier(alpha=0.03, task_column=0),
    lambda: DirtyClassifier(alpha=0.1, beta=0.03, intercept_reg=0.5, task_column=0),
], ids=["dirty", "robust", "robust_feature", "group_lasso", "dirty_shrunk_intercepts"])
@pytest.mark.parametrize("solver", ["newton", "fista"])
def test_warm_start_of_a_multiclass_fit_starts_at_the_solution(make, solver):
    X, t, y = _data(seed=4)
    Xt = np.column_stack([t, X])
    est = make().set_params(tol=1e-8, max_iter=20_000, solver=solver).fit(Xt, y)
    coef, n_cold = est.coef_.copy(), est.n_iter_
    assert n_cold > 2
    est.set_params(warm_start=True).fit(Xt, y)
    assert est.n_iter_ <= 1, (n_cold, est.n_iter_)
    np.testing.assert_allclose(est.coef_, coef, atol=1e-6)
    # both parts are read: from zero parts the solver iterates again
    parts = [n for n in ("coef_shared_", "coef_specific_", "coef_lowrank_", "coef_outlier_")
             if hasattr(est, n)]
    assert all(np.abs(getattr(est, n)).max() > 1e-3 for n in parts)
    for name in parts:
        setattr(est, name, np.zeros_like(getattr(est, name)))
    if parts:
        est.fit(Xt, y)
        assert est.n_iter_ > 1
    est.set_params(warm_start=False).fit(Xt, y)
    assert est.n_iter_ == n_cold


# ------------------------------------------------------------ TorchFISTA
def _relative_optimality(est, X, y):
    """The optimality measure of a fitted multiclass estimator recomputed with the NumPy
    datafit and penalty (outside TorchFISTA), relative to the gradient at ``W = 0``."""
    layout, datafit, _ = est._prepare(X, y, None, reset=False)
    W = est._variable_from_fitted()
    b = layout.centre_intercept(W, est.intercept_)
    G, gb = datafit.gradient(datafit.linear_predictor(W, b))
    crit = max(est._make_penalty().subdiff_distance(W, G), float(np.abs(gb).max()))
    return crit / np.abs(est._null_model(layout, datafit)[2]).max()


@pytest.fixture
def torch_single():
    """torch (skipped without it) with one intra-op thread, restored after the test."""
    torch = pytest.importorskip("torch")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield torch
    torch.set_num_threads(threads)


@pytest.mark.parametrize("layout", ["shared", "per_task"])
@pytest.mark.parametrize("make", [
    lambda: GroupLassoClassifier(alpha=0.03),
    lambda: MeanRegularizedClassifier(alpha=0.3, l2_reg=0.01),  # PerClass penalty
    lambda: TraceNormClassifier(alpha=0.05),
], ids=["group_lasso", "mean", "trace"])
def test_torch_fista_fits_multiclass_tasks(make, layout, torch_single):
    from mtlreg.torch import TorchFISTA

    X, t, y = _data(seed=5)
    if layout == "shared":
        X, y = X[t == 0], np.column_stack([y[t == 0], y[t == 1], y[t == 2]])
        params = dict()
    else:
        X, params = np.column_stack([t, X]), dict(task_column=0)
    ref = make().set_params(**params, tol=1e-10, max_iter=50_000).fit(X, y)
    tor = make().set_params(**params, tol=1e-9, max_iter=50_000,
                            solver=TorchFISTA(device="cpu")).fit(X, y)
    assert tor.coef_.shape == ref.coef_.shape == (T, K, D)
    scale = np.abs(ref.coef_).max()
    assert scale > 0.1
    np.testing.assert_allclose(tor.coef_, ref.coef_, atol=1e-5 * scale)
    np.testing.assert_allclose(tor.intercept_, ref.intercept_, atol=1e-5 * max(scale, 1))
    assert _relative_optimality(tor, X, y) < 1e-8  # fitted at tol 1e-9


def test_torch_prox_twin_per_class_and_refusals(torch_single):
    torch = torch_single
    from mtlreg.penalties import MeanRegularization, PerClass, with_ridge
    from mtlreg.torch import TorchFISTA
    from mtlreg.torch._linear import prox_twin

    W = np.random.default_rng(0).standard_normal((5, K * T))
    pen = PerClass(with_ridge(MeanRegularization(2.0), 0.1), K)
    expected = pen.prox(W.copy(), 0.7)
    np.testing.assert_allclose(prox_twin(pen)(torch.as_tensor(W), 0.7).numpy(), expected,
                               atol=1e-13)
    X, t, y = _data(seed=6)
    Xt = np.column_stack([t, X])
    with pytest.raises(ValueError, match=r"multinomial \(softmax, K > 2 classes\).*two-part"):
        DirtyClassifier(alpha=0.1, beta=0.03, task_column=0,
                        solver=TorchFISTA("cpu")).fit(Xt, y)
