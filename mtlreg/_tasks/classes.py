"""Multiclass tasks as "virtual tasks": one coefficient column per (class, task) pair.

A classifier with ``K > 2`` classes fits, for every task ``t`` and class ``k``, a
coefficient vector ``w_tk`` and an intercept ``b_tk``. The solvers and penalties see
them as one matrix ``W`` of shape ``(n_features, K * T)`` whose column ``k * T + t``
is ``w_tk`` (class-major: the ``T`` columns of class ``k`` are contiguous, so a
penalty that couples the tasks applies to each block ``W[:, k T:(k + 1) T]``).

:class:`ClassLayout` wraps a binary-style layout of ``T`` tasks
(:class:`~mtlreg._tasks.layout.SharedDesign` or
:class:`~mtlreg._tasks.layout.TaskBlocks`, built with the class codes ``0..K-1`` as
targets) and exposes the interface of a layout of ``K T`` tasks: the linear operator
``A : (W, b) -> Z`` with

* shared design: ``Z (n, K T)``, ``Z[i, k T + t] = (x_i - mu) . w_tk + b'_tk``:
  the design ``X`` is reused as it is, one product ``X W``;
* per-task rows: ``Z (n, K)``, ``Z[i, k] = (x_i - mu_t(i)) . w_t(i)k + b'_t(i)k``:
  ``K`` passes of the base layout's row kernels over ``X``, each with the ``T``
  columns of one class. No row of ``X`` is copied (repeating every row ``K`` times,
  the other design, would hold ``K`` copies of ``X``: ``K n d`` numbers, 800 MB of
  float64 for ``n = 10^5``, ``d = 100``, ``K = 10``, where this keeps ``Z``, ``n K``
  numbers: 8 MB; the price is ``K`` passes over ``X`` per product instead of one).

The observation weights ``c`` (the base layout's, ``c_it = lambda_t s_i / n_t``) and
the labels are those of the base: ``by_class(Z)`` views ``Z`` as ``(n, K, m)`` with
``m = T`` (shared) or ``1`` (per-task rows), ``labels`` and ``weights`` are ``(n, m)``,
so that a datafit takes the softmax over axis 1.

The centring of :mod:`mtlreg._tasks.layout` carries over per class: ``b'_tk = b_tk +
mu_t . w_tk`` with the task's centring vector ``mu_t`` for every class.
"""

import numpy as np


class ClassLayout:
    """The layout of ``K T`` virtual tasks over a base layout of ``T`` tasks (see the
    module docstring). ``base.y`` holds the class codes ``0..K-1`` (any value where
    ``base.c`` is 0)."""

    def __init__(self, base, n_classes):
        self.base = base
        self.n_classes = K = int(n_classes)
        self.n_base_tasks = T = base.n_tasks
        self.n_tasks = K * T
        self.n_features = base.n_features
        self.fit_intercept = base.fit_intercept
        self.layout = base.layout
        self.X = base.X
        # (T, 1): the task weights, broadcast over the classes of an intercept (T, K)
        self.lambdas = np.asarray(base.lambdas, dtype=np.float64)[:, None]
        self.mu = np.tile(np.asarray(base.mu, dtype=np.float64), (K, 1))  # (K T, d)
        self._shared = base.layout == "shared"
        n = base.c.shape[0]
        self.weights = base.c.reshape(n, -1)  # (n, m)
        self.labels = np.where(self.weights > 0, base.y.reshape(n, -1), 0).astype(np.intp)
        self.c = base.c

    # ------------------------------------------------------------ shapes
    def by_class(self, Z):
        """``Z`` viewed as ``(n, K, m)`` (class on axis 1)."""
        if self._shared:
            return Z.reshape(Z.shape[0], self.n_classes, self.n_base_tasks)
        return Z[:, :, None]

    def from_class(self, R):
        """Inverse of :meth:`by_class`."""
        return R.reshape(R.shape[0], -1) if self._shared else R[:, :, 0]

    def onehot(self):
        """``(n, K, m)`` indicator of each observation's class (0 where unlabelled)."""
        Y = np.zeros((self.weights.shape[0], self.n_classes, self.weights.shape[1]))
        np.put_along_axis(Y, self.labels[:, None, :], 1.0, axis=1)
        return Y * (self.weights > 0)[:, None, :]

    def class_columns(self, k):
        return slice(k * self.n_base_tasks, (k + 1) * self.n_base_tasks)

    # ------------------------------------------------------------ operator
    def _offset(self, W, b):
        return b - np.einsum("tj,jt->t", self.mu, W)

    def matvec(self, W, b, once=False):
        offset = self._offset(W, b)
        if self._shared:
            return self.base._raw_matvec(W, offset, once)
        return np.column_stack([
            self.base._raw_matvec(W[:, self.class_columns(k)], offset[self.class_columns(k)], once)
            for k in range(self.n_classes)])

    def rmatvec(self, R):
        if self._shared:
            G, gb = self.base._raw_rmatvec(R)
        else:
            G = np.empty((self.n_features, self.n_tasks))
            gb = np.empty(self.n_tasks)
            for k in range(self.n_classes):
                cols = self.class_columns(k)
                G[:, cols], gb[cols] = self.base._raw_rmatvec(np.ascontiguousarray(R[:, k]))
        G -= self.mu.T * gb
        if not self.fit_intercept:
            gb[:] = 0.0
        return G, gb

    def _as_virtual(self, b):
        """An intercept ``(T, K)`` (``intercept_``) as the virtual ``(K T,)``."""
        b = np.asarray(b, dtype=np.float64)
        return b.T.ravel() if b.ndim == 2 else b

    def uncentre_intercept(self, W, b):
        return self._as_virtual(b) - np.einsum("tj,jt->t", self.mu, W)

    def centre_intercept(self, W, b):
        return self._as_virtual(b) + np.einsum("tj,jt->t", self.mu, W)

    # ------------------------------------------------------------ per task
    def task_sums(self, values):
        """Sum over each base task's rows of ``values (n, m)``: ``(T,)``."""
        if self._shared:
            return values.sum(axis=0)
        return self.base._task_sums(values[:, 0])

    def class_shares(self):
        """``(T, K)``: the weighted share of each class in each task."""
        Y = self.onehot() * self.weights[:, None, :]
        counts = np.stack([self.task_sums(Y[:, k]) for k in range(self.n_classes)], axis=1)
        total = counts.sum(axis=1, keepdims=True)
        return counts / np.maximum(total, np.finfo(float).tiny)

    def weighted_counts(self):
        return np.tile(self.base.weighted_counts(), self.n_classes)

    def labelled_counts(self):
        return np.tile(self.base.labelled_counts(), self.n_classes)

    def sq_norm_bound(self):
        """The base layout's bound: ``max_t ||diag(sqrt(c_t)) A_t||_2^2``."""
        return self.base.sq_norm_bound()

    def weighted_gram(self, w):
        """The base layout's per-task ``sum_i w_i a_i a_i^T`` for ``w`` shaped ``(n, m)``."""
        return self.base.weighted_gram(w if self._shared else w[:, 0])
