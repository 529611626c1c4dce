"""Task layouts (loss scaling, operators, Lipschitz bounds), datafits and input validation."""

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from _cvx_reference import build_problem, numpy_gradient, numpy_objective
from conftest import make_data
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.exceptions import NotFittedError
from sklearn.utils._param_validation import InvalidParameterError
from sklearn.utils.validation import check_is_fitted

from mtlreg import GroupLassoClassifier, GroupLassoRegressor
from mtlreg._tasks.layout import SharedDesign, TaskBlocks, rowwise_predict, task_sample_counts
from mtlreg.datafits import Logistic, Quadratic
from mtlreg.utils.validation import resolve_task_weights


# =========================================================================== layouts
def _shared(n=30, d=5, T=3, seed=0, nan=False, sw=False, task_weights=None,
            fit_intercept=True, sparse=False):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d)) + 2.0
    Y = rng.standard_normal((n, T))
    if nan:
        Y[rng.uniform(size=Y.shape) < 0.3] = np.nan
        Y[0] = 1.0  # every task keeps a label
    s = rng.uniform(0.5, 2.0, n) if sw else np.ones(n)
    Xf = sp.csr_matrix(X) if sparse else X
    return SharedDesign(Xf, Y, s, task_weights, fit_intercept), X, Y, s


def _blocks(sizes=(7, 12, 9), d=5, seed=0, sw=False, task_weights=None,
            fit_intercept=True, sparse=False, shuffle=True):
    rng = np.random.default_rng(seed)
    codes = np.repeat(np.arange(len(sizes)), sizes)
    if shuffle:
        rng.shuffle(codes)
    n = len(codes)
    X = rng.standard_normal((n, d)) + 2.0
    y = rng.standard_normal(n)
    s = rng.uniform(0.5, 2.0, n) if sw else np.ones(n)
    Xf = sp.csr_matrix(X) if sparse else X
    layout = TaskBlocks(Xf, y, codes, np.arange(len(sizes)), s, task_weights, fit_intercept)
    return layout, X, y, s, codes


def _dense_operator(layout, d, T):
    """The matrix of (W, b) -> Z built column by column (Z raveled)."""
    cols = []
    for k in range(d * T + T):
        v = np.zeros(d * T + T)
        v[k] = 1.0
        W, b = v[: d * T].reshape(d, T), v[d * T:]
        cols.append(np.ravel(layout.matvec(W, b)))
    return np.column_stack(cols)


@pytest.mark.parametrize("sparse", [False, True])
@pytest.mark.parametrize("fit_intercept", [True, False])
@pytest.mark.parametrize("kind", ["shared", "blocks"])
def test_layout_operator_and_adjoint(kind, fit_intercept, sparse):
    d, T = 5, 3
    if kind == "shared":
        layout, X, Y, s = _shared(d=d, T=T, nan=True, sw=True, fit_intercept=fit_intercept,
                                  sparse=sparse)
    else:
        layout, X, y, s, codes = _blocks(d=d, sw=True, fit_intercept=fit_intercept,
                                         sparse=sparse)
    A = _dense_operator(layout, d, T)
    rng = np.random.default_rng(1)
    R = rng.standard_normal(layout.c.shape)
    G, gb = layout.rmatvec(R)
    expected = A.T @ R.ravel()
    assert_allclose(G.ravel(), expected[: d * T], atol=1e-12)
    if fit_intercept:
        assert_allclose(gb, expected[d * T:], atol=1e-12)
    else:
        assert_array_equal(gb, 0.0)

    # the centred parametrisation is exact: A(W, centre(b)) = X W + b (uncentred)
    W = rng.standard_normal((d, T))
    b = rng.standard_normal(T)
    bc = layout.centre_intercept(W, b) if fit_intercept else b
    Z = layout.matvec(W, bc)
    if kind == "shared":
        assert_allclose(Z, X @ W + b, atol=1e-12)
    else:
        assert_allclose(Z, np.einsum("ij,ji->i", X, W[:, codes]) + b[codes], atol=1e-12)
    assert_allclose(layout.uncentre_intercept(W, bc), b, atol=1e-12)


@pytest.mark.parametrize("sparse", [False, True])
@pytest.mark.parametrize("fit_intercept", [True, False])
@pytest.mark.parametrize("case", ["shared", "shared_nan", "shared_tw", "blocks_kernel",
                                  "blocks_loop", "blocks_sorted_loop"])
def test_task_gram_matches_its_definition(case, fit_intercept, sparse, monkeypatch):
    """H_t = A_t^T diag(c_t) A_t and r_t = A_t^T (c_t * y_t), A_t = [X - mu_t, 1], on
    every path: the shared design's single Gram matrix (no missing labels, with or
    without task weights), its per-task fallback (NaN labels), the per-task compiled
    kernel (many small tasks) and its loop of BLAS products (rows in any order, or
    sorted by task: slices of X)."""
    from mtlreg._tasks import grouped as _grouped

    if case.startswith("blocks"):
        monkeypatch.setattr(_grouped, "LOOP_MIN_TASK_WORK",
                            np.inf if case == "blocks_kernel" else 0.0)
        layout, X, y, s, codes = _blocks(sw=True, fit_intercept=fit_intercept, sparse=sparse,
                                         shuffle=case != "blocks_sorted_loop")
        C = np.zeros((len(y), 3))
        C[np.arange(len(y)), codes] = layout.c
        Yt = np.repeat(y[:, None], 3, axis=1)
    else:
        tw = [0.5, 1.0, 3.0] if case == "shared_tw" else None
        layout, X, Y, s = _shared(nan=case == "shared_nan", sw=True, task_weights=tw,
                                  fit_intercept=fit_intercept, sparse=sparse)
        C, Yt = layout.c, np.nan_to_num(Y)
    H, r = layout.task_gram()
    for t in range(3):
        A = X - layout.mu[t] if fit_intercept else X
        if fit_intercept:
            A = np.hstack([A, np.ones((len(A), 1))])
        assert_allclose(H[t], A.T @ (C[:, t, None] * A), rtol=1e-12, atol=1e-12)
        assert_allclose(r[t], A.T @ (C[:, t] * Yt[:, t]), rtol=1e-12, atol=1e-12)
        assert_array_equal(H[t], H[t].T)


@pytest.mark.parametrize("n_features, n_tasks, expected", [
    (5, 3, "GramQuadratic"),      # k = 6 <= 4 T: the Gram matrix is cheap to build
    (40, 3, "Quadratic"),         # k = 41 > 4 T: coordinate descent reads the data
])
def test_shared_gram_form_for_coordinate_descent(n_features, n_tasks, expected):
    """With coordinate descent ahead the shared design keeps X unless k <= 4 T; other
    solvers (FISTA, ADMM) take the Gram form whenever its iterations are cheaper."""
    from mtlreg.datafits import make_datafit

    layout, *_ = _shared(n=400, d=n_features, T=n_tasks)
    assert type(make_datafit("squared", layout, for_coordinate_descent=True)).__name__ == expected
    assert type(make_datafit("squared", layout)).__name__ == "GramQuadratic"


@pytest.mark.parametrize("task_weights", [None, "samples", [0.5, 1.0, 3.0]])
def test_observation_weights_scaling(task_weights):
    """c_it = lambda_t s_i / n_t: each task's weights sum to lambda_t."""
    layout, X, Y, s = _shared(nan=True, sw=True, task_weights=task_weights)
    mask = ~np.isnan(Y)
    n_t = (s[:, None] * mask).sum(axis=0)
    lam = _lambdas(task_weights, n_t)
    assert_allclose(layout.c, mask * s[:, None] * lam / n_t)
    assert_allclose(layout.c.sum(axis=0), lam)
    assert_array_equal(layout.y[~mask], 0.0)

    layout, X, y, s, codes = _blocks(sw=True, task_weights=task_weights)
    n_t = np.bincount(codes, weights=s)
    lam = _lambdas(task_weights, n_t)
    assert_allclose(layout.c, s * (lam / n_t)[codes])
    assert_allclose(np.bincount(codes, weights=layout.c), lam)


def _lambdas(spec, n_t):
    if spec is None:
        return np.ones(len(n_t))
    if spec == "samples":
        return len(n_t) * n_t / n_t.sum()
    return np.asarray(spec, dtype=float)


def test_shared_layout_without_nan_is_sklearn_scaling():
    """1/(2n) ||Y - XW - b||_F^2 for unit weights and no missing label."""
    layout, X, Y, s = _shared(nan=False)
    rng = np.random.default_rng(3)
    W, b = rng.standard_normal((5, 3)), rng.standard_normal(3)
    Z = layout.matvec(W, layout.centre_intercept(W, b))
    assert_allclose(Quadratic(layout).value(Z), ((Y - X @ W - b) ** 2).sum() / (2 * len(Y)))


def _exact_lipschitz(layout, d, T):
    """Largest eigenvalue of the (block-diagonal over tasks) Hessian of sum c (z-y)^2 / 2."""
    A = _dense_operator(layout, d, T)
    c = layout.c.ravel()
    H = A.T @ (c[:, None] * A)
    if not layout.fit_intercept:
        H = H[: d * T, : d * T]
    return np.linalg.eigvalsh(H)[-1]


@pytest.mark.parametrize("fit_intercept", [True, False])
@pytest.mark.parametrize("sparse", [False, True])
def test_lipschitz_bound(fit_intercept, sparse):
    d, T = 5, 3
    # exact where the bound is tight by construction
    layout = _shared(sw=True, task_weights=[1.0, 2.0, 0.5], fit_intercept=fit_intercept,
                     sparse=sparse)[0]
    assert_allclose(layout.sq_norm_bound(), _exact_lipschitz(layout, d, T), rtol=1e-8)
    layout = _blocks(sw=True, task_weights="samples", fit_intercept=fit_intercept,
                     sparse=sparse)[0]
    assert_allclose(layout.sq_norm_bound(), _exact_lipschitz(layout, d, T), rtol=1e-8)
    # a valid upper bound with missing labels
    layout = _shared(sw=True, nan=True, fit_intercept=fit_intercept, sparse=sparse)[0]
    exact = _exact_lipschitz(layout, d, T)
    assert exact <= layout.sq_norm_bound() <= 10 * exact
    # the datafits scale it by their curvature
    assert_allclose(Quadratic(layout).lipschitz(), layout.sq_norm_bound())
    assert_allclose(Logistic(layout).lipschitz(), 0.25 * layout.sq_norm_bound())


@pytest.mark.parametrize("fit_intercept", [True, False])
def test_lipschitz_bound_lanczos_path(fit_intercept):
    """More than 600 rows and columns: the bound comes from Lanczos, still an upper bound."""
    rng = np.random.default_rng(4)
    n, d = 605, 602
    X = sp.random(n, d, density=0.01, random_state=5, format="csr") + 0.0
    X.data += 1.0
    Y = rng.standard_normal((n, 1))
    layout = SharedDesign(X, Y, np.ones(n), None, fit_intercept)
    Xd = X.toarray()
    mu = Xd.mean(axis=0) if fit_intercept else np.zeros(d)
    M = Xd - mu
    if fit_intercept:
        M = np.hstack([M, np.ones((n, 1))])
    exact = np.linalg.eigvalsh(M.T @ M)[-1] / n
    bound = layout.sq_norm_bound()
    assert exact <= bound <= exact * (1 + 1e-4)


def test_task_sample_counts():
    mask = np.array([[1, 0], [1, 1], [0, 1]], dtype=bool)
    s = np.array([1.0, 2.0, 0.5])
    assert_allclose(task_sample_counts(mask, s, None, np.arange(2)), [3.0, 2.5])
    codes = np.array([0, 1, 1])
    assert_allclose(task_sample_counts(None, s, codes, np.array(["a", "b"])), [1.0, 2.5])
    with pytest.raises(ValueError, match=r"Task\(s\) \['b'\] have no labelled sample"):
        task_sample_counts(None, np.array([1.0, 0.0, 0.0]), codes, np.array(["a", "b"]))
    # a task with no rows at all (minlength) is empty too
    with pytest.raises(ValueError, match=r"\['c'\]"):
        task_sample_counts(None, s, codes, np.array(["a", "b", "c"]))


def test_resolve_task_weights():
    tasks = np.array([3, 5, 7])
    n_t = np.array([10.0, 30.0, 20.0])
    assert_array_equal(resolve_task_weights(None, tasks, n_t), [1, 1, 1])
    assert_allclose(resolve_task_weights("samples", tasks, n_t), 3 * n_t / 60)
    assert_allclose(resolve_task_weights([1, 2, 3], tasks, n_t), [1, 2, 3])
    # dict keys match whatever the numeric type; unnamed tasks get 1
    assert_allclose(resolve_task_weights({5.0: 4.0}, tasks, n_t), [1, 4, 1])
    assert_allclose(resolve_task_weights({np.int32(7): 0.0}, tasks.astype(float), n_t),
                    [1, 1, 0])
    assert_allclose(resolve_task_weights({"b": 2.0}, np.array(["a", "b"]), n_t[:2]), [1, 2])
    with pytest.raises(ValueError, match="expected \\(3,\\)"):
        resolve_task_weights([1, 2], tasks, n_t)
    with pytest.raises(ValueError, match="non-negative"):
        resolve_task_weights([1, -2, 3], tasks, n_t)
    with pytest.raises(ValueError, match="finite"):
        resolve_task_weights([1, np.inf, 3], tasks, n_t)
    with pytest.raises(ValueError, match="positive sum"):
        resolve_task_weights([0, 0, 0], tasks, n_t)
    with pytest.raises(ValueError, match=r"names task\(s\) \[4\]"):
        resolve_task_weights({4: 1.0}, tasks, n_t)


@pytest.mark.parametrize("sparse", [False, True])
def test_rowwise_predict(sparse):
    rng = np.random.default_rng(6)
    X = rng.standard_normal((20, 4))
    X[X < 0] = 0
    codes = rng.integers(0, 3, 20)
    coef = rng.standard_normal((3, 4))
    intercept = rng.standard_normal(3)
    expected = np.einsum("ij,ij->i", X, coef[codes]) + intercept[codes]
    Xin = sp.csc_matrix(X) if sparse else X  # any sparse format, any dtype
    assert_allclose(rowwise_predict(Xin, codes, coef, intercept), expected, atol=1e-13)
    assert_allclose(rowwise_predict(X.astype(np.float32), codes, coef, intercept), expected,
                    atol=1e-6)


# =========================================================================== datafits
@pytest.mark.parametrize("loss", ["squared", "logistic"])
@pytest.mark.parametrize("kind", ["shared", "blocks"])
def test_datafit_value_gradient_and_null_intercept(kind, loss):
    d, T = 5, 3
    rng = np.random.default_rng(7)
    if kind == "shared":
        layout, X, Y, s = _shared(d=d, T=T, nan=True, sw=True, task_weights=[1, 2, 0.5])
        if loss == "logistic":
            Yl = np.where(np.isnan(Y), np.nan, (Y > 0).astype(float))
            layout = SharedDesign(X, Yl, s, [1, 2, 0.5], True)
            Y = Yl
        problem = build_problem(X, Y, sample_weight=s, task_weights=[1, 2, 0.5])
    else:
        layout, X, y, s, codes = _blocks(d=d, sw=True, task_weights="samples")
        if loss == "logistic":
            y = (y > 0).astype(float)
            layout = TaskBlocks(X, y, codes, np.arange(T), s, "samples", True)
        problem = build_problem(X, y, task_ids=codes, sample_weight=s, task_weights="samples")
    datafit = (Quadratic if loss == "squared" else Logistic)(layout)
    W, b = rng.standard_normal((d, T)) * 0.3, rng.standard_normal(T)
    bc = layout.centre_intercept(W, b)
    Z = datafit.linear_predictor(W, bc)
    assert_allclose(datafit.value(Z), numpy_objective(problem, W, b, alpha=0.0, loss=loss),
                    rtol=1e-12)
    # gradient w.r.t. W at fixed uncentred intercept = the centred gradient corrected by
    # the intercept gradient; compare both parts against the independent formula
    G, gb = datafit.gradient(Z)
    G_ref, gb_ref = numpy_gradient(problem, W, b, loss=loss)
    assert_allclose(gb, gb_ref, atol=1e-12)
    assert_allclose(G + layout.mu.T * gb, G_ref, atol=1e-12)
    # the null intercept zeroes the intercept gradient at W = 0
    b0 = datafit.initial_intercept()
    W0 = np.zeros((d, T))
    _, gb0 = datafit.gradient(datafit.linear_predictor(W0, b0))
    assert_allclose(gb0, 0.0, atol=1e-12)


# =========================================================================== validation
@pytest.fixture
def shared():
    return make_data("shared", "squared", seed=0)


@pytest.fixture
def per_task():
    return make_data("per_task", "squared", seed=0)


@pytest.mark.parametrize("value", [np.nan, np.inf, -np.inf])
def test_nonfinite_X_rejected(shared, per_task, value):
    X = shared.X.copy()
    X[3, 2] = value
    with pytest.raises(ValueError, match="Input X contains (NaN|infinity)"):
        GroupLassoRegressor().fit(X, shared.y)
    X = per_task.X.copy()
    X[3, 2] = value
    with pytest.raises(ValueError, match="Input X contains (NaN|infinity)"):
        GroupLassoRegressor(task_column=0).fit(X, per_task.y)
    X = per_task.X.copy()
    X[3, 0] = value
    with pytest.raises(ValueError, match="task column contains NaN or infinite"):
        GroupLassoRegressor(task_column=0).fit(X, per_task.y)
    # and at predict time
    est = GroupLassoRegressor().fit(shared.X, shared.y)
    X = shared.X.copy()
    X[0, 0] = value
    with pytest.raises(ValueError, match="Input X contains (NaN|infinity)"):
        est.predict(X)


def test_task_column_with_missing_value_in_frame(per_task):
    df = pd.DataFrame(per_task.X[:, 1:], columns=[f"f{k}" for k in range(6)])
    df.insert(0, "task", np.array(["a", "b", "c"], dtype=object)[per_task.task_ids])
    df.loc[2, "task"] = None
    with pytest.raises(ValueError, match="task column contains missing values"):
        GroupLassoRegressor(task_column="task").fit(df, per_task.y)


@pytest.mark.parametrize("value", [np.inf, -np.inf])
def test_infinite_y_rejected(shared, per_task, value):
    y = shared.y.copy()
    y[1, 1] = value
    with pytest.raises(ValueError, match="y contains infinity"):
        GroupLassoRegressor().fit(shared.X, y)
    y = per_task.y.copy()
    y[1] = value
    with pytest.raises(ValueError, match="y contains infinity"):
        GroupLassoRegressor(task_column=0).fit(per_task.X, y)


def test_wrong_shapes(shared, per_task):
    with pytest.raises(ValueError, match=r"y has shape \(39, 3\).*40"):
        GroupLassoRegressor().fit(shared.X, shared.y[:-1])
    with pytest.raises(ValueError, match=r"y has shape"):
        GroupLassoRegressor(task_column=0).fit(per_task.X, per_task.y[:-1])
    with pytest.raises(ValueError, match="With task_column set, y must be 1-D"):
        GroupLassoRegressor(task_column=0).fit(per_task.X,
                                               np.column_stack([per_task.y, per_task.y]))
    with pytest.raises(ValueError, match="y has shape"):
        GroupLassoRegressor().fit(shared.X, shared.y[:, :, None])
    with pytest.raises(ValueError, match="no task"):
        GroupLassoRegressor().fit(shared.X, np.empty((40, 0)))
    with pytest.raises(ValueError, match="requires y"):
        GroupLassoRegressor().fit(shared.X, None)
    with pytest.raises(ValueError, match="2D array"):
        GroupLassoRegressor().fit(shared.X[:, 0], shared.y)
    with pytest.raises(ValueError, match="2D array"):
        GroupLassoRegressor(task_column=0).fit(per_task.X[:, 0], per_task.y)
    est = GroupLassoRegressor().fit(shared.X, shared.y)
    with pytest.raises(ValueError, match="X has 5 features, but GroupLassoRegressor is "
                                         "expecting 6 features"):
        est.predict(shared.X[:, :-1])
    est = GroupLassoRegressor(task_column=0).fit(per_task.X, per_task.y)
    with pytest.raises(ValueError, match="expecting 7 features"):
        est.predict(per_task.X[:, :-1])
    # a (n, 1) target is accepted as 1-D in the per-task layout
    est.fit(per_task.X, per_task.y[:, None])
    assert est.predict(per_task.X).shape == (len(per_task.y),)


def test_numeric_y_required_by_regressor(shared):
    with pytest.raises(ValueError, match="y must be numeric"):
        GroupLassoRegressor().fit(shared.X, np.array(["a"] * 40))


def test_empty_task(shared, per_task):
    y = shared.y.copy()
    y[:, 1] = np.nan
    with pytest.raises(ValueError, match=r"Task\(s\) \[1\] have no labelled sample"):
        GroupLassoRegressor().fit(shared.X, y)
    sw = np.ones(len(per_task.y))
    sw[per_task.task_ids == 2] = 0.0
    with pytest.raises(ValueError, match=r"Task\(s\) \[2(\.0)?\] have no labelled sample"):
        GroupLassoRegressor(task_column=0).fit(per_task.X, per_task.y, sample_weight=sw)
    # the labelled rows of a task all with zero weight, in the shared layout
    y = shared.y.copy()
    y[10:, 0] = np.nan
    sw = np.ones(40)
    sw[:10] = 0.0
    with pytest.raises(ValueError, match=r"Task\(s\) \[0\] have no labelled sample"):
        GroupLassoRegressor().fit(shared.X, y, sample_weight=sw)
    # NaN targets in the per-task layout: a task left with no label is empty too
    y = per_task.y.copy()
    y[per_task.task_ids == 1] = np.nan
    with pytest.raises(ValueError, match=r"Task\(s\) \[1(\.0)?\] have no labelled sample"):
        GroupLassoRegressor(task_column=0).fit(per_task.X, y)


def test_bad_sample_weight(shared):
    with pytest.raises(ValueError, match="Negative values"):
        GroupLassoRegressor().fit(shared.X, shared.y, sample_weight=-np.ones(40))
    with pytest.raises(ValueError, match="sample_weight"):
        GroupLassoRegressor().fit(shared.X, shared.y, sample_weight=np.ones(39))


def test_unseen_task_at_predict(per_task):
    est = GroupLassoRegressor(task_column=0).fit(per_task.X, per_task.y)
    X = per_task.X.copy()
    X[5, 0] = 17
    with pytest.raises(ValueError, match=r"Unknown task\(s\) \['17(\.0)?'\]"):
        est.predict(X)
    df = pd.DataFrame(per_task.X[:, 1:], columns=[f"f{k}" for k in range(6)])
    df.insert(0, "task", np.array(["a", "b", "c"])[per_task.task_ids])
    est = GroupLassoRegressor(task_column="task").fit(df, per_task.y)
    df.loc[0, "task"] = "zz"
    with pytest.raises(ValueError, match=r"Unknown task\(s\) \['zz'\]"):
        est.predict(df)
    # numbers against string task labels
    df["task"] = np.array(["a", "b", "c"])[per_task.task_ids]
    est = GroupLassoRegressor(task_column="task").fit(df, per_task.y)
    with pytest.raises(ValueError, match=r"Unknown task\(s\)"):
        est.predict(df.assign(task=per_task.task_ids))


def test_classifier_target_checks():
    data = make_data("shared", "logistic", seed=1)
    per = make_data("per_task", "logistic", seed=1)
    # three classes: the softmax model (tests/test_multiclass.py); the classes are the union
    assert GroupLassoClassifier().fit(data.X, np.arange(40) % 3).coef_.shape[1] == 3
    assert len(GroupLassoClassifier(task_column=0).fit(per.X, np.arange(len(per.y)) % 3).classes_) == 3
    with pytest.raises(ValueError, match="Unknown label type"):
        GroupLassoClassifier().fit(data.X, np.linspace(0, 1, 40))
    with pytest.raises(ValueError, match="only one class"):
        GroupLassoClassifier().fit(data.X, np.ones(40))
    # one task with a single class (its intercept would be unbounded)
    y = per.y.copy()
    y[per.task_ids == 1] = 1
    with pytest.raises(ValueError, match=r"Task\(s\) \[1(\.0)?\] have samples of only one"):
        GroupLassoClassifier(task_column=0).fit(per.X, y)
    Y = data.y.copy()
    Y[:, 2] = 0
    with pytest.raises(ValueError, match=r"Task\(s\) \[2\] have samples of only one"):
        GroupLassoClassifier().fit(data.X, Y)
    # ... also when the other class only has zero sample weight
    sw = np.where(data.y[:, 0] == 1, 0.0, 1.0)
    with pytest.raises(ValueError, match=r"Task\(s\) \[0\] have samples of only one"):
        GroupLassoClassifier().fit(data.X, data.y[:, 0], sample_weight=sw)
    # the error message's advice works: without intercept the problem is bounded
    clf = GroupLassoClassifier(task_column=0, fit_intercept=False).fit(per.X, y)
    assert np.all(np.isfinite(clf.coef_))


@pytest.mark.parametrize(
    "params, match",
    [
        ({"alpha": -1.0}, "'alpha' parameter"),
        ({"l2_reg": -0.1}, "'l2_reg' parameter"),
        ({"tol": -1e-3}, "'tol' parameter"),
        ({"max_iter": 0}, "'max_iter' parameter"),
        ({"task_weights": "uniform"}, "'task_weights' parameter"),
        ({"task_column": 1.5}, "'task_column' parameter"),
        ({"fit_intercept": "yes"}, "'fit_intercept' parameter"),
        ({"positive": 1.0}, "'positive' parameter"),
    ],
)
@pytest.mark.parametrize("Est", [GroupLassoRegressor, GroupLassoClassifier])
def test_invalid_parameters(Est, params, match):
    data = make_data("shared", "logistic", seed=2)
    with pytest.raises(InvalidParameterError, match=match):
        Est(**params).fit(data.X, data.y)


def test_bad_task_weights(shared, per_task):
    with pytest.raises(ValueError, match=r"task_weights has shape \(2,\); expected \(3,\)"):
        GroupLassoRegressor(task_weights=[1.0, 2.0]).fit(shared.X, shared.y)
    with pytest.raises(ValueError, match="non-negative"):
        GroupLassoRegressor(task_weights=[1.0, -2.0, 1.0]).fit(shared.X, shared.y)
    with pytest.raises(ValueError, match="non-negative"):
        GroupLassoRegressor(task_weights={0: -1.0}).fit(shared.X, shared.y)
    with pytest.raises(ValueError, match=r"names task\(s\) \[7\] that are not in the data"):
        GroupLassoRegressor(task_weights={7: 1.0}).fit(shared.X, shared.y)
    with pytest.raises(ValueError, match=r"names task\(s\) \['x'\]"):
        GroupLassoRegressor(task_column=0, task_weights={"x": 1.0}).fit(per_task.X,
                                                                       per_task.y)
    with pytest.raises(ValueError, match="positive sum"):
        GroupLassoRegressor(task_weights=[0.0, 0.0, 0.0]).fit(shared.X, shared.y)
    # a zero weight for one task is allowed (the task is then unfitted data-wise)
    est = GroupLassoRegressor(task_weights=[1.0, 0.0, 1.0]).fit(shared.X, shared.y)
    assert np.all(np.isfinite(est.coef_))


def test_bad_task_column(per_task):
    with pytest.raises(ValueError, match="task_column=10 is out of range for X with 7"):
        GroupLassoRegressor(task_column=10).fit(per_task.X, per_task.y)
    with pytest.raises(ValueError, match="task_column=-8 is out of range"):
        GroupLassoRegressor(task_column=-8).fit(per_task.X, per_task.y)
    with pytest.raises(ValueError, match="needs X to be a pandas DataFrame"):
        GroupLassoRegressor(task_column="school").fit(per_task.X, per_task.y)
    df = pd.DataFrame(per_task.X, columns=list("abcdefg"))
    with pytest.raises(ValueError, match="task_column='z' is not a column of X"):
        GroupLassoRegressor(task_column="z").fit(df, per_task.y)
    # negative indices count from the end
    X = np.column_stack([per_task.X[:, 1:], per_task.X[:, 0]])
    a = GroupLassoRegressor(task_column=-1).fit(X, per_task.y)
    b = GroupLassoRegressor(task_column=0).fit(per_task.X, per_task.y)
    assert_allclose(a.coef_, b.coef_)


def test_not_fitted(shared):
    for est in (GroupLassoRegressor(), GroupLassoClassifier()):
        with pytest.raises(NotFittedError):
            est.predict(shared.X)


def _failing_fits():
    shared = make_data("shared", "squared", seed=3)
    per = make_data("per_task", "logistic", seed=3)
    y_empty = shared.y.copy()
    y_empty[:, 0] = np.nan
    y_one = per.y.copy()
    y_one[per.task_ids == 0] = 0
    return [
        ("empty task", GroupLassoRegressor(), shared.X, y_empty),
        ("bad task weights", GroupLassoRegressor(task_weights=[1.0]), shared.X, shared.y),
        ("y length", GroupLassoRegressor(), shared.X, shared.y[:-2]),
        ("single class task", GroupLassoClassifier(task_column=0), per.X, y_one),
        ("multiclass task lacking a class", GroupLassoClassifier(task_column=0), per.X,
         np.where(per.task_ids == 0, np.arange(len(per.y)) % 2, np.arange(len(per.y)) % 3)),
    ]


@pytest.mark.parametrize("case", _failing_fits(), ids=lambda c: c[0])
def test_failed_fit_leaves_estimator_unfitted(case):
    _, est, X, y = case
    with pytest.raises(ValueError):
        est.fit(X, y)
    assert not hasattr(est, "coef_")
    assert not hasattr(est, "intercept_")
    assert not hasattr(est, "tasks_")
    # still "not fitted" for scikit-learn: predict says so instead of failing obscurely
    with pytest.raises(NotFittedError):
        check_is_fitted(est)
    with pytest.raises(NotFittedError):
        est.predict(X)


def test_numeric_looking_string_task_labels_stay_distinct():
    """Task labels "1", "01" and "007" are three distinct (string) tasks."""
    data = make_data("per_task", "squared", seed=4, T=3)
    names = np.array(["1", "01", "007"], dtype=object)
    df = pd.DataFrame(data.features, columns=[f"f{k}" for k in range(6)])
    df.insert(0, "school", names[data.task_ids])
    est = GroupLassoRegressor(alpha=0.01, task_column="school").fit(df, data.y)
    assert est.n_tasks_ == 3
    assert_array_equal(est.tasks_, np.sort(names.astype(str)))
    # same model as with the (unambiguous) integer codes
    ref = GroupLassoRegressor(alpha=0.01, task_column=0).fit(data.X, data.y)
    assert_allclose(est.predict(df), ref.predict(data.X), atol=1e-6)
    # dict task weights keyed by the labels
    GroupLassoRegressor(alpha=0.01, task_column="school",
                        task_weights={"007": 2.0}).fit(df, data.y)


def test_failed_refit_keeps_the_previous_fit(shared):
    est = GroupLassoRegressor(alpha=0.05).fit(shared.X, shared.y)
    coef, intercept, pred = est.coef_.copy(), est.intercept_.copy(), est.predict(shared.X)
    y_bad = shared.y.copy()
    y_bad[:, 0] = np.nan  # empty task
    with pytest.raises(ValueError, match="no labelled sample"):
        est.fit(shared.X[:, :4], y_bad)  # also a different number of features
    assert est.n_features_in_ == shared.X.shape[1]
    assert_array_equal(est.coef_, coef)
    assert_array_equal(est.intercept_, intercept)
    assert_array_equal(est.predict(shared.X), pred)


def test_numeric_task_ids_in_object_array(per_task):
    """An object column of numbers is numeric: same tasks as the float column."""
    X_obj = per_task.X.astype(object)
    X_obj[:, 0] = [int(v) for v in per_task.task_ids]  # Python ints
    a = GroupLassoRegressor(alpha=0.05, task_column=0).fit(X_obj, per_task.y)
    b = GroupLassoRegressor(alpha=0.05, task_column=0).fit(per_task.X, per_task.y)
    assert a.tasks_.dtype.kind == "f"
    assert_array_equal(a.tasks_, b.tasks_)
    assert_allclose(a.coef_, b.coef_)
    assert_allclose(a.predict(per_task.X), b.predict(per_task.X))


@pytest.mark.parametrize("dtype", ["Float64", "Int64"])
def test_nullable_pandas_targets_in_shared_layout(dtype):
    """A target DataFrame with pandas nullable dtypes: pd.NA is a missing label, like NaN."""
    data = make_data("shared", "squared", seed=5)
    Y = np.round(data.y * 4) if dtype == "Int64" else data.y.copy()
    Y[::6, 1] = np.nan
    Y_frame = pd.DataFrame(Y).astype(dtype)  # NaN becomes pd.NA
    assert Y_frame.isna().to_numpy().sum() == np.isnan(Y).sum()
    ref = GroupLassoRegressor(alpha=0.05).fit(data.X, Y)
    est = GroupLassoRegressor(alpha=0.05).fit(data.X, Y_frame)
    assert_allclose(est.coef_, ref.coef_)
    assert_allclose(est.intercept_, ref.intercept_)

    clf_data = make_data("shared", "logistic", seed=5)
    Yc = clf_data.y.copy()
    Yc[::6, 1] = np.nan
    ref = GroupLassoClassifier(alpha=0.01).fit(clf_data.X, Yc)
    est = GroupLassoClassifier(alpha=0.01).fit(clf_data.X, pd.DataFrame(Yc).astype(dtype))
    assert_allclose(est.coef_, ref.coef_)
    assert_array_equal(est.classes_, [0, 1])
    # without any missing value as well
    full = pd.DataFrame(clf_data.y).astype(dtype)
    est = GroupLassoClassifier(alpha=0.01).fit(clf_data.X, full)
    ref = GroupLassoClassifier(alpha=0.01).fit(clf_data.X, clf_data.y)
    assert_allclose(est.coef_, ref.coef_)


@pytest.mark.parametrize("position", [0, 2, -1])
def test_task_column_memory_order_and_dtype_do_not_matter(position):
    """The task column is split off in one copy whatever X's memory order (School
    ships Fortran-ordered) or integer dtype: the same fit for every variant."""
    rng = np.random.default_rng(0)
    feats = rng.integers(-3, 4, size=(60, 4))
    tasks = rng.integers(0, 3, size=60)
    y = feats @ np.array([1.0, -2.0, 0.0, 0.5]) + tasks + 0.1 * rng.standard_normal(60)
    X = np.insert(feats, position % 5, tasks, axis=1)
    fits = []
    for variant in (X, np.asfortranarray(X), X.astype(float), np.asfortranarray(X.astype(float))):
        est = GroupLassoRegressor(task_column=position, alpha=0.05, tol=1e-10).fit(variant, y)
        fits.append(est.coef_)
        assert_allclose(est.predict(variant), est.predict(X.astype(float)), rtol=1e-12)
    for coef in fits[1:]:
        assert_allclose(coef, fits[0], rtol=1e-10, atol=1e-12)
    assert np.abs(fits[0]).max() > 0.1


# ------------------------------------------------ one pass over the input (issue 15)
def _per_task_array(position, order="C", dtype=np.float64, seed=11):
    from mtlreg.datasets import make_multitask_regression

    X, y = make_multitask_regression([40, 30, 50], 5, 3, layout="per_task", noise=0.5,
                                     random_state=seed)  # task column first
    X = np.insert(X[:, 1:], position, X[:, 0], axis=1) if position else X
    return np.asarray(X, dtype=dtype, order=order), y


@pytest.mark.parametrize("position", [0, -1])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_task_column_first_or_last_features_are_a_view(position, dtype):
    """Task column first or last in an array with contiguous rows: the features are a
    view of the user's array (no copy of X), the fit equals the fit on a C-ordered copy
    of the features with the task column in the middle, and X is left untouched."""
    from sklearn.base import clone

    from mtlreg import GroupLassoRegressor

    pos = position % 6
    X, y = _per_task_array(pos, dtype=dtype)
    before = X.copy()
    est = GroupLassoRegressor(alpha=0.05, task_column=position, tol=1e-10, max_iter=10_000)
    layout = clone(est)._prepare(X, y, None)[0]
    if dtype == np.float64 or X.shape[1] - 1 + 1 > 256:  # float32 small d: statistics
        assert np.shares_memory(layout.X, X)
    est.fit(X, y)
    np.testing.assert_array_equal(X, before)
    X_mid, _ = _per_task_array(2, dtype=dtype)
    mid = GroupLassoRegressor(alpha=0.05, task_column=2, tol=1e-10,
                              max_iter=10_000).fit(X_mid, y)
    np.testing.assert_allclose(est.coef_, mid.coef_, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(est.predict(X), mid.predict(X_mid), rtol=1e-9, atol=1e-12)


def test_kernels_compiled_for_one_layout_whatever_the_input_order():
    """C- and F-ordered inputs, the task column first or in the middle: the features
    reach the compiled row and Gram kernels as one array type (rows strided beside a
    spare column, numba's 'A' layout), so the kernels are compiled once, not again
    for C-contiguous copies (a *CV estimator on a ColumnTransformer's F-ordered output
    compiled them twice: its folds are cut in C order). A prediction on one row, which
    is C-contiguous whatever its strides, does not add a specialisation either."""
    from mtlreg import GroupLassoRegressor
    from mtlreg._kernels import dense as _kernels

    def x_layouts():
        return {str(sig[0]) for k in (_kernels.task_gram_dense, _kernels.rowwise_matvec_dense)
                for sig in k.signatures
                if sig[0].ndim == 2 and str(sig[0].dtype) == "float64"}

    before = x_layouts()  # other tests in this process may have compiled others
    for position, order in [(0, "C"), (0, "F"), (2, "C"), (2, "F")]:
        X, y = _per_task_array(position, order=order)
        # 360 rows: the kernel predicts them; a single row (C-contiguous) NumPy does
        X, y = np.asarray(np.tile(X, (3, 1)), order=order), np.tile(y, 3)
        est = GroupLassoRegressor(alpha=0.05, task_column=position).fit(X, y)
        pred = est.predict(X)
        np.testing.assert_allclose(est.predict(X[:1]), pred[:1], rtol=1e-13)
    assert x_layouts() - before <= {"array(float64, 2d, A)"}
    assert "array(float64, 2d, A)" in x_layouts()


@pytest.mark.parametrize("order, position", [("F", 0), ("C", 2)])
def test_task_column_features_copied_when_rows_not_contiguous(order, position):
    from sklearn.base import clone

    from mtlreg import GroupLassoRegressor

    X, y = _per_task_array(position, order=order)
    est = GroupLassoRegressor(alpha=0.05, task_column=position)
    layout = clone(est)._prepare(X, y, None)[0]
    assert not np.shares_memory(layout.X, X)
    # rows contiguous, strided like the view beside a task column (a spare column):
    # the kernels see the same array type as for a C-ordered X with its task column
    assert layout.X.strides == (X.shape[1] * X.itemsize, X.itemsize)
    np.testing.assert_array_equal(layout.X, np.delete(X, position, axis=1))


@pytest.mark.parametrize("value, message", [(np.nan, "Input X contains NaN"),
                                            (np.inf, "Input X contains infinity"),
                                            (-np.inf, "Input X contains infinity")])
@pytest.mark.parametrize("position", [0, -1, None])
@pytest.mark.parametrize("compiled", [False, True])
def test_one_pass_finiteness_check_keeps_scikit_learn_messages(value, message, position,
                                                               compiled, monkeypatch):
    from mtlreg import GroupLassoClassifier, GroupLassoRegressor
    from mtlreg.utils import validation

    if compiled:  # the compiled scan, used on large X, on this small one
        monkeypatch.setattr(validation, "_SCAN_MIN_SIZE", 0)

    X, y = _per_task_array(0)
    if position is None:  # shared layout
        X = X[:, 1:].copy()
    elif position == -1:
        X = np.roll(X, -1, axis=1)
    X[7, 2] = value
    for est in (GroupLassoRegressor(task_column=position),
                GroupLassoClassifier(task_column=position)):
        target = y if est._loss == "squared" else (y > np.median(y)).astype(int)
        with pytest.raises(ValueError, match=message):
            est.fit(X, target)


def test_one_pass_scan_gives_the_column_magnitudes():
    from mtlreg.utils._scan import finite_column_max

    rng = np.random.default_rng(3)
    A = rng.standard_normal((50, 7)) * np.logspace(-3, 3, 7)
    for B in (A, np.asfortranarray(A), A[:, 1:], A.astype(np.float32)):
        col_max, finite = finite_column_max(B)
        assert finite
        np.testing.assert_allclose(col_max, np.abs(B).max(axis=0), rtol=1e-7)
    B = A.copy()
    B[3, 4] = np.nan
    assert not finite_column_max(B)[1]
    assert not finite_column_max(np.asfortranarray(B))[1]


def test_task_column_view_fit_peak_memory_below_a_copy():
    """No copy of the features in the fit (per-task layout, task column first)."""
    import tracemalloc

    from mtlreg import GroupLassoRegressor

    rng = np.random.default_rng(4)
    n, d, T = 16_000, 300, 20  # d + 1 > 256: the solver works on X (no Gram form)
    X = np.empty((n, d + 1))
    X[:, 0] = rng.integers(0, T, n)
    X[:, 1:] = rng.standard_normal((n, d))
    y = X[:, 1:4].sum(axis=1) + rng.standard_normal(n)
    est = GroupLassoRegressor(alpha=0.5, task_column=0)
    est.fit(X[:500], y[:500])  # compile outside the measure
    tracemalloc.start()
    est.fit(X, y)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 0.5 * n * d * 8  # a copy of the features alone: 38 MB


def test_task_column_dataframe_features_converted_once_to_row_order():
    from sklearn.base import clone

    from mtlreg import GroupLassoRegressor

    X, y = _per_task_array(0)
    df = pd.DataFrame(X, columns=["task"] + [f"f{j}" for j in range(X.shape[1] - 1)])
    est = GroupLassoRegressor(alpha=0.05, task_column="task")
    layout = clone(est)._prepare(df, y, None)[0]
    assert layout.X.flags.c_contiguous
    np.testing.assert_array_equal(layout.X, X[:, 1:])
