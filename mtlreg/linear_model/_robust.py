"""Robust multi-task models with outlier tasks: ``W = P + Q``, ``Q`` column-group sparse.

* robust multi-task learning (Chen, Zhou & Ye 2011, MALSAR RMTL): ``P`` low-rank
  (trace norm), the outlier tasks in ``Q``;
* robust multi-task feature learning (Gong, Ye & Zhang 2012, MALSAR rMTFL): ``P``
  row-sparse (features shared by the regular tasks), the outlier tasks in ``Q``.

Both reuse the dirty model's machinery (:class:`mtlreg.datafits.SumOfParts` on the
stacked variable ``[P; Q]``) with a :class:`mtlreg.penalties.TwoParts` penalty.
"""

from numbers import Real

import numpy as np

from ..datafits import SumOfParts
from ..penalties import L21, ColumnL21, TraceNorm, TwoParts, with_ridge
from ..penalties._per_class import TaskStacked
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


class _OutlierTasksMixin:
    _parameter_constraints = {
        **MultiTaskLinearModel._parameter_constraints,
        "alpha": [Interval(Real, 0, None, closed="left")],
        "beta": [Interval(Real, 0, None, closed="left")],
    }
    _first_name = "coef_shared_"

    def __init__(self, alpha=0.1, beta=0.1, *, fit_intercept=True, intercept_reg=0.0, task_column=None,
                 task_weights=None, l2_reg=0.0, tol=1e-4, max_iter=1000, warm_start=False,
                 solver="auto", verbose=0):
        store_params(self, locals())

    def _make_penalty(self):
        return with_ridge(TwoParts(self._first(self.alpha), ColumnL21(self.beta)),
                          self.l2_reg)

    def _coordinate_descent_ahead(self, n_rows):
        return False

    # the solver variable is V = [P; Q]
    def _make_datafit(self, datafit):
        return SumOfParts(datafit)

    def _n_variable_rows(self, n_features):
        return 2 * n_features

    def _model_coef(self, V):
        return SumOfParts.combine(V)

    def _variable_from_fitted(self):
        return np.vstack([getattr(self, self._first_name).T,
                          self.coef_outlier_.T]).astype(np.float64)

    def _set_coef(self, V, intercept):
        super()._set_coef(V, intercept)
        P, Q = TwoParts.split(V)
        setattr(self, self._first_name, np.ascontiguousarray(P.T))
        self.coef_outlier_ = np.ascontiguousarray(Q.T)
        if getattr(self, "_n_classes_fit", lambda: 2)() > 2:  # K classes: a column per task
            Q = TaskStacked(None, self._n_classes_fit()).stack(Q)
        self.outlier_scores_ = np.sqrt((Q**2).sum(axis=0))
        self.outlier_tasks_ = self.tasks_[self.outlier_scores_ > 0]

    def compute_beta_max(self, X, y, sample_weight=None, offset=None):
        """Smallest ``beta`` for which ``Q = 0`` when ``P = 0``: the largest column norm
        of the data-fit gradient at ``W = 0`` (``offset``: ``loss="poisson"`` only, as for
        ``fit``)."""
        # the penalty of this data (its number of classes), on the prepared clone
        est, layout, datafit = self._prepared(X, y, sample_weight, offset)
        return est._make_penalty().beta_max(est._null_model(layout, datafit)[2])


class _RobustMixin(_OutlierTasksMixin):
    _first_name = "coef_lowrank_"

    @staticmethod
    def _first(alpha):
        return TraceNorm(alpha)

    def _set_coef(self, V, intercept):
        super()._set_coef(V, intercept)
        self.rank_ = TraceNorm(self.alpha).rank(TwoParts.split(V)[0])


class _RobustFeatureMixin(_OutlierTasksMixin):
    @staticmethod
    def _first(alpha):
        return L21(alpha)


_OUTLIER_ATTRS = r"""coef_outlier_ : ndarray of shape (n_tasks, n_features)
        ``Q.T``: non-zero rows for the outlier tasks; ``coef_ = {first} + coef_outlier_``.
    outlier_scores_ : ndarray of shape (n_tasks,)
        ``||q_t||_2`` for every task.
    outlier_tasks_ : ndarray
        The tasks (labels from ``tasks_``) flagged as outliers: ``q_t != 0``.
    """

_ROBUST_DOC = r"""Robust multi-task {what} (Chen, Zhou & Ye 2011; MALSAR RMTL).

    Most tasks share a low-dimensional subspace; a few outlier tasks do not.
    ``W = L + S`` with ``L`` low-rank and ``S`` column-group sparse (the non-zero
    columns are the outlier tasks, ``outlier_tasks_``). Minimises over ``L``,
    ``S`` and intercepts ``b``

    .. math::

        \begin{{aligned}}
        & """ + _DATA_TERM.replace("w_t", "(l_t + s_t)") + r""" \\
        & \quad + \alpha \lVert L \rVert_* + \beta \sum_t \lVert s_t \rVert_2
          + """ + _RIDGE.replace("W", "[L; S]") + r"""
        \end{{aligned}}

    with {loss}, ``l_t``, ``s_t`` the columns (tasks) of ``L`` and ``S``, ``||.||_*``
    the trace norm. Solved on the stacked variable ``[L; S]`` (singular value
    thresholding for ``L``, block soft-thresholding of the columns of ``S``) by ADMM
    with exact per-task solves for the squared loss with few features (see
    :mod:`mtlreg.solvers.admm`), else by FISTA; proximal Newton for the logistic loss.
    The split of ``W`` into ``L`` and ``S`` need not be unique; ``W`` is when the
    data term is strictly convex.

    Parameters
    ----------
    alpha : float, default=0.1
        Strength of the trace norm on ``L``.
    beta : float, default=0.1
        Strength of the column-group penalty on ``S`` (smaller: more outlier tasks);
        ``S = 0`` when ``L = 0`` for ``beta >= compute_beta_max(X, y)``.
    %(params)s
    Attributes
    ----------
    coef_lowrank_ : ndarray of shape (n_tasks, n_features)
        ``L.T``.
    """ + _OUTLIER_ATTRS.format(first="coef_lowrank_") + r"""rank_ : int
        Numerical rank of ``L``.
    {extra}%(attributes)s
    """

_RMTFL_DOC = r"""Robust multi-task feature learning {what} (Gong, Ye & Zhang 2012; MALSAR rMTFL).

    The regular tasks share a few features; outlier tasks have their own.
    ``W = P + Q`` with ``P`` row-sparse and ``Q`` column-group sparse (non-zero
    columns: the outlier tasks, ``outlier_tasks_``). Minimises over ``P``, ``Q`` and
    intercepts ``b``

    .. math::

        \begin{{aligned}}
        & """ + _DATA_TERM.replace("w_t", "(p_t + q_t)") + r""" \\
        & \quad + \alpha \sum_j \lVert P_j \rVert_2 + \beta \sum_t \lVert q_t \rVert_2
          + """ + _RIDGE.replace("W", "[P; Q]") + r"""
        \end{{aligned}}

    with {loss}, ``P_j`` the rows (features) of ``P`` and ``q_t`` the columns
    (tasks) of ``Q``. Solved on the stacked variable ``[P; Q]`` (block
    soft-thresholding of the rows of ``P`` and of the columns of ``Q``) by ADMM with
    exact per-task solves for the squared loss with few features (see
    :mod:`mtlreg.solvers.admm`), else by FISTA; proximal Newton for the logistic loss.

    Parameters
    ----------
    alpha : float, default=0.1
        Strength of the row-group penalty on ``P``.
    beta : float, default=0.1
        Strength of the column-group penalty on ``Q``.
    %(params)s
    Attributes
    ----------
    coef_shared_ : ndarray of shape (n_tasks, n_features)
        ``P.T``.
    """ + _OUTLIER_ATTRS.format(first="coef_shared_") + r"""{extra}%(attributes)s
    """


class RobustMultiTaskRegressor(_RobustMixin, MultiTaskRegressorMixin, MultiTaskLinearModel):
    _solvers = ("auto", "fista", "admm")  # ADMM on the stacked [L; S]; not row-separable
    __doc__ = fill_doc(_ROBUST_DOC.format(what="regression", loss=_SQUARED, extra=""))


class RobustMultiTaskClassifier(_RobustMixin, MultiTaskClassifierMixin, MultiTaskLinearModel):
    __doc__ = fill_doc(_ROBUST_DOC.format(what="logistic regression", loss=_LOGISTIC,
                                          extra=_CLASSES))


class RobustFeatureLearningRegressor(_RobustFeatureMixin, MultiTaskRegressorMixin,
                                     MultiTaskLinearModel):
    _solvers = ("auto", "fista", "admm")  # ADMM on the stacked [P; Q]; no BCD
    __doc__ = fill_doc(_RMTFL_DOC.format(what="regression", loss=_SQUARED, extra=""))


class RobustFeatureLearningClassifier(_RobustFeatureMixin, MultiTaskClassifierMixin,
                                      MultiTaskLinearModel):
    __doc__ = fill_doc(_RMTFL_DOC.format(what="(logistic regression)", loss=_LOGISTIC,
                                         extra=_CLASSES))
