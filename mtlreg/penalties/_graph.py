"""Task-graph penalties: ``rho/2 ||W R||_F^2`` for a graph over the tasks, plus l1 or l2,1.

``R`` is a (weighted) incidence matrix of the graph, ``R R^T = L`` its Laplacian
(for a user-given ``R``, any matrix: ``L = R R^T``), so that

    ||W R||_F^2 = tr(W L W^T) = sum_{edges (s, t)} a_st ||w_s - w_t||_2^2.
"""

import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning

from .._kernels import prox as _prox_kernels
from ..utils._messages import format_tasks
from ._quadratic import Zero
from ._row import L1, L21, _c


# ----------------------------------------------------------------- the task graph
def task_graph_matrix(graph, tasks, graph_format="adjacency"):
    """The ``(T, T)`` matrix ``L = R R^T`` of the task graph, in the order of ``tasks``.

    ``graph``: ``"complete"`` (every pair of tasks, weight ``1 / T``: ``L = I - 11^T / T``,
    the centring matrix of mean regularisation), ``"chain"`` (tasks in the order of
    ``tasks``, consecutive ones joined with weight 1: temporal smoothness), or an
    array read according to ``graph_format``:

    * ``"adjacency"``: ``(T, T)`` symmetric, non-negative edge weights ``a_st`` (the
      diagonal is ignored); ``L = diag(A 1) - A``;
    * ``"edges"``: ``(E, 2)`` or ``(E, 3)``: pairs of task labels (as in ``tasks_``),
      optionally a non-negative weight (default 1);
    * ``"incidence"``: ``R`` of shape ``(T, E)``; ``L = R R^T``.
    """
    T = len(tasks)
    if isinstance(graph, str):
        if graph == "complete":
            return np.eye(T) - np.full((T, T), 1.0 / max(T, 1))
        if graph == "chain":
            A = np.zeros((T, T))
            idx = np.arange(T - 1)
            A[idx, idx + 1] = A[idx + 1, idx] = 1.0
            return _laplacian(A)
        raise ValueError(f"Unknown graph {graph!r}: 'complete', 'chain' or an array.")
    if graph_format == "edges":
        return _laplacian(_adjacency_from_edges(graph, tasks))
    G = np.asarray(graph, dtype=np.float64)
    if not np.all(np.isfinite(G)):
        raise ValueError("The task graph has non-finite entries.")
    if graph_format == "incidence":
        if G.ndim != 2 or G.shape[0] != T:
            raise ValueError(f"An incidence matrix R needs shape (n_tasks={T}, n_edges); "
                             f"got {G.shape}.")
        return G @ G.T
    hint = ""
    if G.ndim == 2 and G.shape[1] in (2, 3):
        hint = (f" An array of shape {G.shape} reads as an edge list (task, task[, weight]) "
                "per row: pass graph_format='edges' for that.")
    if G.shape != (T, T):
        raise ValueError(f"graph is read as an adjacency matrix (graph_format='adjacency'), "
                         f"which needs shape (n_tasks, n_tasks) = ({T}, {T}); got {G.shape}."
                         + hint)
    if not np.allclose(G, G.T, rtol=1e-12, atol=0.0) or np.any(G < 0):
        raise ValueError("The adjacency matrix (graph with graph_format='adjacency') must be "
                         "symmetric with non-negative weights." + hint)
    return _laplacian(0.5 * (G + G.T))


def _laplacian(A):
    A = A - np.diag(np.diag(A))
    return np.diag(A.sum(axis=1)) - A


def _adjacency_from_edges(edges, tasks):
    T = len(tasks)
    labels = {(v.item() if hasattr(v, "item") else v): k for k, v in enumerate(tasks)}
    A = np.zeros((T, T))
    for edge in edges:
        edge = list(edge)
        if len(edge) not in (2, 3):
            raise ValueError(f"An edge is (task, task) or (task, task, weight); got {edge}.")
        ends = []
        for label in edge[:2]:
            label = label.item() if hasattr(label, "item") else label
            if label not in labels:
                raise ValueError(f"Edge end {label!r} is not a task of the data "
                                 f"({format_tasks(tasks)}).")
            ends.append(labels[label])
        weight = float(edge[2]) if len(edge) == 3 else 1.0
        if not (np.isfinite(weight) and weight >= 0):
            raise ValueError(f"Edge weights must be finite and non-negative; got {weight}.")
        s, t = ends
        if s != t:
            A[s, t] += weight
            A[t, s] += weight
    return A


# ------------------------------------------------------------------- the penalty
class _GraphQuadratic:
    """``rho/2 tr(W L W^T) + l2/2 ||W||_F^2`` as a smooth function (for the split)."""

    def __init__(self, penalty):
        self.p = penalty

    def value(self, W):
        return self.p._quadratic_value(W)

    def gradient(self, W):
        return self.p.rho * (W @ self.p.laplacian) + self.p.l2_reg * W

    def lipschitz(self):
        return self.p.rho * float(self.p._eig[0].max(initial=0.0)) + self.p.l2_reg


class GraphSmoothness:
    r"""``rho/2 ||W R||_F^2 + alpha * sparse(W) + l2_reg/2 ||W||_F^2`` for a task graph.

    ``laplacian`` is ``L = R R^T`` (:func:`task_graph_matrix`), ``sparse`` is
    ``||W||_1`` (``sparsity="l1"``) or ``sum_j ||W_j||_2`` (``"l21"``, rows).

    Notes
    -----
    The penalty is separable over the rows of ``W`` (features); with
    ``L = Q diag(lam) Q^T`` and ``c_k = 1 + step (l2_reg + rho lam_k)`` its prox is:

    * ``alpha = 0``: ``U = ((V Q) / c) Q^T`` (a linear solve, ``T x T``, in the
      eigenbasis);
    * l2,1: ``u = 0`` if ``||v|| <= step alpha``, else ``u~_k = v~_k / (c_k + mu)`` with
      ``mu = step alpha / ||u||`` the root of a monotone scalar equation
      (:func:`mtlreg._kernels.prox.graph_l21_prox_rows`);
    * l1: no closed form; coordinate descent on each row to a relative optimality
      of ``1e-13`` (:func:`mtlreg._kernels.prox.graph_l1_prox_rows`). FISTA does not
      need it: :meth:`forward_backward_split` gives it the graph term as a smooth
      part and soft-thresholding as the prox, as in MALSAR's SRMTL.

    Optimality measure: that of the sparse part with ``G + rho W L + l2_reg W`` in
    place of ``G`` (the largest entry of it when ``alpha = 0``). ``alpha_max`` is that
    of the sparse part (the graph term's gradient vanishes at ``W = 0``).
    """

    def __init__(self, laplacian, rho, alpha=0.0, sparsity="l1", l2_reg=0.0):
        self.rho = float(rho)
        self.alpha = float(alpha)
        self.sparsity = sparsity
        self.l2_reg = float(l2_reg)
        self.laplacian = None if laplacian is None else np.asarray(laplacian, dtype=float)
        self._eigh = None

    @property
    def _eig(self):
        """``(lam, Q)`` of ``L = Q diag(lam) Q^T``, computed on first use: inside the
        solver, whose BLAS runs on one thread (``T x T``; on a busy machine two
        threads made this ``eigh`` of School's 139 tasks 100 times slower)."""
        if self._eigh is None and self.laplacian is not None:
            self._eigh = _known_eigh(self.laplacian)
            if self._eigh is None:
                lam, Q = np.linalg.eigh(0.5 * (self.laplacian + self.laplacian.T))
                self._eigh = (np.maximum(lam, 0.0), Q)
        return self._eigh

    @property
    def sparse_part(self):
        if self.alpha == 0:
            return Zero()
        return (L1 if self.sparsity == "l1" else L21)(self.alpha)

    def _quadratic_value(self, W):
        lam, Q = self._eig
        WQ = W @ Q
        return 0.5 * self.rho * float((WQ**2 @ lam).sum()) + 0.5 * self.l2_reg * float(
            (W**2).sum())

    def value(self, W):
        return self._quadratic_value(W) + self.sparse_part.value(W)

    def prox(self, V, step):
        lam, Q = self._eig
        if self.alpha == 0 or self.sparsity == "l21":
            return self.prox_rows(V, np.full(V.shape[0], float(step)))
        A = (1.0 + step * self.l2_reg) * np.eye(len(lam)) + step * self.rho * self.laplacian
        U, ok = _prox_kernels.graph_l1_prox_rows(_c(V), _c(A), step * self.alpha, 1e-13, 100_000)
        if not ok:  # pragma: no cover - needs a graph term of enormous condition number
            warnings.warn("The prox of the graph + l1 penalty did not reach its tolerance.",
                          ConvergenceWarning)
        return U

    def prox_rows(self, V, steps):
        """The prox with row ``j`` at its own step ``steps[j]`` (the penalty is separable
        over the rows); the l2,1 or no sparse part only (the l1 part has no closed form:
        its ADMM is the consensus split)."""
        if self.alpha > 0 and self.sparsity != "l21":
            raise ValueError("prox_rows is for the l2,1 or no sparse part")
        lam, Q = self._eig
        alpha = self.alpha if self.sparsity == "l21" else 0.0
        VQ = _c(V @ Q)
        steps = np.ascontiguousarray(steps, dtype=np.float64)
        return _prox_kernels.graph_l21_prox_rows(VQ, steps, lam, self.rho, self.l2_reg,
                                                 alpha) @ Q.T

    def consensus_split(self):
        """``(a1, second, exact)`` for the consensus ADMM (``W = Z1 = Z2``, see
        :mod:`mtlreg.solvers._admm_sparse_trace`), the sparse part l1: its strength,
        the prox of the quadratic part (graph and ridge, exact in the eigenbasis), and
        ``None`` for the exact prox of the sum: the quadratic part is smooth, so the
        l1 iterate ``Z1`` (exactly sparse) is measured as it is."""
        lam, Q = self._eig

        def second(V, step):
            return ((V @ Q) / (1.0 + step * (self.l2_reg + self.rho * lam))) @ Q.T

        return self.alpha, second, None

    def forward_backward_split(self):
        if self.alpha > 0 and self.sparsity == "l1":
            return _GraphQuadratic(self), L1(self.alpha)
        return None

    def subdiff_distance(self, W, G):
        G = G + self.rho * (W @ self.laplacian) + self.l2_reg * W
        return self.sparse_part.subdiff_distance(W, G)

    def alpha_max(self, G0):
        return (L1 if self.sparsity == "l1" else L21)(1.0).alpha_max(G0)


def _known_eigh(L):
    """``(lam, Q)`` in closed form for the two graphs the estimators name, else ``None``:
    the DCT-II basis ``Q_ik ~ cos(pi k (i + 1/2) / T)`` diagonalises the chain
    (``lam_k = 2 - 2 cos(pi k / T)``) and, its first column constant, the complete
    graph ``I - 11^T / T`` (``lam = (0, 1, ..., 1)``)."""
    T = L.shape[0]
    if T < 2:
        return None
    if np.array_equal(L, task_graph_matrix("chain", range(T))):
        lam = 2.0 - 2.0 * np.cos(np.pi * np.arange(T) / T)
    elif np.array_equal(L, task_graph_matrix("complete", range(T))):
        lam = np.r_[0.0, np.ones(T - 1)]
    else:
        return None
    Q = np.cos(np.pi * np.outer(np.arange(T) + 0.5, np.arange(T)) / T)
    return np.maximum(lam, 0.0), Q / np.linalg.norm(Q, axis=0)
