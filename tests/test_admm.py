"""The compiled ADMM (``mtlreg.solvers.admm`` and ``_admm_kernels``).

* the dirty model's row step: ``(b, s) = argmin alpha g(b) + beta ||s||_1 +
  rho/2 ||b + s - v||^2`` computed in closed form, checked by its optimality
  conditions (``y = rho (v - b - s)`` lies in both subdifferentials: a proof of
  optimality for this convex problem) on generic and degenerate rows (ties, zeros,
  one part vanishing), and against cvxpy;
* the per-task inverse ``(H_t + rho I)^{-1}`` against numpy;
* the kernels of one row-penalty kind (``_admm_rows``) against the kernel that
  dispatches on the kind at run time: the same iterates, bit for bit;
* the solver: a warm start at the solution is a fixed point, every penalty mode
  agrees with FISTA, the unsupported dirty variants fail with a clear message.
  (Agreement with cvxpy for every formulation is in ``test_family.py``.)
"""

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.exceptions import ConvergenceWarning

from mtlreg import DirtyRegressor, GroupLassoRegressor, TraceNormRegressor
from mtlreg._kernels.prox import l1_row_dist, l1inf_row_dist, l21_row_dist
from mtlreg.solvers import _admm_kernels as K
from mtlreg.solvers import _admm_rows as R

SPLITS = {"l21": (K.dirty_l21_row, l21_row_dist),
          "l1inf": (K.dirty_l1inf_row,
                    lambda w, g, a, p: l1inf_row_dist(w, g, a, p, np.empty(len(w))))}


def _split(block, v, rho, alpha, beta, *start):
    b, s = np.empty_like(v), np.empty_like(v)
    SPLITS[block][0](v, rho, alpha, beta, b, s, *start)
    return b, s


def _assert_split_optimal(block, v, rho, alpha, beta, b, s):
    y = rho * (v - b - s)  # minus the gradient of the quadratic term
    scale = max(1.0, rho * np.abs(v).max(), alpha, beta)
    assert SPLITS[block][1](b, -y, alpha, False) <= 1e-9 * scale
    assert l1_row_dist(s, -y, beta, False) <= 1e-9 * scale


@pytest.mark.parametrize("block", list(SPLITS))
@settings(max_examples=200, deadline=None)
@given(ints=st.lists(st.integers(-6, 6), min_size=1, max_size=9),
       jitter=st.booleans(), seed=st.integers(0, 2**31 - 1),
       rho=st.floats(0.05, 20.0), alpha=st.floats(0.0, 10.0), beta=st.floats(0.0, 10.0))
def test_dirty_row_split_is_optimal(block, ints, jitter, seed, rho, alpha, beta):
    v = np.array(ints, dtype=float)
    if jitter:
        v = v + 0.3 * np.random.default_rng(seed).standard_normal(v.shape)
    b, s = _split(block, v, rho, alpha, beta)
    _assert_split_optimal(block, v, rho, alpha, beta, b, s)
    if block == "l1inf":  # any starting point of the threshold search
        for start in (0.0, 1e-3, 0.7, 5.0, 1e6):
            b2, s2 = _split(block, v, rho, alpha, beta, start)
            _assert_split_optimal(block, v, rho, alpha, beta, b2, s2)


@pytest.mark.parametrize("block", list(SPLITS))
def test_dirty_row_split_regimes(block):
    v = np.array([3.0, -1.0, 0.5, 0.0, -2.5])
    # a block strength far above the specific one: nothing shared, s = soft-thresholding
    b, s = _split(block, v, 1.0, 100.0, 0.4)
    np.testing.assert_array_equal(b, 0.0)
    np.testing.assert_allclose(s, np.sign(v) * np.maximum(np.abs(v) - 0.4, 0.0))
    # a specific strength far above the block one: everything shared
    b, s = _split(block, v, 1.0, 0.1, 100.0)
    np.testing.assert_array_equal(s, 0.0)
    _assert_split_optimal(block, v, 1.0, 0.1, 100.0, b, s)
    assert np.abs(b).max() > 0


@pytest.mark.parametrize("block", list(SPLITS))
def test_dirty_row_split_matches_cvxpy(block):
    cp = pytest.importorskip("cvxpy")
    rng = np.random.default_rng(0)
    for _ in range(4):
        v = rng.standard_normal(6) * 2
        rho, alpha, beta = rng.uniform(0.5, 3.0), rng.uniform(0.2, 2.0), rng.uniform(0.2, 2.0)
        B, S = cp.Variable(6), cp.Variable(6)
        g = cp.norm(B, 2) if block == "l21" else cp.norm(B, "inf")
        obj = alpha * g + beta * cp.norm(S, 1) + rho / 2 * cp.sum_squares(B + S - v)
        prob = cp.Problem(cp.Minimize(obj))
        prob.solve(solver="CLARABEL")
        b, s = _split(block, v, rho, alpha, beta)
        ours = (alpha * (np.linalg.norm(b) if block == "l21" else np.abs(b).max())
                + beta * np.abs(s).sum() + rho / 2 * np.sum((b + s - v) ** 2))
        assert ours <= prob.value + 1e-7 * max(1.0, abs(prob.value))


def test_shifted_inverse_matches_numpy():
    rng = np.random.default_rng(1)
    A = rng.standard_normal((4, 30, 6)) * np.array([10.0, 1, 1, 0.1, 1, 3])
    H = np.ascontiguousarray(A.transpose(0, 2, 1) @ A)
    H[2] = 0.0  # a task of weight 0
    M = np.empty_like(H)
    for rho in (1e-3, 1.0, 50.0):
        assert K.shifted_inverse(H, np.full(6, rho), M)
        np.testing.assert_allclose(M, np.linalg.inv(H + rho * np.eye(6)), rtol=1e-9,
                                   atol=1e-12 / rho)
    H[2] = np.diag([1.0, 1, 1, 1, 1, 0])  # singular: reported
    assert not K.shifted_inverse(H, np.zeros(6), M)


@pytest.mark.parametrize("kind", [0, 1, 2, 3, 4, 5, (0, 5, 1, 2), (3, 5, 3, 3), (4, 0, 4, 4)])
@pytest.mark.parametrize("positive", [False, True])
def test_admm_rows_of_one_kind_match_the_dispatching_kernel(kind, positive):
    """Per kind, and rows of mixed kinds (l2,1 / unpenalised / l1 / sparse group share a
    kernel; l1,inf or mean rows mixed with others go to the dispatching one)."""
    rng = np.random.default_rng(sum(np.atleast_1d(kind)))
    T, d = 5, 4
    A = rng.standard_normal((T, 12, d)) * np.array([10.0, 1.0, 0.1, 3.0])
    H = np.ascontiguousarray(A.transpose(0, 2, 1) @ A)
    rt = rng.standard_normal((T, d)) * 5.0
    rho = np.array([50.0, 1.0, 0.02, 5.0])
    M = np.empty_like(H)
    assert K.shifted_inverse(H, rho, M)
    kinds = np.broadcast_to(np.asarray(kind, dtype=np.int64), d).copy()
    spec = (kinds, rng.uniform(0.1, 3.0, d), rng.uniform(0.1, 3.0, d), 0.3, positive)
    Z0, U0 = rng.standard_normal((T, d)), rng.standard_normal((T, d))
    runs = []
    for kernel in (lambda *a: R.admm_rows(*a, *spec), R.rows_stepper(*spec, (T, d))):
        Z, U, W = Z0.copy(), U0.copy(), np.empty((T, d))
        res = kernel(M, rt, Z, U, W, rho, 7)
        runs.append((Z, U, W, res))
    (Z1, U1, W1, r1), (Z2, U2, W2, r2) = runs
    np.testing.assert_array_equal(Z1, Z2)
    np.testing.assert_array_equal(U1, U2)
    np.testing.assert_array_equal(W1, W2)
    assert r1 == r2
    assert np.abs(Z1).max() > 0  # not a trivial fixed point


def _school_like(seed=0, T=6, d=4):
    rng = np.random.default_rng(seed)
    n = 40 * T
    task = np.repeat(np.arange(T), 40)
    X = rng.standard_normal((n, d)) * np.array([15.0, 0.1, 1.0, 3.0])[:d]
    W = rng.standard_normal((d, T)) * 0.3
    W[1] = 0.0
    y = np.einsum("ij,ji->i", X, W[:, task]) + rng.standard_normal(n)
    return np.column_stack([task, X]), y


ESTIMATORS = [
    (GroupLassoRegressor, {}),
    (TraceNormRegressor, {}),
    (TraceNormRegressor, {"l2_reg": 0.1}),
    (DirtyRegressor, {"block_norm": "l21"}),
    (DirtyRegressor, {"block_norm": "l1inf"}),
]


@pytest.mark.parametrize("cls, kw", ESTIMATORS)
def test_admm_agrees_with_fista_and_warm_start_is_fixed_point(cls, kw):
    X, y = _school_like()
    est = cls(task_column=0, **kw)
    alpha = est.compute_alpha_max(X, y) / 5
    est.set_params(alpha=alpha)
    if cls is DirtyRegressor:
        est.set_params(beta=est.compute_beta_max(X, y) / 4)
    ref = est.set_params(solver="fista", tol=1e-11, max_iter=200_000).fit(X, y)
    f_ref = ref.objective_
    admm = cls(**est.get_params()).set_params(solver="admm", tol=1e-10, max_iter=20_000)
    admm.fit(X, y)
    assert admm.objective_ == pytest.approx(f_ref, rel=1e-9)
    coef = admm.coef_.copy()
    admm.set_params(warm_start=True).fit(X, y)
    assert admm.n_iter_ == 0
    np.testing.assert_array_equal(admm.coef_, coef)


@pytest.mark.parametrize("kw", [{"positive": True}, {"l2_reg": 0.1}])
def test_admm_rejects_dirty_variants_it_cannot_split(kw):
    X, y = _school_like()
    est = DirtyRegressor(task_column=0, alpha=0.1, beta=0.05, solver="admm", **kw)
    with pytest.raises(ValueError, match="solver='bcd' or solver='fista'"):
        est.fit(X, y)
    # and "auto" picks a solver that handles them
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        est.set_params(solver="auto", tol=1e-8, max_iter=100_000).fit(X, y)


@pytest.mark.parametrize("shape", [(9, 4), (4, 9), (6, 6)])
@pytest.mark.parametrize("thr", [0.0, 1e-9, 0.3, 2.0, 100.0])
def test_singular_value_threshold_matches_svd(shape, thr):
    rng = np.random.default_rng(2)
    Y = rng.standard_normal(shape) @ np.diag(np.logspace(0, -3, shape[1]))
    Y = np.ascontiguousarray(Y * 3)
    U, s, Vt = np.linalg.svd(Y, full_matrices=False)
    expected = (U * np.maximum(s - thr, 0.0)) @ Vt
    Z = np.empty_like(Y)
    K.singular_value_threshold(Y, thr, Z)
    np.testing.assert_allclose(Z, expected, rtol=0, atol=1e-12 * s[0])


@pytest.mark.parametrize("case", ["equal", "task_weights", "missing_labels"])
def test_admm_on_shared_design_one_factorisation_when_tasks_share_the_system(case,
                                                                             monkeypatch):
    """Shared design: without missing labels and with equal task weights every task
    has the same system, factorised once; otherwise once per task. Same optimum as
    FISTA either way."""
    from mtlreg.datasets import make_multitask_regression

    X, Y = make_multitask_regression(80, 5, 4, random_state=0, noise=0.5)
    X = X * np.array([10.0, 1.0, 0.1, 1.0, 3.0])
    kw = {}
    if case == "task_weights":
        kw["task_weights"] = [1.0, 2.0, 0.5, 1.0]
    if case == "missing_labels":
        Y[::7, 1] = np.nan
    sizes = []
    real = K.shifted_inverse

    def spy(Ht, shift, M):
        sizes.append(Ht.shape[0])
        return real(Ht, shift, M)

    monkeypatch.setattr(K, "shifted_inverse", spy)
    est = GroupLassoRegressor(**kw)
    est.set_params(alpha=est.compute_alpha_max(X, Y) / 5)
    ref = GroupLassoRegressor(**est.get_params()).set_params(
        solver="fista", tol=1e-11, max_iter=200_000).fit(X, Y)
    admm = est.set_params(solver="admm", tol=1e-10, max_iter=20_000).fit(X, Y)
    assert admm.objective_ == pytest.approx(ref.objective_, rel=1e-9)
    assert sizes and set(sizes) == ({1} if case == "equal" else {4})
