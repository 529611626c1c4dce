"""The matrix-normal model of the shared layout (mtlreg.mixed._matrix_normal) and
TaskCovarianceRegressor: the criterion against a dense direct computation, its maximum
against scipy.optimize, the posterior against the closed form, the diagonal case against
per-target ridge and scikit-learn's BayesianRidge."""

import numpy as np
import pytest
from numpy.testing import assert_allclose
from scipy.linalg import null_space
from scipy.optimize import minimize
from scipy.stats import multivariate_normal

from mtlreg.mixed._matrix_normal import (
    evaluate,
    fit_matrix_normal,
    make_structure,
    posterior,
    rotate_design,
    rotate_gram,
)


def _problem(seed=0, n=9, d=4, T=3):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    W = rng.standard_normal((d, T)) @ np.array([[1.0, 0.8, 0.0], [0.0, 0.6, 0.5],
                                                [0.0, 0.0, 0.7]])[:T, :T]
    Y = X @ W + 3.0 + rng.standard_normal((n, T))
    A = rng.standard_normal((T, T))
    return X - X.mean(0), Y - Y.mean(0), A @ A.T, rng.uniform(0.5, 2.0, T)


def _dense_loglik(Xc, Yc, omega, s2, method):
    """log p(vec Y) by scipy.stats.multivariate_normal: ML at the intercepts' GLS
    estimate (the column means), REML the density of the error contrasts K^T Y (K an
    orthonormal basis orthogonal to 1) minus T log(n) / 2 (lme4's convention)."""
    n, T = Yc.shape
    cov = np.kron(np.diag(s2), np.eye(n)) + np.kron(omega, Xc @ Xc.T)
    if method == "ml":
        return multivariate_normal(np.zeros(n * T), cov).logpdf(Yc.T.ravel())
    K = np.kron(np.eye(T), null_space(np.ones((1, n))))
    return (multivariate_normal(np.zeros((n - 1) * T), K.T @ cov @ K).logpdf(K.T @ Yc.T.ravel())
            - T / 2 * np.log(n))


@pytest.mark.parametrize("method", ["ml", "reml"])
@pytest.mark.parametrize("d", [4, 12])  # d > n: X X^T singular, rank n - 1
def test_criterion_matches_dense_density(method, d):
    Xc, Yc, omega, s2 = _problem(d=d)
    n = Xc.shape[0]
    dense = _dense_loglik(Xc, Yc, omega, s2, method)
    for rs in (rotate_design(Xc, Yc, n),
               rotate_gram(Xc.T @ Xc, Xc.T @ Yc, Yc.T @ Yc, n, Xc.shape)):
        ours = -evaluate(rs, omega, s2, method, gradient=False).value / 2
        assert abs(ours - dense) <= 1e-10 * abs(dense)  # observed <= 4e-16 relative


def test_criterion_singular_omega_matches_dense():
    """At the boundary (Omega of rank 1) the criterion stays finite and exact."""
    Xc, Yc, _, s2 = _problem(seed=1)
    v = np.array([1.0, -0.5, 2.0])
    omega = np.outer(v, v)
    rs = rotate_design(Xc, Yc, Xc.shape[0])
    for method in ("ml", "reml"):
        dense = _dense_loglik(Xc, Yc, omega, s2, method)
        assert abs(-evaluate(rs, omega, s2, method).value / 2 - dense) <= 1e-10 * abs(dense)


@pytest.mark.parametrize("name", ["full", "diagonal", "low_rank"])
@pytest.mark.parametrize("method", ["ml", "reml"])
def test_gradient_matches_finite_differences(name, method):
    Xc, Yc, _, s2 = _problem(seed=2)
    rs = rotate_design(Xc, Yc, Xc.shape[0])
    st = make_structure(name, 3, rank=1)
    rng = np.random.default_rng(3)
    x = np.concatenate([rng.standard_normal(st.n_params), 0.5 * np.log(s2)])
    k = st.n_params

    def f(x):
        return evaluate(rs, st.omega(x[:k]), np.exp(2 * x[k:]), method, gradient=False).value

    ev = evaluate(rs, st.omega(x[:k]), np.exp(2 * x[k:]), method)
    g = np.concatenate([st.gradient(x[:k], ev.grad_omega), 2 * np.exp(2 * x[k:]) * ev.grad_sigma2])
    h = 1e-5
    fd = np.array([(f(x + h * e) - f(x - h * e)) / (2 * h) for e in np.eye(len(x))])
    # central differences: error O(h^2 f''') ~ 1e-9 here; observed <= 3e-9 of max |g|
    assert_allclose(g, fd, rtol=0, atol=1e-7 * np.max(np.abs(g)))


def test_posterior_mean_is_the_closed_form():
    Xc, Yc, omega, s2 = _problem(seed=4)
    rs = rotate_design(Xc, Yc, Xc.shape[0])
    W, _, S = posterior(rs, omega, s2)
    d, T = W.shape
    D_inv = np.diag(1 / s2)
    H = np.kron(np.linalg.inv(omega), np.eye(d)) + np.kron(D_inv, Xc.T @ Xc)
    vecW = np.linalg.solve(H, np.kron(D_inv, np.eye(d)) @ (Xc.T @ Yc).T.ravel())
    assert_allclose(W.T.ravel(), vecW, rtol=1e-11, atol=0)  # observed <= 1e-13
    # the covariance: U^T-rotated blocks of H^{-1}
    Hinv = np.linalg.inv(H)
    rot = np.kron(np.eye(T), rs.U)
    Sd = rot.T @ Hinv @ rot  # task-major; S is feature-major
    j = 1
    block = Sd[j::rs.rank, j::rs.rank]
    assert_allclose(S[j], block, rtol=1e-10, atol=1e-13)


@pytest.mark.parametrize("method", ["ml", "reml"])
def test_maximum_at_least_scipys_on_the_dense_criterion(method):
    """scipy.optimize (BFGS, finite differences, three starts) on the test's own dense
    criterion, in (Cholesky of Omega, log sigma): ours is at least as high."""
    Xc, Yc, _, _ = _problem(seed=5, n=14, d=3)
    n, T = Yc.shape
    rs = rotate_design(Xc, Yc, n)
    fit = fit_matrix_normal(rs, make_structure("full", T), method=method, tol=1e-9)
    assert fit.converged
    ours = _dense_loglik(Xc, Yc, fit.omega, fit.sigma2, method)
    rows, cols = np.tril_indices(T)

    def neg(x):
        L = np.zeros((T, T))
        L[rows, cols] = x[:len(rows)]
        return -_dense_loglik(Xc, Yc, L @ L.T, np.exp(2 * x[len(rows):]), method)

    best = -np.inf
    rng = np.random.default_rng(0)
    for _ in range(3):
        x0 = np.concatenate([0.3 * rng.standard_normal(len(rows)), np.zeros(T)])
        r = minimize(neg, x0, method="BFGS", options={"gtol": 1e-8})
        best = max(best, -r.fun)
    assert ours >= best - 1e-9 * abs(best)  # observed: ours below the best by <= 1.5e-14 relative
    # and the same maximum (not a different local one; Omega of rank 2 there)
    assert abs(ours - best) <= 1e-6 * abs(best)
