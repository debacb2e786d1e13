"""Concept prompts with SAM 3: every instance of a noun phrase or of exemplar boxes.

The network is transformers' ``Sam3Model`` (with its ``Sam3Processor`` for pre- and
post-processing); this package wraps it behind the engine's interface (``ConceptPredictor``),
loads it from a checkpoint folder or hub id (``load_concept_predictor``) and casts it to the
precision the device runs best. transformers is imported only when a model is built, so the
rest of the engine works without the ``sam3`` extra. The public names load lazily (PEP 562).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .instances import ConceptInstance
    from .load import load_concept_predictor
    from .predictor import ConceptPredictor

_EXPORTS = {
    "ConceptInstance": ".instances",
    "ConceptPredictor": ".predictor",
    "load_concept_predictor": ".load",
}

__all__ = ["ConceptInstance", "ConceptPredictor", "load_concept_predictor"]


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
