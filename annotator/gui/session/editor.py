"""Commands on the object in progress: prompts, the model's answer, brush edits, Esc, Enter.

Every change to the prompts is one undo step (a prompt snapshot in the journal) and asks the
model again through a :class:`DecodeRequested` event, refining from what is on screen. The model
client delivers only the answer to its latest request on the current image (it is the one
stale-result filter); the editor only knows *whether* it is waiting for an answer, because a
brush edit, Esc or undo takes the object off the model's hands and the answer then in flight
must not overwrite it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from annotator.gui.session.events import (
    CategoriesChanged,
    DecodeCancelled,
    DecodeRequested,
    Message,
    PromptsChanged,
)
from annotator.gui.session.find import phrase_category
from annotator.gui.session.prompt_state import PromptSession

if TYPE_CHECKING:
    from annotator.gui.session.session import AppSession


class ObjectEditor:
    def __init__(self, session: AppSession) -> None:
        self._s = session
        #: a decode of the current prompts was asked for and its answer has not come yet
        self.decoding = False

    @property
    def prompts(self) -> PromptSession:
        return self._s.prompts

    def _changed(self) -> None:
        self._s.events.emit(PromptsChanged())

    def _prompt_change(self, change) -> None:
        if self._s.image is None:
            return
        with self._s.events.burst():
            self._s.journal.record_prompt()
            change()
            self.decode()
            self._changed()

    def add_point(self, x: float, y: float, label: int) -> None:
        """x, y: image pixels; label 1 = foreground, 0 = background."""
        self._prompt_change(lambda: self.prompts.add_point(x, y, label))

    def set_box(self, box: tuple[float, float, float, float]) -> None:
        """box: XYXY image pixels."""
        self._prompt_change(lambda: self.prompts.set_box(box))

    def apply_edit(self, mask: np.ndarray) -> None:
        """A brush/eraser stroke finished: the edited (H, W) bool mask becomes the result."""
        if self._s.image is None:
            return
        if self.prompts.is_empty and not mask.any():
            self._s.events.emit(Message("Nothing to erase: no object in progress", 3000))
            return
        self._s.journal.record_prompt()
        self.prompts.apply_edit(mask)
        self.cancel_decode()  # a decode still in flight must not overwrite the edit
        self._changed()

    def decode(self) -> None:
        """Ask for the mask of all current prompts (refining from the last result)."""
        if not self.prompts.has_prompts:
            self.cancel_decode()
            return
        self.decoding = True
        self._s.events.emit(DecodeRequested(*self.prompts.prompt_arrays()))

    def apply_result(self, masks: np.ndarray, scores: np.ndarray, low_res: np.ndarray) -> bool:
        """The model's answer to the latest request: masks (C, H, W) bool, scores (C,) float32,
        low_res (C, 256, 256) float32 logits. False (and ignored) when no answer was awaited."""
        if not self.decoding:
            return False
        self.decoding = False
        if len(scores):
            self.prompts.apply_result(masks, scores, low_res)
            self._changed()
        return True

    def cancel_decode(self) -> None:
        """No answer is wanted any more; the client is told (DecodeCancelled) and drops it."""
        if self.decoding:
            self.decoding = False
            self._s.events.emit(DecodeCancelled())

    def model_failed(self) -> None:
        """The model reported an error: nothing is on its way any more."""
        self.decoding = False

    def clear(self) -> None:
        """Esc: drop the object in progress (undoable); with none, clear the selection."""
        if self.prompts.is_empty:
            self._s.select(None)
            return
        self._s.journal.record_prompt()
        self.prompts.clear()
        self.cancel_decode()
        self._changed()

    def reopen(self, ann_id: int) -> bool:
        """Double-click, or select + Enter / E: make accepted annotation `ann_id` the object in
        progress again (one undo step). Refused, with a message, while another object is in
        progress."""
        s = self._s
        if s.doc is None or s.image_id is None or s.prompts.state.source == ann_id:
            return False
        if not self.prompts.is_empty:
            s.events.emit(Message("Accept (Enter) or clear (Esc) the object in progress first"))
            return False
        ann = s.doc.annotation(ann_id)
        with s.events.burst():
            s.journal.record_prompt()
            self.prompts.reopen(ann_id, s.masks.mask(ann))
            self.cancel_decode()
            s.select(None)
            s.events.emit(
                Message("Editing the mask: brush, eraser or clicks; Enter writes it back", 6000)
            )
            self._changed()
        return True

    def cycle(self, step: int = 1) -> None:
        self.prompts.cycle(step)
        self._changed()

    def choose(self, index: int) -> None:
        self.prompts.choose(index)
        self._changed()

    def accept(self) -> int | None:
        """Enter: the current mask becomes an annotation of the current category; returns its
        id, or None (with a message) when there is nothing to accept yet.

        A model-made mask records its predicted_iou and stability_score (prompt_state's
        model_scores). A mask the brush edited keeps the scores of the model mask it was made
        from (marked ``edited``); a mask with no model mask behind it records none."""
        s = self._s
        mask = self.prompts.current_mask
        if s.doc is None or s.image_id is None or mask is None or not mask.any():
            s.events.emit(Message("Nothing to accept: click or draw a box first", 4000))
            return None
        if self.decoding:
            s.events.emit(Message("Still computing the mask; press Enter again", 3000))
            return None
        state = self.prompts.state
        if state.source is not None and state.source in {a.id for a in s.annotations()}:
            return self._write_back(state, mask)
        if state.origin is not None:
            return self._accept_found(state, mask)
        with s.events.burst():
            category = s.current_category()  # may recreate the default category: its own step
            with s.journal.carrying(state):
                ann_id = s.doc.add_annotation(
                    s.image_id,
                    category,
                    mask,
                    **self.prompts.model_scores(),
                    point_coords=[list(p) for p in state.points] or None,
                    point_labels=list(state.labels) or None,
                    box=list(state.box) if state.box is not None else None,
                    model=s.model_name or None,
                    edited=True if state.edited is not None else None,
                    **s.sequence.track_provenance(),
                )
            self.prompts.clear()
            self._changed()
            s.select(ann_id)
        return ann_id

    def _accept_found(self, state, mask: np.ndarray) -> int:
        """Enter on a found instance taken over (find.py's refine_at): an annotation of the
        phrase's category (created in the same undo step if missing) with the find's provenance,
        and, once clicks or a brush changed it, the refinement's (``refined_with``: the
        interactive model; its prompts and scores)."""
        s, origin = self._s, state.origin
        refinement = {}
        if self.prompts.refined:
            refinement = {
                **self.prompts.model_scores(),
                "point_coords": [list(p) for p in state.points] or None,
                "point_labels": list(state.labels) or None,
                "prompt_box": list(state.box) if state.box is not None else None,
                "refined_with": s.model_name or "interactive model",
                "edited": True if state.edited is not None else None,
            }
        with s.events.burst():
            with s.journal.carrying(state), s.doc.batch(f"add refined '{origin.category}'"):
                category = phrase_category(s.doc, origin.category)
                ann_id = s.doc.add_annotation(
                    s.image_id, category, mask, **{**dict(origin.provenance), **refinement}
                )
            s.set_category(category)
            s.events.emit(CategoriesChanged())
            self.prompts.clear()
            self._changed()
            s.select(ann_id)
        return ann_id

    def _write_back(self, state, mask: np.ndarray) -> int:
        """Enter on a reopened annotation: its new mask replaces the old, one undo step. Clicks
        of an interactive model on a mask another model made (a SAM 3 find) are recorded as
        ``refined_with``."""
        s = self._s
        with s.events.burst():
            prov = self.prompts.model_scores()
            made_by = s.doc.annotation(state.source).provenance.get("model")
            if self.prompts.has_prompts and s.model_name and made_by != s.model_name:
                prov["refined_with"] = s.model_name
            with s.journal.carrying(state):
                s.doc.replace_annotation(
                    state.source,
                    mask,
                    **prov,
                    point_coords=[list(p) for p in state.points] or None,
                    point_labels=list(state.labels) or None,
                    box=list(state.box) if state.box is not None else None,
                    edited=True if state.edited is not None else None,
                    **s.sequence.track_provenance(state.source),
                )
            self.prompts.clear()
            self._changed()
            s.select(state.source)
        return state.source
