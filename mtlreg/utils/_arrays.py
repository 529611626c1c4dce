"""Array helpers for the design ``X``: rows in memory, float32 kept float32.

``row_major``: the compiled kernels read ``X`` row by row; any ``X`` whose rows are
contiguous is used as it is (C order, or the rows of a wider array: the features
beside a task column), others are copied to C order once.

float32 designs: a dense float32 ``X`` is kept float32 (half the memory) and every
product with it is accumulated in float64, on slices of ``X`` converted one at a
time (at most ``SLICE_BYTES`` of float64 each), never on a float64 copy of the whole
of ``X`` (NumPy's ``X @ W`` with a float32 ``X`` and a float64 ``W`` converts all of
``X``). The float32 numbers are then the data, exactly: the solvers solve the
problem they define to float64 precision, with the same stopping rule as for
float64 input.
"""

import numpy as np

SLICE_BYTES = 1 << 22
# a strided X is read through its parent array when that has at most this many more
# columns (see contiguous_parent)
PARENT_SPARE_COLUMNS = 1
# rows per block of column_magnitude's reductions
MAGNITUDE_BLOCK = 16


def slice_length(length, width):
    """Rows (or columns) of ``X`` per float64 slice: at most ``SLICE_BYTES`` and at
    most an eighth of ``X`` (the slice then adds at most a quarter of the float32
    ``X``'s memory)."""
    return max(1, min(SLICE_BYTES // (8 * max(width, 1)), -(-length // 8)))


def c64(a):
    """``a`` as a C-ordered float64 array (copied only where it is not one): what the
    compiled kernels take for their small arguments (coefficients, weights)."""
    return np.ascontiguousarray(a, dtype=np.float64)


def is_float32(X):
    """A dense float32 ``X`` (sparse inputs are converted to float64 up front)."""
    return isinstance(X, np.ndarray) and X.dtype == np.float32


def matmul64(X, W):
    """``X @ W`` in float64 (``W`` 1-D or 2-D); row slices of a float32 ``X`` are
    converted to float64 one at a time (NumPy would convert the whole of ``X``)."""
    if not is_float32(X):
        return np.asarray(X @ W)
    W = np.asarray(W, dtype=np.float64)
    n, d = X.shape
    out = np.empty((n,) + W.shape[1:])
    step = slice_length(n, d)
    for i in range(0, n, step):
        out[i:i + step] = X[i:i + step].astype(np.float64) @ W
    return out


def rmatmul64(X, R):
    """``X.T @ R`` in float64 (``R`` 1-D or 2-D), by column slices of a float32 ``X``."""
    if not is_float32(X):
        return np.asarray(X.T @ R)
    R = np.asarray(R, dtype=np.float64)
    n, d = X.shape
    out = np.empty((d,) + R.shape[1:])
    step = slice_length(d, n)
    for j in range(0, d, step):
        out[j:j + step] = X[:, j:j + step].T.astype(np.float64) @ R
    return out

def row_major(X):
    """``X`` itself when its rows are contiguous (C order, or rows of a wider C-ordered
    array: the features beside a task column), else a C-ordered copy."""
    if X.ndim == 2 and X.strides[1] == X.itemsize and X.strides[0] >= X.shape[1] * X.itemsize:
        return X
    return np.ascontiguousarray(X)


def contiguous_parent(X, spare=PARENT_SPARE_COLUMNS):
    """``(P, j)`` when ``X`` is ``P[:, j:j + d]`` for a C-contiguous float64 array ``P``
    with the same rows and at most ``spare`` more columns (the features of a user's
    array beside its task column: :func:`mtlreg.utils.validation._feature_columns`),
    else ``None``. A product by ``P`` reads the rows where they lie, where SciPy would
    first copy the strided ``X`` (School, the task sums: 0.54 -> 0.20 ms). The other
    columns of ``P`` go into columns of the product that are dropped; a non-finite
    value there stays in its own column."""
    P = X.base
    if (not isinstance(P, np.ndarray) or P.dtype != np.float64 or X.dtype != np.float64
            or P.ndim != 2 or not P.flags.c_contiguous or P.shape[0] != X.shape[0]
            or X.strides != P.strides or P.shape[1] > X.shape[1] + spare):
        return None
    offset = X.__array_interface__["data"][0] - P.__array_interface__["data"][0]
    first, rest = divmod(offset, P.itemsize)
    if rest or not 0 <= first <= P.shape[1] - X.shape[1]:
        return None
    return P, first


def column_magnitude(X):
    """``(max_i |x_ij|`` per column of a dense ``X``, whether those are all finite``)``;
    NaN and inf propagate to their column's entry.

    NumPy reduces ``axis=0`` of a C-ordered ``(n, d)`` array one row at a time, an
    inner loop of ``d`` entries (School's 28: 0.6 ms a pass). Here blocks of
    ``MAGNITUDE_BLOCK`` rows are reduced as single rows of ``MAGNITUDE_BLOCK * d``
    entries (vectorised), then folded: the same maxima, exactly (School: 1.2 -> 0.2 ms
    for the max and the min). The features beside a task column are read through
    their parent array (:func:`contiguous_parent`), its other column dropped after."""
    parent = contiguous_parent(X)
    P, first = parent if parent is not None else (X, 0)
    n, k = P.shape
    d = X.shape[1]
    b = MAGNITUDE_BLOCK
    m = (n // b) * b
    if not P.flags.c_contiguous or m == 0:
        hi = X.max(axis=0, initial=0.0)
        lo = X.min(axis=0, initial=0.0)
    else:
        blocks = P[:m].reshape(n // b, b * k)
        hi = np.maximum(blocks.max(axis=0).reshape(b, k).max(axis=0, initial=0.0),
                        P[m:].max(axis=0, initial=0.0))[first:first + d]
        lo = np.minimum(blocks.min(axis=0).reshape(b, k).min(axis=0, initial=0.0),
                        P[m:].min(axis=0, initial=0.0))[first:first + d]
    col_max = np.maximum(np.abs(hi), np.abs(lo)).astype(np.float64)
    return col_max, bool(np.all(np.isfinite(col_max)))
