"""Estimator plumbing shared by every formulation: validate, lay out, solve, set attributes.

A formulation (``GroupLassoRegressor``, ...) only says which loss it uses and
builds its penalty in ``_make_penalty``; everything else lives here.
"""

import contextlib
import warnings
from numbers import Integral, Real

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, clone
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils.validation import check_is_fitted

from .._tasks.layout import SharedDesign, TaskBlocks, rowwise_predict, task_codes
from ..datafits import _GRAM_MAX_K, GramQuadratic, make_datafit
from ..solvers import has_sparse_rows, select_solver
from ..utils._arrays import matmul64
from ..utils._messages import format_tasks, name_init_after
from ..utils._threads import single_threaded_blas
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
from ._docs import ALL_SOLVERS, fill_solver_doc
from ._intercept_reg import null_intercepts, shrunk_datafit, solve_shrunk, weighted_mean
from ._loss import add_loss_params, check_solver, loss_datafit

# the regressor / classifier halves, re-exported here beside the base for the formulations
from ._mixins import MultiTaskClassifierMixin, MultiTaskRegressorMixin


def store_params(estimator, params):
    """``__init__`` helper: store every constructor argument unchanged (the scikit-learn
    convention: no validation or conversion before ``fit``). Call as
    ``store_params(self, locals())``."""
    for name, value in params.items():
        if name not in ("self", "__class__"):
            setattr(estimator, name, value)


def init_with_defaults(init, **defaults):
    """A copy of the ``__init__`` function ``init`` whose parameters in ``defaults``
    default to the values given (the signature scikit-learn reads changes with them).

    The formulations share one ``__init__`` between regressor and classifier; the
    classifiers take smaller strengths (``alpha=0.01`` where the regressors take
    ``1.0``: a logistic gradient is at most 1/2 per sample, so ``alpha=1.0`` would
    leave every coefficient at zero on standardised features).
    """
    import inspect
    import types

    params = list(inspect.signature(init).parameters.values())
    unknown = set(defaults) - {p.name for p in params}
    if unknown:
        raise TypeError(f"{init.__qualname__} has no parameter {sorted(unknown)}")
    positional = [p for p in params if p.kind == p.POSITIONAL_OR_KEYWORD
                  and p.default is not p.empty]
    new = types.FunctionType(init.__code__, init.__globals__, init.__name__,
                             tuple(defaults.get(p.name, p.default) for p in positional),
                             init.__closure__)
    new.__kwdefaults__ = {name: defaults.get(name, value)
                          for name, value in (init.__kwdefaults__ or {}).items()}
    new.__qualname__, new.__doc__ = init.__qualname__, init.__doc__
    return new


class MultiTaskLinearModel(BaseEstimator):
    """Base class: a datafit (from ``_loss``) plus the penalty of ``_make_penalty``."""

    _loss = "squared"
    _solvers = ALL_SOLVERS  # the values of ``solver`` this estimator accepts

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        name_init_after(cls)
        if issubclass(cls, MultiTaskRegressorMixin):
            add_loss_params(cls)  # loss="squared_error" / "poisson" / "huber" (._loss)
        if "__doc__" in cls.__dict__:
            cls.__doc__ = fill_solver_doc(cls.__doc__, cls._solvers)

    _parameter_constraints = {
        "fit_intercept": ["boolean"],
        "intercept_reg": [Interval(Real, 0, None, closed="left")],
        "task_column": [None, Interval(Integral, None, None, closed="neither"), str],
        "task_weights": [None, StrOptions({"samples"}), "array-like", dict],
        "l2_reg": [Interval(Real, 0, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="left")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "warm_start": ["boolean"],
        # or a callable with the signature of solvers.fista (e.g. mtlreg.torch.TorchFISTA)
        "solver": [StrOptions({"auto", "fista", "admm", "bcd", "newton"}), callable],
        "verbose": ["verbose"],
    }

    def _make_penalty(self):  # pragma: no cover - abstract
        raise NotImplementedError

    # ------------------------------------------------------------------ fit
    def _prepare(self, X, y, sample_weight, reset=True):
        """Validate once and build the task layout and the datafit.

        Dask input (any of ``X``, ``y``, ``sample_weight``) is recognised here, up front:
        its per-task sufficient statistics are computed on the workers and the layout
        is built from them (:mod:`mtlreg._dask.fit`, imported only then)."""
        if getattr(X, "_mtlreg_prepared", False):  # statistics (*CV from Dask, _dask_cv)
            from .._tasks.statistics import TaskStatistics

            layout = TaskStatistics(X.stats, X.kind, self.task_weights, self.fit_intercept)
            self._y_ndim = X.y_ndim
            return layout, self._make_datafit(GramQuadratic(layout)), X.stats.labels
        if any(is_dask_collection(a) for a in (X, y, sample_weight)):
            from .._dask import fit as _dask

            offset = getattr(self, "_offset", None)
            if offset is not None and self._loss != "poisson":
                loss_datafit(self, None, offset, False)  # its error: offset is Poisson's
            layout, tasks, self._y_ndim, blocks = _dask.fit_statistics(
                self, X, y, sample_weight, reset=reset)
            if self._loss == "squared":
                return layout, self._make_datafit(GramQuadratic(layout)), tasks
            return self._dask_datafit(_dask, layout, tasks, blocks, X, offset)
        X, task_ids, col_max = check_X(self, X, reset=reset, keep_float32=True, scan=True)
        y = self._check_y(y, X.shape[0], per_task=task_ids is not None)
        sample_weight = _check_sample_weight(
            sample_weight, X, dtype=np.float64, ensure_non_negative=True
        )
        check_magnitudes(X, y if self._loss == "squared" else None, col_max)
        sample_weight = _rescaled_weights(sample_weight)
        if X.dtype == np.float32:
            if sp.issparse(X):
                X = X.astype(np.float64)  # the float32 policy is for dense designs
            elif (self._loss == "squared"
                  and X.shape[1] + int(self.fit_intercept) <= _GRAM_MAX_K):
                return self._prepare_float32(X, y, task_ids, sample_weight)
            # else X stays float32: the layouts and solvers work on it as it is,
            # accumulating in float64 (mtlreg.utils._arrays)
        if task_ids is None:
            self._y_ndim = y.ndim
            Y = y.reshape(X.shape[0], -1)
            tasks = np.arange(Y.shape[1])
            layout = SharedDesign(X, Y, sample_weight, self.task_weights, self.fit_intercept)
        else:
            tasks, codes = np.unique(task_ids, return_inverse=True)
            missing = np.isnan(y)
            sample_weight = np.where(missing, 0.0, sample_weight)
            y = np.where(missing, 0.0, y)
            layout = TaskBlocks(
                X, y, codes.astype(np.intp), tasks, sample_weight, self.task_weights,
                self.fit_intercept,
            )
        self._check_layout(layout, tasks)
        _warn_single_sample_tasks(layout, tasks, self.fit_intercept and not self._shrinks())
        datafit = self._loss_datafit(layout, self._coordinate_descent_ahead(
            self._n_variable_rows(layout.n_features)))
        return layout, self._make_datafit(datafit), tasks

    def _dask_datafit(self, _dask, layout, tasks, blocks, X, offset):
        """``(layout, datafit, tasks)`` of a per-row loss from Dask blocks
        (:mod:`mtlreg._dask.rows`; the binary logistic loss: :mod:`mtlreg._dask.logistic`)."""
        from .._dask import rows

        if self._loss == "logistic" and self._n_classes > 2:
            datafit = rows.multinomial_datafit(layout, blocks, self.classes_)
            counts = datafit.layout.counts  # (T, K): the task / class table, checked
            K = counts.shape[1]  # as the rows are in memory
            self._check_layout(_CountTable(np.repeat(np.arange(len(tasks)), K),
                                           counts.ravel(), np.tile(np.arange(K), len(tasks)),
                                           len(tasks)), tasks)
            self._task_lambdas = np.asarray(layout.lambdas, dtype=np.float64)
            return datafit.layout, self._make_datafit(datafit), tasks
        if self._loss == "logistic":
            from .._dask.logistic import DistributedLogistic

            self._check_task_classes(layout.target_means(), tasks)
            datafit = DistributedLogistic(layout, blocks, self.classes_)
            return layout, self._make_datafit(datafit), tasks
        offsets = _dask.offset_blocks(self, X, offset, len(blocks))
        datafit = rows.DistributedRows(layout, blocks, self._loss, offsets=offsets,
                                       epsilon=getattr(self, "epsilon", None))
        if self._loss == "poisson":  # the zero-count tasks (free intercepts), as in memory
            Y, _ = datafit._task_totals()
            self._check_layout(_CountTable(np.arange(len(tasks)), np.ones(len(tasks)), Y,
                                           len(tasks)), tasks)
        return layout, self._make_datafit(datafit), tasks

    def _loss_datafit(self, layout, for_coordinate_descent):
        """The datafit of the loss on ``layout``; a regressor's ``loss`` and the
        ``offset`` given to ``fit`` (:mod:`._loss`)."""
        offset = getattr(self, "_offset", None)
        if hasattr(self, "loss") or offset is not None:
            return loss_datafit(self, layout, offset, for_coordinate_descent)
        return make_datafit(self._loss, layout, for_coordinate_descent=for_coordinate_descent)

    def _prepare_float32(self, X, y, task_ids, sample_weight):
        """The float32 policy: a dense float32 ``X`` is never copied to float64 as a
        whole. Here (squared loss, ``n_features + 1 <= 256``) its per-task statistics
        are accumulated in float64, slice by slice (as for a fit from Dask,
        :mod:`mtlreg._tasks.statistics`), and the solvers run in float64 on the Gram form
        they give. Memory: the float32 ``X`` plus ``T (d + 1)^2`` numbers. Otherwise
        (more features, the logistic loss) the layout keeps ``X`` in float32 and the
        design-based solvers (BCD on the design, FISTA) read it as it is, every
        product accumulated in float64 (:mod:`mtlreg.utils._arrays`): the float32
        numbers are the data, solved to the same ``tol`` as float64 input."""
        from .._tasks.statistics import TaskStatistics, per_task_block_statistics, shared_block_statistics

        if task_ids is None:
            self._y_ndim = y.ndim
            stats = shared_block_statistics(X, y.reshape(X.shape[0], -1), sample_weight)
            layout = TaskStatistics(stats, "shared", self.task_weights, self.fit_intercept)
        else:
            stats = per_task_block_statistics(X, task_ids, y, sample_weight)
            layout = TaskStatistics(stats, "blocks", self.task_weights, self.fit_intercept)
        return layout, self._make_datafit(GramQuadratic(layout)), stats.labels

    def _coordinate_descent_ahead(self, n_rows):
        """Whether the solver will be block coordinate descent if the design allows it
        (``solver="bcd"``, or ``"auto"`` with sparse rows): it then prefers the data to
        a Gram matrix on shared designs with many features."""
        return self.solver == "bcd" or (
            self.solver == "auto" and has_sparse_rows(self._make_penalty(), n_rows))

    # Hooks for formulations whose solver variable is not W itself (dirty: [B; S]).
    def _make_datafit(self, datafit):
        return datafit

    def _n_variable_rows(self, n_features):
        return n_features

    def _model_coef(self, V):
        """``W (n_features, n_tasks)`` from the solver variable."""
        return V

    def _variable_from_fitted(self):
        return np.array(self.coef_.T, dtype=np.float64)

    def _set_coef(self, V, intercept):
        self.coef_ = np.ascontiguousarray(self._model_coef(V).T)
        self.intercept_ = intercept

    def _shrinks(self):
        """Whether the intercepts are shrunk toward a shared one (``intercept_reg > 0``)."""
        return self.fit_intercept and self._intercept_strength() > 0

    def _intercept_strength(self):
        """The ``intercept_reg`` the fit uses (an estimate where the model offers one)."""
        return float(getattr(self, "intercept_reg", 0.0))

    def _null_model(self, layout, datafit):
        """Intercept and datafit gradient at ``W = 0`` (they define alpha_max and tol's
        scale); with ``intercept_reg > 0`` the shrunk intercepts and the gradient of the
        data term plus the intercept term there (at the optimal shared intercept)."""
        W0 = np.zeros((self._n_variable_rows(layout.n_features), layout.n_tasks))
        if self._shrinks():
            b0, m = null_intercepts(layout, self._loss, self._intercept_strength(), datafit)
            datafit = shrunk_datafit(datafit, self._intercept_strength(), m)
        else:
            b0 = datafit.initial_intercept() if self.fit_intercept else np.zeros(layout.n_tasks)
        G0 = datafit.gradient(datafit.linear_predictor(W0, b0))[0]
        return W0, b0, G0

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None, offset=None):
        """Fit the model.

        Parameters
        ----------
        X : {array-like, sparse matrix, DataFrame} of shape (n_samples, n_columns)
            The features; with ``task_column`` set, one column of ``X`` names the
            task of each row and the others are the features.
        y : array-like of shape (n_samples,) or (n_samples, n_tasks)
            Targets. 2-D only in the shared layout (``task_column=None``), one
            column per task. In both layouts NaN marks a missing label, left out of
            the loss (in the per-task layout: as if the row were dropped).
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights of the rows.
        offset : array-like of shape (n_samples,) or (n_samples, n_tasks), default=None
            ``loss="poisson"`` only: a known term added to the linear predictor,
            ``log`` of each row's exposure (statsmodels' ``GLM(offset=...)``);
            ``(n_samples, n_tasks)`` in the shared layout only. Not a weight.

        Returns
        -------
        self : object
        """
        return fit_or_restore(self, self._fit_offset, X, y, sample_weight, offset)

    def _fit_offset(self, X, y, sample_weight, offset):
        """``_fit`` with the ``offset`` of ``fit`` seen by ``_loss_datafit``."""
        self._offset = offset
        try:
            return self._fit(X, y, sample_weight)
        finally:
            del self._offset

    def _fit(self, X, y, sample_weight):
        # the Poisson and Huber losses: 'auto', 'newton' or 'fista' on every formulation
        if not check_solver(self) and isinstance(self.solver, str) and self.solver not in self._solvers:
            raise ValueError(
                f"{type(self).__name__} does not support solver={self.solver!r}: "
                f"use one of {', '.join(repr(s) for s in self._solvers)} "
                + ("(ADMM and BCD need the squared loss)." if self._loss == "logistic"
                   else "(BCD needs a row-separable penalty; Newton is for the "
                   "logistic loss)." if self.solver == "newton"
                   else "(BCD needs a row-separable penalty)."))
        self._check_intercept_reg()
        layout, datafit, tasks = self._prepare(X, y, sample_weight)
        self._estimate_strengths(layout)
        penalty = self._make_penalty()
        W0, b0, G0 = self._null_model(layout, datafit)
        if self.warm_start and self._can_warm_start(tasks, layout.n_features):
            W0 = self._variable_from_fitted()
            if self.fit_intercept:
                b0 = layout.centre_intercept(self._model_coef(W0), self.intercept_)
        result = self._solve(layout, datafit, penalty, W0, b0,
                             float(np.max(np.abs(G0), initial=0.0)))
        if not (np.all(np.isfinite(result.W)) and np.all(np.isfinite(result.b))):
            # the inputs are validated so that no sum overflows; the compiled kernels
            # give inf / NaN on a division by zero (error_model="numpy") rather than
            # raise: a last guard, so that no non-finite model is ever returned
            raise FloatingPointError(
                f"{type(self).__name__}: the solver returned non-finite coefficients "
                "(NaN or inf): its iterates overflowed. Scale the features and the "
                "target (e.g. StandardScaler), or increase alpha or l2_reg."
            )
        if not result.converged:
            warnings.warn(
                f"{type(self).__name__} did not converge in max_iter={self.max_iter} "
                f"iterations: optimality measure {result.stop_crit:.3e} > {result.tol_abs:.3e} "
                "(tol times the gradient scale). Increase max_iter or tol, or scale the "
                "features.",
                ConvergenceWarning,
            )
        self.tasks_ = tasks
        self.n_tasks_ = len(tasks)
        W = self._model_coef(result.W)
        self._set_coef(result.W, layout.uncentre_intercept(W, result.b)
                       if self.fit_intercept else np.zeros(np.shape(result.b)))
        self.shared_intercept_ = (weighted_mean(layout, self.intercept_) if self.fit_intercept
                                  else 0.0)
        self.n_iter_ = result.n_iter
        self.stop_crit_ = result.stop_crit
        self.objective_ = result.objective
        rows = getattr(datafit, "datafit", datafit)  # from Dask: the rows' verdict, one pass
        if hasattr(rows, "separation_summary") and not self._penalty_is_coercive():
            layout = rows.separation_summary(W, result.b)
        self._check_solution(layout, W, result.b, tasks)
        return self

    def _check_solution(self, layout, W, b, tasks):
        """Hook: loss-specific checks of the solution (``b`` in the centred form)."""

    def _estimate_strengths(self, layout):
        """Hook: strengths estimated from the data before the penalty is built (the
        mean-regularised model's ``alpha="reml"``)."""

    def _penalty_is_coercive(self):
        """Whether the penalty grows in every direction of ``W`` (then the objective
        has a minimiser even when the loss alone has none, e.g. separable classes)."""
        return self.alpha > 0 or self.l2_reg > 0

    def _check_intercept_reg(self):
        s = getattr(self, "intercept_reg", 0.0)
        if not np.isfinite(s):
            raise ValueError(
                f"The 'intercept_reg' parameter of {type(self).__name__} must be a finite "
                f"float >= 0 (0: free intercepts); got {s!r}.")
        if s > 0 and callable(self.solver) and self.fit_intercept:
            raise ValueError(
                f"intercept_reg > 0 needs one of the built-in solvers of "
                f"{type(self).__name__} ({', '.join(repr(n) for n in self._solvers)}); "
                f"a callable solver ({self.solver!r}) solves the data term without the "
                "intercept term. Set intercept_reg=0 or a built-in solver.")

    def _solve(self, layout, datafit, penalty, W0, b0, gradient_scale):
        """Solve from ``(W0, b0)``; with ``intercept_reg > 0`` by the outer iteration on
        the shared intercept around :meth:`_solve_fixed` (:mod:`._intercept_reg`)."""
        if not self._shrinks():
            return self._solve_fixed(layout, datafit, penalty, W0, b0, gradient_scale)
        self._check_intercept_reg()
        if self.solver == "bcd" and not hasattr(getattr(datafit, "datafit", datafit), "H"):
            raise ValueError(
                "solver='bcd' with intercept_reg > 0 needs the per-task Gram form (squared "
                f"loss, n_features + 1 <= {_GRAM_MAX_K}, and on a shared design n_features "
                "+ 1 <= 4 n_tasks): its compiled sweeps on the design do not see the "
                "intercept term. Use solver='auto' or 'fista', or intercept_reg=0.")

        def solve_fixed(datafit_m, W, b):
            return self._solve_fixed(layout, datafit_m, penalty, W, b, gradient_scale)

        tol_abs = self.tol * max(gradient_scale, np.finfo(float).tiny)
        return solve_shrunk(solve_fixed, datafit, layout, self._intercept_strength(), W0, b0,
                            self._model_coef, tol_abs,
                            curvature=1.0 if self._loss == "squared" else 0.25)

    def _solve_fixed(self, layout, datafit, penalty, W0, b0, gradient_scale):
        solve = select_solver(self.solver, datafit, penalty)
        # The Gram form does many tiny matrix products per iteration: BLAS threads
        # only add synchronisation there (measured: several times slower with 2).
        gram = hasattr(getattr(datafit, "datafit", datafit), "H")
        with single_threaded_blas() if gram else contextlib.nullcontext():
            return solve(
                datafit, penalty, W0, b0, fit_intercept=self.fit_intercept, tol=self.tol,
                max_iter=self.max_iter, gradient_scale=gradient_scale, verbose=self.verbose,
            )

    def _can_warm_start(self, tasks, n_features):
        return (
            hasattr(self, "coef_")
            and self.coef_.shape == (len(tasks), n_features)
            and np.array_equal(self.tasks_, tasks)
        )

    def compute_alpha_max(self, X, y, sample_weight=None, offset=None):
        """Smallest ``alpha`` for which every coefficient is zero, for this data and settings
        (``offset``: ``loss="poisson"`` only, as for ``fit``).

        Does not fit nor change the estimator.
        """
        return self._make_penalty().alpha_max(self._null_gradient(X, y, sample_weight, offset))

    def _prepared(self, X, y, sample_weight=None, offset=None):
        """``(clone, layout, datafit)``: a clone of self with the data laid out (the
        ``offset`` read by its datafit, ``_loss_datafit``); self is untouched."""
        est = clone(self)
        est._offset = offset
        layout, datafit, _ = est._prepare(X, y, sample_weight)
        return est, layout, datafit

    def _null_gradient(self, X, y, sample_weight, offset=None):
        """Data-fit gradient at ``W = 0`` (optimal intercept), on a clone: self is untouched."""
        est, layout, datafit = self._prepared(X, y, sample_weight, offset)
        return est._null_model(layout, datafit)[2]

    # -------------------------------------------------------------- predict
    def _decision(self, X):
        check_is_fitted(self)
        if is_dask_collection(X):  # a lazy result, computed partition by partition
            from .._dask import fit as _dask

            return _dask.decision(self, X)
        X, task_ids = check_X(self, X, reset=False, keep_float32=True)
        if task_ids is None:
            Z = matmul64(X, self.coef_.T) + self.intercept_
            return Z.ravel() if self._y_ndim == 1 else Z
        codes = self._task_codes(task_ids)
        coef, intercept = self.coef_, self.intercept_
        if np.any(codes == len(self.tasks_)):  # unseen tasks, unseen_tasks="shared"
            w, b = self._shared_model()
            coef, intercept = np.vstack([coef, w]), np.append(intercept, b)
        return rowwise_predict(X, codes, coef, intercept)

    def _shared_intercept(self):
        """The intercept for unseen tasks: ``shared_intercept_`` (``b_bar``) when the
        intercepts are shrunk toward it, else the mean of the task intercepts."""
        if self._shrinks():
            return float(self.shared_intercept_)
        return float(np.mean(self.intercept_))

    def _shared_model(self):
        """``(w, b)`` the model predicts unseen tasks with, for formulations that define
        one (``unseen_tasks="shared"``); ``None`` otherwise."""
        return None

    def _task_codes(self, task_ids):
        """Position of each row's task in ``tasks_``; ``len(tasks_)`` for an unseen task
        when ``unseen_tasks="shared"``, else an unseen task is an error."""
        return task_codes(self.tasks_, task_ids, getattr(self, "unseen_tasks", "error"),
                          self._unseen_hint())

    def _unseen_hint(self):
        return ""

    def _check_layout(self, layout, tasks):
        """Hook for loss-specific checks on the laid-out data."""

    def _more_tags_common(self, tags):
        tags.input_tags.sparse = True
        tags.target_tags.multi_output = True
        tags.target_tags.single_output = True
        return tags


class _CountTable:
    """Per-task totals in the shape of a layout's rows for ``_check_layout`` (a fit from
    Dask): row ``i`` of task ``codes[i]`` with weight ``c[i]`` and value ``y[i]``."""

    def __init__(self, codes, c, y, n_tasks):
        self.codes, self.c, self.y, self.n_tasks = codes, c, y, n_tasks

    def _task_sums(self, values):
        return np.bincount(self.codes, weights=values, minlength=self.n_tasks)


def _rescaled_weights(sample_weight):
    """Sample weights divided by a power of two (exactly) when they are so large that
    their per-task sums could overflow: the loss only depends on ``s_i / n_t``."""
    top = float(np.max(sample_weight, initial=0.0))
    if top <= 2.0**300:
        return sample_weight
    return np.ldexp(sample_weight, -np.frexp(top)[1])


def _warn_single_sample_tasks(layout, tasks, fit_intercept):
    """Warn about tasks with one labelled row: with an intercept, that row fits exactly
    whatever the coefficients, so the data say nothing about them."""
    if not fit_intercept:
        return
    single = np.flatnonzero(layout.labelled_counts() == 1)
    if single.size:
        warnings.warn(
            f"Task(s) {format_tasks(np.asarray(tasks)[single])} have a single labelled "
            "sample: with fit_intercept=True its intercept fits that sample exactly, and "
            "the coefficients of the task are set by the penalty alone (zero for the "
            "sparse penalties, the mean of the other tasks for the mean-regularized "
            "model). Gather more samples, merge the task into another, or drop it.",
            UserWarning,
        )


__all__ = ["MultiTaskLinearModel", "MultiTaskRegressorMixin", "MultiTaskClassifierMixin"]
