r"""The matrix-normal model of the shared layout: a learned covariance between tasks.

One design ``X`` (``n x d``, centred: every column sums to 0 with the row weights),
``T`` targets ``Y`` (``n x T``, columns centred the same way), the task intercepts
``b`` free (fixed effects), and

.. math::

    Y = 1 b^\top + X W + E, \qquad \text{rows of } E \sim N(0, D),\
    D = \mathrm{diag}(\sigma_1^2, \dots, \sigma_T^2), \qquad
    \text{rows of } W\ (d \times T) \sim N(0, \Omega)\ \text{i.i.d.},

that is ``vec(W) ~ N(0, Omega (x) I_d)`` and
``vec(Y) ~ N(vec(1 b^T), D (x) I_n + Omega (x) X X^T)``.

**The rotation.** With ``X^T X = U diag(lambda) U^T`` and ``r`` positive eigenvalues,
the orthonormal directions ``p_j = X u_j / sqrt(lambda_j)`` (``j <= r``), ``1 / sqrt(n)``
and ``n - 1 - r`` directions orthogonal to both split ``Y``: the rotated rows
``y~_j = p_j^T Y = u_j^T X^T Y / sqrt(lambda_j)`` are independent ``N(0, V_j)`` with
``V_j = D + lambda_j Omega``, and the rows along the ``n - 1 - r`` remaining directions
are ``N(0, D)``; their scatter is ``E_perp = Y^T Y - sum_j y~_j y~_j^T`` (``Y`` centred).
Hence, with ``N`` the number of rows (the sum of the frequency weights), the criteria
(``-2`` times the log-likelihood, every constant included) are

.. math::

    f_{REML} = \sum_{j \le r} \left(\log|V_j| + \tilde y_j^\top V_j^{-1} \tilde y_j\right)
        + (N - 1 - r) \log|D| + \mathrm{tr}(D^{-1} E_\perp)
        + (N - 1) T \log 2\pi + T \log N,

    f_{ML} = \sum_{j \le r} \left(\log|V_j| + \tilde y_j^\top V_j^{-1} \tilde y_j\right)
        + (N - r) \log|D| + \mathrm{tr}(D^{-1} E_\perp) + N T \log 2\pi.

``f_ML`` is ``-2 log p(vec Y | b_hat, Omega, D)`` at the generalised-least-squares
intercepts ``b_hat`` (the column means of ``Y``: ``1`` is orthogonal to ``X``'s columns);
``f_REML`` is ``-2`` times the density of the ``T (N - 1)`` error contrasts minus
``T log N`` (``log|F^T F|`` of the intercepts' design), the convention of lme4 and of
statsmodels' ``MixedLM.llf``. REML does not depend on how ``X`` is centred (a shift of
``X`` by a constant lies in the intercepts' span); ML does.

The posterior of ``W`` splits the same way: the rotated rows ``U^T W`` are independent,
row ``j`` with mean ``m_j = sqrt(lambda_j) Omega V_j^{-1} y~_j`` and covariance
``S_j = Omega - lambda_j Omega V_j^{-1} Omega`` (``m_j = 0``, ``S_j = Omega`` in the
null space of ``X``): ``T x T`` problems, ``O(r T^3)`` per evaluation. It equals the
closed form ``vec(W) = (Omega^{-1} (x) I_d + D^{-1} (x) X^T X)^{-1} (D^{-1} (x) I_d)
vec(X^T Y)`` without inverting ``Omega`` (which may be singular at the maximum).

The gradients: with ``a_j = V_j^{-1} y~_j`` and ``G_j = V_j^{-1} - a_j a_j^T``,
``df/dOmega = sum_j lambda_j G_j`` and
``df/dsigma_t^2 = sum_j (G_j)_tt + nu / sigma_t^2 - (E_perp)_tt / sigma_t^4``
(``nu = N - 1 - r`` or ``N - r``); the structures below chain them to their parameters.
"""

from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize

from ..utils._threads import single_threaded_blas

LOG_2PI = float(np.log(2.0 * np.pi))


@dataclass
class RotatedStatistics:
    """The data in the eigenbasis of ``X^T X`` (see the module docstring)."""

    lam: np.ndarray  # (r,) positive eigenvalues of X^T X
    U: np.ndarray  # (d, r) their eigenvectors
    ytil: np.ndarray  # (r, T) rotated targets
    E_perp: np.ndarray  # (T, T) scatter of Y outside the column space of X
    N: float  # number of rows (sum of the frequency weights)
    n_features: int  # d

    @property
    def n_tasks(self):
        return self.ytil.shape[1]

    @property
    def rank(self):
        return len(self.lam)


def rotate_design(Xc, Yc, N):
    """:class:`RotatedStatistics` from a dense centred design ``Xc`` (``n x d``, rows
    already multiplied by the square roots of their weights), targets ``Yc`` and the
    number of rows ``N`` (the sum of the weights), by a thin SVD (more accurate than
    the Gram matrix for nearly collinear features)."""
    P, s, Vt = np.linalg.svd(Xc, full_matrices=False)
    keep = s > _rank_tol(s, Xc.shape)
    ytil = P[:, keep].T @ Yc
    E = Yc.T @ Yc - ytil.T @ ytil
    return RotatedStatistics(s[keep] ** 2, Vt[keep].T, ytil, (E + E.T) / 2, float(N), Xc.shape[1])


def rotate_gram(gram, cross, yy, N, shape):
    """:class:`RotatedStatistics` from the centred ``X^T X`` (``d x d``), ``X^T Y`` and
    ``Y^T Y`` (weighted; ``N`` the sum of the weights): for sparse designs. ``shape``:
    ``(n, d)`` for the rank tolerance."""
    lam, U = np.linalg.eigh((gram + gram.T) / 2)
    # the eigenvalues of a Gram matrix carry an absolute error of about eps * lambda_max
    # (not eps * s_max on the singular values): the tolerance is on lambda
    keep = lam > _rank_tol(lam, shape)
    lam, U = lam[keep], U[:, keep]
    ytil = (U.T @ cross) / np.sqrt(lam)[:, None]
    E = yy - ytil.T @ ytil
    return RotatedStatistics(lam, U, ytil, (E + E.T) / 2, float(N), gram.shape[0])


def _rank_tol(s, shape):
    top = float(np.max(s, initial=0.0))
    return top * max(shape) * np.finfo(np.float64).eps


# ------------------------------------------------------------------ the criterion
@dataclass
class Evaluation:
    value: float  # f = -2 log-likelihood
    grad_omega: np.ndarray  # (T, T) df / dOmega
    grad_sigma2: np.ndarray  # (T,) df / dsigma_t^2


def null_rows(rs, method):
    """``nu``: the rotated rows outside the column space of ``X`` (and of ``1`` for REML)."""
    return rs.N - rs.rank - (1.0 if method == "reml" else 0.0)


def _centred_rows(V, ytil, shared_mean):
    """``(ytil_j - mu_j 1, V_j^{-1} 1, 1^T V_j^{-1} 1)`` with ``mu_j`` the GLS mean of
    row ``j`` (``shared_mean``), else ``(ytil, None, None)``."""
    if not shared_mean:
        return ytil, None, None
    b = np.linalg.solve(V, np.ones(V.shape[:2])[:, :, None])[:, :, 0]
    s = b.sum(axis=1)
    mu = np.sum(b * ytil, axis=1) / s
    return ytil - mu[:, None], b, s


def evaluate(rs, omega, sigma2, method="reml", gradient=True, shared_mean=False):
    """``f`` (``-2`` log-likelihood, module docstring) and its gradient in ``Omega``
    (symmetric) and ``sigma^2``. ``shared_mean``: the rows of ``W`` have a free common
    mean ``beta_j`` across tasks (profiled out by GLS, row by row in the rotated basis:
    ``y~_j ~ N(sqrt(lambda_j) beta~_j 1, V_j)``); REML then also drops the ``r``
    degrees of freedom of ``beta`` and adds ``sum_j log(lambda_j 1^T V_j^{-1} 1)``
    (``log|F^T V^{-1} F|`` of ``beta``'s design)."""
    T = rs.n_tasks
    V = rs.lam[:, None, None] * omega + np.diag(sigma2)
    C = np.linalg.cholesky(V)
    logdet = 2.0 * float(np.sum(np.log(np.einsum("jtt->jt", C))))
    resid, b, s = _centred_rows(V, rs.ytil, shared_mean)
    a = np.linalg.solve(V, resid[:, :, None])[:, :, 0]
    nu = null_rows(rs, method)
    N = rs.N
    value = (logdet + float(np.sum(a * resid)) + nu * float(np.sum(np.log(sigma2)))
             + float(np.sum(np.diag(rs.E_perp) / sigma2)))
    if method == "reml":
        value += (N - 1.0) * T * LOG_2PI + T * np.log(N)
        if shared_mean:
            value += float(np.sum(np.log(rs.lam * s))) - rs.rank * LOG_2PI
    else:
        value += N * T * LOG_2PI
    if not gradient:
        return Evaluation(value, None, None)
    Vinv = np.linalg.inv(V)
    G = Vinv - a[:, :, None] * a[:, None, :]
    if shared_mean and method == "reml":  # d log(1^T V^{-1} 1) / dV
        G = G - b[:, :, None] * b[:, None, :] / s[:, None, None]
    g_omega = np.einsum("j,jst->st", rs.lam, G)
    g_sigma2 = (np.einsum("jtt->t", G) + nu / sigma2 - np.diag(rs.E_perp) / sigma2 ** 2)
    return Evaluation(value, (g_omega + g_omega.T) / 2, g_sigma2)


def posterior(rs, omega, sigma2, shared_mean=False):
    """Posterior mean ``(d, T)`` of ``W`` (with ``shared_mean``: the GLS common part
    ``beta 1^T`` plus the posterior mean of the deviations), its rotated rows ``(r, T)``
    and the rotated posterior covariances ``S_j`` ``(r, T, T)`` (module docstring; of
    the deviations given ``beta``)."""
    V = rs.lam[:, None, None] * omega + np.diag(sigma2)
    resid, _, _ = _centred_rows(V, rs.ytil, shared_mean)
    a = np.linalg.solve(V, resid[:, :, None])[:, :, 0]
    root = np.sqrt(rs.lam)[:, None]
    M = root * (a @ omega)  # rows m_j^T = sqrt(lam_j) a_j^T Omega
    if shared_mean:  # + beta~_j 1^T, beta~_j = mu_j / sqrt(lam_j)
        M = M + (rs.ytil - resid) / root
    OV = np.linalg.solve(V, np.broadcast_to(omega, V.shape))  # V_j^{-1} Omega
    S = omega - rs.lam[:, None, None] * (omega @ OV)
    return rs.U @ M, M, (S + np.swapaxes(S, 1, 2)) / 2


# ------------------------------------------------------------------ structures of Omega
class Full:
    """``Omega = L L^T``, ``L`` lower triangular (``T (T + 1) / 2`` parameters; any
    ``L`` gives a valid covariance, singular ones included)."""

    def __init__(self, T):
        self.T = T
        self.rows, self.cols = np.tril_indices(T)
        self.n_params = len(self.rows)

    def omega(self, p):
        L = np.zeros((self.T, self.T))
        L[self.rows, self.cols] = p
        return L @ L.T

    def factor(self, p):
        L = np.zeros((self.T, self.T))
        L[self.rows, self.cols] = p
        return L

    def gradient(self, p, g_omega):
        return (2.0 * g_omega @ self.factor(p))[self.rows, self.cols]

    def start(self, omega):
        T = self.T
        jitter = 1e-10 * max(float(np.trace(omega)) / T, 1e-300)
        return np.linalg.cholesky(omega + jitter * np.eye(T))[self.rows, self.cols]


class Diagonal:
    """``Omega = diag(omega_t^2)``: independent tasks (ridge per target)."""

    def __init__(self, T):
        self.T = T
        self.n_params = T

    def omega(self, p):
        return np.diag(p ** 2)

    def factor(self, p):
        return np.diag(p)

    def gradient(self, p, g_omega):
        return 2.0 * p * np.diag(g_omega)

    def start(self, omega):
        return np.sqrt(np.clip(np.diag(omega), 0.0, None))


class LowRank:
    """``Omega = B B^T + diag(omega_t^2)``, ``B`` of ``k`` columns (``T (k + 1)``
    parameters: for many tasks)."""

    def __init__(self, T, k):
        self.T, self.k = T, min(k, T)
        self.n_params = T * (self.k + 1)

    def _split(self, p):
        return p[:self.T * self.k].reshape(self.T, self.k), p[self.T * self.k:]

    def omega(self, p):
        B, w = self._split(p)
        return B @ B.T + np.diag(w ** 2)

    def factor(self, p):
        B, w = self._split(p)
        return np.hstack([B, np.diag(w)])

    def gradient(self, p, g_omega):
        B, w = self._split(p)
        return np.concatenate([(2.0 * g_omega @ B).ravel(), 2.0 * w * np.diag(g_omega)])

    def start(self, omega):
        ev, vec = np.linalg.eigh(omega)
        ev, vec = ev[::-1][:self.k], vec[:, ::-1][:, :self.k]
        rest = float(np.mean(np.clip(np.linalg.eigvalsh(omega)[:self.T - self.k], 0, None))) \
            if self.k < self.T else 0.0
        B = vec * np.sqrt(np.clip(ev - rest, 0.0, None))
        w = np.sqrt(np.clip(np.diag(omega - B @ B.T), 1e-6 * max(rest, 1e-12), None))
        return np.concatenate([B.ravel(), w])


def make_structure(name, T, rank=1):
    if name == "full":
        return Full(T)
    if name == "diagonal":
        return Diagonal(T)
    if name == "low_rank":
        return LowRank(T, rank)
    raise ValueError(f"unknown covariance structure {name!r}")


# ------------------------------------------------------------------ the optimiser
@dataclass
class MatrixNormalFit:
    omega: np.ndarray
    factor: np.ndarray  # Lambda, with Omega = Lambda Lambda^T (the structure's factor)
    sigma2: np.ndarray
    value: float  # f at the solution
    gradient: float  # max |d(f / N) / d parameter| at the solution
    n_iter: int
    converged: bool
    message: str


def em_step(rs, omega, sigma2, method):
    """One EM update of ``(Omega, D)`` with ``W`` (and, for REML, the intercepts under a
    flat prior) as the missing data: ``Omega <- (1/d) E[W^T W]``,
    ``sigma_t^2 <- (E||y_t - X w_t||^2 (+ sigma_t^2 for REML)) / N``."""
    _, M, S = posterior(rs, omega, sigma2)
    d = rs.n_features
    new_omega = (M.T @ M + S.sum(axis=0) + (d - rs.rank) * omega) / d
    z = np.sqrt(rs.lam)[:, None] * rs.ytil  # U^T X^T Y
    yy = np.diag(rs.E_perp) + np.sum(rs.ytil ** 2, axis=0)
    resid = (yy - 2.0 * np.sum(z * M, axis=0)
             + np.sum(rs.lam[:, None] * (M ** 2 + np.einsum("jtt->jt", S)), axis=0))
    if method == "reml":
        resid = resid + sigma2
    return (new_omega + new_omega.T) / 2, np.maximum(resid / rs.N, 1e-300)


def fit_matrix_normal(rs, structure, method="reml", tol=1e-7, max_iter=1000, em_iter=20,
                      sigma2_floor=None, logdet_weight=0.0, shared_mean=False):
    """Maximise the likelihood over ``Omega`` (the parameters of ``structure``) and
    ``log sigma_t``; ``rs``: :class:`RotatedStatistics`, or, with missing labels,
    :class:`mtlreg.mixed._matrix_normal_missing.TaskStatistics` (no EM then).
    ``em_iter`` EM steps from a start where the features explain half
    of each target's variance, then L-BFGS-B on ``f / N`` with the analytic gradient
    (and, if it stalls above ``tol``, Newton steps on a finite-difference Hessian of that
    gradient for up to 120 parameters). Converged when every coordinate of the gradient
    of ``f / N`` is below ``tol``. With ``logdet_weight = c > 0`` the criterion is
    ``f - 2 c log|Omega|`` (a prior density ``|Omega|^c``, which keeps ``Omega`` away
    from singular; the EM warm start stays unpenalised); the fit's ``value`` is ``f``.
    ``shared_mean``: see :func:`evaluate` (rotated statistics only; no EM then)."""
    from ._matrix_normal_missing import TaskStatistics, evaluate_missing

    N = rs.N
    rotated = not isinstance(rs, TaskStatistics)
    if rotated:
        var = (np.diag(rs.E_perp) + np.sum(rs.ytil ** 2, axis=0)) / N
    else:  # missing labels: per-task statistics, no EM
        var = rs.q / rs.n
    var = np.where(var > 0, var, 1.0)
    omega = np.diag(var / (2.0 * max(rs.n_features, 1)))
    sigma2 = var / 2.0
    with single_threaded_blas():
        n_em = 0
        if rotated and rs.rank > 0 and not shared_mean:
            for n_em in range(1, em_iter + 1):
                omega, sigma2 = em_step(rs, omega, sigma2, method)
        if isinstance(structure, Diagonal):
            omega = np.diag(np.diag(omega))
        k = structure.n_params
        floor = np.zeros(rs.n_tasks) if sigma2_floor is None else np.asarray(sigma2_floor)
        with np.errstate(divide="ignore"):
            lower = np.concatenate([np.full(k, -np.inf), 0.5 * np.log(floor)])
        x0 = np.concatenate([structure.start(omega), 0.5 * np.log(np.maximum(sigma2, floor))])
        bounds = [(None if np.isinf(lo) else lo, None) for lo in lower]

        def fun(x):
            om = structure.omega(x[:k])
            s2 = np.exp(2.0 * x[k:])
            ev = (evaluate(rs, om, s2, method, shared_mean=shared_mean) if rotated
                  else evaluate_missing(rs, structure.factor(x[:k]), s2, method))
            value, g_omega = ev.value, ev.grad_omega
            if logdet_weight:
                sign, logdet = np.linalg.slogdet(om)
                if sign <= 0:
                    return np.inf, np.zeros(len(x))
                value = value - 2.0 * logdet_weight * logdet
                g_omega = g_omega - 2.0 * logdet_weight * np.linalg.inv(om)
            g = np.concatenate([structure.gradient(x[:k], g_omega), 2.0 * s2 * ev.grad_sigma2])
            return value / N, g / N

        res = minimize(fun, x0, jac=True, method="L-BFGS-B", bounds=bounds,
                       options={"maxiter": max_iter, "gtol": tol, "ftol": 0.0, "maxcor": 20})
        x, n_iter, message = res.x, n_em + int(res.nit), str(res.message)
        value, g = fun(x)
        if _projected(x, g, lower) > tol and len(x) <= _NEWTON_MAX_PARAMS:
            x, value, g, n_newton = _newton_polish(fun, x, value, g, lower, tol, max_iter)
            n_iter += n_newton
            message += f"; then {n_newton} regularised Newton step(s)"
    gmax = _projected(x, g, lower)
    omega, sigma2 = structure.omega(x[:k]), np.exp(2.0 * x[k:])
    if logdet_weight:  # the likelihood itself at the estimate
        value = (evaluate(rs, omega, sigma2, method, False, shared_mean) if rotated else
                 evaluate_missing(rs, structure.factor(x[:k]), sigma2, method, False)).value / N
    return MatrixNormalFit(omega, structure.factor(x[:k]), sigma2, value * N, gmax, n_iter,
                           bool(gmax <= tol), message)


# L-BFGS-B stalls near the boundary (Omega nearly singular, where the Cholesky
# parametrisation is flat in some directions); up to this many parameters a few Newton
# steps on a finite-difference Hessian of the analytic gradient finish the job
_NEWTON_MAX_PARAMS = 120


def _projected(x, g, lower):
    """Max |projected gradient|: a coordinate at its lower bound pushing down counts 0."""
    held = (x <= lower) & (g > 0)
    return float(np.max(np.abs(np.where(held, 0.0, g)), initial=0.0))


def _newton_polish(fun, x, value, g, lower, tol, max_iter, max_steps=50):
    """Newton steps (absolute eigenvalues of a finite-difference Hessian of the gradient,
    floored) on the coordinates not held at their lower bound, with a backtracking line
    search on ``fun`` (value and gradient); stops when the projected gradient is below
    ``tol`` or no step decreases the value."""
    steps = 0
    for steps in range(1, min(max_steps, max_iter) + 1):
        free = np.flatnonzero(~((x <= lower) & (g > 0)))
        h = 1e-6 * np.maximum(1.0, np.abs(x))
        H = np.empty((len(free), len(free)))
        for col, i in enumerate(free):
            e = np.zeros(len(x))
            e[i] = h[i]
            H[:, col] = (fun(x + e)[1][free] - fun(np.maximum(x - e, lower))[1][free]) \
                / (x[i] + h[i] - max(x[i] - h[i], lower[i]))
        ev, vec = np.linalg.eigh((H + H.T) / 2)
        floor = 1e-10 * max(float(np.max(np.abs(ev), initial=0.0)), 1e-300)
        step = np.zeros(len(x))
        step[free] = -vec @ ((vec.T @ g[free]) / np.maximum(np.abs(ev), floor))
        t, moved = 1.0, False
        while t > 1e-10:
            x_new = np.maximum(x + t * step, lower)
            v_new, g_new = fun(x_new)
            if v_new <= value:
                x, value, g, moved = x_new, v_new, g_new, True
                break
            t /= 2.0
        if not moved or _projected(x, g, lower) <= tol:
            break
    return x, value, g, steps


__all__ = ["Evaluation", "MatrixNormalFit", "RotatedStatistics", "evaluate", "em_step",
           "fit_matrix_normal", "make_structure", "null_rows", "posterior", "rotate_design",
           "rotate_gram"]
