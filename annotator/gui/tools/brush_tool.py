"""Brush and eraser: paint onto the current mask before accepting it.

One stroke (press, drags, release) is one edit: the tool paints a working copy and hands the
finished mask to ``commit_edit(mask)`` on release, so a stroke is one undo step and the model
is asked nothing until the next prompt.
"""

from __future__ import annotations

from collections.abc import Callable

import cv2
import numpy as np

from annotator.gui.tools.base import BaseTool, Button, PointerEvent


class BrushTool(BaseTool):
    """Left button paints (brush) or erases (eraser); right button does the opposite."""

    def __init__(
        self,
        get_mask: Callable[[], np.ndarray | None],
        commit_edit: Callable[[np.ndarray], None],
        image_size: tuple[int, int],
        erase: bool = False,
        radius: int = 8,
    ) -> None:
        """get_mask returns the current (H, W) bool mask or None; image_size is (width, height)."""
        self._get_mask = get_mask
        self._commit = commit_edit
        self.image_size = image_size
        self.erase = erase
        self.radius = radius
        #: the stroke's working mask, (H, W) bool, or None when idle
        self.working: np.ndarray | None = None
        self._value = True
        self._last: tuple[int, int] | None = None

    @property
    def name(self) -> str:  # type: ignore[override]
        return "Eraser" if self.erase else "Brush"

    @property
    def hint(self) -> str:  # type: ignore[override]
        key = "E" if self.erase else "R"
        what = "erase from" if self.erase else "paint onto"
        return f"{self.name} ({key}): drag to {what} the current mask; [ ] change the size"

    def press(self, ev: PointerEvent) -> None:
        if ev.button not in (Button.LEFT, Button.RIGHT):
            return
        mask = self._get_mask()
        w, h = self.image_size
        self.working = np.zeros((h, w), bool) if mask is None else mask.copy()
        paint = not self.erase
        self._value = paint if ev.button is Button.LEFT else not paint
        self._last = None
        self._stamp(ev)

    def drag(self, ev: PointerEvent) -> None:
        if self.working is not None:
            self._stamp(ev)

    def release(self, ev: PointerEvent) -> None:
        if self.working is None:
            return
        self._stamp(ev)
        mask, self.working, self._last = self.working, None, None
        self._commit(mask)

    def cancel(self) -> None:
        self.working = None
        self._last = None

    def _stamp(self, ev: PointerEvent) -> None:
        assert self.working is not None
        pt = (int(np.floor(ev.x)), int(np.floor(ev.y)))
        canvas = self.working.view(np.uint8)
        value = 1 if self._value else 0
        # A thick line from the previous position keeps fast strokes continuous.
        if self._last is not None:
            cv2.line(canvas, self._last, pt, value, thickness=2 * self.radius + 1)
        cv2.circle(canvas, pt, self.radius, value, thickness=-1)
        self._last = pt
