"""The neural estimators against scikit-learn's estimator checks."""

import pytest

pytest.importorskip("torch")

from sklearn.utils.estimator_checks import parametrize_with_checks  # noqa: E402

from mtlreg.torch import MultiTaskMLPClassifier, MultiTaskMLPRegressor  # noqa: E402

# Tiny networks and few epochs: the checks test the API, not the fit.
# Stochastic mini-batch training cannot make a weight of 2 identical to a repeated row
# (or a weight of 0 to a removed one): repeating rows changes the batches and the
# number of steps per epoch; the equivalence holds only in expectation (the loss is
# the same weighted sum, see _training.py). scikit-learn's own SGD-trained models
# are in the same case.
_SW = "mini-batch SGD: sample weights are equivalent to repetition only in expectation"
_FAILS = {"check_sample_weight_equivalence_on_dense_data": _SW,
          "check_sample_weight_equivalence_on_sparse_data": _SW}
EXPECTED_FAILED_CHECKS = {"MultiTaskMLPRegressor": _FAILS, "MultiTaskMLPClassifier": _FAILS}

_SMALL = dict(hidden_layer_sizes=(16,), max_iter=30, batch_size=64, random_state=0,
              device="cpu", learning_rate_init=1e-2)


pytestmark = pytest.mark.usefixtures("torch_one_thread")


@parametrize_with_checks(
    [MultiTaskMLPRegressor(**_SMALL), MultiTaskMLPClassifier(**_SMALL)],
    expected_failed_checks=lambda est: EXPECTED_FAILED_CHECKS.get(type(est).__name__, {}),
)
@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)
