"""Trace-norm multi-task learning (low-rank coefficient matrix, Ji & Ye 2009)."""

from numbers import Real

import numpy as np

from ._base import (
    MultiTaskClassifierMixin,
    MultiTaskLinearModel,
    MultiTaskRegressorMixin,
    store_params,
)
from ._docs import FISTA_ONLY, fill_doc
from ..penalties import TraceNorm, with_ridge
from ..utils.validation import Interval


class _TraceNormMixin:
    _parameter_constraints = {
        **MultiTaskLinearModel._parameter_constraints,
        "alpha": [Interval(Real, 0, None, closed="left")],
    }

    def __init__(self, alpha=0.1, *, fit_intercept=True, task_column=None, task_weights=None,
                 l2_reg=0.0, tol=1e-4, max_iter=1000, warm_start=False, solver="auto",
                 verbose=0):
        store_params(self, locals())

    def _make_penalty(self):
        return with_ridge(TraceNorm(self.alpha), self.l2_reg)

    def _set_coef(self, V, intercept):
        super()._set_coef(V, intercept)
        self.rank_ = TraceNorm(self.alpha).rank(V)
        self.singular_values_ = _singular_values(V)


def _singular_values(W):
    return np.linalg.svd(W, compute_uv=False)


_DOC = r"""Trace-norm multi-task {what} (low-rank ``W``: tasks share a subspace).

    Minimises over ``W`` (``n_features x n_tasks``) and intercepts ``b``::

        sum_t lambda_t / n_t * sum_{{i in task t}} s_i loss(y_it, x_i . w_t + b_t)
            + alpha * ||W||_* + (l2_reg / 2) ||W||_F^2

    with ``||W||_*`` the sum of the singular values of ``W`` and {loss}.
    Solved by FISTA with singular value thresholding as the prox.

    Parameters
    ----------
    alpha : float, default=0.1
        Strength of the trace norm; ``W = 0`` (rank 0) for
        ``alpha >= compute_alpha_max(X, y)``, the spectral norm of the data-fit
        gradient at ``W = 0``.
    %(params)s
    Attributes
    ----------
    rank_ : int
        Numerical rank of ``W`` (singular values above ``1e-10`` times the largest).
    singular_values_ : ndarray of shape (min(n_features, n_tasks),)
    {extra}%(attributes)s
    """


class TraceNormRegressor(_TraceNormMixin, MultiTaskRegressorMixin, MultiTaskLinearModel):
    _solvers = ("auto", "fista", "admm")  # the trace norm is not row-separable
    __doc__ = fill_doc(_DOC.format(what="regression", loss="``loss(y, z) = (y - z)^2 / 2``",
                                   extra=""), solvers=("auto", "fista", "admm"))


class TraceNormClassifier(_TraceNormMixin, MultiTaskClassifierMixin, MultiTaskLinearModel):
    __doc__ = fill_doc(_DOC.format(
        what="logistic regression",
        loss="``loss(y, z) = log(1 + exp(z)) - y z`` for labels ``y in {0, 1}``",
        extra="classes_ : ndarray of shape (2,)\n        The two class labels.\n    ",
    ), solvers=FISTA_ONLY)
