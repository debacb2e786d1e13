"""Commands on the selected masks (issue 15): several can be selected, in the mask list
(Ctrl/Shift+click) and on the canvas (Ctrl+click selects, Ctrl+Shift+click adds or removes),
then relabelled, deleted or hidden together, each as one undo step. Keys 1-9 relabel the
selection; with nothing selected they pick the category of the next object."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from annotator.gui.session.events import Message, SelectionChanged, VisibilityChanged

if TYPE_CHECKING:
    from annotator.gui.session.session import AppSession


def _plural(n: int) -> str:
    return f"{n} mask{'s' * (n != 1)}"


class SelectionCommands:
    def __init__(self, session: AppSession) -> None:
        self._s = session

    def set(self, ids: Iterable[int]) -> None:
        """Select exactly `ids` (in this order; the last one is the primary)."""
        s = self._s
        on_image = {a.id for a in s.annotations()}
        s.selection = tuple(dict.fromkeys(i for i in ids if i in on_image))
        s.events.emit(SelectionChanged(s.selected, frozenset(s.selection)))

    def toggle_at(self, x: float, y: float) -> None:
        """Ctrl+Shift+click: add the mask under (x, y) to the selection, or take it out."""
        ann = self._s.annotation_at(x, y)
        if ann is None:
            return
        ids = list(self._s.selection)
        self.set([i for i in ids if i != ann.id] if ann.id in ids else [*ids, ann.id])

    def relabel(self, category_id: int) -> None:
        """Give every selected mask category `category_id`: one undo step."""
        s = self._s
        ids = [i for i in s.selection if s.doc.annotation(i).category_id != category_id]
        if not ids:
            return
        name = s.doc.category(category_id).name
        with s.events.burst():
            with s.doc.batch(f"relabel {_plural(len(ids))} as {name}"):
                for i in ids:
                    s.doc.set_category(i, category_id)
            s.events.emit(Message(f"Relabelled {_plural(len(ids))} as {name}", 3000))

    def delete(self) -> None:
        """Delete every selected mask: one undo step."""
        s = self._s
        ids = list(s.selection)
        if not ids or s.doc is None:
            return
        with s.events.burst():
            with s.doc.batch(f"delete {_plural(len(ids))}" if len(ids) > 1 else "delete mask"):
                for i in ids:
                    s.doc.delete_annotation(i)
            self.set(())

    def hide(self) -> None:
        """H: hide the selected masks (all of them shown again when all were hidden)."""
        s = self._s
        ids = set(s.selection)
        if not ids:
            return
        if ids <= s.hidden:
            s.hidden -= ids
        else:
            s.hidden |= ids
        s.events.emit(VisibilityChanged(frozenset(s.hidden)))

    def number_key(self, index: int) -> None:
        """Keys 1-9: relabel the selection as the index-th category, or, with nothing
        selected, make it the category of the next object."""
        s = self._s
        cats = s.doc.categories() if s.doc is not None else []
        if index >= len(cats):
            return
        if s.selection:
            self.relabel(cats[index].id)
        else:
            s.set_category(cats[index].id)
