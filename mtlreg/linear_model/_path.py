"""Regularization paths with warm starts, for every estimator of the family."""

import warnings
from dataclasses import dataclass, field
from numbers import Integral, Real

import numpy as np
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning


@dataclass
class RegularizationPath:
    """Solutions along a grid of ``alpha`` (and optionally of a second parameter).

    Shapes use ``G`` for the number of values of the second parameter (1 when
    there is none) and ``A`` for the number of alphas.
    """

    alphas: np.ndarray  # (G, A): alphas are per second-parameter value
    second_name: str | None
    second_values: np.ndarray  # (G,)
    coefs: np.ndarray  # (G, A, n_tasks, n_features); (G, A, n_tasks, K, n_features) for K > 2
    intercepts: np.ndarray  # (G, A, n_tasks); (G, A, n_tasks, K) for K > 2 classes
    stop_crits: np.ndarray  # (G, A) optimality measure at each solution
    n_iters: np.ndarray  # (G, A)
    tol_abs: float  # what stop_crits are compared with
    tasks: np.ndarray
    extra: dict = field(default_factory=dict)  # e.g. dirty model parts


def alpha_grid(estimator, X, y, *, sample_weight=None, offset=None, n_alphas=30, eps=1e-3,
               **params):
    """Geometric grid from ``alpha_max`` down to ``eps * alpha_max`` (``n_alphas`` values).

    ``offset`` (``loss="poisson"`` only) as for ``estimator.fit``: ``alpha_max`` is that
    of the data with this offset.

    For quadratic penalties (mean-regularized, independent ridge), which never
    zero ``W``, the grid runs from 100 times the largest curvature of the data
    term (nearly pooled task vectors, or nearly zero ones) down to ``eps**2``
    times that.
    """
    est = _checked_estimator(estimator, params)
    _check_grid_args(None, n_alphas, eps)
    est._offset = offset  # read by the datafit (MultiTaskLinearModel._loss_datafit)
    layout, datafit, _ = est._prepare(X, y, sample_weight)
    G0 = est._null_model(layout, datafit)[2]
    return _grid(est, datafit, G0, n_alphas, eps)


def _grid(est, datafit, G0, n_alphas, eps):
    top = est._make_penalty().alpha_max(G0)
    bottom_ratio = eps
    if not np.isfinite(top):  # quadratic penalties: no alpha zeroes W
        top = 100.0 * datafit.lipschitz()
        bottom_ratio = eps**2  # down to 1e-4 times the curvature with the default eps
    top = max(top, np.finfo(float).tiny)
    return np.geomspace(top, top * bottom_ratio, n_alphas)


def regularization_path(estimator, X, y, *, sample_weight=None, offset=None, alphas=None,
                        n_alphas=30, eps=1e-3, second=None, verbose=0):
    """Fit ``estimator`` along a grid of ``alpha`` with warm starts.

    The data are validated and laid out once; each solution starts from the
    previous one (decreasing ``alpha``), which is much cheaper than cold fits.

    Parameters
    ----------
    estimator : an mtlreg estimator (unfitted; its other parameters are used as set).
    X, y, sample_weight, offset : as for ``estimator.fit`` (``offset``: ``loss="poisson"``
        only, the grid's ``alpha_max`` then computed with it).
    alphas : array-like of shape (n_alphas,) or (n_second_values, n_alphas), optional
        Explicit grid (sorted decreasingly; one row per value of the second
        parameter if 2-D); by default ``n_alphas`` values from ``alpha_max`` down
        to ``eps * alpha_max``.
    second : (str, array-like), optional
        A second parameter and its values, e.g. ``("beta", [0.1, 1.0])`` for the
        dirty model or ``("l1_ratio", [0.2, 0.8])`` for the sparse group lasso:
        one alpha path per value (``alpha_max`` recomputed for each).
    verbose : int
        Print one line per solution.

    Returns
    -------
    RegularizationPath
    """
    est = _checked_estimator(estimator)
    name, values = (None, [None]) if second is None else _check_second(est, second)
    alphas = _check_grid_args(alphas, n_alphas, eps, len(values))
    est._offset = offset  # read by the datafit (MultiTaskLinearModel._loss_datafit)
    layout, datafit, tasks = est._prepare(X, y, sample_weight)
    W_null, b_null, G0 = est._null_model(layout, datafit)
    scale = float(np.max(np.abs(G0), initial=0.0))

    grids, coefs, intercepts, crits, iters, parts = [], [], [], [], [], []
    n_unconverged = 0
    W, b = W_null, b_null
    for g, value in enumerate(values):
        if name is not None:
            est.set_params(**{name: value})
        grid = alphas[g] if alphas is not None else _grid(est, datafit, G0, n_alphas, eps)
        if g > 0 and est._make_penalty().alpha_max(G0) != np.inf:
            W, b = W_null, b_null  # each alpha path starts from W = 0 at alpha_max
        grids.append(grid)
        row = ([], [], [], [], [])
        for alpha in grid:
            est.set_params(alpha=float(alpha))
            result = est._solve(layout, datafit, est._make_penalty(), W, b, scale)
            W, b = result.W, result.b
            coef = est._model_coef(W)
            row[0].append(coef.T.copy())
            row[1].append(layout.uncentre_intercept(coef, b) if est.fit_intercept
                          else np.zeros(layout.n_tasks))
            row[2].append(result.stop_crit)
            row[3].append(result.n_iter)
            row[4].append(W.copy())
            n_unconverged += not result.converged
            if verbose:
                label = "" if name is None else f"{name}={value:.4g} "
                print(f"[path] {label}alpha={alpha:.4g}  iterations {result.n_iter:5d}  "
                      f"optimality {result.stop_crit:.2e}")
        for store, values_ in zip((coefs, intercepts, crits, iters, parts), row):
            store.append(values_)
    if n_unconverged:
        warnings.warn(
            f"{n_unconverged} of {len(values) * len(grids[0])} solutions of the path did "
            "not reach tol within max_iter.",
            ConvergenceWarning,
        )
    coefs, intercepts = np.asarray(coefs), np.asarray(intercepts)
    if hasattr(est, "_path_arrays"):  # K > 2 classes: per task and class, as coef_
        coefs, intercepts = est._path_arrays(coefs, intercepts)
    return RegularizationPath(
        alphas=np.asarray(grids), second_name=name,
        second_values=np.asarray(values, dtype=object if name is None else float),
        coefs=coefs, intercepts=intercepts,
        stop_crits=np.asarray(crits), n_iters=np.asarray(iters),
        tol_abs=est.tol * max(scale, np.finfo(float).tiny), tasks=tasks,
        extra={"variables": np.asarray(parts)},
    )


def _checked_estimator(estimator, params=None):
    """An unfitted copy of ``estimator`` (with ``params`` set), its parameters validated
    as ``fit`` would."""
    if not hasattr(estimator, "_prepare") or not hasattr(estimator, "_make_penalty"):
        raise TypeError(
            "estimator must be an mtlreg estimator (GroupLassoRegressor, ...), not a *CV "
            f"estimator nor another library's; got {type(estimator).__name__}."
        )
    est = clone(estimator)
    if params:
        est.set_params(**params)
    est._validate_params()
    return est


def _check_second(est, second):
    try:
        name, values = second
    except (TypeError, ValueError):
        raise ValueError(
            "second must be a pair (parameter name, values), e.g. ('beta', [0.1, 1.0]); "
            f"got {second!r}."
        ) from None
    if name == "alpha" or name not in est.get_params():
        raise ValueError(
            f"second={name!r} is not a parameter of {type(est).__name__} other than alpha; "
            f"its parameters: {sorted(est.get_params())}."
        )
    values = list(np.atleast_1d(values))
    if not values:
        raise ValueError(f"second gives no value for {name!r}.")
    for value in values:  # each value validated as fit would
        clone(est).set_params(**{name: value})._validate_params()
    return name, values


def _check_grid_args(alphas, n_alphas, eps, n_rows=1):
    """Validate an explicit grid (returned sorted decreasingly, one row per value of the
    second parameter) or ``n_alphas`` and ``eps``."""
    if alphas is None:
        if isinstance(n_alphas, bool) or not isinstance(n_alphas, Integral) or n_alphas < 1:
            raise ValueError(f"n_alphas must be a positive integer; got {n_alphas!r}.")
        if (isinstance(eps, bool) or not isinstance(eps, Real) or not 0 < eps <= 1):
            raise ValueError(f"eps must be a float in (0, 1]; got {eps!r}.")
        return None
    try:
        alphas = np.asarray(alphas, dtype=float)
    except (TypeError, ValueError):
        raise ValueError(f"alphas must be an array of numbers; got {alphas!r}.") from None
    if alphas.ndim not in (1, 2) or alphas.shape[-1] == 0:
        raise ValueError(
            f"alphas must be a non-empty 1-D array (or 2-D, one row per value of the "
            f"second parameter); got shape {alphas.shape}."
        )
    if alphas.ndim == 2 and alphas.shape[0] not in (1, n_rows):
        raise ValueError(
            f"alphas has {alphas.shape[0]} rows; expected {n_rows}, one per value of the "
            "second parameter."
        )
    if not np.all(np.isfinite(alphas)) or np.any(alphas < 0):
        raise ValueError(f"alphas must be finite and non-negative; got {alphas.tolist()}.")
    alphas = np.broadcast_to(alphas, (n_rows, alphas.shape[-1]))
    return -np.sort(-alphas, axis=1)
