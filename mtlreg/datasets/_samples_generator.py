"""Simulated multi-task data with a known coefficient structure."""

from numbers import Integral, Real

import numpy as np
from scipy.linalg import toeplitz
from sklearn.utils import check_random_state

STRUCTURES = ("row_sparse", "low_rank", "shared_specific", "mean", "chain", "clusters",
              "outliers")


def make_multitask_coef(n_features, n_tasks, *, structure="row_sparse", n_informative=5,
                        rank=2, n_clusters=3, n_outliers=1, drift=0.15, random_state=None):
    """A coefficient matrix ``W`` of shape ``(n_features, n_tasks)`` with a given structure.

    ``"row_sparse"``: ``n_informative`` rows (features) non-zero in every task;
    ``"low_rank"``: ``W = U V^T`` of rank ``rank``;
    ``"shared_specific"``: a row-sparse part shared by all tasks (same support,
    similar values) plus a few task-specific entries (element-sparse);
    ``"mean"``: every task is a small deviation from a common vector;
    ``"chain"``: tasks ordered in time, ``n_informative`` rows drifting slowly,
    ``w_{t+1} = w_t + drift * N(0, I)`` on the support;
    ``"clusters"``: ``n_clusters`` groups of tasks, task ``t`` in group
    ``t % n_clusters``, each group a small deviation (0.1 N(0, I)) from its own centre;
    ``"outliers"``: every task shares one vector (on ``n_informative`` rows) but
    the last ``n_outliers`` tasks, which have dense coefficients of their own.
    """
    rng = check_random_state(random_state)
    if structure not in STRUCTURES:
        raise ValueError(f"structure must be one of {STRUCTURES}; got {structure!r}.")
    n_informative = min(int(n_informative), n_features)
    W = np.zeros((n_features, n_tasks))
    if structure == "row_sparse":
        support = rng.choice(n_features, n_informative, replace=False)
        W[support] = rng.standard_normal((n_informative, n_tasks))
    elif structure == "low_rank":
        rank = max(1, min(int(rank), n_features, n_tasks))
        W = rng.standard_normal((n_features, rank)) @ rng.standard_normal((rank, n_tasks))
        W /= np.sqrt(rank)
    elif structure == "shared_specific":
        support = rng.choice(n_features, n_informative, replace=False)
        common = rng.standard_normal(n_informative)
        W[support] = common[:, None] + 0.2 * rng.standard_normal((n_informative, n_tasks))
        n_specific = max(1, n_informative // 2)
        for t in range(n_tasks):
            W[rng.choice(n_features, n_specific, replace=False), t] += rng.standard_normal(
                n_specific
            )
    elif structure == "mean":
        W = rng.standard_normal(n_features)[:, None] + 0.3 * rng.standard_normal(
            (n_features, n_tasks)
        )
    elif structure == "chain":
        support = rng.choice(n_features, n_informative, replace=False)
        steps = drift * rng.standard_normal((n_informative, n_tasks))
        steps[:, 0] = rng.standard_normal(n_informative)
        W[support] = np.cumsum(steps, axis=1)
    elif structure == "clusters":
        k = max(1, min(int(n_clusters), n_tasks))
        centres = rng.standard_normal((n_features, k))
        W = centres[:, np.arange(n_tasks) % k]
        W = W + 0.1 * rng.standard_normal((n_features, n_tasks))
    else:  # "outliers"
        n_out = max(0, min(int(n_outliers), n_tasks - 1))
        support = rng.choice(n_features, n_informative, replace=False)
        W[support] = rng.standard_normal(n_informative)[:, None]
        if n_out:
            W[:, n_tasks - n_out:] = 1.5 * rng.standard_normal((n_features, n_out))
    return W


def _design(n, n_features, correlation, rng):
    if correlation == 0:
        return rng.standard_normal((n, n_features))
    chol = np.linalg.cholesky(toeplitz(correlation ** np.arange(n_features)))
    return rng.standard_normal((n, n_features)) @ chol.T


def _task_sizes(n_samples, n_tasks):
    if isinstance(n_samples, Integral):
        return np.full(n_tasks, int(n_samples))
    sizes = np.asarray(n_samples, dtype=int)
    if sizes.shape != (n_tasks,) or np.any(sizes < 1):
        raise ValueError("n_samples must be an int or n_tasks positive ints for layout='per_task'.")
    return sizes


def _positive_int(name, value):
    if isinstance(value, bool) or not isinstance(value, Integral) or value < 1:
        raise ValueError(f"{name} must be a positive integer; got {value!r}.")


def _linear_data(n_samples, n_features, n_tasks, structure, n_informative, rank, layout,
                 correlation, rng, **structure_params):
    _positive_int("n_features", n_features)
    _positive_int("n_tasks", n_tasks)
    if layout == "shared" or isinstance(n_samples, Integral):
        _positive_int("n_samples", n_samples)
    if not (isinstance(correlation, Real) and 0 <= correlation < 1):
        raise ValueError(f"correlation must be a float in [0, 1); got {correlation!r}.")
    if layout not in ("shared", "per_task"):
        raise ValueError(f"layout must be 'shared' or 'per_task'; got {layout!r}.")
    W = make_multitask_coef(n_features, n_tasks, structure=structure,
                            n_informative=n_informative, rank=rank, random_state=rng,
                            **structure_params)
    if layout == "shared":
        X = _design(int(n_samples), n_features, correlation, rng)
        return X, X @ W, W, None
    sizes = _task_sizes(n_samples, n_tasks)
    task = np.repeat(np.arange(n_tasks), sizes)
    X = _design(int(sizes.sum()), n_features, correlation, rng)
    z = np.einsum("ij,ji->i", X, W[:, task])
    return X, z, W, task


def make_multitask_regression(n_samples=100, n_features=20, n_tasks=5, *,
                              structure="row_sparse", n_informative=5, rank=2, noise=0.1,
                              layout="shared", correlation=0.0, coef=False,
                              random_state=None, **structure_params):
    """Multi-task regression data ``y = x · w_t + noise`` with structured ``W``.

    Parameters
    ----------
    n_samples : int or array-like of shape (n_tasks,)
        Shared layout: number of rows. Per-task layout: rows per task (an int for
        equal sizes, or one size per task).
    structure : {"row_sparse", "low_rank", "shared_specific", "mean", "chain", "clusters", \
"outliers"}
        See :func:`make_multitask_coef`; ``**structure_params`` (``n_clusters``,
        ``n_outliers``, ``drift``) go to it.
    noise : float
        Standard deviation of the Gaussian noise.
    layout : {"shared", "per_task"}
        ``"shared"``: ``X (n, d)`` and ``Y (n, T)``. ``"per_task"``: ``X`` of shape
        ``(N, 1 + d)`` whose first column is the task id (use ``task_column=0``)
        and ``y (N,)``.
    correlation : float in [0, 1)
        Features are Gaussian with Toeplitz covariance ``correlation ** |i - j|``.
    coef : bool
        Also return the true coefficients, shape ``(n_tasks, n_features)``.

    Returns
    -------
    X, y[, coef]
    """
    rng = check_random_state(random_state)
    if not (isinstance(noise, Real) and 0 <= noise < np.inf):
        raise ValueError(f"noise must be a finite non-negative float; got {noise!r}.")
    X, z, W, task = _linear_data(n_samples, n_features, n_tasks, structure, n_informative,
                                 rank, layout, correlation, rng, **structure_params)
    y = z + noise * rng.standard_normal(z.shape)
    if task is not None:
        X = np.column_stack([task.astype(np.float64), X])
    return (X, y, W.T.copy()) if coef else (X, y)


def make_multitask_classification(n_samples=100, n_features=20, n_tasks=5, *,
                                  structure="row_sparse", n_informative=5, rank=2,
                                  signal=2.0, layout="shared", correlation=0.0, coef=False,
                                  random_state=None, **structure_params):
    """Binary labels per task from a logistic model ``P(y=1) = sigmoid(s * x · w_t)``.

    Same parameters as :func:`make_multitask_regression`; ``signal`` scales the
    linear predictor (larger: cleaner classes). Labels are 0/1 integers. Every
    task is given both classes (a label is flipped if needed).
    """
    rng = check_random_state(random_state)
    if not (isinstance(signal, Real) and 0 < signal < np.inf):
        raise ValueError(f"signal must be a finite positive float; got {signal!r}.")
    X, z, W, task = _linear_data(n_samples, n_features, n_tasks, structure, n_informative,
                                 rank, layout, correlation, rng, **structure_params)
    scale = signal / max(np.std(z), np.finfo(float).tiny)
    y = (rng.uniform(size=z.shape) < 1 / (1 + np.exp(-scale * z))).astype(np.int64)
    if task is None:
        for t in range(y.shape[1]):
            if y[:, t].min() == y[:, t].max():
                y[0, t] = 1 - y[0, t]
    else:
        for t in range(n_tasks):
            rows = np.flatnonzero(task == t)
            if y[rows].min() == y[rows].max():
                y[rows[0]] = 1 - y[rows[0]]
        X = np.column_stack([task.astype(np.float64), X])
    return (X, y, W.T.copy() * scale) if coef else (X, y)
