r"""The per-row datafits on Dask data: the multinomial (softmax) loss, Poisson (with an
offset) and Huber, every evaluation one distributed pass. (The binary logistic loss
has its own kernels, :mod:`mtlreg._dask.logistic`; here it serves that fit's check of
separated classes.)

One source of truth: each partition builds the in-memory datafit of the loss
(:class:`mtlreg.datafits.Logistic`, :class:`~mtlreg.datafits.Multinomial`,
:class:`~mtlreg.datafits.Poisson`, :class:`~mtlreg.datafits.Huber`) on a layout of its own rows
(:class:`_RowsOfTasks`, :class:`_RowsShared`) that carries the weights and the centring
of the whole fit -- ``c_it = lambda_t s_i / n_t`` and ``mu`` from the statistics pass
(:mod:`mtlreg._dask.fit`), exactly those of the in-memory layout -- and returns what
the solvers ask for. Everything they ask for is a sum over rows, so a sum over
partitions (tree-summed, fan-in ``_FAN_IN``):

* the value ``F``, the gradient ``A^T R`` (``(d, T)`` and ``(T,)``): one pass per
  evaluation point (FISTA: one per iteration and backtracking step, cached on the
  point, :class:`_Point`: FISTA's "prediction" is the point ``(W, b)`` itself, with
  the vector-space operations FISTA applies to predictions);
* proximal Newton's quadratic model: the Hessian blocks ``H_t`` (``K x K`` blocks of
  ``k x k`` for the softmax, ``k = d + 1``), ``r_t = H_t v_t - g_t`` and the constant,
  each a sum over the partitions' rows; the subproblems are solved in memory on those
  ``T (K k)^2`` numbers. Huber's model needs one more sum first: per task, how many
  residuals lie inside ``epsilon`` (which decides, as in memory, between the
  generalised Hessian and the majoriser's weights);
* the intercept-only problems (the null model, the shrunk intercepts): per task
  totals (Poisson ``sum c y``, ``sum c exp(o)``; Huber ``sum c psi(r)`` and the
  count inside the band, per Newton step of :func:`mtlreg.datafits._intercepts.task_roots`;
  the softmax's weighted class counts, one pass when the datafit is built), then the
  datafit's own scalar root finding on them. The softmax's shrunk intercepts
  (``intercept_reg > 0``) start from FISTA on the intercepts alone, as in memory: one
  pass per iteration.

An empty partition is evaluated as one row of weight zero (it adds nothing).

``solver="auto"`` decides as in memory (Poisson and the softmax: proximal Newton
unless the softmax's coupled Hessians are too large; Huber: FISTA). A Newton step
costs about two passes (the model, the line search's evaluations), and a fit takes
the in-memory number of Newton steps. The Lipschitz bound of FISTA's first step is
``curvature * max_t lambda_max(H_t)`` from the statistics (exact for the per-task
layout's bound; for the shared design it can be smaller than the in-memory bound
taken through the mask: a different start of the backtracking, the same minimiser);
Poisson's is its null-model bound times that.
Keep the data in the cluster's memory (``X = X.persist()``): every pass reads it.
"""

import dask
import numpy as np
import scipy.sparse as sp

from .._tasks.classes import ClassLayout
from .._tasks.layout import SharedDesign, TaskBlocks, _CentredOperator, task_codes
from ..datafits import Huber, Logistic, Multinomial, Poisson, QuadraticModel
from ..datafits._intercepts import broadcast_intercepts
from ..datafits._multinomial import CoupledQuadratic
from .fit import _FAN_IN, class_codes


class _Point:
    """``(W, b)`` as FISTA's prediction: supports ``+``, ``-`` and scalar ``*``."""

    def __init__(self, W, b):
        self.W, self.b = W, b
        self.cache = None

    def __add__(self, other):
        return _Point(self.W + other.W, self.b + other.b)

    def __sub__(self, other):
        return _Point(self.W - other.W, self.b - other.b)

    def __mul__(self, scalar):
        return _Point(scalar * self.W, scalar * self.b)

    __rmul__ = __mul__


# ------------------------------------------------------ a partition's layout
class _RowsOfTasks(TaskBlocks):
    """The rows of one partition (per-task layout) with the fit's weights ``c`` and
    centring ``mu`` (a task may have no row here)."""

    def __init__(self, X, y, codes, c, mu, lambdas, fit_intercept):
        self.codes, self.n_tasks, self.lambdas = codes, len(lambdas), lambdas
        X = sp.csr_matrix(X, dtype=np.float64) if sp.issparse(X) else \
            np.ascontiguousarray(X, dtype=np.float64)
        if sp.issparse(X):
            X.sort_indices()
        self._order = np.argsort(codes, kind="stable")
        self._starts = np.searchsorted(codes[self._order], np.arange(self.n_tasks + 1))
        _CentredOperator.__init__(self, X, y, c, mu, fit_intercept)


class _RowsShared(SharedDesign):
    """The rows of one partition (shared design) with the fit's weights and centring."""

    def __init__(self, X, Y, c, mu, lambdas, fit_intercept):
        X = sp.csr_matrix(X, dtype=np.float64) if sp.issparse(X) else \
            np.ascontiguousarray(X, dtype=np.float64)
        self.n_tasks, self.lambdas, self._mu1 = len(lambdas), lambdas, mu[0]
        self._all_labelled = False
        _CentredOperator.__init__(self, X, Y, c, mu, fit_intercept)


class _BlockHuber(Huber):
    """Huber on one partition, told which tasks have fewer than ``k`` residuals inside
    ``epsilon`` over all partitions (``few``), as the in-memory model decides."""

    def __init__(self, layout, epsilon, few):
        super().__init__(layout, epsilon)
        self._few = few

    def _few_inside(self, inside):
        return self._few if self._few is not None else super()._few_inside(inside)


def _datafit_of(block, offset, spec, few=None):
    """The in-memory datafit of ``spec``'s loss on the rows of ``block``."""
    kind, tasks, scale, mu, lambdas, fit_intercept, classes, epsilon = spec
    features, task_ids, y, s = block
    if features.shape[0] == 0:  # an empty partition: one row of weight zero, adding nothing
        features, s = np.zeros((1, features.shape[1])), np.zeros(1)
        y = np.full((1,) + np.shape(y)[1:], np.nan)
        task_ids = None if task_ids is None else np.asarray(tasks[:1])
        offset = None if offset is None else np.zeros((1,) + np.shape(offset)[1:])
    y = class_codes(y, classes)
    w = np.ones(features.shape[0]) if s is None else s
    if task_ids is None:
        Y = y.reshape(features.shape[0], -1)
        seen = ~np.isnan(Y)
        c = seen * w[:, None] * scale[None, :]
        layout = _RowsShared(features, np.where(seen, Y, 0.0), c, mu, lambdas, fit_intercept)
    else:
        codes = task_codes(tasks, task_ids) if len(task_ids) else np.zeros(0, np.intp)
        seen = ~np.isnan(y)
        c = w * scale[codes] * seen
        layout = _RowsOfTasks(features, np.where(seen, y, 0.0), codes, c, mu, lambdas,
                              fit_intercept)
    if kind == "poisson":
        return Poisson(layout, None if offset is None else _check_offset(offset, layout))
    if kind == "huber":
        return _BlockHuber(layout, epsilon, few)
    if kind == "multinomial":
        return Multinomial(ClassLayout(layout, len(classes)))
    return Logistic(layout)


def _check_offset(offset, layout):
    offset = np.asarray(offset, dtype=np.float64)
    n = layout.y.shape[0]
    if offset.ndim == 2 and offset.shape[1] == 1 and layout.layout == "blocks":
        offset = offset[:, 0]
    if not (offset.shape == (n,) or offset.shape == layout.y.shape):
        raise ValueError(f"offset has a partition of shape {offset.shape} where X has {n} "
                         f"rows: expected ({n},)" + (f" or {layout.y.shape} (one column per "
                                                      "task)" if layout.layout == "shared" else "")
                         + "; offset must be partitioned like X.")
    if not np.all(np.isfinite(offset)):
        raise ValueError("offset contains NaN or infinity: give a finite offset (the log of "
                         "a positive exposure) for every row.")
    return offset


def _on_block(block, offset, spec, fn, args):
    return fn(_datafit_of(block, offset, spec, *args[:1]), *args[1:])


# what each partition computes (first argument: its datafit)
def _value_gradient(df, W, b):
    Z = df.linear_predictor(W, b)
    G, gb = df.gradient(Z)
    return df.value(Z), G, gb


def _model_arrays(df, W, b):
    model = df.quadratic_model(W, b)
    return getattr(model, "H", getattr(model, "blocks", None)), model.r, model.const


def _inside_counts(df, W, b):
    layout = df.layout
    r = np.abs(layout.y - df.linear_predictor(W, b))
    return layout._task_sums(((r <= df.epsilon) & (layout.c > 0)).astype(float))


def _poisson_totals(df):
    return np.stack(df._task_totals())


def _poisson_top(df, b0):
    return float(np.max(df._mean(broadcast_intercepts(df.layout, b0)), initial=0.0))


def _huber_range(df):
    lo, hi = df._target_range()
    return np.stack([-lo, hi])  # combined by a maximum


def _huber_intercept(df, b):
    return np.stack(df._intercept_problem(b))


def _wrong_counts(df, W, b):
    """Per task: the labelled rows that ``(W, b)`` does not classify strictly right (the
    estimators' test of perfectly separated classes)."""
    layout = df.layout
    if isinstance(layout, ClassLayout):
        Zs = layout.by_class(layout.matvec(W, b))
        runner_up = np.sort(Zs, axis=1)[:, -2]
        right = (np.argmax(Zs, axis=1) == layout.labels) & (np.max(Zs, axis=1) > runner_up)
        return layout.task_sums(((~right) & (layout.weights > 0)).astype(float))
    margin = (2.0 * layout.y - 1.0) * layout.matvec(W, b)
    return layout._task_sums(((margin <= 0) & (layout.c > 0)).astype(float))


def _add(parts):
    return tuple(sum(p[i] for p in parts) for i in range(len(parts[0]))) \
        if isinstance(parts[0], tuple) else sum(parts)


def _max(parts):
    return np.max(np.stack(parts), axis=0)


# ------------------------------------------------------------ the datafit
class DistributedRows:
    """A per-row datafit over Dask row blocks (module docstring): ``kind`` is
    ``"poisson"``, ``"huber"``, ``"multinomial"`` or ``"logistic"``."""

    exact_quadratic = False

    def __init__(self, layout, blocks, kind, *, offsets=None, classes=None, epsilon=None):
        self.layout, self.blocks, self.kind = layout, blocks, kind
        self.offsets = offsets if offsets is not None else [None] * len(blocks)
        base = getattr(layout, "base", layout)  # the statistics layout (T tasks)
        self.stats = base
        tasks = None if base.layout == "shared" else base.labels
        mu = np.ascontiguousarray(base.mu, dtype=np.float64)
        lambdas = np.asarray(base.lambdas, dtype=np.float64)
        self._spec = (kind, tasks, lambdas / base._n_t, mu, lambdas, base.fit_intercept,
                      classes, epsilon)
        self.curvature = {"poisson": np.inf, "huber": 1.0, "multinomial": 0.5,
                          "logistic": 0.25}[kind]
        self.epsilon = epsilon
        self.n_passes = 0
        self._lipschitz = self._totals = self._range = None

    def _map(self, fn, *args, combine=_add, few=None):
        part = dask.delayed(_on_block, pure=True)
        parts = [part(b, o, self._spec, fn, (few,) + args)
                 for b, o in zip(self.blocks, self.offsets)]
        merge = dask.delayed(combine, pure=True)
        while len(parts) > 1:
            parts = [merge(parts[i:i + _FAN_IN]) for i in range(0, len(parts), _FAN_IN)]
        self.n_passes += 1
        return dask.compute(parts[0])[0]

    # -------------------------------------------------- value and gradient
    def linear_predictor(self, W, b):
        return _Point(np.array(W, dtype=np.float64), np.array(b, dtype=np.float64))

    def _evaluate(self, Z):
        if Z.cache is None:
            value, G, gb = self._map(_value_gradient, Z.W, Z.b)
            Z.cache = (float(value), G, gb)
        return Z.cache

    def value(self, Z):
        return self._evaluate(Z)[0]

    def exact_value(self, W, b):
        return self.value(self.linear_predictor(W, b))

    def gradient(self, Z):
        _, G, gb = self._evaluate(Z)
        return G.copy(), gb.copy()

    def quadratic_model(self, W, b):
        """Proximal Newton's model at ``(W, b)``: the partitions' models summed (their
        ``H_t``, ``r_t`` and constants are sums over rows)."""
        W, b = np.asarray(W, dtype=np.float64), np.asarray(b, dtype=np.float64)
        few = None
        if self.kind == "huber":  # as Huber.quadratic_model, on the counts of all rows
            k = self.layout.n_features + int(self.layout.fit_intercept)
            few = self._map(_inside_counts, W, b) < k
        H, r, const = self._map(_model_arrays, W, b, few=few)
        if self.kind == "multinomial":
            return CoupledQuadratic(self.layout, H, r, float(const))
        return QuadraticModel(self.layout, H, r, float(const))

    # -------------------------------------------------------- step sizes
    def _gram_bound(self):
        H = self.stats.task_gram()[0]
        top = np.linalg.eigvalsh(H)[:, -1] if H.size else np.zeros(1)
        return float(max(top.max(initial=0.0), 0.0)) * (1 + 1e-10)

    def lipschitz(self):
        if self._lipschitz is None:
            if self.kind == "poisson":  # Poisson.lipschitz: the null model's curvature
                b0 = self.initial_intercept()
                b0 = np.where(np.isfinite(b0), b0, 0.0)
                top = self._map(_poisson_top, b0, combine=max)
                self._lipschitz = max(top, np.finfo(float).tiny) * self._gram_bound()
            else:
                self._lipschitz = self.curvature * self._gram_bound()
        return self._lipschitz

    @property
    def prefer_first_order(self):
        if self.kind == "multinomial":
            return Multinomial.prefer_first_order.fget(self)
        return self.kind == "huber"

    def intercept_gradient_bound(self):
        if self.kind == "poisson":
            return np.inf
        top = float(np.max(self.stats.lambdas, initial=0.0))
        return self.epsilon * top if self.kind == "huber" else top

    def separation_summary(self, W, b):
        """The rows' verdict for the estimators' separation check: one row per task,
        classified right (a margin of one) when every labelled row of the task is, wrong
        otherwise (:class:`SeparationSummary`; one pass)."""
        wrong = self._map(_wrong_counts, np.asarray(W, dtype=np.float64),
                          np.asarray(b, dtype=np.float64))
        return SeparationSummary(wrong == 0, getattr(self.layout, "n_classes", 2))

    # -------------------------------------------------- intercept-only problems
    def initial_intercept(self):
        if self.kind == "poisson":
            return Poisson.initial_intercept(self)
        if self.kind == "huber":
            return Huber.initial_intercept(self)
        if self.kind == "multinomial":
            logp = np.log(np.clip(self.layout.class_shares(), 1e-12, None))
            logp -= logp.mean(axis=1, keepdims=True)
            return np.ascontiguousarray(logp.T).ravel()
        p = np.clip(self.stats.target_means(), 1e-12, 1 - 1e-12)
        return np.log(p / (1 - p))

    def shrunk_null_intercepts(self, s, m):
        owner = Poisson if self.kind == "poisson" else Huber
        return owner.shrunk_null_intercepts(self, s, m)

    def shrunk_null_start(self):
        owner = Poisson if self.kind == "poisson" else Huber
        return owner.shrunk_null_start(self)

    # the per-task totals those methods of Poisson and Huber read
    def _task_totals(self):
        if self._totals is None:
            self._totals = tuple(self._map(_poisson_totals))
        return self._totals

    def _target_range(self):
        if self._range is None:
            neg_lo, hi = self._map(_huber_range, combine=_max)
            self._range = (-neg_lo, hi)
        return self._range

    def _intercept_problem(self, b):
        g, slope = self._map(_huber_intercept, np.asarray(b, dtype=np.float64))
        return g, slope


class StatsClassLayout(ClassLayout):
    """The layout of ``K T`` virtual tasks over the statistics of ``T`` tasks (a fit
    from Dask): the centring, task weights and intercept conversions of
    :class:`~mtlreg._tasks.classes.ClassLayout`, and the classes' weighted counts per
    task (``counts``, ``(T, K)``) in place of the rows."""

    def __init__(self, base, counts):
        self.base = base
        self.n_classes = K = counts.shape[1]
        self.n_base_tasks = T = base.n_tasks
        self.n_tasks = K * T
        self.n_features = base.n_features
        self.fit_intercept = base.fit_intercept
        self.layout = base.layout
        self.X = None
        self.lambdas = np.asarray(base.lambdas, dtype=np.float64)[:, None]
        self.mu = np.tile(np.asarray(base.mu, dtype=np.float64), (K, 1))
        self._shared = base.layout == "shared"
        self.counts = counts

    def class_shares(self):
        total = self.counts.sum(axis=1, keepdims=True)
        return self.counts / np.maximum(total, np.finfo(float).tiny)

    def weighted_counts(self):
        return np.tile(self.base.weighted_counts(), self.n_classes)

    def matvec(self, W, b, once=False):
        raise NotImplementedError("a fit from Dask holds no rows in memory")


class SeparationSummary:
    """One row per task, as the estimators' separation checks read a layout: label 0 (or
    1, binary), weight 1, score ``+1`` for class 0 where ``right``, else all scores 0
    (a tie: not right); ``matvec`` returns those scores whatever its arguments."""

    def __init__(self, right, n_classes):
        self.right, self.n_classes = np.asarray(right, dtype=bool), n_classes
        T = len(self.right)
        self.y, self.c = np.ones(T), np.ones(T)  # binary: label 1, margin +-1
        self.labels, self.weights = np.zeros((T, 1), np.intp), np.ones((T, 1))

    def matvec(self, W, b, once=False):
        if self.n_classes == 2:
            return np.where(self.right, 1.0, -1.0)
        Z = np.zeros((len(self.right), self.n_classes))
        Z[:, 0] = self.right
        return Z

    def by_class(self, Z):
        return Z[:, :, None]

    def task_sums(self, values):
        return values[:, 0]

    def _task_sums(self, values):
        return values


def _class_counts(df):
    """``(T, K)``: the weighted count of each class in each task (one partition)."""
    layout = df.layout
    Y = layout.onehot() * layout.weights[:, None, :]
    return np.stack([layout.task_sums(Y[:, k]) for k in range(layout.n_classes)], axis=1)


def multinomial_datafit(layout, blocks, classes):
    """The distributed softmax datafit over the statistics ``layout`` of ``T`` tasks and
    its layout of ``K T`` virtual tasks (one pass: the class counts per task)."""
    datafit = DistributedRows(layout, blocks, "multinomial", classes=classes)
    datafit.layout = StatsClassLayout(layout, datafit._map(_class_counts))
    return datafit


__all__ = ["DistributedRows", "SeparationSummary", "StatsClassLayout", "multinomial_datafit"]
