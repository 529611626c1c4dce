"""mtlreg: regularized multi-task learning in the scikit-learn style.

Importing :mod:`mtlreg` never imports torch; the torch bridge lives in ``mtlreg.torch``.
"""

from ._group_lasso import GroupLassoClassifier, GroupLassoRegressor

__version__ = "0.1.0.dev0"

__all__ = ["GroupLassoClassifier", "GroupLassoRegressor", "__version__"]
