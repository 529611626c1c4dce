"""Linear multi-task models: one module per formulation, their paths and ``*CV`` twins."""

from ._cluster import ClusteredClassifier, ClusteredRegressor
from ._cv import (
    ClusteredClassifierCV,
    ClusteredRegressorCV,
    DirtyClassifierCV,
    DirtyRegressorCV,
    FusedGroupLassoClassifierCV,
    FusedGroupLassoRegressorCV,
    GraphRegularizedClassifierCV,
    GraphRegularizedRegressorCV,
    GroupLassoClassifierCV,
    GroupLassoRegressorCV,
    IndependentClassifierCV,
    IndependentRegressorCV,
    MeanRegularizedClassifierCV,
    MeanRegularizedRegressorCV,
    RobustFeatureLearningClassifierCV,
    RobustFeatureLearningRegressorCV,
    RobustMultiTaskClassifierCV,
    RobustMultiTaskRegressorCV,
    SparseGroupLassoClassifierCV,
    SparseGroupLassoRegressorCV,
    SparseTraceNormClassifierCV,
    SparseTraceNormRegressorCV,
    TemporalGroupLassoClassifierCV,
    TemporalGroupLassoRegressorCV,
    TraceNormClassifierCV,
    TraceNormRegressorCV,
)
from ._dirty import DirtyClassifier, DirtyRegressor
from ._fused import FusedGroupLassoClassifier, FusedGroupLassoRegressor
from ._graph import (
    GraphRegularizedClassifier,
    GraphRegularizedRegressor,
    TemporalGroupLassoClassifier,
    TemporalGroupLassoRegressor,
)
from ._group_lasso import GroupLassoClassifier, GroupLassoRegressor
from ._hierarchical import HierarchicalRegressor
from ._hierarchical_logistic import HierarchicalClassifier
from ._independent import IndependentClassifier, IndependentRegressor
from ._mean_reg import MeanRegularizedClassifier, MeanRegularizedRegressor
from ._path import RegularizationPath, alpha_grid, regularization_path
from ._robust import (
    RobustFeatureLearningClassifier,
    RobustFeatureLearningRegressor,
    RobustMultiTaskClassifier,
    RobustMultiTaskRegressor,
)
from ._sparse_group import SparseGroupLassoClassifier, SparseGroupLassoRegressor
from ._sparse_trace import SparseTraceNormClassifier, SparseTraceNormRegressor
from ._task_covariance import TaskCovarianceRegressor
from ._trace import TraceNormClassifier, TraceNormRegressor

