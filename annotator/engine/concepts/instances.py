"""One found instance of a concept, and the checks on the prompts that find it."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

PROVENANCE_SOURCE = "sam3-text"
"""``source`` in the provenance of every annotation found from a phrase (batch and app)."""


@dataclass(frozen=True)
class ConceptInstance:
    """mask: (H, W) bool in original-image pixels; box: (x0, y0, x1, y1) float XYXY in
    original-image pixels (the model's box head, not the mask's bounds); score: in [0, 1], the
    query's class probability times the image's presence probability."""

    mask: np.ndarray
    box: tuple[float, float, float, float]
    score: float


def as_box_list(boxes: Sequence[Sequence[float]] | np.ndarray, name: str) -> list[list[float]]:
    """(N, 4) XYXY boxes in original-image pixels -> a list of N [x0, y0, x1, y1] floats.

    Raises ValueError naming ``name`` for a wrong shape, a non-finite value or an empty box.
    """
    array = np.asarray(boxes, dtype=np.float64)
    if array.size == 0:
        return []
    if array.ndim == 1 and array.shape[0] == 4:
        array = array[None]
    if array.ndim != 2 or array.shape[1] != 4:
        raise ValueError(f"{name} must be (N, 4) XYXY boxes, got shape {array.shape}")
    out = []
    for x0, y0, x1, y1 in array.tolist():
        if not all(math.isfinite(v) for v in (x0, y0, x1, y1)):
            raise ValueError(f"{name}: box {[x0, y0, x1, y1]} has a non-finite coordinate")
        if x1 <= x0 or y1 <= y0:
            raise ValueError(f"{name}: box {[x0, y0, x1, y1]} is empty (needs x1 > x0, y1 > y0)")
        out.append([x0, y0, x1, y1])
    return out


def clean_phrase(text: str | None) -> str | None:
    """A phrase with its outer whitespace removed; None for None or blank."""
    if text is None:
        return None
    if not isinstance(text, str):
        raise TypeError(f"text must be a string or None, got {type(text).__name__}")
    return text.strip() or None
