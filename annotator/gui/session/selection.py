"""Commands on the selected masks (issue 15): several can be selected, in the mask list
(Ctrl/Shift+click) and on the canvas (Ctrl+click selects, Ctrl+Shift+click adds or removes),
then relabelled, deleted or hidden together, each as one undo step. Keys 1-9 relabel the
selection; with nothing selected they pick the category of the next object."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from annotator.gui.session.events import Message, SelectionChanged, VisibilityChanged
from annotator.io.images import image_size

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

    def copy_to_next(self) -> bool:
        """Ctrl+Shift+V: copy the selected masks (same category) to the next image of the same
        size, one undo step there, and show it; for near-identical frames (on the next frame of
        a video each copy keeps its track_id: `Propagation.copied_tracks`)."""
        s = self._s
        ids = list(s.selection)
        name = s.neighbour(+1)
        if not ids or s.doc is None or name is None:
            s.events.emit(Message("Select masks and have a next image to copy them to", 4000))
            return False
        here = s.doc.image(s.image_id)
        record = s.doc.image_by_file_name(name)
        try:
            width, height = (
                (record.width, record.height)
                if record is not None
                else image_size(s.doc.images_root / name)
            )
        except (OSError, ValueError) as exc:
            s.events.emit(Message(f"Cannot copy to {name}: {exc}", 6000))
            return False
        if (width, height) != (here.width, here.height):
            s.events.emit(
                Message(f"Not copied: {name} is {width}x{height}, this image "
                        f"{here.width}x{here.height}", 6000)
            )  # fmt: skip
            return False
        target = record.id if record is not None else s.doc.add_image(name, width, height)
        anns = [s.doc.annotation(i) for i in ids]
        tracks = s.sequence.copied_tracks(anns, target)  # the next frame: tracks continue
        with s.events.burst():
            with s.doc.batch(f"copy {_plural(len(anns))} from {s.current}"):
                new = [
                    s.doc.add_annotation(target, a.category_id, a.rle, copied_from=a.id, **t)
                    for a, t in zip(anns, tracks, strict=True)
                ]
            try:
                shown = s.open_image(name)
            except (OSError, ValueError):  # copied all the same; the image list marks it
                shown = False
            if shown:
                self.set(new)
            s.events.emit(Message(f"Copied {_plural(len(new))} to {name}", 4000))
        return True
