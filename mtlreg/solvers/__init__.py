"""Solvers: they see a datafit and a penalty, nothing else."""

from .fista import SolverResult, fista, kkt_violation

__all__ = ["SolverResult", "fista", "kkt_violation"]
