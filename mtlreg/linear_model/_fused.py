"""Fused sparse group lasso along time (MALSAR cFSGL / CFGLasso; Zhou et al. 2012)."""

from numbers import Real

import numpy as np

from ..penalties import FusedSparseGroup, with_ridge
from ..utils.validation import Interval
from ._base import (
    MultiTaskClassifierMixin,
    MultiTaskLinearModel,
    MultiTaskRegressorMixin,
    store_params,
)
from ._docs import CLASSES_DOC as _CLASSES
from ._docs import DATA_TERM as _DATA_TERM
from ._docs import LOGISTIC_DOC as _LOGISTIC
from ._docs import RIDGE_DOC as _RIDGE
from ._docs import SQUARED_DOC as _SQUARED
from ._docs import fill_doc
from ._order import TASK_ORDER_DOC, ColumnPermuted, task_positions


class _FusedMixin:
    _parameter_constraints = {
        **MultiTaskLinearModel._parameter_constraints,
        "alpha": [Interval(Real, 0, None, closed="left")],
        "beta": [Interval(Real, 0, None, closed="left")],
        "l1_ratio": [Interval(Real, 0, 1, closed="both")],
        "task_order": [None, "array-like"],
    }

    def __init__(self, alpha=0.1, beta=0.1, *, l1_ratio=0.5, task_order=None,
                 fit_intercept=True, intercept_reg=0.0, task_column=None, task_weights=None, l2_reg=0.0, tol=1e-4,
                 max_iter=1000, warm_start=False, solver="auto", verbose=0):
        store_params(self, locals())

    def _prepare(self, X, y, sample_weight, reset=True):
        layout, datafit, tasks = super()._prepare(X, y, sample_weight, reset)
        self._positions = task_positions(tasks, self.task_order, self)
        return layout, datafit, tasks

    def _make_penalty(self):
        penalty = FusedSparseGroup(self.alpha, self.beta, self.l1_ratio)
        positions = getattr(self, "_positions", None)  # known once the data are laid out
        if positions is not None and np.any(positions != np.arange(len(positions))):
            penalty = ColumnPermuted(penalty, positions)
        return with_ridge(penalty, self.l2_reg)

    def _coordinate_descent_ahead(self, n_rows):
        return False


_DOC = r"""Fused sparse group lasso multi-task {what} (tasks = time points; MALSAR cFSGL).

    For disease progression and other tasks ordered in time (``task_order``, else
    the order of ``tasks_``, the sorted labels): features selected jointly over
    time, each feature's coefficient piecewise constant in time. Minimises over
    ``W`` (``n_features x n_tasks``) and intercepts ``b``

    .. math::

        \begin{{aligned}}
        & """ + _DATA_TERM + r""" \\
        & \quad + \alpha \Bigl(r \lVert W \rVert_1 + (1 - r) \sum_j \lVert W_j \rVert_2\Bigr)
          + \beta \sum_j \sum_{{t=1}}^{{T-1}} \lvert W_{{j,o(t+1)}} - W_{{j,o(t)}} \rvert \\
        & \quad + """ + _RIDGE + r"""
        \end{{aligned}}

    with :math:`r` = ``l1_ratio``, {loss} and ``o(1), ..., o(T)`` the tasks in time order.
    MALSAR's
    ``rho1 ||W||_1 + rho2 ||W R||_1 + rho3 ||W||_{{2,1}}``
    (``R`` the chain's incidence matrix) is ``alpha l1_ratio = rho1``,
    ``beta = rho2``, ``alpha (1 - l1_ratio) = rho3`` (up to the scaling of the data
    term). The prox of the whole penalty is exact (fused-lasso prox of each row by
    Condat's algorithm, then soft- and block soft-thresholding); solved by ADMM on
    the squared loss with few features, FISTA otherwise.

    Parameters
    ----------
    alpha : float, default=0.1
        Strength of the sparse group part; ``W = 0`` for
        ``alpha >= compute_alpha_max(X, y)`` (the sparse group lasso's, an upper
        bound whatever ``beta``).
    beta : float, default=0.1
        Strength of the fused (total variation) term along the chain of tasks.
    l1_ratio : float in [0, 1], default=0.5
        Share of the l1 term in ``alpha``'s part.
    """ + TASK_ORDER_DOC + r"""%(params)s
    Attributes
    ----------
    {extra}%(attributes)s
    """


class FusedGroupLassoRegressor(_FusedMixin, MultiTaskRegressorMixin, MultiTaskLinearModel):
    __doc__ = fill_doc(_DOC.format(what="regression", loss=_SQUARED, extra=""))


class FusedGroupLassoClassifier(_FusedMixin, MultiTaskClassifierMixin, MultiTaskLinearModel):
    __doc__ = fill_doc(_DOC.format(what="logistic regression", loss=_LOGISTIC,
                                   extra=_CLASSES))
