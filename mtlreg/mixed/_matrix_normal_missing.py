r"""The matrix-normal model of :mod:`._matrix_normal` with missing labels.

When task ``t`` is labelled on its own rows ``L_t`` (NaN elsewhere), the rotation by
the eigenvectors of one ``X^T X`` no longer splits the problem. The criterion is then
computed from per-task statistics (``X``: the features, centred and scaled once over
all rows; weights ``w``): ``n_t = sum_{L_t} w_i``, the task's means ``x_t``, ``y_t``,
the Gram matrices ``G_t = X_{L_t}^T W X_{L_t}`` (about the global centre) and
``C_t = G_t - n_t x_t x_t^T`` (about the task's mean), ``r_t = (X - x_t)_{L_t}^T W
(y - y_t)_{L_t}``, ``q_t = ||(y - y_t)_{L_t}||_W^2``. With ``Omega = Lambda Lambda^T``
(``Lambda``: ``T x m``, a factor the covariance structure gives, singular allowed),
``phi_t = 1 / sigma_t^2``, ``B = blockdiag_t(phi_t C_t)``, ``c_t = phi_t r_t`` and

.. math::

    M = I_{md} + (\Lambda \otimes I_d)^\top B (\Lambda \otimes I_d), \qquad
    S = (\Lambda \otimes I_d) M^{-1} (\Lambda \otimes I_d)^\top, \qquad \mu = S c,

(``S``, ``mu``: the posterior covariance and mean of ``vec(W)``, task-major), the
criteria (``-2`` log-likelihood with every constant, as in :mod:`._matrix_normal`) are

.. math::

    f_{REML} = \sum_t (n_t - 1) \log\sigma_t^2 + \log|M| + \sum_t \phi_t q_t
        - c^\top \mu + (N_{obs} - T) \log 2\pi + \sum_t \log n_t,

    f_{ML} = \sum_t n_t \log\sigma_t^2 + \log|M_G| + \sum_t \phi_t q_t - c^\top \mu
        + N_{obs} \log 2\pi,

with ``M_G`` the ``M`` of the global-centre Grams ``G_t`` (ML's ``log|V|`` sees the
design about the centre the model is stated in; its quadratic form, at the GLS
intercepts, is the within-task one). ``log|V| = log|R| + log|M|`` is the matrix
determinant lemma; ``c^T mu`` the Woodbury form of the quadratic. Without missing labels
these equal the rotated criteria. The gradients, for either pair ``(B, S)``:
``df/dOmega_ab = delta_ab tr(B_a) - tr(B_a S_ab B_b)`` from ``log|M|``, and
``-u_a^T u_b`` from the quadratic with ``u = c - B mu``;
``df/dphi_t = tr(S_tt C_t) + q_t - 2 mu_t^T r_t + mu_t^T C_t mu_t - nu_t / phi_t``.
One evaluation costs ``O((m d)^3)``: for moderate ``d T``.
"""

from dataclasses import dataclass

import numpy as np

from ._matrix_normal import LOG_2PI, Evaluation


@dataclass
class TaskStatistics:
    """Per-task statistics of standardised features and targets (module docstring)."""

    n: np.ndarray  # (T,)
    G: np.ndarray  # (T, d, d) about the global centre
    C: np.ndarray  # (T, d, d) about the task's mean
    r: np.ndarray  # (T, d)
    q: np.ndarray  # (T,)
    x_mean: np.ndarray  # (T, d)
    y_mean: np.ndarray  # (T,)

    @property
    def n_tasks(self):
        return len(self.n)

    @property
    def n_features(self):
        return self.G.shape[1]

    @property
    def N(self):
        return float(np.sum(self.n))


def task_statistics(Xs, Y, w):
    """:class:`TaskStatistics` from a dense design ``Xs`` (standardised), targets ``Y``
    (NaN = missing) and weights ``w``."""
    T = Y.shape[1]
    d = Xs.shape[1]
    out = dict(n=np.zeros(T), G=np.zeros((T, d, d)), C=np.zeros((T, d, d)),
               r=np.zeros((T, d)), q=np.zeros(T), x_mean=np.zeros((T, d)), y_mean=np.zeros(T))
    for t in range(T):
        rows = np.flatnonzero(~np.isnan(Y[:, t]) & (w > 0))
        wt, Xt, yt = w[rows], Xs[rows], Y[rows, t]
        n = float(np.sum(wt))
        xm = wt @ Xt / n
        ym = float(wt @ yt / n)
        Xc, yc = Xt - xm, yt - ym
        out["n"][t] = n
        out["G"][t] = Xt.T @ (wt[:, None] * Xt)
        out["C"][t] = Xc.T @ (wt[:, None] * Xc)
        out["r"][t] = Xc.T @ (wt * yc)
        out["q"][t] = float(wt @ yc ** 2)
        out["x_mean"][t] = xm
        out["y_mean"][t] = ym
    return TaskStatistics(**out)


def _posterior(Bt, c, Lam):
    """``log|M|``, ``S`` (``(T, d, T, d)``) and ``mu`` (``(T, d)``) for the blocks ``Bt``
    (``(T, d, d)``), ``c`` (``(T, d)``) and the factor ``Lam`` (``(T, m)``)."""
    T, d, _ = Bt.shape
    m = Lam.shape[1]
    A = np.einsum("tp,tq,tij->piqj", Lam, Lam, Bt).reshape(m * d, m * d)
    M = np.eye(m * d) + (A + A.T) / 2
    chol = np.linalg.cholesky(M)
    logdet = 2.0 * float(np.sum(np.log(np.diag(chol))))
    Minv = np.linalg.inv(M).reshape(m, d, m, d)
    S = np.einsum("tp,piqj,sq->tisj", Lam, Minv, Lam)
    mu = np.einsum("tisj,sj->ti", S, c)
    return logdet, S, mu


def evaluate_missing(ts, Lam, sigma2, method="reml", gradient=True):
    """``f`` (``-2`` log-likelihood, module docstring) at ``Omega = Lam Lam^T`` and its
    gradient in ``Omega`` (symmetric) and ``sigma^2``, as an :class:`Evaluation`."""
    phi = 1.0 / sigma2
    T = ts.n_tasks
    Bc = phi[:, None, None] * ts.C
    c = phi[:, None] * ts.r
    logdet_c, S_c, mu = _posterior(Bc, c, Lam)
    if method == "reml":
        nu = ts.n - 1.0
        logdet, Bd, S_d, Cd = logdet_c, Bc, S_c, ts.C
        const = (ts.N - T) * LOG_2PI + float(np.sum(np.log(ts.n)))
    else:
        nu = ts.n
        Bd, Cd = phi[:, None, None] * ts.G, ts.G
        logdet, S_d, _ = _posterior(Bd, c, Lam)
        const = ts.N * LOG_2PI
    value = (float(nu @ np.log(sigma2)) + logdet + float(phi @ ts.q) - float(np.sum(c * mu))
             + const)
    if not gradient:
        return Evaluation(value, None, None)
    # d/dOmega: log|M| part (the determinant's B, S) and the quadratic part (centred)
    trB = np.einsum("tii->t", Bd)
    BS = np.einsum("aij,ajbk->aibk", Bd, S_d)
    trBSB = np.einsum("aibk,bki->ab", BS, Bd)
    u = c - np.einsum("tij,tj->ti", Bc, mu)
    g_omega = np.diag(trB) - trBSB - u @ u.T
    # d/dphi
    S_tt = np.einsum("titj->tij", S_d)
    g_phi = (np.einsum("tij,tji->t", S_tt, Cd) + ts.q - 2.0 * np.sum(mu * ts.r, axis=1)
             + np.einsum("ti,tij,tj->t", mu, ts.C, mu) - nu / phi)
    return Evaluation(value, (g_omega + g_omega.T) / 2, -phi ** 2 * g_phi)


def posterior_missing(ts, Lam, sigma2):
    """Posterior mean of ``W`` (``(d, T)``, standardised units) and the intercepts
    ``b_t = y_t - x_t^T w_t`` (unit-variance targets)."""
    phi = 1.0 / sigma2
    _, _, mu = _posterior(phi[:, None, None] * ts.C, phi[:, None] * ts.r, Lam)
    return mu.T, ts.y_mean - np.sum(ts.x_mean * mu, axis=1)


__all__ = ["TaskStatistics", "evaluate_missing", "posterior_missing", "task_statistics"]
