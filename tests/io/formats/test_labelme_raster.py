"""LabelMe import gives labelme's own masks (issue 10 item 1).

The reference below is written from labelme's documented behaviour (``shape_to_mask``): PIL
``ImageDraw`` on the raw float points, outline and fill 1; circles of radius |centre-edge|;
rectangles with both corners normalised; lines and linestrips 10 px wide (linestrip joints
rounded); points as discs of radius 5.
"""

import base64
import json
import math
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image, ImageDraw

from annotator.io.formats.labelme_import import import_labelme
from annotator.io.masks import decode_mask
from tests.io.formats.format_fixtures import H, W, iou, write_image


def _reference(kind: str, points: list[list[float]]) -> np.ndarray:
    canvas = Image.new("L", (W, H), 0)
    draw = ImageDraw.Draw(canvas)
    xy = [(float(x), float(y)) for x, y in points]
    if kind == "circle":
        (cx, cy), (ex, ey) = xy
        r = math.hypot(cx - ex, cy - ey)
        draw.ellipse([cx - r, cy - r, cx + r, cy + r], fill=1, outline=1)
    elif kind == "rectangle":
        (x0, y0), (x1, y1) = xy
        box = [min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1)]
        draw.rectangle(box, fill=1, outline=1)
    elif kind == "line":
        draw.line(xy, fill=1, width=10)
    elif kind == "linestrip":
        draw.line(xy, fill=1, width=10, joint="curve")
    elif kind == "point":
        ((cx, cy),) = xy
        draw.ellipse([cx - 5, cy - 5, cx + 5, cy + 5], fill=1, outline=1)
    else:
        draw.polygon(xy, fill=1, outline=1)
    return np.asarray(canvas) > 0


# Vertices with the fractional parts real labelme files have (.81, .94, ...).
SHAPES = {
    "big": ("polygon", [[10.81, 12.94], [60.33, 8.19], [70.94, 50.81], [15.47, 60.62]]),
    "small": ("polygon", [[80.81, 60.94], [86.94, 61.19], [85.33, 66.81], [81.52, 65.94]]),
    "thin": ("polygon", [[3.94, 70.81], [40.19, 72.94], [3.51, 73.49]]),
    "box": ("rectangle", [[55.81, 70.94], [44.19, 62.33]]),
    "sun": ("circle", [[30.94, 30.81], [37.19, 34.47]]),
    "edge": ("circle", [[95.81, 4.94], [99.62, 12.19]]),  # clipped by the image
    "wire": ("line", [[5.81, 5.94], [45.19, 20.33]]),
    "path": ("linestrip", [[60.94, 20.81], [75.19, 25.47], [70.81, 40.94], [90.33, 45.19]]),
    "dot": ("point", [[88.81, 30.94]]),
}


@pytest.fixture
def imported(tmp_path: Path) -> dict[str, np.ndarray]:
    write_image(tmp_path / "a.png")
    shapes = [
        {"label": name, "points": points, "group_id": None, "shape_type": kind, "flags": {}}
        for name, (kind, points) in SHAPES.items()
    ]
    data = {"version": "5.5.0", "flags": {}, "shapes": shapes, "imagePath": "a.png",
            "imageData": None, "imageHeight": H, "imageWidth": W}  # fmt: skip
    (tmp_path / "a.json").write_text(json.dumps(data))
    result = import_labelme(tmp_path / "a.json", tmp_path)
    names = {c["id"]: c["name"] for c in result.coco["categories"]}
    return {
        names[a["category_id"]]: decode_mask(a["segmentation"]) for a in result.coco["annotations"]
    }


@pytest.mark.parametrize("name", list(SHAPES))
def test_labelme_shapes_import_as_labelmes_own_masks(imported, name):
    kind, points = SHAPES[name]
    expected = _reference(kind, points)
    assert expected.any()
    assert iou(imported[name], expected) >= 0.99, name
    assert np.array_equal(imported[name], expected), name  # exact, pixel for pixel


def test_group_id_union_is_the_union_of_labelmes_masks(tmp_path):
    write_image(tmp_path / "a.png")
    parts = [SHAPES["big"], SHAPES["small"]]
    shapes = [
        {"label": "obj", "points": points, "group_id": 7, "shape_type": kind}
        for kind, points in parts
    ]
    data = {"shapes": shapes, "imagePath": "a.png", "imageHeight": H, "imageWidth": W}
    (tmp_path / "a.json").write_text(json.dumps(data))
    (ann,) = import_labelme(tmp_path / "a.json", tmp_path).coco["annotations"]
    expected = _reference(*parts[0]) | _reference(*parts[1])
    assert np.array_equal(decode_mask(ann["segmentation"]), expected)


def test_mask_shape_with_a_fractional_box_is_placed_at_the_rounded_corner(tmp_path):
    write_image(tmp_path / "a.png")
    region = np.zeros((6, 9), np.uint8)
    region[1:5, 2:8] = 255
    ok, png = cv2.imencode(".png", region)
    assert ok
    shape = {"label": "m", "shape_type": "mask", "points": [[10.6, 20.4], [18.2, 25.7]],
             "mask": base64.b64encode(png.tobytes()).decode()}  # fmt: skip
    data = {"shapes": [shape], "imagePath": "a.png", "imageHeight": H, "imageWidth": W}
    (tmp_path / "a.json").write_text(json.dumps(data))
    (ann,) = import_labelme(tmp_path / "a.json", tmp_path).coco["annotations"]
    expected = np.zeros((H, W), bool)
    expected[20 + 1 : 20 + 5, 11 + 2 : 11 + 8] = True  # origin (round 10.6, round 20.4)
    assert np.array_equal(decode_mask(ann["segmentation"]), expected)
