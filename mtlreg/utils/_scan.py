"""One compiled pass over a dense ``X`` at fit time: finiteness and column magnitudes.

Replaces three passes (scikit-learn's finiteness check, then the column maxima and
minima of :func:`mtlreg.utils.validation.check_magnitudes`) by one read of ``X`` in
its memory order. Compiled lazily, per dtype and layout actually met (float64 or
float32; C-ordered, Fortran-ordered, or the strided view of the features beside a
task column).
"""

import numpy as np
from numba import njit


@njit(cache=True, error_model="numpy")
def finite_column_max(X):
    """``(max_i |x_ij| per column, whether every entry is finite)``."""
    n, d = X.shape
    out = np.zeros(d)
    finite = True
    if X.strides[0] >= X.strides[1]:  # rows contiguous: row by row
        for i in range(n):
            for j in range(d):
                v = abs(np.float64(X[i, j]))
                if v > out[j]:
                    out[j] = v
                if not v < np.inf:  # inf or NaN
                    finite = False
    else:
        for j in range(d):
            acc = 0.0
            for i in range(n):
                v = abs(np.float64(X[i, j]))
                if v > acc:
                    acc = v
                if not v < np.inf:
                    finite = False
            out[j] = acc
    return out, finite
