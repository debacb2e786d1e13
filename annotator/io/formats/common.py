"""Shared pieces of the importers and exporters: errors, warning tallies, COCO subsets."""

from __future__ import annotations

import copy
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

import numpy as np

from annotator.io.checks import safe_relative
from annotator.io.images import ImageReadError, check_declared_size
from annotator.io.masks import encode_mask, mask_area, mask_bbox


class FormatError(ValueError):
    """Input another tool wrote that cannot be imported, or a project that cannot be exported.

    The message names the file, the place inside it (a JSON path such as
    ``annotations[3].segmentation``) and the reason.
    """

    def __init__(self, file: str | Path, place: str | None, reason: str) -> None:
        self.file = Path(file)
        self.place = place
        self.reason = reason
        where = f"{file}: {place}" if place else f"{file}"
        super().__init__(f"{where}: {reason}")


@dataclass
class Tally:
    """Counts of things skipped or changed, reported once per kind instead of once per item."""

    _kinds: dict[str, list[str]] = field(default_factory=dict)

    def add(self, kind: str, place: str) -> None:
        self._kinds.setdefault(kind, []).append(place)

    def lines(self) -> list[str]:
        out = []
        for kind, places in self._kinds.items():
            shown = ", ".join(places[:3]) + (", ..." if len(places) > 3 else "")
            out.append(f"{len(places)} {kind} ({shown})")
        return out


@dataclass
class ImportResult:
    """What an importer produced; nothing is written until the caller saves it.

    coco: a project dict (COCO instances, compressed RLE with str counts, iscrowd 0).
    warnings: one line per kind of thing skipped or changed, with a count and examples.
    extracted_images: file_name (relative to the images root) -> encoded image bytes, for
    images that exist only embedded in the source (LabelMe ``imageData``).
    """

    coco: dict[str, Any]
    warnings: list[str]
    extracted_images: dict[str, bytes] = field(default_factory=dict)


# labelme's placeholder labels: ``__ignore__`` (class -1) and ``_background_`` (class 0) head
# its labels.txt, and labelme2coco writes ``_background_`` as category 0. Neither is a class.
PLACEHOLDER_CATEGORIES = ("_background_", "__ignore__")


def drop_unused_placeholders(
    categories: list[dict[str, Any]], annotations: list[dict[str, Any]], tally: Tally
) -> list[dict[str, Any]]:
    """``categories`` without the placeholder ones no annotation uses; each drop is noted."""
    used = {a["category_id"] for a in annotations}
    kept = []
    for category in categories:
        if category["name"] in PLACEHOLDER_CATEGORIES and category["id"] not in used:
            tally.add(
                "unused labelme placeholder categories dropped (not object classes)",
                category["name"],
            )
        else:
            kept.append(category)
    return kept


def annotation_fields(mask: np.ndarray) -> dict[str, Any]:
    """segmentation (compressed RLE, str counts), area and XYWH bbox of a (H, W) bool mask."""
    rle = encode_mask(mask)
    return {
        "segmentation": rle,
        "area": float(mask_area(rle)),
        "bbox": mask_bbox(rle),
        "iscrowd": 0,
    }


def relative_inside(path: Path, root: Path) -> str | None:
    """A filesystem ``path`` (absolute or relative to the cwd, ``..`` allowed: the caller built
    it) as a POSIX path relative to ``root``, or None when it lies outside: the `safe_relative`
    rule applied to ``os.path.abspath(path)``. Lexical, not ``resolve()``: an images root full
    of symlinks to files elsewhere is still one folder to the user.
    """
    return safe_relative(os.path.abspath(path), root)


def subset(coco: dict[str, Any], image_ids: Iterable[int]) -> dict[str, Any]:
    """A copy of a project dict with only the given images and their annotations."""
    keep = set(image_ids)
    out = {k: v for k, v in coco.items() if k not in {"images", "annotations"}}
    out["images"] = [copy.deepcopy(im) for im in coco["images"] if im["id"] in keep]
    out["annotations"] = [
        copy.deepcopy(a) for a in coco.get("annotations", []) if a["image_id"] in keep
    ]
    return out


def annotations_by_image(coco: dict[str, Any]) -> dict[int, list[dict[str, Any]]]:
    """image id -> its annotations sorted by id (the drawing order of the exporters)."""
    out: dict[int, list[dict[str, Any]]] = {im["id"]: [] for im in coco["images"]}
    for ann in coco.get("annotations", []):
        out.setdefault(ann["image_id"], []).append(ann)
    for anns in out.values():
        anns.sort(key=lambda a: a["id"])
    return out


def check_images_exist(coco: dict[str, Any], images_root: Path, *, required: bool = True) -> None:
    """Raises FormatError naming the first image file that is missing (required=True) or whose
    size (header only, after EXIF orientation) is not the declared one, before any writing."""
    for i, im in enumerate(coco["images"]):
        file = images_root / im["file_name"]
        if not file.is_file():
            if not required:
                continue
            raise FormatError(file, None, f"image file of images[{i}] does not exist")
        try:
            check_declared_size(file, im["width"], im["height"])
        except ImageReadError as exc:
            raise FormatError(file, f"images[{i}]", exc.reason) from None


def output_names(coco: dict[str, Any], suffix: str) -> dict[int, str]:
    """image id -> its file_name with ``suffix`` instead of the extension (sub-folders kept).

    Raises FormatError when two images would share an output file (``a.jpg`` and ``a.png``).
    """
    out: dict[int, str] = {}
    owner: dict[str, str] = {}
    for im in coco["images"]:
        name = PurePosixPath(im["file_name"]).with_suffix(suffix).as_posix()
        if name in owner:
            raise FormatError(
                im["file_name"],
                None,
                f"would be exported to {name}, like {owner[name]}; rename one",
            )
        owner[name] = im["file_name"]
        out[im["id"]] = name
    return out


def categories_by_id(coco: dict[str, Any]) -> list[dict[str, Any]]:
    """The categories sorted by id: class index i of YOLO and PNG exports is entry i."""
    return sorted(coco.get("categories", []), key=lambda c: c["id"])
