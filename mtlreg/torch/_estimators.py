"""MultiTaskMLPRegressor and MultiTaskMLPClassifier: networks behind the linear models' API.

Input handling is the linear estimators': the same validation
(:func:`mtlreg.utils.validation.check_X`), the same two layouts (shared design
with NaN = missing label; per-task rows with ``task_column``), the same sample
and task weights and the same errors; prediction, scoring and the classifier's
probabilities come from the same mixins, fed by the network's outputs instead
of ``X W + b``.
"""

import contextlib
import copy
import inspect
import warnings
from numbers import Integral, Real

import numpy as np
import scipy.sparse as sp
import torch
from sklearn.base import BaseEstimator
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted

from .._tasks.layout import task_codes, task_sample_counts
from ..linear_model._base import MultiTaskClassifierMixin, MultiTaskRegressorMixin, store_params
from ..utils.validation import (
    Interval,
    StrOptions,
    _check_sample_weight,
    _fit_context,
    check_X,
    fit_or_restore,
    resolve_task_weights,
)
from ._aggregation import AGGREGATORS, make_aggregator
from ._architectures import ACTIVATIONS, ARCHITECTURES, build_architecture, option_names, shares_parameters
from ._training import TaskData, forward_all, train
from ._weighting import WEIGHTINGS


def resolve_device(device):
    """``"auto"`` -> CUDA when available, else CPU; a string that is not a torch
    device, or a device this machine lacks (``"cuda"`` without a GPU), raises a
    ``ValueError`` naming ``device``."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        parsed = torch.device(device)
    except (RuntimeError, TypeError, ValueError):
        raise ValueError(
            f"device={device!r} is not a torch device: use 'auto', 'cpu', 'cuda' or "
            "'cuda:N' (or another device type of your torch build, e.g. 'mps').") from None
    if parsed.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device={device!r} but no CUDA device is available; use "
                         "device='cpu' or 'auto'.")
    try:
        torch.empty(1, device=parsed)
    except (RuntimeError, AssertionError) as exc:
        reason = (str(exc).splitlines() or [type(exc).__name__])[0][:120]
        raise ValueError(f"device={device!r} is not usable on this machine ({reason}); "
                         "use device='cpu' or 'auto'.") from None
    return parsed


@contextlib.contextmanager
def torch_threads(n):
    """``torch.set_num_threads(n)`` inside the block (restored after); ``None``: as is."""
    if n is None:
        yield
        return
    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


# weightings that act on the parameters the tasks share (GradNorm measures the task
# gradients there, the aggregators replace the gradient there)
NEEDS_SHARED = (*(name for name, cls in WEIGHTINGS.items() if cls.needs_gradients), *AGGREGATORS)


def _check_options(param, options, allowed, owner):
    """Every key of the dict ``options`` (parameter ``param``) is in ``allowed``."""
    unknown = sorted(set(options or {}) - set(allowed), key=str)
    if unknown:
        raise ValueError(
            f"{param} has unknown key(s) {unknown} for {owner}; valid keys: "
            f"{sorted(allowed) if allowed else 'none (leave it None)'}.")


class _MultiTaskMLP(BaseEstimator):
    """Shared machinery of the two neural estimators."""

    _parameter_constraints = {
        "architecture": [StrOptions(set(ARCHITECTURES))],
        "hidden_layer_sizes": ["array-like"],
        "activation": [StrOptions(set(ACTIVATIONS))],
        "dropout": [Interval(Real, 0, 1, closed="left")],
        "architecture_options": [None, dict],
        "weighting": [StrOptions(set(WEIGHTINGS) | set(AGGREGATORS))],
        "weighting_options": [None, dict],
        "task_column": [None, Interval(Integral, None, None, closed="neither"), str],
        "task_weights": [None, StrOptions({"samples"}), "array-like", dict],
        "alpha": [Interval(Real, 0, None, closed="left")],
        "learning_rate_init": [Interval(Real, 0, None, closed="neither")],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="left")],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left")],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
        "random_state": ["random_state"],
        "device": [StrOptions({"auto", "cpu", "cuda"}), str],
        "n_threads": [None, Interval(Integral, 1, None, closed="left")],
        "warm_start": ["boolean"],
        "verbose": ["verbose"],
    }

    def __init__(self, architecture="hard", *, hidden_layer_sizes=(64,), activation="relu",
                 dropout=0.0, architecture_options=None, weighting="fixed",
                 weighting_options=None, task_column=None, task_weights=None, alpha=1e-4,
                 learning_rate_init=1e-3, batch_size=256, max_iter=200, tol=1e-4,
                 n_iter_no_change=10, early_stopping=False, validation_fraction=0.1,
                 random_state=None, device="auto", n_threads=1, warm_start=False,
                 verbose=0):
        store_params(self, locals())

    # ------------------------------------------------------------------ fit
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None):
        """Train the network.

        Parameters
        ----------
        X : {array-like, sparse matrix, DataFrame} of shape (n_samples, n_columns)
            The features; with ``task_column`` set, one column names each row's task.
            A sparse ``X`` is densified (networks take dense input).
        y : array-like of shape (n_samples,) or (n_samples, n_tasks)
            Targets; 2-D only in the shared layout, NaN = missing label.
        sample_weight : array-like of shape (n_samples,), default=None

        Returns
        -------
        self : object
        """
        with torch_threads(self.n_threads):
            return fit_or_restore(self, self._fit, X, y, sample_weight)

    def _check_params(self):
        """What the constraints cannot say: layer widths, the device, option keys, and
        weightings that need shared parameters. Returns the torch device."""
        sizes = self.hidden_layer_sizes
        try:
            sizes = list(sizes)
        except TypeError:
            sizes = None
        if not sizes or not all(isinstance(h, Integral) and not isinstance(h, bool) and h >= 1
                                for h in sizes):
            raise ValueError(
                "hidden_layer_sizes must be a non-empty sequence of positive ints (the "
                f"width of each hidden layer, e.g. (64,)); got {self.hidden_layer_sizes!r}.")
        _check_options("architecture_options", self.architecture_options,
                       option_names(self.architecture), f"architecture={self.architecture!r}")
        if self.weighting in AGGREGATORS:
            from torchjd import aggregation

            cls = {"pcgrad": aggregation.PCGrad, "mgda": aggregation.MGDA,
                   "upgrad": aggregation.UPGrad}[self.weighting]
            allowed = list(inspect.signature(cls).parameters)
        else:
            allowed = list(inspect.signature(WEIGHTINGS[self.weighting]).parameters)[1:]
        _check_options("weighting_options", self.weighting_options, allowed,
                       f"weighting={self.weighting!r}")
        if self.weighting in NEEDS_SHARED and not shares_parameters(self.architecture):
            others = sorted((set(WEIGHTINGS) | set(AGGREGATORS)) - set(NEEDS_SHARED))
            sharing = [name for name in ARCHITECTURES if shares_parameters(name)]
            raise ValueError(
                f"weighting={self.weighting!r} acts on the parameters the tasks share, and "
                f"architecture={self.architecture!r} shares none: it would train exactly as "
                f"weighting='fixed'. With this architecture use weighting in {others}; with "
                f"this weighting use architecture in {sharing}.")
        return resolve_device(self.device)

    def _fit(self, X, y, sample_weight):
        device = self._check_params()
        X, task_ids = check_X(self, X, reset=True)
        X = X.toarray() if sp.issparse(X) else X
        y = self._check_y(y, X.shape[0], per_task=task_ids is not None)
        sw = _check_sample_weight(sample_weight, X, dtype=np.float64, ensure_non_negative=True)
        # a label counts where it is known and has a positive weight: a zero-weight
        # row is left out of everything (loss, target scaling, validation split), like
        # a missing label
        if task_ids is None:
            self._y_ndim = y.ndim
            Y = y.reshape(X.shape[0], -1)
            tasks, codes = np.arange(Y.shape[1]), None
            mask = ~np.isnan(Y) & (sw > 0)[:, None]
        else:
            tasks, codes = np.unique(task_ids, return_inverse=True)
            codes = codes.astype(np.intp)
            Y, mask = y, ~np.isnan(y) & (sw > 0)
        n_t = task_sample_counts(mask if codes is None else None,
                                 np.where(mask, sw, 0.0) if codes is not None else sw,
                                 codes, tasks)
        lambdas = resolve_task_weights(self.task_weights, tasks, n_t)
        warm = (self.warm_start and hasattr(self, "module_")
                and np.array_equal(self.tasks_, tasks)
                and self.module_n_features_ == X.shape[1])
        if not warm:
            self._set_target_scaling(Y, mask, codes, len(tasks), sw)
        else:
            # training changes the network in place: work on copies, so that a fit
            # that fails (a diverging loss) leaves the previous one as it was
            self.module_ = copy.deepcopy(self.module_)
            self.weighting_ = copy.deepcopy(self.weighting_)
            self._history = copy.deepcopy(getattr(self, "_history", None))
        Yt = self._transform_targets(Y, codes)
        rng = check_random_state(self.random_state)
        seed = int(rng.randint(np.iinfo(np.int32).max))
        train_rows, valid_rows = self._split(len(X), codes, mask, rng)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            generator = torch.Generator().manual_seed(seed)
            if not warm:
                self.module_ = build_architecture(
                    self.architecture, X.shape[1], len(tasks), self.hidden_layer_sizes,
                    self.activation, self.dropout, self.architecture_options)
                self.weighting_ = self._make_weighting(len(tasks))
                self.module_n_features_ = X.shape[1]
            self.module_.to(device)
            self.weighting_.to(device)
            aggregator = (make_aggregator(self.weighting, **(self.weighting_options or {}))
                          if self.weighting in AGGREGATORS else None)
            data = self._task_data(X, Yt, mask, sw, codes, lambdas, n_t, train_rows, device)
            valid = (self._task_data(X, Yt, mask, sw, codes, lambdas, n_t, valid_rows, device)
                     if valid_rows is not None else None)
            history = train(
                self.module_, self.weighting_, aggregator, data, valid,
                loss=self._loss, learning_rate=self.learning_rate_init, alpha=self.alpha,
                n_epochs=self.max_iter, batch_size=self.batch_size, tol=self.tol,
                n_iter_no_change=self.n_iter_no_change, generator=generator,
                verbose=self.verbose, name=type(self).__name__,
                state=getattr(self, "_history", None) if warm else None)
        if not history["converged"]:
            warnings.warn(
                f"{type(self).__name__}: max_iter={self.max_iter} epochs reached and the "
                f"{'validation' if valid is not None else 'training'} loss was still "
                "improving.", ConvergenceWarning)
        self._history = history
        self.tasks_ = tasks
        self.n_tasks_ = len(tasks)
        self.n_iter_ = history["n_iter"]
        self.loss_curve_ = list(history["loss_curve"])
        self.validation_scores_ = (list(history["validation_scores"])
                                   if valid is not None else None)
        self.loss_ = self.loss_curve_[-1]
        self.device_ = str(device)
        return self

    def _make_weighting(self, n_tasks):
        if self.weighting in AGGREGATORS:  # options are the aggregator's
            return WEIGHTINGS["fixed"](n_tasks)
        return WEIGHTINGS[self.weighting](n_tasks, **(self.weighting_options or {}))

    def _split(self, n, codes, mask, rng):
        """Rows for training and (with ``early_stopping``) validation; every task keeps
        at least one labelled training row."""
        if not self.early_stopping:
            return np.arange(n), None
        valid = rng.rand(n) < self.validation_fraction
        if codes is None:
            lost = ~(mask & ~valid[:, None]).any(axis=0)
            for t in np.flatnonzero(lost):
                valid[np.flatnonzero(mask[:, t])[0]] = False
        else:
            lost = np.bincount(codes[mask & ~valid], minlength=codes.max() + 1) == 0
            for t in np.flatnonzero(lost):
                valid[np.flatnonzero((codes == t) & mask)[0]] = False
        if not valid.any():
            raise ValueError(
                "early_stopping=True but the validation split is empty: raise "
                "validation_fraction or pass more samples.")
        return np.flatnonzero(~valid), np.flatnonzero(valid)

    @staticmethod
    def _task_data(X, Y, mask, sw, codes, lambdas, n_t, rows, device):
        """Observation weights ``c = lambda_t s_i / n_t`` (the linear models', over the
        whole data) on ``rows``, rescaled so that they sum to ``sum_t lambda_t`` there."""
        scale = lambdas / n_t
        if codes is None:
            c = mask[rows] * sw[rows, None] * scale[None, :]
            y = np.where(mask[rows], Y[rows], 0.0)
            task_codes = None
        else:
            c = np.where(mask[rows], sw[rows], 0.0) * scale[codes[rows]]
            y = np.where(mask[rows], Y[rows], 0.0)
            task_codes = codes[rows]
        c = c * (lambdas.sum() / max(c.sum(), np.finfo(float).tiny))
        return TaskData(X[rows], y, c, task_codes, len(lambdas), device)

    # hooks of the regressor (target standardisation); identity for the classifier
    def _set_target_scaling(self, Y, mask, codes, n_tasks, sample_weight):
        pass

    def _transform_targets(self, Y, codes):
        return Y

    def _inverse_outputs(self, Z):
        return Z

    # -------------------------------------------------------------- predict
    def _outputs(self, X):
        """Network outputs per row: ``(n, T)``, or the row's own task ``(n,)``."""
        check_is_fitted(self, "module_")
        X, task_ids = check_X(self, X, reset=False)
        X = X.toarray() if sp.issparse(X) else X
        device = next(self.module_.parameters()).device
        with torch_threads(getattr(self, "n_threads", None)):
            Z = self._inverse_outputs(forward_all(self.module_, X, device))
        if task_ids is None:
            return Z[:, 0] if self._y_ndim == 1 else Z
        codes = self._task_codes(task_ids)
        return Z[np.arange(len(Z)), codes]

    _decision = _outputs

    def _task_codes(self, task_ids):
        """Position of each row's task in ``tasks_``; an unseen task is an error (the
        networks define no shared model to predict it with)."""
        return task_codes(self.tasks_, task_ids)

    # ------------------------------------------------------------- pickling
    def __getstate__(self):
        """Pickle with the network on the CPU, so that the file loads on a machine
        without a GPU; predictions then run on the CPU."""
        state = self.__dict__.copy()
        for name in ("module_", "weighting_"):
            if name in state:
                state[name] = copy.deepcopy(state[name]).to("cpu")
        state.pop("_history", None)
        return state

    def _more_tags_common(self, tags):
        tags.input_tags.sparse = True
        tags.target_tags.multi_output = True
        tags.target_tags.single_output = True
        tags.non_deterministic = False
        return tags


_DOC = r"""{title}

    A network of the chosen ``architecture`` trained on the linear models' data
    term (a sum over tasks of each task's weighted mean {loss}; see
    :class:`~mtlreg.GroupLassoRegressor`), combined by the chosen ``weighting``,
    with Adam on mini-batches. Both data layouts of the linear models: a shared
    design with ``Y (n, T)`` (NaN = missing label, left out of the loss), or one
    row per (sample, task) with the task in ``task_column``.{extra}

    Parameters
    ----------
    architecture : {{"hard", "soft", "cross_stitch", "mmoe", "attention", "independent"}}, default="hard"
        Where parameters are shared: ``"hard"`` one trunk and a linear head per task;
        ``"soft"`` one tower per task pulled together by an l2 penalty
        (``architecture_options={{"reg": ...}}``); ``"cross_stitch"`` towers mixed by
        learnable cross-stitch units; ``"mmoe"`` multi-gate mixture of experts
        (``{{"n_experts": ...}}``); ``"attention"`` a shared trunk with task-specific
        attention masks; ``"independent"`` one network per task (no sharing).
        See the user guide (``docs/neural.rst``).
    hidden_layer_sizes : tuple of int, default=(64,)
        Widths of the hidden layers (of the trunk, towers or experts).
    activation : {{"relu", "tanh", "gelu", "identity"}}, default="relu"
    dropout : float, default=0.0
    architecture_options : dict, default=None
        Extra parameters of the architecture's module.
    weighting : {{"fixed", "uncertainty", "dwa", "gradnorm", "pcgrad", "mgda", "upgrad"}}, default="fixed"
        How tasks are combined: loss weightings (``"fixed"``: the ``task_weights``
        only; ``"uncertainty"``, Kendall et al. 2018; ``"dwa"``, Liu et al. 2019;
        ``"gradnorm"``, Chen et al. 2018), or gradient aggregators on the shared
        parameters (``"pcgrad"``, Yu et al. 2020; ``"mgda"``, Sener & Koltun 2018;
        ``"upgrad"``, Quinton & Rey 2024; TorchJD's implementations). GradNorm and the
        aggregators act on the shared parameters: with ``"independent"`` and ``"soft"``,
        which share none, they are refused (they would train as ``"fixed"``).
    weighting_options : dict, default=None
        Extra parameters of the weighting (``temperature`` for DWA, ``alpha`` and
        ``lr`` for GradNorm) or of the aggregator (``epsilon``, ``max_iters`` for
        MGDA's Frank-Wolfe solver).
    task_column : int or str, default=None
        Column of ``X`` naming each row's task (per-task layout); ``None``: shared layout.
    task_weights : None, "samples", array-like or dict, default=None
        Fixed task weights ``lambda_t``, as in the linear models.
    alpha : float, default=1e-4
        L2 penalty (Adam's weight decay) on the network's parameters.
    learning_rate_init : float, default=1e-3
    batch_size : int, default=256
    max_iter : int, default=200
        Maximum number of epochs.
    tol : float, default=1e-4
        Training stops when the loss (the validation loss with ``early_stopping``)
        has not decreased by ``tol`` for ``n_iter_no_change`` epochs.
    n_iter_no_change : int, default=10
    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of the rows (every task keeps a training
        row), stop on their loss and keep the best parameters.
    validation_fraction : float, default=0.1
    random_state : int, RandomState instance or None, default=None
        Seeds initialisation, shuffling, dropout and the validation split; with an
        int, two fits on the CPU give identical networks. The global torch seed is
        left untouched.
    device : {{"auto", "cpu", "cuda"}} or str, default="auto"
        ``"auto"``: CUDA when available. Pickles always hold the network on the CPU.
    n_threads : int or None, default=1
        Torch's intra-op CPU threads while fitting and predicting
        (``torch.set_num_threads``, set for the call and restored after; it is a
        process-wide setting, so do not fit in several threads of one process at
        once). ``None``: torch's own setting (by default one thread per core). Why
        1 by default: the products of these networks are small (a batch of 256 rows
        through layers of 64), and on a machine whose cores are busy the extra
        threads wait for one another: on School (3 epochs, a
        2-core machine with a load average of 12-14), torch's default of 2 threads
        took 35 times as long as 1 with hard sharing (35.3 s against 1.02 s) and 4.8
        times with MMoE (108 s against 22.6 s; ``benchmarks/results/torch_threads.md``,
        no idle machine measured). Raise it, or pass ``None``, for wide layers or
        large batches on an idle machine with many cores.
    warm_start : bool, default=False
        Continue training the fitted network (same tasks and features).
    verbose : int, default=0
        Show a progress bar (tqdm) over the epochs.

    Attributes
    ----------
    module_ : torch.nn.Module
        The trained network (``module_(x)`` gives ``(n, T)`` outputs{outputs}).
    weighting_ : torch.nn.Module
        The loss weighting, with its learned state.{classes}
    tasks_ : ndarray of shape (n_tasks,)
    n_tasks_ : int
    n_iter_ : int
        Epochs run.
    loss_curve_ : list of float
        Training loss per epoch.
    validation_scores_ : list of float or None
        Validation loss per epoch (with ``early_stopping``).
    loss_ : float
    device_ : str
    n_features_in_ : int
    feature_names_in_ : ndarray
"""


class MultiTaskMLPRegressor(MultiTaskRegressorMixin, _MultiTaskMLP):
    __doc__ = _DOC.format(
        title="Multi-task neural network regressor (squared loss).",
        loss="squared error",
        extra="\n\n    Targets are standardised per task for training (predictions are in the "
              "original\n    units), so every task's loss starts on the same scale; the mean "
              "and\n    standard deviation are weighted by ``sample_weight`` (a row of "
              "weight 0\n    counts nowhere, like a missing label).",
        outputs=", in standardised units", classes="")

    _loss = "squared"

    def _set_target_scaling(self, Y, mask, codes, n_tasks, sample_weight):
        """Per-task mean and standard deviation of the labelled targets, weighted by
        ``sample_weight`` (``mask`` already leaves out zero-weight rows)."""
        Y = np.where(mask, Y, 0.0)
        if codes is None:
            w = np.where(mask, sample_weight[:, None], 0.0)
            total = w.sum(axis=0)
            mean = (w * Y).sum(axis=0) / total
            var = (w * (Y - mean) ** 2).sum(axis=0) / total
        else:
            w = np.where(mask, sample_weight, 0.0)
            total = np.bincount(codes, weights=w, minlength=n_tasks)
            mean = np.bincount(codes, weights=w * Y, minlength=n_tasks) / total
            var = np.bincount(codes, weights=w * (Y - mean[codes]) ** 2,
                              minlength=n_tasks) / total
        std = np.sqrt(var)
        self._y_mean = mean
        self._y_scale = np.where(std > 0, std, 1.0)

    def _transform_targets(self, Y, codes):
        if codes is None:
            return (Y - self._y_mean) / self._y_scale
        return (Y - self._y_mean[codes]) / self._y_scale[codes]

    def _inverse_outputs(self, Z):
        return Z * self._y_scale + self._y_mean

    def __sklearn_tags__(self):
        return self._more_tags_common(super().__sklearn_tags__())


class MultiTaskMLPClassifier(MultiTaskClassifierMixin, _MultiTaskMLP):
    __doc__ = _DOC.format(
        title="Multi-task neural network classifier (one binary problem per task).",
        loss="logistic loss", extra="",
        outputs=": the logit of ``classes_[1]`` per task",
        classes="\n    classes_ : ndarray of shape (2,)\n        The two class labels, "
                "shared by every task.")

    _loss = "logistic"

    def _check_layout(self, layout, tasks):  # the linear models' intercept check: not needed
        pass

    def __sklearn_tags__(self):
        tags = self._more_tags_common(super().__sklearn_tags__())
        tags.classifier_tags.multi_class = False
        return tags
