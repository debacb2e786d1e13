"""The annotation flow of the main window: prompts, decodes, commit, undo, the mask list.

A mixin so main_window.py stays composition only; it uses the attributes MainWindow sets up.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtGui import QPainterPath

from annotator.gui.model.requests import PromptSet
from annotator.gui.overlays import hex_to_rgb, outline_path


class AnnotatingMixin:
    # -- prompts ---------------------------------------------------------------------------
    def _prompt_change(self, change) -> None:
        if self.image is None:
            return
        self.history.record_prompt()
        change()
        self._decode()
        self.refresh_current()

    def add_point(self, x: float, y: float, label: int) -> None:
        """x, y: image pixels; label 1 = foreground, 0 = background."""
        self._prompt_change(lambda: self.session.add_point(x, y, label))

    def set_box(self, box: tuple[float, float, float, float]) -> None:
        """box: XYXY image pixels."""
        self._prompt_change(lambda: self.session.set_box(box))

    def apply_edit(self, mask: np.ndarray) -> None:
        """A brush/eraser stroke finished: the edited mask becomes the current result."""
        if self.image is None:
            return
        self.history.record_prompt()
        self.session.apply_edit(mask)
        self.client.cancel_mask()  # a decode still in flight must not overwrite the edit
        self.refresh_current()

    def _decode(self) -> None:
        """Ask the worker for the mask of all current prompts (refining from the last result)."""
        if not self.session.has_prompts:
            self.client.cancel_mask()
            return
        points, labels, box, mask_input, multimask = self.session.prompt_arrays()
        self.client.request_mask(PromptSet(points, labels, box, mask_input, multimask))

    def _on_mask_ready(self, result) -> None:
        # the client delivers only the result of its latest request on the current image
        self.status.set_decode_time(result.decode_seconds)
        if len(result.scores) == 0:
            return
        self.session.apply_result(result.masks, result.scores, result.low_res_logits)
        self.refresh_current()

    def clear_prompts(self) -> None:
        """Esc: drop the object in progress (undoable)."""
        if self.session.is_empty:
            self.select_annotation(None)
            return
        self.history.record_prompt()
        self.session.clear()
        self.client.cancel_mask()
        self.canvas.tool.cancel()
        self.refresh_current()

    def cycle_candidate(self, step: int = 1) -> None:
        self.session.cycle(step)
        self.refresh_current()

    def choose_candidate(self, index: int) -> None:
        self.session.choose(index)
        self.refresh_current()

    # -- committing and editing annotations ------------------------------------------------
    def commit(self) -> int | None:
        """Enter: the current mask becomes an annotation of the current category."""
        mask = self.session.current_mask
        if self.doc is None or self.image_id is None or mask is None or not mask.any():
            self.status.showMessage("Nothing to accept: click or draw a box first", 4000)
            return None
        if self.client.awaiting_mask:
            self.status.showMessage("Still computing the mask; press Enter again", 3000)
            return None
        s = self.session.state
        before = s
        ann_id = self.doc.add_annotation(
            self.image_id,
            self._category_or_default(),
            mask,
            predicted_iou=self.session.current_score,
            point_coords=[list(p) for p in s.points] or None,
            point_labels=list(s.labels) or None,
            box=list(s.box) if s.box is not None else None,
            model=self.model_name or None,
            edited=True if s.edited is not None else None,
        )
        self.session.clear()
        self.history.record_doc(prompts_before=before)
        self.selected = ann_id
        self.refresh_all()
        return ann_id

    def _doc_change(self, change) -> None:
        if self.doc is None:
            return
        try:
            change()
        except (ValueError, KeyError) as exc:
            self.status.showMessage(str(exc), 6000)
            return
        self.history.record_doc()
        self.refresh_all()

    def delete_selected(self) -> None:
        if self.selected is not None:
            self.delete_annotation(self.selected)

    def delete_annotation(self, ann_id: int) -> None:
        self._doc_change(lambda: self.doc.delete_annotation(ann_id))
        if self.selected == ann_id:
            self.selected = None
            self.refresh_all()

    def change_category(self, ann_id: int, category_id: int) -> None:
        if self.doc.annotation(ann_id).category_id != category_id:
            self._doc_change(lambda: self.doc.set_category(ann_id, category_id))

    def add_category(self, name: str) -> None:
        self._doc_change(lambda: self.doc.add_category(name))
        if self.doc is not None and self.doc.category_by_name(name) is not None:
            self.choose_category(self.doc.category_by_name(name).id)

    def rename_category(self, category_id: int, name: str) -> None:
        self._doc_change(lambda: self.doc.rename_category(category_id, name))

    def recolor_category(self, category_id: int, color: str) -> None:
        self._doc_change(lambda: self.doc.recolor_category(category_id, color))

    def undo(self) -> None:
        self.client.cancel_mask()
        kind = self.history.undo(self.doc)
        self._after_history(kind, "Undo")

    def redo(self) -> None:
        self.client.cancel_mask()
        kind = self.history.redo(self.doc)
        self._after_history(kind, "Redo")

    def _after_history(self, kind: str | None, what: str) -> None:
        if kind is None:
            self.status.showMessage(f"Nothing to {what.lower()}", 2000)
            return
        s = self.session.state
        if s.candidates is None and s.edited is None and self.session.has_prompts:
            self._decode()  # its result was not on screen yet when it was recorded
        if self.doc is not None and self.selected is not None:
            if self.selected not in {a.id for a in self.doc.annotations()}:
                self.selected = None
        self.refresh_all()

    # -- categories, selection, visibility -------------------------------------------------
    def _category_or_default(self) -> int:
        cats = self.doc.categories()
        if self.category_id not in {c.id for c in cats}:
            if not cats:  # every category deleted: recreate the default, as an undo step
                self.doc.add_category("object")
                self.history.record_doc()
                cats = self.doc.categories()
            self.category_id = cats[0].id
        return self.category_id

    def category_color(self) -> str:
        if self.doc is None or not self.doc.categories():
            return "#4363d8"
        return self.doc.category(self._category_or_default()).color

    def choose_category(self, category_id: int) -> None:
        self.category_id = category_id
        self.categories.set_categories(self.doc.categories(), category_id)
        self.refresh_current()

    def choose_category_index(self, index: int) -> None:
        cats = self.doc.categories() if self.doc is not None else []
        if index < len(cats):
            self.choose_category(cats[index].id)

    def select_annotation(self, ann_id: int | None) -> None:
        self.selected = ann_id
        self.mask_list.select(ann_id)
        self.refresh_committed()

    def set_visible(self, ann_id: int, visible: bool) -> None:
        (self.hidden.discard if visible else self.hidden.add)(ann_id)
        self.refresh_committed()

    def _cached(self, ann) -> tuple[object, np.ndarray, QPainterPath]:
        """(rle, decoded (H, W) bool mask, outline) of an annotation, kept while its RLE is
        unchanged: hover and redraws would otherwise decode and trace it on every event."""
        hit = self._mask_cache.get(ann.id)
        if hit is None or hit[0] is not ann.rle:
            mask = ann.mask
            hit = (ann.rle, mask, outline_path(mask))
            self._mask_cache[ann.id] = hit
        return hit

    def _mask(self, ann) -> np.ndarray:
        return self._cached(ann)[1]

    def _visible_annotations(self):
        if self.doc is None or self.image_id is None:
            return []
        return [a for a in self.doc.annotations_for(self.image_id) if a.id not in self.hidden]

    def annotation_at(self, x: float, y: float):
        """Topmost visible annotation covering image pixel (x, y), or None."""
        col, row = int(x), int(y)
        for ann in reversed(self._visible_annotations()):
            m = self._mask(ann)
            if 0 <= row < m.shape[0] and 0 <= col < m.shape[1] and m[row, col]:
                return ann
        return None

    def _select_at(self, x: float, y: float) -> None:
        ann = self.annotation_at(x, y)
        self.select_annotation(None if ann is None else ann.id)

    def _on_hover(self, x: float, y: float) -> None:
        ann = self.annotation_at(x, y) if x >= 0 else None
        self.canvas.set_hover(None if ann is None else self._cached(ann)[2])

    # -- drawing ---------------------------------------------------------------------------
    def refresh_current(self) -> None:
        s = self.session.state
        self.canvas.set_current(self.session.current_mask, self.category_color())
        self.canvas.set_prompts(np.array(s.points).reshape(-1, 2), np.array(s.labels), s.box)
        c = s.candidates
        show = c is not None and s.edited is None and len(c.scores) > 1
        self.candidates.set_candidates(
            self.image if show else None,
            c.masks if show else None,
            c.scores if show else None,
            s.chosen,
            hex_to_rgb(self.category_color()),
        )
        self._update_title()

    def refresh_committed(self) -> None:
        if self.doc is None:
            return
        cats = {c.id: c.color for c in self.doc.categories()}
        layers = []
        for a in self._visible_annotations():
            _, mask, outline = self._cached(a)
            layers.append(
                (mask, cats.get(a.category_id, "#808080"), a.id == self.selected, outline)
            )
        self.canvas.set_committed(layers)

    def refresh_all(self) -> None:
        if self.doc is None:
            return
        anns = self.doc.annotations_for(self.image_id) if self.image_id is not None else []
        self.mask_list.set_rows(anns, self.doc.categories(), self.hidden, self.selected)
        self.categories.set_categories(self.doc.categories(), self._category_or_default())
        self.refresh_committed()
        self.refresh_current()
        self.refresh_image_list()
