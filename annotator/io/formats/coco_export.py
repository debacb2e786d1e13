"""COCO exports: ``coco`` (RLE as stored) and ``coco-polygons`` (OpenCV contours).

Layout: ``<out>/annotations.json``; with ``--copy-images`` the images go to ``<out>/images/``
under their project file_name, which the JSON keeps (relative to that folder, or to the
project's images root without copying).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from annotator.atomic import atomic_write_text
from annotator.io.formats.common import Tally
from annotator.io.formats.polygons import DEFAULT_TOLERANCE, mask_to_polygons
from annotator.io.masks import decode_mask

ANNOTATIONS_FILE = "annotations.json"


def _polygon_segmentation(ann: dict[str, Any], tolerance: float, tally: Tally) -> Any:
    """Polygons for the annotation's mask, or its RLE unchanged when it has holes."""
    polys = mask_to_polygons(decode_mask(ann["segmentation"]), tolerance)
    if polys.has_holes:
        tally.add("masks with holes kept as RLE in coco-polygons output", f"annotation {ann['id']}")
        return ann["segmentation"]
    return [[round(float(v), 2) for v in ring.ravel()] for ring in polys.outers]


def export_coco(
    coco: dict[str, Any],
    out: Path,
    *,
    polygons: bool = False,
    tolerance: float = DEFAULT_TOLERANCE,
) -> list[str]:
    """Writes one COCO instances file; returns warning lines."""
    tally = Tally()
    result = {
        "images": coco["images"],
        "categories": coco.get("categories", []),
        "annotations": [],
    }
    for ann in coco.get("annotations", []):
        exported = dict(ann)
        if polygons:
            exported["segmentation"] = _polygon_segmentation(ann, tolerance, tally)
        result["annotations"].append(exported)
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out / ANNOTATIONS_FILE, json.dumps(result, ensure_ascii=False))
    return tally.lines()
