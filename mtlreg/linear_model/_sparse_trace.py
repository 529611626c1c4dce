"""Sparse plus low-rank multi-task learning: l1 and trace norm on one ``W`` (MALSAR-style
SparseTrace; Richard, Savalle & Vayatis 2012)."""

from numbers import Real

from ..penalties import SparseTraceNorm, with_ridge
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
from ._docs import LOGISTIC_SOLVERS, fill_doc
from ._docs import RIDGE_DOC as _RIDGE
from ._docs import SQUARED_DOC as _SQUARED
from ._trace import set_spectrum


class _SparseTraceMixin:
    _solvers = ("auto", "fista", "admm")  # not row-separable: no BCD
    _parameter_constraints = {
        **MultiTaskLinearModel._parameter_constraints,
        "alpha": [Interval(Real, 0, None, closed="left")],
        "l1_ratio": [Interval(Real, 0, 1, closed="both")],
    }

    def __init__(self, alpha=1.0, *, l1_ratio=0.5, fit_intercept=True, intercept_reg=0.0, task_column=None,
                 task_weights=None, l2_reg=0.0, tol=1e-4, max_iter=1000, warm_start=False,
                 solver="auto", verbose=0):
        store_params(self, locals())

    def _make_penalty(self):
        return with_ridge(SparseTraceNorm(self.alpha, self.l1_ratio), self.l2_reg)

    def _coordinate_descent_ahead(self, n_rows):
        return False

    def _set_coef(self, V, intercept):
        super()._set_coef(V, intercept)
        set_spectrum(self, V, SparseTraceNorm(self.alpha, self.l1_ratio).rank_tol)


_DOC = r"""Sparse plus low-rank multi-task {what}: l1 and trace norm on one ``W``.

    The tasks share a low-dimensional subspace and each task uses few features
    (MALSAR's sparse + trace norm formulation on a single matrix; Richard, Savalle &
    Vayatis 2012). Minimises over ``W`` (``n_features x n_tasks``) and intercepts ``b``

    .. math::

        \begin{{aligned}}
        & """ + _DATA_TERM + r""" \\
        & \quad + \alpha \bigl(r \lVert W \rVert_1 + (1 - r) \lVert W \rVert_*\bigr)
          + """ + _RIDGE + r"""
        \end{{aligned}}

    with :math:`r` = ``l1_ratio``, :math:`\lVert W \rVert_*` the sum of the singular
    values of ``W`` and {loss}. ``l1_ratio = 1`` is the independent lasso,
    ``l1_ratio = 0`` the trace-norm model. MALSAR's two strengths
    ``rho1 ||W||_1 + rho2 ||W||_*`` are ``alpha = rho1 + rho2``,
    ``l1_ratio = rho1 / (rho1 + rho2)`` (up to the scaling of the data term): one
    overall strength and a mixing ratio, as the sparse group lasso, so that a
    regularization path and ``*CV`` run over ``alpha`` with ``W = 0`` from
    ``compute_alpha_max`` on, at a fixed ``l1_ratio``.

    The prox of the sum has no closed form: it is computed by an accelerated
    projected gradient on its dual to a relative duality gap of ``1e-13``
    (:class:`mtlreg.penalties.SparseTraceNorm`). ``solver="auto"``: on the squared
    loss with few features (Gram form) ADMM with a consensus split ``W = Z1 = Z2``
    whose z-steps are the closed-form proxes of the two norms (soft-thresholding,
    singular value thresholding), judged at the exact prox of its iterates (exactly
    sparse and low-rank), handing over to ADMM with the exact prox of the sum when it
    stalls (:mod:`mtlreg.solvers.admm`); the logistic loss by proximal Newton with
    that ADMM inside; FISTA otherwise.

    Parameters
    ----------
    alpha : float, default={alpha}
        Overall strength; ``W = 0`` for ``alpha >= compute_alpha_max(X, y)``.
    l1_ratio : float in [0, 1], default=0.5
        Share of the l1 term.
    %(params)s
    Attributes
    ----------
    rank_ : int
        Numerical rank of ``W`` (singular values above ``1e-10`` times the largest).
    singular_values_ : ndarray of shape (min(n_features, n_tasks),)
    {extra}%(attributes)s
    """


class SparseTraceNormRegressor(_SparseTraceMixin, MultiTaskRegressorMixin,
                               MultiTaskLinearModel):
    __doc__ = fill_doc(_DOC.format(what="regression", loss=_SQUARED, extra="", alpha=1.0))


class SparseTraceNormClassifier(_SparseTraceMixin, MultiTaskClassifierMixin,
                                MultiTaskLinearModel):
    _solvers = LOGISTIC_SOLVERS
    __init__ = init_with_defaults(_SparseTraceMixin.__init__, alpha=0.01)
    __doc__ = fill_doc(_DOC.format(what="logistic regression", loss=_LOGISTIC, alpha=0.01,
                                   extra=_CLASSES))
