"""A task-coupling penalty applied to each class of a multiclass model separately."""

import numpy as np


class PerClass:
    r"""``sum_k P(W_k)`` for ``W = [W_1, ..., W_K]``, ``W_k`` the ``T`` columns of class ``k``.

    Multiclass models hold ``W`` of shape ``(n_features, K T)`` with column ``k T + t``
    for class ``k`` of task ``t`` (:mod:`mtlreg._tasks.classes`). A penalty that couples
    the tasks (mean regularisation, a task graph, the fused penalty of tasks ordered in
    time) then acts on each class's ``(n_features, T)`` block: in matrix form its
    coupling is the Kronecker product with ``I_K`` (``w_tk`` is pulled toward the other
    tasks' ``w_sk`` of the same class, never toward another class). The prox and the
    optimality measure are blockwise (the measure: the largest over the blocks, as for
    the separable penalties); ``alpha_max`` is the largest over the blocks (``W = 0``
    solves the problem iff it solves every block's).
    """

    def __init__(self, penalty, n_classes):
        self.penalty = penalty
        self.n_classes = int(n_classes)

    def _blocks(self, W):
        T = W.shape[1] // self.n_classes
        return [W[:, k * T:(k + 1) * T] for k in range(self.n_classes)]

    def value(self, W):
        return float(sum(self.penalty.value(Wk) for Wk in self._blocks(W)))

    def prox(self, W, step):
        return np.hstack([self.penalty.prox(Wk, step) for Wk in self._blocks(W)])

    def subdiff_distance(self, W, G):
        return max(self.penalty.subdiff_distance(Wk, Gk)
                   for Wk, Gk in zip(self._blocks(W), self._blocks(G)))

    def alpha_max(self, G0):
        return max(self.penalty.alpha_max(Gk) for Gk in self._blocks(G0))

    def forward_backward_split(self):
        split = getattr(self.penalty, "forward_backward_split", None)
        parts = split() if split is not None else None
        if parts is None:
            return None
        smooth, simple = parts
        return _PerClassSmooth(smooth, self.n_classes), PerClass(simple, self.n_classes)


class _PerClassSmooth(PerClass):
    """The smooth part of a split penalty, per class: value, gradient, Lipschitz bound
    (the blocks are independent, so the bound is the block's)."""

    def gradient(self, W):
        return np.hstack([self.penalty.gradient(Wk) for Wk in self._blocks(W)])

    def lipschitz(self):
        return self.penalty.lipschitz()
