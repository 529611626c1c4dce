"""Every parameter conversion stated in docs/conversions.rst, checked numerically.

For each peer library the peer's objective is written here in cvxpy, in the peer's
own notation (per-task lists ``X_t, y_t`` for MALSAR, RMTL and mutar; one design
for scikit-learn, celer and skglm), from the sources cited in the docs page. It is
solved by cvxpy, and mtlreg is fitted with the *converted* parameters; the test
checks that mtlreg's solution is optimal for the peer's objective (same objective
value and same coefficients as cvxpy's). Each case also checks a naive conversion
(the one the page warns against) and requires it to be measurably suboptimal, so
that the test would fail if a conversion factor were dropped.

None of MALSAR (MATLAB), RMTL (R), celer, skglm or mutar is needed: only their
stated objectives. scikit-learn's estimators are also compared directly.
"""

import numpy as np
import pytest

cp = pytest.importorskip("cvxpy")

from sklearn.linear_model import MultiTaskElasticNet, MultiTaskLasso  # noqa: E402

from mtlreg import (  # noqa: E402
    DirtyRegressor,
    GroupLassoClassifier,
    GroupLassoRegressor,
    IndependentClassifier,
    IndependentRegressor,
    TraceNormClassifier,
    TraceNormRegressor,
)

SIZES = (14, 22, 30)  # unequal task sizes: summed and mean losses differ
D = 5
EXACT = dict(tol=1e-10, max_iter=200_000)


# ------------------------------------------------------------------ data
def per_task_data(seed=0, classification=False):
    """Lists ``X_t (n_t, d)``, ``y_t (n_t,)`` and the same data as one table with the
    task in column 0 (mtlreg's per-task layout)."""
    rng = np.random.default_rng(seed)
    W = rng.standard_normal((D, len(SIZES)))
    W[3:] = 0.0
    Xs, ys = [], []
    for t, n_t in enumerate(SIZES):
        X = rng.standard_normal((n_t, D)) + 0.3 * t
        z = X @ W[:, t] + 0.5 * t
        if classification:
            y = np.where(rng.uniform(size=n_t) < 1 / (1 + np.exp(-2 * z)), 1.0, -1.0)
            y[:2] = [1.0, -1.0]  # both classes in every task
        else:
            y = z + 0.5 * rng.standard_normal(n_t)
        Xs.append(X)
        ys.append(y)
    table = np.vstack([np.column_stack([np.full(len(y), t, float), X])
                       for t, (X, y) in enumerate(zip(Xs, ys))])
    return Xs, ys, table, np.concatenate(ys)


def shared_data(seed=1, n=40, T=3):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, D))
    W = rng.standard_normal((D, T))
    W[3:] = 0.0
    return X, X @ W + 1.0 + 0.5 * rng.standard_normal((n, T))


# ------------------------------------------------------------ cvxpy pieces
def l21(W):
    return cp.sum(cp.norm(W, 2, axis=1))


def l1inf(W):
    return cp.sum(cp.max(cp.abs(W), axis=1))


def l1(W):
    return cp.sum(cp.abs(W))


def np_l21(W):
    return float(np.sqrt((W**2).sum(axis=1)).sum())


def np_l1inf(W):
    return float(np.abs(W).max(axis=1).sum())


def np_l1(W):
    return float(np.abs(W).sum())


def np_trace(W):
    return float(np.linalg.svd(W, compute_uv=False).sum())


def solve(objective, variables):
    prob = cp.Problem(cp.Minimize(objective))
    try:
        prob.solve(solver=cp.CLARABEL, tol_gap_abs=1e-10, tol_gap_rel=1e-10,
                   tol_feas=1e-10)
    except (cp.SolverError, TypeError):  # pragma: no cover - older Clarabel options
        prob.solve(solver=cp.CLARABEL)
    assert prob.status in ("optimal", "optimal_inaccurate"), prob.status
    return [np.asarray(v.value) for v in variables]


def assert_optimal(peer_value, ours, reference, naive=None, atol_coef=1e-4):
    """``ours`` and ``reference`` are argument tuples of ``peer_value``; ``naive`` too."""
    f_ref, f_ours = peer_value(*reference), peer_value(*ours)
    scale = max(1.0, abs(f_ref))
    assert f_ours <= f_ref + 1e-6 * scale, (f_ours, f_ref)
    assert f_ours >= f_ref - 1e-6 * scale, (f_ours, f_ref)  # cvxpy really solved it
    if atol_coef is not None:
        np.testing.assert_allclose(ours[0], reference[0], atol=atol_coef, rtol=1e-3)
    if naive is not None:
        f_naive = peer_value(*naive)
        assert f_naive > f_ref + 1e-3 * scale, (
            "the naive conversion is as good: the test cannot tell them apart",
            f_naive, f_ref)


def W_of(est):
    return est.coef_.T.copy()


# ------------------------------------------------------------------ MALSAR
# Least_L21 / Least_Lasso / Least_Trace:
#   sum_t 0.5 ||X_t w_t - y_t||^2 + rho_L2 ||W||_F^2 + rho1 * Omega(W), no intercept
MALSAR_LEAST = [
    ("Least_L21", GroupLassoRegressor, {}, np_l21, l21),
    ("Least_Lasso", IndependentRegressor, {"penalty": "l1"}, np_l1, l1),
    ("Least_Trace", TraceNormRegressor, {}, np_trace, cp.normNuc),
]


@pytest.mark.parametrize("name, Est, extra, np_pen, cp_pen", MALSAR_LEAST,
                         ids=[c[0] for c in MALSAR_LEAST])
def test_malsar_least_squares(name, Est, extra, np_pen, cp_pen):
    Xs, ys, table, y = per_task_data()
    rho1, rho_L2 = 3.0, 0.5
    n_t = np.array([len(v) for v in ys], float)

    def value(W):
        return (sum(0.5 * np.sum((X @ W[:, t] - v) ** 2) for t, (X, v) in
                    enumerate(zip(Xs, ys))) + rho_L2 * np.sum(W**2) + rho1 * np_pen(W))

    Wv = cp.Variable((D, len(Xs)))
    obj = (sum(0.5 * cp.sum_squares(X @ Wv[:, t] - v) for t, (X, v) in
               enumerate(zip(Xs, ys))) + rho_L2 * cp.sum_squares(Wv) + rho1 * cp_pen(Wv))
    (W_ref,) = solve(obj, [Wv])

    # the conversion: task_weights = n_t (summed loss), l2_reg = 2 rho_L2, no intercept
    ours = Est(alpha=rho1, l2_reg=2 * rho_L2, task_weights=n_t, fit_intercept=False,
               task_column=0, **extra, **EXACT).fit(table, y)
    naive = Est(alpha=rho1, l2_reg=rho_L2, fit_intercept=False, task_column=0,
                **extra, **EXACT).fit(table, y)
    assert_optimal(value, (W_of(ours),), (W_ref,), (W_of(naive),))


def test_malsar_least_dirty():
    # Least_Dirty: ||X(P + Q) - y||^2 (no 1/2, summed) + rho1 ||P||_{1,inf} + rho2 ||Q||_1
    Xs, ys, table, y = per_task_data(seed=2)
    rho1, rho2 = 4.0, 2.5
    n_t = np.array([len(v) for v in ys], float)

    def value(P, Q):
        return (sum(np.sum((X @ (P[:, t] + Q[:, t]) - v) ** 2) for t, (X, v) in
                    enumerate(zip(Xs, ys))) + rho1 * np_l1inf(P) + rho2 * np_l1(Q))

    Pv, Qv = cp.Variable((D, len(Xs))), cp.Variable((D, len(Xs)))
    obj = (sum(cp.sum_squares(X @ (Pv[:, t] + Qv[:, t]) - v) for t, (X, v) in
               enumerate(zip(Xs, ys))) + rho1 * l1inf(Pv) + rho2 * l1(Qv))
    P_ref, Q_ref = solve(obj, [Pv, Qv])

    ours = DirtyRegressor(alpha=rho1, beta=rho2, block_norm="l1inf", task_weights=2 * n_t,
                          fit_intercept=False, task_column=0, **EXACT).fit(table, y)
    naive = DirtyRegressor(alpha=rho1, beta=rho2, block_norm="l1inf", task_weights=n_t,
                           fit_intercept=False, task_column=0, **EXACT).fit(table, y)
    # B and S are compared through W = B + S and the objective (the split of an
    # l1inf + l1 infimal convolution need not be unique)
    assert_optimal(lambda P, Q: value(P, Q),
                   (ours.coef_shared_.T, ours.coef_specific_.T), (P_ref, Q_ref),
                   (naive.coef_shared_.T, naive.coef_specific_.T), atol_coef=None)
    np.testing.assert_allclose(W_of(ours), P_ref + Q_ref, atol=1e-4, rtol=1e-3)


def _logistic_case(seed, Est, np_pen, cp_pen, rho1, rho_L2, **extra):
    """sum_t mean_i log(1 + exp(-y_i (x_i w_t + c_t))) + rho_L2 ||W||_F^2 + rho1 Omega(W),
    labels in {-1, +1}, one intercept per task: MALSAR Logistic_* and RMTL
    Classification (RMTL's Lam1, Lam2 in place of rho1, rho_L2)."""
    Xs, ys, table, y = per_task_data(seed=seed, classification=True)

    def value(W, c):
        return (sum(np.mean(np.logaddexp(0, -v * (X @ W[:, t] + c[t]))) for t, (X, v) in
                    enumerate(zip(Xs, ys))) + rho_L2 * np.sum(W**2) + rho1 * np_pen(W))

    Wv, cv = cp.Variable((D, len(Xs))), cp.Variable(len(Xs))
    obj = (sum(cp.sum(cp.logistic(cp.multiply(-v, X @ Wv[:, t] + cv[t]))) / len(v)
               for t, (X, v) in enumerate(zip(Xs, ys)))
           + rho_L2 * cp.sum_squares(Wv) + rho1 * cp_pen(Wv))
    W_ref, c_ref = solve(obj, [Wv, cv])
    ours = Est(alpha=rho1, l2_reg=2 * rho_L2, task_column=0, **extra, **EXACT).fit(table, y)
    naive = Est(alpha=rho1, l2_reg=rho_L2, task_column=0, **extra, **EXACT).fit(table, y)
    assert list(ours.classes_) == [-1.0, 1.0]
    assert_optimal(value, (W_of(ours), ours.intercept_), (W_ref, c_ref),
                   (W_of(naive), naive.intercept_))


def test_malsar_logistic_l21():
    _logistic_case(3, GroupLassoClassifier, np_l21, l21, rho1=0.05, rho_L2=0.1)


# -------------------------------------------------------------------- RMTL
# MTL(type="Regression"): sum_t 0.5 mean_i (y_i - x_i w_t - c_t)^2 + Lam1 Omega(W)
#                          + Lam2 ||W||_F^2, one intercept per task
RMTL_REGRESSION = [
    ("L21", GroupLassoRegressor, {}, np_l21, l21),
    ("Lasso", IndependentRegressor, {"penalty": "l1"}, np_l1, l1),
    ("Trace", TraceNormRegressor, {}, np_trace, cp.normNuc),
]


@pytest.mark.parametrize("name, Est, extra, np_pen, cp_pen", RMTL_REGRESSION,
                         ids=[c[0] for c in RMTL_REGRESSION])
def test_rmtl_regression(name, Est, extra, np_pen, cp_pen):
    Xs, ys, table, y = per_task_data(seed=4)
    lam1, lam2 = 0.2, 0.3

    def value(W, c):
        return (sum(0.5 * np.mean((v - X @ W[:, t] - c[t]) ** 2) for t, (X, v) in
                    enumerate(zip(Xs, ys))) + lam1 * np_pen(W) + lam2 * np.sum(W**2))

    Wv, cv = cp.Variable((D, len(Xs))), cp.Variable(len(Xs))
    obj = (sum(0.5 * cp.sum_squares(v - X @ Wv[:, t] - cv[t]) / len(v) for t, (X, v) in
               enumerate(zip(Xs, ys))) + lam1 * cp_pen(Wv) + lam2 * cp.sum_squares(Wv))
    W_ref, c_ref = solve(obj, [Wv, cv])
    ours = Est(alpha=lam1, l2_reg=2 * lam2, task_column=0, **extra, **EXACT).fit(table, y)
    naive = Est(alpha=lam1, l2_reg=lam2, task_column=0, **extra, **EXACT).fit(table, y)
    assert_optimal(value, (W_of(ours), ours.intercept_), (W_ref, c_ref),
                   (W_of(naive), naive.intercept_))


RMTL_CLASSIFICATION = [
    ("L21", GroupLassoClassifier, np_l21, l21),
    ("Lasso", IndependentClassifier, np_l1, l1),
    ("Trace", TraceNormClassifier, np_trace, cp.normNuc),
]


@pytest.mark.parametrize("name, Est, np_pen, cp_pen", RMTL_CLASSIFICATION,
                         ids=[c[0] for c in RMTL_CLASSIFICATION])
def test_rmtl_classification(name, Est, np_pen, cp_pen):
    # MTL(type="Classification"): the mean logistic loss per task, labels -1/1
    extra = {"penalty": "l1"} if Est is IndependentClassifier else {}
    _logistic_case(5, Est, np_pen, cp_pen, rho1=0.05, rho_L2=0.1, **extra)


# ------------------------------------------- scikit-learn, celer, skglm (one design)
# MultiTaskLasso (scikit-learn, celer, skglm):
#   1/(2n) ||Y - X W - 1 b^T||_F^2 + alpha ||W||_21
# MultiTaskElasticNet (scikit-learn):
#   1/(2n) ||Y - X W - 1 b^T||_F^2 + alpha l1_ratio ||W||_21
#       + 0.5 alpha (1 - l1_ratio) ||W||_F^2
@pytest.mark.parametrize("l1_ratio", [1.0, 0.6])
def test_multitask_lasso_and_elastic_net(l1_ratio):
    X, Y = shared_data()
    n = len(X)
    alpha = 0.2

    def value(W, b):
        return (0.5 / n * np.sum((Y - X @ W - b) ** 2) + alpha * l1_ratio * np_l21(W)
                + 0.5 * alpha * (1 - l1_ratio) * np.sum(W**2))

    Wv, bv = cp.Variable((D, Y.shape[1])), cp.Variable(Y.shape[1])
    obj = (0.5 / n * cp.sum_squares(Y - X @ Wv - np.ones((n, 1)) @ cp.reshape(bv, (1, Y.shape[1]), order="C"))
           + alpha * l1_ratio * l21(Wv) + 0.5 * alpha * (1 - l1_ratio) * cp.sum_squares(Wv))
    W_ref, b_ref = solve(obj, [Wv, bv])

    ours = GroupLassoRegressor(alpha=alpha * l1_ratio, l2_reg=alpha * (1 - l1_ratio),
                               **EXACT).fit(X, Y)
    naive = None  # MultiTaskLasso needs no conversion; the elastic net's naive one:
    if l1_ratio < 1:
        est = GroupLassoRegressor(alpha=alpha, l2_reg=alpha * (1 - l1_ratio) / 2, **EXACT)
        naive = (W_of(est.fit(X, Y)), est.intercept_)
    assert_optimal(value, (W_of(ours), ours.intercept_), (W_ref, b_ref), naive)
    Peer = MultiTaskLasso if l1_ratio == 1.0 else MultiTaskElasticNet
    kw = {} if l1_ratio == 1.0 else {"l1_ratio": l1_ratio}
    peer = Peer(alpha=alpha, tol=1e-12, max_iter=100_000, **kw).fit(X, Y)
    np.testing.assert_allclose(ours.coef_, peer.coef_, atol=1e-6)
    np.testing.assert_allclose(ours.intercept_, peer.intercept_, atol=1e-6)


def test_skglm_celer_group_lasso_on_block_diagonal_design():
    # skglm.GroupLasso / celer.GroupLasso(groups, alpha) on one long vector:
    #   1/(2N) ||y - X~ beta||^2 + alpha sum_g ||beta_g||_2   (unit group weights)
    # with X~ block-diagonal (task t's rows see only task t's copy of the features),
    # columns feature-major (j T + t) so that group g = feature g in every task.
    Xs, ys, table, y = per_task_data(seed=6)
    T, N = len(Xs), sum(len(v) for v in ys)
    Xbd = np.zeros((N, D * T))
    row = 0
    for t, X in enumerate(Xs):
        Xbd[row:row + len(X), t::T] = X
        row += len(X)
    alpha = 0.05

    def value(W):  # W (D, T): beta = W.ravel() (feature-major)
        return 0.5 / N * np.sum((y - Xbd @ W.ravel()) ** 2) + alpha * np_l21(W)

    bv = cp.Variable(D * T)
    obj = 0.5 / N * cp.sum_squares(y - Xbd @ bv) + alpha * cp.sum(
        cp.norm(cp.reshape(bv, (D, T), order="C"), 2, axis=1))
    (beta_ref,) = solve(obj, [bv])
    W_ref = beta_ref.reshape(D, T)

    ours = GroupLassoRegressor(alpha=T * alpha, task_weights="samples", fit_intercept=False,
                               task_column=0, **EXACT).fit(table, y)
    naive = GroupLassoRegressor(alpha=alpha, task_weights="samples", fit_intercept=False,
                                task_column=0, **EXACT).fit(table, y)
    assert_optimal(value, (W_of(ours),), (W_ref,), (W_of(naive),))


# ------------------------------------------------------------------- mutar
# mutar takes X (n_tasks, n_samples, n_features): every task has the same n.
#   GroupLasso:  1/(2n) sum_t ||y_t - X_t w_t||^2 + alpha ||W||_21
#   DirtyModel:  1/(2n) sum_t ||y_t - X_t (b_t + s_t)||^2 + alpha ||B||_21 + beta ||S||_1
# (its solver multiplies alpha and beta by n_samples on the unscaled squared loss),
# with per-task centring, i.e. one unpenalised intercept per task.
def _equal_size_data(seed=7, n=25, T=3):
    rng = np.random.default_rng(seed)
    Xs = [rng.standard_normal((n, D)) + 0.2 * t for t in range(T)]
    W = rng.standard_normal((D, T))
    W[3:] = 0.0
    W[4, 1] = 1.5  # one task-specific feature
    ys = [X @ W[:, t] + t + 0.3 * rng.standard_normal(n) for t, X in enumerate(Xs)]
    table = np.vstack([np.column_stack([np.full(n, t, float), X]) for t, X in enumerate(Xs)])
    return Xs, ys, table, np.concatenate(ys)


def test_mutar_group_lasso_and_dirty():
    Xs, ys, table, y = _equal_size_data()
    n, T = len(ys[0]), len(Xs)
    alpha, beta = 0.3, 0.2

    def value(B, S, c):
        return (sum(0.5 / n * np.sum((v - X @ (B[:, t] + S[:, t]) - c[t]) ** 2)
                    for t, (X, v) in enumerate(zip(Xs, ys)))
                + alpha * np_l21(B) + beta * np_l1(S))

    Bv, Sv, cv = cp.Variable((D, T)), cp.Variable((D, T)), cp.Variable(T)
    obj = (sum(0.5 / n * cp.sum_squares(v - X @ (Bv[:, t] + Sv[:, t]) - cv[t])
               for t, (X, v) in enumerate(zip(Xs, ys))) + alpha * l21(Bv) + beta * l1(Sv))
    B_ref, S_ref, c_ref = solve(obj, [Bv, Sv, cv])
    ours = DirtyRegressor(alpha=alpha, beta=beta, block_norm="l21", task_column=0,
                          **EXACT).fit(table, y)
    naive = DirtyRegressor(alpha=alpha, beta=beta, block_norm="l1inf", task_column=0,
                           **EXACT).fit(table, y)
    assert_optimal(value, (ours.coef_shared_.T, ours.coef_specific_.T, ours.intercept_),
                   (B_ref, S_ref, c_ref),
                   (naive.coef_shared_.T, naive.coef_specific_.T, naive.intercept_),
                   atol_coef=None)  # the B / S split need not be unique: compare W
    np.testing.assert_allclose(W_of(ours), B_ref + S_ref, atol=1e-4, rtol=1e-3)

    # mutar's GroupLasso: the dirty model without the specific part
    def value_gl(W, c):
        return value(W, np.zeros_like(W), c)

    Wv, cv = cp.Variable((D, T)), cp.Variable(T)
    obj = (sum(0.5 / n * cp.sum_squares(v - X @ Wv[:, t] - cv[t])
               for t, (X, v) in enumerate(zip(Xs, ys))) + alpha * l21(Wv))
    W_ref, c_ref = solve(obj, [Wv, cv])
    ours = GroupLassoRegressor(alpha=alpha, task_column=0, **EXACT).fit(table, y)
    naive = GroupLassoRegressor(alpha=alpha / n, task_column=0, **EXACT).fit(table, y)
    assert_optimal(value_gl, (W_of(ours), ours.intercept_), (W_ref, c_ref),
                   (W_of(naive), naive.intercept_))
