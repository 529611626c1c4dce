"""Trace-norm multi-task learning (low-rank coefficient matrix, Ji & Ye 2009)."""

from numbers import Real

import numpy as np

from ..penalties import TraceNorm, with_ridge
from ..penalties._spectral import numerical_rank
from ..utils.validation import Interval
from ._base import (
    MultiTaskClassifierMixin,
    MultiTaskLinearModel,
    MultiTaskRegressorMixin,
    init_with_defaults,
    store_params,
)
from ._docs import fill_doc


class _TraceNormMixin:
    _parameter_constraints = {
        **MultiTaskLinearModel._parameter_constraints,
        "alpha": [Interval(Real, 0, None, closed="left")],
    }

    def __init__(self, alpha=1.0, *, fit_intercept=True, intercept_reg=0.0, task_column=None, task_weights=None,
                 l2_reg=0.0, tol=1e-4, max_iter=1000, warm_start=False, solver="auto",
                 verbose=0):
        store_params(self, locals())

    def _make_penalty(self):
        return with_ridge(TraceNorm(self.alpha), self.l2_reg)

    def _set_coef(self, V, intercept):
        super()._set_coef(V, intercept)
        set_spectrum(self, V, TraceNorm(self.alpha).rank_tol)


def set_spectrum(est, V, rank_tol):
    """``singular_values_`` of ``V`` and ``rank_`` from them (one SVD)."""
    est.singular_values_ = np.linalg.svd(V, compute_uv=False)
    est.rank_ = numerical_rank(est.singular_values_, rank_tol)


_DOC = r"""Trace-norm multi-task {what} (low-rank ``W``: tasks share a subspace).

    Minimises over ``W`` (``n_features x n_tasks``) and intercepts ``b``

    .. math::

        \begin{{aligned}}
        & \sum_t \frac{{\lambda_t}}{{n_t}} \sum_{{i \in t}} s_i \, \ell(y_i, x_i^\top w_t + b_t) \\
        & \quad + \alpha \lVert W \rVert_* + \frac{{\mathrm{{l2\_reg}}}}{{2}} \lVert W \rVert_F^2
        \end{{aligned}}

    with :math:`\lVert W \rVert_*` the sum of the singular values of ``W`` and {loss}.
    Solved by FISTA with singular value thresholding as the prox.

    Parameters
    ----------
    alpha : float, default={alpha}
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
    __doc__ = fill_doc(_DOC.format(what="regression",
                                   loss=r":math:`\ell(y, z) = \frac{1}{2} (y - z)^2`",
                                   extra="", alpha=1.0))


class TraceNormClassifier(_TraceNormMixin, MultiTaskClassifierMixin, MultiTaskLinearModel):
    __init__ = init_with_defaults(_TraceNormMixin.__init__, alpha=0.01)
    __doc__ = fill_doc(_DOC.format(
        what="logistic regression",
        alpha=0.01,
        loss=r":math:`\ell(y, z) = \log(1 + e^z) - y z` for labels :math:`y \in \{0, 1\}`",
        extra="classes_ : ndarray of shape (2,)\n        The two class labels.\n    ",
    ))
