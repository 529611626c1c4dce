"""Gradient aggregation: one update direction from the task gradients.

Where the weightings of ``_weighting.py`` combine the task *losses*, an
aggregator combines the task *gradients* on the shared parameters: from the
Jacobian ``J`` (``T x P``, row ``t`` the gradient of task ``t``'s loss), it returns
one vector ``d`` (``P``) that replaces the gradient of the summed loss. The
task-specific parameters (heads, towers) keep the gradient of the summed loss:
only the shared ones see conflicts.

The aggregators are TorchJD's (Quinton & Rey, "Jacobian descent for
multi-objective optimization", 2024; https://github.com/TorchJD/torchjd), which
implements each method from its paper and tests it for its defining property;
we depend on it (extra ``torch``) rather than rewrite them:

* ``"pcgrad"`` -- PCGrad (Yu et al., "Gradient surgery for multi-task learning",
  NeurIPS 2020): each task gradient is projected onto the normal plane of every
  task gradient it conflicts with (negative inner product), in random order, and
  the projections are summed.
* ``"mgda"`` -- MGDA (Desideri 2012; Sener & Koltun, "Multi-task learning as
  multi-objective optimization", NeurIPS 2018): the minimum-norm point of the
  convex hull of the task gradients (Frank-Wolfe on the Gramian).
* ``"upgrad"`` -- UPGrad (Quinton & Rey 2024): each task gradient projected onto
  the dual cone of all of them (so that no task's loss increases to first
  order), averaged.
"""

import torch


def make_aggregator(name, **options):
    """The TorchJD aggregator for ``name`` in ``{"pcgrad", "mgda", "upgrad"}``;
    ``options`` go to its constructor (``epsilon``, ``max_iters`` for MGDA)."""
    from torchjd.aggregation import MGDA, PCGrad, UPGrad

    if name == "pcgrad":
        return PCGrad(**options)
    if name == "mgda":
        # Frank-Wolfe on the Gramian; tighter than TorchJD's defaults (1e-3, 100)
        return MGDA(**{"epsilon": 1e-5, "max_iters": 300, **options})
    if name == "upgrad":
        return UPGrad(**options)
    raise ValueError(f"Unknown aggregator {name!r}.")


AGGREGATORS = ("pcgrad", "mgda", "upgrad")


def task_jacobian(losses, params):
    """``J`` of shape ``(T, P)``: the gradients of each loss w.r.t. ``params``
    (flattened and concatenated), in one batched backward pass."""
    eye = torch.eye(len(losses), device=losses.device, dtype=losses.dtype)
    grads = torch.autograd.grad(losses, params, grad_outputs=eye, is_grads_batched=True,
                                retain_graph=True, allow_unused=True)
    return torch.cat([
        (g if g is not None else torch.zeros(len(losses), *p.shape, device=p.device,
                                             dtype=p.dtype)).reshape(len(losses), -1)
        for g, p in zip(grads, params)
    ], dim=1)


def aggregate(aggregator, J):
    """``aggregator(J)`` computed in float64 (the QP and Frank-Wolfe steps are
    sensitive to round-off when gradients are nearly collinear), returned in
    ``J``'s dtype. Rows of zeros (tasks absent from the batch) are left out: they
    would pull MGDA's min-norm point to zero."""
    present = J.abs().sum(dim=1) > 0
    if not bool(present.any()):
        return torch.zeros(J.shape[1], device=J.device, dtype=J.dtype)
    return aggregator(J[present].double()).to(J.dtype)


def set_shared_gradient(params, direction):
    """Write the flat vector ``direction`` into ``p.grad`` of ``params``."""
    offset = 0
    for p in params:
        n = p.numel()
        p.grad = direction[offset:offset + n].view_as(p).clone()
        offset += n
