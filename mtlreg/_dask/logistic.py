"""The logistic datafit on Dask data: every evaluation is one distributed pass.

``solver="auto"`` runs proximal Newton (:mod:`mtlreg.solvers.newton`) as in memory: its
second-order model (:meth:`DistributedLogistic.quadratic_model`) needs the per-task
Hessian blocks ``sum_i c_i p_i (1 - p_i) a_i a_i^T``, per-task sums over rows computed
partition by partition like the squared loss's statistics (one pass), and its
subproblems are solved in memory on those ``T (d+1)^2`` numbers. A Newton step thus
costs two passes (the Hessian and the line search's evaluations), and a fit takes the
in-memory number of Newton steps (raw School: 6; FISTA, one pass per iteration, ran
1 000 iterations there without converging).

FISTA (``solver="fista"``) needs ``value`` and ``gradient`` at points that
are linear in the coefficients. Here a "prediction" is the point ``(W, b)`` itself
(:class:`mtlreg._dask.rows._Point`, with the vector-space operations FISTA applies to
predictions);
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
from ..datafits import QuadraticModel, _stack
from .fit import _FAN_IN, class_codes
from .rows import _Point


class DistributedLogistic:
    """Logistic loss ``log(1 + e^z) - y z`` over Dask row blocks (see the module doc)."""

    curvature = 0.25

    def __init__(self, layout, blocks, classes):
        self.layout = layout
        self.blocks = blocks
        self.classes = classes
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
                    self.classes)
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

    exact_quadratic = False

    def intercept_gradient_bound(self):
        """``|grad_{b_t} F| <= sum_i c_i = lambda_t`` (as in memory)."""
        return float(np.max(self.layout.lambdas, initial=0.0))

    def quadratic_model(self, W, b):
        """Proximal Newton's second-order model at ``(W, b)``, as the in-memory
        :meth:`mtlreg.datafits.Logistic.quadratic_model`: per task ``H_t = sum_i c_i
        p_i (1 - p_i) a_i a_i^T`` with ``a_i = [x_i - mu_t, 1]``. The weighted sums of
        the raw rows (``sum v x x^T``, ``sum v x``, ``sum v`` per task) come from one
        pass over the partitions (tree-summed like the statistics), the centring is
        applied to the sums; the gradient and value from the evaluation pass."""
        Z = self.linear_predictor(W, b)
        value, G, gb = self._evaluate(Z)
        if not self.layout.fit_intercept:
            gb = np.zeros_like(gb)
        mu = np.ascontiguousarray(self.layout.mu)
        offset = Z.b - np.einsum("tj,jt->t", mu, Z.W)
        part = dask.delayed(_block_hessian, pure=True)
        parts = [part(block, np.ascontiguousarray(Z.W.T), offset, self.scale, self.tasks,
                      self.classes) for block in self.blocks]
        add = dask.delayed(_sum, pure=True)
        while len(parts) > 1:
            parts = [add(parts[i:i + _FAN_IN]) for i in range(0, len(parts), _FAN_IN)]
        Sxx, Sx, S = dask.compute(parts[0])[0]
        self.n_passes += 1
        # centred: sum v (x - m)(x - m)^T = Sxx - m Sx^T - Sx m^T + S m m^T
        Hxx = (Sxx - mu[:, :, None] * Sx[:, None, :] - Sx[:, :, None] * mu[:, None, :]
               + S[:, None, None] * mu[:, :, None] * mu[:, None, :])
        if self.layout.fit_intercept:
            hx = Sx - S[:, None] * mu
            T, d = mu.shape
            H = np.empty((T, d + 1, d + 1))
            H[:, :d, :d], H[:, :d, d], H[:, d, :d], H[:, d, d] = Hxx, hx, hx, S
        else:
            H = Hxx
        H = 0.5 * (H + np.transpose(H, (0, 2, 1)))
        V = _stack(Z.W, Z.b, self.layout.fit_intercept)
        g = _stack(G, gb, self.layout.fit_intercept)
        HV = np.matmul(H, V[:, :, None])[:, :, 0]
        const = value - float(np.sum(g * V)) + 0.5 * float(np.sum(V * HV))
        return QuadraticModel(self.layout, H, HV - g, const)


    def separation_summary(self, W, b):
        """The rows' verdict for the estimators' separation check (one pass):
        :meth:`mtlreg._dask.rows.DistributedRows.separation_summary`."""
        from .rows import DistributedRows

        return DistributedRows(self.layout, self.blocks, "logistic",
                               classes=self.classes).separation_summary(W, b)


def _sum(parts):
    return (sum(p[0] for p in parts), sum(p[1] for p in parts), sum(p[2] for p in parts))


def _block_hessian(block, coefT, offset, scale, tasks, classes):
    """Per task ``sum v x x^T``, ``sum v x``, ``sum v`` over one row block, with the
    Newton weights ``v = c p (1 - p)`` at the linear predictor ``X W + offset``."""
    features, task_ids, y, s = block
    y = class_codes(y, classes)
    T, d = coefT.shape
    Xd = features.toarray() if sp.issparse(features) else np.asarray(features)
    Xd = Xd.astype(np.float64, copy=False)
    if task_ids is None:  # shared design: every row in every task (where labelled)
        Y = y.reshape(Xd.shape[0], -1)
        w = np.ones(Y.shape[0]) if s is None else s
        p = expit(Xd @ coefT.T + offset)
        v = (~np.isnan(Y)) * w[:, None] * scale[None, :] * p * (1.0 - p)  # (n, T)
        return np.einsum("it,ij,ik->tjk", v, Xd, Xd), v.T @ Xd, v.sum(axis=0)
    codes = task_codes(tasks, task_ids) if len(task_ids) else np.zeros(0, np.intp)
    z = _kernels.rowwise_matvec_dense(np.ascontiguousarray(Xd), codes, coefT, offset,
                                      np.empty(len(y)))
    p = expit(z)
    v = (np.ones(len(y)) if s is None else s) * scale[codes] * ~np.isnan(y) * p * (1.0 - p)
    Sxx, Sx, S = np.zeros((T, d, d)), np.zeros((T, d)), np.zeros(T)
    for t in np.unique(codes):
        rows = codes == t
        Xt, vt = Xd[rows], v[rows]
        Sxx[t] = Xt.T @ (Xt * vt[:, None])
        Sx[t] = vt @ Xt
        S[t] = vt.sum()
    return Sxx, Sx, S


def _block_pass(block, coefT, offset, scale, tasks, classes):
    """Loss sum, ``raw^T R`` (as ``(T, d)``) and ``sum R`` per task on one row block."""
    features, task_ids, y, s = block
    y = class_codes(y, classes)
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
