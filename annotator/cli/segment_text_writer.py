"""The project writer of `annotator segment --text`: per-image parts, one category per phrase."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from annotator.atomic import atomic_write_text
from annotator.cli.amg_outputs import CocoWriter, ImageItem
from annotator.engine.concepts.instances import PROVENANCE_SOURCE
from annotator.io.coco_store import save_project, sha256_hex
from annotator.io.document import Document


class ConceptCocoWriter(CocoWriter):
    """The amg COCO writer's parts and stamp, with one category per phrase and the phrase and
    score of each instance in its provenance."""

    command = "annotator segment --text"

    def __init__(self, out: Path, model_name: str, root: Path, items: list[ImageItem],
                 phrases: list[str], threshold: float) -> None:  # fmt: skip
        super().__init__(out, model_name, root, items)
        self.query = {"phrases": phrases, "threshold": threshold, "model": model_name}

    def done(self, item: ImageItem) -> bool:
        path = self._part(item)
        if not path.is_file():
            return False
        try:
            return json.loads(path.read_text(encoding="utf-8")).get("query") == self.query
        except (OSError, ValueError):
            return False  # a damaged part: redo the image

    def write(self, item: ImageItem, size: tuple[int, int], records: list[dict[str, Any]]) -> None:
        part = {"file_name": item.rel, "height": size[0], "width": size[1],
                "query": self.query, "annotations": records}  # fmt: skip
        self.parts.mkdir(parents=True, exist_ok=True)
        atomic_write_text(self._part(item), json.dumps(part))
        self.written += 1

    def finish(self) -> None:
        phrases = self.query["phrases"]
        doc = Document(self.images_root, categories=phrases)
        category = {c.name: c.id for c in doc.categories()}
        with doc.batch("masks from phrases"):
            for item in self.items:
                if not self.done(item):
                    continue
                part = json.loads(self._part(item).read_text(encoding="utf-8"))
                image_id = doc.add_image(part["file_name"], part["width"], part["height"])
                for ann in part["annotations"]:
                    rle = ann.pop("segmentation")
                    cat = category[ann["phrase"]]
                    doc.add_annotation(
                        image_id, cat, rle, model=self.model_name, source=PROVENANCE_SOURCE, **ann
                    )
        if doc.images():
            self.check()  # edited while we ran: keep the user's file
            save_project(doc, self.out, force=True)
            atomic_write_text(self._stamp(), doc.disk_state.sha256)

    def reset(self) -> None:
        """--force: forget earlier parts, and accept the file now at OUT as ours to replace (it
        is kept as .bak); an edit to it during the run is still refused at the end."""
        shutil.rmtree(self.parts, ignore_errors=True)
        if self.out.is_file():
            self.parts.mkdir(parents=True, exist_ok=True)
            atomic_write_text(self._stamp(), sha256_hex(self.out.read_bytes()))
