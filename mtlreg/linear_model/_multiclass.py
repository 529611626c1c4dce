"""Multiclass tasks (``K > 2`` classes): what the classifiers add for them.

The model: for every task ``t`` and class ``k`` a coefficient vector ``w_tk`` and an
intercept ``b_tk``; with ``z_itk = x_i . w_tk + b_tk`` every formulation minimises

    sum_t lambda_t / n_t sum_{i in t} s_i [ log sum_k exp(z_itk) - z_{it y_i} ] + P(W)

(:class:`mtlreg.datafits.Multinomial`) over ``W`` of shape ``(n_features, K T)``
(column ``k T + t`` = ``w_tk``, :mod:`mtlreg._tasks.classes`). ``K = 2`` stays the
binary model (one column per task, :class:`mtlreg.datafits.Logistic`).

The penalty ``P`` (:func:`penalty_for_classes`):

* on the stacked ``(n_features, K T)`` matrix -- the row penalties (l1, l2,1, sparse
  group, the dirty model's parts: a row is a feature across tasks *and* classes), the
  trace norms (the rank of ``[W_1, ..., W_K]``), ridge;
* per class (``sum_k P(W_k)``, :class:`mtlreg.penalties.PerClass`: the task coupling
  Kronecker ``I_K``) -- mean regularisation (``w_tk`` pulled toward ``w_bar_k``, the
  mean over tasks of class ``k``), the task graph and the fused penalty of tasks
  ordered in time, each with its own sparse part;
* on the task-stacked ``(K n_features, T)`` matrix ``[W_1; ...; W_K]``
  (:class:`mtlreg.penalties._per_class.TaskStacked`) -- the clustered model: one
  clustering of the tasks, shared by the classes (its penalty sees the tasks through
  ``sum_k W_k^T W_k``);
* the robust models: the first part (trace norm, l2,1) on the stacked matrix, the
  outlier part (column l2,1) on the task-stacked one, so that a task is an outlier for
  all its classes at once.

Identifiability: the softmax is unchanged when one vector is added to ``w_tk`` and one
number to ``b_tk`` for every ``k`` of a task. The intercepts are pinned by
``sum_k b_tk = 0`` (``intercept_`` is centred over the classes after the fit; the
loss does not change). The coefficients are pinned where the penalty bounds them (the
estimator's ``_penalty_is_coercive``: e.g. ``alpha > 0`` for the sparse and trace
penalties, ``l2_reg > 0`` for mean regularisation, whose ``alpha`` leaves a shift of
every task and class free); otherwise the minimiser is not unique and the fit warns
(:func:`check_solution`).

Classes: ``classes_`` is the union of the labels of every task. With free intercepts
(``intercept_reg=0``) a task must see every class (a class it never sees would need
``b_tk = -inf``): else a ``ValueError`` names the tasks. ``intercept_reg = s > 0`` fits
them: it adds ``s / 2 sum_k sum_t lambda_t (b_tk - b_bar_k)^2`` with ``b_bar_k`` free
(:class:`ClassShrunk`), the binary term of every class. ``fit_intercept=False`` fits
them too. From Dask input the fit is the same (:mod:`mtlreg._dask.rows`: the classes found
by one pass over the partitions, the ``K x K`` Hessian blocks summed partition by
partition), and so are the predictions, lazily (:func:`mtlreg._dask.fit.decision_classes`).

Unseen tasks (``unseen_tasks="shared"``, where the estimator has it): the binary rule
per class. Class ``k`` of a task not seen in ``fit`` gets the score ``x . w_bar_k +
b_bar_k``, ``w_bar_k`` the mean over tasks of the class's population vectors (``w_tk``
for mean regularisation, the shared part ``B`` for the dirty model) and ``b_bar_k``
= ``shared_intercept_[k]`` with ``intercept_reg > 0``, else the mean over tasks of
``intercept_[:, k]``; its probabilities are the softmax of these scores.
"""

import textwrap
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning

from ..penalties import (
    ClusteredMTL,
    ColumnL21,
    FusedSparseGroup,
    GraphSmoothness,
    MeanRegularization,
    PerClass,
    TwoParts,
    WithRidge,
)
from ..penalties._per_class import TaskStacked
from ..utils._messages import format_tasks
from ._intercept_reg import _Prediction  # (Z, u): the prediction with uncentred intercepts

_PER_CLASS = (MeanRegularization, GraphSmoothness, FusedSparseGroup)
_TASK_STACKED = (ClusteredMTL,)
_TWO_PARTS = (TwoParts,)  # the robust models: first part stacked, outlier part per task
_REFUSED = (ColumnL21,)  # a column group alone (not used by any estimator)


def _core(penalty):
    """The penalty under the ridge and column-permutation wrappers."""
    while True:
        inner = penalty.__dict__.get("penalty")
        if inner is None:
            return penalty
        penalty = inner


def penalty_kind(penalty):
    """``"stacked"``, ``"per_class"``, ``"task_stacked"`` or ``"refused"``: how ``penalty``
    meets ``K > 2`` classes."""
    core = _core(penalty)
    if isinstance(core, _REFUSED):
        return "refused"
    if isinstance(core, _TASK_STACKED):
        return "task_stacked"
    if isinstance(core, _TWO_PARTS):
        return "two_parts"
    return "per_class" if isinstance(core, _PER_CLASS) else "stacked"


def penalty_for_classes(estimator, penalty, n_classes):
    """The penalty of ``estimator`` on the ``(n_features, K T)`` matrix of a ``K``-class fit."""
    if n_classes <= 2:
        return penalty
    kind = penalty_kind(penalty)
    if kind == "refused":
        raise ValueError(
            f"{type(estimator).__name__} fits binary tasks only (two classes); y has "
            f"{n_classes} classes. Multiclass tasks are supported by the other classifiers "
            "(e.g. GroupLassoClassifier, MeanRegularizedClassifier, ClusteredClassifier).")
    if kind == "task_stacked":
        return TaskStacked(penalty, n_classes)
    if kind == "two_parts":
        return _outliers_per_task(penalty, n_classes)
    return PerClass(penalty, n_classes) if kind == "per_class" else penalty


_PENALTY_DOC = {
    "stacked": (r"and :math:`P` the penalty above applied to the ``n_features x (K n_tasks)`` "
                r"matrix :math:`[W_1, \dots, W_K]` of every :math:`w_{tk}` (:math:`W_k`: the "
                "``n_features x n_tasks`` matrix of class :math:`k`): a row is one feature "
                "across the tasks *and* the classes"),
    "per_class": (r"and :math:`P = \sum_k P_0(W_k)`, :math:`P_0` the penalty above and "
                  r":math:`W_k` the ``n_features x n_tasks`` matrix of class :math:`k`: the "
                  "tasks are coupled within each class (the coupling Kronecker "
                  r":math:`I_K`), never across classes"),
    "task_stacked": (r"and :math:`P = P_0(S)`, :math:`P_0` the penalty above and :math:`S` the "
                     r"``(K n_features) x n_tasks`` matrix :math:`[W_1; \dots; W_K]` (one column "
                     "per task holding all its classes): one clustering of the tasks, shared by "
                     "the classes (``task_similarity_`` and ``task_clusters_`` are over tasks)"),
    "two_parts": (r"and :math:`P` the penalty above with its first part on the ``n_features x "
                  r"(K n_tasks)`` matrix :math:`[P_1, \dots, P_K]` of every class and task, and "
                  r"its outlier part on the ``(K n_features) x n_tasks`` matrix "
                  r":math:`[Q_1; \dots; Q_K]`: a column holds every class of a task, so a task "
                  "is an outlier for all its classes (``outlier_scores_`` and ``outlier_tasks_`` "
                  "are over tasks)"),
}


def doc_section(kind, has_notes, unseen=False):
    """The docstring paragraph on multiclass tasks for a classifier whose penalty is of
    ``kind`` (:func:`penalty_kind`); ``unseen``: whether it has ``unseen_tasks``."""
    head = "" if has_notes else "\n    Notes\n    -----\n"
    if kind == "refused":
        return (head + "    **Binary tasks only**: ``y`` with more than two classes is a "
                "``ValueError``.\n")
    return head + r"""    **Multiclass tasks** (``K > 2`` classes in ``y``; ``classes_`` is their union
    over the tasks): one coefficient vector :math:`w_{tk}` and intercept :math:`b_{tk}`
    per task and class, and the softmax loss in place of the logistic one: minimises

    .. math::

        \sum_t \frac{\lambda_t}{n_t} \sum_{i \in t} s_i \Bigl[\log \sum_{k=1}^K
        e^{x_i^\top w_{tk} + b_{tk}} - x_i^\top w_{t y_i} - b_{t y_i}\Bigr] + P

    """ + "\n    ".join(_wrap(_PENALTY_DOC[kind] + ".")) + r"""
    The softmax is unchanged by one shift of all the classes of a task: the intercepts
    are pinned by :math:`\sum_k b_{tk} = 0`, the coefficients by the penalty where it
    bounds them (else the minimiser is not unique, and the fit warns). ``coef_`` has shape
    ``(n_tasks, K, n_features)``, ``intercept_`` ``(n_tasks, K)``, ``shared_intercept_``
    ``(K,)``; ``decision_function`` and ``predict_proba`` give ``(n_samples, K)``, or
    ``(n_samples, n_tasks, K)`` in the shared layout with a 2-D ``y``. Every task must
    see every class with free intercepts (else a ``ValueError``); ``intercept_reg > 0``
    fits a task that lacks a class: with :math:`s` = ``intercept_reg`` the term
    :math:`\frac{s}{2} \sum_k \sum_t \lambda_t (b_{tk} - \bar b_k)^2` shrinks each
    class's intercepts toward their own :math:`\bar b_k` (``shared_intercept_[k]``).
    Fits and (lazy) predictions from Dask input take ``K > 2`` classes
    too.""" + (_UNSEEN_DOC if unseen else "") + """ ``K = 2`` is
    the binary model above, unchanged.
"""


_UNSEEN_DOC = r""" ``unseen_tasks="shared"`` applies its rule per
    class: class :math:`k` of a new task gets the mean over tasks of the vectors the
    rule names for class :math:`k` and ``shared_intercept_[k]`` (``intercept_reg > 0``)
    or the mean of ``intercept_[:, k]``; the probabilities are their softmax."""


def _wrap(text):
    return textwrap.wrap(text, 84)


def _outliers_per_task(penalty, n_classes):
    """``TwoParts(first, second)`` (under its ridge) with ``second`` on the task-stacked
    matrix: the outlier part's column group holds every class of a task."""
    if isinstance(penalty, WithRidge):
        return WithRidge(_outliers_per_task(penalty.penalty, n_classes), penalty.l2_reg)
    return TwoParts(penalty.first, TaskStacked(penalty.second, n_classes))


def check_task_classes(estimator, layout, tasks, n_classes):
    """Refuse a task that lacks a class (free intercepts: ``intercept_reg=0``)."""
    if not estimator.fit_intercept or estimator._shrinks():
        return  # without intercepts, or shrunk ones (finite for a class a task lacks)
    counts = np.stack([layout._task_sums(layout.c * (layout.y == k)) for k in range(n_classes)],
                      axis=1)
    lacking = np.flatnonzero((counts <= 0).any(axis=1))
    if lacking.size:
        missing = [estimator.classes_[counts[t] <= 0].tolist() for t in lacking[:3]]
        raise ValueError(
            f"Task(s) {format_tasks(np.asarray(tasks)[lacking])} have no sample (after "
            f"sample weighting) of some of the {n_classes} classes of y (missing: "
            f"{missing}{' ...' if lacking.size > 3 else ''}): the intercept of a class a "
            "task never sees is unbounded (-inf). Give every task every class, or set "
            "intercept_reg > 0 (the intercepts are then pulled toward shared ones, per "
            "class), or fit_intercept=False.")


def check_solution(estimator, layout, W, b, tasks):
    """Warn when the minimiser is not unique (no penalty along the softmax's free
    direction) and when a task's classes are perfectly separated by the solution."""
    if estimator._penalty_is_coercive():
        return
    Zs = layout.by_class(layout.matvec(W, b))
    pred = np.argmax(Zs, axis=1)
    top = np.max(Zs, axis=1)
    runner_up = np.sort(Zs, axis=1)[:, -2] if Zs.shape[1] > 1 else top
    right = (pred == layout.labels) & (top > runner_up)
    wrong = layout.task_sums(((~right) & (layout.weights > 0)).astype(float))
    separated = np.flatnonzero(wrong == 0)
    if separated.size:
        warnings.warn(
            f"The classes of task(s) {format_tasks(np.asarray(tasks)[separated])} are "
            "perfectly separated and the penalty does not bound the coefficients "
            f"({estimator._free_direction()}): the softmax loss has no minimiser, so the "
            "solver stopped at tol with finite coefficients whose size depends on tol "
            "and max_iter. Set l2_reg > 0 (or a positive penalty strength).",
            ConvergenceWarning)
    else:
        warnings.warn(
            f"{type(estimator).__name__} with {layout.n_classes} classes and a penalty that "
            f"does not bound the coefficients ({estimator._free_direction()}): the softmax "
            "loss is unchanged when one vector is added to the coefficients of every class "
            "of a task, so the minimiser is not unique (coef_ is one of them; the "
            "probabilities are unique). Set l2_reg > 0 (or a positive penalty strength).",
            UserWarning)


def to_task_class(A, n_classes):
    """An array whose first axis is the ``K T`` virtual tasks, as ``(T, K, ...)``."""
    A = np.asarray(A)
    T = A.shape[0] // n_classes
    return np.ascontiguousarray(np.swapaxes(A.reshape(n_classes, T, *A.shape[1:]), 0, 1))



# ---------------------------------------------------------------- shrunk intercepts
class ClassShrunk:
    r"""A multiclass datafit plus the intercept term of ``intercept_reg = s > 0``,

    .. math::

        \frac{s}{2} \sum_k \sum_t \lambda_t (b_{tk} - \bar b_k)^2, \qquad
        \bar b_k = \frac{\sum_t \lambda_t b_{tk}}{\sum_t \lambda_t},

    with ``b_tk`` the uncentred intercepts: the binary term of every class, ``b_bar_k``
    (``shared_intercept_[k]``) minimised over in closed form, so no outer iteration is
    needed. Its gradient in ``u = b - mu . w`` is ``s lambda_t (u_tk - b_bar_k)`` (the
    derivative through ``b_bar`` vanishes), its Hessian ``s (diag(lambda) - lambda
    lambda^T / Lambda)`` per class, of norm at most ``s max_t lambda_t``; through
    ``u_j = [−mu_j; 1] . [w_j; b_j]`` the Lipschitz bound adds
    ``s max_t lambda_t (1 + ||mu_t||^2)``. The term is quadratic: the quadratic model is
    the base's model wrapped alike (solved by FISTA inside proximal Newton).
    """

    def __init__(self, inner, s, layout):
        self.inner, self.s, self.layout = inner, float(s), layout
        self.curvature = getattr(inner, "curvature", 1.0)
        self.exact_quadratic = getattr(inner, "exact_quadratic", False)
        self._lam_t = np.asarray(layout.lambdas, dtype=np.float64).ravel()  # (T,)
        self._lam = np.tile(self._lam_t, layout.n_classes)  # (K T,), class-major
        self._mu = np.asarray(layout.mu, dtype=np.float64)
        self._lipschitz = None

    def _centre(self, u):
        """``u - b_bar`` (per class, ``lambda``-weighted)."""
        U = u.reshape(self.layout.n_classes, -1)
        return (U - (U @ self._lam_t / self._lam_t.sum())[:, None]).ravel()

    def _term(self, u):
        return 0.5 * self.s * float(np.sum(self._lam * self._centre(u) ** 2))

    def linear_predictor(self, W, b):
        return _Prediction(self.inner.linear_predictor(W, b), self.layout.uncentre_intercept(W, b))

    def value(self, Z):
        return self.inner.value(Z.z) + self._term(Z.u)

    def exact_value(self, W, b):
        return self.inner.exact_value(W, b) + self._term(self.layout.uncentre_intercept(W, b))

    def gradient(self, Z):
        G, gb = self.inner.gradient(Z.z)
        g = self.s * self._lam * self._centre(Z.u)
        return G - self._mu.T * g, gb + g

    def lipschitz(self):
        if self._lipschitz is None:
            a2 = 1.0 + np.sum(self._mu**2, axis=1)
            self._lipschitz = self.inner.lipschitz() + self.s * float(np.max(self._lam * a2))
        return self._lipschitz

    @property
    def prefer_first_order(self):
        return getattr(self.inner, "prefer_first_order", False)

    def intercept_gradient_bound(self):
        return np.inf  # the term's gradient is not bounded by lambda_t

    def initial_intercept(self):
        return self.inner.initial_intercept()

    def quadratic_model(self, W, b):
        return ClassShrunk(self.inner.quadratic_model(W, b), self.s, self.layout)


class _ZeroW:
    """The constraint ``W = 0`` as a penalty (the intercept-only problem)."""

    def value(self, W):
        return 0.0

    def prox(self, W, step):
        return np.zeros_like(W)

    def subdiff_distance(self, W, G):
        return 0.0


def shrunk(datafit, layout, s):
    """``datafit`` with the term of :class:`ClassShrunk` (inside the dirty models'
    ``SumOfParts``: the term acts on ``W = B + S``)."""
    from ..datafits import SumOfParts

    if isinstance(datafit, SumOfParts):
        return SumOfParts(ClassShrunk(datafit.datafit, s, layout))
    return ClassShrunk(datafit, s, layout)


def shrunk_null_model(datafit, layout, s):
    """``(datafit with the term, b0)``: ``b0`` the intercepts minimising the objective at
    ``W = 0`` (FISTA on the intercepts alone, from the centred logs of the task's class
    shares averaged with the pooled ones: finite for a task that lacks a class)."""
    from ..solvers import fista

    wrapped = shrunk(datafit, layout, s)
    shares = layout.class_shares()  # (T, K)
    lam = np.asarray(layout.lambdas, dtype=np.float64).ravel()
    logp = np.log(0.5 * (shares + lam @ shares / lam.sum()))
    logp -= logp.mean(axis=1, keepdims=True)
    inner = getattr(wrapped, "datafit", wrapped)
    W0 = np.zeros((layout.n_features, layout.n_tasks))
    res = fista(inner, _ZeroW(), W0, np.ascontiguousarray(logp.T).ravel(), tol=1e-12,
                max_iter=100_000, gradient_scale=1.0)
    return wrapped, res.b
