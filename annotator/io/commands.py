"""Undoable edits of a Document, as plain command objects (Qt-free; QUndoStack is not needed).

Each command holds immutable snapshots (frozen Annotation/Category records) of the state before
and after, so apply/revert are exact and cheap. Commands touch the Document only through its
private ``_put_*``/``_drop_*`` primitives, which bypass the undo stack. They are typed against
the `Tables` protocol below, so this module never imports document.py (no import cycle).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from annotator.io.records import Annotation, Category


class Tables(Protocol):
    """What commands need of a Document: its table primitives (no undo, no notification)."""

    def _put_annotation(self, ann: Annotation) -> None: ...

    def _drop_annotation(self, ann_id: int) -> None: ...

    def _put_category(self, category: Category) -> None: ...

    def _drop_category(self, category_id: int) -> None: ...


class Command(Protocol):
    label: str

    def apply(self, doc: Tables) -> None: ...

    def revert(self, doc: Tables) -> None: ...

    def image_ids(self) -> frozenset[int]: ...


@dataclass(frozen=True)
class PutAnnotation:
    """Add (before is None), replace, or delete (after is None) one annotation."""

    label: str
    before: Annotation | None
    after: Annotation | None

    def apply(self, doc: Tables) -> None:
        self._set(doc, self.before, self.after)

    def revert(self, doc: Tables) -> None:
        self._set(doc, self.after, self.before)

    @staticmethod
    def _set(doc: Tables, old: Annotation | None, new: Annotation | None) -> None:
        if new is None:
            assert old is not None
            doc._drop_annotation(old.id)
        else:
            doc._put_annotation(new)

    def image_ids(self) -> frozenset[int]:
        return frozenset(a.image_id for a in (self.before, self.after) if a is not None)


@dataclass(frozen=True)
class PutCategory:
    """Add (before is None), change (rename/recolor), or delete (after is None) a category."""

    label: str
    before: Category | None
    after: Category | None

    def apply(self, doc: Tables) -> None:
        self._set(doc, self.before, self.after)

    def revert(self, doc: Tables) -> None:
        self._set(doc, self.after, self.before)

    @staticmethod
    def _set(doc: Tables, old: Category | None, new: Category | None) -> None:
        if new is None:
            assert old is not None
            doc._drop_category(old.id)
        else:
            doc._put_category(new)

    def image_ids(self) -> frozenset[int]:
        return frozenset()


@dataclass(frozen=True)
class Compound:
    """Several commands undone and redone as one step (e.g. "merge masks": 2 deletes + 1 add)."""

    label: str
    commands: tuple[Command, ...] = field(default_factory=tuple)

    def apply(self, doc: Tables) -> None:
        for command in self.commands:
            command.apply(doc)

    def revert(self, doc: Tables) -> None:
        for command in reversed(self.commands):
            command.revert(doc)

    def image_ids(self) -> frozenset[int]:
        ids: set[int] = set()
        for command in self.commands:
            ids |= command.image_ids()
        return frozenset(ids)
