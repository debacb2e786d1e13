"""Keeps the window's widgets in step with the app session.

Each change event marks the parts of the view it makes stale; when the session command that
emitted them is done (``Events.on_flush``), each stale part is redrawn once. A click redraws the
object in progress only; a selection redraws the committed overlay and the mask list's
selection; switching images redraws everything.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from PySide6.QtGui import QPainterPath

from annotator.gui.session.events import (
    AnnotationsChanged,
    CategoriesChanged,
    CurrentCategoryChanged,
    DirtyChanged,
    ImageChanged,
    ImageStatusChanged,
    ProjectChanged,
    PromptsChanged,
    SelectionChanged,
    VisibilityChanged,
)
from annotator.gui.session.project_io import progress
from annotator.gui.widgets.overlays import OutlineCache, hex_to_rgb
from annotator.io.document import Annotation

if TYPE_CHECKING:
    from annotator.gui.main_window import MainWindow

EVERYTHING = ("masks", "categories", "committed", "current", "images", "title")


class SessionView:
    def __init__(self, window: MainWindow) -> None:
        self.win = window
        self.session = window.session
        self.outlines = OutlineCache()
        self._stale: set[str] = set()
        self._editing: int | None = None  # the reopened annotation, drawn as the current object
        ev = self.session.events
        ev.connect(ProjectChanged, self._on_project)
        ev.connect(ImageChanged, self._on_image)
        ev.connect(AnnotationsChanged, self._on_annotations)
        ev.connect(CategoriesChanged, lambda _e: self._mark("categories", "masks", "committed"))
        ev.connect(CurrentCategoryChanged, lambda _e: self._mark("categories", "current"))
        ev.connect(SelectionChanged, lambda _e: self._mark("selection", "committed"))
        ev.connect(VisibilityChanged, lambda _e: self._mark("committed"))
        ev.connect(PromptsChanged, lambda _e: self._mark("current"))
        ev.connect(ImageStatusChanged, lambda _e: self._mark("images"))
        ev.connect(DirtyChanged, lambda _e: self._mark("title"))
        ev.on_flush(self.flush)

    def _mark(self, *parts: str) -> None:
        self._stale.update(parts)

    def _on_project(self, _event: ProjectChanged) -> None:
        self.outlines.clear()  # annotation ids are reused by the next project
        self._mark(*EVERYTHING)

    def _on_image(self, event: ImageChanged) -> None:
        self.win.canvas.set_image(event.image)
        self._mark(*EVERYTHING)

    def _on_annotations(self, event: AnnotationsChanged) -> None:
        if self.session.image_id in event.image_ids:
            self._mark("masks", "committed")

    def flush(self) -> None:
        """Redraw what the events since the last flush made stale."""
        stale, self._stale = self._stale, set()
        s, w = self.session, self.win
        if s.prompts.state.source != self._editing:  # reopened / written back: not drawn twice
            self._editing = s.prompts.state.source
            stale |= {"committed", "masks"}
        if s.doc is not None:
            if "masks" in stale:
                w.mask_list.set_rows(s.annotations(), s.doc.categories(), s.hidden, s.selection)
            elif "selection" in stale:
                w.mask_list.select(s.selection)
            if "categories" in stale:
                w.categories.set_categories(s.doc.categories(), s.current_category())
            if "committed" in stale or "categories" in stale:
                self.refresh_committed()
            if "current" in stale or "categories" in stale:
                self.refresh_current()
            if "images" in stale:
                rows = s.image_rows()
                w.image_list.set_images(rows, s.current)
                w.status.set_progress(*progress(rows))
        self.update_title()

    def update_title(self) -> None:
        s = self.session
        star = "*" if s.doc is not None and s.doc.dirty else ""
        self.win.setWindowTitle(f"annotator — {s.current or 'no image'}{star}")

    def outline(self, ann: Annotation) -> QPainterPath:
        return self.outlines.outline(ann.id, ann.rle, self.session.masks.mask(ann))

    def refresh_committed(self) -> None:
        s = self.session
        if s.doc is None:
            return
        cats = {c.id: c.color for c in s.doc.categories()}
        layers = [
            (
                s.masks.mask(a),
                cats.get(a.category_id, "#808080"),
                a.id in s.selection,
                self.outline(a),
            )
            for a in s.visible_annotations()
        ]
        self.win.canvas.set_committed(layers)

    def refresh_current(self) -> None:
        s = self.session
        p = s.prompts.state
        color = s.category_color()
        self.win.canvas.set_current(s.prompts.current_mask, color)
        self.win.canvas.set_prompts(np.array(p.points).reshape(-1, 2), np.array(p.labels), p.box)
        self.win.canvas.refresh_tool()  # the polygon tool traces the new mask
        c = p.candidates
        show = c is not None and p.edited is None and len(c.scores) > 1
        self.win.candidates.set_candidates(
            s.image if show else None,
            c.masks if show else None,
            c.scores if show else None,
            p.chosen,
            hex_to_rgb(color),
        )
