"""Gap-safe screening in the working-set BCD on a shared design (issue 15).

The rule (mtlreg/solvers/_screening.py) must never discard a feature that is active at
the optimum, its duality gap must bound the suboptimality from both sides (checked
against cvxpy), and a screened solve must return the unscreened optimum, with the
stopping rule checked on every feature.
"""

import importlib

import cvxpy as cp
import numpy as np
import pytest

from mtlreg import GroupLassoRegressor
from mtlreg.datasets import make_multitask_regression
from mtlreg.solvers._screening import GapSafeL21, gap_safe_applies
from mtlreg.solvers._bcd_kernels import L1_KIND, L21_KIND

bcd_module = importlib.import_module("mtlreg.solvers.bcd")  # the module, not the function

# d = 300 > 256 features: the dense design (not the Gram form), where screening runs
N, D, T = 60, 300, 4


def _data(seed=0):
    X, Y = make_multitask_regression(N, D, T, n_informative=15, correlation=0.5,
                                     noise=0.5, random_state=seed)
    return X + 3.0, Y  # uncentred features: the intercept and the centring matter


def _screener_state(est, X, Y):
    """Screener, dual-point inputs (RT, centred gradient) at ``est``'s solution, computed
    from scratch in numpy (the solver's own bookkeeping is not used)."""
    n_t = np.full(T, float(X.shape[0]))
    lam = np.ones(T) if est.task_weights is None else np.asarray(est.task_weights, float)
    cvec = lam / n_t
    mu = X.mean(axis=0) if est.fit_intercept else np.zeros(X.shape[1])
    E = X @ est.coef_.T + est.intercept_[None, :] - Y
    RT = (cvec[None, :] * E).T
    GT = RT @ (X - mu)
    norms = np.sqrt(((X - mu) ** 2).sum(axis=0))
    return GapSafeL21(norms, cvec, Y, np.full(X.shape[1], est.alpha)), RT, GT


def _primal(est, X, Y):
    n = X.shape[0]
    lam = np.ones(T) if est.task_weights is None else np.asarray(est.task_weights, float)
    R = X @ est.coef_.T + est.intercept_[None, :] - Y
    if est.fit_intercept:  # the objective with the intercepts at their optimum
        R = R - R.mean(axis=0)
    return float(np.sum(lam * (R**2).sum(axis=0) / (2 * n))
                 + est.alpha * np.sqrt((est.coef_**2).sum(axis=0)).sum())


def _cvxpy_optimum(X, Y, alpha, fit_intercept, lam):
    n = X.shape[0]
    W = cp.Variable((X.shape[1], T))
    b = cp.Variable(T) if fit_intercept else np.zeros(T)
    Z = X @ W + (np.ones((n, 1)) @ cp.reshape(b, (1, T), order="C") if fit_intercept else 0)
    obj = (cp.sum_squares(cp.multiply(Z - Y, np.sqrt(lam / (2 * n))[None, :]))
           + alpha * cp.sum(cp.norm(W, 2, axis=1)))
    prob = cp.Problem(cp.Minimize(obj))
    with _no_check():  # "optimal_inaccurate" is allowed: it is checked against ours
        prob.solve(solver=cp.CLARABEL, tol_gap_abs=1e-10, tol_gap_rel=1e-10, tol_feas=1e-10)
    assert prob.status in ("optimal", "optimal_inaccurate"), prob.status
    return prob.value


CASES = [
    dict(fit_intercept=True, task_weights=None),
    dict(fit_intercept=False, task_weights=None),
    dict(fit_intercept=True, task_weights=np.array([1.0, 2.0, 0.5, 3.0])),
]


def _without_screening(monkeypatch):
    original = bcd_module._working_sets
    monkeypatch.setattr(bcd_module, "_working_sets", lambda *args, **kwargs: original(
        *args, **dict(kwargs, screening=False)))


@pytest.mark.parametrize("case", CASES, ids=["intercept", "no-intercept", "task-weights"])
@pytest.mark.parametrize("div", [3, 10, 50])
def test_never_discards_an_active_feature(monkeypatch, case, div):
    """At rough and at exact points, no feature of the optimum's support (found without
    screening) is screened; at the optimum the gap is tiny and most zero features are
    screened."""
    X, Y = _data()
    est = GroupLassoRegressor(solver="bcd", **case)
    alpha = est.compute_alpha_max(X, Y) / div
    _without_screening(monkeypatch)
    star = GroupLassoRegressor(alpha=alpha, solver="bcd", tol=1e-12, max_iter=100_000,
                               **case).fit(X, Y)
    active = np.flatnonzero(np.any(star.coef_ != 0, axis=0))
    assert 0 < len(active) < D
    for tol, max_iter in ((1e-1, 3), (1e-2, 20), (1e-4, 1000), (1e-12, 100_000)):
        est = GroupLassoRegressor(alpha=alpha, solver="bcd", tol=tol, max_iter=max_iter,
                                  **case)
        with _no_check():
            est.fit(X, Y)
        screener, RT, GT = _screener_state(est, X, Y)
        screener.screen(RT, GT, est.coef_.T.copy(), case["fit_intercept"])
        assert np.isin(active, screener.keep).all(), (tol, np.setdiff1d(active, screener.keep))
    # at the optimum: the gap certifies it, and the rule does screen (the test can fail)
    assert screener.gap <= 1e-9 * _primal(star, X, Y)
    assert len(screener.keep) < D - (D - len(active)) // 2


class _no_check:
    """A context that ignores warnings (rough fits warn ConvergenceWarning)."""

    def __enter__(self):
        import warnings

        self._w = warnings.catch_warnings()
        self._w.__enter__()
        warnings.simplefilter("ignore")

    def __exit__(self, *exc):
        return self._w.__exit__(*exc)


@pytest.mark.parametrize("case", CASES, ids=["intercept", "no-intercept", "task-weights"])
def test_gap_brackets_the_optimum(monkeypatch, case):
    """P(W) - gap <= P* <= P(W) at a rough point: the dual value is a true lower bound.
    P* from an unscreened solve at tol 1e-12, itself checked against cvxpy."""
    X, Y = _data(seed=1)
    alpha = GroupLassoRegressor(**case).compute_alpha_max(X, Y) / 10
    lam = np.ones(T) if case["task_weights"] is None else case["task_weights"]
    _without_screening(monkeypatch)
    star = GroupLassoRegressor(alpha=alpha, solver="bcd", tol=1e-12, max_iter=100_000,
                               **case).fit(X, Y)
    p_star = _primal(star, X, Y)
    p_cvx = _cvxpy_optimum(X, Y, alpha, case["fit_intercept"], lam)
    assert abs(p_star - p_cvx) <= 1e-7 * abs(p_cvx)
    assert p_star <= p_cvx + 1e-9 * abs(p_cvx)
    with _no_check():
        est = GroupLassoRegressor(alpha=alpha, solver="bcd", tol=1e-2, max_iter=5,
                                  **case).fit(X, Y)
    screener, RT, GT = _screener_state(est, X, Y)
    gap, _ = screener.duality_gap(RT, GT, est.coef_.T.copy(), case["fit_intercept"])
    primal = _primal(est, X, Y)
    assert gap > 1e-6 * abs(p_star)  # a rough point: the bracket is not trivial
    assert primal >= p_star - 1e-12 * abs(p_star)
    assert primal - gap <= p_star + 1e-12 * abs(p_star)


@pytest.mark.parametrize("case", CASES, ids=["intercept", "no-intercept", "task-weights"])
@pytest.mark.parametrize("div", [3, 5, 50])
def test_screened_solve_equals_unscreened(monkeypatch, case, div):
    X, Y = _data(seed=2)
    alpha = GroupLassoRegressor(**case).compute_alpha_max(X, Y) / div
    results = {}
    original = bcd_module._working_sets
    for flag in (False, True):
        def wrapped(*args, flag=flag, **kwargs):
            kwargs["screening"] = flag
            return original(*args, **kwargs)

        monkeypatch.setattr(bcd_module, "_working_sets", wrapped)
        results[flag] = GroupLassoRegressor(alpha=alpha, solver="bcd", tol=1e-10,
                                            max_iter=100_000, **case).fit(X, Y)
    off, on = results[False], results[True]
    assert on.stop_crit_ <= 1e-10 * _g0(on, X, Y) * (1 + 1e-9)  # on every feature
    np.testing.assert_allclose(on.objective_, off.objective_, rtol=1e-12)
    np.testing.assert_allclose(on.coef_, off.coef_, atol=1e-8)


def _g0(est, X, Y):
    """tol's scale: the largest gradient entry at W = 0, intercepts at their start."""
    lam = np.ones(T) if est.task_weights is None else np.asarray(est.task_weights, float)
    Yc = Y - Y.mean(axis=0) if est.fit_intercept else Y
    Xc = X - X.mean(axis=0) if est.fit_intercept else X
    return float(np.abs(Xc.T @ (Yc * lam / X.shape[0])).max())


def test_warm_start_from_a_denser_solution():
    """Warm-started at a smaller alpha's solution, rows that the rule screens are not
    zero yet: they are zeroed and the solve reaches the cold optimum."""
    X, Y = _data(seed=3)
    amax = GroupLassoRegressor().compute_alpha_max(X, Y)
    est = GroupLassoRegressor(alpha=amax / 50, solver="bcd", tol=1e-10, max_iter=100_000,
                              warm_start=True).fit(X, Y)
    dense = np.count_nonzero(np.any(est.coef_ != 0, axis=0))
    est.set_params(alpha=amax / 3).fit(X, Y)
    cold = GroupLassoRegressor(alpha=amax / 3, solver="bcd", tol=1e-10,
                               max_iter=100_000).fit(X, Y)
    assert np.count_nonzero(np.any(cold.coef_ != 0, axis=0)) < dense
    np.testing.assert_allclose(est.objective_, cold.objective_, rtol=1e-11)
    np.testing.assert_allclose(est.coef_, cold.coef_, atol=1e-7)


def test_applies_only_to_plain_l21():
    kind21 = np.full(5, L21_KIND)
    a = np.ones(5)
    assert gap_safe_applies(kind21, a, 0.0, False, True, 5, 5)
    assert not gap_safe_applies(kind21, a, 0.1, False, True, 5, 5)  # ridge part
    assert not gap_safe_applies(kind21, a, 0.0, True, True, 5, 5)  # positive
    assert not gap_safe_applies(kind21, a, 0.0, False, False, 5, 5)  # sample weights
    assert not gap_safe_applies(np.full(10, L21_KIND), np.ones(10), 0.0, False, True, 10,
                                5)  # dirty model's [B; S]
    assert not gap_safe_applies(np.full(5, L1_KIND), a, 0.0, False, True, 5, 5)
    assert not gap_safe_applies(kind21, np.r_[0.0, a[1:]], 0.0, False, True, 5, 5)
