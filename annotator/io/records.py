"""The immutable records a Document holds (images, categories, annotations) and their checks."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

import numpy as np

from annotator.io.checks import safe_relative
from annotator.io.masks import Rle, decode_mask
from annotator.io.sequence import TRACK_KEY, check_track_id

PROVENANCE_KEYS = (
    "predicted_iou", "stability_score", "point_coords", "point_labels", "box", "model",
    "created", "updated",
)  # fmt: skip
"""Per-annotation keys (beyond COCO's) recording how a mask was made; COCO readers ignore them."""
PROPAGATED_KEY = "propagated"
"""Provenance flag of a mask a propagation made (`annotator track`, the app's propagate)."""
CORE_ANN_KEYS = frozenset(
    {"id", "image_id", "category_id", "segmentation", "area", "bbox", "iscrowd"}
)
# Distinct, readable on photos (Sasha Trubetskoy's 20-colour list, most distinct first).
PALETTE = (
    "#e6194b", "#3cb44b", "#ffe119", "#4363d8", "#f58231", "#911eb4", "#46f0f0", "#f032e6",
    "#bcf60c", "#fabebe", "#008080", "#e6beff", "#9a6324", "#fffac8", "#800000", "#aaffc3",
    "#808000", "#ffd8b1", "#000075", "#808080",
)  # fmt: skip
_COLOR_RE = re.compile(r"^#[0-9a-fA-F]{6}$")


def utc_now() -> str:
    """Timestamp for created/updated: ISO 8601, UTC, seconds."""
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class ImageRecord:
    """One COCO image: file_name is relative to the document's images_root, POSIX separators."""

    id: int
    file_name: str
    width: int
    height: int
    extra: Mapping[str, Any] = field(default_factory=dict)  # other COCO keys, kept as loaded


@dataclass(frozen=True)
class Category:
    id: int
    name: str
    color: str  # "#rrggbb", display only
    supercategory: str = ""
    extra: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Annotation:
    """One instance mask. rle: compressed COCO RLE (str counts) of size [height, width];
    area in pixels; bbox [x, y, w, h] in image pixels; provenance: PROVENANCE_KEYS and extras."""

    id: int
    image_id: int
    category_id: int
    rle: Rle
    area: int
    bbox: tuple[float, float, float, float]
    iscrowd: int = 0
    provenance: Mapping[str, Any] = field(default_factory=dict)

    @property
    def mask(self) -> np.ndarray:
        """(H, W) bool mask, decoded on each access."""
        return decode_mask(self.rle)


def provenance_values(values: Mapping[str, Any]) -> dict[str, Any]:
    """Provenance keys as stored: JSON-able, None dropped; COCO's own keys refused, and a
    track_id that is not a positive integer (sequence.py)."""
    clash = CORE_ANN_KEYS & set(values)
    if clash:
        raise ValueError(f"provenance cannot override COCO keys {sorted(clash)}")
    out = {k: jsonable(v) for k, v in values.items() if v is not None}
    if TRACK_KEY in out:
        check_track_id(out[TRACK_KEY])
    return out


def edited_provenance(
    old: Mapping[str, Any], changes: Mapping[str, Any], mask_changed: bool
) -> dict[str, Any]:
    """The provenance after an edit: `changes` over `old`, ``updated`` now. A new mask drops
    the ``propagated`` flag unless the edit sets it: a mask fixed by hand is no longer one a
    propagation made (re-propagation leaves it alone; `annotator track` prompts from it)."""
    prov = {**old, **provenance_values(changes), "updated": utc_now()}
    if mask_changed and PROPAGATED_KEY not in changes:
        prov.pop(PROPAGATED_KEY, None)
    return prov


def jsonable(value: Any) -> Any:
    """numpy arrays/scalars (as predictors return them) -> plain JSON types."""
    if isinstance(value, np.ndarray):
        return [jsonable(v) for v in value] if value.dtype.kind == "f" else value.tolist()
    if isinstance(value, np.floating) and value.dtype.itemsize < 8:
        return float(str(value))  # float32 0.9 -> 0.9, not 0.8999999761581421
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    return value


def check_color(color: str) -> str:
    if not isinstance(color, str) or not _COLOR_RE.match(color):
        raise ValueError(f"color must be '#rrggbb', got {color!r}")
    return color.lower()


def check_file_name(file_name: str) -> str:
    """`file_name` by the `safe_relative` rule (relative, no ``..``); ValueError otherwise."""
    name = safe_relative(file_name)
    if name is None:
        raise ValueError(f"file_name must be a relative path inside the images root: {file_name!r}")
    return name
