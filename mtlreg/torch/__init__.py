"""The torch bridge: multi-task networks and a torch backend for the linear models.

Needs PyTorch, which ``import mtlreg`` never imports::

    pip install torch==2.13.0          # the CPU build; or a CUDA build of your choice
    pip install "mtlreg[torch]"

* :class:`MultiTaskMLPRegressor`, :class:`MultiTaskMLPClassifier` -- networks with
  the linear estimators' API (both layouts, weights, pipelines, grid searches, pickling);
  the architecture (``_architectures.py``) and the task weighting or gradient
  aggregation (``_weighting.py``, ``_aggregation.py``) are chosen by parameters.
* :class:`TorchFISTA` -- the proximal solver of the linear estimators on torch
  tensors (CPU or GPU): ``GroupLassoRegressor(solver=TorchFISTA(device="cuda"))``.
"""

try:
    import torch  # noqa: F401
except ImportError as exc:  # pragma: no cover - exercised without torch only
    raise ImportError(
        "mtlreg.torch needs PyTorch, which is not installed. Install the CPU build and "
        "the extra with:\n    pip install torch==2.13.0 && pip install \"mtlreg[torch]\"\n"
        "(or pick a CUDA build of torch at https://pytorch.org/get-started/locally/)."
    ) from exc

from ._architectures import (
    ARCHITECTURES,
    CrossStitch,
    HardSharing,
    Independent,
    MMoE,
    SoftSharing,
    TaskAttention,
)
from ._estimators import MultiTaskMLPClassifier, MultiTaskMLPRegressor
from ._linear import TorchFISTA
from ._weighting import DWA, FixedWeighting, GradNorm, UncertaintyWeighting

__all__ = [
    "ARCHITECTURES",
    "CrossStitch",
    "DWA",
    "FixedWeighting",
    "GradNorm",
    "HardSharing",
    "Independent",
    "MMoE",
    "MultiTaskMLPClassifier",
    "MultiTaskMLPRegressor",
    "SoftSharing",
    "TaskAttention",
    "TorchFISTA",
    "UncertaintyWeighting",
]
