"""What a user reads when an input is wrong (issue 26, items 5, 7 and 11): public names,
plain task labels, a cut list that says it is cut, the fix named."""

import builtins
import re
import warnings

import numpy as np
import pytest

import mtlreg
from mtlreg import (
    ClusteredRegressor,
    ClusteredRegressorCV,
    GraphRegularizedRegressor,
    GroupLassoClassifier,
    GroupLassoRegressor,
    TemporalGroupLassoRegressor,
)
from mtlreg.datasets import load_school


def _per_task(n_tasks, rows=8, d=3, seed=0, labels=None):
    rng = np.random.default_rng(seed)
    task = np.repeat(np.arange(n_tasks), rows)
    X = np.column_stack([task, rng.standard_normal((len(task), d))])
    y = rng.standard_normal(len(task)) if labels is None else labels(task, rng)
    return X, y


def test_one_class_task_list_says_it_is_cut():
    # 25 tasks with one class only (task t's labels all t % 2), 5 mixed ones
    def labels(task, rng):
        y = (task % 2).astype(float)
        mixed = task >= 25
        y[mixed] = rng.integers(0, 2, mixed.sum())
        y[np.flatnonzero(mixed)[::2]] = 0
        y[np.flatnonzero(mixed)[1::2]] = 1
        return y

    X, y = _per_task(30, labels=labels)
    with pytest.raises(ValueError) as info:
        GroupLassoClassifier(task_column=0).fit(X, y)
    message = str(info.value)
    assert "(first 20 of 25)" in message
    assert f"{[float(t) for t in range(20)]} (first 20 of 25)" in message
    assert "np.int64" not in message


def test_short_task_list_is_not_marked_cut():
    def labels(task, rng):
        y = rng.integers(0, 2, len(task)).astype(float)
        y[task == 1] = 1.0
        y[(task != 1) & (np.arange(len(task)) % 2 == 0)] = 0
        y[(task != 1) & (np.arange(len(task)) % 2 == 1)] = 1
        return y

    X, y = _per_task(4, labels=labels)
    with pytest.raises(ValueError, match=re.escape("Task(s) [1.0] have samples of only")):
        GroupLassoClassifier(task_column=0).fit(X, y)


@pytest.mark.parametrize("labels", [np.arange(4, dtype=np.int64), np.arange(4, dtype=np.int32)])
def test_task_lists_print_plain_values(labels):
    pd = pytest.importorskip("pandas")
    X, y = _per_task(4)
    X = pd.DataFrame(X[:, 1:], columns=["a", "b", "c"]).assign(task=labels[X[:, 0].astype(int)])
    with pytest.raises(ValueError) as info:
        GraphRegularizedRegressor(task_column="task", graph=[(0, 9)],
                                  graph_format="edges").fit(X, y)
    assert "[0, 1, 2, 3]" in str(info.value) and "np.int" not in str(info.value)
    with pytest.raises(ValueError) as info:
        TemporalGroupLassoRegressor(task_column="task", task_order=[0, 1, 2, 9]).fit(X, y)
    assert "[0, 1, 2, 3]" in str(info.value) and "np.int" not in str(info.value)


def test_load_school_as_frame_without_pandas(monkeypatch):
    real_import = builtins.__import__

    def no_pandas(name, *args, **kwargs):
        if name == "pandas" or name.startswith("pandas."):
            raise ModuleNotFoundError("No module named 'pandas'", name="pandas")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_pandas)
    with pytest.raises(ImportError, match=re.escape("pip install pandas")) as info:
        load_school(as_frame=True)
    assert not isinstance(info.value, ModuleNotFoundError)
    assert isinstance(info.value.__cause__, ModuleNotFoundError)
    X, y = load_school(return_X_y=True)  # the arrays need no pandas
    assert X.shape[0] == y.shape[0] == 15362


_PUBLIC = [getattr(mtlreg, name) for name in mtlreg.__all__
           if isinstance(getattr(mtlreg, name), type) and hasattr(getattr(mtlreg, name), "fit")]


@pytest.mark.parametrize("cls", _PUBLIC, ids=lambda c: c.__name__)
def test_unknown_parameter_names_the_public_class(cls):
    with pytest.raises(TypeError) as info:
        cls(not_a_parameter=1)
    message = str(info.value)
    assert message.startswith(f"{cls.__name__}.__init__()"), message
    assert "not_a_parameter" in message


def test_unknown_unseen_tasks_names_the_estimator():
    with pytest.raises(TypeError, match=r"^GroupLassoRegressor\.__init__\(\) got an unexpected "
                                        "keyword argument 'unseen_tasks'"):
        GroupLassoRegressor(unseen_tasks="shared")
    # the renamed constructor keeps its signature and the classifier's own defaults
    assert GroupLassoRegressor().alpha == 1.0 and GroupLassoClassifier().alpha == 0.01
    assert GroupLassoClassifier(alpha=0.5).get_params()["alpha"] == 0.5


@pytest.mark.parametrize("shape", [(3, 2), (2, 3), (5, 3)])
def test_edge_list_without_graph_format_suggests_it(shape):
    X, y = _per_task(4)
    edges = np.array([[0, 1, 1.0], [1, 2, 1.0], [2, 3, 1.0], [0, 3, 2.0], [1, 3, 1.0]])
    graph = edges[:shape[0], :shape[1]]
    with pytest.raises(ValueError, match="graph_format='edges'"):
        GraphRegularizedRegressor(task_column=0, graph=graph).fit(X, y)
    # a wrong-size matrix that cannot be an edge list gets no such hint
    with pytest.raises(ValueError) as info:
        GraphRegularizedRegressor(task_column=0, graph=np.eye(5)).fit(X, y)
    assert "graph_format='edges'" not in str(info.value)


def test_edge_list_with_graph_format_fits():
    X, y = _per_task(4)
    edges = [(0, 1), (1, 2), (2, 3)]
    GraphRegularizedRegressor(task_column=0, graph=edges, graph_format="edges").fit(X, y)


@pytest.mark.parametrize("cls, extra", [(ClusteredRegressor, {}),
                                        (ClusteredRegressorCV, {"n_alphas": 2, "cv": 2})])
def test_n_clusters_above_the_task_count_warns(cls, extra):
    X, y = _per_task(3, rows=10)
    with pytest.warns(UserWarning, match=r"n_clusters=10 is more than the 3 tasks"):
        cls(n_clusters=10, task_column=0, **extra).fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        cls(n_clusters=3, task_column=0, **extra).fit(X, y)
