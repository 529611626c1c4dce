"""Compiled hot loops (numba, ``cache=True``), each with a plain-NumPy twin in the tests.

Conventions: ``WT`` is the coefficient matrix stored task-major, shape
``(n_tasks, n_features)`` (that is ``W.T``, contiguous), so that the row of one
task is contiguous in memory. ``codes`` gives, for each sample, the index of its
task in ``0 .. n_tasks - 1``.

Every kernel of the package is compiled with ``error_model="numpy"``: a division by
zero gives inf or NaN as in NumPy instead of raising ``ZeroDivisionError``. Besides
keeping exceptions out of the kernels, this drops the raising code that numba
otherwise compiles into every function with a division: 10-40 % of each kernel's
compile time on the first fit after installing (School group lasso, first fit: 4.77 ->
4.22 s of CPU with all kernels switched; ``benchmarks/studies/profile_compile.py``).
"""

from numba import njit


# --------------------------------------------------------------------------- #
# Per-task linear predictor z_i = x_i . w_{t(i)} + offset_{t(i)} and its adjoint
# --------------------------------------------------------------------------- #
@njit(cache=True, error_model="numpy")
def rowwise_matvec_dense(X, codes, WT, offset, out):
    n_samples, n_features = X.shape
    for i in range(n_samples):
        t = codes[i]
        acc = offset[t]
        for j in range(n_features):
            acc += X[i, j] * WT[t, j]
        out[i] = acc
    return out


# Copies by loops: an array assigned to a slice (``a[:] = b``) makes numba compile its
# shape-mismatch message (f-strings and the unicode machinery), 10-15 s of CPU time on
# the first fit after installing; these loops compile in milliseconds.
@njit(cache=True, error_model="numpy")
def copy_1d(dst, src):
    for i in range(dst.shape[0]):
        dst[i] = src[i]


@njit(cache=True, inline="always", error_model="numpy")
def copy_2d(dst, src):
    for i in range(dst.shape[0]):
        for j in range(dst.shape[1]):
            dst[i, j] = src[i, j]



@njit(cache=True, fastmath=True, error_model="numpy")
def task_gram_dense(X, order, starts, mu, c, y, with_ones, H, r, a, G):
    """Per-task ``H[t] = sum_{i in t} c_i a_i a_i^T`` and ``r[t] = sum_{i in t} c_i y_i a_i``
    with ``a_i = [x_i - mu_t, (1)]``; task t's rows are ``order[starts[t]:starts[t + 1]]``.

    Rank-one updates of a ``k x k`` accumulator (full rows: they vectorise; the upper
    triangle is then mirrored, so ``H[t]`` is exactly symmetric). Loops, not ``np.dot``
    on the gathered rows: numba's BLAS wrappers took about 1 s of CPU to compile on the
    first fit after installing, to save under 1 ms a fit on School (139 tasks,
    28 features: 2.4 ms of CPU by these loops, 1.7 ms by BLAS, on a loaded machine).
    ``a (k,)`` and ``G (k, k)``: scratch arrays from the caller (see
    :func:`mtlreg.solvers._admm_kernels.admm_buffers`)."""
    d = X.shape[1]
    T, k = H.shape[0], H.shape[1]
    for t in range(T):
        racc = r[t]
        for u in range(k):
            racc[u] = 0.0
            for v in range(k):
                G[u, v] = 0.0
        for q in range(starts[t], starts[t + 1]):
            i = order[q]
            for j in range(d):
                a[j] = X[i, j] - mu[t, j]
            if with_ones:
                a[d] = 1.0
            ci = c[i]
            cy = ci * y[i]
            for u in range(k):
                cau = ci * a[u]
                racc[u] += cy * a[u]
                for v in range(k):
                    G[u, v] += cau * a[v]
        for u in range(k):
            for v in range(u, k):
                H[t, u, v] = G[u, v]
                H[t, v, u] = G[u, v]


@njit(cache=True, error_model="numpy")
def rowwise_rmatvec_dense(X, codes, r, GT, gb):
    """GT[t] = sum_{i in t} r_i x_i and gb[t] = sum_{i in t} r_i (GT, gb zeroed here)."""
    n_samples, n_features = X.shape
    GT[:] = 0.0
    gb[:] = 0.0
    for i in range(n_samples):
        ri = r[i]
        if ri == 0.0:
            continue
        t = codes[i]
        gb[t] += ri
        for j in range(n_features):
            GT[t, j] += ri * X[i, j]
    return GT, gb


@njit(cache=True, error_model="numpy")
def rowwise_matvec_csr(data, indices, indptr, codes, WT, offset, out):
    n_samples = indptr.shape[0] - 1
    for i in range(n_samples):
        t = codes[i]
        acc = offset[t]
        for k in range(indptr[i], indptr[i + 1]):
            acc += data[k] * WT[t, indices[k]]
        out[i] = acc
    return out


@njit(cache=True, error_model="numpy")
def rowwise_rmatvec_csr(data, indices, indptr, codes, r, GT, gb):
    n_samples = indptr.shape[0] - 1
    GT[:] = 0.0
    gb[:] = 0.0
    for i in range(n_samples):
        ri = r[i]
        if ri == 0.0:
            continue
        t = codes[i]
        gb[t] += ri
        for k in range(indptr[i], indptr[i + 1]):
            GT[t, indices[k]] += ri * data[k]
    return GT, gb
