"""Pointer events in image coordinates and the tool protocol."""

from __future__ import annotations

import enum
from dataclasses import dataclass


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


class Tool:
    """Base class: every hook is optional; ``name`` and ``hint`` appear in the status bar."""

    name = "tool"
    hint = ""

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
