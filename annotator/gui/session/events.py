"""Typed change events of the app session, and the tiny observer that delivers them.

The session emits one small frozen dataclass per kind of change, the way napari's ViewerModel
emits events its Qt viewer listens to; the window connects one handler per event type and
refreshes only what that event says changed. No Qt here: handlers are plain callables, called
synchronously, in connection order, on the thread that changed the session (the UI thread).
"""

from __future__ import annotations

import contextlib
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np


@dataclass(frozen=True)
class ProjectChanged:
    """A new document was adopted (open, import): everything shown is stale."""


@dataclass(frozen=True)
class ImageChanged:
    """The current image changed. image: (H, W, 3) uint8 RGB; name relative to images_root."""

    name: str
    image: np.ndarray


@dataclass(frozen=True)
class AnnotationsChanged:
    """Annotations of these image ids were added, changed or removed (undo/redo included)."""

    image_ids: frozenset[int]


@dataclass(frozen=True)
class CategoriesChanged:
    """A category was added, renamed, recoloured or removed (undo/redo included)."""


@dataclass(frozen=True)
class CurrentCategoryChanged:
    """The category that Enter gives the next annotation changed."""

    category_id: int | None


@dataclass(frozen=True)
class SelectionChanged:
    """ann_id: the primary selected mask (the last one picked) or None; ids: all selected."""

    ann_id: int | None
    ids: frozenset[int] = frozenset()


@dataclass(frozen=True)
class VisibilityChanged:
    """The set of hidden annotation ids changed."""

    hidden: frozenset[int]


@dataclass(frozen=True)
class PromptsChanged:
    """The object in progress changed: its prompts, candidates, chosen candidate or edit."""


@dataclass(frozen=True)
class ImageStatusChanged:
    """An image's done / in progress / untouched mark may have changed."""


@dataclass(frozen=True)
class DirtyChanged:
    """The document changed: the title's unsaved-changes star may differ."""


@dataclass(frozen=True)
class DecodeRequested:
    """Ask the model for the mask of every prompt of the object in progress.

    points (N, 2) float32 xy and box (4,) float32 XYXY | None in original-image pixels;
    labels (N,) int32 (1 = foreground); mask_input (1, 256, 256) float32 logits | None;
    multimask: the first, ambiguous click (show the candidates).
    """

    points: np.ndarray
    labels: np.ndarray
    box: np.ndarray | None
    mask_input: np.ndarray | None
    multimask: bool


@dataclass(frozen=True)
class DecodeCancelled:
    """The answer on its way is no longer wanted (an edit, Esc, undo, another image): the model
    client, the one stale-result filter, drops it."""


@dataclass(frozen=True)
class Message:
    """A line for the status bar, shown for timeout_ms."""

    text: str
    timeout_ms: int = 4000


E = TypeVar("E")


class Events:
    """Connect handlers per event type; ``emit(event)`` calls those of ``type(event)``.

    Inside ``burst()`` (one session command) events are queued, duplicates dropped, and
    delivered when the command is done; events emitted by handlers are delivered after the
    current ones. Then the ``on_flush`` callbacks run once, so a view can mark what is stale
    per event and redraw each part once per command.
    """

    def __init__(self) -> None:
        self._handlers: defaultdict[type, list[Callable[[Any], None]]] = defaultdict(list)
        self._flush: list[Callable[[], None]] = []
        self._queue: list[object] | None = None

    def connect(self, event_type: type[E], handler: Callable[[E], None]) -> None:
        self._handlers[event_type].append(handler)

    def on_flush(self, callback: Callable[[], None]) -> None:
        self._flush.append(callback)

    def emit(self, event: object) -> None:
        if self._queue is not None:  # inside a burst, or emitted by a handler: queue it
            key = _key(event)
            if all(_key(e) != key for e in self._queue):
                self._queue.append(event)
            return
        self._queue = [event]
        self._drain()

    @contextlib.contextmanager
    def burst(self) -> Iterator[None]:
        if self._queue is not None:  # nested, or inside a handler: the outer one delivers
            yield
            return
        self._queue = []
        try:
            yield
        finally:
            self._drain()

    def _drain(self) -> None:
        """Deliver the queue, events that handlers emit included, then flush once."""
        queue = self._queue
        assert queue is not None
        try:
            delivered = bool(queue)
            while queue:
                event = queue.pop(0)
                for handler in list(self._handlers.get(type(event), ())):
                    handler(event)
        finally:
            self._queue = None
        if delivered:
            for callback in list(self._flush):
                callback()


def _key(event: object) -> object:
    """Equal events compare equal; those holding arrays are distinct by identity."""
    try:
        hash(event)
    except TypeError:
        return id(event)
    return event
