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
    """One COCO RLE project at OUT (images root = the input folder), from per-image parts.

    Each part records the model that made it (``model``: the provenance of its masks, known
    to the worker that wrote it) and, when the run has one, its `query`: what else the output
    depends on (``segment``'s detections, ``segment --text``'s phrases). A part whose query
    differs from this run's, or that cannot be read, is not done: the image is redone.
    Subclasses say how a record becomes a part's annotation (`annotation`) and how the project
    gets its categories and annotations (`document`, `add`)."""

    command = "annotator amg"  # named when OUT was written by something else

    def __init__(self, out: Path, model_name: str, images_root: Path, items: list[ImageItem],
                 query: dict[str, Any] | None = None) -> None:  # fmt: skip
        super().__init__(out, model_name)
        self.images_root = images_root
        self.items = items
        self.query = query
        self.parts = out.with_name(out.name + ".parts")
        self.written = 0

    def _part(self, item: ImageItem) -> Path:
        digest = hashlib.sha1(item.rel.encode("utf-8")).hexdigest()[:20]
        return self.parts / f"{digest}.json"

    def _read_part(self, item: ImageItem) -> dict[str, Any] | None:
        """The item's finished part, or None (missing, damaged, or of another query)."""
        try:
            part = json.loads(self._part(item).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        if self.query is not None and part.get("query") != self.query:
            return None
        return part

    def done(self, item: ImageItem) -> bool:
        if self.query is None:
            return self._part(item).is_file()  # no need to read it
        return self._read_part(item) is not None

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

    def reset(self) -> None:
        """--force: forget earlier parts, and accept the file now at OUT as ours to replace (it
        is kept as .bak); an edit to it during the run is still refused at the end."""
        shutil.rmtree(self.parts, ignore_errors=True)
        if self.out.is_file():
            self.parts.mkdir(parents=True, exist_ok=True)
            atomic_write_text(self._stamp(), sha256_hex(self.out.read_bytes()))

    def annotation(self, record: dict[str, Any]) -> dict[str, Any]:
        """A part's annotation (JSON) for one of `write`'s records: here a generator record."""
        return {
            "segmentation": encode_mask(record["segmentation"]),
            "predicted_iou": record["predicted_iou"],
            "stability_score": record["stability_score"],
            "point_coords": record["point_coords"],
            "point_labels": [1] * len(record["point_coords"]),
        }

    def write(self, item: ImageItem, size: tuple[int, int], records: list[dict[str, Any]]) -> None:
        part: dict[str, Any] = {"file_name": item.rel, "height": size[0], "width": size[1]}
        if self.query is not None:
            part["query"] = self.query
        part["model"] = self.model_name
        part["annotations"] = [self.annotation(record) for record in records]
        self.parts.mkdir(parents=True, exist_ok=True)
        atomic_write_text(self._part(item), json.dumps(part))
        self.written += 1

    def document(self) -> Document:
        """The empty project the parts are assembled into (its categories)."""
        return Document(self.images_root)

    def add(self, doc: Document, image_id: int, ann: dict[str, Any], model: str) -> None:
        """Add one part annotation to the project (amg: all in the one category)."""
        rle = ann.pop("segmentation")
        if mask_area(rle) > 0:  # the store refuses empty masks
            doc.add_annotation(image_id, doc.categories()[0].id, rle, model=model, **ann)

    def finish(self) -> None:
        """Assemble every finished part (this run's and earlier runs') into the project file."""
        doc = self.document()
        with doc.batch(f"masks from `{self.command}`"):
            for item in self.items:
                part = self._read_part(item)
                if part is None:
                    continue
                image_id = doc.add_image(part["file_name"], part["width"], part["height"])
                model = part.get("model") or self.model_name  # parts of older runs have none
                for ann in part["annotations"]:
                    self.add(doc, image_id, ann, model)
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
