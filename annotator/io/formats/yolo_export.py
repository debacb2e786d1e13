"""YOLO segmentation export (Ultralytics layout).

Per image ``labels/<file_name stem>.txt``: one line per instance, ``class x1 y1 x2 y2 ...``,
class = index of the category in id order, coordinates normalised to [0, 1] by the image
width and height. Vertices are the centres of boundary pixels (OpenCV contours, as
Ultralytics' own mask converter writes them), so Ultralytics' rasteriser (``cv2.fillPoly``,
boundary pixels inside) gives the mask back. YOLO has one polygon per line, so a mask with
several parts or with holes is written as one polygon whose parts and holes are joined by
zero-width bridges (see ``polygons.single_ring``); nothing is dropped. Images go to
``images/`` with ``copy_images``; ``data.yaml`` (``write_data_yaml``) gives the dataset root
and lists the class names.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from annotator.atomic import atomic_write_text
from annotator.io.formats.common import (
    Tally,
    annotations_by_image,
    categories_by_id,
    output_names,
)
from annotator.io.formats.polygons import DEFAULT_TOLERANCE, mask_to_polygons, single_ring
from annotator.io.masks import decode_mask

_NUDGE = 0.01  # px; see _line


def _line(class_index: int, ring: np.ndarray, width: int, height: int) -> str:
    # Readers that cast scaled coordinates to int (Ultralytics' polygon2mask) would turn
    # 29/100*100 = 28.999999999999996 into 28; a 0.01 px nudge keeps them on the pixel, and
    # readers that round are unaffected.
    norm = np.clip((ring + _NUDGE) / np.array([width, height], dtype=np.float64), 0.0, 1.0)
    return " ".join([str(class_index), *(f"{v:.6f}" for v in norm.ravel())])


def export_yolo(
    coco: dict[str, Any],
    out: Path,
    *,
    tolerance: float = DEFAULT_TOLERANCE,
) -> list[str]:
    """Writes ``labels/`` for the images in ``coco``; returns warning lines."""
    tally = Tally()
    names = output_names(coco, ".txt")
    class_index = {c["id"]: i for i, c in enumerate(categories_by_id(coco))}
    by_image = annotations_by_image(coco)
    for im in coco["images"]:
        lines = []
        for ann in by_image[im["id"]]:
            polys = mask_to_polygons(decode_mask(ann["segmentation"]), tolerance, "centers")
            if not polys.outers:
                continue
            if len(polys.outers) > 1 or polys.has_holes:
                tally.add(
                    "multi-part or holed masks joined into one bridged polygon",
                    f"annotation {ann['id']}",
                )
            ring = single_ring(polys)
            if len(ring) < 3:  # a lone pixel or a 2-point sliver: YOLO readers want 3 points
                ring = np.concatenate([ring, ring[::-1], ring])[:3]
            lines.append(_line(class_index[ann["category_id"]], ring, im["width"], im["height"]))
        label = out / "labels" / names[im["id"]]
        label.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(label, "".join(line + "\n" for line in lines))
    return tally.lines()


def missing_images_note(out: Path, splits: Sequence[str] | None) -> str:
    """The line telling where images must go when they were not copied beside the labels."""
    root = out.resolve().as_posix()
    if splits:
        folders = ", ".join(f"{root}/{name}/images/" for name in splits)
        where = f"in its split's folder ({folders}) under its file name in the project"
    else:
        where = f"at {root}/images/<its file name in the project>"
    return f"images were not copied; place each image {where}, or export with --copy-images"


def write_data_yaml(
    out: Path,
    class_names: Sequence[str],
    splits: Sequence[str] | None,
    *,
    images_copied: bool = True,
) -> Path:
    """Writes ``<out>/data.yaml``; returns its path.

    Hand-written because it is a handful of lines and PyYAML is not a dependency: names and
    the path are emitted as JSON strings, which are valid YAML double-quoted scalars. ``path``
    is the dataset root, absolute, and train/val are relative to it, as in Ultralytics' own
    dataset YAMLs. Without ``images_copied`` a comment says where the images must be placed.
    """
    lines = ["# Written by `annotator export --format yolo`."]
    if not images_copied:
        note = missing_images_note(out, splits).replace("\r", "\\r").replace("\n", "\\n")
        lines.append(f"# {note}")  # a folder name with a line break must not end the comment
    lines.append(f"path: {json.dumps(out.resolve().as_posix())}  # dataset root")
    if splits:
        lines += [f"{name}: {name}/images" for name in splits]
        if "val" not in splits and "train" in splits:
            lines.append("val: train/images  # no val split was requested")
    else:
        lines += ["train: images", "val: images  # no split was requested"]
    lines.append(f"nc: {len(class_names)}")
    lines.append("names:")
    lines += [f"  {i}: {json.dumps(name)}" for i, name in enumerate(class_names)]
    path = out / "data.yaml"
    atomic_write_text(path, "\n".join(lines) + "\n")
    return path
