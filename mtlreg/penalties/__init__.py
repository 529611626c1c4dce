"""Penalties: the non-smooth part of the objective, on ``W`` of shape ``(n_features, n_tasks)``.

Every penalty implements the same small contract:

``value(W)``
    the penalty's value;
``prox(W, step)``
    ``argmin_U 1/(2 step) ||U - W||_F^2 + value(U)``;
``subdiff_distance(W, G)``
    an optimality measure: the distance from ``-G`` to the subdifferential of the
    penalty at ``W`` (``G`` the datafit gradient), 0 exactly at a solution (for the
    separable penalties, the largest such distance over rows or entries);
``alpha_max(G0)``
    the smallest ``alpha`` for which ``W = 0`` is a solution, given the datafit
    gradient ``G0`` at ``W = 0`` (with the intercept at its optimum); ``inf``
    where no finite ``alpha`` zeroes ``W`` (quadratic penalties);

and optionally

``forward_backward_split()``
    ``(smooth, simple)`` or ``None``: the penalty is ``smooth + simple`` with
    ``smooth`` differentiable (``value``, ``gradient``, ``lipschitz``) and ``simple``
    a penalty with a cheap prox; FISTA then puts ``smooth`` into its gradient step
    (used where the prox of the sum has no closed form: task graph plus l1).
"""

from ._cluster import ClusteredMTL
from ._composite import ColumnL21, Dirty, TwoParts, WithRidge, with_ridge
from ._fused import FusedSparseGroup
from ._graph import GraphSmoothness, task_graph_matrix
from ._per_class import PerClass
from ._quadratic import MeanRegularization, Zero
from ._row import L1, L21, L1Inf, SparseGroupL1L21
from ._sparse_trace import SparseTraceNorm
from ._spectral import TraceNorm

__all__ = [
    "ClusteredMTL",
    "ColumnL21",
    "Dirty",
    "FusedSparseGroup",
    "GraphSmoothness",
    "L1",
    "L1Inf",
    "L21",
    "MeanRegularization",
    "PerClass",
    "SparseGroupL1L21",
    "SparseTraceNorm",
    "TraceNorm",
    "TwoParts",
    "WithRidge",
    "Zero",
    "task_graph_matrix",
    "with_ridge",
]
