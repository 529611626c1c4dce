"""Working-set BCD on a dense shared design (mtlreg/solvers/bcd.py::_working_sets).

Every row kind must give the optimum that FISTA finds at a tight tolerance, with and
without the special cases of the solver (equal weights on every sample: ``uniform``;
missing labels and sample weights: the general weighted residual), and the Anderson
extrapolation must never increase the objective.
"""

import importlib
import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose

from mtlreg import (
    DirtyRegressor,
    GroupLassoRegressor,
    IndependentRegressor,
    MeanRegularizedRegressor,
    SparseGroupLassoRegressor,
)
from mtlreg._tasks.layout import SharedDesign
from mtlreg.datafits import Quadratic
from mtlreg.datasets import make_multitask_regression
from mtlreg.penalties import L21
from mtlreg.solvers._bcd_kernels import bcd_design_ws, centred_sq_norms
from mtlreg.solvers.fista import result_at

bcd_module = importlib.import_module("mtlreg.solvers.bcd")  # the module, not the function

# d = 300 > 256 features: the dense design, never the Gram form
N, D, T = 60, 300, 4
TIGHT = dict(tol=1e-10, max_iter=50_000)


def _data(missing=False, seed=0):
    X, Y = make_multitask_regression(N, D, T, n_informative=15, correlation=0.5,
                                     noise=0.5, random_state=seed)
    X = X + 3.0  # uncentred features: the intercept and the centring matter
    if missing:
        rng = np.random.default_rng(seed)
        Y = Y.copy()
        Y[rng.random(Y.shape) < 0.15] = np.nan
    return X, Y


@pytest.fixture
def spy(monkeypatch):
    """Counts the calls of the shared-design working-set solver."""
    calls = []
    original = bcd_module._working_sets

    def wrapped(*args, **kwargs):
        calls.append(1)
        return original(*args, **kwargs)

    monkeypatch.setattr(bcd_module, "_working_sets", wrapped)
    return calls


CASES = {
    "l21": lambda a: GroupLassoRegressor(alpha=a),
    "l21_positive": lambda a: GroupLassoRegressor(alpha=a, positive=True),
    "l21_ridge": lambda a: GroupLassoRegressor(alpha=a, l2_reg=0.05),
    "l21_no_intercept": lambda a: GroupLassoRegressor(alpha=a, fit_intercept=False),
    "sgl": lambda a: SparseGroupLassoRegressor(alpha=a, l1_ratio=0.5),
    "sgl_positive": lambda a: SparseGroupLassoRegressor(alpha=a, l1_ratio=0.3, positive=True),
    "lasso": lambda a: IndependentRegressor(alpha=a, penalty="l1"),
    "dirty_l1inf": lambda a: DirtyRegressor(alpha=a, beta=1.5 * a, block_norm="l1inf"),
    "dirty_l21": lambda a: DirtyRegressor(alpha=a, beta=1.5 * a, block_norm="l21"),
    "meanreg": lambda a: MeanRegularizedRegressor(alpha=50 * a, l2_reg=a),
}


def _alpha(X, Y, sample_weight, task_weights):
    est = GroupLassoRegressor(task_weights=task_weights)
    return 0.1 * est.compute_alpha_max(X, Y, sample_weight=sample_weight)


@pytest.mark.parametrize("weighted", [False, True], ids=["uniform", "nan_weights"])
@pytest.mark.parametrize("case", list(CASES))
def test_bcd_matches_fista(case, weighted, spy):
    X, Y = _data(missing=weighted)
    sw = np.random.default_rng(1).uniform(0.5, 2.0, N) if weighted else None
    tw = np.array([1.0, 2.0, 0.5, 1.0]) if weighted else None
    alpha = _alpha(X, Y, sw, tw)
    fits = {}
    for solver in ("bcd", "fista"):
        est = CASES[case](alpha).set_params(solver=solver, task_weights=tw, **TIGHT)
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # both solvers converge here, silently
            est.fit(X, Y, sample_weight=sw)
        fits[solver] = est
    assert spy, "the shared-design working-set solver was not used"
    b, f = fits["bcd"], fits["fista"]
    assert b.objective_ <= f.objective_ * (1 + 1e-9) + 1e-12
    assert abs(b.objective_ - f.objective_) <= 1e-8 * abs(f.objective_)
    assert_allclose(b.coef_, f.coef_, atol=2e-4 * max(1.0, np.abs(f.coef_).max()))
    assert_allclose(b.intercept_, f.intercept_, atol=1e-3 * max(1.0, np.abs(f.intercept_).max()))


def test_reported_result_is_checked_from_scratch():
    """objective_ and stop_crit_ are those of the returned point, recomputed exactly."""
    X, Y = _data(missing=True)
    alpha = _alpha(X, Y, None, None)
    est = GroupLassoRegressor(alpha=alpha, solver="bcd", tol=1e-6).fit(X, Y)
    layout = SharedDesign(X, Y, np.ones(N), None, True)
    datafit = Quadratic(layout)
    W = est.coef_.T.copy()
    b = layout.centre_intercept(W, est.intercept_)
    ref = result_at(datafit, L21(alpha), W, b, n_iter=0, tol_abs=np.inf)
    assert_allclose(est.objective_, ref.objective, rtol=1e-12)
    assert_allclose(est.stop_crit_, ref.stop_crit, rtol=1e-6, atol=1e-14)


def test_max_iter_warns_and_warm_start_continues():
    X, Y = _data()
    alpha = _alpha(X, Y, None, None) / 5
    est = GroupLassoRegressor(alpha=alpha, solver="bcd", tol=1e-10, max_iter=3)
    with pytest.warns(Warning, match="did not converge"):
        est.fit(X, Y)
    assert est.n_iter_ <= 3
    est.set_params(max_iter=50_000, warm_start=True).fit(X, Y)
    cold = GroupLassoRegressor(alpha=alpha, solver="fista", tol=1e-10, max_iter=50_000)
    cold.fit(X, Y)
    assert abs(est.objective_ - cold.objective_) <= 1e-8 * cold.objective_


# ----------------------------------------------------------------- the kernel itself
def _kernel_problem(seed=0, weighted=False):
    X, Y = _data(missing=weighted, seed=seed)
    X = np.asfortranarray(X)
    sw = np.random.default_rng(seed).uniform(0.5, 2.0, N) if weighted else np.ones(N)
    layout = SharedDesign(X, Y, sw, None, True)
    C, Yz = layout.c, layout.y
    mu = np.ascontiguousarray(layout.mu[0])
    b = Quadratic(layout).initial_intercept()
    RT = np.ascontiguousarray((C * (b[None, :] - Yz)).T)
    D = np.ascontiguousarray(((X - mu) ** 2).T @ C)
    G0 = (RT @ X - np.outer(RT.sum(axis=1), mu))
    alpha = 0.05 * np.sqrt((G0**2).sum(axis=0)).max()
    kind = np.zeros(D.shape[0], dtype=np.int64)
    a1 = np.full(D.shape[0], alpha)
    a2 = np.zeros(D.shape[0])
    return X, Yz, mu, C, RT, b, D, kind, a1, a2, alpha


def _objective(X, mu, C, Y, V, b, alpha):
    Z = (X - mu) @ V + b
    return 0.5 * np.sum(np.where(C > 0, C * (Z - Y) ** 2, 0.0)) + alpha * np.sqrt(
        (V**2).sum(axis=1)).sum()


@pytest.mark.parametrize("anderson", [0, 3, 5])
def test_objective_monotone_with_anderson(anderson):
    """k sweeps from the same start: the objective never increases with k (BCD steps
    decrease it, an extrapolation is kept only if it decreases it)."""
    X, Yz, mu, C, RT0, b0, D, kind, a1, a2, alpha = _kernel_problem(weighted=True)
    rows = np.arange(D.shape[0], dtype=np.int64)
    feat = rows.copy()
    values = []
    for k in range(1, 40):
        V = np.zeros((D.shape[0], T))
        b = b0.copy()
        RT = RT0.copy()
        bcd_design_ws(X, mu, np.ascontiguousarray(C.T), C[0].copy(), False, RT, V, feat, rows,
                      b, D, kind, a1, a2, 0.0, False, 1, k, 0.0, anderson)
        # the maintained residual is the residual of (V, b)
        Z = (X - mu) @ V + b
        assert_allclose(RT, (C * (Z - Yz)).T, atol=1e-10)
        values.append(_objective(X, mu, C, Yz, V, b, alpha))
    values = np.array(values)
    assert np.all(np.diff(values) <= 1e-12 * values[0]), np.diff(values).max()


def test_uniform_path_equals_general_path():
    """Equal weights: the specialised update (no weight matrix) gives the general one."""
    X, _, mu, C, RT0, b0, D, kind, a1, a2, alpha = _kernel_problem(weighted=False)
    assert np.all(C == C[:1])
    rows = np.arange(D.shape[0], dtype=np.int64)
    out = []
    for uniform in (True, False):
        V = np.zeros((D.shape[0], T))
        b = b0.copy()
        RT = RT0.copy()
        CT = np.zeros((1, 1)) if uniform else np.ascontiguousarray(C.T)
        sweeps, _ = bcd_design_ws(X, mu, CT, C[0].copy(), uniform, RT, V, rows, rows, b, D,
                                  kind, a1, a2, 0.0, False, 1, 25, 0.0, 5)
        out.append((V, b, RT, sweeps))
    assert out[0][3] == out[1][3]
    for u, g in zip(out[0][:3], out[1][:3]):
        assert_allclose(u, g, rtol=1e-9, atol=1e-12)


def test_centred_sq_norms():
    X, _ = _data()
    X = np.asfortranarray(X)
    mu = X.mean(axis=0)
    assert_allclose(centred_sq_norms(X, mu), ((X - mu) ** 2).sum(axis=0), rtol=1e-12)
