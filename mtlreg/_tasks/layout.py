"""The task layout: validated input turned, once, into the view the solvers use.

Two layouts are supported and both produce the same small interface, a linear
operator ``A : (W, b) -> Z`` with observation weights ``c`` (same shape as ``Z``):

* :class:`SharedDesign` -- one design ``X (n, d)`` for every task and targets
  ``Y (n, T)``; ``Z = X W + 1 b^T`` has shape ``(n, T)``. A NaN in ``Y`` means
  "no label for this task on this sample": its weight is 0.
* :class:`TaskBlocks` -- each row belongs to one task (``codes[i]``);
  ``z_i = x_i . w_{t(i)} + b_{t(i)}`` has shape ``(n,)``.

Loss scaling (written once here, used by every datafit): with sample weights
``s_i`` and task weights ``lambda_t``, the weight of observation ``(i, t)`` is

    c_it = lambda_t * s_i / n_t,     n_t = sum of s_i over the labelled rows of task t,

so the data term is ``sum_t lambda_t * (1/n_t) sum_{i in t} s_i loss(y_it, z_it)``:
each task contributes its (weighted) mean loss. For a shared design without
missing labels and ``lambda_t = 1`` this is exactly scikit-learn's
``1/(2n) ||Y - XW||_F^2`` (the squared loss carries the 1/2).

With ``fit_intercept`` the features are centred implicitly (never copied, so a
sparse ``X`` stays sparse): ``z = (x - mu_t) . w_t + b'_t``. This is an exact
reparametrisation (``b_t = b'_t - mu_t . w_t``) that makes the intercept nearly
decouple from ``W`` (exactly, for the squared loss) and keeps the step size sane
on uncentred data.
"""

import numpy as np
import scipy.sparse as sp
from scipy.sparse.linalg import LinearOperator, eigsh

from .._kernels import dense as _kernels
from ..utils._arrays import c64, is_float32, matmul64, rmatmul64, row_major, slice_length
from ..utils._messages import format_tasks
from ..utils.validation import resolve_task_weights
from . import grouped as _grouped


def task_sample_counts(mask, sample_weight, codes, tasks):
    """Per-task weighted counts ``n_t`` (validated) -- see the module docstring."""
    if codes is None:  # shared design: mask (n, T)
        n_t = sample_weight @ mask
    else:
        n_t = np.bincount(codes, weights=sample_weight, minlength=len(tasks))
    empty = np.flatnonzero(n_t <= 0)
    if empty.size:
        raise ValueError(
            f"Task(s) {format_tasks(np.asarray(tasks)[empty])} have no labelled sample "
            "with positive weight (all labels missing or all sample weights zero): every "
            "task needs at least one to be fitted."
        )
    return n_t


class _CentredOperator:
    """Shared logic of both layouts: implicit centring, intercept, Lipschitz bound."""

    def __init__(self, X, y, c, mu, fit_intercept):
        self.X = X
        self.y = y  # same shape as Z, with 0 where unlabelled
        self.c = c  # observation weights, same shape as Z, 0 where unlabelled
        self.mu = mu  # (n_tasks, n_features) centring means (zeros without intercept)
        self.fit_intercept = fit_intercept
        self.n_features = X.shape[1]

    def weighted_counts(self):
        """``n_t``: the sum of the sample weights over each task's labelled rows."""
        return self._n_t

    # A(W, b) = raw(W) + (b - mu_t . w_t)
    def matvec(self, W, b, once=False):
        """``A(W, b)``; ``once``: a product done once a fit (the final objective), which
        the per-task layout does in NumPy rather than by its compiled row kernel."""
        offset = b - np.einsum("tj,jt->t", self.mu, W)
        return self._raw_matvec(W, offset, once)

    # A^T R = (raw^T R - mu_t * sum_t(R), sum_t(R))
    def rmatvec(self, R):
        G, gb = self._raw_rmatvec(R)
        G -= self.mu.T * gb
        if not self.fit_intercept:
            gb[:] = 0.0
        return G, gb

    def uncentre_intercept(self, W, b):
        """Intercept in the original (uncentred) feature space."""
        return b - np.einsum("tj,jt->t", self.mu, W)

    def centre_intercept(self, W, b):
        return b + np.einsum("tj,jt->t", self.mu, W)

    def task_gram(self):
        """Per-task normal equations of the weighted least-squares data term.

        Returns ``H (T, k, k)`` and ``r (T, k)`` with ``a_i = [x_i - mu_t, 1]``
        (``k = d + 1``; without intercept ``a_i = x_i`` and ``k = d``):
        ``H_t = sum_i c_it a_i a_i^T`` and ``r_t = sum_i c_it y_it a_i``, so that the
        squared data term of task t is ``v^T H_t v / 2 - r_t^T v + const``.
        Dense algebra: meant for moderate ``n_features``. Computed once, then cached.
        """
        if getattr(self, "_gram", None) is not None:
            return self._gram
        k = self.n_features + int(self.fit_intercept)
        H = np.empty((self.n_tasks, k, k))
        r = np.empty((self.n_tasks, k))
        for t, (A, c, y) in enumerate(self._task_rows()):
            A = self._augmented(A, self.mu[t])
            Ac = A * c[:, None]
            G = A.T @ Ac
            H[t] = 0.5 * (G + G.T)  # exactly symmetric
            r[t] = Ac.T @ y
        self._gram = (H, r)
        return H, r

    def weighted_gram(self, w):
        """Per-task ``H_t = sum_i w_it a_i a_i^T`` (same ``a_i`` as :meth:`task_gram`) for
        observation weights ``w`` shaped like ``Z``: the Hessian of a datafit whose loss
        has curvature ``w / c`` (the quadratic model of the logistic loss). Not cached."""
        k = self.n_features + int(self.fit_intercept)
        H = np.empty((self.n_tasks, k, k))
        for t, (A, wt) in enumerate(self._weighted_rows(w)):
            A = self._augmented(A, self.mu[t])
            G = A.T @ (A * wt[:, None])
            H[t] = 0.5 * (G + G.T)
        return H

    def _augmented(self, X_rows, mu):
        """``a_i = [x_i - mu, 1]`` with an intercept, ``x_i`` without (dense rows)."""
        if not self.fit_intercept:
            return X_rows
        return np.hstack([X_rows - mu, np.ones((X_rows.shape[0], 1))])

    def gram_constant(self):
        """The constant of the Gram form: ``sum_o c_o y_o^2 / 2``."""
        return 0.5 * float(np.sum(self.c * self.y**2))

    def target_means(self):
        """Weighted mean of the targets per task (the intercept of the null model)."""
        return self.task_means(self.y)

    def task_means(self, values):
        """Weighted mean per task of an array shaped like Z (uses c, which sums to lambda_t)."""
        sums = self._task_sums(self.c * values)
        return sums / np.maximum(self._task_sums(self.c), np.finfo(float).tiny)


class SharedDesign(_CentredOperator):
    """One design for all tasks: X (n, d), Y (n, T), weights c (n, T)."""

    layout = "shared"

    def __init__(self, X, Y, sample_weight, task_weights, fit_intercept):
        mask = ~np.isnan(Y)
        n_tasks = Y.shape[1]
        n_t = task_sample_counts(mask, sample_weight, None, np.arange(n_tasks))
        self.lambdas = resolve_task_weights(task_weights, np.arange(n_tasks), n_t)
        c = mask * sample_weight[:, None] * (self.lambdas / n_t)[None, :]
        y = np.where(mask, Y, 0.0)
        # One centring vector for every task (the s-weighted mean of all rows): with
        # no missing labels it equals the per-task means, and it keeps the bound below valid.
        if fit_intercept:
            mu1 = np.asarray(rmatmul64(X, sample_weight)).ravel() / sample_weight.sum()
        else:
            mu1 = np.zeros(X.shape[1])
        mu = np.broadcast_to(mu1, (n_tasks, X.shape[1]))
        super().__init__(X, y, c, mu, fit_intercept)
        self.n_tasks = n_tasks
        self._n_t = n_t
        self._sample_weight = sample_weight
        self._mu1 = mu1
        self._all_labelled = bool(mask.all())

    def labelled_counts(self):
        """Number of rows with a label and a positive weight, per task."""
        return np.count_nonzero(self.c > 0, axis=0)

    def _raw_matvec(self, W, offset, once=False):
        if not W.any():  # the null model (alpha_max, starting points): no pass over X
            return np.repeat(np.asarray(offset, dtype=np.float64)[None, :], self.X.shape[0], 0)
        return matmul64(self.X, W) + offset[None, :]

    def _raw_rmatvec(self, R):
        return rmatmul64(self.X, R), R.sum(axis=0)

    def _task_sums(self, values):
        return values.sum(axis=0)

    def task_gram(self):
        """As in the base class; without missing labels every task weighs the rows
        alike (``c_t = (lambda_t / n_t) s``), so one Gram matrix ``A^T diag(s) A``
        serves all tasks (``n k^2`` work instead of ``T n k^2``) and ``r`` is one
        product ``A^T (c * Y)``."""
        if getattr(self, "_gram", None) is not None or not self._all_labelled:
            return super().task_gram()
        s = self._sample_weight
        if is_float32(self.X):  # by slices of rows, accumulated in float64
            k = self.n_features + int(self.fit_intercept)
            H1, rT = np.zeros((k, k)), np.zeros((k, self.n_tasks))
            step = slice_length(self.X.shape[0], k)
            for i in range(0, self.X.shape[0], step):
                A = self._augmented(self.X[i:i + step].astype(np.float64), self._mu1)
                H1 += A.T @ (A * s[i:i + step, None])
                rT += A.T @ (self.c[i:i + step] * self.y[i:i + step])
        else:
            Xd = (self.X.toarray() if sp.issparse(self.X)
                  else np.asarray(self.X, dtype=np.float64))
            A = self._augmented(Xd, self._mu1)
            H1 = A.T @ (A * s[:, None])
            rT = A.T @ (self.c * self.y)
        H1 = 0.5 * (H1 + H1.T)
        scale = self.lambdas / self._n_t
        H = scale[:, None, None] * H1[None, :, :]
        r = np.ascontiguousarray(rT.T)
        self._gram = (H, r)
        return H, r

    def weighted_gram(self, w):
        """As in the base class: one BLAS product per task on the centred design,
        augmented once and kept (``n k`` numbers)."""
        A = getattr(self, "_augmented_design", None)
        if A is None:
            Xd = self.X.toarray() if sp.issparse(self.X) else np.asarray(self.X, dtype=np.float64)
            A = self._augmented_design = np.ascontiguousarray(self._augmented(Xd, self._mu1))
        H = np.empty((self.n_tasks, A.shape[1], A.shape[1]))
        for t in range(self.n_tasks):
            G = A.T @ (A * w[:, t:t + 1])
            H[t] = 0.5 * (G + G.T)
        return H

    def _task_rows(self):
        Xd = self.X.toarray() if sp.issparse(self.X) else np.asarray(self.X)
        for t in range(self.n_tasks):
            rows = self.c[:, t] > 0
            yield Xd[rows], self.c[rows, t], self.y[rows, t]

    def sq_norm_bound(self):
        """max_t ||diag(sqrt(c_t)) [X - 1 mu^T, 1]||_2^2 (bounded through the mask)."""
        scale = np.max(self.lambdas / self._n_t)
        s = self._sample_weight
        return scale * _sq_spectral_norm(self.X, s, self._mu1, self.fit_intercept)


class TaskBlocks(_CentredOperator):
    """Per-task samples: row i of X belongs to task codes[i]."""

    layout = "blocks"

    def __init__(self, X, y, codes, tasks, sample_weight, task_weights, fit_intercept):
        n_tasks = len(tasks)
        n_t = task_sample_counts(None, sample_weight, codes, tasks)
        self.lambdas = resolve_task_weights(task_weights, tasks, n_t)
        c = sample_weight * (self.lambdas / n_t)[codes]
        self.codes = codes
        self._n_t = n_t
        self.n_tasks = n_tasks
        self._sample_weight = sample_weight
        if sp.issparse(X):
            X = sp.csr_matrix(X)
            X.sort_indices()
        else:  # the kernels read rows: contiguous rows, in any row stride (a view
            X = row_major(X)  # beside the task column is used as it is)
        # rows grouped by task, once: task t's rows are order[starts[t]:starts[t + 1]]
        self._order = np.argsort(codes, kind="stable")
        self._starts = np.searchsorted(codes[self._order], np.arange(n_tasks + 1))
        if fit_intercept:  # per-task weighted sums of the rows, in one pass over X
            sums = np.empty((n_tasks, X.shape[1]))
            weights = np.ascontiguousarray(sample_weight, dtype=np.float64)
            if sp.issparse(X):
                _kernels.rowwise_rmatvec_csr(X.data, X.indices, X.indptr, codes, weights,
                                             sums, np.empty(n_tasks))
            else:
                sums = _grouped.task_sums(X, self._order, self._starts, weights)
            mu = sums / n_t[:, None]
        else:
            mu = np.zeros((n_tasks, X.shape[1]))
        super().__init__(X, y, c, mu, fit_intercept)

    def labelled_counts(self):
        """Number of rows with a label and a positive weight, per task."""
        return np.bincount(self.codes[self.c > 0], minlength=self.n_tasks)

    def _raw_matvec(self, W, offset, once=False):
        if not W.any():  # the null model (alpha_max, starting points): no pass over X
            return np.asarray(offset, dtype=np.float64)[self.codes]
        if once and not sp.issparse(self.X):
            return _grouped.predict_rows(self.X, self.codes, c64(W.T), c64(offset))
        return rowwise_predict(self.X, self.codes, W.T, offset)

    def _raw_rmatvec(self, r):
        GT = np.empty((self.n_tasks, self.n_features))
        gb = np.empty(self.n_tasks)
        if sp.issparse(self.X):
            X = self.X
            _kernels.rowwise_rmatvec_csr(X.data, X.indices, X.indptr, self.codes, r, GT, gb)
        else:
            _kernels.rowwise_rmatvec_dense(self.X, self.codes, r, GT, gb)
        return GT.T, gb

    def _task_sums(self, values):
        return np.bincount(self.codes, weights=values, minlength=self.n_tasks)

    def _rows_of(self, t):
        return self._order[self._starts[t]:self._starts[t + 1]]

    def _task_rows(self):
        for t in range(self.n_tasks):
            rows = self._rows_of(t)
            X_t = self.X[rows]
            yield (X_t.toarray() if sp.issparse(X_t) else X_t), self.c[rows], self.y[rows]

    def _weighted_rows(self, w):
        for t in range(self.n_tasks):
            rows = self._rows_of(t)
            X_t = self.X[rows]
            yield (X_t.toarray() if sp.issparse(X_t) else X_t), w[rows]

    def _gram_by_kernel(self):
        """Whether the per-task Gram matrices are computed in one compiled pass
        (:func:`mtlreg._kernels.dense.task_gram_dense`: a dense ``X``, tasks many and small)
        rather than by the base class's loop of BLAS products, one per task
        (:func:`mtlreg._tasks.grouped.loop_over_tasks`)."""
        k = self.n_features + int(self.fit_intercept)
        return not sp.issparse(self.X) and not _grouped.loop_over_tasks(
            len(self._order), self.n_tasks, k)

    def weighted_gram(self, w):
        if not self._gram_by_kernel():
            return super().weighted_gram(w)
        k = self.n_features + int(self.fit_intercept)
        H = np.empty((self.n_tasks, k, k))
        _kernels.task_gram_dense(row_major(self.X), self._order, self._starts,
                                 np.ascontiguousarray(self.mu), c64(w), np.zeros(len(w)),
                                 self.fit_intercept, H, np.empty((self.n_tasks, k)),
                                 np.empty(k), np.empty((k, k)))
        return H

    def task_gram(self):
        if getattr(self, "_gram", None) is not None or not self._gram_by_kernel():
            return super().task_gram()
        k = self.n_features + int(self.fit_intercept)
        H = np.empty((self.n_tasks, k, k))
        r = np.empty((self.n_tasks, k))
        X = self.X if is_float32(self.X) else np.asarray(self.X, dtype=np.float64)
        _kernels.task_gram_dense(row_major(X), self._order, self._starts,
                                 np.ascontiguousarray(self.mu), self.c, self.y,
                                 self.fit_intercept, H, r, np.empty(k), np.empty((k, k)))
        self._gram = (H, r)
        return H, r

    def sq_norm_bound(self):
        """max_t ||diag(sqrt(c_t)) [X_t - 1 mu_t^T, 1]||_2^2, computed task by task."""
        best = 0.0
        for t in range(self.n_tasks):
            rows = self._rows_of(t)
            s = self.c[rows]
            best = max(best, _sq_spectral_norm(self.X[rows], s, self.mu[t], self.fit_intercept))
        return best


def task_codes(tasks, task_ids, unseen="error", hint=""):
    """Positions in the sorted ``tasks`` of the labels ``task_ids``. An unknown label
    raises a ``ValueError`` naming it and the cure (``TaskStratifiedKFold`` in
    cross-validation; ``hint`` appended), or with ``unseen="shared"`` gets the
    position ``len(tasks)`` (the row of a shared model the caller appends)."""
    try:
        pos = np.clip(np.searchsorted(tasks, task_ids), 0, len(tasks) - 1)
        known = tasks[pos] == task_ids
    except TypeError:  # e.g. numbers against string task labels
        known = np.zeros(len(task_ids), dtype=bool)
        pos = np.zeros(len(task_ids), dtype=np.intp)
    if not np.all(known):
        if unseen == "shared":
            return np.where(known, pos, len(tasks)).astype(np.intp)
        unseen_labels = np.unique(np.asarray(task_ids)[~known].astype(str))
        raise ValueError(
            f"Unknown task(s) {format_tasks(unseen_labels)} in the task column: the model "
            f"was fitted on {len(tasks)} tasks ({tasks[:10].tolist()}"
            f"{' ...' if len(tasks) > 10 else ''}) and has no coefficients for others. "
            "In cross-validation (GridSearchCV, cross_val_score) this means a test "
            "fold holds tasks its training fold lacks, e.g. with cv=5 or KFold on rows "
            "sorted by task: use cv=TaskStratifiedKFold(n_splits, task_column=...) "
            "from mtlreg.model_selection, which keeps every task in every training "
            "fold." + hint
        )
    return pos.astype(np.intp)


def rowwise_predict(X, codes, coef, intercept):
    """``z_i = x_i . coef[codes[i]] + intercept[codes[i]]`` for dense or sparse ``X``."""
    coef, intercept = c64(coef), c64(intercept)
    out = np.empty(X.shape[0])
    if sp.issparse(X):
        X = sp.csr_matrix(X)
        return _kernels.rowwise_matvec_csr(X.data, X.indices, X.indptr, codes, coef,
                                           intercept, out)
    X = np.asarray(X)
    if X.shape[0] < _grouped.PREDICT_KERNEL_MIN_ROWS:
        # a few rows: NumPy, as fast here; and a single row is C-contiguous whatever its
        # strides, so the kernel would be compiled once more for it (0.2-0.3 s of CPU)
        return _grouped.predict_rows(X, codes, coef, intercept)
    return _kernels.rowwise_matvec_dense(row_major(X), codes, coef, intercept, out)


def _sq_spectral_norm(X, s, mu, with_ones):
    """Squared largest singular value of ``diag(sqrt(s)) [X - 1 mu^T, (1)]``.

    Exact (Gram matrix eigenvalue) when one side is small, Lanczos otherwise, with
    a relative safety margin so that the result is an upper bound in floating point.
    """
    n, d = X.shape
    sqrt_s = np.sqrt(s)
    if min(n, d + 1) <= 600 and is_float32(X):
        gram = _centred_gram_float32(X, sqrt_s, mu, with_ones)
        top = np.linalg.eigvalsh(gram)[-1] if gram.size else 0.0
        return float(max(top, 0.0)) * (1 + 1e-10)
    if min(n, d + 1) <= 600:
        Xd = X.toarray() if sp.issparse(X) else np.asarray(X)
        M = sqrt_s[:, None] * (Xd - mu[None, :])
        if with_ones:
            M = np.hstack([M, sqrt_s[:, None]])
        gram = M.T @ M if M.shape[1] <= M.shape[0] else M @ M.T
        top = np.linalg.eigvalsh(gram)[-1] if gram.size else 0.0
        return float(max(top, 0.0)) * (1 + 1e-10)
    k = d + int(with_ones)

    def mv(v):
        v = np.ravel(v)
        z = matmul64(X, v[:d]).ravel() - mu @ v[:d]
        if with_ones:
            z = z + v[d]
        return sqrt_s * z

    def rmv(u):
        u = sqrt_s * np.ravel(u)
        g = rmatmul64(X, u).ravel() - mu * u.sum()
        return np.concatenate([g, [u.sum()]]) if with_ones else g

    normal = LinearOperator((k, k), matvec=lambda v: rmv(mv(v)), dtype=float)
    top = eigsh(normal, k=1, which="LA", tol=1e-8, return_eigenvectors=False)[0]
    return float(max(top, 0.0)) * (1 + 1e-6)


def _centred_gram_float32(X, sqrt_s, mu, with_ones):
    """The smaller Gram matrix of ``M = diag(sqrt_s) [X - 1 mu^T, (1)]`` for a float32
    ``X``, accumulated in float64 over slices of ``X`` (no float64 copy of ``X``)."""
    n, d = X.shape
    if d + int(with_ones) <= n:  # (k, k), by slices of rows
        k = d + int(with_ones)
        gram = np.zeros((k, k))
        step = slice_length(n, k)
        for i in range(0, n, step):
            M = sqrt_s[i:i + step, None] * (X[i:i + step].astype(np.float64) - mu)
            if with_ones:
                M = np.hstack([M, sqrt_s[i:i + step, None]])
            gram += M.T @ M
        return gram
    gram = np.outer(sqrt_s, sqrt_s) if with_ones else np.zeros((n, n))  # (n, n)
    step = slice_length(d, n)
    for j in range(0, d, step):
        M = sqrt_s[:, None] * (X[:, j:j + step].astype(np.float64) - mu[j:j + step])
        gram += M @ M.T
    return gram
