"""Checks that a parsed project file is a COCO instances dict the app can use, before any use.

Each problem names the place in the JSON (``annotations[12].bbox``) and the reason. Masks are
checked through their RLE ``size`` field and pycocotools' area/box (no decoding), so validating
10,000 annotations takes milliseconds.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from annotator.io.checks import is_int, is_number, safe_relative, size_limit_problem
from annotator.io.masks import batch_area_bbox, rle_pixel_counts
from annotator.io.sequence import (
    TRACK_KEY,
    frame_keys_problem,
    frame_of,
    frame_taken,
    track_id_problem,
)

MAX_PROBLEMS = 20  # enough to see a pattern; a broken file could otherwise yield thousands


@dataclass(frozen=True)
class Problem:
    place: str  # JSON path such as "annotations[12].bbox"
    reason: str

    def __str__(self) -> str:
        return f"{self.place}: {self.reason}" if self.place else self.reason


class ProjectLoadError(ValueError):
    """A project file cannot be loaded. `problems` lists what is wrong, each with its place."""

    def __init__(self, path: str | os.PathLike[str], problems: list[Problem]) -> None:
        self.path = Path(path)
        self.problems = problems
        lines = [f"cannot load project {self.path}: {problems[0]}"]
        lines += [f"  also {p}" for p in problems[1:MAX_PROBLEMS]]
        if len(problems) > MAX_PROBLEMS:
            lines.append(f"  ... and {len(problems) - MAX_PROBLEMS} more problems")
        super().__init__("\n".join(lines))


class UntrustedImagesRootError(ProjectLoadError):
    """The file records an images root outside its own folder; ``recorded`` is that folder
    (resolved against the project's folder). Load again with ``images_root=`` to use it."""

    def __init__(self, path: str | os.PathLike[str], problem: Problem, recorded: Path) -> None:
        super().__init__(path, [problem])
        self.recorded = recorded


class _TooMany(Exception):
    pass


@dataclass
class _Collector:
    problems: list[Problem] = field(default_factory=list)

    def add(self, place: str, reason: str) -> None:
        self.problems.append(Problem(place, reason))
        if len(self.problems) > MAX_PROBLEMS:
            raise _TooMany


def _check_ids(col: _Collector, section: str, items: list[Any], required: tuple) -> dict:
    """Per-section shape checks; returns {id: item} for the well-formed items."""
    by_id: dict[int, Any] = {}
    for index, item in enumerate(items):
        place = f"{section}[{index}]"
        if not isinstance(item, Mapping):
            col.add(place, f"expected an object, got {type(item).__name__}")
            continue
        missing = [k for k in required if k not in item or item[k] is None]
        if missing:
            col.add(place, f"missing required key(s) {', '.join(repr(k) for k in missing)}")
            continue
        item_id = item["id"]
        if not is_int(item_id):
            col.add(f"{place}.id", f"must be an integer, got {item_id!r}")
        elif item_id in by_id:
            col.add(f"{place}.id", f"duplicate id {item_id} (first used by another entry)")
        else:
            by_id[item_id] = item
    return by_id


def _check_images(col: _Collector, images: list[Any], images_root: Path | None) -> dict:
    by_id = _check_ids(col, "images", images, ("id", "file_name", "width", "height"))
    seen_names: dict[str, int] = {}
    seen_frames: dict[tuple[str, int], int] = {}
    index_of = {id(item): i for i, item in enumerate(images)}
    for image_id, image in list(by_id.items()):
        place = f"images[{index_of[id(image)]}]"
        for key in ("width", "height"):
            if not is_int(image[key]) or image[key] <= 0:
                col.add(f"{place}.{key}", f"must be a positive integer, got {image[key]!r}")
                by_id.pop(image_id, None)
        if image_id in by_id:
            too_large = size_limit_problem(image["width"], image["height"])
            if too_large:
                col.add(f"{place}.width/height", too_large)
                by_id.pop(image_id, None)
        name = image["file_name"]
        normal = safe_relative(name, images_root)
        if normal is None:
            col.add(f"{place}.file_name", f"{name!r} is not a path inside the images root")
        elif normal in seen_names:
            col.add(
                f"{place}.file_name", f"{name!r} is listed twice (also image {seen_names[normal]})"
            )
        else:
            seen_names[normal] = image_id
        _check_frame(col, place, image, seen_frames)
    return by_id


def _check_frame(col: _Collector, place: str, image: Mapping, seen: dict) -> None:
    """The sequence keys of one image (sequence.py); `seen`: (video, frame_index) -> image id."""
    problem = frame_keys_problem(image)
    if problem is not None:
        col.add(f"{place}.{problem[0]}", problem[1])
        return
    frame = frame_of(image)
    if frame is None:
        return
    if frame in seen:
        col.add(place, frame_taken(frame, seen[frame]))
    else:
        seen[frame] = image["id"]


def _check_annotation(col: _Collector, place: str, ann: Mapping, images: dict, cats: dict) -> bool:
    ok = True
    # Ids are checked to be integers before any lookup: [1] or {} would raise TypeError there.
    image = images.get(ann["image_id"]) if is_int(ann["image_id"]) else None
    if image is None:
        col.add(f"{place}.image_id", f"no image with id {ann['image_id']!r}")
        ok = False
    if not is_int(ann["category_id"]) or ann["category_id"] not in cats:
        col.add(f"{place}.category_id", f"no category with id {ann['category_id']!r}")
        ok = False
    seg = ann["segmentation"]
    if not isinstance(seg, Mapping) or not isinstance(seg.get("counts"), str):
        kind = (
            "polygons"
            if isinstance(seg, list)
            else "uncompressed RLE"
            if isinstance(seg, Mapping)
            else type(seg).__name__
        )
        col.add(f"{place}.segmentation", f"must be a compressed RLE with str counts, got {kind} "
                "(convert other COCO files with 'annotator import --format coco')")  # fmt: skip
        ok = False
    elif not seg["counts"].isascii():
        col.add(f"{place}.segmentation.counts", "is not a valid RLE string (non-ASCII characters)")
        ok = False
    else:
        size = seg.get("size")
        if not (isinstance(size, list) and len(size) == 2 and all(is_int(v) for v in size)):
            col.add(f"{place}.segmentation.size", f"must be [height, width], got {size!r}")
            ok = False
        elif image is not None and size != [image["height"], image["width"]]:
            col.add(f"{place}.segmentation.size", f"{size} does not match image "
                    f"{image['file_name']!r} ({image['height']}, {image['width']})")  # fmt: skip
            ok = False
    bbox = ann.get("bbox")
    if bbox is not None:
        shaped = isinstance(bbox, list) and len(bbox) == 4
        if not (shaped and all(is_number(v, finite=False) for v in bbox)):
            col.add(f"{place}.bbox", f"must be [x, y, width, height], got {bbox!r}")
        elif not all(is_number(v) for v in bbox):
            col.add(f"{place}.bbox", f"contains NaN or infinity: {bbox}")
        elif min(bbox) < 0:
            col.add(f"{place}.bbox", f"has a negative value: {bbox}")
    area = ann.get("area")
    if area is not None and (not is_number(area) or area < 0):
        col.add(f"{place}.area", f"must be a non-negative number, got {area!r}")
    if TRACK_KEY in ann and track_id_problem(ann[TRACK_KEY]) is not None:
        col.add(f"{place}.{TRACK_KEY}", str(track_id_problem(ann[TRACK_KEY])))
    if ann.get("iscrowd") not in (None, 0, 1):
        col.add(f"{place}.iscrowd", f"must be 0 or 1, got {ann.get('iscrowd')!r}")
    return ok


def validate_project(
    data: Any,
    images_root: Path | None = None,
    measured: dict[int, tuple[int, list[float]]] | None = None,
) -> list[Problem]:
    """All problems found in a parsed project (empty list: loadable), at most MAX_PROBLEMS + 1.

    measured: if given, filled with {annotation id: (area, XYWH box)} computed on the way, for
    Document.from_coco to reuse.
    """
    col = _Collector()
    try:
        _validate(col, data, images_root, measured if measured is not None else {})
    except _TooMany:
        pass
    return col.problems


def _validate(col: _Collector, data: Any, images_root: Path | None, measured: dict) -> None:
    if not isinstance(data, Mapping):
        col.add("", f"the top level must be a JSON object, got {type(data).__name__}")
        return
    sections = {}
    for key in ("images", "categories", "annotations"):
        if key not in data:
            col.add("", f"missing required key {key!r}")
        elif not isinstance(data[key], list):
            col.add(key, f"must be a list, got {type(data[key]).__name__}")
        else:
            sections[key] = data[key]
    if len(sections) < 3:
        return
    images = _check_images(col, sections["images"], images_root)
    cats = _check_ids(col, "categories", sections["categories"], ("id", "name"))
    for index, cat in enumerate(sections["categories"]):
        name = cat.get("name") if isinstance(cat, Mapping) else None
        if name is not None and not (isinstance(name, str) and name.strip()):
            col.add(
                f"categories[{index}].name", f"must be a non-empty string, got {cat.get('name')!r}"
            )
    required = ("id", "image_id", "category_id", "segmentation")
    anns = _check_ids(col, "annotations", sections["annotations"], required)
    index_of = {id(item): i for i, item in enumerate(sections["annotations"])}
    checked = []
    for ann in anns.values():
        place = f"annotations[{index_of[id(ann)]}]"
        if _check_annotation(col, place, ann, images, cats):
            checked.append((place, ann))
    # Malformed counts strings show up as areas or boxes beyond the image, without decoding.
    areas, boxes = batch_area_bbox([ann["segmentation"] for _, ann in checked])
    # Truncated strings and bad characters need the runs themselves (pycocotools checks neither).
    pixels = rle_pixel_counts([ann["segmentation"]["counts"] for _, ann in checked]).tolist()
    for (place, ann), area, box, covered in zip(
        checked, areas.tolist(), boxes.tolist(), pixels, strict=True
    ):
        height, width = ann["segmentation"]["size"]
        if covered != height * width:
            why = (
                "is malformed" if covered < 0 else f"covers {covered} pixels, not {height}x{width}"
            )
            col.add(f"{place}.segmentation.counts", f"is not a valid RLE: the string {why}")
        elif area > height * width or box[0] + box[2] > width or box[1] + box[3] > height:
            col.add(f"{place}.segmentation.counts", "is not a valid RLE for its size")
        else:
            measured[ann["id"]] = (area, box)
