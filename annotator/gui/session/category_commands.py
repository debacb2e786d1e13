"""Category commands beyond add / rename / recolour (issue 15): delete a category with its
masks, merge one into another, move one up or down (keys 1-9 follow the order). Each is one
project-wide undo step (docs/adr/0003-undo-model.md)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from annotator.gui.session.events import CategoriesChanged, Message
from annotator.io.commands import Compound, PutCategory

if TYPE_CHECKING:
    from annotator.gui.session.session import AppSession


class CategoryCommands:
    def __init__(self, session: AppSession) -> None:
        self._s = session

    def users(self, category_id: int) -> int:
        """How many masks (on every image) have this category."""
        return sum(a.category_id == category_id for a in self._s.doc.annotations())

    def delete(self, category_id: int) -> None:
        """Delete the category and every mask of it (the caller asked the user first)."""
        s = self._s
        doc = s.doc
        name = doc.category(category_id).name
        ids = [a.id for a in doc.annotations() if a.category_id == category_id]
        with s.events.burst():
            with doc.batch(f"delete category {name} and its {len(ids)} masks"):
                for ann_id in ids:
                    doc.delete_annotation(ann_id)
                doc.delete_category(category_id)
            s.selecting.set(i for i in s.selection if i not in ids)
            s.events.emit(CategoriesChanged())
            s.events.emit(Message(f"Deleted category {name} and its {len(ids)} masks", 5000))

    def merge(self, category_id: int, into_id: int) -> None:
        """Every mask of `category_id` becomes `into_id`; `category_id` is deleted."""
        s = self._s
        doc = s.doc
        if category_id == into_id:
            return
        name, into = doc.category(category_id).name, doc.category(into_id).name
        with s.events.burst():
            with doc.batch(f"merge category {name} into {into}"):
                doc.delete_category(category_id, reassign_to=into_id)
            if s.category_id == category_id:
                s.set_category(into_id)
            s.events.emit(CategoriesChanged())
            s.events.emit(Message(f"Merged {name} into {into}", 5000))

    def move(self, category_id: int, step: int) -> None:
        """Move a category `step` places (-1: up); the categories' ids do not change.

        The categories from the first one that moves onward are dropped (last first) and put
        back in the new order, so undoing the step puts them back in the old order."""
        s = self._s
        doc = s.doc
        cats = doc.categories()
        ids = [c.id for c in cats]
        i = ids.index(category_id)
        j = min(max(i + step, 0), len(ids) - 1)
        if i == j:
            return
        order = cats[:]
        order.insert(j, order.pop(i))
        k = min(i, j)
        drops = [PutCategory("drop", c, None) for c in reversed(cats[k:])]
        puts = [PutCategory("put", None, c) for c in order[k:]]
        where = "up" if step < 0 else "down"
        with s.events.burst():
            doc.execute(Compound(f"move category {cats[i].name} {where}", (*drops, *puts)))
            s.events.emit(CategoriesChanged())
