"""The label pop-up's part in the window (issue 15): after Enter accepts a new mask, the
pop-up asks for its label; the name taken (a new one creates the category) relabels the mask
(one undo step) and becomes the category of the next object. On by default for new projects;
Edit ▸ Ask for the label on accept turns it off (kept in the project)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QPoint

from annotator.gui.session.events import ImageChanged, ProjectChanged, PromptsChanged
from annotator.gui.widgets.label_popup import LabelPopup

if TYPE_CHECKING:
    from annotator.gui.main_window import MainWindow

POPUP_KEY = "annotator_label_popup"  # top-level project key: ask for the label on accept
NEW_PROJECTS_ASK = True  # the default for a project that has no file yet


class LabelFlow:
    def __init__(self, window: MainWindow) -> None:
        self.win = window
        self.session = s = window.session
        self.popup = LabelPopup(window.canvas)
        self.recent: list[str] = []  # category names, most recently used first
        self._target: int | None = None
        self.popup.chosen.connect(self._chosen)
        s.events.connect(ProjectChanged, lambda _e: self.popup.hide())
        s.events.connect(ImageChanged, lambda _e: self.popup.hide())
        s.events.connect(PromptsChanged, self._on_prompts)

    @property
    def enabled(self) -> bool:
        doc = self.session.doc
        return doc is not None and bool(doc.extra.get(POPUP_KEY, False))

    def set_enabled(self, on: bool) -> None:
        if self.session.doc is not None:
            self.session.doc.extra[POPUP_KEY] = bool(on)

    def project_opened(self) -> None:
        """A project with no file yet asks by default."""
        doc = self.session.doc
        if doc is not None and POPUP_KEY not in doc.extra:
            if doc.path is None or not doc.path.exists():
                doc.extra[POPUP_KEY] = NEW_PROJECTS_ASK
        self.win.actions_by_name["label_popup"].setChecked(self.enabled)

    def _on_prompts(self, _event: PromptsChanged) -> None:
        if not self.session.prompts.is_empty:  # the next object began: the question is over
            self.popup.hide()

    def accepted(self, ann_id: int) -> None:
        """Enter made annotation `ann_id`: ask for its label near it."""
        s = self.session
        if not self.enabled:
            self._used(s.doc.category(s.doc.annotation(ann_id).category_id).name)
            return
        self._target = ann_id
        names = [c.name for c in s.doc.categories()]
        order = [n for n in self.recent if n in names] + [n for n in names if n not in self.recent]
        x, y, w, _h = s.doc.annotation(ann_id).bbox
        pos = self.win.canvas.image_to_view(x + w, y)
        self.popup.open_at(order, QPoint(pos.x() + 8, pos.y()))

    def _chosen(self, name: str) -> None:
        s = self.session
        if s.doc is None or self._target is None:
            return
        ann_id, self._target = self._target, None
        with s.events.burst():
            category = s.doc.category_by_name(name)
            if category is None:
                s.add_category(name)  # also makes it the current category
                category = s.doc.category_by_name(name)
            if category is None:
                return  # refused (the session said why)
            if ann_id in {a.id for a in s.annotations()}:
                s.set_annotation_category(ann_id, category.id)
            s.set_category(category.id)
        self._used(name)

    def _used(self, name: str) -> None:
        self.recent = [name, *(n for n in self.recent if n != name)][:20]
