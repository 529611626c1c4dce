"""``loss="huber"``: the Huber loss with a fixed threshold ``epsilon``, on every formulation.

* every formulation (13) x both layouts against cvxpy (``cp.huber``, which is twice our
  loss; objective within 1e-6 relative), the solver's measure below ``tol`` and the
  intercept gradient (written here) at zero;
* scale equivariance of the fixed threshold: ``y, epsilon, alpha -> 10 x`` gives
  ``10 x`` the coefficients and intercepts;
* a large ``epsilon`` is the squared loss; Newton (semismooth) = FISTA; shrunk
  intercepts; the ``*CV`` test loss; scikit-learn's checks; bad ``epsilon``.
"""

import numpy as np
import pytest
from _cvx_family import HUBER_EPSILON, data_gradient, make_blocks
from conftest import fit_tol
from sklearn.utils.estimator_checks import parametrize_with_checks
from test_counts import FORMULATIONS, cvx_reference, fit_tight, make_case

import mtlreg

TIGHT = dict(tol=1e-10, max_iter=5000)


def robust_data(layout, *, n=60, d=4, T=3, seed=0):
    """Linear targets with heavy-tailed noise (a tenth of the rows shifted by +-6)."""
    rng = np.random.default_rng(seed)
    W = rng.standard_normal((d, 1)) + 0.5 * rng.standard_normal((d, T))
    W[-1] = 0.0
    b = rng.standard_normal(T)
    F = rng.standard_normal((n, d))
    noise = 0.5 * rng.standard_normal((n, T)) + 6.0 * rng.choice([-1, 0, 0, 0, 0, 0, 0, 0, 0, 1],
                                                                 size=(n, T))
    if layout == "shared":
        Y = F @ W + b + noise
        return F, Y, {}, make_blocks(F, Y), None
    task = rng.integers(0, T, n)
    y = np.einsum("ij,ji->i", F, W[:, task]) + b[task] + noise[:, 0]
    sw = rng.uniform(0.3, 2.0, n)
    return (np.column_stack([task, F]), y, {"task_column": 0},
            make_blocks(F, y, task_ids=task, sample_weight=sw), sw)


def null_scale(est, X, y, sw):
    """The gradient scale of the stopping rule, from the package's alpha_max machinery
    (the datafit gradient at W = 0 with the Huber-location intercepts)."""
    return float(np.abs(est._null_gradient(X, y, sw)).max())


@pytest.mark.parametrize("layout", ["shared", "per_task"])
@pytest.mark.parametrize("name", list(FORMULATIONS))
def test_every_formulation_matches_cvxpy(name, layout):
    X, y, est_kw, blocks, sw = robust_data(layout)
    est, alpha, kw = make_case(name, X, y, dict(est_kw, epsilon=HUBER_EPSILON), sw,
                               loss="huber")
    est.set_params(**TIGHT)
    fit_tight(est, X, y, sw)
    ref, value = cvx_reference(name, blocks, alpha, kw, fit_intercept=True, loss="huber")
    ours = value(FORMULATIONS[name][3](est), est.intercept_)
    assert est.objective_ == pytest.approx(ours, rel=1e-7)
    assert ours <= ref + 1e-7 * abs(ref)
    assert abs(ours - ref) <= 1e-6 * abs(ref)
    W = est.coef_.T
    assert np.abs(W).max() > 1e-3
    scale = null_scale(est, X, y, sw)
    assert est.stop_crit_ <= fit_tol(1e-10) * scale * (1 + 1e-6)
    _, gb = data_gradient(blocks, W, est.intercept_, "huber")
    assert np.abs(gb).max() <= 1e-9 * scale


def test_some_residuals_are_beyond_epsilon():
    """The data exercise both pieces of the loss (else this is the squared loss)."""
    X, y, est_kw, blocks, sw = robust_data("shared")
    est = mtlreg.GroupLassoRegressor(alpha=0.05, loss="huber", epsilon=HUBER_EPSILON).fit(X, y)
    r = np.abs(y - est.predict(X))
    assert 0.05 < np.mean(r > HUBER_EPSILON) < 0.5


@pytest.mark.parametrize("layout", ["shared", "per_task"])
def test_scale_equivariance_with_the_threshold(layout):
    """``F(10 W; 10 y, 10 epsilon) = 100 F(W; y, epsilon)`` and the l2,1 penalty is
    1-homogeneous: with ``alpha -> 10 alpha`` the solution scales by 10."""
    X, y, est_kw, _, sw = robust_data(layout, seed=1)
    kw = dict(est_kw, loss="huber", **TIGHT)
    a = fit_tight(mtlreg.GroupLassoRegressor(alpha=0.05, epsilon=1.0, **kw), X, y, sw)
    b = fit_tight(mtlreg.GroupLassoRegressor(alpha=0.5, epsilon=10.0, **kw), X, 10 * y, sw)
    np.testing.assert_allclose(b.coef_, 10 * a.coef_, rtol=0, atol=1e-7)
    np.testing.assert_allclose(b.intercept_, 10 * a.intercept_, rtol=0, atol=1e-7)
    assert b.objective_ == pytest.approx(100 * a.objective_, rel=1e-9)
    # ... and not with the threshold fixed: the outliers weigh differently
    c = fit_tight(mtlreg.GroupLassoRegressor(alpha=0.5, epsilon=1.0, **kw), X, 10 * y, sw)
    assert np.abs(c.coef_ - b.coef_).max() > 1e-2


def test_large_epsilon_is_the_squared_loss():
    X, y, est_kw, _, _ = robust_data("shared", seed=2)
    sq = fit_tight(mtlreg.TraceNormRegressor(alpha=0.1, **TIGHT), X, y)
    hub = fit_tight(mtlreg.TraceNormRegressor(alpha=0.1, loss="huber", epsilon=1e3, **TIGHT), X, y)
    np.testing.assert_allclose(hub.coef_, sq.coef_, atol=1e-6)
    np.testing.assert_allclose(hub.intercept_, sq.intercept_, atol=1e-6)


def test_newton_and_fista_agree_and_huber_is_robust():
    X, y, est_kw, _, _ = robust_data("shared", seed=3)
    kw = dict(alpha=0.05, loss="huber", epsilon=1.0, tol=1e-9, max_iter=20000)
    newton = fit_tight(mtlreg.GroupLassoRegressor(solver="newton", **kw), X, y)
    fista = fit_tight(mtlreg.GroupLassoRegressor(solver="fista", **kw), X, y)
    assert fista.objective_ == pytest.approx(newton.objective_, rel=1e-9)
    np.testing.assert_allclose(fista.coef_, newton.coef_, atol=1e-5)


def test_shrunk_intercepts_satisfy_their_optimality_condition():
    X, y, est_kw, blocks, sw = robust_data("per_task", seed=4)
    est = fit_tight(mtlreg.GroupLassoRegressor(alpha=0.05, loss="huber", epsilon=1.0,
                                               intercept_reg=2.0, **est_kw, **TIGHT), X, y, sw)
    _, gb = data_gradient(blocks, est.coef_.T, est.intercept_, "huber")
    gb = gb + 2.0 * (est.intercept_ - est.intercept_.mean())  # lambda_t = 1
    assert np.abs(gb).max() <= 1e-8
    free = fit_tight(mtlreg.GroupLassoRegressor(alpha=0.05, loss="huber", epsilon=1.0,
                                                **est_kw, **TIGHT), X, y, sw)
    assert np.ptp(est.intercept_) < np.ptp(free.intercept_)  # pulled together


def test_cv_test_loss_is_the_mean_huber_loss():
    X, y, est_kw, _, _ = robust_data("per_task", seed=5, n=90)
    cv = mtlreg.GroupLassoRegressorCV(loss="huber", epsilon=1.0, n_alphas=4, cv=3,
                                      **est_kw).fit(X, y)
    assert cv.estimator_.loss == "huber" and cv.estimator_.epsilon == 1.0
    r = np.abs(y - cv.predict(X))
    expected = np.mean(np.where(r <= 1.0, 0.5 * r * r, r - 0.5))
    assert cv.estimator_._test_loss(X, y) == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("epsilon", [0.0, -1.0, "1"])
def test_bad_epsilon_is_an_error(epsilon):
    X, y, _, _, _ = robust_data("shared")
    with pytest.raises(ValueError, match="epsilon"):
        mtlreg.GroupLassoRegressor(loss="huber", epsilon=epsilon).fit(X, y)


@parametrize_with_checks([mtlreg.GroupLassoRegressor(loss="huber")])
def test_huber_sklearn_compatible(estimator, check):
    check(estimator)
