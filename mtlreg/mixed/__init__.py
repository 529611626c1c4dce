"""Mixed models (hierarchical, random-effects models) fitted by empirical Bayes.

* Linear mixed models, tasks as groups: the criterion (:mod:`._criterion`: profiled
  ML / REML deviance and its gradient), the covariance parametrisations
  (:mod:`._covariance`), the per-task statistics (:mod:`._statistics`) and the
  optimiser (:mod:`._fit`), for :class:`mtlreg.linear_model.HierarchicalRegressor`.
  Everything works from per-task sufficient statistics, never from the rows.
* The Bayesian twins of the quadratic penalties (:mod:`._twins`: ``alpha="reml"``).
* The logistic mixed model by the Laplace approximation (:mod:`._laplace`), for
  :class:`mtlreg.linear_model.HierarchicalClassifier`: it needs the rows (no
  sufficient statistics for the logistic likelihood).
* The matrix-normal model of the shared layout, a covariance between tasks
  (:mod:`._matrix_normal`, with missing labels :mod:`._matrix_normal_missing`), for
  :class:`mtlreg.linear_model.TaskCovarianceRegressor`.
"""

from ._covariance import make_structure
from ._criterion import CollinearFeaturesError, Evaluation, evaluate, gls_inverse
from ._fit import MixedFit, fit_mixed
from ._statistics import MixedStatistics, from_statistics, independent_columns
from ._twins import mean_regularization_reml

__all__ = ["CollinearFeaturesError", "Evaluation", "MixedFit", "MixedStatistics", "evaluate",
           "fit_mixed", "gls_inverse",
           "independent_columns", "from_statistics", "make_structure", "mean_regularization_reml"]
