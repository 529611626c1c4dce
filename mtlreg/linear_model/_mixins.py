"""What the two kinds of estimator add to the shared base: ``predict``, ``score`` and the
checks of ``y`` for regressors; classes, probabilities, ``decision_function`` and the
checks of each task's classes for classifiers. Used by the linear models
(:mod:`._base`) and by the networks of :mod:`mtlreg.torch`, fed by their outputs."""

import functools
import warnings

import numpy as np
from scipy.special import expit, log_softmax, softmax
from sklearn.base import ClassifierMixin, RegressorMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils.multiclass import check_classification_targets

from .._tasks.classes import ClassLayout
from .._tasks.layout import rowwise_predict
from ..datafits._multinomial import Multinomial
from ..utils._arrays import matmul64
from ..utils._messages import format_tasks
from ..utils.validation import check_targets, check_X, is_dask_collection
from . import _multiclass
from ._docs import LOGISTIC_SOLVERS
from ._loss import check_counts, check_zero_tasks, internal_loss, mean_of, pointwise_loss, score_of


class MultiTaskRegressorMixin(RegressorMixin):
    """Real targets: the squared loss, or (the linear models' ``loss`` parameter,
    :mod:`._loss`) the Poisson or Huber loss."""

    @property
    def _loss(self):
        return internal_loss(self)

    def _check_y(self, y, n_samples, per_task):
        y = check_targets(y, n_samples, per_task=per_task, numeric=True)
        return check_counts(y) if self._loss == "poisson" else y

    def _check_layout(self, layout, tasks):
        check_zero_tasks(self, layout, tasks)

    def predict(self, X, offset=None):
        """Predict with the linear model of each row's task: ``x . w_t + b_t``; with
        ``loss="poisson"`` the mean ``exp(x . w_t + b_t + offset)``.

        Returns ``(n_samples,)`` in the per-task layout (and for a 1-D fit ``y``),
        ``(n_samples, n_tasks)`` in the shared layout. ``offset`` (``loss="poisson"``
        only): ``(n_samples,)``, or in the shared layout ``(n_samples, n_tasks)``.
        """
        return mean_of(self._decision(X), offset, self._loss)

    def score(self, X, y, sample_weight=None, offset=None):
        """R^2 of the prediction (``loss="poisson"``: ``D^2``, the share of the Poisson
        deviance explained, as :class:`~sklearn.linear_model.PoissonRegressor`); in the
        shared layout, averaged over tasks using only the labelled entries of each task
        (NaN = missing label).

        A row of a task not seen in ``fit`` raises a ``ValueError`` (naming
        :class:`~mtlreg.model_selection.TaskStratifiedKFold`) rather than giving a
        NaN score, unless ``unseen_tasks="shared"``."""
        y_pred = self.predict(X, offset) if offset is not None else self.predict(X)
        y = np.asarray(y, dtype=np.float64)
        if y.ndim == 2 and y_pred.ndim == 1 and y.shape[1] == 1:
            y = y[:, 0]
        loss = self._loss
        if not np.isnan(y).any() and (y.ndim == 1 or loss != "poisson"):
            return score_of(y, y_pred, loss, sample_weight)  # r2_score: mean over tasks
        Y, P = y.reshape(len(y), -1), y_pred.reshape(len(y), -1)
        sw = None if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
        scores = []
        for t in range(Y.shape[1]):
            seen = ~np.isnan(Y[:, t])
            scores.append(score_of(Y[seen, t], P[seen, t], loss,
                                   None if sw is None else sw[seen]))
        return float(np.mean(scores))

    def _test_loss(self, X, y, sample_weight=None, offset=None):
        """Mean test loss over the labelled entries (used by the ``*CV`` estimators):
        squared error, Poisson deviance (``loss="poisson"``, the mean ``exp(z + offset)``)
        or Huber loss at ``epsilon`` (``loss="huber"``)."""
        y = self._check_y(y, len(y), per_task=self.task_column is not None)
        y = y.reshape(len(y), -1)
        pred = self.predict(X, offset).reshape(len(y), -1)
        return _weighted_mean(pointwise_loss(y, pred, self._loss, getattr(self, "epsilon", None)),
                              sample_weight)

    def __sklearn_tags__(self):
        tags = self._more_tags_common(super().__sklearn_tags__())
        if self._loss == "poisson":
            tags.target_tags.positive_only = True
        return tags


class MultiTaskClassifierMixin(ClassifierMixin):
    """Logistic loss: binary labels per task (``classes_`` of length 2), or, for the
    linear models, the softmax loss of ``K > 2`` classes (:mod:`._multiclass`)."""

    _loss = "logistic"
    _solvers = LOGISTIC_SOLVERS
    _multiclass = False  # True for the linear models (set below), not the networks

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if any(base.__name__ == "MultiTaskLinearModel" for base in cls.__mro__):
            make = cls._make_penalty
            if not getattr(make, "_for_classes", False):
                @functools.wraps(make)
                def _make_penalty(self):
                    return _multiclass.penalty_for_classes(self, make(self), self._n_classes_fit())

                _make_penalty._for_classes = True
                cls._make_penalty = _make_penalty
            from_fitted = cls._variable_from_fitted
            if not getattr(from_fitted, "_for_classes", False):
                # the warm start's variable: (rows, K, T) from (T, K, d) attributes, as
                # the solver's (rows, K T); wrapped here so that the models that build it
                # from their parts (dirty, robust: [B; S]) get it too
                @functools.wraps(from_fitted)
                def _variable_from_fitted(self):
                    V = from_fitted(self)
                    return V.reshape(V.shape[0], -1) if V.ndim == 3 else V

                _variable_from_fitted._for_classes = True
                cls._variable_from_fitted = _variable_from_fitted
            kind = _multiclass.penalty_kind(make(cls()))
            cls._multiclass = kind != "refused"  # the clustered and robust models: binary
            if "__doc__" in cls.__dict__ and cls.__doc__:  # the multiclass objective
                cls.__doc__ += _multiclass.doc_section(
                    kind, "\n    Notes\n    -----" in cls.__doc__,
                    unseen="unseen_tasks" in getattr(cls, "_parameter_constraints", {}))

    def _n_classes_fit(self):
        """The number of classes of the data being fitted (2 before ``_check_y``)."""
        return getattr(self, "_n_classes", 2)

    def _is_multiclass(self):
        return hasattr(self, "classes_") and len(self.classes_) > 2

    def _check_y(self, y, n_samples, per_task):
        y = check_targets(y, n_samples, per_task=per_task, numeric=False)
        missing = _missing_mask(y)
        observed = y[~missing]
        check_classification_targets(observed)
        classes = np.unique(observed)
        if len(classes) > 2 and not self._multiclass:
            others = (" (the other linear classifiers, e.g. GroupLassoClassifier, fit "
                      "multiclass tasks)" if hasattr(self, "_make_penalty") else "")
            raise ValueError(
                "Only binary classification is supported: "
                f"{type(self).__name__} fits one binary problem per task, with two classes "
                f"overall; y has {len(classes)} classes: {classes[:10].tolist()}{others}."
            )
        if len(classes) < 2:
            raise ValueError(
                f"{type(self).__name__} needs samples of two classes; only one class "
                f"({classes.tolist()}) is present in y."
            )
        self.classes_ = classes
        self._n_classes = len(classes)
        if len(classes) > 2:  # the class codes 0..K-1 (NaN: missing)
            codes = np.full(y.shape, np.nan)
            codes[~missing] = np.searchsorted(classes, observed)
            return codes
        y01 = np.full(y.shape, np.nan)
        y01[~missing] = observed == classes[1]
        return y01

    def _prepare(self, X, y, sample_weight, reset=True):
        """The base's layout and datafit; with ``K > 2`` classes the layout of ``K T``
        virtual tasks and the softmax datafit (:mod:`._multiclass`)."""
        self._n_classes = 2
        layout, datafit, tasks = super()._prepare(X, y, sample_weight, reset)
        if self._n_classes > 2 and not isinstance(layout, ClassLayout):
            layout = ClassLayout(layout, self._n_classes)
            self._task_lambdas = np.asarray(layout.base.lambdas, dtype=np.float64)
            datafit = self._make_datafit(Multinomial(layout))
        return layout, datafit, tasks

    def _fit(self, X, y, sample_weight):
        super()._fit(X, y, sample_weight)
        if self._is_multiclass():
            K = len(self.classes_)
            for name in ("coef_shared_", "coef_specific_", "coef_lowrank_", "coef_outlier_"):
                if hasattr(self, name) and getattr(self, name).ndim == 2:
                    setattr(self, name, _multiclass.to_task_class(getattr(self, name), K))
            lam = self._task_lambdas
            self.shared_intercept_ = (lam @ self.intercept_) / lam.sum() if self.fit_intercept \
                else np.zeros(K)
        return self

    def _null_model(self, layout, datafit):
        if not (self._n_classes_fit() > 2 and self._shrinks()):
            return super()._null_model(layout, datafit)
        # K > 2 with intercept_reg > 0: the term per class, b_bar in closed form
        datafit, b0 = _multiclass.shrunk_null_model(datafit, layout, self._intercept_strength())
        W0 = np.zeros((self._n_variable_rows(layout.n_features), layout.n_tasks))
        return W0, b0, datafit.gradient(datafit.linear_predictor(W0, b0))[0]

    def _solve(self, layout, datafit, penalty, W0, b0, gradient_scale):
        if not (self._n_classes_fit() > 2 and self._shrinks()):
            return super()._solve(layout, datafit, penalty, W0, b0, gradient_scale)
        self._check_intercept_reg()
        datafit = _multiclass.shrunk(datafit, layout, self._intercept_strength())
        return self._solve_fixed(layout, datafit, penalty, W0, b0, gradient_scale)

    def _set_coef(self, V, intercept):
        super()._set_coef(V, intercept)
        if self._n_classes_fit() > 2:
            K = self._n_classes_fit()
            self.coef_ = _multiclass.to_task_class(self.coef_, K)  # (T, K, d)
            b = np.asarray(intercept)  # (K T,), or (T, K) from a path
            b = b if b.ndim == 2 else _multiclass.to_task_class(b, K)
            self.intercept_ = b - b.mean(axis=1, keepdims=True)  # sum_k b_tk = 0

    def _path_arrays(self, coefs, intercepts):
        """A path's ``(..., K T, d)`` coefficients and ``(..., K T)`` intercepts as
        ``(..., T, K, d)`` and ``(..., T, K)`` (centred over the classes), as ``coef_``."""
        K = self._n_classes_fit()
        if K <= 2:
            return coefs, intercepts
        lead = coefs.shape[:-2]
        coefs = np.swapaxes(coefs.reshape(*lead, K, -1, coefs.shape[-1]), -3, -2)
        b = np.swapaxes(intercepts.reshape(*lead, K, -1), -2, -1)
        return np.ascontiguousarray(coefs), b - b.mean(axis=-1, keepdims=True)

    def _can_warm_start(self, tasks, n_features):
        K = self._n_classes_fit()
        if K <= 2:
            return (super()._can_warm_start(tasks, n_features)
                    and getattr(self, "coef_", np.empty(0)).ndim == 2)
        return (hasattr(self, "coef_") and self.coef_.shape == (len(tasks), K, n_features)
                and np.array_equal(self.tasks_, tasks)
                and self._variable_from_fitted().shape
                == (self._n_variable_rows(n_features), K * len(tasks)))

    def compute_alpha_max(self, X, y, sample_weight=None):
        """Smallest ``alpha`` for which every coefficient is zero, for this data and settings.

        Does not fit nor change the estimator.
        """
        est, layout, datafit = self._prepared(X, y, sample_weight)
        return est._make_penalty().alpha_max(est._null_model(layout, datafit)[2])

    def _check_layout(self, layout, tasks):
        if self._n_classes_fit() > 2:
            _multiclass.check_task_classes(self, layout, tasks, self._n_classes_fit())
            return
        self._check_task_classes(layout.task_means(layout.y), tasks,
                                 layout._task_sums(layout.c))

    def _check_task_classes(self, p, tasks, weighted=None):
        """``p``: the weighted share of ``classes_[1]`` per task."""
        weighted = np.ones_like(p) if weighted is None else weighted
        one_class = np.flatnonzero((p <= 0) | (p >= 1) | (weighted <= 0))
        # with intercept_reg > 0 a one-class task's intercept is pulled toward the
        # shared one, hence finite (the linear models; the networks have no such option)
        if len(one_class) and self.fit_intercept and not getattr(self, "intercept_reg", 0) > 0:
            hint = (", or set intercept_reg > 0 (the task's intercept is then pulled toward "
                    "the shared intercept)" if hasattr(self, "intercept_reg") else "")
            raise ValueError(
                f"Task(s) {format_tasks(np.asarray(tasks)[one_class])} have samples of only "
                "one class (after sample weighting): the intercept of such a task is "
                f"unbounded. Give every task both classes, or set fit_intercept=False{hint}."
            )

    def _check_solution(self, layout, W, b, tasks):
        """Warn when a task's classes are perfectly separated by the solution and the
        penalty leaves a direction free: the logistic loss then has no minimiser and
        the solver stopped at ``tol`` with finite but arbitrary coefficients. With
        ``K > 2`` classes, see :func:`._multiclass.check_solution`."""
        if self._n_classes_fit() > 2:
            return _multiclass.check_solution(self, layout, W, b, tasks)
        if self._penalty_is_coercive():
            return
        margin = (2.0 * layout.y - 1.0) * layout.matvec(W, b)
        wrong = layout._task_sums(((margin <= 0) & (layout.c > 0)).astype(float))
        separated = np.flatnonzero(wrong == 0)
        if separated.size:
            warnings.warn(
                f"The classes of task(s) {format_tasks(np.asarray(tasks)[separated])} are "
                "perfectly separated and the penalty does not bound the coefficients "
                f"({self._free_direction()}): the logistic loss has no minimiser, so the "
                "solver stopped at tol with finite coefficients whose size depends on tol "
                "and max_iter. Set l2_reg > 0 (or a positive penalty strength).",
                ConvergenceWarning,
            )

    def _free_direction(self):
        return f"alpha={self.alpha}, l2_reg={self.l2_reg}"

    def _decision(self, X):
        """The base's linear predictor; with ``K > 2`` classes ``(n, K)`` (per-task
        layout, or a 1-D fit ``y``) or ``(n, n_tasks, K)`` (shared layout, 2-D ``y``)."""
        if not self._is_multiclass():
            return super()._decision(X)
        if is_dask_collection(X):  # lazy, partition by partition
            from .._dask.fit import decision_classes

            return decision_classes(self, X)
        X, task_ids = check_X(self, X, reset=False, keep_float32=True)
        T, K, d = self.coef_.shape
        if task_ids is None:
            Z = matmul64(X, self.coef_.reshape(T * K, d).T) + self.intercept_.ravel()
            Z = Z.reshape(X.shape[0], T, K)
            return Z[:, 0, :] if self._y_ndim == 1 else Z
        codes = self._task_codes(task_ids)
        coef, intercept = self.coef_, self.intercept_
        if np.any(codes == T):  # unseen tasks, unseen_tasks="shared": (K, d) and (K,)
            w, b = self._shared_model()
            coef, intercept = np.concatenate([coef, w[None]]), np.vstack([intercept, b])
        return np.column_stack([rowwise_predict(X, codes, coef[:, k, :], intercept[:, k])
                                for k in range(K)])

    def _shared_intercept(self):
        """The intercept(s) for unseen tasks; with ``K > 2`` classes one per class
        (``(K,)``): ``shared_intercept_`` when the intercepts are shrunk toward it, else
        the mean over tasks of ``intercept_`` (the binary rule, per class)."""
        if not self._is_multiclass():
            return super()._shared_intercept()
        if self._shrinks():
            return np.asarray(self.shared_intercept_, dtype=np.float64)
        return self.intercept_.mean(axis=0)

    def decision_function(self, X):
        """Linear predictor: ``x . w_t + b_t`` of the positive class ``classes_[1]``
        (two classes: ``(n_samples,)``, or ``(n_samples, n_tasks)`` in the shared
        layout with a 2-D ``y``); with ``K > 2`` classes the scores ``x . w_tk + b_tk``
        of every class, ``(n_samples, K)`` (per-task layout, or a 1-D ``y``), or
        ``(n_samples, n_tasks, K)`` (shared layout with a 2-D ``y``), classes in the
        order of ``classes_``."""
        return self._decision(X)

    def predict_proba(self, X):
        """Class probabilities.

        ``(n_samples, 2)`` (columns in the order of ``classes_``) in the per-task
        layout and for a 1-D fit ``y``; in the shared layout with a 2-D ``y``,
        ``(n_samples, n_tasks)``: the probability of ``classes_[1]`` for each task
        (the multilabel convention of :class:`~sklearn.neural_network.MLPClassifier`).
        With ``K > 2`` classes the softmax of :meth:`decision_function`:
        ``(n_samples, K)``, or ``(n_samples, n_tasks, K)`` in the shared layout with a
        2-D ``y``; it sums to one over the last axis (per row and task).
        """
        Z = self._decision(X)
        if self._is_multiclass():
            return _on_scores(Z, _softmax_last)
        if is_dask_collection(Z):
            from .._dask.fit import map_result

            return map_result(Z, _proba, ndim_out=2)
        return _proba(Z)

    def predict_log_proba(self, X):
        """Logarithm of :meth:`predict_proba`, computed stably."""
        z = self._decision(X)
        if self._is_multiclass():
            return _on_scores(z, _log_softmax_last)
        log_p = -np.logaddexp(0.0, -z)
        return np.column_stack([-np.logaddexp(0.0, z), log_p]) if z.ndim == 1 else log_p

    def predict(self, X):
        """Predicted class per row (and per task in the shared layout)."""
        Z = self._decision(X)
        if self._is_multiclass():
            return _on_scores(Z, _class_of_scores, self.classes_, drop_last=True,
                              dtype=self.classes_.dtype)
        if is_dask_collection(Z):
            from .._dask.fit import map_result

            return map_result(Z, _classes_at, self.classes_, dtype=self.classes_.dtype)
        return _classes_at(Z, self.classes_)

    def score(self, X, y, sample_weight=None):
        """Mean accuracy over the labelled entries (NaN = missing label).

        A row of a task not seen in ``fit`` raises a ``ValueError`` (naming
        :class:`~mtlreg.model_selection.TaskStratifiedKFold`) rather than giving a
        NaN score, unless ``unseen_tasks="shared"``."""
        y = np.asarray(y)
        y_pred = self.predict(X)
        if y.ndim == 2 and y_pred.ndim == 1 and y.shape[1] == 1:
            y = y[:, 0]
        seen = ~_missing_mask(y)
        correct = (y_pred == y) & seen
        if sample_weight is None:
            return float(correct.sum() / seen.sum())
        sw = np.asarray(sample_weight, dtype=np.float64)
        sw = sw[:, None] if y.ndim == 2 else sw
        return float((correct * sw).sum() / (seen * sw).sum())

    def _test_loss(self, X, y, sample_weight=None):
        """Mean logistic loss over the labelled entries (used by the ``*CV`` estimators);
        with ``K > 2`` classes the multinomial log-loss ``-log p_y``. A label not in
        ``classes_`` is a ``ValueError``."""
        y = np.asarray(y)
        missing = _missing_mask(y)
        unknown = ~missing & ~np.isin(y, self.classes_)
        if unknown.any():
            raise ValueError(
                f"y holds label(s) {np.unique(y[unknown].astype(str))[:10].tolist()} that "
                f"{type(self).__name__} did not see in fit (classes_ = "
                f"{self.classes_[:10].tolist()}): their log-loss is undefined. In "
                "cross-validation, stratify the folds so that every class is in every "
                "training fold.")
        if self._is_multiclass():
            K = len(self.classes_)
            logp = self.predict_log_proba(X).reshape(len(y), -1, K)
            codes = np.searchsorted(self.classes_, np.where(missing, self.classes_[0], y))
            codes = codes.reshape(len(y), -1)
            loss = -np.take_along_axis(logp, codes[:, :, None], axis=2)[:, :, 0]
            return _weighted_mean(np.where(missing.reshape(len(y), -1), np.nan, loss),
                                  sample_weight)
        y01 = np.where(missing, np.nan, y == self.classes_[1]).astype(float)
        y01 = y01.reshape(len(y), -1)
        z = self._decision(X).reshape(len(y), -1)
        return _weighted_mean(np.logaddexp(0.0, z) - y01 * z, sample_weight)

    def __sklearn_tags__(self):
        tags = self._more_tags_common(super().__sklearn_tags__())
        tags.classifier_tags.multi_class = self._multiclass
        return tags


def _proba(z):
    p = expit(z)
    return np.column_stack([1 - p, p]) if p.ndim == 1 else p


def _classes_at(z, classes):
    return classes[(z > 0).astype(np.intp)]


def _on_scores(Z, fn, *args, drop_last=False, dtype=np.float64):
    """``fn(Z, *args)`` on a multiclass fit's scores (class on the last axis); lazy,
    block by block, for scores from Dask input."""
    if is_dask_collection(Z):
        from .._dask.fit import map_result

        return map_result(Z, fn, *args, drop_last=drop_last, dtype=dtype)
    return fn(Z, *args)


def _softmax_last(Z):
    return softmax(Z, axis=-1)


def _log_softmax_last(Z):
    return log_softmax(Z, axis=-1)


def _class_of_scores(Z, classes):
    return classes[np.argmax(Z, axis=-1)]


def _weighted_mean(values, sample_weight):
    """Mean of ``values (n, T)`` over its non-NaN entries, rows weighted by ``sample_weight``."""
    seen = ~np.isnan(values)
    w = np.ones(len(values)) if sample_weight is None else np.asarray(sample_weight, float)
    w = seen * w[:, None]
    return float(np.sum(np.where(seen, values, 0.0) * w) / max(w.sum(), np.finfo(float).tiny))


def _missing_mask(y):
    if y.dtype.kind == "f":
        return np.isnan(y)
    if y.dtype.kind == "O":
        return np.vectorize(lambda v: v is None or (isinstance(v, float) and np.isnan(v)),
                            otypes=[bool])(y) if y.size else np.zeros(y.shape, bool)
    return np.zeros(y.shape, dtype=bool)
