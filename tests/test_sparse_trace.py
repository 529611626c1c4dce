"""Sparse plus low-rank ``W`` (l1 + trace norm on one matrix, MALSAR-style SparseTrace).

* both losses x both layouts against cvxpy (objective within 1e-6 relative), the
  solver's optimality measure below tol and an independent one (cvxpy);
* the prox: Moreau identity (cvxpy projection onto the dual ball), three-point
  inequality, prox optimality, cvxpy's prox;
* ``alpha_max``; both solvers; scikit-learn's estimator checks;
* ADMM's consensus split (mode ``sparse_trace``, also Newton's inner solver) and its
  hand-over to the exact prox: cvxpy, the optimality measure, warm start fixed point.
"""

import warnings

import numpy as np
import pytest
from _cvx_family import _solve, cp, cvx_data_term, data_gradient, data_term, nuclear
from conftest import assert_prox_properties, fit_tol
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils.estimator_checks import parametrize_with_checks
from test_family import config_data, fit_tight, null_gradient_scale

import mtlreg
from mtlreg.penalties import SparseTraceNorm

TIGHT = dict(tol=1e-10, max_iter=20000)


def penalty_ref(W, alpha, l1_ratio):
    return alpha * (l1_ratio * float(np.abs(W).sum()) + (1 - l1_ratio) * nuclear(W))


def cvx_penalty(U, alpha, l1_ratio):
    return alpha * (l1_ratio * cp.sum(cp.abs(U)) + (1 - l1_ratio) * cp.normNuc(U))


def distance_cvx(W, G, alpha, l1_ratio, rank_tol=1e-9):
    """Frobenius distance of ``-G`` to the subdifferential of the penalty at ``W``,
    written from the definitions and solved by cvxpy (independent of the package):
    ``a1 u + a* (U1 V1^T + U2 M V2^T)``, ``u`` fixed to the signs on the non-zero
    entries and in ``[-1, 1]`` elsewhere, ``||M||_2 <= 1``."""
    a1, a_star = alpha * l1_ratio, alpha * (1 - l1_ratio)
    U, s, Vt = np.linalg.svd(W, full_matrices=True)
    r = int(np.sum(s > rank_tol * max(s.max(initial=0.0), 1e-300)))
    U1, V1, U2, V2 = U[:, :r], Vt[:r].T, U[:, r:], Vt[r:].T
    u = cp.Variable(W.shape)
    M = cp.Variable((U2.shape[1], V2.shape[1]))
    cons = [cp.abs(u) <= 1, cp.sigma_max(M) <= 1] if M.size else [cp.abs(u) <= 1]
    nz = W != 0
    if nz.any():
        cons.append(cp.multiply(nz.astype(float), u) == np.sign(W))
    sub = a1 * u + a_star * (U1 @ V1.T)
    if M.size:
        sub = sub + a_star * (U2 @ M @ V2.T)
    prob = cp.Problem(cp.Minimize(cp.norm(-G - sub, "fro")), cons)
    _solve(prob)
    return float(prob.value)


def _cls(loss):
    return mtlreg.SparseTraceNormRegressor if loss == "squared" else \
        mtlreg.SparseTraceNormClassifier


# (l1_ratio, alpha / alpha_max) where W has zero entries and a reduced rank
REGIMES = {
    ("squared", "shared"): (0.2, 0.5),
    ("squared", "shared_nan_noint"): (0.2, 0.5),
    ("squared", "per_task_sw"): (0.2, 0.5),
    ("logistic", "shared"): (0.1, 0.85),
    ("logistic", "shared_nan_noint"): (0.1, 0.5),
    ("logistic", "per_task_sw"): (0.1, 0.9),
}


@pytest.mark.parametrize("config", ["shared", "shared_nan_noint", "per_task_sw"])
@pytest.mark.parametrize("loss", ["squared", "logistic"])
def test_matches_cvxpy(loss, config):
    X, y, sw, est_kw, blocks, fit_intercept = config_data(config, loss)
    cls = _cls(loss)
    l1_ratio, frac = REGIMES[loss, config]
    amax = cls(l1_ratio=l1_ratio, **est_kw).compute_alpha_max(X, y, sample_weight=sw)
    p = dict(alpha=frac * amax, l1_ratio=l1_ratio)
    est = fit_tight(cls(**p, **est_kw, **TIGHT), X, y, sw)
    W, b = est.coef_.T, est.intercept_
    d, T = W.shape
    Wv = cp.Variable((d, T))
    bv = cp.Variable(T) if fit_intercept else np.zeros(T)
    _solve(cp.Problem(cp.Minimize(cvx_data_term(blocks, Wv, bv, loss) + cvx_penalty(Wv, **p))))
    Wr = np.asarray(Wv.value)
    br = np.asarray(bv.value) if fit_intercept else np.zeros(T)
    ref = data_term(blocks, Wr, br, loss) + penalty_ref(Wr, **p)
    ours = data_term(blocks, W, b, loss) + penalty_ref(W, **p)
    assert est.objective_ == pytest.approx(ours, rel=1e-9)
    assert abs(ours - ref) <= 1e-6 * abs(ref)
    np.testing.assert_allclose(W, Wr, atol=1e-4 * max(1.0, np.abs(Wr).max()))
    # an interesting regime: zero entries, reduced rank, and active coefficients
    assert np.any(W == 0) and est.rank_ < min(d, T) and np.abs(W).max() > 1e-3
    scale = null_gradient_scale(blocks, loss, fit_intercept)
    assert est.stop_crit_ <= fit_tol(1e-10) * scale * (1 + 1e-6)
    # the optimality measure against an independent one, at the solution and away
    P = SparseTraceNorm(**p)
    G, gb = data_gradient(blocks, W, b, loss)
    assert distance_cvx(W, G, **p) <= 1e-7 * scale
    if fit_intercept:
        assert np.abs(gb).max() <= 1e-8 * scale
    Wt = W + 0.05 * np.random.default_rng(2).standard_normal(W.shape)
    Wt[np.abs(Wt) < 0.02] = 0.0
    Gt = data_gradient(blocks, Wt, b, loss)[0]
    assert P.subdiff_distance(Wt, Gt) == pytest.approx(distance_cvx(Wt, Gt, **p), rel=1e-4)
    assert P.subdiff_distance(Wt, Gt) > 1e-3 * scale


@pytest.mark.parametrize("solver", ["fista", "admm"])
def test_every_solver_reaches_the_cvxpy_optimum(solver):
    X, y, sw, est_kw, blocks, fit_intercept = config_data("per_task_sw", "squared", seed=3)
    cls = mtlreg.SparseTraceNormRegressor
    p = dict(alpha=0.2 * cls(l1_ratio=0.6, **est_kw).compute_alpha_max(X, y, sample_weight=sw),
             l1_ratio=0.6)
    est = fit_tight(cls(**p, solver=solver, **est_kw, **TIGHT), X, y, sw)
    W, b = est.coef_.T, est.intercept_
    d, T = W.shape
    Wv, bv = cp.Variable((d, T)), cp.Variable(T)
    _solve(cp.Problem(cp.Minimize(cvx_data_term(blocks, Wv, bv, "squared")
                                  + cvx_penalty(Wv, **p))))
    ref = data_term(blocks, Wv.value, bv.value, "squared") + penalty_ref(Wv.value, **p)
    ours = data_term(blocks, W, b, "squared") + penalty_ref(W, **p)
    assert abs(ours - ref) <= 1e-6 * abs(ref)


@pytest.mark.parametrize("l1_ratio", [0.0, 0.3, 0.7, 1.0])
def test_prox_moreau_three_point_and_cvxpy(l1_ratio):
    """The penalty is the support function of ``C = a1 B_inf + a* B_2`` (entries in
    ``[-a1, a1]`` plus spectral norm at most ``a*``), so ``z - prox(z)`` is the
    projection of ``z`` onto ``step C`` (Moreau): checked with cvxpy; also the
    three-point inequality, the prox optimality condition and cvxpy's prox."""
    rng = np.random.default_rng(1)
    alpha = 0.9
    P = SparseTraceNorm(alpha, l1_ratio)
    a1, a_star = alpha * l1_ratio, alpha * (1 - l1_ratio)
    for trial in range(12):
        d, T = int(rng.integers(2, 7)), int(rng.integers(1, 6))
        z = rng.standard_normal((d, T)) * rng.choice([0.3, 1.0, 2.0])
        z += np.outer(rng.standard_normal(d), rng.standard_normal(T))  # a dominant direction
        step = float(rng.choice([0.1, 1.0, 2.5]))
        x = assert_prox_properties(
            P, z, step, rng, atol=1e-5,
            cvx_penalty=(lambda U: cvx_penalty(U, alpha, l1_ratio)) if trial < 6 else None)
        if trial < 6:
            Z1, Z2 = cp.Variable((d, T)), cp.Variable((d, T))
            _solve(cp.Problem(cp.Minimize(cp.sum_squares(z - step * (a1 * Z1 + a_star * Z2))),
                              [cp.abs(Z1) <= 1, cp.sigma_max(Z2) <= 1]))
            q = step * (a1 * Z1.value + a_star * Z2.value)
            np.testing.assert_allclose(z - x, q, atol=1e-5 * (1 + np.abs(z).max()))


@pytest.mark.parametrize("l1_ratio", [0.2, 0.5, 0.8])
def test_measure_at_zero_is_the_distance_to_the_subdifferential(l1_ratio):
    """At ``W = 0`` the measure is ``dist(-G, a1 B_inf + a* B_2)``, stopped when its
    upper and lower bounds agree to ``NORM_RTOL``: never below cvxpy's distance, and
    within that accuracy above it; 0 exactly where 0 is optimal."""
    from mtlreg.penalties._sparse_trace import NORM_RTOL

    rng = np.random.default_rng(4)
    alpha = 1.3
    a1, a_star = alpha * l1_ratio, alpha * (1 - l1_ratio)
    for _ in range(4):
        d, T = int(rng.integers(3, 9)), int(rng.integers(2, 7))
        G = 2.0 * rng.standard_normal((d, T)) + np.outer(rng.standard_normal(d),
                                                         rng.standard_normal(T))
        ours = SparseTraceNorm(alpha, l1_ratio).subdiff_distance(np.zeros((d, T)), G)
        Z1, Z2 = cp.Variable((d, T)), cp.Variable((d, T))
        prob = cp.Problem(cp.Minimize(cp.norm(-G - a1 * Z1 - a_star * Z2, "fro")),
                          [cp.abs(Z1) <= 1, cp.sigma_max(Z2) <= 1])
        _solve(prob)
        ref = float(prob.value)
        assert ref > 0.1
        assert ref * (1 - 1e-6) <= ours <= ref * (1 + 2 * NORM_RTOL)
        small = 0.2 * G / max(np.abs(G).max() / a1, np.linalg.norm(G, 2) / a_star)
        assert SparseTraceNorm(alpha, l1_ratio).subdiff_distance(np.zeros((d, T)), small) == 0


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_measure_at_a_sparse_low_rank_point_against_cvxpy(seed):
    """Away from 0 the measure is the distance from ``-G`` to ``a1 d||W||_1 +
    a* d||W||_*``, its free parts (the box on the zero entries, the spectral ball on
    the complements of W's singular subspaces) found by FISTA stopped when its upper
    bound and the support-function lower bound agree to ``NORM_RTOL``: never below
    cvxpy's distance, and within that accuracy above it."""
    from mtlreg.penalties._sparse_trace import NORM_RTOL

    rng = np.random.default_rng(seed)
    d, T, alpha, l1_ratio = 7, 5, 1.1, 0.4
    a1, a_star = alpha * l1_ratio, alpha * (1 - l1_ratio)
    u = rng.standard_normal(d) * (rng.random(d) < 0.6)
    W = np.outer(u, rng.standard_normal(T)) + np.outer(
        rng.standard_normal(d) * (u != 0), rng.standard_normal(T))  # rank 2, zero rows
    G = rng.standard_normal((d, T))
    ours = SparseTraceNorm(alpha, l1_ratio).subdiff_distance(W, G)
    U, sv, Vt = np.linalg.svd(W, full_matrices=True)
    r = int(np.sum(sv > 1e-10 * sv.max()))
    Z1, Mv = cp.Variable((d, T)), cp.Variable((d - r, T - r))
    fixed = W != 0
    sub = a1 * Z1 + a_star * (U[:, :r] @ Vt[:r] + U[:, r:] @ Mv @ Vt[r:])
    prob = cp.Problem(cp.Minimize(cp.norm(-G - sub, "fro")),
                      [cp.abs(Z1) <= 1, cp.multiply(fixed, Z1) == np.sign(W) * fixed,
                       cp.sigma_max(Mv) <= 1])
    _solve(prob)
    ref = float(prob.value)
    assert ref > 0.1
    assert ref * (1 - 1e-6) <= ours <= ref * (1 + 2 * NORM_RTOL)


def test_svd_falls_back_to_gesvd_and_names_non_finite_input(monkeypatch):
    """LAPACK's gesdd can fail to converge on a finite matrix where gesvd does not
    (an 'SVD did not converge' seen once in a School grid search): the penalties'
    SVD retries with gesvd; a matrix with NaN gets an error naming the cause."""
    from mtlreg.penalties import _spectral

    rng = np.random.default_rng(5)
    A = rng.standard_normal((6, 4))
    U0, s0, Vt0 = np.linalg.svd(A, full_matrices=False)
    calls = []

    def failing(*args, **kwargs):
        calls.append(1)
        raise np.linalg.LinAlgError("SVD did not converge")

    monkeypatch.setattr(_spectral.np.linalg, "svd", failing)
    U, s, Vt = _spectral.svd(A, full_matrices=False)
    np.testing.assert_allclose(s, s0, rtol=1e-13)
    np.testing.assert_allclose((U * s) @ Vt, A, atol=1e-13)
    np.testing.assert_allclose(_spectral.svd(A, compute_uv=False), s0, rtol=1e-13)
    P = SparseTraceNorm(0.5, 0.3)
    np.testing.assert_allclose(P.value(A), 0.5 * (0.3 * np.abs(A).sum() + 0.7 * s0.sum()))
    assert len(calls) == 3
    A[1, 2] = np.nan
    with pytest.raises(FloatingPointError, match="non-finite"):
        P.value(A)


def test_prox_stops_at_the_rounding_floor():
    """A tolerance no duality gap can meet (negative: rounding can make the gap 0 or
    slightly negative): the prox's iterations stop when the gap stalls near the
    rounding floor (not converged: the caller decides), long before
    ``prox_max_iter``, at the prox of the default tolerance to 1e-10. Before, they
    ran to ``prox_max_iter`` (School's slow fits: 20 000 steps, 10 s, at a relative
    gap of 1.05e-13 against the tolerance 1e-13)."""
    rng = np.random.default_rng(0)
    V = rng.standard_normal((30, 12)) + np.outer(rng.standard_normal(30),
                                                 rng.standard_normal(12))
    a, c = 0.3, 1.5
    reference, ok = SparseTraceNorm(1.0)._prox(V, a, c)
    assert ok
    strict = SparseTraceNorm(1.0, prox_tol=-1.0)
    U, ok = strict._prox(V, a, c)
    assert not ok
    assert strict._last_inner_iter < 2000
    assert np.linalg.norm(U - reference) <= 1e-10 * np.linalg.norm(reference)
    with pytest.warns(ConvergenceWarning, match="rounding"):  # the public prox says so
        SparseTraceNorm(1.0, prox_tol=-1.0).prox(V, 1.0)


def test_prox_is_sparse_and_low_rank_in_its_regime():
    rng = np.random.default_rng(3)
    z = 3 * np.outer(rng.standard_normal(8), rng.standard_normal(5)) \
        + 0.3 * rng.standard_normal((8, 5))
    P = SparseTraceNorm(1.0, 0.5)
    x = P.prox(z, 2.0)
    assert np.sum(x == 0) >= 10 and P.rank(x) < 5
    assert P.subdiff_distance(x, (x - z) / 2.0) <= 1e-11 * np.abs(z).max()


@pytest.mark.parametrize("l1_ratio", [0.0, 0.3, 1.0])
@pytest.mark.parametrize("layout", ["shared", "per_task"])
def test_alpha_max_zeroes_W(l1_ratio, layout):
    X, y, sw, est_kw, blocks, fit_intercept = config_data(
        "shared" if layout == "shared" else "per_task_sw", "squared")
    cls = mtlreg.SparseTraceNormRegressor
    amax = cls(l1_ratio=l1_ratio, **est_kw).compute_alpha_max(X, y, sample_weight=sw)
    at = fit_tight(cls(alpha=amax, l1_ratio=l1_ratio, tol=1e-8, **est_kw), X, y, sw)
    assert not at.coef_.any()
    below = fit_tight(cls(alpha=0.9 * amax, l1_ratio=l1_ratio, tol=1e-8, **est_kw),
                      X, y, sw)
    assert below.coef_.any()
    # between the bounds max|G0| and min(||G0||_2, max|G0| / l1_ratio)
    G0 = data_gradient(blocks, np.zeros_like(at.coef_.T), at.intercept_, "squared")[0]
    lo, spec = np.abs(G0).max(), np.linalg.norm(G0, 2)
    assert lo * (1 - 1e-9) <= amax <= spec * (1 + 1e-9)


def test_special_cases_are_the_lasso_and_the_trace_norm():
    X, y, sw, est_kw, blocks, _ = config_data("shared", "squared")
    lasso = mtlreg.IndependentRegressor(alpha=0.05, penalty="l1", **est_kw, **TIGHT)
    trace = mtlreg.TraceNormRegressor(alpha=0.05, **est_kw, **TIGHT)
    for ratio, other in ((1.0, lasso), (0.0, trace)):
        est = fit_tight(mtlreg.SparseTraceNormRegressor(alpha=0.05, l1_ratio=ratio, **est_kw,
                                                        **TIGHT), X, y)
        np.testing.assert_allclose(est.coef_, fit_tight(other, X, y).coef_, atol=1e-7)


# ---------------------------------------------------------- estimator checks
@parametrize_with_checks([
    mtlreg.SparseTraceNormRegressor(tol=1e-10, max_iter=5000),
    # tol 1e-11: the sample-weight checks fit three classes (multiclass tag); fraction
    # of their rtol used 0.21 / 0.20 at 1e-10 (dense / sparse), 0.039 / 0.009 at 1e-11
    mtlreg.SparseTraceNormClassifier(tol=1e-11, max_iter=5000),
])
def test_sklearn_compatible(estimator, check):
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        check(estimator)


@pytest.mark.parametrize("name", ["SparseTraceNorm", "FusedGroupLasso"])
def test_ridge_variant_on_every_solver(name):
    """With ``l2_reg > 0`` the penalty is wrapped in ``WithRidge``; ADMM must treat it
    by its prox (it is not row-separable) and agree with FISTA."""
    X, y, sw, est_kw, blocks, _ = config_data("per_task_sw", "squared")
    cls = getattr(mtlreg, name + "Regressor")
    objectives = [fit_tight(cls(alpha=0.1, l2_reg=0.1, solver=s, **est_kw, **TIGHT),
                            X, y, sw).objective_ for s in ("auto", "fista", "admm")]
    assert max(objectives) - min(objectives) <= 1e-9 * abs(objectives[0])


# ------------------------------------------- ADMM: the consensus split (mode sparse_trace)
admm_mod = __import__("importlib").import_module("mtlreg.solvers.admm")


@pytest.mark.parametrize("config, loss, l2_reg, switch_after", [
    ("shared", "squared", 0.0, admm_mod.SWITCH_AFTER),
    ("per_task_sw", "squared", 0.3, admm_mod.SWITCH_AFTER),
    ("shared_nan_noint", "squared", 0.0, admm_mod.SWITCH_AFTER),
    ("per_task_sw", "logistic", 0.0, admm_mod.SWITCH_AFTER),
    ("shared_nan_noint", "logistic", 0.0, admm_mod.SWITCH_AFTER),
    ("per_task_sw", "squared", 0.3, 0),
    ("shared_nan_noint", "logistic", 0.0, 0),
])
def test_admm_consensus_matches_cvxpy(config, loss, l2_reg, switch_after, monkeypatch):
    """``solver="admm"`` (the squared loss) and Newton with ADMM inside (the logistic
    loss) run the consensus split ``W = Z1 = Z2``; also when it hands over to the exact
    prox of the sum at once (``SWITCH_AFTER = 0``). Objective within 1e-6 of cvxpy, the
    optimality measure below tol, and a warm start at the solution is a fixed point."""
    monkeypatch.setattr(admm_mod, "SWITCH_AFTER", switch_after)
    X, y, sw, est_kw, blocks, fit_intercept = config_data(config, loss, seed=5)
    cls = _cls(loss)
    l1_ratio, frac = REGIMES[loss, config]
    amax = cls(l1_ratio=l1_ratio, **est_kw).compute_alpha_max(X, y, sample_weight=sw)
    p = dict(alpha=frac * amax, l1_ratio=l1_ratio)
    solver = "admm" if loss == "squared" else "newton"
    est = fit_tight(cls(**p, l2_reg=l2_reg, solver=solver, **est_kw, tol=1e-9,
                        max_iter=20000), X, y, sw)
    assert admm_mod._mode(est._make_penalty()) == "consensus"
    W, b = est.coef_.T, est.intercept_
    d, T = W.shape
    Wv = cp.Variable((d, T))
    bv = cp.Variable(T) if fit_intercept else np.zeros(T)
    ridge = 0.5 * l2_reg * cp.sum_squares(Wv)
    _solve(cp.Problem(cp.Minimize(cvx_data_term(blocks, Wv, bv, loss) + cvx_penalty(Wv, **p)
                                  + ridge)))
    Wr = np.asarray(Wv.value)
    br = np.asarray(bv.value) if fit_intercept else np.zeros(T)

    def objective(W_, b_):
        return (data_term(blocks, W_, b_, loss) + penalty_ref(W_, **p)
                + 0.5 * l2_reg * float((W_**2).sum()))

    ref, ours = objective(Wr, br), objective(W, b)
    assert abs(ours - ref) <= 1e-6 * abs(ref)
    assert est.objective_ == pytest.approx(ours, rel=1e-9)
    assert est.stop_crit_ <= fit_tol(1e-9) * null_gradient_scale(blocks, loss, fit_intercept) * 1.01
    assert np.any(W == 0) and est.rank_ < min(d, T)
    # warm start at the solution: a fixed point (checked before any iteration)
    est.set_params(warm_start=True)
    fit_tight(est, X, y, sw)
    assert est.n_iter_ <= (1 if loss == "logistic" else 0)


def test_admm_consensus_estimate_gates_the_exact_measure():
    """The consensus split stops only on the exact measure at the measured point, which
    is exactly sparse and low-rank and agrees with the independent (cvxpy) distance."""
    X, y, sw, est_kw, blocks, fit_intercept = config_data("per_task_sw", "squared")
    cls = mtlreg.SparseTraceNormRegressor
    l1_ratio, frac = REGIMES["squared", "per_task_sw"]
    amax = cls(l1_ratio=l1_ratio, **est_kw).compute_alpha_max(X, y, sample_weight=sw)
    p = dict(alpha=frac * amax, l1_ratio=l1_ratio)
    est = fit_tight(cls(**p, solver="admm", tol=1e-6, **est_kw), X, y, sw)
    W, b = est.coef_.T, est.intercept_
    G = data_gradient(blocks, W, b, "squared")[0]
    scale = null_gradient_scale(blocks, "squared", fit_intercept)
    assert distance_cvx(W, G, **p) <= fit_tol(1e-6) * scale * 1.01
    assert est.n_iter_ > 0 and np.any(W == 0) and est.rank_ < min(W.shape)
