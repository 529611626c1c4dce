"""Solvers: they see a datafit and a penalty, nothing else.

``fista`` works for every datafit and penalty; ``admm`` (exact per-task solves)
and ``bcd`` (block coordinate descent) need the squared loss in Gram form;
``newton`` (proximal Newton) solves a non-quadratic datafit (the logistic loss)
through its quadratic models, each minimised by ``admm``, ``bcd`` or ``fista``;
``solve_mean_regularized`` is the direct solve of the mean-regularized squared loss.
"""

from .admm import admm, supports_admm
from .bcd import bcd, has_sparse_rows, prefers_bcd, supports_bcd
from .direct import solve_mean_regularized
from .fista import SolverResult, fista, kkt_violation, result_at
from .newton import newton, prefers_newton, supports_newton

SOLVERS = {"fista": fista, "admm": admm, "bcd": bcd, "newton": newton}


def select_solver(name, datafit, penalty):
    """The solver function for ``name``.

    ``"auto"``: for a non-quadratic datafit (the logistic loss) proximal Newton when
    its per-task Hessians stay small (``newton.prefers_newton``: ``k = n_features + 1
    <= 256`` and ``n_tasks k^2 <= 4e6``; its subproblems go to ADMM, BCD or FISTA
    on the Gram-form quadratic model), else FISTA. For the squared loss ADMM where it
    applies (Gram form; robust to badly scaled features), else block coordinate
    descent where it applies (the dirty model in Gram form,
    a dense shared design with a row-separable penalty, a dense per-task design with
    a sparsity-inducing row penalty), else FISTA (logistic loss, sparse designs,
    ridge-like penalties on per-task data with many features). The datafit's form
    is chosen before (``datafits.make_datafit``): on a shared design with sparse
    rows the Gram form, hence ADMM, only when ``n_features + 1 <= 4 n_tasks``.
    Choices measured in ``benchmarks/results/solvers.md``. In particular ``"auto"``
    never leaves the dirty model in Gram form to FISTA or BCD when ADMM can split it:
    on ill-conditioned data they are slow by nature, not by a bug (MALSAR's dirty
    setting on raw School without intercept: relative suboptimality 1e-4 after 10 000
    iterations and 8e-6 after 40 000, decreasing steadily; ADMM: 3e-10 after 4 165,
    ``benchmarks/results/admm_schedule.md``).

    A callable ``name`` is returned as is: a solver with the signature of
    :func:`fista` (``mtlreg.torch.TorchFISTA`` runs FISTA on torch tensors).
    """
    if callable(name):
        return name
    if name == "auto":
        if prefers_newton(datafit, penalty):
            name = "newton"
        elif supports_admm(datafit, penalty):
            name = "admm"
        elif supports_bcd(datafit, penalty) and prefers_bcd(datafit, penalty):
            name = "bcd"
        else:
            name = "fista"
    return SOLVERS[name]


__all__ = [
    "SOLVERS",
    "SolverResult",
    "admm",
    "bcd",
    "fista",
    "has_sparse_rows",
    "kkt_violation",
    "newton",
    "prefers_newton",
    "result_at",
    "select_solver",
    "solve_mean_regularized",
    "supports_admm",
    "supports_bcd",
    "supports_newton",
]
