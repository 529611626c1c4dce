"""Dirty multi-task model (Jalali et al. 2010): W = B + S, B block-sparse, S sparse."""

from numbers import Real

import numpy as np

from ..datafits import SumOfParts
from ..penalties import L21, Dirty, L1Inf, with_ridge
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
from ._docs import UNSEEN_TASKS_DOC, fill_doc


# ----------------------------------------------------------------------- dirty model
class _DirtyMixin:
    _parameter_constraints = {
        **MultiTaskLinearModel._parameter_constraints,
        "alpha": [Interval(Real, 0, None, closed="left")],
        "beta": [Interval(Real, 0, None, closed="left")],
        "block_norm": [StrOptions({"l1inf", "l21"})],
        "positive": ["boolean"],
        "unseen_tasks": [StrOptions({"error", "shared"})],
    }

    def __init__(self, alpha=1.0, beta=0.5, *, block_norm="l1inf", positive=False,
                 fit_intercept=True, intercept_reg=0.0, task_column=None, task_weights=None, l2_reg=0.0,
                 tol=1e-4, max_iter=1000, warm_start=False, solver="auto",
                 verbose=0, unseen_tasks="error"):
        store_params(self, locals())

    def _penalty_is_coercive(self):
        return (self.alpha > 0 and self.beta > 0) or self.l2_reg > 0

    def _free_direction(self):
        return f"alpha={self.alpha}, beta={self.beta}, l2_reg={self.l2_reg}"

    def _shared_model(self):
        """The mean over tasks of the shared part ``B`` (the task-specific part ``S`` is
        left out) and the mean intercept."""
        return self.coef_shared_.mean(axis=0), self._shared_intercept()

    def _unseen_hint(self):
        return (" To predict new tasks with the shared part B (its mean over tasks), set "
                "unseen_tasks='shared'.")

    def _make_penalty(self):
        block = (L1Inf if self.block_norm == "l1inf" else L21)(self.alpha, self.positive)
        return with_ridge(Dirty(block, self.beta, positive=self.positive), self.l2_reg)

    # the solver variable is V = [B; S]
    def _make_datafit(self, datafit):
        return SumOfParts(datafit)

    def _n_variable_rows(self, n_features):
        return 2 * n_features

    def _model_coef(self, V):
        return SumOfParts.combine(V)

    def _variable_from_fitted(self):
        return np.vstack([self.coef_shared_.T, self.coef_specific_.T]).astype(np.float64)

    def _set_coef(self, V, intercept):
        super()._set_coef(V, intercept)
        B, S = Dirty.split(V)
        self.coef_shared_ = np.ascontiguousarray(B.T)
        self.coef_specific_ = np.ascontiguousarray(S.T)

    def compute_beta_max(self, X, y, sample_weight=None, offset=None):
        """Smallest ``beta`` for which ``S = 0`` when ``B = 0``: ``max |G0|`` (``offset``:
        ``loss="poisson"`` only, as for ``fit``)."""
        return self._make_penalty().beta_max(self._null_gradient(X, y, sample_weight, offset))


_DIRTY_DOC = r"""Dirty multi-task {what} (Jalali et al. 2010): ``W = B + S``.

    ``B`` is block-sparse (features shared by all tasks), ``S`` element-sparse
    (task-specific features). Minimises over ``B``, ``S`` and intercepts ``c``

    .. math::

        \begin{{aligned}}
        & """ + _DATA_TERM.replace("w_t + b_t", "(b_t + s_t) + c_t") + r""" \\
        & \quad + \alpha \, \mathrm{{block}}(B) + \beta \lVert S \rVert_1
          + """ + _RIDGE.replace("W", "[B; S]") + r"""
        \end{{aligned}}

    with {loss}, :math:`b_t, s_t` the columns of ``B`` and ``S``, ``c_t`` the
    intercepts, :math:`\mathrm{{block}}(B) = \sum_j \max_t |B_{{jt}}|`
    (``block_norm="l1inf"``, as in the paper and MALSAR) or
    :math:`\sum_j \lVert B_j \rVert_2` (``"l21"``, as in mutar). Regimes: with ``"l1inf"``,
    ``S = 0`` when ``alpha <= beta`` and ``B = 0`` when ``alpha >= T * beta``
    (``T`` tasks); with ``"l21"``, ``S = 0`` when ``alpha <= beta`` and ``B = 0``
    when ``alpha >= sqrt(T) * beta``. In between both parts can be active.

    Parameters
    ----------
    alpha : float, default={alpha}
        Strength of the block penalty on the shared part ``B``.
    beta : float, default={beta}
        Strength of the l1 penalty on the specific part ``S``.
    block_norm : {{"l1inf", "l21"}}, default="l1inf"
    positive : bool, default=False
        Constrain ``B`` and ``S`` to be non-negative.
    {unseen}%(params)s
    Attributes
    ----------
    coef_shared_ : ndarray of shape (n_tasks, n_features)
        ``B.T``.
    coef_specific_ : ndarray of shape (n_tasks, n_features)
        ``S.T``; ``coef_ = coef_shared_ + coef_specific_``.
    {extra}%(attributes)s
    """


_UNSEEN = UNSEEN_TASKS_DOC.format(shared=(
    "the mean over tasks of the shared part ``B`` (``coef_shared_.mean(axis=0)``;\n"
    "        ``B`` has one column per task, with a support common to all tasks, so\n"
    "        its mean is a heuristic: the task-specific part ``S`` is left out) and\n"
    "        the mean intercept (``shared_intercept_`` with ``intercept_reg > 0``)"))


class DirtyRegressor(_DirtyMixin, MultiTaskRegressorMixin, MultiTaskLinearModel):
    __doc__ = fill_doc(_DIRTY_DOC.format(what="regression", loss=_SQUARED, extra="",
                                         alpha=1.0, beta=0.5, unseen=_UNSEEN))


class DirtyClassifier(_DirtyMixin, MultiTaskClassifierMixin, MultiTaskLinearModel):
    __init__ = init_with_defaults(_DirtyMixin.__init__, alpha=0.01, beta=0.005)
    __doc__ = fill_doc(_DIRTY_DOC.format(what="logistic regression", loss=_LOGISTIC, alpha=0.01,
                                         beta=0.005, extra=_CLASSES, unseen=_UNSEEN))
