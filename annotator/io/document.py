"""The in-memory project: COCO images, categories and RLE annotations, with undo/redo.

Not thread-safe: the GUI edits it on its main thread; background writers get a `to_coco()`
snapshot taken there. Every change — undo and redo included — bumps `revision` and sets `dirty`;
only `mark_clean()` (called after a successful save) clears it.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from annotator.io.change_tracking import ChangeTracking
from annotator.io.checks import size_limit_problem
from annotator.io.coco_convert import coco_to_records, records_to_coco
from annotator.io.commands import Command, Compound, PutAnnotation, PutCategory
from annotator.io.masks import annotation_rle, mask_area, mask_bbox
from annotator.io.records import (
    PALETTE,
    PROVENANCE_KEYS,
    Annotation,
    Category,
    ImageRecord,
    check_color,
    check_file_name,
    edited_provenance,
    provenance_values,
    utc_now,
)
from annotator.io.sequence import check_frame_keys, frame_of, frame_taken
from annotator.io.undo_stack import UndoStack

__all__ = [
    "PALETTE",
    "PROVENANCE_KEYS",
    "Annotation",
    "Category",
    "Document",
    "ImageRecord",
]

DEFAULT_CATEGORY_NAMES = ("object",)


class Document(ChangeTracking):
    """A COCO instances project being edited. See the module docstring for the dirty rules."""

    def __init__(
        self,
        images_root: str | os.PathLike[str] = ".",
        path: str | os.PathLike[str] | None = None,
        categories: Sequence[str] | None = None,
    ) -> None:
        super().__init__()
        self.images_root = Path(images_root)
        self.path: Path | None = Path(path) if path is not None else None
        self.extra: dict[str, Any] = {}  # top-level keys such as info/licenses, kept as loaded
        self.disk_state: Any = None  # coco_store's record of the file as last read or written
        self.autosave_state: Any = None  # the sidecar this document's autosave last wrote
        self.autosave_path: Path | None = None  # ...and its path (a save removes it)
        self._images: dict[int, ImageRecord] = {}
        self._by_file: dict[str, int] = {}
        self._by_frame: dict[tuple[str, int], int] = {}  # (video, frame_index) -> image id
        self._categories: dict[int, Category] = {}
        self._anns: dict[int, Annotation] = {}
        self._by_image: dict[int, dict[int, None]] = {}  # ordered set of ann ids per image
        self._next_ids = {"image": 1, "category": 1, "annotation": 1}
        self._history: UndoStack[Command] = UndoStack()
        self._batch: list[Command] | None = None
        self._recorder: Callable[[Command], None] | None = None
        for name in DEFAULT_CATEGORY_NAMES if categories is None else categories:
            self._put_category(self._new_category(name, None))

    # ----- images ------------------------------------------------------------------------------
    def add_image(self, file_name: str, width: int, height: int, **extra: Any) -> int:
        """Register an image (path relative to images_root) and return its id; an already
        registered file_name returns the existing id. Not an undo step (it adds no labels).
        A sequence frame passes video= and frame_index= (see sequence.py for their rules)."""
        name = check_file_name(file_name)
        if name in self._by_file:
            return self._by_file[name]
        frame = check_frame_keys(name, extra)
        if frame is not None and frame in self._by_frame:
            raise ValueError(f"image {name!r}: {frame_taken(frame, self._by_frame[frame])}")
        if int(width) <= 0 or int(height) <= 0:
            raise ValueError(f"image {name!r} has invalid size {width}x{height}")
        too_large = size_limit_problem(int(width), int(height))
        if too_large:
            raise ValueError(f"image {name!r}: {too_large}")
        image_id = self._take_id("image")
        record = ImageRecord(image_id, name, int(width), int(height), dict(extra))
        self._images[image_id] = record
        self._by_file[name] = image_id
        if frame is not None:
            self._by_frame[frame] = image_id
        self._by_image[image_id] = {}
        self._changed(frozenset({image_id}))
        return image_id

    def images(self) -> list[ImageRecord]:
        return list(self._images.values())

    def image(self, image_id: int) -> ImageRecord:
        try:
            return self._images[image_id]
        except KeyError:
            raise KeyError(f"no image with id {image_id}") from None

    def image_by_file_name(self, file_name: str) -> ImageRecord | None:
        image_id = self._by_file.get(file_name.replace("\\", "/"))
        return None if image_id is None else self._images[image_id]

    def image_by_frame(self, video: str, frame_index: int) -> ImageRecord | None:
        image_id = self._by_frame.get((video, frame_index))
        return None if image_id is None else self._images[image_id]

    def image_path(self, image_id: int) -> Path:
        return self.images_root / self.image(image_id).file_name

    # ----- categories --------------------------------------------------------------------------
    def categories(self) -> list[Category]:
        return list(self._categories.values())

    def category(self, category_id: int) -> Category:
        try:
            return self._categories[category_id]
        except KeyError:
            raise KeyError(f"no category with id {category_id}") from None

    def category_by_name(self, name: str) -> Category | None:
        return next((c for c in self._categories.values() if c.name == name), None)

    def _new_category(self, name: str, color: str | None) -> Category:
        name = name.strip() if isinstance(name, str) else ""
        if not name:
            raise ValueError("category name must not be empty")
        if self.category_by_name(name) is not None:
            raise ValueError(f"a category named {name!r} already exists")
        if color is None:
            color = PALETTE[len(self._categories) % len(PALETTE)]
        return Category(self._take_id("category"), name, check_color(color))

    def add_category(self, name: str, color: str | None = None) -> int:
        """Add a category (color '#rrggbb', default: next palette colour); returns its id."""
        category = self._new_category(name, color)
        self.execute(PutCategory(f"add category {category.name}", None, category))
        return category.id

    def rename_category(self, category_id: int, name: str) -> None:
        old = self.category(category_id)
        name = name.strip()
        clash = self.category_by_name(name)
        if not name or (clash is not None and clash.id != category_id):
            raise ValueError(f"cannot rename category to {name!r}: empty or already used")
        new = dataclasses.replace(old, name=name)
        self.execute(PutCategory(f"rename category {old.name} to {name}", old, new))

    def recolor_category(self, category_id: int, color: str) -> None:
        old = self.category(category_id)
        new = dataclasses.replace(old, color=check_color(color))
        self.execute(PutCategory(f"recolor category {old.name}", old, new))

    def delete_category(self, category_id: int, reassign_to: int | None = None) -> None:
        """Delete a category; its annotations move to `reassign_to`, or the call raises
        ValueError if it still has annotations and no target is given. One undo step."""
        old = self.category(category_id)
        users = [a for a in self._anns.values() if a.category_id == category_id]
        if users and (reassign_to is None or reassign_to == category_id):
            raise ValueError(f"category {old.name!r} is used by {len(users)} annotation(s)")
        if users:
            self.category(reassign_to)  # type: ignore[arg-type]
        with self.batch(f"delete category {old.name}"):
            for ann in users:
                self.set_category(ann.id, reassign_to)  # type: ignore[arg-type]
            self.execute(PutCategory(f"delete category {old.name}", old, None))

    # ----- annotations -------------------------------------------------------------------------
    def annotations_for(self, image_id: int) -> list[Annotation]:
        """The image's annotations in creation order (later ones drawn on top)."""
        self.image(image_id)
        return [self._anns[i] for i in self._by_image[image_id]]

    def annotations(self) -> list[Annotation]:
        return list(self._anns.values())

    def annotation(self, ann_id: int) -> Annotation:
        try:
            return self._anns[ann_id]
        except KeyError:
            raise KeyError(f"no annotation with id {ann_id}") from None

    def add_annotation(
        self,
        image_id: int,
        category_id: int,
        mask: np.ndarray | Mapping[str, Any],
        **provenance: Any,
    ) -> int:
        """Add a mask ((H, W) bool array or RLE of the image's size); returns the new id.
        An empty mask raises ValueError, as do unknown image or category ids (KeyError).

        provenance: predicted_iou, stability_score, point_coords ((N, 2) xy image px),
        point_labels (N,), box (XYXY image px), model, or other JSON-able keys; numpy accepted.
        created/updated default to now (UTC).
        """
        image = self.image(image_id)
        rle = annotation_rle(mask, image.height, image.width, image.file_name)
        self.category(category_id)
        now = utc_now()
        prov = {"created": now, "updated": now, **provenance_values(provenance)}
        ann = Annotation(
            self._take_id("annotation"), image_id, category_id, rle, mask_area(rle),
            tuple(mask_bbox(rle)), 0, prov,  # type: ignore[arg-type]
        )  # fmt: skip
        self.execute(PutAnnotation("add mask", None, ann))
        return ann.id

    def replace_annotation(
        self,
        ann_id: int,
        mask: np.ndarray | Mapping[str, Any] | None = None,
        category_id: int | None = None,
        **provenance: Any,
    ) -> None:
        """Change the mask and/or category (and any provenance keys) of an annotation."""
        old = self.annotation(ann_id)
        changes: dict[str, Any] = {}
        if mask is not None:
            image = self.image(old.image_id)
            rle = annotation_rle(mask, image.height, image.width, image.file_name)
            changes.update(rle=rle, area=mask_area(rle), bbox=tuple(mask_bbox(rle)))
        if category_id is not None:
            self.category(category_id)
            changes["category_id"] = category_id
        prov = edited_provenance(old.provenance, provenance, mask_changed=mask is not None)
        new = dataclasses.replace(old, provenance=prov, **changes)
        label = "edit mask" if mask is not None else "change category"
        self.execute(PutAnnotation(label, old, new))

    def set_category(self, ann_id: int, category_id: int) -> None:
        self.replace_annotation(ann_id, category_id=category_id)

    def delete_annotation(self, ann_id: int) -> None:
        self.execute(PutAnnotation("delete mask", self.annotation(ann_id), None))

    # ----- undo/redo ---------------------------------------------------------------------------
    def execute(self, command: Command) -> None:
        """Apply a command and record it for undo (inside `batch`, as part of one step)."""
        command.apply(self)
        if self._batch is not None:
            self._batch.append(command)
        else:
            self._record(command)
        self._changed(command.image_ids())

    @contextlib.contextmanager
    def batch(self, label: str) -> Iterator[None]:
        """Group the changes made inside into one undo step; all-or-nothing on exceptions."""
        if self._batch is not None:  # nested: the outer batch owns the step
            yield
            return
        self._batch = []
        try:
            yield
        except BaseException:
            done, self._batch = self._batch, None
            for command in reversed(done):
                command.revert(self)
            if done:
                self._changed(Compound(label, tuple(done)).image_ids())
            raise
        done, self._batch = self._batch, None
        if done:
            self._record(Compound(label, tuple(done)))

    def set_recorder(self, record: Callable[[Command], None] | None) -> None:
        """Hand every finished undo step to `record(command)` instead of this document's own
        stack (None: back to the own stack). The app keeps one journal over prompts and document
        edits this way and undoes through `revert_step` / `apply_step`; see
        docs/adr/0003-undo-model.md."""
        self._recorder = record
        self._history.clear()

    def _record(self, command: Command) -> None:
        if self._recorder is not None:
            self._recorder(command)
            return
        self._history.push(command)

    def revert_step(self, command: Command) -> None:
        """Undo one recorded step (no record kept here; an outside journal owns it)."""
        command.revert(self)
        self._changed(command.image_ids())

    def apply_step(self, command: Command) -> None:
        """Redo one recorded step (see `revert_step`)."""
        command.apply(self)
        self._changed(command.image_ids())

    @property
    def can_undo(self) -> bool:
        return self._history.can_undo

    @property
    def can_redo(self) -> bool:
        return self._history.can_redo

    @property
    def undo_label(self) -> str | None:
        step = self._history.next_undo()
        return None if step is None else step.label

    @property
    def redo_label(self) -> str | None:
        step = self._history.next_redo()
        return None if step is None else step.label

    def undo(self) -> str | None:
        """Revert the last step; returns its label, or None if there was nothing to undo."""
        command = None if self._batch is not None else self._history.undo()
        if command is None:
            return None
        self.revert_step(command)
        return command.label

    def redo(self) -> str | None:
        """Re-apply the last undone step; returns its label, or None."""
        command = None if self._batch is not None else self._history.redo()
        if command is None:
            return None
        self.apply_step(command)
        return command.label

    # ----- primitives used by commands (no undo, no notification) ------------------------------
    def _take_id(self, kind: str) -> int:
        value = self._next_ids[kind]
        self._next_ids[kind] = value + 1
        return value

    def _put_annotation(self, ann: Annotation) -> None:
        old = self._anns.get(ann.id)
        if old is not None and old.image_id != ann.image_id:
            del self._by_image[old.image_id][ann.id]
        self._anns[ann.id] = ann
        self._by_image[ann.image_id][ann.id] = None
        if old is None:  # re-added by undo: restore creation order within the image
            order = self._by_image[ann.image_id]
            if any(i > ann.id for i in order):
                self._by_image[ann.image_id] = dict.fromkeys(sorted(order))

    def _drop_annotation(self, ann_id: int) -> None:
        ann = self._anns.pop(ann_id)
        del self._by_image[ann.image_id][ann_id]

    def _put_category(self, category: Category) -> None:
        self._categories[category.id] = category

    def _drop_category(self, category_id: int) -> None:
        del self._categories[category_id]

    # ----- COCO --------------------------------------------------------------------------------
    def to_coco(self) -> dict[str, Any]:
        """The project as a COCO instances dict (json.dump-able; pycocotools.coco.COCO reads it)."""
        return records_to_coco(self.extra, self.images(), self.categories(), self.annotations())

    @classmethod
    def from_coco(
        cls,
        data: Mapping[str, Any],
        images_root: str | os.PathLike[str] = ".",
        path: str | os.PathLike[str] | None = None,
        measured: Mapping[int, tuple[int, list[float]]] | None = None,
    ) -> Document:
        """Build a clean Document from a COCO dict already checked by coco_store's validator
        (compressed RLE segmentations). area and bbox are recomputed from the masks, or taken
        from `measured` ({annotation id: (area, XYWH box)}, as the validator computes them)."""
        records = coco_to_records(data, measured)
        doc = cls(images_root, path, categories=[])
        doc.extra = records.extra
        for image in records.images:
            doc._images[image.id] = image
            doc._by_file[image.file_name] = image.id
            doc._by_image[image.id] = {}
        doc._by_frame = {f: im.id for im in records.images if (f := frame_of(im.extra))}
        for category in records.categories:
            doc._categories[category.id] = category
        for ann in records.annotations:
            doc._anns[ann.id] = ann
            doc._by_image[ann.image_id][ann.id] = None
        for kind, table in (("image", doc._images), ("category", doc._categories),
                            ("annotation", doc._anns)):  # fmt: skip
            doc._next_ids[kind] = max(table, default=0) + 1
        return doc
