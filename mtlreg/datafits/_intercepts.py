"""Intercept-only problems of the datafits without a closed form (Poisson with an
offset, Huber): per task, the root of an increasing scalar function of ``b_t``."""

import numpy as np

MAX_STEPS = 200


def task_roots(g, lo, hi, b0):
    """Per task the root of ``g(b) -> (value, slope)``, increasing in each ``b_t``, inside
    ``[lo, hi]`` (a bracket: ``g(lo) <= 0 <= g(hi)``): Newton steps kept inside the
    bracket, bisection when a step leaves it or the slope is zero. All tasks at once;
    stops when no ``b_t`` moves by more than ``1e-15 (1 + |b_t|)``."""
    lo, hi = np.array(lo, dtype=float), np.array(hi, dtype=float)
    b = np.clip(np.asarray(b0, dtype=float), lo, hi)
    for _ in range(MAX_STEPS):
        value, slope = g(b)
        lo, hi = np.where(value < 0, b, lo), np.where(value > 0, b, hi)
        with np.errstate(divide="ignore", invalid="ignore"):
            step = b - value / slope
        inside = (slope > 0) & (step > lo) & (step < hi)
        b_new = np.where(value == 0, b, np.where(inside, step, 0.5 * (lo + hi)))
        if np.all(np.abs(b_new - b) <= 1e-15 * (1.0 + np.abs(b))):
            return b_new
        b = b_new
    return b


def broadcast_intercepts(layout, b):
    """``b_t`` at every observation of task ``t`` (the predictor of ``W = 0``)."""
    return layout.matvec(np.zeros((layout.n_features, layout.n_tasks)), np.asarray(b, float))
