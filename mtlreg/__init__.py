"""mtlreg: regularized multi-task learning in the scikit-learn style.

Importing :mod:`mtlreg` never imports torch; the torch bridge lives in ``mtlreg.torch``.
"""

# before any kernel module is imported: numba's caches go to a per-user folder,
# never into the installed package (see _numba_cache.py)
from . import _numba_cache  # noqa: F401  isort: skip
from .linear_model import (  # noqa: E402
    DirtyClassifier,
    DirtyClassifierCV,
    DirtyRegressor,
    DirtyRegressorCV,
    GraphRegularizedClassifier,
    GraphRegularizedClassifierCV,
    GraphRegularizedRegressor,
    GraphRegularizedRegressorCV,
    GroupLassoClassifier,
    GroupLassoClassifierCV,
    GroupLassoRegressor,
    GroupLassoRegressorCV,
    IndependentClassifier,
    IndependentClassifierCV,
    IndependentRegressor,
    IndependentRegressorCV,
    MeanRegularizedClassifier,
    MeanRegularizedClassifierCV,
    MeanRegularizedRegressor,
    MeanRegularizedRegressorCV,
    RegularizationPath,
    SparseGroupLassoClassifier,
    SparseGroupLassoClassifierCV,
    SparseGroupLassoRegressor,
    SparseGroupLassoRegressorCV,
    TraceNormClassifier,
    TraceNormClassifierCV,
    TraceNormRegressor,
    TraceNormRegressorCV,
    TemporalGroupLassoClassifier,
    TemporalGroupLassoClassifierCV,
    TemporalGroupLassoRegressor,
    TemporalGroupLassoRegressorCV,
    alpha_grid,
    regularization_path,
)

__version__ = "0.1.0.dev0"

_CV = [
    "GraphRegularizedClassifierCV",
    "GraphRegularizedRegressorCV",
    "TemporalGroupLassoClassifierCV",
    "TemporalGroupLassoRegressorCV",
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
    "GraphRegularizedClassifier",
    "GraphRegularizedRegressor",
    "TemporalGroupLassoClassifier",
    "TemporalGroupLassoRegressor",
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
