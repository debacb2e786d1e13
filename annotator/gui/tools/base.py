"""Pointer events in image coordinates, the :class:`Tool` protocol and its defaults."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Protocol

import numpy as np


class Button(enum.Enum):
    NONE = 0
    LEFT = 1
    RIGHT = 2
    MIDDLE = 3


@dataclass(frozen=True)
class PointerEvent:
    """One pointer event, already mapped to the image.

    x, y: float position in original-image pixels (x = column, y = row; pixel (c, r) covers
    [c, c+1) x [r, r+1)). ``tolerance`` is how many image pixels one screen handle spans at
    the current zoom, so hit tests feel the same at every zoom level.
    """

    x: float
    y: float
    button: Button = Button.LEFT
    shift: bool = False
    tolerance: float = 6.0


class Tool(Protocol):
    """The contract between the canvas and a tool (the canvas calls nothing else).

    ``name`` and ``hint`` appear in the status bar. The canvas draws ``preview`` (a box being
    dragged, XYXY image pixels) over the object's box, a brush cursor of ``radius`` image pixels
    when it is not None, and the window shows ``working`` ((H, W) bool, a stroke in progress)
    as the current mask while it is not None. ``outline`` (a list of (N, 2) xy vertex arrays,
    or None) is drawn as polygons with vertex handles. ``image_size`` is (width, height), set
    by the window on every image switch.
    """

    name: str
    hint: str
    image_size: tuple[int, int]

    @property
    def preview(self) -> tuple[float, float, float, float] | None: ...

    @property
    def radius(self) -> int | None: ...

    @property
    def working(self) -> np.ndarray | None: ...

    @property
    def outline(self) -> list[np.ndarray] | None: ...

    def press(self, ev: PointerEvent) -> None: ...
    def drag(self, ev: PointerEvent) -> None: ...
    def release(self, ev: PointerEvent) -> None: ...
    def click(self, ev: PointerEvent) -> None: ...
    def cancel(self) -> None: ...


class BaseTool:
    """Defaults for every member of :class:`Tool`: no preview, no cursor, no stroke, and
    hooks that do nothing (``click`` is press then release)."""

    name = "tool"
    hint = ""
    image_size: tuple[int, int] = (1, 1)
    preview: tuple[float, float, float, float] | None = None
    radius: int | None = None
    working: np.ndarray | None = None
    outline: list[np.ndarray] | None = None

    def press(self, ev: PointerEvent) -> None:
        """A button went down."""

    def drag(self, ev: PointerEvent) -> None:
        """The pointer moved with a button down."""

    def release(self, ev: PointerEvent) -> None:
        """The button came up (after a press, with or without drags in between)."""

    def click(self, ev: PointerEvent) -> None:
        """Press and release without a drag; defaults to press then release."""
        self.press(ev)
        self.release(ev)

    def cancel(self) -> None:
        """Drop any gesture in progress (Esc, tool switch, image switch)."""
