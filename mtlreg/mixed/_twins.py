r"""Strengths of the quadratic penalised models by restricted likelihood (issue 25 item 3).

The mean-regularised squared loss (:class:`mtlreg.MeanRegularizedRegressor`, free
intercepts, ``l2_reg = 0``)

.. math::

    \sum_t \sum_{i \in t} \frac{c_{it}}{2} (y_i - x_i^\top w_t - b_t)^2
        + \frac{\alpha}{2} \sum_t \lVert w_t - \bar w \rVert^2,
    \qquad c_{it} = \lambda_t s_i / n_t,

is, up to the factor ``sigma^2``, the negative log posterior of its *Bayesian twin*: a
linear mixed model with a fixed intercept per task, fixed population slopes ``beta``
(flat prior) and isotropic random slopes,

.. math::

    y_i = b_t + x_i^\top (\beta + u_t) + e_i, \qquad u_t \sim N(0, \tau^2 I), \qquad
    e_i \sim N(0, \sigma^2 / c_{it}),

(the minimiser over ``beta`` of ``sum_t ||w_t - beta||^2`` is the mean ``w_bar``), with
``alpha = sigma^2 / tau^2``: the posterior mode, which for a Gaussian is the posterior
mean, is the penalised solution. The twin's variance ratio is estimated by restricted
maximum likelihood (REML), which handles the per-task intercepts exactly: REML is the
likelihood of error contrasts, and the within-task contrasts (``n_t - 1`` per task,
orthogonal to the task's intercept in the ``c``-metric) annihilate them, so that the
restricted likelihood is that of the model without intercepts on the statistics
centred within each task (the Schur complement of the intercept in the task's Gram
matrix). Without intercepts (``fit_intercept=False``) the statistics are used as they
are. Sample weights are frequency weights, as in
:class:`mtlreg.HierarchicalRegressor`: the contrasts number ``sum_t (n_t - 1)``.

Everything comes from the per-task Gram form of the layout (``H_t``, ``r_t`` with the
intercept last, the constant ``sum c y^2 / 2``): in-memory, float32 and Dask fits alike.
"""

import numpy as np

from ._covariance import make_structure
from ._fit import fit_mixed
from ._statistics import MixedStatistics, independent_columns


class _CentredStatistics(MixedStatistics):
    """Statistics of the within-task contrasts: ``n`` is ``n_t - 1``, not ``S[:, 0, 0]``."""

    def __init__(self, S, random, fixed, n_contrasts):
        super().__init__(S, random, fixed)
        self._n = n_contrasts

    @property
    def n(self):
        return self._n


def centred_statistics(H, r, const, n_t, intercept=True):
    """:class:`MixedStatistics` of the twin from the Gram form with the intercept last:
    ``S_t = [[C_t, g_t], [g_t^T, .]]`` with ``C_t`` and ``g_t`` the Schur complements of
    the intercept in ``H_t`` and ``r_t``. Only the sum over tasks of the ``y y`` entries
    enters the criterion and its EM step, so the total centred ``sum c (y - ybar_t)^2``
    is held by the first task."""
    if not intercept:  # no intercepts to profile: the Gram form as it is, n_t rows
        T, d = r.shape
        S = np.empty((T, d + 1, d + 1))
        S[:, :d, :d], S[:, :d, d], S[:, d, :d] = H, r, r
        S[:, d, d] = 0.0
        S[0, d, d] = 2.0 * const
        fixed = independent_columns(H.sum(axis=0))
        return _CentredStatistics(S, np.arange(d), fixed, np.asarray(n_t, dtype=float))
    T, k = r.shape
    d = k - 1
    hb = H[:, d, d]
    live = hb > 0
    safe = np.where(live, hb, 1.0)
    hx = H[:, :d, d]
    S = np.zeros((T, d + 1, d + 1))
    S[:, :d, :d] = H[:, :d, :d] - np.where(live, 1.0, 0.0)[:, None, None] * (
        hx[:, :, None] * hx[:, None, :] / safe[:, None, None])
    g = r[:, :d] - np.where(live, r[:, d] / safe, 0.0)[:, None] * hx
    S[:, :d, d] = S[:, d, :d] = g
    S[0, d, d] = max(2.0 * const - float(np.sum(np.where(live, r[:, d] ** 2 / safe, 0.0))), 0.0)
    S = 0.5 * (S + np.swapaxes(S, 1, 2))
    # a feature constant within every task (a task-level feature: School's school
    # variables) has no within-task contrast: its column is zero up to rounding, which
    # would leave S indefinite; such columns are set to exactly 0 (no fixed effect of
    # them is estimable beside free intercepts, and their random slopes see no data)
    within = np.einsum("tjj->j", S[:, :d, :d])
    total = np.einsum("tjj->j", H[:, :d, :d])
    flat = within <= 1e-10 * np.maximum(total, np.finfo(float).tiny)
    S[:, :d][:, flat] = 0.0
    S[:, :, :d][:, :, flat] = 0.0
    fixed = independent_columns(S[:, :d, :d].sum(axis=0))
    return _CentredStatistics(S, np.arange(d), fixed, np.clip(n_t - 1.0, 0.0, None))


def mean_regularization_reml(H, r, const, n_t, *, intercept=True, tol=1e-7, max_iter=1000):
    """``(alpha, fit)``: the REML estimate of the mean-regularisation strength
    ``alpha = sigma^2 / tau^2`` of the squared loss in Gram form (see the module
    docstring), and the twin's :class:`~mtlreg.mixed.MixedFit`. ``alpha`` is ``inf``
    when the restricted likelihood is largest with ``tau^2 = 0`` (no between-task
    variation of the slopes)."""
    stats = centred_statistics(H, r, const, np.asarray(n_t, dtype=float), intercept)
    if float(np.sum(stats.n)) <= len(stats.fixed):
        raise ValueError(
            f"alpha='reml' needs more labelled samples than free intercepts plus "
            f"independent features: {float(np.sum(n_t)):g} sample(s) for "
            f"{len(n_t) if intercept else 0} intercept(s) and {len(stats.fixed)} "
            "feature(s).")
    structure = make_structure("isotropic", len(stats.random))
    fit = fit_mixed(stats, structure, reml=True, tol=tol, max_iter=max_iter)
    psi = float(fit.evaluation.Psi[0, 0])
    return (1.0 / psi if psi > 0 else np.inf), fit


__all__ = ["centred_statistics", "mean_regularization_reml"]
