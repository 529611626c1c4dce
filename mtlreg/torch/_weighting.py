"""Loss weighting: how the per-task losses are combined into one loss.

A weighting is an ``nn.Module`` with ``forward(losses) -> weights`` (a tensor of
``T`` finite, non-negative weights on the device and dtype of ``losses``), in the
style of TorchJD's ``Weighting``. The training loop minimises
``sum_t weights[t] * losses[t] + weighting.regularizer()``. Methods that learn or
adapt their weights do it from what they are given, never by reaching into the
model: uncertainty weighting through its own parameters (trained with the
network), DWA from the per-epoch losses (``end_epoch``), GradNorm from the
gradients of the losses w.r.t. the shared parameters it is handed (``adapt``).

The fixed task weights ``lambda_t`` (``task_weights``, the same as in the linear
models) are already inside each task's loss ``L_t`` (see ``_training.py``): every
method here multiplies them, none replaces them.
"""

import torch
from torch import nn


class Weighting(nn.Module):
    """Base class: every task's loss counts once (weights of ones)."""

    needs_gradients = False

    def __init__(self, n_tasks):
        super().__init__()
        self.n_tasks = n_tasks

    def forward(self, losses):
        return torch.ones_like(losses)

    def regularizer(self):
        return None

    def end_epoch(self, epoch_losses):
        """Called with the mean per-task training losses of the epoch just finished."""


class FixedWeighting(Weighting):
    """``sum_t L_t``: each task's loss with its fixed ``task_weights`` only."""


class UncertaintyWeighting(Weighting):
    """Homoscedastic uncertainty weighting: with learnable ``s_t = log sigma_t^2``,

        sum_t (exp(-s_t) L_t + s_t) / 2.

    Kendall, Gal & Cipolla, "Multi-task learning using uncertainty to weigh losses
    for scene geometry and semantics", CVPR 2018. (The ``1/2`` of the regression
    case is used for every loss, as most implementations do.)
    """

    def __init__(self, n_tasks):
        super().__init__(n_tasks)
        self.log_var = nn.Parameter(torch.zeros(n_tasks))

    def forward(self, losses):
        return 0.5 * torch.exp(-self.log_var.to(losses))

    def regularizer(self):
        return 0.5 * self.log_var.sum()


class DWA(Weighting):
    """Dynamic weight averaging: ``w_t = T softmax_t(r_t / temperature)`` with
    ``r_t = L_t(e-1) / L_t(e-2)`` the ratio of the task's last two epoch losses
    (uniform for the first two epochs).

    Liu, Johns & Davison, "End-to-end multi-task learning with attention", CVPR 2019.
    """

    def __init__(self, n_tasks, temperature=2.0):
        super().__init__(n_tasks)
        self.temperature = temperature
        self.register_buffer("current", torch.ones(n_tasks))
        self.history = []

    def end_epoch(self, epoch_losses):
        self.history = [*self.history[-1:], torch.as_tensor(epoch_losses, dtype=torch.float32)]
        if len(self.history) == 2:
            ratio = self.history[1] / self.history[0].clamp_min(1e-12)
            self.current = len(ratio) * torch.softmax(ratio / self.temperature, dim=0)

    def forward(self, losses):
        return self.current.to(losses)


class GradNorm(Weighting):
    """GradNorm: learnable weights ``w_t`` (summing to ``T``) moved so that the norms
    ``G_t = ||grad_theta w_t L_t||`` of the weighted task gradients on the shared
    parameters ``theta`` approach ``mean(G) * r_t^alpha``, with ``r_t`` the task's
    relative inverse training rate ``(L_t / L_t(0)) / mean_s (L_s / L_s(0))``.

    Chen, Badrinarayanan, Lee & Rabinovich, "GradNorm: gradient normalization for
    adaptive loss balancing in deep multitask networks", ICML 2018. The weights
    take a gradient step of size ``lr`` on ``sum_t |G_t - target_t|`` (target held
    constant, gradient divided by ``mean_t ||grad_theta L_t||``), are clipped at
    ``1e-3`` and renormalised to sum to ``T``. Tasks absent from a mini-batch keep
    their weight.
    """

    needs_gradients = True

    def __init__(self, n_tasks, alpha=1.5, lr=0.025):
        super().__init__(n_tasks)
        self.alpha, self.lr = alpha, lr
        self.register_buffer("w", torch.ones(n_tasks))
        self.register_buffer("initial", torch.full((n_tasks,), float("nan")))

    def forward(self, losses):
        return self.w.to(losses)

    @torch.no_grad()
    def adapt(self, losses, grad_norms):
        """One update of the weights from the task losses and the norms
        ``||grad_theta L_t||`` of the unweighted task gradients (``(T,)`` each)."""
        losses, grad_norms = losses.detach().float(), grad_norms.detach().float()
        first = torch.isnan(self.initial) & (losses > 0)
        self.initial[first] = losses[first]
        # tasks absent from the batch (no gradient) or never seen keep their weight
        on = (grad_norms > 0) & ~torch.isnan(self.initial)
        if int(on.sum()) < 2:
            return
        G = self.w[on] * grad_norms[on]              # ||grad w_t L_t|| = w_t ||grad L_t||
        ratio = losses[on] / self.initial[on]
        r = ratio / ratio.mean().clamp_min(1e-12)
        target = G.mean() * r ** self.alpha
        # d/dw_t sum_s |w_s g_s - target_s| = sign(w_t g_t - target_t) g_t, divided by
        # mean(g) so that ``lr`` does not depend on the scale of the gradients
        g = grad_norms[on] / grad_norms[on].mean()
        w = self.w.clone()
        w[on] = (w[on] - self.lr * torch.sign(G - target) * g).clamp_min(1e-3)
        self.w = w * (len(w) / w.sum())


WEIGHTINGS = {
    "fixed": FixedWeighting,
    "uncertainty": UncertaintyWeighting,
    "dwa": DWA,
    "gradnorm": GradNorm,
}
