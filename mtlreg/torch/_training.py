"""The training loop: mini-batches, per-task losses, one update per batch, early stopping.

The loss is the linear models' data term (see :mod:`mtlreg._tasks.layout`),

    sum_t L_t,    L_t = sum_{labelled (i, t)} c_it * loss(y_it, z_it),
    c_it = lambda_t * s_i / n_t,

estimated on a mini-batch ``B`` of ``b`` rows out of ``n`` by
``L_t(B) = (n / b) sum_{i in B} c_it loss(y_it, z_it)`` (unbiased). The
weighting turns the vector ``(L_t(B))`` into one loss, or the aggregator turns the
task gradients on the shared parameters into one direction.
"""

import copy
import time

import numpy as np
import torch
import torch.nn.functional as F

from ._aggregation import aggregate, set_shared_gradient, task_jacobian


class TaskData:
    """Rows on a device: ``X (n, d)``; targets ``y`` and weights ``c`` shaped
    ``(n, T)`` (shared layout, ``codes=None``) or ``(n,)`` with ``codes (n,)``."""

    def __init__(self, X, y, c, codes, n_tasks, device, dtype=torch.float32):
        self.X = torch.as_tensor(np.asarray(X), dtype=dtype, device=device)
        self.y = torch.as_tensor(np.asarray(y), dtype=dtype, device=device)
        self.c = torch.as_tensor(np.asarray(c), dtype=dtype, device=device)
        self.codes = (None if codes is None else
                      torch.as_tensor(np.asarray(codes), dtype=torch.long, device=device))
        self.n_tasks = n_tasks

    def __len__(self):
        return self.X.shape[0]

    def task_losses(self, module, idx, loss_fn, scale):
        """``(T,)`` losses of the rows ``idx`` (a LongTensor, or ``None`` for all rows)."""
        X = self.X if idx is None else self.X[idx]
        take = (lambda a: a) if idx is None else (lambda a: a[idx])
        out = module(X)                                             # (b, T)
        if self.codes is None:
            per_obs = loss_fn(out, take(self.y)) * take(self.c)     # (b, T)
            return scale * per_obs.sum(dim=0)
        codes = take(self.codes)
        z = out.gather(1, codes[:, None])[:, 0]
        per_row = loss_fn(z, take(self.y)) * take(self.c)
        return scale * torch.zeros(self.n_tasks, device=z.device, dtype=z.dtype).index_add_(
            0, codes, per_row)


def squared_loss(z, y):
    return 0.5 * (z - y) ** 2


def logistic_loss(z, y):
    return F.binary_cross_entropy_with_logits(z, y, reduction="none")


LOSSES = {"squared": squared_loss, "logistic": logistic_loss}

# An epoch's training loss above DIVERGENCE_FACTOR times the loss of the network at
# the start of training (floored at DIVERGENCE_FLOOR times the sum of the observation
# weights, the loss scale of standardised targets or balanced labels) means the
# optimiser is diverging: Adam's steps are about learning_rate in every parameter
# whatever the gradient, so a too large learning rate blows the loss up by orders of
# magnitude without ever making it inf.
DIVERGENCE_FACTOR = 1e4
DIVERGENCE_FLOOR = 1e-3


def train(module, weighting, aggregator, data, valid, *, loss, learning_rate, alpha, n_epochs,
          batch_size, tol, n_iter_no_change, generator, verbose=0, name="", state=None):
    """Train ``module`` in place; returns a dict of the training history.

    ``valid``: a :class:`TaskData` of held-out rows (early stopping on its loss,
    best parameters restored at the end), or ``None`` (stop when the training
    loss has not improved by ``tol`` for ``n_iter_no_change`` epochs).
    ``state``: the history of a previous call (``warm_start``), continued.
    A training loss that is not finite, or that grows above ``DIVERGENCE_FACTOR``
    times its value at the start, raises ``FloatingPointError``.
    """
    loss_fn = LOSSES[loss]
    start_loss = evaluate(module, data, loss_fn)
    limit = DIVERGENCE_FACTOR * max(start_loss, DIVERGENCE_FLOOR * float(data.c.sum()))
    shared = [p for p in module.shared_parameters() if p.requires_grad]
    optimizer = torch.optim.Adam([
        {"params": list(module.parameters()), "weight_decay": alpha},
        {"params": list(weighting.parameters()), "weight_decay": 0.0},
    ], lr=learning_rate)
    history = state or {"loss_curve": [], "validation_scores": [], "epoch_seconds": [],
                        "best": np.inf}
    history.update(best=np.inf, n_iter=0, converged=False)
    best_state, no_improvement = None, 0
    n, b = len(data), min(batch_size, len(data))
    epochs = range(n_epochs)
    if verbose:
        from tqdm.auto import tqdm

        epochs = tqdm(epochs, desc=name, unit="epoch")
    for epoch in epochs:
        started = time.perf_counter()
        module.train()
        perm = torch.randperm(n, generator=generator).to(data.X.device)
        epoch_losses = torch.zeros(data.n_tasks, dtype=torch.float64)
        n_batches = 0
        for start in range(0, n, b):
            idx = perm[start:start + b]
            losses = data.task_losses(module, idx, loss_fn, n / len(idx))
            _step(module, weighting, aggregator, shared, optimizer, losses)
            epoch_losses += losses.detach().double().cpu()
            n_batches += 1
        epoch_losses /= n_batches
        weighting.end_epoch(epoch_losses)
        train_loss = float(epoch_losses.sum())
        if not np.isfinite(train_loss) or train_loss > limit:
            raise FloatingPointError(
                f"{name}: the training loss diverged: {train_loss:.3g} at epoch {epoch + 1} "
                f"against {start_loss:.3g} at the start (learning_rate_init={learning_rate:g}). "
                "Lower learning_rate_init, or scale the features.")
        history["loss_curve"].append(train_loss)
        history["epoch_seconds"].append(time.perf_counter() - started)
        score = train_loss
        if valid is not None:
            score = evaluate(module, valid, loss_fn)
            history["validation_scores"].append(score)
        history["n_iter"] = epoch + 1
        if score < history["best"] - tol:
            history["best"], no_improvement = score, 0
            if valid is not None:
                best_state = copy.deepcopy(module.state_dict())
        else:
            no_improvement += 1
        if verbose:
            epochs.set_postfix(loss=f"{train_loss:.4g}", **(
                {"valid": f"{score:.4g}"} if valid is not None else {}))
        if no_improvement >= n_iter_no_change:
            history["converged"] = True
            break
    if best_state is not None:
        module.load_state_dict(best_state)
    module.eval()
    return history


def _step(module, weighting, aggregator, shared, optimizer, losses):
    """One update from the batch's task losses."""
    optimizer.zero_grad(set_to_none=True)
    if getattr(weighting, "needs_gradients", False) and shared:
        J = task_jacobian(losses, shared)
        weighting.adapt(losses, J.norm(dim=1))
    total = (weighting(losses.detach()) * losses).sum()
    for extra in (weighting.regularizer(), module.penalty()):
        if extra is not None:
            total = total + extra
    if aggregator is not None and shared:
        J = task_jacobian(losses, shared)
        total.backward()
        set_shared_gradient(shared, aggregate(aggregator, J))
    else:
        total.backward()
    optimizer.step()


@torch.no_grad()
def evaluate(module, data, loss_fn, chunk=65536):
    """The data term on ``data`` (sum of the task losses, weights ``c`` as given)."""
    module.eval()
    total = 0.0
    for start in range(0, len(data), chunk):
        idx = torch.arange(start, min(start + chunk, len(data)), device=data.X.device)
        total += float(data.task_losses(module, idx, loss_fn, 1.0).sum())
    return total


@torch.no_grad()
def forward_all(module, X, device, chunk=65536):
    """``module(X)`` for a NumPy ``X``, in chunks, as a NumPy ``(n, T)`` array.

    Computed in float64 (on a float64 copy of the network): in float32 the result
    for a row depends, at the 1e-7 level, on how many rows are in the same product
    (the matrix kernels block differently), and a prediction should not depend on
    which other rows are predicted with it."""
    module = copy.deepcopy(module).to(dtype=torch.float64).eval()
    outs = []
    for start in range(0, X.shape[0], chunk):
        xb = torch.tensor(np.asarray(X[start:start + chunk]), dtype=torch.float64,
                          device=device)
        outs.append(module(xb).cpu().numpy())
    return np.concatenate(outs) if outs else np.empty((0, 0))
