"""mtlreg: regularized multi-task learning in the scikit-learn style.

Importing :mod:`mtlreg` never imports torch; the torch bridge lives in ``mtlreg.torch``.
"""

from ._group_lasso import GroupLassoClassifier, GroupLassoRegressor
from ._mean_reg import MeanRegularizedClassifier, MeanRegularizedRegressor
from ._sparse import (
    DirtyClassifier,
    DirtyRegressor,
    IndependentClassifier,
    IndependentRegressor,
    SparseGroupLassoClassifier,
    SparseGroupLassoRegressor,
)
from ._trace import TraceNormClassifier, TraceNormRegressor

__version__ = "0.1.0.dev0"

__all__ = [
    "DirtyClassifier",
    "DirtyRegressor",
    "GroupLassoClassifier",
    "GroupLassoRegressor",
    "IndependentClassifier",
    "IndependentRegressor",
    "MeanRegularizedClassifier",
    "MeanRegularizedRegressor",
    "SparseGroupLassoClassifier",
    "SparseGroupLassoRegressor",
    "TraceNormClassifier",
    "TraceNormRegressor",
    "__version__",
]
