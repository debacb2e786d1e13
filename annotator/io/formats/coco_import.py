"""Import COCO instances files written by other tools into a project dict.

Accepted: polygon, uncompressed-RLE and compressed-RLE segmentations (all stored as
compressed RLE with str counts); ``iscrowd`` 1 (kept as an ordinary instance, counted in a
warning); category ids starting at 0 or with gaps; null fields; extra top-level keys
(``info``, ``licenses``, ``type``...), which are dropped. Category names are kept, and so are
positive ids; id 0 or a negative id is given the next free id (reported). labelme2coco's
``_background_`` (category 0) and any ``__ignore__`` category are dropped, with a warning,
when no annotation uses them. ``area`` and ``bbox`` are recomputed from the mask; the
provenance keys an annotator project carries (predicted_iou, point_coords, model...) are kept
when present. Image sizes come from the image files when the source has none.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from annotator.io.checks import is_int, is_number, safe_relative, size_limit_problem
from annotator.io.coco_rle import RleFieldError, checked_coco_rle
from annotator.io.document import PROVENANCE_KEYS
from annotator.io.formats.common import (
    FormatError,
    ImportResult,
    Tally,
    annotation_fields,
    drop_unused_placeholders,
)
from annotator.io.images import ImageReadError, image_size
from annotator.io.masks import decode_mask, rle_from_polygons
from annotator.io.records import check_color


def load_json(path: Path) -> Any:
    """Reads a JSON file; errors name the file and the line and column."""
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except OSError as exc:
        raise FormatError(path, None, f"cannot read: {exc.strerror or exc}") from exc
    except UnicodeDecodeError as exc:
        raise FormatError(path, None, f"not UTF-8 text ({exc.reason})") from exc
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise FormatError(
            path, f"line {exc.lineno} column {exc.colno}", f"invalid JSON: {exc.msg}"
        ) from exc


def _require_list(path: Path, data: dict[str, Any], key: str, required: bool) -> list[Any]:
    value = data.get(key)
    if value is None:
        if required:
            raise FormatError(path, key, "missing (a COCO instances file needs it)")
        return []
    if not isinstance(value, list):
        raise FormatError(path, key, f"must be a list, got {type(value).__name__}")
    return value


def _assign_ids(ids: list[int]) -> list[int]:
    """Keeps positive ids; gives 0 and negative ones the next free ids, in order."""
    next_id = max([i for i in ids if i > 0], default=0) + 1
    out = []
    for i in ids:
        if i > 0:
            out.append(i)
        else:
            out.append(next_id)
            next_id += 1
    return out


def _object_ids(path: Path, items: list[Any], key: str) -> list[int]:
    ids: list[int] = []
    seen: dict[int, int] = {}
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            raise FormatError(path, f"{key}[{i}]", f"must be an object, got {type(item).__name__}")
        value = item.get("id")
        if not is_int(value):
            raise FormatError(path, f"{key}[{i}].id", f"must be an integer, got {value!r}")
        if value in seen:
            raise FormatError(
                path, f"{key}[{i}].id", f"duplicate id {value} (also {key}[{seen[value]}])"
            )
        seen[value] = i
        ids.append(value)
    return ids


def _images(
    path: Path, raw: list[Any], images_root: Path
) -> tuple[list[dict[str, Any]], dict[int, int]]:
    old_ids = _object_ids(path, raw, "images")
    new_ids = _assign_ids(old_ids)
    images: list[dict[str, Any]] = []
    names: dict[str, int] = {}
    for i, (item, new_id) in enumerate(zip(raw, new_ids, strict=True)):
        name = item.get("file_name")
        if not isinstance(name, str) or not name.strip():
            raise FormatError(
                path, f"images[{i}].file_name", f"must be a non-empty string, got {name!r}"
            )
        rel = safe_relative(name, images_root)
        if rel is None:
            raise FormatError(
                path, f"images[{i}].file_name", f"{name!r} is outside the images root {images_root}"
            )
        if rel in names:
            raise FormatError(
                path, f"images[{i}].file_name", f"{name!r} repeats images[{names[rel]}]"
            )
        names[rel] = i
        width, height = item.get("width"), item.get("height")
        if width is None or height is None:
            try:
                width, height = image_size(images_root / rel)
            except ImageReadError as exc:
                raise FormatError(path, f"images[{i}]", f"has no width/height and {exc}") from exc
        elif not (is_int(width) and is_int(height) and width > 0 and height > 0):
            raise FormatError(
                path,
                f"images[{i}]",
                f"width/height must be positive integers, got {width!r}x{height!r}",
            )
        too_large = size_limit_problem(width, height)
        if too_large:
            raise FormatError(path, f"images[{i}]", too_large)
        images.append({"id": new_id, "file_name": rel, "width": width, "height": height})
    return images, dict(zip(old_ids, new_ids, strict=True))


def _categories(path: Path, raw: list[Any]) -> tuple[list[dict[str, Any]], dict[int, int]]:
    old_ids = _object_ids(path, raw, "categories")
    new_ids = _assign_ids(old_ids)
    out = []
    for i, (item, new_id) in enumerate(zip(raw, new_ids, strict=True)):
        name = item.get("name")
        if not isinstance(name, str) or not name.strip():
            raise FormatError(
                path, f"categories[{i}].name", f"must be a non-empty string, got {name!r}"
            )
        category: dict[str, Any] = {
            "id": new_id,
            "name": name,
            "supercategory": item.get("supercategory") or "",
        }
        color = item.get("color")
        try:
            category["color"] = check_color(color)
        except ValueError:
            pass  # another tool's colour format: the document assigns one
        out.append(category)
    return out, dict(zip(old_ids, new_ids, strict=True))


def _polygon_mask(
    path: Path, place: str, seg: list[Any], h: int, w: int, tally: Tally
) -> np.ndarray:
    polygons = []
    for j, poly in enumerate(seg):
        if not isinstance(poly, list) or not all(is_number(v) for v in poly):
            raise FormatError(path, f"{place}[{j}]", "a polygon must be a list of finite numbers")
        if len(poly) % 2:
            raise FormatError(path, f"{place}[{j}]", f"odd number of coordinates ({len(poly)})")
        if len(poly) < 6:
            tally.add("polygons with fewer than 3 points dropped", f"{place}[{j}]")
            continue
        polygons.append([float(v) for v in poly])
    if not polygons:
        return np.zeros((h, w), dtype=bool)
    try:  # clips vertices beyond masks.POLYGON_MARGIN, refuses outlines too long to rasterise
        rle = rle_from_polygons(polygons, h, w)
    except ValueError as exc:
        raise FormatError(path, place, str(exc)) from None
    return decode_mask(rle)


def _rle_mask(path: Path, place: str, seg: dict[str, Any], h: int, w: int) -> np.ndarray:
    try:
        rle = checked_coco_rle(seg, h, w)
    except RleFieldError as exc:
        raise FormatError(path, f"{place}{exc.field}", str(exc)) from None
    try:
        return decode_mask(rle)
    except Exception as exc:  # pycocotools raises bare errors on corrupt counts
        raise FormatError(path, f"{place}.counts", f"corrupt compressed RLE ({exc})") from exc


def import_coco(source: str | Path, images_root: str | Path) -> ImportResult:
    """Reads a COCO instances JSON into a project dict; file names relative to images_root."""
    path, root = Path(source), Path(images_root)
    data = load_json(path)
    if not isinstance(data, dict):
        raise FormatError(path, None, f"top level must be a JSON object, got {type(data).__name__}")
    tally = Tally()
    images, image_map = _images(path, _require_list(path, data, "images", True), root)
    categories, category_map = _categories(path, _require_list(path, data, "categories", False))
    sizes = {im["id"]: (im["height"], im["width"]) for im in images}
    raw_anns = _require_list(path, data, "annotations", False)
    old_ann_ids = _object_ids(path, raw_anns, "annotations")
    annotations = []
    for i, (item, new_id) in enumerate(zip(raw_anns, _assign_ids(old_ann_ids), strict=True)):
        place = f"annotations[{i}]"
        image_id, category_id = item.get("image_id"), item.get("category_id")
        if not is_int(image_id) or image_id not in image_map:  # is_int first: [1] is unhashable
            raise FormatError(
                path, f"{place}.image_id", f"{image_id!r} is not the id of an image in the file"
            )
        if (
            not is_int(category_id) or category_id not in category_map
        ):  # is_int first: [1] is unhashable
            raise FormatError(
                path,
                f"{place}.category_id",
                f"{category_id!r} is not the id of a category in the file",
            )
        h, w = sizes[image_map[image_id]]
        seg = item.get("segmentation")
        if seg is None or seg == [] or seg == {}:
            tally.add("annotations without a segmentation skipped", place)
            continue
        if isinstance(seg, list):
            mask = _polygon_mask(path, f"{place}.segmentation", seg, h, w, tally)
        elif isinstance(seg, dict):
            mask = _rle_mask(path, f"{place}.segmentation", seg, h, w)
        else:
            raise FormatError(
                path, f"{place}.segmentation", f"must be polygons or RLE, got {type(seg).__name__}"
            )
        if not mask.any():
            tally.add("annotations with an empty mask skipped", place)
            continue
        if item.get("iscrowd") == 1:
            tally.add("crowd regions (iscrowd 1) imported as ordinary instances", place)
        annotations.append(
            {
                "id": new_id,
                "image_id": image_map[image_id],
                "category_id": category_map[category_id],
            }
            | annotation_fields(mask)
            | {k: item[k] for k in PROVENANCE_KEYS if item.get(k) is not None}
        )
    categories = drop_unused_placeholders(categories, annotations, tally)
    kept = {"image": {im["id"] for im in images}, "category": {c["id"] for c in categories}}
    for kind, mapping in (("image", image_map), ("category", category_map)):
        changed = [
            f"{old}->{new}" for old, new in mapping.items() if old != new and new in kept[kind]
        ]
        if changed:
            tally.add(f"{kind} ids below 1 renumbered", ", ".join(changed))
    coco = {"images": images, "categories": categories, "annotations": annotations}
    return ImportResult(coco=coco, warnings=[f"{path.name}: {line}" for line in tally.lines()])
