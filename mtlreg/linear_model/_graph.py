"""Task-graph regularisation (MALSAR SRMTL, RMTL Graph) and the temporal group lasso (TGL).

The user gives a graph over the tasks; the penalty ``rho/2 ||W R||_F^2`` pulls the
task vectors of neighbouring tasks together (:mod:`mtlreg.penalties._graph`).
"""

from numbers import Real

from ..penalties import GraphSmoothness, task_graph_matrix
from ..utils.validation import Interval, StrOptions
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
from ._order import TASK_ORDER_DOC, chain_adjacency, task_positions


class _TaskGraphMixin:
    """A penalty built on the graph of the fitted tasks (known after ``_prepare``)."""

    def _graph_spec(self):  # (graph, graph_format, sparsity)
        return self.graph, self.graph_format, self.sparsity

    def _prepare(self, X, y, sample_weight, reset=True):
        layout, datafit, tasks = super()._prepare(X, y, sample_weight, reset)
        graph, graph_format, _ = self._graph_spec()
        self._graph_matrix = task_graph_matrix(graph, tasks, graph_format)
        return layout, datafit, tasks

    def _make_penalty(self):
        _, _, sparsity = self._graph_spec()
        return GraphSmoothness(getattr(self, "_graph_matrix", None), self.rho, self.alpha,
                               sparsity, self.l2_reg)

    def _coordinate_descent_ahead(self, n_rows):
        return False  # not row-separable in the sense of BCD (tasks are coupled)

    def _set_coef(self, V, intercept):
        super()._set_coef(V, intercept)
        self.task_graph_laplacian_ = self._graph_matrix.copy()


_COMMON_CONSTRAINTS = {
    **MultiTaskLinearModel._parameter_constraints,
    "alpha": [Interval(Real, 0, None, closed="left")],
    "rho": [Interval(Real, 0, None, closed="left")],
}


class _GraphMixin(_TaskGraphMixin):
    _parameter_constraints = {
        **_COMMON_CONSTRAINTS,
        "graph": [StrOptions({"complete", "chain"}), "array-like"],
        "graph_format": [StrOptions({"adjacency", "edges", "incidence"})],
        "sparsity": [StrOptions({"l1", "l21"})],
    }

    def __init__(self, alpha=0.0, rho=1.0, *, graph="complete", graph_format="adjacency",
                 sparsity="l1", fit_intercept=True, intercept_reg=0.0, task_column=None, task_weights=None,
                 l2_reg=0.01, tol=1e-4, max_iter=1000, warm_start=False, solver="auto",
                 verbose=0):
        store_params(self, locals())


class _TemporalMixin(_TaskGraphMixin):
    _parameter_constraints = {**_COMMON_CONSTRAINTS, "task_order": [None, "array-like"]}

    def __init__(self, alpha=0.1, rho=1.0, *, task_order=None, fit_intercept=True, intercept_reg=0.0,
                 task_column=None, task_weights=None, l2_reg=0.0, tol=1e-4, max_iter=1000,
                 warm_start=False, solver="auto", verbose=0):
        store_params(self, locals())

    def _graph_spec(self):
        return "chain", "adjacency", "l21"

    def _prepare(self, X, y, sample_weight, reset=True):
        layout, datafit, tasks = super()._prepare(X, y, sample_weight, reset)
        positions = task_positions(tasks, self.task_order, self)
        self._graph_matrix = task_graph_matrix(chain_adjacency(positions), tasks)
        return layout, datafit, tasks


_GRAPH_DOC = r"""Graph-regularised multi-task {what} (MALSAR SRMTL, RMTL "Graph").

    A graph over the tasks says which tasks should be alike. Minimises over ``W``
    (``n_features x n_tasks``) and intercepts ``b``

    .. math::

        \begin{{aligned}}
        & """ + _DATA_TERM + r""" \\
        & \quad + \frac{{\rho}}{{2}} \lVert W R \rVert_F^2 + \alpha \, \mathrm{{sparse}}(W)
          + """ + _RIDGE + r"""
        \end{{aligned}}

    with {loss}, ``sparse(W) = ||W||_1`` (``sparsity="l1"``) or
    ``sum_j ||W_j||_2`` (``"l21"``, rows = features) and ``R`` the weighted
    incidence matrix of the graph:

    .. math::

        \lVert W R \rVert_F^2 = \operatorname{{tr}}(W L W^\top)
        = \sum_{{\text{{edges }} s - t}} a_{{st}} \lVert w_s - w_t \rVert_2^2,

    ``L = R R^T`` the graph Laplacian (``task_graph_laplacian_``). Special cases:

    * ``graph="complete"`` (every pair, weight ``1 / T``): ``L = I - 11^T / T`` and
      ``||W R||_F^2 = sum_t ||w_t - w_bar||^2``, so with ``alpha = 0`` this is
      :class:`~mtlreg.MeanRegularized{kind}` with its ``alpha`` equal to ``rho``
      (same ``l2_reg``);
    * ``graph="chain"`` (consecutive tasks of ``tasks_``, weight 1): temporal
      smoothness ``sum_t ||w_{{t+1}} - w_t||^2``, for tasks ordered in time.

    Solvers: on the squared loss with few features, ADMM with exact per-task solves
    -- for ``sparsity="l1"``, ``alpha > 0`` a consensus split ``W = Z1 = Z2`` with
    soft-thresholding for one copy and the exact prox of the graph and ridge terms
    (in the eigenbasis of ``L``) for the other, measured at the exactly sparse
    ``Z1``; otherwise the exact prox of the whole penalty (an eigendecomposition of
    ``L`` once, then a ``T x T`` diagonal solve per row, with a scalar root for
    l2,1). Elsewhere FISTA, with the graph term in the gradient step and
    soft-thresholding as the prox for l1; proximal Newton for the logistic loss.

    Parameters
    ----------
    alpha : float, default=0.0
        Strength of the sparse part (``0``: pure graph regularisation).
    rho : float, default=1.0
        Strength of the graph term.
    graph : {{"complete", "chain"}} or array-like, default="complete"
        The task graph, in the order of ``tasks_`` (the sorted task labels), read
        according to ``graph_format``.
    graph_format : {{"adjacency", "edges", "incidence"}}, default="adjacency"
        ``"adjacency"``: symmetric ``(T, T)`` non-negative weights ``a_st``;
        ``"edges"``: ``(task, task)`` or ``(task, task, weight)`` rows, with task
        labels as in ``tasks_``; ``"incidence"``: any ``R`` of shape ``(T, E)``
        (the penalty is then ``rho/2 ||W R||_F^2`` with ``L = R R^T``).
    sparsity : {{"l1", "l21"}}, default="l1"
        The sparse part that ``alpha`` weighs. The default ``l2_reg=0.01`` (as for
        mean regularisation) keeps the fit bounded when the graph leaves a
        direction free (the task mean, for a connected graph) and ``alpha = 0``.
    %(params)s
    Attributes
    ----------
    task_graph_laplacian_ : ndarray of shape (n_tasks, n_tasks)
        ``L = R R^T``, in the order of ``tasks_``.
    {extra}%(attributes)s
    """

_TGL_DOC = r"""Temporal group lasso multi-task {what} (Zhou et al. 2011, MALSAR TGL).

    Tasks are time points (in the order of ``task_order``, else of ``tasks_``, the
    sorted labels; e.g. months after a baseline visit); the model selects
    features shared by all time points and lets the coefficients drift smoothly in
    time. Minimises over ``W`` (``n_features x n_tasks``) and intercepts ``b``

    .. math::

        \begin{{aligned}}
        & """ + _DATA_TERM + r""" \\
        & \quad + \alpha \sum_j \lVert W_j \rVert_2
          + \frac{{\rho}}{{2}} \sum_{{t=1}}^{{T-1}} \lVert w_{{o(t+1)}} - w_{{o(t)}} \rVert_2^2
          + """ + _RIDGE + r"""
        \end{{aligned}}

    with {loss} and ``o(1), ..., o(T)`` the tasks in time order. MALSAR's
    ``rho1 ||W||_F^2 + rho2 ||W R||_F^2 + rho3 ||W||_{{2,1}}``
    corresponds to ``l2_reg = 2 rho1``, ``rho = 2 rho2``, ``alpha = rho3`` (up to
    the scaling of the data term). This is :class:`~mtlreg.GraphRegularized{kind}` with
    ``graph="chain", sparsity="l21"``; the prox of the whole penalty is exact (an
    eigendecomposition of the chain's Laplacian, then one scalar root per row).

    Parameters
    ----------
    alpha : float, default=0.1
        Strength of the l2,1 (feature selection across time points).
    rho : float, default=1.0
        Strength of the temporal smoothness.
    """ + TASK_ORDER_DOC + r"""%(params)s
    Attributes
    ----------
    task_graph_laplacian_ : ndarray of shape (n_tasks, n_tasks)
        The Laplacian of the chain through the tasks in time order, rows and
        columns in the order of ``tasks_``.
    {extra}%(attributes)s
    """


class GraphRegularizedRegressor(_GraphMixin, MultiTaskRegressorMixin, MultiTaskLinearModel):
    __doc__ = fill_doc(_GRAPH_DOC.format(what="regression", loss=_SQUARED, extra="",
                                         kind="Regressor"), l2_default="0.01")


class GraphRegularizedClassifier(_GraphMixin, MultiTaskClassifierMixin, MultiTaskLinearModel):
    __doc__ = fill_doc(_GRAPH_DOC.format(what="logistic regression", loss=_LOGISTIC,
                                         extra=_CLASSES, kind="Classifier"), l2_default="0.01")


class TemporalGroupLassoRegressor(_TemporalMixin, MultiTaskRegressorMixin,
                                  MultiTaskLinearModel):
    __doc__ = fill_doc(_TGL_DOC.format(what="regression", loss=_SQUARED, extra="",
                                       kind="Regressor"))


class TemporalGroupLassoClassifier(_TemporalMixin, MultiTaskClassifierMixin,
                                   MultiTaskLinearModel):
    __doc__ = fill_doc(_TGL_DOC.format(what="logistic regression", loss=_LOGISTIC,
                                       extra=_CLASSES, kind="Classifier"))
