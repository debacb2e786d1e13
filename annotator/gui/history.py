"""One undo/redo journal over prompt edits and document changes alike.

Prompt steps store the :class:`PromptSnapshot` from before the change; document steps call the
document's own ``undo``/``redo`` and may also carry the prompt snapshot to bring back (undoing
Enter puts the object back on the canvas, with its prompts). Undo pushes the state it leaves onto
the redo stack, so redo restores exactly what was on screen.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from annotator.gui.prompt_state import PromptSession, PromptSnapshot
from annotator.io.document import UNDO_LIMIT


class Undoable(Protocol):
    def undo(self) -> object: ...
    def redo(self) -> object: ...


@dataclass(frozen=True)
class _Step:
    kind: str  # "prompt" | "doc"
    snapshot: PromptSnapshot | None


class History:
    def __init__(self, session: PromptSession) -> None:
        self.session = session
        self._undo: list[_Step] = []
        self._redo: list[_Step] = []

    def record_prompt(self) -> None:
        """Call before changing the prompts."""
        self._push(_Step("prompt", self.session.state))

    def record_doc(self, prompts_before: PromptSnapshot | None = None) -> None:
        """Call after each document change (one document undo step).

        prompts_before: for a commit (Enter), the object as it was on the canvas; undoing the
        commit puts it back there.
        """
        self._push(_Step("doc", prompts_before))

    def _push(self, step: _Step) -> None:
        self._undo.append(step)
        # The document keeps its last UNDO_LIMIT steps; keeping no more here means every "doc"
        # step in this journal still has its document step (and prompt snapshots, which hold
        # full-size masks, stay bounded).
        del self._undo[:-UNDO_LIMIT]
        self._redo.clear()

    def undo(self, document: Undoable | None) -> str | None:
        """Undo the latest step; returns its kind, or None when there is nothing to undo."""
        if not self._undo:
            return None
        step = self._undo.pop()
        self._redo.append(self._swap(step))
        if step.kind == "doc" and document is not None:
            document.undo()
        return step.kind

    def redo(self, document: Undoable | None) -> str | None:
        if not self._redo:
            return None
        step = self._redo.pop()
        self._undo.append(self._swap(step))
        if step.kind == "doc" and document is not None:
            document.redo()
        return step.kind

    def _swap(self, step: _Step) -> _Step:
        """Restore the step's snapshot; return the step that goes the other way."""
        if step.snapshot is None:
            return step
        here = self.session.state
        self.session.restore(step.snapshot)
        return _Step(step.kind, here)

    def forget_prompts(self) -> None:
        """On image switch: prompt steps belong to the image left behind; document steps stay."""
        self._undo = [_Step("doc", None) for s in self._undo if s.kind == "doc"]
        self._redo = [_Step("doc", None) for s in self._redo if s.kind == "doc"]
