"""Clustered multi-task learning (convex relaxation, MALSAR CMTL), issue 11.

* the objective against cvxpy, jointly over ``W`` and ``M`` (an SDP with a matrix
  fractional term), both layouts and both losses;
* the returned ``task_similarity_`` satisfies its constraints and is optimal for ``W``;
* the prox (three-point inequality, optimality) and the gradient;
* the adjusted Rand index of ``task_clusters_`` on tasks drawn from k clusters;
* scikit-learn's estimator checks.
"""

import numpy as np
import pytest
from _cvx_family import _solve, cp, cvx_data_term, data_gradient, data_term
from conftest import assert_three_point, fit_tol
from sklearn.metrics import adjusted_rand_score
from sklearn.utils.estimator_checks import parametrize_with_checks
from test_family import config_data, fit_tight, null_gradient_scale

import mtlreg
from mtlreg.datasets import make_multitask_regression
from mtlreg.penalties import ClusteredMTL

TIGHT = dict(tol=1e-10, max_iter=20000)


def cvx_inner(W, eta, k):
    """``min_M tr(W (eta I + M)^{-1} W^T)`` over ``tr M = k, 0 <= M <= I`` (cvxpy SDP)."""
    T = W.shape[1]
    M = cp.Variable((T, T), symmetric=True)
    prob = cp.Problem(cp.Minimize(cp.matrix_frac(W.T, eta * np.eye(T) + M)),
                      [M >> 0, np.eye(T) - M >> 0, cp.trace(M) == k])
    prob.solve(solver=cp.CLARABEL)
    return prob.value, M.value


@pytest.mark.parametrize("config", ["shared", "shared_nan_noint", "per_task_sw"])
@pytest.mark.parametrize("loss", ["squared", "logistic"])
def test_matches_cvxpy_joint_problem(loss, config):
    X, y, sw, est_kw, blocks, fit_intercept = config_data(config, loss)
    cls = mtlreg.ClusteredRegressor if loss == "squared" else mtlreg.ClusteredClassifier
    alpha, eta, k = (0.05, 0.5, 2) if loss == "squared" else (0.02, 0.5, 2)
    est = fit_tight(cls(alpha=alpha, eta=eta, n_clusters=k, **est_kw, **TIGHT), X, y, sw)
    W, b = est.coef_.T, est.intercept_
    d, T = W.shape
    c = alpha * eta * (1 + eta)
    Wv, M = cp.Variable((d, T)), cp.Variable((T, T), symmetric=True)
    bv = cp.Variable(T) if fit_intercept else np.zeros(T)
    objective = cvx_data_term(blocks, Wv, bv, loss) + c * cp.matrix_frac(Wv.T, eta * np.eye(T) + M)
    prob = cp.Problem(cp.Minimize(objective),
                      [M >> 0, np.eye(T) - M >> 0, cp.trace(M) == k])
    _solve(prob)
    Wr = np.asarray(Wv.value)
    br = np.asarray(bv.value) if fit_intercept else np.zeros(T)
    # both objectives evaluated the same way: data term + c * (exact inner minimum)
    ref = data_term(blocks, Wr, br, loss) + c * cvx_inner(Wr, eta, k)[0]
    ours = data_term(blocks, W, b, loss) + c * cvx_inner(W, eta, k)[0]
    assert est.objective_ == pytest.approx(ours, rel=1e-7)
    assert ours <= ref * (1 + 1e-6) and abs(ours - ref) <= 1e-6 * abs(ref)
    np.testing.assert_allclose(W, Wr, atol=1e-4 * max(1.0, np.abs(Wr).max()))
    # the penalty is in an interesting regime (tasks pulled together, not all equal)
    assert 1e-3 < np.abs(W - W.mean(axis=1, keepdims=True)).max()
    scale = null_gradient_scale(blocks, loss, fit_intercept)
    assert est.stop_crit_ <= fit_tol(1e-10) * scale * (1 + 1e-6)
    # independent optimality: G + 2 c W (eta I + M*)^{-1} with cvxpy's M* for this W
    G, gb = data_gradient(blocks, W, b, loss)
    M_star = cvx_inner(W, eta, k)[1]
    grad = 2 * c * np.linalg.solve(eta * np.eye(T) + M_star, W.T).T
    assert np.abs(G + grad).max() <= 1e-5 * scale
    check_similarity(est.task_similarity_, k)
    np.testing.assert_allclose(est.task_similarity_, M_star, atol=1e-4)


def check_similarity(M, k):
    """The constraints of the relaxation: symmetric, eigenvalues in [0, 1], trace k."""
    np.testing.assert_allclose(M, M.T, atol=0)
    lam = np.linalg.eigvalsh(M)
    assert lam.min() >= -1e-12 and lam.max() <= 1 + 1e-12
    assert np.trace(M) == pytest.approx(k, abs=1e-10)


@pytest.mark.parametrize("eta,k", [(0.5, 2), (0.01, 1), (3.0, 3)])
def test_penalty_value_gradient_prox(eta, k):
    rng = np.random.default_rng(0)
    P = ClusteredMTL(0.7, eta, k)
    c = 0.7 * eta * (1 + eta)
    for d, T in [(4, 3), (2, 5), (5, 5)]:
        W = rng.standard_normal((d, T))
        inner, _ = cvx_inner(W, eta, min(k, T))
        assert P.value(W) == pytest.approx(c * inner, rel=1e-6)
        check_similarity(P.task_similarity(W), min(k, T))
        D = rng.standard_normal((d, T))
        h = 1e-6
        fd = (P.value(W + h * D) - P.value(W - h * D)) / (2 * h)
        assert fd == pytest.approx(float((P.gradient(W) * D).sum()), rel=1e-5)
        for _ in range(5):
            z = rng.standard_normal((d, T)) * rng.choice([0.1, 1.0, 5.0])
            step = float(rng.choice([0.05, 0.5, 3.0]))
            x = P.prox(z, step)
            # the prox of a smooth penalty: (z - x) / step is its gradient at x
            np.testing.assert_allclose((z - x) / step, P.gradient(x), atol=1e-9 * (
                1 + np.abs(z).max()) / step)
            assert_three_point(P, z, x, step, (rng.standard_normal((d, T)), np.zeros((d, T))))
    # rank-deficient W (fewer non-zero singular values than k): still a feasible M
    W = np.zeros((3, 4))
    W[0, 0] = 1.0
    check_similarity(ClusteredMTL(1.0, 0.5, 3).task_similarity(W), 3)


@pytest.mark.parametrize("layout", ["shared", "per_task"])
def test_task_clusters_are_recovered(layout):
    """Twelve tasks in three clusters (task t in cluster t % 3), 30 noisy samples per
    task: adjusted Rand index of ``task_clusters_``, 5 seeds."""
    aris = []
    kw = {} if layout == "shared" else {"task_column": 0}
    for seed in range(5):
        X, y = make_multitask_regression(30, 10, 12, structure="clusters", n_clusters=3,
                                         noise=1.0, layout=layout, random_state=seed)
        est = mtlreg.ClusteredRegressor(alpha=0.5, eta=0.1, n_clusters=3, tol=1e-6,
                                        **kw).fit(X, y)
        check_similarity(est.task_similarity_, 3)
        aris.append(adjusted_rand_score(np.arange(12) % 3, est.task_clusters_))
    print(f"\n[task clusters, {layout}] adjusted Rand index (5 seeds): "
          f"{np.round(aris, 3).tolist()}, mean {np.mean(aris):.3f}")
    assert np.mean(aris) >= 0.9


@parametrize_with_checks([
    mtlreg.ClusteredRegressor(tol=1e-10, max_iter=5000),
    mtlreg.ClusteredClassifier(tol=1e-10, max_iter=5000),
])
def test_clustered_sklearn_compatible(estimator, check):
    check(estimator)


def test_water_filling_satisfies_its_optimality_conditions():
    """``_water_fill`` (exact breakpoint search since the bisection of 200 steps took
    ~55 full evaluations a call): ``sum m = k``, ``0 <= m <= 1``, and one ``tau`` with
    ``m_i = clip(tau s_i - eta, 0, 1)`` -- the KKT conditions of the convex problem,
    checked directly on random cases with zeros, ties and scales over six decades; and
    the value against cvxpy on a few."""
    import cvxpy as cp

    from mtlreg.penalties._cluster import _water_fill

    rng = np.random.default_rng(0)
    for trial in range(400):
        T = int(rng.integers(2, 30))
        k = int(rng.integers(1, T))
        s = np.abs(rng.normal(size=T)) * 10 ** rng.uniform(-3, 3)
        if trial % 3 == 0:
            s[rng.random(T) < 0.3] = 0.0
        if trial % 5 == 0:
            s = np.round(s, 1)  # ties
        eta = 10 ** rng.uniform(-3, 2)
        m = _water_fill(s, eta, k)
        assert abs(m.sum() - k) <= 1e-12 * k and m.min() >= 0 and m.max() <= 1
        if np.count_nonzero(s) <= k:
            assert np.all(m[s > 0] == 1)
            continue
        free = (m > 1e-12) & (m < 1 - 1e-12)
        if free.any():
            tau = (m[free] + eta) / s[free]
            assert np.ptp(tau) <= 1e-9 * tau.mean()  # observed <= 2.4e-14
            tau = tau.mean()
            assert np.all(tau * s[m >= 1 - 1e-12] - eta >= 1 - 1e-9)
            assert np.all(tau * s[m <= 1e-12] - eta <= 1e-9)
        if trial < 12:
            x = cp.Variable(T)
            prob = cp.Problem(cp.Minimize(cp.sum(cp.multiply(s ** 2, cp.inv_pos(eta + x)))),
                              [cp.sum(x) == k, x >= 0, x <= 1])
            prob.solve()
            ours = float(np.sum(s ** 2 / (eta + m)))
            # cvxpy's interior point stops ~1e-8 from its optimum (observed: ours above its
            # value by up to 1.1e-8 relative, within its own accuracy)
            assert ours <= prob.value * (1 + 1e-6)
