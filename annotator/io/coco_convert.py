"""COCO instances dict <-> the records a Document holds (images, categories, annotations).

Pure functions over records: this module does not know `Document` (document.py imports it, never
the reverse). `Document.from_coco` / `Document.to_coco` own the tables and call these.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from annotator.io.masks import batch_area_bbox
from annotator.io.records import (
    CORE_ANN_KEYS,
    PALETTE,
    Annotation,
    Category,
    ImageRecord,
    check_color,
    check_file_name,
)

_SECTIONS = ("images", "categories", "annotations")
FORMAT_INFO = {"description": "annotator project (COCO instances, RLE masks)", "version": "1.0"}


@dataclass(frozen=True)
class CocoRecords:
    """A COCO dict parsed into records: extra top-level keys, then the three sections."""

    extra: dict[str, Any]
    images: list[ImageRecord]
    categories: list[Category]
    annotations: list[Annotation]


def coco_to_records(
    data: Mapping[str, Any], measured: Mapping[int, tuple[int, list[float]]] | None = None
) -> CocoRecords:
    """Records of a COCO dict already checked by validation.py (compressed RLE segmentations).

    area and bbox are recomputed from the masks, or taken from `measured` ({annotation id:
    (area, XYWH box)}, as the validator computes them).
    """
    extra = {k: v for k, v in data.items() if k not in _SECTIONS}
    images = []
    for raw in data.get("images") or []:
        rest = {k: v for k, v in raw.items() if k not in ("id", "file_name", "width", "height")}
        name = check_file_name(str(raw["file_name"]))
        images.append(
            ImageRecord(int(raw["id"]), name, int(raw["width"]), int(raw["height"]), rest)
        )
    categories = []
    for index, raw in enumerate(data.get("categories") or []):
        rest = {k: v for k, v in raw.items() if k not in ("id", "name", "supercategory", "color")}
        color = raw.get("color")
        try:
            color = check_color(color)
        except ValueError:
            color = PALETTE[index % len(PALETTE)]  # other tools' files carry no colours
        categories.append(
            Category(int(raw["id"]), str(raw["name"]), color, str(raw.get("supercategory") or ""),
                     rest)
        )  # fmt: skip
    raw_anns = data.get("annotations") or []
    rles = [
        {"size": [int(v) for v in a["segmentation"]["size"]], "counts": a["segmentation"]["counts"]}
        for a in raw_anns
    ]
    for rle in rles:
        if isinstance(rle["counts"], bytes):
            rle["counts"] = rle["counts"].decode("ascii")
    if measured is not None and all(a["id"] in measured for a in raw_anns):
        areas = [measured[a["id"]][0] for a in raw_anns]
        boxes = [measured[a["id"]][1] for a in raw_anns]
    else:
        area_array, box_array = batch_area_bbox(rles)
        areas, boxes = area_array.tolist(), box_array.tolist()
    annotations = []
    for raw, rle, area, box in zip(raw_anns, rles, areas, boxes, strict=True):
        provenance = {k: v for k, v in raw.items() if k not in CORE_ANN_KEYS}
        annotations.append(Annotation(
            int(raw["id"]), int(raw["image_id"]), int(raw["category_id"]), rle, int(area),
            (box[0], box[1], box[2], box[3]), int(raw.get("iscrowd") or 0), provenance,
        ))  # fmt: skip
    return CocoRecords(extra, images, categories, annotations)


def records_to_coco(
    extra: Mapping[str, Any],
    images: Iterable[ImageRecord],
    categories: Iterable[Category],
    annotations: Iterable[Annotation],
) -> dict[str, Any]:
    """The COCO instances dict of these records, each section sorted by id (json.dump-able)."""
    out: dict[str, Any] = {"info": extra.get("info") or dict(FORMAT_INFO)}
    out.update((k, v) for k, v in extra.items() if k != "info" and k not in _SECTIONS)
    out["images"] = [
        {**im.extra, "id": im.id, "file_name": im.file_name, "width": im.width, "height": im.height}
        for im in sorted(images, key=lambda r: r.id)
    ]
    out["categories"] = [
        {**c.extra, "id": c.id, "name": c.name, "supercategory": c.supercategory, "color": c.color}
        for c in sorted(categories, key=lambda r: r.id)
    ]
    out["annotations"] = [
        {
            "id": a.id,
            "image_id": a.image_id,
            "category_id": a.category_id,
            "segmentation": {"size": list(a.rle["size"]), "counts": a.rle["counts"]},
            "area": a.area,
            "bbox": list(a.bbox),
            "iscrowd": a.iscrowd,
            **a.provenance,
        }
        for a in sorted(annotations, key=lambda r: r.id)
    ]
    return out
