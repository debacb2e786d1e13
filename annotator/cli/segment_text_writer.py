"""The project writer of `annotator segment --text`: per-image parts, one category per phrase."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from annotator.cli.amg_outputs import CocoWriter, ImageItem
from annotator.engine.concepts.instances import PROVENANCE_SOURCE
from annotator.io.document import Document


class ConceptCocoWriter(CocoWriter):
    """The amg COCO writer's parts and stamp, with one category per phrase and the phrase and
    score of each instance in its provenance. A part made with other phrases, another
    threshold or another model is redone (the run's query)."""

    command = "annotator segment --text"

    def __init__(self, out: Path, model_name: str, root: Path, items: list[ImageItem],
                 phrases: list[str], threshold: float) -> None:  # fmt: skip
        query = {"phrases": phrases, "threshold": threshold, "model": model_name}
        super().__init__(out, model_name, root, items, query)
        self.phrases = phrases

    def annotation(self, record: dict[str, Any]) -> dict[str, Any]:
        """`segment_text`'s records are JSON already: segmentation (RLE), phrase, score, box."""
        return record

    def document(self) -> Document:
        return Document(self.images_root, categories=self.phrases)

    def add(self, doc: Document, image_id: int, ann: dict[str, Any], model: str) -> None:
        category = next(c.id for c in doc.categories() if c.name == ann["phrase"])
        rle = ann.pop("segmentation")
        doc.add_annotation(image_id, category, rle, model=model, source=PROVENANCE_SOURCE, **ann)
