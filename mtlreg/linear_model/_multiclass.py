"""Multiclass tasks (``K > 2`` classes): what the classifiers add for them.

The model: for every task ``t`` and class ``k`` a coefficient vector ``w_tk`` and an
intercept ``b_tk``; with ``z_itk = x_i . w_tk + b_tk`` every formulation minimises

    sum_t lambda_t / n_t sum_{i in t} s_i [ log sum_k exp(z_itk) - z_{it y_i} ] + P(W)

(:class:`mtlreg.datafits._multinomial.Multinomial`) over ``W`` of shape ``(n_features, K T)``
(column ``k T + t`` = ``w_tk``, :mod:`mtlreg._tasks.classes`). ``K = 2`` stays the
binary model (one column per task, :class:`mtlreg.datafits.Logistic`).

The penalty ``P`` (:func:`penalty_for_classes`):

* on the stacked ``(n_features, K T)`` matrix -- the row penalties (l1, l2,1, sparse
  group, the dirty model's parts: a row is a feature across tasks *and* classes), the
  trace norms (the rank of ``[W_1, ..., W_K]``), ridge;
* per class (``sum_k P(W_k)``, :class:`mtlreg.penalties._per_class.PerClass`: the task coupling
  Kronecker ``I_K``) -- mean regularisation (``w_tk`` pulled toward ``w_bar_k``, the
  mean over tasks of class ``k``), the task graph and the fused penalty of tasks
  ordered in time, each with its own sparse part;
* refused -- the clustered model (its task clusters would have to be shared by the
  classes or not: not decided) and the robust models (their outlier-task columns
  would have to group the ``K`` columns of a task).

Identifiability: the softmax is unchanged when one vector is added to ``w_tk`` and one
number to ``b_tk`` for every ``k`` of a task. The intercepts are pinned by
``sum_k b_tk = 0`` (``intercept_`` is centred over the classes after the fit; the
loss does not change). The coefficients are pinned by any penalty that grows along
that direction (all of the above with a positive strength); with no penalty and
``l2_reg=0`` the minimiser is not unique and the fit warns.

Classes: ``classes_`` is the union of the labels of every task. A task must see every
class when intercepts are fitted (a class it never sees would need ``b_tk = -inf``):
else a ``ValueError`` names the tasks (``fit_intercept=False`` fits them;
``intercept_reg > 0`` is not available for multiclass yet). Dask input is binary only.
"""

import textwrap
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning

from ..penalties import ClusteredMTL, ColumnL21, FusedSparseGroup, GraphSmoothness, MeanRegularization, TwoParts
from ..penalties._per_class import PerClass
from ..utils._messages import format_tasks

_PER_CLASS = (MeanRegularization, GraphSmoothness, FusedSparseGroup)
_REFUSED = (ClusteredMTL, TwoParts, ColumnL21)


def _core(penalty):
    """The penalty under the ridge and column-permutation wrappers."""
    while True:
        inner = penalty.__dict__.get("penalty")
        if inner is None:
            return penalty
        penalty = inner


def penalty_kind(penalty):
    """``"stacked"``, ``"per_class"`` or ``"refused"``: how ``penalty`` meets ``K > 2`` classes."""
    core = _core(penalty)
    if isinstance(core, _REFUSED):
        return "refused"
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
            "(e.g. GroupLassoClassifier, MeanRegularizedClassifier, TraceNormClassifier).")
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
}


def doc_section(kind, has_notes):
    """The docstring paragraph on multiclass tasks for a classifier whose penalty is of
    ``kind`` (:func:`penalty_kind`)."""
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
    are pinned by :math:`\sum_k b_{tk} = 0`, the coefficients by the penalty (with no
    penalty the minimiser is not unique, and the fit warns). ``coef_`` has shape
    ``(n_tasks, K, n_features)``, ``intercept_`` ``(n_tasks, K)``, ``shared_intercept_``
    ``(K,)``; ``decision_function`` and ``predict_proba`` give ``(n_samples, K)``, or
    ``(n_samples, n_tasks, K)`` in the shared layout with a 2-D ``y``. Every task must
    see every class (else a ``ValueError``; ``fit_intercept=False`` fits it);
    ``intercept_reg > 0``, ``unseen_tasks="shared"`` and Dask input are for two
    classes only. ``K = 2`` is the binary model above, unchanged.
"""


def _wrap(text):
    return textwrap.wrap(text, 84)


def check_task_classes(estimator, layout, tasks, n_classes):
    """Refuse a task that lacks a class (intercepts fitted), and ``intercept_reg > 0``."""
    name = type(estimator).__name__
    if getattr(estimator, "intercept_reg", 0) != 0 and estimator.fit_intercept:
        raise ValueError(
            f"{name}: intercept_reg > 0 is not supported with more than two classes "
            f"(y has {n_classes}); set intercept_reg=0.")
    if not estimator.fit_intercept:
        return
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
            "fit_intercept=False.")


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

