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


class TaskStacked:
    r"""``P(S)`` with ``S = [W_1; ...; W_K]`` the ``(K n_features, T)`` vertical stack of
    the classes' ``(n_features, T)`` blocks: one column per task holding all its classes.

    For a penalty that sees the tasks only through the columns' Gram matrix
    ``S^T S = sum_k W_k^T W_k`` (the clustered penalty), this couples the tasks once,
    with one structure shared by the classes (one clustering of the tasks, where
    :class:`PerClass` would cluster each class separately). The map ``W -> S`` only
    moves entries, so the prox, the optimality measure and ``alpha_max`` are those of
    ``P`` at ``S`` mapped back.
    """

    def __init__(self, penalty, n_classes):
        self.penalty = penalty
        self.n_classes = int(n_classes)

    def stack(self, W):
        d, KT = W.shape
        K = self.n_classes
        return np.ascontiguousarray(W.reshape(d, K, KT // K).transpose(1, 0, 2).reshape(K * d, -1))

    def unstack(self, S):
        Kd, T = S.shape
        K = self.n_classes
        return np.ascontiguousarray(S.reshape(K, Kd // K, T).transpose(1, 0, 2).reshape(Kd // K, -1))

    def value(self, W):
        return self.penalty.value(self.stack(W))

    def prox(self, W, step):
        return self.unstack(self.penalty.prox(self.stack(W), step))

    def subdiff_distance(self, W, G):
        return self.penalty.subdiff_distance(self.stack(W), self.stack(G))

    def alpha_max(self, G0):
        return self.penalty.alpha_max(self.stack(G0))

    def forward_backward_split(self):
        return None
