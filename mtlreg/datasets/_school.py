"""The School data set, shipped inside the package (no download at run time)."""

from importlib import resources

import numpy as np
from sklearn.utils import Bunch

FEATURE_NAMES = (
    ["year_1985", "year_1986", "year_1987", "fsm_pct", "vr1_pct", "gender_0", "gender_1"]
    + [f"vr_band_{k}" for k in range(1, 4)]
    + [f"ethnic_{k:02d}" for k in range(1, 12)]
    + [f"school_gender_{k}" for k in range(3)]
    + [f"school_denomination_{k}" for k in range(3)]
    + ["bias"]
)
TASK_COLUMN = "school"


def load_school(*, return_X_y=False, as_frame=False):
    """Load the School data (ILEA exam scores, 15362 students in 139 schools).

    One school is one task. ``data`` holds the task column first (``"school"``,
    ids ``0 .. 138``) and then the 28 feature columns, so that it can be passed
    directly to an estimator with ``task_column=0`` (or ``task_column="school"``
    with ``as_frame=True``). Read more in ``DESCR``.

    Parameters
    ----------
    return_X_y : bool, default=False
        Return ``(data, target)`` instead of a Bunch.
    as_frame : bool, default=False
        Return ``data`` as a pandas DataFrame (``target`` as a Series, and a
        ``frame`` with both); needs pandas.

    Returns
    -------
    data : Bunch with ``data`` (15362, 29), ``target`` (15362,), ``task`` (15362,),
        ``feature_names`` (29 names, ``"school"`` first), ``task_column``
        (``"school"``), ``frame`` (None unless ``as_frame``) and ``DESCR``.
    """
    with resources.files(__package__).joinpath("data/school.npz").open("rb") as f:
        raw = np.load(f, allow_pickle=False)
        X, y, task = raw["X"], raw["y"], raw["task"].astype(np.int64)
    # row order (C), as the per-task estimators read it: the stored X is column-ordered,
    # and a column-ordered data would cost every fit a copy of the features
    data = np.ascontiguousarray(np.column_stack([task.astype(np.float64), X]))
    names = [TASK_COLUMN] + FEATURE_NAMES
    frame = None
    target = y
    if as_frame:
        try:
            import pandas as pd
        except ImportError as exc:
            raise ImportError(
                "load_school(as_frame=True) returns pandas objects, and pandas is not "
                "installed: run `pip install pandas`, or call load_school() without "
                "as_frame for NumPy arrays.") from exc
        data = pd.DataFrame(X, columns=FEATURE_NAMES)
        data.insert(0, TASK_COLUMN, task)
        target = pd.Series(y, name="score")
        frame = pd.concat([data, target], axis=1)
    if return_X_y:
        return data, target
    descr = resources.files(__package__).joinpath("descr/school.rst").read_text()
    return Bunch(data=data, target=target, task=task, feature_names=names,
                 task_column=TASK_COLUMN, frame=frame, DESCR=descr)
