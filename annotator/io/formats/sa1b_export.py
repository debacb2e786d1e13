"""SA-1B export: one JSON per image, as in Meta's Segment Anything 1B dataset.

``<stem>.json`` = ``{"image": {image_id, width, height, file_name}, "annotations": [{id,
segmentation (compressed RLE as stored), bbox (XYWH), area, predicted_iou, stability_score,
crop_box (XYWH, the whole image: the app does not crop), point_coords ([[x, y], ...] the
positive and negative prompt points in image pixels)}]}``. Scores the project lacks (masks
drawn by hand or imported) are null. With ``copy_images`` the image sits next to its JSON, as
in SA-1B.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from annotator.atomic import atomic_write_text
from annotator.io.formats.common import (
    Tally,
    annotations_by_image,
    copy_image,
    output_names,
)


def _number_or_none(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _points(value: Any) -> list[list[float]]:
    """Prompt points as SA-1B lists them: [[x, y], ...] in image pixels."""
    if not value:
        return []
    return np.asarray(value, dtype=np.float64).reshape(-1, 2).tolist()


def sa1b_record(image: dict[str, Any], anns: list[dict[str, Any]]) -> dict[str, Any]:
    """The SA-1B JSON object of one image and its annotations."""
    width, height = image["width"], image["height"]
    return {
        "image": {
            "image_id": image["id"],
            "width": width,
            "height": height,
            "file_name": Path(image["file_name"]).name,
        },
        "annotations": [
            {
                "id": ann["id"],
                "segmentation": ann["segmentation"],
                "bbox": ann["bbox"],
                "area": ann["area"],
                "predicted_iou": _number_or_none(ann.get("predicted_iou")),
                "stability_score": _number_or_none(ann.get("stability_score")),
                "crop_box": [0.0, 0.0, float(width), float(height)],
                "point_coords": _points(ann.get("point_coords")),
            }
            for ann in anns
        ],
    }


def export_sa1b(
    coco: dict[str, Any], images_root: Path, out: Path, *, copy_images: bool = False
) -> list[str]:
    """Writes one SA-1B JSON per image (and optionally the image); returns warning lines."""
    tally = Tally()
    names = output_names(coco, ".json")
    by_image = annotations_by_image(coco)
    for im in coco["images"]:
        anns = by_image[im["id"]]
        unscored = [a["id"] for a in anns if _number_or_none(a.get("predicted_iou")) is None]
        for ann_id in unscored:
            tally.add(
                "annotations without model scores (predicted_iou null)", f"annotation {ann_id}"
            )
        target = out / names[im["id"]]
        target.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(target, json.dumps(sa1b_record(im, anns)))
        if copy_images:
            copy_image(images_root, im["file_name"], target.with_name(Path(im["file_name"]).name))
    return tally.lines()
