"""File ▸ Import into the open project: a merge, as one undoable step with a summary.

Images are matched by file name (added when new), categories by name (added when new), and
every imported annotation is added with a fresh id. The whole import is one document batch, a
project-wide step of the journal (docs/adr/0003-undo-model.md): Ctrl+Z takes it back.
Replacing the project instead is the window's separate, confirmed choice (ProjectFiles).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from annotator.gui.session.events import CategoriesChanged, ImageStatusChanged, Message
from annotator.io.document import Document

if TYPE_CHECKING:
    from annotator.gui.session.session import AppSession


@dataclass
class MergeSummary:
    masks: int = 0
    images: set[str] = field(default_factory=set)  # file names that got masks
    new_images: list[str] = field(default_factory=list)
    new_categories: list[str] = field(default_factory=list)

    def text(self) -> str:
        """e.g. "added 12 masks on 3 images, 2 new categories (cup, plate)"."""
        n = len(self.images)
        parts = [f"added {self.masks} mask{'s' * (self.masks != 1)} on {n} image{'s' * (n != 1)}"]
        if self.new_images:
            parts.append(f"{len(self.new_images)} new image record(s)")
        cats = self.new_categories
        if cats:
            names = ", ".join(cats[:5]) + (" …" if len(cats) > 5 else "")
            parts.append(f"{len(cats)} new categor{'y' if len(cats) == 1 else 'ies'} ({names})")
        return ", ".join(parts)


def merge_document(doc: Document, imported: Document, label: str) -> MergeSummary:
    """Add `imported`'s images, categories and annotations to `doc` as one batch `label`.

    Raises ValueError (and changes nothing) when an imported image has another size than the
    project's record of the same file name: its masks would not line up."""
    for im in imported.images():
        rec = doc.image_by_file_name(im.file_name)
        if rec is not None and (rec.width, rec.height) != (im.width, im.height):
            raise ValueError(
                f"{im.file_name}: the import says {im.width}x{im.height}, the project "
                f"{rec.width}x{rec.height}; its masks would not line up. Nothing was imported."
            )
    summary = MergeSummary()
    image_ids: dict[int, int] = {}
    for im in imported.images():
        if doc.image_by_file_name(im.file_name) is None:
            summary.new_images.append(im.file_name)
        image_ids[im.id] = doc.add_image(im.file_name, im.width, im.height)
    with doc.batch(label):
        category_ids: dict[int, int] = {}
        for c in imported.categories():
            existing = doc.category_by_name(c.name)
            if existing is None:
                summary.new_categories.append(c.name)
                category_ids[c.id] = doc.add_category(c.name, c.color)
            else:
                category_ids[c.id] = existing.id
        for ann in imported.annotations():
            image_id = image_ids[ann.image_id]
            doc.add_annotation(image_id, category_ids[ann.category_id], ann.rle, **ann.provenance)
            summary.masks += 1
            summary.images.add(doc.image(image_id).file_name)
    return summary


def merge_import(session: AppSession, imported: Document, source: str) -> MergeSummary | None:
    """The session command: merge, list new images, announce the summary. None (with a
    message) when the import was refused."""
    doc = session.doc
    if doc is None:
        return None
    with session.events.burst():
        try:
            summary = merge_document(doc, imported, f"import {source}")
        except (ValueError, KeyError) as exc:
            session.events.emit(Message(f"Import failed: {exc}", 10000))
            return None
        known = set(session.images)
        session.images += [n for n in summary.new_images if n not in known]
        session.events.emit(CategoriesChanged())
        session.events.emit(ImageStatusChanged())
        session.events.emit(Message(f"Imported {source}: {summary.text()}", 10000))
    return summary
