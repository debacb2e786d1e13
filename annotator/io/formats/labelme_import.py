"""Import LabelMe JSON files (one per image) into a project dict.

Masks are labelme's own (``labelme.utils.shape_to_mask``): each shape is drawn with PIL
``ImageDraw`` on the raw float points, outline and fill 1, so fractional vertices land on the
pixels labelme gives them. ``polygon`` (the default) and ``oriented_rectangle``: a filled
polygon; ``rectangle``: both corners, in any order; ``circle``: centre and a point on the
edge; ``line`` and ``linestrip``: 10 px wide (linestrip turns rounded); ``point``: a disc of
radius 5; ``mask`` (LabelMe 5.x): a base64 PNG of the box region, its top-left pixel at the
rounded first point (an integer box must match the PNG's size, both corners inclusive).
``points`` shapes are skipped with a warning. Shapes with the same label and ``group_id``
become one instance (union); ``group_id`` null means one instance per shape. ``__ignore__``
labels are skipped.

Categories: sorted by name (ids 1, 2, ...), so repeated imports agree. A labels file
(labelme's labels.txt, one name per line) fixes their order and ids instead: ``__ignore__``
(labelme's -1) is skipped and ``_background_`` (labelme's 0) is not numbered, so the other
names get labelme2coco's ids 1, 2, ...; a shape label missing from the file is an error, and
an unused ``_background_`` is dropped with a note.

Images: ``imagePath`` is resolved against the JSON's folder, then the images root, then by
base name in the images root. The file wins over embedded ``imageData``; when no file exists,
the embedded image is returned for extraction to ``<images root>/<base name>`` (never over an
existing file) and its size is read from it.
"""

from __future__ import annotations

import base64
import binascii
import math
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import Any

import cv2
import numpy as np
from PIL import Image, ImageDraw

from annotator.io.formats.coco_import import load_json
from annotator.io.formats.common import (
    PLACEHOLDER_CATEGORIES,
    FormatError,
    ImportResult,
    Tally,
    annotation_fields,
    drop_unused_placeholders,
    relative_inside,
)
from annotator.io.images import ImageReadError, check_encoded_image, image_size
from annotator.io.masks import bound_shape_points

IGNORE_LABEL = "__ignore__"
LINE_WIDTH = 10  # px, labelme's shape_to_mask default for line and linestrip
POINT_RADIUS = 5  # px, labelme's point_size: a point is a disc of this radius
_AREA_SHAPES = {
    "polygon", "rectangle", "oriented_rectangle", "circle", "mask", "line", "linestrip", "point"
}  # fmt: skip
_NO_AREA_SHAPES = {"points"}


def _number_points(
    path: Path, place: str, points: Any, count: int | None, least: int = 3
) -> np.ndarray:
    """Validates ``points`` -> (N, 2) float64 xy; ``count`` fixes N, otherwise N ≥ ``least``."""
    try:
        arr = np.asarray(points, dtype=np.float64)
    except (TypeError, ValueError):
        raise FormatError(path, place, "must be a list of [x, y] numbers") from None
    if arr.ndim != 2 or arr.shape[1] != 2 or not np.all(np.isfinite(arr)):
        raise FormatError(path, place, "must be a list of [x, y] numbers")
    if count is not None and len(arr) != count:
        raise FormatError(path, place, f"needs {count} points, got {len(arr)}")
    if count is None and len(arr) < least:
        what = "a polygon" if least == 3 else "a linestrip"
        raise FormatError(path, place, f"{what} needs at least {least} points, got {len(arr)}")
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
    """One LabelMe shape -> (h, w) bool mask in image pixels, drawn as labelme draws it.

    PIL ``ImageDraw`` on the raw float points with outline and fill 1 (labelme's
    ``shape_to_mask``), so the pixels are labelme's own, fractional vertices included.
    """
    try:  # hostile coordinates first: clipped or refused beyond masks.POLYGON_MARGIN
        shape = {**shape, "points": bound_shape_points(shape.get("points"), kind, h, w)}
    except ValueError as exc:
        raise FormatError(path, f"{place}.points", str(exc)) from None
    points = shape.get("points")
    where = f"{place}.points"
    if kind == "mask":
        return _mask_shape(path, place, shape, h, w)
    canvas = Image.new("L", (w, h), 0)
    draw = ImageDraw.Draw(canvas)
    if kind in ("circle", "rectangle", "line", "point"):
        xy = _number_points(path, where, points, 1 if kind == "point" else 2).tolist()
    elif kind == "linestrip":
        xy = _number_points(path, where, points, None, least=2).tolist()
    else:  # polygon, oriented_rectangle
        count = 4 if kind == "oriented_rectangle" else None
        xy = _number_points(path, where, points, count).tolist()
    if kind == "circle":
        (cx, cy), (ex, ey) = xy
        r = math.hypot(cx - ex, cy - ey)
        draw.ellipse([cx - r, cy - r, cx + r, cy + r], outline=1, fill=1)
    elif kind == "rectangle":
        (x0, y0), (x1, y1) = xy  # corners in any order, as labelme normalises them
        draw.rectangle([min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1)], outline=1, fill=1)
    elif kind in ("line", "linestrip"):
        joint = "curve" if kind == "linestrip" else None  # labelme rounds linestrip turns
        draw.line([tuple(p) for p in xy], fill=1, width=LINE_WIDTH, joint=joint)
    elif kind == "point":
        ((cx, cy),) = xy
        r = POINT_RADIUS
        draw.ellipse([cx - r, cy - r, cx + r, cy + r], outline=1, fill=1)
    else:
        draw.polygon([tuple(p) for p in xy], outline=1, fill=1)
    return np.asarray(canvas) != 0


def _mask_shape(path: Path, place: str, shape: dict[str, Any], h: int, w: int) -> np.ndarray:
    """A ``mask`` shape: its PNG pasted with its top-left pixel at the rounded first point.

    Integer boxes must match the PNG's size (both corners inclusive); fractional boxes use the
    PNG's own size, as labelme does. Parts past the right or bottom edge are cut off.
    """
    box = _number_points(path, f"{place}.points", shape.get("points"), 2)
    region = _decode_png_b64(path, f"{place}.mask", shape.get("mask"))
    if region.ndim == 3:
        region = region.max(axis=2)
    (x1, y1), (x2, y2) = np.round(box).astype(int).tolist()
    if np.array_equal(box, np.trunc(box)):
        expected = (y2 - y1 + 1, x2 - x1 + 1)
        if region.shape != expected:
            raise FormatError(
                path, f"{place}.mask", f"is {region.shape[1]}x{region.shape[0]} px but its box "
                f"({x1},{y1})-({x2},{y2}) is {expected[1]}x{expected[0]}"
            )  # fmt: skip
    if x1 < 0 or y1 < 0:
        raise FormatError(path, f"{place}.points", "mask box starts outside the image")
    rh, rw = region.shape
    full = np.zeros((max(h, y1 + rh), max(w, x1 + rw)), dtype=bool)
    full[y1 : y1 + rh, x1 : x1 + rw] = region != 0
    return full[:h, :w]


def read_labels(path: str | Path) -> list[str]:
    """labelme's labels.txt -> category names in order: blank lines and ``__ignore__`` left out."""
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8-sig").splitlines()
    except OSError as exc:
        raise FormatError(path, None, f"cannot read: {exc.strerror or exc}") from exc
    except UnicodeDecodeError as exc:
        raise FormatError(path, None, f"not UTF-8 text ({exc.reason})") from exc
    names: list[str] = []
    first: dict[str, int] = {}
    for number, line in enumerate(lines, start=1):
        name = line.strip()
        if not name or name == IGNORE_LABEL:
            continue
        if name in first:
            raise FormatError(path, f"line {number}", f"{name!r} repeats line {first[name]}")
        first[name] = number
        names.append(name)
    if not names:
        raise FormatError(path, None, "lists no labels")
    return names


def _categories(names: list[str], fixed: bool) -> list[dict[str, Any]]:
    """Category records: ``names`` in order when ``fixed`` (a labels file), else sorted.

    ``_background_`` is not numbered among the classes (labelme's 0); it comes last.
    """
    order = list(names) if fixed else sorted(names)
    order = [n for n in order if n not in PLACEHOLDER_CATEGORIES] + [
        n for n in order if n in PLACEHOLDER_CATEGORIES
    ]
    return [{"id": i, "name": n, "supercategory": ""} for i, n in enumerate(order, start=1)]


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


def import_labelme(
    source: str | Path, images_root: str | Path, labels: str | Path | None = None
) -> ImportResult:
    """Reads a folder of LabelMe JSON files (or one file) into a project dict.

    labels: a labelme labels.txt fixing the category order and ids (see the module docstring).
    """
    source, root = Path(source), Path(images_root)
    listed = read_labels(labels) if labels is not None else None
    if source.is_dir():
        files = sorted(p for p in source.glob("*.json") if p.is_file())
        if not files:
            raise FormatError(source, None, "no LabelMe .json files in this folder")
    elif source.is_file():
        files = [source]
    else:
        raise FormatError(source, None, "does not exist")
    tally = Tally()
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
            if listed is not None and label not in listed:
                raise FormatError(path, f"{place}.label", f"{label!r} is not in {labels}")
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
            annotations.append(
                {"id": len(annotations) + 1, "image_id": image_id, "category_id": key[0]}
                | annotation_fields(mask)
            )  # category_id holds the label until the categories are numbered
    if extracted:
        tally.add(
            "images written from embedded imageData (no image file found)",
            ", ".join(sorted(extracted)),
        )
    if not images:
        raise FormatError(
            source, None, "no LabelMe files found (JSON objects with 'shapes' and 'imagePath')"
        )
    used = {a["category_id"] for a in annotations}
    categories = _categories(listed if listed is not None else list(used), listed is not None)
    ids = {c["name"]: c["id"] for c in categories}
    for ann in annotations:
        ann["category_id"] = ids[ann["category_id"]]
    categories = drop_unused_placeholders(categories, annotations, tally)
    coco = {"images": images, "categories": categories, "annotations": annotations}
    return ImportResult(coco=coco, warnings=tally.lines(), extracted_images=extracted)
