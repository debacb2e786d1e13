"""SA-1B export: one JSON per image, as in Meta's Segment Anything 1B dataset.

``<stem>.json`` = ``{"image": {image_id, width, height, file_name}, "annotations": [{id,
segmentation (compressed RLE as stored), bbox (XYWH), area, predicted_iou, stability_score,
crop_box (integer XYWH, the whole image: the app does not crop), point_coords ([[x, y], ...]
in image pixels)}]}``.

Every field is numeric, as readers that filter on the scores expect. A score the project does
not have (a mask drawn by hand, edited or imported) is written as ``UNSCORED`` = 1.0: a person
made or accepted the mask, so score filters keep it (and a warning counts them). point_coords
are the stored prompt points (positive and negative); a mask without them gets one point: the
pixel inside it farthest from its boundary (the first such pixel in row-major order). Points
are in SAM's frame, pixel (col, row) = [col, row]. With ``copy_images`` the image sits next to
its JSON, as in SA-1B.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from annotator.atomic import atomic_write_text
from annotator.io.formats.common import (
    Tally,
    annotations_by_image,
    output_names,
)
from annotator.io.formats.frame_images import FrameJpegs
from annotator.io.masks import decode_mask

UNSCORED = 1.0  # predicted_iou / stability_score of masks the model did not score


def _number_or_none(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _score(value: Any) -> float:
    number = _number_or_none(value)
    return UNSCORED if number is None else number


def interior_point(mask: np.ndarray) -> list[float]:
    """[x, y] of the (H, W) bool mask's pixel farthest from its boundary (image edge included).

    Ties go to the first pixel in row-major order; an empty mask gives [0.0, 0.0].
    """
    depth = cv2.distanceTransform(np.pad(mask, 1).astype(np.uint8), cv2.DIST_L2, 5)[1:-1, 1:-1]
    row, col = np.unravel_index(int(np.argmax(depth)), depth.shape)
    return [float(col), float(row)]


def _points(ann: dict[str, Any]) -> list[list[float]]:
    """Prompt points as SA-1B lists them: [[x, y], ...] in image pixels, never empty."""
    value = ann.get("point_coords")
    if value:
        return np.asarray(value, dtype=np.float64).reshape(-1, 2).tolist()
    return [interior_point(decode_mask(ann["segmentation"]))]


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
                "predicted_iou": _score(ann.get("predicted_iou")),
                "stability_score": _score(ann.get("stability_score")),
                "crop_box": [0, 0, int(width), int(height)],
                "point_coords": _points(ann),
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
    frames = FrameJpegs(images_root)  # copies files; decodes the frames of video files
    for im in coco["images"]:
        anns = by_image[im["id"]]
        unscored = [
            a["id"]
            for a in anns
            if any(_number_or_none(a.get(k)) is None for k in ("predicted_iou", "stability_score"))
        ]
        for ann_id in unscored:
            tally.add(
                f"annotations without model scores (written as {UNSCORED})", f"annotation {ann_id}"
            )
        target = out / names[im["id"]]
        target.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(target, json.dumps(sa1b_record(im, anns)))
        if copy_images:
            frames.copy(im, target.with_name(Path(im["file_name"]).name))
    return tally.lines()
