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

With shrunk intercepts (``intercept_reg="reml"``, :func:`shrunk_mean_regularization_reml`)
the objective gains ``intercept_reg / 2 sum_t lambda_t (b_t - b_bar)^2`` (``b_bar`` free,
:mod:`mtlreg.linear_model._intercept_reg`, ``b_t`` the uncentred intercepts) and the twin
is the mixed model with a random intercept AND isotropic random slopes,

.. math::

    y_i = (b_0 + c_t) + x_i^\top (\beta + u_t) + e_i, \qquad
    c_t \sim N\!\left(0, \frac{\sigma^2 \psi_b}{\lambda_t}\right), \qquad
    u_t \sim N(0, \sigma^2 \psi_w I), \qquad e_i \sim N(0, \sigma^2 / c_{it}),

with flat priors on ``b_0`` and ``beta``. Its negative log posterior times ``sigma^2`` is
the penalised objective with ``intercept_reg = 1 / psi_b`` and ``alpha = 1 / psi_w``
(``b_0`` and ``beta`` minimised out are the ``lambda``-weighted mean intercept ``b_bar``
and the mean slope ``w_bar``), so the penalised solution at those strengths is the twin's
GLS fixed effects plus the posterior means (BLUPs) of ``c_t`` and ``u_t``. Note the
intercept variance ``sigma^2 psi_b / lambda_t``: the term carries ``lambda_t``, as the data
term does (each task's rows sum their weights ``c_it`` to ``lambda_t``), so an intercept
alone is shrunk by the factor ``1 / (1 + intercept_reg)`` whatever the task's size; the
standard random-intercept model (variance ``tau^2`` for every task) shrinks small tasks
more, and is :class:`mtlreg.HierarchicalRegressor`. Both variance ratios are estimated
together by REML (fixed effects ``[1, x]``, ``sum_t n_t - rank`` contrasts), the
intercept's random-effects column being ``lambda_t^{-1/2}`` in task ``t`` (so that one
``psi_b`` serves every task).

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


class InterceptAndIsotropic:
    """The twin's covariance with random intercepts: ``Lambda = diag(theta_b, theta_w I_d)``
    over ``[intercept, slopes]`` (two variances; the structure interface of
    :mod:`mtlreg.mixed._covariance`)."""

    name = "intercept + isotropic"

    def __init__(self, q):
        self.q = q
        self.n_params = 2 if q > 1 else 1

    def lam(self, theta):
        return np.diag(np.append(theta[0], np.full(self.q - 1, theta[-1])))

    def gradient(self, theta, grad_lam):
        g = [grad_lam[0, 0]]
        if self.q > 1:
            g.append(np.trace(grad_lam[1:, 1:]))
        return np.array(g)

    def bounds(self):
        return [(0.0, None)] * self.n_params

    def project(self, Psi):
        return np.diag(np.append(Psi[0, 0], np.full(self.q - 1, np.mean(np.diag(Psi)[1:])
                                                      if self.q > 1 else 0.0)))

    def from_psi(self, Psi):
        theta = [np.sqrt(max(float(Psi[0, 0]), 0.0))]
        if self.q > 1:
            theta.append(np.sqrt(max(float(np.mean(np.diag(Psi)[1:])), 0.0)))
        return np.array(theta)


class _CountedStatistics(MixedStatistics):
    """:class:`MixedStatistics` whose row counts are given (the frequency-weighted ``n_t``,
    not the ``c``-weighted ``S[:, 0, 0]``)."""

    def __init__(self, S, random, fixed, n_rows):
        super().__init__(S, random, fixed)
        self._n = n_rows

    @property
    def n(self):
        return self._n


def shrunk_statistics(H, r, const, n_t, mu, lambdas):
    """The twin's statistics with random intercepts (module docstring) from the Gram form
    with the intercept last (``a_i = [x_i - mu_t, 1]``): columns ``[1, x, z, y]`` with
    ``z = lambda_t^{-1/2}`` in task ``t`` (0 where ``lambda_t = 0``: such a task's rows
    weigh nothing), uncentred (``[1, x] = P_t a``). Fixed: the independent columns of
    ``[1, x]``; random: ``z`` then every feature. The ``y y`` total sits in the first task
    (only its sum over tasks enters the criterion and the EM step)."""
    T, k = r.shape
    d = k - 1
    P = np.zeros((T, k, k))
    P[:, 0, d] = 1.0
    P[:, 1:, :d] = np.eye(d)
    P[:, 1:, d] = mu
    G = P @ H @ np.swapaxes(P, 1, 2)
    g = np.einsum("tab,tb->ta", P, r)
    lam = np.asarray(lambdas, dtype=float)
    z = np.where(lam > 0, 1.0 / np.sqrt(np.where(lam > 0, lam, 1.0)), 0.0)
    S = np.zeros((T, k + 2, k + 2))
    S[:, :k, :k] = G
    S[:, :k, k] = S[:, k, :k] = z[:, None] * G[:, 0, :]
    S[:, k, k] = z * z * G[:, 0, 0]
    S[:, :k, k + 1] = S[:, k + 1, :k] = g
    S[:, k, k + 1] = S[:, k + 1, k] = z * g[:, 0]
    S[0, k + 1, k + 1] = 2.0 * const
    S = 0.5 * (S + np.swapaxes(S, 1, 2))
    fixed = independent_columns(G.sum(axis=0))
    random = np.append(k, np.arange(1, k))
    n_rows = np.where(lam > 0, np.asarray(n_t, dtype=float), 0.0)
    return _CountedStatistics(S, random, fixed, n_rows)


def shrunk_mean_regularization_reml(H, r, const, n_t, mu, lambdas, *, tol=1e-7, max_iter=1000):
    """``(alpha, intercept_reg, fit)``: the REML estimates of both strengths of the
    mean-regularised squared loss with shrunk intercepts (``alpha = 1 / psi_w``,
    ``intercept_reg = 1 / psi_b``, see the module docstring), and the twin's
    :class:`~mtlreg.mixed.MixedFit`. A strength is ``inf`` when the restricted
    likelihood is largest with its variance 0."""
    stats = shrunk_statistics(H, r, const, n_t, mu, lambdas)
    if float(np.sum(stats.n)) <= len(stats.fixed):
        raise ValueError(
            f"alpha='reml' with intercept_reg='reml' needs more labelled samples than "
            f"independent columns of [1, X]: {float(np.sum(stats.n)):g} sample(s) for "
            f"{len(stats.fixed)} column(s).")
    structure = InterceptAndIsotropic(len(stats.random))
    fit = fit_mixed(stats, structure, reml=True, tol=tol, max_iter=max_iter)
    psi = np.diag(fit.evaluation.Psi)
    psi_b, psi_w = float(psi[0]), float(psi[-1]) if len(psi) > 1 else 0.0
    return (1.0 / psi_w if psi_w > 0 else np.inf), (1.0 / psi_b if psi_b > 0 else np.inf), fit


__all__ = ["InterceptAndIsotropic", "centred_statistics", "mean_regularization_reml",
           "shrunk_mean_regularization_reml", "shrunk_statistics"]
