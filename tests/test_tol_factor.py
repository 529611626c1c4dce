"""The ``MTLREG_TEST_TOL_FACTOR`` switch of ``conftest.py`` (issue 26 item 6)."""

import numpy as np
import pytest
from conftest import TOL_FACTOR, _scaled_tol_fit, make_data

from mtlreg import GroupLassoRegressor, GroupLassoRegressorCV


def _spy():
    seen = []

    def fit_or_restore(estimator, fit, *args):
        seen.append(estimator.tol)
        return fit(*args)

    return seen, fit_or_restore


def test_scaled_fit_sees_factor_times_tol_and_restores_it():
    seen, spy = _spy()
    est = GroupLassoRegressor(tol=1e-6)
    _scaled_tol_fit(spy, 10.0)(est, lambda: None)
    assert seen == [1e-6 * 10.0]
    assert est.tol == 1e-6


def test_tol_restored_when_the_fit_raises():
    est = GroupLassoRegressor(tol=1e-6)

    def fit():
        raise ValueError("bad input")

    with pytest.raises(ValueError, match="bad input"):
        _scaled_tol_fit(lambda e, f, *a: f(*a), 10.0)(est, fit)
    assert est.tol == 1e-6
    seen, spy = _spy()
    _scaled_tol_fit(spy, 10.0)(est, lambda: None)  # the depth guard was released
    assert seen == [1e-6 * 10.0]


@pytest.mark.parametrize("tol", ["a", -1.0, np.inf, True])
def test_invalid_tol_left_alone(tol):
    """A tol the parameter validation refuses reaches the fit unchanged."""
    seen, spy = _spy()
    _scaled_tol_fit(spy, 10.0)(GroupLassoRegressor(tol=tol), lambda: None)
    assert seen == [tol]


def test_nested_fit_not_scaled_twice():
    seen, spy = _spy()
    scaled = _scaled_tol_fit(spy, 10.0)
    outer, inner = GroupLassoRegressorCV(tol=1e-6), GroupLassoRegressor(tol=1e-6)
    scaled(outer, lambda: scaled(inner, lambda: None))
    assert seen == [1e-6 * 10.0, 1e-6]


def test_fit_runs_at_factor_times_tol():
    """A real fit under the switch equals the unswitched ``_fit`` at ``TOL_FACTOR * tol``
    (1 unless ``MTLREG_TEST_TOL_FACTOR`` is set); its ``tol`` reads as set."""
    d = make_data(n=60, d=10)
    kw = dict(alpha=0.001, solver="fista", max_iter=100_000)
    est = GroupLassoRegressor(tol=1e-8, **kw).fit(d.X, d.y)
    assert est.tol == 1e-8
    ref = GroupLassoRegressor(tol=1e-8 * TOL_FACTOR, **kw)
    ref._fit(d.X, d.y, None)  # not through fit_or_restore: not scaled
    assert est.n_iter_ == ref.n_iter_
    np.testing.assert_array_equal(est.coef_, ref.coef_)
    if TOL_FACTOR > 1:
        tight = GroupLassoRegressor(tol=1e-8, **kw)
        tight._fit(d.X, d.y, None)
        assert est.n_iter_ < tight.n_iter_
