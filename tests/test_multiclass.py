"""Multiclass (softmax) tasks: every classifier's objective against an independent cvxpy
reference (tests/_cvx_multiclass.py), optimality conditions written here, scikit-learn's
LogisticRegression per task, shapes, the task that lacks a class, bad input."""

import warnings

import _cvx_multiclass as ref
import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import log_loss

from mtlreg import (
    ClusteredClassifier,
    DirtyClassifier,
    FusedGroupLassoClassifier,
    GraphRegularizedClassifier,
    GroupLassoClassifier,
    GroupLassoClassifierCV,
    IndependentClassifier,
    MeanRegularizedClassifier,
    RobustMultiTaskClassifier,
    SparseGroupLassoClassifier,
    SparseTraceNormClassifier,
    TemporalGroupLassoClassifier,
    TraceNormClassifier,
)

pytest.importorskip("cvxpy")

T, K, D = 3, 3, 4
RTOL = 1e-6  # objective, relative; observed <= 1e-12 (margin > 1e4)
ADJ = np.array([[0.0, 1.0, 0.5], [1.0, 0.0, 1.0], [0.5, 1.0, 0.0]])


def _data(n=120, seed=0, n_tasks=T, n_classes=K):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, D))
    t = np.repeat(np.arange(n_tasks), n // n_tasks)
    W = rng.standard_normal((n_tasks, n_classes, D))
    Z = np.einsum("nd,nkd->nk", X, W[t])
    P = np.exp(Z - Z.max(axis=1, keepdims=True))
    P /= P.sum(axis=1, keepdims=True)
    y = np.array([rng.choice(n_classes, p=p) for p in P])
    return X, t, y


def _penalty_params(est, kind):
    p = est.get_params()
    out = dict(alpha=p["alpha"], l2_reg=p["l2_reg"])
    for name in ("beta", "l1_ratio", "rho"):
        if name in p:
            out[name] = p[name]
    if kind == "graph":
        out["A"] = ADJ
    if kind == "tgl":  # chain graph with the l2,1 part, per class
        out["A"] = np.diag(np.ones(T - 1), 1) + np.diag(np.ones(T - 1), -1)
    return out


CASES = [
    ("ind_l1", lambda: IndependentClassifier(alpha=0.02, penalty="l1")),
    ("ind_l2", lambda: IndependentClassifier(alpha=0.05, penalty="l2")),
    ("gl", lambda: GroupLassoClassifier(alpha=0.03)),
    ("sgl", lambda: SparseGroupLassoClassifier(alpha=0.03, l1_ratio=0.3)),
    ("trace", lambda: TraceNormClassifier(alpha=0.05)),
    ("strace", lambda: SparseTraceNormClassifier(alpha=0.05, l1_ratio=0.3)),
    ("dirty", lambda: DirtyClassifier(alpha=0.05, beta=0.03)),
    ("mean", lambda: MeanRegularizedClassifier(alpha=0.3, l2_reg=0.01)),
    ("graph", lambda: GraphRegularizedClassifier(alpha=0.01, rho=0.2, graph=ADJ, l2_reg=0.01)),
    ("fused", lambda: FusedGroupLassoClassifier(alpha=0.02, beta=0.03, l1_ratio=0.5)),
]


def _objective(kind, est, bl):
    pen = _penalty_params(est, kind)
    extra = {"B": est.coef_shared_} if kind == "dirty" else {}
    return ref.objective(kind, bl, est.coef_, est.intercept_, **pen, **extra)


@pytest.mark.parametrize("kind,make", CASES, ids=[c[0] for c in CASES])
@pytest.mark.parametrize("solver", ["newton", "fista"])
def test_per_task_layout_matches_cvxpy(kind, make, solver):
    X, t, y = _data()
    bl = ref.blocks(X, y, t)
    est = make().set_params(task_column=0, tol=1e-10, max_iter=20000, solver=solver)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        est.fit(np.column_stack([t, X]), y)
    assert est.coef_.shape == (T, K, D) and est.intercept_.shape == (T, K)
    ours = _objective(kind, est, bl)
    _, _, value = ref.cvx_solve(kind, bl, **_penalty_params(est, kind))
    assert abs(ours - value) <= RTOL * abs(value)
    assert ours <= value + RTOL * abs(value)
    assert abs(est.objective_ - ours) <= 1e-10 * abs(ours)  # objective_ is this objective
    np.testing.assert_allclose(est.intercept_.sum(axis=1), 0.0, atol=1e-12)  # pinned


@pytest.mark.parametrize("kind,make", CASES, ids=[c[0] for c in CASES])
def test_shared_layout_matches_cvxpy(kind, make):
    """Shared design, 2-D y with missing labels: each task's rows are its labelled rows."""
    rng = np.random.default_rng(1)
    X, _, y0 = _data(n=60, seed=1)
    Y = np.column_stack([y0, rng.permutation(y0), (y0 + rng.integers(0, 2, len(y0))) % K]).astype(float)
    Y[rng.random(Y.shape) < 0.1] = np.nan
    Xb = np.vstack([X] * T)
    tb = np.repeat(np.arange(T), len(X))
    yb = Y.T.ravel()
    keep = ~np.isnan(yb)
    bl = ref.blocks(Xb[keep], yb[keep].astype(int), tb[keep])
    est = make().set_params(tol=1e-10, max_iter=20000).fit(X, Y)
    ours = _objective(kind, est, bl)
    _, _, value = ref.cvx_solve(kind, bl, **_penalty_params(est, kind))
    assert abs(ours - value) <= RTOL * abs(value)
    assert est.decision_function(X).shape == (len(X), T, K)
    proba = est.predict_proba(X)
    np.testing.assert_allclose(proba.sum(axis=-1), 1.0, rtol=1e-12)
    assert est.predict(X).shape == (len(X), T)


def test_optimality_conditions_written_independently():
    """Group lasso and l1: the subdifferential conditions at the returned point, from a
    numpy gradient (tests/_cvx_multiclass.py): below tol times the gradient at W = 0
    (the promise), checked at 10 tol for a fit at tol (observed: 0.1-0.2 tol)."""
    X, t, y = _data()
    bl = ref.blocks(X, y, t)
    Xt = np.column_stack([t, X])
    tol = 1e-9
    for est, kind in [(GroupLassoClassifier(alpha=0.03), "gl"),
                      (IndependentClassifier(alpha=0.02, penalty="l1"), "l1")]:
        est.set_params(task_column=0, tol=tol, max_iter=5000).fit(Xt, y)
        G, gb = ref.data_gradient(bl, est.coef_, est.intercept_)
        Gs, Ws = ref.stacked(G), ref.stacked(est.coef_)
        # gradient scale at W = 0 with the optimal intercepts (centred log shares)
        shares = np.array([blk[1].mean(axis=0) for blk in bl])
        b0 = np.log(shares) - np.log(shares).mean(axis=1, keepdims=True)
        scale = np.abs(ref.stacked(ref.data_gradient(bl, np.zeros_like(est.coef_), b0)[0])).max()
        a = est.alpha
        if kind == "gl":
            norms = np.linalg.norm(Ws, axis=1)
            active = norms > 0
            viol = np.where(active, np.linalg.norm(Gs + a * Ws / np.where(active, norms, 1)[:, None],
                                                   axis=1),
                            np.maximum(np.linalg.norm(Gs, axis=1) - a, 0.0))
            assert active.any() and (~active).any() or active.all()
        else:
            viol = np.where(Ws != 0, np.abs(Gs + a * np.sign(Ws)), np.maximum(np.abs(Gs) - a, 0.0))
        assert viol.max() <= 10 * tol * scale
        assert np.abs(gb).max() <= 10 * tol * scale


def test_independent_l2_equals_sklearn_multinomial_per_task():
    """IndependentClassifier(penalty="l2"): task t minimises (1/n_t) sum_i CE_i +
    alpha/2 ||W_t||_F^2, i.e. n_t alpha times scikit-learn's C sum_i CE_i + 1/2 ||W_t||^2
    with C = 1 / (n_t alpha); the intercept is free in both."""
    X, t, y = _data(n=150, seed=3)
    alpha = 0.05
    est = IndependentClassifier(alpha=alpha, penalty="l2", task_column=0, tol=1e-10,
                                max_iter=5000).fit(np.column_stack([t, X]), y)
    for task in range(T):
        rows = t == task
        sk = LogisticRegression(C=1.0 / (rows.sum() * alpha), solver="newton-cholesky",
                                tol=1e-14, max_iter=100)
        sk.fit(X[rows], y[rows])
        # observed differences <= 1.3e-11 (margin > 70)
        np.testing.assert_allclose(est.coef_[task], sk.coef_, rtol=0, atol=1e-9)
        b = sk.intercept_ - sk.intercept_.mean()
        np.testing.assert_allclose(est.intercept_[task], b, rtol=0, atol=1e-9)
        np.testing.assert_allclose(est.predict_proba(np.column_stack([t, X])[rows]),
                                   sk.predict_proba(X[rows]), rtol=0, atol=1e-9)


def test_per_task_prediction_shapes_and_classes():
    X, t, y = _data()
    labels = np.array(["a", "b", "c"])[y]
    Xt = np.column_stack([t, X])
    est = GroupLassoClassifier(alpha=0.03, task_column=0).fit(Xt, labels)
    assert list(est.classes_) == ["a", "b", "c"]
    assert est.decision_function(Xt).shape == (len(y), K)
    proba = est.predict_proba(Xt)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-12)
    np.testing.assert_allclose(np.log(proba), est.predict_log_proba(Xt), rtol=1e-10)
    assert set(est.predict(Xt)) <= {"a", "b", "c"}
    assert est.score(Xt, labels) > 0.5
    assert est.shared_intercept_.shape == (K,)


def test_two_classes_keep_the_binary_model():
    X, t, y = _data(n_classes=2)
    est = GroupLassoClassifier(alpha=0.03, task_column=0).fit(np.column_stack([t, X]), y)
    assert est.coef_.shape == (T, D) and est.intercept_.shape == (T,)
    assert est.decision_function(np.column_stack([t, X])).shape == (len(y),)
    assert np.ndim(est.shared_intercept_) == 0


def test_newton_and_fista_agree():
    X, t, y = _data(seed=4)
    Xt = np.column_stack([t, X])
    a = GroupLassoClassifier(alpha=0.02, task_column=0, solver="newton", tol=1e-10).fit(Xt, y)
    b = GroupLassoClassifier(alpha=0.02, task_column=0, solver="fista", tol=1e-10,
                             max_iter=20000).fit(Xt, y)
    np.testing.assert_allclose(a.coef_, b.coef_, atol=1e-6)
    assert a.n_iter_ < 20


def test_task_lacking_a_class():
    X, t, y = _data()
    y = y.copy()
    y[(t == 1) & (y == 2)] = 0  # task 1 never sees class 2
    Xt = np.column_stack([t, X])
    with pytest.raises(ValueError, match=r"Task\(s\) \[1\.0\] .*missing: \[\[2\]\].*fit_intercept=False"):
        GroupLassoClassifier(alpha=0.03, task_column=0).fit(Xt, y)
    est = GroupLassoClassifier(alpha=0.03, task_column=0, fit_intercept=False, tol=1e-10)
    est.fit(Xt, y)
    bl = ref.blocks(X, y, t)
    _, _, value = ref.cvx_solve("gl", bl, fit_intercept=False, alpha=0.03)
    ours = ref.objective("gl", bl, est.coef_, np.zeros((T, K)), alpha=0.03)
    assert abs(ours - value) <= RTOL * abs(value)



@pytest.mark.parametrize("solver", ["newton", "fista"])
def test_intercept_reg_fits_a_task_lacking_a_class(solver):
    """intercept_reg = s: + s/2 sum_k sum_t lambda_t (b_tk - b_bar_k)^2, b_bar_k free;
    against cvxpy with b_bar a variable (observed rel. gap 1.9e-12, bound 1e-6)."""
    import cvxpy as cp

    X, t, y = _data()
    y = y.copy()
    y[(t == 1) & (y == 2)] = 0  # task 1 never sees class 2
    lam, s, a = np.array([1.0, 2.0, 0.5]), 0.7, 0.03
    bl = ref.blocks(X, y, t, task_weights=lam)
    est = GroupLassoClassifier(alpha=a, task_column=0, intercept_reg=s, task_weights=lam,
                               tol=1e-10, solver=solver, max_iter=50000)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        est.fit(np.column_stack([t, X]), y)
    b = est.intercept_
    np.testing.assert_allclose(est.shared_intercept_, lam @ b / lam.sum(), rtol=1e-12)
    ours = (ref.objective("gl", bl, est.coef_, b, alpha=a)
            + 0.5 * s * np.sum(lam[:, None] * (b - est.shared_intercept_) ** 2))
    Wk = [cp.Variable((D, T)) for _ in range(K)]
    bv, bbar = cp.Variable((T, K)), cp.Variable(K)
    terms = []
    for task, (Xk, Y, c) in enumerate(bl):
        Wt = cp.hstack([Wk[k][:, task:task + 1] for k in range(K)])
        Z = Xk @ Wt + np.ones((len(c), 1)) @ cp.reshape(bv[task], (1, K), order="C")
        terms.append(c @ cp.log_sum_exp(Z, axis=1) - cp.sum(cp.multiply(c[:, None] * Y, Z)))
    dev = bv - np.ones((T, 1)) @ cp.reshape(bbar, (1, K), order="C")
    pen = a * cp.sum(cp.norm(cp.hstack(Wk), 2, axis=1))
    pen = pen + 0.5 * s * cp.sum(cp.multiply(lam[:, None], cp.square(dev)))
    prob = cp.Problem(cp.Minimize(cp.sum(terms) + pen))
    prob.solve(solver=cp.CLARABEL, tol_gap_abs=1e-11, tol_gap_rel=1e-11, tol_feas=1e-11)
    assert abs(ours - prob.value) <= RTOL * abs(prob.value)
    np.testing.assert_allclose(b.sum(axis=1), 0.0, atol=1e-12)


@pytest.mark.parametrize("solver", ["newton", "fista"])
@pytest.mark.parametrize("first", ["trace", "l21"])
def test_robust_models_group_the_classes_of_an_outlier_task(first, solver):
    """W = P + Q: alpha ||[P_1, ..., P_K]||_* (or its l2,1) + beta sum_t ||Q_t||_F, Q_t
    every class of task t; against cvxpy (observed rel. gap <= 1.6e-14, bound 1e-6)."""
    import cvxpy as cp

    from mtlreg import RobustFeatureLearningClassifier

    Est = RobustMultiTaskClassifier if first == "trace" else RobustFeatureLearningClassifier
    X, t, y = _data()
    bl = ref.blocks(X, y, t)
    a, b = 0.05, 0.04
    est = Est(alpha=a, beta=b, task_column=0, tol=1e-10, max_iter=50000, solver=solver)
    est.fit(np.column_stack([t, X]), y)
    P = est.coef_lowrank_ if first == "trace" else est.coef_shared_
    Q = est.coef_outlier_
    assert P.shape == Q.shape == (T, K, D) and est.outlier_scores_.shape == (T,)
    np.testing.assert_allclose(est.outlier_scores_, np.sqrt((Q**2).sum(axis=(1, 2))), rtol=1e-12)
    Ps = ref.stacked(P)
    p1 = np.linalg.svd(Ps, compute_uv=False).sum() if first == "trace" else np.linalg.norm(Ps, axis=1).sum()
    ours = ref.data_term(bl, est.coef_, est.intercept_) + a * p1 + b * est.outlier_scores_.sum()
    Pk = [cp.Variable((D, T)) for _ in range(K)]
    Qk = [cp.Variable((D, T)) for _ in range(K)]
    bv = cp.Variable((T, K))
    terms = []
    for task, (Xk, Y, cw) in enumerate(bl):
        Wt = cp.hstack([Pk[j][:, task:task + 1] + Qk[j][:, task:task + 1] for j in range(K)])
        Z = Xk @ Wt + np.ones((len(cw), 1)) @ cp.reshape(bv[task], (1, K), order="C")
        terms.append(cw @ cp.log_sum_exp(Z, axis=1) - cp.sum(cp.multiply(cw[:, None] * Y, Z)))
    PS = cp.hstack(Pk)
    pen = a * (cp.normNuc(PS) if first == "trace" else cp.sum(cp.norm(PS, 2, axis=1)))
    pen = pen + b * cp.sum(cp.norm(cp.vstack(Qk), 2, axis=0))
    prob = cp.Problem(cp.Minimize(cp.sum(terms) + pen))
    prob.solve(solver=cp.CLARABEL, tol_gap_abs=1e-11, tol_gap_rel=1e-11, tol_feas=1e-11)
    assert abs(ours - prob.value) <= RTOL * abs(prob.value)
    beta_max = est.compute_beta_max(np.column_stack([t, X]), y)
    G = ref.data_gradient(bl, np.zeros((T, K, D)), _null_b(bl))[0]
    np.testing.assert_allclose(beta_max, np.sqrt((G**2).sum(axis=(1, 2))).max(), rtol=1e-6)


def _null_b(bl):
    """The optimal intercepts at W = 0: centred log class shares."""
    shares = np.array([(blk[2] / blk[2].sum()) @ blk[1] for blk in bl])
    return np.log(shares) - np.log(shares).mean(axis=1, keepdims=True)


def test_no_penalty_warns_that_the_minimiser_is_not_unique():
    X, t, y = _data(n=300)
    Xt = np.column_stack([t, X])
    with pytest.warns(UserWarning, match="not unique"):
        IndependentClassifier(alpha=0.0, penalty="l2", task_column=0).fit(Xt, y)


def test_cv_twin_uses_the_multinomial_log_loss():
    X, t, y = _data(n=150, seed=5)
    Xt = np.column_stack([t, X])
    cv = GroupLassoClassifierCV(alphas=[0.003, 0.03], cv=3, task_column=0).fit(Xt, y)
    assert cv.coef_.shape == (T, K, D)
    est = GroupLassoClassifier(alpha=0.03, task_column=0).fit(Xt, y)
    np.testing.assert_allclose(est._test_loss(Xt, y), log_loss(y, est.predict_proba(Xt)),
                               rtol=1e-10)


def test_bad_input():
    X, t, y = _data()
    Xt = np.column_stack([t, X])
    est = GroupLassoClassifier(alpha=0.03, task_column=0).fit(Xt, y)
    with pytest.raises(ValueError, match="did not see in fit"):
        est._test_loss(Xt, np.where(y == 0, 7, y))
    Xbad = Xt.copy()
    Xbad[0, 1] = np.nan
    coef = est.coef_.copy()
    with pytest.raises(ValueError, match="NaN"):
        est.fit(Xbad, y)
    np.testing.assert_array_equal(est.coef_, coef)  # the previous fit stays


def test_temporal_group_lasso_per_class():
    X, t, y = _data()
    bl = ref.blocks(X, y, t)
    est = TemporalGroupLassoClassifier(alpha=0.02, rho=0.3, task_column=0, tol=1e-10,
                                       max_iter=20000).fit(np.column_stack([t, X]), y)
    chain = np.diag(np.ones(T - 1), 1) + np.diag(np.ones(T - 1), -1)
    # TGL: rho/2 ||W_k R||^2 (chain) + alpha sum_j ||W_k[j]||_2 per class
    ours = ref.data_term(bl, est.coef_, est.intercept_)
    for k in range(K):
        Wk = est.coef_[:, k, :].T
        ours += 0.5 * 0.3 * np.trace(Wk @ ref.laplacian(chain) @ Wk.T)
        ours += 0.02 * np.linalg.norm(Wk, axis=1).sum()
    import cvxpy as cp
    Wk = [cp.Variable((D, T)) for _ in range(K)]
    b = cp.Variable((T, K))
    terms = []
    for task, (Xk, Y, c) in enumerate(bl):
        Wt = cp.hstack([Wk[k][:, task:task + 1] for k in range(K)])
        Z = Xk @ Wt + np.ones((len(c), 1)) @ cp.reshape(b[task], (1, K), order="C")
        terms.append(c @ cp.log_sum_exp(Z, axis=1) - cp.sum(cp.multiply(c[:, None] * Y, Z)))
    L = ref.laplacian(chain)
    evals, Q = np.linalg.eigh(L)
    R = Q * np.sqrt(np.clip(evals, 0, None))
    pen = sum(0.15 * cp.sum_squares(Wk[k] @ R) + 0.02 * cp.sum(cp.norm(Wk[k], 2, axis=1))
              for k in range(K))
    prob = cp.Problem(cp.Minimize(cp.sum(terms) + pen))
    prob.solve(solver=cp.CLARABEL)
    assert abs(ours - prob.value) <= RTOL * abs(prob.value)


def test_docstrings_state_the_multiclass_objective():
    assert "[W_1, \\dots, W_K]" in GroupLassoClassifier.__doc__
    assert "P_0(W_k)" in MeanRegularizedClassifier.__doc__
    assert "P_0(W_k)" in FusedGroupLassoClassifier.__doc__
    assert "[W_1; \\dots; W_K]" in ClusteredClassifier.__doc__
    assert "[Q_1; \\dots; Q_K]" in RobustMultiTaskClassifier.__doc__


def test_warm_start_and_unseen_tasks():
    X, t, y = _data(seed=6)
    Xt = np.column_stack([t, X])
    est = GroupLassoClassifier(alpha=0.03, task_column=0, tol=1e-8, warm_start=True).fit(Xt, y)
    first = est.n_iter_
    est.fit(Xt, y)  # from the previous solution: already optimal
    assert est.n_iter_ < first and est.n_iter_ <= 1
    mr = MeanRegularizedClassifier(task_column=0, unseen_tasks="shared").fit(Xt, y)
    # unseen tasks: the population model per class (tests/test_multiclass_edges.py)
    assert mr.predict_proba(np.column_stack([np.full(3, 9.0), X[:3]])).shape == (3, K)


def test_dask_multiclass_fits_and_predicts():
    """Fits from Dask take K > 2 classes (equality with the in-memory fit:
    tests/test_dask_outcomes.py), and predict lazily."""
    da = pytest.importorskip("dask.array")
    X, t, y = _data()
    est = GroupLassoClassifier(alpha=0.03).fit(da.from_array(X, chunks=40),
                                               da.from_array(y, chunks=40))
    assert est.coef_.shape[1] == len(est.classes_) == len(np.unique(y))
    proba = est.predict_proba(da.from_array(X, chunks=40))
    np.testing.assert_allclose(proba.compute(), est.predict_proba(X), rtol=1e-12, atol=1e-15)
    np.testing.assert_array_equal(est.predict(da.from_array(X, chunks=40)).compute(), est.predict(X))


def test_sparse_and_float32_designs_give_the_same_fit():
    import scipy.sparse as sp

    X, t, y = _data()
    Xt = np.column_stack([t, X])
    dense = GroupLassoClassifier(alpha=0.03, task_column=0, tol=1e-10).fit(Xt, y)
    sparse = GroupLassoClassifier(alpha=0.03, task_column=0, tol=1e-10).fit(sp.csr_matrix(Xt), y)
    np.testing.assert_allclose(sparse.coef_, dense.coef_, atol=1e-8)  # observed 1.5e-10
    Y = np.column_stack([y, (y + 1) % K])
    dense = GroupLassoClassifier(alpha=0.03, tol=1e-10).fit(X, Y)
    sparse = GroupLassoClassifier(alpha=0.03, tol=1e-10).fit(sp.csr_matrix(X), Y)
    np.testing.assert_allclose(sparse.coef_, dense.coef_, atol=1e-9)  # observed 7e-12


def test_separated_classes_without_penalty_warn():
    rng = np.random.default_rng(0)
    t = np.arange(30) % 2
    y = np.repeat([0, 1, 2], 10)
    X = np.column_stack([t, np.array([0.0, 5.0, -5.0])[y] + 0.01 * rng.standard_normal(30)])
    with pytest.warns(ConvergenceWarning, match="perfectly separated"):
        IndependentClassifier(alpha=0.0, task_column=0, max_iter=200).fit(X, y)


def test_sample_and_task_weights_match_cvxpy():
    X, t, y = _data(seed=7)
    rng = np.random.default_rng(7)
    sw = rng.uniform(0.2, 2.0, len(y))
    lam = np.array([1.0, 2.0, 0.5])
    bl = ref.blocks(X, y, t, sample_weight=sw, task_weights=lam)
    est = GroupLassoClassifier(alpha=0.03, task_column=0, task_weights=lam, tol=1e-10)
    est.fit(np.column_stack([t, X]), y, sample_weight=sw)
    ours = ref.objective("gl", bl, est.coef_, est.intercept_, alpha=0.03)
    _, _, value = ref.cvx_solve("gl", bl, alpha=0.03)
    assert abs(ours - value) <= RTOL * abs(value)
    np.testing.assert_allclose(est.shared_intercept_, lam @ est.intercept_ / lam.sum(), rtol=1e-12)


def test_shared_layout_one_task_equals_sklearn():
    """A 1-D y in the shared layout (one task, K = 5): decision_function (n, K), and the
    ridge model equals scikit-learn's multinomial LogisticRegression, C = 1/(n alpha)."""
    X, _, y = _data(n=200, seed=8, n_tasks=1, n_classes=5)
    alpha = 0.02
    est = IndependentClassifier(alpha=alpha, penalty="l2", tol=1e-10).fit(X, y)
    sk = LogisticRegression(C=1.0 / (len(y) * alpha), solver="newton-cholesky", tol=1e-14,
                            max_iter=100).fit(X, y)
    assert est.decision_function(X).shape == (len(y), 5) and est.coef_.shape == (1, 5, D)
    np.testing.assert_allclose(est.coef_[0], sk.coef_, rtol=0, atol=1e-9)
    np.testing.assert_allclose(est.predict_proba(X), sk.predict_proba(X), rtol=0, atol=1e-9)
    np.testing.assert_array_equal(est.predict(X), sk.predict(X))


def test_auto_solver_leaves_large_coupled_hessians_to_fista():
    """T (K k)^2 > 4e6 (here 2 (8 x 251)^2 = 8.1e6, while K T k^2 = 1e6 passes Newton's
    own test): solver="auto" takes FISTA; below the limit, Newton."""
    from mtlreg.solvers import fista, newton, select_solver

    rng = np.random.default_rng(9)
    X = rng.standard_normal((64, 250))
    y = np.arange(64) % 8
    for n_classes, expected in ((8, fista), (3, newton)):
        yk = y % n_classes
        est = GroupLassoClassifier(alpha=0.1)
        layout, datafit, _ = est._prepare(X, yk, None)
        assert select_solver("auto", datafit, est._make_penalty()) is expected


def test_regularization_path_shapes_match_the_fits():
    from mtlreg import regularization_path

    X, t, y = _data(seed=10)
    Xt = np.column_stack([t, X])
    base = GroupLassoClassifier(task_column=0, tol=1e-10)
    path = regularization_path(base, Xt, y, alphas=[0.05, 0.02])
    assert path.coefs.shape == (1, 2, T, K, D) and path.intercepts.shape == (1, 2, T, K)
    est = GroupLassoClassifier(alpha=0.02, task_column=0, tol=1e-10).fit(Xt, y)
    np.testing.assert_allclose(path.coefs[0, 1], est.coef_, atol=1e-7)  # observed ~1e-9
    np.testing.assert_allclose(path.intercepts[0, 1], est.intercept_, atol=1e-7)


@pytest.mark.parametrize("solver", ["newton", "fista"])
def test_clustered_shares_one_clustering_across_classes(solver):
    """ClusteredClassifier with K classes: c min_M tr(S (eta I + M)^-1 S^T) on the
    task-stacked S = [W_1; ...; W_K] (K d x T), against cvxpy jointly over W and M
    (observed rel. gap 1.5e-12, bound 1e-6); task_similarity_ is T x T."""
    import cvxpy as cp

    X, t, y = _data()
    bl = ref.blocks(X, y, t)
    alpha, eta, k = 0.05, 0.5, 2
    c = alpha * eta * (1 + eta)
    est = ClusteredClassifier(alpha=alpha, eta=eta, n_clusters=k, task_column=0, tol=1e-10,
                              max_iter=20000, solver=solver).fit(np.column_stack([t, X]), y)
    assert est.task_similarity_.shape == (T, T) and est.task_clusters_.shape == (T,)

    def inner(S):  # min over M at fixed S (cvxpy)
        M = cp.Variable((T, T), symmetric=True)
        prob = cp.Problem(cp.Minimize(cp.matrix_frac(S.T, eta * np.eye(T) + M)),
                          [M >> 0, np.eye(T) - M >> 0, cp.trace(M) == k])
        prob.solve(solver=cp.CLARABEL)
        return prob.value

    S = np.vstack([est.coef_[:, j, :].T for j in range(K)])
    ours = ref.data_term(bl, est.coef_, est.intercept_) + c * inner(S)
    Wk = [cp.Variable((D, T)) for _ in range(K)]
    bv, M = cp.Variable((T, K)), cp.Variable((T, T), symmetric=True)
    terms = []
    for task, (Xk, Y, cw) in enumerate(bl):
        Wt = cp.hstack([Wk[j][:, task:task + 1] for j in range(K)])
        Z = Xk @ Wt + np.ones((len(cw), 1)) @ cp.reshape(bv[task], (1, K), order="C")
        terms.append(cw @ cp.log_sum_exp(Z, axis=1) - cp.sum(cp.multiply(cw[:, None] * Y, Z)))
    pen = c * cp.matrix_frac(cp.vstack(Wk).T, eta * np.eye(T) + M)
    prob = cp.Problem(cp.Minimize(cp.sum(terms) + pen),
                      [M >> 0, np.eye(T) - M >> 0, cp.trace(M) == k])
    prob.solve(solver=cp.CLARABEL)
    Wr = np.stack([Wk[j].value.T for j in range(K)], axis=1)
    value = ref.data_term(bl, Wr, bv.value) + c * inner(np.vstack([Wk[j].value for j in range(K)]))
    assert abs(ours - value) <= RTOL * abs(value)
    assert est.objective_ == pytest.approx(ours, rel=1e-7)


def test_mean_regularization_without_ridge_warns_not_unique():
    """alpha > 0 penalises the deviations from each class's task mean only: one vector
    added to every task and class leaves the objective unchanged."""
    X, t, y = _data(n=300)
    Xt = np.column_stack([t, X])
    with pytest.warns(UserWarning, match="not unique"):
        MeanRegularizedClassifier(alpha=1.0, l2_reg=0.0, task_column=0).fit(Xt, y)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        MeanRegularizedClassifier(alpha=1.0, l2_reg=0.01, task_column=0).fit(Xt, y)


@pytest.mark.parametrize("n_tasks", [3, 4])
def test_no_intercept_equals_sklearn_multinomial_per_task(n_tasks):
    """fit_intercept=False with K = 3 classes: intercept_ is zeros (T, K) and each task is
    scikit-learn's multinomial LogisticRegression(fit_intercept=False), C = 1/(n_t alpha).
    Before the fix the zero intercepts had length T instead of K T: with T = 4 the fit
    raised a reshape error, and with T = K = 3 it returned intercept_ of shape (1, 3)."""
    rng = np.random.default_rng(7)
    n = 60 * n_tasks
    X = rng.normal(size=(n, 4))
    t = np.repeat(np.arange(n_tasks), 60)
    y = (X[:, 0] + 0.5 * rng.normal(size=n) > 0).astype(int) + (X[:, 1] > 0.3).astype(int)
    alpha = 0.05
    est = IndependentClassifier(alpha=alpha, penalty="l2", fit_intercept=False, task_column=0,
                                tol=1e-10, max_iter=5000).fit(np.column_stack([t, X]), y)
    assert est.coef_.shape == (n_tasks, 3, 4)
    assert est.intercept_.shape == (n_tasks, 3) and not est.intercept_.any()
    for task in range(n_tasks):
        rows = t == task
        sk = LogisticRegression(C=1.0 / (rows.sum() * alpha), fit_intercept=False,
                                solver="newton-cholesky", tol=1e-14, max_iter=100)
        sk.fit(X[rows], y[rows])
        # observed <= 7.8e-16 (coef and probabilities)
        np.testing.assert_allclose(est.coef_[task], sk.coef_, rtol=0, atol=1e-9)
        np.testing.assert_allclose(est.predict_proba(np.column_stack([t, X])[rows]),
                                   sk.predict_proba(X[rows]), rtol=0, atol=1e-9)
