"""``MeanRegularizedRegressor(alpha="reml")``: the strength by restricted likelihood of the
model's Bayesian twin (issue 25 item 3), against a dense oracle written from the rows.

The oracle encodes the twin directly: a fixed intercept per task (one-hot columns in the
fixed design), fixed slopes, isotropic random slopes ``u_t ~ N(0, tau sigma^2 I)`` and
noise ``sigma^2 / p_i`` with ``p_i = lambda_t / n_t`` per (frequency-weighted, hence
replicated) row; its REML criterion is evaluated with dense matrices and maximised in
``tau`` by Brent's method (``sigma^2`` profiled). Nothing of the package's centring,
Schur complements or per-task statistics is used there.
"""

import numpy as np
import pytest
from scipy.optimize import minimize_scalar

from mtlreg import MeanRegularizedClassifier, MeanRegularizedRegressor


def _data(seed, T=6, d=3, weights=True):
    rng = np.random.default_rng(seed)
    n = rng.integers(4, 12, T)
    codes = np.repeat(np.arange(T), n)
    N = len(codes)
    X = rng.standard_normal((N, d)) + 0.5
    beta = rng.standard_normal(d)
    U = 0.7 * rng.standard_normal((T, d))
    y = (np.einsum("ij,ij->i", X, beta + U[codes]) + rng.standard_normal(T)[codes]
         + 0.5 * rng.standard_normal(N))
    s = rng.integers(1, 3, N).astype(float) if weights else np.ones(N)
    lam = rng.uniform(0.5, 2.0, T)
    return X, y, codes, s, lam


def _dense_twin(X, y, codes, s, lam, tau, intercept=True):
    """The twin's dense pieces at relative slope variance ``tau`` (replicated rows)."""
    rep = np.repeat(np.arange(len(y)), s.astype(int))
    Xr, yr, cr = X[rep], y[rep], codes[rep]
    T = codes.max() + 1
    nt = np.bincount(codes, weights=s, minlength=T)
    prec = (lam / nt)[cr]
    F = np.column_stack([np.eye(T)[cr], Xr]) if intercept else Xr
    V = np.zeros((len(yr), len(yr)))
    for t in range(T):
        i = np.flatnonzero(cr == t)
        V[np.ix_(i, i)] = np.diag(1.0 / prec[i]) + tau * Xr[i] @ Xr[i].T
    Vi = np.linalg.inv(V)
    A = F.T @ Vi @ F
    fixed = np.linalg.solve(A, F.T @ Vi @ yr)
    res = yr - F @ fixed
    return V, Vi, A, F, fixed, res, Xr, cr


def _dense_reml_alpha(X, y, codes, s, lam, intercept=True):
    def deviance(log_tau):
        V, Vi, A, F, _, res, _, _ = _dense_twin(X, y, codes, s, lam, np.exp(log_tau), intercept)
        dof = len(res) - F.shape[1]
        sigma2 = res @ Vi @ res / dof
        return (np.linalg.slogdet(V)[1] + np.linalg.slogdet(A)[1] + dof * np.log(sigma2))

    out = minimize_scalar(deviance, bounds=(-12.0, 8.0), method="bounded",
                          options={"xatol": 1e-11})
    return float(np.exp(-out.x))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_reml_alpha_equals_the_dense_twin(seed):
    X, y, codes, s, lam = _data(seed)
    model = MeanRegularizedRegressor(alpha="reml", task_column=0, task_weights=lam,
                                     l2_reg=0.0).fit(np.column_stack([codes, X]), y,
                                                     sample_weight=s)
    expected = _dense_reml_alpha(X, y, codes, s, lam)
    # measured: <= 3e-7 relative (the L-BFGS stop at tol=1e-7)
    assert model.alpha_ == pytest.approx(expected, rel=1e-5)


def test_reml_alpha_without_intercepts():
    X, y, codes, s, lam = _data(3)
    model = MeanRegularizedRegressor(alpha="reml", task_column=0, task_weights=lam,
                                     l2_reg=0.0, fit_intercept=False).fit(
        np.column_stack([codes, X]), y, sample_weight=s)
    assert model.alpha_ == pytest.approx(_dense_reml_alpha(X, y, codes, s, lam, False),
                                         rel=1e-5)


def test_the_fit_is_the_twins_posterior_mean():
    """At ``alpha = 1 / tau`` (``l2_reg = 0``) the penalised solution is the twin's
    posterior mean ``beta + E[u_t | y]`` and its GLS intercepts: the scaling of the data
    term (``c_it = lambda_t s_i / n_t``) against the prior is right."""
    X, y, codes, s, lam = _data(4)
    tau = 0.37
    _, Vi, _, _, fixed, res, Xr, cr = _dense_twin(X, y, codes, s, lam, tau)
    T = codes.max() + 1
    beta = fixed[T:]
    blup = np.array([tau * Xr[cr == t].T @ (Vi @ res)[cr == t] for t in range(T)])
    model = MeanRegularizedRegressor(alpha=1.0 / tau, task_column=0, task_weights=lam,
                                     l2_reg=0.0, tol=1e-12).fit(
        np.column_stack([codes, X]), y, sample_weight=s)
    np.testing.assert_allclose(model.coef_, beta + blup, rtol=1e-7, atol=1e-9)
    np.testing.assert_allclose(model.intercept_, fixed[:T], rtol=1e-7, atol=1e-9)
    assert model.alpha_ == 1.0 / tau


def test_both_layouts_give_the_same_alpha():
    rng = np.random.default_rng(5)
    n, d, T = 40, 3, 4
    X = rng.standard_normal((n, d))
    W = rng.standard_normal((d, 1)) + 0.5 * rng.standard_normal((d, T))
    Y = X @ W + rng.standard_normal(T) + 0.3 * rng.standard_normal((n, T))
    Y[rng.random((n, T)) < 0.2] = np.nan
    shared = MeanRegularizedRegressor(alpha="reml").fit(X, Y)
    rows, cols = np.nonzero(~np.isnan(Y))
    blocks = MeanRegularizedRegressor(alpha="reml", task_column=0).fit(
        np.column_stack([cols, X[rows]]), Y[rows, cols])
    assert shared.alpha_ == pytest.approx(blocks.alpha_, rel=1e-9)
    assert shared.reml_log_likelihood_ == pytest.approx(blocks.reml_log_likelihood_, rel=1e-12)


def test_reml_alpha_from_dask_equals_in_memory():
    dd = pytest.importorskip("dask.dataframe")
    import pandas as pd

    X, y, codes, _, _ = _data(6, weights=False)
    frame = pd.DataFrame(np.column_stack([codes, X]), columns=["task", "a", "b", "c"])
    memory = MeanRegularizedRegressor(alpha="reml", task_column="task").fit(frame, y)
    lazy = MeanRegularizedRegressor(alpha="reml", task_column="task").fit(
        dd.from_pandas(frame, npartitions=3), dd.from_pandas(pd.Series(y), npartitions=3))
    assert lazy.alpha_ == pytest.approx(memory.alpha_, rel=1e-8)
    np.testing.assert_allclose(lazy.coef_, memory.coef_, rtol=1e-8, atol=1e-10)


def test_no_between_task_variance_gives_equal_tasks():
    """Every task's least-squares slopes equal (the noise is orthogonal to each task's
    design): the restricted likelihood is largest at ``tau = 0``; ``alpha_`` is then a
    finite stand-in for infinity, with a warning, and the tasks share one vector."""
    rng = np.random.default_rng(7)
    codes = np.repeat(np.arange(5), 30)
    X = rng.standard_normal((150, 2))
    noise = rng.standard_normal(150)
    for t in range(5):
        A = np.column_stack([np.ones(30), X[codes == t]])
        e = noise[codes == t]
        noise[codes == t] = e - A @ np.linalg.lstsq(A, e, rcond=None)[0]
    y = X @ np.array([1.0, -2.0]) + rng.standard_normal(5)[codes] + noise
    with pytest.warns(UserWarning, match="no variance between the task vectors"):
        model = MeanRegularizedRegressor(alpha="reml", task_column=0, l2_reg=0.0).fit(
            np.column_stack([codes, X]), y)
    assert model.alpha_ > 1e6
    assert np.ptp(model.coef_, axis=0).max() < 1e-9
    # measured 1.6e-7 from the common least-squares slopes
    np.testing.assert_allclose(model.coef_, np.tile([1.0, -2.0], (5, 1)), atol=1e-5)


def test_reml_alpha_is_refused_where_it_has_no_meaning():
    X, y, codes, _, _ = _data(8, weights=False)
    Xt = np.column_stack([codes, X])
    with pytest.raises(ValueError, match="squared loss"):
        MeanRegularizedClassifier(alpha="reml", task_column=0).fit(Xt, (y > 0).astype(int))
    one_class = (y > 0).astype(int)
    one_class[codes == 0] = 1  # a task with one class: still the message about the loss
    with pytest.raises(ValueError, match="squared loss"):
        MeanRegularizedClassifier(alpha="reml", task_column=0).fit(Xt, one_class)
    with pytest.raises(ValueError, match="intercept_reg"):
        MeanRegularizedRegressor(alpha="reml", intercept_reg=1.0, task_column=0).fit(Xt, y)
    with pytest.raises(ValueError, match="alpha"):
        MeanRegularizedRegressor(alpha="ml", task_column=0).fit(Xt, y)


# ---------------------------------------------------------------- random intercepts too
def _dense_shrunk_twin(X, y, codes, s, lam, psi_b, psi_w):
    """The twin with random intercepts (``intercept_reg="reml"``), dense, replicated rows:
    fixed ``[1, x]``; task ``t``'s random ``[c_t, u_t]`` with relative covariance
    ``diag(psi_b / lambda_t, psi_w I)``; noise ``sigma^2 n_t / (lambda_t s_i)``."""
    rep = np.repeat(np.arange(len(y)), s.astype(int))
    Xr, yr, cr = X[rep], y[rep], codes[rep]
    T = codes.max() + 1
    nt = np.bincount(codes, weights=s, minlength=T)
    prec = (lam / nt)[cr]
    F = np.column_stack([np.ones(len(yr)), Xr])
    V = np.zeros((len(yr), len(yr)))
    for t in range(T):
        i = np.flatnonzero(cr == t)
        D = np.diag(np.append(psi_b / lam[t], np.full(X.shape[1], psi_w)))
        V[np.ix_(i, i)] = np.diag(1.0 / prec[i]) + F[i] @ D @ F[i].T
    Vi = np.linalg.inv(V)
    A = F.T @ Vi @ F
    fixed = np.linalg.solve(A, F.T @ Vi @ yr)
    res = yr - F @ fixed
    return V, Vi, A, F, fixed, res, cr


def _dense_shrunk_reml(X, y, codes, s, lam):
    """``(intercept_reg, alpha)`` maximising the dense restricted likelihood (Nelder-Mead
    on the log variance ratios, ``sigma^2`` profiled)."""
    from scipy.optimize import minimize

    def deviance(logs):
        V, Vi, A, F, _, res, _ = _dense_shrunk_twin(X, y, codes, s, lam, *np.exp(logs))
        dof = len(res) - F.shape[1]
        return (np.linalg.slogdet(V)[1] + np.linalg.slogdet(A)[1]
                + dof * np.log(res @ Vi @ res / dof))

    out = minimize(deviance, np.zeros(2), method="Nelder-Mead",
                   options={"xatol": 1e-10, "fatol": 1e-14, "maxiter": 4000})
    psi_b, psi_w = np.exp(out.x)
    return 1.0 / psi_b, 1.0 / psi_w


def _shrunk_model(X, codes, y, s, lam, **kw):
    return MeanRegularizedRegressor(alpha="reml", intercept_reg="reml", task_column=0,
                                    task_weights=lam, l2_reg=0.0, **kw).fit(
        np.column_stack([codes, X]), y, sample_weight=s)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_reml_intercepts_equal_the_dense_twin(seed):
    """Both strengths against a dense REML written from the rows (direct log-determinants,
    scipy's Nelder-Mead): the scaling ``c_it = lambda_t s_i / n_t`` and the
    ``lambda_t``-weighted intercept term map to the twin as the docstring says."""
    X, y, codes, s, lam = _data(seed, T=8)
    model = _shrunk_model(X, codes, y, s, lam)
    s_ref, a_ref = _dense_shrunk_reml(X, y, codes, s, lam)
    # measured: <= 6.7e-7 relative (the L-BFGS-B stop at tol=1e-7; Nelder-Mead at 1e-10)
    assert model.intercept_reg_ == pytest.approx(s_ref, rel=1e-5)
    assert model.alpha_ == pytest.approx(a_ref, rel=1e-5)


@pytest.mark.parametrize("seed", [3, 4])
def test_reml_intercepts_fit_is_the_blup(seed):
    """At the estimated strengths the penalised solution (the direct solve with the
    intercept term's outer iteration) is the twin's GLS fixed effects plus the BLUPs of
    the random intercepts and slopes (Henderson's mixed-model equations), computed here
    densely from the rows."""
    X, y, codes, s, lam = _data(seed, T=8)
    model = _shrunk_model(X, codes, y, s, lam, tol=1e-12)
    psi_b, psi_w = 1.0 / model.intercept_reg_, 1.0 / model.alpha_
    _, Vi, _, F, fixed, res, cr = _dense_shrunk_twin(X, y, codes, s, lam, psi_b, psi_w)
    T = codes.max() + 1
    e = Vi @ res
    c = np.array([psi_b / lam[t] * e[cr == t].sum() for t in range(T)])
    u = np.array([psi_w * F[cr == t, 1:].T @ e[cr == t] for t in range(T)])
    # the penalised fit solves the same linear system to tol=1e-12 (relative to the
    # gradient scale); measured <= 4e-14 absolute on coefficients of size ~2
    np.testing.assert_allclose(model.coef_, fixed[1:] + u, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(model.intercept_, fixed[0] + c, rtol=1e-10, atol=1e-10)
    assert model.shared_intercept_ == pytest.approx(fixed[0], rel=1e-10, abs=1e-10)
    # and the same numbers as the estimator at those strengths given as numbers
    numeric = MeanRegularizedRegressor(alpha=model.alpha_, intercept_reg=model.intercept_reg_,
                                       task_column=0, task_weights=lam, l2_reg=0.0,
                                       tol=1e-12).fit(np.column_stack([codes, X]), y,
                                                      sample_weight=s)
    np.testing.assert_allclose(numeric.coef_, model.coef_, rtol=1e-12, atol=1e-12)


def test_reml_intercepts_from_dask_and_both_layouts():
    dd = pytest.importorskip("dask.dataframe")
    import pandas as pd

    X, y, codes, _, _ = _data(6, T=8, weights=False)
    frame = pd.DataFrame(np.column_stack([codes, X]), columns=["task", "a", "b", "c"])
    kw = dict(alpha="reml", intercept_reg="reml", task_column="task")
    memory = MeanRegularizedRegressor(**kw).fit(frame, y)
    lazy = MeanRegularizedRegressor(**kw).fit(
        dd.from_pandas(frame, npartitions=3), dd.from_pandas(pd.Series(y), npartitions=3))
    assert lazy.intercept_reg_ == pytest.approx(memory.intercept_reg_, rel=1e-8)
    assert lazy.alpha_ == pytest.approx(memory.alpha_, rel=1e-8)
    np.testing.assert_allclose(lazy.intercept_, memory.intercept_, rtol=1e-8, atol=1e-10)
    # the shared layout (one column per task, NaN where a task has no row) = the per-task one
    rng = np.random.default_rng(5)
    n, d, T = 40, 3, 4
    Xs = rng.standard_normal((n, d))
    Y = Xs @ (rng.standard_normal((d, 1)) + 0.5 * rng.standard_normal((d, T)))
    Y += rng.standard_normal(T) + 0.3 * rng.standard_normal((n, T))
    Y[rng.random((n, T)) < 0.2] = np.nan
    shared = MeanRegularizedRegressor(alpha="reml", intercept_reg="reml").fit(Xs, Y)
    rows, cols = np.nonzero(~np.isnan(Y))
    blocks = MeanRegularizedRegressor(alpha="reml", intercept_reg="reml", task_column=0).fit(
        np.column_stack([cols, Xs[rows]]), Y[rows, cols])
    assert shared.intercept_reg_ == pytest.approx(blocks.intercept_reg_, rel=1e-9)
    assert shared.alpha_ == pytest.approx(blocks.alpha_, rel=1e-9)


def test_reml_intercepts_refusals_keep_the_previous_fit():
    X, y, codes, _, _ = _data(8, weights=False)
    Xt = np.column_stack([codes, X])
    with pytest.raises(ValueError, match="alpha='reml' too"):
        MeanRegularizedRegressor(alpha=1.0, intercept_reg="reml", task_column=0).fit(Xt, y)
    with pytest.raises(ValueError, match="squared loss"):
        MeanRegularizedClassifier(alpha="reml", intercept_reg="reml", task_column=0).fit(
            Xt, (y > 0).astype(int))
    model = MeanRegularizedRegressor(alpha="reml", intercept_reg="reml", task_column=0).fit(Xt, y)
    before = (model.alpha_, model.intercept_reg_, model.coef_.copy())
    with pytest.raises(ValueError):
        model.fit(Xt[:, :2], y[:3])  # bad input: nothing lost
    assert (model.alpha_, model.intercept_reg_) == before[:2]
    np.testing.assert_array_equal(model.coef_, before[2])
    from mtlreg import MeanRegularizedRegressorCV

    with pytest.raises(ValueError, match="intercept_reg='reml' is estimated by"):
        MeanRegularizedRegressorCV(intercept_reg="reml", task_column=0).fit(Xt, y)
    # without intercepts, intercept_reg='reml' has nothing to shrink: alpha alone
    free = MeanRegularizedRegressor(alpha="reml", intercept_reg="reml", task_column=0,
                                    fit_intercept=False).fit(Xt, y)
    plain = MeanRegularizedRegressor(alpha="reml", task_column=0, fit_intercept=False).fit(Xt, y)
    assert free.alpha_ == plain.alpha_ and not hasattr(free, "intercept_reg_")
