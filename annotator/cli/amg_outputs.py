"""Writers for `annotator amg`: png folders, SA-1B JSON files, or one COCO RLE project.

Every image's output is written atomically and its existence marks the image as done, so an
interrupted run leaves only complete outputs and a re-run skips what is finished:
- png: a temp folder per image, renamed into place when complete;
- sa1b: one JSON per image via atomic_write_text;
- coco: one part file per image in ``<OUT>.parts/`` (atomic), and the project file assembled
  from all parts (atomic, `save_project`) at the end of the run or when it is interrupted.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from annotator.atomic import atomic_write_text
from annotator.io.coco_store import save_project, sha256_hex
from annotator.io.document import Document
from annotator.io.masks import encode_mask, mask_area

FORMATS = ("png", "coco", "sa1b")
# The header the reference's scripts/amg.py writes.
PNG_CSV_HEADER = (
    "id,area,bbox_x0,bbox_y0,bbox_w,bbox_h,point_input_x,point_input_y,predicted_iou,"
    "stability_score,crop_box_x0,crop_box_y0,crop_box_w,crop_box_h"
)


@dataclass(frozen=True)
class ImageItem:
    """One input image: its path, its name relative to the images root, and its output key."""

    path: Path
    rel: str  # posix path relative to the images root, e.g. "sub/cat.jpg"
    key: str  # output name without extension, e.g. "sub/cat"


def make_items(paths: list[Path], root: Path) -> list[ImageItem]:
    """Items for `paths` under `root`; output keys drop the suffix unless two images collide."""
    rels = [p.relative_to(root).as_posix() for p in paths]
    stems = [r.rsplit(".", 1)[0] for r in rels]
    clash = {s for s in stems if stems.count(s) > 1}
    return [
        ImageItem(p, r, r.replace(".", "_") if s in clash else s)
        for p, r, s in zip(paths, rels, stems, strict=True)
    ]


class Writer:
    """Base: `done(item)` says whether a finished output exists; `write` adds one image."""

    def __init__(self, out: Path, model_name: str) -> None:
        self.out = out
        self.model_name = model_name

    def done(self, item: ImageItem) -> bool:
        raise NotImplementedError

    def write(self, item: ImageItem, size: tuple[int, int], records: list[dict[str, Any]]) -> None:
        raise NotImplementedError

    def check(self) -> None:
        """Raise OutputConflictError if writing would overwrite something we did not write."""

    def finish(self) -> None:
        """Called once at the end of the run, also after an interrupt."""


class OutputConflictError(RuntimeError):
    """The output exists and was not written by `annotator amg` (or was edited since)."""


class PngWriter(Writer):
    """``OUT/<key>/`` with ``<i>.png`` (0/255 mask) per mask and ``metadata.csv``."""

    def done(self, item: ImageItem) -> bool:
        return (self.out / item.key / "metadata.csv").is_file()

    def check(self) -> None:
        """Remove half-written folders an interrupted run left (never a finished one)."""
        if self.out.is_dir():
            for temp in self.out.rglob(".*.tmp-*"):
                if temp.is_dir():
                    shutil.rmtree(temp, ignore_errors=True)

    def write(self, item: ImageItem, size: tuple[int, int], records: list[dict[str, Any]]) -> None:
        final = self.out / item.key
        final.parent.mkdir(parents=True, exist_ok=True)
        temp = final.parent / f".{final.name}.tmp-{os.getpid()}"
        shutil.rmtree(temp, ignore_errors=True)
        temp.mkdir()
        rows = [PNG_CSV_HEADER]
        for i, rec in enumerate(records):
            mask = rec["segmentation"].astype(np.uint8) * 255
            if not cv2.imwrite(str(temp / f"{i}.png"), mask):
                raise OSError(f"could not write {temp / f'{i}.png'}")
            values = [
                i,
                rec["area"],
                *rec["bbox"],
                *rec["point_coords"][0],
                rec["predicted_iou"],
                rec["stability_score"],
                *rec["crop_box"],
            ]
            rows.append(",".join(str(v) for v in values))
        (temp / "metadata.csv").write_text("\n".join(rows))
        if final.exists():  # an incomplete folder from elsewhere: replace it
            shutil.rmtree(final)
        os.replace(temp, final)


class Sa1bWriter(Writer):
    """``OUT/<key>.json`` in the SA-1B layout: {"image": {...}, "annotations": [...]}."""

    def _path(self, item: ImageItem) -> Path:
        return self.out / f"{item.key}.json"

    def done(self, item: ImageItem) -> bool:
        return self._path(item).is_file()

    def write(self, item: ImageItem, size: tuple[int, int], records: list[dict[str, Any]]) -> None:
        height, width = size
        anns = []
        for i, rec in enumerate(records):
            anns.append(
                {
                    "id": i + 1,
                    "segmentation": encode_mask(rec["segmentation"]),
                    "area": rec["area"],
                    "bbox": [float(v) for v in rec["bbox"]],
                    "predicted_iou": rec["predicted_iou"],
                    "stability_score": rec["stability_score"],
                    "point_coords": rec["point_coords"],
                    "crop_box": [int(v) for v in rec["crop_box"]],  # XYWH pixels, as SA-1B
                }
            )
        data = {
            "image": {"file_name": item.rel, "width": width, "height": height},
            "annotations": anns,
        }
        path = self._path(item)
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(path, json.dumps(data))


class CocoWriter(Writer):
    """One COCO RLE project at OUT (images root = the input folder), from per-image parts."""

    command = "annotator amg"  # named when OUT was written by something else

    def __init__(self, out: Path, model_name: str, images_root: Path, items: list[ImageItem]):
        super().__init__(out, model_name)
        self.images_root = images_root
        self.items = items
        self.parts = out.with_name(out.name + ".parts")
        self.written = 0

    def _part(self, item: ImageItem) -> Path:
        digest = hashlib.sha1(item.rel.encode("utf-8")).hexdigest()[:20]
        return self.parts / f"{digest}.json"

    def done(self, item: ImageItem) -> bool:
        return self._part(item).is_file()

    def _stamp(self) -> Path:
        return self.parts / "project.sha256"  # the project file as this command last wrote it

    def check(self) -> None:
        if not self.out.exists():
            return
        stamp = self._stamp()
        recorded = stamp.read_text().strip() if stamp.is_file() else None
        if recorded != sha256_hex(self.out.read_bytes()):
            raise OutputConflictError(
                f"{self.out} exists and was not written by `{self.command}` or was edited since "
                "(e.g. in the app); it is left alone: choose another --output"
            )

    def write(self, item: ImageItem, size: tuple[int, int], records: list[dict[str, Any]]) -> None:
        anns = [
            {
                "segmentation": encode_mask(rec["segmentation"]),
                "predicted_iou": rec["predicted_iou"],
                "stability_score": rec["stability_score"],
                "point_coords": rec["point_coords"],
                "point_labels": [1] * len(rec["point_coords"]),
            }
            for rec in records
        ]
        part = {"file_name": item.rel, "height": size[0], "width": size[1], "annotations": anns}
        self.parts.mkdir(parents=True, exist_ok=True)
        atomic_write_text(self._part(item), json.dumps(part))
        self.written += 1

    def finish(self) -> None:
        """Assemble every finished part (this run's and earlier runs') into the project file."""
        doc = Document(self.images_root)
        category = doc.categories()[0].id
        with doc.batch("automatic masks"):
            for item in self.items:
                path = self._part(item)
                if not path.is_file():
                    continue
                part = json.loads(path.read_text(encoding="utf-8"))
                image_id = doc.add_image(part["file_name"], part["width"], part["height"])
                for ann in part["annotations"]:
                    rle = ann.pop("segmentation")
                    if mask_area(rle) == 0:
                        continue  # the store refuses empty masks
                    doc.add_annotation(image_id, category, rle, model=self.model_name, **ann)
        if doc.images():
            self.check()  # edited while we ran: keep the user's file
            save_project(doc, self.out, force=True)
            # save_project recorded the hash of the bytes it wrote: no need to read them back.
            atomic_write_text(self._stamp(), doc.disk_state.sha256)


def make_writer(
    fmt: str, out: Path, model_name: str, images_root: Path, items: list[ImageItem]
) -> Writer:
    if fmt == "png":
        return PngWriter(out, model_name)
    if fmt == "sa1b":
        return Sa1bWriter(out, model_name)
    if fmt == "coco":
        return CocoWriter(out, model_name, images_root, items)
    raise ValueError(f"unknown format {fmt!r}; expected one of {FORMATS}")
