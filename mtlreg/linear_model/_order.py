"""The time order of the tasks for the models of tasks ordered in time (TGL, fused).

Without ``task_order`` the order is that of ``tasks_``, the *sorted* task labels:
numbers sort numerically, strings lexicographically (``"t10" < "t2"``). A warning
says so when the lexicographic order of string labels differs from their natural
order (digit runs compared as numbers).
"""

import re
import warnings

import numpy as np

from ..utils._messages import format_tasks

TASK_ORDER_DOC = """task_order : array-like of task labels, default=None
        The time order of the tasks (each label of ``tasks_`` once). ``None``: the
        order of ``tasks_``, the sorted labels -- numbers sort numerically, strings
        lexicographically (``"t10"`` before ``"t2"``; a warning says so when that
        differs from the natural order of the labels). The coefficients
        (``coef_``) stay in the order of ``tasks_``.
    """


def _natural_key(label):
    return [int(part) if part.isdigit() else part
            for part in re.split(r"(\d+)", str(label))]


def task_positions(tasks, task_order, owner):
    """Positions in ``tasks`` of the tasks in time order (an index array)."""
    tasks = np.asarray(tasks)
    T = len(tasks)
    if task_order is None:
        if tasks.dtype.kind in "OUS" and T > 1:
            natural = sorted(range(T), key=lambda k: _natural_key(tasks[k]))
            if natural != list(range(T)):
                first = [str(t) for t in tasks[:5]]
                wanted = [str(tasks[k]) for k in natural[:5]]
                warnings.warn(
                    f"{type(owner).__name__} orders the tasks in time by their sorted "
                    f"labels, lexicographically for strings: {first}... differs from "
                    f"their natural order {wanted}... Give the time order with "
                    "task_order=[...] (or numeric task labels).", UserWarning)
        return np.arange(T)
    order = np.asarray(task_order)
    if order.ndim != 1 or len(order) != T:
        raise ValueError(f"task_order must list each of the {T} tasks once; got "
                         f"{len(order) if order.ndim == 1 else order.shape} entries.")
    lookup = {(v.item() if hasattr(v, "item") else v): k for k, v in enumerate(tasks)}
    positions = []
    for label in order:
        label = label.item() if hasattr(label, "item") else label
        if label not in lookup:
            raise ValueError(f"task_order names {label!r}, which is not a task of the data "
                             f"({format_tasks(tasks)}).")
        positions.append(lookup[label])
    if len(set(positions)) != T:
        raise ValueError("task_order must list each task once; it has repeated tasks.")
    return np.asarray(positions, dtype=np.intp)


def chain_adjacency(positions):
    """Adjacency of the chain through the tasks at ``positions`` (in ``tasks_`` order)."""
    T = len(positions)
    A = np.zeros((T, T))
    A[positions[:-1], positions[1:]] = A[positions[1:], positions[:-1]] = 1.0
    return A


class ColumnPermuted:
    """``penalty(W[:, positions])``: a penalty on the tasks in time order, for ``W`` in
    the order of ``tasks_`` (value, prox, optimality measure, ``alpha_max`` permuted)."""

    def __init__(self, penalty, positions):
        self.penalty = penalty
        self.positions = np.asarray(positions)
        self.inverse = np.argsort(self.positions)

    def value(self, W):
        return self.penalty.value(W[:, self.positions])

    def prox(self, W, step):
        return np.ascontiguousarray(
            self.penalty.prox(np.ascontiguousarray(W[:, self.positions]), step)[:, self.inverse])

    def subdiff_distance(self, W, G):
        p = self.positions
        return self.penalty.subdiff_distance(np.ascontiguousarray(W[:, p]),
                                             np.ascontiguousarray(G[:, p]))

    def alpha_max(self, G0):
        return self.penalty.alpha_max(np.ascontiguousarray(G0[:, self.positions]))

    def forward_backward_split(self):
        return None
