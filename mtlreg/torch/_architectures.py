"""Multi-task architectures: where parameters are shared.

Every architecture is an ``nn.Module`` with one job: map a batch ``x (n, d)`` to
one output per task, ``(n, T)``. Which output counts for which row (every column
in the shared layout, the row's own task in the per-task layout) and how the
per-task losses are combined are decided elsewhere (``_training.py``,
``_weighting.py``, ``_aggregation.py``). Each module also says which of its
parameters are shared between tasks (``shared_parameters``: the ones gradient
aggregation acts on) and may add a penalty to the loss (``penalty``).

The task-specific parts are batched over tasks (weights of shape ``(T, in, out)``,
one ``einsum`` per layer) rather than held in ``T`` separate modules, so a
forward pass costs a handful of kernel launches whatever the number of tasks.
"""

import inspect
import math

import torch
from torch import nn

ACTIVATIONS = {"relu": nn.ReLU, "tanh": nn.Tanh, "gelu": nn.GELU, "identity": nn.Identity}


def _mlp(sizes, activation, dropout):
    """Dense layers ``sizes[0] -> ... -> sizes[-1]``, each followed by the activation."""
    layers = []
    for n_in, n_out in zip(sizes[:-1], sizes[1:]):
        layers += [nn.Linear(n_in, n_out), ACTIVATIONS[activation]()]
        if dropout:
            layers.append(nn.Dropout(dropout))
    return nn.Sequential(*layers)


class TaskLinear(nn.Module):
    """``T`` independent affine maps, applied batched.

    Input ``(n, in)`` (the same features for every task) or ``(n, T, in)`` (one
    representation per task); output ``(n, T, out)``. Initialised like
    :class:`torch.nn.Linear`, task by task.
    """

    def __init__(self, n_tasks, n_in, n_out):
        super().__init__()
        bound = 1.0 / math.sqrt(n_in)
        self.weight = nn.Parameter(torch.empty(n_tasks, n_in, n_out).uniform_(-bound, bound))
        self.bias = nn.Parameter(torch.empty(n_tasks, n_out).uniform_(-bound, bound))

    def forward(self, x):
        if x.dim() == 2:
            return torch.einsum("ni,tio->nto", x, self.weight) + self.bias
        return torch.einsum("nti,tio->nto", x, self.weight) + self.bias


class _TaskMLP(nn.Module):
    """One MLP per task (batched): ``(n, d)`` or ``(n, T, d)`` -> ``(n, T, h_last)``."""

    def __init__(self, n_tasks, sizes, activation, dropout):
        super().__init__()
        self.layers = nn.ModuleList(TaskLinear(n_tasks, a, b) for a, b in zip(sizes[:-1], sizes[1:]))
        self.act = ACTIVATIONS[activation]()
        self.drop = nn.Dropout(dropout) if dropout else nn.Identity()

    def forward(self, x):
        for layer in self.layers:
            x = self.drop(self.act(layer(x)))
        return x


class MultiTaskModule(nn.Module):
    """Base class: ``forward(x) -> (n, T)``; shared parameters; optional penalty."""

    def shared_parameters(self):
        return []

    def penalty(self):
        return None


class HardSharing(MultiTaskModule):
    """Hard parameter sharing: one shared trunk, one linear head per task.

    Caruana, "Multitask learning", Machine Learning 28, 1997.
    """

    def __init__(self, n_features, n_tasks, hidden_layer_sizes=(64,), activation="relu",
                 dropout=0.0):
        super().__init__()
        sizes = (n_features, *hidden_layer_sizes)
        self.trunk = _mlp(sizes, activation, dropout)
        self.heads = TaskLinear(n_tasks, sizes[-1], 1)

    def forward(self, x):
        return self.heads(self.trunk(x))[..., 0]

    def shared_parameters(self):
        return list(self.trunk.parameters())


class Independent(MultiTaskModule):
    """No sharing at all: one network per task (the baseline negative transfer is
    measured against). Same shape as a tower of :class:`SoftSharing`."""

    def __init__(self, n_features, n_tasks, hidden_layer_sizes=(64,), activation="relu",
                 dropout=0.0):
        super().__init__()
        sizes = (n_features, *hidden_layer_sizes)
        self.towers = _TaskMLP(n_tasks, sizes, activation, dropout)
        self.heads = TaskLinear(n_tasks, sizes[-1], 1)

    def forward(self, x):
        return self.heads(self.towers(x))[..., 0]


class SoftSharing(Independent):
    """Soft parameter sharing: one tower per task, and the penalty

        (reg / 2) * sum_layers sum_t ||theta_t - mean_s theta_s||^2

    pulling the towers' weights towards their mean: the neural version of the
    mean-regularized linear model (Evgeniou & Pontil, KDD 2004; Duong et al.,
    ACL 2015, used an l2 distance between two networks' parameters).
    """

    def __init__(self, n_features, n_tasks, hidden_layer_sizes=(64,), activation="relu",
                 dropout=0.0, reg=1e-2):
        super().__init__(n_features, n_tasks, hidden_layer_sizes, activation, dropout)
        self.reg = reg

    def penalty(self):
        total = 0.0
        for layer in [*self.towers.layers, self.heads]:
            for p in (layer.weight, layer.bias):
                total = total + ((p - p.mean(dim=0, keepdim=True)) ** 2).sum()
        return 0.5 * self.reg * total


class CrossStitch(MultiTaskModule):
    """Cross-stitch network: one tower per task; after every layer the task
    representations are mixed by a learnable ``T x T`` matrix (initialised to
    ``alpha`` on the diagonal and ``(1 - alpha) / (T - 1)`` elsewhere).

    Misra, Shrivastava, Gupta & Hebert, "Cross-stitch networks for multi-task
    learning", CVPR 2016.
    """

    def __init__(self, n_features, n_tasks, hidden_layer_sizes=(64,), activation="relu",
                 dropout=0.0, alpha=0.9):
        super().__init__()
        sizes = (n_features, *hidden_layer_sizes)
        self.layers = nn.ModuleList(TaskLinear(n_tasks, a, b) for a, b in zip(sizes[:-1], sizes[1:]))
        off = (1.0 - alpha) / max(n_tasks - 1, 1)
        init = torch.full((n_tasks, n_tasks), off)
        init.fill_diagonal_(alpha if n_tasks > 1 else 1.0)
        self.stitches = nn.ParameterList(nn.Parameter(init.clone()) for _ in hidden_layer_sizes)
        self.act = ACTIVATIONS[activation]()
        self.drop = nn.Dropout(dropout) if dropout else nn.Identity()
        self.heads = TaskLinear(n_tasks, sizes[-1], 1)

    def forward(self, x):
        for layer, stitch in zip(self.layers, self.stitches):
            x = self.drop(self.act(layer(x)))          # (n, T, h)
            x = torch.einsum("ts,nsh->nth", stitch, x)  # task t mixes every task's units
        return self.heads(x)[..., 0]

    def shared_parameters(self):
        return list(self.stitches.parameters())


class MMoE(MultiTaskModule):
    """Multi-gate mixture of experts: ``n_experts`` shared expert networks, and per
    task a softmax gate (linear in ``x``) that mixes them, then a linear head.

    Ma, Zhao, Yi, Chen, Hong & Chi, "Modeling task relationships in multi-task
    learning with multi-gate mixture-of-experts", KDD 2018.
    """

    def __init__(self, n_features, n_tasks, hidden_layer_sizes=(64,), activation="relu",
                 dropout=0.0, n_experts=4):
        super().__init__()
        sizes = (n_features, *hidden_layer_sizes)
        self.experts = _TaskMLP(n_experts, sizes, activation, dropout)  # batched over experts
        self.gates = nn.Linear(n_features, n_tasks * n_experts)
        self.n_tasks, self.n_experts = n_tasks, n_experts
        self.heads = TaskLinear(n_tasks, sizes[-1], 1)

    def forward(self, x):
        experts = self.experts(x)                                    # (n, E, h)
        gates = self.gates(x).view(-1, self.n_tasks, self.n_experts).softmax(dim=-1)
        mixed = torch.einsum("nte,neh->nth", gates, experts)         # (n, T, h)
        return self.heads(mixed)[..., 0]

    def shared_parameters(self):
        return list(self.experts.parameters())


class TaskAttention(MultiTaskModule):
    """Shared trunk with task-specific attention over its features, after every
    layer: task ``t`` sees ``a_t^l * h^l`` with the mask
    ``a_t^l = sigmoid(A_t^l [h^l, P^l f_t^{l-1}])``, where ``h^l`` is the shared
    feature of layer ``l``, ``f_t^{l-1}`` the task's attended feature of the layer
    before and ``P^l`` a shared projection (absent at the first layer).

    The tabular analogue of the Multi-Task Attention Network of Liu, Johns &
    Davison, "End-to-end multi-task learning with attention", CVPR 2019 (MTAN),
    where the attention modules are small convolutions over feature maps.
    """

    def __init__(self, n_features, n_tasks, hidden_layer_sizes=(64,), activation="relu",
                 dropout=0.0):
        super().__init__()
        sizes = (n_features, *hidden_layer_sizes)
        self.trunk = nn.ModuleList(_mlp(sizes[i:i + 2], activation, dropout)
                                   for i in range(len(hidden_layer_sizes)))
        self.attention = nn.ModuleList(
            TaskLinear(n_tasks, h if i == 0 else 2 * h, h)
            for i, h in enumerate(hidden_layer_sizes))
        self.project = nn.ModuleList(nn.Linear(a, b, bias=False) for a, b in
                                     zip(hidden_layer_sizes[:-1], hidden_layer_sizes[1:]))
        self.heads = TaskLinear(n_tasks, sizes[-1], 1)
        self.n_tasks = n_tasks

    def forward(self, x):
        h, f = x, None
        for i, layer in enumerate(self.trunk):
            h = layer(h)                                               # (n, h_l) shared
            shared = h.unsqueeze(1).expand(-1, self.n_tasks, -1)       # (n, T, h_l)
            att_in = shared if f is None else torch.cat([shared, self.project[i - 1](f)], -1)
            f = torch.sigmoid(self.attention[i](att_in)) * shared     # (n, T, h_l)
        return self.heads(f)[..., 0]

    def shared_parameters(self):
        return [*self.trunk.parameters(), *self.project.parameters()]


ARCHITECTURES = {
    "hard": HardSharing,
    "independent": Independent,
    "soft": SoftSharing,
    "cross_stitch": CrossStitch,
    "mmoe": MMoE,
    "attention": TaskAttention,
}


_COMMON = ("n_features", "n_tasks", "hidden_layer_sizes", "activation", "dropout")


def option_names(name):
    """The ``architecture_options`` keys that ``architecture=name`` accepts."""
    return [p for p in inspect.signature(ARCHITECTURES[name]).parameters if p not in _COMMON]


def shares_parameters(name):
    """Whether ``architecture=name`` has parameters shared between tasks (those that
    GradNorm and the gradient aggregators act on): ``"independent"`` and ``"soft"``
    have none (the soft towers are only pulled together by a penalty)."""
    return ARCHITECTURES[name].shared_parameters is not MultiTaskModule.shared_parameters


def build_architecture(name, n_features, n_tasks, hidden_layer_sizes, activation, dropout,
                       options=None):
    """The module for ``architecture=name``; ``options`` its own parameters
    (``reg`` for ``"soft"``, ``alpha`` for ``"cross_stitch"``, ``n_experts`` for ``"mmoe"``)."""
    return ARCHITECTURES[name](n_features, n_tasks, tuple(hidden_layer_sizes), activation,
                               dropout, **(options or {}))
