"""Proximal operators, optimality measures and alpha_max of every penalty.

Properties checked (hypothesis), for ``x = prox(z, step)``, the prox of ``g = step * P``:

* three-point inequality ``2(g(x) - g(u)) <= ||u - z||^2 - ||u - x||^2 - ||x - z||^2``
  for every feasible ``u`` (it characterises the prox of a convex ``g``);
* Moreau identity for the norms, with the dual-norm ball projected in numpy;
* ``prox(z, 0)`` is the identity (the projection onto ``W >= 0`` with ``positive``);
* the prox optimality condition ``subdiff_distance(x, (x - z) / step) == 0``;
* ``alpha_max``: ``W = 0`` is optimal at ``alpha_max`` and not at ``0.99 alpha_max``;

and the prox is compared with cvxpy on a few fixed cases.
"""

import numpy as np
import pytest
from _cvx_family import cvx_prox
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from mtlreg.penalties import (
    L1,
    L21,
    Dirty,
    L1Inf,
    MeanRegularization,
    SparseGroupL1L21,
    TraceNorm,
    WithRidge,
    Zero,
)

SETTINGS = settings(max_examples=30, deadline=None)


@st.composite
def matrices(draw, shape):
    """Small integers (ties and zeros are common: the operators' edge cases) times a
    scale, optionally jittered by continuous noise (generic positions)."""
    ints = draw(arrays(np.int8, shape, elements=st.integers(-8, 8))).astype(np.float64)
    M = ints * draw(st.floats(0.05, 1.0))
    if draw(st.booleans()):
        rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
        M = M + draw(st.floats(1e-3, 0.5)) * rng.standard_normal(shape)
    return M


# name -> (factory(alpha), stacked [B; S] variable, positive, cvx kind and keywords)
PENALTIES = {
    "l1": (lambda a: L1(a), False, False, ("ind_l1", {})),
    "l1_pos": (lambda a: L1(a, positive=True), False, True, ("ind_l1", {})),
    "l21": (lambda a: L21(a), False, False, ("group_lasso", {})),
    "l21_pos": (lambda a: L21(a, positive=True), False, True, ("group_lasso", {})),
    "l1inf": (lambda a: L1Inf(a), False, False, ("l1inf", {})),
    "l1inf_pos": (lambda a: L1Inf(a, positive=True), False, True, ("l1inf", {})),
    "sgl": (lambda a: SparseGroupL1L21(a, 0.3), False, False, ("sgl", {"l1_ratio": 0.3})),
    "sgl_pos": (lambda a: SparseGroupL1L21(a, 0.6, positive=True), False, True,
                ("sgl", {"l1_ratio": 0.6})),
    "trace": (lambda a: TraceNorm(a), False, False, ("trace", {})),
    "mean": (lambda a: MeanRegularization(a), False, False, ("mean", {})),
    "zero": (lambda a: Zero(), False, False, ("zero", {})),
    "zero_pos": (lambda a: Zero(positive=True), False, True, ("zero", {})),
    "ridge_l21": (lambda a: WithRidge(L21(a), 0.3), False, False,
                  ("group_lasso", {"l2_reg": 0.3})),
    "dirty_l1inf": (lambda a: Dirty(L1Inf(a), 0.6 * a), True, False,
                    ("dirty_l1inf", {"beta_ratio": 0.6})),
    "dirty_l21": (lambda a: Dirty(L21(a), 0.7 * a), True, False,
                  ("dirty_l21", {"beta_ratio": 0.7})),
    "dirty_l1inf_pos": (lambda a: Dirty(L1Inf(a, positive=True), 0.6 * a, positive=True),
                        True, True, ("dirty_l1inf", {"beta_ratio": 0.6})),
    "dirty_l21_pos": (lambda a: Dirty(L21(a, positive=True), 0.7 * a, positive=True),
                      True, True, ("dirty_l21", {"beta_ratio": 0.7})),
}
NAMES = list(PENALTIES)
NORMS = ["l1", "l21", "l1inf", "trace"]


@st.composite
def prox_case(draw, stacked=False):
    """``(z, u, step, alpha)`` with ``z, u`` of shape ``(d, T)`` (``(2d, T)`` if stacked)."""
    d = draw(st.integers(1, 5))
    T = draw(st.integers(1, 4))
    shape = (2 * d if stacked else d, T)
    z = draw(matrices(shape))
    u = draw(matrices(shape))
    step = draw(st.floats(0.01, 3.0))
    alpha = draw(st.floats(0.01, 2.0))
    return z, u, step, alpha


def _scale(*arrays_):
    return 1.0 + max(float(np.abs(a).max(initial=0.0)) for a in arrays_)


# --------------------------------------------------------------- (a), (c), (d)
@pytest.mark.parametrize("name", NAMES)
@SETTINGS
@given(data=st.data())
def test_prox_properties(name, data):
    """For ``x = prox(z, step)`` (the prox of ``g = step * P``) and any point ``u``:

    * the three-point inequality, which characterises the prox of a convex ``g``:
      ``2(g(x) - g(u)) <= ||u - z||^2 - ||u - x||^2 - ||x - z||^2`` for feasible ``u``;
    * firm non-expansiveness ``<x - p(u), z - u> >= ||x - p(u)||^2``;
    * ``prox(z, 0)`` is the identity (the projection onto ``W >= 0`` with ``positive``);
    * the prox optimality condition ``subdiff_distance(x, (x - z)/step) == 0``;
    * away from ``x`` the measure is bounded below: with ``x' = prox(u)``, by
      monotonicity of the subdifferential the Frobenius distance of ``-(x' - z)/step``
      to ``dP(x')`` is at least ``||x' - x|| / step``; the package's measure is a max
      over at most ``x.size`` blocks, hence at least that over ``sqrt(x.size)``.
    """
    factory, stacked, positive, _ = PENALTIES[name]
    z, u, step, alpha = data.draw(prox_case(stacked))
    P = factory(alpha)
    x = P.prox(z, step)
    scale = _scale(z, u)
    assert x.shape == z.shape
    assert np.all(np.isfinite(x))
    if positive:
        assert np.all(x >= 0)
        u = np.abs(u)  # g(u) = +inf otherwise: nothing to check

    # three-point inequality
    lhs = 2 * step * (P.value(x) - P.value(u))
    rhs = np.sum((u - z) ** 2) - np.sum((u - x) ** 2) - np.sum((x - z) ** 2)
    assert lhs <= rhs + 1e-9 * scale**2 * (1 + step * alpha) * x.size, (lhs, rhs)

    # firm non-expansiveness
    pu = P.prox(u, step)
    assert np.sum((x - pu) * (z - u)) >= np.sum((x - pu) ** 2) - 1e-9 * scale**2 * x.size

    # step 0
    expected = np.maximum(z, 0.0) if positive else z
    np.testing.assert_allclose(P.prox(z, 0.0), expected, rtol=0, atol=1e-12 * scale)

    # optimality condition of the prox problem
    dist = P.subdiff_distance(x, (x - z) / step)
    assert 0.0 <= dist <= 1e-8 * (scale / step + alpha) * np.sqrt(x.size), dist

    # detection of non-solutions
    dist_u = P.subdiff_distance(pu, (pu - z) / step)
    gap = np.linalg.norm(pu - x)
    assert dist_u >= 0.999 * gap / (step * np.sqrt(x.size)) - 1e-8 * scale / step, (
        dist_u, gap)


# --------------------------------------------------------------------------- (b)
def _project_l1_ball_bisection(v, radius=1.0):
    """Projection on the l1 ball by bisection on the threshold (independent of sorting)."""
    a = np.abs(v)
    if a.sum() <= radius:
        return v.copy()
    lo, hi = 0.0, a.max()
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        if np.maximum(a - mid, 0.0).sum() > radius:
            lo = mid
        else:
            hi = mid
    return np.sign(v) * np.maximum(a - 0.5 * (lo + hi), 0.0)


def _dual_ball_projection(norm, V):
    if norm == "l1":  # dual: linf ball, entrywise
        return np.clip(V, -1.0, 1.0)
    if norm == "l21":  # dual: rowwise l2 ball
        n = np.sqrt((V**2).sum(axis=1, keepdims=True))
        return V / np.maximum(n, 1.0)
    if norm == "l1inf":  # dual: rowwise l1 ball
        return np.array([_project_l1_ball_bisection(row) for row in V]).reshape(V.shape)
    U, s, Vt = np.linalg.svd(V, full_matrices=False)  # dual: spectral ball
    return (U * np.minimum(s, 1.0)) @ Vt


@pytest.mark.parametrize("norm", NORMS)
@SETTINGS
@given(data=st.data())
def test_moreau_identity(norm, data):
    z, _, step, alpha = data.draw(prox_case())
    P = PENALTIES[norm][0](alpha)
    sa = step * alpha
    recomposed = P.prox(z, step) + sa * _dual_ball_projection(norm, z / sa)
    np.testing.assert_allclose(recomposed, z, rtol=0, atol=1e-9 * _scale(z))


@pytest.mark.parametrize("norm", NORMS)
@SETTINGS
@given(data=st.data())
def test_norm_value_is_support_function_of_dual_ball(norm, data):
    """Checks the dual-ball projections used above: ``||z|| >= <z, y>`` for ``y`` in the
    dual ball (Hoelder), with near equality at the projection of a large multiple of z."""
    z, u, _, _ = data.draw(prox_case())
    P = PENALTIES[norm][0](1.0)
    y = _dual_ball_projection(norm, u)
    assert np.sum(z * y) <= P.value(z) + 1e-9 * _scale(z) * z.size
    y_star = _dual_ball_projection(norm, 1e6 * z)
    assert np.sum(z * y_star) == pytest.approx(P.value(z), rel=1e-5, abs=1e-5 * z.size)


# ------------------------------------------------------------- (c) vs cvxpy
FIXED_Z = np.array([[1.5, -0.2, 0.7], [0.1, 0.05, -0.1], [-2.0, 1.9, 0.4], [0.3, -0.9, 2.2]])


@pytest.mark.parametrize("name", NAMES)
def test_prox_matches_cvxpy(name):
    factory, stacked, positive, (kind, kw) = PENALTIES[name]
    kw = dict(kw)
    alpha, step = 0.8, 0.7
    Z = np.vstack([FIXED_Z, FIXED_Z[::-1] * 0.8]) if stacked else FIXED_Z
    beta = alpha * kw.pop("beta_ratio", 0.0)
    P = factory(alpha)
    x = P.prox(Z, step)
    ref = cvx_prox(kind, Z, step, alpha=alpha, beta=beta, positive=positive, **kw)
    if positive:
        ref = np.maximum(ref, 0.0)

    def prox_objective(U):
        return 0.5 * np.sum((U - Z) ** 2) / step + P.value(U)

    np.testing.assert_allclose(x, ref, rtol=0, atol=2e-6)
    # our prox is at least as good as the interior-point solution
    assert prox_objective(x) <= prox_objective(ref) + 1e-9
    # and the solution is not trivial (the case exercises the operator)
    assert not np.allclose(x, 0.0) or name.startswith("zero")


def test_fixed_prox_values():
    """Hand-computed values."""
    z = np.array([[3.0, -4.0], [0.5, 0.1]])
    np.testing.assert_allclose(L1(1.0).prox(z, 1.0), [[2.0, -3.0], [0.0, 0.0]])
    np.testing.assert_allclose(L1(1.0, positive=True).prox(z, 1.0), [[2.0, 0.0], [0.0, 0.0]])
    # row (3, -4) has norm 5 -> scale 1 - 1/5
    np.testing.assert_allclose(L21(1.0).prox(z, 1.0), [[2.4, -3.2], [0.0, 0.0]])
    # linf prox of (3, -4) at 1: clip the largest magnitude down by 1 -> (3, -3)
    np.testing.assert_allclose(L1Inf(1.0).prox(z, 1.0), [[3.0, -3.0], [0.0, 0.0]])
    # (3, -4) at 3: l1 ball projection (1, -2) -> (2, -2)
    np.testing.assert_allclose(L1Inf(3.0).prox(z, 1.0)[0], [2.0, -2.0])
    np.testing.assert_allclose(MeanRegularization(1.0).prox(z, 1.0),
                               [[-0.5 + 3.5 / 2, -0.5 - 3.5 / 2], [0.3 + 0.1, 0.3 - 0.1]])
    np.testing.assert_allclose(TraceNorm(1.0).prox(np.diag([3.0, 0.5]), 1.0),
                               np.diag([2.0, 0.0]))
    np.testing.assert_allclose(WithRidge(Zero(), 1.0).prox(z, 1.0), z / 2)


@pytest.mark.parametrize("name", ["l1", "l21", "trace"])
@SETTINGS
@given(data=st.data())
def test_subdiff_distance_matches_numpy(name, data):
    from _cvx_family import l1_violation, l21_violation, trace_violation

    z, u, step, alpha = data.draw(prox_case())
    P = PENALTIES[name][0](alpha)
    # a point with zeros (from the prox) and an arbitrary gradient
    W = P.prox(z, step)
    G = u
    ours = P.subdiff_distance(W, G)
    if name == "l1":
        ref = l1_violation(W, G, alpha)
    elif name == "l21":
        ref = l21_violation(W, G, alpha)
    else:
        ref = trace_violation(W, G, alpha, rank_tol=1e-10)
    assert ours == pytest.approx(ref, rel=1e-7, abs=1e-9 * _scale(u))


# --------------------------------------------------------------------------- (e)
AMAX_NAMES = ["l1", "l1_pos", "l21", "l21_pos", "l1inf", "l1inf_pos", "trace"]


def _null_optimal(P, G0, step=0.5):
    """W = 0 solves min <G0, W> + P(W) (linearised problem) iff prox(-step G0) == 0."""
    return not np.any(P.prox(-step * G0, step))


@pytest.mark.parametrize("name", AMAX_NAMES)
@SETTINGS
@given(G0=st.tuples(st.integers(1, 5), st.integers(1, 4)).flatmap(matrices))
def test_alpha_max(name, G0):
    factory, _, positive, _ = PENALTIES[name]
    amax = factory(1.0).alpha_max(G0)
    assert factory(3.7).alpha_max(G0) == amax  # does not depend on the object's alpha
    W0 = np.zeros_like(G0)
    scale = _scale(G0)
    assert factory(amax).subdiff_distance(W0, G0) <= 1e-12 * scale
    assert _null_optimal(factory(amax * (1 + 1e-12)), G0)
    Gp = np.minimum(G0, 0.0) if positive else G0
    assert (amax > 0) == bool(np.any(Gp))
    if amax > 0:
        below = factory(0.99 * amax)
        assert below.subdiff_distance(W0, G0) >= 1e-3 * amax
        assert not _null_optimal(below, G0)


@pytest.mark.parametrize("l1_ratio", [0.0, 0.05, 0.5, 0.97, 1.0])
@pytest.mark.parametrize("positive", [False, True])
@SETTINGS
@given(G0=st.tuples(st.integers(1, 5), st.integers(1, 4)).flatmap(matrices))
def test_sparse_group_alpha_max(l1_ratio, positive, G0):
    def factory(a):
        return SparseGroupL1L21(a, l1_ratio, positive=positive)

    amax = factory(1.0).alpha_max(G0)
    W0 = np.zeros_like(G0)
    Gp = np.minimum(G0, 0.0) if positive else G0
    # brute force: the row condition ||S_{a r}(g_j)||_2 <= a (1 - r), by bisection
    g_rows = np.abs(Gp)

    def ok(a):
        st_ = np.maximum(g_rows - a * l1_ratio, 0.0)
        return np.all(np.sqrt((st_**2).sum(axis=1)) <= a * (1 - l1_ratio) + 1e-300)

    lo, hi = 0.0, float(np.abs(Gp).sum()) + 1.0
    for _ in range(120):
        mid = 0.5 * (lo + hi)
        lo, hi = (lo, mid) if ok(mid) else (mid, hi)
    assert amax == pytest.approx(hi, rel=1e-9, abs=1e-12)
    assert factory(amax).subdiff_distance(W0, G0) <= 1e-9 * _scale(G0)
    assert _null_optimal(factory(amax * (1 + 1e-9)), G0)
    assert (amax > 0) == bool(np.any(Gp))
    if amax > 0:
        below = factory(0.99 * amax)
        assert below.subdiff_distance(W0, G0) > 1e-4 * amax
        assert not _null_optimal(below, G0)


@SETTINGS
@given(G0=st.tuples(st.sampled_from([2, 4, 6, 8]), st.integers(1, 4)).flatmap(matrices))
def test_dirty_alpha_and_beta_max(G0):
    d = G0.shape[0] // 2
    for block, bmax_fn in [(L21, lambda G: np.sqrt((G**2).sum(axis=1)).max()),
                           (L1Inf, lambda G: np.abs(G).sum(axis=1).max())]:
        P = Dirty(block(1.0), 1.0)
        amax, bmax = P.alpha_max(G0), P.beta_max(G0)
        assert amax == pytest.approx(bmax_fn(G0[:d]), rel=1e-12)
        assert bmax == pytest.approx(np.abs(G0[d:]).max(), rel=1e-12)
        # both parts zero at (alpha_max, beta_max) for the gradient of the stacked variable
        assert _null_optimal(Dirty(block(amax * (1 + 1e-12)), bmax * (1 + 1e-12)), G0)
        assert Dirty(block(amax), bmax).subdiff_distance(np.zeros_like(G0), G0) <= 1e-12


def test_quadratic_penalties_have_no_alpha_max():
    G0 = np.ones((3, 2))
    assert MeanRegularization(1.0).alpha_max(G0) == np.inf
    assert Zero().alpha_max(G0) == np.inf
    assert WithRidge(L21(1.0), 0.5).alpha_max(G0) == L21(1.0).alpha_max(G0)
