"""Revision and dirty state of an edited object, and the listeners told of each change."""

from __future__ import annotations

from collections.abc import Callable


class ChangeTracking:
    """Every change bumps `revision`, sets `dirty` and calls the listeners with the image ids
    it touched; only `mark_clean()` (after a successful save) clears `dirty`."""

    def __init__(self) -> None:
        self._revision = 0
        self._dirty = False
        self._listeners: list[Callable[[frozenset[int]], None]] = []

    @property
    def dirty(self) -> bool:
        return self._dirty

    @property
    def revision(self) -> int:
        """Increases on every change; a saver compares it to know what it wrote is current."""
        return self._revision

    def mark_clean(self, revision: int | None = None) -> bool:
        """Clear dirty after a save of `revision` (default: now). False if edited since."""
        if revision is not None and revision != self._revision:
            return False
        self._dirty = False
        return True

    def mark_dirty(self) -> None:
        """Flag unsaved changes made outside the command system (e.g. a recovered autosave)."""
        self._changed(frozenset())

    def add_listener(self, callback: Callable[[frozenset[int]], None]) -> None:
        """Call `callback(image_ids touched)` after every change (empty set: categories/images)."""
        self._listeners.append(callback)

    def _changed(self, image_ids: frozenset[int]) -> None:
        self._revision += 1
        self._dirty = True
        for callback in list(self._listeners):
            callback(image_ids)
