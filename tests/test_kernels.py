"""Each compiled kernel of mtlreg._kernels.dense and mtlreg._kernels.prox against a plain NumPy twin
written here."""

import numpy as np
import pytest
import scipy.sparse as sp
from numpy.testing import assert_allclose, assert_array_equal

from mtlreg._kernels import dense as K
from mtlreg._kernels import prox as P
from mtlreg.penalties import _row as R
from mtlreg.utils._arrays import contiguous_parent

SEEDS = [0, 1, 2]


def _rng(seed):
    return np.random.default_rng(seed)


def _W(rng, d=7, T=4, zero_rows=(1, 4)):
    W = rng.standard_normal((d, T))
    W[list(zero_rows)] = 0.0
    W[2, 1] = 0.0  # an isolated zero entry in a non-zero row
    return W


# ------------------------------------------------------------------ twins
def np_rowwise_matvec(X, codes, WT, offset):
    return np.einsum("ij,ij->i", X, WT[codes]) + offset[codes]


def np_rowwise_rmatvec(X, codes, r, n_tasks):
    GT = np.zeros((n_tasks, X.shape[1]))
    gb = np.zeros(n_tasks)
    for t in range(n_tasks):
        rows = codes == t
        GT[t] = r[rows] @ X[rows]
        gb[t] = r[rows].sum()
    return GT, gb


def np_group_soft_threshold_rows(W, thr, positive):
    V = np.maximum(W, 0.0) if positive else W
    norms = np.linalg.norm(V, axis=1, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        scale = np.where(norms > thr, 1.0 - thr / norms, 0.0)
    return scale * V


def np_soft_threshold(W, thr, positive):
    out = np.sign(W) * np.maximum(np.abs(W) - thr, 0.0)
    return np.maximum(out, 0.0) if positive else out


def _proj_box_interval(v, lo, hi):
    return np.minimum(np.maximum(v, lo), hi)


def np_l21_subdiff_distance(W, G, alpha, positive):
    """max_j dist(-G_j, S_j) with S_j = alpha d||.||_2(W_j) (+ normal cone of R_+^T).

    Non-zero row: S_j = {alpha u + n}, u = W_j/||W_j||, n_t <= 0 where w_jt = 0 (positive),
    n = 0 otherwise; distance by projecting -G_j - alpha u on that cone.
    Zero row: S_j = B(alpha) (+ R_-^T): distance ||(-G_j)^+|| - alpha (positive) or
    ||G_j|| - alpha, floored at 0.
    """
    worst = 0.0
    for w, g in zip(W, G):
        norm = np.linalg.norm(w)
        if norm > 0:
            diff = -g - alpha * w / norm
            if positive:
                # free coordinates (w = 0) may absorb any negative part of diff
                diff = np.where(w == 0, np.maximum(diff, 0.0), diff)
            dist = np.linalg.norm(diff)
        else:
            target = np.maximum(-g, 0.0) if positive else -g
            dist = max(0.0, np.linalg.norm(target) - alpha)
        worst = max(worst, dist)
    return worst


def np_l1_subdiff_distance(W, G, alpha, positive):
    a = -G
    lo = np.where(W > 0, alpha, np.where(W < 0, -alpha, -np.inf if positive else -alpha))
    hi = np.where(W > 0, alpha, np.where(W < 0, -alpha, alpha))
    return float(np.max(np.abs(a - _proj_box_interval(a, lo, hi)), initial=0.0))


def np_sparse_group_subdiff_distance(W, G, a1, a21, positive):
    """Rows: dist(-G_j, a1 d||.||_1 + a21 d||.||_2 (+ cone)).

    Non-zero row: the l2 part is the single point a21 u; the l1 part is a box per entry
    (with positive, [-inf, a1] where w = 0). Zero row: min over the box B of
    ||(-g - b)|| - a21 ... = ||S(-g)|| - a21 with S the distance to the box.
    """
    worst = 0.0
    for w, g in zip(W, G):
        norm = np.linalg.norm(w)
        lo = np.where(w > 0, a1, np.where(w < 0, -a1, -np.inf if positive else -a1))
        hi = np.where(w > 0, a1, np.where(w < 0, -a1, a1))
        if norm > 0:
            a = -g - a21 * w / norm
            dist = np.linalg.norm(a - _proj_box_interval(a, lo, hi))
        else:
            a = -g
            dist = max(0.0, np.linalg.norm(a - _proj_box_interval(a, lo, hi)) - a21)
        worst = max(worst, dist)
    return worst


def np_project_l1_ball(v, radius):
    if np.abs(v).sum() <= radius:
        return v.copy()
    if radius <= 0:
        return np.zeros_like(v)
    # bisection on the threshold theta: sum max(|v| - theta, 0) = radius
    lo, hi = 0.0, np.abs(v).max()
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        if np.maximum(np.abs(v) - mid, 0).sum() > radius:
            lo = mid
        else:
            hi = mid
    theta = 0.5 * (lo + hi)
    return np.sign(v) * np.maximum(np.abs(v) - theta, 0.0)


def np_project_simplex(v):
    # bisection on tau: sum max(v - tau, 0) = 1
    lo, hi = v.min() - 1.0, v.max()
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        if np.maximum(v - mid, 0).sum() > 1.0:
            lo = mid
        else:
            hi = mid
    return np.maximum(v - 0.5 * (lo + hi), 0.0)


def np_linf_prox_rows(W, thr, positive):
    out = np.empty_like(W)
    for j, w in enumerate(W):
        v = np.maximum(w, 0.0) if positive else w
        out[j] = v - np_project_l1_ball(v, thr)
    return out


def np_l1inf_subdiff_distance(W, G, alpha, positive):
    """max_j dist(-G_j, alpha d||.||_inf(W_j) (+ normal cone of R_+^T)).

    Computed as a tiny constrained least-squares problem solved by brute force over
    the (convex) set with scipy: min ||-g - alpha s - n|| over s in the subdifferential of
    ||.||_inf at w and n in the cone.
    """
    from scipy.optimize import minimize

    worst = 0.0
    for w, g in zip(W, G):
        T = len(w)
        a = -g
        m = np.abs(w).max()
        if m == 0:
            # s in the l1 ball of radius 1: parametrise s = p - q, p, q >= 0, sum <= 1
            # n in R_-^T when positive
            n_var = 2 * T + (T if positive else 0)

            def resid(x):
                s = x[:T] - x[T:2 * T]
                n = -x[2 * T:] if positive else 0.0
                return a - alpha * s - n

            cons = [{"type": "ineq", "fun": lambda x: 1.0 - x[:2 * T].sum()}]
        else:
            active = np.flatnonzero(np.abs(w) >= m * (1 - 1e-12))
            sign = np.sign(w[active])
            free = (w == 0) if positive else np.zeros(T, dtype=bool)
            n_var = len(active) + int(free.sum())

            def resid(x, active=active, sign=sign, free=free):
                s = np.zeros(T)
                s[active] = sign * x[: len(active)]
                n = np.zeros(T)
                n[free] = -x[len(active):]
                return a - alpha * s - n

            cons = [{"type": "eq", "fun": lambda x, k=len(active): x[:k].sum() - 1.0}]
        res = minimize(lambda x: 0.5 * np.sum(resid(x) ** 2), np.full(n_var, 1.0 / n_var),
                       jac=None, bounds=[(0, None)] * n_var, constraints=cons,
                       method="SLSQP", options={"ftol": 1e-15, "maxiter": 500})
        worst = max(worst, float(np.linalg.norm(resid(res.x))))
    return worst


# ------------------------------------------------------------------ tests
@pytest.mark.parametrize("seed", SEEDS)
def test_rowwise_matvec_and_rmatvec(seed):
    rng = _rng(seed)
    n, d, T = 25, 6, 4
    X = rng.standard_normal((n, d))
    X[rng.uniform(size=X.shape) < 0.5] = 0.0
    codes = rng.integers(0, T, n).astype(np.intp)
    WT = rng.standard_normal((T, d))
    offset = rng.standard_normal(T)
    r = rng.standard_normal(n)
    r[::5] = 0.0  # exact zeros are skipped by the kernels
    expected = np_rowwise_matvec(X, codes, WT, offset)
    GT_ref, gb_ref = np_rowwise_rmatvec(X, codes, r, T)

    out = np.full(n, np.nan)
    assert_allclose(K.rowwise_matvec_dense(X, codes, WT, offset, out), expected, atol=1e-13)
    assert_allclose(out, expected, atol=1e-13)  # written in place
    GT, gb = np.full((T, d), np.nan), np.full(T, np.nan)  # the kernel zeroes them
    K.rowwise_rmatvec_dense(X, codes, r, GT, gb)
    assert_allclose(GT, GT_ref, atol=1e-13)
    assert_allclose(gb, gb_ref, atol=1e-13)

    Xs = sp.csr_matrix(X)
    out = np.full(n, np.nan)
    K.rowwise_matvec_csr(Xs.data, Xs.indices, Xs.indptr, codes, WT, offset, out)
    assert_allclose(out, expected, atol=1e-13)
    GT, gb = np.full((T, d), np.nan), np.full(T, np.nan)
    K.rowwise_rmatvec_csr(Xs.data, Xs.indices, Xs.indptr, codes, r, GT, gb)
    assert_allclose(GT, GT_ref, atol=1e-13)
    assert_allclose(gb, gb_ref, atol=1e-13)


@pytest.mark.parametrize("slices", [False, True])
@pytest.mark.parametrize("form", ["C", "strided", "strided_last", "strided_wide", "float32"])
@pytest.mark.parametrize("seed", SEEDS)
def test_one_off_task_sums_and_predictions(seed, form, slices, monkeypatch):
    """The NumPy twins of the row kernels used once a fit (task means, the final
    objective's predictions): C-ordered, row-strided (beside a task column, first or
    last: read through the whole rows; inside a wider array: by row slices) and
    float32 designs, in one piece and by row slices / chunks."""
    from mtlreg._tasks import grouped as _grouped

    rng = _rng(seed)
    n, d, T = 25, 6, 4
    if slices:
        monkeypatch.setattr(_grouped, "PREDICT_CHUNK", 7)  # 25 rows: 4 chunks
        monkeypatch.setattr(_grouped, "SLICE_BYTES", 8 * 6 * d)  # 6 rows: 5 slices
    full = rng.standard_normal((n, d + 4))
    full[:, 0] = full[:, d + 1] = np.nan  # columns beside the features never leak in
    X = {"C": np.ascontiguousarray(full[:, 1:d + 1]),
         "strided": np.ascontiguousarray(full[:, :d + 1])[:, 1:],
         "strided_last": np.ascontiguousarray(full[:, 1:d + 2])[:, :-1],
         "strided_wide": full[:, 1:d + 1],
         "float32": full[:, 1:d + 1].astype(np.float32)}[form]
    parent = contiguous_parent(X)
    assert (parent is not None) == (form in ("strided", "strided_last"))
    codes = rng.integers(0, T, n).astype(np.intp)
    WT, offset, w = rng.standard_normal((T, d)), rng.standard_normal(T), rng.uniform(size=n)
    X64 = X.astype(np.float64)
    assert_allclose(_grouped.predict_rows(X, codes, WT, offset),
                    np_rowwise_matvec(X64, codes, WT, offset), rtol=1e-13, atol=1e-13)
    order = np.argsort(codes, kind="stable")
    starts = np.searchsorted(codes[order], np.arange(T + 1))
    sums = _grouped.task_sums(X, order, starts, w)
    assert sums.dtype == np.float64
    assert_allclose(sums, np_rowwise_rmatvec(X64, codes, w, T)[0], rtol=1e-13, atol=1e-13)


@pytest.mark.parametrize("n", [5, 16, 37])
@pytest.mark.parametrize("form", ["C", "strided", "strided_last", "strided_wide", "float32"])
def test_column_magnitude_is_the_largest_magnitude_per_column(form, n):
    """The blocked reduction gives NumPy's column maxima of |x| exactly, whatever the
    rows' layout and a remainder of rows below a block; a non-finite value beside the
    features (the task column's place) never leaks in, one among them is reported."""
    from mtlreg.utils._arrays import column_magnitude

    rng = _rng(n)
    d = 6
    full = rng.standard_normal((n, d + 4)) * 10.0 ** rng.integers(-3, 4, d + 4)
    full[:, 0] = full[:, d + 1] = np.nan

    def view(a):
        return {"C": np.ascontiguousarray(a[:, 1:d + 1]),
                "strided": np.ascontiguousarray(a[:, :d + 1])[:, 1:],
                "strided_last": np.ascontiguousarray(a[:, 1:d + 2])[:, :-1],
                "strided_wide": a[:, 1:d + 1],
                "float32": a[:, 1:d + 1].astype(np.float32)}[form]

    X = view(full)
    col_max, finite = column_magnitude(X)
    assert finite and col_max.dtype == np.float64
    assert_array_equal(col_max, np.abs(X.astype(np.float64)).max(axis=0))
    for bad in (np.nan, np.inf, -np.inf):
        spoilt = full.copy()
        spoilt[n - 1, 3] = bad  # the last row: in the remainder or the last block
        col_max, finite = column_magnitude(view(spoilt))
        assert not finite and not np.isfinite(col_max[2])
        assert np.isfinite(np.delete(col_max, 2)).all()


def test_rowwise_csr_empty_rows_and_task_without_rows():
    X = np.array([[0.0, 0.0, 0.0], [1.0, 0.0, 2.0], [0.0, 0.0, 0.0]])
    Xs = sp.csr_matrix(X)
    codes = np.array([0, 2, 2], dtype=np.intp)  # task 1 has no row
    WT = np.arange(9.0).reshape(3, 3)
    offset = np.array([1.0, 2.0, 3.0])
    out = np.empty(3)
    K.rowwise_matvec_csr(Xs.data, Xs.indices, Xs.indptr, codes, WT, offset, out)
    assert_allclose(out, np_rowwise_matvec(X, codes, WT, offset))
    r = np.array([1.0, 2.0, -1.0])
    GT, gb = np.empty((3, 3)), np.empty(3)
    K.rowwise_rmatvec_csr(Xs.data, Xs.indices, Xs.indptr, codes, r, GT, gb)
    GT_ref, gb_ref = np_rowwise_rmatvec(X, codes, r, 3)
    assert_allclose(GT, GT_ref)
    assert_allclose(gb, gb_ref)
    assert_array_equal(GT[1], 0.0)


@pytest.mark.parametrize("positive", [False, True])
@pytest.mark.parametrize("seed", SEEDS)
def test_group_soft_threshold_rows(seed, positive):
    rng = _rng(seed)
    W = _W(rng)
    for thr in (0.0, 0.3, 1.0, 5.0):
        got = P.group_soft_threshold_rows(W, thr, positive)
        assert_allclose(got, np_group_soft_threshold_rows(W, thr, positive), atol=1e-14)
    # it is the prox: optimality of u = prox(v) for thr * ||.||_2 on a non-zero output row
    u = P.group_soft_threshold_rows(W, 0.3, False)
    j = np.flatnonzero(np.linalg.norm(u, axis=1) > 0)[0]
    assert_allclose(W[j] - u[j], 0.3 * u[j] / np.linalg.norm(u[j]), atol=1e-13)


@pytest.mark.parametrize("positive", [False, True])
@pytest.mark.parametrize("seed", SEEDS)
def test_soft_threshold(seed, positive):
    rng = _rng(seed)
    W = _W(rng)
    for thr in (0.0, 0.2, 0.8, 10.0):
        assert_allclose(P.soft_threshold(W, thr, positive), np_soft_threshold(W, thr, positive),
                        atol=1e-15)


def _gradients(rng, W, alpha):
    """Gradients that make some rows optimal, some not, in all the cases."""
    G = rng.standard_normal(W.shape) * alpha
    norms = np.linalg.norm(W, axis=1)
    k = np.flatnonzero(norms > 0)[0]
    G[k] = -alpha * W[k] / norms[k]  # exactly optimal non-zero row (l2,1)
    G[1] *= 0.1  # a zero row well inside the ball
    return G


@pytest.mark.parametrize("positive", [False, True])
@pytest.mark.parametrize("seed", SEEDS)
def test_l21_subdiff_distance(seed, positive):
    rng = _rng(seed)
    W = _W(rng)
    if positive:
        W = np.abs(W)
    for alpha in (0.0, 0.5, 2.0):
        G = _gradients(rng, W, max(alpha, 0.1))
        expected = np_l21_subdiff_distance(W, G, alpha, positive)
        assert_allclose(P.l21_subdiff_distance(W, G, alpha, positive), expected, atol=1e-13)
        # row by row (a single row is the max over one row)
        for j in range(W.shape[0]):
            assert_allclose(P.l21_subdiff_distance(W[j:j + 1], G[j:j + 1], alpha, positive),
                            np_l21_subdiff_distance(W[j:j + 1], G[j:j + 1], alpha, positive),
                            atol=1e-13)
    # zero at the prox fixed point: W = prox(W - G) <=> 0 in G + d(alpha ||.||)
    V = rng.standard_normal((5, 3))
    U = P.group_soft_threshold_rows(V, 0.7, positive)
    assert P.l21_subdiff_distance(U, U - V, 0.7, positive) <= 1e-12


@pytest.mark.parametrize("positive", [False, True])
@pytest.mark.parametrize("seed", SEEDS)
def test_l1_subdiff_distance(seed, positive):
    rng = _rng(seed)
    W = _W(rng)
    if positive:
        W = np.abs(W)
    for alpha in (0.0, 0.4, 1.5):
        G = rng.standard_normal(W.shape)
        assert_allclose(R.l1_subdiff_distance(W, G, alpha, positive),
                        np_l1_subdiff_distance(W, G, alpha, positive), atol=1e-14)
    V = rng.standard_normal((5, 3))
    U = P.soft_threshold(V, 0.4, positive)
    assert R.l1_subdiff_distance(U, U - V, 0.4, positive) <= 1e-12


@pytest.mark.parametrize("positive", [False, True])
@pytest.mark.parametrize("seed", SEEDS)
def test_sparse_group_subdiff_distance(seed, positive):
    rng = _rng(seed)
    W = _W(rng)
    if positive:
        W = np.abs(W)
    for a1, a21 in [(0.0, 0.5), (0.5, 0.0), (0.3, 0.7), (1.0, 2.0)]:
        G = rng.standard_normal(W.shape)
        assert_allclose(R.sparse_group_subdiff_distance(W, G, a1, a21, positive),
                        np_sparse_group_subdiff_distance(W, G, a1, a21, positive), atol=1e-13)
    # reduces to l1 / l2,1
    G = rng.standard_normal(W.shape)
    assert_allclose(R.sparse_group_subdiff_distance(W, G, 0.0, 0.6, positive),
                    P.l21_subdiff_distance(W, G, 0.6, positive), atol=1e-13)
    # (the l1 measure is a max over entries, the sparse-group one over rows: compare on
    # one column, where a row is an entry)
    W1, G1 = np.ascontiguousarray(W[:, :1]), np.ascontiguousarray(G[:, :1])
    assert_allclose(R.sparse_group_subdiff_distance(W1, G1, 0.6, 0.0, positive),
                    R.l1_subdiff_distance(W1, G1, 0.6, positive), atol=1e-13)
    # zero at the fixed point of the composed prox (soft-threshold, then group)
    V = rng.standard_normal((6, 3))
    U = P.group_soft_threshold_rows(P.soft_threshold(V, 0.3, positive), 0.5, False)
    assert R.sparse_group_subdiff_distance(U, U - V, 0.3, 0.5, positive) <= 1e-12


@pytest.mark.parametrize("seed", SEEDS)
def test_project_l1_ball_and_simplex(seed):
    rng = _rng(seed)
    for _ in range(5):
        v = rng.standard_normal(6) * 2
        for radius in (0.0, 0.5, 1.0, 100.0):
            got = P.project_l1_ball(v, radius)
            assert_allclose(got, np_project_l1_ball(v, radius), atol=1e-12)
            assert np.abs(got).sum() <= radius + 1e-12
        got = P.project_simplex(v)
        assert_allclose(got, np_project_simplex(v), atol=1e-12)
        assert_allclose(got.sum(), 1.0)
        assert np.all(got >= 0)
    # ties
    v = np.array([1.0, -1.0, 1.0, 0.0])
    assert_allclose(P.project_l1_ball(v, 1.5), np_project_l1_ball(v, 1.5), atol=1e-12)
    assert_allclose(P.project_simplex(np.ones(4)), np.full(4, 0.25))


@pytest.mark.parametrize("positive", [False, True])
@pytest.mark.parametrize("seed", SEEDS)
def test_linf_prox_rows(seed, positive):
    rng = _rng(seed)
    W = _W(rng)
    W[3] = [1.0, -1.0, 1.0, 0.5]  # ties in |w|
    for thr in (0.0, 0.5, 1.5, 50.0):
        assert_allclose(P.linf_prox_rows(W, thr, positive),
                        np_linf_prox_rows(W, thr, positive), atol=1e-12)


def sorted_l1inf_subdiff_distance(W, G, alpha, positive):
    """The l1,inf measure by sorting (Duchi et al.'s simplex projection), vectorised
    over the rows: exact, unlike the SLSQP reference (atol 1e-6)."""
    A = -G
    if positive:
        A = np.where((W == 0.0) & (A < 0.0), 0.0, A)
    absW = np.abs(W)
    wmax = absW.max(axis=1)
    zero = wmax == 0.0
    active = (absW >= wmax[:, None] * (1.0 - 1e-12)) & ~zero[:, None]
    off = ~active & ~zero[:, None]
    dist2 = np.sum(np.where(off, A, 0.0) ** 2, axis=1)
    B = np.where(active, A * np.sign(W), np.abs(A))
    valid = active | (zero & (np.abs(A).sum(axis=1) > alpha))[:, None]
    if alpha <= 0.0:
        return np.sqrt(dist2 + np.sum(np.where(valid, B, 0.0) ** 2, axis=1)).max()
    Bs = -np.sort(np.where(valid, -B, np.inf), axis=1)  # descending, masked last
    mask = np.isfinite(Bs)
    Bs[~mask] = 0.0
    cs = np.cumsum(Bs, axis=1)
    rho = np.count_nonzero(mask & (Bs * np.arange(1, B.shape[1] + 1) > cs - alpha), axis=1)
    tau = np.where(rho > 0, (cs[np.arange(len(B)), np.maximum(rho, 1) - 1] - alpha)
                   / np.maximum(rho, 1), 0.0)
    return np.sqrt(dist2 + np.sum(np.where(mask, np.minimum(Bs, tau[:, None]), 0.0) ** 2,
                                  axis=1)).max()


@pytest.mark.parametrize("positive", [False, True])
@pytest.mark.parametrize("seed", SEEDS)
def test_l1inf_subdiff_distance_matches_sorting(seed, positive):
    """Exact agreement (1e-12) with the sort-based twin, on rows with ties at the max,
    zero rows inside and outside the ball, and alpha = 0."""
    rng = _rng(seed)
    for _ in range(200):
        d, T = rng.integers(1, 7), rng.integers(1, 9)
        W = rng.standard_normal((d, T)) * (rng.uniform(size=(d, T)) < 0.6)
        j = rng.integers(d)
        if np.abs(W[j]).max() > 0:  # a tie at the row's max
            W[j, rng.integers(T)] = np.abs(W[j]).max() * rng.choice([-1.0, 1.0])
        W[rng.uniform(size=d) < 0.3] = 0.0
        if positive:
            W = np.abs(W)
        G = rng.standard_normal((d, T)) * rng.choice([0.1, 1.0, 10.0])
        alpha = float(rng.choice([0.0, 0.5, 1.0, 3.0]))
        got = P.l1inf_subdiff_distance(W, G, alpha, positive, np.empty(T))
        assert_allclose(got, sorted_l1inf_subdiff_distance(W, G, alpha, positive),
                        rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("positive", [False, True])
@pytest.mark.parametrize("seed", SEEDS)
def test_l1inf_subdiff_distance(seed, positive):
    rng = _rng(seed)
    W = _W(rng, d=6, T=3, zero_rows=(1,))
    W[3] = [1.0, -1.0, 0.5]  # ties in |w|
    W[4] = [0.0, 2.0, 0.0]
    if positive:
        W = np.abs(W)
    for alpha in (0.0, 0.5, 1.5):
        G = rng.standard_normal(W.shape)
        # one optimal row: -g in alpha d||.||_inf at W[4] (e_2 direction)
        G[4] = [0.0, -alpha, 0.0]
        for j in range(W.shape[0]):
            got = P.l1inf_subdiff_distance(W[j:j + 1], G[j:j + 1], alpha, positive,
                                            np.empty(3))
            ref = np_l1inf_subdiff_distance(W[j:j + 1], G[j:j + 1], alpha, positive)
            assert_allclose(got, ref, atol=1e-6), (j, alpha)
        assert_allclose(P.l1inf_subdiff_distance(W, G, alpha, positive, np.empty(3)),
                        np_l1inf_subdiff_distance(W, G, alpha, positive), atol=1e-6)
    # zero at the prox fixed point
    V = rng.standard_normal((5, 3))
    U = P.linf_prox_rows(V, 0.8, positive)
    assert P.l1inf_subdiff_distance(U, U - V, 0.8, positive, np.empty(3)) <= 1e-10


def _rows(rng, positive):
    rows = [rng.standard_normal(4), np.zeros(4), np.array([0.0, 1.5, -0.2, 0.0]),
            np.array([1.0, -1.0, 1.0, 0.5])]
    return [np.abs(r) if positive else r for r in rows]


@pytest.mark.parametrize("positive", [False, True])
@pytest.mark.parametrize("seed", SEEDS)
def test_row_kernels(seed, positive):
    """The row functions (used directly by block coordinate descent) against the twins."""
    rng = _rng(seed)
    for w in _rows(rng, positive):
        z = rng.standard_normal(4) * 2
        for thr in (0.0, 0.4, 1.7):
            for kernel, twin in [(P.l21_row_prox, np_group_soft_threshold_rows),
                                 (P.l1_row_prox, np_soft_threshold),
                                 (P.linf_row_prox, np_linf_prox_rows)]:
                out = np.full(4, np.nan)
                kernel(z, thr, positive, out)
                assert_allclose(out, twin(z[None, :], thr, positive)[0], atol=1e-12)
        g = rng.standard_normal(4)
        W, G = w[None, :], g[None, :]
        for alpha in (0.0, 0.6, 2.5):
            assert_allclose(P.l21_row_dist(w, g, alpha, positive),
                            np_l21_subdiff_distance(W, G, alpha, positive), atol=1e-13)
            assert_allclose(P.l1_row_dist(w, g, alpha, positive),
                            np_l1_subdiff_distance(W, G, alpha, positive), atol=1e-13)
            assert_allclose(P.sparse_group_row_dist(w, g, 0.3, alpha, positive),
                            np_sparse_group_subdiff_distance(W, G, 0.3, alpha, positive),
                            atol=1e-13)
            assert_allclose(P.l1inf_row_dist(w, g, alpha, positive, np.empty(len(w))),
                            np_l1inf_subdiff_distance(W, G, alpha, positive), atol=1e-6)
