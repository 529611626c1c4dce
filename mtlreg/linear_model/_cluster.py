"""Clustered multi-task learning, convex relaxation (Zhou, Chen & Ye 2011; MALSAR CMTL)."""

import warnings
from numbers import Integral, Real

import numpy as np
from sklearn.cluster import KMeans

from ..penalties import ClusteredMTL, with_ridge
from ..penalties._per_class import TaskStacked
from ..utils._threads import single_threaded_blas, single_threaded_openmp
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


class _ClusteredMixin:
    _parameter_constraints = {
        **MultiTaskLinearModel._parameter_constraints,
        "alpha": [Interval(Real, 0, None, closed="left")],
        "eta": [Interval(Real, 0, None, closed="neither")],
        "n_clusters": [Interval(Integral, 1, None, closed="left")],
    }

    def __init__(self, alpha=1.0, eta=1.0, *, n_clusters=2, fit_intercept=True, intercept_reg=0.0,
                 task_column=None, task_weights=None, l2_reg=0.0, tol=1e-4, max_iter=1000,
                 warm_start=False, solver="auto", verbose=0):
        store_params(self, locals())

    def _prepare(self, X, y, sample_weight, reset=True):
        layout, datafit, tasks = super()._prepare(X, y, sample_weight, reset)
        if reset and self.n_clusters > len(tasks):
            warnings.warn(
                f"n_clusters={self.n_clusters} is more than the {len(tasks)} tasks of the "
                f"data: {type(self).__name__} fits with n_clusters={len(tasks)} (every task "
                "its own cluster, so the clustering term reduces to a ridge penalty). Set "
                "n_clusters below the number of tasks.", UserWarning)
        return layout, datafit, tasks

    def _make_penalty(self):
        return with_ridge(ClusteredMTL(self.alpha, self.eta, self.n_clusters), self.l2_reg)

    def _coordinate_descent_ahead(self, n_rows):
        return False

    def _set_coef(self, V, intercept):
        super()._set_coef(V, intercept)
        penalty = ClusteredMTL(self.alpha, self.eta, self.n_clusters)
        if getattr(self, "_n_classes_fit", lambda: 2)() > 2:  # K classes: one column per task
            V = TaskStacked(penalty, self._n_classes_fit()).stack(V)
        with single_threaded_blas():  # T x T: a second thread only waits (and on a
            # busy machine made this eigh 100 times slower)
            M = penalty.task_similarity(V)
            lam, Q = np.linalg.eigh(M)
        self.task_similarity_ = M
        k = int(min(self.n_clusters, M.shape[0]))
        embedding = Q[:, ::-1][:, :k]
        if k <= 1:
            self.task_clusters_ = np.zeros(M.shape[0], dtype=np.intp)
        else:
            with single_threaded_openmp():
                self.task_clusters_ = KMeans(n_clusters=k, n_init=10, random_state=0).fit(
                    embedding).labels_.astype(np.intp)


_DOC = r"""Clustered multi-task {what} (convex relaxation; Zhou, Chen & Ye 2011, MALSAR CMTL).

    The tasks fall into ``n_clusters`` groups, unknown; tasks of a group share a
    model. The convex relaxation of k-means over the task vectors (Jacob, Bach &
    Vert 2008) learns a task similarity ``M`` with ``W``. Minimises over ``W``
    (``n_features x n_tasks``), ``M`` (``n_tasks x n_tasks``) and intercepts ``b``

    .. math::

        \begin{{aligned}}
        & """ + _DATA_TERM + r""" \\
        & \quad + \alpha \eta (1 + \eta) \operatorname{{tr}}\bigl(W (\eta I + M)^{{-1}} W^\top\bigr)
          + """ + _RIDGE + r"""
        \end{{aligned}}

    subject to :math:`M = M^\top`, :math:`\operatorname{{tr}} M = k`,
    :math:`0 \preceq M \preceq I` (eigenvalues in [0, 1]),
    with {loss} and ``k = n_clusters``. MALSAR's ``rho1``, ``rho2`` are
    ``alpha = rho1`` and ``eta = rho2 / rho1`` (up to the scaling of the data term).
    ``M`` is eliminated in closed form (it shares the right singular vectors of
    ``W``, its eigenvalues solve a water-filling problem), which leaves a smooth
    convex penalty on ``W`` with an exact prox; solved by ADMM on the squared loss
    with few features, FISTA otherwise. The returned ``task_similarity_`` is that
    optimal ``M``: it satisfies the constraints exactly (up to round-off).

    Parameters
    ----------
    alpha : float, default=1.0
        Strength of the clustering penalty.
    eta : float, default=1.0
        Ratio of the within-cluster to the global regularisation (``> 0``); large
        ``eta``: the penalty tends to ``alpha (1 + eta) ||W||_F^2``, a ridge.
    n_clusters : int, default=2
        ``k``, the number of task clusters (capped at the number of tasks).
    %(params)s
    Attributes
    ----------
    task_similarity_ : ndarray of shape (n_tasks, n_tasks)
        The learned ``M`` (tasks in the order of ``tasks_``).
    task_clusters_ : ndarray of shape (n_tasks,)
        A clustering of the tasks: k-means (``KMeans(n_init=10, random_state=0)``)
        on the ``k`` leading eigenvectors of ``M`` (spectral clustering).
    {extra}%(attributes)s
    """


class ClusteredRegressor(_ClusteredMixin, MultiTaskRegressorMixin, MultiTaskLinearModel):
    __doc__ = fill_doc(_DOC.format(what="regression", loss=_SQUARED, extra=""))


class ClusteredClassifier(_ClusteredMixin, MultiTaskClassifierMixin, MultiTaskLinearModel):
    __doc__ = fill_doc(_DOC.format(what="logistic regression", loss=_LOGISTIC,
                                   extra=_CLASSES))
