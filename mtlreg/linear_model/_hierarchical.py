"""The hierarchical (random-effects) regressor, fitted by empirical Bayes (issue 25)."""

import warnings
from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.exceptions import ConvergenceWarning

from .._tasks.layout import task_sample_counts
from .._tasks.statistics import per_task_block_statistics, shared_block_statistics
from ..mixed import fit_mixed, from_statistics, independent_columns, make_structure
from ..utils.validation import (
    Interval,
    StrOptions,
    _check_sample_weight,
    _fit_context,
    check_magnitudes,
    check_X,
    fit_or_restore,
    is_dask_collection,
)
from ._base import MultiTaskLinearModel, MultiTaskRegressorMixin, store_params


class HierarchicalRegressor(MultiTaskRegressorMixin, BaseEstimator):
    r"""Hierarchical (random-effects) multi-task linear regression, by empirical Bayes.

    The linear mixed model with the tasks as groups: task ``t`` has rows
    ``(X_t, y_t)`` and

    .. math::

        y_t = X_t (\beta + u_t) + (b_0 + c_t) + e_t, \qquad
        (c_t, u_t) \sim N(0, \Sigma), \qquad e_t \sim N(0, \sigma^2 I),

    where only the effects named by ``random_effects`` vary between tasks (the other
    entries of ``u_t`` are 0). The population model ``(beta, b_0)``, the covariance
    ``Sigma`` and the noise variance ``sigma^2`` are estimated by maximising the
    marginal likelihood of ``y`` (``method="ml"``) or the restricted likelihood
    (``method="reml"``, as :class:`statsmodels.regression.mixed_linear_model.MixedLM`
    and lme4 by default), with ``N = sum_t n_t``, ``p = n_features + 1``,
    ``V_t = sigma^2 I + Z_t Sigma Z_t^T`` (``Z_t``: the columns of ``[1, X_t]`` with a
    random effect) and ``r_t = y_t - [1, X_t] [b_0; beta]``:

    .. math::

        \log L_{ML} = -\frac{1}{2} \sum_t \left( \log|V_t| + r_t^\top V_t^{-1} r_t
            + n_t \log 2\pi \right),

        \log L_{REML} = \log L_{ML} - \frac{1}{2} \log \Big| \sum_t [1, X_t]^\top
            V_t^{-1} [1, X_t] \Big| + \frac{p}{2} \log 2\pi,

    (the REML value at the maximising ``beta``), the same constants as ``MixedLM.llf``.
    Sample weights are frequency weights: an integer weight is the row repeated.
    ``X`` and ``y`` may be Dask collections: the statistics are then computed on the
    partitions and merged, and the fit is the in-memory one.
    The fit uses only per-task sufficient statistics (``[1, X_t, y_t]^T W [1, X_t,
    y_t]``, batched over tasks with NumPy): ``beta`` and ``sigma^2`` are profiled out
    in closed form (generalised least squares), and the relative Cholesky factor of
    ``Sigma / sigma^2`` is optimised by a few EM steps then L-BFGS-B with the
    analytic gradient (:mod:`mtlreg.mixed`).

    The task coefficients ``coef_`` and ``intercept_`` are the posterior means
    (BLUPs): ``beta + E[u_t | y]`` and ``b_0 + E[c_t | y]``, shrunk toward the
    population model the more the smaller the task and the larger ``sigma^2``
    against ``Sigma``. Mean-regularised multi-task learning is this model with an
    isotropic ``Sigma`` whose size is fixed instead of estimated.

    Parameters
    ----------
    random_effects : "all", "intercept" or list of int, default="all"
        Which coefficients vary between tasks: ``"all"`` (the intercept and every
        feature), ``"intercept"`` (a random intercept only), or a list of feature
        indices (columns of the features, the task column excluded) with a random
        slope, plus the intercept (``[j]``: statsmodels' random intercept and slope).
    covariance : {"full", "diagonal", "isotropic", "low_rank"}, default="full"
        The structure of ``Sigma`` over the ``q`` random effects: unstructured;
        independent effects; one common variance (in the units of ``X``: the only
        structure that changes with the features' scale, so it is fitted on ``X`` as
        given while the others are fitted on standardised features); or ``B B^T + diag(d)`` with ``B``
        of ``rank`` columns (for many random effects).
    rank : int, default=1
        Rank of the low-rank part with ``covariance="low_rank"`` (capped at ``q``).
    method : {"reml", "ml"}, default="reml"
        Restricted or plain maximum likelihood.
    task_column : int, str or None, default=None
        ``None``: shared design, ``y`` is ``(n_samples, n_tasks)`` (NaN = missing
        label), every task sees the same ``X``. Otherwise the column of ``X`` (index,
        or name for a DataFrame) that holds each row's task; ``y`` is then 1-D.
    unseen_tasks : {"error", "shared"}, default="shared"
        What ``predict`` does with a row of a task not seen in ``fit``: ``"shared"``
        predicts with the population model ``population_coef_``,
        ``population_intercept_`` (the prior mean of a new task); ``"error"``
        raises a ``ValueError`` naming the tasks.
    tol : float, default=1e-7
        The fit has converged when every coordinate of the projected gradient of the
        deviance divided by the number of rows, in the covariance parameters, is
        below ``tol``.
    max_iter : int, default=1000
        Maximum number of L-BFGS-B iterations.

    Attributes
    ----------
    coef_ : ndarray of shape (n_tasks, n_features)
        Posterior mean of each task's coefficients (row ``t`` for ``tasks_[t]``).
    intercept_ : ndarray of shape (n_tasks,)
        Posterior mean of each task's intercept.
    population_coef_ : ndarray of shape (n_features,)
        ``beta``, the fixed effects (generalised least squares).
    population_intercept_ : float
        ``b_0``.
    random_features_ : ndarray of shape (q - 1,)
        The features with a random slope; the random effects are, in order, the
        intercept then these.
    covariance_ : ndarray of shape (q, q)
        ``Sigma``, the covariance of the random effects (intercept first).
    noise_variance_ : float
        ``sigma^2``.
    random_effects_ : ndarray of shape (n_tasks, q)
        The posterior means of ``(c_t, u_t)`` (BLUPs), intercept first.
    log_likelihood_ : float
        The maximised log-likelihood (``method="ml"``) or restricted
        log-likelihood (``"reml"``), on statsmodels' scale.
    converged_ : bool
        Whether the projected gradient reached ``tol`` (else a ``ConvergenceWarning``).
    n_iter_ : int
        EM steps plus L-BFGS-B iterations (1 for a single task: one solve).
    tasks_ : ndarray of shape (n_tasks,)
        The task labels (``0 .. n_tasks - 1`` in the shared layout).
    n_tasks_ : int
        Number of tasks seen in ``fit``.
    n_features_in_ : int
        Columns of ``X`` in ``fit``, the task column included.
    feature_names_in_ : ndarray of shape ``(n_features_in_,)``
        Defined when ``X`` has string column names.

    Notes
    -----
    With a single task, ``Sigma`` cannot be estimated (the task's effects are
    confounded with the population model): it is set to 0, the fit is ordinary
    least squares, and a warning says so.
    """

    _parameter_constraints = {
        "random_effects": [StrOptions({"all", "intercept"}), "array-like"],
        "covariance": [StrOptions({"full", "diagonal", "isotropic", "low_rank"})],
        "rank": [Interval(Integral, 1, None, closed="left")],
        "method": [StrOptions({"reml", "ml"})],
        "task_column": [None, Interval(Integral, None, None, closed="neither"), str],
        "unseen_tasks": [StrOptions({"error", "shared"})],
        "tol": [Interval(Real, 0, None, closed="neither")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
    }

    def __init__(self, random_effects="all", *, covariance="full", rank=1, method="reml",
                 task_column=None, unseen_tasks="shared", tol=1e-7, max_iter=1000):
        store_params(self, locals())

    # prediction and tags: the package's linear-model conventions, shared
    _decision = MultiTaskLinearModel._decision
    _task_codes = MultiTaskLinearModel._task_codes
    _more_tags_common = MultiTaskLinearModel._more_tags_common

    def _shared_model(self):
        return self.population_coef_, self.population_intercept_

    def _unseen_hint(self):
        return (" To predict new tasks with the population model, set "
                "unseen_tasks='shared'.")

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None):
        """Fit the model by maximum (restricted) marginal likelihood.

        Parameters
        ----------
        X : {array-like, sparse matrix, DataFrame} of shape (n_samples, n_columns)
            The features; with ``task_column`` set, one column names the task.
        y : array-like of shape (n_samples,) or (n_samples, n_tasks)
            Targets, 2-D only in the shared layout; NaN marks a missing label.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative frequency weights of the rows.

        Returns
        -------
        self : object
        """
        return fit_or_restore(self, self._fit, X, y, sample_weight)

    def _random_columns(self, n_features):
        """Columns of ``[1, X]`` with a random effect (0: the intercept)."""
        spec = self.random_effects
        if isinstance(spec, str):
            return np.arange(n_features + 1) if spec == "all" else np.array([0])
        idx = np.asarray(spec)
        if idx.ndim != 1 or not (idx.size == 0 or np.issubdtype(idx.dtype, np.integer)):
            raise ValueError(
                "random_effects must be 'all', 'intercept' or a list of feature indices "
                f"(integers); got {spec!r}.")
        if np.any((idx < 0) | (idx >= n_features)) or len(np.unique(idx)) != len(idx):
            raise ValueError(
                f"random_effects={spec!r}: feature indices must be distinct and in "
                f"[0, {n_features}) (the {n_features} feature columns, the task column "
                "excluded).")
        return np.concatenate([[0], np.sort(idx) + 1]).astype(np.intp)

    def _identifiable(self, random, stats):
        """The random effects whose variances the data can tell apart: a random slope
        whose feature is constant within every task is confounded with the random
        intercept, and a set of slopes whose features sum to a per-task constant (the
        dummies of a categorical feature) with each other. They are found on the
        within-task Gram matrix summed over tasks (slopes kept greedily, in order, as
        for the fixed effects) and dropped with a warning."""
        slopes = random[random > 0] - 1
        if slopes.size == 0:
            return random
        within = stats.cxx.sum(axis=0)[np.ix_(slopes, slopes)]
        # a feature constant within every task has a within-task variance of rounding
        # size only: judged against its variance over all rows (the relative test of
        # independent_columns would keep a column of 1e-30)
        varying = np.flatnonzero(np.diag(within) > 1e-10 * _sums_of_squares(stats)[slopes])
        keep = slopes[varying[independent_columns(within[np.ix_(varying, varying)])]]
        if keep.size < slopes.size:
            dropped = np.setdiff1d(slopes, keep)
            warnings.warn(
                f"{type(self).__name__}: the random slope(s) of feature(s) "
                f"{dropped[:20].tolist()}{' ...' if dropped.size > 20 else ''} cannot be "
                "told apart from the random intercept or the other slopes (the feature is "
                "constant within every task, or a combination of the other features "
                "within tasks): they are left out of the random effects (their population "
                "coefficients stay).", UserWarning)
        return np.concatenate([random[random == 0], keep + 1]).astype(np.intp)

    def _statistics(self, X, y, sample_weight):
        if any(is_dask_collection(a) for a in (X, y, sample_weight)):
            # the per-task statistics on the workers, partition by partition; the fit
            # below sees only them, as for in-memory input
            from .._dask.fit import task_statistics

            stats, _, self._y_ndim, _ = task_statistics(self, X, y, sample_weight)
            task_sample_counts(None, stats.n, np.arange(len(stats.labels)), stats.labels)
            return stats
        X, task_ids, col_max = check_X(self, X, reset=True, keep_float32=True, scan=True)
        y = self._check_y(y, X.shape[0], per_task=task_ids is not None)
        sample_weight = _check_sample_weight(sample_weight, X, dtype=np.float64,
                                             ensure_non_negative=True)
        check_magnitudes(X, y, col_max)
        if task_ids is None:
            self._y_ndim = y.ndim
            stats = shared_block_statistics(X, y.reshape(X.shape[0], -1), sample_weight)
        else:
            stats = per_task_block_statistics(X, task_ids, y, sample_weight)
        task_sample_counts(None, stats.n, np.arange(len(stats.labels)), stats.labels)
        return stats

    def _fit(self, X, y, sample_weight):
        stats = self._statistics(X, y, sample_weight)
        d = stats.mx.shape[1]
        random = self._identifiable(self._random_columns(d), stats)
        p = d + 1
        # isotropic: one variance for the intercept and every slope, in the user's units;
        # rescaling the features would make it isotropic in other units (a different model)
        if self.covariance == "isotropic":
            scale = np.ones(p)
        else:
            stats, scale = _standardised(stats)
        fixed = independent_columns(from_statistics(stats, [0]).S.sum(axis=0)[:p, :p])
        mstats = from_statistics(stats, random, fixed)
        N = float(np.sum(stats.n))
        if self.method == "reml" and N <= len(fixed):
            raise ValueError(
                f"{type(self).__name__} with method='reml' needs more (weighted) labelled "
                f"samples than fixed effects: got {N:g} sample(s) for {len(fixed)} (the "
                f"intercept and {len(fixed) - 1} independent feature(s)).")
        if len(fixed) < p:
            dropped = np.setdiff1d(np.arange(p), fixed) - 1
            warnings.warn(
                f"{type(self).__name__}: the intercept and the {d} feature(s) are linearly "
                f"dependent over the labelled rows (rank {len(fixed)} < {p}): the "
                f"population coefficients of feature(s) {dropped[:20].tolist()} (each a "
                "combination of the features before it, or constant) are set to 0, as "
                "lme4 does; their random slopes, if any, stay. Drop or combine collinear "
                "or constant features.", UserWarning)
        structure = make_structure(self.covariance, len(random), self.rank)
        reml = self.method == "reml"
        if mstats.n_tasks == 1:
            warnings.warn(
                f"{type(self).__name__}: a single task, so the covariance of the task "
                "effects cannot be estimated (they are confounded with the population "
                "model); it is set to 0 and the fit is least squares.", UserWarning)
            result = _least_squares(mstats, structure, reml)
        else:
            result = fit_mixed(mstats, structure, reml=reml, tol=self.tol,
                               max_iter=self.max_iter)
        if not result.converged:
            warnings.warn(
                f"{type(self).__name__} did not converge in max_iter={self.max_iter} "
                f"iterations: projected gradient {result.projected_gradient:.3e} > "
                f"tol={self.tol:g} ({result.message}). The log-likelihood may be "
                "below its maximum; increase max_iter or tol.", ConvergenceWarning)
        self._set_fitted(stats.labels, result, random, fixed, p, scale, reml)
        return self

    def _set_fitted(self, tasks, result, random, fixed, p, scale, reml):
        """The fitted attributes, in the user's feature scale (``scale``: the factors
        the features were divided by, 1 for the intercept)."""
        ev = result.evaluation
        beta = np.zeros(p)
        beta[fixed] = ev.beta
        beta /= scale
        sr = scale[random]
        blup = ev.blup / sr
        psi = ev.Psi / np.outer(sr, sr)
        llf = ev.log_likelihood
        if reml:  # log|A| of the GLS matrix moves by 2 log|D| when the columns are scaled
            llf -= float(np.sum(np.log(scale[fixed])))
        self.tasks_ = tasks
        self.n_tasks_ = len(tasks)
        self.population_intercept_ = float(beta[0])
        self.population_coef_ = beta[1:]
        self.random_features_ = random[1:] - 1
        self.noise_variance_ = ev.sigma2
        self.covariance_ = ev.sigma2 * psi
        self.random_effects_ = blup
        full = np.zeros((len(tasks), p))
        full[:, random] = blup
        full += beta
        self.intercept_ = full[:, 0].copy()
        self.coef_ = np.ascontiguousarray(full[:, 1:])
        self.log_likelihood_ = llf
        self.converged_ = result.converged
        self.n_iter_ = result.n_iter


def _sums_of_squares(stats):
    """``(d,)``: each feature's weighted sum of squared deviations from its mean over all
    labelled rows (within tasks plus between their means)."""
    n = stats.n
    mean = n @ stats.mx / float(np.sum(n))
    return np.einsum("tjj->j", stats.cxx) + n @ (stats.mx - mean) ** 2


def _standardised(stats):
    """The statistics of the features divided by their standard deviations over all
    labelled rows (a constant feature keeps 1), and the factors ``(p,)``, intercept
    first. An exact reparametrisation: the likelihood of ``y`` is the same, but the
    covariance parameters of features on very different scales (School's raw
    features: exam scores beside 0/1 dummies) are far better conditioned for L-BFGS."""
    from dataclasses import replace

    var = _sums_of_squares(stats) / float(np.sum(stats.n))
    s = np.where(var > 0, np.sqrt(np.clip(var, 0.0, None)), 1.0)
    scaled = replace(stats, mx=stats.mx / s, cxx=stats.cxx / np.outer(s, s),
                     cxy=stats.cxy / s)
    return scaled, np.concatenate([[1.0], s])


def _least_squares(mstats, structure, reml):
    """The fit with ``Sigma = 0`` (one task: see the Notes of the estimator)."""
    from ..mixed import MixedFit, evaluate

    theta = np.zeros(structure.n_params)
    ev = evaluate(mstats, structure, theta, reml=reml, blup=True)
    return MixedFit(theta, ev, 1, 0, True, 0.0, "single task: one least-squares solve")


__all__ = ["HierarchicalRegressor"]
