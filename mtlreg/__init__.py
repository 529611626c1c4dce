"""mtlreg: regularized multi-task learning in the scikit-learn style.

Importing :mod:`mtlreg` never imports torch; the torch bridge lives in ``mtlreg.torch``.
"""

from ._cv import (
    DirtyClassifierCV,
    DirtyRegressorCV,
    GroupLassoClassifierCV,
    GroupLassoRegressorCV,
    IndependentClassifierCV,
    IndependentRegressorCV,
    MeanRegularizedClassifierCV,
    MeanRegularizedRegressorCV,
    SparseGroupLassoClassifierCV,
    SparseGroupLassoRegressorCV,
    TraceNormClassifierCV,
    TraceNormRegressorCV,
)
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
from ._path import RegularizationPath, alpha_grid, regularization_path
from ._trace import TraceNormClassifier, TraceNormRegressor

__version__ = "0.1.0.dev0"

_CV = [
    "DirtyClassifierCV",
    "DirtyRegressorCV",
    "GroupLassoClassifierCV",
    "GroupLassoRegressorCV",
    "IndependentClassifierCV",
    "IndependentRegressorCV",
    "MeanRegularizedClassifierCV",
    "MeanRegularizedRegressorCV",
    "SparseGroupLassoClassifierCV",
    "SparseGroupLassoRegressorCV",
    "TraceNormClassifierCV",
    "TraceNormRegressorCV",
]

__all__ = _CV + [
    "RegularizationPath",
    "alpha_grid",
    "regularization_path",
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
