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

from dataclasses import dataclass

import numpy as np


@dataclass
class MixedStatistics:
    """``S (T, p + 1, p + 1)``: ``[1, x, y]^T W [1, x, y]`` per task (see the module
    docstring); ``random (q,)``: the columns of ``[1, x]`` with a random effect (0 is
    the intercept, ``j + 1`` feature ``j``), sorted, starting with 0."""

    S: np.ndarray
    random: np.ndarray

    @property
    def n(self):
        """Weighted number of labelled rows of each task."""
        return self.S[:, 0, 0]

    @property
    def n_fixed(self):
        """``p``: the fixed effects (intercept included)."""
        return self.S.shape[1] - 1

    @property
    def n_tasks(self):
        return self.S.shape[0]


def from_statistics(stats, random):
    """:class:`MixedStatistics` from the per-task centred co-moments ``stats`` (a
    :class:`mtlreg._tasks.statistics.Statistics`) and the random columns ``random``."""
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
    return MixedStatistics(S, np.asarray(random, dtype=np.intp))


__all__ = ["MixedStatistics", "from_statistics"]
