"""Cross-validated estimators (``GroupLassoRegressorCV``, ...), like ``MultiTaskLassoCV``.

Each fold fits a warm-started regularization path (:func:`regularization_path`)
on its training part and scores every solution on its test part; folds run
through joblib (``n_jobs``), hence also on a Dask cluster with
``joblib.parallel_backend("dask")``. Every fold is deterministic, so serial
and parallel runs choose the same parameters. The chosen model is refitted on
all the data.
"""

import inspect
from numbers import Integral, Real

import numpy as np
import scipy.sparse as sp
from joblib import Parallel, delayed
from sklearn.base import BaseEstimator, clone
from sklearn.model_selection import check_cv
from sklearn.utils import _safe_indexing
from sklearn.utils.validation import _num_samples, check_is_fitted

from ..model_selection import default_cv
from ..utils.validation import Interval, _fit_context, fit_or_restore, is_dask_collection
from ._loss import check_offset, internal_loss, refuse_offset
from ._path import _check_grid_args, _grid, regularization_path

# the name of the path of test losses, after what it holds (the classifiers':
# log_loss_path_); mse_path_ as scikit-learn's LassoCV for the squared error
_PATH_NAMES = {"squared": "mse_path_", "poisson": "deviance_path_", "huber": "huber_path_"}
_ALL_PATHS = (*_PATH_NAMES.values(), "log_loss_path_")
_PATH_DOC = """, named after the loss (one of the three
        is set): the mean squared error in ``mse_path_`` (``loss="squared_error"``, as
        :class:`~sklearn.linear_model.LassoCV`), the mean Poisson deviance in
        ``deviance_path_`` (``loss="poisson"``), the mean Huber loss in ``huber_path_``
        (``loss="huber"``)"""

_CV_PARAMS = {
    "alphas": None,
    "intercept_regs": None,
    "n_alphas": 30,
    "eps": 1e-3,
    "cv": None,
    "n_jobs": None,
    "verbose": 0,
}


class _MultiTaskCVBase(BaseEstimator):
    """Shared machinery; concrete classes are made by :func:`_make_cv_class`."""

    _estimator_class = None
    _second = None  # (parameter name, CV parameter name, default values)

    _cv_constraints = {
        "alphas": ["array-like", None],
        "intercept_regs": ["array-like", None],
        "n_alphas": [Interval(Integral, 1, None, closed="left")],
        "eps": [Interval(Real, 0, 1, closed="right")],
        "cv": ["cv_object"],
        "n_jobs": [Integral, None],
        "verbose": ["verbose"],
    }

    def _base_estimator(self):
        """The estimator being tuned; ``verbose`` reports the search, not every solve."""
        names = inspect.signature(self._estimator_class.__init__).parameters
        return self._estimator_class(**{n: getattr(self, n) for n in names
                                        if n not in ("self", "verbose") and hasattr(self, n)})

    def _second_grid(self, base, X, y, sample_weight, offset):
        if self._second is None:
            return None
        name, cv_name, default = self._second
        values = getattr(self, cv_name)
        if values is None and callable(default):
            values = default(base, X, y, sample_weight, offset)
        elif values is None:
            values = default
        values = np.atleast_1d(values)
        if values.size == 0:
            raise ValueError(f"{cv_name} is empty: give at least one value of {name}.")
        for value in values:  # validated as the estimator's fit would
            clone(base).set_params(**{name: value})._validate_params()
        return name, [float(v) for v in values]

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None, offset=None):
        """Choose the parameters by cross-validation, then refit on all the data.

        ``X``, ``y``, ``sample_weight`` and ``offset`` as for the estimator's ``fit``;
        ``offset`` (``loss="poisson"`` only) is sliced per fold like ``sample_weight``:
        each fold's path is fitted with its training rows' offset and scored (mean
        Poisson deviance of ``exp(z + offset)``) with its test rows' offset; the grids
        of ``alpha`` and the refit use it on all the rows.
        """
        return fit_or_restore(self, self._fit, X, y, sample_weight, offset)

    def _fit(self, X, y, sample_weight, offset=None):
        base = self._base_estimator()
        refuse_offset(base, offset, type(self).__name__)
        dask_input = any(is_dask_collection(a) for a in (X, y, sample_weight, offset))
        if dask_input:
            self._check_dask_support(base)
            from .._dask import cv as _dask_cv

            # one pass: the statistics of every fold; all the data = their merge
            data, folds = _dask_cv.prepare_folds(base, X, y, sample_weight,
                                                 5 if self.cv is None else int(self.cv))
            Xg, yg, swg = data, None, None
        else:
            X, y, sample_weight = _indexable(X), _indexable(y), _indexable(sample_weight)
            offset = _checked_offset(base, X, y, offset)
            Xg, yg, swg = X, y, sample_weight
            folds = _Folds(self, base, X, y)  # split once, after the first validation
        # intercept_regs: one search per value (the same folds), the best of all kept
        regs = self._intercept_reg_grid(base)
        runs = [base] if regs is None else [clone(base).set_params(intercept_reg=v)
                                            for v in regs]
        searches = [self._search(run, X, y, sample_weight, offset, (Xg, yg, swg), folds,
                                 dask_input) for run in runs]
        r = int(np.argmin([path.mean(axis=-1).min() for _, _, _, path in searches]))
        base, (grids, second, values, path) = runs[r], searches[r]
        mean = path.mean(axis=-1)
        g, a = np.unravel_index(np.argmin(mean), mean.shape)
        best = {"alpha": float(grids[g, a])}
        if second is not None:
            best[second[0]] = values[g]
        if dask_input:  # refitted on the statistics of all the data: no other pass
            self.estimator_ = clone(base).set_params(**best).fit(Xg, None)
            for name in ("n_features_in_", "feature_names_in_"):  # set from X's columns
                if hasattr(base, name):
                    setattr(self.estimator_, name, getattr(base, name))
        else:
            self.estimator_ = clone(base).set_params(**best).fit(X, y, sample_weight,
                                                                 offset=offset)
        self.alpha_ = best["alpha"]
        if second is None:
            grids, path = grids[0], path[0]
        else:
            setattr(self, second[0] + "_", best[second[0]])
            setattr(self, self._second[1] + "_", np.asarray(values, dtype=float))
        if regs is not None:  # a leading axis, one entry per value of intercept_regs
            self.intercept_reg_ = regs[r]
            self.intercept_regs_ = np.asarray(regs, dtype=float)
            grids = np.stack([np.squeeze(gr, 0) if second is None else gr
                              for gr, _, _, _ in searches])
            path = np.stack([np.squeeze(pa, 0) if second is None else pa
                             for _, _, _, pa in searches])
        self.alphas_ = grids
        self._set_path(path)
        for name, value in vars(self.estimator_).items():
            if name.endswith("_") and not name.startswith("_"):
                setattr(self, name, value)
        return self

    def _intercept_reg_grid(self, base):
        """The values of ``intercept_regs`` (validated as ``intercept_reg``), or ``None``."""
        if self.intercept_regs is None:
            return None
        values = np.atleast_1d(self.intercept_regs)
        if values.size == 0 or values.ndim != 1:
            raise ValueError("intercept_regs must be a non-empty 1-D array of values of "
                             f"intercept_reg; got {self.intercept_regs!r}.")
        for value in values:  # validated as the estimator's fit would
            est = clone(base).set_params(intercept_reg=value)
            est._validate_params()
            est._check_intercept_reg()
        return [float(v) for v in values]

    def _search(self, base, X, y, sample_weight, offset, data, folds, dask_input):
        """``(grids (G, A), second, its values, test losses (G, A, n_folds))`` for ``base``."""
        Xg, yg, swg = data
        second = self._second_grid(base, Xg, yg, swg, offset)
        values = [None] if second is None else second[1]
        # the grids come from the full data (as in scikit-learn's LinearModelCV)
        if self.alphas is None:
            grids = []
            for value in values:
                est = clone(base) if second is None else clone(base).set_params(
                    **{second[0]: value})
                est._offset = offset  # alpha_max with the offset (read by the datafit)
                layout, datafit, _ = est._prepare(Xg, yg, swg)
                G0 = est._null_model(layout, datafit)[2]
                grids.append(_grid(est, datafit, G0, self.n_alphas, self.eps))
            grids = np.asarray(grids)
        else:
            grids = _check_grid_args(self.alphas, self.n_alphas, self.eps, len(values))
        if dask_input:
            losses = Parallel(n_jobs=self.n_jobs, verbose=self.verbose)(
                delayed(_statistics_fold_losses)(base, train, test, grids, second,
                                                 self.verbose)
                for train, test in folds
            )
        else:
            losses = Parallel(n_jobs=self.n_jobs, verbose=self.verbose)(
                delayed(_fold_losses)(base, X, y, sample_weight, train, test, grids,
                                      second, self.verbose, offset)
                for train, test in folds.get()
            )
        return grids, second, values, np.stack(losses, axis=-1)

    def _check_dask_support(self, base):
        """From Dask: the squared loss with the default folds (``cv=None`` or an int);
        otherwise a clear error naming the alternatives."""
        if base._loss == "squared" and (self.cv is None or (
                isinstance(self.cv, Integral) and not isinstance(self.cv, bool))):
            return
        loss = (f"loss={base.loss!r}" if hasattr(base, "loss")
                else f"the {base._loss} loss")
        reason = (f"{loss} has no sufficient statistics (its test losses need the rows; "
                  "from Dask the *CV twins take the squared loss only)"
                  if base._loss != "squared" else
                  "a custom cv splits rows held in memory (from Dask only cv=None or an "
                  "int, the default task-stratified / K-fold splits, are supported)")
        raise NotImplementedError(
            f"{type(self).__name__} cannot cross-validate from a Dask collection: "
            f"{reason}. Fit the estimator itself from Dask at a chosen alpha "
            "(compute_alpha_max and regularization_path work from Dask too), or "
            "cross-validate in memory on a sample, with the folds on the cluster "
            "through joblib.parallel_backend('dask')."
        )

    def _set_path(self, path):
        for other in _ALL_PATHS:  # a previous fit's, under another loss's name
            self.__dict__.pop(other, None)
        setattr(self, self._path_name(), path)

    def _path_name(self):
        """The fitted attribute holding the test losses: ``mse_path_`` (squared error),
        ``deviance_path_`` (``loss="poisson"``), ``huber_path_`` (``loss="huber"``),
        ``log_loss_path_`` (classifiers)."""
        if hasattr(self, "predict_proba"):
            return "log_loss_path_"
        return _PATH_NAMES[internal_loss(self)]

    def __getattr__(self, name):
        # only for attributes not found: the path under another loss's name gets an
        # error saying where it is (e.g. mse_path_ after loss="poisson")
        held = [n for n in _ALL_PATHS if n in self.__dict__] if name in _ALL_PATHS else []
        if held:
            loss = getattr(self, "loss", None)
            raise AttributeError(f"{type(self).__name__} has no {name}: its test losses "
                                 + (f"(loss={loss!r}) " if loss is not None else "")
                                 + f"are in {held[0]}.")
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def predict(self, X):
        """Predict with the refitted model ``estimator_``."""
        check_is_fitted(self)
        return self.estimator_.predict(X)

    def score(self, X, y, sample_weight=None):
        """Score of the refitted model ``estimator_`` (R^2 or accuracy)."""
        check_is_fitted(self)
        return self.estimator_.score(X, y, sample_weight)

    def __sklearn_tags__(self):  # the tuned estimator's, with these parameters (its loss)
        return self._base_estimator().__sklearn_tags__()


class _RegressorCVMethods:
    def predict(self, X, offset=None):
        """Predict with the refitted model ``estimator_`` (``loss="poisson"``: the mean
        ``exp(z + offset)``; ``offset`` as for the estimator's ``predict``)."""
        check_is_fitted(self)
        return self.estimator_.predict(X, offset)

    def score(self, X, y, sample_weight=None, offset=None):
        """Score of the refitted model ``estimator_``: R^2 (``loss="poisson"``: D^2, with
        the ``offset``)."""
        check_is_fitted(self)
        return self.estimator_.score(X, y, sample_weight, offset)


class _ClassifierCVMethods:
    def decision_function(self, X):
        """Linear predictor of the refitted model ``estimator_``."""
        check_is_fitted(self)
        return self.estimator_.decision_function(X)

    def predict_proba(self, X):
        """Class probabilities of the refitted model ``estimator_``."""
        check_is_fitted(self)
        return self.estimator_.predict_proba(X)

    def predict_log_proba(self, X):
        """Log of :meth:`predict_proba`."""
        check_is_fitted(self)
        return self.estimator_.predict_log_proba(X)


class _Folds:
    """The folds of ``cv``, split on first use (once the data are validated, so that a
    bad ``y`` gets the estimator's error, not the splitter's) and then kept: every
    value of ``intercept_regs`` is scored on the same folds."""

    def __init__(self, search, base, X, y):
        self.search, self.base, self.X, self.y = search, base, X, y
        self.folds = None

    def get(self):
        if self.folds is None:
            cv = self.search.cv
            if cv is None or isinstance(cv, Integral):
                cv = default_cv(self.base, self.y, 5 if cv is None else cv)
            else:
                cv = check_cv(cv)
            self.folds = list(cv.split(self.X, self.y))
        return self.folds


def _checked_offset(base, X, y, offset):
    """The ``offset`` as a float array, its shape checked against all the rows (before
    any split: a fold would see a slice of the wrong shape)."""
    if offset is None:
        return None
    n, y_shape = _num_samples(X), np.shape(y)
    if getattr(base, "task_column", None) is not None:
        return check_offset(offset, (n,), "blocks")
    T = y_shape[1] if len(y_shape) == 2 else 1
    return check_offset(offset, (n, T), "shared")


def _indexable(a):
    """Something ``_safe_indexing`` can split by rows: arrays, DataFrames, CSR matrices."""
    if a is None or hasattr(a, "iloc"):
        return a
    if sp.issparse(a):
        return sp.csr_matrix(a)
    return np.asarray(a)


def _statistics_fold_losses(base, train, test, grids, second, verbose=0):
    """Loss on a fold's test statistics of every solution of the path fitted on its
    training statistics (Dask input: the folds are per-task sufficient statistics)."""
    from .._dask.cv import test_losses

    path = regularization_path(base, train, None, alphas=grids, second=second,
                               verbose=verbose)
    return test_losses(path, test, grids)


def _fold_losses(base, X, y, sample_weight, train, test, grids, second, verbose=0,
                 offset=None):
    """Loss on the test part of every solution of the path fitted on the train part
    (``offset``, ``loss="poisson"``: sliced as ``sample_weight``)."""
    sw_train = None if sample_weight is None else _safe_indexing(sample_weight, train)
    X_test, y_test = _safe_indexing(X, test), _safe_indexing(y, test)
    sw_test = None if sample_weight is None else np.asarray(
        _safe_indexing(sample_weight, test), dtype=float)
    off_train, off_test = (None, None) if offset is None else (offset[train], offset[test])
    path = regularization_path(
        base, _safe_indexing(X, train), _safe_indexing(y, train),
        sample_weight=sw_train, offset=off_train, alphas=grids, second=second,
        verbose=verbose,
    )
    est = clone(base)
    est._offset = off_train
    est._prepare(_safe_indexing(X, train), _safe_indexing(y, train), sw_train)
    del est._offset
    est.tasks_ = path.tasks
    est.n_tasks_ = len(path.tasks)
    losses = np.empty(grids.shape)
    for g in range(grids.shape[0]):
        for a in range(grids.shape[1]):
            # through _set_coef: the dirty model's parts too (its shared model for
            # unseen tasks)
            est._set_coef(path.extra["variables"][g, a], path.intercepts[g, a])
            losses[g, a] = (est._test_loss(X_test, y_test, sw_test) if off_test is None
                            else est._test_loss(X_test, y_test, sw_test, offset=off_test))
    return losses


def _make_cv_class(estimator_class, second=None, doc_extra=""):
    """A ``<Estimator>CV`` class: the estimator's parameters (but the tuned ones) + CV's."""
    is_classifier = hasattr(estimator_class, "predict_proba")
    tuned = {"alpha"} | ({second[0]} if second else set())
    base_sig = inspect.signature(estimator_class.__init__).parameters
    params = dict(_CV_PARAMS)
    if second is not None:
        params = {"alphas": None, second[1]: None, **params}
    params.update({n: p.default for n, p in base_sig.items() if n not in tuned | {"self"}})

    def __init__(self, **kwargs):
        unknown = set(kwargs) - set(params)
        if unknown:
            raise TypeError(f"{type(self).__name__}.__init__() got unexpected keyword "
                            f"argument(s) {sorted(unknown)}; its parameters are "
                            f"{sorted(params)}.")
        for name, default in params.items():
            setattr(self, name, kwargs.get(name, default))

    __init__.__signature__ = inspect.Signature(
        [inspect.Parameter("self", inspect.Parameter.POSITIONAL_OR_KEYWORD)]
        + [inspect.Parameter(n, inspect.Parameter.KEYWORD_ONLY, default=d)
           for n, d in params.items()]
    )
    constraints = {k: v for k, v in estimator_class._parameter_constraints.items()
                   if k not in tuned}
    constraints.update(_MultiTaskCVBase._cv_constraints)
    if second is not None:
        constraints[second[1]] = ["array-like", None]
    name = estimator_class.__name__ + "CV"
    __init__.__qualname__ = f"{name}.__init__"
    path_doc = ("log_loss_path_ : ndarray" if is_classifier else
                "mse_path_, deviance_path_, huber_path_ : ndarray")
    tuned_doc = "``alpha``" + (f" and ``{second[0]}``" if second else "")
    second_attr = (f"\n    {second[0]}_ : float\n        The chosen ``{second[0]}``."
                   if second else "")
    grid_doc = f"one row per ``{second[1]}`` value" if second else "decreasing"
    doc = f"""{estimator_class.__name__} with {tuned_doc} chosen by cross-validation.

    Every fold fits a warm-started path over the grid of ``alpha`` (from
    ``alpha_max`` down to ``eps * alpha_max``, ``n_alphas`` values, computed on the
    full data{', one path per value of ``' + second[1] + '``' if second else ''}),
    scores it on its test part ({'mean logistic loss' if is_classifier else
    'mean squared error; with loss="poisson" the mean Poisson deviance, with loss="huber" '
    'the mean Huber loss'} over the labelled entries) and the best parameters
    are refitted on all the data. The objective and the other parameters are
    those of :class:`mtlreg.{estimator_class.__name__}`.

    Parameters
    ----------
    alphas : array-like, default=None
        Explicit grid of ``alpha`` (else computed from ``n_alphas`` and ``eps``).
    {doc_extra}intercept_regs : array-like, default=None
        Values of ``intercept_reg`` (the shrinkage of the intercepts toward a shared
        one) to try, each with the whole search above on the same folds; ``None``:
        ``intercept_reg`` as set (default 0.0, free intercepts), not tuned.
    n_alphas : int, default=30
    eps : float, default=1e-3
        ``alpha_min / alpha_max``.
    cv : int, cross-validation generator or iterable, default=None
        ``None`` or an int ``k`` (default 5): ``k`` folds, task-stratified
        (:class:`mtlreg.model_selection.TaskStratifiedKFold`) in the per-task
        layout; with a shared design, ``StratifiedKFold`` for a one-task classifier
        and ``KFold`` otherwise.
    n_jobs : int, default=None
        Folds run in parallel through joblib (also on Dask, with
        ``joblib.parallel_backend("dask")``); results do not depend on it. ``None``
        (one job) is the sensible choice on small data: joblib's default backend
        starts worker processes, and each imports mtlreg and loads its compiled
        kernels before its first fold (``import mtlreg`` alone: 2 s of CPU). On
        School (5 folds, 1.5 s of CPU in all) ``n_jobs=2`` took 5x the serial time
        on its first call and 0.8x once the workers were reused by a later call; the
        two workers used 8.6 s of CPU over both calls
        (``benchmarks/results/cv_jobs.md``, a loaded 2-core machine). More jobs pay
        off when each fold takes several seconds, on idle cores.
    verbose : int, default=0
        Progress: one line per solution of every fold's path (and joblib's report).
    **other parameters : those of :class:`mtlreg.{estimator_class.__name__}` but
        {tuned_doc}.

    Attributes
    ----------
    alpha_ : float
        The chosen ``alpha``.{second_attr}
    intercept_reg_, intercept_regs_ : float, ndarray
        The chosen ``intercept_reg`` and the values tried; only with
        ``intercept_regs``, which then adds a leading axis (one entry per value) to
        ``alphas_`` and the path.
    alphas_ : ndarray
        The grid(s) of ``alpha`` ({grid_doc}).
    {path_doc} of shape ({'n_' + second[1] + ', ' if second else ''}n_alphas, n_folds)
        Test loss of every solution on every fold{'' if is_classifier else _PATH_DOC}.
    estimator_ : {estimator_class.__name__}
        The model refitted on all the data; ``coef_``, ``intercept_`` and the other
        fitted attributes are also set on this object.
    """
    bases = ((_ClassifierCVMethods, _MultiTaskCVBase) if is_classifier
             else (_RegressorCVMethods, _MultiTaskCVBase))
    namespace = {
        "__init__": __init__, "__doc__": doc, "__module__": "mtlreg",
        "_estimator_class": estimator_class, "_second": second,
        "_parameter_constraints": constraints,
    }
    return type(name, bases, namespace)


# ------------------------------------------------------------------ the classes
from ._cluster import ClusteredClassifier, ClusteredRegressor  # noqa: E402
from ._dirty import DirtyClassifier, DirtyRegressor  # noqa: E402
from ._fused import FusedGroupLassoClassifier, FusedGroupLassoRegressor  # noqa: E402
from ._graph import (  # noqa: E402
    GraphRegularizedClassifier,
    GraphRegularizedRegressor,
    TemporalGroupLassoClassifier,
    TemporalGroupLassoRegressor,
)
from ._group_lasso import GroupLassoClassifier, GroupLassoRegressor  # noqa: E402
from ._independent import IndependentClassifier, IndependentRegressor  # noqa: E402
from ._mean_reg import MeanRegularizedClassifier, MeanRegularizedRegressor  # noqa: E402
from ._robust import (  # noqa: E402
    RobustFeatureLearningClassifier,
    RobustFeatureLearningRegressor,
    RobustMultiTaskClassifier,
    RobustMultiTaskRegressor,
)
from ._sparse_group import SparseGroupLassoClassifier, SparseGroupLassoRegressor  # noqa: E402
from ._sparse_trace import SparseTraceNormClassifier, SparseTraceNormRegressor  # noqa: E402
from ._trace import TraceNormClassifier, TraceNormRegressor  # noqa: E402


def _relative_betas(base, X, y, sample_weight, offset=None):
    return base.compute_beta_max(X, y, sample_weight, offset=offset) * np.array([0.5, 0.1, 0.02])


_L1_RATIOS = ("l1_ratio", "l1_ratios", (0.2, 0.5, 0.8))
_L1_RATIOS_DOC = ("l1_ratios : array-like, default=None\n        Values of ``l1_ratio`` "
                  "to try (``None``: 0.2, 0.5, 0.8).\n    ")
_BETAS = ("beta", "betas", _relative_betas)
_BETAS_DOC = ("betas : array-like, default=None\n        Values of ``beta`` to try "
              "(``None``: 0.5, 0.1 and 0.02 times ``compute_beta_max``).\n    ")
def _relative_rhos(base, X, y, sample_weight, offset=None):
    """Graph strengths relative to the curvature of the data term."""
    _, _, datafit = base._prepared(X, y, sample_weight, offset)
    return datafit.lipschitz() * np.array([1.0, 0.1, 0.01])


_RHOS = ("rho", "rhos", _relative_rhos)


def _relative_fused_betas(base, X, y, sample_weight, offset=None):
    return base.compute_alpha_max(X, y, sample_weight, offset=offset) * np.array([0.3, 0.1, 0.03])


_OUTLIER_BETAS_DOC = ("betas : array-like, default=None\n        Values of ``beta`` (outlier "
                      "tasks) to try (``None``: 0.5, 0.1 and 0.02 times "
                      "``compute_beta_max``).\n    ")
_ETAS = ("eta", "etas", (0.1, 1.0, 10.0))
_ETAS_DOC = ("etas : array-like, default=None\n        Values of ``eta`` to try (``None``: "
             "0.1, 1, 10).\n    ")
_FUSED_BETAS = ("beta", "betas", _relative_fused_betas)
_FUSED_BETAS_DOC = ("betas : array-like, default=None\n        Values of ``beta`` (fused "
                    "term) to try (``None``: 0.3, 0.1 and 0.03 times "
                    "``compute_alpha_max``).\n    ")
_RHOS_DOC = ("rhos : array-like, default=None\n        Values of ``rho`` to try (``None``: "
             "1, 0.1 and 0.01 times the Lipschitz constant of the data term's gradient).\n    ")
_L2_REGS = ("l2_reg", "l2_regs", (1e-3, 1e-2, 1e-1))
_L2_REGS_DOC = ("l2_regs : array-like, default=None\n        Values of ``l2_reg`` to try "
                "(``None``: 0.001, 0.01, 0.1).\n    ")

GroupLassoRegressorCV = _make_cv_class(GroupLassoRegressor)
GroupLassoClassifierCV = _make_cv_class(GroupLassoClassifier)
TraceNormRegressorCV = _make_cv_class(TraceNormRegressor)
TraceNormClassifierCV = _make_cv_class(TraceNormClassifier)
IndependentRegressorCV = _make_cv_class(IndependentRegressor)
IndependentClassifierCV = _make_cv_class(IndependentClassifier)
SparseGroupLassoRegressorCV = _make_cv_class(SparseGroupLassoRegressor, _L1_RATIOS,
                                             _L1_RATIOS_DOC)
SparseGroupLassoClassifierCV = _make_cv_class(SparseGroupLassoClassifier, _L1_RATIOS,
                                              _L1_RATIOS_DOC)
SparseTraceNormRegressorCV = _make_cv_class(SparseTraceNormRegressor, _L1_RATIOS,
                                            _L1_RATIOS_DOC)
SparseTraceNormClassifierCV = _make_cv_class(SparseTraceNormClassifier, _L1_RATIOS,
                                             _L1_RATIOS_DOC)
DirtyRegressorCV = _make_cv_class(DirtyRegressor, _BETAS, _BETAS_DOC)
DirtyClassifierCV = _make_cv_class(DirtyClassifier, _BETAS, _BETAS_DOC)
MeanRegularizedRegressorCV = _make_cv_class(MeanRegularizedRegressor, _L2_REGS, _L2_REGS_DOC)
MeanRegularizedClassifierCV = _make_cv_class(MeanRegularizedClassifier, _L2_REGS,
                                             _L2_REGS_DOC)
GraphRegularizedRegressorCV = _make_cv_class(GraphRegularizedRegressor, _RHOS, _RHOS_DOC)
GraphRegularizedClassifierCV = _make_cv_class(GraphRegularizedClassifier, _RHOS, _RHOS_DOC)
TemporalGroupLassoRegressorCV = _make_cv_class(TemporalGroupLassoRegressor, _RHOS, _RHOS_DOC)
TemporalGroupLassoClassifierCV = _make_cv_class(TemporalGroupLassoClassifier, _RHOS,
                                                _RHOS_DOC)
FusedGroupLassoRegressorCV = _make_cv_class(FusedGroupLassoRegressor, _FUSED_BETAS,
                                           _FUSED_BETAS_DOC)
FusedGroupLassoClassifierCV = _make_cv_class(FusedGroupLassoClassifier, _FUSED_BETAS,
                                            _FUSED_BETAS_DOC)
RobustMultiTaskClassifierCV = _make_cv_class(RobustMultiTaskClassifier, _BETAS, _OUTLIER_BETAS_DOC)
RobustMultiTaskRegressorCV = _make_cv_class(RobustMultiTaskRegressor, _BETAS, _OUTLIER_BETAS_DOC)
RobustFeatureLearningClassifierCV = _make_cv_class(
    RobustFeatureLearningClassifier, _BETAS, _OUTLIER_BETAS_DOC)
RobustFeatureLearningRegressorCV = _make_cv_class(
    RobustFeatureLearningRegressor, _BETAS, _OUTLIER_BETAS_DOC)
ClusteredClassifierCV = _make_cv_class(ClusteredClassifier, _ETAS, _ETAS_DOC)
ClusteredRegressorCV = _make_cv_class(ClusteredRegressor, _ETAS, _ETAS_DOC)
