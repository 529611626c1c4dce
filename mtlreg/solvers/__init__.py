"""Solvers: they see a datafit and a penalty, nothing else."""

from .direct import solve_mean_regularized
from .fista import SolverResult, fista, kkt_violation, result_at

__all__ = ["SolverResult", "fista", "kkt_violation", "result_at", "solve_mean_regularized"]
