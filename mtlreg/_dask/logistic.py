"""The logistic datafit on Dask data: every evaluation is one distributed pass.

FISTA (:mod:`mtlreg.solvers.fista`) needs ``value`` and ``gradient`` at points that
are linear in the coefficients. Here a "prediction" is the point ``(W, b)`` itself
(:class:`_Point`, with the vector-space operations FISTA applies to predictions);
``value`` and ``gradient`` at a point are computed together, in one map-reduce over
the partitions (each partition: its rows' predictions, losses and the per-task
gradient sums; then a tree sum), and cached on the point. One FISTA iteration is
thus one pass over the data, plus one per backtracking step.

The weights are those of the in-memory layout (``c_it = lambda_t s_i / n_t``, same
centring ``mu``), taken from the statistics pass that precedes the solve; so is the
Lipschitz bound (``0.25 max_t lambda_max(H_t)``, exact for the centred design).
Keep the data in the cluster's memory (``X = X.persist()``) or every iteration reads
it again from its source.
"""

import dask
import numpy as np
import scipy.sparse as sp
from scipy.special import expit

from .._kernels import dense as _kernels
from .._tasks.layout import task_codes
from .fit import _FAN_IN, as_binary


class _Point:
    """``(W, b)`` as FISTA's prediction: supports ``+``, ``-`` and scalar ``*``."""

    def __init__(self, W, b):
        self.W, self.b = W, b
        self.cache = None

    def __add__(self, other):
        return _Point(self.W + other.W, self.b + other.b)

    def __sub__(self, other):
        return _Point(self.W - other.W, self.b - other.b)

    def __mul__(self, scalar):
        return _Point(scalar * self.W, scalar * self.b)

    __rmul__ = __mul__


class DistributedLogistic:
    """Logistic loss ``log(1 + e^z) - y z`` over Dask row blocks (see the module doc)."""

    curvature = 0.25

    def __init__(self, layout, blocks, positive):
        self.layout = layout
        self.blocks = blocks
        self.positive = positive
        self.scale = layout.lambdas / layout._n_t  # c_it = s_i * scale_t
        self.tasks = None if layout.layout == "shared" else layout.labels
        self.n_passes = 0

    def linear_predictor(self, W, b):
        return _Point(np.array(W, dtype=np.float64), np.array(b, dtype=np.float64))

    def _evaluate(self, Z):
        if Z.cache is None:
            mu = np.ascontiguousarray(self.layout.mu)
            offset = Z.b - np.einsum("tj,jt->t", mu, Z.W)  # intercepts in raw coordinates
            part = dask.delayed(_block_pass, pure=True)
            args = (np.ascontiguousarray(Z.W.T), offset, self.scale, self.tasks,
                    self.positive)
            parts = [part(block, *args) for block in self.blocks]
            add = dask.delayed(_sum, pure=True)
            while len(parts) > 1:
                parts = [add(parts[i:i + _FAN_IN]) for i in range(0, len(parts), _FAN_IN)]
            value, GT, gb = dask.compute(parts[0])[0]
            G = GT.T - mu.T * gb  # A^T R for the centred design
            self.n_passes += 1
            Z.cache = (float(value), G, gb)
        return Z.cache

    def value(self, Z):
        return self._evaluate(Z)[0]

    def exact_value(self, W, b):
        return self.value(self.linear_predictor(W, b))

    def gradient(self, Z):
        _, G, gb = self._evaluate(Z)
        return G.copy(), (gb.copy() if self.layout.fit_intercept else np.zeros_like(gb))

    def lipschitz(self):
        H = self.layout.task_gram()[0]
        top = np.linalg.eigvalsh(H)[:, -1] if H.size else np.zeros(1)
        return self.curvature * float(max(top.max(initial=0.0), 0.0)) * (1 + 1e-10)

    def initial_intercept(self):
        p = np.clip(self.layout.target_means(), 1e-12, 1 - 1e-12)
        return np.log(p / (1 - p))


def _sum(parts):
    return (sum(p[0] for p in parts), sum(p[1] for p in parts), sum(p[2] for p in parts))


def _block_pass(block, coefT, offset, scale, tasks, positive):
    """Loss sum, ``raw^T R`` (as ``(T, d)``) and ``sum R`` per task on one row block."""
    features, task_ids, y, s = block
    y = as_binary(y, positive)
    T, d = coefT.shape
    if task_ids is None:  # shared design: Z = X W + offset
        Y = y.reshape(features.shape[0], -1)
        Xd = features.astype(np.float64) if not sp.issparse(features) else \
            sp.csr_matrix(features, dtype=np.float64)
        w = np.ones(Y.shape[0]) if s is None else s
        Z = np.asarray(Xd @ coefT.T) + offset
        seen = ~np.isnan(Y)
        C = seen * w[:, None] * scale[None, :]
        Y0 = np.where(seen, Y, 0.0)
        value = float(np.sum(C * (np.logaddexp(0.0, Z) - Y0 * Z)))
        R = C * (expit(Z) - Y0)
        return value, np.asarray(Xd.T @ R).T, R.sum(axis=0)
    codes = task_codes(tasks, task_ids) if len(task_ids) else np.zeros(0, np.intp)
    seen = ~np.isnan(y)
    c = (np.ones(len(y)) if s is None else s) * scale[codes] * seen
    y0 = np.where(seen, y, 0.0)
    if sp.issparse(features):
        X = sp.csr_matrix(features, dtype=np.float64)
        z = _kernels.rowwise_matvec_csr(X.data, X.indices, X.indptr, codes, coefT, offset,
                                        np.empty(len(y)))
    else:
        X = np.ascontiguousarray(features, dtype=np.float64)
        z = _kernels.rowwise_matvec_dense(X, codes, coefT, offset, np.empty(len(y)))
    value = float(np.sum(c * (np.logaddexp(0.0, z) - y0 * z)))
    r = c * (expit(z) - y0)
    GT, gb = np.empty((T, d)), np.empty(T)
    if sp.issparse(X):
        _kernels.rowwise_rmatvec_csr(X.data, X.indices, X.indptr, codes, r, GT, gb)
    else:
        _kernels.rowwise_rmatvec_dense(X, codes, r, GT, gb)
    return value, GT, gb


__all__ = ["DistributedLogistic"]
