"""Fits and predictions from Dask collections; imported only when the input is one.

What is computed where:

* on the workers, one task per partition: the per-task sufficient statistics of the
  squared loss (:mod:`mtlreg._tasks.statistics`: weighted counts, means, centred
  ``X_t^T X_t``, ``X_t^T y_t``, ``y_t^T y_t``), then a tree reduction that merges
  them (exact pairwise update, fan-in ``_FAN_IN``). The rows never leave the worker
  that holds them; what travels is ``O(tasks in the partition x n_features^2)``.
* on the client: the merged statistics (``T (d+1)^2`` numbers), from which the
  same per-task Gram matrices as the in-memory fit are formed, and the same
  solvers run on them (:class:`mtlreg.datafits.GramQuadratic`).

For the other losses (logistic, softmax, Poisson, Huber) the statistics pass gives the
weights, the centring and the step size (and the classes: one pass over the targets
first); the solve then makes one pass per evaluation (:mod:`mtlreg._dask.rows`).
``predict`` maps the fitted coefficients over the partitions: a lazy result.
"""

import dask
import numpy as np
import scipy.sparse as sp

from .._tasks.layout import rowwise_predict, task_codes
from .._tasks.statistics import (
    TaskStatistics,
    merge_statistics,
    per_task_block_statistics,
    shared_block_statistics,
)
from ..utils.validation import _check_feature_names, _check_task_ids

_FAN_IN = 8
# The statistics hold (d + 1)^2 numbers per task and the solvers factor (d+1) x (d+1)
# matrices: a fit from Dask needs a moderate number of features.
_MAX_FEATURES = 4000


def _is_dataframe(X):
    return hasattr(X, "columns") and hasattr(X, "map_partitions")


def _to_array(obj, name):
    """A Dask array from a Dask array / Series / DataFrame (lengths computed if unknown)."""
    if hasattr(obj, "to_dask_array"):
        return obj.to_dask_array(lengths=True)
    if hasattr(obj, "__dask_graph__"):
        return obj
    raise TypeError(f"{name} must be a Dask collection like X; got {type(obj).__name__}.")


def _task_position(estimator, X):
    column = estimator.task_column
    columns = list(X.columns) if _is_dataframe(X) else None
    if isinstance(column, str):
        if columns is None:
            raise ValueError(f"task_column={column!r} is a column name, which needs X to be "
                             "a (Dask) DataFrame; pass an integer column index for arrays.")
        if column not in columns:
            raise ValueError(f"task_column={column!r} is not a column of X: {columns}.")
        return columns.index(column)
    n_columns = len(columns) if columns is not None else X.shape[1]
    if not -n_columns <= column < n_columns:
        raise ValueError(f"task_column={column} is out of range for X with {n_columns} columns.")
    return int(column) % n_columns


def _check_columns(estimator, X, reset):
    # a Dask DataFrame's (empty pandas) meta carries the column names
    _check_feature_names(estimator, X._meta if _is_dataframe(X) else X, reset=reset)
    n_columns = len(X.columns) if _is_dataframe(X) else X.shape[1]
    if reset:
        estimator.n_features_in_ = n_columns
    elif n_columns != estimator.n_features_in_:
        raise ValueError(f"X has {n_columns} features, but {type(estimator).__name__} is "
                         f"expecting {estimator.n_features_in_} features as input.")
    return n_columns


# ------------------------------------------------------------------ fit
def fit_statistics(estimator, X, y, sample_weight, *, reset=True):
    """``(layout, tasks, y_ndim, blocks)``: the statistics layout of a fit from Dask
    input, and the delayed row blocks (for the losses that need more passes)."""
    stats, kind, y_ndim, blocks = task_statistics(estimator, X, y, sample_weight, reset=reset)
    layout = TaskStatistics(stats, kind, estimator.task_weights, estimator.fit_intercept)
    return layout, stats.labels, y_ndim, blocks


def task_statistics(estimator, X, y, sample_weight, *, reset=True):
    """``(stats, kind, y_ndim, blocks)``: the per-task statistics of Dask input, computed
    partition by partition and merged (:mod:`mtlreg._tasks.statistics`), the layout kind
    (``"shared"`` or ``"blocks"``) and the delayed row blocks."""
    if not hasattr(X, "__dask_graph__"):
        raise TypeError("With a Dask y, X must be a Dask collection too; got "
                        f"{type(X).__name__}.")
    if y is None:
        raise ValueError("This estimator requires y to be passed, but the target y is None.")
    n_columns = _check_columns(estimator, X, reset)
    if estimator.task_column is None:
        _check_size(n_columns)
        blocks, y_ndim = _shared_blocks(X, y, sample_weight)
        layout = "shared"
    else:
        _check_size(n_columns - 1)
        blocks = _per_task_blocks(X, y, sample_weight, _task_position(estimator, X))
        y_ndim, layout = 1, "blocks"
    loss = getattr(estimator, "_loss", "squared")
    classes = _classes(estimator, blocks) if loss == "logistic" else None
    stat = dask.delayed(_block_statistics, pure=True)
    (stats,) = dask.compute(_tree_reduce([stat(b, classes, loss) for b in blocks]))
    if stats.n_rows == 0:
        raise ValueError("Found array with 0 sample(s) while a minimum of 1 is required.")
    return stats, layout, y_ndim, blocks


def _check_size(n_features):
    if n_features > _MAX_FEATURES:
        raise ValueError(
            f"X has {n_features} features: a fit from Dask works on per-task Gram matrices "
            f"((n_features + 1)^2 numbers per task), limited to {_MAX_FEATURES} features. "
            "Reduce the features first, or fit in memory on a sample."
        )


def _tree_reduce(parts, merge=merge_statistics):
    merge = dask.delayed(merge, pure=True)
    while len(parts) > 1:
        parts = [merge(parts[i:i + _FAN_IN]) for i in range(0, len(parts), _FAN_IN)]
    return parts[0]


def _block_statistics(block, classes, loss="squared"):
    features, task_ids, y, s = block
    y = class_codes(y, classes)
    if loss == "poisson" and np.any(y[~np.isnan(y)] < 0):
        negative = y[y < 0]
        raise ValueError(
            f"loss='poisson' needs non-negative targets y (counts); y has {len(negative)} "
            f"negative value(s) in a partition, e.g. {float(negative[0])!r}.")
    if task_ids is None:
        return shared_block_statistics(features, y, s)
    return per_task_block_statistics(features, task_ids, y, s)


def class_codes(y, classes):
    """``y`` as floats (``classes=None``), else the position of each label in
    ``classes`` (0 .. K-1; for two classes 1.0 is ``classes[1]``), NaN where missing."""
    if classes is None:
        return np.asarray(y, dtype=np.float64)
    y = np.asarray(y)
    missing = _missing(y)
    codes = np.full(y.shape, np.nan)
    codes[~missing] = np.searchsorted(classes, y[~missing])
    return codes


def _missing(y):
    if y.dtype.kind == "f":
        return np.isnan(y)
    if y.dtype.kind == "O":
        return np.array([v is None or (isinstance(v, float) and np.isnan(v))
                         for v in y.ravel()], dtype=bool).reshape(y.shape)
    return np.zeros(y.shape, dtype=bool)


def _classes(estimator, blocks):
    """The classes of a classifier's ``y``: the union over the partitions (one pass
    over the targets only); sets ``classes_`` and the number of classes fitted."""
    uniq = dask.delayed(_classes_of, pure=True)
    classes = dask.compute(_tree_reduce([uniq(b) for b in blocks], _union))[0]
    name = type(estimator).__name__
    if len(classes) < 2:
        raise ValueError(f"{name} needs samples of two classes; only one class "
                         f"({list(classes)}) is present in y.")
    if len(classes) > 2 and not getattr(estimator, "_multiclass", False):
        raise ValueError(f"{name} fits binary tasks only (two classes overall); y has "
                         f"{len(classes)} classes: {list(classes)[:10]}.")
    estimator.classes_ = classes
    estimator._n_classes = len(classes)
    return classes


def _classes_of(block):
    y = np.asarray(block[2])
    return np.unique(y[~_missing(y)])


def _union(parts):
    return np.unique(np.concatenate(parts))


def _aligned_blocks(obj, chunks, name, n_rows):
    """Delayed row blocks of ``obj`` (Dask, or in-memory of length ``n_rows``) chunked
    along the rows as ``chunks``."""
    import dask.array as da

    if obj is None:
        return [None] * len(chunks)
    if hasattr(obj, "__dask_graph__"):
        arr = _to_array(obj, name)
    else:
        arr = np.asarray(obj)
        if arr.shape[0] != n_rows:
            raise ValueError(f"{name} has {arr.shape[0]} rows; X has {n_rows}.")
        arr = da.from_array(arr, chunks=(chunks,) + arr.shape[1:])
    if arr.shape[0] != n_rows:
        raise ValueError(f"{name} has {arr.shape[0]} rows; X has {n_rows}.")
    arr = arr.rechunk((chunks,) + tuple((s,) for s in arr.shape[1:]))
    return list(arr.to_delayed().ravel())


def _shared_blocks(X, y, sample_weight):
    X = _to_array(X, "X")
    if X.ndim != 2:
        raise ValueError(f"Expected a 2D array for X, got shape {X.shape}.")
    if any(np.isnan(c) for c in X.chunks[0]):
        X = X.compute_chunk_sizes()
    X = X.rechunk({1: -1})
    n = X.shape[0]
    y_ndim = len(y.shape) if hasattr(y, "shape") else np.ndim(y)
    if y_ndim not in (1, 2):
        raise ValueError(f"y must be 1-D or 2-D; got {y_ndim} dimensions.")
    Xb = list(X.to_delayed().ravel())
    Yb = _aligned_blocks(y, X.chunks[0], "y", n)
    Sb = _aligned_blocks(sample_weight, X.chunks[0], "sample_weight", n)
    unpack = dask.delayed(_unpack_shared, pure=True, nout=4)
    return [unpack(xb, yb, sb) for xb, yb, sb in zip(Xb, Yb, Sb)], y_ndim


def _unpack_shared(X, y, s):
    y = np.asarray(y)
    return X, None, y.reshape(X.shape[0], -1), _weights(s)


def _weights(s):
    return None if s is None else np.asarray(s, dtype=np.float64).ravel()


def _per_task_blocks(X, y, sample_weight, position):
    if _is_dataframe(X):
        n_parts = X.npartitions
        Yb = _partitions(y, n_parts, "y")
        Sb = _partitions(sample_weight, n_parts, "sample_weight")
        if _is_series(y) and (sample_weight is None or _is_series(sample_weight)):
            # one frame, so that each partition is read (or generated) once, not once
            # for X and again for y and for the weights
            extra = {_Y: y} if sample_weight is None else {_Y: y, _W: sample_weight}
            unpack = dask.delayed(_unpack_packed, pure=True, nout=4)
            return [unpack(part, position) for part in X.assign(**extra).to_delayed()]
        Xb = list(X.to_delayed())
    else:
        X = X.rechunk({1: -1})
        Xb = list(X.to_delayed().ravel())
        Yb = _aligned_blocks(y, X.chunks[0], "y", X.shape[0])
        Sb = _aligned_blocks(sample_weight, X.chunks[0], "sample_weight", X.shape[0])
    unpack = dask.delayed(_unpack_per_task, pure=True, nout=4)
    return [unpack(xb, yb, sb, position) for xb, yb, sb in zip(Xb, Yb, Sb)]


def _partitions(obj, n_parts, name):
    """Delayed partitions of a Dask Series / DataFrame / array partitioned like X."""
    if obj is None:
        return [None] * n_parts
    if not hasattr(obj, "__dask_graph__"):
        raise TypeError(
            f"With X a Dask DataFrame, {name} must be a Dask Series (or array) with the "
            f"same partitions as X (e.g. a column of the same DataFrame); got "
            f"{type(obj).__name__}."
        )
    parts = obj.to_delayed()
    parts = list(np.asarray(parts, dtype=object).ravel()) if not isinstance(parts, list) \
        else parts
    if len(parts) != n_parts:
        raise ValueError(f"{name} has {len(parts)} partitions but X has {n_parts}: they "
                         "must be partitioned alike (row by row).")
    return parts


def _split_task_column(block, position):
    """``(features, task_ids)`` of one partition (pandas DataFrame, ndarray, sparse);
    float32 features stay float32 (the statistics are accumulated in float64)."""
    if hasattr(block, "iloc"):
        task_ids = block.iloc[:, position].to_numpy()
        rest = block.drop(columns=block.columns[position])
        features = rest.to_numpy() if rest.shape[1] else np.empty((len(block), 0))
    elif sp.issparse(block):
        block = sp.csc_matrix(block)
        task_ids = block[:, position].toarray().ravel()
        keep = np.delete(np.arange(block.shape[1]), position)
        features = sp.csr_matrix(block[:, keep])
    else:
        block = np.asarray(block)
        task_ids = block[:, position]
        features = np.delete(block, position, axis=1)
    if features.dtype not in (np.float32, np.float64):
        features = features.astype(np.float64)
    return features, _check_task_ids(task_ids)


_Y, _W = "__mtlreg_target__", "__mtlreg_sample_weight__"


def _is_series(obj):
    return hasattr(obj, "to_frame") and hasattr(obj, "map_partitions")


def _unpack_packed(block, position):
    y = block[_Y].to_numpy()
    s = block[_W].to_numpy(dtype=np.float64, na_value=np.nan) if _W in block.columns else None
    block = block.drop(columns=[c for c in (_Y, _W) if c in block.columns])
    return _unpack_per_task(block, y, s, position)


def _unpack_per_task(block, y, s, position):
    features, task_ids = _split_task_column(block, position)
    y = y.to_numpy() if hasattr(y, "to_numpy") else np.asarray(y)
    return features, task_ids, y.ravel(), _weights(s)


def offset_blocks(estimator, X, offset, n_blocks):
    """Delayed blocks of ``offset`` row-aligned with the blocks of ``X`` (checked as
    ``sample_weight``: a Dask collection partitioned like a DataFrame ``X``; with a Dask
    array ``X`` also an in-memory array, chunked like it)."""
    if offset is None:
        return None
    if _is_dataframe(X):
        return _partitions(offset, n_blocks, "offset")
    X = _to_array(X, "X")
    if any(np.isnan(c) for c in X.chunks[0]):
        X = X.compute_chunk_sizes()
    return _aligned_blocks(offset, X.chunks[0], "offset", X.shape[0])


# -------------------------------------------------------------- predict
def decision(estimator, X):
    """Lazy ``X W + b`` (shared layout) or ``x_i . w_t(i) + b_t(i)`` (per-task layout)."""
    _check_columns(estimator, X, reset=False)
    coef = np.ascontiguousarray(estimator.coef_, dtype=np.float64)
    intercept = np.asarray(estimator.intercept_, dtype=np.float64)
    if estimator.task_column is None:
        X = _to_array(X, "X").rechunk({1: -1})
        if estimator._y_ndim == 1:
            return X.map_blocks(_predict_shared, coef, intercept, True, dtype=np.float64,
                                drop_axis=1)
        return X.map_blocks(_predict_shared, coef, intercept, False, dtype=np.float64,
                            chunks=(X.chunks[0], (coef.shape[0],)))
    position = _task_position(estimator, X)
    # unseen tasks: an error when a partition is computed, or with unseen_tasks="shared"
    # the shared model, appended as row len(tasks_) (as in memory, _base._decision)
    unseen = (getattr(estimator, "unseen_tasks", "error"), estimator._unseen_hint())
    if unseen[0] == "shared":
        w, b = estimator._shared_model()
        coef, intercept = np.vstack([coef, w]), np.append(intercept, b)
    tasks = estimator.tasks_
    if _is_dataframe(X):
        import pandas as pd

        return X.map_partitions(_predict_partition, position, tasks, coef, intercept, unseen,
                                meta=pd.Series([], dtype=np.float64))
    X = X.rechunk({1: -1})
    return X.map_blocks(_predict_rows, position, tasks, coef, intercept, unseen,
                        dtype=np.float64, drop_axis=1)


def map_result(Z, fn, *args, ndim_out=None, drop_last=False, dtype=np.float64):
    """``fn(block, *args)`` on every block of a lazy decision ``Z`` (a Dask array, 1-D to
    3-D, a Dask Series, or the Dask DataFrame of a multiclass fit's scores);
    ``ndim_out=2`` for a 1-D ``Z`` mapped to 2 columns, ``drop_last`` for a map that
    drops the last axis (the class of each row)."""
    if _is_series(Z) or _is_dataframe(Z):
        import pandas as pd

        def on_partition(part):
            out = fn(part.to_numpy(), *args)
            if out.ndim == 1:
                return pd.Series(out, index=part.index)
            return pd.DataFrame(out, index=part.index)

        meta = fn(np.zeros((1,) + tuple(Z._meta.shape[1:])), *args)
        meta = (pd.Series(meta[:0]) if meta.ndim == 1 else pd.DataFrame(meta[:0]))
        return Z.map_partitions(on_partition, meta=meta)
    if ndim_out == 2 and Z.ndim == 1:
        return Z.map_blocks(fn, *args, dtype=dtype, new_axis=1, chunks=(Z.chunks[0], (2,)))
    if drop_last:
        return Z.map_blocks(fn, *args, dtype=dtype, drop_axis=Z.ndim - 1)
    return Z.map_blocks(fn, *args, dtype=dtype)


def decision_classes(estimator, X):
    """Lazy scores ``x . w_tk + b_tk`` of a fit with ``K > 2`` classes: ``(n, K)`` in the
    per-task layout (a Dask DataFrame with ``K`` columns for a DataFrame ``X``) or for a
    1-D fit ``y``, ``(n, n_tasks, K)`` in the shared layout with a 2-D ``y``."""
    _check_columns(estimator, X, reset=False)
    coef = np.ascontiguousarray(estimator.coef_, dtype=np.float64)  # (T, K, d)
    intercept = np.asarray(estimator.intercept_, dtype=np.float64)  # (T, K)
    T, K, d = coef.shape
    if estimator.task_column is None:
        X = _to_array(X, "X").rechunk({1: -1})
        flat, b = coef.reshape(T * K, d), intercept.ravel()
        if estimator._y_ndim == 1:
            return X.map_blocks(_scores_shared, flat, b, (K,), dtype=np.float64,
                                chunks=(X.chunks[0], (K,)))
        return X.map_blocks(_scores_shared, flat, b, (T, K), dtype=np.float64, new_axis=2,
                            chunks=(X.chunks[0], (T,), (K,)))
    position = _task_position(estimator, X)
    unseen = (getattr(estimator, "unseen_tasks", "error"), estimator._unseen_hint())
    if unseen[0] == "shared":  # the shared model per class, row len(tasks_)
        w, b = estimator._shared_model()
        coef, intercept = np.concatenate([coef, w[None]]), np.vstack([intercept, b])
    tasks = estimator.tasks_
    if _is_dataframe(X):
        import pandas as pd

        meta = pd.DataFrame({k: pd.Series([], dtype=np.float64) for k in range(K)})
        return X.map_partitions(_scores_partition, position, tasks, coef, intercept, unseen,
                                meta=meta)
    X = X.rechunk({1: -1})
    return X.map_blocks(_scores_rows, position, tasks, coef, intercept, unseen,
                        dtype=np.float64, chunks=(X.chunks[0], (K,)))


def _scores_shared(block, coef, intercept, shape):
    Z = np.asarray(block @ coef.T) + intercept
    return Z.reshape((Z.shape[0],) + shape)


def _scores_rows(block, position, tasks, coef, intercept, unseen):
    features, task_ids = _split_task_column(block, position)
    features = features.astype(np.float64, copy=False)
    codes = task_codes(tasks, task_ids, *unseen)
    return np.column_stack([rowwise_predict(features, codes, coef[:, k, :], intercept[:, k])
                            for k in range(coef.shape[1])]).reshape(len(codes), -1)


def _scores_partition(block, position, tasks, coef, intercept, unseen):
    import pandas as pd

    return pd.DataFrame(_scores_rows(block, position, tasks, coef, intercept, unseen),
                        index=block.index)


def poisson_mean(Z, offset):
    """The lazy mean ``exp(Z + offset)`` of a Poisson model's decision ``Z`` on Dask input;
    ``offset`` a Dask collection partitioned like ``X`` (added partition by partition,
    by position), ``(n_samples,)`` or, in the shared layout, ``Z``'s shape."""
    if offset is None:
        return map_result(Z, np.exp)
    if not hasattr(offset, "__dask_graph__"):
        raise TypeError("With X a Dask collection, offset must be a Dask collection "
                        f"partitioned like X; got {type(offset).__name__}.")
    if _is_series(Z):
        import dask.dataframe as dd

        add = dask.delayed(_exp_add_partition, pure=True)
        parts = _partitions(offset, Z.npartitions, "offset")
        return dd.from_delayed([add(z, o) for z, o in zip(Z.to_delayed(), parts)],
                               meta=Z._meta, verify_meta=False)
    off = _to_array(offset, "offset")
    if off.shape[0] != Z.shape[0] or not (off.ndim == 1 or off.shape == Z.shape):
        raise ValueError(f"offset has shape {off.shape}: expected ({Z.shape[0]},)"
                         + (f" or {Z.shape}" if Z.ndim == 2 else "") + ".")
    off = off.rechunk((Z.chunks[0],) + tuple((s,) for s in off.shape[1:]))
    if off.ndim == 1 and Z.ndim == 2:
        off = off[:, None]
    return np.exp(Z + off)


def _exp_add_partition(z, o):
    import pandas as pd

    o = np.asarray(o.to_numpy() if hasattr(o, "to_numpy") else o, dtype=np.float64).ravel()
    if o.shape != (len(z),):
        raise ValueError(f"offset has a partition of {o.shape[0]} rows where X has {len(z)}: "
                         "offset must be partitioned like X.")
    return pd.Series(np.exp(z.to_numpy() + o), index=z.index, dtype=np.float64)


def _predict_shared(block, coef, intercept, ravel):
    Z = np.asarray(block @ coef.T) + intercept
    return Z.ravel() if ravel else Z


def _predict_rows(block, position, tasks, coef, intercept, unseen=("error", "")):
    features, task_ids = _split_task_column(block, position)
    features = features.astype(np.float64, copy=False)
    return rowwise_predict(features, task_codes(tasks, task_ids, *unseen), coef, intercept)


def _predict_partition(block, position, tasks, coef, intercept, unseen=("error", "")):
    import pandas as pd

    return pd.Series(_predict_rows(block, position, tasks, coef, intercept, unseen),
                     index=block.index, dtype=np.float64)


__all__ = ["class_codes", "decision", "decision_classes", "fit_statistics", "map_result", "offset_blocks",
           "poisson_mean"]
