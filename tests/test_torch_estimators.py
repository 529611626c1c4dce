"""MultiTaskMLPRegressor / MultiTaskMLPClassifier: inputs, determinism, pickling, behaviour."""

import pickle
import warnings

import joblib
import numpy as np
import pytest

torch = pytest.importorskip("torch")

import pandas as pd  # noqa: E402
from sklearn.exceptions import ConvergenceWarning  # noqa: E402
from sklearn.model_selection import GridSearchCV  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402

from mtlreg.model_selection import TaskStratifiedKFold  # noqa: E402
from mtlreg.torch import ARCHITECTURES, MultiTaskMLPClassifier, MultiTaskMLPRegressor  # noqa: E402

SMALL = dict(hidden_layer_sizes=(16,), max_iter=15, batch_size=32, random_state=0,
             device="cpu", learning_rate_init=1e-2)
WEIGHTINGS = ["fixed", "uncertainty", "dwa", "gradnorm", "pcgrad", "mgda", "upgrad"]


pytestmark = pytest.mark.usefixtures("torch_one_thread")


@pytest.fixture(autouse=True)
def _quiet():
    # these tests train for a few epochs on purpose; the warning itself (raised when
    # max_iter is too small, not when training stops on its own) is tested in
    # test_torch_training.py
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        yield


def shared_problem(n=120, d=5, T=3, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    common = np.sin(2 * X[:, 0]) + X[:, 1] ** 2
    Y = np.column_stack([common + 0.3 * t * X[:, 2] for t in range(T)])
    return X, Y + 0.1 * rng.standard_normal(Y.shape)


def per_task_problem(n=150, d=4, T=3, seed=0):
    rng = np.random.default_rng(seed)
    task = rng.integers(0, T, n)
    F = rng.standard_normal((n, d))
    y = np.tanh(F[:, 0]) * (1 + 0.5 * task) + F[:, 1] + 0.1 * rng.standard_normal(n)
    return np.column_stack([task, F]), y


@pytest.mark.parametrize("architecture", sorted(ARCHITECTURES))
def test_every_architecture_learns_the_shared_layout(architecture):
    X, Y = shared_problem()
    model = MultiTaskMLPRegressor(architecture, **{**SMALL, "max_iter": 40}).fit(X, Y)
    assert model.predict(X).shape == Y.shape
    assert model.loss_curve_[-1] < 0.6 * model.loss_curve_[0]
    assert model.score(X, Y) > 0.3


@pytest.mark.parametrize("weighting", WEIGHTINGS)
def test_every_weighting_trains_per_task_layout(weighting):
    X, y = per_task_problem()
    model = MultiTaskMLPRegressor(weighting=weighting, task_column=0,
                                  **{**SMALL, "max_iter": 30}).fit(X, y)
    assert model.predict(X).shape == y.shape
    assert np.isfinite(model.loss_curve_).all()
    assert model.score(X, y) > 0.5
    if weighting in ("uncertainty", "dwa", "gradnorm"):  # loss weights learned in training
        w = model.weighting_(torch.tensor(model.loss_curve_[-1:] * 3))
        assert torch.isfinite(w).all() and (w >= 0).all()
        assert not torch.allclose(w, torch.ones(3))  # they moved from their start
    # that an aggregator changes the update: test_torch_training.py


def test_same_random_state_same_predictions():
    X, Y = shared_problem()
    params = {**SMALL, "dropout": 0.1, "early_stopping": True}
    a = MultiTaskMLPRegressor("mmoe", **params).fit(X, Y).predict(X)
    b = MultiTaskMLPRegressor("mmoe", **params).fit(X, Y).predict(X)
    np.testing.assert_array_equal(a, b)
    c = MultiTaskMLPRegressor("mmoe", **{**params, "random_state": 1}).fit(X, Y).predict(X)
    assert not np.allclose(a, c)


def test_fit_leaves_global_torch_rng_alone():
    X, Y = shared_problem()
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    MultiTaskMLPRegressor(**SMALL).fit(X, Y)
    np.testing.assert_array_equal(torch.rand(3), expected)


@pytest.mark.parametrize("dump", ["pickle", "joblib"])
def test_pickle_round_trip_on_cpu(dump, tmp_path):
    X, y = per_task_problem()
    y_cls = (y > np.median(y)).astype(int)
    model = MultiTaskMLPClassifier("cross_stitch", task_column=0, **SMALL).fit(X, y_cls)
    if dump == "pickle":
        clone = pickle.loads(pickle.dumps(model))
    else:
        joblib.dump(model, tmp_path / "m.joblib")
        clone = joblib.load(tmp_path / "m.joblib")
    np.testing.assert_array_equal(clone.predict_proba(X), model.predict_proba(X))
    assert next(clone.module_.parameters()).device.type == "cpu"


def test_classifier_probabilities_both_layouts():
    X, Y = shared_problem()
    labels = np.where(Y > np.median(Y, axis=0), "yes", "no").astype(object)
    model = MultiTaskMLPClassifier(**SMALL).fit(X, labels)
    assert list(model.classes_) == ["no", "yes"]
    P = model.predict_proba(X)
    assert P.shape == Y.shape and ((P >= 0) & (P <= 1)).all()
    assert model.score(X, labels) > 0.7
    Xp, y = per_task_problem()
    yc = np.where(y > 0, "yes", "no")
    model = MultiTaskMLPClassifier(task_column=0, **SMALL).fit(Xp, yc)
    P = model.predict_proba(Xp)
    assert P.shape == (len(yc), 2)
    np.testing.assert_allclose(P.sum(axis=1), 1.0)
    assert set(model.predict(Xp)) <= {"yes", "no"}


def test_missing_labels_equal_zero_weight_rows():
    """A NaN label and a row of weight 0 are both left out of the loss: same network."""
    X, y = per_task_problem()
    yc = (y > np.median(y)).astype(float)
    hidden = np.arange(len(yc)) % 5 == 0
    y_nan = np.where(hidden, np.nan, yc)
    a = MultiTaskMLPClassifier(task_column=0, **SMALL).fit(X, y_nan)
    b = MultiTaskMLPClassifier(task_column=0, **SMALL).fit(
        X, np.where(hidden, 1 - yc, yc), sample_weight=(~hidden).astype(float))
    np.testing.assert_allclose(a.predict_proba(X), b.predict_proba(X), atol=1e-6)


def test_labels_of_a_zero_weight_task_change_nothing_else():
    X, Y = shared_problem()
    Y2 = Y.copy()
    Y2[:, 1] = np.random.default_rng(5).standard_normal(len(Y))
    params = {**SMALL, "task_weights": {1: 0.0}}
    a = MultiTaskMLPRegressor(**params).fit(X, Y).predict(X)
    b = MultiTaskMLPRegressor(**params).fit(X, Y2).predict(X)
    np.testing.assert_allclose(a[:, [0, 2]], b[:, [0, 2]], atol=1e-6)
    c = MultiTaskMLPRegressor(**SMALL).fit(X, Y2).predict(X)
    assert not np.allclose(a[:, 0], c[:, 0], atol=1e-6)  # the test can fail


def test_nan_label_masked_in_shared_layout():
    X, Y = shared_problem()
    Y_nan = Y.copy()
    Y_nan[::3, 0] = np.nan
    # a NaN that reached the loss would make it NaN (0 * NaN is NaN): masking is real
    model = MultiTaskMLPRegressor(**SMALL).fit(X, Y_nan)
    assert np.isfinite(model.predict(X)).all()
    assert np.isfinite(model.loss_curve_).all()


def test_dataframe_task_column_name_and_unseen_task():
    X, y = per_task_problem()
    frame = pd.DataFrame(X, columns=["school", "a", "b", "c", "d"])
    frame["school"] = frame["school"].map({0: "s0", 1: "s1", 2: "s2"})
    model = MultiTaskMLPRegressor(task_column="school", **SMALL).fit(frame, y)
    assert list(model.tasks_) == ["s0", "s1", "s2"]
    assert list(model.feature_names_in_) == list(frame.columns)
    other = frame.head(4).copy()
    other.loc[other.index[0], "school"] = "s9"
    with pytest.raises(ValueError, match="Unknown task"):
        model.predict(other)


def test_task_weights_forms_and_errors():
    X, Y = shared_problem()
    for tw in ("samples", [1.0, 2.0, 0.5], {0: 3.0}):
        MultiTaskMLPRegressor(task_weights=tw, **{**SMALL, "max_iter": 2}).fit(X, Y)
    with pytest.raises(ValueError, match="task_weights"):
        MultiTaskMLPRegressor(task_weights=[1.0, -1.0, 1.0], **SMALL).fit(X, Y)


def test_device_cuda_without_gpu_raises():
    if torch.cuda.is_available():
        pytest.skip("a GPU is present")
    X, Y = shared_problem()
    with pytest.raises(ValueError, match="CUDA"):
        MultiTaskMLPRegressor(**{**SMALL, "device": "cuda"}).fit(X, Y)
    model = MultiTaskMLPRegressor(**{**SMALL, "device": "auto"}).fit(X, Y)
    assert model.device_ == "cpu"


def test_early_stopping_curves_have_one_entry_per_epoch():
    X, Y = shared_problem(n=200)
    model = MultiTaskMLPRegressor(**{**SMALL, "early_stopping": True, "max_iter": 60,
                                     "n_iter_no_change": 5}).fit(X, Y)
    assert len(model.validation_scores_) == model.n_iter_ == len(model.loss_curve_)
    # that the network kept is the best validation epoch's: test_torch_training.py


def test_warm_start_continues_training():
    X, Y = shared_problem()
    model = MultiTaskMLPRegressor(**{**SMALL, "warm_start": True, "max_iter": 5}).fit(X, Y)
    first = [p.detach().clone() for p in model.module_.parameters()]
    model.fit(X, Y)
    assert len(model.loss_curve_) == 10
    assert model.loss_curve_[-1] < model.loss_curve_[4]
    cold = MultiTaskMLPRegressor(**{**SMALL, "max_iter": 5}).fit(X, Y)
    for p, q in zip(first, cold.module_.parameters()):
        torch.testing.assert_close(p, q)  # the first fit was an ordinary fit


def test_verbose_shows_a_progress_bar(capsys):
    X, Y = shared_problem()
    MultiTaskMLPRegressor(**{**SMALL, "verbose": 1, "max_iter": 3}).fit(X, Y)
    err = capsys.readouterr().err
    assert "epoch" in err and "3/3" in err


def test_pipeline_grid_search_with_task_folds():
    X, y = per_task_problem()
    pipe = make_pipeline(StandardScaler(), MultiTaskMLPRegressor(task_column=0, **{**SMALL, "max_iter": 5}))
    # the scaler keeps the task column's values distinct, so tasks survive scaling
    search = GridSearchCV(pipe, {"multitaskmlpregressor__architecture": ["hard", "mmoe"]},
                          cv=TaskStratifiedKFold(2, task_column=0))
    search.fit(X, y)
    assert search.best_params_["multitaskmlpregressor__architecture"] in ("hard", "mmoe")


def test_hard_sharing_beats_independent_networks_with_few_samples_per_task():
    """Positive transfer: 20 tasks sharing one nonlinear function (up to a scale), 20
    rows each: one shared trunk generalises better than 20 separate networks."""
    rng = np.random.default_rng(0)
    T, n_train, n_test, d = 20, 20, 50, 4
    scale = 1 + 0.2 * rng.standard_normal(T)

    def draw(n):
        task = np.repeat(np.arange(T), n)
        F = rng.uniform(-2, 2, (len(task), d))
        y = scale[task] * (np.sin(2 * F[:, 0]) + 0.5 * F[:, 1] ** 2) + 0.1 * rng.standard_normal(len(task))
        return np.column_stack([task, F]), y

    X_tr, y_tr = draw(n_train)
    X_te, y_te = draw(n_test)
    params = dict(task_column=0, hidden_layer_sizes=(32, 32), max_iter=300, batch_size=32,
                  learning_rate_init=1e-2, random_state=0, device="cpu", n_iter_no_change=30)
    params["max_iter"] = 100
    mse = {}
    for arch in ("hard", "independent"):
        pred = MultiTaskMLPRegressor(arch, **params).fit(X_tr, y_tr).predict(X_te)
        mse[arch] = np.mean((pred - y_te) ** 2)
    assert mse["hard"] < 0.7 * mse["independent"], mse
