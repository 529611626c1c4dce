"""Input checks. This is the one module that imports scikit-learn's private API."""

from numbers import Integral

import numpy as np
import scipy.sparse as sp
from sklearn.base import _fit_context  # noqa: F401  (re-exported)
from sklearn.utils._param_validation import Interval, StrOptions  # noqa: F401
from sklearn.utils.validation import (  # noqa: F401
    _check_feature_names,
    _check_n_features,
    _check_sample_weight,
    check_array,
    validate_data,
)

from ._arrays import column_magnitude

__all__ = [
    "Interval",
    "StrOptions",
    "_fit_context",
    "check_X",
    "check_magnitudes",
    "check_targets",
    "fit_or_restore",
    "is_dask_collection",
    "resolve_task_weights",
]

_ACCEPT_SPARSE = ("csr", "csc")


def fit_or_restore(estimator, fit, *args):
    """Run ``fit(*args)``; if it raises, leave ``estimator`` exactly as it was
    (unfitted, or with its previous fit): a bad input loses nothing."""
    state = dict(vars(estimator))
    try:
        return fit(*args)
    except BaseException:
        estimator.__dict__.clear()
        estimator.__dict__.update(state)
        raise


def is_dask_collection(obj):
    """Whether ``obj`` is a Dask collection (array, DataFrame, Series), without importing
    Dask (the duck-typed test of ``dask.is_dask_collection``)."""
    return callable(getattr(obj, "__dask_graph__", None))


def _is_dataframe(X):
    return hasattr(X, "columns") and hasattr(X, "iloc")


def check_X(estimator, X, *, reset, keep_float32=False, scan=False):
    """Validate ``X``; split off the task column when ``estimator.task_column`` is set.

    Returns ``(X_features, task_ids)`` with ``task_ids=None`` in the shared layout.
    ``n_features_in_`` (and ``feature_names_in_``) describe the whole ``X`` the
    estimator receives, the task column included. ``X`` comes back in float64, or
    in float32 if it is float32 and ``keep_float32`` (see
    ``MultiTaskLinearModel._prepare``).

    One pass over the input where it can be: the features are not copied when the
    user's array can be used as it is (a float array in the shared layout; with the
    task column first or last in a float array whose rows are contiguous, the
    features are a strided view of it -- the compiled kernels read rows, and a view
    costs them about nothing while a copy costs a write of the whole array). With
    ``scan=True`` (the fit) the finiteness check is one compiled pass that also takes
    the largest magnitude of every column (:mod:`mtlreg.utils._scan`), and
    ``(X_features, task_ids, col_max)`` is returned (``col_max`` for
    :func:`check_magnitudes`; ``None`` for a sparse ``X``).
    """
    dtype = (np.float64, np.float32) if keep_float32 else np.float64
    column = estimator.task_column
    if column is None:
        _reject_text(X)
        finite = not scan or sp.issparse(X)
        X = validate_data(
            estimator, X, reset=reset, accept_sparse=_ACCEPT_SPARSE,
            dtype=dtype, ensure_min_samples=1, ensure_all_finite=finite,
        )
        return (X, None, _scan(estimator, X)) if scan else (X, None)

    name = type(estimator).__name__
    if _is_dataframe(X):
        columns = list(X.columns)
        if isinstance(column, str):
            if column not in columns:
                raise ValueError(f"task_column={column!r} is not a column of X: {columns}.")
            position = columns.index(column)
        else:
            position = _column_position(column, len(columns), name)
        _check_feature_names(estimator, X, reset=reset)
        _check_n_features(estimator, X, reset=reset)
        task_ids = X.iloc[:, position].to_numpy()
        X_rest = X.drop(columns=X.columns[position])
    else:
        if isinstance(column, str):
            raise ValueError(
                f"task_column={column!r} is a column name, which needs X to be a pandas "
                "DataFrame; pass an integer column index for arrays."
            )
        if not sp.issparse(X):
            X = np.asarray(X)
            if X.ndim != 2:
                raise ValueError(
                    f"Expected a 2D array for X, got an array of shape {X.shape}. With "
                    "task_column set, X holds the task column and the features."
                )
        _check_feature_names(estimator, X, reset=reset)
        _check_n_features(estimator, X, reset=reset)
        position = _column_position(column, X.shape[1], name)
        if sp.issparse(X):
            X = X.tocsc()
            task_ids = X[:, position].toarray().ravel()
            keep = np.delete(np.arange(X.shape[1]), position)
            X_rest = X[:, keep]
        else:
            task_ids = X[:, position]
            X_rest = _feature_columns(X, position)
    task_ids = _check_task_ids(task_ids)
    _reject_text(X_rest)
    if X_rest.shape[1] == 0:
        raise ValueError(
            f"X has no feature column besides the task column (task_column={column!r}): "
            f"{name} needs at least one feature. Check task_column, or that the "
            "features were not dropped (e.g. by a ColumnTransformer)."
        )
    X_rest = check_array(
        X_rest, accept_sparse=_ACCEPT_SPARSE, dtype=dtype, input_name="X",
        estimator=estimator, ensure_min_features=0,
        ensure_all_finite=not scan or sp.issparse(X_rest),
        # a DataFrame is copied anyway: straight to the row order the kernels read
        order="C" if _is_dataframe(X_rest) else None,
    )
    return (X_rest, task_ids, _scan(estimator, X_rest)) if scan else (X_rest, task_ids)


# Below this many entries the fit's scan of X uses NumPy (no kernel to compile on a
# first, small fit); above, one compiled pass (mtlreg.utils._scan).
_SCAN_MIN_SIZE = 1 << 20


def _scan(estimator, X):
    """Largest magnitude per column of a dense ``X``, checking in the same pass that
    every entry is finite (the error is scikit-learn's); ``None`` for a sparse ``X``
    (checked by scikit-learn already)."""
    if sp.issparse(X):
        return None
    if X.size <= _SCAN_MIN_SIZE:  # small: two NumPy passes, nothing to compile
        col_max, finite = column_magnitude(X)
    else:
        from ._scan import finite_column_max

        col_max, finite = finite_column_max(X)
    if not finite:  # scikit-learn's message ("Input X contains NaN/infinity ...")
        check_array(X, accept_sparse=_ACCEPT_SPARSE, dtype=None, input_name="X",
                    estimator=estimator, ensure_min_features=0, ensure_min_samples=0)
        raise ValueError("Input X contains NaN or infinity.")  # pragma: no cover
    return col_max


def _reject_text(X):
    """Features are numbers: text in X (even "1.5") is an error, not parsed silently."""
    if sp.issparse(X):
        return
    if _is_dataframe(X):
        objects = [c for c, dt in zip(X.columns, X.dtypes) if dt.kind in "OUS"]
        if not objects:
            return
        values = X[objects].to_numpy()
    else:
        values = np.asarray(X) if not isinstance(X, np.ndarray) else X
        if values.dtype.kind not in "OUS":
            return
    for v in values.flat:
        if isinstance(v, (str, bytes)):
            raise ValueError(
                f"X must be numeric; it holds text (e.g. {str(v)!r}). Encode text features "
                "(e.g. OneHotEncoder) or convert numbers stored as text (e.g. "
                "X.astype(float)) before fitting."
            )


def _feature_columns(X, position):
    """The features of ``X`` beside its task column at ``position``: a view when that
    column is the first or the last and the rows of a float32/float64 ``X`` are
    contiguous (the view's rows are contiguous too: what the kernels read), else a
    copy with the same row strides (:func:`_drop_column`). Nothing ever writes into it:
    the user's array is not modified."""
    if (X.dtype in (np.float64, np.float32) and X.dtype.isnative
            and X.strides[1] == X.itemsize and X.strides[0] >= X.shape[1] * X.itemsize
            and position in (0, X.shape[1] - 1)):
        return X[:, 1:] if position == 0 else X[:, :-1]
    return _drop_column(X, position)


def _drop_column(X, position):
    """``X`` without column ``position``, in one copy, in row order (the row-wise
    kernels read rows; ``np.delete`` would keep a Fortran-ordered input Fortran-ordered
    and every kernel would copy it again). The copy keeps a spare last column: its rows
    are strided exactly as those of the view beside a task column (above), so that
    the compiled kernels see one array type whatever the input's layout, and are
    compiled once (a C-ordered copy here made numba compile the row and Gram kernels
    a second time, for C-contiguous arrays: about 1 s of CPU on the first fit after
    installing, e.g. for a ``*CV`` estimator on a ``ColumnTransformer``'s
    Fortran-ordered output, whose folds are cut in C order)."""
    if X.dtype.kind not in "biuf":  # object / text: check_array converts it anyway
        return np.delete(X, position, axis=1)
    out = np.empty(X.shape, dtype=X.dtype)[:, :-1]
    out[:, :position] = X[:, :position]
    out[:, position:] = X[:, position + 1:]
    return out


def _column_position(column, n_columns, name):
    if isinstance(column, (bool, np.bool_)) or not isinstance(column, Integral):
        raise ValueError(f"task_column must be None, an int or a str; got {column!r}.")
    if not -n_columns <= column < n_columns:
        raise ValueError(
            f"task_column={column} is out of range for X with {n_columns} columns."
        )
    return int(column) % n_columns


def _check_task_ids(task_ids):
    """Task labels: all numbers (compared as numbers) or all strings (compared as text,
    so "01" != "1"). A mix of both, missing values, booleans, complex numbers and
    other objects are rejected rather than silently converted."""
    task_ids = np.asarray(task_ids)
    if task_ids.dtype.kind == "O":
        if any(v is None or (isinstance(v, float) and np.isnan(v)) for v in task_ids):
            raise ValueError("The task column contains missing values (None or NaN).")
        kinds = {_label_kind(v) for v in task_ids}
        if "other" in kinds:
            bad = next(v for v in task_ids if _label_kind(v) == "other")
            raise ValueError(
                "Task labels must be numbers or strings; the task column holds "
                f"{bad!r} of type {type(bad).__name__}."
            )
        if len(kinds) > 1:
            number = next(v for v in task_ids if _label_kind(v) == "number")
            text = next(v for v in task_ids if _label_kind(v) == "str")
            raise ValueError(
                "The task column mixes numbers and strings (e.g. "
                f"{number!r} and {text!r}): task labels must be all numbers or all "
                "strings (convert the column, e.g. with .astype(str), so that the "
                "same task always has the same label)."
            )
        task_ids = task_ids.astype(np.float64 if kinds == {"number"} else str)
    elif task_ids.dtype.kind in "cV":
        raise ValueError(
            f"Task labels must be numbers or strings; the task column has dtype "
            f"{task_ids.dtype}."
        )
    if task_ids.dtype.kind == "f" and not np.all(np.isfinite(task_ids)):
        raise ValueError("The task column contains NaN or infinite values.")
    return task_ids


def _label_kind(value):
    if isinstance(value, (Integral, float, np.floating)):
        return "number"
    if isinstance(value, str):
        return "str"
    return "other"


def check_targets(y, n_samples, *, per_task, numeric):
    """Validate ``y``: 1-D or 2-D (shared layout only), NaN allowed (missing label).

    Returns an array of shape ``(n_samples,)`` or ``(n_samples, n_tasks)``.
    """
    if y is None:
        raise ValueError("This estimator requires y to be passed, but the target y is None.")
    if sp.issparse(y):
        raise TypeError("A sparse y is not supported; pass a dense array.")
    y = _pandas_nullable_to_numpy(y) if hasattr(y, "to_numpy") else np.asarray(y)
    if numeric:
        if y.dtype.kind in "USO" and any(isinstance(v, (str, bytes)) for v in y.flat):
            example = next(v for v in y.flat if isinstance(v, (str, bytes)))
            raise ValueError(
                f"y must be numeric; got strings (e.g. {str(example)!r}). A regressor does not "
                "parse text: convert y first (e.g. y.astype(float)) if the strings are "
                "numbers."
            )
        if y.dtype.kind == "c":
            raise ValueError(f"y must be real; got complex dtype {y.dtype}.")
        if y.dtype.kind not in "biuf":
            try:
                y = y.astype(np.float64)
            except (TypeError, ValueError) as exc:
                raise ValueError(f"y must be numeric; got dtype {y.dtype}.") from exc
        y = y.astype(np.float64, copy=False)
        if np.isinf(y).any():
            raise ValueError(
                "Input y contains infinity (NaN, meaning a missing label, is allowed)."
            )
    if y.ndim == 2 and per_task:
        if y.shape[1] != 1:
            raise ValueError(
                f"With task_column set, y must be 1-D (one target per row); got shape {y.shape}."
            )
        y = y[:, 0]
    if y.ndim not in (1, 2) or y.shape[0] != n_samples:
        raise ValueError(
            f"y has shape {y.shape}: expected ({n_samples},) or ({n_samples}, n_tasks) to "
            f"match X's {n_samples} samples."
        )
    if y.ndim == 2 and y.shape[1] == 0:
        raise ValueError("y has no task (0 columns).")
    return y


# Entries beyond this magnitude are rejected: the solvers form squares, Gram matrices
# and sums over rows and features of products of entries, which overflow float64
# (max ~1.8e308) from about 1e154 on; 1e100 leaves room for n * d up to 1e100.
# Symmetrically, a feature or target whose largest non-zero magnitude is below 1e-100
# has squares near or below the smallest normal float (2.2e-308).
MAX_MAGNITUDE = 1e100
MIN_MAGNITUDE = 1e-100


def check_magnitudes(X, y=None, col_max=None):
    """Reject features and targets whose magnitude the solvers cannot square.

    ``X`` (dense or sparse, float64, finite) column by column; ``y`` (float, NaN =
    missing) as a whole. The error names the culprit and the fix (rescale).
    ``col_max``: the largest magnitude of each column when known (``check_X(...,
    scan=True)``): ``X`` is then not read again."""
    # largest |x| per column from the column maxima and minima: no copy of X
    if col_max is not None:
        pass
    elif sp.issparse(X):
        if X.nnz:
            hi = np.asarray(X.max(axis=0).todense()).ravel()
            lo = np.asarray(X.min(axis=0).todense()).ravel()
        else:
            hi = lo = np.zeros(X.shape[1])
    else:
        hi, lo = X.max(axis=0, initial=0.0), X.min(axis=0, initial=0.0)
    if col_max is None:
        col_max = np.maximum(np.abs(hi), np.abs(lo)).astype(np.float64)  # float32 X too
    big = np.flatnonzero(col_max > MAX_MAGNITUDE)
    small = np.flatnonzero((col_max > 0) & (col_max < MIN_MAGNITUDE))
    for cols, what in ((big, "above"), (small, "below")):
        if cols.size:
            bound = MAX_MAGNITUDE if what == "above" else MIN_MAGNITUDE
            raise ValueError(
                f"Feature(s) {cols[:10].tolist()} of X have entries of magnitude up to "
                f"{col_max[cols[0]]:.3g}, {what} the supported {bound:g}: squared, they "
                f"{'overflow' if what == 'above' else 'underflow'} float64. Rescale the "
                "features (e.g. with StandardScaler)."
            )
    if y is not None:
        y_max = float(np.max(np.abs(np.nan_to_num(y, nan=0.0)), initial=0.0))
        if y_max > MAX_MAGNITUDE or 0 < y_max < MIN_MAGNITUDE:
            raise ValueError(
                f"y has entries of magnitude up to {y_max:.3g}, outside the supported "
                f"range [{MIN_MAGNITUDE:g}, {MAX_MAGNITUDE:g}] (squared, they "
                f"{'overflow' if y_max > 1 else 'underflow'} float64). Rescale y, e.g. "
                "divide it by its standard deviation (see the user guide for how the "
                "solution and alpha scale with y)."
            )


def _pandas_nullable_to_numpy(y):
    """pandas targets with nullable dtypes (Int64, Float64, boolean): pd.NA -> NaN.

    Without missing values they keep their NumPy type (int64, bool, float64).
    """
    import pandas as pd

    dtypes = list(y.dtypes) if hasattr(y, "dtypes") and y.ndim == 2 else [y.dtype]
    nullable = [dt for dt in dtypes if isinstance(dt, pd.api.extensions.ExtensionDtype)
                and (pd.api.types.is_numeric_dtype(dt) or pd.api.types.is_bool_dtype(dt))]
    if not nullable:
        return y.to_numpy()
    if bool(np.asarray(y.isna()).any()):
        return y.to_numpy(dtype=np.float64, na_value=np.nan)
    if all(pd.api.types.is_bool_dtype(dt) for dt in dtypes):
        return y.to_numpy(dtype=bool)
    if all(pd.api.types.is_integer_dtype(dt) for dt in dtypes):
        return y.to_numpy(dtype=np.int64)
    return y.to_numpy(dtype=np.float64)


def resolve_task_weights(spec, tasks, n_t):
    """Task weights ``lambda_t`` from the ``task_weights`` parameter.

    ``None`` -> 1 for every task (each task's mean loss counts equally);
    ``"samples"`` -> ``T * n_t / sum(n_t)`` (each sample counts equally, same overall scale);
    an array in the order of ``tasks`` or a dict ``{task: weight}`` (missing tasks get 1).
    """
    n_tasks = len(tasks)
    if spec is None:
        return np.ones(n_tasks)
    if isinstance(spec, str):  # "samples" (other strings are rejected by the constraints)
        return n_tasks * n_t / n_t.sum()
    if isinstance(spec, dict):
        index = {_key(t): k for k, t in enumerate(tasks)}
        unknown = [key for key in spec if _key(key) not in index]
        if unknown:
            raise ValueError(
                f"task_weights names task(s) {unknown} that are not in the data; "
                f"known tasks: {np.asarray(tasks)[:20].tolist()}{' ...' if n_tasks > 20 else ''}."
            )
        weights = np.ones(n_tasks)
        for key, value in spec.items():
            weights[index[_key(key)]] = value
    else:
        try:
            weights = np.asarray(spec, dtype=np.float64)
        except (TypeError, ValueError):
            raise ValueError(
                "task_weights must be None, 'samples', an array of numbers (one per task) "
                f"or a dict {{task: weight}}; got {spec!r}."
            ) from None
        if weights.shape != (n_tasks,):
            raise ValueError(
                f"task_weights has shape {weights.shape}; expected ({n_tasks},), one "
                "weight per task in the order of tasks_."
            )
    if not np.all(np.isfinite(weights)) or np.any(weights < 0) or weights.sum() <= 0:
        raise ValueError(
            "task_weights must be finite and non-negative with a positive sum; "
            f"got {weights.tolist()[:20]}."
        )
    return weights


def _key(task):
    """Dict keys match task labels whatever their numeric type (3 == 3.0 == np.int32(3))."""
    if isinstance(task, (Integral, float, np.floating)):
        return float(task)
    return str(task)
