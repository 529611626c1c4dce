"""Sparse formulations: sparse group lasso, the dirty model, and independent baselines."""

from numbers import Real

import numpy as np

from ._base import (
    MultiTaskClassifierMixin,
    MultiTaskLinearModel,
    MultiTaskRegressorMixin,
    store_params,
)
from ._docs import fill_doc
from .datafits import SumOfParts
from .penalties import L1, L21, Dirty, L1Inf, SparseGroupL1L21, Zero, with_ridge
from .utils.validation import Interval, StrOptions

_SQUARED = r":math:`\ell(y, z) = \frac{1}{2} (y - z)^2`"
_LOGISTIC = r":math:`\ell(y, z) = \log(1 + e^z) - y z` for labels :math:`y \in \{0, 1\}`"
_CLASSES = "classes_ : ndarray of shape (2,)\n        The two class labels.\n    "
# (braces doubled: the templates below go through str.format)
_DATA_TERM = (r"\sum_t \frac{{\lambda_t}}{{n_t}} \sum_{{i \in t}} s_i \,"
              r" \ell(y_i, x_i^\top w_t + b_t)")
_RIDGE = r"\frac{{\mathrm{{l2\_reg}}}}{{2}} \lVert W \rVert_F^2"


# ----------------------------------------------------------------- sparse group lasso
class _SparseGroupLassoMixin:
    _parameter_constraints = {
        **MultiTaskLinearModel._parameter_constraints,
        "alpha": [Interval(Real, 0, None, closed="left")],
        "l1_ratio": [Interval(Real, 0, 1, closed="both")],
        "positive": ["boolean"],
    }

    def __init__(self, alpha=0.1, *, l1_ratio=0.5, positive=False, fit_intercept=True,
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
    alpha : float, default=0.1
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
    __doc__ = fill_doc(_SGL_DOC.format(what="regression", loss=_SQUARED, extra=""))


class SparseGroupLassoClassifier(_SparseGroupLassoMixin, MultiTaskClassifierMixin,
                                 MultiTaskLinearModel):
    __doc__ = fill_doc(_SGL_DOC.format(what="logistic regression", loss=_LOGISTIC,
                                       extra=_CLASSES))


# ----------------------------------------------------------------------- dirty model
class _DirtyMixin:
    _parameter_constraints = {
        **MultiTaskLinearModel._parameter_constraints,
        "alpha": [Interval(Real, 0, None, closed="left")],
        "beta": [Interval(Real, 0, None, closed="left")],
        "block_norm": [StrOptions({"l1inf", "l21"})],
        "positive": ["boolean"],
    }

    def __init__(self, alpha=0.1, beta=0.1, *, block_norm="l1inf", positive=False,
                 fit_intercept=True, task_column=None, task_weights=None, l2_reg=0.0,
                 tol=1e-4, max_iter=1000, warm_start=False, solver="auto",
                 verbose=0):
        store_params(self, locals())

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

    def compute_beta_max(self, X, y, sample_weight=None):
        """Smallest ``beta`` for which ``S = 0`` when ``B = 0``: ``max |G0|``."""
        return self._make_penalty().beta_max(self._null_gradient(X, y, sample_weight))


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
    alpha : float, default=0.1
        Strength of the block penalty on the shared part ``B``.
    beta : float, default=0.1
        Strength of the l1 penalty on the specific part ``S``.
    block_norm : {{"l1inf", "l21"}}, default="l1inf"
    positive : bool, default=False
        Constrain ``B`` and ``S`` to be non-negative.
    %(params)s
    Attributes
    ----------
    coef_shared_ : ndarray of shape (n_tasks, n_features)
        ``B.T``.
    coef_specific_ : ndarray of shape (n_tasks, n_features)
        ``S.T``; ``coef_ = coef_shared_ + coef_specific_``.
    {extra}%(attributes)s
    """


class DirtyRegressor(_DirtyMixin, MultiTaskRegressorMixin, MultiTaskLinearModel):
    __doc__ = fill_doc(_DIRTY_DOC.format(what="regression", loss=_SQUARED, extra=""))


class DirtyClassifier(_DirtyMixin, MultiTaskClassifierMixin, MultiTaskLinearModel):
    __doc__ = fill_doc(_DIRTY_DOC.format(what="logistic regression", loss=_LOGISTIC,
                                         extra=_CLASSES))


# --------------------------------------------------------------- independent tasks
class _IndependentMixin:
    _parameter_constraints = {
        **MultiTaskLinearModel._parameter_constraints,
        "alpha": [Interval(Real, 0, None, closed="left")],
        "penalty": [StrOptions({"l1", "l2"})],
        "positive": ["boolean"],
    }

    def __init__(self, alpha=0.1, *, penalty="l2", positive=False, fit_intercept=True,
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
    ``Ridge`` alpha divided by ``n_t``).

    Parameters
    ----------
    alpha : float, default=0.1
        Strength of the per-task penalty.
    penalty : {{"l1", "l2"}}, default="l2"
    positive : bool, default=False
        Constrain the coefficients to be non-negative.
    %(params)s
    Attributes
    ----------
    {extra}%(attributes)s
    """


class IndependentRegressor(_IndependentMixin, MultiTaskRegressorMixin, MultiTaskLinearModel):
    __doc__ = fill_doc(_INDEPENDENT_DOC.format(what="regression", loss=_SQUARED, extra=""))


class IndependentClassifier(_IndependentMixin, MultiTaskClassifierMixin,
                            MultiTaskLinearModel):
    __doc__ = fill_doc(_INDEPENDENT_DOC.format(what="logistic regression", loss=_LOGISTIC,
                                               extra=_CLASSES))
