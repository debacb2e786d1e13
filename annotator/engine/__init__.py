"""Model layer: SAM-family networks, checkpoint loading, the predictor. Pure PyTorch, no Qt.

The public names load lazily (PEP 562) so that torch-free modules of this package, such as
the model registry used by `annotator models list`, import without pulling in torch.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .checkpoint import load_model
    from .errors import CheckpointError
    from .image_state import ImageState
    from .predictor import Predictor
    from .sam import MODEL_TYPES, Sam

_EXPORTS = {
    "load_model": ".checkpoint",
    "CheckpointError": ".errors",
    "ImageState": ".image_state",
    "Predictor": ".predictor",
    "MODEL_TYPES": ".sam",
    "Sam": ".sam",
}

__all__ = ["MODEL_TYPES", "CheckpointError", "ImageState", "Predictor", "Sam", "load_model"]


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
