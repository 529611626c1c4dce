"""TorchFISTA: the linear estimators' solver on torch tensors agrees with the numba path."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from conftest import make_data  # noqa: E402
from sklearn.exceptions import ConvergenceWarning  # noqa: E402

from mtlreg import (  # noqa: E402
    DirtyRegressor,
    GroupLassoClassifier,
    GroupLassoRegressor,
    IndependentRegressor,
    MeanRegularizedRegressor,
    SparseGroupLassoRegressor,
    TraceNormRegressor,
)
from mtlreg.penalties import L1, L21, MeanRegularization, SparseGroupL1L21, TraceNorm, with_ridge  # noqa: E402
from mtlreg.torch import TorchFISTA  # noqa: E402
from mtlreg.torch._linear import prox_twin  # noqa: E402

pytestmark = pytest.mark.usefixtures("torch_one_thread")


ESTIMATORS = [
    GroupLassoRegressor(alpha=0.05),
    TraceNormRegressor(alpha=0.1),
    MeanRegularizedRegressor(alpha=1.0, l2_reg=0.01),
    SparseGroupLassoRegressor(alpha=0.05, l1_ratio=0.3),
    IndependentRegressor(alpha=0.02),
    GroupLassoRegressor(alpha=0.05, l2_reg=0.1, positive=True),
]


def relative_optimality_residual(est, X, y):
    """The first-order optimality measure of a fitted linear estimator, recomputed in
    NumPy (the datafit's gradient, the penalty's ``subdiff_distance``), relative to the
    gradient at ``W = 0`` as the solvers' ``tol``: 0 exactly at the optimum."""
    layout, datafit, _ = est._prepare(X, y, None, reset=False)
    W = est._variable_from_fitted()
    b = (layout.centre_intercept(W, est.intercept_) if est.fit_intercept
         else np.zeros(layout.n_tasks))
    G, gb = datafit.gradient(datafit.linear_predictor(W, b))
    crit = est._make_penalty().subdiff_distance(W, G)
    if est.fit_intercept:
        crit = max(crit, float(np.abs(gb).max()))
    G0 = est._null_model(layout, datafit)[2]
    return crit / np.abs(G0).max()


@pytest.mark.parametrize("layout", ["shared", "per_task"])
@pytest.mark.parametrize("est", ESTIMATORS, ids=lambda e: type(e).__name__)
def test_torch_fista_matches_the_numba_solvers(est, layout):
    data = make_data(layout, n=60, d=8, T=3)
    if layout == "shared":
        data.y[:5, 0] = np.nan  # a few missing labels
    params = dict(task_column=data.task_column, tol=1e-9, max_iter=50_000)
    ref = est.set_params(**params, solver="auto").fit(data.X, data.y)
    tor = est.set_params(**params, solver=TorchFISTA(device="cpu")).fit(data.X, data.y)
    scale = np.abs(ref.coef_).max()
    assert scale > 0.1  # a non-trivial solution, so the comparison means something
    np.testing.assert_allclose(tor.coef_, ref.coef_, atol=1e-5 * scale)
    np.testing.assert_allclose(tor.intercept_, ref.intercept_, atol=1e-5 * max(scale, 1))
    # optimal: solved at tol=1e-9, the optimality measure recomputed outside TorchFISTA
    assert relative_optimality_residual(tor, data.X, data.y) < 1e-7
    with pytest.warns(ConvergenceWarning):  # two iterations: the check can fail
        early = est.set_params(max_iter=2).fit(data.X, data.y)
    assert relative_optimality_residual(early, data.X, data.y) > 1e-5


def test_torch_fista_logistic_and_float32():
    data = make_data("shared", "logistic", n=80, d=6, T=3)
    ref = GroupLassoClassifier(alpha=0.01, tol=1e-9, max_iter=50_000).fit(data.X, data.y)
    tor = GroupLassoClassifier(alpha=0.01, tol=1e-9, max_iter=50_000,
                               solver=TorchFISTA("cpu")).fit(data.X, data.y)
    np.testing.assert_allclose(tor.coef_, ref.coef_, atol=1e-5 * np.abs(ref.coef_).max())
    data = make_data("shared", n=60, d=8, T=3)
    ref = GroupLassoRegressor(alpha=0.05, tol=1e-8).fit(data.X, data.y)
    f32 = GroupLassoRegressor(alpha=0.05, tol=1e-4,
                              solver=TorchFISTA("cpu", dtype="float32")).fit(data.X, data.y)
    np.testing.assert_allclose(f32.coef_, ref.coef_, atol=1e-3 * np.abs(ref.coef_).max())


def test_dirty_model_is_refused_clearly():
    data = make_data("shared", n=40, d=5, T=2)
    with pytest.raises(ValueError, match="TorchFISTA does not support"):
        DirtyRegressor(alpha=0.1, beta=0.1, solver=TorchFISTA("cpu")).fit(data.X, data.y)


@pytest.mark.parametrize("penalty", [
    L1(0.3), L1(0.3, positive=True), L21(0.5), L21(0.5, positive=True),
    SparseGroupL1L21(0.4, 0.3), TraceNorm(0.7), MeanRegularization(2.0),
    with_ridge(L21(0.5), 0.2), with_ridge(TraceNorm(0.3), 1.0),
], ids=lambda p: repr(type(p).__name__))
def test_prox_twins_equal_the_numpy_proxes(penalty):
    rng = np.random.default_rng(0)
    W = rng.standard_normal((7, 4))
    expected = penalty.prox(W.copy(), 0.8)
    got = prox_twin(penalty)(torch.as_tensor(W), 0.8).numpy()
    np.testing.assert_allclose(got, expected, atol=1e-12)
    assert not np.allclose(expected, W)  # the prox did something
