"""Independent per-task models (lasso or ridge per task): the no-sharing baseline."""

from numbers import Real

from ..penalties import L1, Zero, with_ridge
from ..utils.validation import Interval, StrOptions
from ._base import (
    MultiTaskClassifierMixin,
    MultiTaskLinearModel,
    MultiTaskRegressorMixin,
    init_with_defaults,
    store_params,
)
from ._docs import CLASSES_DOC as _CLASSES
from ._docs import DATA_TERM as _DATA_TERM
from ._docs import LOGISTIC_DOC as _LOGISTIC
from ._docs import RIDGE_DOC as _RIDGE
from ._docs import SQUARED_DOC as _SQUARED
from ._docs import fill_doc
from ._mean_reg import DirectQuadraticSolveMixin


# --------------------------------------------------------------- independent tasks
class _IndependentMixin:
    _parameter_constraints = {
        **MultiTaskLinearModel._parameter_constraints,
        "alpha": [Interval(Real, 0, None, closed="left")],
        "penalty": [StrOptions({"l1", "l2"})],
        "positive": ["boolean"],
    }

    def __init__(self, alpha=1.0, *, penalty="l2", positive=False, fit_intercept=True, intercept_reg=0.0,
                 task_column=None, task_weights=None, l2_reg=0.0, tol=1e-4, max_iter=1000,
                 warm_start=False, solver="auto", verbose=0):
        store_params(self, locals())

    def _make_penalty(self):
        if self.penalty == "l1":
            return with_ridge(L1(self.alpha, self.positive), self.l2_reg)
        return with_ridge(Zero(self.positive), self.alpha + self.l2_reg)


_INDEPENDENT_DOC = r"""Independent per-task {what}: the no-sharing baseline.

    Minimises over ``W`` (``n_features x n_tasks``) and intercepts ``b``

    .. math::

        \begin{{aligned}}
        & """ + _DATA_TERM + r""" \\
        & \quad + \alpha \lVert W \rVert_1 + """ + _RIDGE + r""" \qquad \text{{(penalty="l1")}}
        \end{{aligned}}

        \begin{{aligned}}
        & """ + _DATA_TERM + r""" \\
        & \quad + \frac{{\alpha}}{{2}} \lVert W \rVert_F^2
          + """ + _RIDGE + r""" \qquad \text{{(penalty="l2")}}
        \end{{aligned}}

    with {loss}. Nothing couples the tasks: this is one lasso / ridge per task
    (note the ``1/n_t`` scaling: for ridge this ``alpha`` is scikit-learn's
    ``Ridge`` alpha divided by ``n_t``).{solve}

    Parameters
    ----------
    alpha : float, default={alpha}
        Strength of the per-task penalty.
    penalty : {{"l1", "l2"}}, default="l2"
    positive : bool, default=False
        Constrain the coefficients to be non-negative.
    %(params)s
    Attributes
    ----------
    {extra}%(attributes)s
    """


class IndependentRegressor(_IndependentMixin, DirectQuadraticSolveMixin, MultiTaskRegressorMixin,
                           MultiTaskLinearModel):
    __doc__ = fill_doc(_INDEPENDENT_DOC.format(
        what="regression", loss=_SQUARED, extra="", alpha=1.0,
        solve=("\n\n    With ``solver=\"auto\"``, ridge (``penalty=\"l2\"``, not ``positive``) on "
               "dense features is\n    solved directly: one ``(d + 1) x (d + 1)`` system per "
               "task.")))


class IndependentClassifier(_IndependentMixin, MultiTaskClassifierMixin,
                            MultiTaskLinearModel):
    __init__ = init_with_defaults(_IndependentMixin.__init__, alpha=0.01)
    __doc__ = fill_doc(_INDEPENDENT_DOC.format(what="logistic regression", loss=_LOGISTIC, alpha=0.01,
                                               extra=_CLASSES, solve=""))
