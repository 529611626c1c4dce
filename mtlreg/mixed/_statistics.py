"""Per-task sufficient statistics of the linear mixed model.

Everything the likelihood needs about task ``t`` is the weighted cross-product of its
fixed-effects design with the target,

    S_t = [X_t, y_t]^T diag(w) [X_t, y_t]     of shape (p + 1, p + 1),

where ``X_t = [1, x_1, ..., x_d]`` (the intercept first, ``p = d + 1``) and ``w`` the
sample weights (0 for a missing label). The random-effects design ``Z_t`` is a subset
of the columns of ``X_t`` (the intercept and the features with a random slope), so
``Z_t^T Z_t``, ``Z_t^T X_t`` and ``Z_t^T y_t`` are rows and columns of ``S_t``, and
``n_t = S_t[0, 0] = sum w``.

They are built from the package's per-task centred co-moments
(:class:`mtlreg._tasks.statistics.Statistics`, computed in one pass over the rows in
either layout, or merged exactly from partitions): ``X^T W X = C_xx + n m m^T`` etc.
Nothing here touches the rows again.
"""

import numpy as np


class MixedStatistics:
    """``S (T, p + 1, p + 1)``: ``[1, x, y]^T W [1, x, y]`` per task (see the module
    docstring); ``random (q,)``: the columns of ``[1, x]`` with a random effect (0 is
    the intercept, ``j + 1`` feature ``j``); ``fixed``: the columns in the fixed design
    (default all; :func:`independent_columns` drops redundant ones). The blocks the
    criterion reads are cut once here: ``Sx`` (fixed columns and ``y``), ``Zs``
    (``Z^T [X, y]``) and ``G`` (``Z^T Z``)."""

    def __init__(self, S, random, fixed=None):
        self.S = S
        self.random = np.asarray(random, dtype=np.intp)
        p_all = S.shape[1] - 1
        self.fixed = (np.arange(p_all) if fixed is None
                      else np.asarray(fixed, dtype=np.intp))
        cols = np.append(self.fixed, p_all)
        self.Sx = np.ascontiguousarray(S[:, cols][:, :, cols])
        self.Zs = np.ascontiguousarray(S[:, self.random][:, :, cols])
        self.G = np.ascontiguousarray(S[:, self.random][:, :, self.random])

    @property
    def n(self):
        """Weighted number of labelled rows of each task."""
        return self.S[:, 0, 0]

    @property
    def n_fixed(self):
        """``p``: the columns of the fixed design (intercept included)."""
        return len(self.fixed)

    @property
    def n_tasks(self):
        return self.S.shape[0]


def independent_columns(A, rtol=1e-10):
    """Indices of a maximal set of linearly independent columns of the Gram matrix ``A``
    (``[1, X]^T W [1, X]`` summed over tasks), taken greedily in order (lme4 drops the
    later of collinear columns alike): column ``j`` is kept when the part of it not
    explained by the kept ones has more than ``rtol`` of its squared norm."""
    keep = []
    for j in range(A.shape[0]):
        ajj = A[j, j]
        if not ajj > 0:
            continue
        if keep:
            K = A[np.ix_(keep, keep)]
            v = A[keep, j]
            resid = ajj - v @ np.linalg.solve(K, v)
        else:
            resid = ajj
        if resid > rtol * ajj:
            keep.append(j)
    return np.array(keep, dtype=np.intp)


def from_statistics(stats, random, fixed=None):
    """:class:`MixedStatistics` from the per-task centred co-moments ``stats`` (a
    :class:`mtlreg._tasks.statistics.Statistics`), the random columns ``random`` and
    the fixed columns ``fixed`` (default all)."""
    n, mx, my = stats.n, stats.mx, stats.my
    T, d = mx.shape
    p = d + 1
    S = np.empty((T, p + 1, p + 1))
    S[:, 0, 0] = n
    S[:, 0, 1:p] = S[:, 1:p, 0] = n[:, None] * mx
    S[:, 0, p] = S[:, p, 0] = n * my
    S[:, 1:p, 1:p] = stats.cxx + n[:, None, None] * mx[:, :, None] * mx[:, None, :]
    S[:, 1:p, p] = S[:, p, 1:p] = stats.cxy + (n * my)[:, None] * mx
    S[:, p, p] = stats.cyy + n * my**2
    return MixedStatistics(S, random, fixed)


__all__ = ["MixedStatistics", "from_statistics", "independent_columns"]
