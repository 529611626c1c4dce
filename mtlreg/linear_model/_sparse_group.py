"""Multi-task sparse group lasso: features selected jointly, entries sparse."""

from numbers import Real

from ..penalties import SparseGroupL1L21, with_ridge
from ..utils.validation import Interval
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


# ----------------------------------------------------------------- sparse group lasso
class _SparseGroupLassoMixin:
    _parameter_constraints = {
        **MultiTaskLinearModel._parameter_constraints,
        "alpha": [Interval(Real, 0, None, closed="left")],
        "l1_ratio": [Interval(Real, 0, 1, closed="both")],
        "positive": ["boolean"],
    }

    def __init__(self, alpha=1.0, *, l1_ratio=0.5, positive=False, fit_intercept=True, intercept_reg=0.0,
                 task_column=None, task_weights=None, l2_reg=0.0, tol=1e-4, max_iter=1000,
                 warm_start=False, solver="auto", verbose=0):
        store_params(self, locals())

    def _make_penalty(self):
        return with_ridge(SparseGroupL1L21(self.alpha, self.l1_ratio, self.positive),
                          self.l2_reg)


_SGL_DOC = r"""Multi-task sparse group lasso {what}: features selected jointly, entries sparse.

    Minimises over ``W`` (``n_features x n_tasks``) and intercepts ``b``

    .. math::

        \begin{{aligned}}
        & """ + _DATA_TERM + r""" \\
        & \quad + \alpha \Bigl(r \lVert W \rVert_1
          + (1 - r) \sum_j \lVert W_j \rVert_2\Bigr) + """ + _RIDGE + r"""
        \end{{aligned}}

    with :math:`r` = ``l1_ratio``, ``W_j`` row ``j`` of ``W`` and {loss}.
    ``l1_ratio = 0`` is the group lasso, ``l1_ratio = 1`` the independent lasso.

    Parameters
    ----------
    alpha : float, default={alpha}
        Overall strength of the penalty.
    l1_ratio : float in [0, 1], default=0.5
        Share of the element-wise l1 term.
    positive : bool, default=False
        Constrain the coefficients to be non-negative.
    %(params)s
    Attributes
    ----------
    {extra}%(attributes)s
    """


class SparseGroupLassoRegressor(_SparseGroupLassoMixin, MultiTaskRegressorMixin,
                                MultiTaskLinearModel):
    __doc__ = fill_doc(_SGL_DOC.format(what="regression", loss=_SQUARED, extra="", alpha=1.0))


class SparseGroupLassoClassifier(_SparseGroupLassoMixin, MultiTaskClassifierMixin,
                                 MultiTaskLinearModel):
    __init__ = init_with_defaults(_SparseGroupLassoMixin.__init__, alpha=0.01)
    __doc__ = fill_doc(_SGL_DOC.format(what="logistic regression", loss=_LOGISTIC, alpha=0.01,
                                       extra=_CLASSES))
