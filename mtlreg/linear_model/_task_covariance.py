"""The task-covariance regressor: a learned covariance between the tasks of the shared
layout (matrix-normal prior, multi-task relationship learning), by empirical Bayes
(issue 25)."""

import warnings
from numbers import Integral, Real

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator
from sklearn.exceptions import ConvergenceWarning

from ..mixed._matrix_normal import (
    fit_matrix_normal,
    make_structure,
    posterior,
    rotate_design,
    rotate_gram,
)
from ..mixed._matrix_normal_missing import TaskStatistics, posterior_missing, task_statistics
from ..utils._threads import single_threaded_blas
from ..utils.validation import (
    Interval,
    StrOptions,
    _check_sample_weight,
    _fit_context,
    check_magnitudes,
    check_targets,
    check_X,
    fit_or_restore,
)
from ._base import MultiTaskLinearModel, MultiTaskRegressorMixin, store_params

# covariance_prior="wishart": log L + c log|Omega| with c = (df - T - 1) / 2, df = T + 2.5
# (blme's default Wishart prior, infinite scale)
WISHART_WEIGHT = 0.75

# sigma_t^2 is kept above this fraction of target t's variance: when a target is an
# exact linear function of X the likelihood grows without bound as sigma_t^2 -> 0
NOISE_FLOOR = 1e-10


class TaskCovarianceRegressor(MultiTaskRegressorMixin, BaseEstimator):
    r"""Multi-target linear regression with a learned covariance between the tasks.

    The shared layout: one design ``X`` (``n x d``), one column of ``Y`` (``n x T``)
    per task. With ``X_s`` the features standardised inside the estimator (centred and
    divided by their standard deviations over the rows, a constant feature left at 0),
    the model is

    .. math::

        Y = 1 b^\top + X_s W + E, \qquad
        \text{rows of } E \sim N(0, D),\ D = \mathrm{diag}(\sigma_1^2, \dots, \sigma_T^2),
        \qquad \text{rows of } W \sim N(0, \Omega)\ \text{i.i.d.},

    a matrix-normal prior ``W ~ MN(0, I_d, Omega)``: ``Omega`` (``T x T``) is the
    covariance of a feature's coefficients across the tasks. The intercepts ``b`` are
    free. ``Omega`` and ``D`` are estimated by maximising the restricted likelihood of
    ``vec(Y)`` (``method="reml"``: the density of the ``T (N - 1)`` error contrasts, as
    lme4 and :class:`~mtlreg.HierarchicalRegressor`) or its likelihood at
    the GLS intercepts (``method="ml"``). With ``N`` the number of rows (the sum of the
    weights), ``X_s^T X_s = U diag(lambda) U^T`` (``r`` positive eigenvalues),
    ``y~_j = U_j^T X_s^T Y / sqrt(lambda_j)``, ``V_j = D + lambda_j Omega`` and
    ``E_perp = Y_c^T Y_c - sum_j y~_j y~_j^T`` (``Y_c``: ``Y`` centred), the maximised
    criteria are exactly

    .. math::

        -2 \log L_{REML} = \sum_{j \le r} \left(\log|V_j| + \tilde y_j^\top V_j^{-1}
            \tilde y_j\right) + (N - 1 - r) \log|D| + \mathrm{tr}(D^{-1} E_\perp)
            + (N - 1) T \log 2\pi + T \log N,

        -2 \log L_{ML} = \sum_{j \le r} \left(\log|V_j| + \tilde y_j^\top V_j^{-1}
            \tilde y_j\right) + (N - r) \log|D| + \mathrm{tr}(D^{-1} E_\perp)
            + N T \log 2\pi,

    that is ``-2 log N(vec Y; vec(1 b^T), D (x) I_N + Omega (x) X_s X_s^T)`` for ML
    (at ``b`` = the column means); REML adds no term for ``b``'s ``T`` degrees of
    freedom but drops them (the convention of lme4 and statsmodels' ``MixedLM.llf``).
    In this basis the problem splits into ``r`` independent ``T x T`` problems: one
    evaluation costs ``O(r T^3)`` after one SVD of ``X`` (:mod:`mtlreg.mixed._matrix_normal`).
    ``sigma_t^2`` is kept at or above ``1e-10`` times target ``t``'s variance (the
    likelihood is unbounded when a target is an exact linear function of ``X``).
    Sample weights are frequency weights (an integer weight is the row repeated).

    **Prediction** uses the posterior mean of ``W``,
    ``vec(W) = (Omega^{-1} (x) I_d + D^{-1} (x) X_s^T X_s)^{-1} (D^{-1} (x) I_d)
    vec(X_s^T Y_c)``, the minimiser over ``W`` of

    .. math::

        \sum_t \frac{1}{2 \sigma_t^2} \|y_t - b_t 1 - X_s w_t\|^2
            + \frac{1}{2} \mathrm{tr}(W \Omega^{-1} W^\top),

    mapped back to the user's feature scale (``coef_``, ``intercept_``).

    **Relation to other models.** This is multi-task relationship learning (MTRL,
    Zhang & Yeung 2010), whose objective is the squared loss plus
    ``lambda_1/2 tr(W W^T) + lambda_2/2 tr(W Omega^{-1} W^T)`` over ``W`` and
    ``Omega`` with ``Omega >= 0, tr(Omega) = 1`` and ``lambda_1, lambda_2`` by cross-
    validation; here ``lambda_1 = 0``, ``Omega``'s scale is free, the noise is per task,
    and ``Omega`` is estimated by marginal likelihood with ``W`` integrated out (no
    grid). With ``covariance="diagonal"`` the tasks are independent and task ``t`` is
    ridge regression on ``X_s`` with ``alpha_t = sigma_t^2 / Omega_tt`` (scikit-learn's
    ``||y - X w - b||^2 + alpha ||w||^2``), ``alpha_t`` chosen by (restricted) marginal
    likelihood: with ``method="ml"`` the evidence that
    :class:`sklearn.linear_model.BayesianRidge` maximises with zero hyper-priors.

    **Missing labels** (NaN in ``y``): task ``t`` is then fitted on its labelled rows
    (its intercept free, its centring and ``n_t`` its own) and the split into ``T x T``
    problems is lost; the same criteria are computed exactly from per-task statistics
    at ``O((d T)^3)`` per evaluation (:mod:`mtlreg.mixed._matrix_normal_missing`): for
    moderate ``d T`` (a sparse ``X`` is densified there). Every task needs at least two
    labelled rows.

    Parameters
    ----------
    covariance : {"full", "diagonal", "low_rank", "auto"}, default="full"
        The structure of ``Omega``: unstructured (``T (T + 1) / 2`` parameters);
        independent tasks (per-target ridge, ``T``); ``B B^T + diag(omega^2)`` with
        ``B`` of ``rank`` columns (``T (rank + 1)``: for many tasks); or ``"auto"``:
        both ``"diagonal"`` and ``"full"`` are fitted and the one with the smaller AIC
        (``-2 log L + 2`` (free parameters of ``Omega`` + ``T``), on the criterion of
        ``method``, as mixed models compare covariance structures by REML-AIC) is kept,
        ``"diagonal"`` on a tie. ``Omega`` is estimated from the ``d`` rows of ``W``:
        with few features a full ``Omega`` is poorly determined and often estimated
        singular (tasks forced to proportional coefficients); ``"auto"`` keeps the
        diagonal unless the full structure improves the AIC.
    covariance_prior : {None, "wishart"}, default=None
        ``None``: ``Omega`` maximises the (restricted) likelihood, as above.
        ``"wishart"``: it maximises ``log L + 0.75 log|Omega|`` instead (the noise
        variances jointly, as before): the log density, up to a constant, of a Wishart prior with
        ``T + 2.5`` degrees of freedom and an infinite scale, the default covariance
        prior of the R package blme (Chung et al. 2013, "A nondegenerate penalized
        likelihood estimator for variance parameters in multilevel models",
        Psychometrika 78). It keeps ``Omega`` positive definite: with few features the
        likelihood's maximum is often a singular ``Omega`` (tasks forced to proportional
        coefficients); it also rewards a larger ``Omega`` (less shrinkage) whatever
        the data. ``log_likelihood_`` stays the likelihood at the estimate.
    shared_mean : bool, default=False
        ``False``: the prior mean of ``W`` is 0 (coefficients shrink toward 0). ``True``:
        ``W = beta 1^T + U``, the rows of ``U`` ``~ N(0, Omega)`` and ``beta`` (``d``,
        one common coefficient per feature) a free fixed effect, estimated by
        generalised least squares and profiled out (REML also drops its degrees of
        freedom): each feature's coefficients shrink toward their common value across
        tasks, as in mean-regularised multi-task learning (Evgeniou & Pontil 2004) but
        with a learned ``Omega``. ``beta`` is common to the targets scaled to unit
        variance (the model is stated on them; the fit is then mapped back). In the
        rotated basis each row gets its GLS mean, so the cost is unchanged (the
        criteria above with each ``y~_j`` centred at its GLS mean ``mu_j 1`` in the
        quadratic form; REML adds ``sum_j log(lambda_j 1^T V_j^{-1} 1) - r log 2 pi``,
        the ``log|F^T V^{-1} F|`` and the degrees of freedom of ``beta``). Not
        available with missing labels.
    rank : int, default=1
        Columns of ``B`` with ``covariance="low_rank"`` (capped at ``T``).
    method : {"reml", "ml"}, default="reml"
        Restricted or plain maximum likelihood.
    tol : float, default=1e-7
        Converged when every coordinate of the projected gradient of ``-2 log L / N``
        in the parameters (the Cholesky factor of ``Omega``, or ``B`` and ``omega``;
        and ``log sigma_t``, the targets scaled to unit variance) is below ``tol``.
    max_iter : int, default=1000
        Maximum number of L-BFGS-B iterations (after 20 EM steps).

    Attributes
    ----------
    coef_ : ndarray of shape (n_tasks, n_features)
        Posterior mean of each task's coefficients, in the user's feature scale.
    intercept_ : ndarray of shape (n_tasks,)
        The intercepts (with ``coef_``, the fit passes through the weighted means).
    task_covariance_ : ndarray of shape (n_tasks, n_tasks)
        ``Omega``: the covariance across tasks of the coefficients of a standardised
        feature, in the targets' units.
    task_correlation_ : ndarray of shape (n_tasks, n_tasks)
        ``Omega`` as a correlation matrix (0 off the diagonal where a variance is 0).
    noise_variance_ : ndarray of shape (n_tasks,)
        ``sigma_t^2``.
    log_likelihood_ : float
        The maximised log-likelihood (``method="ml"``) or restricted log-likelihood.
    converged_ : bool
        Whether the projected gradient reached ``tol`` (else a ``ConvergenceWarning``).
    n_iter_ : int
        EM steps plus L-BFGS-B iterations (plus Newton steps where L-BFGS-B stalled).
    covariance_structure_ : str
        The structure fitted: ``covariance``, or the one ``"auto"`` chose.
    aic_ : dict
        ``-2 log_likelihood_ + 2 (free parameters of Omega + T)`` of each structure
        fitted (both with ``"auto"``).
    n_tasks_ : int
        ``T``, the columns of ``y`` (1 for a 1-D ``y``).
    n_features_in_ : int
        Number of features seen in ``fit``.
    feature_names_in_ : ndarray of shape ``(n_features_in_,)``
        Defined when ``X`` has string column names.
    """

    _parameter_constraints = {
        "covariance": [StrOptions({"full", "diagonal", "low_rank", "auto"})],
        "covariance_prior": [None, StrOptions({"wishart"})],
        "shared_mean": ["boolean"],
        "rank": [Interval(Integral, 1, None, closed="left")],
        "method": [StrOptions({"reml", "ml"})],
        "tol": [Interval(Real, 0, None, closed="neither")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
    }

    task_column = None  # the shared layout only (read by the package's input checks)

    def __init__(self, covariance="full", *, covariance_prior=None, shared_mean=False, rank=1,
                 method="reml", tol=1e-7, max_iter=1000):
        store_params(self, locals())

    _decision = MultiTaskLinearModel._decision
    _more_tags_common = MultiTaskLinearModel._more_tags_common

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None):
        """Fit ``Omega``, the noise variances and the posterior mean of ``W``.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The design shared by the tasks.
        y : array-like of shape (n_samples,) or (n_samples, n_tasks)
            One column per task; NaN marks a missing label.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative frequency weights of the rows.

        Returns
        -------
        self : object
        """
        return fit_or_restore(self, self._fit, X, y, sample_weight)

    def _fit(self, X, y, sample_weight):
        name = type(self).__name__
        X, _, col_max = check_X(self, X, reset=True, scan=True)
        y = check_targets(y, X.shape[0], per_task=False, numeric=True)
        w = _check_sample_weight(sample_weight, X, dtype=np.float64, ensure_non_negative=True)
        check_magnitudes(X, y, col_max)
        N = float(np.sum(w))
        if not N > 1.0:
            raise ValueError(
                f"{name} needs at least 2 samples (the sum of sample_weight) to estimate "
                f"the noise and task covariances; got {N:g} sample(s) (n_samples = "
                f"{X.shape[0]}).")
        self._y_ndim = y.ndim
        Y = y.reshape(len(y), -1)
        T = Y.shape[1]
        # one BLAS thread: on busy cores a threaded SVD of X was 40x slower (5000 x 200:
        # 9 s against 0.2 s at load 6 on 2 cores)
        with single_threaded_blas():
            if np.isnan(Y).any():
                if self.shared_mean:
                    raise ValueError(
                        f"{name}(shared_mean=True) does not fit missing labels (NaN in y, "
                        f"task(s) {np.flatnonzero(np.isnan(Y).any(axis=0))[:20].tolist()}): "
                        "drop the rows with a missing label, or set shared_mean=False.")
                rs, x_mean, x_scale, y_mean, y_scale = _per_task(X, Y, w, name)
            else:
                rs, x_mean, x_scale, y_mean, y_scale = _rotated(X, Y, w, N)
                if N - 1.0 < rs.rank:
                    raise ValueError(
                        f"{name}: sample_weight sums to {N:g}, fewer than 1 + the rank of "
                        f"the centred X ({rs.rank}); as frequency weights they must count "
                        "at least as many rows (weights below 1 are not row counts).")
        floor = np.full(T, NOISE_FLOOR)  # the targets are scaled to unit variance
        names = ["diagonal", "full"] if self.covariance == "auto" else [self.covariance]
        fits, aic = {}, {}
        for structure_name in names:
            structure = make_structure(structure_name, T, self.rank)
            fit = fit_matrix_normal(rs, structure, method=self.method, tol=self.tol,
                                    max_iter=self.max_iter, sigma2_floor=floor,
                                    logdet_weight=WISHART_WEIGHT if self.covariance_prior else 0.0,
                                    shared_mean=self.shared_mean)
            if not fit.converged:
                warnings.warn(
                    f"{name} (covariance={structure_name!r}) did not converge: projected "
                    f"gradient {fit.gradient:.3e} > tol={self.tol:g} after {fit.n_iter} "
                    f"iterations (max_iter={self.max_iter}; optimiser: {fit.message}). The "
                    "likelihood may be below its maximum, typically where Omega is nearly "
                    "singular; increase max_iter or tol, or set covariance_prior='wishart'.",
                    ConvergenceWarning)
            fits[structure_name] = fit
            # -2 log L + 2 (free parameters of Omega + the T noise variances); the
            # scaling of y shifts every structure's -2 log L by the same constant
            aic[structure_name] = fit.value + 2.0 * (_n_free(structure_name, T, self.rank) + T)
        chosen = min(names, key=lambda k: aic[k])  # ties: the first, "diagonal"
        self._set_fitted(rs, fits[chosen], x_mean, x_scale, y_mean, y_scale)
        self.covariance_structure_ = chosen
        self.aic_ = {k: float(v + 2.0 * self._y_shift) for k, v in aic.items()}
        return self

    def _set_fitted(self, rs, fit, x_mean, x_scale, y_mean, y_scale):
        ddof = 1.0 if self.method == "reml" else 0.0
        if isinstance(rs, TaskStatistics):  # missing labels
            omega = fit.omega
            W, b = posterior_missing(rs, fit.factor, fit.sigma2)
            n_rows = rs.n
        else:
            omega = fit.omega if rs.rank > 0 else np.zeros_like(fit.omega)  # not identified
            W = posterior(rs, omega, fit.sigma2, self.shared_mean)[0]
            b = np.zeros(len(y_scale))
            n_rows = np.full(len(y_scale), rs.N)
        # W: (d, T) standardised features, unit-variance targets; b: intercepts there
        coef = (W * y_scale).T / x_scale
        self.coef_ = np.ascontiguousarray(coef)
        self.intercept_ = y_mean + y_scale * b - coef @ x_mean
        self.task_covariance_ = omega * np.outer(y_scale, y_scale)
        sd = np.sqrt(np.diag(self.task_covariance_))
        with np.errstate(divide="ignore", invalid="ignore"):
            corr = self.task_covariance_ / np.outer(sd, sd)
        corr = np.where(np.outer(sd, sd) > 0, corr, 0.0)
        np.fill_diagonal(corr, np.where(sd > 0, 1.0, 0.0))
        self.task_correlation_ = corr
        self.noise_variance_ = fit.sigma2 * y_scale ** 2
        # -2 log L of Y is that of the unit-variance targets plus 2 sum_t (n_t - ddof) log s_t
        self._y_shift = float((n_rows - ddof) @ np.log(y_scale))
        self.log_likelihood_ = float(-fit.value / 2 - self._y_shift)
        self.converged_ = fit.converged
        self.n_iter_ = fit.n_iter
        self.n_tasks_ = len(y_scale)


def _rotated(X, Y, w, N):
    """The rotated statistics of the standardised features and the unit-variance
    targets (weighted), and the centres and scales to map the fit back."""
    x_mean = np.asarray(X.T @ w).ravel() / N
    y_mean = w @ Y / N
    Yc = Y - y_mean
    y_var = w @ Yc ** 2 / N
    y_varies = _varies(y_var, w @ Y ** 2 / N)
    y_scale = np.where(y_varies, np.sqrt(y_var), 1.0)
    Ys = np.where(y_varies, Yc / y_scale, 0.0)  # a constant target: exactly 0
    if sp.issparse(X):
        Xw = X.multiply(w[:, None]).tocsc()
        gram = np.asarray((X.T @ Xw).todense()) - N * np.outer(x_mean, x_mean)
        x_var = np.clip(np.diag(gram) / N, 0.0, None)
        varies = _varies(x_var, np.asarray(X.multiply(X).T @ w).ravel() / N)
        x_scale = np.where(varies, np.sqrt(x_var), 1.0)
        cross = np.where(varies[:, None], np.asarray(Xw.T @ Ys) / x_scale[:, None], 0.0)
        gram = np.where(np.outer(varies, varies), gram / np.outer(x_scale, x_scale), 0.0)
        rs = rotate_gram(gram, cross, Ys.T @ (w[:, None] * Ys), N, X.shape)
    else:
        Xc = X - x_mean
        x_var = w @ Xc ** 2 / N
        varies = _varies(x_var, w @ X ** 2 / N)
        x_scale = np.where(varies, np.sqrt(x_var), 1.0)
        root = np.sqrt(w)[:, None]
        rs = rotate_design(root * np.where(varies, Xc / x_scale, 0.0), root * Ys, N)
    return rs, x_mean, x_scale, y_mean, y_scale


def _n_free(structure, T, rank):
    """Free parameters of ``Omega`` for each structure (``B B^T`` is invariant under
    rotations of ``B``'s ``k`` columns: ``k (k - 1) / 2`` fewer)."""
    if structure == "full":
        return T * (T + 1) // 2
    if structure == "diagonal":
        return T
    k = min(rank, T)
    return T * (k + 1) - k * (k - 1) // 2


def _per_task(X, Y, w, name):
    """The per-task statistics (missing labels) of the standardised features (over all
    rows) and of each target scaled to unit variance over its labelled rows."""
    if sp.issparse(X):
        X = X.toarray()
    labelled = ~np.isnan(Y) & (w[:, None] > 0)
    n_t = np.where(labelled, w[:, None], 0.0).sum(axis=0)
    few = np.flatnonzero(n_t < 2)
    if few.size:
        raise ValueError(
            f"{name} needs at least 2 labelled samples in every task (the sum of "
            f"sample_weight over its labelled rows); task(s) {few[:20].tolist()} have "
            f"{n_t[few][:20].tolist()}.")
    N = float(np.sum(w))
    x_mean = w @ X / N
    Xc = X - x_mean
    x_var = w @ Xc ** 2 / N
    varies = _varies(x_var, w @ X ** 2 / N)
    x_scale = np.where(varies, np.sqrt(x_var), 1.0)
    Xs = np.where(varies, Xc / x_scale, 0.0)
    Y0 = np.where(labelled, Y, 0.0)
    y_mean = (w @ Y0) / n_t
    y_var = (w @ np.where(labelled, (Y0 - y_mean) ** 2, 0.0)) / n_t
    y_varies = _varies(y_var, (w @ Y0 ** 2) / n_t)
    y_scale = np.where(y_varies, np.sqrt(y_var), 1.0)
    Ys = np.where(labelled, np.where(y_varies, (Y0 - y_mean) / y_scale, 0.0), np.nan)
    return task_statistics(Xs, Ys, w), x_mean, x_scale, y_mean, y_scale


def _varies(var, mean_square):
    """Columns whose variance is more than rounding: a constant column centred in
    floating point keeps a variance of about ``eps^2`` times its mean square."""
    return var > 1e-20 * mean_square


__all__ = ["TaskCovarianceRegressor"]
