"""Automatic mask generation ("segment everything"), as segment-anything's
``SamAutomaticMaskGenerator``: a point grid, one mask per point, filtered and de-duplicated."""

from annotator.engine.amg.generator import (
    OUTPUT_MODES,
    AutomaticMaskGenerator,
    PointPromptWarning,
    point_prompt_warning,
)

__all__ = ["OUTPUT_MODES", "AutomaticMaskGenerator", "PointPromptWarning", "point_prompt_warning"]
