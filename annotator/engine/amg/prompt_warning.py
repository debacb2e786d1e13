"""The warning for models that do not respond to single-point prompts (the generator's grid)."""

from __future__ import annotations

from typing import Any


class PointPromptWarning(UserWarning):
    """The model was trained with box prompts and gives poor masks for single points."""


def point_prompt_warning(model: Any) -> str | None:
    """The message to show when `model` does not respond to single-point prompts, else None."""
    hint = getattr(model, "prompt_hint", "points_and_boxes")
    model_type = getattr(model, "model_type", None)
    if hint != "boxes" and model_type != "lite_medsam":
        return None
    name = "the bundled LiteMedSAM" if model_type == "lite_medsam" else f"model {model_type!r}"
    return (
        f"{name} model was trained with box prompts and does not respond to single points, so "
        "automatic mask generation with it gives poor or empty masks. Use a SAM or MobileSAM "
        "checkpoint instead (--checkpoint sam_vit_b_01ec64.pth or mobile_sam.pt), or give it "
        "boxes from a detector with `annotator segment --boxes DETECTIONS.json`."
    )
