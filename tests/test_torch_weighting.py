"""Task weightings and gradient aggregators: each tested for its defining property."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from scipy.optimize import minimize  # noqa: E402

from mtlreg.torch._aggregation import aggregate, make_aggregator, task_jacobian  # noqa: E402
from mtlreg.torch._weighting import DWA, FixedWeighting, GradNorm, UncertaintyWeighting  # noqa: E402


def random_jacobian(seed, T=4, P=7):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(T, P, generator=g, dtype=torch.float64)


def min_norm_qp(J):
    """min ||J^T w||^2 over the simplex, by SLSQP (the reference for MGDA)."""
    G = J @ J.T
    T = len(G)
    res = minimize(lambda w: w @ G @ w, np.full(T, 1 / T), jac=lambda w: 2 * G @ w,
                   bounds=[(0, 1)] * T, constraints=[{"type": "eq", "fun": lambda w: w.sum() - 1}],
                   method="SLSQP", options={"ftol": 1e-15, "maxiter": 1000})
    return J.T @ res.x


# ---------------------------------------------------------------- PCGrad
def test_pcgrad_removes_the_conflicting_component():
    J = torch.tensor([[1.0, 0.0], [-1.0, 2.0]], dtype=torch.float64)  # g1 . g2 = -1 < 0
    d = make_aggregator("pcgrad")(J)
    # g1 - (g1.g2 / |g2|^2) g2 = (1, 0) + (-1, 2) / 5 = (0.8, 0.4), orthogonal to g2;
    # g2 - (g1.g2 / |g1|^2) g1 = (-1, 2) + (1, 0) = (0, 2), orthogonal to g1; summed
    torch.testing.assert_close(d, torch.tensor([0.8, 2.4], dtype=torch.float64), rtol=0, atol=1e-12)


def test_pcgrad_without_conflict_is_the_sum():
    J = torch.tensor([[1.0, 0.5], [0.2, 1.0]], dtype=torch.float64)
    torch.testing.assert_close(make_aggregator("pcgrad")(J), J.sum(dim=0))


# ------------------------------------------------------------------ MGDA
@pytest.mark.parametrize("seed", range(5))
def test_mgda_is_the_min_norm_point_of_the_convex_hull(seed):
    J = random_jacobian(seed)
    expected = min_norm_qp(J.numpy())
    d = make_aggregator("mgda", epsilon=1e-9, max_iters=3000)(J).numpy()
    np.testing.assert_allclose(d, expected, atol=2e-3 * np.abs(J.numpy()).max())
    # with the training defaults the norm is within 1% of the optimum
    d_default = make_aggregator("mgda")(J).numpy()
    assert np.linalg.norm(d_default) <= np.linalg.norm(expected) * 1.01 + 1e-8


def test_mgda_with_a_common_descent_direction():
    """Two gradients at an obtuse angle: the min-norm point lies strictly between them
    and has the same inner product with both (the defining optimality condition)."""
    J = torch.tensor([[2.0, 0.0], [-1.0, 1.0]], dtype=torch.float64)
    d = make_aggregator("mgda", epsilon=1e-12, max_iters=3000)(J)
    inner = J @ d
    torch.testing.assert_close(inner[0], inner[1], atol=1e-6, rtol=0)
    assert float(inner[0]) > 0


# ---------------------------------------------------------------- UPGrad
@pytest.mark.parametrize("seed", range(5))
def test_upgrad_does_not_increase_any_task_loss(seed):
    """UPGrad's direction is in the dual cone of the task gradients: <g_t, d> >= 0."""
    J = random_jacobian(seed)
    d = make_aggregator("upgrad")(J)
    assert float((J @ d).min()) >= -1e-8


# --------------------------------------------------- every aggregator
@pytest.mark.parametrize("name", ["pcgrad", "mgda", "upgrad"])
@pytest.mark.parametrize("seed", range(3))
def test_aggregators_invariant_to_the_order_of_tasks(name, seed):
    J = random_jacobian(seed, T=2 if name == "pcgrad" else 4)  # PCGrad's random order: T=2
    perm = torch.randperm(len(J), generator=torch.Generator().manual_seed(seed + 7))
    agg = make_aggregator(name)  # Frank-Wolfe from the uniform point is equivariant
    torch.testing.assert_close(agg(J[perm]), agg(J), atol=1e-6, rtol=1e-6)


@pytest.mark.parametrize("name", ["pcgrad", "mgda", "upgrad"])
def test_aggregate_skips_tasks_absent_from_the_batch(name):
    J = random_jacobian(0, T=3)
    with_zero = torch.cat([J, torch.zeros(1, J.shape[1], dtype=J.dtype)])
    agg = make_aggregator(name)
    torch.manual_seed(0)
    a = aggregate(agg, with_zero)
    torch.manual_seed(0)
    b = aggregate(agg, J)
    torch.testing.assert_close(a, b)
    assert float(a.norm()) > 0


def test_task_jacobian_matches_separate_backward_passes():
    torch.manual_seed(0)
    w = torch.randn(3, requires_grad=True)
    b = torch.randn(2, requires_grad=True)
    losses = torch.stack([(w ** 2).sum() + b[0], (w[0] * b[1]) ** 2])
    J = task_jacobian(losses, [w, b])
    for t in range(2):
        gw, gb = torch.autograd.grad(losses[t], [w, b], retain_graph=True)
        torch.testing.assert_close(J[t], torch.cat([gw, gb]))


# ------------------------------------------------------------ weightings
LOSSES = torch.tensor([0.5, 2.0, 1.0, 0.1])


@pytest.mark.parametrize("cls", [FixedWeighting, UncertaintyWeighting, DWA, GradNorm])
def test_weights_finite_non_negative_and_equivariant(cls):
    w = cls(4)
    if isinstance(w, DWA):
        w.end_epoch(torch.tensor([1.0, 1.0, 1.0, 1.0]))
        w.end_epoch(torch.tensor([0.5, 1.0, 2.0, 0.9]))
    if isinstance(w, GradNorm):
        w.adapt(LOSSES, torch.tensor([1.0, 2.0, 3.0, 4.0]))
        w.adapt(LOSSES * torch.tensor([0.5, 1.0, 0.9, 0.2]), torch.tensor([1.0, 2.0, 3.0, 4.0]))
    if isinstance(w, UncertaintyWeighting):
        with torch.no_grad():
            w.log_var.copy_(torch.tensor([0.0, 1.0, -1.0, 2.0]))
    weights = w(LOSSES)
    assert torch.isfinite(weights).all() and (weights >= 0).all()
    # relabelling the tasks relabels the weights (built from permuted inputs)
    perm = torch.tensor([2, 0, 3, 1])
    v = cls(4)
    if isinstance(v, DWA):
        v.end_epoch(torch.ones(4))
        v.end_epoch(torch.tensor([0.5, 1.0, 2.0, 0.9])[perm])
    if isinstance(v, GradNorm):
        v.adapt(LOSSES[perm], torch.tensor([1.0, 2.0, 3.0, 4.0])[perm])
        v.adapt((LOSSES * torch.tensor([0.5, 1.0, 0.9, 0.2]))[perm],
                torch.tensor([1.0, 2.0, 3.0, 4.0])[perm])
    if isinstance(v, UncertaintyWeighting):
        with torch.no_grad():
            v.log_var.copy_(torch.tensor([0.0, 1.0, -1.0, 2.0])[perm])
    torch.testing.assert_close(v(LOSSES[perm]), weights[perm])


def test_uncertainty_weighting_optimum_is_the_loss():
    """d/ds [exp(-s) L + s] / 2 = 0 at s = log L: the learned variance is the loss."""
    w = UncertaintyWeighting(3)
    losses = torch.tensor([0.2, 1.0, 3.0])
    opt = torch.optim.SGD(w.parameters(), lr=0.5)
    for _ in range(500):
        opt.zero_grad()
        ((w(losses) * losses).sum() + w.regularizer()).backward()
        opt.step()
    torch.testing.assert_close(w.log_var.detach(), losses.log(), atol=1e-3, rtol=0)


def test_dwa_favours_the_task_whose_loss_decreases_slowest():
    w = DWA(3, temperature=2.0)
    torch.testing.assert_close(w(LOSSES[:3]), torch.ones(3))  # uniform before 2 epochs
    w.end_epoch(torch.tensor([1.0, 1.0, 1.0]))
    w.end_epoch(torch.tensor([0.5, 1.0, 0.9]))
    weights = w(LOSSES[:3])
    ratio = torch.tensor([0.5, 1.0, 0.9])
    torch.testing.assert_close(weights, 3 * torch.softmax(ratio / 2.0, dim=0))
    assert weights.argmax() == 1 and abs(float(weights.sum()) - 3) < 1e-6


def test_gradnorm_moves_weight_towards_the_task_with_small_gradients():
    w = GradNorm(2, alpha=0.0, lr=0.1)  # alpha = 0: equal gradient norms are the target
    losses = torch.tensor([1.0, 1.0])
    for _ in range(5):
        w.adapt(losses, torch.tensor([1.0, 4.0]))
    weights = w(losses)
    assert weights[0] > weights[1]
    assert abs(float(weights.sum()) - 2) < 1e-5
