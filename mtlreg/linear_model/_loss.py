r"""The ``loss`` parameter of the linear regressors: squared error, Poisson, Huber.

Every linear multi-task regressor (the 13 formulations and their ``*CV`` twins) takes
``loss`` and ``epsilon``, scikit-learn's names (``HistGradientBoostingRegressor(loss=
"poisson")``, ``SGDRegressor(loss="huber", epsilon=...)``), rather than a second family
of classes (``*PoissonRegressor``): the penalties see only ``W``, so the formulation
and the loss are independent choices, and one parameter keeps them so (13 x 3 classes
otherwise), tunable by ``GridSearchCV`` like any other.

* ``"squared_error"`` (default): ``l(y, z) = (y - z)^2 / 2``.
* ``"poisson"``: counts ``y >= 0``, log link, ``l(y, z) = exp(z + o) - y (z + o)``
  with the offset ``o`` given to ``fit(..., offset=o)`` and ``predict(..., offset=o)``
  (``log`` of an exposure; statsmodels' ``GLM(offset=...)``). ``predict`` returns the
  mean ``exp(z + o)``; ``score`` is scikit-learn's ``PoissonRegressor.score``,
  ``D^2`` (:func:`sklearn.metrics.d2_tweedie_score` with ``power=1``); the ``*CV``
  twins' test loss is the mean Poisson deviance
  (:func:`sklearn.metrics.mean_poisson_deviance`). :mod:`mtlreg.datafits._poisson`.
* ``"huber"``: ``l(y, z) = r^2 / 2`` for ``|r| <= epsilon``, ``epsilon |r| -
  epsilon^2 / 2`` beyond, ``r = y - z``: a fixed threshold in the units of ``y``
  (``SGDRegressor``'s and skglm's convention; :mod:`mtlreg.datafits._huber` says why
  not ``HuberRegressor``'s jointly estimated scale). The ``*CV`` twins' test loss is
  the mean Huber loss at ``epsilon``.

Each enters the objective as ``sum_t lambda_t / n_t sum_{i in t} s_i l(y_it, x_i . w_t
+ b_t)`` (:mod:`mtlreg._tasks.layout`). The Poisson and Huber losses are solved by
proximal Newton (``"newton"``; ``"auto"`` for Poisson) or FISTA (``"fista"``; ``"auto"``
for Huber); ADMM and BCD, and the direct solve of the quadratic penalties, need the
squared loss. Fits from Dask collections take every loss (:mod:`mtlreg._dask.rows`;
the ``offset`` partitioned like ``X``); the ``*CV`` twins from Dask the squared loss only.
The ``*CV`` twins take the ``offset`` in memory (``fit``, ``predict``, ``score``): sliced
per fold like ``sample_weight``, for the path fits and the test deviances, and in the
grids of ``alpha`` (``alpha_max``) and the refit. Their path of test losses is named
after what it holds: ``mse_path_`` (squared error), ``deviance_path_`` (mean Poisson
deviance), ``huber_path_`` (mean Huber loss); the classifiers' ``log_loss_path_``.
"""

import inspect
from numbers import Real

import numpy as np
from sklearn.metrics import d2_tweedie_score, r2_score

from ..datafits import make_datafit
from ..datafits._huber import Huber
from ..datafits._poisson import Poisson
from ..utils._messages import format_tasks
from ..utils.validation import Interval, StrOptions, is_dask_collection

LOSSES = {"squared_error": "squared", "poisson": "poisson", "huber": "huber"}
FIRST_AND_SECOND_ORDER = ("auto", "fista", "newton")

LOSS_DOC = """loss : {"squared_error", "poisson", "huber"}, default="squared_error"
        The loss ``l(y, z)`` of each observation, ``z = x . w_t + b_t``: the objective
        above is written for ``"squared_error"``, ``(y - z)^2 / 2``; the other losses
        replace that term, with the same weights ``lambda_t s_i / n_t``.
        ``"poisson"``: counts ``y >= 0``, log link, ``exp(z + o) - y (z + o)`` (``o``:
        the ``offset`` of ``fit``; ``predict`` returns the mean ``exp(z + o)`` and
        ``score`` is ``D^2``, as :class:`~sklearn.linear_model.PoissonRegressor`).
        ``"huber"``: ``r^2 / 2`` for ``|r| <= epsilon``, ``epsilon |r| - epsilon^2 / 2``
        beyond (``r = y - z``). ADMM and BCD need the squared loss.
    epsilon : float, default=1.35
        The Huber threshold, in the units of ``y`` (``loss="huber"`` only): not scale
        invariant, scale it with ``y`` (or standardise ``y``).
"""

_DOC_ANCHOR = "    fit_intercept : bool, default=True\n"


def add_loss_params(cls):
    """Give the regressor ``cls`` the keyword parameters ``loss`` and ``epsilon`` (in its
    ``__init__`` signature, which scikit-learn reads, and its constraints)."""
    init = cls.__init__
    sig = inspect.signature(init)
    if "loss" in sig.parameters:
        return

    def __init__(self, *args, loss="squared_error", epsilon=1.35, **kwargs):
        init(self, *args, **kwargs)
        self.loss = loss
        self.epsilon = epsilon

    params = list(sig.parameters.values())
    first_kw = next((i for i, p in enumerate(params) if p.kind == p.KEYWORD_ONLY), len(params))
    new = [inspect.Parameter("loss", inspect.Parameter.KEYWORD_ONLY, default="squared_error"),
           inspect.Parameter("epsilon", inspect.Parameter.KEYWORD_ONLY, default=1.35)]
    __init__.__signature__ = sig.replace(parameters=params[:first_kw] + new + params[first_kw:])
    __init__.__qualname__ = f"{cls.__name__}.__init__"
    __init__.__doc__ = init.__doc__
    __init__.__module__ = cls.__module__
    cls.__init__ = __init__
    if cls.__doc__ and _DOC_ANCHOR in cls.__doc__:  # the parameters, before the shared ones
        cls.__doc__ = cls.__doc__.replace(_DOC_ANCHOR, "    " + LOSS_DOC.lstrip() + _DOC_ANCHOR, 1)
    cls._parameter_constraints = {
        **cls._parameter_constraints,
        "loss": [StrOptions(set(LOSSES))],
        "epsilon": [Interval(Real, 0, None, closed="neither")],
    }


def internal_loss(estimator):
    """The datafit's name for the estimator's ``loss`` (``"squared"`` without one)."""
    return LOSSES.get(getattr(estimator, "loss", "squared_error"), "squared")


def check_solver(estimator):
    """Before the data are read: the solvers of the Poisson and Huber losses (whether
    the estimator has one of them: the formulation's own list does not apply)."""
    loss = internal_loss(estimator)
    if loss == "squared" or not hasattr(estimator, "loss"):
        return False
    if not callable(estimator.solver) and estimator.solver not in FIRST_AND_SECOND_ORDER:
        raise ValueError(
            f"{type(estimator).__name__}(loss={estimator.loss!r}) does not support "
            f"solver={estimator.solver!r}: use 'auto', 'newton' or 'fista' (ADMM and BCD "
            "need the squared loss).")
    return True


def check_counts(y):
    """``y`` for ``loss="poisson"``: non-negative counts (NaN: a missing label)."""
    seen = y[~np.isnan(y)]
    if np.any(seen < 0):
        raise ValueError(
            f"loss='poisson' needs non-negative targets y (counts); y has {int(np.sum(seen < 0))} "
            f"negative value(s), e.g. {float(seen[seen < 0][0])!r}.")
    return y


def check_zero_tasks(estimator, layout, tasks):
    """A task whose counts are all zero has its intercept at ``-inf`` (free intercepts)."""
    if internal_loss(estimator) != "poisson" or not estimator.fit_intercept:
        return
    if getattr(estimator, "intercept_reg", 0.0) > 0:
        return
    zero = np.flatnonzero(layout._task_sums(layout.c * layout.y) <= 0)
    if zero.size:
        raise ValueError(
            f"Task(s) {format_tasks(np.asarray(tasks)[zero])} have only zero counts (after "
            "sample weighting): with loss='poisson' the intercept of such a task is -inf. "
            "Set intercept_reg > 0 (the task's intercept is then pulled toward the shared "
            "intercept), or fit_intercept=False, or drop the task.")


def check_offset(offset, shape, layout_name):
    """``offset``: finite, ``(n_samples,)`` or, on a shared design, the shape of ``y``."""
    if offset is None:
        return None
    offset = np.asarray(offset, dtype=np.float64)
    n = shape[0]
    ok = offset.shape == (n,) or (layout_name == "shared" and offset.shape == tuple(shape))
    if not ok:
        raise ValueError(
            f"offset has shape {offset.shape}: expected ({n},)"
            + (f" or {tuple(shape)} (one column per task)" if layout_name == "shared" else "")
            + ".")
    if not np.all(np.isfinite(offset)):
        raise ValueError("offset contains NaN or infinity: give a finite offset (the log of "
                         "a positive exposure) for every row.")
    return offset


def refuse_offset(estimator, offset, name=None):
    """An ``offset`` with a loss other than ``"poisson"`` is a ``ValueError`` naming the
    loss (``name``: the class to name, by default the estimator's)."""
    loss = estimator._loss
    if offset is not None and loss != "poisson":
        has = (f"loss={estimator.loss!r}" if hasattr(estimator, "loss")
               else f"the {loss} loss")
        raise ValueError(
            f"offset is an argument of loss='poisson' only; {name or type(estimator).__name__} "
            f"has {has} (for weights of the rows, use sample_weight).")


def loss_datafit(estimator, layout, offset, for_coordinate_descent):
    """The datafit of the estimator's loss on ``layout``."""
    loss = estimator._loss
    refuse_offset(estimator, offset)
    if loss == "poisson":
        shape = layout.y.shape
        return Poisson(layout, check_offset(offset, shape, layout.layout))
    if loss == "huber":
        return Huber(layout, estimator.epsilon)
    return make_datafit(loss, layout, for_coordinate_descent=for_coordinate_descent)


def mean_of(Z, offset, loss):
    """``predict``'s output from the linear predictor ``Z``."""
    if loss != "poisson":
        if offset is not None:
            raise ValueError("offset is an argument of loss='poisson' only.")
        return Z
    if is_dask_collection(Z):  # lazy, from Dask input (offset: partitioned like X)
        from .._dask.fit import poisson_mean

        return poisson_mean(Z, offset)
    if offset is not None:
        offset = check_offset(offset, Z.shape, "shared" if Z.ndim == 2 else "blocks")
        Z = Z + (offset[:, None] if offset.ndim == 1 and Z.ndim == 2 else offset)
    return np.exp(Z)


def pointwise_loss(y, pred, loss, epsilon):
    """Per entry: squared error, Poisson deviance (``pred``: the mean) or Huber loss."""
    if loss == "poisson":
        pred = np.maximum(pred, np.finfo(float).tiny)
        with np.errstate(divide="ignore", invalid="ignore"):
            ylogy = np.where(y > 0, y * np.log(np.where(y > 0, y, 1.0) / pred), 0.0)
        return 2.0 * (ylogy - y + pred)
    r = np.abs(y - pred)
    if loss == "huber":
        return np.where(r <= epsilon, 0.5 * r * r, epsilon * r - 0.5 * epsilon * epsilon)
    return r * r


def score_of(y, pred, loss, sample_weight):
    """R^2, or for Poisson D^2 of the deviance (``d2_tweedie_score(power=1)``)."""
    if loss == "poisson":
        return d2_tweedie_score(y, pred, sample_weight=sample_weight, power=1)
    return r2_score(y, pred, sample_weight=sample_weight)
