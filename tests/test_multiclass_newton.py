"""Proximal Newton on the softmax loss with a quadratic penalty: the exact inner solve
of the coupled quadratic model (``solvers.direct.solve_coupled``) against the FISTA
inner solve, scikit-learn per task and a dense optimality check; its step count."""

import re
import sys

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

import mtlreg.solvers.newton  # noqa: F401
from mtlreg import IndependentClassifier, MeanRegularizedClassifier
from mtlreg.solvers.fista import fista

NEWTON = sys.modules["mtlreg.solvers.newton"]
T, K, D, N = 4, 3, 6, 60


def _data(seed=0):
    rng = np.random.default_rng(seed)
    W = rng.standard_normal((K, D)) + 0.3 * rng.standard_normal((T, K, D))
    t = np.repeat(np.arange(T), N)
    X = rng.standard_normal((T * N, D))
    Z = np.einsum("nd,nkd->nk", X, W[t])
    P = np.exp(Z - Z.max(axis=1, keepdims=True))
    P /= P.sum(axis=1, keepdims=True)
    y = (P.cumsum(axis=1) > rng.random((T * N, 1))).argmax(axis=1)
    return np.column_stack([t, X]), y


def _fit(Est, X, y, inner=None, monkeypatch=None, **kw):
    if inner is not None:
        monkeypatch.setattr(NEWTON, "inner_solver", lambda model, penalty: ("fista", fista))
    spy = []
    real = NEWTON.inner_solver
    monkeypatch.setattr(NEWTON, "inner_solver", lambda m, p: spy.append(real(m, p)[0]) or real(m, p))
    est = Est(task_column=0, solver="newton", tol=1e-10, max_iter=200, **kw).fit(X, y)
    return est, spy


def test_independent_direct_equals_fista_inner_and_sklearn(monkeypatch):
    X, y = _data()
    alpha = 0.05
    fit_intercept = True  # fit_intercept=False with K > 2 fails before any solver (see report)
    est, names = _fit(IndependentClassifier, X, y, monkeypatch=monkeypatch, alpha=alpha,
                      fit_intercept=fit_intercept)
    assert set(names) == {"direct"}
    ref, names_ref = _fit(IndependentClassifier, X, y, inner="fista", monkeypatch=monkeypatch,
                          alpha=alpha, fit_intercept=fit_intercept)
    assert set(names_ref) == {"fista"}
    scale = np.abs(ref.coef_).max()
    # observed 6.6e-11 relative at seed 0 (margin 15)
    assert np.abs(est.coef_ - ref.coef_).max() <= 1e-9 * scale
    for task in range(T):
        rows = X[:, 0] == task
        sk = LogisticRegression(C=1.0 / (rows.sum() * alpha), solver="newton-cholesky", tol=1e-14,
                                max_iter=100, fit_intercept=fit_intercept).fit(X[rows, 1:], y[rows])
        # relative to the task's largest coefficient; observed <= 6.4e-11 (coef, bound 1e-9)
        # and <= 1.1e-10 (intercepts, bound 2e-9) at seed 0 (margins >= 15)
        scale_t = np.abs(sk.coef_).max()
        err = np.abs(est.coef_[task] - sk.coef_).max() / scale_t
        assert err <= 1e-9, err
        if fit_intercept:  # ours keeps the intercepts' class mean at zero
            b = sk.intercept_ - sk.intercept_.mean()
            assert np.abs(est.intercept_[task] - b).max() <= 2e-9 * scale_t


def _dense_gradient(est, X, y, alpha_mean, l2):
    """Gradient of sum_t (1/n_t) sum_i CE_i + (alpha/2) sum_k sum_t ||w_tk - mean_s w_sk||^2
    + (l2/2) ||W||^2 in (coef, intercept), computed directly with NumPy."""
    t = X[:, 0].astype(int)
    A = X[:, 1:]
    Wt = est.coef_  # (T, K, D)
    Z = np.einsum("nd,nkd->nk", A, Wt[t]) + est.intercept_[t]
    P = np.exp(Z - Z.max(axis=1, keepdims=True))
    P /= P.sum(axis=1, keepdims=True)
    R = P - np.eye(K)[y]
    R /= np.bincount(t)[t][:, None]
    G = np.zeros_like(Wt)
    gb = np.zeros((T, K))
    for task in range(T):
        G[task] = R[t == task].T @ A[t == task]
        gb[task] = R[t == task].sum(axis=0)
    G += alpha_mean * (Wt - Wt.mean(axis=0)) + l2 * Wt
    return G, gb


@pytest.mark.parametrize("Est, kw, penalty", [
    (IndependentClassifier, {"alpha": 0.05}, (0.0, 0.05)),
    (MeanRegularizedClassifier, {"alpha": 0.5, "l2_reg": 0.01}, (0.5, 0.01)),
])
def test_optimality_and_quadratic_convergence(monkeypatch, capsys, Est, kw, penalty):
    """The exact inner solve makes each step a full Newton step on the coupled model:
    once the measure is small it is (about) squared at each step. From the start the
    relative measure is O(1); the damped phase of the logistic loss ends after a few
    steps (3-4 observed), and quadratic convergence from 1e-2 reaches 1e-10 in 2-3
    more: 10 steps is a bound with room (observed 6-7; the FISTA inner solve takes as
    many outer steps but hundreds of inner iterations)."""
    X, y = _data(1)
    est, names = _fit(Est, X, y, monkeypatch=monkeypatch, verbose=1, **kw)
    assert set(names) == {"direct"}
    out = capsys.readouterr().out
    crits = [float(c) for c in re.findall(r"optimality ([0-9.e+-]+)", out)]
    assert 1 <= est.n_iter_ <= 10, est.n_iter_
    # quadratic: below 1e-3 the next measure is at most 10 x its square, or at the
    # rounding level 1e-13 (observed <= 0.5 x the square above it)
    pairs = [(a, b) for a, b in zip(crits, crits[1:]) if a < 1e-3 and a > 1e-13]
    assert pairs
    for a, b in pairs:
        assert b <= max(10 * a * a, 1e-13), (a, b)
    G, gb = _dense_gradient(est, X, y, *penalty)
    # observed <= 4.7e-12 (margin >= 20)
    assert np.abs(G).max() <= 1e-10
    assert np.abs(gb).max() <= 1e-10


def test_mean_regularized_direct_equals_fista_inner(monkeypatch):
    X, y = _data(2)
    kw = dict(alpha=0.5, l2_reg=0.01)
    est, names = _fit(MeanRegularizedClassifier, X, y, monkeypatch=monkeypatch, **kw)
    assert set(names) == {"direct"}
    ref, _ = _fit(MeanRegularizedClassifier, X, y, inner="fista", monkeypatch=monkeypatch, **kw)
    # observed 5.5e-12 (coef) and 1.9e-11 (intercepts) relative (margin >= 50)
    assert np.abs(est.coef_ - ref.coef_).max() <= 1e-9 * np.abs(ref.coef_).max()
    assert np.abs(est.intercept_ - ref.intercept_).max() <= 1e-9 * np.abs(ref.intercept_).max()


def test_mean_regularization_alone_is_singular_and_falls_back(monkeypatch):
    """alpha > 0, l2_reg = 0: the shift of every task's w_tk by one vector for all classes
    is in the null space of the Hessian and unpenalised: the direct solve reports a
    singular system and FISTA solves the subproblem; the fit still converges."""
    X, y = _data(3)
    est, names = _fit(MeanRegularizedClassifier, X, y, monkeypatch=monkeypatch, alpha=0.5, l2_reg=0.0)
    assert set(names) == {"direct"}
    G, gb = _dense_gradient(est, X, y, 0.5, 0.0)
    assert np.abs(G).max() <= 1e-10 and np.abs(gb).max() <= 1e-10  # observed 3.4e-13

