"""The application without widgets: the project, its images, what is selected and the undo
journal. The window shows it and forwards user input to its commands; every change is
announced as a typed event (events.py). See docs/adr/0004-app-session-and-view.md.

No Qt, no torch: the whole annotation flow is unit-tested without a window. The model is
reached only through :class:`DecodeRequested` events and :meth:`ObjectEditor.apply_result`.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from annotator.gui.session.category_commands import CategoryCommands
from annotator.gui.session.editor import ObjectEditor
from annotator.gui.session.events import (
    AnnotationsChanged,
    CategoriesChanged,
    CurrentCategoryChanged,
    DirtyChanged,
    Events,
    ImageChanged,
    ImageStatusChanged,
    Message,
    ProjectChanged,
    PromptsChanged,
    SelectionChanged,
    VisibilityChanged,
)
from annotator.gui.session.history import History
from annotator.gui.session.journal import Journal, Step
from annotator.gui.session.mask_cache import DecodedMasks
from annotator.gui.session.pending import PendingObjects
from annotator.gui.session.project_io import (
    LAST_IMAGE_KEY,
    ImageStatus,
    done_images,
    image_status,
    set_done,
)
from annotator.gui.session.prompt_state import PromptSession, PromptSnapshot
from annotator.gui.session.propagation import Propagation
from annotator.gui.session.proposals import Proposals
from annotator.gui.session.selection import SelectionCommands
from annotator.io.autosave import Autosaver
from annotator.io.document import Annotation, Document
from annotator.io.images import ImageReadError, read_image

DEFAULT_COLOR = "#4363d8"  # the object in progress before any category exists


class AppSession:
    """State: ``doc``, ``images`` (names relative to ``doc.images_root``, folder order),
    ``current`` / ``image_id`` / ``image`` ((H, W, 3) uint8 RGB), ``selected``, ``hidden``,
    ``category_id``, ``prompts`` (the object in progress), the object in progress parked per
    image, and one ``journal``. Prompt commands live on ``editor`` (editor.py)."""

    def __init__(self, autosave_delay_s: float = 3.0) -> None:
        self.events = Events()
        self.prompts = PromptSession()
        self.journal = Journal(self.prompts)
        self.editor = ObjectEditor(self)
        self.history = History(self)
        self.masks = DecodedMasks()
        self.autosave_delay_s = autosave_delay_s
        self.doc: Document | None = None
        self.autosaver: Autosaver | None = None
        self.images: list[str] = []
        self.current: str | None = None
        self.image_id: int | None = None
        self.image: np.ndarray | None = None
        self.selection: tuple[int, ...] = ()  # selected annotation ids, the primary last
        self.selecting = SelectionCommands(self)  # commands on them (selection.py)
        self.categories = CategoryCommands(self)  # delete with masks, merge, move
        self.proposals = Proposals(self)  # segment-everything masks to keep or drop
        self.hidden: set[int] = set()
        self.category_id: int | None = None
        self.model_name = ""
        self.parked: dict[str, PromptSnapshot] = {}  # in-progress objects of other images
        self.pending = PendingObjects(self)  # ...kept in the project file (pending.py)
        #: Edit ▸ Accept on next image: D / A accept the object in progress instead of parking it
        self.accept_on_switch = False
        self.unreadable: set[str] = set()  # images that failed to open: marked, skipped on D/A
        self.sequence = Propagation(self)  # tracks and propagation on frames (propagation.py)

    # -- the project ------------------------------------------------------------------------
    def adopt(self, doc: Document, images: list[str]) -> None:
        """Make `doc` the project; nothing of the previous one carries over (undo included)."""
        self.close()
        self.doc = doc
        self.autosaver = Autosaver(
            doc, delay_s=self.autosave_delay_s, on_error=self._autosave_error
        )
        self.journal = Journal(self.prompts)
        doc.set_recorder(self.journal.record_command)
        doc.add_listener(lambda ids, doc=doc: self._on_doc_changed(doc, ids))
        self.images = images
        self.current = self.image_id = self.image = None
        self.prompts.clear()
        self.editor.cancel_decode()
        self.parked.clear()
        self.unreadable.clear()
        self.masks.clear()  # annotation ids are reused by the next project
        self.hidden.clear()
        self.selection = ()
        self.category_id = None
        self.pending.load()
        self.events.emit(ProjectChanged())

    def close(self) -> None:
        if self.autosaver is not None:
            self.autosaver.close()

    def discard_recovery(self) -> None:
        """The user discards the unsaved changes: stop autosaving, drop this window's sidecar
        (the one it wrote or recovered; other windows' sidecars stay)."""
        self.close()
        self.autosaver = None
        if self.doc is not None and self.doc.autosave_path is not None:
            self.doc.autosave_path.unlink(missing_ok=True)
            self.doc.autosave_path = self.doc.autosave_state = None

    def _autosave_error(self, exc: Exception) -> None:
        self.events.emit(Message(f"Autosave failed: {exc}", 10000))

    def _on_doc_changed(self, doc: Document, image_ids: frozenset[int]) -> None:
        if doc is not self.doc:
            return
        if image_ids:
            self.events.emit(AnnotationsChanged(frozenset(image_ids)))
            self.events.emit(ImageStatusChanged())
        self.events.emit(DirtyChanged())

    # -- images -----------------------------------------------------------------------------
    @property
    def image_key(self) -> str | None:
        """The current image's resolved path: the model client's key for it."""
        if self.doc is None or self.current is None:
            return None
        return str((self.doc.images_root / self.current).resolve())

    def open_image(
        self, name: str, flush_autosave: bool = True, image: np.ndarray | None = None
    ) -> bool:
        """Switch to image `name`. The object in progress on the image left behind is parked
        and comes back with it; the project autosaves (not for a switch the app makes to show
        a frame, ``flush_autosave=False``: its timer writes). `image`: its (H, W, 3) uint8 RGB
        pixels when the caller has them (a frame the model thread read), else read here.
        Raises ImageReadError / OSError (and nothing changes) when the image cannot be read;
        False when no project is open."""
        if self.doc is None:
            return False
        record = self.doc.image_by_file_name(name)
        # A record whose size is not the file's would misalign every mask: refused, named.
        expected = None if record is None else (record.width, record.height)
        if image is not None and (expected is None or image.shape[1::-1] != expected):
            image = None  # not the record's size: read it, and say what is wrong
        try:
            if image is None:
                image = read_image(self.doc.images_root / name, expected=expected)
        except (ImageReadError, OSError):
            if name not in self.unreadable:
                self.unreadable.add(name)
                self.events.emit(ImageStatusChanged())
            raise
        if name in self.unreadable:  # mended since
            self.unreadable.discard(name)
            self.events.emit(ImageStatusChanged())
        with self.events.burst():
            if self.current is not None:
                if self.accept_on_switch and self.prompts.current_mask is not None:
                    self.editor.accept()
                if not self.prompts.is_empty:
                    self.parked[self.current] = self.prompts.state
                self.pending.sync()
                if self.autosaver is not None and flush_autosave:
                    self.autosaver.flush()
            self.prompts.restore(self.parked.pop(name, PromptSnapshot()))
            self.editor.cancel_decode()
            if record is None:
                height, width = image.shape[:2]  # read_image's shape is the EXIF-rotated size
                was_dirty = self.doc.dirty
                self.image_id = self.doc.add_image(name, width, height)
                if not was_dirty:
                    # Only looking at an image is no edit: no "unsaved changes" question, no
                    # autosave. The record is saved with the first real change.
                    self.doc.mark_clean()
            else:
                self.image_id = record.id
            self.journal.scope = self.image_id  # undo is per image (ADR 0003)
            self.doc.extra[LAST_IMAGE_KEY] = name  # reopens here; saved with the next change
            self.current, self.image = name, image
            self.selection = ()
            self.events.emit(ImageChanged(name, image))
            if self.prompts.has_prompts and self.prompts.state.candidates is None:
                self.editor.decode()
            self.events.emit(PromptsChanged())
        return True

    def neighbour(self, step: int) -> str | None:
        """The next image `step`'s way in the folder (D: +1, A: -1) that has not failed to open,
        or None past the end."""
        if not self.images:
            return None
        i = self.images.index(self.current) if self.current in self.images else -step
        j = i + step
        while 0 <= j < len(self.images) and self.images[j] in self.unreadable:
            j += step
        return self.images[j] if 0 <= j < len(self.images) else None

    def prefetch_items(self, ahead: int) -> list[tuple[str, str]]:
        """(model key, path) of the next `ahead` images, to pre-encode."""
        if self.doc is None or self.current not in self.images:
            return []
        i = self.images.index(self.current)
        root = self.doc.images_root
        return [
            (str((root / n).resolve()), str(root / n)) for n in self.images[i + 1 : i + 1 + ahead]
        ]

    def toggle_done(self) -> None:
        if self.doc is not None and self.current is not None:
            set_done(self.doc, self.current, self.current not in done_images(self.doc))
            self.events.emit(ImageStatusChanged())

    def image_rows(self) -> list[tuple[str, ImageStatus]]:
        if self.doc is None:
            return []
        done = done_images(self.doc)
        return [
            (n, ImageStatus.UNREADABLE if n in self.unreadable else image_status(self.doc, n, done))
            for n in self.images
        ]

    # -- annotations of the current image ---------------------------------------------------
    def annotations(self) -> list[Annotation]:
        if self.doc is None or self.image_id is None:
            return []
        return self.doc.annotations_for(self.image_id)

    def visible_annotations(self) -> list[Annotation]:
        """Shown on the canvas: not hidden, and not the one reopened for editing (it is drawn
        as the object in progress)."""
        editing = self.prompts.state.source
        return [a for a in self.annotations() if a.id not in self.hidden and a.id != editing]

    def annotation_at(self, x: float, y: float) -> Annotation | None:
        """Topmost visible annotation covering image pixel (x, y), or None."""
        col, row = int(x), int(y)
        for ann in reversed(self.visible_annotations()):
            m = self.masks.mask(ann)
            if 0 <= row < m.shape[0] and 0 <= col < m.shape[1] and m[row, col]:
                return ann
        return None

    @property
    def selected(self) -> int | None:
        """The primary selected annotation (the last one picked), or None."""
        return self.selection[-1] if self.selection else None

    def select(self, ann_id: int | None) -> None:
        """Select only `ann_id` (None: nothing)."""
        self.selection = () if ann_id is None else (ann_id,)
        self.events.emit(SelectionChanged(ann_id, frozenset(self.selection)))

    def select_at(self, x: float, y: float) -> None:
        ann = self.annotation_at(x, y)
        self.select(None if ann is None else ann.id)

    def set_visible(self, ann_id: int, visible: bool) -> None:
        (self.hidden.discard if visible else self.hidden.add)(ann_id)
        self.events.emit(VisibilityChanged(frozenset(self.hidden)))

    def toggle_hidden(self, ann_id: int) -> None:
        self.set_visible(ann_id, ann_id in self.hidden)

    # -- document commands (each one journal step) ------------------------------------------
    def _doc_change(self, change: Callable[[], object], categories: bool = False) -> bool:
        if self.doc is None:
            return False
        with self.events.burst():
            try:
                change()
            except (ValueError, KeyError) as exc:
                self.events.emit(Message(str(exc), 6000))
                return False
            if categories:
                self.events.emit(CategoriesChanged())
        return True

    def delete(self, ann_id: int) -> None:
        with self.events.burst():
            if self._doc_change(lambda: self.doc.delete_annotation(ann_id)):
                if ann_id in self.selection:
                    self.selecting.set(i for i in self.selection if i != ann_id)

    def delete_selected(self) -> None:
        """Delete: every selected mask, one undo step."""
        self.selecting.delete()

    def set_annotation_category(self, ann_id: int, category_id: int) -> None:
        if self.doc is not None and self.doc.annotation(ann_id).category_id != category_id:
            self._doc_change(lambda: self.doc.set_category(ann_id, category_id))

    def add_category(self, name: str) -> None:
        with self.events.burst():
            if self._doc_change(lambda: self.doc.add_category(name), categories=True):
                self.set_category(self.doc.category_by_name(name).id)

    def rename_category(self, category_id: int, name: str) -> None:
        self._doc_change(lambda: self.doc.rename_category(category_id, name), categories=True)

    def recolor_category(self, category_id: int, color: str) -> None:
        self._doc_change(lambda: self.doc.recolor_category(category_id, color), categories=True)

    # -- the current category ---------------------------------------------------------------
    def current_category(self) -> int:
        """The category Enter uses; the first one when the chosen one is gone. With every
        category deleted, the default is recreated (an undo step of its own)."""
        cats = self.doc.categories()
        if self.category_id not in {c.id for c in cats}:
            if not cats:
                self.doc.add_category("object")
                self.events.emit(CategoriesChanged())
                cats = self.doc.categories()
            self.category_id = cats[0].id
        return self.category_id

    def category_color(self) -> str:
        """The object in progress's colour: a reopened mask's own category, else the current."""
        if self.doc is None or not self.doc.categories():
            return DEFAULT_COLOR
        source = self.prompts.state.source
        if source is not None and source in {a.id for a in self.annotations()}:
            category = self.doc.annotation(source).category_id
            if category in {c.id for c in self.doc.categories()}:
                return self.doc.category(category).color
        return self.doc.category(self.current_category()).color

    def set_category(self, category_id: int) -> None:
        self.category_id = category_id
        self.events.emit(CurrentCategoryChanged(category_id))

    def set_category_index(self, index: int) -> None:
        """Keys 1-9: the index-th category, if there is one."""
        cats = self.doc.categories() if self.doc is not None else []
        if index < len(cats):
            self.set_category(cats[index].id)

    # -- undo / redo (per image, ADR 0003; history.py) ----------------------------------------
    def undo(self) -> Step | None:
        return self.history.move("Undo")

    def redo(self) -> Step | None:
        return self.history.move("Redo")
