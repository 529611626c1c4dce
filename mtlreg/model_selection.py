"""Task-aware cross-validation for the per-task layout."""

from numbers import Integral

import numpy as np
from sklearn.model_selection import BaseCrossValidator, KFold, StratifiedKFold
from sklearn.utils import check_random_state


def task_ids_of(X, task_column):
    """The task column of ``X`` (array, sparse matrix or DataFrame) as a 1-D array,
    validated as the estimators validate it (all numbers or all strings, no NaN)."""
    from .utils.validation import _check_task_ids, _column_position

    if X is None:
        raise ValueError("X is required: the task column of X defines the folds.")
    if hasattr(X, "iloc"):
        if isinstance(task_column, str):
            if task_column not in X.columns:
                raise ValueError(
                    f"task_column={task_column!r} is not a column of X: {list(X.columns)}.")
            return _check_task_ids(X[task_column].to_numpy())
        position = _column_position(task_column, X.shape[1], "TaskStratifiedKFold")
        return _check_task_ids(X.iloc[:, position].to_numpy())
    if isinstance(task_column, str):
        raise ValueError(f"task_column={task_column!r} is a name: X must be a DataFrame.")
    if not hasattr(X, "tocsc"):
        X = np.asarray(X)
    if X.ndim != 2:
        raise ValueError(
            f"X must be 2-D with a task column; got an array of shape {X.shape}.")
    position = _column_position(task_column, X.shape[1], "TaskStratifiedKFold")
    if hasattr(X, "tocsc"):
        return _check_task_ids(X.tocsc()[:, position].toarray().ravel())
    return _check_task_ids(X[:, position])


class TaskStratifiedKFold(BaseCrossValidator):
    """K-fold that keeps every task represented in every training fold.

    For the per-task layout: the rows of each task are spread evenly over the
    ``n_splits`` test folds, so each fold holds about ``1/n_splits`` of every task.
    A task with fewer rows than folds puts each row in a different test fold; a
    task with a single row is never put in a test fold (it stays in every
    training fold, since a model cannot predict a task it has not seen). Use it
    as ``cv=`` of ``GridSearchCV``, ``cross_val_score`` or the ``*CV`` estimators.

    Parameters
    ----------
    n_splits : int, default=5
    task_column : int or str, default=0
        The column of ``X`` holding the task of each row (as the estimators'
        ``task_column``).
    shuffle : bool, default=False
        Shuffle the rows of each task before assigning them to folds (otherwise
        they are dealt round-robin in data order, which is deterministic).
    random_state : int, RandomState or None, default=None
        Used when ``shuffle`` is True.
    """

    def __init__(self, n_splits=5, *, task_column=0, shuffle=False, random_state=None):
        if isinstance(n_splits, bool) or not isinstance(n_splits, Integral) or n_splits < 2:
            raise ValueError(f"n_splits must be an integer >= 2; got {n_splits!r}.")
        if not isinstance(shuffle, (bool, np.bool_)):
            raise TypeError(f"shuffle must be True or False; got {shuffle!r}.")
        if not shuffle and random_state is not None:
            raise ValueError(
                "Setting a random_state has no effect since shuffle is False (as in "
                "KFold): leave random_state=None or set shuffle=True.")
        self.n_splits = int(n_splits)
        self.task_column = task_column
        self.shuffle = shuffle
        self.random_state = random_state

    def get_n_splits(self, X=None, y=None, groups=None):
        return self.n_splits

    def _iter_test_masks(self, X, y=None, groups=None):
        folds = self._assign_folds(X)
        for k in range(self.n_splits):
            yield folds == k

    def _assign_folds(self, X):
        tasks = task_ids_of(X, self.task_column)
        if self.n_splits > len(tasks):
            raise ValueError(
                f"Cannot have number of splits n_splits={self.n_splits} greater than the "
                f"number of samples: n_samples={len(tasks)}.")
        _, codes = np.unique(tasks, return_inverse=True)
        rng = check_random_state(self.random_state)
        folds = np.full(len(codes), -1)
        offset = 0  # rotate so that the remainders of small tasks spread over the folds
        for t in range(codes.max(initial=-1) + 1):
            rows = np.flatnonzero(codes == t)
            if len(rows) < 2:
                continue
            if self.shuffle:
                rows = rng.permutation(rows)
            folds[rows] = (offset + np.arange(len(rows))) % self.n_splits
            offset = (offset + len(rows)) % self.n_splits
        return folds


def default_cv(estimator, y=None, n_splits=5):
    """Task-stratified folds in the per-task layout; with a shared design, stratified
    K-fold for a classifier with one task (1-D ``y``), plain K-fold otherwise."""
    if estimator.task_column is not None:
        return TaskStratifiedKFold(n_splits, task_column=estimator.task_column)
    if hasattr(estimator, "predict_proba") and y is not None and np.ndim(y) == 1:
        return StratifiedKFold(n_splits)
    return KFold(n_splits)


__all__ = ["TaskStratifiedKFold", "default_cv", "task_ids_of"]
