"""Per-task products of the per-task layout done once a fit, in NumPy / BLAS.

The compiled kernels of :mod:`mtlreg._kernels.dense` read ``X`` row by row, in one pass,
and win where a product is repeated (every FISTA iteration) or where tasks are many
and small. Products done once a fit (the task means, the final objective) are done
here in NumPy / SciPy: 0.2-0.5 ms slower at School's size, and the first fit after
installing does not compile the row kernels for them (0.2-0.4 s of CPU each;
``benchmarks/studies/profile_compile.py``). Predictions on many rows stay compiled:
cross-validation scores call them as often as it fits; on fewer than
``PREDICT_KERNEL_MIN_ROWS`` rows they are made here (a single row is C-contiguous
whatever its strides: the kernel would be compiled again for it). The per-task Gram
matrices take the layouts' loop of BLAS products where the tasks are large enough for
it to be the faster, the compiled kernel otherwise (:func:`loop_over_tasks`).

``order`` and ``starts`` group the rows by task: task t's rows are
``order[starts[t]:starts[t + 1]]``.
"""

import numpy as np
import scipy.sparse as sp

from ..utils._arrays import SLICE_BYTES, contiguous_parent, is_float32

# Per-task Gram matrices: the compiled single-pass kernel does about 0.2-0.3 ns per
# multiply-add; the loop of BLAS products about 0.05 ns plus some 50 us a task around
# them (School, 139 tasks x 110 rows x 29^2: kernel 3.8 ms, loop 7.9 ms, one run). The
# loop is used where a task's Gram matrix costs at least this many multiply-adds,
# where it is the faster (100 000 rows x 100 features in 200 tasks: 94 against 228 ms).
LOOP_MIN_TASK_WORK = 2.5e5
# rows per chunk of the one-off predictions (a gathered coefficient block of this size)
PREDICT_CHUNK = 4096
# predictions on fewer rows than this are made here, not by the compiled row kernel
PREDICT_KERNEL_MIN_ROWS = 256


def task_sums(X, order, starts, weights):
    """``S[t] = sum_{i in t} weights_i x_i`` (dense ``X``), by a sparse indicator
    product (its rows are ``order[starts[t]:starts[t + 1]]``): one pass over ``X`` in
    compiled SciPy code. A float32 ``X``, or one whose rows are strided (the features
    beside a task column), is read by row slices of at most ``SLICE_BYTES`` in float64
    (SciPy would convert or copy all of it at once)."""
    n_tasks = len(starts) - 1
    n, d = X.shape
    indicator = sp.csr_matrix((weights[order], order, starts), shape=(n_tasks, n))
    if not is_float32(X) and (X.flags.c_contiguous or X.flags.f_contiguous):
        return np.asarray(indicator @ X, dtype=np.float64)
    parent = contiguous_parent(X)
    if parent is not None:  # the features beside a task column: read the whole rows
        whole, first = parent
        return np.asarray(indicator @ whole, dtype=np.float64)[:, first:first + d]
    step = max(1, SLICE_BYTES // (8 * max(d, 1)))
    if step >= n:
        return indicator @ np.ascontiguousarray(X, dtype=np.float64)
    out = np.zeros((n_tasks, d))
    indicator = indicator.tocsc()  # column slices: the rows of X in each slice
    for lo in range(0, n, step):
        hi = min(lo + step, n)
        out += indicator[:, lo:hi] @ np.ascontiguousarray(X[lo:hi], dtype=np.float64)
    return out


def loop_over_tasks(n_rows, n_tasks, k):
    """Whether the per-task Gram matrices (``k x k`` over ``n_rows`` rows in all) are
    cheaper as a loop of BLAS products (the layouts' generic ``task_gram``) than by the
    compiled single-pass :func:`mtlreg._kernels.dense.task_gram_dense` (``LOOP_MIN_TASK_WORK``)."""
    return n_rows * k * k >= LOOP_MIN_TASK_WORK * n_tasks


def predict_rows(X, codes, coef, intercept):
    """``z_i = x_i . coef[codes[i]] + intercept[codes[i]]`` for a dense ``X``, by chunks
    of rows (a gathered coefficient block of ``PREDICT_CHUNK`` rows at a time)."""
    n = X.shape[0]
    out = np.empty(n)
    for lo in range(0, n, PREDICT_CHUNK):
        hi = min(lo + PREDICT_CHUNK, n)
        cds = codes[lo:hi]
        out[lo:hi] = np.einsum("ij,ij->i", np.asarray(X[lo:hi], dtype=np.float64),
                               coef[cds])
        out[lo:hi] += intercept[cds]
    return out
