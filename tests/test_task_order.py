"""The time order of the tasks in the temporal models (TGL, fused group lasso).

Sorted task labels are the default order; string labels sort lexicographically
(``"t10" < "t2"``), which warns when it differs from their natural order, and
``task_order`` gives the order explicitly.
"""

import warnings

import numpy as np
import pandas as pd
import pytest

import mtlreg

NATURAL = ["t1", "t2", "t3", "t10"]  # sorted: t1, t10, t2, t3


def _per_task(labels, seed=0, n=25, d=4):
    rng = np.random.default_rng(seed)
    T = len(labels)
    W = np.cumsum(rng.standard_normal((d, T)) * 0.3, axis=1) + rng.standard_normal((d, 1))
    task = np.repeat(np.arange(T), n)
    F = rng.standard_normal((len(task), d))
    y = np.einsum("ij,ji->i", F, W[:, task]) + 0.3 * rng.standard_normal(len(task))
    X = pd.DataFrame(F, columns=[f"x{j}" for j in range(d)])
    X.insert(0, "task", np.asarray(labels, dtype=object)[task])
    return X, y


def _chain_laplacian(order, tasks):
    pos = {t: k for k, t in enumerate(tasks)}
    L = np.zeros((len(tasks), len(tasks)))
    for s, t in zip(order[:-1], order[1:]):
        i, j = pos[s], pos[t]
        L[i, i] += 1
        L[j, j] += 1
        L[i, j] -= 1
        L[j, i] -= 1
    return L


@pytest.mark.parametrize("name", ["TemporalGroupLasso", "FusedGroupLasso"])
def test_lexicographic_string_order_warns(name):
    X, y = _per_task(NATURAL)
    est = getattr(mtlreg, name + "Regressor")(task_column="task")
    with pytest.warns(UserWarning, match="task_order"):
        est.fit(X, y)
    assert list(est.tasks_) == ["t1", "t10", "t2", "t3"]
    with warnings.catch_warnings():  # no warning once the order is given
        warnings.simplefilter("error", UserWarning)
        est.set_params(task_order=NATURAL).fit(X, y)
        # nor for labels whose sorted order is the natural one
        Xn, yn = _per_task(["a", "b", "c", "d"])
        est.set_params(task_order=None).fit(Xn, yn)


def test_temporal_group_lasso_chain_follows_task_order():
    X, y = _per_task(NATURAL)
    est = mtlreg.TemporalGroupLassoRegressor(task_column="task", task_order=NATURAL,
                                             tol=1e-10, max_iter=5000).fit(X, y)
    np.testing.assert_array_equal(est.task_graph_laplacian_,
                                  _chain_laplacian(NATURAL, list(est.tasks_)))
    # the same model as the graph-regularised one with the chain given as edges
    edges = list(zip(NATURAL[:-1], NATURAL[1:]))
    ref = mtlreg.GraphRegularizedRegressor(
        alpha=est.alpha, rho=est.rho, graph=edges, graph_format="edges", sparsity="l21",
        l2_reg=0.0, task_column="task", tol=1e-10, max_iter=5000).fit(X, y)
    np.testing.assert_allclose(est.coef_, ref.coef_, atol=1e-7)
    # and a different model from the lexicographic chain
    with pytest.warns(UserWarning):
        lex = mtlreg.TemporalGroupLassoRegressor(task_column="task", tol=1e-10,
                                                 max_iter=5000).fit(X, y)
    assert np.abs(lex.coef_ - est.coef_).max() > 1e-3


@pytest.mark.parametrize("solver", ["fista", "admm"])
def test_fused_model_follows_task_order(solver):
    """Relabelling the tasks so that sorting gives the time order must give the same
    model as ``task_order`` on the original labels (coefficients in ``tasks_`` order)."""
    X, y = _per_task(NATURAL)
    kw = dict(alpha=0.05, beta=0.2, task_column="task", tol=1e-10, max_iter=20000,
              solver=solver)
    est = mtlreg.FusedGroupLassoRegressor(task_order=NATURAL, **kw).fit(X, y)
    X2 = X.copy()
    X2["task"] = X2["task"].map({t: f"{k:02d}" for k, t in enumerate(NATURAL)})
    ref = mtlreg.FusedGroupLassoRegressor(**kw).fit(X2, y)  # "00" < "01" < ...: time order
    # est.tasks_ = t1, t10, t2, t3; ref.tasks_ = 00 (t1), 01 (t2), 02 (t3), 03 (t10)
    to_ref = [NATURAL.index(t) for t in est.tasks_]
    np.testing.assert_allclose(est.coef_, ref.coef_[to_ref], atol=1e-7)
    assert est.objective_ == pytest.approx(ref.objective_, rel=1e-9)
    # the fused term sees neighbours in time: piecewise constant along NATURAL
    W = ref.coef_.T
    assert np.any(np.diff(W, axis=1) == 0)


@pytest.mark.parametrize("bad, match", [
    (["t1", "t2", "t3"], "each of the 4 tasks"),
    (["t1", "t2", "t3", "t4"], "not a task"),
    (["t1", "t2", "t2", "t10"], "repeated"),
])
@pytest.mark.parametrize("name", ["TemporalGroupLasso", "FusedGroupLasso"])
def test_bad_task_order_is_an_error(name, bad, match):
    X, y = _per_task(NATURAL)
    with pytest.raises(ValueError, match=match):
        getattr(mtlreg, name + "Regressor")(task_column="task", task_order=bad).fit(X, y)


def test_shared_layout_task_order_uses_column_indices():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((50, 3))
    Y = X @ rng.standard_normal((3, 4))
    order = [3, 1, 0, 2]
    est = mtlreg.TemporalGroupLassoRegressor(task_order=order).fit(X, Y)
    np.testing.assert_array_equal(est.task_graph_laplacian_,
                                  _chain_laplacian(order, list(range(4))))
