"""Import LabelMe JSON files (one per image) into a project dict.

Shapes: ``polygon``, ``rectangle``, ``circle`` and ``mask`` (LabelMe 5.x: a base64 PNG of the
box region, the box given by ``points`` [[x1, y1], [x2, y2]] and pasted at
``[int(y1):int(y2)+1, int(x1):int(x2)+1]`` as LabelMe does). ``line``, ``linestrip``,
``point`` and ``points`` have no area and are skipped with a warning. Shapes with the same
label and ``group_id`` become one instance (union); ``group_id`` null means one instance per
shape. ``__ignore__`` labels are skipped. Rasterisation follows LabelMe (PIL): pixel centres
on integer coordinates, boundary pixels inside.

Images: ``imagePath`` is resolved against the JSON's folder, then the images root, then by
base name in the images root. The file wins over embedded ``imageData``; when no file exists,
the embedded image is returned for extraction to ``<images root>/<base name>`` (never over an
existing file) and its size is read from it.
"""

from __future__ import annotations

import base64
import binascii
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import Any

import cv2
import numpy as np

from annotator.io.formats.coco_import import load_json
from annotator.io.formats.common import (
    FormatError,
    ImportResult,
    Tally,
    annotation_fields,
    relative_inside,
)
from annotator.io.images import ImageReadError, check_encoded_image, image_size
from annotator.io.masks import bound_shape_points

IGNORE_LABEL = "__ignore__"
_AREA_SHAPES = {"polygon", "rectangle", "circle", "mask"}
_NO_AREA_SHAPES = {"line", "linestrip", "point", "points"}


def _number_points(path: Path, place: str, points: Any, count: int | None) -> np.ndarray:
    """Validates ``points`` -> (N, 2) float64 xy; ``count`` fixes N, otherwise N ≥ 3."""
    try:
        arr = np.asarray(points, dtype=np.float64)
    except (TypeError, ValueError):
        raise FormatError(path, place, "must be a list of [x, y] numbers") from None
    if arr.ndim != 2 or arr.shape[1] != 2 or not np.all(np.isfinite(arr)):
        raise FormatError(path, place, "must be a list of [x, y] numbers")
    if count is not None and len(arr) != count:
        raise FormatError(path, place, f"needs {count} points, got {len(arr)}")
    if count is None and len(arr) < 3:
        raise FormatError(path, place, f"a polygon needs at least 3 points, got {len(arr)}")
    return arr


def _decode_png_b64(path: Path, place: str, data: Any) -> np.ndarray:
    if not isinstance(data, str) or not data:
        raise FormatError(path, place, "must be a base64-encoded image")
    try:
        raw = base64.b64decode(data, validate=False)
    except (binascii.Error, ValueError):
        raise FormatError(path, place, "is not valid base64") from None
    try:  # refuse a decompression bomb from its header, before OpenCV decodes a pixel
        check_encoded_image(raw, path)
    except ImageReadError as exc:
        raise FormatError(path, place, exc.reason) from None
    image = None
    if raw:  # OpenCV asserts on an empty buffer instead of returning None
        image = cv2.imdecode(np.frombuffer(raw, np.uint8), cv2.IMREAD_UNCHANGED)
    if image is None:
        raise FormatError(path, place, "does not decode as an image")
    return image


def _shape_mask(
    path: Path, place: str, shape: dict[str, Any], kind: str, h: int, w: int
) -> np.ndarray:
    """One LabelMe shape -> (h, w) bool mask in image pixels."""
    try:  # hostile coordinates first: clipped or refused beyond masks.POLYGON_MARGIN
        shape = {**shape, "points": bound_shape_points(shape.get("points"), kind, h, w)}
    except ValueError as exc:
        raise FormatError(path, f"{place}.points", str(exc)) from None
    mask = np.zeros((h, w), dtype=np.uint8)
    points = shape.get("points")
    if kind == "polygon":
        xy = _number_points(path, f"{place}.points", points, None)
        cv2.fillPoly(mask, [np.round(xy).astype(np.int32)], 1)
        cv2.polylines(mask, [np.round(xy).astype(np.int32)], True, 1)
    elif kind == "rectangle":
        xy = np.round(_number_points(path, f"{place}.points", points, 2)).astype(int)
        x0, y0 = np.maximum(xy.min(axis=0), 0)
        x1, y1 = xy.max(axis=0) + 1  # LabelMe draws both corners inclusive
        mask[y0:y1, x0:x1] = 1
    elif kind == "circle":
        (cx, cy), (px, py) = _number_points(path, f"{place}.points", points, 2).tolist()
        radius = round(float(np.hypot(px - cx, py - cy)))
        cv2.circle(mask, (round(cx), round(cy)), radius, 1, thickness=-1)
    else:  # mask
        (x1, y1), (x2, y2) = _number_points(path, f"{place}.points", points, 2).astype(int)
        region = _decode_png_b64(path, f"{place}.mask", shape.get("mask"))
        if region.ndim == 3:
            region = region.max(axis=2)
        expected = (y2 - y1 + 1, x2 - x1 + 1)
        if region.shape != expected:
            raise FormatError(
                path, f"{place}.mask", f"is {region.shape[1]}x{region.shape[0]} px but its box "
                f"({x1},{y1})-({x2},{y2}) is {expected[1]}x{expected[0]}"
            )  # fmt: skip
        full = np.zeros((max(h, y2 + 1), max(w, x2 + 1)), dtype=np.uint8)
        if x1 < 0 or y1 < 0:
            raise FormatError(path, f"{place}.points", "mask box starts outside the image")
        full[y1 : y2 + 1, x1 : x2 + 1] = region != 0
        mask = full[:h, :w]
    return mask.astype(bool)


def _find_image(json_path: Path, image_path: str, root: Path) -> str | None:
    """The image's file name relative to the images root, or None when no such file exists."""
    # LabelMe on Windows writes backslashes; on POSIX they are never meant as characters here.
    parts = (
        PureWindowsPath(image_path).parts if "\\" in image_path else PurePosixPath(image_path).parts
    )
    candidates = [json_path.parent.joinpath(*parts), root.joinpath(*parts), root / parts[-1]]
    for candidate in candidates:
        rel = relative_inside(candidate, root)
        if rel is not None and candidate.is_file():
            return rel
    return None


def _image_record(
    path: Path, data: dict[str, Any], root: Path, extracted: dict[str, bytes]
) -> tuple[str, int, int]:
    image_path = data.get("imagePath")
    if not isinstance(image_path, str) or not image_path.strip():
        raise FormatError(path, "imagePath", f"must be a non-empty string, got {image_path!r}")
    json_w, json_h = data.get("imageWidth"), data.get("imageHeight")
    has_size = all(
        isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in (json_w, json_h)
    )
    rel = _find_image(path, image_path, root)
    if rel is not None:
        try:
            width, height = image_size(root / rel)
        except ImageReadError as exc:
            raise FormatError(path, "imagePath", str(exc)) from exc
        if has_size and (json_w, json_h) != (width, height):
            raise FormatError(
                path, "imageWidth/imageHeight",
                f"{json_w}x{json_h} disagrees with the image file {root / rel} ({width}x{height})",
            )  # fmt: skip
        return rel, width, height
    if not data.get("imageData"):
        raise FormatError(
            path, "imagePath",
            f"image {image_path!r} not found next to the JSON or in {root}, and no imageData",
        )  # fmt: skip
    embedded = _decode_png_b64(path, "imageData", data["imageData"])
    height, width = embedded.shape[:2]
    rel = PurePosixPath(
        PureWindowsPath(image_path).name if "\\" in image_path else PurePosixPath(image_path).name
    ).as_posix()
    extracted[rel] = base64.b64decode(data["imageData"])
    return rel, width, height


def import_labelme(source: str | Path, images_root: str | Path) -> ImportResult:
    """Reads a folder of LabelMe JSON files (or one file) into a project dict."""
    source, root = Path(source), Path(images_root)
    if source.is_dir():
        files = sorted(p for p in source.glob("*.json") if p.is_file())
        if not files:
            raise FormatError(source, None, "no LabelMe .json files in this folder")
    elif source.is_file():
        files = [source]
    else:
        raise FormatError(source, None, "does not exist")
    tally = Tally()
    categories: dict[str, int] = {}
    images: list[dict[str, Any]] = []
    annotations: list[dict[str, Any]] = []
    extracted: dict[str, bytes] = {}
    seen: dict[str, Path] = {}
    for path in files:
        data = load_json(path)
        if not isinstance(data, dict) or ("shapes" not in data and "imagePath" not in data):
            tally.add("JSON files that are not LabelMe files skipped", path.name)
            continue
        shapes = data.get("shapes") or []
        if not isinstance(shapes, list):
            raise FormatError(path, "shapes", "must be a list")
        rel, width, height = _image_record(path, data, root, extracted)
        if rel in seen:
            raise FormatError(path, "imagePath", f"{rel} is already annotated by {seen[rel]}")
        seen[rel] = path
        image_id = len(images) + 1
        images.append({"id": image_id, "file_name": rel, "width": width, "height": height})
        instances: dict[tuple[str, Any], np.ndarray] = {}
        first_place: dict[tuple[str, Any], str] = {}
        for i, shape in enumerate(shapes):
            place = f"shapes[{i}]"
            if not isinstance(shape, dict):
                raise FormatError(path, place, "must be an object")
            label = shape.get("label")
            if not isinstance(label, str) or not label.strip():
                raise FormatError(
                    path, f"{place}.label", f"must be a non-empty string, got {label!r}"
                )
            if label == IGNORE_LABEL:
                tally.add("__ignore__ shapes skipped", f"{path.name} {place}")
                continue
            kind = shape.get("shape_type") or "polygon"
            if not isinstance(kind, str):  # a list or dict would be unhashable below
                raise FormatError(path, f"{place}.shape_type", f"must be a string, got {kind!r}")
            if kind in _NO_AREA_SHAPES:
                tally.add(
                    f"shapes without area ({'/'.join(sorted(_NO_AREA_SHAPES))}) skipped",
                    f"{path.name} {place}",
                )
                continue
            if kind not in _AREA_SHAPES:
                raise FormatError(path, f"{place}.shape_type", f"unknown shape type {kind!r}")
            group = shape.get("group_id")
            if group is not None and (not isinstance(group, int) or isinstance(group, bool)):
                raise FormatError(
                    path, f"{place}.group_id", f"must be an integer or null, got {group!r}"
                )
            key = (label, group if group is not None else ("shape", i))
            mask = _shape_mask(path, place, shape, kind, height, width)
            if key in instances:
                instances[key] |= mask
            else:
                instances[key] = mask
                first_place[key] = place
        for key, mask in instances.items():
            if not mask.any():
                tally.add(
                    "shapes entirely outside their image skipped", f"{path.name} {first_place[key]}"
                )
                continue
            category_id = categories.setdefault(key[0], len(categories) + 1)
            annotations.append(
                {"id": len(annotations) + 1, "image_id": image_id, "category_id": category_id}
                | annotation_fields(mask)
            )
    if extracted:
        tally.add(
            "images written from embedded imageData (no image file found)",
            ", ".join(sorted(extracted)),
        )
    if not images:
        raise FormatError(
            source, None, "no LabelMe files found (JSON objects with 'shapes' and 'imagePath')"
        )
    coco = {
        "images": images,
        "categories": [
            {"id": cid, "name": name, "supercategory": ""} for name, cid in categories.items()
        ],
        "annotations": annotations,
    }
    return ImportResult(coco=coco, warnings=tally.lines(), extracted_images=extracted)
