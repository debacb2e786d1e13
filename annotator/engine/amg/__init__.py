"""Automatic mask generation ("segment everything"), as segment-anything's
``SamAutomaticMaskGenerator`` and sam2's ``SAM2AutomaticMaskGenerator``: a point grid, one mask
per point, filtered and de-duplicated.

Names load lazily (PEP 562): `AmgOptions` (the parameters, torch-free, read by the command
line's parser) imports without pulling in torch; the generator brings it when first used.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .generator import OUTPUT_MODES, AutomaticMaskGenerator
    from .options import AmgOptions
    from .prompt_warning import PointPromptWarning, point_prompt_warning

_EXPORTS = {
    "OUTPUT_MODES": ".generator",
    "AmgOptions": ".options",
    "AutomaticMaskGenerator": ".generator",
    "PointPromptWarning": ".prompt_warning",
    "point_prompt_warning": ".prompt_warning",
}

__all__ = [
    "OUTPUT_MODES",
    "AmgOptions",
    "AutomaticMaskGenerator",
    "PointPromptWarning",
    "point_prompt_warning",
]


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
