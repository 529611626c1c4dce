"""Penalties built from others: a ridge term, and the dirty model's W = B + S."""

import numpy as np

from ._row import L1, L21


class WithRidge:
    r"""``penalty(W) + (l2_reg / 2) ||W||_F^2``.

    Notes
    -----
    ``prox_{step (P + l2/2 ||.||^2)}(V) = prox_{step' P}(V / (1 + step l2))`` with
    ``step' = step / (1 + step l2)``; the ridge gradient ``l2 W`` moves into ``G``
    for the optimality measure, and ``alpha_max`` is unchanged (the ridge gradient
    vanishes at 0).
    """

    def __init__(self, penalty, l2_reg):
        self.penalty = penalty
        self.l2_reg = float(l2_reg)

    def value(self, W):
        return self.penalty.value(W) + 0.5 * self.l2_reg * float((W**2).sum())

    def prox(self, W, step):
        shrink = 1.0 + step * self.l2_reg
        return self.penalty.prox(W / shrink, step / shrink)

    def subdiff_distance(self, W, G):
        return self.penalty.subdiff_distance(W, G + self.l2_reg * W)

    def alpha_max(self, G0):
        return self.penalty.alpha_max(G0)

    @property
    def row_spec(self):
        # an attribute only when the wrapped penalty has one, so that ``hasattr``
        # (the solvers' test for a row-separable penalty) answers for the wrapped one
        inner = self.penalty.row_spec

        def row_spec(n_rows):
            kind, a1, a2, l2, positive = inner(n_rows)
            return kind, a1, a2, l2 + self.l2_reg, positive

        return row_spec

    def forward_backward_split(self):
        return None  # never the wrapped penalty's (that would drop the ridge)

    def __getattr__(self, name):  # anything else (beta_max, rank, ...) is the penalty's
        if name == "penalty":
            raise AttributeError(name)
        return getattr(self.penalty, name)


def with_ridge(penalty, l2_reg):
    """``penalty`` plus ``(l2_reg / 2) ||W||_F^2`` (``penalty`` itself when ``l2_reg == 0``)."""
    return WithRidge(penalty, l2_reg) if l2_reg > 0 else penalty


class Dirty:
    r"""Dirty model penalty on the stacked variable ``V = [B; S]`` (``2 n_features`` rows).

    ``block(B) + beta * ||S||_1`` with ``block`` a row-block penalty (``L1Inf`` or
    ``L21``) on the shared part ``B`` and the lasso on the task-specific part ``S``;
    the model's coefficients are ``W = B + S`` (see :class:`mtlreg.datafits.SumOfParts`).

    Notes
    -----
    The penalty is separable in ``(B, S)``: each half is proxed by its own
    operator, and the optimality measure is the larger of the two halves'.
    ``alpha_max`` refers to ``block`` (the shared part); ``beta_max = max |G0|``.
    """

    def __init__(self, block, beta, positive=False):
        self.block = block
        self.specific = L1(beta, positive=positive)

    @staticmethod
    def split(V):
        d = V.shape[0] // 2
        return V[:d], V[d:]

    def value(self, V):
        B, S = self.split(V)
        return self.block.value(B) + self.specific.value(S)

    def prox(self, V, step):
        B, S = self.split(V)
        return np.vstack([self.block.prox(B, step), self.specific.prox(S, step)])

    def subdiff_distance(self, V, G):
        (B, S), (GB, GS) = self.split(V), self.split(G)
        return max(self.block.subdiff_distance(B, GB), self.specific.subdiff_distance(S, GS))

    def row_spec(self, n_rows):
        d = n_rows // 2
        shared, specific = self.block.row_spec(d), self.specific.row_spec(d)
        if shared[4] != specific[4]:
            raise ValueError("both parts of the dirty model share the positivity constraint")
        return (np.concatenate([shared[0], specific[0]]),
                np.concatenate([shared[1], specific[1]]),
                np.concatenate([shared[2], specific[2]]), 0.0, shared[4])

    def alpha_max(self, G0):
        return self.block.alpha_max(self.split(G0)[0])

    def beta_max(self, G0):
        return self.specific.alpha_max(self.split(G0)[1])


class ColumnL21:
    r"""Column-group lasso ``alpha * sum_t ||W_{:,t}||_2`` (whole tasks switched on or off).

    Notes
    -----
    Prox: block soft-thresholding of each column (task). Optimality measure: the
    largest column distance of ``-G_t`` to ``alpha d||W_t||_2``; ``alpha_max`` is the
    largest column norm of ``G0``. It is the row-group lasso of ``W^T``.
    """

    def __init__(self, alpha):
        self._rows = L21(alpha)
        self.alpha = float(alpha)

    def value(self, W):
        return self._rows.value(W.T)

    def prox(self, W, step):
        return self._rows.prox(W.T, step).T

    def subdiff_distance(self, W, G):
        return self._rows.subdiff_distance(W.T, G.T)

    def alpha_max(self, G0):
        return self._rows.alpha_max(G0.T)


class TwoParts:
    r"""``first(P) + second(Q)`` on the stacked variable ``V = [P; Q]``, ``W = P + Q``.

    The generalisation of :class:`Dirty` to any two penalties (robust multi-task
    learning: trace norm + column l2,1; rMTFL: row l2,1 + column l2,1); the
    datafit is :class:`mtlreg.datafits.SumOfParts`. Separable in ``(P, Q)``: each
    half is proxed by its own operator, the optimality measure is the larger of
    the two halves'; ``alpha_max`` refers to ``first``, ``beta_max`` to ``second``.
    """

    def __init__(self, first, second):
        self.first = first
        self.second = second

    split = staticmethod(Dirty.split)

    def value(self, V):
        P, Q = self.split(V)
        return self.first.value(P) + self.second.value(Q)

    def prox(self, V, step):
        P, Q = self.split(V)
        return np.vstack([self.first.prox(P, step), self.second.prox(Q, step)])

    def subdiff_distance(self, V, G):
        (P, Q), (GP, GQ) = self.split(V), self.split(G)
        return max(self.first.subdiff_distance(P, GP), self.second.subdiff_distance(Q, GQ))

    def alpha_max(self, G0):
        return self.first.alpha_max(self.split(G0)[0])

    def beta_max(self, G0):
        return self.second.alpha_max(self.split(G0)[1])
