"""HierarchicalRegressor on badly scaled and partly unidentifiable designs: the fit runs in
standardised coordinates (an exact reparametrisation) and leaves out random slopes the data
cannot tell apart from the random intercept."""

import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose

from mtlreg import HierarchicalRegressor
from mtlreg.mixed._fit import _newton_polish, projected_gradient


def _grouped(seed=0, T=30):
    rng = np.random.default_rng(seed)
    nt = rng.integers(6, 25, T)
    g = np.repeat(np.arange(T), nt)
    X = rng.normal(size=(len(g), 2))
    b = rng.multivariate_normal([0, 0], [[1.0, 0.3], [0.3, 0.5]], size=T)
    y = 1.0 + X @ [0.5, -1.0] + b[g, 0] + b[g, 1] * X[:, 0] + rng.normal(size=len(g))
    return g, X, y


@pytest.mark.parametrize("method", ["ml", "reml"])
def test_feature_scales_do_not_change_the_model(method):
    """Columns multiplied by 1e4 and 1e-4: coefficients divide, covariances follow, the
    ML log-likelihood is the same and the REML one moves by the log of the factors (the
    log-determinant of the GLS matrix), as in any REML software."""
    g, X, y = _grouped()
    factors = np.array([1e4, 1e-4])
    a = HierarchicalRegressor([0], method=method, task_column=0).fit(np.column_stack([g, X]), y)
    b = HierarchicalRegressor([0], method=method, task_column=0).fit(
        np.column_stack([g, X * factors]), y)
    assert a.converged_ and b.converged_
    # measured: 1e-9 relative
    assert_allclose(b.coef_ * factors, a.coef_, rtol=1e-6)
    assert_allclose(b.intercept_, a.intercept_, rtol=1e-6)
    D = np.diag([1.0, factors[0]])
    assert_allclose(D @ b.covariance_ @ D, a.covariance_, rtol=1e-6)
    shift = 0.0 if method == "ml" else -np.sum(np.log(factors))
    assert b.log_likelihood_ == pytest.approx(a.log_likelihood_ + shift, rel=1e-10)


def test_slopes_confounded_with_the_intercept_are_left_out():
    """A feature constant within every task (a task-level feature) and two dummies that
    sum to one: their random slopes cannot be estimated; they are dropped, with a warning,
    and the fit equals the fit that never asked for them."""
    g, X, y = _grouped(1)
    rng = np.random.default_rng(1)
    level = rng.normal(size=g.max() + 1)[g]  # constant within each task
    dummy = (rng.random(len(g)) < 0.5).astype(float)
    Xa = np.column_stack([g, X, level, dummy, 1.0 - dummy])
    with pytest.warns(UserWarning, match=r"random slope\(s\) of feature\(s\) \[2, 4\]"):
        full = HierarchicalRegressor("all", task_column=0).fit(Xa, y)
    assert full.random_features_.tolist() == [0, 1, 3]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # the collinear fixed columns
        chosen = HierarchicalRegressor([0, 1, 3], task_column=0).fit(Xa, y)
    assert_allclose(full.covariance_, chosen.covariance_, rtol=1e-8)
    assert full.log_likelihood_ == pytest.approx(chosen.log_likelihood_, rel=1e-12)


def test_newton_polish_reaches_the_gradient_tolerance_on_an_ill_conditioned_quadratic():
    """The polish after a failed line search: Newton steps on a finite-difference Hessian
    take a quadratic with curvatures 1e-2 .. 30 from a gradient of 1e-3 to below tol."""
    Hq = np.diag([1e-2, 4.0, 30.0])
    opt = np.array([0.5, -0.2, 0.1])

    def fun(t):
        d = t - opt
        return 4.5 + 0.5 * d @ Hq @ d, Hq @ d

    start = opt + np.array([0.1, -1e-4, 2e-5])
    bounds = [(0.0, None), (None, None), (0.0, None)]
    theta, steps = _newton_polish(fun, start, bounds, tol=1e-10)
    assert steps >= 1
    assert projected_gradient(theta, fun(theta)[1], bounds) <= 1e-10


@pytest.mark.parametrize("layout", ["blocks", "shared"])
def test_fit_from_dask_equals_in_memory(layout):
    """The per-task statistics are computed on the partitions and merged: the same fit."""
    da = pytest.importorskip("dask.array")
    g, X, y = _grouped(2)
    if layout == "blocks":
        Xf, yf, kw = np.column_stack([g, X]), y, {"task_column": 0}
    else:
        rng = np.random.default_rng(2)
        Xf = rng.normal(size=(60, 2))
        yf = Xf @ [[1.0, 0.5, 0.8], [-1.0, -0.7, -1.2]] + rng.normal(size=(60, 3))
        yf[rng.random(yf.shape) < 0.2] = np.nan
        kw = {}
    memory = HierarchicalRegressor([0], **kw).fit(Xf, yf)
    lazy = HierarchicalRegressor([0], **kw).fit(da.from_array(Xf, chunks=(25, -1)),
                                                da.from_array(yf, chunks=25))
    assert_allclose(lazy.covariance_, memory.covariance_, rtol=1e-9)
    assert_allclose(lazy.coef_, memory.coef_, rtol=1e-9, atol=1e-12)
    assert lazy.log_likelihood_ == pytest.approx(memory.log_likelihood_, rel=1e-12)
    assert_allclose(lazy.predict(Xf), memory.predict(Xf), rtol=1e-9)
