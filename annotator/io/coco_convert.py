"""Document <-> COCO instances dict. Kept apart from document.py so each file stays one concept."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np
from pycocotools import mask as mask_utils

from annotator.io.masks import Rle
from annotator.io.records import (
    CORE_ANN_KEYS,
    PALETTE,
    Annotation,
    Category,
    ImageRecord,
    check_color,
    check_file_name,
)

if TYPE_CHECKING:
    from annotator.io.document import Document

_SECTIONS = ("images", "categories", "annotations")
FORMAT_INFO = {"description": "annotator project (COCO instances, RLE masks)", "version": "1.0"}


def batch_area_bbox(rles: list[Rle]) -> tuple[np.ndarray, np.ndarray]:
    """Areas (N,) and XYWH boxes (N, 4) of many RLEs in two pycocotools calls (no decoding)."""
    if not rles:
        return np.zeros(0, np.int64), np.zeros((0, 4))
    as_bytes = [
        {"size": r["size"], "counts": r["counts"].encode("ascii")}
        if isinstance(r["counts"], str)
        else r
        for r in rles
    ]
    # pycocotools 2.0.11's area() overflows a uint8 counter past 255 RLEs (numpy 2): chunk it.
    areas = np.concatenate(
        [mask_utils.area(as_bytes[i : i + 255]) for i in range(0, len(as_bytes), 255)]
    )
    return areas.astype(np.int64), mask_utils.toBbox(as_bytes)


def document_to_coco(doc: Document) -> dict[str, Any]:
    out: dict[str, Any] = {"info": doc.extra.get("info") or dict(FORMAT_INFO)}
    out.update((k, v) for k, v in doc.extra.items() if k != "info" and k not in _SECTIONS)
    out["images"] = [
        {**im.extra, "id": im.id, "file_name": im.file_name, "width": im.width, "height": im.height}
        for im in sorted(doc.images(), key=lambda r: r.id)
    ]
    out["categories"] = [
        {**c.extra, "id": c.id, "name": c.name, "supercategory": c.supercategory, "color": c.color}
        for c in sorted(doc.categories(), key=lambda r: r.id)
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
        for a in sorted(doc.annotations(), key=lambda r: r.id)
    ]
    return out


def document_from_coco(
    cls: type[Document],
    data: Mapping[str, Any],
    images_root: str | os.PathLike[str],
    path: str | os.PathLike[str] | None,
    measured: Mapping[int, tuple[int, list[float]]] | None = None,
) -> Document:
    doc = cls(images_root, path, categories=[])
    doc.extra = {k: v for k, v in data.items() if k not in _SECTIONS}
    for raw in data.get("images") or []:
        extra = {k: v for k, v in raw.items() if k not in ("id", "file_name", "width", "height")}
        name = check_file_name(str(raw["file_name"]))
        record = ImageRecord(int(raw["id"]), name, int(raw["width"]), int(raw["height"]), extra)
        doc._images[record.id] = record
        doc._by_file[name] = record.id
        doc._by_image[record.id] = {}
    for index, raw in enumerate(data.get("categories") or []):
        extra = {k: v for k, v in raw.items() if k not in ("id", "name", "supercategory", "color")}
        color = raw.get("color")
        try:
            color = check_color(color)
        except ValueError:
            color = PALETTE[index % len(PALETTE)]  # other tools' files carry no colours
        category = Category(
            int(raw["id"]), str(raw["name"]), color, str(raw.get("supercategory") or ""), extra
        )
        doc._categories[category.id] = category
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
    for raw, rle, area, box in zip(raw_anns, rles, areas, boxes, strict=True):
        provenance = {k: v for k, v in raw.items() if k not in CORE_ANN_KEYS}
        ann = Annotation(
            int(raw["id"]), int(raw["image_id"]), int(raw["category_id"]), rle, int(area),
            (box[0], box[1], box[2], box[3]), int(raw.get("iscrowd") or 0), provenance,
        )  # fmt: skip
        doc._anns[ann.id] = ann
        doc._by_image[ann.image_id][ann.id] = None
    for kind, table in (("image", doc._images), ("category", doc._categories),
                        ("annotation", doc._anns)):  # fmt: skip
        doc._next_ids[kind] = max(table, default=0) + 1
    return doc
