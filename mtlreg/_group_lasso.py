"""Multi-task group lasso (joint feature selection, l2,1 penalty)."""

from numbers import Real

from ._base import MultiTaskClassifierMixin, MultiTaskLinearModel, MultiTaskRegressorMixin
from .penalties import L21, with_ridge
from .utils.validation import Interval

_COMMON_PARAMS_DOC = """
    fit_intercept : bool, default=True
        Fit one unpenalised intercept per task.
    task_column : int, str or None, default=None
        ``None``: shared design, ``y`` is ``(n_samples, n_tasks)``. Otherwise the
        column of ``X`` (index, or name for a DataFrame) that holds each row's task;
        ``predict`` reads the same column and rejects tasks not seen in ``fit``.
    task_weights : None, "samples", array-like of shape (n_tasks,) or dict, default=None
        The weights ``lambda_t`` of the task losses. ``None``: every task's mean loss
        counts equally (``lambda_t = 1``); ``"samples"``: every sample counts
        equally (``lambda_t = T n_t / sum_s n_s``); an array in the order of
        ``tasks_`` or a dict ``{task: weight}`` (unnamed tasks get 1), e.g. to
        favour a main task over auxiliary ones. Tunable with ``GridSearchCV``.
    l2_reg : float, default=0.0
        Strength of the optional ridge term ``(l2_reg / 2) ||W||_F^2``.
    tol : float, default=1e-4
        Relative tolerance: the solver stops when the optimality measure (distance
        of ``-gradient`` to the subdifferential, and the intercept gradient) falls
        below ``tol`` times the largest entry of the data-fit gradient at ``W = 0``.
    max_iter : int, default=1000
        Maximum number of FISTA iterations.
    warm_start : bool, default=False
        Start from the previous solution when refitting on the same tasks and features.
    verbose : int, default=0
        Print the solver's progress every 10 iterations.
"""

_ATTRIBUTES_DOC = """
    coef_ : ndarray of shape (n_tasks, n_features)
        ``W.T``: row ``t`` holds the coefficients of task ``tasks_[t]`` (as in
        :class:`~sklearn.linear_model.MultiTaskLasso`).
    intercept_ : ndarray of shape (n_tasks,)
        The intercept of each task (zeros when ``fit_intercept=False``).
    tasks_ : ndarray of shape (n_tasks,)
        The task labels: ``0 .. n_tasks - 1`` in the shared layout, the sorted
        distinct values of the task column otherwise.
    n_tasks_ : int
    n_iter_ : int
        Number of solver iterations run.
    stop_crit_ : float
        Optimality measure at the returned solution.
    objective_ : float
        Value of the objective at the returned solution.
    n_features_in_ : int
        Number of columns of ``X`` seen in ``fit`` (the task column included).
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Defined only when ``X`` has string column names.
"""


def _fill_doc(template):
    return template.replace("%(params)s", _COMMON_PARAMS_DOC.strip("\n").lstrip()).replace(
        "%(attributes)s", _ATTRIBUTES_DOC.strip("\n").lstrip()
    )


class _GroupLassoMixin:
    _parameter_constraints = {
        **MultiTaskLinearModel._parameter_constraints,
        "alpha": [Interval(Real, 0, None, closed="left")],
        "positive": ["boolean"],
    }

    def __init__(self, alpha=1.0, *, fit_intercept=True, task_column=None,
                 task_weights=None, l2_reg=0.0, positive=False, tol=1e-4, max_iter=1000,
                 warm_start=False, verbose=0):
        self.alpha = alpha
        self.fit_intercept = fit_intercept
        self.task_column = task_column
        self.task_weights = task_weights
        self.l2_reg = l2_reg
        self.positive = positive
        self.tol = tol
        self.max_iter = max_iter
        self.warm_start = warm_start
        self.verbose = verbose

    def _make_penalty(self):
        return with_ridge(L21(self.alpha, positive=self.positive), self.l2_reg)


class GroupLassoRegressor(_GroupLassoMixin, MultiTaskRegressorMixin, MultiTaskLinearModel):
    __doc__ = _fill_doc(r"""Multi-task group lasso regression (joint feature selection across tasks).

    Minimises over ``W`` (``n_features x n_tasks``) and intercepts ``b``::

        sum_t lambda_t / (2 n_t) * sum_{i in task t} s_i (y_it - x_i . w_t - b_t)^2
            + alpha * sum_j ||W_j||_2 + (l2_reg / 2) ||W||_F^2

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
    >>> GroupLassoRegressor(alpha=0.01).fit(X, Y).coef_.round(2)
    array([[ 0.99, -0.  ],
           [ 1.98, -0.  ]])
    """)


class GroupLassoClassifier(_GroupLassoMixin, MultiTaskClassifierMixin, MultiTaskLinearModel):
    def __init__(self, alpha=0.01, *, fit_intercept=True, task_column=None,
                 task_weights=None, l2_reg=0.0, positive=False, tol=1e-4, max_iter=1000,
                 warm_start=False, verbose=0):
        super().__init__(
            alpha, fit_intercept=fit_intercept, task_column=task_column,
            task_weights=task_weights, l2_reg=l2_reg, positive=positive, tol=tol,
            max_iter=max_iter, warm_start=warm_start, verbose=verbose,
        )

    __doc__ = _fill_doc(r"""Multi-task group-lasso logistic regression (one binary problem per task).

    With labels encoded as ``y_it in {0, 1}`` (``1`` for ``classes_[1]``), minimises::

        sum_t lambda_t / n_t * sum_{i in task t} s_i log(1 + exp(-(2 y_it - 1) (x_i . w_t + b_t)))
            + alpha * sum_j ||W_j||_2 + (l2_reg / 2) ||W||_F^2

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
