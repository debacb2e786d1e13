"""The project writer of `annotator segment --boxes`: per-image parts, the detections'
categories, and each mask's box, detector score and predicted IoU in its provenance."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from annotator.cli.amg_outputs import CocoWriter, ImageItem
from annotator.io.document import Document


class BoxCocoWriter(CocoWriter):
    """The amg COCO writer's parts and stamp for masks from boxes. `categories`: {id: name}
    of the detections file; `query`: what the masks depend on besides the image (the
    detections and the model options), so a part of another run is redone."""

    command = "annotator segment"

    def __init__(self, out: Path, model_name: str, root: Path, items: list[ImageItem],
                 categories: dict[int, str], query: dict[str, Any]) -> None:  # fmt: skip
        super().__init__(out, model_name, root, items, query)
        self.categories = categories

    def annotation(self, record: dict[str, Any]) -> dict[str, Any]:
        """`segment_job`'s records are JSON already: segmentation (RLE), category_id, box
        (XYXY image pixels), score (the detector's, or None) and predicted_iou."""
        return record

    def document(self) -> Document:
        skeleton = {"images": [], "annotations": [], "categories": [
            {"id": cid, "name": name, "supercategory": ""}
            for cid, name in sorted(self.categories.items())
        ]}  # fmt: skip
        return Document.from_coco(skeleton, self.images_root)

    def add(self, doc: Document, image_id: int, ann: dict[str, Any], model: str) -> None:
        category, rle = ann.pop("category_id"), ann.pop("segmentation")
        doc.add_annotation(image_id, category, rle, **ann, model=model)
