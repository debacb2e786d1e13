"""Model layer: SAM-family networks, weights, the predictor and the automatic mask generator.
Pure PyTorch, no Qt.

Sub-packages: ``modeling`` (the networks, ``nn.Module``s only), ``weights`` (catalogue, store,
download, ``load_model``), ``amg`` (segment everything), ``sequence`` (propagation through
videos and frame folders); ``box_batch`` gives masks for many
boxes at once. The public names below load lazily (PEP 562) so that torch-free modules of this
package, such as the model registry used by ``annotator models list``, import without pulling
in torch.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .amg import AmgOptions, AutomaticMaskGenerator
    from .box_batch import BoxMask, predict_boxes
    from .errors import CheckpointError
    from .image_state import ImageState
    from .modeling.architectures import MODEL_TYPES
    from .modeling.sam import Sam
    from .predictor import Predictor
    from .sequence import SequencePredictor
    from .weights.load import load_model

_EXPORTS = {
    "load_model": ".weights.load",
    "AmgOptions": ".amg",
    "AutomaticMaskGenerator": ".amg",
    "BoxMask": ".box_batch",
    "predict_boxes": ".box_batch",
    "CheckpointError": ".errors",
    "ImageState": ".image_state",
    "Predictor": ".predictor",
    "SequencePredictor": ".sequence",
    "MODEL_TYPES": ".modeling.architectures",
    "Sam": ".modeling.sam",
}

__all__ = [
    "MODEL_TYPES",
    "AmgOptions",
    "AutomaticMaskGenerator",
    "BoxMask",
    "CheckpointError",
    "ImageState",
    "Predictor",
    "Sam",
    "SequencePredictor",
    "load_model",
    "predict_boxes",
]


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
