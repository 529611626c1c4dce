"""The ``*CV`` estimators from Dask collections (squared loss): per-fold statistics.

One pass over the partitions computes, for every fold of the default splitter (the
same folds as in memory: :class:`~mtlreg.model_selection.TaskStratifiedKFold` in the
per-task layout, ``KFold`` on a shared design), the per-task sufficient statistics of
its rows (:mod:`mtlreg._tasks.statistics`). In the per-task layout a first pass counts the
rows of every task per partition, so that each partition knows where its rows fall
in the folds (two passes in all: ``persist()`` the data first if it is read from
storage); on a shared design the chunk sizes suffice. The model chosen is refitted
on the merged statistics of all the folds (no further pass).
The training statistics of a fold are the exact merge of the other folds'; every
fold's path then runs on ``T (d + 1)^2`` numbers, as a fit from Dask does, and its
test loss (the weighted mean squared error over the labelled entries, as in memory)
comes from the test fold's statistics:

    sum_{i in t} s_i (y_i - x_i w_t - b_t)^2
        = Cyy_t - 2 w_t . Cxy_t + w_t^T Cxx_t w_t + n_t (my_t - mx_t . w_t - b_t)^2.

Imported only for Dask input (as :mod:`mtlreg._dask.fit`).
"""

from dataclasses import dataclass

import dask
import numpy as np

from .._tasks.statistics import Statistics, merge_statistics, per_task_block_statistics, shared_block_statistics
from .fit import _check_columns, _check_size, _per_task_blocks, _shared_blocks, _task_position, _to_array, _tree_reduce


@dataclass
class Prepared:
    """Sufficient statistics standing in for ``X`` in ``_prepare`` (``y`` is None)."""

    stats: Statistics
    kind: str  # "shared" or "blocks"
    y_ndim: int

    _mtlreg_prepared = True


def prepare_folds(estimator, X, y, sample_weight, n_splits):
    """``(all_data, [(train_k, test_k)])``: a :class:`Prepared` of all the rows and,
    per fold, the :class:`Prepared` training part and the test :class:`Statistics`."""
    n_columns = _check_columns(estimator, X, True)
    if estimator.task_column is None:
        _check_size(n_columns)
        blocks, y_ndim = _shared_blocks(X, y, sample_weight)
        kind = "shared"
        X = _to_array(X, "X")
        if any(np.isnan(c) for c in X.chunks[0]):
            X = X.compute_chunk_sizes()
        sizes = np.asarray(X.chunks[0], dtype=np.int64)  # rows per block, known
        n = int(sum(sizes))
        if n_splits > n:
            raise ValueError(f"Cannot have number of splits n_splits={n_splits} greater "
                             f"than the number of samples: n_samples={n}.")
        starts = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)
        infos = [("shared", int(s), n) for s in starts]
    else:
        _check_size(n_columns - 1)
        blocks = _per_task_blocks(X, y, sample_weight, _task_position(estimator, X))
        y_ndim, kind = 1, "blocks"
        counts = dask.compute(*[dask.delayed(_task_counts)(b) for b in blocks])
        infos = _task_fold_offsets(counts, n_splits)
    per_block = [dask.delayed(_fold_statistics, pure=True, nout=n_splits + 1)(
        b, info, n_splits, kind) for b, info in zip(blocks, infos)]
    folds = dask.compute(*[_tree_reduce([dask.delayed(_pick)(p, k) for p in per_block])
                           for k in range(n_splits + 1)])
    folds = list(folds)  # folds[0]: rows never in a test fold; folds[k + 1]: test fold k
    total = merge_statistics(folds)
    if total.n_rows == 0:
        raise ValueError("Found array with 0 sample(s) while a minimum of 1 is required.")
    jobs = []
    for k in range(n_splits):
        train = merge_statistics([f for j, f in enumerate(folds) if j != k + 1])
        jobs.append((Prepared(train, kind, y_ndim), folds[k + 1]))
    return Prepared(total, kind, y_ndim), jobs


def _pick(parts, k):
    return parts[k]


def _task_counts(block):
    labels, counts = np.unique(block[1], return_counts=True)
    return labels, counts


def _task_fold_offsets(counts, n_splits):
    """Per partition: ``("blocks", labels, first, offset, n_t)`` -- for each task label
    of the data, the number of its rows in the earlier partitions (``first``), its
    fold offset and its row count, as :class:`TaskStratifiedKFold` deals rows:
    round-robin per task in data order, the offset rotating by each task's count
    (tasks in sorted order, tasks of one row never in a test fold)."""
    labels = np.unique(np.concatenate([c[0] for c in counts if len(c[0])]))
    totals = np.zeros(len(labels), dtype=np.int64)
    before = []
    for lab, cnt in counts:
        before.append(totals.copy())
        if len(lab):
            totals[np.searchsorted(labels, lab)] += cnt
    if n_splits > totals.sum():
        raise ValueError(f"Cannot have number of splits n_splits={n_splits} greater than "
                         f"the number of samples: n_samples={int(totals.sum())}.")
    dealt = np.where(totals >= 2, totals, 0)
    offsets = (np.concatenate([[0], np.cumsum(dealt)[:-1]]) % n_splits).astype(np.int64)
    return [("blocks", labels, first, offsets, totals) for first in before]


def _fold_statistics(block, info, n_splits, kind):
    """The statistics of this partition's rows, one per fold (index 0: never tested)."""
    features, task_ids, y, s = block
    m = features.shape[0]
    if kind == "shared":
        start, n = info[1], info[2]
        rows = start + np.arange(m)
        size, extra = divmod(n, n_splits)  # KFold: the first n % k folds one row longer
        edge = extra * (size + 1)
        fold = np.where(rows < edge, rows // (size + 1),
                        extra + (rows - edge) // max(size, 1))
    else:
        _, labels, first, offsets, totals = info
        t = np.searchsorted(labels, task_ids)
        order = np.argsort(t, kind="stable")  # occurrence of each row within its task
        starts = np.searchsorted(t[order], np.arange(len(labels) + 1))
        occurrence = np.empty(m, dtype=np.int64)
        occurrence[order] = np.arange(m) - np.repeat(starts[:-1], np.diff(starts))
        fold = (offsets[t] + first[t] + occurrence) % n_splits
        fold = np.where(totals[t] >= 2, fold, -1)
    out = []
    for k in range(-1, n_splits):
        rows = np.flatnonzero(fold == k)
        yk = y[rows]
        sk = None if s is None else s[rows]
        if kind == "shared":
            out.append(shared_block_statistics(features[rows], yk, sk))
        else:
            out.append(per_task_block_statistics(features[rows], task_ids[rows], yk, sk))
    return tuple(out)


def test_losses(path, test, grids):
    """Test loss of every solution of ``path`` (fitted on a fold's training statistics by
    the caller, :mod:`mtlreg.linear_model._cv`) on the ``test`` statistics."""
    pos = np.searchsorted(path.tasks, test.labels)
    seen = test.n > 0
    if np.any(seen & ((pos >= len(path.tasks))
                      | (path.tasks[np.minimum(pos, len(path.tasks) - 1)] != test.labels))):
        raise ValueError("A test fold holds a task its training fold lacks.")
    pos, n, mx, my = pos[seen], test.n[seen], test.mx[seen], test.my[seen]
    cxx, cxy, cyy = test.cxx[seen], test.cxy[seen], test.cyy[seen]
    losses = np.empty(grids.shape)
    for g in range(grids.shape[0]):
        for a in range(grids.shape[1]):
            W = path.coefs[g, a][pos]  # (T_test, d)
            b = path.intercepts[g, a][pos]
            sse = (cyy - 2 * np.einsum("tj,tj->t", W, cxy)
                   + np.einsum("tj,tjk,tk->t", W, cxx, W)
                   + n * (my - np.einsum("tj,tj->t", mx, W) - b) ** 2)
            losses[g, a] = float(sse.sum() / max(n.sum(), np.finfo(float).tiny))
    return losses
