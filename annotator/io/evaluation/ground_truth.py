"""Ground-truth objects for `annotator evaluate interactive`.

Sources: a COCO instances file written by any tool (polygons, uncompressed or compressed RLE),
one of our project files (its recorded images root is used), or a LabelMe folder (through the
LabelMe importer). Unlike the project importer, a COCO file is read leniently, one object at a
time: a malformed mask, an unknown image or category, or an image file that is missing is a
*problem* reported for that object, and the object is skipped; ``iscrowd`` regions and objects
under ``min_area`` pixels are skipped and counted. Only an unreadable file is fatal.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from annotator.io.checks import is_int, safe_relative
from annotator.io.coco_rle import checked_coco_rle
from annotator.io.formats.coco_import import load_json
from annotator.io.formats.common import FormatError
from annotator.io.masks import (
    Rle,
    decode_mask,
    mask_area,
    rle_from_polygons,
)


@dataclass(frozen=True)
class GtObject:
    """One object: source annotation id, category name, compressed RLE, area in pixels."""

    object_id: int
    category: str
    rle: Rle
    area: int

    def mask(self) -> np.ndarray:
        """(H, W) bool mask."""
        return decode_mask(self.rle)


@dataclass
class GtImage:
    """An image file (posix path relative to the images root) and its objects."""

    file_name: str
    height: int
    width: int
    objects: list[GtObject] = field(default_factory=list)


@dataclass
class GroundTruth:
    """images: those with at least one usable object; problems: (where, reason) per object or
    image that was skipped; skipped: counts of crowd regions and objects under min_area."""

    images_root: Path
    images: list[GtImage] = field(default_factory=list)
    problems: list[tuple[str, str]] = field(default_factory=list)
    skipped: dict[str, int] = field(default_factory=lambda: {"crowd": 0, "small": 0})

    @property
    def n_objects(self) -> int:
        return sum(len(im.objects) for im in self.images)


def _segmentation_rle(seg: Any, h: int, w: int) -> Rle:
    """COCO segmentation (polygons / RLE) -> compressed RLE; ValueError says what is wrong."""
    if isinstance(seg, list):
        if not seg:
            raise ValueError("has no segmentation")
        return rle_from_polygons(seg, h, w)
    if not isinstance(seg, dict):
        raise ValueError(f"segmentation must be polygons or RLE, got {type(seg).__name__}")
    return checked_coco_rle(seg, h, w)


def _default_root(source: Path, data: dict[str, Any]) -> Path:
    app = data.get("annotator")
    recorded = app.get("images_root") if isinstance(app, dict) else None
    return source.parent / recorded if isinstance(recorded, str) else source.parent


def _images(data: dict[str, Any], root: Path, gt: GroundTruth) -> dict[Any, GtImage | str]:
    """image id -> GtImage, or the reason its objects cannot be used."""
    out: dict[Any, GtImage | str] = {}
    for i, im in enumerate(data.get("images") or []):
        if not isinstance(im, dict) or "id" not in im:
            gt.problems.append((f"images[{i}]", "is not an image record with an id"))
            continue
        name, h, w = im.get("file_name"), im.get("height"), im.get("width")
        rel = safe_relative(name, root)
        if rel is None:
            out[im["id"]] = f"image file_name {name!r} is not a file under {root}"
        elif not (root / rel).is_file():
            out[im["id"]] = f"image file {rel} not found under {root}"
        elif not (is_int(h) and is_int(w) and h > 0 and w > 0):
            out[im["id"]] = f"image {rel} has no valid height/width"
        else:
            out[im["id"]] = GtImage(rel, h, w)
    return out


def ground_truth_from_coco(
    data: dict[str, Any], images_root: Path, min_area: int = 0, source: str = "GT"
) -> GroundTruth:
    """Usable objects of a COCO dict; problems and skips recorded, never raised."""
    gt = GroundTruth(Path(os.path.abspath(images_root)))
    images = _images(data, gt.images_root, gt)
    names = {
        c["id"]: str(c.get("name") or f"class {c['id']}")
        for c in data.get("categories") or []
        if isinstance(c, dict) and "id" in c
    }
    for i, ann in enumerate(data.get("annotations") or []):
        place = f"{source}: annotations[{i}]"
        if not isinstance(ann, dict):
            gt.problems.append((place, "is not an object"))
            continue
        place += f" (id {ann.get('id')!r})"
        image = images.get(ann.get("image_id"))
        if image is None:
            gt.problems.append((place, f"image_id {ann.get('image_id')!r} is not in images"))
            continue
        if isinstance(image, str):
            gt.problems.append((place, image))
            continue
        if ann.get("iscrowd") == 1:
            gt.skipped["crowd"] += 1
            continue
        category = names.get(ann.get("category_id"))
        if category is None:
            gt.problems.append((place, f"category_id {ann.get('category_id')!r} is unknown"))
            continue
        try:
            rle = _segmentation_rle(ann.get("segmentation"), image.height, image.width)
            area = mask_area(rle)
        except (ValueError, TypeError) as exc:
            gt.problems.append((place, f"malformed mask: {exc}"))
            continue
        if area == 0:
            gt.problems.append((place, "empty mask"))
            continue
        if area < min_area:
            gt.skipped["small"] += 1
            continue
        object_id = ann["id"] if is_int(ann.get("id")) else i + 1
        image.objects.append(GtObject(object_id, category, rle, area))
    gt.images = [im for im in images.values() if isinstance(im, GtImage) and im.objects]
    return gt


def load_ground_truth(
    source: str | os.PathLike[str],
    images_root: str | os.PathLike[str] | None = None,
    min_area: int = 0,
) -> GroundTruth:
    """Ground truth from a COCO / project JSON file or a LabelMe folder.

    images_root: where file_names resolve; default the project's recorded root, else the JSON's
    folder (a LabelMe folder: itself). Raises FormatError only when the file cannot be read.
    """
    path = Path(source)
    if path.is_dir():
        from annotator.io.formats.labelme_import import import_labelme

        root = Path(images_root) if images_root is not None else path
        result = import_labelme(path, root)
        return ground_truth_from_coco(result.coco, root, min_area, path.name)
    data = load_json(path)
    if not isinstance(data, dict) or not isinstance(data.get("images"), list):
        raise FormatError(path, None, "not a COCO instances file (no 'images' list)")
    root = Path(images_root) if images_root is not None else _default_root(path, data)
    return ground_truth_from_coco(data, root, min_area, path.name)
