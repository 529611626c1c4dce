"""The hierarchical (random-effects) logistic classifier: the logistic mixed model by the
Laplace approximation, as lme4's ``glmer`` (issue 25)."""

import warnings
from numbers import Integral, Real

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils.multiclass import check_classification_targets

from .._tasks.layout import task_sample_counts
from .._tasks.statistics import per_task_block_statistics
from ..mixed import from_statistics, independent_columns, make_structure
from ..mixed._laplace import LaplaceData, fit_laplace, laplace, pooled_logistic
from ..utils.validation import (
    Interval,
    StrOptions,
    _check_sample_weight,
    _fit_context,
    check_magnitudes,
    check_targets,
    check_X,
    fit_or_restore,
    is_dask_collection,
)
from ._base import MultiTaskLinearModel, store_params
from ._hierarchical import HierarchicalRegressor, _standardised
from ._mixins import MultiTaskClassifierMixin, _missing_mask


class HierarchicalClassifier(MultiTaskClassifierMixin, BaseEstimator):
    r"""Hierarchical (random-effects) multi-task logistic regression, by the Laplace
    approximation (as lme4's ``glmer``).

    The logistic mixed model with the tasks as groups: row ``i`` of task ``t`` has

    .. math::

        \operatorname{logit} P(y_i = 1) = x_i \cdot (\beta + u_t) + b_0 + c_t,
        \qquad (c_t, u_t) \sim N(0, \Sigma),

    (``y_i = 1``: the class ``classes_[1]``) where only the effects named by
    ``random_effects`` vary between tasks. Write ``Sigma = Lambda Lambda^T``, ``b_t = Lambda v_t`` the random
    effects of task ``t`` (``v_t ~ N(0, I)``), ``eta_i`` its linear predictor,
    ``mu_i = 1 / (1 + exp(-eta_i))``, ``Z_t`` the columns of ``[1, X_t]`` with a random
    effect and ``w_i`` the sample weights (frequency weights: an integer weight is the
    row repeated). The population model ``(beta, b_0)`` and ``Sigma`` maximise the
    Laplace approximation of the log marginal likelihood

    .. math::

        \log L = \sum_t \Big( \sum_{i \in t} w_i \big(y_i \eta_i - \log(1 + e^{\eta_i})
            \big) - \tfrac{1}{2} \|\hat v_t\|^2 - \tfrac{1}{2} \log\det\big(I +
            \Lambda^\top Z_t^\top \operatorname{diag}(w_i \mu_i (1 - \mu_i)) Z_t \Lambda
            \big) \Big),

    everything at the modes ``hat v_t`` of the task terms (``b_t = Lambda hat v_t``
    maximises ``loglik_t(b) - b^T Sigma^{-1} b / 2``): lme4's ``glmer`` criterion with
    ``nAGQ = 1`` (its deviance is ``-2 log L``); for a random intercept alone it is
    adaptive Gauss-Hermite quadrature with one node. There is no REML for this model.
    The modes are found by Newton's method batched over tasks (one ``q x q`` solve per
    task a step), and ``(beta, b_0, Sigma)`` by L-BFGS-B on ``-log L / sum(w)`` with
    the exact gradient (implicit differentiation of the modes;
    :mod:`mtlreg.mixed._laplace`), started from the pooled logistic fit and
    ``Sigma = I``. Internally the features are divided by their standard deviations
    (an exact reparametrisation for the full, diagonal and low-rank structures; not
    done for ``covariance="isotropic"``, which is not invariant to it).

    The task coefficients ``coef_`` and ``intercept_`` are the conditional modes
    ``beta + u_t`` and ``b_0 + c_t``: shrunk toward the population model, the more the
    fewer rows a task has. A task whose rows are all of one class fits: its random
    intercept is finite, pulled toward ``b_0``. ``predict_proba`` for a task not seen
    in ``fit`` (``unseen_tasks="shared"``) uses the population model, the prediction
    at ``u_t = 0, c_t = 0``, not the probability averaged over the random effects
    (which is closer to 1/2).

    Parameters
    ----------
    random_effects : "intercept", "all" or list of int, default="intercept"
        Which coefficients vary between tasks: ``"intercept"`` (a random intercept,
        the common logistic mixed model), ``"all"`` (the intercept and every feature),
        or a list of feature indices (the task column excluded) with a random slope,
        plus the intercept.
    covariance : {"full", "diagonal", "isotropic", "low_rank"}, default="full"
        The structure of ``Sigma`` over the ``q`` random effects: unstructured;
        independent effects; one common variance; or ``B B^T + diag(d)`` with ``B``
        of ``rank`` columns.
    rank : int, default=1
        Rank of the low-rank part with ``covariance="low_rank"`` (capped at ``q``).
    task_column : int, str or None, default=None
        ``None``: shared design, ``y`` is ``(n_samples, n_tasks)`` (NaN = missing
        label), every task sees the same ``X``. Otherwise the column of ``X`` (index,
        or name for a DataFrame) that holds each row's task; ``y`` is then 1-D.
    unseen_tasks : {"error", "shared"}, default="shared"
        What ``predict`` does with a row of a task not seen in ``fit``: ``"shared"``
        uses the population model; ``"error"`` raises a ``ValueError`` naming the tasks.
    tol : float, default=1e-6
        The fit has converged when every coordinate of the projected gradient of
        ``-log L / sum(w)`` in ``(beta, b_0, theta)`` (``theta``: the entries of
        ``Lambda``, features standardised) is below ``tol``.
    max_iter : int, default=1000
        Maximum number of L-BFGS-B iterations.

    Attributes
    ----------
    classes_ : ndarray of shape (2,)
        The two classes; the model gives the log-odds of ``classes_[1]``.
    coef_ : ndarray of shape (n_tasks, n_features)
        Conditional mode of each task's coefficients (row ``t`` for ``tasks_[t]``).
    intercept_ : ndarray of shape (n_tasks,)
        Conditional mode of each task's intercept.
    population_coef_ : ndarray of shape (n_features,)
        ``beta``, the fixed effects.
    population_intercept_ : float
        ``b_0``.
    random_features_ : ndarray of shape (q - 1,)
        The features with a random slope; the random effects are, in order, the
        intercept then these.
    covariance_ : ndarray of shape (q, q)
        ``Sigma``, the covariance of the random effects (intercept first).
    random_effects_ : ndarray of shape (n_tasks, q)
        The conditional modes of ``(c_t, u_t)``, intercept first.
    log_likelihood_ : float
        ``log L``, the Laplace approximation of the log marginal likelihood at the fit.
    converged_ : bool
        Whether the projected gradient reached ``tol`` (else a ``ConvergenceWarning``).
    n_iter_ : int
        L-BFGS-B iterations (plus Newton steps if the line search failed).
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
    Binary labels only (two classes overall). With a single task, ``Sigma`` cannot
    be estimated (the pooled fit is the maximum at ``Sigma = 0``): it is set to 0, the
    fit is the pooled logistic regression, and a warning says so. A sparse ``X`` is
    made dense; Dask collections are refused (compute them first).
    """

    _parameter_constraints = {
        "random_effects": [StrOptions({"all", "intercept"}), "array-like"],
        "covariance": [StrOptions({"full", "diagonal", "isotropic", "low_rank"})],
        "rank": [Interval(Integral, 1, None, closed="left")],
        "task_column": [None, Interval(Integral, None, None, closed="neither"), str],
        "unseen_tasks": [StrOptions({"error", "shared"})],
        "tol": [Interval(Real, 0, None, closed="neither")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
    }

    def __init__(self, random_effects="intercept", *, covariance="full", rank=1,
                 task_column=None, unseen_tasks="shared", tol=1e-6, max_iter=1000):
        store_params(self, locals())

    _decision = MultiTaskLinearModel._decision
    _task_codes = MultiTaskLinearModel._task_codes
    _more_tags_common = MultiTaskLinearModel._more_tags_common
    _random_columns = HierarchicalRegressor._random_columns
    _identifiable = HierarchicalRegressor._identifiable
    _unseen_hint = HierarchicalRegressor._unseen_hint

    def _shared_model(self):
        return self.population_coef_, self.population_intercept_

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None):
        """Fit the model by maximising the Laplace approximation of the marginal
        likelihood.

        Parameters
        ----------
        X : {array-like, sparse matrix, DataFrame} of shape (n_samples, n_columns)
            The features; with ``task_column`` set, one column names the task.
        y : array-like of shape (n_samples,) or (n_samples, n_tasks)
            Labels of two classes, 2-D only in the shared layout; NaN (or None)
            marks a missing label.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative frequency weights of the rows.

        Returns
        -------
        self : object
        """
        return fit_or_restore(self, self._fit, X, y, sample_weight)

    def _check_y(self, y, n_samples, per_task):
        # binary only, whatever the mixin accepts: refuse more classes here first
        labels = check_targets(y, n_samples, per_task=per_task, numeric=False)
        observed = labels[~_missing_mask(labels)]
        check_classification_targets(observed)
        classes = np.unique(observed)
        if len(classes) > 2:
            raise ValueError(
                f"Only binary classification is supported. {type(self).__name__} needs "
                f"two classes overall; y has {len(classes)}: {classes[:10].tolist()}. Fit "
                "one model per class against the rest (e.g. with "
                "sklearn.multiclass.OneVsRestClassifier).")
        return super()._check_y(y, n_samples, per_task)

    def _rows(self, X, y, sample_weight):
        """The labelled rows with a positive weight, in the per-task (long) form:
        ``(X, y01, w, codes, tasks)``."""
        if any(is_dask_collection(a) for a in (X, y, sample_weight)):
            raise TypeError(
                f"{type(self).__name__} fits in memory and does not take Dask "
                "collections: compute them first (e.g. X.compute(), y.compute()).")
        X, task_ids, col_max = check_X(self, X, reset=True, scan=True)
        y01 = self._check_y(y, X.shape[0], per_task=task_ids is not None)
        sw = _check_sample_weight(sample_weight, X, dtype=np.float64, ensure_non_negative=True)
        check_magnitudes(X, None, col_max)
        if sp.issparse(X):
            X = X.toarray()
        if task_ids is None:
            self._y_ndim = y01.ndim
            Y = y01.reshape(X.shape[0], -1)
            tasks = np.arange(Y.shape[1])
            codes, rows = np.nonzero(~np.isnan(Y.T))  # task by task
            X, y01, sw = X[rows], Y[rows, codes], sw[rows]
        else:
            tasks, codes = np.unique(task_ids, return_inverse=True)
            codes = codes.ravel()
            sw = np.where(np.isnan(y01), 0.0, sw)
            y01 = np.nan_to_num(y01)
        codes = codes.astype(np.intp)
        task_sample_counts(None, sw, codes, tasks)
        keep = sw > 0
        return X[keep], y01[keep], sw[keep], codes[keep], tasks

    def _fit(self, X, y, sample_weight):
        X, y01, w, codes, tasks = self._rows(X, y, sample_weight)
        T, d = len(tasks), X.shape[1]
        p = d + 1
        stats = per_task_block_statistics(X, codes, y01, w)
        random = self._identifiable(self._random_columns(d), stats)
        if self.covariance == "isotropic":
            scale = np.ones(p)
        else:
            stats, scale = _standardised(stats)
        fixed = independent_columns(from_statistics(stats, [0]).S.sum(axis=0)[:p, :p])
        if len(fixed) < p:
            dropped = np.setdiff1d(np.arange(p), fixed) - 1
            warnings.warn(
                f"{type(self).__name__}: the intercept and the {d} feature(s) are linearly "
                f"dependent over the labelled rows (rank {len(fixed)} < {p}): the "
                f"population coefficients of feature(s) {dropped[:20].tolist()} (each a "
                "combination of the features before it, or constant) are set to 0, as "
                "lme4 does; their random slopes, if any, stay. Drop or combine collinear "
                "or constant features.", UserWarning)
        X1 = np.column_stack([np.ones(len(y01)), X / scale[1:]])
        data = LaplaceData.from_rows(X1[:, fixed], X1[:, random], y01, w, codes, T)
        structure = make_structure(self.covariance, len(random), self.rank)
        if T == 1:
            warnings.warn(
                f"{type(self).__name__}: a single task, so the covariance of the task "
                "effects cannot be estimated (the pooled fit is the maximum at Sigma = "
                "0); it is set to 0 and the fit is the pooled logistic regression.",
                UserWarning)
            gamma, converged = pooled_logistic(data)
            theta = np.zeros(structure.n_params)
            ev = laplace(data, gamma, structure.lam(theta))
            n_iter, message = 1, "single task: the pooled logistic fit"
        else:
            result = fit_laplace(data, structure, tol=self.tol, max_iter=self.max_iter)
            gamma, theta, ev = result.gamma, result.theta, result.evaluation
            converged, n_iter, message = result.converged, result.n_iter, result.message
        if not converged:
            warnings.warn(
                f"{type(self).__name__} did not converge in max_iter={self.max_iter} "
                f"iterations ({message}). The log-likelihood may be below its maximum; "
                "if the classes are (nearly) separable by the features, the population "
                "coefficients have no finite maximiser. Increase max_iter or tol.",
                ConvergenceWarning)
        lam = structure.lam(theta)
        self._set_fitted(tasks, gamma, lam, ev, random, fixed, scale, converged, n_iter)
        return self

    def _set_fitted(self, tasks, gamma, lam, ev, random, fixed, scale, converged, n_iter):
        """The fitted attributes, in the user's feature scale (``scale``: the factors
        the features were divided by, 1 for the intercept)."""
        p = len(scale)
        beta = np.zeros(p)
        beta[fixed] = gamma
        beta /= scale
        sr = scale[random]
        modes = (ev.modes @ lam.T) / sr
        self.tasks_ = tasks
        self.n_tasks_ = len(tasks)
        self.population_intercept_ = float(beta[0])
        self.population_coef_ = beta[1:]
        self.random_features_ = random[1:] - 1
        self.covariance_ = (lam @ lam.T) / np.outer(sr, sr)
        self.random_effects_ = modes
        full = np.zeros((len(tasks), p))
        full[:, random] = modes
        full += beta
        self.intercept_ = full[:, 0].copy()
        self.coef_ = np.ascontiguousarray(full[:, 1:])
        self.log_likelihood_ = float(ev.log_likelihood)
        self.converged_ = bool(converged)
        self.n_iter_ = int(n_iter)


__all__ = ["HierarchicalClassifier"]
