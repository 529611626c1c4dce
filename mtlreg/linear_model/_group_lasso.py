"""Multi-task group lasso (joint feature selection, l2,1 penalty)."""

from numbers import Real

from ..penalties import L21, with_ridge
from ..utils.validation import Interval
from ._base import (
    MultiTaskClassifierMixin,
    MultiTaskLinearModel,
    MultiTaskRegressorMixin,
    init_with_defaults,
    store_params,
)
from ._docs import fill_doc


class _GroupLassoMixin:
    _parameter_constraints = {
        **MultiTaskLinearModel._parameter_constraints,
        "alpha": [Interval(Real, 0, None, closed="left")],
        "positive": ["boolean"],
    }

    def __init__(self, alpha=1.0, *, fit_intercept=True, intercept_reg=0.0, task_column=None,
                 task_weights=None, l2_reg=0.0, positive=False, tol=1e-4, max_iter=1000,
                 warm_start=False, solver="auto", verbose=0):
        store_params(self, locals())

    def _make_penalty(self):
        return with_ridge(L21(self.alpha, positive=self.positive), self.l2_reg)


class GroupLassoRegressor(_GroupLassoMixin, MultiTaskRegressorMixin, MultiTaskLinearModel):
    __doc__ = fill_doc(r"""Multi-task group lasso regression (joint feature selection across tasks).

    Minimises over ``W`` (``n_features x n_tasks``) and intercepts ``b``

    .. math::

        \begin{aligned}
        & \sum_t \frac{\lambda_t}{2 n_t} \sum_{i \in t} s_i \, (y_i - x_i^\top w_t - b_t)^2 \\
        & \quad + \alpha \sum_j \lVert W_j \rVert_2
          + \frac{\mathrm{l2\_reg}}{2} \lVert W \rVert_F^2
        \end{aligned}

    where ``W_j`` is row ``j`` of ``W`` (feature ``j`` in every task), ``s_i`` the
    sample weights and ``n_t = sum_{i in t} s_i``. In the shared layout without
    missing labels, unit weights and ``task_weights=None``, the data term is
    ``1 / (2 n) ||Y - XW - 1 b^T||_F^2``, so ``alpha`` means exactly what it means
    in :class:`~sklearn.linear_model.MultiTaskLasso`.

    Parameters
    ----------
    alpha : float, default=1.0
        Strength of the l2,1 penalty; every coefficient is zero for
        ``alpha >= compute_alpha_max(X, y)``.
    positive : bool, default=False
        Constrain the coefficients to be non-negative.
    %(params)s
    Attributes
    ----------
    %(attributes)s
    Examples
    --------
    >>> import numpy as np
    >>> from mtlreg import GroupLassoRegressor
    >>> X = np.array([[0., 1.], [1., 0.], [2., 1.], [3., 0.]])
    >>> Y = np.column_stack([X[:, 0], 2 * X[:, 0]])
    >>> model = GroupLassoRegressor(alpha=0.01).fit(X, Y)
    >>> model.coef_.round(2) + 0.0  # the second feature is dropped (+ 0.0: no "-0.")
    array([[1.  , 0.  ],
           [1.99, 0.  ]])
    """)


class GroupLassoClassifier(_GroupLassoMixin, MultiTaskClassifierMixin, MultiTaskLinearModel):
    __init__ = init_with_defaults(_GroupLassoMixin.__init__, alpha=0.01)

    __doc__ = fill_doc(r"""Multi-task group-lasso logistic regression (one binary problem per task).

    With labels encoded as :math:`y_i \in \{0, 1\}` (``1`` for ``classes_[1]``), minimises

    .. math::

        \begin{aligned}
        & \sum_t \frac{\lambda_t}{n_t} \sum_{i \in t} s_i
          \log\bigl(1 + e^{-(2 y_i - 1)(x_i^\top w_t + b_t)}\bigr) \\
        & \quad + \alpha \sum_j \lVert W_j \rVert_2
          + \frac{\mathrm{l2\_reg}}{2} \lVert W \rVert_F^2
        \end{aligned}

    with the notation of :class:`GroupLassoRegressor` (the mean logistic loss of
    each task, weighted by ``lambda_t``).

    Parameters
    ----------
    alpha : float, default=0.01
        Strength of the l2,1 penalty (the mean logistic loss has gradients of order
        0.5 or less, hence a smaller default than the regressor's).
    positive : bool, default=False
        Constrain the coefficients to be non-negative.
    %(params)s
    Attributes
    ----------
    classes_ : ndarray of shape (2,)
        The two class labels, shared by every task.
    %(attributes)s
    """)
