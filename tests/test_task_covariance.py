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


def _dense_loglik_direct(Xc, Yc, omega, s2, method):
    """The same density by a direct Cholesky solve (faster than scipy's frozen
    distribution, for the optimisation tests; checked equal to it below)."""
    n, T = Yc.shape
    cov = np.kron(np.diag(s2), np.eye(n)) + np.kron(omega, Xc @ Xc.T)
    y = Yc.T.ravel()
    extra = 0.0
    if method == "reml":
        K = np.kron(np.eye(T), null_space(np.ones((1, n))))
        cov, y, extra = K.T @ cov @ K, K.T @ y, -T / 2 * np.log(n)
    C = np.linalg.cholesky(cov)
    z = np.linalg.solve(C, y)
    return (-np.sum(np.log(np.diag(C))) - z @ z / 2 - len(y) / 2 * np.log(2 * np.pi)
            + extra)


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
    direct = _dense_loglik_direct(Xc, Yc, omega, s2, method)
    assert abs(direct - dense) <= 1e-10 * abs(dense)


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
    ours = _dense_loglik_direct(Xc, Yc, fit.omega, fit.sigma2, method)
    rows, cols = np.tril_indices(T)

    def neg(x):
        L = np.zeros((T, T))
        L[rows, cols] = x[:len(rows)]
        return -_dense_loglik_direct(Xc, Yc, L @ L.T, np.exp(2 * x[len(rows):]), method)

    best = -np.inf
    rng = np.random.default_rng(0)
    for _ in range(3):
        x0 = np.concatenate([0.3 * rng.standard_normal(len(rows)), np.zeros(T)])
        r = minimize(neg, x0, method="BFGS", options={"gtol": 1e-8})
        best = max(best, -r.fun)
    assert ours >= best - 1e-9 * abs(best)  # observed: ours higher, by up to 4.5e-15 relative
    # and the same maximum (not a different local one; Omega of rank 2 there)
    assert abs(ours - best) <= 1e-6 * abs(best)


# ---------------------------------------------------------------- the estimator
from sklearn.exceptions import ConvergenceWarning  # noqa: E402
from sklearn.linear_model import BayesianRidge, Ridge  # noqa: E402
from sklearn.utils._param_validation import InvalidParameterError  # noqa: E402

from mtlreg import TaskCovarianceRegressor  # noqa: E402


def _data(seed=0, n=40, d=5, T=3, scale=(1.0, 10.0, 0.1)):
    """Correlated targets on different scales, features on different scales."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d)) * np.linspace(0.5, 20.0, d) + 7.0
    L = np.array([[1.0, 0.0, 0.0], [0.9, 0.45, 0.0], [-0.6, 0.3, 0.7]])[:T, :T]
    W = rng.standard_normal((d, T)) @ L.T / np.linspace(0.5, 20.0, d)[:, None]
    Y = (X @ W + rng.standard_normal((n, T)) * 0.8 + 2.0) * np.array(scale)[:T]
    return X, Y


def _standardised(X):
    return (X - X.mean(0)) / X.std(0)


@pytest.mark.parametrize("method", ["ml", "reml"])
def test_estimator_log_likelihood_and_coef_match_dense(method):
    """log_likelihood_ is the dense density of the user's Y at the fitted task_covariance_
    and noise_variance_ (features standardised by the estimator), coef_ the closed-form
    posterior mean mapped back to the user's feature scale."""
    X, Y = _data()
    est = TaskCovarianceRegressor(method=method).fit(X, Y)
    assert est.converged_
    Xs = _standardised(X)
    Yc = Y - Y.mean(0)
    omega, s2 = est.task_covariance_, est.noise_variance_
    dense = _dense_loglik(Xs, Yc, omega, s2, method)
    assert abs(est.log_likelihood_ - dense) <= 1e-9 * abs(dense)  # observed <= 4e-14
    d, T = Xs.shape[1], Y.shape[1]
    D_inv = np.diag(1 / s2)
    H = np.kron(np.linalg.inv(omega), np.eye(d)) + np.kron(D_inv, Xs.T @ Xs)
    W = np.linalg.solve(H, np.kron(D_inv, np.eye(d)) @ (Xs.T @ Yc).T.ravel()).reshape(T, d)
    coef = W / X.std(0)
    assert_allclose(est.coef_, coef, rtol=1e-9, atol=0)  # observed <= 3e-13
    assert_allclose(est.intercept_, Y.mean(0) - coef @ X.mean(0), rtol=1e-9)
    assert_allclose(est.predict(X), X @ coef.T + est.intercept_, rtol=1e-9)
    sd = np.sqrt(np.diag(omega))
    assert_allclose(est.task_correlation_, omega / np.outer(sd, sd), rtol=1e-12)


@pytest.mark.parametrize("method", ["ml", "reml"])
def test_estimator_is_an_em_fixed_point(method):
    """Optimality: at an interior maximum, the EM map (derived separately from the
    gradient) leaves Omega and the noise variances unchanged."""
    from mtlreg.linear_model._task_covariance import _rotated
    from mtlreg.mixed._matrix_normal import em_step

    X, Y = _data(seed=1, n=60)
    est = TaskCovarianceRegressor(method=method, tol=1e-10).fit(X, Y)
    assert np.linalg.eigvalsh(est.task_correlation_).min() > 0.01  # interior (0.028)
    rs, _, _, _, y_scale = _rotated(X, Y, np.ones(len(X)), float(len(X)))
    omega = est.task_covariance_ / np.outer(y_scale, y_scale)
    s2 = est.noise_variance_ / y_scale ** 2
    om2, s22 = em_step(rs, omega, s2, method)
    assert_allclose(om2, omega, rtol=1e-6, atol=1e-8 * np.abs(omega).max())  # observed 2e-14
    assert_allclose(s22, s2, rtol=1e-6)


def test_diagonal_is_ridge_per_target_and_bayesian_ridge():
    """covariance='diagonal': task t is ridge on the standardised features with
    alpha_t = sigma_t^2 / Omega_tt; with method='ml' alpha_t is the one scikit-learn's
    BayesianRidge (zero hyper-priors) finds by its own fixed-point iteration."""
    X, Y = _data(seed=2, n=50)
    est = TaskCovarianceRegressor("diagonal", method="ml", tol=1e-10).fit(X, Y)
    assert_allclose(est.task_covariance_, np.diag(np.diag(est.task_covariance_)), atol=0)
    Xs = _standardised(X)
    for t in range(Y.shape[1]):
        alpha = est.noise_variance_[t] / est.task_covariance_[t, t]
        ridge = Ridge(alpha=alpha, solver="cholesky").fit(Xs, Y[:, t])
        assert_allclose(est.coef_[t] * X.std(0), ridge.coef_, rtol=1e-9)  # observed 5e-15
        br = BayesianRidge(alpha_1=0, alpha_2=0, lambda_1=0, lambda_2=0, tol=1e-14,
                           max_iter=100000).fit(Xs, Y[:, t])
        # the fixed point stops on the change in coef_; observed <= 7e-11 apart
        assert_allclose(est.noise_variance_[t], 1 / br.alpha_, rtol=1e-6)
        assert_allclose(est.task_covariance_[t, t], 1 / br.lambda_, rtol=1e-6)
        assert_allclose(est.coef_[t] * X.std(0), br.coef_, rtol=1e-6)


def test_full_at_least_diagonal_and_low_rank_full_rank_equals_full():
    X, Y = _data(seed=3)
    full = TaskCovarianceRegressor("full").fit(X, Y)
    diag = TaskCovarianceRegressor("diagonal").fit(X, Y)
    low = TaskCovarianceRegressor("low_rank", rank=3).fit(X, Y)
    low1 = TaskCovarianceRegressor("low_rank", rank=1).fit(X, Y)
    assert full.log_likelihood_ >= diag.log_likelihood_
    assert full.log_likelihood_ >= low1.log_likelihood_ - 1e-9 * abs(full.log_likelihood_)
    assert low1.log_likelihood_ >= diag.log_likelihood_ - 1e-9 * abs(full.log_likelihood_)
    # B B^T + diag spans every covariance when rank = T: the same maximum
    assert abs(low.log_likelihood_ - full.log_likelihood_) <= 1e-8 * abs(full.log_likelihood_)


def test_frequency_weights_are_repeated_rows_and_sparse_is_dense():
    import scipy.sparse as sp

    X, Y = _data(seed=4, n=30)
    w = np.random.default_rng(0).integers(0, 3, len(X))
    a = TaskCovarianceRegressor(tol=1e-10).fit(X, Y, sample_weight=w)
    b = TaskCovarianceRegressor(tol=1e-10).fit(np.repeat(X, w, axis=0), np.repeat(Y, w, axis=0))
    assert_allclose(a.coef_, b.coef_, rtol=1e-6)
    assert abs(a.log_likelihood_ - b.log_likelihood_) <= 1e-9 * abs(b.log_likelihood_)
    s = TaskCovarianceRegressor(tol=1e-10).fit(sp.csr_matrix(X), Y, sample_weight=w)
    assert_allclose(s.coef_, a.coef_, rtol=1e-6)
    assert abs(s.log_likelihood_ - a.log_likelihood_) <= 1e-9 * abs(a.log_likelihood_)


def test_one_target_and_exact_fit_and_constant_columns():
    X, Y = _data(seed=5)
    one = TaskCovarianceRegressor().fit(X, Y[:, 0])
    assert one.predict(X).shape == (len(X),) and one.coef_.shape == (1, X.shape[1])
    # an exact linear target: the noise stays at its floor, the fit is (nearly) exact
    y = np.column_stack([4.0 * X[:, 0] - X[:, 2], Y[:, 1]])
    est = TaskCovarianceRegressor().fit(X, y)
    assert est.noise_variance_[0] <= 2e-10 * y[:, 0].var()
    assert_allclose(est.predict(X)[:, 0], y[:, 0], rtol=0, atol=1e-4 * y[:, 0].std())
    # a constant feature and a constant target
    Xc = np.column_stack([X, np.full(len(X), 3.0)])
    yc = np.column_stack([Y[:, :2], np.full(len(X), 1e5)])
    est = TaskCovarianceRegressor().fit(Xc, yc)
    assert_allclose(est.coef_[:, -1], 0.0, atol=0)
    assert_allclose(est.coef_[2], 0.0, atol=1e-20)  # observed 5e-25 (Omega_2s ~ 0, not 0)
    assert_allclose(est.predict(Xc)[:, 2], 1e5)


def _missing(Y, seed=0, share=0.2):
    Y = Y.copy()
    hide = np.random.default_rng(seed).random(Y.shape) < share
    Y[hide] = np.nan
    return Y


def _dense_loglik_missing(Xs, Ym, omega, s2, method):
    """log p of the observed entries by scipy (features Xs as the model sees them):
    ML at the GLS intercepts, REML the contrasts orthogonal to the intercepts' design F
    minus log|F^T F| / 2."""
    T = Ym.shape[1]
    idx = [(t, i) for t in range(T) for i in np.flatnonzero(~np.isnan(Ym[:, t]))]
    ts, rows = np.array([t for t, _ in idx]), np.array([i for _, i in idx])
    V = omega[np.ix_(ts, ts)] * (Xs[rows] @ Xs[rows].T) + np.diag(s2[ts])
    y = Ym[rows, ts]
    F = (ts[:, None] == np.arange(T)).astype(float)
    if method == "ml":
        Vi = np.linalg.inv(V)
        b = np.linalg.solve(F.T @ Vi @ F, F.T @ Vi @ y)
        return multivariate_normal(F @ b, V).logpdf(y)
    K = null_space(F.T)
    return (multivariate_normal(np.zeros(K.shape[1]), K.T @ V @ K).logpdf(K.T @ y)
            - 0.5 * np.linalg.slogdet(F.T @ F)[1])


@pytest.mark.parametrize("name", ["full", "diagonal", "low_rank"])
@pytest.mark.parametrize("method", ["ml", "reml"])
def test_missing_label_criterion_and_gradient(name, method):
    from mtlreg.mixed._matrix_normal_missing import evaluate_missing, task_statistics

    Xc, Yc, omega, s2 = _problem(seed=9, n=10)
    # without missing labels: the rotated criterion and gradient, to rounding
    st = make_structure(name, 3, rank=1)
    rng = np.random.default_rng(1)
    p = rng.standard_normal(st.n_params)
    ts = task_statistics(Xc, Yc + 5.0, np.ones(10))
    a = evaluate(rotate_design(Xc, Yc, 10), st.omega(p), s2, method)
    b = evaluate_missing(ts, st.factor(p), s2, method)
    assert abs(a.value - b.value) <= 1e-12 * abs(a.value)  # observed <= 2e-16
    assert_allclose(b.grad_omega, a.grad_omega, rtol=0, atol=1e-11 * np.abs(a.grad_omega).max())
    assert_allclose(b.grad_sigma2, a.grad_sigma2, rtol=1e-11)
    # with missing labels: the dense density of the observed entries
    Ym = _missing(Yc + 5.0, seed=2, share=0.25)
    ts = task_statistics(Xc, Ym, np.ones(10))
    dense = _dense_loglik_missing(Xc, Ym, st.omega(p), s2, method)
    ours = -evaluate_missing(ts, st.factor(p), s2, method).value / 2
    assert abs(ours - dense) <= 1e-10 * abs(dense)  # observed <= 1.2e-15
    k = st.n_params
    x = np.concatenate([p, 0.5 * np.log(s2)])

    def f(x):
        return evaluate_missing(ts, st.factor(x[:k]), np.exp(2 * x[k:]), method, False).value

    ev = evaluate_missing(ts, st.factor(p), s2, method)
    g = np.concatenate([st.gradient(p, ev.grad_omega), 2 * s2 * ev.grad_sigma2])
    h = 1e-5
    fd = np.array([(f(x + h * e) - f(x - h * e)) / (2 * h) for e in np.eye(len(x))])
    assert_allclose(g, fd, rtol=0, atol=1e-7 * np.max(np.abs(g)))  # observed <= 7e-10


@pytest.mark.parametrize("method", ["ml", "reml"])
def test_estimator_with_missing_labels_matches_dense(method):
    """NaN labels: log_likelihood_ is the scipy density of the observed entries (user's
    units; features standardised over all rows), coef_ and intercept_ the closed-form
    posterior mean with each task's own centring (Henderson's equations)."""
    X, Y = _data(seed=10, n=30)
    Ym = _missing(Y, seed=3)
    est = TaskCovarianceRegressor(method=method).fit(X, Ym)
    assert est.converged_
    Xs = _standardised(X)
    omega, s2 = est.task_covariance_, est.noise_variance_
    dense = _dense_loglik_missing(Xs, Ym, omega, s2, method)
    assert abs(est.log_likelihood_ - dense) <= 1e-9 * abs(dense)  # observed <= 4e-14
    d, T = Xs.shape[1], Y.shape[1]
    B = np.zeros((d * T, d * T))
    c = np.zeros(d * T)
    means = np.zeros((T, d)), np.zeros(T)
    for t in range(T):
        o = ~np.isnan(Ym[:, t])
        xm, ym = Xs[o].mean(0), Ym[o, t].mean()
        Xc, yc = Xs[o] - xm, Ym[o, t] - ym
        B[t * d:(t + 1) * d, t * d:(t + 1) * d] = Xc.T @ Xc / s2[t]
        c[t * d:(t + 1) * d] = Xc.T @ yc / s2[t]
        means[0][t], means[1][t] = xm, ym
    # (Omega^-1 (x) I + B) vec W = c, multiplied by Omega (x) I: Omega is singular here
    # (rank 2 at the ML maximum), so its inverse is not formed
    OI = np.kron(omega, np.eye(d))
    W = np.linalg.solve(np.eye(d * T) + OI @ B, OI @ c).reshape(T, d)
    assert_allclose(est.coef_, W / X.std(0), rtol=1e-9)  # observed <= 1.4e-12
    b = means[1] - np.sum(means[0] * W, axis=1)  # on the standardised features
    assert_allclose(est.intercept_ + est.coef_ @ X.mean(0), b, rtol=1e-9)  # observed 5e-16


def test_missing_labels_need_two_rows_per_task_and_a_previous_fit_stays():
    X, Y = _data(seed=6)
    est = TaskCovarianceRegressor().fit(X, Y)
    coef = est.coef_.copy()
    Yn = Y.copy()
    Yn[1:, 1] = np.nan
    with pytest.raises(ValueError, match=r"at least 2 labelled samples.*task\(s\) \[1\]"):
        est.fit(X, Yn)
    assert_allclose(est.coef_, coef, rtol=0, atol=0)


def test_errors():
    X, Y = _data(seed=7)
    with pytest.raises(InvalidParameterError, match="covariance"):
        TaskCovarianceRegressor(covariance="isotropic").fit(X, Y)
    with pytest.raises(InvalidParameterError, match="rank"):
        TaskCovarianceRegressor("low_rank", rank=0).fit(X, Y)
    with pytest.raises(ValueError, match="at least 2 samples.*got 1 sample"):
        TaskCovarianceRegressor().fit(X[:1], Y[:1])
    with pytest.raises(ValueError, match="y has shape"):
        TaskCovarianceRegressor().fit(X, Y[:-1])
    with pytest.raises(ValueError, match=r"sample_weight sums to 4, fewer than 1 \+ the rank"):
        TaskCovarianceRegressor().fit(X, Y, sample_weight=np.full(len(X), 0.1))


def test_max_iter_warns():
    X, Y = _data(seed=8)
    with pytest.warns(ConvergenceWarning, match=r"did not converge.*\(max_iter=1;"):
        est = TaskCovarianceRegressor(max_iter=1, tol=1e-14).fit(X, Y)
    assert not est.converged_


@pytest.mark.parametrize("seed, T", [(3, 3), (11, 2), (12, 1)])
def test_auto_keeps_the_structure_with_the_smaller_aic(seed, T):
    X, Y = _data(seed=seed, n=25, T=T)
    auto = TaskCovarianceRegressor("auto").fit(X, Y)
    aic = {}
    for name, k in (("diagonal", T), ("full", T * (T + 1) // 2)):
        est = TaskCovarianceRegressor(name).fit(X, Y)
        aic[name] = -2 * est.log_likelihood_ + 2 * (k + T)
        assert abs(auto.aic_[name] - aic[name]) <= 1e-12 * abs(aic[name])
        if auto.covariance_structure_ == name:
            assert_allclose(auto.coef_, est.coef_, rtol=0, atol=0)
            assert auto.log_likelihood_ == est.log_likelihood_
    chosen = "full" if aic["full"] < aic["diagonal"] else "diagonal"
    assert auto.covariance_structure_ == chosen
    if T == 1:
        assert chosen == "diagonal"


@pytest.mark.parametrize("method", ["ml", "reml"])
def test_wishart_prior_maximum_against_scipy_and_nondegenerate(method):
    """covariance_prior='wishart' maximises log L + 0.75 log|Omega| (checked against
    scipy's BFGS on the test's dense criterion); the Omega the likelihood alone puts on
    the boundary (linnerud: rank 1) becomes positive definite; log_likelihood_ is the
    likelihood at the estimate, below the unpenalised maximum."""
    from sklearn.datasets import load_linnerud

    X, Y = load_linnerud(return_X_y=True)
    X, Y = X.astype(float), Y.astype(float)
    plain = TaskCovarianceRegressor(method=method).fit(X, Y)
    est = TaskCovarianceRegressor(method=method, covariance_prior="wishart", tol=1e-9).fit(X, Y)
    assert est.converged_
    assert np.linalg.eigvalsh(plain.task_correlation_).min() < 1e-6  # singular
    assert np.linalg.eigvalsh(est.task_correlation_).min() > 0.05  # observed 0.15, 0.16
    Xs, Yc = _standardised(X), Y - Y.mean(0)
    T = 3
    dense = _dense_loglik(Xs, Yc, est.task_covariance_, est.noise_variance_, method)  # scipy
    assert abs(est.log_likelihood_ - dense) <= 1e-9 * abs(dense)
    assert est.log_likelihood_ < plain.log_likelihood_

    def penalised(omega, s2):
        return _dense_loglik_direct(Xs, Yc, omega, s2, method) + 0.75 * np.linalg.slogdet(omega)[1]

    ours = penalised(est.task_covariance_, est.noise_variance_)
    rows, cols = np.tril_indices(T)
    sd = Y.std(0)

    def neg(x):  # in units of the targets' standard deviations, for BFGS's conditioning
        L = np.zeros((T, T))
        L[rows, cols] = x[:len(rows)]
        return -penalised(np.outer(sd, sd) * (L @ L.T), sd ** 2 * np.exp(2 * x[len(rows):]))

    best = -np.inf
    rng = np.random.default_rng(0)
    for _ in range(3):
        x0 = np.concatenate([0.3 * rng.standard_normal(len(rows)), np.log(0.7) * np.ones(T)])
        r = minimize(neg, x0, method="BFGS", options={"gtol": 1e-8})
        best = max(best, -r.fun)
    assert ours >= best - 1e-9 * abs(best)  # observed: ours higher, by up to 1.4e-14 relative
    assert abs(ours - best) <= 1e-6 * abs(best)


def _shared_design(Xs, T, scale):
    """The fixed-effects design of shared_mean=True in the user's units: the task
    intercepts, and beta on the targets scaled to unit variance (task t's block of
    beta's columns is scale_t Xs)."""
    n = len(Xs)
    return np.hstack([np.kron(np.eye(T), np.ones((n, 1))), np.kron(scale[:, None], Xs)])


def _dense_loglik_fixed(Xs, Y, omega, s2, F, method):
    """scipy's density of vec(Y) with fixed effects of design F: ML at their GLS
    estimate; REML the contrasts orthogonal to F minus log|F^T F| / 2 (lme4)."""
    n, T = Y.shape
    cov = np.kron(np.diag(s2), np.eye(n)) + np.kron(omega, Xs @ Xs.T)
    y = Y.T.ravel()
    if method == "ml":
        Vi = np.linalg.inv(cov)
        g = np.linalg.solve(F.T @ Vi @ F, F.T @ Vi @ y)
        return multivariate_normal(F @ g, cov).logpdf(y)
    K = null_space(F.T)
    return (multivariate_normal(np.zeros(K.shape[1]), K.T @ cov @ K).logpdf(K.T @ y)
            - 0.5 * np.linalg.slogdet(F.T @ F)[1])


@pytest.mark.parametrize("method", ["ml", "reml"])
def test_shared_mean_criterion_gradient_and_posterior(method):
    Xc, Yc, omega, s2 = _problem(seed=13, n=12)
    n, T = Yc.shape
    d = Xc.shape[1]
    rs = rotate_design(Xc, Yc, n)
    dense = _dense_loglik_fixed(Xc, Yc + 2.0, omega, s2, _shared_design(Xc, T, np.ones(T)),
                                method)
    ours = -evaluate(rs, omega, s2, method, gradient=False, shared_mean=True).value / 2
    assert abs(ours - dense) <= 1e-10 * abs(dense)  # observed <= 6.4e-16
    st = make_structure("full", T)
    x = np.concatenate([np.random.default_rng(1).standard_normal(st.n_params), 0.5 * np.log(s2)])
    k = st.n_params

    def f(x):
        return evaluate(rs, st.omega(x[:k]), np.exp(2 * x[k:]), method, False, True).value

    ev = evaluate(rs, st.omega(x[:k]), s2, method, True, True)
    g = np.concatenate([st.gradient(x[:k], ev.grad_omega), 2 * s2 * ev.grad_sigma2])
    fd = np.array([(f(x + 1e-5 * e) - f(x - 1e-5 * e)) / 2e-5 for e in np.eye(len(x))])
    assert_allclose(g, fd, rtol=0, atol=1e-7 * np.max(np.abs(g)))  # observed <= 2.7e-10
    # posterior: the joint minimiser over W and beta of
    # sum_t ||y_t - X w_t||^2 / s2_t + tr((W - beta 1^T) Omega^-1 (W - beta 1^T)^T)
    Oi = np.kron(np.linalg.inv(omega), np.eye(d))
    J = np.kron(np.ones((T, 1)), np.eye(d))  # vec(beta 1^T) = J beta (task-major)
    A = np.block([[np.kron(np.diag(1 / s2), Xc.T @ Xc) + Oi, -Oi @ J], [-J.T @ Oi, J.T @ Oi @ J]])
    r = np.concatenate([np.kron(np.diag(1 / s2), np.eye(d)) @ (Xc.T @ Yc).T.ravel(), np.zeros(d)])
    W = np.linalg.solve(A, r)[:d * T].reshape(T, d).T
    assert_allclose(posterior(rs, omega, s2, shared_mean=True)[0], W, rtol=1e-10,
                    atol=1e-12 * np.abs(W).max())  # observed <= 5.5e-16


@pytest.mark.parametrize("method", ["ml", "reml"])
def test_shared_mean_estimator_matches_dense(method):
    """log_likelihood_ in the user's units (beta shared by the unit-variance targets:
    its design scales with each target's standard deviation) and coef_ = the joint
    GLS + posterior mean; a single task is least squares (beta takes all)."""
    X, Y = _data(seed=14, n=30)
    est = TaskCovarianceRegressor(shared_mean=True, method=method).fit(X, Y)
    assert est.converged_
    Xs, sy = _standardised(X), Y.std(0)
    T, d = Y.shape[1], X.shape[1]
    omega, s2 = est.task_covariance_, est.noise_variance_
    dense = _dense_loglik_fixed(Xs, Y, omega, s2, _shared_design(Xs, T, sy), method)
    assert abs(est.log_likelihood_ - dense) <= 1e-9 * abs(dense)  # observed <= 1.4e-14
    # posterior in the unit-variance scale, mapped back, in y-space (Omega may be
    # singular at the maximum): W = beta 1^T + (Omega (x) Xs^T) V^-1 (y - F gamma)
    om, v = omega / np.outer(sy, sy), s2 / sy ** 2
    y = ((Y - Y.mean(0)) / sy).T.ravel()
    n = len(X)
    V = np.kron(np.diag(v), np.eye(n)) + np.kron(om, Xs @ Xs.T)
    F = _shared_design(Xs, T, np.ones(T))
    Vi = np.linalg.inv(V)
    gamma = np.linalg.solve(F.T @ Vi @ F, F.T @ Vi @ y)
    U = (np.kron(om, Xs.T) @ Vi @ (y - F @ gamma)).reshape(T, d)
    W = U + gamma[T:]
    assert_allclose(est.coef_, W * sy[:, None] / X.std(0), rtol=1e-8)  # observed <= 5.7e-14
    one = TaskCovarianceRegressor(shared_mean=True).fit(X, Y[:, 0])
    ols = np.linalg.lstsq(np.column_stack([np.ones(len(X)), X]), Y[:, 0], rcond=None)[0]
    assert_allclose(one.coef_[0], ols[1:], rtol=1e-9)  # observed <= 1e-13
    with pytest.raises(ValueError, match=r"shared_mean=True\) does not fit missing labels"):
        TaskCovarianceRegressor(shared_mean=True).fit(X, _missing(Y))


def test_missing_labels_with_weights_and_sparse_input():
    import scipy.sparse as sp

    X, Y = _data(seed=15, n=30)
    Ym = _missing(Y, seed=4)
    w = np.random.default_rng(1).integers(0, 3, len(X))
    a = TaskCovarianceRegressor().fit(X, Ym, sample_weight=w)
    assert a.converged_
    b = TaskCovarianceRegressor().fit(np.repeat(X, w, axis=0), np.repeat(Ym, w, axis=0))
    s = TaskCovarianceRegressor().fit(sp.csr_matrix(X), Ym, sample_weight=w)
    for other in (b, s):  # observed <= 2e-8 (two optimiser runs) and 0 (the same run)
        assert_allclose(other.coef_, a.coef_, rtol=1e-6)
        assert_allclose(other.intercept_, a.intercept_, rtol=1e-6)
        assert abs(other.log_likelihood_ - a.log_likelihood_) <= 1e-9 * abs(a.log_likelihood_)
