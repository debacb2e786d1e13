"""Synthetic shapes and a small project on disk for the import/export tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import cv2
import numpy as np

from annotator.io.formats.common import annotation_fields

H, W = 80, 100


def disk(
    h: int = H, w: int = W, center: tuple[int, int] = (50, 40), radius: int = 20
) -> np.ndarray:
    m = np.zeros((h, w), np.uint8)
    cv2.circle(m, center, radius, 1, thickness=-1)
    return m.astype(bool)


def rectangle(h: int = H, w: int = W) -> np.ndarray:
    m = np.zeros((h, w), bool)
    m[10:35, 20:80] = True
    return m


def l_shape(h: int = H, w: int = W) -> np.ndarray:
    m = np.zeros((h, w), bool)
    m[10:70, 10:30] = True
    m[50:70, 10:75] = True
    return m


def ring(h: int = H, w: int = W) -> np.ndarray:
    m = np.zeros((h, w), np.uint8)
    cv2.circle(m, (50, 40), 30, 1, thickness=-1)
    cv2.circle(m, (50, 40), 12, 0, thickness=-1)
    return m.astype(bool)


SHAPES = {"disk": disk, "rectangle": rectangle, "l_shape": l_shape, "ring": ring}


def iou(a: np.ndarray, b: np.ndarray) -> float:
    return float((a & b).sum() / (a | b).sum())


def write_image(path: Path, h: int = H, w: int = W) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(len(path.name))
    assert cv2.imwrite(str(path), rng.integers(0, 255, (h, w, 3), dtype=np.uint8))
    return path


def make_project(images_root: Path, n_images: int = 4) -> dict[str, Any]:
    """A project dict: n images (one in a sub-folder), each carrying all four test shapes."""
    images, annotations = [], []
    categories = [
        {"id": 1, "name": "round", "supercategory": "", "color": "#ff0000"},
        {"id": 3, "name": "box", "supercategory": "", "color": "#00ff00"},
    ]
    for i in range(1, n_images + 1):
        name = f"sub/img{i}.png" if i == 1 else f"img{i}.png"
        write_image(images_root / name)
        images.append({"id": i, "file_name": name, "width": W, "height": H})
        for k, (shape_name, make) in enumerate(SHAPES.items()):
            ann = {"id": len(annotations) + 1, "image_id": i, "category_id": 1 if k % 2 == 0 else 3}
            ann |= annotation_fields(make())
            if shape_name == "disk":
                ann |= {"predicted_iou": 0.9, "stability_score": 0.95, "point_coords": [[50, 40]]}
            annotations.append(ann)
    return {"images": images, "categories": categories, "annotations": annotations}
