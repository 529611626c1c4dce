"""The neural estimators' training: weights, refused combinations, divergence, convergence,
early stopping, gradient aggregation, parameter validation (issue 26)."""

import warnings

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from sklearn.exceptions import ConvergenceWarning  # noqa: E402
from sklearn.utils import check_random_state  # noqa: E402

from mtlreg.torch import MultiTaskMLPClassifier, MultiTaskMLPRegressor  # noqa: E402
from mtlreg.torch._architectures import MultiTaskModule  # noqa: E402
from mtlreg.torch._estimators import NEEDS_SHARED  # noqa: E402
from mtlreg.torch._training import _step  # noqa: E402
from mtlreg.torch._weighting import FixedWeighting  # noqa: E402

SMALL = dict(hidden_layer_sizes=(16,), max_iter=15, batch_size=32, random_state=0,
             device="cpu", learning_rate_init=1e-2)

pytestmark = pytest.mark.usefixtures("torch_one_thread")


def shared_problem(n=120, d=5, T=3, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    Y = np.column_stack([np.sin(X[:, 0]) + 0.3 * t * X[:, 2] for t in range(T)])
    return X, Y + 0.1 * rng.standard_normal(Y.shape)


def fit_quietly(model, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return model.fit(*args, **kwargs)


# ------------------------------------------------- 1. zero weight = no row
def test_zero_weight_outlier_row_is_a_missing_row_in_the_shared_layout():
    X, Y = shared_problem()
    Y_out, sw = Y.copy(), np.ones(len(Y))
    Y_out[[0, 7]], sw[[0, 7]] = 1e6, 0.0
    Y_nan = Y.copy()
    Y_nan[[0, 7]] = np.nan
    a = fit_quietly(MultiTaskMLPRegressor(**SMALL), X, Y_out, sample_weight=sw).predict(X)
    b = fit_quietly(MultiTaskMLPRegressor(**SMALL), X, Y_nan).predict(X)
    np.testing.assert_allclose(a, b, rtol=0, atol=1e-12)
    # one batch per epoch: the same fit as without the rows (up to float32 summation order)
    full = {**SMALL, "batch_size": 500, "max_iter": 30}
    keep = sw > 0
    a = fit_quietly(MultiTaskMLPRegressor(**full), X, Y_out, sample_weight=sw).predict(X)
    b = fit_quietly(MultiTaskMLPRegressor(**full), X[keep], Y[keep]).predict(X)
    np.testing.assert_allclose(a, b, rtol=0, atol=1e-5)
    c = fit_quietly(MultiTaskMLPRegressor(**full), X, Y).predict(X)
    assert np.abs(c - b).max() > 1e-2  # dropping two rows is visible: the test can fail


def test_zero_weight_outlier_row_is_a_missing_label_per_task():
    rng = np.random.default_rng(1)
    task = rng.integers(0, 3, 150)
    F = rng.standard_normal((150, 4))
    X = np.column_stack([task, F])
    y = np.tanh(F[:, 0]) * (1 + task) + 0.1 * rng.standard_normal(150)
    y_out, sw, y_nan = y.copy(), np.ones(150), y.copy()
    y_out[:3], sw[:3], y_nan[:3] = -1e6, 0.0, np.nan
    a = fit_quietly(MultiTaskMLPRegressor(task_column=0, **SMALL), X, y_out, sample_weight=sw)
    b = fit_quietly(MultiTaskMLPRegressor(task_column=0, **SMALL), X, y_nan)
    np.testing.assert_allclose(a.predict(X), b.predict(X), rtol=0, atol=1e-12)
    assert a.score(X[3:], y[3:]) > 0.5


def test_target_scaling_is_weighted():
    """A weight of 2 counts as a repeated row in the targets' mean and deviation."""
    X, Y = shared_problem(n=60)
    sw = np.where(np.arange(60) < 20, 2.0, 1.0)
    model = fit_quietly(MultiTaskMLPRegressor(**{**SMALL, "max_iter": 1}), X, Y, sample_weight=sw)
    rep = np.concatenate([Y[:20], Y])
    np.testing.assert_allclose(model._y_mean, rep.mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose(model._y_scale, rep.std(axis=0), rtol=1e-12)


# ---------------------------------- 2. weightings that need shared parameters
@pytest.mark.parametrize("architecture", ["independent", "soft"])
@pytest.mark.parametrize("weighting", sorted(NEEDS_SHARED))
def test_shared_parameter_weightings_refused_without_shared_parameters(architecture, weighting):
    X, Y = shared_problem(n=40)
    model = fit_quietly(MultiTaskMLPRegressor(architecture, **{**SMALL, "max_iter": 2}), X, Y)
    before = model.predict(X)
    model.set_params(weighting=weighting)
    with pytest.raises(ValueError, match=rf"weighting='{weighting}'.*architecture='{architecture}'"
                                         r".*\['dwa', 'fixed', 'uncertainty'\].*'hard'"):
        model.fit(X, Y)
    np.testing.assert_array_equal(model.predict(X), before)  # the previous fit is kept


def test_aggregators_are_in_the_refused_list():
    assert {"pcgrad", "mgda", "upgrad", "gradnorm"} <= set(NEEDS_SHARED)


# ------------------------------------------------------------ 3. divergence
@pytest.mark.parametrize("cls", [MultiTaskMLPRegressor, MultiTaskMLPClassifier])
def test_diverging_training_raises_and_keeps_the_previous_fit(cls):
    X, Y = shared_problem()
    if cls is MultiTaskMLPClassifier:
        Y = (Y > 0).astype(int)
    model = fit_quietly(cls(**{**SMALL, "warm_start": True}), X, Y)
    before, curve = model.predict(X), list(model.loss_curve_)
    for lr in (1e6, 1e2):  # loss 1e25 / 1e9 x its start (regressor): finite, never inf
        model.set_params(learning_rate_init=lr)
        with pytest.raises(FloatingPointError, match="diverged.*Lower learning_rate_init"):
            model.fit(X, Y)  # a warm start: trains the same network further
        np.testing.assert_array_equal(model.predict(X), before)
        assert model.loss_curve_ == curve
    with pytest.raises(FloatingPointError, match="learning_rate_init=1e\\+06"):
        cls(**{**SMALL, "learning_rate_init": 1e6}).fit(X, Y)


@pytest.mark.parametrize("architecture", ["hard", "mmoe", "cross_stitch"])
@pytest.mark.parametrize("lr", [1e-3, 1e-2, 1e-1])
def test_ordinary_training_is_not_taken_for_divergence(architecture, lr):
    X, Y = shared_problem()
    model = fit_quietly(MultiTaskMLPRegressor(architecture, **{**SMALL, "learning_rate_init": lr,
                                                                "max_iter": 40}), X, Y)
    assert model.score(X, Y) > 0.5


# --------------------------------------------------- 13. convergence warning
def test_convergence_warning_when_max_iter_is_too_small():
    X, Y = shared_problem()
    with pytest.warns(ConvergenceWarning, match="max_iter=3 epochs reached"):
        MultiTaskMLPRegressor(**{**SMALL, "max_iter": 3}).fit(X, Y)


@pytest.mark.parametrize("early_stopping", [False, True])
def test_no_convergence_warning_when_training_stops_on_its_own(early_stopping):
    X, Y = shared_problem()
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        model = MultiTaskMLPRegressor(**{**SMALL, "max_iter": 500,
                                         "early_stopping": early_stopping}).fit(X, Y)
    assert model.n_iter_ < 500


def test_early_stopping_restores_the_best_validation_epoch():
    """The network kept is the best epoch's: the same as a fit stopped at that epoch
    (same seed, same split, same batches), and its validation loss, recomputed from its
    predictions, is the smallest of the curve, not the last epoch's."""
    X, Y = shared_problem(n=200)
    params = {**SMALL, "early_stopping": True, "tol": 0.0, "n_iter_no_change": 5}
    model = fit_quietly(MultiTaskMLPRegressor(**{**params, "max_iter": 200}), X, Y)
    scores = model.validation_scores_
    best = int(np.argmin(scores)) + 1
    assert len(scores) == model.n_iter_ == best + 5  # stopped 5 epochs after the best
    at_best = fit_quietly(MultiTaskMLPRegressor(**{**params, "max_iter": best}), X, Y)
    assert at_best.validation_scores_ == scores[:best]  # the same trajectory
    np.testing.assert_array_equal(model.predict(X), at_best.predict(X))
    # the validation rows: the split's draw after the seed (random_state=0)
    rng = check_random_state(0)
    rng.randint(np.iinfo(np.int32).max)
    valid = np.flatnonzero(rng.rand(len(X)) < model.validation_fraction)
    resid = (model.predict(X[valid]) - Y[valid]) / model._y_scale  # standardised units
    loss = 0.5 * (resid ** 2).mean(axis=0).sum()  # every weight 1 / len(valid)
    np.testing.assert_allclose(loss, scores[best - 1], rtol=1e-6)
    assert scores[-1] > (1 + 1e-2) * scores[best - 1]  # the last epoch's network is worse


# ------------------------------------------ 13. aggregation changes the update
class _Conflict(MultiTaskModule):
    """Two task losses ``L_t = g_t . theta + h_t``: the shared ``theta`` gets the task
    gradients ``g_1 = (1, 0)``, ``g_2 = (-2, 1)`` (conflicting: ``g_1 . g_2 < 0``, and
    their sum increases ``L_1``); ``h`` is task-specific."""

    def __init__(self):
        super().__init__()
        self.theta = torch.nn.Parameter(torch.zeros(2, dtype=torch.float64))
        self.h = torch.nn.Parameter(torch.zeros(2, dtype=torch.float64))
        self.G = torch.tensor([[1.0, 0.0], [-2.0, 1.0]], dtype=torch.float64)

    def losses(self):
        return self.G @ self.theta + self.h

    def shared_parameters(self):
        return [self.theta]


@pytest.mark.parametrize("name, expected", [
    (None, [-1.0, 1.0]),        # fixed weighting: g_1 + g_2
    # PCGrad: g_1 - (g_1.g_2/|g_2|^2) g_2 = (0.2, 0.4), g_2 - (g_1.g_2/|g_1|^2) g_1 = (0, 1), summed
    ("pcgrad", [0.2, 1.4]),
    # UPGrad: each g_t projected on the dual cone {d : G d >= 0} (here the same two
    # projections), averaged
    ("upgrad", [0.1, 0.7]),
    # MGDA: min over w of |w g_1 + (1 - w) g_2|^2 at w = 0.7
    ("mgda", [0.1, 0.3]),
])
def test_aggregator_replaces_the_shared_gradient_by_its_direction(name, expected):
    from mtlreg.torch._aggregation import make_aggregator

    module = _Conflict()
    aggregator = None if name is None else make_aggregator(name, **(
        {"epsilon": 1e-12, "max_iters": 1000} if name == "mgda" else {}))
    optimizer = torch.optim.SGD(module.parameters(), lr=1.0)
    _step(module, FixedWeighting(2), aggregator, module.shared_parameters(), optimizer,
          module.losses())
    d = torch.tensor(expected, dtype=torch.float64)
    # TorchJD's UPGrad regularises the Gramian (eps ~1e-4): its direction is off by 6e-4
    atol = 1e-2 if name == "upgrad" else 1e-9
    torch.testing.assert_close(module.theta.grad, d, rtol=0, atol=atol)
    torch.testing.assert_close(module.theta.detach(), -module.theta.grad, rtol=0, atol=0)  # SGD
    torch.testing.assert_close(module.h.grad, torch.ones(2, dtype=torch.float64))  # unchanged
    if name is not None:  # no task's loss increases to first order, unlike the plain sum
        assert float((module.G @ d).min()) > 0 > float((module.G @ torch.tensor([-1.0, 1.0],
                                                                                dtype=torch.float64)).min())


def test_aggregator_changes_the_trained_network():
    X, Y = shared_problem(n=60)
    Y[:, 1] = -Y[:, 0]  # two tasks pulling the trunk in opposite directions
    fixed = fit_quietly(MultiTaskMLPRegressor(**SMALL), X, Y).predict(X)
    for name in ("pcgrad", "upgrad"):
        other = fit_quietly(MultiTaskMLPRegressor(weighting=name, **SMALL), X, Y).predict(X)
        assert np.abs(other - fixed).max() > 1e-3, name


# ------------------------------------------------- 11. parameter validation
@pytest.mark.parametrize("params, match", [
    ({"hidden_layer_sizes": (0,)}, r"hidden_layer_sizes must be a non-empty sequence of positive "
                                   r"ints.*got \(0,\)"),
    ({"hidden_layer_sizes": ()}, "hidden_layer_sizes must be a non-empty"),
    ({"hidden_layer_sizes": (8, 2.5)}, "hidden_layer_sizes must be"),
    ({"device": "tpu"}, r"device='tpu' is not a torch device: use 'auto', 'cpu', 'cuda'"),
    ({"architecture": "mmoe", "architecture_options": {"n_expert": 2}},
     r"architecture_options has unknown key\(s\) \['n_expert'\] for architecture='mmoe'; "
     r"valid keys: \['n_experts'\]"),
    ({"architecture_options": {"reg": 1.0}}, r"for architecture='hard'; valid keys: none"),
    ({"architecture": "soft", "architecture_options": {"alpha": 1.0}}, r"valid keys: \['reg'\]"),
    ({"weighting": "dwa", "weighting_options": {"temp": 1.0}}, r"valid keys: \['temperature'\]"),
    ({"weighting": "mgda", "weighting_options": {"eps": 1.0}},
     r"valid keys: \['epsilon', 'max_iters'\]"),
    ({"task_weights": {7: 1.0}}, r"task\(s\) \[7\] that are not in the data; known tasks: \[0, 1, 2\]\."),
])
def test_bad_parameters_are_named_before_training(params, match):
    X, Y = shared_problem(n=40)
    model = fit_quietly(MultiTaskMLPRegressor(**{**SMALL, "max_iter": 2}), X, Y)
    before = model.predict(X)
    model.set_params(**params)
    with pytest.raises(ValueError, match=match):
        model.fit(X, Y)
    np.testing.assert_array_equal(model.predict(X), before)


def test_valid_options_are_accepted():
    X, Y = shared_problem(n=40)
    for params in ({"architecture": "mmoe", "architecture_options": {"n_experts": 2}},
                   {"architecture": "soft", "architecture_options": {"reg": 0.1}},
                   {"weighting": "dwa", "weighting_options": {"temperature": 1.0}},
                   {"weighting": "mgda", "weighting_options": {"epsilon": 1e-4}},
                   {"hidden_layer_sizes": [8, np.int64(4)]}):
        fit_quietly(MultiTaskMLPRegressor(**{**SMALL, "max_iter": 2, **params}), X, Y)


# ------------------------------------------------------ 9. torch's threads
@pytest.mark.parametrize("n_threads", [1, 3, None])
def test_n_threads_is_torch_thread_count_during_fit_and_predict(n_threads, monkeypatch):
    from mtlreg.torch import _estimators, _training

    seen = []

    def spy(fn):
        def wrapper(*args, **kwargs):
            seen.append(torch.get_num_threads())
            return fn(*args, **kwargs)
        return wrapper

    monkeypatch.setattr(_estimators, "train", spy(_training.train))
    monkeypatch.setattr(_estimators, "forward_all", spy(_training.forward_all))
    X, Y = shared_problem(n=40)
    torch.set_num_threads(2)
    try:
        model = fit_quietly(MultiTaskMLPRegressor(**{**SMALL, "max_iter": 2, "n_threads": n_threads}), X, Y)
        assert torch.get_num_threads() == 2  # restored
        model.predict(X)
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(1)
    expected = 2 if n_threads is None else n_threads
    assert seen == [expected, expected]
    assert MultiTaskMLPRegressor().n_threads == 1
