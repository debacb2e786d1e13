"""Undo and redo as session commands: per image (docs/adr/0003-undo-model.md), each saying in
the status bar what it undid, or why nothing was."""

from __future__ import annotations

from typing import TYPE_CHECKING

from annotator.gui.session.events import CategoriesChanged, Message, PromptsChanged
from annotator.gui.session.journal import Blocked, DocStep, PromptStep, Step, changes_categories

if TYPE_CHECKING:
    from annotator.gui.session.session import AppSession


class History:
    def __init__(self, session: AppSession) -> None:
        self._s = session

    def move(self, what: str) -> Step | None:
        """what: "Undo" or "Redo". Returns the step taken, or None (with a message)."""
        s = self._s
        if s.doc is None:
            return None
        journal = s.journal
        with s.events.burst():
            s.editor.cancel_decode()
            step = (journal.undo if what == "Undo" else journal.redo)(s.doc)
            if not isinstance(step, PromptStep | DocStep):
                s.events.emit(Message(self._refusal(step, what), 6000))
                return None
            s.events.emit(Message(f"{what}: {step.label}", 3000))
            if isinstance(step, DocStep) and changes_categories(step.command):
                s.events.emit(CategoriesChanged())
            state = s.prompts.state
            if state.candidates is None and state.edited is None and s.prompts.has_prompts:
                s.editor.decode()  # its result was not on screen yet when it was recorded
            existing = {a.id for a in s.annotations()}
            if any(i not in existing for i in s.selection):
                s.selecting.set(i for i in s.selection if i in existing)
            s.events.emit(PromptsChanged())
        return step

    def _names(self, ids: frozenset[int]) -> str:
        found = sorted(self._s.doc.image(i).file_name for i in ids)  # images are never removed
        return ", ".join(found[:3]) + (" …" if len(found) > 3 else "")

    def _refusal(self, blocked: Blocked | None, what: str) -> str:
        if blocked is not None:
            return (
                f"{what} stops at “{blocked.step.label}”: it changed the whole project and "
                f"later edits on {self._names(blocked.later)} came after it; "
                f"{what.lower()} those first"
            )
        others = self._s.journal.elsewhere() if what == "Undo" else frozenset()
        more = f" (other images have steps to undo: {self._names(others)})" if others else ""
        return f"Nothing to {what.lower()} on this image{more}"
