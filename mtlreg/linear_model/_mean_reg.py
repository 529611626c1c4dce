"""Mean-regularised multi-task learning (soft parameter sharing, Evgeniou & Pontil 2004)."""

import warnings
from numbers import Real

import numpy as np
import scipy.sparse as sp
from sklearn.exceptions import ConvergenceWarning

from ..penalties import MeanRegularization, with_ridge
from ..solvers.direct import direct, quadratic_strengths
from ..utils.validation import Interval, StrOptions
from ._base import (
    MultiTaskClassifierMixin,
    MultiTaskLinearModel,
    MultiTaskRegressorMixin,
    init_with_defaults,
    store_params,
)
from ._docs import UNSEEN_TASKS_DOC, fill_doc


class _MeanRegularizedMixin:
    _parameter_constraints = {
        **MultiTaskLinearModel._parameter_constraints,
        "alpha": [Interval(Real, 0, None, closed="left"), StrOptions({"reml"})],
        "intercept_reg": [Interval(Real, 0, None, closed="left"), StrOptions({"reml"})],
        "unseen_tasks": [StrOptions({"error", "shared"})],
    }

    def __init__(self, alpha=1.0, *, l2_reg=0.01, fit_intercept=True, intercept_reg=0.0, task_column=None,
                 task_weights=None, tol=1e-4, max_iter=1000, warm_start=False, solver="auto",
                 verbose=0, unseen_tasks="error"):
        store_params(self, locals())

    def _shared_model(self):
        """``w_bar``, the mean of the task vectors (the centre of the penalty), and the
        mean intercept."""
        return self.coef_.mean(axis=0), self._shared_intercept()

    def _unseen_hint(self):
        return (" To predict new tasks with the mean model w_bar (the mean of the task "
                "vectors), set unseen_tasks='shared'.")

    def _make_penalty(self):
        alpha = self.alpha_ if isinstance(self.alpha, str) else self.alpha
        return with_ridge(MeanRegularization(alpha), self.l2_reg)

    def _reml_intercepts(self):
        """``intercept_reg="reml"`` with intercepts: estimated with ``alpha``."""
        return isinstance(self.intercept_reg, str) and self.fit_intercept

    def _shrinks(self):
        # before the estimate exists (the single-sample task check): shrunk, the
        # estimate being positive (a zero intercept variance gives a large finite one)
        return self._reml_intercepts() or super()._shrinks()

    def _intercept_strength(self):
        if not isinstance(self.intercept_reg, str):
            return float(self.intercept_reg)
        if not self.fit_intercept:
            return 0.0
        if not hasattr(self, "intercept_reg_"):  # a path / *CV search: no REML fit here
            raise ValueError(
                f"intercept_reg='reml' is estimated by {type(self).__name__}(alpha='reml', "
                "intercept_reg='reml').fit; a search over alpha (the *CV estimators, "
                "regularization paths) needs a number: give intercept_reg a number, or tune "
                "it with intercept_regs.")
        return self.intercept_reg_

    def _check_intercept_reg(self):
        """Before the data are read (so that these messages come first): the parameter
        checks of the base, and where ``"reml"`` has no meaning."""
        name = type(self).__name__
        reml_b = isinstance(self.intercept_reg, str)
        if (isinstance(self.alpha, str) or reml_b) and self._loss != "squared":
            raise ValueError(
                f"{name}(alpha='reml' / intercept_reg='reml'): the restricted likelihood is "
                "that of the squared loss (MeanRegularizedRegressor); give alpha and "
                f"intercept_reg numbers, or tune them with {name}CV.")
        if reml_b:
            if not isinstance(self.alpha, str):
                raise ValueError(
                    f"{name}(intercept_reg='reml') estimates intercept_reg together with "
                    "alpha: set alpha='reml' too (or give intercept_reg a number).")
            if callable(self.solver) and self.fit_intercept:
                raise ValueError(
                    f"intercept_reg='reml' needs one of the built-in solvers of {name} "
                    f"({', '.join(repr(n) for n in self._solvers)}); a callable solver "
                    f"({self.solver!r}) solves the data term without the intercept term.")
            return
        super()._check_intercept_reg()
        if isinstance(self.alpha, str) and self.intercept_reg > 0 and self.fit_intercept:
            raise ValueError(
                f"{name}(alpha='reml') estimates alpha with free intercepts "
                "(intercept_reg=0) or with intercept_reg='reml' (random intercepts, both "
                "strengths estimated); a numeric intercept_reg > 0 with alpha='reml' is not "
                "offered: give alpha a number, or use HierarchicalRegressor.")

    def _estimate_strengths(self, layout):
        """``alpha="reml"``: ``alpha_`` (and ``intercept_reg_`` with
        ``intercept_reg="reml"``) by restricted maximum likelihood of the model's Bayesian
        twin (:mod:`mtlreg.mixed._twins`), from the layout's Gram form."""
        if not isinstance(self.alpha, str):
            self.alpha_ = float(self.alpha)
            return
        name = type(self).__name__
        from ..mixed._twins import mean_regularization_reml, shrunk_mean_regularization_reml

        H, r = layout.task_gram()
        self.__dict__.pop("intercept_reg_", None)  # a previous fit's estimate
        if self._reml_intercepts():
            alpha, s, fit = shrunk_mean_regularization_reml(
                H, r, layout.gram_constant(), layout.weighted_counts(), layout.mu,
                layout.lambdas)
        else:
            alpha, fit = mean_regularization_reml(
                H, r, layout.gram_constant(), layout.weighted_counts(),
                intercept=self.fit_intercept)
        if not fit.converged:
            warnings.warn(
                f"{name}(alpha='reml'): the restricted likelihood's maximisation did not "
                f"converge (projected gradient {fit.projected_gradient:.2e}: "
                f"{fit.message}); alpha_={alpha:.4g} may be off its maximiser.",
                ConvergenceWarning)
        big = 1e8 * max(float(np.mean(np.trace(H, axis1=1, axis2=2))), 1.0)
        if not np.isfinite(alpha):
            # the likelihood is largest with no between-task variance: the tasks share
            # one vector; a finite alpha this large makes them equal to rounding
            alpha = big
            warnings.warn(
                f"{name}(alpha='reml'): the restricted likelihood is largest with no "
                f"variance between the task vectors; alpha_ is set to {alpha:.3g} (the "
                "tasks share one coefficient vector).", UserWarning)
        if self._reml_intercepts():
            if not np.isfinite(s):
                s = 1e8
                warnings.warn(
                    f"{name}(intercept_reg='reml'): the restricted likelihood is largest "
                    "with no variance between the intercepts; intercept_reg_ is set to "
                    f"{s:.3g} (the tasks share one intercept).", UserWarning)
            self.intercept_reg_ = float(s)
        self.alpha_ = float(alpha)
        self.reml_log_likelihood_ = float(fit.evaluation.log_likelihood)

    def _penalty_is_coercive(self):
        return self.l2_reg > 0  # alpha only penalises the deviations from the mean

    def _free_direction(self):
        return f"l2_reg={self.l2_reg}: alpha only penalises deviations from the task mean"

    def _coordinate_descent_ahead(self, n_rows):
        return False  # "auto" is the direct solve on the Gram matrices (ridge-like)


_OBJECTIVE = r"""
    .. math::

        \begin{aligned}
        & \sum_t \frac{\lambda_t}{n_t} \sum_{i \in t} s_i \, \ell(y_i, x_i^\top w_t + b_t) \\
        & \quad + \frac{\alpha}{2} \sum_t \lVert w_t - \bar w \rVert_2^2
          + \frac{\mathrm{l2\_reg}}{2} \lVert W \rVert_F^2
        \end{aligned}

    with :math:`\bar w = \frac{1}{T} \sum_t w_t` the mean of the task vectors. ``alpha``
    couples the tasks (``alpha = 0``: independent ridge per task; ``alpha -> inf``:
    one shared vector); ``l2_reg`` shrinks everything, the mean included. The mean
    itself is penalised by ``l2_reg`` alone, which is why ``l2_reg`` defaults to 0.01
    here (0.0 elsewhere): without it the shared part is an unregularised fit, with no
    finite solution on separable classes or collinear features."""


_SHARED = ("the mean model ``w_bar`` (the mean of the task vectors,\n"
           "        ``coef_.mean(axis=0)``) and the mean intercept (``shared_intercept_``\n"
           "        with ``intercept_reg > 0``)")


class DirectQuadraticSolveMixin:
    """``solver="auto"`` on a squared loss with a quadratic penalty: the exact direct
    solve of :func:`mtlreg.solvers.direct.direct` on the layout's per-task Gram
    matrices (one ``d x d`` coupling system) when it applies (dense, moderate d, a
    penalty of :func:`mtlreg.solvers.direct.quadratic_strengths`), else the iterative
    solver.

    The direct solution is verified by the optimality measure; if it misses ``tol``
    (ill-conditioning) the iterative solver polishes it, and it starts from ``W0``
    where a task system is singular.
    """

    _max_direct_features = 2000

    def _solve_fixed(self, layout, datafit, penalty, W0, b0, gradient_scale):
        if not (quadratic_strengths(penalty) is not None and self.solver == "auto"
                and self._loss == "squared"
                and not sp.issparse(layout.X)
                and layout.n_features <= self._max_direct_features):
            return super()._solve_fixed(layout, datafit, penalty, W0, b0, gradient_scale)

        def iterative(datafit, penalty, W, b, **_):
            return super(DirectQuadraticSolveMixin, self)._solve_fixed(
                layout, datafit, penalty, W, b, gradient_scale)

        # with intercept_reg > 0 the datafit carries the Gram blocks of the intercept term
        gram = datafit.gram() if hasattr(datafit, "gram") else layout.task_gram()
        return direct(datafit, penalty, W0, b0, fit_intercept=self.fit_intercept,
                      tol=self.tol, gradient_scale=gradient_scale, gram=gram,
                      fallback=iterative)


class MeanRegularizedRegressor(_MeanRegularizedMixin, DirectQuadraticSolveMixin,
                               MultiTaskRegressorMixin, MultiTaskLinearModel):
    __doc__ = fill_doc(r"""Mean-regularised multi-task regression (soft parameter sharing).

    Minimises over ``W`` (``n_features x n_tasks``) and intercepts ``b``, with
    :math:`\ell(y, z) = \frac{1}{2} (y - z)^2`,
    """ + _OBJECTIVE + r"""

    The squared loss makes the problem a linear system, solved directly (per-task
    Gram matrices and one ``d x d`` system for the coupling, Sherman-Morrison
    style) when the features are dense; FISTA otherwise.

    Parameters
    ----------
    alpha : float or "reml", default=1.0
        Strength of the coupling to the task mean. ``"reml"``: estimated in the fit,
        without a grid, by restricted maximum likelihood of the model's Bayesian twin
        (a linear mixed model with a fixed intercept per task, fixed population slopes
        and isotropic random slopes ``u_t ~ N(0, tau^2 I)``, noise variance
        ``sigma^2 / c_it`` for the data term's weights ``c_it = lambda_t s_i / n_t``):
        ``alpha_ = sigma^2 / tau^2``, for which the fit is the twin's posterior mean
        when ``l2_reg = 0`` (``l2_reg`` is not part of the twin: keep it small). Sample
        weights count as frequency weights. With ``intercept_reg="reml"`` too, the twin
        has random intercepts as well (``b_t = b_bar + c_t``, ``c_t ~ N(0, sigma^2 /
        (intercept_reg lambda_t))``, the term ``intercept_reg / 2 sum_t lambda_t (b_t -
        b_bar)^2``) and both strengths are estimated in one REML fit: ``alpha_ =
        sigma^2 / tau^2`` and ``intercept_reg_ = 1 / psi_b`` (see
        :mod:`mtlreg.mixed._twins`). The term's ``lambda_t`` makes an intercept's shrinkage
        independent of its task's size (unlike the usual random intercept of
        :class:`HierarchicalRegressor`). See :ref:`mixed_models`.
    """ + UNSEEN_TASKS_DOC.format(shared=_SHARED) + r"""%(params)s
    Attributes
    ----------
    alpha_ : float
        The strength used: ``alpha``, or its REML estimate with ``alpha="reml"``.
    intercept_reg_ : float
        With ``intercept_reg="reml"``: its REML estimate, the strength used.
    reml_log_likelihood_ : float
        With ``alpha="reml"``: the twin's maximised restricted log-likelihood.
    %(attributes)s
    """, l2_default="0.01")


class MeanRegularizedClassifier(_MeanRegularizedMixin, MultiTaskClassifierMixin,
                                MultiTaskLinearModel):
    __init__ = init_with_defaults(_MeanRegularizedMixin.__init__, alpha=0.01)
    __doc__ = fill_doc(r"""Mean-regularised multi-task logistic regression.

    Minimises, with labels :math:`y_i \in \{0, 1\}` and
    :math:`\ell(y, z) = \log(1 + e^z) - y z`,
    """ + _OBJECTIVE + r"""

    Parameters
    ----------
    alpha : float, default=0.01
        Strength of the coupling to the task mean.
    """ + UNSEEN_TASKS_DOC.format(shared=_SHARED) + r"""%(params)s
    Attributes
    ----------
    classes_ : ndarray of shape (2,)
        The two class labels, shared by every task.
    %(attributes)s
    """, l2_default="0.01")
