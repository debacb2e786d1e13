"""Find (Ctrl+F): every instance of a phrase or of exemplar boxes, as candidates to review.

A query goes to the concept model through a :class:`FindRequested` event; its answer comes back
through :meth:`FindSession.apply_result`. Every candidate at or above the score slider starts
*kept*; a click toggles one; Enter adds the kept ones (or all) as annotations of the phrase's
category (matched case-insensitively, created if missing) in one undo step; Esc discards them.
Existing annotations are never deleted or replaced. A double-click takes one candidate over as
the object in progress (:meth:`FindSession.refine_at`): the interactive model's clicks refine it
from its mask, and Enter files it in the phrase's category with its provenance (editor.py).
No Qt, no torch.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from annotator.engine.concepts.instances import PROVENANCE_SOURCE
from annotator.gui.session.events import CategoriesChanged, Message, PromptsChanged
from annotator.gui.session.prompt_state import MaskOrigin

if TYPE_CHECKING:
    from annotator.gui.session.session import AppSession
    from annotator.io.document import Document

QUERY_FLOOR = 0.1
"""Score under which the model's instances are not even shown (the slider starts at 0.5)."""

EXEMPLAR_PHRASE = "object"
"""Category of instances found from exemplar boxes alone, when no phrase was typed."""


@dataclass(frozen=True)
class FindRequested:
    """Ask the concept model. boxes: XYXY original-image pixels; threshold: the query floor."""

    request_id: int
    image_key: str
    phrase: str | None
    exemplar_boxes: tuple[tuple[float, float, float, float], ...]
    negative_boxes: tuple[tuple[float, float, float, float], ...]
    threshold: float


@dataclass(frozen=True)
class FindChanged:
    """The candidates, their kept flags, the exemplars or the waiting state changed."""


@dataclass
class Candidate:
    """One found instance: mask (H, W) bool, box XYXY and score, as the model gave them."""

    mask: np.ndarray
    box: tuple[float, float, float, float]
    score: float
    kept: bool = True

    @property
    def key(self) -> tuple[object, ...]:
        """What names this instance in an annotation's provenance: its box and score."""
        return (tuple(self.box), round(self.score, 6))


def found_key(provenance: dict[str, Any]) -> tuple[object, ...] | None:
    """The :attr:`Candidate.key` of the instance an annotation (or a taken-over object) was
    found as, from its provenance; None when it was not found by SAM 3."""
    if provenance.get("source") != PROVENANCE_SOURCE or provenance.get("box") is None:
        return None
    return (tuple(provenance["box"]), provenance.get("score"))


def phrase_category(doc: Document, phrase: str, create: bool = True) -> int | None:
    """The id of the category named ``phrase`` (case-insensitively); created when missing (an
    undo step, or part of the caller's batch), or None with ``create`` False."""
    for category in doc.categories():
        if category.name.casefold() == phrase.casefold():
            return category.id
    return doc.add_category(phrase) if create else None


@dataclass
class FindState:
    phrase: str | None = None
    exemplars: list[tuple[tuple[float, float, float, float], bool]] = field(default_factory=list)
    candidates: list[Candidate] = field(default_factory=list)
    waiting: int | None = None  # id of the request whose answer is awaited


class FindSession:
    """The Find review on the current image of ``session``."""

    def __init__(self, session: AppSession) -> None:
        self._s = session
        self.state = FindState()
        self.min_score = 0.5
        self.model_name = "sam3"  # recorded in each accepted annotation's provenance
        self._next_id = 0

    @property
    def active(self) -> bool:
        """A query is on screen or on its way (Enter and Esc then belong to Find)."""
        s = self.state
        return s.waiting is not None or bool(self.shown) or bool(s.exemplars)

    @property
    def shown(self) -> list[Candidate]:
        """The candidates under review: not the one taken over as the object in progress, nor
        one already annotated on this image after a refinement."""
        s = self._s
        taken = {found_key(a.provenance) for a in s.annotations()}
        origin = s.prompts.state.origin
        if origin is not None:
            taken.add(found_key(dict(origin.provenance)))
        return [c for c in self.state.candidates if c.key not in taken]

    @property
    def kept(self) -> list[Candidate]:
        return [c for c in self.shown if c.kept]

    def _changed(self) -> None:
        self._s.events.emit(FindChanged())

    # -- queries -------------------------------------------------------------------------
    def find(self, phrase: str | None) -> int | None:
        """Query ``phrase`` (with the exemplars drawn so far); returns the request id."""
        phrase = " ".join((phrase or "").split()) or None
        if self._s.image is None or self._s.image_key is None:
            self._s.events.emit(Message("Open an image first", 3000))
            return None
        if phrase is None and not any(positive for _, positive in self.state.exemplars):
            self._s.events.emit(Message("Type a phrase, or draw an exemplar box (Shift+B)", 4000))
            return None
        self.state.phrase = phrase
        self._next_id += 1
        self.state.waiting = self._next_id
        ex = self.state.exemplars
        self._s.events.emit(
            FindRequested(
                self._next_id,
                self._s.image_key,
                phrase,
                tuple(box for box, positive in ex if positive),
                tuple(box for box, positive in ex if not positive),
                QUERY_FLOOR,
            )
        )
        self._changed()
        return self._next_id

    def add_exemplar(self, box: tuple[float, float, float, float], positive: bool = True) -> None:
        """An exemplar box (XYXY image pixels): SAM 3 finds the others like it (a negative one
        removes a kind of false hit); the query runs again with it."""
        self.state.exemplars.append((tuple(float(v) for v in box), positive))  # type: ignore[arg-type]
        self.find(self.state.phrase)

    def apply_result(
        self, request_id: int, image_key: str, instances: list[tuple[np.ndarray, tuple, float]]
    ) -> bool:
        """The model's answer: (mask (H, W) bool, box XYXY, score) per instance. False (and
        ignored) when it is not the awaited one, or for another image."""
        if request_id != self.state.waiting or image_key != self._s.image_key:
            return False
        self.state.waiting = None
        self.state.candidates = [
            Candidate(np.asarray(m, bool), tuple(float(v) for v in b), float(s))  # type: ignore[arg-type]
            for m, b, s in instances
            if np.asarray(m).any()
        ]
        self._apply_slider()
        kept, shown = len(self.kept), len(self.shown)
        already = len(self.state.candidates) - shown
        note = f"; {already} already annotated, not shown" if already else ""
        self._s.events.emit(Message(f"Found {shown} ({kept} at or above the slider{note})", 4000))
        self._changed()
        return True

    def model_failed(self) -> None:
        self.state.waiting = None
        self._changed()

    # -- review --------------------------------------------------------------------------
    def set_min_score(self, value: float) -> None:
        """The score slider: candidates at or above it are kept, the others not."""
        self.min_score = float(value)
        self._apply_slider()
        self._changed()

    def _apply_slider(self) -> None:
        for c in self.state.candidates:
            c.kept = c.score >= self.min_score

    def _candidate_at(self, x: float, y: float) -> Candidate | None:
        """The best-scored shown candidate covering image pixel (x, y)."""
        col, row = int(x), int(y)
        for c in sorted(self.shown, key=lambda c: -c.score):
            h, w = c.mask.shape
            if 0 <= row < h and 0 <= col < w and c.mask[row, col]:
                return c
        return None

    def toggle_at(self, x: float, y: float) -> bool:
        """Toggle the best-scored candidate covering image pixel (x, y); False when none."""
        c = self._candidate_at(x, y)
        if c is not None:
            c.kept = not c.kept
            self._changed()
        return c is not None

    def refine_at(self, x: float, y: float) -> bool:
        """Double-click: the candidate under image pixel (x, y) becomes the object in progress
        (one undo step), its mask the interactive model's mask input, so the next click refines
        it; Enter files it in the phrase's category with its provenance, Esc puts it back among
        the candidates. False when there is no candidate there or another object is in
        progress (then with a message)."""
        s = self._s
        c = self._candidate_at(x, y)
        if c is None:
            return False
        if not s.prompts.is_empty:
            s.events.emit(Message("Accept (Enter) or clear (Esc) the object in progress first"))
            return False
        c.kept = c.score >= self.min_score  # the double-click's first click toggled it
        phrase = self.state.phrase or EXEMPLAR_PHRASE
        provenance = tuple(self._provenance(c).items())
        with s.events.burst():
            s.journal.record_prompt()
            s.prompts.take_over(MaskOrigin(phrase, provenance, c.mask))
            s.editor.cancel_decode()
            s.events.emit(PromptsChanged())
            s.events.emit(
                Message(
                    f"Refining '{phrase}' {c.score:.2f}: click to add, Shift+click to remove; "
                    "Enter accepts it, Esc puts it back",
                    8000,
                )
            )
            self._changed()
        return True

    def _provenance(self, c: Candidate) -> dict[str, Any]:
        """What an annotation made from candidate ``c`` records of how it was found."""
        exemplars = [list(b) for b, positive in self.state.exemplars if positive]
        return {
            "source": PROVENANCE_SOURCE,
            "phrase": self.state.phrase,
            "score": round(c.score, 6),
            "box": list(c.box),
            "exemplar_boxes": exemplars or None,
            "model": self.model_name,
        }

    def accept(self, everything: bool = False) -> list[int]:
        """Add the kept candidates (``everything``: all of them) as annotations in one undo
        step; returns their ids. The phrase's category is matched case-insensitively to the
        existing ones, or created in the same step."""
        s = self._s
        chosen = self.shown if everything else self.kept
        if s.doc is None or s.image_id is None:
            return []
        if not chosen:
            s.events.emit(Message("Nothing kept to accept: click candidates or lower the slider"))
            return []
        phrase = self.state.phrase or EXEMPLAR_PHRASE
        ids: list[int] = []
        with s.events.burst():
            with s.doc.batch(f"accept {len(chosen)} found '{phrase}'"):
                category = phrase_category(s.doc, phrase)
                for c in chosen:
                    ids.append(
                        s.doc.add_annotation(s.image_id, category, c.mask, **self._provenance(c))
                    )
            s.set_category(category)
            s.events.emit(CategoriesChanged())
            self.discard()
        s.events.emit(Message(f"Added {len(ids)} '{phrase}' masks (Ctrl+Z undoes them)", 4000))
        return ids

    def discard(self) -> None:
        """Esc: drop the candidates, the exemplars and any answer still on its way."""
        self.state = FindState(phrase=self.state.phrase)
        self._changed()

    def image_changed(self) -> None:
        """Another image: the candidates belonged to the one left behind."""
        if self.active:
            self.discard()
