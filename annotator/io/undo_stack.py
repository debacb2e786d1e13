"""The undo rule, once: a list of steps to undo and one to redo, the oldest dropped past a
limit, and a new step clearing what could be redone.

Used by the Document's own history (CLI and scripts) and by the app's journal, which holds
prompt steps besides document steps (docs/adr/0003-undo-model.md).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar

UNDO_LIMIT = 1000
"""Steps kept for undo; older ones are dropped."""

T = TypeVar("T")


class UndoStack(Generic[T]):
    def __init__(self, limit: int = UNDO_LIMIT) -> None:
        self.limit = limit
        self._undo: list[T] = []
        self._redo: list[T] = []

    @property
    def can_undo(self) -> bool:
        return bool(self._undo)

    @property
    def can_redo(self) -> bool:
        return bool(self._redo)

    def next_undo(self) -> T | None:
        return self._undo[-1] if self._undo else None

    def next_redo(self) -> T | None:
        return self._redo[-1] if self._redo else None

    def push(self, step: T) -> None:
        """A new step: undoable, the oldest past `limit` dropped, nothing left to redo."""
        self._undo.append(step)
        del self._undo[: -self.limit]
        self._redo.clear()

    def undo(self, reverse: Callable[[T], T] = lambda step: step) -> T | None:
        """Pop the latest step (None if none); `reverse(step)` is what redo will get."""
        if not self._undo:
            return None
        step = self._undo.pop()
        self._redo.append(reverse(step))
        return step

    def redo(self, reverse: Callable[[T], T] = lambda step: step) -> T | None:
        """Pop the latest undone step (None if none); `reverse(step)` goes back to undo."""
        if not self._redo:
            return None
        step = self._redo.pop()
        self._undo.append(reverse(step))
        return step

    def clear(self) -> None:
        self._undo.clear()
        self._redo.clear()

    def keep(self, mapping: Callable[[T], T | None]) -> None:
        """Replace every step by ``mapping(step)``, dropping those it maps to None."""
        self._undo = [m for s in self._undo if (m := mapping(s)) is not None]
        self._redo = [m for s in self._redo if (m := mapping(s)) is not None]
